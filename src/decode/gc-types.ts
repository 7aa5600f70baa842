// WebAssembly GC type definitions: recursion groups (`rec`), declared supertypes (`sub` / `sub final`), struct
// and array types with packed (i8, i16) and mutable fields, and their iso-recursive canonicalisation.
//
// Canonicalisation is process-wide (per thread: each isolate has its own registry). A recursion group's
// structure is written as a string in which a reference to a type of the same group is its relative index
// ("r2") and a reference to an earlier type the canonical id of that type ("c17"); every type gets
// key = "<group string>#<index in group>" and its canonical id is that key's number in the registry. Two types,
// of any modules, are the same type exactly when their keys (so their ids) are equal, which is the spec's rule:
// same group structure, same position. The ids are process-specific, so a restored ModuleInfo (code cache,
// module transfer) is canonicalised again from the structure (`recanonicalize`).
//
// The registry also keeps, per canonical id, its kind, declared supertype and depth, so that subtyping between
// canonical types (link-time checks on shared globals and tables, casts at run time) needs no module.

import type { ByteReader } from './reader.js';
import type { Features } from './features.js';
import type { FieldType, FuncType } from './types.js';
import { CONCRETE_SHIFT, Heap, KIND_MASK, REF_CONCRETE, REF_NON_NULL, isRefType, isSubtype, readValType, typesEqual } from './ref-types.js';

export const enum TypeKind {
  Func = 0,
  Struct = 1,
  Array = 2,
}

/** Packed storage types of struct and array fields (binary codes). */
export const PACKED_I8 = 0x78;
export const PACKED_I16 = 0x77;

/** Deepest supertype chain (V8's limit), so that a cast's display check stays bounded. */
export const MAX_SUBTYPING_DEPTH = 63;
/** Most fields per struct (V8's limit). */
export const MAX_STRUCT_FIELDS = 10_000;

export function isPacked(t: number): boolean {
  return t === PACKED_I8 || t === PACKED_I16;
}

/** The value type a field of storage type `t` reads as (packed fields: i32). */
export function unpackedType(t: number): number {
  return isPacked(t) ? 0x7f : t;
}

/** Bytes a field of storage type `t` takes in an object. */
export function storageSize(t: number): number {
  switch (t) {
    case PACKED_I8: return 1;
    case PACKED_I16: return 2;
    case 0x7f: case 0x7d: return 4;
    case 0x7b: return 16;
    default: return 8;
  }
}

export function kindOf(type: FuncType): TypeKind {
  return type.kind ?? TypeKind.Func;
}

// ---------------------------------------------------------------------------------------------------
// The canonical registry

interface CanonInfo {
  kind: TypeKind;
  /** Canonical id of the declared supertype, or 0. */
  superCanon: number;
  depth: number;
  final: boolean;
  /** Arrays: bytes per element. */
  elemSize: number;
}

const canonIds = new Map<string, number>();
const canonInfos: CanonInfo[] = [{ kind: TypeKind.Func, superCanon: 0, depth: 0, final: true, elemSize: 0 }]; // id 0: none

/** The canonical id of a key (registering it). Ids start at 1. */
export function canonIdOfKey(key: string, info?: CanonInfo): number {
  let id = canonIds.get(key);
  if (id === undefined) {
    id = canonInfos.length;
    canonIds.set(key, id);
    canonInfos.push(info ?? { kind: TypeKind.Func, superCanon: 0, depth: 0, final: true, elemSize: 0 });
  }
  return id;
}

/** The canonical id of a module type (hand-built types without one: by key). */
export function canonOf(type: FuncType): number {
  return type.canon ?? canonIdOfKey(type.key);
}

export function canonDepth(id: number): number {
  return canonInfos[id]?.depth ?? 0;
}

export function canonKind(id: number): TypeKind {
  return canonInfos[id]?.kind ?? TypeKind.Func;
}

export function canonElemSize(id: number): number {
  return canonInfos[id]?.elemSize ?? 0;
}

export function canonSuper(id: number): number {
  return canonInfos[id]?.superCanon ?? 0;
}

export function canonFinal(id: number): boolean {
  return canonInfos[id]?.final ?? true;
}

/** Whether canonical type a is canonical type b or declares it as a (transitive) supertype. */
export function isCanonSubtype(a: number, b: number): boolean {
  for (let t = a; t > 0; t = canonInfos[t].superCanon) if (t === b) return true;
  return false;
}

/** Concrete subtyping between module type indices: a's declared supertype chain reaches b's type. */
export function isSubConcrete(a: number, b: number, types: readonly FuncType[] | null): boolean {
  if (types === null) return isCanonSubtype(a, b);
  const tb = types[b];
  const cb = tb.canon;
  for (let t = a; t >= 0; ) {
    const tt = types[t];
    if (cb !== undefined ? tt.canon === cb : tt.key === tb.key) return true;
    t = tt.superIndex ?? -1;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Canonicalisation

function refPart(idx: number, types: readonly FuncType[], start: number, n: number): string {
  return idx >= start && idx < start + n ? 'r' + (idx - start) : 'c' + canonOf(types[idx]);
}

function valPart(t: number, types: readonly FuncType[], start: number, n: number): string {
  if (!(t & REF_CONCRETE)) return t.toString(16);
  return (t & REF_NON_NULL ? 'N' : 'n') + refPart(t >>> CONCRETE_SHIFT, types, start, n);
}

function shape(type: FuncType, types: readonly FuncType[], start: number, n: number): string {
  let s = (type.final ?? true ? 'f' : 's') + ((type.superIndex ?? -1) >= 0 ? refPart(type.superIndex!, types, start, n) : '-');
  const kind = kindOf(type);
  if (kind === TypeKind.Func) {
    s += 'F';
    for (const p of type.params) s += valPart(p, types, start, n) + ',';
    s += ':';
    for (const r of type.results) s += valPart(r, types, start, n) + ',';
  } else {
    s += kind === TypeKind.Struct ? 'S' : 'A';
    for (const f of type.fields!) s += (f.mutable ? 'm' : 'i') + valPart(f.type, types, start, n) + ',';
  }
  return s;
}

/** Give the types [start, start+n) of one recursion group their keys, canonical ids and depths. */
export function canonicalizeGroup(types: FuncType[], start: number, n: number): void {
  let group = '';
  for (let k = 0; k < n; k++) group += shape(types[start + k], types, start, n) + ';';
  for (let k = 0; k < n; k++) {
    const t = types[start + k];
    const sup = t.superIndex ?? -1;
    t.depth = sup >= 0 ? (types[sup].depth ?? 0) + 1 : 0;
    t.key = group + '#' + k;
    t.canon = canonIdOfKey(t.key, {
      kind: kindOf(t),
      superCanon: sup >= 0 ? types[sup].canon! : 0,
      depth: t.depth,
      final: t.final ?? true,
      elemSize: kindOf(t) === TypeKind.Array ? storageSize(t.fields![0].type) : 0,
    });
  }
}

/** Canonicalise every type again (a ModuleInfo restored from a snapshot made by another process or thread). */
export function recanonicalize(types: FuncType[]): void {
  for (let i = 0; i < types.length; ) {
    const n = types[i].recSize ?? 1;
    canonicalizeGroup(types, i, n);
    i += n;
  }
}

// ---------------------------------------------------------------------------------------------------
// Decoding

/** Reads one field type (storage type and mutability). */
function readFieldType(r: ByteReader, features: Features, types: readonly FuncType[], limit: number): FieldType {
  const b = r.peek();
  let type: number;
  if (b === PACKED_I8 || b === PACKED_I16) {
    r.pos++;
    type = b;
  } else type = readValType(r, features, types, false, limit);
  const mpos = r.pos;
  const m = r.u8();
  if (m > 1) r.error('malformed mutability', mpos);
  return { type, mutable: m === 1 };
}

/**
 * Reads a struct (0x5f) or array (0x5e) composite type whose form byte has been read, into `out`. `limit`: the
 * end of the current recursion group (types may refer to any type of their group).
 */
export function readStructOrArray(r: ByteReader, form: number, features: Features, types: readonly FuncType[], limit: number, out: FuncType): void {
  if (form === 0x5e) {
    out.kind = TypeKind.Array;
    out.fields = [readFieldType(r, features, types, limit)];
    return;
  }
  const at = r.pos;
  const n = r.u32();
  if (n > MAX_STRUCT_FIELDS) r.error(`struct type has ${n} fields, more than the limit of ${MAX_STRUCT_FIELDS}`, at);
  const fields: FieldType[] = [];
  for (let k = 0; k < n; k++) fields.push(readFieldType(r, features, types, limit));
  out.kind = TypeKind.Struct;
  out.fields = fields;
}

/** A reference to a type of the group being read got kind 0 (func) before that type existed: fix it. */
function fixKind(t: number, types: readonly FuncType[]): number {
  if (!(t & REF_CONCRETE)) return t;
  return (t & ~KIND_MASK) | kindOf(types[t >>> CONCRETE_SHIFT]);
}

/** After a group is read: give forward references inside it their kinds. */
export function fixGroupKinds(types: FuncType[], start: number, n: number): void {
  for (let k = start; k < start + n; k++) {
    const t = types[k];
    for (let i = 0; i < t.params.length; i++) t.params[i] = fixKind(t.params[i], types);
    for (let i = 0; i < t.results.length; i++) t.results[i] = fixKind(t.results[i], types);
    if (t.fields) for (const f of t.fields) f.type = fixKind(f.type, types);
  }
}

function fieldMatches(sub: FieldType, sup: FieldType, types: readonly FuncType[]): boolean {
  if (sub.mutable !== sup.mutable) return false;
  if (sub.mutable) return typesEqual(sub.type, sup.type, types);
  return isSubtype(sub.type, sup.type, types);
}

/** Whether type `sub` may declare `sup` as its supertype (same kind, structural match); null when it may. */
export function supertypeError(types: readonly FuncType[], sub: number, sup: number): string | null {
  const a = types[sub], b = types[sup];
  if (b.final ?? true) return 'sub type: supertype is final';
  if (kindOf(a) !== kindOf(b)) return 'sub type: supertype is of another kind';
  if ((b.depth ?? 0) + 1 > MAX_SUBTYPING_DEPTH) return 'sub type: subtyping depth too large';
  switch (kindOf(a)) {
    case TypeKind.Func: {
      if (a.params.length !== b.params.length || a.results.length !== b.results.length) return 'sub type: function types do not match';
      for (let k = 0; k < a.params.length; k++) if (!isSubtype(b.params[k], a.params[k], types)) return 'sub type: parameter types do not match';
      for (let k = 0; k < a.results.length; k++) if (!isSubtype(a.results[k], b.results[k], types)) return 'sub type: result types do not match';
      return null;
    }
    default: {
      const fa = a.fields!, fb = b.fields!;
      if (fa.length < fb.length) return 'sub type: missing fields';
      for (let k = 0; k < fb.length; k++) if (!fieldMatches(fa[k], fb[k], types)) return 'sub type: field types do not match';
      return null;
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Object layout (run time; see docs/ARCHITECTURE.md "GC objects")

/** Header: the canonical type's descriptor (RTT) address. Arrays add a u32 length; elements start at 16. */
export const OBJ_HEADER = 8;
export const ARRAY_LENGTH = 8;
export const ARRAY_DATA = 16;

/** The header V8's limit counts (its own array header, not ours: measured against Node 24 for every element size). */
const V8_ARRAY_HEADER = 24;

/**
 * Most elements of an array of `esize`-byte elements (V8's limit: (2^30 - 1 - 24) / esize, its object's byte
 * size within a 31-bit Smi), so that a too-large array.new traps exactly where V8's does ("requested new
 * array is too large"), and a smaller one reaches the segment checks of array.new_data/new_elem as in V8.
 */
export function maxArrayLength(esize: number): number {
  return Math.floor((2 ** 30 - 1 - V8_ARRAY_HEADER) / esize);
}

/** Byte offset of each field of a struct type, and the object's size (8-byte multiple), cached on the type. */
export function structLayout(type: FuncType): { offsets: number[]; size: number } {
  if (type.layout) return type.layout;
  const offsets: number[] = [];
  let off = OBJ_HEADER;
  for (const f of type.fields!) {
    const s = storageSize(f.type);
    const align = s > 8 ? 8 : s; // v128 fields are read with movdqu: 8-byte alignment suffices
    off = (off + align - 1) & ~(align - 1);
    offsets.push(off);
    off += s;
  }
  const layout = { offsets, size: (off + 7) & ~7 };
  type.layout = layout;
  return layout;
}

/**
 * The canonical key of a final function type without supertype, alone in its group, whose value types are all
 * numeric or abstract (JS-made tags): the key the decoder gives the same type.
 */
export function plainFuncKey(params: readonly number[], results: readonly number[]): string {
  let s = 'f-F';
  for (const p of params) s += p.toString(16) + ',';
  s += ':';
  for (const r of results) s += r.toString(16) + ',';
  return s + ';#0';
}

/**
 * Whether a value (or field) of type t may be a GC object's address: a reference of the any or extern hierarchy
 * that is not always null or an i31. What the collector traces (frames, fields, globals, tables); func and exn
 * references are never GC objects.
 */
export function mayHoldGcObject(t: number): boolean {
  if (!isRefType(t)) return false;
  const h = t & ~REF_NON_NULL;
  if (h & REF_CONCRETE) return (h & KIND_MASK) !== TypeKind.Func;
  return h === Heap.Extern || h === Heap.Any || h === Heap.Eq || h === Heap.Struct || h === Heap.Array;
}

/**
 * Whether any value of a module may be a GC object (its types, globals or tables mention the any or extern
 * hierarchy): functions of other modules get no stack maps at all.
 */
export function moduleMayHoldGcObjects(types: readonly FuncType[], globals: readonly { type: number }[], tables: readonly { elemType: number }[]): boolean {
  for (const t of types) {
    if ((t.kind ?? 0) !== TypeKind.Func) return true;
    for (const p of t.params) if (mayHoldGcObject(p)) return true;
    for (const r of t.results) if (mayHoldGcObject(r)) return true;
  }
  for (const g of globals) if (mayHoldGcObject(g.type)) return true;
  for (const t of tables) if (mayHoldGcObject(t.elemType)) return true;
  return false;
}
