// Locals carried in registers across loop back edges.
//
// Locals live in their frame slots (every local.set stores), and the value stack's local register cache
// remembers which free registers still hold a local's current value. A loop header is a merge point: without
// more, the cache would be dropped there and every use of a local in the loop body would load it again.
// Instead, the loop's entry fixes a set of (register, local) pairs that hold at the header on every path:
//
//   entry:                      load the pairs not cached yet from their locals' slots
//   header (frame.headerLabel): the body, which starts with the pairs as its cache
//   ...
//   preheader (frame.label), after the function, only when something jumps to it: load every pair; jmp header
//
// A branch back to the loop (br, br_if, br_table) reloads just the pairs whose register no longer holds its
// local (slots are always current, so a load is always right) and jumps to the header. Any other jump to the
// loop (one that knows nothing of this: br_on_null, a try_table catch pad, which marks unknownEntry) targets
// frame.label and gets the full reload. No lookahead: the pairs are the most recently used locals (kept in
// their register when cached, else loaded into a free one), then whatever else is cached, up to a budget that
// leaves registers for the body's temporaries.

import { ValType } from '../decode/types.js';
import { Assembler } from '../x64/assembler.js';
import { ControlFrame } from './control.js';
import { deferredStoresOn } from './deferred-stores.js';
import { isXmmType, ValueStack } from './value-stack.js';

/** At most this many GPRs / XMMs hold carried locals at a loop header. */
const GPR_BUDGET = 6;
const XMM_BUDGET = 8;

function carriable(t: number): boolean {
  return t === ValType.I32 || t === ValType.I64 || t === ValType.F32 || t === ValType.F64;
}

/**
 * At a live loop entry (values already in their slots, frame.label not bound yet): choose the carried pairs,
 * make them the cache, bind the preheader, emit its loads and bind the header.
 */
export function carryIntoLoop(vs: ValueStack, asm: Assembler, f: ControlFrame): void {
  let n = 0, gprs = 0, xmms = 0;
  let chosen = 0; // registers taken (bits as ValueStack.cacheBits)
  let load = 0; // bit k set: pair k must be loaded on entry
  // The most recently used locals first: their cached register if they have one, else a free one.
  const recent = vs.recentLocals;
  const len = recent.length;
  let at = vs.recentPos;
  for (let j = 0; j < len; j++) {
    at = at === 0 ? len - 1 : at - 1;
    const l = recent[at];
    if (l < 0) continue;
    const t = vs.localType[l];
    if (!carriable(t)) continue;
    const xmm = isXmmType(t);
    if (xmm ? xmms >= XMM_BUDGET : gprs >= GPR_BUDGET) continue;
    let r = vs.localReg[l];
    if (r >= 0) {
      const bit = 1 << (xmm ? 16 + r : r);
      if ((chosen & bit) !== 0 || (xmm ? vs.xmmOwner : vs.gprOwner)[r] !== -1) continue;
      chosen |= bit;
    } else {
      r = vs.freeUncachedReg(xmm);
      if (r < 0) continue;
      vs.cacheLocal(l, r);
      chosen |= 1 << (xmm ? 16 + r : r);
      load |= 1 << n;
    }
    f.loopRegs[n] = xmm ? 16 + r : r;
    f.loopLocals[n++] = l;
    if (xmm) xmms++;
    else gprs++;
  }
  // Then what else is cached, within the budget (its register is free: everything was spilled at the block entry).
  let bits = vs.cacheBits & ~chosen;
  while (bits !== 0) {
    const b = 31 - Math.clz32(bits);
    bits &= ~(1 << b);
    const xmm = b >= 16, r = b & 15;
    const l = xmm ? vs.xmmLocal[r] : vs.gprLocal[r];
    if ((xmm ? vs.xmmOwner : vs.gprOwner)[r] !== -1 || (xmm ? xmms >= XMM_BUDGET : gprs >= GPR_BUDGET) || !carriable(vs.localType[l])) {
      vs.uncacheLocal(l);
      continue;
    }
    f.loopRegs[n] = b;
    f.loopLocals[n++] = l;
    if (xmm) xmms++;
    else gprs++;
  }
  f.loopCount = n;
  // Carried locals whose store is still owed stay so at the header, and so do those set since the last loop entry
  // or call (deferred-stores.ts: the loop may set them again; each iteration then owes the store, made after the
  // loop): back edges bring them in their register and owe the store too. (Every other owed store was made
  // above, by uncacheLocal.)
  let dirty = 0;
  if (deferredStoresOn()) {
    const ep = vs.epoch, se = vs.setEpoch;
    for (let k = 0; k < n; k++) {
      if ((vs.dirtyBits & (1 << f.loopRegs[k])) !== 0 || se[f.loopLocals[k]] === ep) dirty |= 1 << k;
    }
    vs.epoch = ep + 1;
  }
  f.loopDirty = dirty;
  f.outerCarried = vs.carriedMask;
  let mask = vs.carriedMask;
  for (let k = 0; k < n; k++) mask |= 1 << f.loopRegs[k];
  vs.carriedMask = mask;
  vs.clearChecks(); // (bounds checks hold only within a basic block)
  for (let k = 0; load !== 0; k++, load >>>= 1) {
    if ((load & 1) === 0) continue;
    const l = f.loopLocals[k];
    vs.loadFromFrame(vs.localType[l], f.loopRegs[k] & 15, vs.localDisp[l]);
  }
  for (let k = 0, d = dirty; d !== 0; k++, d >>>= 1) if ((d & 1) !== 0) vs.dirtyBits |= 1 << f.loopRegs[k];
  f.headerLabel = asm.newLabel();
  asm.bind(f.headerLabel);
}

// Preheaders to emit after the function: label, header label, pair count, then (register, local) per pair.
let stubs = new Int32Array(256);
let stubsLength = 0;

/** Before each function (a failed compile may leave entries behind). */
export function resetLoopStubs(): void {
  stubsLength = 0;
}

/** At the end of a carried loop: keep its preheader if anything jumps to it (all such jumps are known now). */
export function endLoop(vs: ValueStack, asm: Assembler, f: ControlFrame): void {
  if (f.headerLabel >= 0) vs.carriedMask = f.outerCarried;
  if (f.headerLabel < 0 || !(f.unknownEntry || asm.hasPendingRefs(f.label))) return;
  addReloadStub(f, f.label, f.headerLabel);
}

/**
 * After the function: at `label`, load f's pairs from their slots and jump to `target` (a loop's preheader; the
 * entry of a block's end for jumps that know nothing of its pairs, block-merge.ts).
 */
export function addReloadStub(f: ControlFrame, label: number, target: number): void {
  const need = stubsLength + 3 + 2 * f.loopCount;
  if (need > stubs.length) {
    const grown = new Int32Array(Math.max(need, 2 * stubs.length));
    grown.set(stubs.subarray(0, stubsLength));
    stubs = grown;
  }
  stubs[stubsLength++] = label;
  stubs[stubsLength++] = target;
  stubs[stubsLength++] = f.loopCount;
  for (let k = 0; k < f.loopCount; k++) {
    stubs[stubsLength++] = f.loopRegs[k];
    stubs[stubsLength++] = f.loopLocals[k];
  }
}

/** After the function's code: the kept preheaders. */
export function emitLoopStubs(vs: ValueStack, asm: Assembler): void {
  let p = 0;
  while (p < stubsLength) {
    asm.bind(stubs[p]);
    const header = stubs[p + 1], n = stubs[p + 2];
    p += 3;
    for (let k = 0; k < n; k++, p += 2) {
      const l = stubs[p + 1];
      vs.loadFromFrame(vs.localType[l], stubs[p] & 15, vs.localDisp[l]);
    }
    asm.jmp(header);
  }
  stubsLength = 0;
}

/** Whether a branch back to loop f must reload some carried register first. */
export function loopNeedsReload(vs: ValueStack, f: ControlFrame): boolean {
  for (let k = 0; k < f.loopCount; k++) {
    const r = f.loopRegs[k];
    const cur = r >= 16 ? vs.xmmLocal[r - 16] : vs.gprLocal[r];
    if (cur !== f.loopLocals[k]) return true;
  }
  return false;
}

// Scratch for emitLoopReload: per pending pair, its source register (bits as cacheBits, -1: load from the slot).
const moveSrc = new Int32Array(64);

/**
 * On a taken branch back to loop f (after the carried values are in place): put each carried local back in its
 * register. A local still cached in another register is copied from there (a register move, off the
 * store-to-load path of a loop-carried value), as long as the destination is not the source of another pending
 * copy; copies left in a cycle, and locals cached nowhere, load from their slots (always current), after all
 * the copies. The compiler's cache is unchanged (this code runs only on the branch's path).
 */
export function emitLoopReload(vs: ValueStack, f: ControlFrame): void {
  const n = f.loopCount;
  let pending = 0; // bit k: pair k not in place yet (loopCount <= GPR_BUDGET + XMM_BUDGET < 32)
  for (let k = 0; k < n; k++) {
    const r = f.loopRegs[k];
    const l = f.loopLocals[k];
    const cur = r >= 16 ? vs.xmmLocal[r - 16] : vs.gprLocal[r];
    if (cur === l) continue;
    pending |= 1 << k;
    const c = vs.localReg[l];
    moveSrc[k] = c < 0 ? -1 : r >= 16 ? 16 + c : c;
  }
  let progress = true;
  while (progress && pending !== 0) {
    progress = false;
    for (let k = 0; k < n; k++) {
      if ((pending & (1 << k)) === 0 || moveSrc[k] < 0) continue;
      const r = f.loopRegs[k];
      let blocked = false;
      for (let j = 0; j < n; j++) {
        if (j !== k && (pending & (1 << j)) !== 0 && moveSrc[j] === r) {
          blocked = true;
          break;
        }
      }
      if (blocked) continue;
      const t = vs.localType[f.loopLocals[k]];
      if (r >= 16) vs.asmCopy(t, r - 16, moveSrc[k] - 16);
      else vs.asmCopy(t, r, moveSrc[k]);
      pending &= ~(1 << k);
      progress = true;
    }
  }
  // A copy left in a cycle whose local owes its slot a store (deferred-stores.ts): store it now, while every
  // source of the cycle still holds its value, so that its load below reads the current value.
  for (let k = 0; k < n; k++) {
    if ((pending & (1 << k)) === 0 || moveSrc[k] < 0) continue;
    const l = f.loopLocals[k];
    if (vs.isDirty(l)) vs.storeToFrame(vs.localType[l], moveSrc[k] & 15, vs.localDisp[l]);
  }
  for (let k = 0; pending !== 0; k++) {
    if ((pending & (1 << k)) === 0) continue;
    pending &= ~(1 << k);
    const l = f.loopLocals[k];
    vs.loadFromFrame(vs.localType[l], f.loopRegs[k] & 15, vs.localDisp[l]);
  }
}

/**
 * The label a branch to f jumps to once its values are placed (for a loop: after emitLoopReload; for a block:
 * after block-merge.ts's recordEdge).
 */
export function branchLabel(f: ControlFrame): number {
  return f.headerLabel >= 0 ? f.headerLabel : f.mergeLabel >= 0 ? f.mergeLabel : f.label;
}
