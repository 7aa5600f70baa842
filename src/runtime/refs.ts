// Reference values crossing the JS/native boundary.
//
// externref and anyref: wasm holds one word whose low bits say what it is (runtime/gc-heap.ts): 0 null, an
// i31 ((v << 1) | 1: JS integers in [-2^30, 2^30) other than -0), a GC object's address (its JS object comes
// back as the address), or a host handle: id << 2 | 2, an index into a JS-side handle table. The same JS
// value always gets the same handle. Native memory is invisible to the GC, so handles are never recycled:
// every distinct non-null value passed to wasm stays reachable for the life of the process.
//
// funcref: wasm holds a FuncRecord address (0 = null). The Instance code registers the JS function object
// (the "Exported Function") of every FuncRecord it hands out, so that the same record always maps to the
// same JS function and back.

import { gcObjectAddress, wrapGcObject } from './gc-heap.js';

// ---------------------------------------------------------------------------------------------------
// externref

const idToValue: unknown[] = [null]; // id 0 = null
const valueToId = new Map<unknown, number>();
let minusZeroId = 0;

const I31_MIN = -(2 ** 30);
const I31_MAX = 2 ** 30 - 1;

/** Whether a JS value is an i31 (an integer Number in i31 range, not -0), as V8 internalizes them. */
export function isI31Value(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= I31_MIN && v <= I31_MAX && !(v === 0 && 1 / v < 0);
}

/** The reference word of an externref/anyref value (see the header): 0 for null. */
export function externToId(v: unknown): number {
  if (v === null) return 0;
  if (isI31Value(v)) return ((v << 1) | 1) >>> 0;
  if (typeof v === 'object') {
    const addr = gcObjectAddress(v);
    if (addr !== 0) return addr;
  }
  return handleOf(v) * 4 + 2;
}

/** The handle id of a host value (stable, never recycled). */
function handleOf(v: unknown): number {
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

/** The JS value of an externref/anyref word (null for 0). Throws on a handle never handed out. */
export function idToExtern(word: number): unknown {
  if (word === 0) return null;
  const low = word % 4;
  if (low === 1 || low === 3) return (word | 0) >> 1; // i31
  if (low === 0) return wrapGcObject(word);
  const id = (word - 2) / 4;
  if (!(id > 0 && id < idToValue.length)) throw new RangeError(`invalid externref word ${word}`);
  return idToValue[id];
}

/** Number of externref ids handed out (diagnostics). */
export function externCount(): number {
  return idToValue.length - 1;
}

// ---------------------------------------------------------------------------------------------------
// funcref
//
// No table maps record addresses to functions: it would have to hold them weakly, and a WeakRef keeps its
// target (and so the whole instance) alive until the microtask queue drains. Instead the JS API's resolver
// finds the instance that owns a record through what the caller holds (the table or global it was read
// from, the instance being called) and keeps each record's function in that instance.

const fnToRecord = new WeakMap<Function, number>();
// Strong: explicit registrations only (tests, hand-made records).
const explicit = new Map<number, Function>();
let resolver: ((addr: number, hint: unknown) => Function | undefined) | null = null;

/** Associate a JS function with the FuncRecord it calls (so that passing it to wasm gives that record). */
export function associateFuncRecord(fn: Function, addr: number): void {
  fnToRecord.set(fn, addr);
}

/** Register a record and its JS function explicitly, both ways, until `unregisterFuncRecord`. */
export function registerFuncRecord(addr: number, fn: Function): void {
  explicit.set(addr, fn);
  fnToRecord.set(fn, addr);
}

/** The JS function explicitly registered for a record. */
export function lookupFuncRecord(addr: number): Function | undefined {
  return explicit.get(addr);
}

/** Forget an explicit registration. */
export function unregisterFuncRecord(addr: number): void {
  const fn = explicit.get(addr);
  explicit.delete(addr);
  if (fn !== undefined && fnToRecord.get(fn) === addr) fnToRecord.delete(fn);
}

/**
 * Install the function that gives the JS function of a record, found from `hint` (what the record was read
 * from: a table, a global cell, an instance) or from the calls that are running.
 */
export function setFuncRecordResolver(r: ((addr: number, hint: unknown) => Function | undefined) | null): void {
  resolver = r;
}

/** The JS function of a funcref value: null for 0. Throws for an unknown record. */
export function funcRecordToJs(addr: number, hint?: unknown): Function | null {
  if (addr === 0) return null;
  const fn = explicit.get(addr) ?? resolver?.(addr, hint);
  if (fn === undefined) throw new Error(`quickbeam: funcref 0x${addr.toString(16)} has no JS function`);
  return fn;
}

/** The FuncRecord of a JS function, or undefined when it is not a wasm (exported) function. */
export function jsToFuncRecord(fn: unknown): number | undefined {
  if (typeof fn !== 'function') return undefined;
  return fnToRecord.get(fn);
}
