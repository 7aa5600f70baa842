// Module options from environment variables, for quickbeam/register (an unmodified application passes no
// options itself). Malformed values are errors, reported once at start-up, rather than silently ignored.
//
//   (default)                   cache: the user's cache directory, as `quickbeam run` (QUICKBEAM_CACHE_DIR,
//                               $XDG_CACHE_HOME/quickbeam or ~/.cache/quickbeam), for modules of 1 MiB or more:
//                               a second start of the application maps their code instead of compiling it
//   QUICKBEAM_CACHE_DIR=DIR     cache: DIR, for every module (compiled code is stored there and mapped by
//                               later processes)
//   QUICKBEAM_CACHE=0|1         0: no cache at all (1: the default above)
//   QUICKBEAM_LAZY=1|0          lazy: true | false (default: lazy for modules >= 4 MiB)
//   QUICKBEAM_THREADS=N         threads: N (compile threads)
//   QUICKBEAM_FEATURES=LIST     features: comma-separated names, each `name`/`+name` (on) or `-name` (off),
//                               e.g. "-simd,-memory64"
//   QUICKBEAM_TIMEOUT_MS=N      timeoutMs: N (every outermost call into wasm)
//   QUICKBEAM_BOUNDS_CHECKS=0   boundsChecks: false (UNSAFE: trusted code only)

import { DEFAULT_FEATURES, type Features } from '../decode/features.js';
import type { ModuleOptions } from '../api/module.js';
import { defaultCacheDir } from '../run-prescan.cjs';

/** Modules the default cache holds: from 1 MiB (smaller ones compile in a few ms to tens of ms). */
export const DEFAULT_CACHE_MIN_BYTES = 1024 * 1024;

const FEATURE_NAMES = Object.keys(DEFAULT_FEATURES) as Array<keyof Features>;

function flag(name: string, v: string): boolean {
  if (v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new Error(`${name}=${JSON.stringify(v)}: expected 1 or 0`);
}

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < 1) throw new Error(`${name}=${JSON.stringify(v)}: expected a positive integer`);
  return n;
}

/** The module options the environment asks for (empty when it asks for none). Throws on malformed values. */
export function moduleOptionsFromEnv(env: Record<string, string | undefined>): ModuleOptions {
  const o: ModuleOptions = {};
  const cacheOn = env.QUICKBEAM_CACHE;
  const dir = env.QUICKBEAM_CACHE_DIR;
  if (cacheOn !== undefined && cacheOn !== '' && !flag('QUICKBEAM_CACHE', cacheOn)) {
    // (no cache)
  } else if (dir !== undefined && dir !== '') o.cache = dir;
  else {
    o.cache = defaultCacheDir(env);
    o.cacheMinBytes = DEFAULT_CACHE_MIN_BYTES;
  }
  const lazy = env.QUICKBEAM_LAZY;
  if (lazy !== undefined && lazy !== '') o.lazy = flag('QUICKBEAM_LAZY', lazy);
  const threads = env.QUICKBEAM_THREADS;
  if (threads !== undefined && threads !== '') o.threads = positiveInt('QUICKBEAM_THREADS', threads);
  const timeout = env.QUICKBEAM_TIMEOUT_MS;
  if (timeout !== undefined && timeout !== '') o.timeoutMs = positiveInt('QUICKBEAM_TIMEOUT_MS', timeout);
  const bounds = env.QUICKBEAM_BOUNDS_CHECKS;
  if (bounds !== undefined && bounds !== '') o.boundsChecks = flag('QUICKBEAM_BOUNDS_CHECKS', bounds);
  const features = env.QUICKBEAM_FEATURES;
  if (features !== undefined && features.trim() !== '') {
    const f: Partial<Features> = {};
    for (const raw of features.split(',')) {
      const item = raw.trim();
      if (item === '') continue;
      const on = !item.startsWith('-');
      const name = item.replace(/^[+-]/, '');
      const known = FEATURE_NAMES.find((k) => k.toLowerCase() === name.toLowerCase());
      if (known === undefined) throw new Error(`QUICKBEAM_FEATURES: unknown feature ${JSON.stringify(name)} (known: ${FEATURE_NAMES.join(', ')})`);
      f[known] = on;
    }
    o.features = f;
  }
  return o;
}
