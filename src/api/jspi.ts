// JS Promise Integration (JSPI): `WebAssembly.Suspending`, `WebAssembly.promising`, `WebAssembly.SuspendError`.
// A promising function calls a wasm export on a stack of its own (runtime/stack-switching*.ts) and returns a
// promise of its result; when the wasm code calls a Suspending import whose JS function returns a promise, the
// wasm frames stay on that stack until the promise settles, and the import returns its value (or throws its
// rejection into wasm) when they continue.

import { types } from 'node:util';
import { SuspendError } from '../errors.js';
import { canSuspend } from '../runtime/host-calls.js';
import { suspendErrorMessage, suspendOn } from './jspi-suspension.js';
import { promisingCaller } from './exported-function.js';
import { webIdlInterface } from './webidl.js';

const targets = new WeakMap<object, Function>();
const wrappers = new WeakMap<object, Function>();

/** `new WebAssembly.Suspending(fn)`: marks a JS function, given as an import, as one that may suspend. */
export class Suspending {
  constructor(fn: unknown) {
    if (new.target === undefined) throw new TypeError("WebAssembly.Suspending(): WebAssembly.Suspending must be invoked with 'new'");
    if (typeof fn !== 'function') throw new TypeError('WebAssembly.Suspending(): Argument 0 must be a function');
    targets.set(this, fn);
  }
}
Object.defineProperty(Suspending.prototype, Symbol.toStringTag, { value: 'WebAssembly.Suspending', configurable: true });
webIdlInterface(Suspending, 1);

/**
 * The function an import of `value` calls, when `value` is a Suspending (else undefined): it throws a
 * SuspendError where the call cannot suspend, returns a non-promise result as it is, and suspends on a promise.
 */
export function suspendingImport(value: unknown): Function | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const fn = targets.get(value);
  if (fn === undefined) return undefined;
  let w = wrappers.get(value);
  if (w === undefined) {
    w = function suspending(...args: unknown[]): unknown {
      // As in V8: the function runs first; where the call cannot suspend, that is an error whatever it returned.
      const suspendable = canSuspend();
      const result = Reflect.apply(fn, undefined, args);
      if (!suspendable) throw new SuspendError(suspendErrorMessage());
      if (types.isPromise(result)) return suspendOn(result as Promise<unknown>);
      // A thenable is awaited too (Promise.resolve adopts it); any other value is the result at once.
      if ((typeof result === 'object' && result !== null) || typeof result === 'function') {
        const then = (result as { then?: unknown }).then;
        if (typeof then === 'function') return suspendOn(Promise.resolve(result));
      }
      return result;
    };
    wrappers.set(value, w);
  }
  return w;
}

/** `WebAssembly.promising(exportedFunction)`: a function that runs it on its own stack and returns a promise. */
export function promising(fn: unknown): Function {
  if (typeof fn !== 'function') throw new TypeError('WebAssembly.promising(): Argument 0 must be a function');
  const call = promisingCaller(fn);
  if (call === undefined) throw new TypeError('WebAssembly.promising(): Argument 0 must be a WebAssembly exported function');
  const length = (fn as Function).length;
  const wrapper = function (...args: unknown[]): Promise<unknown> {
    return call(args);
  };
  Object.defineProperty(wrapper, 'length', { value: length });
  Object.defineProperty(wrapper, 'name', { value: (fn as Function).name });
  return wrapper;
}

export { SuspendError };
