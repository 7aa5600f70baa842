// The code cache's corruption check: fast enough to run over every byte of a mapped 40 MB entry on each hit.
//
// The checksum of a region is the CRC-32C (Castagnoli) of each of its four contiguous quarters, 16 bytes in
// all, computed by a few lines of machine code with SSE4.2's `crc32 r64, m64` on the four quarters at once
// (four independent dependency chains keep the instruction's 3-cycle latency hidden). A CRC detects every
// error burst of up to 32 bits (so any corrupted byte) and anything else but one in 2^32 per quarter; it is
// not a defence against a file written on purpose (the cache's trust checks are: src/trusted-file.cts).
// Without SSE4.2 (QUICKBEAM_CPU_NO=sse42 forces it) the checksum is the first 16 bytes of a SHA-256 instead.
// Region lengths must be multiples of CHECKSUM_ALIGN.

import { createRequire } from 'node:module';
import { Assembler } from '../x64/assembler.js';
import { AluOp, Cond, R10, R11, R8, R9, RAX, RBX, RCX, RDI, RDX, RSI, UnaryOp } from '../x64/registers.js';
import { cpuFeatures } from '../x64/cpu-features.js';
import { allocatePermanentCode } from './code-memory.js';
import { bytesAt, koffi, nativeAlloc } from './native.js';

/** Checksummed regions are a multiple of this many bytes (four quarters of 16-byte steps). */
export const CHECKSUM_ALIGN = 64;

/** The algorithm this process uses (recorded in cache entries, which are only compared under the same one). */
export function checksumAlgorithm(): string {
  return cpuFeatures().sse42 ? 'crc32c-x4' : 'sha256-128';
}

type CrcFn = (p: number | Uint8Array, quarter: number, out: number) => void;
let crcFn: CrcFn | null = null;
let outAddr = 0;
let outView: Uint32Array | null = null;

/** `void crc32c_x4(p, quarterBytes, uint32_t out[4])`: quarterBytes a multiple of 16. */
function emitCrc(a: Assembler): void {
  const loop = a.newLabel();
  const done = a.newLabel();
  a.push(RBX);
  a.push(RDX);
  a.movImm32(RAX, -1);
  a.movImm32(R10, -1);
  a.movImm32(R11, -1);
  a.movImm32(RBX, -1);
  a.lea(true, RCX, RDI, RSI, 1, 0);
  a.lea(true, R8, RCX, RSI, 1, 0);
  a.lea(true, R9, R8, RSI, 1, 0);
  a.alu(AluOp.XOR, false, RDX, RDX);
  a.test(true, RSI, RSI);
  a.jcc(Cond.E, done);
  a.align(16, 0x90);
  a.bind(loop);
  for (const d of [0, 8]) {
    a.crc32Load(8, RAX, RDI, RDX, 1, d);
    a.crc32Load(8, R10, RCX, RDX, 1, d);
    a.crc32Load(8, R11, R8, RDX, 1, d);
    a.crc32Load(8, RBX, R9, RDX, 1, d);
  }
  a.aluImm(AluOp.ADD, true, RDX, 16);
  a.alu(AluOp.CMP, true, RDX, RSI);
  a.jcc(Cond.B, loop);
  a.bind(done);
  a.pop(RDX);
  for (const r of [RAX, R10, R11, RBX]) a.unary(UnaryOp.NOT, false, r);
  a.store(4, RAX, RDX, -1, 1, 0);
  a.store(4, R10, RDX, -1, 1, 4);
  a.store(4, R11, RDX, -1, 1, 8);
  a.store(4, RBX, RDX, -1, 1, 12);
  a.pop(RBX);
  a.ret();
}

function crc(): CrcFn {
  if (crcFn === null) {
    const a = new Assembler(256);
    emitCrc(a);
    a.finish();
    // `void *` accepts both an address (Number) and a Uint8Array, whose data koffi passes directly.
    crcFn = koffi.decode(allocatePermanentCode(a.bytes()).addr, koffi.proto('void (void *, intptr_t, intptr_t)')) as CrcFn;
    outAddr = nativeAlloc(16);
    outView = new Uint32Array(bytesAt(outAddr, 16).buffer);
  }
  return crcFn;
}

function hex(out: Uint32Array): string {
  let s = '';
  for (let k = 0; k < 4; k++) s += out[k].toString(16).padStart(8, '0');
  return s;
}

// node:crypto is loaded on first use: only where the checksum is not CRC-32C, or for shared bytes.
let nodeCrypto: typeof import('node:crypto') | undefined;
function sha256Hex(data: Uint8Array | string): string {
  nodeCrypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  return nodeCrypto.createHash('sha256').update(data).digest('hex');
}

function sha128(data: Uint8Array | string): string {
  return sha256Hex(data).slice(0, 32);
}

function checkLength(len: number): void {
  if (!(len >= 0 && len % CHECKSUM_ALIGN === 0)) throw new Error(`internal: checksum of ${len} bytes (not a multiple of ${CHECKSUM_ALIGN})`);
}

/** The checksum (32 hex digits) of `len` bytes of native memory at `addr`. */
export function checksumAt(addr: number, len: number): string {
  checkLength(len);
  if (!cpuFeatures().sse42) return sha128(len === 0 ? new Uint8Array(0) : bytesAt(addr, len));
  crc()(addr, len / 4, outAddr);
  return hex(outView!);
}

/**
 * A fingerprint of any byte array (a module), for naming cache entries: its length, the checksum of its first
 * multiple of CHECKSUM_ALIGN bytes and the rest in hex. Not collision-resistant against a crafted input (CRC is
 * linear): whoever uses it compares the bytes too. SHA-256 where the checksum is not CRC-32C, or where koffi
 * cannot pass the bytes (a SharedArrayBuffer).
 */
export function moduleFingerprint(data: Uint8Array): string {
  const shared = typeof SharedArrayBuffer === 'function' && data.buffer instanceof SharedArrayBuffer;
  if (!cpuFeatures().sse42 || shared) {
    return `sha256:${sha256Hex(data)}`;
  }
  const body = data.length - (data.length % CHECKSUM_ALIGN);
  const tail = Buffer.from(data.buffer, data.byteOffset + body, data.length - body).toString('hex');
  return `crc32c-x4:${data.length}:${body > 0 ? checksumBytes(data.subarray(0, body)) : ''}:${tail}`;
}

/**
 * A 32-hex-digit digest of a short string (a cache entry's name: a module fingerprint and the options), by the
 * same checksum where it is CRC-32C: loading node:crypto for it cost ~3 ms of every cached start.
 */
export function stringDigest(text: string): string {
  if (!cpuFeatures().sse42) return sha128(text);
  const utf8 = Buffer.from(text, 'utf8');
  const padded = new Uint8Array(Math.max(CHECKSUM_ALIGN, Math.ceil((utf8.length + 4) / CHECKSUM_ALIGN) * CHECKSUM_ALIGN));
  padded.set(utf8);
  new DataView(padded.buffer).setUint32(padded.length - 4, utf8.length, true); // (so zero padding cannot alias)
  return checksumBytes(padded);
}

/** The checksum (32 hex digits) of a byte array. */
export function checksumBytes(data: Uint8Array): string {
  checkLength(data.length);
  if (!cpuFeatures().sse42) return sha128(data);
  crc()(data, data.length / 4, outAddr);
  return hex(outView!);
}
