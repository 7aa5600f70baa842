// The process-wide exec state block (native memory, see layout.ts / ARCHITECTURE.md) and typed-array
// views of it. The args buffer views all alias the same 16 KiB: slot k is byte offset 8k, i.e.
// `i32[2k]`, `u32[2k]`, `i64[k]`, `f32[2k]`, `f64[k]`.
//
// Discipline for the args buffer: whoever receives data reads it all first; whoever returns data writes
// it last (re-entrancy JS -> wasm -> JS -> wasm then needs only this one buffer).

import {
  EXEC_ARGS, EXEC_ARGS_SIZE, EXEC_ENTER_CODE, EXEC_ENTER_STUB, EXEC_ENTER_VMCTX, EXEC_SAVED_RSP, EXEC_SIZE,
  EXEC_STACK_LIMIT, EXEC_TRACE, EXEC_TRACE_COUNT, EXEC_TRACE_MAX, EXEC_TRAP_CODE,
  EXEC_ENTER_SUSPENDER, EXEC_RESUME_CODE, EXEC_HOST_VMCTX, EXEC_HOST_ID, EXEC_HOST_SUSPENDER, EXEC_HOST_TOP,
  EXEC_STACK_RESULT, HOSTCALL_BUILTIN_BASE,
} from './layout.js';
import { PROT_READ, PROT_WRITE, mmapAnon, view } from './native.js';

/** Address of the exec state block. */
export const execStateAddr: number = mmapAnon(EXEC_SIZE, PROT_READ | PROT_WRITE);

const execBuffer = view(execStateAddr, EXEC_SIZE);
/** u32 view of the whole exec state block (index = byte offset / 4). */
const execU32 = new Uint32Array(execBuffer);
const execI32 = new Int32Array(execBuffer);
const execF64 = new Float64Array(execBuffer);

/** The args buffer (16 KiB of 8-byte slots), under several typings over the same bytes. */
export const argsBuffer: ArrayBuffer = view(execStateAddr + EXEC_ARGS, EXEC_ARGS_SIZE);
export const argsI32 = new Int32Array(argsBuffer);
export const argsU32 = new Uint32Array(argsBuffer);
export const argsI64 = new BigInt64Array(argsBuffer);
export const argsU64 = new BigUint64Array(argsBuffer);
export const argsF32 = new Float32Array(argsBuffer);
export const argsF64 = new Float64Array(argsBuffer);
export const argsBytes = new Uint8Array(argsBuffer);
/** Native address of the args buffer. */
export const argsAddr: number = execStateAddr + EXEC_ARGS;

const TWO32 = 4294967296;

function read64(byteOffset: number): number {
  const i = byteOffset >>> 2;
  return execU32[i] + execU32[i + 1] * TWO32;
}

function write64(byteOffset: number, v: number): void {
  const i = byteOffset >>> 2;
  execU32[i] = v >>> 0;
  execU32[i + 1] = Math.floor(v / TWO32) >>> 0;
}

/** Slot k of the args buffer as a Number-valued u64 (exact below 2^53: pointers, funcrefs, extern ids). */
export function argsReadU64(slot: number): number {
  return argsU32[2 * slot] + argsU32[2 * slot + 1] * TWO32;
}

/** Write a non-negative integer below 2^53 (pointer, funcref, extern id) into slot k. */
export function argsWriteU64(slot: number, v: number): void {
  argsU32[2 * slot] = v >>> 0;
  argsU32[2 * slot + 1] = Math.floor(v / TWO32) >>> 0;
}

/** rsp of the innermost active entry (0 when no wasm is running). */
export function savedRsp(): number {
  return read64(EXEC_SAVED_RSP);
}

/** The current stack limit (meaningful while wasm runs). */
export function stackLimit(): number {
  return read64(EXEC_STACK_LIMIT);
}

/** Code of the last trap. */
export function lastTrapCode(): number {
  return execI32[EXEC_TRAP_CODE >>> 2];
}

/** Return addresses recorded by the last trap, innermost first (the first is the trapping site). */
export function readTrace(): number[] {
  let n = execI32[EXEC_TRACE_COUNT >>> 2];
  if (!(n > 0)) return [];
  if (n > EXEC_TRACE_MAX) n = EXEC_TRACE_MAX;
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = read64(EXEC_TRACE + 8 * i);
  return out;
}

/** Forget the recorded trace. */
export function clearTrace(): void {
  execI32[EXEC_TRACE_COUNT >>> 2] = 0;
}

/** Store the arguments of the zero-argument entry (`enter0`). */
export function setEnterArgs(vmctx: number, entryStub: number, code: number): void {
  write64(EXEC_ENTER_VMCTX, vmctx);
  write64(EXEC_ENTER_STUB, entryStub);
  write64(EXEC_ENTER_CODE, code);
}

const bitsU32 = new Uint32Array(2);
const bitsF64 = new Float64Array(bitsU32.buffer);

/**
 * The double whose bit pattern is the 64-bit integer `v` (an address, < 2^53): storing it through a Float64Array
 * writes `v` in one store (a denormal keeps its bits in JS). For the per-call writes of entry arguments.
 */
export function bitsOf(v: number): number {
  bitsU32[0] = v >>> 0;
  bitsU32[1] = Math.floor(v / TWO32) >>> 0;
  return bitsF64[0];
}

// The per-call accessors below index the exec state with literals (byte offset / 8 or / 4): an imported
// constant costs a cell load, a hole check and a bounds check per use in optimised code (checked here once).
if (EXEC_ENTER_VMCTX !== 1024 || EXEC_ENTER_STUB !== 1032 || EXEC_ENTER_CODE !== 1040 || EXEC_ENTER_SUSPENDER !== 1152 ||
  EXEC_RESUME_CODE !== 1160 || EXEC_HOST_VMCTX !== 1168 || EXEC_HOST_ID !== 1176 || EXEC_STACK_RESULT !== 1200 ||
  HOSTCALL_BUILTIN_BASE !== 0x10000) {
  throw new Error('quickbeam: exec-state.ts literals out of date with layout.ts');
}

/** The vmctx of the host call a stack returned to JS with (EXEC_HOST_VMCTX). */
export function hostCallVmctx(): number {
  return execU32[292] + execU32[293] * TWO32;
}

/** The id of that host call (EXEC_HOST_ID). */
export function hostCallId(): number {
  return execI32[294];
}

/** The suspender record of the stack that made that host call (EXEC_HOST_SUSPENDER; 0 for a koffi callback's). */
export function hostCallSuspender(): number {
  return read64(EXEC_HOST_SUSPENDER);
}

/** The S-side entry's savedRsp of that stack (EXEC_HOST_TOP; 0 for a koffi callback's). */
export function hostCallTop(): number {
  return read64(EXEC_HOST_TOP);
}

/** The arguments of enterStack0 (as bitsOf() doubles): vmctx, stub, code and the stack's suspender record. */
export function setStackEnterArgs(vmctx: number, entryStub: number, code: number, suspender: number): void {
  execF64[128] = vmctx; // EXEC_ENTER_VMCTX
  execF64[129] = entryStub; // EXEC_ENTER_STUB
  execF64[130] = code; // EXEC_ENTER_CODE
  execF64[144] = suspender; // EXEC_ENTER_SUSPENDER
}

/** The arguments of resumeStack0: the suspender record (a bitsOf() double) and the host call's result code. */
export function setResumeArgs(suspender: number, code: number): void {
  execF64[144] = suspender; // EXEC_ENTER_SUSPENDER
  execI32[290] = code; // EXEC_RESUME_CODE
}

/** What the last `enterStack0` / `resumeStack0` returned (EXEC_STACK_RESULT: they are `void` to koffi). */
export function stackResult(): number {
  return execI32[300];
}

/**
 * The import index of the host call a stack returned to JS with when it is an imported function's call from the
 * instance whose vmctx is `vmctxBits` (a bitsOf() double, compared with EXEC_HOST_VMCTX without converting); else
 * -1 (a builtin, another instance's call).
 */
export function hostCallImportId(vmctxBits: number): number {
  const id = execI32[294]; // EXEC_HOST_ID
  return id < 0x10000 && execF64[146] === vmctxBits ? id : -1; // HOSTCALL_BUILTIN_BASE, EXEC_HOST_VMCTX
}

/** Raw access to 64-bit exec-state fields (tests, diagnostics). */
export function readExec64(byteOffset: number): number {
  return read64(byteOffset);
}
export function writeExec64(byteOffset: number, v: number): void {
  write64(byteOffset, v);
}
