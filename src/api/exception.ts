// WebAssembly.Exception, the exnref values that refer to exceptions, the throw builtins, and the unwinder's
// matcher (runtime/unwind.ts: which catch takes a thrown value and what its landing pad receives).
//
// A thrown value is either an Exception (thrown by wasm `throw`, or made in JS) or any other JS value (thrown by
// JS: an imported function, a JSTag exception). An Exception keeps its payload as the raw 8-byte slots the args
// buffer uses (16 bytes for v128), so it goes back into wasm bit for bit. An exnref is an id of the Exception,
// or of a box holding a JS value (so that `throw null` caught by catch_all_ref is a non-null exnref, and
// throw_ref throws the very same value again).

import { ValType } from '../decode/types.js';
import { mayHoldGcObject } from '../decode/gc-types.js';
import { wrapGcObject } from '../runtime/gc-heap.js';
import { argsU32 } from '../runtime/exec-state.js';
import { externToId, idToExtern } from '../runtime/refs.js';
import { releaseWhenIdle } from '../runtime/lifetime.js';
import { RawValue, toJSValue, toWebAssemblyValue } from '../runtime/js-values.js';
import { raiseCatchable } from '../runtime/host-calls.js';
import { searchFromThrow, setCatchMatcher, type CodeLocation, type HandlerCache } from '../runtime/unwind.js';
import { CAUGHT_CODE, TrapCode } from '../runtime/layout.js';
import { Heap, heapOf, isRefType, topHeap } from '../decode/ref-types.js';
import { Tag, JSTag, isTag, tagKey, tagParams } from './tag.js';
import { findState, keepFuncref } from './exported-function.js';
import type { InstanceState } from './instance-state.js';
import { webIdlInterface } from './webidl.js';

const CTX = 'WebAssembly.Exception()';
const INTERNAL: unique symbol = Symbol('internal');
/** Payload words: a plain array (allocating a typed array costs more than the whole rest of a throw). */
type Words = number[];
/**
 * References a payload holds beyond its raw words: the JS function of each funcref (it keeps the record's
 * instance alive) and the thrown value of each exnref (ids die with the outermost call: see exnrefOf), by
 * payload index; null when the payload has neither.
 */
type Held = unknown[] | null;

/** 1: a function reference (a FuncRecord address), 2: an exnref, 3: a reference that may be a GC object, 0: anything else. */
function refKind(t: number): number {
  if (!isRefType(t)) return 0;
  const top = topHeap(heapOf(t));
  return top === Heap.Func ? 1 : top === Heap.Exn ? 2 : mayHoldGcObject(t) ? 3 : 0;
}

/** A GC object in a payload is held through its JS object, which keeps it alive (a root: gc-heap.ts). */
function isGcObjectWord(raw: number): boolean {
  return raw !== 0 && raw % 4 === 0;
}

/**
 * ToWebAssemblyValue of a payload value given to the constructor, with V8's messages (which name the type:
 * v128 and exnref values never come from JS; exnref's depends on whether the value is null).
 */
function payloadValue(v: unknown, t: ValType): RawValue {
  if (t === ValType.V128) throw new TypeError(`${CTX}: Invalid type v128`);
  const kind = refKind(t);
  if (kind === 2) throw new TypeError(`${CTX}: invalid type ${v === null ? '(ref null exn)' : '(ref exn)'}`);
  try {
    return toWebAssemblyValue(v, t);
  } catch (e) {
    if (kind === 1 && e instanceof TypeError) throw new TypeError(`${CTX}: function-typed object must be null (if nullable) or a Wasm function object`);
    throw e;
  }
}

const scratch = new ArrayBuffer(8);
const sI32 = new Int32Array(scratch);
const sU32 = new Uint32Array(scratch);
const sF32 = new Float32Array(scratch);
const sF64 = new Float64Array(scratch);
const sI64 = new BigInt64Array(scratch);
const TWO32 = 4294967296;

/** Words (u32) a payload of these types takes: 2 per value, 4 per v128. */
export function payloadWords(types: readonly ValType[]): number {
  let n = 0;
  for (const t of types) n += t === ValType.V128 ? 4 : 2;
  return n;
}

function encode(raw: RawValue, t: ValType, out: Words, at: number): void {
  switch (t) {
    case ValType.I32: sI32[0] = raw as number; sU32[1] = 0; break;
    case ValType.I64: sI64[0] = BigInt.asIntN(64, raw as bigint); break;
    case ValType.F32: sF32[0] = raw as number; sU32[1] = 0; break;
    case ValType.F64: sF64[0] = raw as number; break;
    default: sU32[0] = (raw as number) >>> 0; sU32[1] = Math.floor((raw as number) / TWO32) >>> 0;
  }
  out[at] = sU32[0];
  out[at + 1] = sU32[1];
}

function decode(words: Words, at: number, t: ValType): RawValue {
  sU32[0] = words[at];
  sU32[1] = words[at + 1];
  switch (t) {
    case ValType.I32: return sI32[0];
    case ValType.I64: return sI64[0];
    case ValType.F32: return sF32[0];
    case ValType.F64: return sF64[0];
    default: return words[at] + words[at + 1] * TWO32;
  }
}

let pending: { tag: Tag; words: Words; held: Held } | null = null;

// Set by the class's static block (private-field access for this module's functions).
let brand: (o: unknown) => boolean;
let tagOf: (e: Exception) => Tag;
let wordsOf: (e: Exception) => Words;
let heldOf: (e: Exception) => Held;

export class Exception {
  readonly #tag: Tag;
  readonly #words: Words;
  readonly #held: Held;

  constructor(tag: unknown, payload: unknown, ...rest: unknown[]) {
    const options = rest[0];
    if (new.target === undefined) throw new TypeError(`${CTX} must be invoked with 'new'`);
    if (tag === INTERNAL && pending !== null) {
      this.#tag = pending.tag;
      this.#words = pending.words;
      this.#held = pending.held;
      pending = null;
      return;
    }
    if (!isTag(tag)) throw new TypeError(`${CTX}: Argument 0 must be a WebAssembly tag`);
    if (tag === JSTag) throw new TypeError(`${CTX}: Argument 0 cannot be WebAssembly.JSTag`);
    if (payload === null || typeof payload !== 'object' || typeof (payload as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${CTX}: Exception values must be an iterable object`);
    }
    const values = Array.from(payload as Iterable<unknown>);
    const params = tagParams(tag);
    if (values.length !== params.length) throw new TypeError(`${CTX}: Number of exception values does not match signature length`);
    const words: Words = new Array<number>(payloadWords(params)).fill(0);
    let held: Held = null;
    for (let k = 0, at = 0; k < params.length; k++) {
      const t = params[k];
      const raw = payloadValue(values[k], t);
      encode(raw, t, words, at);
      const kind = refKind(t);
      if (kind === 1 && typeof values[k] === 'function') (held ??= [])[k] = values[k];
      if (kind === 3 && isGcObjectWord(raw as number)) (held ??= [])[k] = wrapGcObject(raw as number);
      at += t === ValType.V128 ? 4 : 2;
    }
    this.#tag = tag;
    this.#words = words;
    this.#held = held;
    const trace = options !== undefined && options !== null && typeof options === 'object' && (options as { traceStack?: unknown }).traceStack;
    if (trace && typeof Error.captureStackTrace === 'function') Error.captureStackTrace(this, Exception);
  }

  /** Payload value `index`, as JS sees it (a TypeError for v128 and exnref, worded as V8). */
  getArg(tag: unknown, index: unknown): unknown {
    const C = 'WebAssembly.Exception.getArg()';
    if (!isException(this)) throw new TypeError(`${C}: Receiver is not a WebAssembly.Exception`);
    if (!isTag(tag)) throw new TypeError(`${C}: Argument 0 must be a WebAssembly.Tag`);
    if (tag !== this.#tag) throw new TypeError(`${C}: First argument does not match the exception tag`);
    // [EnforceRange] unsigned long, with V8's messages
    const n = Number(index);
    if (!Number.isFinite(n)) throw new TypeError(`${C}: Index must be convertible to a valid number`);
    const i = Math.trunc(n);
    if (i < 0) throw new TypeError(`${C}: Index must be non-negative`);
    if (i > 0xffffffff) throw new TypeError(`${C}: Index must be in the unsigned long range`);
    const params = tagParams(tag);
    if (i >= params.length) throw new RangeError(`${C}: Index out of range`);
    let at = 0;
    for (let k = 0; k < i; k++) at += params[k] === ValType.V128 ? 4 : 2;
    const t = params[i];
    if (t === ValType.V128) throw new TypeError(`${C}: Invalid type v128`);
    if (refKind(t) === 2) throw new TypeError(`${C}: invalid type exnref`);
    const h = this.#held?.[i];
    if (typeof h === 'function') return h; // a funcref thrown by wasm: its function (found where it was thrown)
    return toJSValue(decode(this.#words, at, t), t);
  }

  /** Whether this exception's tag is `tag`. */
  is(tag: unknown): boolean {
    if (!isException(this)) throw new TypeError('WebAssembly.Exception.is(): Receiver is not a WebAssembly.Exception');
    if (!isTag(tag)) throw new TypeError('WebAssembly.Exception.is(): Argument 0 must be a WebAssembly.Tag');
    return this.#tag === tag;
  }

  // Internals for this module's functions below (not members: V8's Exception has no such statics).
  static {
    brand = (o) => typeof o === 'object' && o !== null && #tag in o;
    tagOf = (e) => e.#tag;
    wordsOf = (e) => e.#words;
    heldOf = (e) => e.#held;
  }
}


/** Whether `o` is an Exception (a private brand check: no user code runs). */
export function isException(o: unknown): o is Exception {
  return brand(o);
}

/** The tag of an Exception. */
export function exceptionTag(e: Exception): Tag {
  return tagOf(e);
}

/** The payload words of an Exception. */
export function exceptionWords(e: Exception): Words {
  return wordsOf(e);
}

/** The references an Exception holds (see Held). */
export function exceptionHeld(e: Exception): Held {
  return heldOf(e);
}

Object.defineProperty(Exception.prototype, Symbol.toStringTag, { value: 'WebAssembly.Exception', configurable: true });
webIdlInterface(Exception, 2, ['getArg', 'is']);
// As in V8: an enumerable `stack` getter on the prototype (undefined); `traceStack: true` adds an own one.
Object.defineProperty(Exception.prototype, 'stack', { get: () => undefined, enumerable: true, configurable: true });

function makeException(tag: Tag, words: Words, held: Held): Exception {
  pending = { tag, words, held };
  return new Exception(INTERNAL, undefined);
}

// ---------------------------------------------------------------------------------------------------------
// exnref values
//
// An exnref is an index into `exnValues` (0 = null). exnrefs never reach JS (the JS API refuses the type), so
// they live only in wasm frames, and in globals, tables and GC struct or array fields of an exnref type. Until
// some instance has such a global, table or field, every id is dead once the outermost call into wasm returns: the table is emptied then (a
// release queued when its first id is handed out), so catching exceptions in a loop holds no memory. After
// that, ids are kept for the life of the process, like externref handles.

/** A JS value caught as an exnref (boxed: any value, null included, is a non-null exnref). */
class JSValueBox {
  constructor(readonly value: unknown) {}
}

const exnValues: unknown[] = [null];
let exnStorage = false;

/**
 * An instance of this module may keep exnrefs beyond a call: a global or table of an exnref type, or a struct
 * or array type with an exnref field (a GC object outlives the call that stored the id).
 */
export function noteExnrefStorage(info: { globals: readonly { type: number }[]; tables: readonly { elemType: number }[]; types: readonly { fields?: readonly { type: number }[] }[] }): void {
  if (exnStorage) return;
  for (const g of info.globals) if (isExnType(g.type)) exnStorage = true;
  for (const t of info.tables) if (isExnType(t.elemType)) exnStorage = true;
  for (const t of info.types) if (t.fields !== undefined) for (const f of t.fields) if (isExnType(f.type)) exnStorage = true;
}

function isExnType(t: number): boolean {
  const heap = t & 0x2ff; // without the non-null bit; concrete types keep 0x200
  return heap === 0x69 || heap === 0x74;
}

/** The exnref id of a thrown value. */
export function exnrefOf(value: unknown): number {
  if (exnValues.length === 1 && !exnStorage) {
    releaseWhenIdle(() => {
      if (!exnStorage) exnValues.length = 1;
    });
  }
  exnValues.push(isException(value) ? value : new JSValueBox(value));
  return exnValues.length - 1;
}

/** What an exnref id refers to, kept by an exception's payload (ids do not outlive the outermost call). */
interface ExnBox {
  readonly exn: unknown;
}

function exnrefBox(id: number): ExnBox {
  return { exn: exnValues[id] };
}

/** A fresh id for a payload's exnref (its stored entry, an Exception or a JSValueBox, as it was). */
function exnrefOfBox(b: ExnBox): number {
  if (exnValues.length === 1 && !exnStorage) {
    releaseWhenIdle(() => {
      if (!exnStorage) exnValues.length = 1;
    });
  }
  exnValues.push(b.exn);
  return exnValues.length - 1;
}

/** The thrown value an exnref id refers to. */
export function exnrefValue(id: number): unknown {
  if (!(id > 0 && id < exnValues.length)) throw new RangeError(`invalid exnref ${id}`);
  const v = exnValues[id];
  return v instanceof JSValueBox ? v.value : v;
}

/** Number of exnref ids held (diagnostics and tests). */
export function exnrefCount(): number {
  return exnValues.length - 1;
}

// ---------------------------------------------------------------------------------------------------------
// Builtins (api/builtins.ts dispatches to these)

/** `throw tag` (tag index in args slot 0, payload from slot 1): raise a new exception. */
export function builtinThrow(state: InstanceState): number {
  const tagIndex = argsU32[0];
  const tag = state.tags[tagIndex];
  const params = tagParams(tag);
  const n = payloadWords(params);
  const words: Words = new Array<number>(n);
  for (let k = 0; k < n; k++) words[k] = argsU32[2 + k];
  if (tag === JSTag) return raise(idToExtern(words[0] + words[1] * TWO32)); // the JS value itself
  let held: Held = null;
  for (let k = 0, at = 0; k < params.length; k++) {
    const t = params[k];
    // 32-bit values were stored as 4 bytes: clear the slot's upper half (i32s in registers have it zero).
    if (t === ValType.I32 || t === ValType.F32) words[at + 1] = 0;
    const kind = refKind(t);
    if (kind !== 0) {
      const raw = words[at] + words[at + 1] * TWO32;
      if (kind === 1 && raw !== 0) (held ??= [])[k] = toJSValue(raw, ValType.FuncRef, state);
      if (kind === 2 && raw !== 0) (held ??= [])[k] = exnrefBox(raw);
      if (kind === 3 && isGcObjectWord(raw)) (held ??= [])[k] = wrapGcObject(raw);
    }
    at += t === ValType.V128 ? 4 : 2;
  }
  return raise(makeException(tag, words, held));
}

/** Raise a thrown value from a throw builtin, searching for its handler at once (see runtime/unwind.ts). */
function raise(value: unknown): number {
  const code = raiseCatchable(value);
  return searchFromThrow() ? CAUGHT_CODE : code;
}

/** `throw_ref` / `rethrow` (exnref id in args slot 0): raise that exception again; null traps. */
export function builtinThrowRef(): number {
  const id = argsU32[0] + argsU32[1] * TWO32;
  if (id === 0) return TrapCode.NullExnRef;
  return raise(exnrefValue(id));
}

// ---------------------------------------------------------------------------------------------------------
// The unwinder's matcher

const handlerCaches = new WeakMap<object, HandlerCache>();

function tagAt(vmctx: number, tagIndex: number): Tag | undefined {
  return findState(vmctx)?.tags[tagIndex];
}

setCatchMatcher({
  locate(vmctx: number, pc: number): CodeLocation | null {
    const state = findState(vmctx);
    if (state === undefined) return null;
    const m = state.module;
    const c = m.compiled;
    let entry = 0, start = 0, end = 0;
    if (c.lazy) {
      const fn = m.native.lazy?.functionAt(pc);
      if (fn !== undefined) {
        entry = fn.addr + fn.entry;
        start = fn.addr;
        end = fn.addr + fn.length;
      }
    } else {
      const base = m.code.addr;
      const off = pc - base;
      if (!(off > 0 && off <= c.codeSize)) return null;
      let lo = c.info.numImportedFuncs, hi = c.funcOffsets.length - 1, f = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (c.funcOffsets[mid] < off) {
          f = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      if (f >= 0) entry = base + c.funcOffsets[f];
      start = base;
      end = base + c.codeSize;
    }
    if (entry === 0) return null;
    let cache = handlerCaches.get(m);
    if (cache === undefined) handlerCaches.set(m, (cache = new Map()));
    return { entry, start, end, cache };
  },

  matches(value: unknown, vmctx: number, tagIndex: number): boolean {
    const tag = tagAt(vmctx, tagIndex);
    if (tag === undefined) return false;
    return isException(value) ? exceptionTag(value) === tag : tag === JSTag;
  },

  deliver(value: unknown, vmctx: number, tagIndex: number, wantRef: boolean): void {
    let slot = 0;
    if (tagIndex >= 0) {
      if (isException(value)) {
        const words = exceptionWords(value);
        argsU32.set(words, 0);
        slot = words.length / 2;
        const held = exceptionHeld(value);
        if (held !== null) {
          // funcrefs: the receiving instance keeps their instances alive; exnrefs: fresh ids for this call
          const state = findState(vmctx);
          const params = tagParams(exceptionTag(value));
          for (let k = 0, at = 0; k < params.length; k++) {
            const h = held[k];
            if (h !== undefined) {
              if (typeof h === 'function') {
                if (state !== undefined) keepFuncref(state, h);
              } else if (refKind(params[k]) === 2) { // (GC objects are held only to keep them alive)
                const id = exnrefOfBox(h as ExnBox);
                argsU32[at] = id >>> 0;
                argsU32[at + 1] = Math.floor(id / TWO32);
              }
            }
            at += params[k] === ValType.V128 ? 4 : 2;
          }
        }
      } else {
        const id = externToId(value);
        argsU32[0] = id >>> 0;
        argsU32[1] = Math.floor(id / TWO32);
        slot = 1;
      }
    }
    if (wantRef) {
      const id = exnrefOf(value);
      argsU32[2 * slot] = id >>> 0;
      argsU32[2 * slot + 1] = Math.floor(id / TWO32);
    }
  },
});
