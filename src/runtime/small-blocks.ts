// Small blocks of GC-owned native memory (vmctx, MemoryDesc, TableDesc, global cells, small tables), carved
// out of shared 16 KiB ArrayBuffers: one ArrayBuffer costs about 0.4 us to create and collect, a block of a
// shared one a tenth of that. `new ArrayBuffer` is zeroed, off-heap (Node's allocator) and never moves. A
// block's owner keeps the view returned here, so the chunk lives while any of its blocks does, and the GC
// frees it after the last one (no finalizer). Blocks are never reused: a long-lived block pins at most one
// chunk. Bigger blocks get an ArrayBuffer of their own.

import { addressOf } from './native.js';

const CHUNK = 16384;
/** Largest block carved out of a shared chunk. */
const MAX_SHARED = 1024;
const ALIGN = 16;

let chunk: ArrayBuffer | null = null;
let chunkAddr = 0;
let used = CHUNK;
let lastAddr = 0;

/**
 * A zeroed block of `bytes` bytes (16-byte aligned) as 32-bit words; `lastBlockAddress()` is its address.
 * Keep the view (or its buffer) for as long as the block is used. Throws a RangeError when out of memory.
 */
export function allocBlock(bytes: number): Uint32Array {
  const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (size > MAX_SHARED) {
    const own = new ArrayBuffer(size);
    lastAddr = addressOf(own);
    return new Uint32Array(own);
  }
  if (used + size > CHUNK) {
    chunk = new ArrayBuffer(CHUNK);
    chunkAddr = addressOf(chunk);
    used = 0;
  }
  const view = new Uint32Array(chunk!, used, size >>> 2);
  lastAddr = chunkAddr + used;
  used += size;
  return view;
}

/** Address of the block returned by the last `allocBlock`. */
export function lastBlockAddress(): number {
  return lastAddr;
}

/** Write a 64-bit field (a Number below 2^53: pointers, lengths) at byte `offset` of a block. */
export function putU64(words: Uint32Array, offset: number, v: number): void {
  const i = offset >>> 2;
  words[i] = v >>> 0;
  words[i + 1] = Math.floor(v / 4294967296) >>> 0;
}
