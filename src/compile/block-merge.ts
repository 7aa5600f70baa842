// Cached locals across the end of a block or if (a merge point).
//
// The value stack's local register cache says which free registers still hold a local's current value. Where
// paths merge, a register is known to hold local x only if it does on every incoming edge. So each branch to a
// block's end records its cache in the frame (mergeRegs keeps the per-register intersection), an `if`
// remembers its cache at entry (the state of the else arm and of the implicit else edge), and the end
// installs the intersection instead of dropping the cache. Nothing is emitted: this only avoids reloads.
//
// Branches that record their cache jump to frame.mergeLabel; a jump to frame.label that did not (none of the
// compiler's branch operators, but e.g. br_on_null, or a try_table catch pad, which marks unknownEntry) makes
// the end drop the cache, as before. Both labels are bound at the end.

import { Assembler } from '../x64/assembler.js';
import { ControlFrame, F_BLOCK, F_IF } from './control.js';
import { ValueStack } from './value-stack.js';

/** At a live block/if entry: the frame will merge caches at its end. */
export function beginMerge(asm: Assembler, f: ControlFrame): void {
  if (f.kind === F_BLOCK || f.kind === F_IF) f.mergeLabel = asm.newLabel();
}

/** A branch to f's end (or its fallthrough) leaves with the current cache. */
export function recordEdge(vs: ValueStack, f: ControlFrame): void {
  if (f.mergeLabel < 0) return;
  const m = f.mergeRegs, g = vs.gprLocal, x = vs.xmmLocal;
  if (f.mergeEdges++ === 0) {
    let bits = vs.cacheBits;
    f.mergeMask = bits;
    while (bits !== 0) {
      const b = 31 - Math.clz32(bits);
      bits &= ~(1 << b);
      m[b] = b >= 16 ? x[b - 16] : g[b];
    }
    return;
  }
  let bits = f.mergeMask & vs.cacheBits;
  let keep = bits;
  while (bits !== 0) {
    const b = 31 - Math.clz32(bits);
    bits &= ~(1 << b);
    if (m[b] !== (b >= 16 ? x[b - 16] : g[b])) keep &= ~(1 << b);
  }
  f.mergeMask = keep;
}

/** After an if's conditional jump to its else arm: remember the cache there. */
export function captureIfEntry(vs: ValueStack, f: ControlFrame): void {
  if (f.mergeLabel < 0) return;
  const e = f.entryRegs, g = vs.gprLocal, x = vs.xmmLocal;
  let bits = vs.cacheBits;
  f.entryMask = bits;
  while (bits !== 0) {
    const b = 31 - Math.clz32(bits);
    bits &= ~(1 << b);
    e[b] = b >= 16 ? x[b - 16] : g[b];
  }
}

/** The end of an if without else: its implicit else edge leaves with the cache of the if's entry. */
export function recordIfEntryEdge(f: ControlFrame): void {
  if (f.mergeLabel < 0) return;
  const m = f.mergeRegs, e = f.entryRegs;
  if (f.mergeEdges++ === 0) {
    let bits = f.entryMask;
    f.mergeMask = bits;
    while (bits !== 0) {
      const b = 31 - Math.clz32(bits);
      bits &= ~(1 << b);
      m[b] = e[b];
    }
    return;
  }
  let bits = f.mergeMask & f.entryMask;
  let keep = bits;
  while (bits !== 0) {
    const b = 31 - Math.clz32(bits);
    bits &= ~(1 << b);
    if (m[b] !== e[b]) keep &= ~(1 << b);
  }
  f.mergeMask = keep;
}

/** The else arm starts with the cache of the if's entry (or none when f merges nothing). */
export function enterElse(vs: ValueStack, f: ControlFrame): void {
  vs.clearLocalCache();
  if (f.mergeLabel >= 0) install(vs, f.entryRegs, f.entryMask);
}

/**
 * At f's end, once the fallthrough (and an if's implicit else edge) are recorded and the stack is cut back:
 * bind the end labels and install the merged cache (dropped when some edge is unknown). With a live fallthrough
 * the current cache is that edge's, so the merge only removes the registers some other edge disagrees on.
 */
export function finishMerge(vs: ValueStack, asm: Assembler, f: ControlFrame, fallthroughLive: boolean): void {
  const unknown = f.mergeLabel < 0 || f.unknownEntry || asm.hasPendingRefs(f.label) || f.mergeEdges === 0;
  asm.bind(f.label);
  if (f.mergeLabel >= 0) asm.bind(f.mergeLabel);
  if (!unknown && fallthroughLive) {
    vs.keepCached(f.mergeMask);
    return;
  }
  vs.clearLocalCache();
  if (!unknown) install(vs, f.mergeRegs, f.mergeMask);
}

function install(vs: ValueStack, regs: Int32Array, mask: number): void {
  let bits = mask;
  while (bits !== 0) {
    const b = 31 - Math.clz32(bits);
    bits &= ~(1 << b);
    const l = regs[b];
    if (l < 0 || vs.localReg[l] >= 0) continue;
    if (b >= 16 ? vs.xmmOwner[b - 16] === -1 : vs.gprOwner[b] === -1) vs.cacheLocal(l, b & 15);
  }
}
