// On-disk cache of compiled machine code. An entry is keyed by a fingerprint of the module's bytes (runtime/
// checksum.ts: CRC-32C at memory speed, not a cryptographic hash, which cost 20-35 ms for a 30 MB module),
// Quickbeam's version, the CPU features the code was generated for, and the compile options; it holds a copy of
// the module's bytes, compared byte for byte with the caller's before anything else is used (so two modules
// with one key, by accident or by design, cannot share code: the second misses); its contents are checksummed,
// so a corrupt, truncated or stale entry is detected and ignored (then overwritten), never executed.
//
// An entry becomes executable code, and a checksum only catches accidents: entries are read and written through
// src/trusted-file.cts, so only a file that no one but the current user (or root) can have written is used. The
// directory is created 0700 and entries 0600; an entry that fails the checks (a symlink, another owner, writable
// by group or others) is ignored and rewritten, and a directory that fails them is neither read nor written
// (the module's cache status is then 'untrusted', with the reason).
//
// The generated code is position independent and has no process-specific constants (call_indirect reads
// signature ids from the instance's vmctx), so a hit uses the entry's code as it is: the code region sits at a
// page-aligned offset of the file and is mapped read+execute straight from the descriptor that passed the trust
// checks (runtime/mapped-code.ts; read with one read() where executable mappings are refused), then checksummed
// where it is mapped, before anything can run it. The module's declarations come from a snapshot in the entry
// (info-snapshot.ts) instead of decoding the module again, and the source map (return address -> wasm offset,
// for backtraces) is mapped but only read, and checked, when a backtrace first needs it.
//
// Entry layout (little-endian; every region's length is a multiple of CHECKSUM_ALIGN, checksums are 16 bytes,
// runtime/checksum.ts):
//   0   'QBCACHE4'
//   8   u32 metaLength
//   12  u32 0
//   16  checksum of the meta region
//   32  meta region: u32 header length, the header (JSON: key, options, the other regions' offsets, lengths
//       and checksums, the blobs' lengths), zero padding to 4 bytes, then the blobs: funcOffsets and
//       entryStubOffsets (Int32), the ModuleInfo snapshot, (lazy: lazyThunkOffsets, the function table),
//       regEntryOffsets (Int32); zero padding
//   moduleOffset (page-aligned): the module's bytes, zero padding
//   srcMapOffset (page-aligned): pcOffsets then wasmOffsets (Int32), zero padding
//   codeOffset (page-aligned): the code, zero-padded to a multiple of the page size; the file ends there.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Features } from '../decode/features.js';
import { moduleVmctxLayout } from '../runtime/layout.js';
import { CodeBlock } from '../runtime/code-memory.js';
import { CHECKSUM_ALIGN, checksumAlgorithm, checksumAt, checksumBytes, moduleFingerprint, stringDigest } from '../runtime/checksum.js';
import { mapCodeFile, mapFileOwned, readCodeBlock } from '../runtime/mapped-code.js';
import { pruneCache, touchEntry } from './cache-prune.js';
import { MAP_PRIVATE, PAGE_SIZE, PROT_READ, addressOf, alignUp, bytesAt, munmap, nativeMove, prefault, tryMmapFile } from '../runtime/native.js';
import { RawArrays, snapshotInfo } from './info-snapshot.js';
import { restoreDeclarations, restoredEagerModule } from './restored-module.js';
import type { PlacedFunction } from '../api/lazy-code.js';
import type { ModuleInfo } from '../decode/types.js';
import { cpuFeatures } from '../x64/cpu-features.js';
import { startupMark } from '../startup-trace.js';
import { CompiledModule, CompileOptions } from './module-compiler.js';
import { signatureId } from './signatures.js';

/** Milliseconds on a monotonic clock. (Not `performance.now()`: its first use loads perf_hooks, 0.6 ms of start-up.) */
function nowMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

// The shared checks for files that become code (CommonJS, shared with bin/quickbeam.js, which has usually loaded
// it already), loaded on first use.
type TrustedFile = typeof import('../trusted-file.cjs');
let trustedFile: TrustedFile | undefined;
function trusted(): TrustedFile {
  return (trustedFile ??= createRequire(import.meta.url)('../trusted-file.cjs') as TrustedFile);
}

const MAGIC = 'QBCACHE4';
const PREFIX = 32;

let cachedVersion: string | null = null;
/** The compiler's version as the cache key has it: package version + build id (exported for tests). */
export function quickbeamVersion(): string {
  if (cachedVersion === null) {
    let version = '0';
    try {
      const url = new URL('../../../package.json', import.meta.url); // dist/src/compile -> root
      version = String((JSON.parse(fs.readFileSync(url, 'utf8')) as { version?: string }).version ?? '0');
    } catch {
      version = 'unknown';
    }
    cachedVersion = `${version}+${buildId()}`;
  }
  return cachedVersion;
}

/**
 * Which build of the compiler this is: a package version alone does not say (every commit between releases
 * has the same one), and an entry made by another build must never be mapped as this one's code. `npm run
 * build` writes dist/build-id, a hash of the compiled sources (scripts/bundle.mjs); without it (a plain tsc
 * build), this file's modification time stands in, which any rebuild changes.
 */
function buildId(): string {
  try {
    return fs.readFileSync(new URL('../../build-id', import.meta.url), 'utf8').trim(); // dist/src/compile -> dist
  } catch {
    try {
      return `mtime-${fs.statSync(new URL(import.meta.url)).mtimeMs}`;
    } catch {
      return 'unknown';
    }
  }
}

/** The cache key of compiling `bytes` with these features and options on this machine. */
export function cacheKey(bytes: Uint8Array, features: Features, options: CompileOptions): string {
  // (A digest of the fingerprint and the options: no one can choose the options, and the bytes are compared.)
  return stringDigest(
    moduleFingerprint(bytes) +
    JSON.stringify({
      v: quickbeamVersion(),
      cpu: cpuFeatures(),
      features,
      boundsChecks: options.boundsChecks !== false,
      interruptible: options.interruptible === true,
      fuel: options.fuel === true,
      lazy: options.lazy === true,
    }),
  );
}

interface Header {
  key: string;
  /** checksumAlgorithm() of the writer: an entry is only checked (and used) under the same one. */
  check: string;
  boundsChecks: boolean;
  interruptible: boolean;
  fuel: boolean;
  /**
   * Byte lengths of the meta region's blobs: funcOffsets, entryStubOffsets, the ModuleInfo snapshot; lazy entries
   * also lazyThunkOffsets and the function table; then regEntryOffsets.
   */
  blobs: number[];
  /**
   * A lazily compiled module's entry: the code region holds its stubs (stubsLength bytes), then the functions
   * compiled so far, listed in the function table: (function index, code offset, entry offset, length, source
   * map start, source map count) per function; the source map holds their maps (offsets relative to each
   * function's code).
   */
  lazy?: boolean;
  stubsLength?: number;
  /** The range of the module bytes a loaded module reads (data segments): only that part is copied. */
  keep: [number, number];
  /** The module's bytes (compared with the caller's on every lookup): offset, length, region length. */
  moduleOffset: number;
  moduleLength: number;
  moduleRegion: number;
  /** Element count of pcOffsets (and of wasmOffsets). */
  srcMapCount: number;
  srcMapOffset: number;
  srcMapRegion: number;
  srcMapChecksum: string;
  codeOffset: number;
  codeLength: number;
  /** Bytes of the code region (codeLength rounded up to the page size): the file ends there. */
  codeRegion: number;
  codeChecksum: string;
}

function u32At(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v;
  b[at + 1] = v >>> 8;
  b[at + 2] = v >>> 16;
  b[at + 3] = v >>> 24;
}

function putHex(b: Uint8Array, at: number, hex: string): void {
  for (let k = 0; k < 16; k++) b[at + k] = parseInt(hex.slice(2 * k, 2 * k + 2), 16);
}

function hexAt(b: Uint8Array, at: number): string {
  let s = '';
  for (let k = 0; k < 16; k++) s += b[at + k].toString(16).padStart(2, '0');
  return s;
}

function bytesOf(a: Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** `parts` from offset `at`, each at a multiple of 4, zero-padded to a multiple of CHECKSUM_ALIGN. */
function region(parts: Uint8Array[], at = 0): Uint8Array {
  let size = at;
  for (const p of parts) size = alignUp(size, 4) + p.length;
  const out = new Uint8Array(alignUp(Math.max(size, 1), CHECKSUM_ALIGN));
  let pos = at;
  for (const p of parts) {
    pos = alignUp(pos, 4);
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** The meta region for a header and its blobs. */
function metaRegion(header: Header, blobs: Uint8Array[]): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const start = alignUp(4 + json.length, 4);
  const meta = region(blobs, start);
  putU32(meta, 0, json.length);
  meta.set(json, 4);
  return meta;
}

/**
 * A whole entry, as parts to write one after the other: prefix and meta region, padding, source map region,
 * padding, code region (`header`'s offsets are filled in).
 */
function entryParts(header: Header, blobs: Uint8Array[], moduleBytes: Uint8Array, srcMap: Uint8Array, code: Uint8Array): Uint8Array[] {
  header.moduleLength = moduleBytes.length;
  header.moduleRegion = alignUp(moduleBytes.length, PAGE_SIZE);
  header.srcMapRegion = srcMap.length;
  header.codeRegion = code.length;
  // The offsets depend on the meta region's size, which depends on the header: repeat until they settle.
  let meta = metaRegion(header, blobs);
  for (;;) {
    const moduleOffset = alignUp(PREFIX + meta.length, PAGE_SIZE);
    const srcMapOffset = moduleOffset + header.moduleRegion;
    const codeOffset = alignUp(srcMapOffset + srcMap.length, PAGE_SIZE);
    if (header.moduleOffset === moduleOffset && header.srcMapOffset === srcMapOffset && header.codeOffset === codeOffset) break;
    header.moduleOffset = moduleOffset;
    header.srcMapOffset = srcMapOffset;
    header.codeOffset = codeOffset;
    meta = metaRegion(header, blobs);
  }
  const head = new Uint8Array(header.moduleOffset);
  head.set(Buffer.from(MAGIC, 'latin1'), 0);
  putU32(head, 8, meta.length);
  putHex(head, 16, checksumBytes(meta));
  head.set(meta, PREFIX);
  return [
    head, moduleBytes, new Uint8Array(header.moduleRegion - moduleBytes.length),
    srcMap, new Uint8Array(header.codeOffset - header.srcMapOffset - srcMap.length), code,
  ];
}

/** The concatenation of parts. */
function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  n = 0;
  for (const p of parts) {
    out.set(p, n);
    n += p.length;
  }
  return out;
}

/** `code` zero-padded to a page multiple: a view of the same memory when its buffer has the room (compileModule
 * leaves it), else a copy. */
function paddedCode(code: Uint8Array): Uint8Array {
  const size = alignUp(Math.max(code.length, 1), PAGE_SIZE);
  if (code.buffer.byteLength - code.byteOffset >= size) {
    const padded = new Uint8Array(code.buffer, code.byteOffset, size);
    let zero = true;
    for (let k = code.length; k < size && zero; k++) zero = padded[k] === 0;
    if (zero) return padded;
  }
  const out = new Uint8Array(size);
  prefault(out, 0, size);
  out.set(code);
  return out;
}

/**
 * Write a cache entry (atomically: a 0600 temp file + rename). Returns why nothing was written when the
 * directory is not private to this user (see trusted-file.cts), else null; I/O failures are thrown.
 */
export function storeCached(dir: string, key: string, c: CompiledModule): string | null {
  if (c.lazy) throw new Error('internal: lazily compiled modules are stored with storeLazyCached');
  const t = trusted();
  const d = t.trustedDir(dir, true);
  if (!d.ok) return d.reason;
  const { snapshot, keep } = snapshotInfo(c.info, c.bytes);
  const blobs = [bytesOf(c.funcOffsets), bytesOf(c.entryStubOffsets), snapshot, bytesOf(c.regEntryOffsets)];
  const srcMap = region([bytesOf(c.pcOffsets), bytesOf(c.wasmOffsets)]);
  const code = paddedCode(c.code);
  const header: Header = {
    key, check: checksumAlgorithm(), boundsChecks: c.boundsChecks, interruptible: c.interruptible,
    fuel: c.fuel, blobs: blobs.map((b) => b.length), keep, moduleOffset: 0, moduleLength: 0, moduleRegion: 0,
    srcMapCount: c.pcOffsets.length, srcMapOffset: 0, srcMapRegion: 0,
    srcMapChecksum: checksumBytes(srcMap), codeOffset: 0, codeLength: c.code.length, codeRegion: 0, codeChecksum: checksumBytes(code),
  };
  t.writeTrusted(d, `${key}.qbc`, entryParts(header, blobs, c.bytes, srcMap, code));
  pruneCache(d.path, `${key}.qbc`);
  return null;
}

const FN_FIELDS = 6;

/**
 * Write the entry of a lazily compiled module: its stubs (`stubs`: its code, `c.code`, or where it is in
 * executable memory) and the functions compiled so far (LazyCode.functions(), read from executable memory). A
 * later hit installs those and compiles the others on first call, as usual; when that process compiles more,
 * it stores them all again. `snapshot`: the ModuleInfo snapshot when the module came from an entry. Returns why
 * nothing was written, as storeCached.
 */
export function storeLazyCached(
  dir: string, key: string, c: CompiledModule, stubs: Uint8Array | { addr: number; length: number }, fns: PlacedFunction[],
  snapshot?: Uint8Array,
): string | null {
  if (!c.lazy) throw new Error('internal: not a lazily compiled module');
  const t = trusted();
  const d = t.trustedDir(dir, true);
  if (!d.ok) return d.reason;
  // The whole module is kept: functions not compiled yet will be compiled from it.
  snapshot ??= snapshotInfo(c.info, c.bytes).snapshot;
  let size = alignUp(stubs.length, 64);
  let maps = 0;
  const table = new Int32Array(FN_FIELDS * fns.length);
  for (let k = 0; k < fns.length; k++) {
    const fn = fns[k], at = FN_FIELDS * k;
    table[at] = fn.f;
    table[at + 1] = size;
    table[at + 2] = fn.entry;
    table[at + 3] = fn.length;
    table[at + 4] = maps;
    table[at + 5] = fn.mapCount;
    size = alignUp(size + fn.length, 64);
    maps += fn.mapCount;
  }
  const code = new Uint8Array(alignUp(Math.max(size, 1), PAGE_SIZE));
  prefault(code, 0, code.length);
  // Copied straight from executable memory (a view per piece would cost a koffi view each, and big views
  // make V8 collect garbage).
  const base = addressOf(code);
  if (stubs instanceof Uint8Array) code.set(stubs);
  else nativeMove(base, stubs.addr, stubs.length);
  for (let k = 0; k < fns.length; k++) nativeMove(base + table[FN_FIELDS * k + 1], fns[k].addr, fns[k].length);
  const pcs = new Int32Array(maps), wasms = new Int32Array(maps);
  for (let k = 0; k < fns.length; k++) {
    const fn = fns[k];
    pcs.set(fn.pcOffsets.subarray(fn.mapStart, fn.mapStart + fn.mapCount), table[FN_FIELDS * k + 4]);
    wasms.set(fn.wasmOffsets.subarray(fn.mapStart, fn.mapStart + fn.mapCount), table[FN_FIELDS * k + 4]);
  }
  const blobs = [bytesOf(c.funcOffsets), bytesOf(c.entryStubOffsets), snapshot, bytesOf(c.lazyThunkOffsets), bytesOf(table), bytesOf(c.regEntryOffsets)];
  const srcMap = region([bytesOf(pcs), bytesOf(wasms)]);
  const header: Header = {
    key, check: checksumAlgorithm(), boundsChecks: c.boundsChecks, interruptible: c.interruptible, fuel: c.fuel,
    blobs: blobs.map((b) => b.length), lazy: true, stubsLength: stubs.length, keep: [0, c.bytes.length],
    moduleOffset: 0, moduleLength: 0, moduleRegion: 0, srcMapCount: maps,
    srcMapOffset: 0, srcMapRegion: 0, srcMapChecksum: checksumBytes(srcMap), codeOffset: 0, codeLength: size, codeRegion: 0,
    codeChecksum: checksumBytes(code),
  };
  t.writeTrusted(d, `${key}.qbc`, entryParts(header, blobs, c.bytes, srcMap, code));
  pruneCache(d.path, `${key}.qbc`);
  return null;
}

/**
 * Testing the trust checks: `entry` (as storeCached wrote it) under another key and holding another module's
 * bytes (`moduleBytes`), with valid checksums. This is what anyone able to write to a cache directory could
 * make, which is why the directory must be private.
 */
export function rekeyEntry(data: Uint8Array, key: string, moduleBytes: Uint8Array): Uint8Array {
  const entry = new Uint8Array(data); // (a plain copy: a Buffer's slice() would share memory)
  const parsed = parseMeta(entry.subarray(PREFIX, PREFIX + u32At(entry, 8)));
  if (parsed === null) throw new Error('not a cache entry');
  const { header, blobs } = parsed;
  header.key = key;
  return concat(entryParts(
    header, blobs, moduleBytes,
    entry.slice(header.srcMapOffset, header.srcMapOffset + header.srcMapRegion),
    entry.slice(header.codeOffset, header.codeOffset + header.codeRegion),
  ));
}

/** Where an entry's regions are (tests: corrupting each of them). */
export function entryLayout(data: Uint8Array): {
  metaEnd: number; moduleOffset: number; moduleEnd: number; srcMapOffset: number; srcMapEnd: number; codeOffset: number; codeLength: number; codeEnd: number;
} {
  const metaLength = u32At(data, 8);
  const parsed = parseMeta(data.subarray(PREFIX, PREFIX + metaLength));
  if (parsed === null) throw new Error('not a cache entry');
  const h = parsed.header;
  return {
    metaEnd: PREFIX + metaLength, moduleOffset: h.moduleOffset, moduleEnd: h.moduleOffset + h.moduleLength, srcMapOffset: h.srcMapOffset, srcMapEnd: h.srcMapOffset + h.srcMapRegion,
    codeOffset: h.codeOffset, codeLength: h.codeLength, codeEnd: h.codeOffset + h.codeRegion,
  };
}

/** Code of at least this many bytes is mapped from a cache entry; smaller code is read (see loadCached). */
let mappedCodeMin = 1024 * 1024;

/** Testing: map entries' code from this size on (0: always). */
export function setMappedCodeMin(bytes: number): void {
  mappedCodeMin = bytes;
}

export type CacheLookup =
  | { compiled: CompiledModule; code: CodeBlock & { gcOwned?: boolean }; mapped: boolean; lazyFunctions?: LazyFunctions }
  | { miss: 'absent' | 'corrupt' | 'stale' }
  | { miss: 'untrusted'; reason: string };

/**
 * Load a cache entry for module bytes `src` (already known to hash to `key`). Only an entry that passes the checks
 * of trusted-file.cts is read: otherwise the miss is 'untrusted', with the reason. A hit returns the module's code
 * as a CodeBlock (mapped from the entry, or read into code memory), which the caller owns, and a compiled module
 * whose `bytes` hold a copy of only the parts of `src` an instance reads (the data segments).
 */
export function loadCached(dir: string, key: string, src: Uint8Array, features: Features): CacheLookup {
  const t = trusted();
  const d = t.trustedDir(dir);
  if (!d.ok) return d.missing ? { miss: 'absent' } : { miss: 'untrusted', reason: d.reason };
  const file = t.openTrusted(d, `${key}.qbc`);
  if (!file.ok) return file.missing ? { miss: 'absent' } : { miss: 'untrusted', reason: `entry ${file.reason}` };
  touchEntry(file.fd); // (recently used: kept when the directory is pruned)
  const t0 = nowMs();
  startupMark('cache: entry opened and checked (trust)');
  let code: (CodeBlock & { mapped: boolean; gcOwned?: boolean }) | null = null;
  let srcMap: SrcMapping | null = null;
  try {
    const r = readMeta(file.fd, file.size, key);
    if ('miss' in r) return r;
    const { header, blobs } = r;
    startupMark(`cache: ${(blobs[2].length / 1e6).toFixed(2)} MB of declarations and offsets read and checked`);
    // The key is a fingerprint, not a cryptographic hash: the entry is this module's only if it holds the same
    // bytes. The part an instance reads (header.keep) is read from the entry into the module's own copy and
    // compared there (the read is the copy); the rest is compared through a small buffer.
    const kept = keptFromEntry(file.fd, header, src);
    if (kept === null) return { miss: 'stale' };
    startupMark('cache: module bytes compared');
    // The code: mapped from the checked descriptor (or read, where executable mappings are refused), then
    // checksummed where it is, before anything can run it. Small entries are read into code memory instead
    // (a copy costs less than a mapping's system calls). Either way GC-owned: no finalizer (a loop of cache
    // hits frees them as it goes), unless resizable ArrayBuffers are missing (see mapped-code.ts).
    const readChecked = (): (CodeBlock & { mapped: boolean; gcOwned?: boolean }) | null =>
      readCodeBlock(file.fd, header.codeOffset, header.codeRegion, header.codeLength, (region) => checksumBytes(region) === header.codeChecksum);
    code = header.codeRegion < mappedCodeMin ? readChecked() : mapCodeFile(file.fd, header.codeOffset, header.codeRegion) ?? readChecked();
    if (code === null) return { miss: 'corrupt' };
    startupMark(`cache: ${(header.codeRegion / 1e6).toFixed(1)} MB of code ${code.mapped ? 'mapped' : 'read'}`);
    if (code.mapped && checksumAt(code.addr, header.codeRegion) !== header.codeChecksum) return { miss: 'corrupt' };
    startupMark('cache: code checksummed');
    // The source map is only needed for backtraces: mapped now (no page is read until then), checked when used.
    // Read along with code that was read; mapped (owned like the code) along with mapped code.
    srcMap = code.mapped && header.srcMapRegion > 0 ? mapSourceMap(file.fd, header.srcMapOffset, header.srcMapRegion, code.gcOwned === true) : null;
    const srcMapBytes = srcMap === null ? readRegion(file.fd, header.srcMapOffset, header.srcMapRegion) : null;
    // The module itself was validated when the entry was made (same bytes, same features), and its
    // declarations were recorded then.
    const raw: RawArrays = { codeOffsets: new Int32Array(0), codeEnds: null };
    const { info, bytes } = restoreDeclarations(src, blobs[2], header.keep, raw, kept);
    startupMark('cache: module declarations restored');
    const funcOffsets = int32s(blobs[0]);
    const entryStubOffsets = int32s(blobs[1]);
    const regEntryOffsets = int32s(blobs[header.lazy === true ? 5 : 3]);
    if (regEntryOffsets.length !== funcOffsets.length) return { miss: 'corrupt' };
    if (header.lazy === true) {
      const hit = lazyHit(header, blobs, info, raw, bytes, features, code, srcMap, srcMapBytes, funcOffsets, regEntryOffsets, entryStubOffsets);
      code = null;
      srcMap = null; // (read and released by lazyHit)
      hit.compiled.compileMs = nowMs() - t0;
      return hit;
    }
    const compiled = restoredEagerModule(info, bytes, { features, boundsChecks: header.boundsChecks, interruptible: header.interruptible, fuel: header.fuel }, {
      codeSize: header.codeLength,
      funcOffsets,
      regEntryOffsets,
      entryStubOffsets,
    });
    const block = withSourceMap(code, compiled, header, srcMap, srcMapBytes);
    srcMap = null;
    code = null;
    compiled.compileMs = nowMs() - t0;
    return { compiled, code: block, mapped: block.mapped };
  } catch {
    // An I/O error, or an entry too damaged to parse.
    return { miss: 'corrupt' };
  } finally {
    code?.free();
    srcMap?.release();
    fs.closeSync(file.fd);
  }
}

/** A lazy entry's compiled functions, in the hit's code block: LazyCode.preinstall's arguments. */
export interface LazyFunctions {
  start: number;
  end: number;
  fns: PlacedFunction[];
  /** The entry's ModuleInfo snapshot (for the next entry: storeLazyCached). */
  snapshot: Uint8Array;
}

/**
 * The code block, now also owning the source map mapping (at `srcMap`, or already read: `srcMapBytes`); the
 * compiled module's pcOffsets and wasmOffsets become accessors that read and check the source map on first use
 * (a damaged one gives no source positions: backtraces lose their offsets, nothing else depends on it).
 */
function withSourceMap(
  code: CodeBlock & { mapped: boolean; gcOwned?: boolean }, c: CompiledModule, header: Header, srcMap: SrcMapping | null, srcMapBytes: Uint8Array | null,
): CodeBlock & { mapped: boolean; gcOwned?: boolean } {
  let maps: [Int32Array, Int32Array] | null = null;
  let freed = false;
  const load = (): [Int32Array, Int32Array] => {
    if (maps !== null) return maps;
    const n = header.srcMapCount;
    const empty: [Int32Array, Int32Array] = [new Int32Array(0), new Int32Array(0)];
    if (freed) return empty;
    const region = srcMapBytes ?? (srcMap === null ? new Uint8Array(0) : bytesAt(srcMap.addr, header.srcMapRegion).slice());
    if (checksumBytes(region) !== header.srcMapChecksum || 8 * n > region.length) return (maps = empty);
    return (maps = [new Int32Array(region.buffer, 0, n), new Int32Array(region.buffer, 4 * n, n)]);
  };
  Object.defineProperty(c, 'pcOffsets', { get: () => load()[0], enumerable: true, configurable: true });
  Object.defineProperty(c, 'wasmOffsets', { get: () => load()[1], enumerable: true, configurable: true });
  return {
    addr: code.addr,
    size: code.size,
    mapped: code.mapped,
    gcOwned: code.gcOwned,
    owner: code.owner,
    free() {
      if (freed) return;
      freed = true;
      code.free();
      srcMap?.release();
    },
  };
}

function int32s(b: Uint8Array): Int32Array {
  return new Int32Array(b.buffer, b.byteOffset, b.length / 4);
}

/** The hit of a lazy entry: a lazily compiled module, its stubs, and the functions to preinstall. */
function lazyHit(
  header: Header, blobs: Uint8Array[], info: ModuleInfo, raw: RawArrays, bytes: Uint8Array, features: Features, code: CodeBlock & { mapped: boolean; gcOwned?: boolean },
  srcMap: SrcMapping | null, srcMapBytes: Uint8Array | null, funcOffsets: Int32Array, regEntryOffsets: Int32Array,
  entryStubOffsets: Int32Array,
): { compiled: CompiledModule; code: CodeBlock; mapped: boolean; lazyFunctions: LazyFunctions } {
  const n = info.funcTypes.length;
  const bodyStarts = new Int32Array(n), bodyEnds = new Int32Array(n);
  bodyStarts.set(raw.codeOffsets.subarray(0, n - info.numImportedFuncs), info.numImportedFuncs);
  if (raw.codeEnds !== null) bodyEnds.set(raw.codeEnds.subarray(0, n - info.numImportedFuncs), info.numImportedFuncs);
  const stubsLength = header.stubsLength ?? 0;
  const compiled: CompiledModule = {
    info, features, boundsChecks: header.boundsChecks, interruptible: header.interruptible, fuel: header.fuel, lazy: true,
    lazyThunkOffsets: int32s(blobs[3]), bodyStarts, bodyEnds, bytes, layout: moduleVmctxLayout(info), code: new Uint8Array(0),
    codeSize: stubsLength, funcOffsets, regEntryOffsets, entryStubOffsets, sigIds: info.types.map((ty) => signatureId(ty)),
    pcOffsets: new Int32Array(0), wasmOffsets: new Int32Array(0), compileMs: 0,
  };
  // The functions' source maps (small: only the functions that ran) are read now; a damaged one leaves them
  // without source positions.
  const m = header.srcMapCount;
  const region = srcMapBytes ?? (srcMap === null ? new Uint8Array(0) : bytesAt(srcMap.addr, header.srcMapRegion).slice());
  const mapsOk = checksumBytes(region) === header.srcMapChecksum && 8 * m <= region.length;
  const pcs = mapsOk ? new Int32Array(region.buffer, 0, m) : new Int32Array(0);
  const wasms = mapsOk ? new Int32Array(region.buffer, 4 * m, m) : new Int32Array(0);
  const table = int32s(blobs[4]);
  const fns: PlacedFunction[] = [];
  const limit = header.codeLength;
  for (let k = 0; k + FN_FIELDS <= table.length; k += FN_FIELDS) {
    const f = table[k], offset = table[k + 1], entry = table[k + 2], length = table[k + 3];
    const mapStart = table[k + 4], mapCount = table[k + 5];
    if (!(f >= info.numImportedFuncs && f < n && offset >= stubsLength && offset + length <= limit && entry < length)) {
      throw new Error('bad function table');
    }
    const ok = mapsOk && mapStart >= 0 && mapCount >= 0 && mapStart + mapCount <= m;
    fns.push({ f, addr: code.addr + offset, length, entry, pcOffsets: pcs, wasmOffsets: wasms, mapStart: ok ? mapStart : 0, mapCount: ok ? mapCount : 0 });
  }
  srcMap?.release();
  return { compiled, code, mapped: code.mapped, lazyFunctions: { start: code.addr + alignUp(stubsLength, 64), end: code.addr + code.size, fns, snapshot: blobs[2].slice() } };
}

/** A cache entry's source map, mapped: `release` frees it now (else it goes with `owner`, or never: see mapSourceMap). */
interface SrcMapping {
  addr: number;
  release(): void;
}

/**
 * Map the source map read-only, not populated (backtraces read it; most modules never trap): over a GC-owned
 * reservation when the code is GC-owned (the block, which refers to this mapping, keeps it), else plain (freed
 * with the code by the module's finalizer). Null when it cannot be mapped: the caller reads it.
 */
function mapSourceMap(fd: number, offset: number, length: number, gcOwned: boolean): SrcMapping | null {
  if (gcOwned) {
    const m = mapFileOwned(fd, offset, length, PROT_READ, false);
    return m === null ? null : { addr: m.addr, release: () => m.release(), owner: m.owner } as SrcMapping;
  }
  const addr = tryMmapFile(length, PROT_READ, MAP_PRIVATE, fd, offset);
  if (addr === 0) return null;
  let released = false;
  return { addr, release: () => { if (!released) { released = true; munmap(addr, length); } } };
}

/** Compare buffer for the bytes an instance does not read (reused: a lookup allocates no more than this). */
const COMPARE_CHUNK = 1 << 20;
let compareBuffer: Buffer | null = null;

/**
 * The module's own copy of its bytes (zero outside header.keep, filled from the entry there), when the entry's
 * copy of the module is exactly `src`; null when it is not (another module under this key).
 */
function keptFromEntry(fd: number, header: Header, src: Uint8Array): Uint8Array | null {
  const length = header.moduleLength;
  const [lo, hi] = header.keep;
  if (length !== src.length || !(lo >= 0 && lo <= hi && hi <= length)) return null;
  const out = new Uint8Array(length);
  if (!readInto(fd, header.moduleOffset + lo, out, lo, hi - lo)) return null;
  if (Buffer.compare(out.subarray(lo, hi), src.subarray(lo, hi)) !== 0) return null;
  compareBuffer ??= Buffer.allocUnsafe(COMPARE_CHUNK);
  for (const [from, to] of [[0, lo], [hi, length]]) {
    for (let at = from; at < to; at += COMPARE_CHUNK) {
      const n = Math.min(COMPARE_CHUNK, to - at);
      if (!readInto(fd, header.moduleOffset + at, compareBuffer, 0, n)) return null;
      if (Buffer.compare(compareBuffer.subarray(0, n), src.subarray(at, at + n)) !== 0) return null;
    }
  }
  return out;
}

/** Read `n` bytes of `fd` at `offset` into `out` at `at`; false if the file ends first. */
function readInto(fd: number, offset: number, out: Uint8Array, at: number, n: number): boolean {
  for (let done = 0; done < n; ) {
    const got = fs.readSync(fd, out, at + done, n - done, offset + done);
    if (got <= 0) return false;
    done += got;
  }
  return true;
}

function readRegion(fd: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (!readInto(fd, offset, out, 0, length)) throw new Error('cache entry ended early');
  return out;
}

function parseMeta(meta: Uint8Array): { header: Header; blobs: Uint8Array[] } | null {
  const jsonLength = u32At(meta, 0);
  if (4 + jsonLength > meta.length) return null;
  const header = JSON.parse(Buffer.from(meta.buffer, meta.byteOffset + 4, jsonLength).toString('utf8')) as Header;
  const blobs: Uint8Array[] = [];
  let pos = 4 + jsonLength;
  for (const n of header.blobs) {
    pos = alignUp(pos, 4);
    if (pos + n > meta.length) return null;
    blobs.push(meta.subarray(pos, pos + n));
    pos += n;
  }
  return { header, blobs };
}

/** The entry's header and blobs, when its prefix and meta region are intact and it belongs to `key`. */
function readMeta(fd: number, size: number, key: string): { header: Header; blobs: Uint8Array[] } | { miss: 'corrupt' | 'stale' } {
  if (size < PREFIX + CHECKSUM_ALIGN) return { miss: 'corrupt' };
  const prefix = readRegion(fd, 0, PREFIX);
  if (Buffer.from(prefix.buffer, 0, MAGIC.length).toString('latin1') !== MAGIC) return { miss: 'stale' };
  const metaLength = u32At(prefix, 8);
  if (u32At(prefix, 12) !== 0) return { miss: 'corrupt' };
  if (metaLength % CHECKSUM_ALIGN !== 0 || metaLength === 0 || PREFIX + metaLength > size) return { miss: 'corrupt' };
  const meta = readRegion(fd, PREFIX, metaLength);
  if (checksumBytes(meta) !== hexAt(prefix, 16)) return { miss: 'corrupt' };
  const parsed = parseMeta(meta);
  if (parsed === null) return { miss: 'corrupt' };
  const h = parsed.header;
  if (h.key !== key || h.check !== checksumAlgorithm()) return { miss: 'stale' };
  const blobCount = h.lazy === true ? 6 : 4;
  if (parsed.blobs.length !== blobCount || parsed.blobs.some((b, k) => k !== 2 && b.length % 4 !== 0)) return { miss: 'corrupt' };
  // The regions in order, page-aligned, and the code region ending the file exactly (not truncated or extended).
  if (h.moduleOffset % PAGE_SIZE !== 0 || h.moduleOffset < PREFIX + metaLength || h.moduleLength > h.moduleRegion) return { miss: 'corrupt' };
  if (h.srcMapOffset % PAGE_SIZE !== 0 || h.srcMapOffset < h.moduleOffset + h.moduleRegion) return { miss: 'corrupt' };
  if (h.codeOffset % PAGE_SIZE !== 0 || h.codeOffset < h.srcMapOffset + h.srcMapRegion) return { miss: 'corrupt' };
  if (h.codeOffset + h.codeRegion !== size || h.codeLength > h.codeRegion || h.codeRegion % PAGE_SIZE !== 0) return { miss: 'corrupt' };
  return parsed;
}
