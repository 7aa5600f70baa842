// Host calls: generated code makes one (rsp 16-byte aligned!) through the shim at vmctx slot 8 with the calling
// instance's vmctx and an id: an import index, or a builtin id >= HOSTCALL_BUILTIN_BASE. Arguments and results
// travel through the args buffer. On a secondary stack (every call from the JS API) the shim returns the call to
// JS, which runs it here (hostcallFromStack) and resumes the stack; otherwise (code entered through `enter`) it
// reaches the koffi callback `int32_t hostcall(int64_t vmctx, int32_t id)`. Either way the handler of that vmctx
// runs and its result is returned: 0, or a trap code. A JS exception thrown by the handler is caught here (koffi
// would swallow it), kept as the pending exception, and reported as TrapCode.HostException; the entry then
// rethrows it unchanged.
//
// Finding the handler registers nothing per instance: instances are found by the resolver that the JS API
// installs (api/exported-function.ts), which searches what the running calls hold strongly. A registration
// table would have to hold instances weakly, and a WeakRef keeps its target alive until the microtask queue
// drains, which a synchronous loop or a loop of awaits never lets happen. Explicit registrations
// (`registerHostHandler`, for tests and hand-made contexts) are looked up first.

import { HOSTCALL_BUILTIN_BASE, HOSTCALL_DISPOSED, TrapCode } from './layout.js';
import { koffi } from './native.js';
import { hostCallId, hostCallSuspender, hostCallTop, hostCallVmctx, savedRsp } from './exec-state.js';
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

// (Module-local copy: an imported constant costs a cell load and a hole check per use in optimised code.)
const DISPOSED = HOSTCALL_DISPOSED;

function hostcall(vmctx: number | bigint, id: number): number {
  const key = typeof vmctx === 'bigint' ? Number(vmctx) : vmctx;
  try {
    if (id === DISPOSED) throw new RuntimeError('call to a function of a disposed instance');
    const h = (handlers.size !== 0 ? handlers.get(key) : undefined) ?? resolver?.(key);
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

// Host calls that return to JS (runtime/stack-switching-code.ts): wasm runs on a secondary stack, its host
// call returns HOSTCALL_CODE to the JS that entered (or resumed) the stack, which runs the call here and resumes
// the stack with the result. No koffi callback is involved. The shim leaves the call's vmctx, id, stack
// (suspender record) and frames' top in the exec state (EXEC_HOST_*); the koffi callback's path zeroes the
// last two. They stay valid until the call's handler runs user code, which is all that reads them needs.

/** Suspender records of the promising calls' stacks (JSPI): host calls made on them may suspend. */
const promisingRecords = new Set<number>();

export function setPromisingStack(record: number, promising: boolean): void {
  if (promising) promisingRecords.add(record);
  else promisingRecords.delete(record);
}

/**
 * Whether the host call being handled may suspend: it came from a promising call's stack (read first thing by a
 * Suspending import's wrapper, before any user code it runs can make another host call).
 */
export function canSuspend(): boolean {
  return promisingRecords.size !== 0 && promisingRecords.has(hostCallSuspender());
}

/** Run the host call that wasm on a secondary stack just made (EXEC_HOST_*): returns the code to resume it with. */
export function hostcallFromStack(): number {
  return hostcall(hostCallVmctx(), hostCallId());
}

/** The koffi callback (host calls made off a secondary stack: generated code entered through `enter`). */
function hostcallCallback(vmctx: number | bigint, id: number): number {
  return hostcall(vmctx, id);
}

/**
 * The upper bound of the frames of the wasm code making the host call being run (for the throw builtins'
 * exception search): the S-side entry's savedRsp the shim noted, or else the innermost entry's.
 */
export function hostCallFramesTop(): number {
  const top = hostCallTop();
  return top !== 0 ? top : savedRsp();
}

const hostcallProto = koffi.proto('int32_t (int64_t, int32_t)');
const registered = koffi.register(hostcallCallback, koffi.pointer(hostcallProto));

/** Native address of the host-call callback (vmctx slot 8). Valid for the life of the process. */
export const hostcallAddr: number = Number(registered);

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
