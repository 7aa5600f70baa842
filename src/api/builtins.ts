// The host-call handler of an instance: calls to imported JS functions, and the runtime builtins that
// generated code leaves to JS (memory.grow, bulk memory, table operations). Operands arrive in the args
// buffer (immediates first); results go back to slot 0. A handler returns 0 or a trap code.


import { TrapCode, HOSTCALL_BUILTIN_BASE, SUSPENDED_CODE } from '../runtime/layout.js';
import { SUSPEND, setSuspensionWriter } from './jspi-suspension.js';
import { argsI32, argsI64, argsU32 } from '../runtime/exec-state.js';
import { copyIn, nativeFill, nativeMove } from '../runtime/native.js';
import { toJSValue, toWebAssemblyValue, RawValue } from '../runtime/js-values.js';
import { Builtin } from '../compile/abi.js';
import { ValType } from '../decode/types.js';
import { computeJsIncompatible, funcRecordSignature, keepFuncref, readSlot, writeSlot } from './exported-function.js';
import { checkFuncSignature, isFuncFamily } from './typed-refs.js';
import { compileLazy } from './module.js';
import { gcBuiltin } from './gc-builtins.js';
import { builtinThrow, builtinThrowRef } from './exception.js';
import { builtinNotify, builtinWait } from './atomics-wait.js';
import { specialisedImportCaller, type ImportCaller } from './import-callers.js';
import { syncDeferredGrowth } from '../runtime/deferred-growth.js';
import type { InstanceState } from './instance.js';

export interface SegmentState {
  /** 1 for data segments dropped (or already used by an active initialisation). */
  dataDropped: Uint8Array;
  /** Element segment items (raw references); emptied on drop. */
  elemItems: number[][];
}

const TWO32 = 4294967296;

function u32(slot: number): number {
  return argsU32[2 * slot];
}

function u64(slot: number): number {
  return argsU32[2 * slot] + argsU32[2 * slot + 1] * TWO32;
}

function addr(slot: number, index64: boolean): number {
  return index64 ? u64(slot) : u32(slot);
}

/** Result slot 0 as an address-typed value: i64 for i64 memories/tables, else i32 (-1 stays -1). */
function setAddrResult(index64: boolean, v: number): void {
  if (index64) argsI64[0] = BigInt(v);
  else {
    argsI32[0] = v;
    argsI32[1] = 0;
  }
}

// (Module-local copy: an imported constant costs a cell load and a hole check per use in optimised code.)
const BUILTIN_BASE = HOSTCALL_BUILTIN_BASE;

export function makeHostHandler(state: InstanceState): (id: number) => number {
  return (id: number): number => {
    if (id < BUILTIN_BASE) {
      syncDeferredGrowth(); // user code may look at a memory that wasm grew (runtime/deferred-growth.ts)
      return (state.importCallers[id] ?? newImportCaller(state, id))();
    }
    return builtin(state, id);
  };
}

/** Make (and keep in `state.importCallers`) the caller of import `index`; the boundary's fast path calls them too. */
export function newImportCaller(state: InstanceState, index: number): ImportCaller {
  return (state.importCallers[index] = importCaller(state, index));
}

/** The caller of import `index`: specialised to its signature (import-callers.ts) when that has plain numbers. */
function importCaller(state: InstanceState, index: number): ImportCaller {
  const fn = state.hostFuncs[index];
  const type = state.importTypes[index];
  if (typeof fn === 'function' && !(type.jsIncompatible ?? computeJsIncompatible(type))) {
    const results = type.results;
    const slow = (result: unknown): number => {
      if (result === SUSPEND) return suspendImportCall(state, results);
      writeImportResult(state, results, result);
      return 0;
    };
    const c = specialisedImportCaller(fn, type, slow);
    if (c !== null) return c;
  }
  return () => callImport(state, index);
}

function callImport(state: InstanceState, index: number): number {
  const fn = state.hostFuncs[index]!;
  const type = state.importTypes[index];
  const params = type.params;
  if (type.jsIncompatible ?? computeJsIncompatible(type)) throw new TypeError('type incompatibility when transforming from/to JS');
  const args: unknown[] = new Array(params.length);
  for (let k = 0; k < params.length; k++) args[k] = toJSValue(readSlot(k, params[k]), params[k], state);
  const result = Reflect.apply(fn, undefined, args);
  if (result === SUSPEND) return suspendImportCall(state, type.results);
  writeImportResult(state, type.results, result);
  return 0;
}

/**
 * A Suspending import got a promise: its value becomes the call's result when the stack resumes. (A function
 * of its own: a closure in callImport would make every import call allocate its context.)
 */
function suspendImportCall(state: InstanceState, results: readonly ValType[]): number {
  setSuspensionWriter((value) => writeImportResult(state, results, value));
  return SUSPENDED_CODE;
}

/** Convert an imported function's JS result to the import's result types, into the args buffer. */
function writeImportResult(state: InstanceState, results: readonly ValType[], result: unknown): void {
  if (results.length === 1) {
    const raw = toWebAssemblyValue(result, results[0]);
    checkFuncSignature(raw as number, results[0], state.module.compiled.sigIds, funcRecordSignature);
    if (isFuncFamily(results[0])) keepFuncref(state, result);
    writeSlot(0, results[0], raw);
  } else if (results.length > 1) {
    if (result === null || typeof result !== 'object' || typeof (result as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError('multi-value host function must return an iterable');
    }
    const values = Array.from(result as Iterable<unknown>);
    if (values.length !== results.length) throw new TypeError(`multi-value host function returned ${values.length} values, expected ${results.length}`);
    const raws: RawValue[] = values.map((v, k) => toWebAssemblyValue(v, results[k]));
    for (let k = 0; k < raws.length; k++) checkFuncSignature(raws[k] as number, results[k], state.module.compiled.sigIds, funcRecordSignature);
    for (let k = 0; k < raws.length; k++) if (isFuncFamily(results[k])) keepFuncref(state, values[k]);
    for (let k = 0; k < raws.length; k++) writeSlot(k, results[k], raws[k]);
  }
}

function builtin(state: InstanceState, id: number): number {
  const info = state.module.info;
  switch (id) {
    case Builtin.Throw:
      return builtinThrow(state);
    case Builtin.ThrowRef:
      return builtinThrowRef();
    case Builtin.AtomicWait32:
      return builtinWait(state.memories[u32(0)], false);
    case Builtin.AtomicWait64:
      return builtinWait(state.memories[u32(0)], true);
    case Builtin.AtomicNotify:
      return builtinNotify(state.memories[u32(0)]);
    case Builtin.MemoryGrow: {
      const mem = state.memories[u32(0)];
      const delta = addr(1, mem.index64);
      setAddrResult(mem.index64, mem.grow(delta, true));
      return 0;
    }
    case Builtin.MemoryFill: {
      const mem = state.memories[u32(0)];
      const d = addr(1, mem.index64), val = u32(2), n = addr(3, mem.index64);
      if (d + n > mem.byteLength) return TrapCode.MemoryOutOfBounds;
      nativeFill(mem.base + d, val, n);
      return 0;
    }
    case Builtin.MemoryCopy: {
      const dst = state.memories[u32(0)], src = state.memories[u32(1)];
      const d = addr(2, dst.index64), s = addr(3, src.index64), n = addr(4, dst.index64 && src.index64);
      if (d + n > dst.byteLength || s + n > src.byteLength) return TrapCode.MemoryOutOfBounds;
      nativeMove(dst.base + d, src.base + s, n);
      return 0;
    }
    case Builtin.MemoryInit: {
      const seg = u32(0);
      const mem = state.memories[u32(1)];
      const d = addr(2, mem.index64), s = u32(3), n = u32(4);
      const bytes = state.segments.dataDropped[seg] ? EMPTY : info.datas.bytes(seg);
      if (s + n > bytes.length || d + n > mem.byteLength) return TrapCode.MemoryOutOfBounds;
      if (n > 0) copyIn(mem.base + d, bytes.subarray(s, s + n));
      return 0;
    }
    case Builtin.DataDrop:
      state.segments.dataDropped[u32(0)] = 1;
      return 0;
    case Builtin.TableGrow: {
      const t = state.tables[u32(0)];
      const init = u64(1);
      const n = addr(2, t.index64);
      setAddrResult(t.index64, t.grow(n, init));
      return 0;
    }
    case Builtin.TableFill: {
      const t = state.tables[u32(0)];
      const i = addr(1, t.index64), val = u64(2), n = addr(3, t.index64);
      if (i + n > t.length) return TrapCode.TableOutOfBounds;
      t.fill(i, val, n);
      return 0;
    }
    case Builtin.TableCopy: {
      const dst = state.tables[u32(0)], src = state.tables[u32(1)];
      const d = addr(2, dst.index64), s = addr(3, src.index64), n = addr(4, dst.index64 && src.index64);
      if (d + n > dst.length || s + n > src.length) return TrapCode.TableOutOfBounds;
      dst.copy(d, s, n, src);
      return 0;
    }
    case Builtin.TableInit: {
      const seg = u32(0);
      const t = state.tables[u32(1)];
      const d = addr(2, t.index64), s = u32(3), n = u32(4);
      const items = state.segments.elemItems[seg];
      if (s + n > items.length || d + n > t.length) return TrapCode.TableOutOfBounds;
      if (n > 0) t.setMany(d, items.slice(s, s + n));
      return 0;
    }
    case Builtin.ElemDrop:
      state.segments.elemItems[u32(0)] = [];
      return 0;
    case Builtin.LazyCompile:
      compileLazy(state.module, u32(0));
      return 0;
  }
  if (id >= Builtin.GcSubtype) return gcBuiltin(state, id);
  throw new Error(`quickbeam: unknown builtin ${id}`);
}

const EMPTY = new Uint8Array(0);

