// WebAssembly.Instance: links imports, builds the instance context (vmctx) the generated code runs
// against, initialises globals, tables and memories, and runs the start function.
//
// Ownership (see docs/ARCHITECTURE.md): the vmctx is an ArrayBuffer owned by the InstanceState, which the
// Instance object, its Exported Functions and every table or global that may hold its funcrefs keep alive;
// the GC frees it with no finalizer. Nothing is registered per instance: host calls and funcref values find
// their instance through what holds it (exported-function.ts).

import { ConstExpr, ConstOp, ExternKind, FuncType, SegmentMode, ValType } from '../decode/types.js';
import { Tag, isTag, makeTag, tagKey } from './tag.js';
import { noteExnrefStorage } from './exception.js';
import { LinkError } from '../errors.js';
import {
  FUNCREC_CODE, FUNCREC_REG_CODE, FUNCREC_SIG, FUNCREC_SIZE, FUNCREC_VMCTX, TrapCode, VMCTX_CODE_SLOTS, VMCTX_EXEC, VMCTX_HOSTCALL, VMCTX_INTERRUPTS, VMCTX_TRAP_HANDLER,
} from '../runtime/layout.js';
import { interruptBlockAddr } from '../runtime/interrupts.js';
import { allocBlock, lastBlockAddress, putU64 } from '../runtime/small-blocks.js';
import { disposedFuncAddr, hostcallEntryAddr, trapError, trapHandlerAddr } from '../runtime/trampolines.js';
import { suspendingImport } from './jspi.js';
import { isModuleDescriptor, moduleFromDescriptor } from './module-transfer.js';
import { bitsOf, execStateAddr } from '../runtime/exec-state.js';
import { LinearMemory } from '../runtime/linear-memory.js';
import { TableStorage } from '../runtime/table-storage.js';
import { GlobalCell } from '../runtime/global-cell.js';
import { DISPOSE, releaseWhenIdle } from '../runtime/lifetime.js';
import { jsToFuncRecord, externToId } from '../runtime/refs.js';
import { readCellRaw, writeCellRaw, RawValue, toWebAssemblyValue } from '../runtime/js-values.js';
import { Heap, isRefType, isSubtype, refTop } from '../decode/ref-types.js';
import { canonicalType } from '../compile/signatures.js';
import { isCanonSubtype, mayHoldGcObject } from '../decode/gc-types.js';
import { gcCollectIfDue, rttOf } from '../runtime/gc-heap.js';
import { registerRootWords } from '../runtime/gc-roots.js';
import { constArrayNew, constStructNew } from './gc-builtins.js';
import { dropModuleHold, holdModule, Module, moduleInternals, ModuleInternals } from './module.js';
import { adoptMemory, getLinearMemory, isMemoryDisposed, memoryFromRuntime, Memory } from './memory.js';
import { getTableStorage, tableFromRuntime, Table } from './table.js';
import { getGlobalCell, globalFromCell as globalFromRuntime, Global } from './global.js';
import { makeExportedFunction, funcRecordSignature, callExport } from './exported-function.js';
import { gcPinnedStates, InstanceState } from './instance-state.js';
import { makeHostHandler, SegmentState } from './builtins.js';
import { webIdlInterface } from './webidl.js';

export { InstanceState };

export class Instance {
  readonly #exports: Record<string, unknown>;

  /** As in V8, a getter on the prototype (an instance has no own properties). */
  get exports(): Record<string, unknown> {
    return this.#exports;
  }

  constructor(module: Module, importObject?: unknown) {
    if (!new.target) throw new TypeError("WebAssembly.Instance must be invoked with 'new'");
    // A module that crossed to this thread by postMessage arrives as its descriptor (quickbeam/register turns
    // Modules in messages to Workers into descriptors: Emscripten's pthread glue posts the Module itself).
    const m = moduleInternals(isModuleDescriptor(module) ? moduleFromDescriptor(module) : module, 'WebAssembly.Instance()');
    const state = link(m, importObject);
    holdModule(m); // (until disposed: see dropModuleHold)
    if (gcObjectsMayHoldFuncRefs(m)) gcPinnedStates.set(state.vmctx, state);
    this.#exports = buildExports(state);
    // The state must live as long as anything can reach its code: exports, tables and funcrefs hold it.
    (this as unknown as { [STATE]: InstanceState })[STATE] = state;
    initialize(state);
  }

  /**
   * Deterministic release (explicit resource management: `using instance = ...`). From now on calling any
   * of its functions throws (from JS, and from wasm through tables, globals or imports that hold them),
   * and its memories are released once nothing else holds them (see LinearMemory.dropHolder). Memory the
   * generated code may still touch is released only when the outermost running call returns. Idempotent.
   */
  [DISPOSE](): void {
    disposeInstance((this as unknown as { [STATE]: InstanceState })[STATE]);
  }
}

const STATE = Symbol('quickbeam.instance');

// A function reference stored in a GC object is the address of a FuncRecord in its instance's vmctx, and the
// collector does not trace it to that instance: an object could outlive the instance and call freed code. So
// an instance whose module has struct or array types with fields in the func hierarchy is kept for the life of
// the thread in gcPinnedStates, where host calls of its code also find it (disposal still makes its functions
// throw; the records stay readable). Functions of other instances it can store come through its imports,
// tables and globals (which it holds) or from JS (its `refs`): pinned with it. A leak for modules that
// instantiate such types in a loop, until the collector keeps the instances behind the references it marks.
function gcObjectsMayHoldFuncRefs(m: ModuleInternals): boolean {
  if (m.gcFuncRefFields !== undefined) return m.gcFuncRefFields;
  let found = false;
  for (const t of m.info.types) {
    if ((t.kind ?? 0) === 0 || t.fields === undefined) continue;
    for (const f of t.fields) if (isRefType(f.type) && refTop(f.type) === Heap.Func) found = true;
  }
  m.gcFuncRefFields = found;
  return found;
}

/** dataDropped of every module without data segments (V8 makes a zero-length typed array slowly, ~0.2 us). */
const NO_DATA = new Uint8Array(0);

Object.defineProperty(Instance.prototype, Symbol.toStringTag, { value: 'WebAssembly.Instance', configurable: true });
webIdlInterface(Instance, 1, ['exports']);
Object.defineProperty(Instance.prototype, 'exports', { enumerable: true }); // (V8's accessor is enumerable)

/** The state behind an Instance (internal; tests). */
export function instanceState(instance: Instance): InstanceState {
  return (instance as unknown as { [STATE]: InstanceState })[STATE];
}

function disposeInstance(state: InstanceState): void {
  if (state.disposed) return;
  state.disposed = true;
  // Every FuncRecord in the vmctx now leads to the runtime's "disposed" stub: wasm code of other instances
  // calling one (an import, a table entry, a funcref global) gets a RuntimeError instead of running it.
  // The vmctx itself stays valid (the stub reads it) for as long as anything refers to the instance.
  const L = state.module.compiled.layout;
  for (let f = 0; f < state.funcRecords.length; f++) {
    const own = state.vmctx + L.record(f);
    if (state.funcRecords[f] !== own) continue;
    putU64(state.vmctxWords, L.record(f) + FUNCREC_CODE, disposedFuncAddr);
    putU64(state.vmctxWords, L.record(f) + FUNCREC_REG_CODE, disposedFuncAddr); // (it reads no argument)
  }
  const memories = state.memories;
  // A pinned instance (GC objects may hold function references it stored) keeps what it holds: those references
  // may be other instances' functions, which only its imports, tables, globals and refs keep alive.
  const pinned = gcPinnedStates.get(state.vmctx) === state;
  releaseWhenIdle(() => {
    for (const mem of memories) mem.dropHolder();
    dropModuleHold(state.module);
    state.memories = [];
    if (pinned) return;
    // What only this instance used becomes garbage now, even while the state stays referenced.
    state.tables = [];
    state.globals = [];
    state.hostFuncs = [];
    state.importedFuncs = [];
    state.keepAlive = [];
    state.refs = null;
  });
}

function getImport(importObject: unknown, module: string, name: string): unknown {
  const ns = (importObject as Record<string, unknown>)[module];
  if (ns === null || (typeof ns !== 'object' && typeof ns !== 'function')) {
    throw new TypeError(`WebAssembly.Instance(): Import #0 "${module}": module is not an object or function`);
  }
  return (ns as Record<string, unknown>)[name];
}

function limitsMatch(curMin: number, curMax: number | null, min: number, max: number | null): boolean {
  if (curMin < min) return false;
  if (max !== null) {
    if (curMax === null || curMax > max) return false;
  }
  return true;
}

function link(m: ModuleInternals, importObject: unknown): InstanceState {
  const info = m.info;
  const c = m.compiled;
  if (info.imports.length > 0 && (importObject === undefined || importObject === null || typeof importObject !== 'object')) {
    throw new TypeError('WebAssembly.Instance(): Imports argument must be present and must be an object');
  }
  const L = c.layout;
  const words = allocBlock(L.size);
  const vmctx = lastBlockAddress();
  const put = (offset: number, v: number): void => putU64(words, offset, v);
  put(VMCTX_EXEC, execStateAddr);
  put(VMCTX_HOSTCALL, hostcallEntryAddr);
  put(VMCTX_TRAP_HANDLER, trapHandlerAddr);
  put(VMCTX_INTERRUPTS, interruptBlockAddr);
  put(VMCTX_CODE_SLOTS, m.codeSlots);
  // The signature table: call_indirect compares a FuncRecord's signature id with the one of its type index here.
  const sigWord = L.sigsOffset >>> 2;
  for (let t = 0; t < c.sigIds.length; t++) words[sigWord + t] = c.sigIds[t];
  // GC: the RTT of each struct and array type (casts compare these, allocation stores them in headers).
  if (L.rttsOffset < L.size) for (let t = 0; t < info.types.length; t++) if ((info.types[t].kind ?? 0) !== 0) put(L.rtt(t), rttOf(c.sigIds[t], info.types[t]));
  const state = new InstanceState(m, vmctx, bitsOf(vmctx), words, { dataDropped: info.datas.count === 0 ? NO_DATA : new Uint8Array(info.datas.count), elemItems: [] });
  let funcIdx = 0, tableIdx = 0, memIdx = 0, globalIdx = 0;
  for (let i = 0; i < info.imports.length; i++) {
    const imp = info.imports[i];
    const v = getImport(importObject, imp.module, imp.name);
    const where = `Import #${i} "${imp.module}" "${imp.name}"`;
    switch (imp.kind) {
      case ExternKind.Func: {
        // A WebAssembly.Suspending (JSPI) imports as a JS function that may suspend.
        const fn = suspendingImport(v) ?? v;
        if (typeof fn !== 'function') throw new LinkError(`${where}: function import requires a callable`);
        const type = info.types[imp.typeIndex];
        const sig = c.sigIds[imp.typeIndex];
        const f = funcIdx++;
        const existing = jsToFuncRecord(v);
        let rec: number;
        if (existing !== undefined) {
          if (!isCanonSubtype(funcRecordSignature(existing), sig)) throw new LinkError(`${where}: imported function does not match the expected type`);
          rec = existing;
          state.hostFuncs.push(undefined);
          state.importedFuncs[f] = fn;
        } else {
          rec = vmctx + L.record(f);
          put(L.record(f) + FUNCREC_CODE, m.code.addr + c.funcOffsets[f]);
          put(L.record(f) + FUNCREC_REG_CODE, m.code.addr + c.regEntryOffsets[f]);
          put(L.record(f) + FUNCREC_VMCTX, vmctx);
          words[(L.record(f) + FUNCREC_SIG) >>> 2] = sig;
          state.hostFuncs.push(fn);
        }
        state.importTypes.push(type);
        state.funcRecords.push(rec);
        state.keepAlive.push(v);
        break;
      }
      case ExternKind.Table: {
        if (!(v instanceof Table)) throw new LinkError(`${where}: table import requires a WebAssembly.Table`);
        const t = getTableStorage(v);
        const tt = imp.table!;
        // element types must be equal (tables are read and written): compared as process-wide type numbers
        if (t.elemType !== canonicalType(tt.elemType, info.types) || t.index64 !== tt.index64 || !limitsMatch(t.length, t.maximum, tt.min, tt.max)) {
          throw new LinkError(`${where}: table import has an incompatible type or size`);
        }
        put(L.table(tableIdx++), t.desc);
        state.tables.push(t);
        state.keepAlive.push(v);
        break;
      }
      case ExternKind.Memory: {
        // (an engine shared memory, e.g. one posted from another thread, becomes a Memory: adoptMemory)
        const mv = adoptMemory(v);
        if (mv === null) throw new LinkError(`${where}: memory import must be a WebAssembly.Memory object`);
        const lm = getLinearMemory(mv);
        const mt = imp.memory!;
        if (isMemoryDisposed(mv)) throw new LinkError(`${where}: memory import has been disposed`);
        if (lm.shared !== mt.shared) throw new LinkError(`${where}: mismatch in shared state of memory declaration and import`);
        if (lm.index64 !== mt.index64 || !limitsMatch(lm.pages, lm.maximumKnown ? lm.maximum : mt.max, mt.min, mt.max)) {
          throw new LinkError(`${where}: memory import has an incompatible type or size`);
        }
        put(L.memBase(memIdx), lm.base);
        put(L.memDesc(memIdx), lm.desc);
        memIdx++;
        state.memories.push(lm);
        state.keepAlive.push(mv);
        break;
      }
      case ExternKind.Global: {
        const gt = imp.global!;
        let cell: GlobalCell;
        if (v instanceof Global) {
          cell = getGlobalCell(v);
          // a mutable global's type must be equal, an immutable one's a subtype (process-wide type numbers)
          const want = canonicalType(gt.type, info.types);
          const typeOk = gt.mutable ? cell.type === want : isSubtype(cell.type, want, null);
          if (!typeOk || cell.mutable !== gt.mutable) throw new LinkError(`${where}: imported global does not match the expected type`);
          state.keepAlive.push(v);
        } else {
          if (gt.mutable) throw new LinkError(`${where}: imported mutable global must be a WebAssembly.Global object`);
          if (gt.type === ValType.I64 && typeof v !== 'bigint') throw new LinkError(`${where}: global import must be a BigInt`);
          if ((gt.type === ValType.I32 || gt.type === ValType.F32 || gt.type === ValType.F64) && typeof v !== 'number') {
            throw new LinkError(`${where}: global import must be a number`);
          }
          if (gt.type === ValType.V128) throw new LinkError(`${where}: v128 globals cannot be imported from JS`);
          cell = GlobalCell.allocate(canonicalType(gt.type, info.types), false);
          writeCellRaw(cell, jsToRaw(v, gt.type, where));
          cell.keep(v); // a funcref's instance lives as long as the cell that holds its record
        }
        put(L.global(globalIdx++), cell.addr);
        state.globals.push(cell);
        break;
      }
      case ExternKind.Tag: {
        if (!isTag(v)) throw new LinkError(`${where}: tag import requires a WebAssembly.Tag`);
        if (tagKey(v) !== info.types[imp.typeIndex].key) throw new LinkError(`${where}: imported tag does not match the expected type`);
        state.tags.push(v);
        break;
      }
    }
  }
  noteExnrefStorage(info);
  // Defined tags: new identities per instance.
  const tagTypes = info.tags ?? [];
  for (let i = info.numImportedTags ?? 0; i < tagTypes.length; i++) state.tags.push(makeTag(info.types[tagTypes[i]].params, info.types[tagTypes[i]].key));
  // Defined functions, then the function table: tight loops over words (a module may define 100,000 functions,
  // and this runs once per instance, mostly before V8 has optimised it).
  fillFuncRecords(state, words, vmctx, m.code.addr);
  const funcRecords = state.funcRecords;
  for (let f = 0, w = L.funcsOffset >>> 2; f < funcRecords.length; f++, w += 2) {
    const rec = funcRecords[f];
    const lo = rec >>> 0;
    words[w] = lo;
    words[w + 1] = (rec - lo) / 4294967296;
  }
  // Defined memories and tables.
  // (Trusted mode keeps V8 memories: their guard regions make a stray access fault rather than reach other memory.)
  const exported = info.memories.length === info.numImportedMemories ? 0 : c.boundsChecks ? exportedMemories(m) : -1;
  for (let i = info.numImportedMemories; i < info.memories.length; i++) {
    const mt = info.memories[i];
    // Held by this instance (one holder: see LinearMemory.dropHolder).
    // A memory the module does not export is private: no JS can reach it (the cheapest kind to create); never a
    // shared one (V8's shared memory, which other threads map).
    const lm = new LinearMemory({
      initial: mt.min, maximum: mt.max, index64: mt.index64, shared: mt.shared, private: (exported & (1 << Math.min(i, 31))) === 0,
    });
    put(L.memBase(i), lm.base);
    put(L.memDesc(i), lm.desc);
    state.memories.push(lm);
  }
  // Constant expressions below may allocate GC objects but never collect (what they made so far is only in JS
  // variables): collect now if the heap is due for it.
  if (L.rttsOffset < L.size) gcCollectIfDue();
  for (let i = info.numImportedTables; i < info.tables.length; i++) {
    const tt = info.tables[i];
    // Wasm 3.0 initialisers may read imported globals and take function references (both set up by now).
    const init = tt.init ? Number(evalConst(state, tt.init, tt.elemType)) : undefined;
    const t = new TableStorage({ elemType: canonicalType(tt.elemType, info.types), initial: tt.min, maximum: tt.max, index64: tt.index64, init });
    put(L.table(i), t.desc);
    state.tables.push(t);
  }
  // Defined globals (initialisers may read earlier globals and take function references).
  for (let i = info.numImportedGlobals; i < info.globals.length; i++) {
    const gt = info.globals[i];
    const cell = GlobalCell.allocate(canonicalType(gt.type, info.types), gt.mutable);
    writeCellRaw(cell, evalConst(state, info.globalInits[i - info.numImportedGlobals], gt.type));
    put(L.global(i), cell.addr);
    state.globals.push(cell);
  }
  // Element segment items are evaluated now (they may reference functions and globals); `ref.func f`, nearly all
  // of them (a function table), without the interpreter.
  let gcItems = false;
  for (const seg of info.elems) {
    const items = seg.items;
    const values = new Array<number>(items.length);
    for (let k = 0; k < items.length; k++) {
      const e = items[k];
      values[k] = e.length === 1 && e[0].op === ConstOp.RefFunc ? funcRecords[e[0].value as number] : Number(evalConst(state, e, seg.elemType));
    }
    state.segments.elemItems.push(values);
    if (mayHoldGcObject(seg.elemType)) gcItems = true;
  }
  // Items that may be GC objects are roots until their segment is dropped (the segment state is the token).
  if (gcItems) registerRootWords(state.segments, { u32: null, count: 0, lists: state.segments.elemItems });
  state.hostHandler = makeHostHandler(state);
  // (Sized up front: the boundary's optimised code reading a caller past the array's end would deoptimise.)
  state.importCallers = new Array<(() => number) | undefined>(info.numImportedFuncs).fill(undefined);
  // Tables and globals this instance uses may come to hold its funcrefs: they keep it alive.
  for (const t of state.tables) t.keep(state);
  for (const g of state.globals) g.keep(state);
  // Every imported memory has one more holder (linking cannot fail any more).
  for (let i = 0; i < info.numImportedMemories; i++) state.memories[i].addHolder();
  return state;
}

/**
 * The FuncRecords (memory entry, vmctx, signature id, register entry) of the defined functions, appended to
 * state.funcRecords.
 */
function fillFuncRecords(state: InstanceState, words: Uint32Array, vmctx: number, codeAddr: number): void {
  const m = state.module;
  const info = m.info, c = m.compiled, L = c.layout;
  const first = info.numImportedFuncs, n = info.funcTypes.length;
  if (first >= n) return;
  const offsets = c.funcOffsets, regOffsets = c.regEntryOffsets, sigIds = c.sigIds, funcTypes = info.funcTypes, funcRecords = state.funcRecords;
  const vmLo = vmctx >>> 0, vmHi = (vmctx - vmLo) / 4294967296;
  const stride = FUNCREC_SIZE >>> 2;
  let r = L.record(first);
  for (let f = first, w = r >>> 2; f < n; f++, w += stride, r += FUNCREC_SIZE) {
    const code = codeAddr + offsets[f];
    const lo = code >>> 0;
    words[w + (FUNCREC_CODE >>> 2)] = lo;
    words[w + (FUNCREC_CODE >>> 2) + 1] = (code - lo) / 4294967296;
    words[w + (FUNCREC_VMCTX >>> 2)] = vmLo;
    words[w + (FUNCREC_VMCTX >>> 2) + 1] = vmHi;
    words[w + (FUNCREC_SIG >>> 2)] = sigIds[funcTypes[f]];
    const regCode = codeAddr + regOffsets[f];
    const regLo = regCode >>> 0;
    words[w + (FUNCREC_REG_CODE >>> 2)] = regLo;
    words[w + (FUNCREC_REG_CODE >>> 2) + 1] = (regCode - regLo) / 4294967296;
    funcRecords.push(vmctx + r);
  }
}

/**
 * Bit i set: memory i is exported (i >= 31 share bit 31, which is then set when any of them is: a memory
 * counted as exported is merely not private).
 */
function exportedMemories(m: ModuleInternals): number {
  if (m.exportedMemories !== undefined) return m.exportedMemories;
  let bits = 0;
  for (const e of m.info.exports) if (e.kind === ExternKind.Memory) bits |= 1 << Math.min(e.index, 31);
  m.exportedMemories = bits;
  return bits;
}

function jsToRaw(v: unknown, t: ValType, where: string): RawValue {
  switch (t) {
    case ValType.I32: return (v as number) | 0;
    case ValType.I64: return BigInt.asIntN(64, v as bigint);
    case ValType.F32: return Math.fround(v as number);
    case ValType.F64: return v as number;
    case ValType.ExternRef: return externToId(v);
    case ValType.FuncRef: {
      if (v === null) return 0;
      const rec = jsToFuncRecord(v);
      if (rec === undefined) throw new LinkError(`${where}: funcref global import must be a wasm function or null`);
      return rec;
    }
  }
  if (isRefType(t)) {
    try {
      return toWebAssemblyValue(v, t);
    } catch (e) {
      if (e instanceof TypeError) throw new LinkError(`${where}: global import does not fit its reference type: ${e.message}`);
      throw e;
    }
  }
  throw new LinkError(`${where}: unsupported global type`);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** Evaluate a constant expression to a raw value of type t. */
export function evalConst(state: InstanceState, expr: ConstExpr, t: ValType): RawValue {
  const info = state.module.info;
  const stack: RawValue[] = [];
  for (const ins of expr) {
    switch (ins.op) {
      case ConstOp.I32Const: stack.push(Number(ins.value) | 0); break;
      case ConstOp.I64Const: stack.push(BigInt.asIntN(64, BigInt(ins.value))); break;
      case ConstOp.F32Const: u32[0] = Number(ins.value); stack.push(f32[0]); break;
      case ConstOp.F64Const: u64[0] = BigInt(ins.value); stack.push(f64[0]); break;
      case ConstOp.GlobalGet: stack.push(readCellRaw(state.globals[Number(ins.value)])); break;
      case ConstOp.V128Const: stack.push(BigInt(ins.value)); break;
      case ConstOp.RefNull: stack.push(0); break;
      case ConstOp.RefFunc: stack.push(state.funcRecords[Number(ins.value)]); break;
      case ConstOp.I32Add: { const b = stack.pop() as number, a = stack.pop() as number; stack.push((a + b) | 0); break; }
      case ConstOp.I32Sub: { const b = stack.pop() as number, a = stack.pop() as number; stack.push((a - b) | 0); break; }
      case ConstOp.I32Mul: { const b = stack.pop() as number, a = stack.pop() as number; stack.push(Math.imul(a, b)); break; }
      case ConstOp.I64Add: { const b = stack.pop() as bigint, a = stack.pop() as bigint; stack.push(BigInt.asIntN(64, a + b)); break; }
      case ConstOp.I64Sub: { const b = stack.pop() as bigint, a = stack.pop() as bigint; stack.push(BigInt.asIntN(64, a - b)); break; }
      case ConstOp.I64Mul: { const b = stack.pop() as bigint, a = stack.pop() as bigint; stack.push(BigInt.asIntN(64, a * b)); break; }
      case ConstOp.RefI31: stack.push((((stack.pop() as number) << 1) | 1) >>> 0); break;
      case ConstOp.AnyConvertExtern: case ConstOp.ExternConvertAny: break; // the same word
      case ConstOp.StructNew: {
        const n = info.types[Number(ins.value)].fields!.length;
        stack.push(constStructNew(state, Number(ins.value), stack.splice(stack.length - n, n)));
        break;
      }
      case ConstOp.StructNewDefault: stack.push(constStructNew(state, Number(ins.value), null)); break;
      case ConstOp.ArrayNew: {
        const n = (stack.pop() as number) >>> 0;
        stack.push(constArrayNew(state, Number(ins.value), n, null, stack.pop()!));
        break;
      }
      case ConstOp.ArrayNewDefault: stack.push(constArrayNew(state, Number(ins.value), (stack.pop() as number) >>> 0, null, null)); break;
      case ConstOp.ArrayNewFixed: {
        const n = ins.arg ?? 0;
        stack.push(constArrayNew(state, Number(ins.value), n, stack.splice(stack.length - n, n), null));
        break;
      }
    }
  }
  const v = stack.pop();
  if (v === undefined) return t === ValType.I64 ? 0n : 0;
  return v;
}

/** Offsets of active segments: i32 or i64 values as Numbers (exact below 2^53; larger ones are out of bounds anyway). */
function offsetValue(v: RawValue): number {
  if (typeof v === 'bigint') return Number(BigInt.asUintN(64, v));
  return v >>> 0;
}

function initialize(state: InstanceState): void {
  const info = state.module.info;
  // Active element segments, then active data segments, in order; a failure traps (the instance is unusable).
  for (let i = 0; i < info.elems.length; i++) {
    const seg = info.elems[i];
    if (seg.mode === SegmentMode.Active) {
      const table = state.tables[seg.table];
      const offset = offsetValue(evalConst(state, seg.offset!, table.index64 ? ValType.I64 : ValType.I32));
      const items = state.segments.elemItems[i];
      if (offset + items.length > table.length) throw trapError(TrapCode.TableOutOfBounds);
      table.setMany(offset, items);
    }
    if (seg.mode !== SegmentMode.Passive) state.segments.elemItems[i] = [];
  }
  const datas = info.datas;
  // One view per memory for all its segments (no memory grows before the start function).
  const targets: Array<Uint8Array | null> = state.memories.map(() => null);
  const sizes = state.memories.map((mem) => mem.byteLength);
  for (let i = 0; i < datas.count; i++) {
    if (datas.mode(i) !== SegmentMode.Active) continue;
    const m = datas.memory(i);
    const mem = state.memories[m];
    const c = datas.constOffset(i);
    const offset = c !== undefined ? (mem.index64 ? c : c >>> 0) : offsetValue(evalConst(state, datas.offsetExpr(i)!, mem.index64 ? ValType.I64 : ValType.I32));
    const length = datas.length(i);
    if (offset + length > sizes[m]) throw trapError(TrapCode.MemoryOutOfBounds);
    if (length !== 0) targets[m] = mem.writePiece(targets[m], offset, datas.moduleBytes, datas.start(i), length);
    state.segments.dataDropped[i] = 1;
  }
  if (info.start !== null) callExport(state, info.start, []);
}

function buildExports(state: InstanceState): Record<string, unknown> {
  const info = state.module.info;
  // Null prototype as V8's, but made from {}: Object.create(null) makes a dictionary-mode object, whose every
  // `exports.f` load in a loop costs a generic property lookup (~60 instructions per call; BENCHMARKS.md section 4).
  const exports: Record<string, unknown> = {};
  Object.setPrototypeOf(exports, null);
  for (const e of info.exports) {
    switch (e.kind) {
      case ExternKind.Func:
        exports[e.name] = makeExportedFunction(state, e.index);
        break;
      case ExternKind.Memory:
        exports[e.name] = memoryFromRuntime(state.memories[e.index]);
        break;
      case ExternKind.Table:
        exports[e.name] = tableFromRuntime(state.tables[e.index]);
        break;
      case ExternKind.Global:
        exports[e.name] = globalFromRuntime(state.globals[e.index]);
        break;
      case ExternKind.Tag:
        exports[e.name] = state.tags[e.index];
        break;
    }
  }
  return Object.freeze(exports);
}

