// A small WebAssembly binary toolkit for the fuzzers (independent of Quickbeam's decoder, so it can be used
// on modules Quickbeam rejects): LEB128, a tolerant section/instruction reader, a byte writer and a module
// builder. It knows the opcodes of Wasm 2.0, memory64/multi-memory, extended-const, and enough of SIMD,
// exception handling, tail calls and GC to recognise (and step over) them.

export const SECTION = { custom: 0, type: 1, import: 2, func: 3, table: 4, memory: 5, global: 6, export: 7, start: 8, elem: 9, code: 10, data: 11, datacount: 12, tag: 13 };

export const T = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b, funcref: 0x70, externref: 0x6f };
export const TYPE_NAME = {
  0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64', 0x7b: 'v128', 0x70: 'funcref', 0x6f: 'externref', 0x69: 'exnref',
  // GC's abstract reference types (a JS API type name each)
  0x6e: 'anyref', 0x6d: 'eqref', 0x6c: 'i31ref', 0x6b: 'structref', 0x6a: 'arrayref',
};

export class DecodeError extends Error {}

// ---------------------------------------------------------------------------------------------------
// Reader

export class Reader {
  constructor(bytes, pos = 0, end = bytes.length) {
    this.b = bytes;
    this.pos = pos;
    this.end = end;
  }
  eof() { return this.pos >= this.end; }
  u8() {
    if (this.pos >= this.end) throw new DecodeError('unexpected end');
    return this.b[this.pos++];
  }
  bytes(n) {
    if (n < 0 || this.pos + n > this.end) throw new DecodeError('unexpected end');
    const s = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  /** Unsigned LEB as a Number (up to 2^53), at most maxBytes bytes. */
  u32(maxBytes = 5) {
    let result = 0, mul = 1;
    for (let i = 0; i < maxBytes; i++) {
      const byte = this.u8();
      result += (byte & 0x7f) * mul;
      mul *= 128;
      if ((byte & 0x80) === 0) return result;
    }
    throw new DecodeError('LEB too long');
  }
  u64() { return this.leb64(false); }
  s64() { return this.leb64(true); }
  s32() { return Number(this.leb(true, 5)); }
  s33() { return Number(this.leb(true, 5)); }
  leb64(signed) { return this.leb(signed, 10); }
  leb(signed, maxBytes) {
    let result = 0n, shift = 0n, byte = 0;
    for (let i = 0; i < maxBytes; i++) {
      byte = this.u8();
      result |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if ((byte & 0x80) === 0) {
        if (signed && (byte & 0x40)) result -= 1n << shift;
        return result;
      }
    }
    throw new DecodeError('LEB too long');
  }
  name() {
    const n = this.u32();
    return new TextDecoder().decode(this.bytes(n));
  }
}

/** Split a module into sections: [{ id, start (of the id byte), payloadStart, end }]. Throws DecodeError. */
export function readSections(bytes) {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new DecodeError('bad magic');
  const r = new Reader(bytes, 8);
  const out = [];
  while (!r.eof()) {
    const start = r.pos;
    const id = r.u8();
    const size = r.u32();
    const payloadStart = r.pos;
    if (payloadStart + size > bytes.length) throw new DecodeError('section past end');
    r.pos += size;
    out.push({ id, start, payloadStart, end: r.pos });
  }
  return out;
}

/** Read a value type (returns the type byte; GC ref types 0x63/0x64 consume their heap type). */
export function readValType(r) {
  const t = r.u8();
  r.lastHeap = null;
  if (t === 0x63 || t === 0x64) {
    const h = r.s33();
    if (h < 0) r.lastHeap = Number(h) & 0x7f; // an abstract heap type: its shorthand code
  }
  return t;
}

function readLimits(r) {
  const flags = r.u8();
  const index64 = (flags & 4) !== 0;
  const min = index64 ? r.u64() : BigInt(r.u32());
  const max = flags & 1 ? (index64 ? r.u64() : BigInt(r.u32())) : null;
  return { flags, index64, shared: (flags & 2) !== 0, min, max };
}

/** Skip a constant expression up to and including its `end`; returns the instructions as [{op, imm}]. */
function readConstExpr(r) {
  const ins = [];
  for (;;) {
    const at = r.pos;
    const op = r.u8();
    if (op === 0x0b) return { ins, end: r.pos };
    let imm = null;
    switch (op) {
      case 0x41: imm = BigInt(r.s32()); break;
      case 0x42: imm = r.s64(); break;
      case 0x43: r.bytes(4); break;
      case 0x44: r.bytes(8); break;
      case 0x23: imm = r.u32(); break;
      case 0xd0: r.s33(); break;
      case 0xd2: imm = r.u32(); break;
      case 0xfd: r.u32(); r.bytes(16); break;
      case 0xfb: { // GC: struct.new(_default) t, array.new(_default) t, array.new_fixed t n; ref.i31, conversions
        const sub = r.u32();
        if (sub <= 1 || sub === 6 || sub === 7) r.u32();
        else if (sub === 8) { r.u32(); r.u32(); }
        break;
      }
      default: break; // extended-const arithmetic: no immediates
    }
    ins.push({ op, imm, at });
  }
}

/**
 * Decode the module structure (not function bodies). Tolerant of unknown content only where noted;
 * throws DecodeError on anything it cannot follow.
 */
export function parseModule(bytes) {
  const sections = readSections(bytes);
  const m = {
    sections, types: [], imports: [], funcs: [], tables: [], memories: [], globals: [], exports: [], start: null,
    elems: [], datas: [], dataCount: null, code: [], numImportedFuncs: 0, numImportedGlobals: 0, numImportedMemories: 0, numImportedTables: 0, tags: 0, tagTypes: [],
  };
  for (const s of sections) {
    const r = new Reader(bytes, s.payloadStart, s.end);
    switch (s.id) {
      case SECTION.type: {
        // recursion groups (0x4e), subtypes (0x50 / 0x4f with supertypes) and struct/array types (GC): a struct
        // or array type is recorded with no params/results (`gc: true`)
        const groups = r.u32();
        for (let g = 0; g < groups; g++) {
          let n = 1;
          if (r.b[r.pos] === 0x4e) { r.pos++; n = r.u32(); }
          for (let i = 0; i < n; i++) {
            let form = r.u8();
            if (form === 0x50 || form === 0x4f) {
              const supers = r.u32();
              for (let k = 0; k < supers; k++) r.u32();
              form = r.u8();
            }
            if (form === 0x5f || form === 0x5e) {
              const nf = form === 0x5f ? r.u32() : 1;
              for (let k = 0; k < nf; k++) {
                if (r.b[r.pos] === 0x78 || r.b[r.pos] === 0x77) r.pos++;
                else readValType(r);
                r.u8(); // mutability
              }
              m.types.push({ params: [], results: [], gc: true });
              continue;
            }
            if (form !== 0x60) throw new DecodeError(`type form 0x${form.toString(16)}`);
            const np = r.u32();
            const params = [];
            for (let k = 0; k < np; k++) params.push(readValType(r));
            const nr = r.u32();
            const results = [];
            for (let k = 0; k < nr; k++) results.push(readValType(r));
            m.types.push({ params, results });
          }
        }
        break;
      }
      case SECTION.import: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const module = r.name(), name = r.name();
          const kind = r.u8();
          const imp = { module, name, kind };
          if (kind === 0) { imp.type = r.u32(); m.funcs.push(imp.type); m.numImportedFuncs++; }
          else if (kind === 1) { imp.elemType = readValType(r); imp.limits = readLimits(r); m.tables.push(imp); m.numImportedTables++; }
          else if (kind === 2) { imp.limits = readLimits(r); m.memories.push(imp.limits); m.numImportedMemories++; }
          else if (kind === 3) {
            imp.valType = readValType(r);
            // (ref null? <abstract>): the shorthand's type, non-null noted (the harness gives a non-null value)
            if (r.lastHeap !== null && r.lastHeap !== undefined) { imp.nonNull = imp.valType === 0x64; imp.valType = r.lastHeap; }
            imp.mutable = r.u8() === 1; m.globals.push({ type: imp.valType, mutable: imp.mutable }); m.numImportedGlobals++; }
          else if (kind === 4) { r.u8(); imp.type = r.u32(); m.tagTypes.push(imp.type); m.tags++; }
          else throw new DecodeError('import kind');
          m.imports.push(imp);
        }
        break;
      }
      case SECTION.func: {
        const n = r.u32();
        for (let i = 0; i < n; i++) m.funcs.push(r.u32());
        break;
      }
      case SECTION.table: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          let init = null;
          if (r.b[r.pos] === 0x40 && r.b[r.pos + 1] === 0x00) { r.pos += 2; init = true; }
          const elemType = readValType(r);
          const limits = readLimits(r);
          if (init) readConstExpr(r);
          m.tables.push({ elemType, limits });
        }
        break;
      }
      case SECTION.memory: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const at = r.pos;
          const limits = readLimits(r);
          limits.at = at;
          m.memories.push(limits);
        }
        break;
      }
      case SECTION.global: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const type = readValType(r);
          const mutable = r.u8() === 1;
          const initAt = r.pos;
          const init = readConstExpr(r);
          m.globals.push({ type, mutable, init: init.ins, initAt, initEnd: init.end });
        }
        break;
      }
      case SECTION.export: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const name = r.name();
          const kind = r.u8();
          const index = r.u32();
          m.exports.push({ name, kind, index });
        }
        break;
      }
      case SECTION.start: m.start = r.u32(); break;
      case SECTION.elem: {
        const n = r.u32();
        for (let i = 0; i < n; i++) m.elems.push(readElem(r));
        break;
      }
      case SECTION.datacount: m.dataCount = r.u32(); break;
      case SECTION.code: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const size = r.u32();
          const start = r.pos;
          const end = start + size;
          const br = new Reader(bytes, start, end);
          const locals = [];
          const ng = br.u32();
          for (let k = 0; k < ng; k++) {
            const count = br.u32();
            const type = readValType(br);
            locals.push({ count, type });
          }
          m.code.push({ start, end, localsEnd: br.pos, locals, sizeAt: start - lebSize(size) });
          r.pos = end;
        }
        break;
      }
      case SECTION.data: {
        const n = r.u32();
        for (let i = 0; i < n; i++) {
          const segStart = r.pos;
          const flags = r.u32();
          let memory = 0, offset = null;
          if (flags === 2) memory = r.u32();
          if (flags === 0 || flags === 2) offset = readConstExpr(r);
          const len = r.u32();
          const dataStart = r.pos;
          r.bytes(len);
          m.datas.push({ flags, memory, offset: offset?.ins ?? null, offsetEnd: offset?.end ?? null, segStart, dataStart, len });
        }
        break;
      }
      case SECTION.tag: {
        const n = r.u32();
        for (let i = 0; i < n; i++) { r.u8(); m.tagTypes.push(r.u32()); }
        m.tags += n;
        break;
      }
      default: break;
    }
  }
  return m;
}

function readElem(r) {
  const flags = r.u32();
  const seg = { flags, table: 0, offset: null, elemType: T.funcref, count: 0, mode: 'active' };
  if (flags & 1) seg.mode = flags & 2 ? 'declarative' : 'passive';
  if ((flags & 3) === 2) seg.table = r.u32();
  if ((flags & 1) === 0) seg.offset = readConstExpr(r).ins;
  // seg.funcs: the function index of each element (null for ref.null or anything else).
  seg.funcs = [];
  if (flags & 4) {
    if (flags & 3) seg.elemType = readValType(r);
    const n = r.u32();
    for (let i = 0; i < n; i++) {
      const e = readConstExpr(r);
      seg.funcs.push(e.ins.length === 1 && e.ins[0].op === 0xd2 ? e.ins[0].imm : null);
    }
    seg.count = n;
  } else {
    if (flags & 3) r.u8(); // elemkind
    const n = r.u32();
    for (let i = 0; i < n; i++) seg.funcs.push(r.u32());
    seg.count = n;
  }
  return seg;
}

export function lebSize(v) {
  let n = 1;
  let x = BigInt(v);
  while (x >= 128n) { x >>= 7n; n++; }
  return n;
}

// ---------------------------------------------------------------------------------------------------
// Instructions

/** Features an instruction belongs to (beyond Wasm 2.0 + memory64/multi-memory/extended-const). */
export const FEATURE = { simd: 'simd', eh: 'exception-handling', tail: 'tail-call', gc: 'gc', threads: 'threads', typedRefs: 'typed-function-references' };

/** Immediate shapes of the SIMD opcodes (0xfd prefix). */
function simdImm(r, sub) {
  if (sub <= 11 || sub === 92 || sub === 93) return readMemarg(r);
  if (sub === 12 || sub === 13) { r.bytes(16); return null; }
  if (sub >= 21 && sub <= 34) { r.u8(); return null; }
  if (sub >= 84 && sub <= 91) { const m = readMemarg(r); r.u8(); return m; }
  return null;
}

export function readMemarg(r) {
  const alignAt = r.pos;
  let flags = r.u32();
  let mem = 0;
  if (flags & 0x40) {
    flags &= ~0x40;
    mem = r.u32();
  }
  const offsetAt = r.pos;
  const offset = r.u64();
  return { align: flags, mem, offset, alignAt, offsetAt, end: r.pos };
}

function readBlockType(r) {
  const b = r.b[r.pos];
  if (b === 0x40 || b === 0x7f || b === 0x7e || b === 0x7d || b === 0x7c || b === 0x7b || b === 0x70 || b === 0x6f) {
    r.pos++;
    return b;
  }
  if (b === 0x63 || b === 0x64) { r.pos++; r.s33(); return b; }
  return r.s33();
}

/**
 * Decode one instruction at r.pos. Returns { op, sub, at, end, memarg?, idx?, features? } where op is the
 * first byte, sub the LEB sub-opcode of prefixed ops, idx the first index immediate. Throws DecodeError
 * on an unknown opcode.
 */
export function readInstr(r) {
  const at = r.pos;
  const op = r.u8();
  const ins = { op, sub: -1, at, end: 0, memarg: null, idx: -1, idxAt: -1, feature: null };
  switch (op) {
    case 0x00: case 0x01: case 0x05: case 0x0b: case 0x0f: case 0x1a: case 0x1b: case 0xd1: break;
    case 0x02: case 0x03: case 0x04: ins.idx = readBlockType(r); break;
    case 0x06: readBlockType(r); ins.feature = FEATURE.eh; break;
    case 0x07: case 0x08: case 0x09: case 0x18: ins.idxAt = r.pos; ins.idx = r.u32(); ins.feature = FEATURE.eh; break;
    case 0x19: case 0x0a: ins.feature = FEATURE.eh; break;
    case 0x1f: {
      readBlockType(r);
      ins.countAt = r.pos;
      const n = r.u32();
      ins.catches = [];
      for (let i = 0; i < n; i++) {
        const c = { kindAt: r.pos, tagAt: -1, labelAt: -1 };
        const k = r.u8();
        if (k <= 1) { c.tagAt = r.pos; r.u32(); }
        c.labelAt = r.pos;
        r.u32();
        ins.catches.push(c);
      }
      ins.feature = FEATURE.eh;
      break;
    }
    case 0x0c: case 0x0d: ins.idxAt = r.pos; ins.idx = r.u32(); break;
    case 0x0e: {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.u32();
      break;
    }
    case 0x10: ins.idxAt = r.pos; ins.idx = r.u32(); break;
    case 0x11: ins.idxAt = r.pos; ins.idx = r.u32(); ins.table = r.u32(); break;
    case 0x12: ins.idxAt = r.pos; ins.idx = r.u32(); ins.feature = FEATURE.tail; break;
    case 0x13: ins.idxAt = r.pos; ins.idx = r.u32(); ins.table = r.u32(); ins.feature = FEATURE.tail; break;
    case 0x14: case 0x15: ins.idxAt = r.pos; ins.idx = r.u32(); ins.feature = FEATURE.typedRefs; break;
    case 0x1c: {
      const n = r.u32();
      for (let i = 0; i < n; i++) readValType(r);
      break;
    }
    case 0x20: case 0x21: case 0x22: case 0x23: case 0x24: case 0x25: case 0x26: case 0xd2:
      ins.idxAt = r.pos; ins.idx = r.u32(); break;
    case 0x3f: case 0x40: ins.idxAt = r.pos; ins.idx = r.u32(); break;
    case 0x41: ins.value = BigInt(r.s32()); break;
    case 0x42: ins.value = r.s64(); break;
    case 0x43: r.bytes(4); break;
    case 0x44: r.bytes(8); break;
    case 0xd0: r.s33(); break;
    case 0xd3: throw Object.assign(new DecodeError('gc opcode ref.eq'), { feature: FEATURE.gc });
    case 0xd4: ins.feature = FEATURE.typedRefs; break;
    case 0xd5: case 0xd6: ins.idxAt = r.pos; ins.idx = r.u32(); ins.feature = FEATURE.typedRefs; break;
    case 0xfb: throw Object.assign(new DecodeError('gc opcode'), { feature: FEATURE.gc });
    case 0xfc: {
      const sub = r.u32();
      ins.sub = sub;
      if (sub <= 7) break;
      switch (sub) {
        case 8: ins.idxAt = r.pos; ins.idx = r.u32(); ins.mem = r.u32(); break;
        case 9: case 13: ins.idxAt = r.pos; ins.idx = r.u32(); break;
        case 10: ins.mem = r.u32(); ins.mem2 = r.u32(); break;
        case 11: ins.mem = r.u32(); break;
        case 12: ins.idxAt = r.pos; ins.idx = r.u32(); ins.table = r.u32(); break;
        case 14: ins.table = r.u32(); ins.table2 = r.u32(); break;
        case 15: case 16: case 17: ins.table = r.u32(); break;
        default: throw new DecodeError(`0xfc ${sub}`);
      }
      break;
    }
    case 0xfd: {
      const sub = r.u32();
      ins.sub = sub;
      ins.memarg = simdImm(r, sub);
      ins.feature = FEATURE.simd;
      break;
    }
    case 0xfe: {
      const sub = r.u32();
      ins.sub = sub;
      if (sub === 3) r.u8();
      else ins.memarg = readMemarg(r);
      ins.feature = FEATURE.threads;
      break;
    }
    default:
      if (op >= 0x28 && op <= 0x3e) { ins.memarg = readMemarg(r); break; }
      if (op >= 0x45 && op <= 0xc4) break;
      throw new DecodeError(`opcode 0x${op.toString(16)}`);
  }
  ins.end = r.pos;
  return ins;
}

/** Iterate over the instructions of a function body (after its locals). */
export function* instructions(bytes, body) {
  const r = new Reader(bytes, body.localsEnd, body.end);
  while (!r.eof()) yield readInstr(r);
}

/**
 * Which features beyond Quickbeam's set a module uses (SIMD, exception handling, tail calls, GC, threads,
 * typed function references), as far as this reader can tell. Returns a Set; `undecodable` is added when
 * the module cannot be followed.
 */
export function featuresUsed(bytes) {
  const used = new Set();
  let m;
  try {
    m = parseModule(bytes);
  } catch (e) {
    if (e.feature) used.add(e.feature);
    else used.add('undecodable');
    return used;
  }
  const vt = (t) => {
    if (t === T.v128) used.add(FEATURE.simd);
    // (ref null? ht) is Wasm 3.0's typed references (the heap type is not kept here), exnref exceptions';
    // the abstract GC heap types as value types are GC's.
    if (t === 0x63 || t === 0x64) used.add(FEATURE.typedRefs);
    else if (t === 0x69 || t === 0x74) used.add(FEATURE.eh);
    else if (t === 0x6e || t === 0x6d || t === 0x6b || t === 0x6a || t === 0x71 || t === 0x72 || t === 0x73 || t === 0x6c) used.add(FEATURE.gc);
  };
  for (const t of m.types) { t.params.forEach(vt); t.results.forEach(vt); }
  for (const g of m.globals) vt(g.type);
  for (const t of m.tables) vt(t.elemType);
  if (m.tags > 0) used.add(FEATURE.eh);
  for (const mem of m.memories) if (mem.shared) used.add(FEATURE.threads);
  for (const s of m.sections) if (s.id === SECTION.tag) used.add(FEATURE.eh);
  for (const body of m.code) {
    for (const l of body.locals) vt(l.type);
    try {
      for (const ins of instructions(bytes, body)) {
        if (ins.feature) used.add(ins.feature);
        if (ins.op === 0x1c || ins.op === 0xd0) { /* types checked loosely */ }
      }
    } catch (e) {
      if (e.feature) used.add(e.feature);
      else used.add('undecodable');
    }
  }
  return used;
}

// ---------------------------------------------------------------------------------------------------
// Writer

export class Writer {
  constructor() {
    this.buf = new Uint8Array(256);
    this.len = 0;
  }
  ensure(n) {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  u8(b) { this.ensure(1); this.buf[this.len++] = b & 0xff; return this; }
  raw(bytes) { this.ensure(bytes.length); this.buf.set(bytes, this.len); this.len += bytes.length; return this; }
  u32(v) { return this.raw(encodeU(BigInt(v))); }
  u64(v) { return this.raw(encodeU(BigInt.asUintN(64, BigInt(v)))); }
  s32(v) { return this.raw(encodeS(BigInt(v | 0))); }
  s64(v) { return this.raw(encodeS(BigInt.asIntN(64, BigInt(v)))); }
  f32(v) { const b = new Uint8Array(4); new DataView(b.buffer).setFloat32(0, v, true); return this.raw(b); }
  f64(v) { const b = new Uint8Array(8); new DataView(b.buffer).setFloat64(0, v, true); return this.raw(b); }
  name(s) { const b = new TextEncoder().encode(s); this.u32(b.length); return this.raw(b); }
  /** i32.const v */
  i32c(v) { return this.u8(0x41).s32(v); }
  bytes() { return this.buf.slice(0, this.len); }
}

export function encodeU(v, minBytes = 1) {
  const out = [];
  let x = BigInt(v);
  do {
    let byte = Number(x & 0x7fn);
    x >>= 7n;
    if (x !== 0n || out.length + 1 < minBytes) byte |= 0x80;
    out.push(byte);
  } while (x !== 0n || out.length < minBytes);
  return Uint8Array.from(out);
}

export function encodeS(v) {
  const out = [];
  let x = BigInt(v);
  for (;;) {
    const byte = Number(x & 0x7fn);
    x >>= 7n;
    if ((x === 0n && (byte & 0x40) === 0) || (x === -1n && (byte & 0x40) !== 0)) {
      out.push(byte);
      return Uint8Array.from(out);
    }
    out.push(byte | 0x80);
  }
}

/**
 * The module with more exports: extra = [{ name, kind (0 func, 1 table, 2 memory, 3 global), index }]
 * (names already exported are skipped). The export section is rewritten in place (or added before the
 * first section that must follow it).
 */
export function addExports(bytes, extra) {
  const m = parseModule(bytes);
  const names = new Set(m.exports.map((e) => e.name));
  const all = [...m.exports, ...extra.filter((e) => !names.has(e.name))];
  const s = new Writer().u32(all.length);
  for (const e of all) s.name(e.name).u8(e.kind).u32(e.index);
  const payload = section(SECTION.export, s.bytes());
  const old = m.sections.find((x) => x.id === SECTION.export);
  if (old) return concat([bytes.subarray(0, old.start), payload, bytes.subarray(old.end)]);
  // Sections after the export section, in order: start, elem, datacount, code, data (custom ones anywhere).
  const after = m.sections.find((x) => [SECTION.start, SECTION.elem, SECTION.datacount, SECTION.code, SECTION.data].includes(x.id));
  const at = after ? after.start : bytes.length;
  return concat([bytes.subarray(0, at), payload, bytes.subarray(at)]);
}

/**
 * The module with every memory and every f32/f64 global that it does not export exported too (as
 * `__hidden_memN` / `__hidden_globalN`), so that a trace shows the NaNs they hold; null when there is none
 * (or the module cannot be parsed).
 */
export function exposeFloatState(bytes) {
  let m;
  try { m = parseModule(bytes); } catch { return null; }
  const exported = (kind, index) => m.exports.some((e) => e.kind === kind && e.index === index);
  const extra = [];
  for (let i = 0; i < m.memories.length; i++) if (!exported(2, i)) extra.push({ name: `__hidden_mem${i}`, kind: 2, index: i });
  m.globals.forEach((g, i) => {
    if ((g.type === T.f32 || g.type === T.f64) && !exported(3, i)) extra.push({ name: `__hidden_global${i}`, kind: 3, index: i });
  });
  return extra.length ? addExports(bytes, extra) : null;
}

/** Concatenate byte arrays. */
export function concat(parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** A section: id, LEB size, payload. */
export function section(id, payload) {
  return concat([Uint8Array.of(id), encodeU(payload.length), payload]);
}

export const HEADER = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0);

// ---------------------------------------------------------------------------------------------------
// Module builder (for generated test modules)

export class ModuleBuilder {
  constructor() {
    this.types = [];
    this.imports = [];
    this.funcs = [];
    this.tables = [];
    this.memories = [];
    this.globals = [];
    this.exports = [];
    this.elems = [];
    this.datas = [];
    this.start = null;
    this.numImportedFuncs = 0;
    this.useDataCount = false;
  }
  type(params, results) {
    const key = params.join(',') + '->' + results.join(',');
    let i = this.types.findIndex((t) => t.key === key);
    if (i < 0) { i = this.types.length; this.types.push({ key, params, results }); }
    return i;
  }
  importFunc(module, name, params, results) {
    if (this.funcs.length > 0) throw new Error('import functions before defining any');
    this.imports.push({ module, name, kind: 0, type: this.type(params, results) });
    return this.numImportedFuncs++;
  }
  /** body: Uint8Array of instructions without the final `end` (added here). Returns the function index. */
  func(params, results, locals, body, exportName) {
    const idx = this.numImportedFuncs + this.funcs.length;
    this.funcs.push({ type: this.type(params, results), locals, body });
    if (exportName !== undefined) this.exports.push({ name: exportName, kind: 0, index: idx });
    return idx;
  }
  memory({ min, max = null, index64 = false }, exportName) {
    const idx = this.memories.length;
    this.memories.push({ min, max, index64 });
    if (exportName !== undefined) this.exports.push({ name: exportName, kind: 2, index: idx });
    return idx;
  }
  table({ elemType = T.funcref, min, max = null, index64 = false }, exportName) {
    const idx = this.tables.length;
    this.tables.push({ elemType, min, max, index64 });
    if (exportName !== undefined) this.exports.push({ name: exportName, kind: 1, index: idx });
    return idx;
  }
  global(type, mutable, initBytes, exportName) {
    const idx = this.globals.length;
    this.globals.push({ type, mutable, init: initBytes });
    if (exportName !== undefined) this.exports.push({ name: exportName, kind: 3, index: idx });
    return idx;
  }
  /** Active (offsetExpr given, with memory) or passive (offsetExpr null) data segment. */
  data(bytes, memory = 0, offsetExpr = null) {
    this.datas.push({ bytes, memory, offsetExpr });
    if (offsetExpr === null) this.useDataCount = true;
    return this.datas.length - 1;
  }
  /** Element segment of function indices; active when offsetExpr is given. */
  elem(funcIndices, table = 0, offsetExpr = null) {
    this.elems.push({ funcIndices, table, offsetExpr });
    return this.elems.length - 1;
  }
  build() {
    const parts = [HEADER];
    const w = () => new Writer();
    if (this.types.length) {
      const s = w().u32(this.types.length);
      for (const t of this.types) {
        s.u8(0x60).u32(t.params.length);
        for (const p of t.params) s.u8(p);
        s.u32(t.results.length);
        for (const p of t.results) s.u8(p);
      }
      parts.push(section(1, s.bytes()));
    }
    if (this.imports.length) {
      const s = w().u32(this.imports.length);
      for (const i of this.imports) s.name(i.module).name(i.name).u8(0).u32(i.type);
      parts.push(section(2, s.bytes()));
    }
    if (this.funcs.length) {
      const s = w().u32(this.funcs.length);
      for (const f of this.funcs) s.u32(f.type);
      parts.push(section(3, s.bytes()));
    }
    const limits = (s, l) => {
      s.u8((l.max !== null ? 1 : 0) | (l.index64 ? 4 : 0));
      if (l.index64) { s.u64(l.min); if (l.max !== null) s.u64(l.max); }
      else { s.u32(l.min); if (l.max !== null) s.u32(l.max); }
    };
    if (this.tables.length) {
      const s = w().u32(this.tables.length);
      for (const t of this.tables) { s.u8(t.elemType); limits(s, t); }
      parts.push(section(4, s.bytes()));
    }
    if (this.memories.length) {
      const s = w().u32(this.memories.length);
      for (const m of this.memories) limits(s, m);
      parts.push(section(5, s.bytes()));
    }
    if (this.globals.length) {
      const s = w().u32(this.globals.length);
      for (const g of this.globals) s.u8(g.type).u8(g.mutable ? 1 : 0).raw(g.init).u8(0x0b);
      parts.push(section(6, s.bytes()));
    }
    if (this.exports.length) {
      const s = w().u32(this.exports.length);
      for (const e of this.exports) s.name(e.name).u8(e.kind).u32(e.index);
      parts.push(section(7, s.bytes()));
    }
    if (this.start !== null) parts.push(section(8, w().u32(this.start).bytes()));
    if (this.elems.length) {
      const s = w().u32(this.elems.length);
      for (const e of this.elems) {
        if (e.offsetExpr === null) {
          s.u32(1).u8(0); // passive, elemkind funcref
        } else if (e.table === 0) {
          s.u32(0).raw(e.offsetExpr).u8(0x0b);
          s.u32(e.funcIndices.length);
          for (const f of e.funcIndices) s.u32(f);
          continue;
        } else {
          s.u32(2).u32(e.table).raw(e.offsetExpr).u8(0x0b).u8(0);
        }
        s.u32(e.funcIndices.length);
        for (const f of e.funcIndices) s.u32(f);
      }
      parts.push(section(9, s.bytes()));
    }
    if (this.useDataCount) parts.push(section(12, w().u32(this.datas.length).bytes()));
    if (this.funcs.length) {
      const s = w().u32(this.funcs.length);
      for (const f of this.funcs) {
        const b = w();
        b.u32(f.locals.length);
        for (const l of f.locals) b.u32(l.count).u8(l.type);
        b.raw(f.body).u8(0x0b);
        const body = b.bytes();
        s.u32(body.length).raw(body);
      }
      parts.push(section(10, s.bytes()));
    }
    if (this.datas.length) {
      const s = w().u32(this.datas.length);
      for (const d of this.datas) {
        if (d.offsetExpr === null) s.u32(1);
        else if (d.memory === 0) s.u32(0).raw(d.offsetExpr).u8(0x0b);
        else s.u32(2).u32(d.memory).raw(d.offsetExpr).u8(0x0b);
        s.u32(d.bytes.length).raw(d.bytes);
      }
      parts.push(section(11, s.bytes()));
    }
    return concat(parts);
  }
}

/** Instruction-sequence helper for building function bodies. */
export class Code extends Writer {
  op(...bytes) { for (const b of bytes) this.u8(b); return this; }
  i32(v) { return this.u8(0x41).s32(v); }
  i64(v) { return this.u8(0x42).s64(v); }
  localGet(i) { return this.u8(0x20).u32(i); }
  localSet(i) { return this.u8(0x21).u32(i); }
  call(i) { return this.u8(0x10).u32(i); }
  /** A memory access opcode with its memarg (multi-memory index encoded when mem != 0). */
  memop(op, align, offset, mem = 0) {
    this.u8(op);
    if (mem !== 0) this.u32(align | 0x40).u32(mem);
    else this.u32(align);
    return this.u64(offset);
  }
  fc(sub) { return this.u8(0xfc).u32(sub); }
}
