// Typed access to the guest's linear memory (memory 0, i32-indexed) from a system call. The views are built
// from `memory.buffer` when the call starts (the buffer is replaced when the memory grows, and nothing can grow
// it during a host call). Out-of-bounds pointers fail the call with EFAULT.

import { Errno } from './constants.js';
import { WasiError } from './errors.js';

/** Anything with a `buffer` over linear memory: a WebAssembly.Memory, Quickbeam's Memory, ... */
export interface WasiMemoryLike {
  readonly buffer: ArrayBufferLike;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
export const encoder = new TextEncoder();

export class GuestMemory {
  readonly u8: Uint8Array;
  readonly dv: DataView;

  constructor(buffer: ArrayBufferLike) {
    this.u8 = new Uint8Array(buffer);
    this.dv = new DataView(buffer);
  }

  check(ptr: number, len: number): void {
    if (ptr < 0 || len < 0 || ptr + len > this.u8.length) {
      throw new WasiError(Errno.FAULT, `guest range [${ptr}, ${ptr + len}) is out of bounds`);
    }
  }

  u8At(ptr: number): number {
    this.check(ptr, 1);
    return this.u8[ptr]!;
  }
  u16(ptr: number): number {
    this.check(ptr, 2);
    return this.dv.getUint16(ptr, true);
  }
  u32(ptr: number): number {
    this.check(ptr, 4);
    return this.dv.getUint32(ptr, true);
  }
  u64(ptr: number): bigint {
    this.check(ptr, 8);
    return this.dv.getBigUint64(ptr, true);
  }
  setU8(ptr: number, v: number): void {
    this.check(ptr, 1);
    this.u8[ptr] = v;
  }
  setU16(ptr: number, v: number): void {
    this.check(ptr, 2);
    this.dv.setUint16(ptr, v, true);
  }
  setU32(ptr: number, v: number): void {
    this.check(ptr, 4);
    this.dv.setUint32(ptr, v >>> 0, true);
  }
  setU64(ptr: number, v: bigint | number): void {
    this.check(ptr, 8);
    this.dv.setBigUint64(ptr, BigInt.asUintN(64, BigInt(v)), true);
  }

  /** A live view of guest bytes (valid during the call). */
  bytes(ptr: number, len: number): Uint8Array {
    this.check(ptr, len);
    return this.u8.subarray(ptr, ptr + len);
  }

  /** Copies `src` into guest memory at `ptr`. */
  write(ptr: number, src: Uint8Array): void {
    this.check(ptr, src.length);
    this.u8.set(src, ptr);
  }

  /** Decodes a UTF-8 string (EILSEQ when it is not valid UTF-8). */
  string(ptr: number, len: number): string {
    const bytes = this.bytes(ptr, len).slice();
    try {
      return decoder.decode(bytes);
    } catch {
      throw new WasiError(Errno.ILSEQ, 'string is not valid UTF-8');
    }
  }

  /** The buffers of an iovec/ciovec array: views into guest memory. */
  iovecs(ptr: number, count: number): Uint8Array[] {
    this.check(ptr, count * 8);
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const buf = this.dv.getUint32(ptr + 8 * i, true);
      const len = this.dv.getUint32(ptr + 8 * i + 4, true);
      out.push(this.bytes(buf, len));
    }
    return out;
  }
}
