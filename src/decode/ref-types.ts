// Value types as plain numbers, references included (Wasm 3.0: typed function references, exceptions, and the
// GC heap types that a later issue implements). The compiler keeps operand types in an Int32Array, so a type
// must be one int32 that needs no allocation and compares with ===:
//
//   numeric types         their binary code: i32 0x7f, i64 0x7e, f32 0x7d, f64 0x7c, v128 0x7b
//   (ref null <abstract>) the one-byte shorthand of the heap type, e.g. funcref 0x70, externref 0x6f,
//                         exnref 0x69, nullexnref 0x74 (so Wasm 2.0 code comparing with ValType.FuncRef holds)
//   (ref <abstract>)      the same | REF_NON_NULL (0x100)
//   (ref null $t)         REF_CONCRETE (0x200) | t << CONCRETE_SHIFT; (ref $t) also | REF_NON_NULL
//
// Heap types are the same numbers without REF_NON_NULL: an abstract one is its shorthand byte, a concrete one
// REF_CONCRETE | t << 10 (type indices are below 2^20, V8's limit is 1,000,000 types, so this stays positive).
// 0 is never a type (the compiler's T_BOTTOM of unreachable code).

import type { Features } from './features.js';
import type { FuncType } from './types.js';
import { isSubConcrete } from './gc-types.js';

/** Abstract heap types, by the binary code of their shorthand reference type. */
export const enum Heap {
  Func = 0x70,
  Extern = 0x6f,
  Any = 0x6e,
  Eq = 0x6d,
  I31 = 0x6c,
  Struct = 0x6b,
  Array = 0x6a,
  Exn = 0x69,
  NoExn = 0x74,
  NoFunc = 0x73,
  NoExtern = 0x72,
  None = 0x71,
}

export const REF_NON_NULL = 0x100;
export const REF_CONCRETE = 0x200;
export const CONCRETE_SHIFT = 10;
/**
 * A concrete heap type's low byte is its kind (gc-types.ts TypeKind: 0 func, 1 struct, 2 array), so that the
 * hierarchy of a concrete type (func or any) is known from the number alone, module-relative or canonical.
 */
export const KIND_MASK = 0xff;
/** Most types a module may declare (V8's limit), so that a concrete reference fits an int32. */
export const MAX_TYPES = 1_000_000;

/** Nullable reference shorthands by name, for code that builds types (exnref and nullexnref: exceptions). */
export const EXNREF = Heap.Exn as number;
export const NULLEXNREF = Heap.NoExn as number;
export const NULLFUNCREF = Heap.NoFunc as number;
export const NULLEXTERNREF = Heap.NoExtern as number;

export function refType(heap: number, nullable: boolean): number {
  return nullable ? heap : heap | REF_NON_NULL;
}

export function concreteHeap(typeIndex: number, kind = 0): number {
  return REF_CONCRETE | (typeIndex << CONCRETE_SHIFT) | kind;
}

/** The concrete heap type of a module's type index (with its kind). */
export function typeHeap(typeIndex: number, types: readonly FuncType[]): number {
  return REF_CONCRETE | (typeIndex << CONCRETE_SHIFT) | (types[typeIndex]?.kind ?? 0);
}

export function isRefType(t: number): boolean {
  return t >= REF_NON_NULL || (t >= Heap.Exn && t <= Heap.NoExn);
}

/** A reference type's heap type (the type without its null-ness). */
export function heapOf(t: number): number {
  return t & ~REF_NON_NULL;
}

export function isNullable(t: number): boolean {
  return (t & REF_NON_NULL) === 0;
}

/** Type index of a concrete heap or reference type, or -1 for an abstract one. */
export function concreteIndex(t: number): number {
  return t & REF_CONCRETE ? t >>> CONCRETE_SHIFT : -1;
}

/** Whether a local of this type has a default value (non-null references have none). */
export function isDefaultable(t: number): boolean {
  return (t & REF_NON_NULL) === 0;
}

/** The top of the heap type's hierarchy: func, extern, exn or any. */
export function topHeap(heap: number): number {
  if (heap & REF_CONCRETE) return (heap & KIND_MASK) === 0 ? Heap.Func : Heap.Any;
  switch (heap) {
    case Heap.Func:
    case Heap.NoFunc:
      return Heap.Func;
    case Heap.Extern:
    case Heap.NoExtern:
      return Heap.Extern;
    case Heap.Exn:
    case Heap.NoExn:
      return Heap.Exn;
    default:
      return Heap.Any;
  }
}

/** A reference type's family at the JS boundary and in storage: funcref, externref, exnref or anyref. */
export function refTop(t: number): number {
  return topHeap(t & ~REF_NON_NULL);
}

/** Whether the heap type is the bottom of its hierarchy (only null is a value of (ref null none-like)). */
export function isBottomHeap(heap: number): boolean {
  return heap === Heap.NoFunc || heap === Heap.NoExtern || heap === Heap.NoExn || heap === Heap.None;
}

/** The bottom of the heap type's hierarchy: nofunc, noextern, noexn or none (the type of ref.null). */
export function bottomHeap(heap: number): number {
  switch (topHeap(heap)) {
    case Heap.Func:
      return Heap.NoFunc;
    case Heap.Extern:
      return Heap.NoExtern;
    case Heap.Exn:
      return Heap.NoExn;
    default:
      return Heap.None;
  }
}

/**
 * Heap subtyping: a <: b. `types` are the module's types (concrete types: declared supertype chains, compared by
 * canonical id); null for canonical (process-wide, see compile/signatures.ts canonicalType) type numbers.
 */
export function isSubHeap(a: number, b: number, types: readonly FuncType[] | null): boolean {
  if (a === b) return true;
  if (a & REF_CONCRETE) {
    if (b & REF_CONCRETE) return isSubConcrete(a >>> CONCRETE_SHIFT, b >>> CONCRETE_SHIFT, types);
    switch (a & KIND_MASK) {
      case 0: return b === Heap.Func;
      case 1: return b === Heap.Struct || b === Heap.Eq || b === Heap.Any;
      default: return b === Heap.Array || b === Heap.Eq || b === Heap.Any;
    }
  }
  switch (a) {
    case Heap.NoFunc:
      return b === Heap.Func || ((b & REF_CONCRETE) !== 0 && (b & KIND_MASK) === 0);
    case Heap.NoExtern:
      return b === Heap.Extern;
    case Heap.NoExn:
      return b === Heap.Exn;
    case Heap.None:
      return b === Heap.Any || b === Heap.Eq || b === Heap.I31 || b === Heap.Struct || b === Heap.Array ||
        ((b & REF_CONCRETE) !== 0 && (b & KIND_MASK) !== 0);
    case Heap.I31:
    case Heap.Struct:
    case Heap.Array:
      return b === Heap.Eq || b === Heap.Any;
    case Heap.Eq:
      return b === Heap.Any;
  }
  return false;
}

/**
 * Value subtyping: a <: b. Equal types always are; a reference type is a subtype of another when its heap
 * type is and it is not nullable where the other is not. Numeric types only match themselves.
 */
export function isSubtype(a: number, b: number, types: readonly FuncType[] | null): boolean {
  if (a === b) return true;
  if (!isRefType(a) || !isRefType(b)) return false;
  if ((a & REF_NON_NULL) === 0 && (b & REF_NON_NULL) !== 0) return false;
  return isSubHeap(a & ~REF_NON_NULL, b & ~REF_NON_NULL, types);
}

/** Types equal up to canonicalisation (concrete types with the same structure are the same type). */
export function typesEqual(a: number, b: number, types: readonly FuncType[] | null): boolean {
  return a === b || (isSubtype(a, b, types) && isSubtype(b, a, types));
}

const HEAP_NAMES: Readonly<Record<number, string>> = {
  [Heap.Func]: 'func',
  [Heap.Extern]: 'extern',
  [Heap.Any]: 'any',
  [Heap.Eq]: 'eq',
  [Heap.I31]: 'i31',
  [Heap.Struct]: 'struct',
  [Heap.Array]: 'array',
  [Heap.Exn]: 'exn',
  [Heap.NoExn]: 'noexn',
  [Heap.NoFunc]: 'nofunc',
  [Heap.NoExtern]: 'noextern',
  [Heap.None]: 'none',
};

const SHORTHANDS: Readonly<Record<number, string>> = {
  [Heap.Func]: 'funcref',
  [Heap.Extern]: 'externref',
  [Heap.Any]: 'anyref',
  [Heap.Eq]: 'eqref',
  [Heap.I31]: 'i31ref',
  [Heap.Struct]: 'structref',
  [Heap.Array]: 'arrayref',
  [Heap.Exn]: 'exnref',
  [Heap.NoExn]: 'nullexnref',
  [Heap.NoFunc]: 'nullfuncref',
  [Heap.NoExtern]: 'nullexternref',
  [Heap.None]: 'nullref',
};

export function heapText(heap: number): string {
  if (heap & REF_CONCRETE) return String(heap >>> CONCRETE_SHIFT);
  return HEAP_NAMES[heap] ?? `<heap 0x${heap.toString(16)}>`;
}

/** Text-format name of a reference type: funcref, (ref func), (ref null 3), ... */
export function refTypeText(t: number): string {
  if (!(t & REF_NON_NULL) && !(t & REF_CONCRETE) && SHORTHANDS[t] !== undefined) return SHORTHANDS[t];
  return `(ref ${t & REF_NON_NULL ? '' : 'null '}${heapText(t & ~REF_NON_NULL)})`;
}

// ---- binary decoding ----

/** The part of a byte reader the type decoder uses (both the module decoder's and the compiler's). */
export interface TypeReader {
  pos: number;
  u8(): number;
  s33(): number;
  error(message: string, offset?: number): never;
}

function gcHeap(code: number): boolean {
  return code === Heap.Any || code === Heap.Eq || code === Heap.I31 || code === Heap.Struct || code === Heap.Array || code === Heap.None;
}

/**
 * Checks that an abstract heap type code is enabled by the features; the error names what is missing.
 * Returns the code.
 */
function abstractHeap(r: TypeReader, code: number, features: Features, pos: number, what: string): number {
  switch (code) {
    case Heap.Func:
      return code;
    case Heap.Extern:
      if (features.referenceTypes) return code;
      break;
    case Heap.NoFunc:
    case Heap.NoExtern:
      if (features.typedFunctionReferences) return code;
      break;
    case Heap.Exn:
    case Heap.NoExn:
      if (features.exceptions) return code;
      break;
    default:
      // GC's abstract heap types (any, eq, i31, struct, array, none): enabled with typed references
      if (gcHeap(code) && features.typedFunctionReferences) return code;
  }
  return r.error(`malformed ${what}`, pos);
}

/**
 * Reads a heap type (s33: a negative value is an abstract type's code, a non-negative one a type index that
 * must be below `numTypes`).
 */
export function readHeapType(r: TypeReader, features: Features, types: readonly FuncType[], limit = types.length): number {
  const pos = r.pos;
  const h = r.s33();
  if (h >= 0) {
    if (h >= limit) r.error(`unknown type ${h}`, pos);
    // a type of the group being read (not yet in `types`) gets its kind when the group is complete
    return concreteHeap(h, h < types.length ? types[h].kind ?? 0 : 0);
  }
  // a one-byte negative s33 is the code's 7 bits; anything else is no heap type
  if (h < -64) r.error('malformed heap type', pos);
  return abstractHeap(r, h & 0x7f, features, pos, 'heap type');
}

/**
 * Reads a value type: a numeric type, an abstract shorthand, or 0x63/0x64 (ref null ht / ref ht) with a heap
 * type. `limit` (default: all of `types`) bounds concrete type indices. `refOnly` (table and element types)
 * rejects numeric types with 'malformed reference type'.
 */
export function readValType(r: TypeReader, features: Features, types: readonly FuncType[], refOnly = false, limit = types.length): number {
  const pos = r.pos;
  const b = r.u8();
  switch (b) {
    case 0x7f:
    case 0x7e:
    case 0x7d:
    case 0x7c:
      if (!refOnly) return b;
      break;
    case 0x7b:
      if (!refOnly && features.simd) return b;
      break;
    case 0x63:
    case 0x64:
      if (!features.typedFunctionReferences) break;
      return refType(readHeapType(r, features, types, limit), b === 0x63);
    default:
      if (HEAP_NAMES[b] !== undefined) return abstractHeap(r, b, features, pos, refOnly ? 'reference type' : 'value type');
  }
  // The reference interpreter reads value types as 7-bit signed LEBs: a continuation bit means "too long".
  return r.error(b & 0x80 ? 'integer representation too long' : refOnly ? 'malformed reference type' : 'malformed value type', pos);
}
