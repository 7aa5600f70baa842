// The process-wide exec state block (native memory, see layout.ts / ARCHITECTURE.md) and typed-array
// views of it. The args buffer views all alias the same 16 KiB: slot k is byte offset 8k, i.e.
// `i32[2k]`, `u32[2k]`, `i64[k]`, `f32[2k]`, `f64[k]`.
//
// Discipline for the args buffer: whoever receives data reads it all first; whoever returns data writes
// it last (re-entrancy JS -> wasm -> JS -> wasm then needs only this one buffer).

import {
  EXEC_ARGS, EXEC_ARGS_SIZE, EXEC_ENTER_CODE, EXEC_ENTER_STUB, EXEC_ENTER_VMCTX, EXEC_SAVED_RSP, EXEC_SIZE,
  EXEC_STACK_LIMIT, EXEC_TRACE, EXEC_TRACE_COUNT, EXEC_TRACE_MAX, EXEC_TRAP_CODE,
} from './layout.js';
import { PROT_READ, PROT_WRITE, mmapAnon, view } from './native.js';

/** Address of the exec state block. */
export const execStateAddr: number = mmapAnon(EXEC_SIZE, PROT_READ | PROT_WRITE);

const execBuffer = view(execStateAddr, EXEC_SIZE);
/** u32 view of the whole exec state block (index = byte offset / 4). */
const execU32 = new Uint32Array(execBuffer);
const execI32 = new Int32Array(execBuffer);

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

/** Raw access to 64-bit exec-state fields (tests, diagnostics). */
export function readExec64(byteOffset: number): number {
  return read64(byteOffset);
}
export function writeExec64(byteOffset: number, v: number): void {
  write64(byteOffset, v);
}
