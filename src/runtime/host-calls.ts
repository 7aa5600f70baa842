// The one universal host-call callback: `int32_t hostcall(int64_t vmctx, int32_t id)`.
//
// Generated code calls it (rsp 16-byte aligned!) with the calling instance's vmctx and an id: an import
// index, or a builtin id >= HOSTCALL_BUILTIN_BASE. Arguments and results travel through the args buffer.
// The callback finds the handler registered for that vmctx and returns its result: 0, or a trap code.
// A JS exception thrown by the handler is caught here (koffi would swallow it), kept as the pending
// exception, and reported as TrapCode.HostException; the entry (callWasm) then rethrows it unchanged.

import { TrapCode } from './layout.js';
import { koffi } from './native.js';

/** A host-call handler: returns 0 on success or a trap code. May throw (reported as HostException). */
export type HostHandler = (id: number) => number;

// Weak: the instance owns its handler; a registered handler must not keep a dead instance alive.
const handlers = new Map<number, WeakRef<HostHandler>>();

let pendingSet = false;
let pendingValue: unknown = undefined;

function hostcall(vmctx: number | bigint, id: number): number {
  const key = typeof vmctx === 'bigint' ? Number(vmctx) : vmctx;
  const h = handlers.get(key)?.deref();
  if (h === undefined) {
    pendingSet = true;
    pendingValue = new Error(`quickbeam: host call ${id} from an unknown instance context 0x${key.toString(16)}`);
    return TrapCode.HostException;
  }
  try {
    const r = h(id);
    return typeof r === 'number' ? r | 0 : 0;
  } catch (e) {
    pendingSet = true;
    pendingValue = e;
    return TrapCode.HostException;
  }
}

const hostcallProto = koffi.proto('int32_t (int64_t, int32_t)');
const registered = koffi.register(hostcall, koffi.pointer(hostcallProto));

/** Native address of the host-call callback (vmctx slot 8). Valid for the life of the process. */
export const hostcallAddr: number = Number(registered);

/** Route host calls made with `vmctx` to `handler` (replacing any previous handler). */
export function registerHostHandler(vmctx: number, handler: HostHandler): void {
  handlers.set(vmctx, new WeakRef(handler));
}

export function unregisterHostHandler(vmctx: number): void {
  handlers.delete(vmctx);
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
  return { value };
}

/** Record an exception to be rethrown by the entry (for builtins that fail outside a handler). */
export function setPendingException(value: unknown): void {
  pendingSet = true;
  pendingValue = value;
}
