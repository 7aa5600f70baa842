// The JS API's classes and namespace functions as V8 presents them (WebIDL): a program can observe property
// attributes (for...in over a Memory lists `grow` and `buffer`; Object.keys(WebAssembly) lists the
// functions), constructor lengths, and that the namespace functions are not constructors.

/** A class as a WebIDL interface: its `length`, and its standard members (prototype, then static) enumerable. */
export function webIdlInterface(C: abstract new (...args: never[]) => unknown, length: number, members: readonly string[] = [], statics: readonly string[] = []): void {
  Object.defineProperty(C, 'length', { value: length, configurable: true });
  for (const k of members) enumerable(C.prototype as object, k);
  for (const k of statics) enumerable(C, k);
}

function enumerable(o: object, key: string): void {
  const d = Object.getOwnPropertyDescriptor(o, key);
  if (d === undefined) throw new Error(`internal: no member ${key} to expose`);
  Object.defineProperty(o, key, { ...d, enumerable: true });
}

/**
 * `fn` as a namespace operation: a function that is not a constructor (no `prototype`), named `name`, with
 * WebIDL's `length` (its required arguments).
 */
export function webIdlOperation<F extends (...args: never[]) => unknown>(name: string, length: number, fn: F): F {
  // (Three parameters, not a rest array: the namespace operations take at most three, and this is on every
  // instantiate's path.)
  const f = fn as unknown as (a: unknown, b: unknown, c: unknown) => unknown;
  const op = {
    [name](a: unknown, b: unknown, c: unknown): unknown {
      return f(a, b, c);
    },
  }[name]!;
  Object.defineProperty(op, 'length', { value: length, configurable: true });
  return op as unknown as F;
}
