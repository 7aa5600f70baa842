// Declared locals are zeroed where the function's straight-line prefix ends, not in the prologue, so that a
// local the prefix writes first (`local.set $p (call $malloc ...)`, `local.tee` of a load) is never zeroed at
// all: small functions called millions of times (allocators, tree walks) pay one store less per such local.
//
// The prefix is the code from the function's start up to the first operator that can divert control or lets
// something read the frame's locals: any branch, label (`end`, `else`, `loop`), return, trap-only operator,
// exception handling, tail call or GC operator ends it. Until then every path from the entry runs the same
// operators in order, so a local the prefix writes before reading is written on every path; a `local.get` of a
// local not yet written reads the constant zero (its slot may still hold garbage). Calls are part of the prefix
// (the callee cannot see this frame's locals, and no handler of this function is open yet) except in functions
// with reference-typed locals, which are not deferred at all (stack maps scan those slots at every call). Only
// functions with at most 16 declared 8-byte words defer (above that the prologue zeroes with `rep stosb`).
// `FunctionCompiler.zeroPending` holds the declared locals still to zero (bit j: local numParams + j).

import { RBP } from '../x64/registers.js';
import { isRefType } from '../decode/ref-types.js';
import type { Assembler } from '../x64/assembler.js';
import type { ValueStack } from './value-stack.js';
import { slotSize } from './value-stack.js';

/** Operators that keep the straight-line prefix going (everything else ends it). */
const PREFIX_SAFE = new Uint8Array(256);
for (const op of [0x01, 0x02, 0x10, 0x11, 0x1a, 0x1b, 0x1c, 0x20, 0x21, 0x22, 0x23, 0x24]) PREFIX_SAFE[op] = 1;
for (let op = 0x28; op <= 0x3f; op++) PREFIX_SAFE[op] = 1; // loads, stores, memory.size (not memory.grow)
for (let op = 0x41; op <= 0xc4; op++) PREFIX_SAFE[op] = 1; // constants and numeric operators

export function prefixSafe(op: number): boolean {
  return PREFIX_SAFE[op] === 1;
}

/**
 * The declared locals whose zeroing can wait for the end of the prefix (a bitmask, 0: zero them all in the
 * prologue as before).
 */
export function deferrableLocals(localTypes: Int32Array, numParams: number, numLocals: number, declaredWords: number): number {
  if (declaredWords === 0 || declaredWords > 16) return 0;
  for (let i = numParams; i < numLocals; i++) if (isRefType(localTypes[i])) return 0;
  return (2 ** (numLocals - numParams) - 1) | 0;
}

/** Zero the slots of the declared locals in `pending` (the prefix ends here). */
export function zeroLocals(a: Assembler, vs: ValueStack, numParams: number, pending: number): void {
  let m = pending;
  while (m !== 0) {
    const j = 31 - Math.clz32(m);
    m &= ~(1 << j);
    const i = numParams + j;
    const disp = vs.localDisp[i];
    a.storeImm(8, 0, RBP, -1, 1, disp);
    if (slotSize(vs.localType[i]) === 16) a.storeImm(8, 0, RBP, -1, 1, disp + 8);
  }
}
