// WebAssembly.Tag: the identity of an exception kind and the types of its payload. A module's defined tags are
// new Tag objects per instance; imported tags are the imported objects themselves (identity is what `catch`
// compares). WebAssembly.JSTag is the tag of JavaScript exceptions (one externref payload: the thrown value).

import { ValType } from '../decode/types.js';
import { parseValType, toDOMString } from '../runtime/js-values.js';
import { plainFuncKey } from '../decode/gc-types.js';
import { webIdlInterface } from './webidl.js';

const CTX = 'WebAssembly.Tag()';
const INTERNAL: unique symbol = Symbol('internal');
let pendingKey = '';

let pendingParams: readonly ValType[] | null = null;

// Set by the class's static block (private-field access for this module's functions).
let brand: (o: unknown) => boolean;
let keyOf: (t: Tag) => string;
let paramsOf: (t: Tag) => readonly ValType[];

export class Tag {
  readonly #params: readonly ValType[];
  /** The canonical key of the tag's function type (decode: FuncType.key), compared when linking. */
  readonly #key: string;

  constructor(descriptor: unknown) {
    if (new.target === undefined) throw new TypeError(`${CTX} must be invoked with 'new'`);
    if ((descriptor as unknown) === INTERNAL && pendingParams !== null) {
      this.#params = pendingParams;
      this.#key = pendingKey;
      pendingParams = null;
      return;
    }
    if (descriptor === null || (typeof descriptor !== 'object' && typeof descriptor !== 'function')) {
      throw new TypeError(`${CTX}: Argument 0 must be a tag type`);
    }
    // As V8 (Node 24) reads it: `parameters` is an array-like object (its length, then its elements by index),
    // not an iterable.
    const list = (descriptor as { parameters?: unknown }).parameters;
    if (list === null || (typeof list !== 'object' && typeof list !== 'function')) {
      throw new TypeError(`${CTX}: Argument 0 must be a tag type with 'parameters'`);
    }
    const length = Number((list as { length?: unknown }).length);
    if (!(length >= 0 && length <= 0xffffffff)) throw new TypeError(`${CTX}: Argument 0 contains parameters without 'length'`);
    const params: ValType[] = [];
    for (let i = 0, n = Math.floor(length); i < n; i++) {
      const t = tagParamType(toDOMString((list as ArrayLike<unknown>)[i]));
      if (t === undefined) throw new TypeError(`${CTX}: Argument 0 parameter type at index #${i} must be a value type`);
      params.push(t);
    }
    this.#params = params;
    this.#key = plainFuncKey(params, []);
  }

  // Internals for this module's functions below (not members: V8's Tag has no such statics).
  static {
    brand = (o) => typeof o === 'object' && o !== null && #params in o;
    keyOf = (t) => t.#key;
    paramsOf = (t) => t.#params;
  }
}


/** Whether `o` is a Tag (a private brand check: no user code runs). */
export function isTag(o: unknown): o is Tag {
  return brand(o);
}

/** The canonical key of the tag's type (equal for tags of equal types, across modules). */
export function tagKey(t: Tag): string {
  return keyOf(t);
}

/** The payload types of a tag. */
export function tagParams(t: Tag): readonly ValType[] {
  return paramsOf(t);
}

/**
 * A parameter type name, as V8 (Node 24) reads them for tags: the JS API's value types ('anyfunc', not
 * 'funcref') and 'exnref' (an exception can carry one; the JS side cannot make or read it: Exception and
 * getArg throw a TypeError).
 */
function tagParamType(s: string): ValType | undefined {
  return parseValType(s);
}

Object.defineProperty(Tag.prototype, Symbol.toStringTag, { value: 'WebAssembly.Tag', configurable: true });
webIdlInterface(Tag, 1);

/** A new tag of a function type (a module's defined tag, per instance): its payload types and canonical key. */
export function makeTag(params: readonly ValType[], key: string): Tag {
  pendingParams = params;
  pendingKey = key;
  return new Tag(INTERNAL);
}

/** The tag of JavaScript exceptions: a `catch` of it receives the thrown JS value as an externref. */
export const JSTag: Tag = makeTag([ValType.ExternRef], plainFuncKey([ValType.ExternRef], []));
