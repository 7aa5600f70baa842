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
// signature ids from the instance's vmctx), so it is loaded unchanged.

import type { Hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { decodeModule } from '../decode/module-decoder.js';
import { Features } from '../decode/features.js';
import { moduleVmctxLayout } from '../runtime/layout.js';
import { cpuFeatures } from '../x64/cpu-features.js';
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

const MAGIC = 'QBCACHE2';
const HASH_BYTES = 32;

let cachedVersion: string | null = null;
function quickbeamVersion(): string {
  if (cachedVersion === null) {
    try {
      const url = new URL('../../../package.json', import.meta.url); // dist/src/compile -> root
      cachedVersion = String((JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version ?? '0');
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
  compileMs: number;
  boundsChecks: boolean;
  interruptible: boolean;
  fuel: boolean;
  lengths: number[];
}

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** An entry's bytes: its body followed by the body's SHA-256. */
export function sealEntry(body: Uint8Array): Buffer {
  return Buffer.concat([body, sha256(body)]);
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
  const arrays = [c.funcOffsets, c.entryStubOffsets, c.pcOffsets, c.wasmOffsets];
  const header: Header = { key, compileMs: c.compileMs, boundsChecks: c.boundsChecks, interruptible: c.interruptible, fuel: c.fuel, lengths: [...arrays.map((x) => x.length), c.code.length] };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const parts: Uint8Array[] = [Buffer.from(MAGIC, 'latin1'), u32(headerBytes.length), headerBytes];
  for (const a of arrays) parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  parts.push(c.code);
  t.writeTrusted(d, `${key}.qbc`, sealEntry(Buffer.concat(parts)));
  return null;
}

function u32(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

export type CacheLookup = { compiled: CompiledModule } | { miss: 'absent' | 'corrupt' | 'stale' } | { miss: 'untrusted'; reason: string };

/**
 * Load a cache entry for `bytes` (already known to hash to `key`). Only an entry that passes the checks of
 * trusted-file.cts is read: otherwise the miss is 'untrusted', with the reason.
 */
export function loadCached(dir: string, key: string, bytes: Uint8Array, features: Features): CacheLookup {
  const t = trusted();
  const d = t.trustedDir(dir);
  if (!d.ok) return d.missing ? { miss: 'absent' } : { miss: 'untrusted', reason: d.reason };
  const file = t.readTrusted(d, `${key}.qbc`);
  if (!file.ok) return file.missing ? { miss: 'absent' } : { miss: 'untrusted', reason: `entry ${file.reason}` };
  const data = file.data;
  const t0 = nowMs();
  if (data.length < MAGIC.length + 4 + HASH_BYTES) return { miss: 'corrupt' };
  const body = data.subarray(0, data.length - HASH_BYTES);
  if (!sha256(body).equals(data.subarray(data.length - HASH_BYTES))) return { miss: 'corrupt' };
  if (body.toString('latin1', 0, MAGIC.length) !== MAGIC) return { miss: 'corrupt' };
  let pos = MAGIC.length;
  const headerLength = body.readUInt32LE(pos);
  pos += 4;
  let header: Header;
  try {
    header = JSON.parse(body.toString('utf8', pos, pos + headerLength)) as Header;
  } catch {
    return { miss: 'corrupt' };
  }
  pos += headerLength;
  if (header.key !== key) return { miss: 'stale' };
  const ints: Int32Array[] = [];
  for (let k = 0; k < 4; k++) {
    const n = header.lengths[k];
    const a = new Int32Array(n);
    new Uint8Array(a.buffer).set(body.subarray(pos, pos + 4 * n));
    ints.push(a);
    pos += 4 * n;
  }
  const code = new Uint8Array(body.subarray(pos, pos + header.lengths[4]));
  if (code.length !== header.lengths[4]) return { miss: 'corrupt' };
  // The module itself was validated when the entry was made (same bytes, same features): only the
  // declarations are decoded again.
  const info = decodeModule(bytes, features);
  const sigIds = info.types.map((t) => signatureId(t));
  const [funcOffsets, entryStubOffsets, pcOffsets, wasmOffsets] = ints;
  return {
    compiled: {
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
      code,
      funcOffsets,
      entryStubOffsets,
      sigIds,
      pcOffsets,
      wasmOffsets,
      compileMs: nowMs() - t0,
    },
  };
}
