// A small WebAssembly binary writer for tests: sections, LEB128, opcodes, the name section, and byte offsets
// of marked instructions (so tests can check source positions in backtraces and errors). Tests build their
// modules with it at run time: no wat2wasm needed.
//
//   const b = new ModuleBuilder();
//   const mem = b.memory({ min: 1, i64: true });
//   const f = b.func([T.i64], [T.i32], (c) => c.local_get(0).load(Op.i32_load, 0n).end(), { export: 'f' });
//   const bytes = b.build();

export const enum T {
  i32 = 0x7f,
  i64 = 0x7e,
  f32 = 0x7d,
  f64 = 0x7c,
  v128 = 0x7b,
  funcref = 0x70,
  externref = 0x6f,
}

/** Block type: empty. */
export const BT_EMPTY = 0x40;

/** Opcodes (single byte unless noted). */
export const Op = {
  unreachable: 0x00, nop: 0x01, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, br_if: 0x0d,
  br_table: 0x0e, return: 0x0f, call: 0x10, call_indirect: 0x11, drop: 0x1a, select: 0x1b, select_t: 0x1c,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22, global_get: 0x23, global_set: 0x24, table_get: 0x25, table_set: 0x26,
  i32_load: 0x28, i64_load: 0x29, f32_load: 0x2a, f64_load: 0x2b,
  i32_load8_s: 0x2c, i32_load8_u: 0x2d, i32_load16_s: 0x2e, i32_load16_u: 0x2f,
  i64_load8_s: 0x30, i64_load8_u: 0x31, i64_load16_s: 0x32, i64_load16_u: 0x33, i64_load32_s: 0x34, i64_load32_u: 0x35,
  i32_store: 0x36, i64_store: 0x37, f32_store: 0x38, f64_store: 0x39,
  i32_store8: 0x3a, i32_store16: 0x3b, i64_store8: 0x3c, i64_store16: 0x3d, i64_store32: 0x3e,
  memory_size: 0x3f, memory_grow: 0x40,
  i32_const: 0x41, i64_const: 0x42, f32_const: 0x43, f64_const: 0x44,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a, i32_gt_u: 0x4b,
  i32_le_s: 0x4c, i32_le_u: 0x4d, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  i64_eqz: 0x50, i64_eq: 0x51, i64_ne: 0x52, i64_lt_s: 0x53, i64_lt_u: 0x54, i64_gt_s: 0x55, i64_gt_u: 0x56,
  i64_le_s: 0x57, i64_le_u: 0x58, i64_ge_s: 0x59, i64_ge_u: 0x5a,
  f32_eq: 0x5b, f32_ne: 0x5c, f32_lt: 0x5d, f32_gt: 0x5e, f32_le: 0x5f, f32_ge: 0x60,
  f64_eq: 0x61, f64_ne: 0x62, f64_lt: 0x63, f64_gt: 0x64, f64_le: 0x65, f64_ge: 0x66,
  i32_clz: 0x67, i32_ctz: 0x68, i32_popcnt: 0x69, i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d,
  i32_div_u: 0x6e, i32_rem_s: 0x6f, i32_rem_u: 0x70, i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73, i32_shl: 0x74,
  i32_shr_s: 0x75, i32_shr_u: 0x76, i32_rotl: 0x77, i32_rotr: 0x78,
  i64_clz: 0x79, i64_ctz: 0x7a, i64_popcnt: 0x7b, i64_add: 0x7c, i64_sub: 0x7d, i64_mul: 0x7e, i64_div_s: 0x7f,
  i64_div_u: 0x80, i64_rem_s: 0x81, i64_rem_u: 0x82, i64_and: 0x83, i64_or: 0x84, i64_xor: 0x85, i64_shl: 0x86,
  i64_shr_s: 0x87, i64_shr_u: 0x88, i64_rotl: 0x89, i64_rotr: 0x8a,
  f32_abs: 0x8b, f32_neg: 0x8c, f32_ceil: 0x8d, f32_floor: 0x8e, f32_trunc: 0x8f, f32_nearest: 0x90, f32_sqrt: 0x91,
  f32_add: 0x92, f32_sub: 0x93, f32_mul: 0x94, f32_div: 0x95, f32_min: 0x96, f32_max: 0x97, f32_copysign: 0x98,
  f64_abs: 0x99, f64_neg: 0x9a, f64_ceil: 0x9b, f64_floor: 0x9c, f64_trunc: 0x9d, f64_nearest: 0x9e, f64_sqrt: 0x9f,
  f64_add: 0xa0, f64_sub: 0xa1, f64_mul: 0xa2, f64_div: 0xa3, f64_min: 0xa4, f64_max: 0xa5, f64_copysign: 0xa6,
  i32_wrap_i64: 0xa7, i32_trunc_f32_s: 0xa8, i32_trunc_f32_u: 0xa9, i32_trunc_f64_s: 0xaa, i32_trunc_f64_u: 0xab,
  i64_extend_i32_s: 0xac, i64_extend_i32_u: 0xad, i64_trunc_f32_s: 0xae, i64_trunc_f32_u: 0xaf,
  i64_trunc_f64_s: 0xb0, i64_trunc_f64_u: 0xb1, f32_convert_i32_s: 0xb2, f32_convert_i32_u: 0xb3,
  f32_convert_i64_s: 0xb4, f32_convert_i64_u: 0xb5, f32_demote_f64: 0xb6, f64_convert_i32_s: 0xb7,
  f64_convert_i32_u: 0xb8, f64_convert_i64_s: 0xb9, f64_convert_i64_u: 0xba, f64_promote_f32: 0xbb,
  i32_reinterpret_f32: 0xbc, i64_reinterpret_f64: 0xbd, f32_reinterpret_i32: 0xbe, f64_reinterpret_i64: 0xbf,
  i32_extend8_s: 0xc0, i32_extend16_s: 0xc1, i64_extend8_s: 0xc2, i64_extend16_s: 0xc3, i64_extend32_s: 0xc4,
  ref_null: 0xd0, ref_is_null: 0xd1, ref_func: 0xd2,
} as const;

/** 0xfc sub-opcodes. */
export const FC = {
  i32_trunc_sat_f32_s: 0, i32_trunc_sat_f32_u: 1, i32_trunc_sat_f64_s: 2, i32_trunc_sat_f64_u: 3,
  i64_trunc_sat_f32_s: 4, i64_trunc_sat_f32_u: 5, i64_trunc_sat_f64_s: 6, i64_trunc_sat_f64_u: 7,
  memory_init: 8, data_drop: 9, memory_copy: 10, memory_fill: 11,
  table_init: 12, elem_drop: 13, table_copy: 14, table_grow: 15, table_size: 16, table_fill: 17,
} as const;

// ------------------------------------------------------------------------------------------------ LEB128

export function uleb(out: number[], v: number | bigint): void {
  let x = BigInt(v);
  if (x < 0n) throw new RangeError(`uleb of negative ${x}`);
  do {
    let b = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n) b |= 0x80;
    out.push(b);
  } while (x !== 0n);
}

export function sleb(out: number[], v: number | bigint): void {
  let x = BigInt(v);
  for (;;) {
    const b = Number(x & 0x7fn);
    x >>= 7n; // arithmetic shift
    if ((x === 0n && (b & 0x40) === 0) || (x === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function name(out: number[], s: string): void {
  const b = new TextEncoder().encode(s);
  uleb(out, b.length);
  for (const x of b) out.push(x);
}

// ------------------------------------------------------------------------------------------------ code

/** Instruction bytes of one function body (or a constant expression), with named marks. */
export class Code {
  readonly bytes: number[] = [];
  /** Mark name -> offset in `bytes`. */
  readonly marks = new Map<string, number>();

  /** Remember the offset of the next instruction under `name`. */
  mark(name: string): this {
    this.marks.set(name, this.bytes.length);
    return this;
  }

  op(...bytes: number[]): this {
    for (const b of bytes) this.bytes.push(b & 0xff);
    return this;
  }

  u(v: number | bigint): this {
    uleb(this.bytes, v);
    return this;
  }

  s(v: number | bigint): this {
    sleb(this.bytes, v);
    return this;
  }

  /** Append raw bytes of another Code (marks are copied, shifted). */
  append(other: Code): this {
    const base = this.bytes.length;
    for (const b of other.bytes) this.bytes.push(b);
    for (const [k, v] of other.marks) this.marks.set(k, base + v);
    return this;
  }

  i32_const(v: number | bigint): this { return this.op(0x41).s(BigInt.asIntN(32, BigInt(v))); }
  i64_const(v: number | bigint): this { return this.op(0x42).s(BigInt.asIntN(64, BigInt(v))); }
  /** f32.const from raw bits. */
  f32_bits(bits: number): this {
    const u = bits >>> 0;
    return this.op(0x43, u & 0xff, (u >>> 8) & 0xff, (u >>> 16) & 0xff, u >>> 24);
  }
  /** f64.const from raw bits. */
  f64_bits(bits: bigint): this {
    let x = BigInt.asUintN(64, bits);
    this.op(0x44);
    for (let i = 0; i < 8; i++, x >>= 8n) this.bytes.push(Number(x & 0xffn));
    return this;
  }
  f32_const(v: number): this { return this.f32_bits(f32Bits(v)); }
  f64_const(v: number): this { return this.f64_bits(f64Bits(v)); }

  local_get(i: number): this { return this.op(0x20).u(i); }
  local_set(i: number): this { return this.op(0x21).u(i); }
  local_tee(i: number): this { return this.op(0x22).u(i); }
  global_get(i: number): this { return this.op(0x23).u(i); }
  global_set(i: number): this { return this.op(0x24).u(i); }
  call(f: number): this { return this.op(0x10).u(f); }
  call_indirect(type: number, table = 0): this { return this.op(0x11).u(type).u(table); }
  table_get(t = 0): this { return this.op(0x25).u(t); }
  table_set(t = 0): this { return this.op(0x26).u(t); }
  ref_null(t: T): this { return this.op(0xd0, t); }
  ref_func(f: number): this { return this.op(0xd2).u(f); }
  ref_is_null(): this { return this.op(0xd1); }
  drop(): this { return this.op(0x1a); }
  select(t?: T): this { return t === undefined ? this.op(0x1b) : this.op(0x1c, 1, t); }
  unreachable(): this { return this.op(0x00); }
  nop(): this { return this.op(0x01); }
  return_(): this { return this.op(0x0f); }
  end(): this { return this.op(0x0b); }
  else_(): this { return this.op(0x05); }
  /** Block type: BT_EMPTY, a value type, or `{ type: index }`. */
  private bt(t: number | { type: number }): this {
    if (typeof t === 'number') return this.op(t);
    return this.s(t.type);
  }
  block(t: number | { type: number } = BT_EMPTY): this { return this.op(0x02).bt(t); }
  loop(t: number | { type: number } = BT_EMPTY): this { return this.op(0x03).bt(t); }
  if_(t: number | { type: number } = BT_EMPTY): this { return this.op(0x04).bt(t); }
  br(d: number): this { return this.op(0x0c).u(d); }
  br_if(d: number): this { return this.op(0x0d).u(d); }
  br_table(targets: number[], dflt: number): this {
    this.op(0x0e).u(targets.length);
    for (const t of targets) this.u(t);
    return this.u(dflt);
  }

  /** A load or store: `op` from Op, static offset, memory index, alignment log2 (default natural). */
  mem(op: number, offset: number | bigint = 0, memIndex = 0, align?: number): this {
    const a = align ?? naturalAlign(op);
    this.op(op);
    if (memIndex !== 0) this.u(a | 0x40).u(memIndex);
    else this.u(a);
    return this.u(offset);
  }
  memory_size(m = 0): this { return this.op(0x3f).u(m); }
  memory_grow(m = 0): this { return this.op(0x40).u(m); }
  /** 0xfc prefix with sub-opcode and unsigned immediates. */
  fc(sub: number, ...imms: number[]): this {
    this.op(0xfc).u(sub);
    for (const i of imms) this.u(i);
    return this;
  }
  memory_fill(m = 0): this { return this.fc(FC.memory_fill, m); }
  memory_copy(dst = 0, src = 0): this { return this.fc(FC.memory_copy, dst, src); }
  memory_init(seg: number, m = 0): this { return this.fc(FC.memory_init, seg, m); }
  data_drop(seg: number): this { return this.fc(FC.data_drop, seg); }
  table_fill(t = 0): this { return this.fc(FC.table_fill, t); }
  table_copy(dst = 0, src = 0): this { return this.fc(FC.table_copy, dst, src); }
  table_init(seg: number, t = 0): this { return this.fc(FC.table_init, seg, t); }
  elem_drop(seg: number): this { return this.fc(FC.elem_drop, seg); }
  table_grow(t = 0): this { return this.fc(FC.table_grow, t); }
  table_size(t = 0): this { return this.fc(FC.table_size, t); }
}

/** Natural alignment (log2) of a load/store opcode. */
export function naturalAlign(op: number): number {
  switch (op) {
    case 0x28: case 0x2a: case 0x34: case 0x35: case 0x36: case 0x38: case 0x3e: return 2;
    case 0x29: case 0x2b: case 0x37: case 0x39: return 3;
    case 0x2c: case 0x2d: case 0x30: case 0x31: case 0x3a: case 0x3c: return 0;
    case 0x2e: case 0x2f: case 0x32: case 0x33: case 0x3b: case 0x3d: return 1;
  }
  throw new Error(`not a memory access opcode 0x${op.toString(16)}`);
}

const scratch = new DataView(new ArrayBuffer(8));
export function f32Bits(v: number): number { scratch.setFloat32(0, v, true); return scratch.getUint32(0, true); }
export function f64Bits(v: number): bigint { scratch.setFloat64(0, v, true); return scratch.getBigUint64(0, true); }
export function bitsF32(b: number): number { scratch.setUint32(0, b >>> 0, true); return scratch.getFloat32(0, true); }
export function bitsF64(b: bigint): number { scratch.setBigUint64(0, BigInt.asUintN(64, b), true); return scratch.getFloat64(0, true); }

// ------------------------------------------------------------------------------------------------ module

export interface LimitsSpec {
  min: number | bigint;
  max?: number | bigint;
  i64?: boolean;
}

interface FuncDef {
  type: number;
  locals: T[];
  code: Code;
  name?: string;
}

type ImportDesc =
  | { kind: 0; type: number }
  | { kind: 1; elem: T; limits: LimitsSpec }
  | { kind: 2; limits: LimitsSpec }
  | { kind: 3; type: T; mutable: boolean };

export interface ElemSpec {
  mode: 'active' | 'passive' | 'declarative';
  table?: number;
  /** Offset constant expression (without `end`), for active segments. */
  offset?: Code;
  funcs: number[];
}

export interface DataSpec {
  mode: 'active' | 'passive';
  memory?: number;
  offset?: Code;
  bytes: ArrayLike<number>;
}

export class ModuleBuilder {
  private types: Array<{ params: T[]; results: T[] }> = [];
  private imports: Array<{ module: string; name: string; desc: ImportDesc }> = [];
  private funcs: FuncDef[] = [];
  private tables: Array<{ elem: T; limits: LimitsSpec }> = [];
  private memories: LimitsSpec[] = [];
  private globals: Array<{ type: T; mutable: boolean; init: Code }> = [];
  private exports: Array<{ name: string; kind: number; index: number }> = [];
  private elems: ElemSpec[] = [];
  private datas: DataSpec[] = [];
  private startFunc: number | null = null;
  private numImportedFuncs = 0;
  private numImportedTables = 0;
  private numImportedMemories = 0;
  private numImportedGlobals = 0;
  private funcNames = new Map<number, string>();
  /** Emit a data count section (needed for memory.init / data.drop). Set automatically when datas exist. */
  dataCount: boolean | null = null;
  /** After build(): absolute module offset of each defined function's code bytes (index: function index). */
  private codeStart = new Map<number, number>();

  /** Index of the function type (deduplicated). */
  type(params: T[], results: T[]): number {
    const key = `${params.join(',')}:${results.join(',')}`;
    const i = this.types.findIndex((t) => `${t.params.join(',')}:${t.results.join(',')}` === key);
    if (i >= 0) return i;
    this.types.push({ params: [...params], results: [...results] });
    return this.types.length - 1;
  }

  /** A new type entry even when an equal one exists. */
  typeDistinct(params: T[], results: T[]): number {
    this.types.push({ params: [...params], results: [...results] });
    return this.types.length - 1;
  }

  private checkImportOrder(): void {
    if (this.funcs.length || this.tables.length || this.memories.length || this.globals.length) {
      throw new Error('declare imports before definitions');
    }
  }

  importFunc(module: string, name: string, params: T[], results: T[], fname?: string): number {
    this.checkImportOrder();
    this.imports.push({ module, name, desc: { kind: 0, type: this.type(params, results) } });
    const idx = this.numImportedFuncs++;
    if (fname !== undefined) this.funcNames.set(idx, fname);
    return idx;
  }

  importTable(module: string, name: string, elem: T, limits: LimitsSpec): number {
    this.checkImportOrder();
    this.imports.push({ module, name, desc: { kind: 1, elem, limits } });
    return this.numImportedTables++;
  }

  importMemory(module: string, name: string, limits: LimitsSpec): number {
    this.checkImportOrder();
    this.imports.push({ module, name, desc: { kind: 2, limits } });
    return this.numImportedMemories++;
  }

  importGlobal(module: string, name: string, type: T, mutable = false): number {
    this.checkImportOrder();
    this.imports.push({ module, name, desc: { kind: 3, type, mutable } });
    return this.numImportedGlobals++;
  }

  /**
   * Define a function. `body` receives a Code to fill (it must end with `end()`), or a ready Code.
   * Options: export name(s), a debug name for the name section, extra locals.
   */
  func(
    params: T[], results: T[], body: ((c: Code) => unknown) | Code,
    opts: { export?: string | string[]; name?: string; locals?: T[]; type?: number } = {},
  ): number {
    const code = body instanceof Code ? body : new Code();
    if (!(body instanceof Code)) body(code);
    const type = opts.type ?? this.type(params, results);
    const index = this.numImportedFuncs + this.funcs.length;
    this.funcs.push({ type, locals: opts.locals ?? [], code, name: opts.name });
    if (opts.name !== undefined) this.funcNames.set(index, opts.name);
    const ex = opts.export === undefined ? [] : Array.isArray(opts.export) ? opts.export : [opts.export];
    for (const e of ex) this.exportFunc(e, index);
    return index;
  }

  /** Index the next defined function will get. */
  nextFuncIndex(): number {
    return this.numImportedFuncs + this.funcs.length;
  }

  table(elem: T, limits: LimitsSpec, exportName?: string): number {
    this.tables.push({ elem, limits });
    const i = this.numImportedTables + this.tables.length - 1;
    if (exportName !== undefined) this.exports.push({ name: exportName, kind: 1, index: i });
    return i;
  }

  memory(limits: LimitsSpec, exportName?: string): number {
    this.memories.push(limits);
    const i = this.numImportedMemories + this.memories.length - 1;
    if (exportName !== undefined) this.exports.push({ name: exportName, kind: 2, index: i });
    return i;
  }

  /** A global with an initialiser expression (without `end`). */
  global(type: T, mutable: boolean, init: Code | ((c: Code) => unknown), exportName?: string): number {
    const code = init instanceof Code ? init : new Code();
    if (!(init instanceof Code)) init(code);
    this.globals.push({ type, mutable, init: code });
    const i = this.numImportedGlobals + this.globals.length - 1;
    if (exportName !== undefined) this.exports.push({ name: exportName, kind: 3, index: i });
    return i;
  }

  exportFunc(name: string, index: number): void { this.exports.push({ name, kind: 0, index }); }
  exportTable(name: string, index: number): void { this.exports.push({ name, kind: 1, index }); }
  exportMemory(name: string, index: number): void { this.exports.push({ name, kind: 2, index }); }
  exportGlobal(name: string, index: number): void { this.exports.push({ name, kind: 3, index }); }

  elem(spec: ElemSpec): number {
    this.elems.push(spec);
    return this.elems.length - 1;
  }

  data(spec: DataSpec): number {
    this.datas.push(spec);
    return this.datas.length - 1;
  }

  start(f: number): void {
    this.startFunc = f;
  }

  /** Set a function's name in the name section (imports too). */
  setName(f: number, n: string): void {
    this.funcNames.set(f, n);
  }

  /** Absolute module byte offset of mark `markName` in defined function `f` (after build()). */
  offsetOf(f: number, markName: string): number {
    const base = this.codeStart.get(f);
    if (base === undefined) throw new Error(`function ${f} not built`);
    const def = this.funcs[f - this.numImportedFuncs];
    const m = def.code.marks.get(markName);
    if (m === undefined) throw new Error(`no mark ${markName} in function ${f}`);
    return base + m;
  }

  build(): Uint8Array<ArrayBuffer> {
    const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    const section = (id: number, payload: number[]): number => {
      out.push(id);
      uleb(out, payload.length);
      const start = out.length;
      for (const b of payload) out.push(b);
      return start;
    };
    const limits = (p: number[], l: LimitsSpec): void => {
      const hasMax = l.max !== undefined;
      p.push((hasMax ? 1 : 0) | (l.i64 ? 4 : 0));
      uleb(p, l.min);
      if (hasMax) uleb(p, l.max!);
    };
    if (this.types.length) {
      const p: number[] = [];
      uleb(p, this.types.length);
      for (const t of this.types) {
        p.push(0x60);
        uleb(p, t.params.length);
        p.push(...t.params);
        uleb(p, t.results.length);
        p.push(...t.results);
      }
      section(1, p);
    }
    if (this.imports.length) {
      const p: number[] = [];
      uleb(p, this.imports.length);
      for (const imp of this.imports) {
        name(p, imp.module);
        name(p, imp.name);
        const d = imp.desc;
        p.push(d.kind);
        switch (d.kind) {
          case 0: uleb(p, d.type); break;
          case 1: p.push(d.elem); limits(p, d.limits); break;
          case 2: limits(p, d.limits); break;
          case 3: p.push(d.type, d.mutable ? 1 : 0); break;
        }
      }
      section(2, p);
    }
    if (this.funcs.length) {
      const p: number[] = [];
      uleb(p, this.funcs.length);
      for (const f of this.funcs) uleb(p, f.type);
      section(3, p);
    }
    if (this.tables.length) {
      const p: number[] = [];
      uleb(p, this.tables.length);
      for (const t of this.tables) {
        p.push(t.elem);
        limits(p, t.limits);
      }
      section(4, p);
    }
    if (this.memories.length) {
      const p: number[] = [];
      uleb(p, this.memories.length);
      for (const m of this.memories) limits(p, m);
      section(5, p);
    }
    if (this.globals.length) {
      const p: number[] = [];
      uleb(p, this.globals.length);
      for (const g of this.globals) {
        p.push(g.type, g.mutable ? 1 : 0);
        p.push(...g.init.bytes, 0x0b);
      }
      section(6, p);
    }
    if (this.exports.length) {
      const p: number[] = [];
      uleb(p, this.exports.length);
      for (const e of this.exports) {
        name(p, e.name);
        p.push(e.kind);
        uleb(p, e.index);
      }
      section(7, p);
    }
    if (this.startFunc !== null) {
      const p: number[] = [];
      uleb(p, this.startFunc);
      section(8, p);
    }
    if (this.elems.length) {
      const p: number[] = [];
      uleb(p, this.elems.length);
      for (const e of this.elems) {
        if (e.mode === 'active') {
          p.push(0x02);
          uleb(p, e.table ?? 0);
          p.push(...(e.offset ?? new Code().i32_const(0)).bytes, 0x0b);
          p.push(0x00);
        } else {
          p.push(e.mode === 'passive' ? 0x01 : 0x03, 0x00);
        }
        uleb(p, e.funcs.length);
        for (const f of e.funcs) uleb(p, f);
      }
      section(9, p);
    }
    if (this.dataCount ?? this.datas.length > 0) {
      const p: number[] = [];
      uleb(p, this.datas.length);
      section(12, p);
    }
    if (this.funcs.length) {
      // Bodies are built first so that their absolute offsets can be computed.
      const bodies: Array<{ header: number[]; code: number[] }> = this.funcs.map((f) => {
        const header: number[] = [];
        const groups: Array<[T, number]> = [];
        for (const t of f.locals) {
          if (groups.length && groups[groups.length - 1][0] === t) groups[groups.length - 1][1]++;
          else groups.push([t, 1]);
        }
        uleb(header, groups.length);
        for (const [t, n] of groups) {
          uleb(header, n);
          header.push(t);
        }
        return { header, code: f.code.bytes };
      });
      const p: number[] = [];
      uleb(p, bodies.length);
      const rel: number[] = [];
      for (const b of bodies) {
        uleb(p, b.header.length + b.code.length);
        p.push(...b.header);
        rel.push(p.length);
        for (const x of b.code) p.push(x);
      }
      const start = section(10, p);
      rel.forEach((r, k) => this.codeStart.set(this.numImportedFuncs + k, start + r));
    }
    if (this.datas.length) {
      const p: number[] = [];
      uleb(p, this.datas.length);
      for (const d of this.datas) {
        if (d.mode === 'passive') p.push(0x01);
        else {
          p.push(0x02);
          uleb(p, d.memory ?? 0);
          p.push(...(d.offset ?? new Code().i32_const(0)).bytes, 0x0b);
        }
        uleb(p, d.bytes.length);
        for (let i = 0; i < d.bytes.length; i++) p.push(d.bytes[i]);
      }
      section(11, p);
    }
    if (this.funcNames.size) {
      const p: number[] = [];
      name(p, 'name');
      const sub: number[] = [];
      const entries = [...this.funcNames.entries()].sort((a, b) => a[0] - b[0]);
      uleb(sub, entries.length);
      for (const [i, n] of entries) {
        uleb(sub, i);
        name(sub, n);
      }
      p.push(0x01);
      uleb(p, sub.length);
      p.push(...sub);
      section(0, p);
    }
    return new Uint8Array(out);
  }
}
