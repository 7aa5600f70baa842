// On-disk cache of compiled machine code. An entry is keyed by the module's SHA-256, Quickbeam's version,
// the CPU features the code was generated for, and the compile options; its contents are checksummed, so a
// corrupt, truncated or stale entry is detected and ignored (then overwritten), never executed.
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
//   0   'QBCACHE3'
//   8   u32 metaLength
//   12  u32 0
//   16  checksum of the meta region
//   32  meta region: u32 header length, the header (JSON: key, options, the other regions' offsets, lengths
//       and checksums, the blobs' lengths), zero padding to 4 bytes, then the blobs: funcOffsets and
//       entryStubOffsets (Int32), the ModuleInfo snapshot; zero padding
//   srcMapOffset (page-aligned): pcOffsets then wasmOffsets (Int32), zero padding
//   codeOffset (page-aligned): the code, zero-padded to a multiple of the page size; the file ends there.

import type { Hash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Features } from '../decode/features.js';
import { moduleVmctxLayout } from '../runtime/layout.js';
import { CodeBlock } from '../runtime/code-memory.js';
import { CHECKSUM_ALIGN, checksumAlgorithm, checksumAt, checksumBytes } from '../runtime/checksum.js';
import { mapCodeFile, readCodeFile } from '../runtime/mapped-code.js';
import { MAP_PRIVATE, PAGE_SIZE, PROT_READ, alignUp, bytesAt, munmap, tryMmapFile } from '../runtime/native.js';
import { keptBytes, restoreInfo, snapshotInfo } from './info-snapshot.js';
import { cpuFeatures } from '../x64/cpu-features.js';
import { startupMark } from '../startup-trace.js';
import { CompiledModule, CompileOptions } from './module-compiler.js';
import { signatureId } from './signatures.js';

/** Milliseconds on a monotonic clock. (Not `performance.now()`: its first use loads perf_hooks, 0.6 ms of start-up.) */
function nowMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

// node:crypto is loaded on first use, not when this module is (it costs about 3 ms of process start).
let nodeCrypto: typeof import('node:crypto') | undefined;
function createHash(algorithm: string): Hash {
  nodeCrypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return nodeCrypto.createHash(algorithm);
}

// The shared checks for files that become code (CommonJS, shared with bin/quickbeam.js, which has usually loaded
// it already), loaded on first use.
type TrustedFile = typeof import('../trusted-file.cjs');
let trustedFile: TrustedFile | undefined;
function trusted(): TrustedFile {
  return (trustedFile ??= createRequire(import.meta.url)('../trusted-file.cjs') as TrustedFile);
}

const MAGIC = 'QBCACHE3';
const PREFIX = 32;

let cachedVersion: string | null = null;
function quickbeamVersion(): string {
  if (cachedVersion === null) {
    try {
      const url = new URL('../../../package.json', import.meta.url); // dist/src/compile -> root
      cachedVersion = String((JSON.parse(fs.readFileSync(url, 'utf8')) as { version?: string }).version ?? '0');
    } catch {
      cachedVersion = 'unknown';
    }
  }
  return cachedVersion;
}

/** The cache key of compiling `bytes` with these features and options on this machine. */
export function cacheKey(bytes: Uint8Array, features: Features, options: CompileOptions): string {
  const h = createHash('sha256');
  h.update(bytes);
  h.update(
    JSON.stringify({
      v: quickbeamVersion(),
      cpu: cpuFeatures(),
      features,
      boundsChecks: options.boundsChecks !== false,
      interruptible: options.interruptible === true,
      fuel: options.fuel === true,
    }),
  );
  return h.digest('hex');
}

interface Header {
  key: string;
  /** checksumAlgorithm() of the writer: an entry is only checked (and used) under the same one. */
  check: string;
  boundsChecks: boolean;
  interruptible: boolean;
  fuel: boolean;
  /** Byte lengths of the meta region's blobs: funcOffsets, entryStubOffsets, the ModuleInfo snapshot. */
  blobs: number[];
  /** The range of the module bytes a loaded module reads (data segments): only that part is copied. */
  keep: [number, number];
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

/** Concatenation of `parts` from offset `at`, zero-padded to a multiple of CHECKSUM_ALIGN. */
function region(parts: Uint8Array[], at = 0): Uint8Array {
  let size = at;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(alignUp(Math.max(size, 1), CHECKSUM_ALIGN));
  let pos = at;
  for (const p of parts) {
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

/** A whole entry: prefix, meta region, source map region, code region (`header`'s offsets are filled in). */
function entryBytes(header: Header, blobs: Uint8Array[], srcMap: Uint8Array, code: Uint8Array): Uint8Array {
  header.srcMapRegion = srcMap.length;
  header.codeRegion = code.length;
  // The offsets depend on the meta region's size, which depends on the header: repeat until they settle.
  let meta = metaRegion(header, blobs);
  for (;;) {
    const srcMapOffset = alignUp(PREFIX + meta.length, PAGE_SIZE);
    const codeOffset = alignUp(srcMapOffset + srcMap.length, PAGE_SIZE);
    if (header.srcMapOffset === srcMapOffset && header.codeOffset === codeOffset) break;
    header.srcMapOffset = srcMapOffset;
    header.codeOffset = codeOffset;
    meta = metaRegion(header, blobs);
  }
  const out = new Uint8Array(header.codeOffset + header.codeRegion);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  putU32(out, 8, meta.length);
  putHex(out, 16, checksumBytes(meta));
  out.set(meta, PREFIX);
  out.set(srcMap, header.srcMapOffset);
  out.set(code, header.codeOffset);
  return out;
}

/**
 * Write a cache entry (atomically: a 0600 temp file + rename). Returns why nothing was written when the
 * directory is not private to this user (see trusted-file.cts), else null; I/O failures are thrown.
 */
export function storeCached(dir: string, key: string, c: CompiledModule): string | null {
  if (c.lazy) throw new Error('internal: lazily compiled modules are not cached');
  const t = trusted();
  const d = t.trustedDir(dir, true);
  if (!d.ok) return d.reason;
  const { snapshot, keep } = snapshotInfo(c.info, c.bytes);
  const blobs = [bytesOf(c.funcOffsets), bytesOf(c.entryStubOffsets), snapshot];
  const srcMap = region([bytesOf(c.pcOffsets), bytesOf(c.wasmOffsets)]);
  const code = new Uint8Array(alignUp(Math.max(c.code.length, 1), PAGE_SIZE));
  code.set(c.code);
  const header: Header = {
    key, check: checksumAlgorithm(), boundsChecks: c.boundsChecks, interruptible: c.interruptible,
    fuel: c.fuel, blobs: blobs.map((b) => b.length), keep, srcMapCount: c.pcOffsets.length, srcMapOffset: 0, srcMapRegion: 0,
    srcMapChecksum: checksumBytes(srcMap), codeOffset: 0, codeLength: c.code.length, codeRegion: 0, codeChecksum: checksumBytes(code),
  };
  t.writeTrusted(d, `${key}.qbc`, entryBytes(header, blobs, srcMap, code));
  return null;
}

/**
 * Testing the trust checks: `entry` (as storeCached wrote it) under another key, with valid checksums. This is
 * what anyone able to write to a cache directory could make, which is why the directory must be private.
 */
export function rekeyEntry(data: Uint8Array, key: string): Uint8Array {
  const entry = new Uint8Array(data); // (a plain copy: a Buffer's slice() would share memory)
  const parsed = parseMeta(entry.subarray(PREFIX, PREFIX + u32At(entry, 8)));
  if (parsed === null) throw new Error('not a cache entry');
  const { header, blobs } = parsed;
  header.key = key;
  return entryBytes(
    header, blobs,
    entry.slice(header.srcMapOffset, header.srcMapOffset + header.srcMapRegion),
    entry.slice(header.codeOffset, header.codeOffset + header.codeRegion),
  );
}

/** Where an entry's regions are (tests: corrupting each of them). */
export function entryLayout(data: Uint8Array): { metaEnd: number; srcMapOffset: number; srcMapEnd: number; codeOffset: number; codeLength: number; codeEnd: number } {
  const metaLength = u32At(data, 8);
  const parsed = parseMeta(data.subarray(PREFIX, PREFIX + metaLength));
  if (parsed === null) throw new Error('not a cache entry');
  const h = parsed.header;
  return {
    metaEnd: PREFIX + metaLength, srcMapOffset: h.srcMapOffset, srcMapEnd: h.srcMapOffset + h.srcMapRegion,
    codeOffset: h.codeOffset, codeLength: h.codeLength, codeEnd: h.codeOffset + h.codeRegion,
  };
}

export type CacheLookup =
  | { compiled: CompiledModule; code: CodeBlock; mapped: boolean }
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
  const t0 = nowMs();
  startupMark('cache: entry opened and checked (trust)');
  let code: (CodeBlock & { mapped: boolean }) | null = null;
  let srcMap = 0;
  let srcMapSize = 0;
  try {
    const r = readMeta(file.fd, file.size, key);
    if ('miss' in r) return r;
    const { header, blobs } = r;
    startupMark(`cache: ${(blobs[2].length / 1e6).toFixed(2)} MB of declarations and offsets read and checked`);
    // The code: mapped from the checked descriptor (or read, where executable mappings are refused), then
    // checksummed where it is, before anything can run it.
    code = mapCodeFile(file.fd, header.codeOffset, header.codeRegion) ?? readCodeFile(file.fd, header.codeOffset, header.codeRegion);
    startupMark(`cache: ${(header.codeRegion / 1e6).toFixed(1)} MB of code ${code.mapped ? 'mapped' : 'read'}`);
    if (checksumAt(code.addr, header.codeRegion) !== header.codeChecksum) return { miss: 'corrupt' };
    startupMark('cache: code checksummed');
    // The source map is only needed for backtraces: mapped now (no page is read until then), checked when used.
    srcMapSize = header.srcMapRegion;
    srcMap = tryMmapFile(srcMapSize, PROT_READ, MAP_PRIVATE, file.fd, header.srcMapOffset);
    const srcMapBytes = srcMap === 0 ? readRegion(file.fd, header.srcMapOffset, srcMapSize) : null;
    // The module itself was validated when the entry was made (same bytes, same features), and its
    // declarations were recorded then.
    const bytes = keptBytes(src, header.keep);
    const info = restoreInfo(blobs[2], bytes);
    startupMark('cache: module declarations restored');
    const funcOffsets = new Int32Array(blobs[0].buffer, blobs[0].byteOffset, blobs[0].length / 4);
    const entryStubOffsets = new Int32Array(blobs[1].buffer, blobs[1].byteOffset, blobs[1].length / 4);
    const compiled: CompiledModule = {
      info,
      features,
      boundsChecks: header.boundsChecks,
      interruptible: header.interruptible,
      fuel: header.fuel,
      lazy: false,
      lazyThunkOffsets: new Int32Array(0),
      bodyStarts: new Int32Array(0),
      bodyEnds: new Int32Array(0),
      bytes,
      layout: moduleVmctxLayout(info),
      code: new Uint8Array(0),
      codeSize: header.codeLength,
      funcOffsets,
      entryStubOffsets,
      sigIds: info.types.map((ty) => signatureId(ty)),
      pcOffsets: new Int32Array(0),
      wasmOffsets: new Int32Array(0),
      compileMs: 0,
    };
    const block = withSourceMap(code, compiled, header, srcMap, srcMapBytes);
    srcMap = 0;
    code = null;
    compiled.compileMs = nowMs() - t0;
    return { compiled, code: block, mapped: block.mapped };
  } catch {
    // An I/O error, or an entry too damaged to parse.
    return { miss: 'corrupt' };
  } finally {
    code?.free();
    if (srcMap !== 0) munmap(srcMap, srcMapSize);
    fs.closeSync(file.fd);
  }
}

/**
 * The code block, now also owning the source map mapping (at `srcMap`, or already read: `srcMapBytes`); the
 * compiled module's pcOffsets and wasmOffsets become accessors that read and check the source map on first use
 * (a damaged one gives no source positions: backtraces lose their offsets, nothing else depends on it).
 */
function withSourceMap(
  code: CodeBlock & { mapped: boolean }, c: CompiledModule, header: Header, srcMap: number, srcMapBytes: Uint8Array | null,
): CodeBlock & { mapped: boolean } {
  let maps: [Int32Array, Int32Array] | null = null;
  let freed = false;
  const load = (): [Int32Array, Int32Array] => {
    if (maps !== null) return maps;
    const n = header.srcMapCount;
    const empty: [Int32Array, Int32Array] = [new Int32Array(0), new Int32Array(0)];
    if (freed) return empty;
    const region = srcMapBytes ?? (header.srcMapRegion === 0 ? new Uint8Array(0) : bytesAt(srcMap, header.srcMapRegion).slice());
    if (checksumBytes(region) !== header.srcMapChecksum || 8 * n > region.length) return (maps = empty);
    return (maps = [new Int32Array(region.buffer, 0, n), new Int32Array(region.buffer, 4 * n, n)]);
  };
  Object.defineProperty(c, 'pcOffsets', { get: () => load()[0], enumerable: true, configurable: true });
  Object.defineProperty(c, 'wasmOffsets', { get: () => load()[1], enumerable: true, configurable: true });
  return {
    addr: code.addr,
    size: code.size,
    mapped: code.mapped,
    free() {
      if (freed) return;
      freed = true;
      code.free();
      if (srcMap !== 0) munmap(srcMap, header.srcMapRegion);
    },
  };
}

function readRegion(fd: number, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, out, done, length - done, offset + done);
    if (n <= 0) throw new Error('cache entry ended early');
    done += n;
  }
  return out;
}

function parseMeta(meta: Uint8Array): { header: Header; blobs: Uint8Array[] } | null {
  const jsonLength = u32At(meta, 0);
  if (4 + jsonLength > meta.length) return null;
  const header = JSON.parse(Buffer.from(meta.buffer, meta.byteOffset + 4, jsonLength).toString('utf8')) as Header;
  const blobs: Uint8Array[] = [];
  let pos = alignUp(4 + jsonLength, 4);
  for (const n of header.blobs) {
    if (pos + n > meta.length) return null;
    blobs.push(meta.subarray(pos, pos + n));
    pos = alignUp(pos + n, 4);
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
  if (parsed.blobs.length !== 3 || parsed.blobs[0].length % 4 !== 0 || parsed.blobs[1].length % 4 !== 0) return { miss: 'corrupt' };
  // The regions in order, page-aligned, and the code region ending the file exactly (not truncated or extended).
  if (h.srcMapOffset % PAGE_SIZE !== 0 || h.srcMapOffset < PREFIX + metaLength) return { miss: 'corrupt' };
  if (h.codeOffset % PAGE_SIZE !== 0 || h.codeOffset < h.srcMapOffset + h.srcMapRegion) return { miss: 'corrupt' };
  if (h.codeOffset + h.codeRegion !== size || h.codeLength > h.codeRegion || h.codeRegion % PAGE_SIZE !== 0) return { miss: 'corrupt' };
  return parsed;
}
