// Reference values crossing the JS/native boundary.
//
// externref: wasm holds an id (a small positive integer; 0 = null) into a JS-side handle table. The same
// JS value always gets the same id. Native memory is invisible to the GC, so ids are never recycled:
// every distinct non-null value passed to wasm stays reachable for the life of the process.
//
// funcref: wasm holds a FuncRecord address (0 = null). The Instance code registers the JS function object
// (the "Exported Function") of every FuncRecord it hands out, so that the same record always maps to the
// same JS function and back.

// ---------------------------------------------------------------------------------------------------
// externref

const idToValue: unknown[] = [null]; // id 0 = null
const valueToId = new Map<unknown, number>();
let minusZeroId = 0;

/** The id of an externref value: 0 for null, else a stable positive id. */
export function externToId(v: unknown): number {
  if (v === null) return 0;
  if (v === 0 && 1 / (v as number) < 0) {
    // Map keys use SameValueZero: keep -0 distinct from +0.
    if (minusZeroId === 0) {
      minusZeroId = idToValue.length;
      idToValue.push(-0);
    }
    return minusZeroId;
  }
  let id = valueToId.get(v);
  if (id === undefined) {
    id = idToValue.length;
    idToValue.push(v);
    valueToId.set(v, id);
  }
  return id;
}

/** The JS value of an externref id (null for 0). Throws on an id never handed out. */
export function idToExtern(id: number): unknown {
  if (id === 0) return null;
  if (!(id > 0 && id < idToValue.length)) throw new RangeError(`invalid externref id ${id}`);
  return idToValue[id];
}

/** Number of externref ids handed out (diagnostics). */
export function externCount(): number {
  return idToValue.length - 1;
}

// ---------------------------------------------------------------------------------------------------
// funcref

// Weak: a record's function object (which keeps its instance alive) must not be kept alive by this map.
const recordToFn = new Map<number, WeakRef<Function>>();
const recordCleanup = new FinalizationRegistry<number>((addr) => {
  if (recordToFn.get(addr)?.deref() === undefined) recordToFn.delete(addr);
});
const fnToRecord = new WeakMap<Function, number>();
let resolver: ((addr: number) => Function | undefined) | null = null;

/** Associate a FuncRecord address with its JS function (both directions). */
export function registerFuncRecord(addr: number, fn: Function): void {
  recordToFn.set(addr, new WeakRef(fn));
  fnToRecord.set(fn, addr);
  recordCleanup.register(fn, addr);
}

/** The JS function registered for a record, if it is still alive. */
export function lookupFuncRecord(addr: number): Function | undefined {
  return recordToFn.get(addr)?.deref();
}

/** Forget a FuncRecord (when its instance goes away). */
export function unregisterFuncRecord(addr: number): void {
  const fn = recordToFn.get(addr)?.deref();
  recordToFn.delete(addr);
  if (fn !== undefined && fnToRecord.get(fn) === addr) fnToRecord.delete(fn);
}

/**
 * Install a fallback that creates the JS function of a FuncRecord on demand (the Instance code can use it to
 * create Exported Functions lazily). The result is registered.
 */
export function setFuncRecordResolver(r: ((addr: number) => Function | undefined) | null): void {
  resolver = r;
}

/** The JS function of a funcref value: null for 0. Throws for an unknown record. */
export function funcRecordToJs(addr: number): Function | null {
  if (addr === 0) return null;
  let fn = recordToFn.get(addr)?.deref();
  if (fn === undefined && resolver !== null) {
    fn = resolver(addr);
    if (fn !== undefined) registerFuncRecord(addr, fn);
  }
  if (fn === undefined) throw new Error(`quickbeam: funcref 0x${addr.toString(16)} has no JS function`);
  return fn;
}

/** The FuncRecord of a JS function, or undefined when it is not a wasm (exported) function. */
export function jsToFuncRecord(fn: unknown): number | undefined {
  if (typeof fn !== 'function') return undefined;
  return fnToRecord.get(fn);
}
