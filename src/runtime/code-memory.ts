// Executable memory, W^X: no page is ever writable and executable at the same address.
//
// Small blocks (up to SMALL_LIMIT bytes) are packed into shared 64 KiB chunks. A chunk is a dual mapping
// (dual-mapping.ts) where the kernel allows it, so a block is installed by a plain copy into the chunk's
// writable alias; otherwise the chunk's pages are made writable only for the duration of a copy
// (single-threaded, and no machine code runs while JS is copying, so re-protecting pages that hold other
// live code is safe). A chunk is unmapped once every block in it has been freed (and it is no longer the
// chunk being filled). Large blocks get their own mapping.
//
// Blocks are freed explicitly (`free()`), typically from the owner's FinalizationRegistry.

import { PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, alignUp, copyIn, mmapAnon, mprotect, munmap } from './native.js';
import { DualMapping, mapDual, unmapDual } from './dual-mapping.js';

export interface CodeBlock {
  /** Address of the first byte of code. */
  readonly addr: number;
  /** Bytes reserved for this block (>= the code size). */
  readonly size: number;
  /** Release the block. Idempotent. The code must not be running or be called again. */
  free(): void;
}

const CHUNK_SIZE = 64 * 1024;
const SMALL_LIMIT = 16 * 1024;
const BLOCK_ALIGN = 64;

interface Chunk {
  addr: number;
  used: number;
  live: number;
  /** The dual mapping behind the chunk (null: a plain mapping, written by toggling its protection). */
  dual: DualMapping | null;
}

let current: Chunk | null = null;
let totalMapped = 0;

function protectRange(addr: number, size: number, prot: number): void {
  const start = Math.floor(addr / PAGE_SIZE) * PAGE_SIZE;
  const end = alignUp(addr + size, PAGE_SIZE);
  if (!mprotect(start, end - start, prot)) throw new Error(`mprotect of code memory failed`);
}

function releaseChunk(c: Chunk): void {
  if (c.dual !== null) unmapDual(c.dual);
  else munmap(c.addr, CHUNK_SIZE);
  totalMapped -= CHUNK_SIZE;
}

function newChunk(): Chunk {
  const dual = mapDual(CHUNK_SIZE);
  if (dual !== null) return { addr: dual.exec, used: 0, live: 0, dual };
  return { addr: mmapAnon(CHUNK_SIZE, PROT_READ | PROT_WRITE), used: 0, live: 0, dual: null };
}

/**
 * Copy machine code into fresh executable memory. The returned block's memory is read+execute only.
 */
export function allocateCode(bytes: Uint8Array): CodeBlock {
  const len = Math.max(1, bytes.length);
  if (len > SMALL_LIMIT) {
    const size = alignUp(len, PAGE_SIZE);
    const addr = mmapAnon(size, PROT_READ | PROT_WRITE);
    totalMapped += size;
    copyIn(addr, bytes);
    if (!mprotect(addr, size, PROT_READ | PROT_EXEC)) {
      munmap(addr, size);
      totalMapped -= size;
      throw new Error('mprotect(R|X) of code memory failed');
    }
    let freed = false;
    return {
      addr,
      size,
      free() {
        if (freed) return;
        freed = true;
        munmap(addr, size);
        totalMapped -= size;
      },
    };
  }

  const size = alignUp(len, BLOCK_ALIGN);
  if (current === null || current.used + size > CHUNK_SIZE) {
    const old = current;
    current = newChunk();
    totalMapped += CHUNK_SIZE;
    if (old !== null && old.live === 0) releaseChunk(old);
  }
  const chunk = current;
  const addr = chunk.addr + chunk.used;
  chunk.used += size;
  chunk.live++;
  if (chunk.dual !== null) chunk.dual.view!.set(bytes, addr - chunk.addr);
  else {
    protectRange(addr, size, PROT_READ | PROT_WRITE);
    copyIn(addr, bytes);
    protectRange(addr, size, PROT_READ | PROT_EXEC);
  }
  let freed = false;
  return {
    addr,
    size,
    free() {
      if (freed) return;
      freed = true;
      chunk.live--;
      if (chunk.live === 0 && chunk !== current) releaseChunk(chunk);
    },
  };
}

/** Bytes of executable memory currently mapped (diagnostics). */
export function codeMemoryMapped(): number {
  return totalMapped;
}
