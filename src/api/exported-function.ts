// Exported Functions: the JS functions that call into generated code. Arguments are converted first (user
// valueOf code may itself call wasm), then written to the shared args buffer, then the entry trampoline runs.

import { FuncType, ValType } from '../decode/types.js';
import { FUNCREC_CODE, FUNCREC_SIG, FUNCREC_VMCTX } from '../runtime/layout.js';
import { readPtr, readU32 } from '../runtime/native.js';
import { argsF32, argsF64, argsI32, argsI64, argsU32 } from '../runtime/exec-state.js';
import { callWasm } from '../runtime/trampolines.js';
import { armDeadline, cancelDeadline } from '../runtime/interrupts.js';
import { lookupFuncRecord, registerFuncRecord, setFuncRecordResolver } from '../runtime/refs.js';
import { toJSValue, toWebAssemblyValue, RawValue } from '../runtime/js-values.js';
import type { InstanceState } from './instance.js';

const INSTANCE = Symbol('quickbeam.instance');

const TWO32 = 4294967296;

/**
 * Which instance created each FuncRecord, for creating its Exported Function on demand (e.g. from a table).
 * Weak: a live record is always kept alive by something that holds its instance (a table or global it is
 * stored in keeps the instances using them; an Exported Function holds its instance). An address can be
 * reused after its instance died, so a new registration always replaces the old one.
 */
const recordOwners = new Map<number, { state: WeakRef<InstanceState>; funcIndex: number }>();

export function registerRecordOwner(rec: number, state: InstanceState, funcIndex: number): void {
  recordOwners.set(rec, { state: new WeakRef(state), funcIndex });
}

export function funcRecordSignature(rec: number): number {
  return readU32(rec + FUNCREC_SIG);
}

function funcType(state: InstanceState, funcIndex: number): FuncType {
  const info = state.module.info;
  return info.types[info.funcTypes[funcIndex]];
}

/** Write converted arguments to the args buffer. */
export function writeArgs(types: readonly ValType[], raws: RawValue[]): void {
  for (let k = 0; k < types.length; k++) writeSlot(k, types[k], raws[k]);
}

export function writeSlot(k: number, t: ValType, raw: RawValue): void {
  switch (t) {
    case ValType.I32: argsI32[2 * k] = raw as number; argsI32[2 * k + 1] = 0; break;
    case ValType.I64: argsI64[k] = raw as bigint; break;
    case ValType.F32: argsF32[2 * k] = raw as number; argsI32[2 * k + 1] = 0; break;
    case ValType.F64: argsF64[k] = raw as number; break;
    default: {
      const v = raw as number;
      argsU32[2 * k] = v >>> 0;
      argsU32[2 * k + 1] = Math.floor(v / TWO32);
    }
  }
}

export function readSlot(k: number, t: ValType): RawValue {
  switch (t) {
    case ValType.I32: return argsI32[2 * k];
    case ValType.I64: return argsI64[k];
    case ValType.F32: return argsF32[2 * k];
    case ValType.F64: return argsF64[k];
    default: return argsU32[2 * k] + argsU32[2 * k + 1] * TWO32;
  }
}

/** Call function `funcIndex` of an instance with JS arguments; returns the JS result (undefined / value / array). */
export function callExport(state: InstanceState, funcIndex: number, args: unknown[]): unknown {
  const rec = state.funcRecords[funcIndex];
  return makeCaller(rec, entryStubFor(state, funcIndex), funcType(state, funcIndex), state.module.timeoutMs)(args);
}

function entryStubFor(state: InstanceState, funcIndex: number): number {
  const m = state.module;
  return m.code.addr + m.compiled.entryStubOffsets[m.info.funcTypes[funcIndex]];
}

/** Nesting depth of JS -> wasm calls (deadlines apply to the outermost one). */
let depth = 0;

/** A call into one function: the record's code and vmctx are read once (records never change). */
type Caller = (args: ArrayLike<unknown>) => unknown;

function makeCaller(rec: number, entryStub: number, type: FuncType, timeoutMs: number | undefined): Caller {
  const vmctx = readPtr(rec + FUNCREC_VMCTX);
  const code = readPtr(rec + FUNCREC_CODE);
  const params = type.params;
  const results = type.results;
  const np = params.length;
  const hasV128 = type.hasV128 ?? computeHasV128(type);
  // Parameters that take a JS number directly (no BigInt, no reference): the fast path writes them as is.
  let numeric = true;
  for (const t of params) if (t !== ValType.I32 && t !== ValType.F32 && t !== ValType.F64) numeric = false;
  const single = results.length === 1 ? results[0] : -1;
  const enter = (): void => {
    if (timeoutMs === undefined || depth > 0) {
      depth++;
      try {
        callWasm(vmctx, entryStub, code);
      } finally {
        depth--;
      }
    } else {
      // Outermost call with a deadline: the watchdog raises the interrupt flag if it passes.
      depth++;
      armDeadline(timeoutMs);
      try {
        callWasm(vmctx, entryStub, code);
      } finally {
        cancelDeadline();
        depth--;
      }
    }
  };
  return (args: ArrayLike<unknown>): unknown => {
    // v128 cannot cross the JS boundary: calling such a function from JS throws before anything runs.
    if (hasV128) throw new TypeError('type incompatibility when transforming from/to JS: v128');
    let fast = numeric;
    if (fast) for (let k = 0; k < np; k++) if (typeof args[k] !== 'number') fast = false;
    if (fast) {
      // Primitive numbers convert without running user code, so they can go straight to the buffer.
      for (let k = 0; k < np; k++) writeSlot(k, params[k], toWebAssemblyValue(args[k], params[k]));
    } else {
      // Convert everything first: a valueOf may itself call into wasm and reuse the args buffer.
      const raws: RawValue[] = new Array(np);
      for (let k = 0; k < np; k++) raws[k] = toWebAssemblyValue(args[k], params[k]);
      writeArgs(params, raws);
    }
    enter();
    if (single >= 0) return toJSValue(readSlot(0, single as ValType), single as ValType);
    if (results.length === 0) return undefined;
    const rawOut: RawValue[] = [];
    for (let k = 0; k < results.length; k++) rawOut.push(readSlot(k, results[k]));
    return rawOut.map((r, k) => toJSValue(r, results[k]));
  };
}

/** Whether a signature has a v128 param or result (cached on the type object). */
export function computeHasV128(type: FuncType): boolean {
  let v = false;
  for (const t of type.params) if (t === ValType.V128) v = true;
  for (const t of type.results) if (t === ValType.V128) v = true;
  (type as { hasV128?: boolean }).hasV128 = v;
  return v;
}

/** The Exported Function of a FuncRecord (one per record, created on first use). */
export function wrapperForRecord(rec: number): Function | undefined {
  const existing = lookupFuncRecord(rec);
  if (existing !== undefined) return existing;
  const owner = recordOwners.get(rec);
  const state = owner?.state.deref();
  if (owner === undefined || state === undefined) return undefined;
  const funcIndex = owner.funcIndex;
  const type = funcType(state, funcIndex);
  const entryStub = entryStubFor(state, funcIndex);
  const call = makeCaller(rec, entryStub, type, state.module.timeoutMs);
  const fn = function (this: unknown, ...args: unknown[]): unknown {
    return call(args);
  };
  Object.defineProperty(fn, 'name', { value: String(funcIndex) });
  Object.defineProperty(fn, 'length', { value: type.params.length });
  registerFuncRecord(rec, fn);
  // The owning instance (its vmctx holds the record and the code's data) lives as long as the function.
  Object.defineProperty(fn, INSTANCE, { value: state });
  return fn;
}

export function makeExportedFunction(state: InstanceState, funcIndex: number): Function {
  return wrapperForRecord(state.funcRecords[funcIndex])!;
}

setFuncRecordResolver((addr) => wrapperForRecord(addr));
