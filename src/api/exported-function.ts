// Exported Functions: the JS functions that call into generated code. Arguments are converted first (user
// valueOf code may itself call wasm), then written to the shared args buffer, then the entry trampoline runs.
//
// Also: finding the instance behind a vmctx address (for host calls and funcref values) without any
// registration per instance. A table from addresses to instances would have to hold them weakly, and V8
// keeps every WeakRef target created (or dereferenced) during a job alive until the microtask queue drains,
// which a synchronous loop or a chain of awaits never lets happen: every instance would live until then.
// Instead, the instance of an address is searched for in what is known to hold it strongly: the instances
// whose calls are running (the code making a host call was reached from them through imports, tables and
// globals, all of which they keep alive), and what the value was read from (a table, a global, an instance).

import { FuncType, ValType } from '../decode/types.js';
import { FUNCREC_SIG, FUNCREC_SIZE, FUNCREC_VMCTX } from '../runtime/layout.js';
import { readPtr, readU32 } from '../runtime/native.js';
import { argsF32, argsF64, argsI32, argsI64, argsU32, bitsOf, hostCallImportId, setResumeArgs, setStackEnterArgs, stackResult } from '../runtime/exec-state.js';
import { specialisedWrapper, type Enter } from './export-wrappers.js';
import { enterStack0Fn, enterStackFn, raiseEntryResult, resumeStack0Fn, resumeStackFn, setTraceSymbolizer } from '../runtime/trampolines.js';
import { acquireStack, callStack, releaseStack, type SecondaryStack } from '../runtime/stack-switching.js';
import { drainReleases, pendingReleases, setCallDepthReader, wasmRunning } from '../runtime/lifetime.js';
import { HOSTCALL_BUILTIN_BASE, HOSTCALL_CODE, SUSPENDED_CODE } from '../runtime/layout.js';
import { stackRunning, takeSuspension } from './jspi-suspension.js';
import { armDeadline, cancelDeadline } from '../runtime/interrupts.js';
import { associateFuncRecord, jsToFuncRecord, setFuncRecordResolver } from '../runtime/refs.js';
import { hostcallFromStack, raiseCatchable, setHostResolver, type HostHandler } from '../runtime/host-calls.js';
import { syncDeferredGrowth } from '../runtime/deferred-growth.js';
import { newImportCaller } from './builtins.js';
import { toJSValue, toWebAssemblyValue, RawValue } from '../runtime/js-values.js';
import { Heap, concreteIndex, isRefType, refTop } from '../decode/ref-types.js';
import { checkFuncSignature, isFuncFamily } from './typed-refs.js';
import { TableStorage } from '../runtime/table-storage.js';
import { GlobalCell } from '../runtime/global-cell.js';
import { RuntimeError } from '../errors.js';
import { gcPinnedStates, InstanceState } from './instance-state.js';
import { ModuleInternals, symbolizeModulePc } from './module.js';

/** The instance state an Exported Function belongs to (it keeps it alive). */
const INSTANCE = Symbol('quickbeam.instance');

const TWO32 = 4294967296;

/** The instance state of an Exported Function (undefined for any other value). */
export function stateOfFunction(fn: unknown): InstanceState | undefined {
  return typeof fn === 'function' && jsToFuncRecord(fn) !== undefined ? (fn as { [INSTANCE]?: InstanceState })[INSTANCE] : undefined;
}

// The instances whose calls are running, by nesting depth: running[0 .. depth - 1], innermost last (JS -> wasm ->
// JS -> wasm nests). Slots at and above `depth` are undefined.
const running: Array<InstanceState | undefined> = [];
// vmctx -> instance, found while the outermost call runs (strong; cleared when it returns).
const found = new Map<number, InstanceState>();

/**
 * The live instance whose vmctx is `vmctx`: the innermost running one, or one reachable (through imports,
 * tables, globals and funcrefs received from JS) from `hint` or from the running ones. Undefined when none is.
 */
export function findState(vmctx: number, hint?: unknown): InstanceState | undefined {
  const n = calls.depth;
  const innermost = n > 0 ? running[n - 1] : undefined;
  if (innermost !== undefined && innermost.vmctx === vmctx) return innermost;
  if (InstanceState.is(hint) && hint.vmctx === vmctx) return hint;
  if (n > 0) {
    const s = found.get(vmctx);
    if (s !== undefined) return s;
  }
  const roots: unknown[] = [];
  if (hint !== undefined) roots.push(hint);
  for (let i = n - 1; i >= 0; i--) roots.push(running[i]);
  // A function reference read from a GC object can belong to an instance that only a pinned one holds (see
  // instance.ts: pinned instances keep what they stored): search from those last.
  return search(vmctx, roots, n > 0) ?? gcPinnedStates.get(vmctx) ?? (gcPinnedStates.size > 0 ? search(vmctx, [...gcPinnedStates.values()], n > 0) : undefined);
}

/**
 * Breadth-first search of the instances reachable from `roots` (instances, table storages, global cells) for
 * the one whose vmctx is `vmctx`. It follows only Quickbeam's own objects (never reads a property of a user
 * value, which could run a Proxy's traps): from an instance, its tables, globals, imported wasm functions and
 * funcrefs received from JS; from a table or global, the instances using it and the wasm functions stored in
 * it from JS.
 */
function search(vmctx: number, roots: unknown[], cache: boolean): InstanceState | undefined {
  for (const o of reachableStates(roots)) {
    if (cache) found.set(o.vmctx, o);
    if (o.vmctx === vmctx) return o;
  }
  return undefined;
}

/** The instances reachable from `roots`, breadth-first (roots first; see search). */
function* reachableStates(roots: readonly unknown[]): Generator<InstanceState> {
  const seen = new Set<object>();
  const queue: object[] = [];
  const add = (o: object | undefined): void => {
    if (o !== undefined && !seen.has(o)) {
      seen.add(o);
      queue.push(o);
    }
  };
  /** A value kept by a table or global: an instance, or a wasm function's instance; nothing else. */
  const addKept = (x: unknown): void => {
    if (InstanceState.is(x)) add(x);
    else if (typeof x === 'function' && jsToFuncRecord(x) !== undefined) add(stateOfFunction(x));
  };
  for (const r of roots) {
    if (InstanceState.is(r) || r instanceof TableStorage || r instanceof GlobalCell) add(r);
  }
  for (let q = 0; q < queue.length; q++) {
    const o = queue[q];
    if (InstanceState.is(o)) {
      yield o;
      for (const f of o.importedFuncs) if (f !== undefined) add(stateOfFunction(f));
      for (const t of o.tables) add(t);
      for (const g of o.globals) add(g);
      if (o.refs !== null) for (const f of o.refs) add(stateOfFunction(f));
    } else if (o instanceof TableStorage || o instanceof GlobalCell) {
      for (const x of o.kept()) addKept(x);
    }
  }
}

// Trap backtraces: the code between the innermost entry and the trap belongs to the running instances and to
// what they keep alive (their calls reached it through imports, tables, globals and funcrefs), so each pc
// is named by the first such module whose code holds it; the innermost running instance's module first.
setTraceSymbolizer((trace) => {
  // (Usually every frame is the innermost running instance's: no search.)
  const depth = calls.depth;
  const innermost = depth > 0 ? running[depth - 1] : undefined;
  const modules: ModuleInternals[] = innermost !== undefined ? [innermost.module] : [];
  let states: Generator<InstanceState> | null = null;
  const names: Array<string | null> = [];
  for (const pc of trace) {
    let name: string | null | undefined;
    for (let k = 0; k < modules.length && name === undefined; k++) name = symbolizeModulePc(modules[k], pc);
    while (name === undefined) {
      states ??= reachableStates(running.slice(0, depth).reverse());
      const next = states.next();
      if (next.done === true) break;
      const m = next.value.module;
      if (modules.includes(m)) continue;
      modules.push(m);
      name = symbolizeModulePc(m, pc);
    }
    names.push(name ?? null);
  }
  return names;
});

// Host calls: the handler of the instance whose code makes the call.
setHostResolver((vmctx: number): HostHandler | undefined => findState(vmctx)?.hostHandler ?? undefined);

/**
 * Keep a funcref value that came from JS (a call's argument, an import's result) alive as long as the
 * instance that received it: its code may store the raw record in a table and call it later.
 */
export function keepFuncref(state: InstanceState, fn: unknown): void {
  if (typeof fn !== 'function') return;
  if (stateOfFunction(fn) === state) return;
  (state.refs ??= new Set()).add(fn);
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
  const owner = rec === state.vmctx + state.module.compiled.layout.record(funcIndex) ? state : findState(readPtr(rec + FUNCREC_VMCTX), state);
  if (owner === undefined) throw new Error(`quickbeam: function ${funcIndex} has no live instance`);
  const f = owner === state ? funcIndex : recordIndex(owner, rec);
  return makeCaller(owner, f)(args);
}

function entryStubFor(state: InstanceState, funcIndex: number): number {
  const m = state.module;
  return m.code.addr + m.compiled.entryStubOffsets[m.info.funcTypes[funcIndex]];
}

/**
 * Nesting depth of JS -> wasm calls (deadlines apply to the outermost one; JSPI tells host calls apart by it). A
 * field of a constant object: a module `let` costs a hole check at every use in optimised code.
 */
const calls = { depth: 0 };

/**
 * Most nested JS -> wasm calls (wasm -> JS -> wasm -> ...). Each level takes ~5 KB of V8's stack, which runs out
 * near 170 levels; when it runs out inside koffi's callback entry (rather than in JS), koffi leaves a handle scope
 * open and Node aborts the process. So the nesting stops here first, with the RangeError V8 would throw.
 */
const MAX_NESTED_CALLS = 100;

function tooDeep(): RangeError {
  return new RangeError('Maximum call stack size exceeded');
}
// A call whose wasm is running a host call in JS has no entry active (savedRsp is 0), but its frames still use
// their instances' code and memories.
setCallDepthReader(() => calls.depth);

/** A call into one function: the record's code and vmctx are read once (records never change). */
type Caller = (args: ArrayLike<unknown>) => unknown;

function disposedError(): RuntimeError {
  return new RuntimeError('call to a function of a disposed instance');
}

/** What converting a call's arguments needs to know about the function's parameters (computed once per function). */
interface ParamInfo {
  params: readonly ValType[];
  /** A v128 or exnref param or result: JS cannot call it. */
  jsIncompatible: boolean;
  /** Every parameter takes a JS number directly (no BigInt, no reference): the fast path writes them as is. */
  numeric: boolean;
  funcrefParams: boolean;
  /** (ref null? $t) parameters: the argument's signature is checked. */
  typedParams: boolean;
  sigIds: Int32Array | number[];
}

function paramInfo(state: InstanceState, type: FuncType): ParamInfo {
  const params = type.params;
  let numeric = true;
  let funcrefParams = false;
  let typedParams = false;
  for (const t of params) {
    if (t !== ValType.I32 && t !== ValType.F32 && t !== ValType.F64) numeric = false;
    if (isFuncFamily(t)) funcrefParams = true;
    if (concreteIndex(t) >= 0) typedParams = true;
  }
  const jsIncompatible = type.jsIncompatible ?? computeJsIncompatible(type);
  return { params, jsIncompatible, numeric, funcrefParams, typedParams, sigIds: state.module.compiled.sigIds };
}

/** Convert a call's JS arguments and write them to the args buffer (throws as V8 does before anything runs). */
function prepareArgs(state: InstanceState, p: ParamInfo, args: ArrayLike<unknown>): void {
  if (state.disposed) throw disposedError();
  // v128 and exnref cannot cross the JS boundary: calling such a function from JS throws before anything runs.
  if (p.jsIncompatible) throw new TypeError('type incompatibility when transforming from/to JS');
  const params = p.params;
  const np = params.length;
  let fast = p.numeric;
  if (fast) for (let k = 0; k < np; k++) if (typeof args[k] !== 'number') fast = false;
  if (fast) {
    // Primitive numbers convert without running user code, so they can go straight to the buffer.
    for (let k = 0; k < np; k++) writeSlot(k, params[k], toWebAssemblyValue(args[k], params[k]));
    return;
  }
  // Convert everything first: a valueOf may itself call into wasm and reuse the args buffer.
  const raws: RawValue[] = new Array(np);
  for (let k = 0; k < np; k++) raws[k] = toWebAssemblyValue(args[k], params[k]);
  if (p.typedParams) for (let k = 0; k < np; k++) checkFuncSignature(raws[k] as number, params[k], p.sigIds, funcRecordSignature);
  if (p.funcrefParams) for (let k = 0; k < np; k++) if (isFuncFamily(params[k])) keepFuncref(state, args[k]);
  // A valueOf may have disposed the instance.
  if (state.disposed) throw disposedError();
  writeArgs(params, raws);
}

/** The call's results from the args buffer, as JS values (undefined / value / array). */
function collectResults(state: InstanceState, results: readonly ValType[]): unknown {
  if (results.length === 1) return toJSValue(readSlot(0, results[0]), results[0], state);
  if (results.length === 0) return undefined;
  const rawOut: RawValue[] = [];
  for (let k = 0; k < results.length; k++) rawOut.push(readSlot(k, results[k]));
  return rawOut.map((r, k) => toJSValue(r, results[k], state));
}

/** A caller of function `funcIndex` of `state`, whose FuncRecord lives in the state's vmctx. */
function makeCaller(state: InstanceState, funcIndex: number): Caller {
  return makeCall(state, funcIndex).call;
}

/**
 * The generic caller of function `funcIndex` of `state` and its `enter` (runs the function with the args buffer
 * filled in), which specialised wrappers call directly.
 */
function makeCall(state: InstanceState, funcIndex: number): { call: Caller; enter: Enter; type: FuncType } {
  const type = funcType(state, funcIndex);
  const timeoutMs = state.module.timeoutMs;
  const m = state.module;
  // The entry's arguments as exec-state doubles; the code is what the record pointed at when the instance was
  // created (disposal redirects the record, not this).
  const vmctxBits = state.vmctxBits;
  const stubBits = bitsOf(entryStubFor(state, funcIndex));
  const codeBits = bitsOf(m.code.addr + m.compiled.funcOffsets[funcIndex]);
  const p = paramInfo(state, type);
  const results = type.results;
  // Wasm runs on the secondary stack of this nesting depth, so that its host calls return to JS (cheaper than
  // a koffi callback; runtime/stack-switching-code.ts).
  const enter: Enter = timeoutMs === undefined
    ? (): void => enterOnStack(state, vmctxBits, stubBits, codeBits)
    : (): void => enterWithDeadline(state, vmctxBits, stubBits, codeBits, timeoutMs);
  const call = (args: ArrayLike<unknown>): unknown => {
    prepareArgs(state, p, args);
    enter();
    return collectResults(state, results);
  };
  return { call, enter, type };
}

// The boundary's per-call path. Everything it uses per call is a module-local constant: an imported binding
// costs a cell load, a hole check and (for a function) an identity check per use in optimised code, which was
// ~60 of a call's instructions under dist/src (the bundle's single scope folds them either way).
const stackAt = callStack;
const setEnterArgs = setStackEnterArgs;
const setResume = setResumeArgs;
const enterStack0 = enterStack0Fn;
const resumeStack0 = resumeStack0Fn;
const result = stackResult;
const hostImportId = hostCallImportId;
const syncGrowth = syncDeferredGrowth;
const releasesPending = pendingReleases;
const SUSPENDED = SUSPENDED_CODE;
// (Literals in the per-call code, which a standalone-optimised function would otherwise load and hole-check.)
if (HOSTCALL_CODE !== 0x7fffff02 || HOSTCALL_BUILTIN_BASE !== 0x10000) throw new Error('quickbeam: exported-function.ts literals out of date with layout.ts');

/** The suspender record of each nesting depth's stack as an exec-state double (0: not mapped yet). */
const stackBits = new Float64Array(MAX_NESTED_CALLS);

/**
 * Run function `codeBits` of `state` (through entry stub `stubBits`; arguments in the args buffer) on the
 * secondary stack of this nesting depth, running its host calls as they come. Throws its trap's error or its
 * host exception. (A const: a function declaration's binding is loaded and checked at each inlined call.)
 */
const enterOnStack = (state: InstanceState, vmctxBits: number, stubBits: number, codeBits: number): void => {
  const d = calls.depth;
  if (d >= MAX_NESTED_CALLS) throw tooDeep();
  let bits = stackBits[d];
  if (bits === 0) bits = stackBits[d] = stackAt(d).recordBits;
  calls.depth = d + 1;
  try {
    setEnterArgs(vmctxBits, stubBits, codeBits, bits);
    enterStack0();
    const rc = result();
    if (rc !== 0) afterEntry(state, bits, d, rc);
    else syncGrowth(); // JS runs next: V8 hears of wasm's memory grows (deferred-growth.ts)
  } catch (e) {
    leaveCall(d);
    throw e;
  }
  calls.depth = d;
  if (releasesPending() !== 0 && !wasmRunning()) drainReleases();
};

/**
 * A call at depth `d` whose stack returned `rc` (not 0): run its host calls, then throw its trap's error or host
 * exception, if any. From here JS may run while the call's wasm waits, so the call is in `running` (the innermost
 * instance first of all finds its own host calls' handler and names its frames): `running[0 .. depth - 1]` is set
 * whenever JS runs inside calls, never needed by a call that returns without a host call.
 */
function afterEntry(state: InstanceState, bits: number, d: number, rc: number): void {
  running[d] = state;
  try {
    if (rc === 0x7fffff02) rc = runHostCalls(bits, state, false); // HOSTCALL_CODE
    else syncGrowth();
    // A trap's error is made here, while the running instances can still name its frames.
    if (rc !== 0) raiseEntryResult(rc);
  } finally {
    running[d] = undefined;
    if (d === 0 && found.size !== 0) found.clear();
  }
}

/** The end of a call at depth `d` that threw. */
function leaveCall(d: number): void {
  calls.depth = d;
  running[d] = undefined;
  if (d === 0 && found.size !== 0) found.clear();
  if (releasesPending() !== 0 && !wasmRunning()) drainReleases();
}

/** enterOnStack for a module with a deadline: the outermost call arms the watchdog, which raises the interrupt flag. */
function enterWithDeadline(state: InstanceState, vmctxBits: number, stubBits: number, codeBits: number, timeoutMs: number): void {
  if (calls.depth !== 0) return enterOnStack(state, vmctxBits, stubBits, codeBits);
  armDeadline(timeoutMs);
  try {
    enterOnStack(state, vmctxBits, stubBits, codeBits);
  } finally {
    cancelDeadline();
  }
}

/**
 * While wasm on the stack whose suspender record is `bits` (entered or resumed for `state`'s call) is in a host
 * call, run it and resume the stack with its result. Returns the stack's final code: 0, a trap code, or
 * SUSPENDED_CODE when a host call of a promising call (`maySuspend`) suspended it (the stack stays parked, its
 * frames where they are).
 *
 * The common host call, an import of the instance whose export JS called, goes straight to its caller (made once
 * per import); any other (a builtin, another instance's import, a disposed instance) to host-calls.ts.
 */
function runHostCalls(bits: number, state: InstanceState, maySuspend: boolean): number {
  let rc: number;
  do {
    let code: number;
    const id = hostImportId(state.vmctxBits);
    if (id >= 0) {
      try {
        syncGrowth(); // user code may look at a memory that wasm grew (runtime/deferred-growth.ts)
        code = (state.importCallers[id] ?? newImportCaller(state, id))();
      } catch (e) {
        code = raiseCatchable(e);
      }
    } else {
      code = hostcallFromStack();
    }
    if (maySuspend && code === SUSPENDED) return code;
    setResume(bits, code);
    resumeStack0();
    rc = result();
  } while (rc === 0x7fffff02); // HOSTCALL_CODE
  syncGrowth();
  return rc;
}

/** Suspended stacks whose promise was dropped unsettled: their frames can never run again. */
const abandonedStacks = new FinalizationRegistry<SecondaryStack>((stack) => releaseStack(stack));

/**
 * JSPI: the caller behind `WebAssembly.promising(fn)` for an Exported Function `fn` (undefined for anything
 * else). Each call runs on a secondary stack of its own and returns a promise; while its stack is suspended
 * (a Suspending import waits for a promise) other code runs, and the stack continues from a promise reaction.
 */
export function promisingCaller(fn: unknown): ((args: ArrayLike<unknown>) => Promise<unknown>) | undefined {
  // An Exported Function's record is one of its own instance's (wrapperOf).
  const rec = jsToFuncRecord(fn);
  const state = stateOfFunction(fn);
  if (rec === undefined || state === undefined) return undefined;
  const funcIndex = recordIndex(state, rec);
  const type = funcType(state, funcIndex);
  const entryStub = entryStubFor(state, funcIndex);
  const vmctx = state.vmctx;
  const code = state.module.code.addr + state.module.compiled.funcOffsets[funcIndex];
  const p = paramInfo(state, type);
  const results = type.results;
  return (args) => {
    let stack: SecondaryStack;
    try {
      if (calls.depth >= MAX_NESTED_CALLS) throw tooDeep();
      prepareArgs(state, p, args);
      stack = acquireStack();
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      let token: object | null = null;
      // One run on the stack (the first, or a resumption); settles the promise unless the stack suspends.
      const run = (enterOrResume: () => number): void => {
        const d = calls.depth;
        running[d] = state;
        calls.depth = d + 1;
        stackRunning(1);
        let rc: number;
        let failure: { error: unknown } | null = null;
        try {
          rc = enterOrResume();
          if (rc === HOSTCALL_CODE) rc = runHostCalls(stack.recordBits, state, true);
          else syncGrowth();
          // A trap's error is made here, while the running instances can still name its frames.
          if (rc !== 0 && rc !== SUSPENDED_CODE) {
            try {
              raiseEntryResult(rc);
            } catch (e) {
              failure = { error: e };
            }
          }
        } finally {
          stackRunning(-1);
          calls.depth = d;
          running[d] = undefined;
          if (d === 0 && found.size !== 0) found.clear();
        }
        if (rc === SUSPENDED_CODE) {
          const { promise, write } = takeSuspension();
          // If the promise is dropped without ever settling, nothing can resume the stack: `token` (in this
          // call's scope, which only the pending reactions hold) then lets the registry give the stack back.
          // Registered once per call, at its first suspension.
          if (token === null) {
            token = {};
            abandonedStacks.register(token, stack, token);
          }
          promise.then(
            (value) => {
              let code = 0;
              try {
                write(value);
              } catch (e) {
                code = raiseCatchable(e);
              }
              run(() => resumeStackFn(stack.record, code));
            },
            (reason) => run(() => resumeStackFn(stack.record, raiseCatchable(reason))),
          );
          return;
        }
        if (token !== null) abandonedStacks.unregister(token);
        releaseStack(stack);
        if (pendingReleases() !== 0 && !wasmRunning()) drainReleases();
        if (failure !== null) reject(failure.error);
        else {
          try {
            resolve(collectResults(state, results));
          } catch (e) {
            reject(e);
          }
        }
      };
      run(() => enterStackFn(vmctx, entryStub, code, stack.record));
    });
  };
}

/**
 * Whether a signature has a param or result JS cannot pass (v128, or an exnref of either nullability): calls
 * across the JS boundary throw a TypeError before anything runs (cached on the type object).
 */
export function computeJsIncompatible(type: FuncType): boolean {
  const bad = (t: ValType): boolean => t === ValType.V128 || (isRefType(t) && refTop(t) === Heap.Exn);
  let v = false;
  for (const t of type.params) if (bad(t)) v = true;
  for (const t of type.results) if (bad(t)) v = true;
  (type as { jsIncompatible?: boolean }).jsIncompatible = v;
  return v;
}

/** The function index of a FuncRecord that lives in `state`'s vmctx. */
function recordIndex(state: InstanceState, rec: number): number {
  return (rec - state.vmctx - state.module.compiled.layout.recordsOffset) / FUNCREC_SIZE;
}

/** The Exported Function of function `funcIndex` of `state`, whose record is in its vmctx (one, made on first use). */
function wrapperOf(state: InstanceState, funcIndex: number): Function {
  const existing = state.wrappers[funcIndex];
  if (existing !== undefined) return existing;
  const { call, enter, type } = makeCall(state, funcIndex);
  // A method, as V8's exported functions are not constructors and have no `prototype`; its name comes from
  // the key (cheaper than defining it: a third of the cost of an export). Plain-number signatures get a wrapper
  // specialised to them (export-wrappers.ts); others take a rest parameter, so only functions with parameters
  // define `length`.
  const key = String(funcIndex);
  let fn = specialisedWrapper(key, type, state, enter, call);
  if (fn === null) {
    fn = { [key](...args: unknown[]): unknown { return call(args); } }[key];
    if (type.params.length !== 0) Object.defineProperty(fn, 'length', { value: type.params.length });
  }
  // The owning instance (its vmctx holds the record and the code's data) lives as long as the function.
  (fn as unknown as { [INSTANCE]: InstanceState })[INSTANCE] = state;
  state.wrappers[funcIndex] = fn;
  associateFuncRecord(fn, state.vmctx + state.module.compiled.layout.record(funcIndex));
  return fn;
}

/**
 * The Exported Function of a FuncRecord (one per record, created on first use), found through `hint` (what
 * the record was read from) or the running calls; undefined when its instance cannot be found.
 */
export function wrapperForRecord(rec: number, hint?: unknown): Function | undefined {
  const vmctx = readPtr(rec + FUNCREC_VMCTX);
  const state = findState(vmctx, hint);
  if (state === undefined) return undefined;
  return wrapperOf(state, recordIndex(state, rec));
}

export function makeExportedFunction(state: InstanceState, funcIndex: number): Function {
  // An imported wasm function is exported as the very function that was imported.
  const imported = state.importedFuncs[funcIndex];
  if (imported !== undefined) return imported;
  return wrapperOf(state, funcIndex);
}

setFuncRecordResolver((addr, hint) => wrapperForRecord(addr, hint));
