// The module decoder: one streaming pass over the sections of a WebAssembly binary, producing ModuleInfo and
// validating everything outside function bodies. Function bodies are handed to the caller (onFunctionBody) as
// byte ranges, undecoded: the function compiler decodes and validates them.
//
// Error messages follow the wording of the spec's reference interpreter where one exists, and every error
// carries the byte offset where the problem was found.

import { ByteReader } from './reader.js';
import type { Features } from './features.js';
import { DataSegments } from './data-segments.js';
import { FunctionNames } from './name-section.js';
import { unknownKindMessage, unknownSectionMessage } from './unsupported.js';
import { canonicalizeGroup, fixGroupKinds, readStructOrArray, supertypeError, unpackedType } from './gc-types.js';
import { Heap, MAX_TYPES, REF_NON_NULL, concreteHeap, isDefaultable, isSubtype, readHeapType, readValType, refType } from './ref-types.js';
import {
  ValType,
  ExternKind,
  ConstOp,
  SegmentMode,
  type ConstExpr,
  type ConstInstr,
  type ElemSegment,
  type Export,
  type FuncType,
  type GlobalType,
  type Import,
  type MemoryType,
  type ModuleInfo,
  type TableType,
} from './types.js';

/** Largest parameter and result counts of a function type (as in V8). */
export const MAX_FUNCTION_PARAMS = 1000;
export const MAX_FUNCTION_RESULTS = 1000;

export type FunctionBodyCallback = (funcIndex: number, bodyStart: number, bodyEnd: number, info: ModuleInfo) => void;

const WASM_MAGIC = 0x6d736100; // "\0asm" little-endian
const WASM_VERSION = 1;

const MSG_END = 'unexpected end';
const MSG_END_SECTION = 'unexpected end of section or function';

/** Section id -> position in the required order (0: unknown id). Custom sections (id 0) may appear anywhere. */
const SECTION_ORDER: readonly number[] = [
  /* 0 custom */ 0,
  /* 1 type */ 1,
  /* 2 import */ 2,
  /* 3 function */ 3,
  /* 4 table */ 4,
  /* 5 memory */ 5,
  /* 6 global */ 6,
  /* 7 export */ 7,
  /* 8 start */ 8,
  /* 9 element */ 9,
  /* 10 code */ 11,
  /* 11 data */ 12,
  /* 12 data count */ 10,
  /* 13 tag (exceptions; between memory and global) */ 5.5,
];

const enum Sec {
  Custom = 0,
  Type = 1,
  Import = 2,
  Function = 3,
  Table = 4,
  Memory = 5,
  Global = 6,
  Export = 7,
  Start = 8,
  Element = 9,
  Code = 10,
  Data = 11,
  DataCount = 12,
  Tag = 13,
}


const MEM32_MAX_PAGES = 65536;

/**
 * Which single-byte opcodes exist (in Wasm 2.0 + the proposals we know of). Used only so that a const expression
 * containing a byte that is no opcode at all reports "illegal opcode" rather than "constant expression required".
 */
function isKnownOpcode(op: number): boolean {
  if (op <= 0x05) return true; // unreachable nop block loop if else
  if (op >= 0x0b && op <= 0x11) return true; // end br br_if br_table return call call_indirect
  if (op >= 0x1a && op <= 0x1c) return true; // drop select select t
  if (op >= 0x20 && op <= 0x26) return true; // local.* global.* table.get/set
  if (op >= 0x28 && op <= 0xc4) return true; // memory, numeric, sign-extension
  if (op >= 0xd0 && op <= 0xd2) return true; // ref.null ref.is_null ref.func
  return op === 0xfc || op === 0xfd;
}

interface LimitsResult {
  min: number;
  max: number | null;
  index64: boolean;
}

class ModuleDecoder {
  readonly r: ByteReader;
  readonly bytes: Uint8Array;
  readonly features: Features;
  readonly onFunctionBody: FunctionBodyCallback | undefined;
  readonly info: ModuleInfo;

  /** Number of defined functions declared by the function section (0 without one). */
  private definedFuncCount = 0;
  private sawCodeSection = false;
  private sawDataSection = false;
  private sawNameSection = false;
  /** Scratch type stack for const expressions (reused). */
  private readonly typeStack: number[] = [];

  constructor(bytes: Uint8Array, features: Features, onFunctionBody: FunctionBodyCallback | undefined) {
    this.bytes = bytes;
    this.r = new ByteReader(bytes);
    this.features = features;
    this.onFunctionBody = onFunctionBody;
    this.info = {
      types: [],
      imports: [],
      funcTypes: [],
      numImportedFuncs: 0,
      tables: [],
      numImportedTables: 0,
      memories: [],
      numImportedMemories: 0,
      globals: [],
      numImportedGlobals: 0,
      globalInits: [],
      exports: [],
      start: null,
      elems: [],
      datas: new DataSegments(bytes),
      dataCount: null,
      declaredFuncRefs: new Set<number>(),
      funcNames: new FunctionNames(bytes, 0, 0),
      customSections: [],
      codeOffsets: [],
      codeEnds: [],
      tags: [],
      numImportedTags: 0,
    };
  }

  /** Stop at the code section (compile workers: they need the declarations, not the rest). */
  headersOnly = false;

  decode(): ModuleInfo {
    const r = this.r;
    const len = this.bytes.length;
    r.eofMessage = MSG_END;
    if (r.u32Fixed() !== WASM_MAGIC) r.error('magic header not detected', 0);
    if (r.u32Fixed() !== WASM_VERSION) r.error('unknown binary version', 4);

    let lastOrder = 0;
    while (r.pos < len) {
      const idPos = r.pos;
      const id = r.u8();
      const order = id < SECTION_ORDER.length ? SECTION_ORDER[id]! : -1;
      if (order < 0 || (id === Sec.DataCount && !this.features.bulkMemory) || (id === Sec.Tag && !this.features.exceptions)) r.error(unknownSectionMessage(id), idPos);
      const sizePos = r.pos;
      const size = r.u32();
      const start = r.pos;
      if (size > len - start) r.error('length out of bounds', sizePos);
      const end = start + size;
      if (id !== Sec.Custom) {
        if (order <= lastOrder) r.error('unexpected content after last section', idPos);
        lastOrder = order;
      }
      r.end = end;
      r.eofMessage = MSG_END_SECTION;
      switch (id) {
        case Sec.Custom:
          this.customSection(end);
          break;
        case Sec.Type:
          this.typeSection();
          break;
        case Sec.Import:
          this.importSection();
          break;
        case Sec.Function:
          this.functionSection();
          break;
        case Sec.Table:
          this.tableSection();
          break;
        case Sec.Memory:
          this.memorySection();
          break;
        case Sec.Tag:
          this.tagSection();
          break;
        case Sec.Global:
          this.globalSection();
          break;
        case Sec.Export:
          this.exportSection();
          break;
        case Sec.Start:
          this.startSection();
          break;
        case Sec.Element:
          this.elementSection();
          break;
        case Sec.DataCount:
          this.info.dataCount = r.u32();
          break;
        case Sec.Code:
          if (this.headersOnly) return this.info;
          this.codeSection();
          break;
        case Sec.Data:
          this.dataSection();
          break;
      }
      if (r.pos !== end) r.error('section size mismatch', r.pos);
      r.end = len;
      r.eofMessage = MSG_END;
    }

    if (this.definedFuncCount !== 0 && !this.sawCodeSection) {
      r.error('function and code section have inconsistent lengths', len);
    }
    const dc = this.info.dataCount;
    if (dc !== null && dc !== 0 && !this.sawDataSection) {
      r.error('data count and data section have inconsistent lengths', len);
    }
    return this.info;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Types

  /** A value type (numeric or reference; see ref-types.ts) whose concrete type indices must be declared. */
  private valType(): ValType {
    return readValType(this.r, this.features, this.info.types) as ValType;
  }

  /** A table's or element segment's reference type. */
  private refType(): ValType {
    return readValType(this.r, this.features, this.info.types, true) as ValType;
  }

  private typeSection(): void {
    const r = this.r;
    const types = this.info.types;
    const countPos = r.pos;
    const count = r.u32(); // recursion groups (a plain type is a group of one)
    if (count > MAX_TYPES) r.error(`${count} types, more than the limit of ${MAX_TYPES}`, countPos);
    const gc = this.features.typedFunctionReferences;
    for (let g = 0; g < count; g++) {
      let n = 1;
      if (r.peek() === 0x4e && gc) {
        r.pos++;
        const nPos = r.pos;
        n = r.u32();
        if (types.length + n > MAX_TYPES) r.error(`more than the limit of ${MAX_TYPES} types`, nPos);
      }
      const start = types.length;
      const superPos: number[] = [];
      for (let k = 0; k < n; k++) {
        superPos.push(r.pos);
        types.push(this.subType(start + n, start + k));
      }
      if (n > 0) types[start].recSize = n;
      fixGroupKinds(types, start, n);
      canonicalizeGroup(types, start, n);
      for (let k = 0; k < n; k++) {
        const sup = types[start + k].superIndex!;
        if (sup < 0) continue;
        const err = supertypeError(types, start + k, sup);
        if (err !== null) r.error(err, superPos[k]);
      }
    }
  }

  /** One subtype (`sub` / `sub final` / a bare composite type) of a group ending at `limit`; `self`: its index. */
  private subType(limit: number, self: number): FuncType {
    const r = this.r;
    const gc = this.features.typedFunctionReferences;
    let final = true;
    let superIndex = -1;
    const b = r.peek();
    if ((b === 0x50 || b === 0x4f) && gc) {
      r.pos++;
      final = b === 0x4f;
      const mPos = r.pos;
      const m = r.u32();
      if (m > 1) r.error('multiple supertypes', mPos);
      if (m === 1) {
        const sPos = r.pos;
        superIndex = r.u32();
        if (superIndex >= self) r.error(`unknown type ${superIndex}`, sPos);
      }
    }
    const formPos = r.pos;
    const form = r.u8();
    if ((form === 0x5f || form === 0x5e) && gc) {
      const t: FuncType = { params: [], results: [], key: '', superIndex, final, recSize: 0 };
      readStructOrArray(r, form, this.features, this.info.types, limit, t);
      return t;
    }
    if (form !== 0x60) r.error(form & 0x80 ? 'integer representation too long' : 'malformed function type', formPos);
    const npPos = r.pos;
    const np = r.u32();
    // Implementation limits (V8's too): arguments and results travel through a 16 KiB buffer at the JS
    // boundary and 8- or 16-byte stack slots between functions.
    if (np > MAX_FUNCTION_PARAMS) r.error(`function type has ${np} parameters, more than the limit of ${MAX_FUNCTION_PARAMS}`, npPos);
    const params: ValType[] = [];
    for (let k = 0; k < np; k++) params.push(readValType(r, this.features, this.info.types, false, limit) as ValType);
    const nrPos = r.pos;
    const nr = r.u32();
    if (nr > MAX_FUNCTION_RESULTS) r.error(`function type has ${nr} results, more than the limit of ${MAX_FUNCTION_RESULTS}`, nrPos);
    const results: ValType[] = [];
    for (let k = 0; k < nr; k++) results.push(readValType(r, this.features, this.info.types, false, limit) as ValType);
    if (nr > 1 && !this.features.multiValue) r.error('invalid result arity', nrPos);
    return { params, results, key: '', kind: 0, superIndex, final, recSize: 0 };
  }

  /** A type index that must name a function type (functions, imports, tags). */
  private funcTypeIndex(): number {
    const pos = this.r.pos;
    const idx = this.typeIndex();
    if ((this.info.types[idx].kind ?? 0) !== 0) this.r.error(`type ${idx} is not a function type`, pos);
    return idx;
  }

  private typeIndex(): number {
    const r = this.r;
    const pos = r.pos;
    const idx = r.u32();
    if (idx >= this.info.types.length) r.error(`unknown type ${idx}`, pos);
    return idx;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Limits, tables, memories, globals

  /**
   * Reads the min/max of limits whose flags byte has already been read and checked: u32 LEBs for i32-indexed
   * memories and tables, u64 LEBs (`wide`) for i64-indexed ones (as V8 does, so that both the Wasm 2.0 and the
   * memory64 binary tests hold) and, with the memoryU64Leb feature (Wasm 3.0), for every memory. Both values
   * must be <= rangeHi:rangeLo (an exact 64-bit comparison) and min <= max.
   * Numbers above 2^53 (only possible for table64) are rounded in the result.
   */
  private limits(flags: number, wide: boolean, rangeHi: number, rangeLo: number, rangeMsg: string): LimitsResult {
    const r = this.r;
    const minPos = r.pos;
    let mhi = 0;
    let mlo: number;
    if (wide) {
      r.u64();
      mhi = r.hi;
      mlo = r.lo;
    } else {
      mlo = r.u32();
    }
    if (mhi > rangeHi || (mhi === rangeHi && mlo > rangeLo)) r.error(rangeMsg, minPos);
    let max: number | null = null;
    if (flags & 1) {
      const maxPos = r.pos;
      let xhi = 0;
      let xlo: number;
      if (wide) {
        r.u64();
        xhi = r.hi;
        xlo = r.lo;
      } else {
        xlo = r.u32();
      }
      if (xhi > rangeHi || (xhi === rangeHi && xlo > rangeLo)) r.error(rangeMsg, maxPos);
      if (mhi > xhi || (mhi === xhi && mlo > xlo)) r.error('size minimum must not be greater than maximum', minPos);
      max = xhi * 4294967296 + xlo;
    }
    return { min: mhi * 4294967296 + mlo, max, index64: wide };
  }

  private tableType(): TableType {
    const r = this.r;
    const elemType = this.refType();
    const flagsPos = r.pos;
    const flags = r.u8();
    let index64 = false;
    if (flags === 0x04 || flags === 0x05) {
      if (!this.features.table64) r.error('malformed limits flags', flagsPos);
      index64 = true;
    } else if (flags > 1) {
      r.error('malformed limits flags', flagsPos);
    }
    // table32: at most 2^32-1 elements (any u32); table64: any u64.
    const l = index64
      ? this.limits(flags, true, 0xffffffff, 0xffffffff, 'table size')
      : this.limits(flags, false, 0, 0xffffffff, 'table size must be at most 2^32-1');
    return { min: l.min, max: l.max, index64: l.index64, elemType };
  }

  private memoryType(): MemoryType {
    const r = this.r;
    const flagsPos = r.pos;
    const flags = r.u8();
    // bit 0: has max; bit 1: shared; bit 2: i64 index (memory64). Anything else (e.g. custom page sizes) is malformed.
    if (flags > 7) r.error('malformed limits flags', flagsPos);
    const shared = (flags & 2) !== 0;
    if (shared) {
      // threads: a shared memory cannot grow past a declared maximum (its backing is reserved up front)
      if (!this.features.threads) r.error('malformed limits flags', flagsPos);
      if (!(flags & 1)) r.error('shared memory must have maximum', flagsPos);
    }
    const index64 = (flags & 4) !== 0;
    if (index64 && !this.features.memory64) r.error('malformed limits flags', flagsPos);
    const l = index64
      ? this.limits(flags, true, 0x10000, 0, 'memory size must be at most 2^48 pages (256TiB)')
      : this.limits(flags, this.features.memoryU64Leb, 0, MEM32_MAX_PAGES, 'memory size must be at most 65536 pages (4GiB)');
    return { min: l.min, max: l.max, index64, shared };
  }

  private globalType(): GlobalType {
    const r = this.r;
    const type = this.valType();
    const mutPos = r.pos;
    const m = r.u8();
    if (m > 1) r.error('malformed mutability', mutPos);
    return { type, mutable: m === 1 };
  }

  private addTable(t: TableType, pos: number): void {
    if (this.info.tables.length >= 1 && !this.features.referenceTypes) this.r.error('multiple tables', pos);
    this.info.tables.push(t);
  }

  private addMemory(m: MemoryType, pos: number): void {
    if (this.info.memories.length >= 1 && !this.features.multiMemory) this.r.error('multiple memories', pos);
    this.info.memories.push(m);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Sections

  private importSection(): void {
    const r = this.r;
    const info = this.info;
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      const module = r.name();
      const name = r.name();
      const kindPos = r.pos;
      const kind = r.u8();
      const imp: Import = { module, name, kind: kind as ExternKind, typeIndex: -1, table: null, memory: null, global: null };
      switch (kind) {
        case ExternKind.Func: {
          const ti = this.funcTypeIndex();
          imp.typeIndex = ti;
          info.funcTypes.push(ti);
          info.numImportedFuncs++;
          break;
        }
        case ExternKind.Table: {
          const t = this.tableType();
          imp.table = t;
          this.addTable(t, kindPos);
          info.numImportedTables++;
          break;
        }
        case ExternKind.Memory: {
          const m = this.memoryType();
          imp.memory = m;
          this.addMemory(m, kindPos);
          info.numImportedMemories++;
          break;
        }
        case ExternKind.Global: {
          const g = this.globalType();
          imp.global = g;
          info.globals.push(g);
          info.numImportedGlobals++;
          break;
        }
        case ExternKind.Tag: {
          if (!this.features.exceptions) r.error(unknownKindMessage(kind, 'import'), kindPos);
          const ti = this.tagType();
          imp.typeIndex = ti;
          info.tags!.push(ti);
          info.numImportedTags!++;
          break;
        }
        default:
          r.error(unknownKindMessage(kind, 'import'), kindPos);
      }
      info.imports.push(imp);
    }
  }

  private functionSection(): void {
    const r = this.r;
    const funcTypes = this.info.funcTypes;
    const count = r.u32();
    for (let i = 0; i < count; i++) funcTypes.push(this.funcTypeIndex());
    this.definedFuncCount = count;
  }

  private tableSection(): void {
    const r = this.r;
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      const pos = r.pos;
      // Wasm 3.0: 0x40 0x00 tabletype expr, a table whose entries start as the expression's value
      const withInit = this.features.typedFunctionReferences && r.bytes[pos] === 0x40;
      if (withInit) {
        r.pos++;
        const zeroPos = r.pos;
        if (r.u8() !== 0x00) r.error('malformed table', zeroPos);
      }
      const typePos = r.pos;
      const tt = this.tableType();
      if (withInit) tt.init = this.constExpr(tt.elemType);
      else if (!isDefaultable(tt.elemType)) r.error('type mismatch: a table of non-nullable references needs an initialiser', typePos);
      this.addTable(tt, pos);
    }
  }

  private memorySection(): void {
    const r = this.r;
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      const pos = r.pos;
      this.addMemory(this.memoryType(), pos);
    }
  }

  /** Tag type: attribute 0 (exception), then a function type index whose results are empty. */
  private tagType(): number {
    const r = this.r;
    const pos = r.pos;
    if (r.u8() !== 0) r.error('malformed tag attribute', pos);
    const tiPos = r.pos;
    const ti = this.funcTypeIndex();
    if (this.info.types[ti].results.length !== 0) r.error('non-empty tag result type', tiPos);
    return ti;
  }

  private tagSection(): void {
    const r = this.r;
    const count = r.u32();
    for (let i = 0; i < count; i++) this.info.tags!.push(this.tagType());
  }

  private globalSection(): void {
    const r = this.r;
    const info = this.info;
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      const g = this.globalType();
      const init = this.constExpr(g.type);
      info.globals.push(g);
      info.globalInits.push(init);
    }
  }

  private exportSection(): void {
    const r = this.r;
    const info = this.info;
    const count = r.u32();
    const seen = new Set<string>();
    for (let i = 0; i < count; i++) {
      const namePos = r.pos;
      const name = r.name();
      const kindPos = r.pos;
      const kind = r.u8();
      const idxPos = r.pos;
      const index = r.u32();
      switch (kind) {
        case ExternKind.Func:
          if (index >= info.funcTypes.length) r.error(`unknown function ${index}`, idxPos);
          info.declaredFuncRefs.add(index);
          break;
        case ExternKind.Table:
          if (index >= info.tables.length) r.error(`unknown table ${index}`, idxPos);
          break;
        case ExternKind.Memory:
          if (index >= info.memories.length) r.error(`unknown memory ${index}`, idxPos);
          break;
        case ExternKind.Global:
          if (index >= info.globals.length) r.error(`unknown global ${index}`, idxPos);
          break;
        case ExternKind.Tag:
          if (!this.features.exceptions) r.error(unknownKindMessage(kind, 'export'), kindPos);
          if (index >= info.tags!.length) r.error(`unknown tag ${index}`, idxPos);
          break;
        default:
          r.error(unknownKindMessage(kind, 'export'), kindPos);
      }
      if (seen.has(name)) r.error('duplicate export name', namePos);
      seen.add(name);
      const e: Export = { name, kind: kind as ExternKind, index };
      info.exports.push(e);
    }
  }

  private startSection(): void {
    const r = this.r;
    const info = this.info;
    const pos = r.pos;
    const idx = r.u32();
    if (idx >= info.funcTypes.length) r.error(`unknown function ${idx}`, pos);
    const ft = info.types[info.funcTypes[idx]!]!;
    if (ft.params.length !== 0 || ft.results.length !== 0) r.error('start function', pos);
    info.start = idx;
  }

  private elementSection(): void {
    const r = this.r;
    const info = this.info;
    const count = r.u32();
    for (let i = 0; i < count; i++) {
      const flagsPos = r.pos;
      const flags = r.u32();
      if (flags > 7 || (flags !== 0 && !this.features.bulkMemory)) r.error('malformed elements segment kind', flagsPos);
      // bit 0: passive/declarative; bit 1: explicit table index (active) or declarative (bit 0 set);
      // bit 2: items are expressions (with an explicit reftype) rather than function indices (with an elemkind).
      let mode: SegmentMode;
      if ((flags & 1) === 0) mode = SegmentMode.Active;
      else mode = flags & 2 ? SegmentMode.Declarative : SegmentMode.Passive;
      let table = 0;
      let offset: ConstExpr | null = null;
      let tablePos = flagsPos;
      if (mode === SegmentMode.Active) {
        if (flags & 2) {
          tablePos = r.pos;
          table = r.u32();
        }
        if (table >= info.tables.length) r.error(`unknown table ${table}`, tablePos);
        offset = this.constExpr(info.tables[table]!.index64 ? ValType.I64 : ValType.I32);
      }
      const usesExprs = (flags & 4) !== 0;
      // function indices: funcref in Wasm 2.0, (ref func) in 3.0 (so that they fit a table of (ref func))
      let elemType: ValType = !usesExprs && this.features.typedFunctionReferences ? refType(Heap.Func, false) : ValType.FuncRef;
      if (flags & 3) {
        // Explicit element kind (indices) or reference type (expressions).
        if (usesExprs) {
          elemType = this.refType();
        } else {
          const kindPos = r.pos;
          if (r.u8() !== 0x00) r.error('malformed element kind', kindPos);
        }
      }
      if (mode === SegmentMode.Active && !isSubtype(elemType, info.tables[table]!.elemType, info.types)) r.error('type mismatch', tablePos);
      const n = r.u32();
      const items: ConstExpr[] = [];
      if (usesExprs) {
        for (let k = 0; k < n; k++) items.push(this.constExpr(elemType));
      } else {
        const numFuncs = info.funcTypes.length;
        const refs = info.declaredFuncRefs;
        for (let k = 0; k < n; k++) {
          const pos = r.pos;
          const f = r.u32();
          if (f >= numFuncs) r.error(`unknown function ${f}`, pos);
          refs.add(f);
          const instr: ConstInstr = { op: ConstOp.RefFunc, value: f };
          items.push([instr]);
        }
      }
      const seg: ElemSegment = { mode, table, offset, elemType, items };
      info.elems.push(seg);
    }
  }

  private codeSection(): void {
    const r = this.r;
    const info = this.info;
    this.sawCodeSection = true;
    const countPos = r.pos;
    const count = r.u32();
    if (count !== this.definedFuncCount) r.error('function and code section have inconsistent lengths', countPos);
    const base = info.numImportedFuncs;
    const cb = this.onFunctionBody;
    const offsets = info.codeOffsets;
    const ends = info.codeEnds!;
    for (let i = 0; i < count; i++) {
      const size = r.u32();
      const start = r.pos;
      if (size > r.end - start) r.eofError();
      const end = start + size;
      offsets.push(start);
      ends.push(end);
      if (cb !== undefined) cb(base + i, start, end, info);
      r.pos = end;
    }
  }

  private dataSection(): void {
    const r = this.r;
    const info = this.info;
    this.sawDataSection = true;
    const countPos = r.pos;
    const count = r.u32();
    if (info.dataCount !== null && info.dataCount !== count) {
      r.error('data count and data section have inconsistent lengths', countPos);
    }
    for (let i = 0; i < count; i++) {
      const flagsPos = r.pos;
      const flags = r.u32();
      if (flags > 2 || (flags !== 0 && !this.features.bulkMemory)) r.error('malformed data segment kind', flagsPos);
      if (flags === 1) {
        const n = r.u32();
        const start = r.pos;
        r.skip(n);
        info.datas.add(SegmentMode.Passive, 0, start, n);
        continue;
      }
      let memory = 0;
      let memPos = flagsPos;
      if (flags === 2) {
        memPos = r.pos;
        memory = r.u32();
      }
      if (memory >= info.memories.length) r.error(`unknown memory ${memory}`, memPos);
      const i64 = info.memories[memory]!.index64;
      // The usual offset, one i32.const / i64.const, is read without building a ConstExpr.
      const exprPos = r.pos;
      let constOp = -1, value = 0;
      const op = r.u8();
      if (op === (i64 ? ConstOp.I64Const : ConstOp.I32Const)) {
        if (i64) {
          r.s64();
          if (r.hi >= 0 && r.hi < 0x200000) value = r.hi * 4294967296 + (r.lo >>> 0), constOp = op;
        } else {
          value = r.s32();
          constOp = op;
        }
        if (r.pos >= r.end || this.bytes[r.pos] !== 0x0b) constOp = -1;
        else r.pos++;
      }
      let expr: ConstExpr | null = null;
      if (constOp < 0) {
        r.pos = exprPos;
        expr = this.constExpr(i64 ? ValType.I64 : ValType.I32);
      }
      const n = r.u32();
      const start = r.pos;
      r.skip(n);
      const seg = info.datas.add(SegmentMode.Active, memory, start, n);
      if (expr !== null) info.datas.setOffsetExpr(seg, expr);
      else info.datas.setConstOffset(seg, constOp as ConstOp.I32Const | ConstOp.I64Const, value);
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Constant expressions

  /** Reads a constant expression up to and including its `end`, checking that it produces one `expected`. */
  private constExpr(expected: ValType): ConstExpr {
    const r = this.r;
    const info = this.info;
    const features = this.features;
    const stack = this.typeStack;
    stack.length = 0;
    const out: ConstExpr = [];
    for (;;) {
      const opPos = r.pos;
      const op = r.u8();
      switch (op) {
        case 0x0b: {
          // end
          if (stack.length !== 1 || !isSubtype(stack[0]!, expected, info.types)) r.error('type mismatch', opPos);
          return out;
        }
        case ConstOp.I32Const:
          out.push({ op, value: r.s32() });
          stack.push(ValType.I32);
          break;
        case ConstOp.I64Const:
          r.s64();
          out.push({ op, value: BigInt.asIntN(64, (BigInt(r.hi) << 32n) | BigInt(r.lo)) });
          stack.push(ValType.I64);
          break;
        case ConstOp.F32Const:
          out.push({ op, value: BigInt(r.u32Fixed()) });
          stack.push(ValType.F32);
          break;
        case ConstOp.F64Const:
          r.u64Fixed();
          out.push({ op, value: (BigInt(r.hi) << 32n) | BigInt(r.lo) });
          stack.push(ValType.F64);
          break;
        case ConstOp.GlobalGet: {
          const idxPos = r.pos;
          const idx = r.u32();
          // Wasm 2.0: constant expressions may only read imported globals; Wasm 3.0: any immutable global
          // defined before (a global's initialiser) or any at all (segment offsets, table initialisers).
          const visible = features.typedFunctionReferences ? info.globals.length : info.numImportedGlobals;
          if (idx >= visible) r.error(`unknown global ${idx}`, idxPos);
          const g = info.globals[idx]!;
          if (g.mutable) r.error('constant expression required', opPos);
          out.push({ op, value: idx });
          stack.push(g.type);
          break;
        }
        case ConstOp.RefNull: {
          if (!features.referenceTypes) r.error('constant expression required', opPos);
          // a heap type; Wasm 2.0's funcref/externref bytes are the shorthands of func/extern
          const t = readHeapType(r, features, info.types);
          out.push({ op, value: t });
          stack.push(t);
          break;
        }
        case ConstOp.RefFunc: {
          if (!features.referenceTypes) r.error('constant expression required', opPos);
          const idxPos = r.pos;
          const idx = r.u32();
          if (idx >= info.funcTypes.length) r.error(`unknown function ${idx}`, idxPos);
          info.declaredFuncRefs.add(idx);
          out.push({ op, value: idx });
          // (ref $t) of the function's type: a subtype of funcref
          stack.push(features.typedFunctionReferences ? refType(concreteHeap(info.funcTypes[idx]!), false) : ValType.FuncRef);
          break;
        }
        case ConstOp.I32Add:
        case ConstOp.I32Sub:
        case ConstOp.I32Mul:
        case ConstOp.I64Add:
        case ConstOp.I64Sub:
        case ConstOp.I64Mul: {
          if (!features.extendedConst) r.error('constant expression required', opPos);
          const t = op <= ConstOp.I32Mul ? ValType.I32 : ValType.I64;
          const n = stack.length;
          if (n < 2 || stack[n - 1] !== t || stack[n - 2] !== t) r.error('type mismatch', opPos);
          stack.length = n - 1;
          out.push({ op, value: 0 });
          break;
        }
        case 0xfb: {
          if (!features.typedFunctionReferences) r.error('illegal opcode', opPos);
          this.gcConstInstr(opPos, out);
          break;
        }
        case 0xfd: {
          if (!features.simd) r.error('constant expression required', opPos);
          const sub = r.u32();
          if (sub !== 0x0c) r.error('constant expression required', opPos);
          const v = r.bytesView(16);
          let x = 0n;
          for (let k = 15; k >= 0; k--) x = (x << 8n) | BigInt(v[k]!);
          out.push({ op: ConstOp.V128Const, value: x });
          stack.push(ValType.V128);
          break;
        }
        default:
          if (!isKnownOpcode(op)) r.error('illegal opcode', opPos);
          r.error('constant expression required', opPos);
      }
    }
  }

  /** A GC instruction of a constant expression (allocations, ref.i31, the extern/any conversions). */
  private gcConstInstr(opPos: number, out: ConstExpr): void {
    const r = this.r;
    const types = this.info.types;
    const stack = this.typeStack;
    const sub = r.u32();
    const pop = (t: number): void => {
      const got = stack.pop();
      if (got === undefined || !isSubtype(got, t, types)) r.error('type mismatch', opPos);
    };
    const typeIdx = (kind: number): number => {
      const at = r.pos;
      const t = r.u32();
      if (t >= types.length) r.error(`unknown type ${t}`, at);
      if ((types[t].kind ?? 0) !== kind) r.error('type mismatch', at);
      return t;
    };
    switch (sub) {
      case 0x00: case 0x01: { // struct.new, struct.new_default
        const t = typeIdx(1);
        const fields = types[t].fields!;
        if (sub === 0x00) for (let k = fields.length - 1; k >= 0; k--) pop(unpackedType(fields[k].type));
        else for (const f of fields) if (!isDefaultable(f.type)) r.error('type mismatch', opPos);
        out.push({ op: 0xfb00 | sub, value: t });
        stack.push(refType(concreteHeap(t, 1), false));
        return;
      }
      case 0x06: case 0x07: case 0x08: { // array.new, array.new_default, array.new_fixed
        const t = typeIdx(2);
        const et = unpackedType(types[t].fields![0].type);
        let n = 0;
        if (sub === 0x08) {
          n = r.u32();
          for (let k = 0; k < n; k++) pop(et);
        } else {
          pop(ValType.I32);
          if (sub === 0x06) pop(et);
          else if (!isDefaultable(et)) r.error('type mismatch', opPos);
        }
        out.push({ op: 0xfb00 | sub, value: t, arg: n });
        stack.push(refType(concreteHeap(t, 2), false));
        return;
      }
      case 0x1a: case 0x1b: { // any.convert_extern, extern.convert_any
        const from = sub === 0x1a ? Heap.Extern : Heap.Any;
        const got = stack.pop();
        if (got === undefined || !isSubtype(got, from, types)) r.error('type mismatch', opPos);
        out.push({ op: 0xfb00 | sub, value: 0 });
        stack.push((sub === 0x1a ? Heap.Any : Heap.Extern) | (got! & REF_NON_NULL));
        return;
      }
      case 0x1c: // ref.i31
        pop(ValType.I32);
        out.push({ op: 0xfb1c, value: 0 });
        stack.push(Heap.I31 | REF_NON_NULL);
        return;
    }
    r.error('constant expression required', opPos);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Custom sections

  private customSection(end: number): void {
    const r = this.r;
    const name = r.name();
    this.info.customSections.push({ name, start: r.pos, end });
    // Only the first "name" section counts; it is parsed when a name is first asked for.
    if (name === 'name' && !this.sawNameSection) {
      this.sawNameSection = true;
      this.info.funcNames = new FunctionNames(this.bytes, r.pos, end);
    }
    r.pos = end;
  }
}

/**
 * Decodes and validates a module (everything except function bodies). For each function body, calls
 * `onFunctionBody(funcIndex, start, end, info)` where [start, end) is the body (local declarations included) and
 * funcIndex is in the function index space (imports first). Without a callback the bodies are skipped.
 * Throws CompileError (with a byte offset) for malformed or invalid modules.
 */
export function decodeModule(bytes: Uint8Array, features: Features, onFunctionBody?: FunctionBodyCallback): ModuleInfo {
  return new ModuleDecoder(bytes, features, onFunctionBody).decode();
}

/**
 * The declarations a function compiler needs (types, imports, functions, tables, memories, globals, exports,
 * elements, data count): decodes a module up to its code section. For modules already fully decoded and
 * validated by decodeModule (compile workers re-deriving the main thread's ModuleInfo).
 */
export function decodeModuleHeaders(bytes: Uint8Array, features: Features): ModuleInfo {
  const d = new ModuleDecoder(bytes, features, undefined);
  d.headersOnly = true;
  return d.decode();
}
