// The error classes of the JS API. Shared by every layer so that `instanceof` works across them.

export class CompileError extends Error {
  /** Byte offset in the module where the problem was found (-1 when unknown). Not enumerable (V8's errors have no own data). */
  declare readonly offset: number;
  constructor(message: string, offset = -1) {
    super(offset >= 0 ? `${message} (at byte offset ${offset})` : message);
    Object.defineProperty(this, 'offset', { value: offset, configurable: true, writable: false, enumerable: false });
  }
}

export class LinkError extends Error {}

/** Marks a trap's RuntimeError (never caught by wasm handlers): see runtime/host-calls.ts markUncatchable. */
export let markTrap: (e: RuntimeError) => void;
/** Whether `e` is a RuntimeError marked by markTrap. */
export let isMarkedTrap: (e: object) => boolean;

export class RuntimeError extends Error {
  // A private field, part of every RuntimeError's shape from construction: marking a trap is a store (a
  // WeakSet entry per trap cost ~5% of a trapping call, and ephemeron work for the GC).
  #trap = false;

  static {
    markTrap = (e) => {
      e.#trap = true;
    };
    isMarkedTrap = (e) => #trap in e && (e as RuntimeError).#trap;
  }
}

/** JSPI: a Suspending import was called where it cannot suspend (no promising call, or JS frames in between). */
export class SuspendError extends Error {}

// As V8's: `name` and an empty `message` on the prototypes, not on each error (JSON.stringify(error) is "{}").
for (const [cls, name] of [[CompileError, 'CompileError'], [LinkError, 'LinkError'], [RuntimeError, 'RuntimeError'], [SuspendError, 'SuspendError']] as const) {
  Object.defineProperty(cls.prototype, 'name', { value: name, writable: true, enumerable: false, configurable: true });
  Object.defineProperty(cls.prototype, 'message', { value: '', writable: true, enumerable: false, configurable: true });
  Object.defineProperty(cls, 'length', { value: 1, configurable: true });
}

/**
 * An error class as the JS API exposes it: callable without `new`, like Error and V8's WebAssembly errors
 * (`WebAssembly.RuntimeError('x')` makes an error). Errors made either way are instances of both the class and
 * this wrapper (same prototype); Quickbeam's own code uses the class.
 */
export function callableErrorClass<C extends new (...args: never[]) => Error>(C: C): C {
  const exposed: C = new Proxy(C, {
    apply: (target, _this, args: unknown[]) => Reflect.construct(target, args, exposed),
  });
  Object.defineProperty(C.prototype, 'constructor', { value: exposed, writable: true, enumerable: false, configurable: true });
  return exposed;
}
