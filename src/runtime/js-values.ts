// Conversions between JS values and raw wasm values, as the JS API defines them (ToWebAssemblyValue,
// ToJSValue, AddressValueToU64, U64ToAddressValue), plus raw access to global cells by type.
//
// Raw wasm values in JS: i32 -> number (int32), i64 -> bigint (signed), f32 -> number (already rounded to
// f32), f64 -> number, funcref -> FuncRecord address (0 = null), externref -> handle id (0 = null).

import { ValType } from '../decode/types.js';
import { Heap, KIND_MASK, REF_CONCRETE, REF_NON_NULL, isBottomHeap, isRefType, refTop } from '../decode/ref-types.js';
import { objectKind } from './gc-heap.js';
import type { GlobalCell } from './global-cell.js';
import { externToId, funcRecordToJs, idToExtern, jsToFuncRecord } from './refs.js';

export type RawValue = number | bigint;

/** The JS API name of a value type ('i32', ..., 'anyfunc', 'externref'). */
export function valTypeName(t: ValType): string {
  switch (t) {
    case ValType.I32: return 'i32';
    case ValType.I64: return 'i64';
    case ValType.F32: return 'f32';
    case ValType.F64: return 'f64';
    case ValType.V128: return 'v128';
    case ValType.FuncRef: return 'anyfunc';
    case ValType.ExternRef: return 'externref';
  }
  if (isRefType(t)) return refTop(t) === Heap.Func ? 'anyfunc' : refTop(t) === Heap.Extern ? 'externref' : refTop(t) === Heap.Any ? 'anyref' : 'exnref';
  return `<type 0x${(t as number).toString(16)}>`;
}

/** WebIDL DOMString conversion (TypeError for symbols). */
export function toDOMString(v: unknown): string {
  return `${v as string}`;
}

/** ToValueType over a JS string: undefined for an unknown name. As V8: 'anyfunc' (the JS API's name), not 'funcref'; 'exnref' (which JS can neither read nor write). */
export function parseValType(s: string): ValType | undefined {
  switch (s) {
    case 'i32': return ValType.I32;
    case 'i64': return ValType.I64;
    case 'f32': return ValType.F32;
    case 'f64': return ValType.F64;
    case 'v128': return ValType.V128;
    case 'anyfunc': return ValType.FuncRef;
    case 'externref': return ValType.ExternRef;
    case 'anyref': return Heap.Any as number as ValType;
    case 'eqref': return Heap.Eq as number as ValType;
    case 'i31ref': return Heap.I31 as number as ValType;
    case 'structref': return Heap.Struct as number as ValType;
    case 'arrayref': return Heap.Array as number as ValType;
    case 'exnref': return EXNREF_TYPES[0];
  }
  return undefined;
}

/** ToPrimitive(v, number). */
function toPrimitiveNumber(v: object): unknown {
  const exotic = (v as { [Symbol.toPrimitive]?: unknown })[Symbol.toPrimitive];
  if (exotic !== undefined && exotic !== null) {
    if (typeof exotic !== 'function') throw new TypeError('Symbol.toPrimitive is not a function');
    const r = exotic.call(v, 'number');
    if ((typeof r === 'object' && r !== null) || typeof r === 'function') throw new TypeError('Cannot convert object to primitive value');
    return r;
  }
  for (const name of ['valueOf', 'toString'] as const) {
    const f = (v as Record<string, unknown>)[name];
    if (typeof f === 'function') {
      const r = f.call(v);
      if (!((typeof r === 'object' && r !== null) || typeof r === 'function')) return r;
    }
  }
  throw new TypeError('Cannot convert object to primitive value');
}

/** ECMAScript ToBigInt (TypeError for Numbers, SyntaxError for unparsable strings). */
export function toBigInt(v: unknown): bigint {
  if ((typeof v === 'object' && v !== null) || typeof v === 'function') v = toPrimitiveNumber(v as object);
  switch (typeof v) {
    case 'bigint': return v;
    case 'boolean': return v ? 1n : 0n;
    case 'string': return BigInt(v);
    default: throw new TypeError(`Cannot convert ${typeof v === 'symbol' ? 'a Symbol' : String(v)} to a BigInt`);
  }
}

/** ToBigInt64. */
export function toBigInt64(v: unknown): bigint {
  return BigInt.asIntN(64, toBigInt(v));
}

/** ToWebAssemblyValue: throws a TypeError for v128 and for values that do not fit the type. */
export function toWebAssemblyValue(v: unknown, type: ValType): RawValue {
  switch (type) {
    case ValType.I32: return (v as number) | 0;
    case ValType.I64: return toBigInt64(v);
    case ValType.F32: return Math.fround(+(v as number));
    case ValType.F64: return +(v as number);
    case ValType.ExternRef: return externToId(v);
    case ValType.FuncRef: {
      if (v === null) return 0;
      const rec = jsToFuncRecord(v);
      if (rec === undefined) throw new TypeError('type incompatibility when transforming from/to JS: value is not a WebAssembly function (or null)');
      return rec;
    }
    case ValType.V128: throw new TypeError('type incompatibility when transforming from/to JS: v128');
  }
  if (isRefType(type)) return typedRefToWasm(v, type);
  throw new TypeError(`unsupported value type 0x${(type as number).toString(16)}`);
}

/**
 * ToWebAssemblyValue for the reference types other than funcref and externref: a non-null type refuses null,
 * a bottom type (nullfuncref, ...) accepts only null. A concrete function type accepts any wasm function
 * (its signature is not checked here: the type index belongs to a module this function does not see).
 */
function typedRefToWasm(v: unknown, type: number): RawValue {
  const top = refTop(type);
  if (v === null) {
    if (type & REF_NON_NULL) throw new TypeError('type incompatibility when transforming from/to JS');
    if (top === Heap.Func || top === Heap.Extern) return top === Heap.Extern ? externToId(null) : 0;
    if (top === Heap.Any) return 0;
  } else if (!isBottomHeap(type & ~REF_NON_NULL)) {
    if (top === Heap.Func) return toWebAssemblyValue(v, ValType.FuncRef);
    if (top === Heap.Extern) return externToId(v);
    // the any hierarchy: an i31, a GC object or a host value (refs.ts), which must be of the heap type
    if (top === Heap.Any) {
      const word = externToId(v);
      if (anyWordMatches(word, type & ~REF_NON_NULL)) return word;
    }
  }
  throw new TypeError('type incompatibility when transforming from/to JS');
}

/**
 * Whether an any-hierarchy word (refs.ts) is a value of heap type `heap`. A concrete type's exact type is not
 * checked here (the number may be a module's index or a canonical id): a GC object of its kind is accepted.
 */
function anyWordMatches(word: number, heap: number): boolean {
  const tag = word % 4;
  const isI31 = tag === 1 || tag === 3;
  const isObject = tag === 0;
  if (heap & REF_CONCRETE) return isObject && objectKind(word) === (heap & KIND_MASK);
  switch (heap) {
    case Heap.Any: return true;
    case Heap.Eq: return isI31 || isObject;
    case Heap.I31: return isI31;
    case Heap.Struct: return isObject && objectKind(word) === 1;
    case Heap.Array: return isObject && objectKind(word) === 2;
    default: return false;
  }
}

/**
 * ToJSValue. `hint`: where a funcref value was read from (a table, a global cell, an instance), to find the
 * instance that owns it.
 */
export function toJSValue(raw: RawValue, type: ValType, hint?: unknown): unknown {
  switch (type) {
    case ValType.I32: return (raw as number) | 0;
    case ValType.I64: return typeof raw === 'bigint' ? BigInt.asIntN(64, raw) : BigInt(raw);
    case ValType.F32: return Math.fround(raw as number);
    case ValType.F64: return raw as number;
    case ValType.ExternRef: return idToExtern(raw as number);
    case ValType.FuncRef: return funcRecordToJs(raw as number, hint);
    case ValType.V128: throw new TypeError('type incompatibility when transforming from/to JS: v128');
  }
  if (isRefType(type)) {
    const top = refTop(type);
    if (top === Heap.Func) return funcRecordToJs(raw as number, hint);
    if (top === Heap.Extern || top === Heap.Any) return idToExtern(raw as number);
  }
  throw new TypeError(`unsupported value type 0x${(type as number).toString(16)}`);
}

/** The default value of a type when a JS API call omits it (externref: undefined; others: zero / null). */
export function defaultRawValue(type: ValType): RawValue {
  // a non-nullable reference has no default: the value must be given
  if (type & REF_NON_NULL) throw new TypeError('type incompatibility when transforming from/to JS');
  switch (type) {
    case ValType.I64: return 0n;
    case ValType.ExternRef: return externToId(undefined);
    default: return 0;
  }
}

/** Whether `t` is exnref, nullexnref or a non-null (ref exn): a type JS can neither read nor write. */
export function isExnType(t: ValType): boolean {
  return isRefType(t) && refTop(t) === Heap.Exn;
}

/** The type V8 names when a JS value is refused for an exnref (its message depends on the value). */
export function exnValueType(v: unknown): string {
  return v === null ? '(ref null exn)' : '(ref exn)';
}

/** exnref and nullexnref (exception handling): internal values, never converted to or from JS. */
const EXNREF_TYPES = [0x69 as ValType, 0x74 as ValType] as const;

/** Read a global cell as a raw value of its type. */
export function readCellRaw(cell: GlobalCell): RawValue {
  if (isRefType(cell.type)) return cell.getRef();
  switch (cell.type) {
    case ValType.I32: return cell.getI32();
    case ValType.I64: return cell.getI64();
    case ValType.F32: return cell.getF32();
    case ValType.F64: return cell.getF64();
    case ValType.FuncRef: case ValType.ExternRef: return cell.getRef();
    case EXNREF_TYPES[0]: case EXNREF_TYPES[1]: return cell.getRef(); // exnref, nullexnref: initialisers only
    case ValType.V128: { // internal raw form (const expressions): the 16 bytes as an unsigned little-endian bigint
      const b = cell.getV128();
      let v = 0n;
      for (let k = 15; k >= 0; k--) v = (v << 8n) | BigInt(b[k]);
      return v;
    }
  }
  throw new TypeError(`cannot read a global of type ${valTypeName(cell.type)} from JS`);
}

/** Write a raw value of the cell's type. */
export function writeCellRaw(cell: GlobalCell, raw: RawValue): void {
  if (isRefType(cell.type)) {
    cell.setRef(raw as number);
    return;
  }
  switch (cell.type) {
    case ValType.I32: cell.setI32(raw as number); return;
    case ValType.I64: cell.setI64(typeof raw === 'bigint' ? raw : BigInt(raw)); return;
    case ValType.F32: cell.setF32(raw as number); return;
    case ValType.F64: cell.setF64(raw as number); return;
    case ValType.FuncRef: case ValType.ExternRef: cell.setRef(raw as number); return;
    case EXNREF_TYPES[0]: case EXNREF_TYPES[1]: cell.setRef(raw as number); return;
    case ValType.V128: {
      let v = BigInt.asUintN(128, BigInt(raw));
      const b = new Uint8Array(16);
      for (let k = 0; k < 16; k++, v >>= 8n) b[k] = Number(v & 0xffn);
      cell.setV128(b);
      return;
    }
  }
  throw new TypeError(`cannot write a global of type ${valTypeName(cell.type)} from JS`);
}

const TWO64 = 2n ** 64n;

/**
 * AddressValueToU64. i32: [EnforceRange] unsigned long (TypeError when not finite or outside [0, 2^32-1]).
 * i64: ToBigInt, TypeError outside [0, 2^64-1]; integral Numbers are accepted too (a leniency: the spec
 * requires a BigInt). Returns a Number (exact up to 2^53; larger i64 values are approximations, which is
 * fine: they exceed every limit).
 */
export function addressValueToU64(v: unknown, index64: boolean, what: string): number {
  if (!index64 || typeof v === 'number') {
    const x = +(v as number);
    if (!Number.isFinite(x)) throw new TypeError(`${what} must be convertible to a valid number`);
    const t = Math.trunc(x);
    const max = index64 ? 2 ** 64 - 1 : 2 ** 32 - 1;
    // (V8's messages)
    if (index64 && (t < 0 || t > max)) throw new TypeError(`${what} must be in u64 range`);
    if (t < 0) throw new TypeError(`${what} must be non-negative`);
    if (t > max) throw new TypeError(`${what} must be in the unsigned long range`);
    return t === 0 ? 0 : t;
  }
  const n = toBigInt(v);
  if (n < 0n || n >= TWO64) throw new TypeError(`${what} must be in u64 range`);
  return Number(n);
}

/** U64ToAddressValue: a Number for i32, a BigInt for i64. */
export function u64ToAddressValue(n: number, index64: boolean): number | bigint {
  return index64 ? BigInt(n) : n;
}
