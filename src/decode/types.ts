// The decoded shape of a module: what the module decoder produces and the compiler, runtime and JS API read.
// Function bodies are not stored here: the decoder hands each body's byte range to the compiler as it goes.

import type { DataSegments } from './data-segments.js';
import type { FunctionNames } from './name-section.js';
import { isRefType, refTypeText } from './ref-types.js';

/**
 * Value types, by their binary encoding. Reference types other than these two shorthands are numbers too
 * (ref-types.ts): a ValType variable may hold any of them.
 */
export const enum ValType {
  I32 = 0x7f,
  I64 = 0x7e,
  F32 = 0x7d,
  F64 = 0x7c,
  V128 = 0x7b,
  FuncRef = 0x70,
  ExternRef = 0x6f,
}

/** A struct or array field: its storage type (a value type, or packed i8 0x78 / i16 0x77) and mutability. */
export interface FieldType {
  type: number;
  mutable: boolean;
}

/**
 * A defined type: a function type, or (GC) a struct or array type (gc-types.ts). The name stays FuncType since
 * most code handles function types only; struct and array types have empty params/results.
 */
export interface FuncType {
  params: ValType[];
  results: ValType[];
  /** Canonical key (gc-types.ts): equal exactly for equal types (iso-recursive), within a process. */
  key: string;
  /** GC: TypeKind (0 func, 1 struct, 2 array); absent: func. */
  kind?: number;
  /** Struct fields, or an array's one element field. */
  fields?: FieldType[];
  /** Declared supertype's index, or -1 (absent: none). */
  superIndex?: number;
  /** `sub final` or no `sub` (absent: final). */
  final?: boolean;
  /** Process-wide canonical id (gc-types.ts; also the signature id of a function type). */
  canon?: number;
  /** Length of the declared supertype chain. */
  depth?: number;
  /** The recursion group: set on its first type (its number of types). */
  recSize?: number;
  /** Struct layout cache (gc-types.ts structLayout). */
  layout?: { offsets: number[]; size: number };
  /** Whether a param or result is v128 or exnref (filled in lazily by the JS API, which rejects such calls). */
  jsIncompatible?: boolean;
}

export interface Limits {
  /** Minimum, in pages (memories) or elements (tables). Exact: at most 2^48 pages, 2^32 (or 2^64-1 for i64 tables) elements. */
  min: number;
  /** Maximum, or null when absent. */
  max: number | null;
  /** i64-indexed (memory64 / table64). */
  index64: boolean;
}

export interface MemoryType extends Limits {
  shared: boolean;
}

export interface TableType extends Limits {
  /** A reference type (ref-types.ts). */
  elemType: ValType;
  /** Wasm 3.0: the initial value of every entry (a defined table's initialiser); absent: null. */
  init?: ConstExpr;
}

export interface GlobalType {
  type: ValType;
  mutable: boolean;
}

export const enum ExternKind {
  Func = 0,
  Table = 1,
  Memory = 2,
  Global = 3,
  /** Exception handling: a tag (its type index; the type's results are empty). */
  Tag = 4,
}

export interface Import {
  module: string;
  name: string;
  kind: ExternKind;
  /** Func: type index. */
  typeIndex: number;
  table: TableType | null;
  memory: MemoryType | null;
  global: GlobalType | null;
}

export interface Export {
  name: string;
  kind: ExternKind;
  index: number;
}

/** A custom section, recorded without copying: Module.customSections copies [start, end) of the module bytes. */
export interface CustomSection {
  name: string;
  start: number;
  end: number;
}

/** A constant expression (Wasm 2.0: one instruction then `end`; extended-const sequences are a list). */
export const enum ConstOp {
  I32Const = 0x41,
  I64Const = 0x42,
  F32Const = 0x43,
  F64Const = 0x44,
  GlobalGet = 0x23,
  RefNull = 0xd0,
  RefFunc = 0xd2,
  I32Add = 0x6a,
  I32Sub = 0x6b,
  I32Mul = 0x6c,
  I64Add = 0x7c,
  I64Sub = 0x7d,
  I64Mul = 0x7e,
  /** v128.const (0xfd 0x0c), only with the simd feature; value: the 16 bytes as an unsigned little-endian bigint. */
  V128Const = 0xfd0c,
  /** GC (0xfb prefix): value = the type index; array.new_fixed's count in `arg`. */
  StructNew = 0xfb00,
  StructNewDefault = 0xfb01,
  ArrayNew = 0xfb06,
  ArrayNewDefault = 0xfb07,
  ArrayNewFixed = 0xfb08,
  AnyConvertExtern = 0xfb1a,
  ExternConvertAny = 0xfb1b,
  RefI31 = 0xfb1c,
}

export interface ConstInstr {
  op: ConstOp;
  /** array.new_fixed: the element count. */
  arg?: number;
  /** i32: the value (int32). i64: BigInt.asIntN(64). f32/f64: raw bits as bigint (NaN payloads kept). global.get/ref.func: index. ref.null: ValType. */
  value: number | bigint;
}

export type ConstExpr = ConstInstr[];

export const enum SegmentMode {
  Active = 0,
  Passive = 1,
  Declarative = 2,
}

export interface ElemSegment {
  mode: SegmentMode;
  table: number;
  offset: ConstExpr | null;
  elemType: ValType;
  /** Each item is a constant expression (a func index list is decoded as ref.func items). */
  items: ConstExpr[];
}

export interface Global {
  type: GlobalType;
  init: ConstExpr;
}

export interface ModuleInfo {
  types: FuncType[];
  imports: Import[];
  /** Type index of every function, imported ones first (function index space). */
  funcTypes: number[];
  numImportedFuncs: number;
  /** Every table (imported first), every memory (imported first), every global (imported first). */
  tables: TableType[];
  numImportedTables: number;
  memories: MemoryType[];
  numImportedMemories: number;
  globals: GlobalType[];
  numImportedGlobals: number;
  /** Initialisers of the defined (non-imported) globals, in order. */
  globalInits: ConstExpr[];
  exports: Export[];
  start: number | null;
  elems: ElemSegment[];
  datas: DataSegments;
  dataCount: number | null;
  /** Functions referenced outside function bodies (exports, elems, globals): ref.func validity. */
  declaredFuncRefs: Set<number>;
  /** From the "name" custom section, when present (parsed on first use; also has the module name). */
  funcNames: FunctionNames;
  /** Every custom section in module order: its name and the byte range of its payload (after the name). */
  customSections: CustomSection[];
  /** Byte offset of each defined function body (start of its size field) and its end, for backtraces. */
  codeOffsets: number[];
  /** Added by the decoder. codeOffsets[i] is, as decodeModule fills it, the first byte after body i's size field
   *  (the `start` handed to onFunctionBody); codeEnds[i] is that body's `end` (exclusive). Optional only so that
   *  hand-built ModuleInfo objects stay valid: decodeModule always sets it. */
  codeEnds?: number[];
  /** Exception handling: the function type index of every tag (imported first). Optional for hand-built infos. */
  tags?: number[];
  numImportedTags?: number;
}

/** The text-format name of a value type ("i32", ..., "funcref", "(ref null 3)"). */
export function valTypeText(t: number): string {
  switch (t) {
    case ValType.I32: return 'i32';
    case ValType.I64: return 'i64';
    case ValType.F32: return 'f32';
    case ValType.F64: return 'f64';
    case ValType.V128: return 'v128';
  }
  if (isRefType(t)) return refTypeText(t);
  return `<type 0x${t.toString(16)}>`;
}
