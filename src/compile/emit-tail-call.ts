// Tail calls: return_call, return_call_indirect, return_call_ref. The caller's frame is replaced by the
// callee's, so a chain of tail calls runs in constant stack. See docs/ARCHITECTURE.md, "Tail calls".
//
// The wasm calling convention has the caller reserve the argument area in its own frame (it never pops), so
// a function B that was called by A owns the area [B.rbp + 16, B.rbp + 16 + avail), where avail is at least
// B's own need S_B = max(bytes of params, bytes of results). B tail-calls C (need N_C) by:
//
// - plain: when N_C fits the area and C runs with B's vmctx (or will return into a tail-call frame, which
//   restores it), the arguments go into B's incoming area (stored there directly for a return_call within
//   the module, else copied from the outgoing area), `mov rsp, rbp; pop rbp; jmp C`. C then returns straight
//   to A.
// - through a tail-call frame: when C needs more than B can be sure of, or C belongs to another instance (A,
//   if it called B directly, expects its own vmctx in r14 after the call), B turns its frame header
//   (return address to A, A's rbp, B's vmctx) into a *tail-call frame*: below the header word [H-16] =
//   (area size, results size) it lays out a new argument area of N' >= N_C bytes, then a return address to
//   the runtime's tail-call return stub (trampolines.ts), and jumps to C with rbp = H. When C returns there, the
//   stub copies multi-value results up into A's area, restores r14/r15 from [H-8] and returns to A.
//   A function whose return address is that stub is already in a tail-call frame: it reuses the area (plain
//   path) when it is big enough and rebuilds the frame bigger otherwise, so the chain never nests.
//
// The stub's address is not in any symbolized code range, so backtraces show C in place of B, then A, as V8
// does. Every callee still runs its prologue (stack check, interrupt/fuel checks).

import { AluOp, Cond, LoadKind, RAX, RBP, RCX, RDI, RDX, RSP, R11, R14 } from '../x64/registers.js';
import { FuncType } from '../decode/types.js';
import { isSubtype } from '../decode/ref-types.js';
import { K_LOCAL, slotSize } from './value-stack.js';
import { VMCTX_EXEC, VMCTX_CODE_SLOTS, EXEC_TAIL_CALL_RETURN } from './abi.js';
import type { FunctionCompiler } from './function-compiler.js';
import { emitRefRecord, readCallRef } from './emit-ref.js';
import type { Assembler } from '../x64/assembler.js';
import { loadArgRegs } from './reg-args.js';

/** Arguments copied with straight-line moves up to this many bytes; a loop beyond. */
const UNROLL_BYTES = 128;

function typesBytes(types: ArrayLike<number>): number {
  let n = 0;
  for (let k = 0; k < types.length; k++) n += slotSize(types[k]);
  return n;
}

/** Validate that the callee's results fit the caller's (a tail call returns them as the caller's). */
function checkResults(fc: FunctionCompiler, callee: FuncType): void {
  const own = fc.funcType.results;
  const res = callee.results;
  const types = fc.m.info.types;
  let ok = own.length === res.length;
  for (let k = 0; ok && k < res.length; k++) ok = isSubtype(res[k], own[k], types);
  if (!ok) fc.error('type mismatch: tail call results do not match the function results');
}

/** Where a tail call goes: a direct callee in this module, or the FuncRecord in rax. */
const enum Target { Direct, Record }

/** return_call f */
export function opReturnCall(fc: FunctionCompiler): void {
  const f = fc.readFuncIndex();
  const info = fc.m.info;
  const type = info.types[info.funcTypes[f]];
  checkResults(fc, type);
  if (fc.callValidate(type, 0)) {
    if (f >= info.numImportedFuncs && calleeNeed(type) <= ownNeed(fc)) {
      // The common case (self and mutual recursion in one module): no checks, arguments straight into place.
      emitArgsInPlace(fc, type);
      fc.asm.movRR(true, RSP, RBP);
      fc.asm.pop(RBP);
      emitJump(fc, Target.Direct, f);
    } else {
      emitOutgoingTailCall(fc, type, f);
    }
  }
  fc.setUnreachable();
}

function ownNeed(fc: FunctionCompiler): number {
  const own = fc.funcType;
  return Math.max(typesBytes(own.params), typesBytes(own.results));
}

function calleeNeed(type: FuncType): number {
  return Math.max(typesBytes(type.params), typesBytes(type.results));
}

/**
 * Write the arguments straight into this function's incoming area (the callee's need fits it). A pending
 * local.get of a parameter whose slot another argument overwrites is read into its value-stack slot first;
 * one that is already in place (the same parameter position) costs nothing.
 */
function emitArgsInPlace(fc: FunctionCompiler, type: FuncType): void {
  const vs = fc.vs;
  const params = type.params;
  const np = params.length;
  const first = vs.height - np;
  for (let k = 0, off = 16; k < np; off += slotSize(params[k]), k++) {
    const i = first + k;
    if (vs.kind[i] !== K_LOCAL) continue;
    const src = vs.localDisp[vs.reg[i]];
    if (src > 0 && src !== off) vs.spill(i); // a parameter slot (positive offset), not this argument's own
  }
  for (let k = 0, off = 16; k < np; off += slotSize(params[k]), k++) vs.storeEntryTo(first + k, RBP, off);
  for (let k = 0; k < np; k++) vs.drop();
}

/** A tail call whose arguments go through the outgoing area first (see emitFrameReplacement). */
function emitOutgoingTailCall(fc: FunctionCompiler, type: FuncType, f: number): void {
  const info = fc.m.info;
  fc.emitCallArgs(type);
  if (f < info.numImportedFuncs) {
    fc.asm.load(LoadKind.I64, RAX, R14, -1, 1, fc.m.layout.func(f));
    emitFrameReplacement(fc, type, Target.Record, f);
  } else {
    emitFrameReplacement(fc, type, Target.Direct, f);
  }
}

/** return_call_indirect type table */
export function opReturnCallIndirect(fc: FunctionCompiler): void {
  const type = fc.readCallIndirect();
  checkResults(fc, type);
  if (fc.callValidate(type, 1)) {
    fc.emitIndirectRecord(type);
    emitFrameReplacement(fc, type, Target.Record, -1);
  }
  fc.setUnreachable();
}

/** return_call_ref $t: the callee is a (ref null $t) on top of the arguments; null traps. */
export function opReturnCallRef(fc: FunctionCompiler): void {
  const type = readCallRef(fc);
  checkResults(fc, type);
  if (fc.callValidate(type, 1)) {
    emitRefRecord(fc, type);
    emitFrameReplacement(fc, type, Target.Record, -1);
  }
  fc.setUnreachable();
}

/**
 * The arguments are in the outgoing area at [rsp]; for Target.Record, rax holds the callee's FuncRecord.
 * Emits the frame replacement and the jump.
 */
function emitFrameReplacement(fc: FunctionCompiler, type: FuncType, target: Target, f: number): void {
  const a = fc.asm;
  const own = fc.funcType;
  const ownNeed = Math.max(typesBytes(own.params), typesBytes(own.results));
  const params = typesBytes(type.params);
  const need = Math.max(params, typesBytes(type.results));
  const fits = need <= ownNeed;
  const sameInstance = target === Target.Direct;

  if (fits && sameInstance) {
    emitPlain(fc, params, target, f);
    return;
  }
  const area = (need + 15) & ~15;
  const results = type.results.length > 1 ? typesBytes(type.results) : 0;
  const inFrame = a.newLabel();
  const build = a.newLabel();
  const plain = a.newLabel();
  // Already in a tail-call frame when the return address is the runtime's tail-call return stub.
  a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
  a.load(LoadKind.I64, R11, R11, -1, 1, EXEC_TAIL_CALL_RETURN);
  a.aluLoad(AluOp.CMP, true, R11, RBP, -1, 1, 8);
  a.jcc(Cond.E, inFrame);
  if (fits) {
    // Only the instance can differ: same vmctx, plain tail call.
    a.aluLoad(AluOp.CMP, true, R14, RAX, -1, 1, 8);
    a.jcc(Cond.E, plain);
  }
  a.movRR(true, RDX, RBP); // the frame header of the new tail-call frame is this function's
  a.jmp(build);

  a.bind(inFrame);
  a.load(LoadKind.I64, RDX, RBP, -1, 1, 0); // the tail-call frame's rbp
  a.aluMemImm(AluOp.CMP, false, RDX, -1, 1, -16, need);
  a.jcc(Cond.AE, plain);

  // Build (or rebuild bigger) the tail-call frame whose header is at rdx. The new area lies below [rdx-16]
  // and may overlap this function's frame but starts above its outgoing area, so the arguments are copied
  // from the highest word down.
  a.bind(build);
  a.lea(true, RDI, RDX, -1, 1, -16 - area);
  copyDown(a, RDI, 0, params);
  a.storeImm(4, area, RDX, -1, 1, -16);
  a.storeImm(4, results, RDX, -1, 1, -12);
  a.lea(true, RSP, RDI, -1, 1, -8);
  a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
  a.load(LoadKind.I64, R11, R11, -1, 1, EXEC_TAIL_CALL_RETURN);
  a.store(8, R11, RSP, -1, 1, 0);
  a.movRR(true, RBP, RDX);
  emitJump(fc, target, f);

  a.bind(plain);
  emitPlain(fc, params, target, f);
}

/** Copy the arguments into this function's incoming area, drop the frame and jump. */
function emitPlain(fc: FunctionCompiler, params: number, target: Target, f: number): void {
  const a = fc.asm;
  copyDown(a, RBP, 16, params);
  a.movRR(true, RSP, RBP);
  a.pop(RBP);
  emitJump(fc, target, f);
}

/** Copy `bytes` (a multiple of 8) from [rsp] to [dst + disp], highest word first (safe when dst >= rsp). */
function copyDown(a: Assembler, dst: number, disp: number, bytes: number): void {
  if (bytes <= UNROLL_BYTES) {
    for (let off = bytes - 8; off >= 0; off -= 8) {
      a.load(LoadKind.I64, R11, RSP, -1, 1, off);
      a.store(8, R11, dst, -1, 1, disp + off);
    }
    return;
  }
  const loop = a.newLabel();
  a.movImm32(RCX, bytes);
  a.bind(loop);
  a.load(LoadKind.I64, R11, RSP, RCX, 1, -8);
  a.store(8, R11, dst, RCX, 1, disp - 8);
  a.aluImm(AluOp.SUB, false, RCX, 8);
  a.jcc(Cond.NE, loop);
}

/** The jump itself: r14 becomes the callee's vmctx for records; direct callees share this instance. */
function emitJump(fc: FunctionCompiler, target: Target, f: number): void {
  const a = fc.asm;
  const m = fc.m;
  if (target === Target.Record) {
    a.load(LoadKind.I64, R14, RAX, -1, 1, 8);
    a.jmpMem(RAX, 0);
  } else if (m.lazy) {
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_CODE_SLOTS);
    a.jmpMem(R11, 8 * f);
  } else {
    // The direct entry takes the first arguments in registers (reg-args.ts); they are in the area at [rsp + 8].
    loadArgRegs(a, m.info.types[m.info.funcTypes[f]].params, RSP, 8);
    const label = m.directLabels[f];
    if (label >= 0) a.jmp(label);
    else {
      // In another batch: a rel32 the module linker patches like a call's (see batch-compiler.ts).
      a.byte(0xe9);
      m.callRelocs.push2(a.offset, f);
      a.int32(0);
    }
  }
}
