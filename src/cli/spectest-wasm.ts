// A tiny WebAssembly binary writer for the spectest runner: it builds the call wrappers that move float and
// v128 values across the JS boundary as integer bit patterns, and the tests use it to build fixtures.
// It knows only what those need: types, imports, functions, memories, globals, exports and code.

export type ValTypeName =
  | 'i32'
  | 'i64'
  | 'f32'
  | 'f64'
  | 'v128'
  | 'funcref'
  | 'externref'
  | 'anyref'
  | 'exnref'
  | 'nullref'
  | 'nullfuncref'
  | 'nullexternref'
  | 'nullexnref';

/** Binary encodings (reference types: the one-byte shorthands for nullable abstract heap types). */
export const TYPE_CODE: Readonly<Record<ValTypeName, number>> = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
  anyref: 0x6e,
  exnref: 0x69,
  nullref: 0x71,
  nullfuncref: 0x73,
  nullexternref: 0x72,
  nullexnref: 0x74,
};

export function isValTypeName(s: string): s is ValTypeName {
  return Object.prototype.hasOwnProperty.call(TYPE_CODE, s);
}

/** Opcodes used by the wrappers and the test fixtures. */
export const Op = {
  unreachable: 0x00,
  nop: 0x01,
  end: 0x0b,
  call: 0x10,
  drop: 0x1a,
  localGet: 0x20,
  localSet: 0x21,
  globalGet: 0x23,
  i32Const: 0x41,
  i64Const: 0x42,
  f32Const: 0x43,
  f64Const: 0x44,
  i32Add: 0x6a,
  i32DivS: 0x6d,
  i32ReinterpretF32: 0xbc,
  i64ReinterpretF64: 0xbd,
  f32ReinterpretI32: 0xbe,
  f64ReinterpretI64: 0xbf,
  refNull: 0xd0,
  refIsNull: 0xd1,
  simdPrefix: 0xfd,
  // SIMD sub-opcodes (after 0xfd, as u32 LEB)
  v128Const: 12,
  i64x2ExtractLane: 29,
  i64x2ReplaceLane: 30,
} as const;

export const enum ExternKind {
  Func = 0,
  Table = 1,
  Memory = 2,
  Global = 3,
}

/** Growable byte buffer with the LEB128 encoders. */
export class ByteWriter {
  private buf: number[] = [];

  get length(): number {
    return this.buf.length;
  }
  u8(b: number): this {
    this.buf.push(b & 0xff);
    return this;
  }
  bytes(bs: ArrayLike<number>): this {
    for (let i = 0; i < bs.length; i++) this.buf.push(bs[i]! & 0xff);
    return this;
  }
  u32(n: number): this {
    let v = n >>> 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.buf.push(b);
    } while (v !== 0);
    return this;
  }
  /** Signed LEB128 of any integer given as a BigInt (or a safe-integer Number). */
  sleb(n: bigint | number): this {
    let v = BigInt(n);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      const done = (v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0);
      this.buf.push(done ? b : b | 0x80);
      if (done) return this;
    }
  }
  name(s: string): this {
    const enc = new TextEncoder().encode(s);
    return this.u32(enc.length).bytes(enc);
  }
  toArray(): number[] {
    return this.buf.slice();
  }
  toBytes(): Uint8Array {
    return Uint8Array.from(this.buf);
  }
}

export interface Sig {
  params: ValTypeName[];
  results: ValTypeName[];
}

export function sigKey(sig: Sig): string {
  return `${sig.params.join(',')}->${sig.results.join(',')}`;
}

interface ImportEntry {
  module: string;
  name: string;
  kind: ExternKind;
  desc: number[];
}

interface FuncEntry {
  type: number;
  locals: ValTypeName[];
  body: number[];
}

/**
 * Builds a module. Imports must all be added before definitions of the same kind (function and global
 * indices count imports first, as in the binary format).
 */
export class ModuleBuilder {
  private types: Sig[] = [];
  private typeKeys = new Map<string, number>();
  private imports: ImportEntry[] = [];
  private funcs: FuncEntry[] = [];
  private memories: number[][] = [];
  private globals: number[][] = [];
  private exports: { name: string; kind: ExternKind; index: number }[] = [];
  private importedFuncs = 0;
  private importedGlobals = 0;
  private startFunc: number | null = null;

  type(sig: Sig): number {
    const key = sigKey(sig);
    let idx = this.typeKeys.get(key);
    if (idx === undefined) {
      idx = this.types.length;
      this.types.push({ params: sig.params.slice(), results: sig.results.slice() });
      this.typeKeys.set(key, idx);
    }
    return idx;
  }

  importFunc(module: string, name: string, sig: Sig): number {
    if (this.funcs.length > 0) throw new Error('function imports must precede function definitions');
    const t = this.type(sig);
    this.imports.push({ module, name, kind: ExternKind.Func, desc: new ByteWriter().u32(t).toArray() });
    return this.importedFuncs++;
  }

  importGlobal(module: string, name: string, type: ValTypeName, mutable: boolean): number {
    if (this.globals.length > 0) throw new Error('global imports must precede global definitions');
    this.imports.push({ module, name, kind: ExternKind.Global, desc: [TYPE_CODE[type], mutable ? 1 : 0] });
    return this.importedGlobals++;
  }

  /** Adds a function; `body` is the instruction bytes without the final `end`. Returns its function index. */
  func(sig: Sig, locals: ValTypeName[], body: ArrayLike<number>): number {
    this.funcs.push({ type: this.type(sig), locals: locals.slice(), body: Array.from(body) });
    return this.importedFuncs + this.funcs.length - 1;
  }

  memory(min: number, max?: number): number {
    const w = new ByteWriter();
    if (max === undefined) w.u8(0).u32(min);
    else w.u8(1).u32(min).u32(max);
    this.memories.push(w.toArray());
    return this.memories.length - 1;
  }

  /** Adds a global; `init` is the constant expression without the final `end`. Returns its global index. */
  global(type: ValTypeName, mutable: boolean, init: ArrayLike<number>): number {
    this.globals.push([TYPE_CODE[type], mutable ? 1 : 0, ...Array.from(init), Op.end]);
    return this.importedGlobals + this.globals.length - 1;
  }

  export(name: string, kind: ExternKind, index: number): this {
    this.exports.push({ name, kind, index });
    return this;
  }

  start(funcIndex: number): this {
    this.startFunc = funcIndex;
    return this;
  }

  build(): Uint8Array {
    const out = new ByteWriter().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    const section = (id: number, count: number, write: (w: ByteWriter) => void) => {
      if (count === 0) return;
      const w = new ByteWriter().u32(count);
      write(w);
      out.u8(id).u32(w.length).bytes(w.toArray());
    };
    section(1, this.types.length, (w) => {
      for (const t of this.types) {
        w.u8(0x60).u32(t.params.length);
        for (const p of t.params) w.u8(TYPE_CODE[p]);
        w.u32(t.results.length);
        for (const r of t.results) w.u8(TYPE_CODE[r]);
      }
    });
    section(2, this.imports.length, (w) => {
      for (const imp of this.imports) w.name(imp.module).name(imp.name).u8(imp.kind).bytes(imp.desc);
    });
    section(3, this.funcs.length, (w) => {
      for (const f of this.funcs) w.u32(f.type);
    });
    section(5, this.memories.length, (w) => {
      for (const m of this.memories) w.bytes(m);
    });
    section(6, this.globals.length, (w) => {
      for (const g of this.globals) w.bytes(g);
    });
    section(7, this.exports.length, (w) => {
      for (const e of this.exports) w.name(e.name).u8(e.kind).u32(e.index);
    });
    if (this.startFunc !== null) {
      const w = new ByteWriter().u32(this.startFunc);
      out.u8(8).u32(w.length).bytes(w.toArray());
    }
    section(10, this.funcs.length, (w) => {
      for (const f of this.funcs) {
        const b = new ByteWriter().u32(f.locals.length);
        for (const l of f.locals) b.u32(1).u8(TYPE_CODE[l]);
        b.bytes(f.body).u8(Op.end);
        w.u32(b.length).bytes(b.toArray());
      }
    });
    return out.toBytes();
  }
}

// ---- instruction helpers (return byte arrays to concatenate) ----

export function i32Const(v: number | bigint): number[] {
  return new ByteWriter().u8(Op.i32Const).sleb(BigInt.asIntN(32, BigInt(v))).toArray();
}
export function i64Const(v: number | bigint): number[] {
  return new ByteWriter().u8(Op.i64Const).sleb(BigInt.asIntN(64, BigInt(v))).toArray();
}
export function f32ConstBits(bits: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, bits >>> 0, true);
  return [Op.f32Const, ...b];
}
export function f64ConstBits(bits: bigint): number[] {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, bits), true);
  return [Op.f64Const, ...b];
}
export function v128Const(bytes: ArrayLike<number>): number[] {
  return [Op.simdPrefix, Op.v128Const, ...Array.from(bytes)];
}
export function localGet(i: number): number[] {
  return new ByteWriter().u8(Op.localGet).u32(i).toArray();
}
export function localSet(i: number): number[] {
  return new ByteWriter().u8(Op.localSet).u32(i).toArray();
}
export function call(i: number): number[] {
  return new ByteWriter().u8(Op.call).u32(i).toArray();
}
export function globalGet(i: number): number[] {
  return new ByteWriter().u8(Op.globalGet).u32(i).toArray();
}
export function refNull(type: 'funcref' | 'externref'): number[] {
  return [Op.refNull, TYPE_CODE[type]];
}
