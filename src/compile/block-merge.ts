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
import { beginPairs } from './deferred-stores.js';
import { addReloadStub } from './loop-carry.js';
import { ValueStack } from './value-stack.js';

/** At a live block/if entry: the frame will merge caches at its end (and keep the owed stores: pairs). */
export function beginMerge(vs: ValueStack, asm: Assembler, f: ControlFrame): void {
  if (f.kind === F_BLOCK || f.kind === F_IF) {
    f.mergeLabel = asm.newLabel();
    if (vs.dirtyBits !== 0) beginPairs(vs, f);
  }
}

/**
 * The local register b holds on an edge to f, once the edge has brought f's pairs back into their registers
 * (deferred-stores.ts): a pair's local in its register, nothing where a pair's local was before, else the cache.
 */
function edgeLocal(vs: ValueStack, f: ControlFrame, b: number): number {
  if ((f.pairRegs & (1 << b)) !== 0) {
    for (let k = 0; k < f.loopCount; k++) if (f.loopRegs[k] === b) return f.loopLocals[k];
  }
  const l = b >= 16 ? vs.xmmLocal[b - 16] : vs.gprLocal[b];
  if (l >= 0 && f.pairRegs !== 0) {
    for (let k = 0; k < f.loopCount; k++) if (f.loopLocals[k] === l) return -1;
  }
  return l;
}

/** A branch to f's end (or its fallthrough) leaves with the current cache (its pairs in place). */
export function recordEdge(vs: ValueStack, f: ControlFrame): void {
  if (f.mergeLabel < 0) return;
  if (f.pairRegs === 0) {
    recordPlainEdge(vs, f);
    return;
  }
  const m = f.mergeRegs;
  if (f.mergeEdges++ === 0) {
    let bits = vs.cacheBits | f.pairRegs;
    let mask = 0;
    while (bits !== 0) {
      const b = 31 - Math.clz32(bits);
      bits &= ~(1 << b);
      const l = edgeLocal(vs, f, b);
      if (l < 0) continue;
      m[b] = l;
      mask |= 1 << b;
    }
    f.mergeMask = mask;
    return;
  }
  let bits = f.mergeMask & (vs.cacheBits | f.pairRegs);
  let keep = bits;
  while (bits !== 0) {
    const b = 31 - Math.clz32(bits);
    bits &= ~(1 << b);
    if (m[b] !== edgeLocal(vs, f, b)) keep &= ~(1 << b);
  }
  f.mergeMask = keep;
}

/** recordEdge for a frame without pairs (most frames): the registers' locals as they are. */
function recordPlainEdge(vs: ValueStack, f: ControlFrame): void {
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

/** The else arm starts with the cache of the if's entry (or none when f merges nothing), its pairs owed. */
export function enterElse(vs: ValueStack, f: ControlFrame): void {
  vs.dirtyBits = 0; // (the then arm's edge made or kept its owed stores)
  vs.clearLocalCache();
  if (f.mergeLabel >= 0) install(vs, f.entryRegs, f.entryMask);
  owePairs(vs, f);
}

/** After installing a merged cache: f's pairs are in it and owe their stores. */
function owePairs(vs: ValueStack, f: ControlFrame): void {
  if (f.pairRegs === 0) return;
  for (let k = 0; k < f.loopCount; k++) {
    if (vs.localReg[f.loopLocals[k]] !== (f.loopRegs[k] & 15)) throw new Error('internal: a block pair was not installed');
  }
  vs.dirtyBits = f.pairRegs;
}

/**
 * At f's end, once the fallthrough (and an if's implicit else edge) are recorded and the stack is cut back:
 * bind the end labels and install the merged cache (dropped when some edge is unknown). With a live fallthrough
 * the current cache is that edge's, so the merge only removes the registers some other edge disagrees on.
 */
export function finishMerge(vs: ValueStack, asm: Assembler, f: ControlFrame, fallthroughLive: boolean): void {
  const foreign = f.unknownEntry || asm.hasPendingRefs(f.label);
  if (f.pairRegs !== 0 && foreign && f.mergeEdges > 0) {
    // Jumps that know nothing of the pairs (their slots are current there) reach the end through a stub that
    // loads them; the end has just the pairs, owed.
    addReloadStub(f, f.label, f.mergeLabel);
    asm.bind(f.mergeLabel);
    vs.dirtyBits = 0;
    vs.clearLocalCache();
    for (let k = 0; k < f.loopCount; k++) vs.cacheLocal(f.loopLocals[k], f.loopRegs[k] & 15);
    owePairs(vs, f);
    return;
  }
  const unknown = f.mergeLabel < 0 || foreign || f.mergeEdges === 0;
  asm.bind(f.label);
  if (f.mergeLabel >= 0) asm.bind(f.mergeLabel);
  if (!unknown && fallthroughLive) {
    vs.keepCached(f.mergeMask);
    // (a fallthrough that is not the only edge brought the pairs in and owes them: conformFallthrough)
    return;
  }
  vs.clearLocalCache();
  if (!unknown) {
    install(vs, f.mergeRegs, f.mergeMask);
    owePairs(vs, f);
  }
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
