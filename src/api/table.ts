// WebAssembly.Table, backed by a runtime TableStorage. Entries are funcref (FuncRecord addresses, exposed as
// the registered Exported Functions) or externref (handle ids, exposed as the original JS values).

import { toCanonicalValue } from './typed-refs.js';
import { ValType } from '../decode/types.js';
import { addressValueToU64, defaultRawValue, exnValueType, isExnType, toDOMString, toJSValue, toWebAssemblyValue, u64ToAddressValue, valTypeName } from '../runtime/js-values.js';
import { TABLE_MAX_ELEMENTS } from '../runtime/layout.js';
import { TableStorage } from '../runtime/table-storage.js';
import { readAddressType } from './memory.js';
import { webIdlInterface } from './webidl.js';

const CTX = 'WebAssembly.Table()';

const INTERNAL: unique symbol = Symbol('internal');


/** A table's element type in error messages: funcref or externref (the family of a typed reference). */
function elementName(t: number): string {
  return valTypeName(t) === 'anyfunc' ? 'funcref' : valTypeName(t);
}

function parseElementType(v: unknown): ValType.FuncRef | ValType.ExternRef {
  const s = toDOMString(v);
  if (s === 'anyfunc') return ValType.FuncRef; // (as V8: not 'funcref')
  if (s === 'externref') return ValType.ExternRef;
  throw new TypeError(`${CTX}: Descriptor property 'element' must be a WebAssembly reference type`);
}

let pendingRuntime: TableStorage | null = null;

// Set by the class's static block (private-field access for this module's functions).
let brand: (v: unknown) => boolean;
let storageOf: (t: Table) => TableStorage;

export class Table {
  readonly #table: TableStorage;

  constructor(descriptor: unknown, ...rest: unknown[]) {
    if (new.target === undefined) throw new TypeError(`${CTX} must be invoked with 'new'`);
    if ((descriptor as unknown) === INTERNAL && pendingRuntime !== null) {
      this.#table = pendingRuntime;
      pendingRuntime = null;
      this.#table.jsObject = this;
      return;
    }
    if (descriptor !== undefined && descriptor !== null && typeof descriptor !== 'object' && typeof descriptor !== 'function') {
      throw new TypeError(`${CTX}: Argument 0 must be a table descriptor`);
    }
    const d = (descriptor ?? {}) as Record<string, unknown>;
    // Dictionary conversion (members in lexicographic order), then the constructor steps.
    const index64 = readAddressType(d, CTX);
    const elementRaw = d.element;
    if (elementRaw === undefined) throw new TypeError(`${CTX}: Property 'element' is required`);
    const elemType = parseElementType(elementRaw);
    const initialRaw = d.initial;
    if (initialRaw === undefined) throw new TypeError(`${CTX}: Property 'initial' is required`);
    const maximumRaw = d.maximum;
    const initial = addressValueToU64(initialRaw, index64, `${CTX}: Property 'initial'`);
    let maximum: number | null = null;
    if (maximumRaw !== undefined) maximum = addressValueToU64(maximumRaw, index64, `${CTX}: Property 'maximum'`);
    if (maximum !== null && maximum < initial) {
      throw new RangeError(`${CTX}: Property 'maximum': value ${maximum} is below the lower bound ${initial}`);
    }
    const value = rest[0];
    const raw = value === undefined ? defaultRawValue(elemType) : toWebAssemblyValue(value, elemType);
    if (initial > TABLE_MAX_ELEMENTS) {
      throw new RangeError(`${CTX}: Property 'initial': value ${initial} is above the upper bound ${TABLE_MAX_ELEMENTS}`);
    }
    this.#table = new TableStorage({ elemType, initial, maximum, index64, init: raw as number });
    this.#table.keep(value);
    this.#table.jsObject = this;
  }

  get length(): number | bigint {
    const t = this.#table;
    return u64ToAddressValue(t.length, t.index64);
  }

  grow(delta: unknown, ...rest: unknown[]): number | bigint {
    const t = this.#table;
    const d = addressValueToU64(delta, t.index64, 'WebAssembly.Table.grow(): Argument 0');
    const value = rest[0];
    // exnref: JS cannot make one; an explicit argument (even undefined) is refused, as V8 does
    if (rest.length > 0 && isExnType(t.elemType)) throw new TypeError(`WebAssembly.Table.grow(): Argument 1 is invalid: invalid type ${exnValueType(value)}`);
    const raw = value === undefined ? defaultRawValue(t.elemType) : toCanonicalValue(value, t.elemType);
    const r = t.grow(d, raw as number);
    if (r >= 0) t.keep(value);
    if (r < 0) throw new RangeError(`WebAssembly.Table.grow(): failed to grow table by ${d}`);
    return u64ToAddressValue(r, t.index64);
  }

  get(index: unknown): unknown {
    const t = this.#table;
    const i = addressValueToU64(index, t.index64, 'WebAssembly.Table.get(): Argument 0');
    if (i >= t.length) throw new RangeError(`WebAssembly.Table.get(): invalid address ${i} in ${elementName(t.elemType)} table of size ${t.length}`);
    if (isExnType(t.elemType)) throw new TypeError('WebAssembly.Table.get(): invalid type exnref');
    return toJSValue(t.get(i), t.elemType, t);
  }

  set(index: unknown, ...rest: unknown[]): void {
    const t = this.#table;
    const i = addressValueToU64(index, t.index64, 'WebAssembly.Table.set(): Argument 0');
    const value = rest[0];
    if (isExnType(t.elemType)) {
      // (V8: the address is checked first here, and an explicit undefined is a value JS cannot give)
      if (i >= t.length) throw new RangeError(`WebAssembly.Table.set(): invalid address ${i} in ${elementName(t.elemType)} table of size ${t.length}`);
      if (rest.length > 0) throw new TypeError(`WebAssembly.Table.set(): Argument 1 is invalid for table: invalid type ${exnValueType(value)}`);
    }
    const raw = value === undefined ? defaultRawValue(t.elemType) : toCanonicalValue(value, t.elemType);
    if (i >= t.length) throw new RangeError(`WebAssembly.Table.set(): invalid address ${i} in ${elementName(t.elemType)} table of size ${t.length}`);
    t.set(i, raw as number);
    t.keep(value);
  }

  /** Type reflection: { element, minimum, maximum?, index }. */
  type(): { element: string; minimum: number | bigint; maximum?: number | bigint; index: 'i32' | 'i64' } {
    const t = this.#table;
    const r: { element: string; minimum: number | bigint; maximum?: number | bigint; index: 'i32' | 'i64' } = {
      element: valTypeName(t.elemType), // 'anyfunc' for every function reference type (V8's name)
      minimum: u64ToAddressValue(t.length, t.index64),
      index: t.index64 ? 'i64' : 'i32',
    };
    if (t.maximum !== null) r.maximum = u64ToAddressValue(t.maximum, t.index64);
    return r;
  }

  // Internals for this module's functions below (not members: V8's Table has no such statics or symbols).
  static {
    brand = (v) => typeof v === 'object' && v !== null && #table in v;
    storageOf = (t) => t.#table;
  }
}

Object.defineProperty(Table.prototype, Symbol.toStringTag, { value: 'WebAssembly.Table', configurable: true });
webIdlInterface(Table, 1, ['length', 'grow', 'set', 'get']);


/** Whether `v` is a Table object (a private brand check: no user code runs). */
export function isTable(v: unknown): v is Table {
  return brand(v);
}

/** The TableStorage of a Table object (TypeError if `t` is not one). */
export function getTableStorage(t: unknown): TableStorage {
  if (!isTable(t)) throw new TypeError('not a WebAssembly.Table');
  return storageOf(t);
}

/** The unique Table object of a TableStorage (created on first use). */
export function tableFromRuntime(t: TableStorage): Table {
  const existing = t.jsObject as Table | null;
  if (existing !== null) return existing;
  pendingRuntime = t;
  try {
    return new Table(INTERNAL);
  } finally {
    pendingRuntime = null;
  }
}
