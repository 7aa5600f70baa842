// WebAssembly.Tag: the identity of an exception kind and the types of its payload. A module's defined tags are
// new Tag objects per instance; imported tags are the imported objects themselves (identity is what `catch`
// compares). WebAssembly.JSTag is the tag of JavaScript exceptions (one externref payload: the thrown value).

import { ValType } from '../decode/types.js';
import { parseValType, toDOMString } from '../runtime/js-values.js';
import { typeKey } from '../decode/ref-types.js';

const CTX = 'WebAssembly.Tag()';
const INTERNAL: unique symbol = Symbol('internal');
let pendingParams: readonly ValType[] | null = null;
let pendingKey = '';

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
    const list = (descriptor as { parameters?: unknown }).parameters;
    if (list === undefined || list === null || typeof (list as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw new TypeError(`${CTX}: Argument 0 must be a tag type with 'parameters'`);
    }
    const params: ValType[] = [];
    for (const p of list as Iterable<unknown>) {
      const t = parseValType(toDOMString(p));
      if (t === undefined) throw new TypeError(`${CTX}: Argument 0 parameter type at index #${params.length} must be a value type`);
      params.push(t);
    }
    this.#params = params;
    let key = '';
    for (const t of params) key += typeKey(t, [], -1);
    this.#key = key + ':';
  }

  /** The canonical key of the tag's type (equal for tags of equal types, across modules). */
  static key(t: Tag): string {
    return t.#key;
  }

  /** The payload types of a tag (a TypeError for anything else). */
  static params(t: Tag): readonly ValType[] {
    return t.#params;
  }

  /** Whether `o` is a Tag (a private brand check: no user code runs). */
  static is(o: unknown): o is Tag {
    return typeof o === 'object' && o !== null && #params in o;
  }
}

Object.defineProperty(Tag.prototype, Symbol.toStringTag, { value: 'WebAssembly.Tag', configurable: true });

/** A new tag of a function type (a module's defined tag, per instance): its payload types and canonical key. */
export function makeTag(params: readonly ValType[], key: string): Tag {
  pendingParams = params;
  pendingKey = key;
  return new Tag(INTERNAL);
}

/** The tag of JavaScript exceptions: a `catch` of it receives the thrown JS value as an externref. */
export const JSTag: Tag = makeTag([ValType.ExternRef], typeKey(ValType.ExternRef, [], -1) + ':');
