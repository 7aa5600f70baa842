// Stack maps for the garbage collector (runtime/gc-roots.ts): for each return address of a call or runtime call
// in a function (where a collection may happen, in this frame's callee or deeper), the rbp-relative frame offsets
// that hold GC object references at that point.
//
// At every call site every value-stack register has been spilled (calls clobber them all), so references live
// only in frame slots: the locals (params above rbp, declared locals below), and the value-stack entries that are
// "in their slot". Pending `local.get`s are the local's slot; constants of reference types are null. Only
// functions of modules whose values may be GC objects record anything (moduleMayHoldGcObjects), and a site with
// no reference slot records nothing, so numeric code pays nothing.
//
// The maps follow the handler table (compile/emit-exceptions.ts), found through the word before the entry:
//   'QBSM', site count, word count, then per site: return-address offset from the entry, n, n rbp offsets.
// Recording appends to one Int32Array per compiler (no allocation per site once it has grown).

import type { Assembler } from '../x64/assembler.js';
import { STACK_MAP_MAGIC } from '../runtime/layout.js';
import { mayHoldGcObject } from '../decode/gc-types.js';
import { K_REG, K_STACK, type ValueStack } from './value-stack.js';

export class StackMapRecorder {
  private words: Int32Array<ArrayBuffer> = new Int32Array(256);
  private n = 0;
  private sites = 0;
  /** rbp offsets of the current function's locals that may hold GC objects (-1 before they are computed). */
  private localDisps: Int32Array<ArrayBuffer> = new Int32Array(16);
  private numLocalDisps = 0;
  /** Whether the current function records maps at all. */
  active = false;

  /** Start a function: `active` when its module's values may be GC objects. */
  reset(active: boolean, vs: ValueStack, numLocals: number): void {
    this.n = 0;
    this.sites = 0;
    this.active = active;
    this.numLocalDisps = 0;
    if (!active) return;
    for (let i = 0; i < numLocals; i++) {
      if (!mayHoldGcObject(vs.localType[i])) continue;
      if (this.numLocalDisps === this.localDisps.length) this.localDisps = grown(this.localDisps);
      this.localDisps[this.numLocalDisps++] = vs.localDisp[i];
    }
  }

  private push(v: number): void {
    if (this.n === this.words.length) this.words = grown(this.words);
    this.words[this.n++] = v;
  }

  /**
   * Record the reference slots of the frame as it is now, for the return address at code offset `pc` (-1: set
   * later with setPc). Returns the site's index for setPc, or -1 when nothing was recorded.
   */
  record(vs: ValueStack, pc: number): number {
    if (!this.active) return -1;
    const start = this.n;
    this.push(pc);
    this.push(0);
    for (let k = 0; k < this.numLocalDisps; k++) this.push(this.localDisps[k]);
    const kind = vs.kind, type = vs.type;
    for (let i = 0, h = vs.height; i < h; i++) {
      if (kind[i] === K_STACK) {
        if (mayHoldGcObject(type[i])) this.push(vs.slotDisp(i));
      } else if (kind[i] === K_REG && mayHoldGcObject(type[i])) {
        // Every register is spilled at a call: a reference left in one would be invisible to the collector.
        throw new Error('quickbeam: internal error: a GC reference in a register at a call site');
      }
    }
    const count = this.n - start - 2;
    if (count === 0) {
      this.n = start;
      return -1;
    }
    this.words[start + 1] = count;
    this.sites++;
    return start;
  }

  /** Set the return address (code offset) of a site recorded with pc -1. */
  setPc(site: number, pc: number): void {
    if (site >= 0) this.words[site] = pc;
  }

  get empty(): boolean {
    return this.sites === 0;
  }

  /** Write the maps (after the handler table), return addresses relative to the function's entry. */
  emit(a: Assembler, entry: number): void {
    a.int32(STACK_MAP_MAGIC);
    a.int32(this.sites);
    a.int32(this.n);
    const w = this.words;
    for (let p = 0; p < this.n; ) {
      const count = w[p + 1];
      a.int32(w[p] - entry);
      a.int32(count);
      for (let k = 0; k < count; k++) a.int32(w[p + 2 + k]);
      p += 2 + count;
    }
  }
}

function grown(a: Int32Array): Int32Array<ArrayBuffer> {
  const b = new Int32Array(2 * a.length);
  b.set(a);
  return b;
}
