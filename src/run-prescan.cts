// Before `quickbeam run` loads any bundle: will this run compile? bin/quickbeam.js then starts the full CLI bundle
// rather than the run bundle, which has no compiler (src/cli/compiler-presence.ts). A wrong guess costs time, never
// correctness: the run bundle hands a run over when it finds it must compile, and the full one runs anything.
// CommonJS, one file and light on purpose (node:fs and node:path): bin requires it before any bundle.
//
// A run compiles whatever the cache holds with --no-cache, --lazy, or a module of LAZY_THRESHOLD bytes or more
// (compiled lazily). Otherwise it compiles when the module is not in the cache yet, which only the cache entry's
// key can tell, and that needs the engine. So a run that stores or finds its module in the cache leaves a hint,
// an empty file named after the module file's path, size, mtime and inode (hintPath): no hint, and the module
// was most likely never run from this file as it is, so the run starts from the full bundle at once.

import { mkdirSync, readdirSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import path from 'node:path';

// Measured: on sqlite (1 MB) lazy compilation reaches the first instruction sooner (140 vs 317 ms CPU) but
// runs the whole program slower (compiling ~half the functions one by one costs more than one eager pass);
// on 12-22 MB modules (esbuild, swc from npm) lazy wins outright, as most functions never run.
// (Here rather than in api/module.ts, which re-exports it, so that bin reads one small file.)
/** Modules at least this big compile lazily by default. */
export const LAZY_THRESHOLD = 4 * 1024 * 1024;

/** Options of `quickbeam run` that take a value (test/startup.test.ts checks this against its help). */
export const RUN_VALUE_OPTIONS: ReadonlySet<string> = new Set([
  '--invoke', '--dir', '--env', '--cache', '--compile-threads', '--map-file', '--timeout', '--fuel', '--gc-heap-max',
]);

/** Where `quickbeam run` caches compiled code unless told otherwise. */
export function defaultCacheDir(env: Record<string, string | undefined> = process.env): string {
  if (env.QUICKBEAM_CACHE_DIR) return env.QUICKBEAM_CACHE_DIR;
  // (node:os only without $HOME: it costs ~0.2 ms to load)
  const base = env.XDG_CACHE_HOME || path.join(env.HOME || (require('node:os') as typeof import('node:os')).homedir(), '.cache');
  return path.join(base, 'quickbeam');
}

/** 32-bit FNV-1a of a string, as 8 hex digits. */
function fnv1a(s: string, seed = 0x811c9dc5): string {
  let h = seed;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The hint file of a module file as `st` describes it now (see above): 16 hex digits for the path, then 16 for the
 * rest, so that leaveRunHint can find (and remove) the hints of the file's earlier versions.
 */
function hintPath(cacheDir: string, file: string, st: Stats): string {
  const where = path.resolve(file);
  const what = `${where}\0${st.size}\0${st.mtimeMs}\0${st.ino}\0${st.dev}`;
  return path.join(cacheDir, 'run-hints', `${fnv1a(where)}${fnv1a(where, 0x2f6b1c3d)}-${fnv1a(what)}${fnv1a(what, 0x2f6b1c3d)}`);
}

/**
 * Leaves the hint that this module file's code is in the cache, and removes the hints of its earlier versions (a
 * rebuilt module would otherwise leave one per build). Best effort: a hint only saves time.
 */
export function leaveRunHint(cacheDir: string, file: string): void {
  const st = statSync(file, { throwIfNoEntry: false });
  if (st === undefined) return;
  const hint = hintPath(cacheDir, file, st);
  if (statSync(hint, { throwIfNoEntry: false }) !== undefined) return;
  try {
    const dir = path.dirname(hint);
    const name = path.basename(hint);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const samePath = name.slice(0, name.indexOf('-') + 1);
    for (const f of readdirSync(dir)) if (f.startsWith(samePath)) unlinkSync(path.join(dir, f));
    writeFileSync(hint, '', { mode: 0o600 });
  } catch {
    /* an unwritable cache: runs start from the full bundle */
  }
}

/**
 * Why a run with these arguments will compile ('no code cache', 'lazy', 'not cached yet'), or must not start from
 * the run bundle ('not a regular file'), or null when the code cache most likely holds its module.
 */
export function fullBundleReason(args: readonly string[]): string | null {
  let lazy: boolean | undefined;
  let cache: string | undefined;
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      file = args[i + 1];
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      file = a;
      break;
    }
    if (a === '--no-cache') return 'no code cache';
    if (a === '--lazy' || a === '--eager') lazy = a === '--lazy';
    else if (a === '--cache') cache = args[++i];
    else if (RUN_VALUE_OPTIONS.has(a)) i++;
    else if (a.startsWith('--cache=')) cache = a.slice('--cache='.length);
  }
  if (lazy === true) return 'lazy';
  if (file === undefined || file === '-') return null; // (runCommand reports it)
  const st = statSync(file, { throwIfNoEntry: false });
  if (st === undefined) return null; // (runCommand reports it)
  // A pipe, a device, /dev/stdin: the full bundle, which never hands a run over (that would read it twice).
  if (!st.isFile() || /^\/(dev|proc)\//.test(path.resolve(file))) return 'not a regular file';
  if (lazy === undefined && st.size >= LAZY_THRESHOLD) return 'lazy';
  return statSync(hintPath(cache ?? defaultCacheDir(), file, st), { throwIfNoEntry: false }) === undefined ? 'not cached yet' : null;
}
