// Deferred local.set: inside loops, a numeric local's new value stays in a register and its frame slot is written
// only where something needs the slot (Liftoff keeps locals in registers likewise).
//
// Inside a loop, `local.set x` / `local.tee x` of an i32/i64/f32/f64 value held in a register leaves it there: the
// register caches x (the value stack's local register cache) and is marked dirty (ValueStack.dirtyBits): it owes
// x's slot a store. (Outside loops, and for constants, the store is made at once: there it would mostly be made at
// the next label anyway, and deferring costs compile time.) The store is made (ValueStack.writeBack) as late as
// possible:
//
// - when the register loses x: handed out for another value (forget, pushReg), evicted, or x's cache dropped;
// - before something reads x's slot: a spill or argument move of a pending `local.get x` stores from the register
//   instead (storeEntryTo), an operator using x straight from its slot writes it back first (cleanLocal);
// - before every operator that is not straight-line code (OWED_ACTION): calls (the callee clobbers registers,
//   and a throw's landing pad, stack maps and tail calls read slots), exception handling, GC, table, bulk-memory,
//   SIMD and reference operators;
// - before block, if, else, end, br, br_if and br_table (flushUnkept), in line, except the stores of the
//   innermost loop's kept locals: the carried locals dirty at its entry or set since the previous loop entry or
//   cache clear (ValueStack.setEpoch), which its header takes as dirty (loopDirty; loop-carry.ts) and its back
//   edges keep owed, bringing them into their registers. Kept stores cross labels: a block or if entered with
//   them keeps them owed through its end (beginPairs: the (register, local) pairs, kept in the frame's
//   loopRegs/loopLocals, every edge bringing a pair's local back into its register: loop-carry.ts's
//   emitLoopReload), and the edges leaving the loop make them on their own paths (the taken path of br_if, a
//   br_table stub, the fallthrough at an `end` that other edges reach, the then arm's edge at `else`). So a loop
//   counter or accumulator is stored once after the loop, not once per iteration. Jumps that know nothing of
//   pairs (br_on_null, br_on_cast, catch pads: their operators made every store first) reach a block's end
//   through a stub that loads them.
//
// `return` needs only its results, and traps read no locals: a path that ends so makes none of its owed stores.
// Reference-typed locals (stack maps scan their slots) and v128 locals are stored at once as before.

import type { Assembler } from '../x64/assembler.js';
import { ValType } from '../decode/types.js';
import { ControlFrame, F_BLOCK, F_FUNC, F_LOOP } from './control.js';
import { emitLoopReload } from './loop-carry.js';
import type { ValueStack } from './value-stack.js';

/**
 * Off by default for now: it costs compile time (sqlite.wasm32's warm compile +9% instructions, its machine code
 * +3.5%; BENCHMARKS.md). QUICKBEAM_DEFER_STORES=1 in the environment (read when this module loads, so compile
 * workers follow it) or setDeferredStores(true) (this thread) turns it on. When off, the generated code is
 * byte-identical to the code before deferral existed: nothing is ever dirty.
 */
let enabled = typeof process !== 'undefined' && process.env?.QUICKBEAM_DEFER_STORES === '1';

export function setDeferredStores(on: boolean): void {
  enabled = on;
}

export function deferredStoresOn(): boolean {
  return enabled;
}

/** Whether local.set of a local of type t may defer its store. */
export function deferrableLocal(t: number): boolean {
  return enabled && (t === ValType.I32 || t === ValType.I64 || t === ValType.F32 || t === ValType.F64);
}

/** Operators that keep owed stores owed (straight-line code, or operators that handle them themselves). */
const KEEPS = new Uint8Array(256);
// unreachable, nop, block, loop (loop-carry.ts), if, else and end (block pairs), br, br_if, br_table (per edge),
// return, drop, select, local and global access
for (const op of [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x1a, 0x1b, 0x1c, 0x20, 0x21, 0x22, 0x23, 0x24]) KEEPS[op] = 1;
for (let op = 0x28; op <= 0x3f; op++) KEEPS[op] = 1; // loads, stores, memory.size
for (let op = 0x41; op <= 0xc4; op++) KEEPS[op] = 1; // constants and numeric operators

/**
 * What is made before operator op while stores are owed: OWED_KEEP nothing, OWED_ALL every owed store (calls and
 * the other operators that are not straight-line code; 0xfc 0..7, the saturating truncations, are), OWED_UNKEPT all but the
 * innermost loop's (block, if, else, end, br, br_if, br_table: flushUnkept).
 */
export const OWED_KEEP = 0, OWED_ALL = 1, OWED_UNKEPT = 2;
export const OWED_ACTION = new Uint8Array(256);
for (let op = 0; op < 256; op++) OWED_ACTION[op] = KEEPS[op] === 0 ? OWED_ALL : OWED_KEEP;
for (const op of [0x02, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e]) OWED_ACTION[op] = OWED_UNKEPT;

/**
 * Before a control operator (but a loop's entry): make every owed store except those of the header-dirty pairs
 * of `loop`, the innermost live loop (null: none). Only a loop's own carried locals stay owed across labels and
 * branches (through blocks and ifs as pairs, out of the loop on the exit edges): what saves a store per
 * iteration. A local set in straight-line code elsewhere is stored at the next label or branch, in line, as
 * one store (no pairs, no stores on branch paths: deferring those costs compile time and code for little).
 */
export function flushUnkept(vs: ValueStack, loop: ControlFrame | null): void {
  let m = vs.dirtyBits;
  while (m !== 0) {
    const b = 31 - Math.clz32(m);
    m &= ~(1 << b);
    if (loop === null || !headerDirty(loop, localOf(vs, b))) vs.writeBack(b);
  }
}

/** At a live `end` of frame f: whether other edges reach it (then the fallthrough makes its owed stores). */
export function endNeedsFlush(asm: Assembler, f: ControlFrame): boolean {
  if (f.kind === F_FUNC || f.kind === F_LOOP) return false; // a return; a loop's end only falls through
  return f.kind !== F_BLOCK || f.branchedTo || f.unknownEntry || f.handler >= 0 || asm.hasPendingRefs(f.label);
}

/**
 * At a live block or if entry (values spilled): the owed stores become the frame's pairs, kept owed on every edge
 * to its end (each edge brings them back into their registers, like a loop's back edge).
 */
export function beginPairs(vs: ValueStack, f: ControlFrame): void {
  let m = vs.dirtyBits, n = 0;
  f.pairRegs = m;
  while (m !== 0) {
    const b = 31 - Math.clz32(m);
    m &= ~(1 << b);
    f.loopRegs[n] = b;
    f.loopLocals[n++] = localOf(vs, b);
  }
  f.loopCount = n;
  f.loopDirty = n === 32 ? -1 : (1 << n) - 1;
}

/**
 * The fallthrough edge into the end of a block or if with pairs (after its values are in their slots): make the
 * other owed stores, bring the pairs back into their registers, and make that the compiler's state.
 */
export function conformFallthrough(vs: ValueStack, f: ControlFrame): void {
  emitEdgeStores(vs, f);
  emitLoopReload(vs, f);
  vs.dirtyBits = 0; // (made above; the pairs' are owed again below)
  for (let k = 0; k < f.loopCount; k++) {
    const b = f.loopRegs[k];
    if (vs.localReg[f.loopLocals[k]] !== (b & 15)) vs.cacheLocal(f.loopLocals[k], b & 15);
  }
  vs.dirtyBits = f.pairRegs;
}

/** Whether loop f's header (or block f's end) takes local x as dirty: one of its pairs, with its store owed. */
function headerDirty(f: ControlFrame, x: number): boolean {
  for (let k = 0; k < f.loopCount; k++) if (f.loopLocals[k] === x) return (f.loopDirty & (1 << k)) !== 0;
  return false;
}

function localOf(vs: ValueStack, b: number): number {
  return b >= 16 ? vs.xmmLocal[b - 16] : vs.gprLocal[b];
}

/** Whether a branch to f must make owed stores first. */
export function edgeNeedsStores(vs: ValueStack, f: ControlFrame): boolean {
  let m = vs.dirtyBits;
  if (m === 0 || f.kind === F_FUNC) return false;
  if (f.loopCount === 0) return true;
  while (m !== 0) {
    const b = 31 - Math.clz32(m);
    m &= ~(1 << b);
    if (!headerDirty(f, localOf(vs, b))) return true;
  }
  return false;
}

/**
 * On a branch's path to f (before a loop's carried registers are reloaded): make the owed stores f's label
 * needs. The compiler's state is unchanged (a br_if's fallthrough still owes them).
 */
export function emitEdgeStores(vs: ValueStack, f: ControlFrame): void {
  let m = vs.dirtyBits;
  if (m === 0 || f.kind === F_FUNC) return;
  while (m !== 0) {
    const b = 31 - Math.clz32(m);
    m &= ~(1 << b);
    const x = localOf(vs, b);
    if (headerDirty(f, x)) continue;
    vs.storeToFrame(vs.localType[x], b & 15, vs.localDisp[x]);
  }
}
