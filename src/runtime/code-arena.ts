// An append-only arena of executable memory for code that arrives one piece at a time (lazily compiled
// functions): no system call per piece once a chunk exists. Chunks are dual mappings (dual-mapping.ts);
// where those are unavailable, each piece gets allocateCode memory (W^X by mprotect).
//
// The arena is freed as a whole by its owner (a module's ModuleInternals, when collected).

import { alignUp } from './native.js';
import { allocateCode, CodeBlock } from './code-memory.js';
import { DualMapping, mapDual, unmapDual } from './dual-mapping.js';

const FIRST_CHUNK = 256 * 1024;
const MAX_CHUNK = 8 * 1024 * 1024;
const PIECE_ALIGN = 64;

interface Chunk {
  map: DualMapping;
  used: number;
}

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
    if (c === null || c.used + len > c.map.size) {
      c = this.newChunk(len);
      if (c === null) {
        const block = allocateCode(code);
        this.fallbackBlocks.push(block);
        onNewRange(block.addr, block.addr + block.size);
        return block.addr;
      }
      onNewRange(c.map.exec, c.map.exec + c.map.size);
    }
    const at = c.used;
    c.map.view!.set(code, at);
    c.used = alignUp(at + len, PIECE_ALIGN);
    return c.map.exec + at;
  }

  /** Bytes of address space the arena's code occupies (both aliases of a chunk count once). */
  get mappedBytes(): number {
    let n = 0;
    for (const c of this.chunks) n += c.map.size;
    for (const b of this.fallbackBlocks) n += b.size;
    return n;
  }

  /** Unmap everything. No code of the arena may run, or be called, afterwards. Idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const c of this.chunks) {
      unmapDual(c.map);
      arenaBytes -= c.map.size;
    }
    for (const b of this.fallbackBlocks) b.free();
    this.chunks = [];
    this.fallbackBlocks = [];
  }

  private newChunk(minBytes: number): Chunk | null {
    const map = mapDual(Math.max(this.nextChunkSize, minBytes));
    if (map === null) return null;
    this.nextChunkSize = Math.min(MAX_CHUNK, this.nextChunkSize * 2);
    const chunk: Chunk = { map, used: 0 };
    this.chunks.push(chunk);
    arenaBytes += map.size;
    return chunk;
  }
}
