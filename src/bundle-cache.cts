// Loading a one-file bundle of Quickbeam's JavaScript through V8's code cache, so that a process starts from
// bytecode instead of parsing and compiling ~0.5-0.8 MB of source: bin/quickbeam.js loads the CLI bundles
// (dist/quickbeam.cjs, dist/quickbeam-run.cjs) and the package entry (dist/quickbeam-entry.mjs) the library
// bundle (dist/quickbeam-lib.cjs) this way.
//
// A cache is valid for one bundle (its id, a hash of its contents written by scripts/bundle.mjs in its first
// line), one Node/V8 build and one set of V8 flags (V8 rejects data made under other flags anyway: they get
// their own file). It is deserialised into V8, so it is read and written through trusted-file.cts: only a file
// owned by this user, in a directory private to this user, is ever used. The places, preferred first:
// dist/v8-code-cache/, then a private directory in the system's temp dir (when dist/ is not the user's).
// `full` caches were saved by a process that compiled a wasm module (they hold the compiler's bytecode),
// `partial` ones by a process that did not; a partial one is replaced by the first full one.
//
// CommonJS (compiled to dist/src/bundle-cache.cjs): bin requires it before any bundle exists in the process.

import fs = require('node:fs');
import vm = require('node:vm');
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** The first line of every bundle: this text, then the bundle's id (scripts/bundle.mjs writes it from here). */
export const BUNDLE_HEADER = '// quickbeam-bundle 1 ';

export type CacheKind = 'full' | 'partial';

export interface LoadedBundle {
  /** What the bundle exported (module.exports). */
  exports: Record<string, unknown>;
  /**
   * Saves the bundle's code cache when it is worth it: none was used, or the one used was partial and this
   * process compiled a module (startup facts, startup-trace.ts). Returns the kind saved, or null.
   */
  saveCache(): CacheKind | null;
  /** The kind of cache the bundle was compiled from (null: none, or V8 rejected it). */
  cacheUsed: CacheKind | null;
}

type Mark = (label: string) => void;

/** The checks for files that become code (trusted-file.cts), loaded on first use. */
let trustedFile: typeof import('./trusted-file.cjs') | undefined;
const trusted = (): typeof import('./trusted-file.cjs') => (trustedFile ??= require('./trusted-file.cjs') as typeof import('./trusted-file.cjs'));

/** 32-bit FNV-1a of a string, as 8 hex digits. */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Directories that may hold the cache, preferred first (node:os is loaded only when the first does not do). */
function* cacheDirs(dist: string): Generator<string> {
  yield `${dist}/v8-code-cache/`;
  let tmp: string;
  try {
    tmp = (require('node:os') as typeof import('node:os')).tmpdir();
  } catch {
    return;
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  yield `${tmp}/quickbeam-${uid}/v8-code-cache/`;
}

/** Options whose value is the script (`node -e CODE`): not flags, and different in every such process. */
const SCRIPT_OPTIONS = new Set(['-e', '--eval', '-p', '--print', '-pe']);

/** Node's options as they may matter to V8 (the script of -e/-p and --input-type left out). */
function flagsOf(execArgv: readonly string[]): string {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    if (SCRIPT_OPTIONS.has(a) || a === '--input-type') i++; // (and its value)
    else if (!/^--(eval|print|input-type)=/.test(a)) kept.push(a);
  }
  return kept.join(' ');
}

/**
 * The part of a cache's name that stands for this process's flags. Taken once, when the bundle loads: the
 * process may change NODE_OPTIONS later (quickbeam/register adds itself for child processes), and the cache it
 * saves at exit must have the name the next such process looks for.
 */
function flagsKey(): string {
  const flags = `${flagsOf(process.execArgv)}\0${process.env.NODE_OPTIONS ?? ''}`;
  return flags === '\0' ? 'default' : fnv1a(flags);
}

/** The cache file's name: `<prefix><id>-node<version>-<arch>-<flags>.<kind>.bin`. */
function cacheName(prefix: string, id: string, flags: string, kind: CacheKind): string {
  return `${prefix}${id}-node${process.version}-${process.arch}-${flags}.${kind}.bin`;
}

/** The best cache there is: `{ data, kind, file }`, or null. A file or directory that fails the checks is skipped. */
function readCache(dist: string, prefix: string, id: string, flags: string, mark: Mark): { data: Buffer; kind: CacheKind; file: string } | null {
  if (process.env.QUICKBEAM_CODE_CACHE === '0') return null;
  const { trustedDir, readTrusted } = trusted();
  for (const dir of cacheDirs(dist)) {
    const d = trustedDir(dir);
    if (!d.ok) {
      if (!d.missing) mark(`code cache directory ${dir} ignored: ${d.reason}`);
      continue;
    }
    // (One listing, not an open that fails with ENOENT per absent kind: a thrown error costs more.)
    let names: Set<string>;
    try {
      names = new Set(fs.readdirSync(d.path));
    } catch {
      continue;
    }
    for (const kind of ['full', 'partial'] as const) {
      const name = cacheName(prefix, id, flags, kind);
      if (!names.has(name)) continue;
      const r = readTrusted(d, name);
      if (r.ok) return { data: r.data, kind, file: `${d.path}/${name}` };
      if (!r.missing) mark(`code cache ignored: ${r.reason}`);
    }
  }
  return null;
}

/** Writes the cache (0600, atomically) where it can, removing caches of other bundles there. */
function writeCache(dist: string, prefix: string, id: string, flags: string, kind: CacheKind, data: Buffer): boolean {
  const name = cacheName(prefix, id, flags, kind);
  const { trustedDir, writeTrusted } = trusted();
  for (const dir of cacheDirs(dist)) {
    try {
      const d = trustedDir(dir, true); // created 0700
      if (!d.ok) continue;
      writeTrusted(d, name, data);
      // Caches of older bundles are of no use any more, nor is a partial one next to a full one.
      // (Names without a bundle prefix are from builds before there were several bundles.)
      const partial = cacheName(prefix, id, flags, 'partial');
      for (const f of fs.readdirSync(d.path)) {
        if (!f.endsWith('.bin') || !(f.startsWith(prefix) || /^quickbeam-[0-9a-f]{16}-/.test(f))) continue;
        if (!f.startsWith(`${prefix}${id}-`) || (kind === 'full' && f === partial)) fs.unlinkSync(`${d.path}/${f}`);
      }
      return true;
    } catch {
      /* try the next place */
    }
  }
  return false;
}

/**
 * Loads bundle `file` (in directory `dist`), compiled from its code cache when there is one, and runs it as a
 * CommonJS module whose wrapper also receives `__qbLoaderImport` (a vm.Script has no import() of its own without
 * an experimental option: the bundle's dynamic imports go through it). `prefix` names its caches; `label` names
 * the bundle in the startup marks given to `mark`. Returns null when the file is absent or is not a bundle.
 */
export function loadBundle(file: string, dist: string, prefix: string, label: string, mark: Mark = () => {}): LoadedBundle | null {
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  if (!source.startsWith(BUNDLE_HEADER)) return null;
  // (A copy, not a slice: V8 makes a slice of 13 or more characters a view that keeps the whole ~0.7 MB source
  // alive, and saveCache holds the id for the life of the process.)
  const id = Buffer.from(source.slice(BUNDLE_HEADER.length, source.indexOf('\n')).trim(), 'latin1').toString('latin1');
  const flags = flagsKey();
  const cache = readCache(dist, prefix, id, flags, mark);
  const cachedData = cache?.data;
  const wrapper = `(function (exports, require, module, __filename, __dirname, __qbLoaderImport) {${source}\n})`;
  const script = new vm.Script(wrapper, { filename: file, cachedData });
  const rejected = cachedData !== undefined && script.cachedDataRejected === true;
  mark(`${label} compiled (code cache ${cachedData === undefined ? 'absent' : rejected ? 'rejected' : 'used'})`);
  const module = { exports: {} as Record<string, unknown> };
  const distUrl = pathToFileURL(`${dist}/`);
  const load = (spec: string): Promise<unknown> => import(new URL(spec, distUrl).href);
  script.runInThisContext()(module.exports, createRequire(file), module, file, dist, load);
  const cacheUsed = cache === null || rejected ? null : cache.kind;
  const saveCache = (): CacheKind | null => {
    if (process.env.QUICKBEAM_CODE_CACHE === '0') return null;
    const facts = (globalThis as Record<symbol, { compiled?: unknown } | undefined>)[Symbol.for('quickbeam.startupFacts')];
    const kind: CacheKind = facts?.compiled === true ? 'full' : 'partial';
    if (cacheUsed === 'full' || (cacheUsed === 'partial' && kind === 'partial')) return null;
    if (cache !== null && rejected) {
      try {
        fs.unlinkSync(cache.file); // or it would be read, and rejected, first every time
      } catch {
        /* gone already, or not ours to remove */
      }
    }
    return writeCache(dist, prefix, id, flags, kind, script.createCachedData()) ? kind : null;
  };
  return { exports: module.exports, saveCache, cacheUsed };
}
