// Register arguments (docs/ARCHITECTURE.md, "Wasm-to-wasm calling convention").
//
// A call passes the first REG_ARG_GPRS.length integer/reference arguments and the first REG_ARG_XMMS.length
// f32/f64/v128 arguments in registers; the rest go to the outgoing area as before, and the area keeps its full
// size. So go the calls of eagerly compiled code: direct calls inside the module (`call rel32` to the callee's
// direct entry) and calls through a FuncRecord's register entry (call_indirect, call_ref, calls of imported
// functions: `call [rax + FUNCREC_REG_CODE]` with rax = the record). The callee's prologue stores the register arguments to their
// slots in that area ([rbp + 16 + off]), so from there on the frame is exactly what the memory convention makes
// it (stack maps, tail calls, exceptions, traps see no difference), and leaves each one cached in its register
// (a `local.get` of a parameter costs nothing).
//
// The memory convention (every argument in the area) stays for the FuncRecord's other entry, FUNCREC_CODE:
// entry stubs, tail calls through records, and every call of lazily compiled code (whose functions have no
// register entry of their own: through the adapter below, an indirect call to one cost 3.9 ns instead of 3.2). An eagerly compiled function's
// three entries follow each other: the memory entry loads the register arguments from the area and falls into
// the register entry, which loads the memory registers of its instance and falls into the direct entry. What
// has no register entry of its own (a host-call thunk, a lazily compiled module's function) gets an adapter
// that stores the register arguments to the area (emitArgSpill) before its memory entry. A tail call to a
// direct entry loads them from the area just before its jump.

import type { Assembler } from '../x64/assembler.js';
import type { FuncType } from '../decode/types.js';
import { ValType } from '../decode/types.js';
import { LoadKind, RAX, RBX, RDX, RSI, R8, R9, R10, R11, RSP, SseOp, XMM1, XMM2, XMM3, XMM4, XMM5, XMM6, XMM15 } from '../x64/registers.js';
import { K_LOCAL, K_REG, isXmmType, loadTyped, slotSize, type ValueStack } from './value-stack.js';

/**
 * Integer and reference arguments. Not rax, rcx, rdi (the prologue zeroes many locals with `rep stosb`), nor
 * r11 (scratch of the prologue's checks).
 */
export const REG_ARG_GPRS = [RDX, RSI, R8, R9, R10, RBX];
/** f32, f64, v128 arguments. */
export const REG_ARG_XMMS = [XMM1, XMM2, XMM3, XMM4, XMM5, XMM6];

/**
 * The register of each parameter of `params` (-1: passed in memory), written to `out`; returns how many are in
 * registers. No allocation.
 */
export function assignArgRegs(params: ArrayLike<number>, out: Int32Array): number {
  let g = 0, x = 0, n = 0;
  for (let k = 0; k < params.length; k++) {
    let r = -1;
    if (isXmmType(params[k])) {
      if (x < REG_ARG_XMMS.length) r = REG_ARG_XMMS[x++];
    } else if (g < REG_ARG_GPRS.length) r = REG_ARG_GPRS[g++];
    out[k] = r;
    if (r >= 0) n++;
  }
  return n;
}


// Per-call scratch of placeArgs (sized for the largest register count; nothing is allocated per call).
const MAX = REG_ARG_GPRS.length + REG_ARG_XMMS.length;
const regOf = new Int32Array(1001);
const mvDst = new Int32Array(MAX);
const mvSrc = new Int32Array(MAX);
const mvXmm = new Uint8Array(MAX);
const mvEntry = new Int32Array(MAX);

/**
 * Caller side of a call with register arguments: place the `type.params.length` arguments on top of the value stack (memory
 * ones to [rsp + off], register ones in their registers), spill every other register value, and pop the
 * arguments. Register moves are done as a parallel move (cycles broken through r11 / xmm15); constants and
 * values in memory are loaded last, when no register source is pending any more.
 */
export function placeCallArgs(vs: ValueStack, a: Assembler, type: FuncType): void {
  const params = type.params;
  const np = params.length;
  const first = vs.height - np;
  assignArgRegs(params, regOf);
  // Memory arguments first (their stores read registers and use r11), then the values below the arguments.
  for (let k = 0, off = 0; k < np; off += slotSize(params[k]), k++) if (regOf[k] < 0) vs.storeEntryTo(first + k, RSP, off);
  for (let i = 0; i < first; i++) if (vs.kind[i] === K_REG) vs.spill(i);
  // Register-to-register moves.
  let n = 0;
  for (let k = 0; k < np; k++) {
    const dst = regOf[k];
    if (dst < 0) continue;
    const i = first + k;
    let src = -1;
    if (vs.kind[i] === K_REG) src = vs.reg[i];
    else if (vs.kind[i] === K_LOCAL) src = vs.localReg[vs.reg[i]];
    if (src < 0 || src === dst) continue;
    mvDst[n] = dst;
    mvSrc[n] = src;
    mvXmm[n] = isXmmType(params[k]) ? 1 : 0;
    n++;
  }
  while (n > 0) {
    let k = 0;
    for (; k < n; k++) if (!isRead(mvDst[k], mvXmm[k], n, k)) break;
    if (k === n) {
      // Only cycles are left: move the first destination's current value to the scratch register.
      k = 0;
      const x = mvXmm[0], d = mvDst[0], scratch = x ? XMM15 : R11;
      copy(a, x, scratch, d);
      for (let j = 1; j < n; j++) if (mvXmm[j] === x && mvSrc[j] === d) mvSrc[j] = scratch;
    }
    copy(a, mvXmm[k], mvDst[k], mvSrc[k]);
    n--;
    mvDst[k] = mvDst[n];
    mvSrc[k] = mvSrc[n];
    mvXmm[k] = mvXmm[n];
  }
  // Constants and values in memory.
  let m = 0;
  for (let k = 0; k < np; k++) {
    const dst = regOf[k];
    if (dst < 0) continue;
    const i = first + k;
    if (vs.kind[i] === K_REG || (vs.kind[i] === K_LOCAL && vs.localReg[vs.reg[i]] >= 0)) continue;
    mvEntry[m++] = k;
  }
  for (let j = 0; j < m; j++) vs.loadEntry(first + mvEntry[j], regOf[mvEntry[j]]);
  for (let k = 0; k < np; k++) vs.drop();
  // The argument registers were overwritten: whatever locals they cached are gone.
  vs.clearLocalCache();
}

function isRead(r: number, xmm: number, n: number, except: number): boolean {
  for (let j = 0; j < n; j++) if (j !== except && mvXmm[j] === xmm && mvSrc[j] === r) return true;
  return false;
}

function copy(a: Assembler, xmm: number, dst: number, src: number): void {
  if (xmm) a.sse(SseOp.MOVAPS, dst, src);
  else a.movRR(true, dst, src);
}

/**
 * Load the register arguments of a function of type `type` from an argument area at [base + disp] (the
 * FuncRecord's memory entry: [rsp + 8]; a tail call after its epilogue: [rsp + 8]).
 */
export function loadArgRegs(a: Assembler, params: ArrayLike<number>, base: number, disp: number): void {
  assignArgRegs(params, regOf);
  for (let k = 0, off = disp; k < params.length; off += slotSize(params[k]), k++) {
    if (regOf[k] >= 0) loadTyped(a, params[k], regOf[k], base, off);
  }
}

/**
 * Callee side, in the prologue of the direct entry: store the register arguments to their slots and leave
 * them cached in their registers (a prologue is outside any loop: deferred-stores.ts defers no store there).
 */
export function storeArgRegs(vs: ValueStack, params: ArrayLike<number>): void {
  assignArgRegs(params, regOf);
  for (let k = 0; k < params.length; k++) {
    const r = regOf[k];
    if (r < 0) continue;
    vs.storeToFrame(params[k], r, vs.localDisp[k]);
    vs.cacheLocal(k, r);
  }
}

/**
 * The adapter from the register entry to a memory entry, at a function's entry (the return address at [rsp]):
 * store the register arguments to their slots in the caller's argument area, [rsp + 8 + off].
 */
export function emitArgSpill(a: Assembler, params: ArrayLike<number>): void {
  assignArgRegs(params, regOf);
  for (let k = 0, off = 8; k < params.length; off += slotSize(params[k]), k++) {
    const r = regOf[k];
    if (r < 0) continue;
    switch (params[k]) {
      case ValType.V128: a.movdquStore(r, RSP, -1, 1, off); break;
      case ValType.F32: a.movssStore(r, RSP, -1, 1, off); break;
      case ValType.F64: a.movsdStore(r, RSP, -1, 1, off); break;
      default: a.store(8, r, RSP, -1, 1, off); break; // (an i32 is zero-extended in its register)
    }
  }
}

/** A shared adapter (lazily compiled modules): the spill, then the record's memory entry (rax = the record). */
export function emitRecordAdapter(a: Assembler, params: ArrayLike<number>): void {
  emitArgSpill(a, params);
  a.jmpMem(RAX, 0);
}
