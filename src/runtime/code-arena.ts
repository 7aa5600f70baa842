// The executable memory of code that arrives one piece at a time (lazily compiled functions): each piece is a
// block of allocateCode's GC-owned memory (small pieces share chunks with other code), held here so that it
// lives as long as the arena's owner (a module's LazyCode).

import { allocateCode, CodeBlock } from './code-memory.js';

/** Bytes of executable memory held by all arenas (diagnostics, tests; counted down when the GC reports). */
let arenaBytes = 0;
export function codeArenaBytes(): number {
  return arenaBytes;
}

// Diagnostics only: the memory is the GC's whether or not this runs.
const uncount = new FinalizationRegistry<{ bytes: number }>((c) => {
  arenaBytes -= c.bytes;
});

export class CodeArena {
  private blocks: CodeBlock[] = [];
  private readonly counted = { bytes: 0 };
  private freed = false;

  /** Copy `code` into executable memory; returns its address. */
  add(code: Uint8Array): number {
    if (this.freed) throw new Error('code arena used after it was freed');
    const block = allocateCode(code);
    if (this.blocks.length === 0) uncount.register(this, this.counted, this);
    this.blocks.push(block);
    this.counted.bytes += block.size;
    arenaBytes += block.size;
    return block.addr;
  }

  /** Bytes of executable memory the arena's code occupies. */
  get mappedBytes(): number {
    return this.counted.bytes;
  }

  /** Release everything now. No code of the arena may run, or be called, afterwards. Idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const b of this.blocks) b.free();
    this.blocks = [];
    arenaBytes -= this.counted.bytes;
    this.counted.bytes = 0;
    uncount.unregister(this);
  }
}
