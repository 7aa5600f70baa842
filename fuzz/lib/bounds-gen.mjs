// Targeted bounds cases: a module with 1..3 memories (i32 and i64 index types) and 0..2 tables whose
// exported functions load/store every width with chosen static offsets (dynamic and constant addresses),
// grow, size, fill/copy/init ranges, and table get/set/grow/fill/copy/init/call_indirect; plus a plan of
// calls whose arguments aim at the edges: the end of each memory/table (before and after growing), 2^32
// and (i64) 2^64 with large offsets. A JS model of the spec semantics computes the expected trace, so
// every case has an oracle even where V8 has none (multi-memory and table64 on Node 20).

import { ModuleBuilder, Code, T, encodeS } from './wasm.mjs';
import { Rng } from './util.mjs';
import { encodeValue, hashBytes, maskedHash } from './exec.mjs';

const PAGE = 65536;
const TWO32 = 2n ** 32n, TWO64 = 2n ** 64n;

export const LOADS = [
  // name, opcode, size, result type, signed
  ['i32.load', 0x28, 4, 'i32', true], ['i64.load', 0x29, 8, 'i64', true], ['f32.load', 0x2a, 4, 'f32', false], ['f64.load', 0x2b, 8, 'f64', false],
  ['i32.load8_s', 0x2c, 1, 'i32', true], ['i32.load8_u', 0x2d, 1, 'i32', false], ['i32.load16_s', 0x2e, 2, 'i32', true], ['i32.load16_u', 0x2f, 2, 'i32', false],
  ['i64.load8_s', 0x30, 1, 'i64', true], ['i64.load8_u', 0x31, 1, 'i64', false], ['i64.load16_s', 0x32, 2, 'i64', true], ['i64.load16_u', 0x33, 2, 'i64', false],
  ['i64.load32_s', 0x34, 4, 'i64', true], ['i64.load32_u', 0x35, 4, 'i64', false],
];
export const STORES = [
  ['i32.store', 0x36, 4, 'i32'], ['i64.store', 0x37, 8, 'i64'], ['f32.store', 0x38, 4, 'f32'], ['f64.store', 0x39, 8, 'f64'],
  ['i32.store8', 0x3a, 1, 'i32'], ['i32.store16', 0x3b, 2, 'i32'], ['i64.store8', 0x3c, 1, 'i64'], ['i64.store16', 0x3d, 2, 'i64'], ['i64.store32', 0x3e, 4, 'i64'],
];
const VT = { i32: T.i32, i64: T.i64, f32: T.f32, f64: T.f64 };

// ---------------------------------------------------------------------------------------------------
// Model memory (sparse pages, so memories above 4 GiB cost nothing until touched)

class ModelMemory {
  constructor(index64, minPages, maxPages) {
    this.index64 = index64;
    this.pages = minPages;
    this.max = maxPages;
    this.data = new Map(); // page number -> Uint8Array(PAGE)
  }
  get length() { return BigInt(this.pages) * BigInt(PAGE); }
  /** Read n bytes at a (callers check bounds first, so a + n < 2^53). Page-chunked. */
  read(a, n) {
    const out = new Uint8Array(n);
    let p = Number(a), done = 0;
    while (done < n) {
      const k = Math.floor(p / PAGE), off = p % PAGE, chunk = Math.min(n - done, PAGE - off);
      const page = this.data.get(k);
      if (page) out.set(page.subarray(off, off + chunk), done);
      done += chunk;
      p += chunk;
    }
    return out;
  }
  write(a, bytes) {
    let p = Number(a), done = 0;
    const n = bytes.length;
    while (done < n) {
      const k = Math.floor(p / PAGE), off = p % PAGE, chunk = Math.min(n - done, PAGE - off);
      let page = this.data.get(k);
      if (!page) { page = new Uint8Array(PAGE); this.data.set(k, page); }
      page.set(bytes.subarray(done, done + chunk), off);
      done += chunk;
      p += chunk;
    }
  }
  image() {
    const len = this.pages * PAGE;
    const out = new Uint8Array(len);
    for (const [k, p] of this.data) if (k < this.pages) out.set(p, k * PAGE);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------

function constExpr(index64, value) {
  return index64 ? new Code().u8(0x42).raw(encodeS(BigInt.asIntN(64, BigInt(value)))).bytes()
    : new Code().u8(0x41).raw(encodeS(BigInt.asIntN(32, BigInt(value)))).bytes();
}

function addrConst(c, index64, value) {
  if (index64) c.u8(0x42).raw(encodeS(BigInt.asIntN(64, BigInt(value))));
  else c.u8(0x41).raw(encodeS(BigInt.asIntN(32, BigInt(value))));
}

/** An address argument as a plan value of the address type. */
function addrArg(index64, a) {
  const v = BigInt.asUintN(index64 ? 64 : 32, BigInt(a));
  return index64 ? BigInt.asIntN(64, v).toString() : Number(BigInt.asIntN(32, v));
}

function argToBig(index64, v) {
  return BigInt.asUintN(index64 ? 64 : 32, BigInt(v));
}

const F32_VALUES = ['0', '-0', '1', '-2.5', '3.4028234663852886e+38', '1.401298464324817e-45', 'Infinity', '-1234.5'];
const F64_VALUES = ['0', '-0', '1', '-2.5', '1.7976931348623157e+308', '5e-324', '-Infinity', '123456789.125'];

function storeValue(rng, t) {
  switch (t) {
    case 'i32': return rng.u32() | 0;
    case 'i64': return BigInt.asIntN(64, rng.u64()).toString();
    case 'f32': return rng.pick(F32_VALUES);
    default: return rng.pick(F64_VALUES);
  }
}

function valueBytes(t, v, size) {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  if (t === 'f32') dv.setFloat32(0, Number(v), true);
  else if (t === 'f64') dv.setFloat64(0, Number(v), true);
  else dv.setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
  return b.slice(0, size);
}

function loadResult(load, bytes) {
  const [, , size, type, signed] = load;
  const b = new Uint8Array(8);
  b.set(bytes);
  const dv = new DataView(b.buffer);
  if (type === 'f32') return encodeValue(dv.getFloat32(0, true), 'f32');
  if (type === 'f64') return encodeValue(dv.getFloat64(0, true), 'f64');
  let v = dv.getBigUint64(0, true);
  if (signed) v = BigInt.asIntN(size * 8, v);
  if (type === 'i32') return Number(BigInt.asIntN(32, v));
  return BigInt.asIntN(64, v).toString();
}

/**
 * Generate a case: { bytes, plan, expected (model trace), needs: { multiMemory, table64, big } }.
 * Options: { multiMemory (allow several memories), table64, big (allow a >4 GiB i64 memory), maxCalls }.
 */
export function generateBoundsCase(seed, opts = {}) {
  const rng = new Rng(seed);
  const mb = new ModuleBuilder();
  const nMem = opts.multiMemory ? rng.pick([1, 1, 2, 2, 3]) : 1;
  const mems = [];
  let big = false;
  for (let m = 0; m < nMem; m++) {
    const index64 = opts.memory64 === false ? false : rng.bool(0.5);
    let min = rng.pick([0, 1, 1, 2, 3, 5]);
    let max = rng.pick([min, min + 1, min + 2, min + 4, min + 16]);
    if (index64 && opts.big && !big && rng.bool(0.15)) {
      // just above 4 GiB: accesses around 2^32 land inside the memory
      min = 65536 + rng.pick([0, 1]);
      max = min + 1;
      big = true;
    }
    mb.memory({ min, max, index64 }, `mem${m}`);
    mems.push({ index64, min, max });
  }
  // Data: a pattern at the start and just below the initial end of each memory; passive segments.
  const dataInits = [];
  for (let m = 0; m < nMem; m++) {
    const L = mems[m].min * PAGE;
    if (L === 0) continue;
    const head = rng.bytes(32);
    mb.data(head, m, constExpr(mems[m].index64, 0));
    dataInits.push({ m, at: 0n, bytes: head });
    const tail = rng.bytes(24);
    mb.data(tail, m, constExpr(mems[m].index64, L - 24));
    dataInits.push({ m, at: BigInt(L - 24), bytes: tail });
  }
  const passive = [];
  for (let k = 0; k < 2; k++) {
    const len = rng.pick([0, 5, 17, 300]);
    const bytes = rng.bytes(len);
    passive.push({ index: mb.datas.length, bytes });
    mb.data(bytes, 0, null);
  }
  // Tables (funcref): 0..2, index type i32 or (table64) i64.
  const nTab = rng.pick([0, 1, 1, 2]);
  const tabs = [];
  // Target functions for tables: f0..f3: () -> i32 returning 100+k; f4: (i32) -> i32 (a different type).
  const funcs = [];
  const targets = [];
  const exportsOrder = [];
  const addFunc = (params, results, locals, body, name) => {
    const idx = mb.func(params, results, locals, body, name);
    if (name !== undefined) funcs.push({ name, idx, params, results });
    return idx;
  };
  for (let k = 0; k < 4; k++) targets.push(addFunc([], [T.i32], [], new Code().i32(100 + k).bytes()));
  const badType = addFunc([T.i32], [T.i32], [], new Code().localGet(0).bytes());
  for (let t = 0; t < nTab; t++) {
    const index64 = opts.table64 ? rng.bool(0.5) : false;
    const min = rng.pick([0, 1, 3, 8]);
    const max = rng.pick([min, min + 2, min + 10]);
    mb.table({ min, max, index64 }, `tab${t}`);
    tabs.push({ index64, min, max, entries: new Array(min).fill(null) });
  }
  const elemSegs = [];
  for (let t = 0; t < nTab; t++) {
    if (tabs[t].min >= 2) {
      const items = [targets[0], badType];
      mb.elem(items, t, constExpr(tabs[t].index64, 0));
      tabs[t].entries[0] = targets[0];
      tabs[t].entries[1] = badType;
      elemSegs.push({ active: true, items: [] });
    }
  }
  if (nTab > 0) {
    // (every target appears here, which also declares it for ref.func)
    elemSegs.push({ active: false, items: [targets[1], targets[2], targets[3], targets[0]], index: mb.elems.length });
    mb.elem([targets[1], targets[2], targets[3], targets[0]], 0, null);
  }
  void exportsOrder;

  // Access functions.
  const fns = []; // { name, kind, ... }
  const used = new Set();
  const def = (name, params, results, body, info) => {
    if (used.has(name)) return;
    used.add(name);
    addFunc(params, results, [], body, name);
    fns.push({ name, params, results, ...info });
  };
  const vt = (x) => VT[x];
  for (let m = 0; m < nMem; m++) {
    const { index64 } = mems[m];
    const at = index64 ? T.i64 : T.i32;
    const offsets = index64
      ? [0n, 1n, 7n, 65535n, 65536n, TWO32 - 1n, TWO32, TWO32 + 1n, 2n ** 48n, 2n ** 63n, TWO64 - 8n, TWO64 - 1n, BigInt(mems[m].min * PAGE)]
      : [0n, 1n, 7n, 65535n, 65536n, 2n ** 31n - 1n, 2n ** 31n, TWO32 - 8n, TWO32 - 1n, BigInt(mems[m].min * PAGE)];
    const nAccess = rng.range(4, 9);
    for (let k = 0; k < nAccess; k++) {
      const isLoad = rng.bool(0.6);
      const op = isLoad ? rng.pick(LOADS) : rng.pick(STORES);
      const off = rng.bool(0.5) ? rng.pick(offsets.slice(0, 5)) : rng.pick(offsets);
      const size = op[2];
      const align = rng.int(Math.log2(size) + 1);
      const tag = `${m}_${op[0].replace('.', '_')}_${off}`;
      if (isLoad) {
        def(`ld_${tag}`, [at], [vt(op[3])], new Code().localGet(0).memop(op[1], align, off, m).bytes(), { kind: 'load', m, op, off });
        if (rng.bool(0.4)) {
          // Constant address (the compiler folds these): near the initial end, or at 0.
          const L = BigInt(mems[m].min * PAGE);
          let ca = rng.bool(0.8) ? L - off - BigInt(size) + BigInt(rng.range(-2, 2)) : 0n;
          const dom = index64 ? TWO64 : TWO32;
          ca = ((ca % dom) + dom) % dom;
          const c = new Code();
          addrConst(c, index64, ca);
          c.memop(op[1], align, off, m);
          def(`cld_${tag}_${ca}`, [], [vt(op[3])], c.bytes(), { kind: 'cload', m, op, off, addr: ca });
        }
      } else {
        def(`st_${tag}`, [at, vt(op[3])], [], new Code().localGet(0).localGet(1).memop(op[1], align, off, m).bytes(), { kind: 'store', m, op, off });
      }
    }
    def(`size_${m}`, [], [at], new Code().u8(0x3f).u32(m).bytes(), { kind: 'size', m });
    def(`grow_${m}`, [at], [at], new Code().localGet(0).u8(0x40).u32(m).bytes(), { kind: 'grow', m });
    def(`fill_${m}`, [at, T.i32, at], [], new Code().localGet(0).localGet(1).localGet(2).fc(11).u32(m).bytes(), { kind: 'fill', m });
    for (const seg of passive) {
      def(`init_${m}_${seg.index}`, [at, T.i32, T.i32], [], new Code().localGet(0).localGet(1).localGet(2).fc(8).u32(seg.index).u32(m).bytes(), { kind: 'init', m, seg });
    }
  }
  for (let d = 0; d < nMem; d++) {
    for (let s = 0; s < nMem; s++) {
      if (nMem > 1 && rng.bool(0.3) && d !== s) continue;
      const dt = mems[d].index64 ? T.i64 : T.i32, st = mems[s].index64 ? T.i64 : T.i32;
      const lt = mems[d].index64 && mems[s].index64 ? T.i64 : T.i32;
      def(`copy_${d}_${s}`, [dt, st, lt], [], new Code().localGet(0).localGet(1).localGet(2).fc(10).u32(d).u32(s).bytes(), { kind: 'copy', d, s });
    }
  }
  for (const seg of passive) def(`drop_${seg.index}`, [], [], new Code().fc(9).u32(seg.index).bytes(), { kind: 'drop', seg });
  // Table functions.
  const sigIdx = mb.type([], [T.i32]);
  for (let t = 0; t < nTab; t++) {
    const it = tabs[t].index64 ? T.i64 : T.i32;
    def(`tget_${t}`, [it], [T.funcref], new Code().localGet(0).u8(0x25).u32(t).bytes(), { kind: 'tget', t });
    const tf = rng.pick(targets);
    def(`tset_${t}`, [it], [], new Code().localGet(0).u8(0xd2).u32(tf).u8(0x26).u32(t).bytes(), { kind: 'tset', t, f: tf });
    def(`tsetnull_${t}`, [it], [], new Code().localGet(0).u8(0xd0).u8(0x70).u8(0x26).u32(t).bytes(), { kind: 'tset', t, f: null });
    def(`tsize_${t}`, [], [it], new Code().fc(16).u32(t).bytes(), { kind: 'tsize', t });
    def(`tgrow_${t}`, [it], [it], new Code().u8(0xd0).u8(0x70).localGet(0).fc(15).u32(t).bytes(), { kind: 'tgrow', t });
    def(`tfill_${t}`, [it, it], [], new Code().localGet(0).u8(0xd2).u32(targets[3]).localGet(1).fc(17).u32(t).bytes(), { kind: 'tfill', t, f: targets[3] });
    def(`call_${t}`, [it], [T.i32], new Code().localGet(0).u8(0x11).u32(sigIdx).u32(t).bytes(), { kind: 'call', t });
    const es = elemSegs.find((e) => !e.active);
    def(`tinit_${t}`, [it, T.i32, T.i32], [], new Code().localGet(0).localGet(1).localGet(2).fc(12).u32(es.index).u32(t).bytes(), { kind: 'tinit', t, seg: es });
    for (let s = 0; s < nTab; s++) {
      const lt = tabs[t].index64 && tabs[s].index64 ? T.i64 : T.i32;
      const st = tabs[s].index64 ? T.i64 : T.i32;
      def(`tcopy_${t}_${s}`, [it, st, lt], [], new Code().localGet(0).localGet(1).localGet(2).fc(14).u32(t).u32(s).bytes(), { kind: 'tcopy', t, s });
    }
  }
  if (nTab > 0) {
    const es = elemSegs.find((e) => !e.active);
    def(`edrop`, [], [], new Code().fc(13).u32(es.index).bytes(), { kind: 'edrop', seg: es });
  }
  const bytes = mb.build();

  // ----- the model -----
  const fresh = () => {
    const M = mems.map((x) => new ModelMemory(x.index64, x.min, x.max));
    for (const d of dataInits) M[d.m].write(d.at, d.bytes);
    return {
      M,
      segs: new Map(passive.map((p) => [p.index, { bytes: p.bytes, dropped: false }])),
      elemDropped: false,
      tables: tabs.map((t) => ({ index64: t.index64, max: t.max, entries: t.entries.slice() })),
    };
  };
  const byName = new Map(fns.map((f) => [f.name, f]));
  const ctx = { targets, badType };
  const expectedFor = (calls) => {
    const st = fresh();
    const out = [{ ev: 'instantiate', ok: true }];
    for (const c of calls) out.push({ ev: 'call', name: c.name }, applyCall(st, ctx, byName.get(c.name), c.args), modelState(st));
    return out;
  };

  const st = fresh();
  const calls = [];
  const maxCalls = opts.maxCalls ?? 120;
  const accessFns = fns.filter((f) => f.kind === 'load' || f.kind === 'cload' || f.kind === 'store');
  const groups = [
    [0.62, accessFns],
    [0.7, fns.filter((x) => x.kind === 'grow' || x.kind === 'size')],
    [0.86, fns.filter((x) => ['fill', 'copy', 'init', 'drop'].includes(x.kind))],
    [1.01, fns.filter((x) => x.kind.startsWith('t') || x.kind === 'call' || x.kind === 'edrop')],
  ];
  const expected = [{ ev: 'instantiate', ok: true }];
  for (let step = 0; step < maxCalls; step++) {
    const r = rng.float();
    const grp = groups.find(([p, g]) => r < p && g.length) ?? [0, fns];
    const f = rng.pick(grp[1]);
    const P = f.params.map((p) => TN[p]);
    const R = f.results.map((p) => TN[p]);
    const args = chooseArgs(rng, st, f);
    const outcome = applyCall(st, ctx, f, args);
    calls.push({ name: f.name, params: P, results: R, args });
    expected.push({ ev: 'call', name: f.name }, outcome, modelState(st));
  }
  const plan = { imports: [], calls, reset: null, nanMask: true };
  return { bytes, plan, expected, expectedFor, needs: { multiMemory: nMem > 1, table64: tabs.some((t) => t.index64), big, memory64: mems.some((m) => m.index64) } };
}

const TN = { [T.i32]: 'i32', [T.i64]: 'i64', [T.f32]: 'f32', [T.f64]: 'f64', [T.funcref]: 'funcref' };
const mod = (a, dom) => ((a % dom) + dom) % dom;
const trap = (kind) => ({ ev: 'trap', kind, msg: 'model' });
const done = { ev: 'result', values: [] };
const inRange = (start, n, len) => start + n <= len; // BigInts, unbounded: the spec's arithmetic

function modelState(st) {
  return {
    ev: 'state',
    memories: st.M.map((mm, i) => {
      const pages = mm.pages;
      if (pages * PAGE > 256 * 1024 * 1024) return { name: `mem${i}`, pages, hash: 'too-big' };
      const img = mm.image();
      return { name: `mem${i}`, pages, hash: hashBytes(img), masked: maskedHash(img) };
    }),
    globals: [],
    tables: st.tables.map((t, i) => ({ name: `tab${i}`, length: t.entries.length, hash: hashBytes(Buffer.from(JSON.stringify(t.entries.slice(0, 4096).map((e) => (e === null ? null : 'func:' + e))))) })),
  };
}

const HUGE = 2n ** 28n, RANGE_CAP = 2n ** 20n;

/** An in-bounds range of a memory above 256 MiB is capped to 1 MiB (a 4 GiB fill is no bounds test). */
function capRange(d, n, len) {
  return len > HUGE && d + n <= len && n > RANGE_CAP ? n % RANGE_CAP : n;
}

/** Arguments aimed at the edges, given the model's current state. */
function chooseArgs(rng, st, f) {
  const pickAddr = (mm, off, size) => {
    const L = mm.length;
    const dom = mm.index64 ? TWO64 : TWO32;
    const d = BigInt(rng.range(-3, 3));
    let a;
    switch (rng.int(8)) {
      case 0: case 1: case 2: a = L - off - BigInt(size) + d; break; // the access ends around the end
      case 3: a = L + d; break;
      case 4: a = TWO32 - off - BigInt(size) + d; break; // around 2^32
      case 5: a = mm.index64 ? TWO64 - off - BigInt(size) + d : TWO32 + d; break; // around 2^64
      case 6: a = BigInt(rng.int(Math.max(1, Number(L > 100000n ? 100000n : L)))); break;
      default: a = d < 0n ? -d : d;
    }
    return mod(a, dom);
  };
  const pickLen = (limit) => {
    switch (rng.int(5)) {
      case 0: return 0n;
      case 1: return BigInt(rng.range(1, 40));
      case 2: return limit + BigInt(rng.range(-2, 2));
      case 3: return BigInt(rng.u32());
      default: return BigInt(rng.range(0, 300));
    }
  };
  switch (f.kind) {
    case 'load': case 'store': {
      const mm = st.M[f.m];
      const a = pickAddr(mm, f.off, f.op[2]);
      const args = [addrArg(mm.index64, a)];
      if (f.kind === 'store') args.push(storeValue(rng, f.op[3]));
      return args;
    }
    case 'cload': case 'size': case 'drop': case 'edrop': case 'tsize': return [];
    case 'grow': {
      const mm = st.M[f.m];
      const delta = rng.bool(0.85) ? BigInt(rng.range(0, 2)) : rng.pick([BigInt(mm.max - mm.pages + 1), TWO32 - 1n, mm.index64 ? TWO64 - 1n : TWO32 - 1n, 65536n]);
      return [addrArg(mm.index64, delta)];
    }
    case 'fill': {
      const mm = st.M[f.m];
      const dom = mm.index64 ? TWO64 : TWO32;
      const n = mod(pickLen(mm.length), dom);
      const d = mod(rng.bool(0.5) ? mm.length - n + BigInt(rng.range(-2, 2)) : BigInt(rng.range(0, 64)), dom);
      return [addrArg(mm.index64, d), rng.u32() | 0, addrArg(mm.index64, capRange(d, n, mm.length))];
    }
    case 'copy': {
      const md = st.M[f.d], ms = st.M[f.s];
      const lenIs64 = md.index64 && ms.index64;
      const n = mod(pickLen(rng.bool(0.5) ? md.length : ms.length), lenIs64 ? TWO64 : TWO32);
      const d = mod(rng.bool(0.5) ? md.length - n + BigInt(rng.range(-2, 2)) : BigInt(rng.range(0, 64)), md.index64 ? TWO64 : TWO32);
      const s = mod(rng.bool(0.5) ? ms.length - n + BigInt(rng.range(-2, 2)) : BigInt(rng.range(0, 64)), ms.index64 ? TWO64 : TWO32);
      const nc = capRange(s, capRange(d, n, md.length), ms.length);
      return [addrArg(md.index64, d), addrArg(ms.index64, s), addrArg(lenIs64, nc)];
    }
    case 'init': {
      const mm = st.M[f.m];
      const seg = st.segs.get(f.seg.index);
      const segLen = BigInt(seg.dropped ? 0 : seg.bytes.length);
      const n = BigInt.asUintN(32, pickLen(segLen));
      const s = BigInt.asUintN(32, rng.bool(0.5) ? segLen - n + BigInt(rng.range(-1, 1)) : BigInt(rng.range(0, 4)));
      const d = mod(rng.bool(0.5) ? mm.length - n + BigInt(rng.range(-2, 2)) : BigInt(rng.range(0, 64)), mm.index64 ? TWO64 : TWO32);
      return [addrArg(mm.index64, d), Number(BigInt.asIntN(32, s)), Number(BigInt.asIntN(32, n))];
    }
    case 'tget': case 'tset': case 'call': {
      const t = st.tables[f.t];
      const len = BigInt(t.entries.length);
      const i = rng.bool(0.6) ? len + BigInt(rng.range(-2, 1)) : rng.pick([0n, 1n, TWO32 - 1n, TWO32, TWO64 - 1n]);
      return [addrArg(t.index64, mod(i, t.index64 ? TWO64 : TWO32))];
    }
    case 'tgrow': {
      const t = st.tables[f.t];
      return [addrArg(t.index64, rng.bool(0.8) ? BigInt(rng.range(0, 3)) : rng.pick([TWO32 - 1n, 1000n]))];
    }
    case 'tfill': {
      const t = st.tables[f.t];
      const len = BigInt(t.entries.length);
      const dom = t.index64 ? TWO64 : TWO32;
      const n = rng.bool(0.3) ? BigInt(rng.u32()) : BigInt(rng.range(0, 4));
      const i = mod(rng.bool(0.6) ? len - n + BigInt(rng.range(-1, 1)) : BigInt(rng.range(0, 3)), dom);
      return [addrArg(t.index64, i), addrArg(t.index64, n)];
    }
    case 'tcopy': {
      const td = st.tables[f.t], ts = st.tables[f.s];
      const lenIs64 = td.index64 && ts.index64;
      const n = BigInt(rng.range(0, 4));
      const d = mod(rng.bool(0.5) ? BigInt(td.entries.length) - n + BigInt(rng.range(-1, 1)) : BigInt(rng.range(0, 3)), td.index64 ? TWO64 : TWO32);
      const s = mod(rng.bool(0.5) ? BigInt(ts.entries.length) - n + BigInt(rng.range(-1, 1)) : BigInt(rng.range(0, 3)), ts.index64 ? TWO64 : TWO32);
      return [addrArg(td.index64, d), addrArg(ts.index64, s), addrArg(lenIs64, n)];
    }
    case 'tinit': {
      const t = st.tables[f.t];
      const n = BigInt(rng.range(0, 4));
      const s = BigInt(rng.range(0, 3));
      const d = mod(rng.bool(0.5) ? BigInt(t.entries.length) - n + BigInt(rng.range(-1, 1)) : BigInt(rng.range(0, 3)), t.index64 ? TWO64 : TWO32);
      return [addrArg(t.index64, d), Number(s), Number(n)];
    }
    default: throw new Error(`bounds-gen: ${f.kind}`);
  }
}

/** The spec semantics of one call of a generated function: updates the model, returns the outcome event. */
function applyCall(st, ctx, f, args) {
  switch (f.kind) {
    case 'load': case 'cload': case 'store': {
      const mm = st.M[f.m];
      const size = f.op[2];
      const a = f.kind === 'cload' ? f.addr : argToBig(mm.index64, args[0]);
      const ea = a + f.off;
      if (!inRange(ea, BigInt(size), mm.length)) return trap('memory-oob');
      if (f.kind === 'store') {
        mm.write(ea, valueBytes(f.op[3], args[1], size));
        return done;
      }
      return { ev: 'result', values: [loadResult(f.op, mm.read(ea, size))] };
    }
    case 'size': {
      const mm = st.M[f.m];
      return { ev: 'result', values: [mm.index64 ? String(mm.pages) : mm.pages] };
    }
    case 'grow': {
      const mm = st.M[f.m];
      const dv = argToBig(mm.index64, args[0]);
      let res;
      if (BigInt(mm.pages) + dv > BigInt(mm.max)) res = -1n;
      else { res = BigInt(mm.pages); mm.pages += Number(dv); }
      return { ev: 'result', values: [mm.index64 ? BigInt.asIntN(64, res).toString() : Number(BigInt.asIntN(32, res))] };
    }
    case 'fill': {
      const mm = st.M[f.m];
      const d = argToBig(mm.index64, args[0]), n = argToBig(mm.index64, args[2]);
      if (!inRange(d, n, mm.length)) return trap('memory-oob');
      if (n > 0n) mm.write(d, new Uint8Array(Number(n)).fill(args[1] & 0xff));
      return done;
    }
    case 'copy': {
      const md = st.M[f.d], ms = st.M[f.s];
      const d = argToBig(md.index64, args[0]), s = argToBig(ms.index64, args[1]), n = argToBig(md.index64 && ms.index64, args[2]);
      if (!inRange(s, n, ms.length) || !inRange(d, n, md.length)) return trap('memory-oob');
      if (n > 0n) md.write(d, ms.read(s, Number(n)));
      return done;
    }
    case 'init': {
      const mm = st.M[f.m];
      const seg = st.segs.get(f.seg.index);
      const segLen = BigInt(seg.dropped ? 0 : seg.bytes.length);
      const d = argToBig(mm.index64, args[0]), s = argToBig(false, args[1]), n = argToBig(false, args[2]);
      if (!inRange(s, n, segLen) || !inRange(d, n, mm.length)) return trap('memory-oob');
      if (n > 0n) mm.write(d, seg.bytes.subarray(Number(s), Number(s + n)));
      return done;
    }
    case 'drop': st.segs.get(f.seg.index).dropped = true; return done;
    case 'edrop': st.elemDropped = true; return done;
    case 'tget': case 'tset': case 'call': {
      const t = st.tables[f.t];
      const i = argToBig(t.index64, args[0]);
      if (i >= BigInt(t.entries.length)) return trap('table-oob');
      const k = Number(i);
      if (f.kind === 'tget') return { ev: 'result', values: [t.entries[k] === null ? null : 'func:' + t.entries[k]] };
      if (f.kind === 'tset') { t.entries[k] = f.f; return done; }
      const e = t.entries[k];
      if (e === null || e === ctx.badType) return trap('indirect-call');
      return { ev: 'result', values: [100 + ctx.targets.indexOf(e)] };
    }
    case 'tsize': {
      const t = st.tables[f.t];
      return { ev: 'result', values: [t.index64 ? String(t.entries.length) : t.entries.length] };
    }
    case 'tgrow': {
      const t = st.tables[f.t];
      const delta = argToBig(t.index64, args[0]);
      let res;
      if (BigInt(t.entries.length) + delta > BigInt(t.max)) res = -1n;
      else { res = BigInt(t.entries.length); for (let k = 0n; k < delta; k++) t.entries.push(null); }
      return { ev: 'result', values: [t.index64 ? BigInt.asIntN(64, res).toString() : Number(BigInt.asIntN(32, res))] };
    }
    case 'tfill': {
      const t = st.tables[f.t];
      const i = argToBig(t.index64, args[0]), n = argToBig(t.index64, args[1]);
      if (i + n > BigInt(t.entries.length)) return trap('table-oob');
      for (let k = 0n; k < n; k++) t.entries[Number(i + k)] = f.f;
      return done;
    }
    case 'tcopy': {
      const td = st.tables[f.t], ts = st.tables[f.s];
      const d = argToBig(td.index64, args[0]), s = argToBig(ts.index64, args[1]), n = argToBig(td.index64 && ts.index64, args[2]);
      if (s + n > BigInt(ts.entries.length) || d + n > BigInt(td.entries.length)) return trap('table-oob');
      const items = ts.entries.slice(Number(s), Number(s + n));
      for (let k = 0; k < items.length; k++) td.entries[Number(d) + k] = items[k];
      return done;
    }
    case 'tinit': {
      const t = st.tables[f.t];
      const items = st.elemDropped ? [] : f.seg.items;
      const d = argToBig(t.index64, args[0]), s = argToBig(false, args[1]), n = argToBig(false, args[2]);
      if (s + n > BigInt(items.length) || d + n > BigInt(t.entries.length)) return trap('table-oob');
      for (let k = 0n; k < n; k++) t.entries[Number(d + k)] = items[Number(s + k)];
      return done;
    }
    default: throw new Error(`bounds-gen: ${f.kind}`);
  }
}
