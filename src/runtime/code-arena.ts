// The executable memory of code that arrives one piece at a time (lazily compiled functions): each piece is a
// block of allocateCode's GC-owned memory (small pieces share chunks with other code), held here so that it
// lives as long as the arena's owner (a module's LazyCode). Nothing is registered per arena (a
// FinalizationRegistry cell per module would pile up in a loop that never yields): code-memory.ts's
// codeMemoryMapped() tells how much code memory is mapped.

import { allocateCode, CodeBlock } from './code-memory.js';

export class CodeArena {
  private blocks: CodeBlock[] = [];
  private bytes = 0;
  private freed = false;

  /** Copy `code` into executable memory; returns its address. */
  add(code: Uint8Array): number {
    if (this.freed) throw new Error('code arena used after it was freed');
    const block = allocateCode(code);
    this.blocks.push(block);
    this.bytes += block.size;
    return block.addr;
  }

  /** Bytes of executable memory the arena's code occupies. */
  get mappedBytes(): number {
    return this.bytes;
  }

  /** Release everything now. No code of the arena may run, or be called, afterwards. Idempotent. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const b of this.blocks) b.free();
    this.blocks = [];
    this.bytes = 0;
  }
}
