// The one universal host-call callback: `int32_t hostcall(int64_t vmctx, int32_t id)`.
//
// Generated code calls it (rsp 16-byte aligned!) with the calling instance's vmctx and an id: an import
// index, or a builtin id >= HOSTCALL_BUILTIN_BASE. Arguments and results travel through the args buffer.
// The callback finds the handler of that vmctx and returns its result: 0, or a trap code.
// A JS exception thrown by the handler is caught here (koffi would swallow it), kept as the pending
// exception, and reported as TrapCode.HostException; the entry (callWasm) then rethrows it unchanged.
//
// Finding the handler registers nothing per instance: instances are found by the resolver that the JS API
// installs (api/exported-function.ts), which searches what the running calls hold strongly. A registration
// table would have to hold instances weakly, and a WeakRef keeps its target alive until the microtask queue
// drains, which a synchronous loop or a loop of awaits never lets happen. Explicit registrations
// (`registerHostHandler`, for tests and hand-made contexts) are looked up first.

import { HOSTCALL_BUILTIN_BASE, HOSTCALL_DISPOSED, TrapCode } from './layout.js';
import { koffi } from './native.js';
import { RuntimeError, isMarkedTrap, markTrap } from '../errors.js';

/** A host-call handler: returns 0 on success or a trap code. May throw (reported as HostException). */
export type HostHandler = (id: number) => number;

/** Finds the handler of an instance context (undefined when none is known). */
export type HostResolver = (vmctx: number) => HostHandler | undefined;

// Strong: only for explicit registrations (tests, hand-made contexts), which unregister themselves.
const handlers = new Map<number, HostHandler>();
let resolver: HostResolver | null = null;

let pendingSet = false;
let pendingValue: unknown = undefined;
/**
 * Exception handling: whether the pending exception may be caught by wasm handlers (runtime/unwind.ts). True for
 * a value thrown by an imported JS function or by `throw`/`throw_ref`; false for traps (marked uncatchable when
 * made, so a trap rethrown by JS into wasm stays uncatchable, as in V8) and for failures of other builtins.
 */
let pendingCatchable = false;
const uncatchable = new WeakSet<object>();

/** Mark an error (a trap's RuntimeError/RangeError) so that no wasm handler ever catches it. */
export function markUncatchable(e: unknown): void {
  if (e instanceof RuntimeError) markTrap(e);
  else if (typeof e === 'object' && e !== null) uncatchable.add(e);
}

/**
 * Whether wasm handlers may catch `e`: everything but traps and, as in V8 (which marks the error it makes for a
 * stack overflow), JS stack overflows (recognised by class and message: the engine's own error has no other mark).
 */
export function isCatchable(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return true;
  if (isMarkedTrap(e) || uncatchable.has(e)) return false;
  return !(e instanceof RangeError && e.message === 'Maximum call stack size exceeded');
}

/** Raise `value` as a catchable exception (the throw builtins): returns the HostException code to hand back. */
export function raiseCatchable(value: unknown): number {
  pendingSet = true;
  pendingValue = value;
  pendingCatchable = isCatchable(value);
  return TrapCode.HostException;
}

/** The pending exception if wasm may catch it (for the unwinder), without taking it. */
export function peekCatchable(): { value: unknown } | null {
  return pendingSet && pendingCatchable ? { value: pendingValue } : null;
}

function hostcall(vmctx: number | bigint, id: number): number {
  const key = typeof vmctx === 'bigint' ? Number(vmctx) : vmctx;
  try {
    if (id === HOSTCALL_DISPOSED) throw new RuntimeError('call to a function of a disposed instance');
    const h = handlers.get(key) ?? resolver?.(key);
    if (h === undefined) throw new Error(`quickbeam: host call ${id} from an unknown instance context 0x${key.toString(16)}`);
    const r = h(id);
    return typeof r === 'number' ? r | 0 : 0;
  } catch (e) {
    pendingSet = true;
    pendingValue = e;
    // Only what an imported JS function throws may be caught by wasm; builtins' failures are errors.
    pendingCatchable = id < HOSTCALL_BUILTIN_BASE && isCatchable(e);
    return TrapCode.HostException;
  }
}

// JSPI: a host call may suspend when it came straight from wasm running on a promising call's secondary stack
// (runtime/stack-switching-code.ts calls hostcallFromStack then) and JS has not entered wasm again since (which
// would run on koffi's stack and make any host call from there a plain one). Told apart by the nesting depth
// of calls from JS into wasm, which the JS API counts, so that plain host calls pay nothing for this.
let entryDepth: () => number = () => 0;
let suspendableDepth = -1;

/** The JS API's count of active calls from JS into wasm (exported functions and promising calls). */
export function setEntryDepthReader(read: () => number): void {
  entryDepth = read;
}

/** Whether the host call being handled may suspend. */
export function canSuspend(): boolean {
  return suspendableDepth >= 0 && suspendableDepth === entryDepth();
}

function hostcallFromStack(vmctx: number | bigint, id: number): number {
  const outer = suspendableDepth;
  suspendableDepth = entryDepth();
  try {
    return hostcall(vmctx, id);
  } finally {
    suspendableDepth = outer;
  }
}

const hostcallProto = koffi.proto('int32_t (int64_t, int32_t)');
const registered = koffi.register(hostcall, koffi.pointer(hostcallProto));

/** Native address of the host-call callback (vmctx slot 8). Valid for the life of the process. */
export const hostcallAddr: number = Number(registered);
/** The same callback for host calls made on a promising call's secondary stack (they may suspend). */
export const hostcallFromStackAddr: number = Number(koffi.register(hostcallFromStack, koffi.pointer(hostcallProto)));

/** Route host calls made with `vmctx` to `handler` (replacing any previous handler) until unregistered. */
export function registerHostHandler(vmctx: number, handler: HostHandler): void {
  handlers.set(vmctx, handler);
}

export function unregisterHostHandler(vmctx: number): void {
  handlers.delete(vmctx);
}

/** Install the function that finds the handler of an instance's vmctx (the JS API's instances). */
export function setHostResolver(r: HostResolver | null): void {
  resolver = r;
}

/** True when a host exception is waiting to be rethrown. */
export function hasPendingException(): boolean {
  return pendingSet;
}

/**
 * Take the pending host exception (clearing it). Returns `{ value }`, or null when none is pending
 * (the thrown value itself may be anything, including undefined).
 */
export function takePendingException(): { value: unknown } | null {
  if (!pendingSet) return null;
  const value = pendingValue;
  pendingSet = false;
  pendingValue = undefined;
  pendingCatchable = false;
  return { value };
}

/** Record an exception to be rethrown by the entry (for builtins that fail outside a handler). */
export function setPendingException(value: unknown): void {
  pendingSet = true;
  pendingValue = value;
  pendingCatchable = false;
}
