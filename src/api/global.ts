// WebAssembly.Global, backed by a runtime GlobalCell (a native 16-byte cell whose address the Instance puts
// in its vmctx).

import { toCanonicalValue } from './typed-refs.js';
import { ValType } from '../decode/types.js';
import { GlobalCell } from '../runtime/global-cell.js';
import {
  defaultRawValue, exnValueType, isExnType, parseValType, readCellRaw, toDOMString, toJSValue, toWebAssemblyValue, valTypeName,
  writeCellRaw,
} from '../runtime/js-values.js';
import { webIdlInterface } from './webidl.js';

const CTX = 'WebAssembly.Global()';

const INTERNAL: unique symbol = Symbol('internal');


let pendingRuntime: GlobalCell | null = null;

// Set by the class's static block (private-field access for this module's functions).
let brand: (v: unknown) => boolean;
let cellOf: (g: Global) => GlobalCell;

export class Global {
  readonly #cell: GlobalCell;

  constructor(descriptor: unknown, ...rest: unknown[]) {
    if (new.target === undefined) throw new TypeError(`${CTX} must be invoked with 'new'`);
    if ((descriptor as unknown) === INTERNAL && pendingRuntime !== null) {
      this.#cell = pendingRuntime;
      pendingRuntime = null;
      this.#cell.jsObject = this;
      return;
    }
    if (descriptor !== undefined && descriptor !== null && typeof descriptor !== 'object' && typeof descriptor !== 'function') {
      throw new TypeError(`${CTX}: Argument 0 must be a global descriptor`);
    }
    const d = (descriptor ?? {}) as Record<string, unknown>;
    // Dictionary conversion: 'mutable' then 'value'.
    const mutable = Boolean(d.mutable);
    const typeRaw = d.value;
    if (typeRaw === undefined) throw new TypeError(`${CTX}: Property 'value' is required`);
    const type = parseValType(toDOMString(typeRaw));
    if (type === undefined) {
      throw new TypeError(`${CTX}: Descriptor property 'value' must be a WebAssembly type`);
    }
    if (type === ValType.V128) throw new TypeError(`${CTX}: a v128 global cannot be created from JS`);
    const v = rest[0];
    // exnref: made with its default (null) only; JS can pass no value (V8's messages).
    if (isExnType(type) && v !== undefined) throw new TypeError(`${CTX}: invalid type ${exnValueType(v)}`);
    const raw = v === undefined ? defaultRawValue(type) : toWebAssemblyValue(v, type);
    const cell = GlobalCell.allocate(type, mutable);
    writeCellRaw(cell, raw);
    cell.keep(v);
    this.#cell = cell;
    cell.jsObject = this;
  }

  get value(): unknown {
    return this.#read('get WebAssembly.Global.value)');
  }

  set value(v: unknown) {
    const cell = this.#cell;
    // (V8's messages, its context string and type names included: a program can see them)
    const C = 'set WebAssembly.Global.value)';
    if (!cell.mutable) throw new TypeError(`${C}: Can't set the value of an immutable global.`);
    if (cell.type === ValType.V128) throw new TypeError(`${C}: Can't set the value of s128 WebAssembly.Global`);
    if (isExnType(cell.type)) throw new TypeError(`${C}: invalid type ${exnValueType(v)}`);
    writeCellRaw(cell, toCanonicalValue(v, cell.type));
    cell.keep(v);
  }

  valueOf(): unknown {
    return this.#read('WebAssembly.Global.valueOf()');
  }

  #read(context: string): unknown {
    const cell = this.#cell;
    if (cell.type === ValType.V128) throw new TypeError(`${context}: Can't get the value of s128 WebAssembly.Global`);
    if (isExnType(cell.type)) throw new TypeError(`${context}: invalid type exnref`);
    return toJSValue(readCellRaw(cell), cell.type, cell);
  }

  /** Type reflection: { mutable, value }. */
  type(): { mutable: boolean; value: string } {
    const cell = this.#cell;
    return { mutable: cell.mutable, value: valTypeName(cell.type) };
  }

  // Internals for this module's functions below (not members: V8's Global has no such statics or symbols).
  static {
    brand = (v) => typeof v === 'object' && v !== null && #cell in v;
    cellOf = (g) => g.#cell;
  }
}

Object.defineProperty(Global.prototype, Symbol.toStringTag, { value: 'WebAssembly.Global', configurable: true });
webIdlInterface(Global, 1, ['valueOf', 'value']);


/** Whether `v` is a Global object (a private brand check: no user code runs). */
export function isGlobal(v: unknown): v is Global {
  return brand(v);
}

/** The GlobalCell of a Global object (TypeError if `g` is not one). */
export function getGlobalCell(g: unknown): GlobalCell {
  if (!isGlobal(g)) throw new TypeError('not a WebAssembly.Global');
  return cellOf(g);
}

/** The unique Global object of a GlobalCell (created on first use). */
export function globalFromRuntime(cell: GlobalCell): Global {
  const existing = cell.jsObject as Global | null;
  if (existing !== null) return existing;
  pendingRuntime = cell;
  try {
    return new Global(INTERNAL);
  } finally {
    pendingRuntime = null;
  }
}

/** Alias of globalFromRuntime. */
export const globalFromCell = globalFromRuntime;
