// An append-only arena of executable memory for code that arrives one piece at a time (lazily compiled
// functions): no system call per piece once a chunk exists.
//
// Each chunk is a memfd mapped twice: read+execute where the code runs, read+write where it is written (one
// view kept for the chunk's life). No page is ever writable and executable at once, and installing a
// function is a plain copy. Where the kernel refuses that (no memfd, or executable memfd mappings
// forbidden), the arena falls back to allocateCode (W^X by mprotect, per piece).
//
// The arena is freed as a whole by its owner (a module's ModuleInternals, when collected).

import fs from 'node:fs';
import {
  MFD_CLOEXEC, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, alignUp, bytesAt, memfdCreate, munmap, tryMmapShared,
} from './native.js';
import { allocateCode, CodeBlock } from './code-memory.js';

const FIRST_CHUNK = 256 * 1024;
const MAX_CHUNK = 8 * 1024 * 1024;
const PIECE_ALIGN = 64;

interface Chunk {
  /** Where the code runs (read+execute). */
  exec: number;
  size: number;
  used: number;
  /** The read+write alias (0 for fallback chunks, which are never written after allocateCode). */
  write: number;
  writeView: Uint8Array | null;
}

let dualMappingWorks: boolean | null = null;

/** Bytes of executable memory held by all arenas (diagnostics, tests). */
let arenaBytes = 0;
export function codeArenaBytes(): number {
  return arenaBytes;
}

export class CodeArena {
  private chunks: Chunk[] = [];
  private fallbackBlocks: CodeBlock[] = [];
  private nextChunkSize = FIRST_CHUNK;
  private freed = false;

  /**
   * Copy `code` into executable memory; returns its address. `onNewRange(start, end)` is called when the
   * piece lands in address space the arena did not cover before (a new chunk, or a fallback block), so
   * the caller can register a symbolizer for the whole range once.
   */
  add(code: Uint8Array, onNewRange: (start: number, end: number) => void): number {
    if (this.freed) throw new Error('code arena used after it was freed');
    const len = Math.max(1, code.length);
    let c = this.chunks.length > 0 ? this.chunks[this.chunks.length - 1] : null;
    if (c === null || c.used + len > c.size) {
      c = this.newChunk(len);
      if (c === null) {
        const block = allocateCode(code);
        this.fallbackBlocks.push(block);
        onNewRange(block.addr, block.addr + block.size);
        return block.addr;
      }
      onNewRange(c.exec, c.exec + c.size);
    }
    const at = c.used;
    c.writeView!.set(code, at);
    c.used = alignUp(at + len, PIECE_ALIGN);
    return c.exec + at;
  }

  /** Bytes of address space the arena's code occupies (both aliases of a chunk count once). */
  get mappedBytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.size;
    for (const b of this.fallbackBlocks) n += b.size;
    return n;
  }

  /** Unmap everything. No code of the arena may run, or be called, afterwards. Idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const c of this.chunks) {
      munmap(c.exec, c.size);
      munmap(c.write, c.size);
      c.writeView = null;
      arenaBytes -= c.size;
    }
    for (const b of this.fallbackBlocks) b.free();
    this.chunks = [];
    this.fallbackBlocks = [];
  }

  private newChunk(minBytes: number): Chunk | null {
    if (dualMappingWorks === false) return null;
    const size = alignUp(Math.max(this.nextChunkSize, minBytes), PAGE_SIZE);
    const fd = memfdCreate('quickbeam-code', MFD_CLOEXEC);
    if (fd < 0) {
      dualMappingWorks = false;
      return null;
    }
    let exec = 0, write = 0;
    try {
      fs.ftruncateSync(fd, size);
      exec = tryMmapShared(size, PROT_READ | PROT_EXEC, fd);
      if (exec !== 0) write = tryMmapShared(size, PROT_READ | PROT_WRITE, fd);
    } catch {
      // ftruncate failed: treated like a refused mapping below
    } finally {
      fs.closeSync(fd); // the mappings keep the file alive
    }
    if (exec === 0 || write === 0) {
      if (exec !== 0) munmap(exec, size);
      dualMappingWorks = false;
      return null;
    }
    dualMappingWorks = true;
    this.nextChunkSize = Math.min(MAX_CHUNK, this.nextChunkSize * 2);
    const chunk: Chunk = { exec, size, used: 0, write, writeView: bytesAt(write, size) };
    this.chunks.push(chunk);
    arenaBytes += size;
    return chunk;
  }
}
