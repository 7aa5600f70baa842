// Bounds checks at their edges (security critical). Every expectation comes from the spec, not from the
// implementation: an access of N bytes at address a with static offset o on a memory of L bytes traps iff
// a + o + N > L, computed on mathematical integers (nothing wraps, neither at 2^32 for i32 memories nor at
// 2^64 for i64 memories). A trap is a RuntimeError "memory access out of bounds" and a trapping store
// writes nothing. Tables: index >= length traps with "table index is out of bounds"
// (src/runtime/layout.ts TRAP_MESSAGES), call_indirect likewise.
//
// Every case runs in a child process (test/helpers/isolate.ts): a broken bounds check crashes that child
// (or scribbles over the guard region) instead of taking the test runner down.

import * as assert from 'uvu/assert';

import { isolated } from './helpers/isolate.js';
import { Code, ModuleBuilder, Op, T } from './helpers/wasm-builder.js';
import { Exports, outcome, qb, show, showOutcome } from './helpers/engines.js';
import { getLinearMemory } from '../src/api/memory.js';

const t = isolated(import.meta.url, { name: 'bounds' });

const OOB = 'memory access out of bounds';
const TABLE_OOB = 'table index is out of bounds';
const PAGE = 65536;
const TWO32 = 2n ** 32n;
const TWO64 = 2n ** 64n;

// ------------------------------------------------------------------------------------------------ model

interface LoadOp { name: string; op: number; size: number; signed: boolean; result: 'i32' | 'i64'; float: boolean }
interface StoreOp { name: string; op: number; size: number; type: T }

const LOADS: LoadOp[] = [
  { name: 'i32.load', op: Op.i32_load, size: 4, signed: false, result: 'i32', float: false },
  { name: 'i64.load', op: Op.i64_load, size: 8, signed: false, result: 'i64', float: false },
  { name: 'f32.load', op: Op.f32_load, size: 4, signed: false, result: 'i32', float: true },
  { name: 'f64.load', op: Op.f64_load, size: 8, signed: false, result: 'i64', float: true },
  { name: 'i32.load8_s', op: Op.i32_load8_s, size: 1, signed: true, result: 'i32', float: false },
  { name: 'i32.load8_u', op: Op.i32_load8_u, size: 1, signed: false, result: 'i32', float: false },
  { name: 'i32.load16_s', op: Op.i32_load16_s, size: 2, signed: true, result: 'i32', float: false },
  { name: 'i32.load16_u', op: Op.i32_load16_u, size: 2, signed: false, result: 'i32', float: false },
  { name: 'i64.load8_s', op: Op.i64_load8_s, size: 1, signed: true, result: 'i64', float: false },
  { name: 'i64.load8_u', op: Op.i64_load8_u, size: 1, signed: false, result: 'i64', float: false },
  { name: 'i64.load16_s', op: Op.i64_load16_s, size: 2, signed: true, result: 'i64', float: false },
  { name: 'i64.load16_u', op: Op.i64_load16_u, size: 2, signed: false, result: 'i64', float: false },
  { name: 'i64.load32_s', op: Op.i64_load32_s, size: 4, signed: true, result: 'i64', float: false },
  { name: 'i64.load32_u', op: Op.i64_load32_u, size: 4, signed: false, result: 'i64', float: false },
];

const STORES: StoreOp[] = [
  { name: 'i32.store', op: Op.i32_store, size: 4, type: T.i32 },
  { name: 'i64.store', op: Op.i64_store, size: 8, type: T.i64 },
  { name: 'f32.store', op: Op.f32_store, size: 4, type: T.f32 },
  { name: 'f64.store', op: Op.f64_store, size: 8, type: T.f64 },
  { name: 'i32.store8', op: Op.i32_store8, size: 1, type: T.i32 },
  { name: 'i32.store16', op: Op.i32_store16, size: 2, type: T.i32 },
  { name: 'i64.store8', op: Op.i64_store8, size: 1, type: T.i64 },
  { name: 'i64.store16', op: Op.i64_store16, size: 2, type: T.i64 },
  { name: 'i64.store32', op: Op.i64_store32, size: 4, type: T.i64 },
];

/** Values stored: every byte distinct and non-zero; the second fits an imm32 (another code path). */
const STORE_VALUES: bigint[] = [0x8877665544332211n, 0x51423324n];

/** The spec: does an access of `size` bytes at a + o trap on a memory of `len` bytes? */
function traps(a: bigint, o: bigint, size: number, len: bigint): boolean {
  return a + o + BigInt(size) > len;
}

/** Little-endian bytes -> the value a load returns (as the JS value of its result type; floats as bits). */
function loadValue(l: LoadOp, bytes: Uint8Array): number | bigint {
  let v = 0n;
  for (let i = l.size - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (l.signed) v = BigInt.asIntN(8 * l.size, v);
  return l.result === 'i32' ? Number(BigInt.asIntN(32, v)) : BigInt.asIntN(64, v);
}

function storeBytes(size: number, v: bigint): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
}

function uniq(xs: bigint[], max: bigint): bigint[] {
  const s = new Set<bigint>();
  for (const x of xs) if (x >= 0n && x <= max) s.add(x);
  return [...s];
}

/** Addresses that probe the edges for an access of `size` bytes at static offset `o`. */
function edgeAddresses(o: bigint, size: number, len: bigint, i64: boolean): bigint[] {
  const max = i64 ? TWO64 - 1n : TWO32 - 1n;
  const W = i64 ? TWO64 : TWO32;
  const last = len - BigInt(size) - o; // highest valid address (may be negative: none)
  const wrap = (W - (o % W)) % W; // a + o == W: wraps to 0 in W-bit arithmetic
  return uniq([
    last, last + 1n, last - 1n, last + BigInt(size),
    0n, 1n,
    2n ** 31n - BigInt(size) - 1n, 2n ** 31n - BigInt(size), 2n ** 31n - 1n, 2n ** 31n,
    TWO32 - 1n, TWO32, TWO32 + 1n,
    max, max - BigInt(size) + 1n,
    wrap, wrap + 1n, wrap + len - BigInt(size), wrap + len,
  ], max);
}

interface MemConfig {
  label: string;
  i64: boolean;
  pages: number;
  offsets: bigint[];
  /** Byte ranges whose contents are snapshotted around a store (the whole memory when small). */
  wholeSnapshot: boolean;
}

/** Reads and writes a memory's bytes through the runtime (works beyond 4 GiB). */
function memIO(mem: unknown) {
  const lm = getLinearMemory(mem);
  return {
    get length(): bigint { return BigInt(lm.byteLength); },
    read: (at: bigint, n: number): Uint8Array => lm.read(Number(at), n),
    write: (at: bigint, bytes: Uint8Array): void => lm.write(Number(at), bytes),
  };
}

function expectTrap(f: () => unknown, what: string, message = OOB): void {
  const o = outcome(f);
  assert.ok(o.kind !== 'value', `${what}: expected a trap, got ${showOutcome(o)}`);
  assert.ok(o.error instanceof qb.RuntimeError, `${what}: expected a RuntimeError, got ${showOutcome(o)}`);
  assert.is(o.message, message, `${what}: message`);
}

function expectValue(f: () => unknown, expected: unknown, what: string): void {
  const o = outcome(f);
  assert.ok(o.kind === 'value', `${what}: expected ${show(expected)}, got ${showOutcome(o)}`);
  assert.ok(Object.is(o.value, expected), `${what}: expected ${show(expected)}, got ${show(o.value)}`);
}

/** Sanity: the engine checks something. Snapshot windows that a buggy store could touch. */
function snapshotRanges(cfg: MemConfig, len: bigint, a: bigint, o: bigint): Array<[bigint, number]> {
  if (cfg.wholeSnapshot) return [[0n, Number(len)]];
  const r: Array<[bigint, number]> = [];
  const add = (at: bigint, n: number) => {
    let s = at < 0n ? 0n : at;
    let e = at + BigInt(n);
    if (e > len) e = len;
    if (e > s) r.push([s, Number(e - s)]);
  };
  add(0n, 64);
  add(len - 64n, 64);
  for (const W of [TWO32, TWO64]) add(((a + o) % W) - 16n, 32);
  add(a - 16n, 32);
  add(o - 16n, 32);
  return r;
}

/**
 * Build one module with every load and store at every offset of `cfg`, with constant and dynamic addresses
 * (a local, and a computed register value) and constant and dynamic stored values, and check each against
 * the spec at the edge addresses.
 */
function runAccessMatrix(cfg: MemConfig): { calls: number; traps: number } {
  const b = new ModuleBuilder();
  const AT = cfg.i64 ? T.i64 : T.i32;
  b.memory({ min: cfg.pages, max: cfg.pages, i64: cfg.i64 }, 'mem');
  const len = BigInt(cfg.pages * PAGE);
  const addrConst = (c: Code, a: bigint) => (cfg.i64 ? c.i64_const(a) : c.i32_const(a));
  // Address kinds: 'local' = local.get (a frame slot), 'reg' = computed into a register.
  const pushAddr = (c: Code, kind: 'local' | 'reg') => {
    c.local_get(0);
    if (kind === 'reg') {
      // a = (a ^ 0x5a) ^ 0x5a : forces a register without folding.
      if (cfg.i64) c.i64_const(0x5a).op(Op.i64_xor).i64_const(0x5a).op(Op.i64_xor);
      else c.i32_const(0x5a).op(Op.i32_xor).i32_const(0x5a).op(Op.i32_xor);
    }
  };
  type Case =
    | { kind: 'load'; l: LoadOp; o: bigint; name: string; addr: bigint | null; akind?: 'local' | 'reg' }
    | { kind: 'store'; s: StoreOp; o: bigint; name: string; addr: bigint | null; value: bigint | null; akind?: 'local' | 'reg' };
  const cases: Case[] = [];
  let n = 0;
  const fname = () => `f${n++}`;
  const reinterpret = (c: Code, l: LoadOp) => {
    if (l.op === Op.f32_load) c.op(Op.i32_reinterpret_f32);
    if (l.op === Op.f64_load) c.op(Op.i64_reinterpret_f64);
  };
  const pushValue = (c: Code, s: StoreOp, v: bigint | null, local: number) => {
    if (v === null) {
      c.local_get(local);
      if (s.type === T.f32) c.op(Op.f32_reinterpret_i32);
      if (s.type === T.f64) c.op(Op.f64_reinterpret_i64);
      return;
    }
    switch (s.type) {
      case T.i32: c.i32_const(v); break;
      case T.i64: c.i64_const(v); break;
      case T.f32: c.f32_bits(Number(v & 0xffffffffn)); break;
      case T.f64: c.f64_bits(v); break;
    }
  };
  const valueParam = (s: StoreOp): T => (s.type === T.f32 ? T.i32 : s.type === T.f64 ? T.i64 : s.type);

  for (const o of cfg.offsets) {
    for (const l of LOADS) {
      const res = l.result === 'i32' ? T.i32 : T.i64;
      for (const akind of ['local', 'reg'] as const) {
        const name = fname();
        b.func([AT], [res], (c) => { pushAddr(c, akind); c.mem(l.op, o); reinterpret(c, l); c.end(); }, { export: name });
        cases.push({ kind: 'load', l, o, name, addr: null, akind });
      }
      for (const a of edgeAddresses(o, l.size, len, cfg.i64)) {
        const name = fname();
        b.func([], [res], (c) => { addrConst(c, a); c.mem(l.op, o); reinterpret(c, l); c.end(); }, { export: name });
        cases.push({ kind: 'load', l, o, name, addr: a });
      }
    }
    for (const s of STORES) {
      const vt = valueParam(s);
      for (const akind of ['local', 'reg'] as const) {
        const name = fname();
        b.func([AT, vt], [], (c) => { pushAddr(c, akind); pushValue(c, s, null, 1); c.mem(s.op, o); c.end(); }, { export: name });
        cases.push({ kind: 'store', s, o, name, addr: null, value: null, akind });
      }
      for (const v of STORE_VALUES) {
        // dynamic address, constant value
        const name = fname();
        b.func([AT], [], (c) => { c.local_get(0); pushValue(c, s, v, -1); c.mem(s.op, o); c.end(); }, { export: name });
        cases.push({ kind: 'store', s, o, name, addr: null, value: v });
      }
      for (const a of edgeAddresses(o, s.size, len, cfg.i64)) {
        for (const v of STORE_VALUES) {
          const name = fname();
          b.func([], [], (c) => { addrConst(c, a); pushValue(c, s, v, -1); c.mem(s.op, o); c.end(); }, { export: name });
          cases.push({ kind: 'store', s, o, name, addr: a, value: v });
        }
        // constant address, dynamic value
        const name = fname();
        b.func([vt], [], (c) => { addrConst(c, a); pushValue(c, s, null, 0); c.mem(s.op, o); c.end(); }, { export: name });
        cases.push({ kind: 'store', s, o, name, addr: a, value: null });
      }
    }
  }

  const ex = new qb.Instance(new qb.Module(b.build()), {}).exports as Exports;
  const io = memIO(ex.mem);
  assert.is(io.length, len);
  // A recognisable pattern near both ends (the middle of big memories stays zero).
  const pattern = (at: bigint, n: number) => {
    const p = new Uint8Array(n);
    for (let i = 0; i < n; i++) p[i] = (Number((at + BigInt(i)) % 251n) * 7 + 3) & 0xff;
    return p;
  };
  const patch = (at: bigint, n: number) => {
    if (at < 0n) { n += Number(at); at = 0n; }
    if (at + BigInt(n) > len) n = Number(len - at);
    if (n > 0) io.write(at, pattern(at, n));
  };
  patch(0n, Math.min(PAGE, Number(len)));
  patch(len - BigInt(PAGE), PAGE);

  let calls = 0, trapsSeen = 0;
  const addrArg = (a: bigint) => (cfg.i64 ? BigInt.asIntN(64, a) : Number(BigInt.asIntN(32, a)));

  const checkLoad = (f: () => unknown, l: LoadOp, a: bigint, o: bigint, what: string) => {
    calls++;
    if (traps(a, o, l.size, len)) {
      trapsSeen++;
      expectTrap(f, what);
    } else {
      expectValue(f, loadValue(l, io.read(a + o, l.size)), what);
    }
  };

  const checkStore = (f: () => unknown, s: StoreOp, a: bigint, o: bigint, v: bigint, what: string) => {
    calls++;
    const ranges = snapshotRanges(cfg, len, a, o);
    const before = ranges.map(([at, k]) => io.read(at, k));
    if (traps(a, o, s.size, len)) {
      trapsSeen++;
      expectTrap(f, what);
      ranges.forEach(([at, k], i) => {
        const after = io.read(at, k);
        assert.ok(Buffer.compare(before[i], after) === 0, `${what}: a trapping store changed memory near ${at}`);
      });
    } else {
      expectValue(f, undefined, what);
      const got = io.read(a + o, s.size);
      assert.equal(Array.from(got), Array.from(storeBytes(s.size, v)), `${what}: bytes written`);
      // Nothing else changed: restore the stored bytes to the old contents and compare.
      const ea = a + o;
      ranges.forEach(([at, k], i) => {
        const after = io.read(at, k);
        for (let j = 0; j < k; j++) {
          const p = at + BigInt(j);
          if (p >= ea && p < ea + BigInt(s.size)) after[j] = before[i][j];
        }
        assert.ok(Buffer.compare(before[i], after) === 0, `${what}: a store wrote outside its ${s.size} bytes near ${at}`);
      });
      patch(ea - 8n, s.size + 16);
    }
  };

  const valueArg = (s: StoreOp, v: bigint) => {
    const t = valueParam(s);
    return t === T.i32 ? Number(BigInt.asIntN(32, v)) : BigInt.asIntN(64, v);
  };
  // What a store of v writes (the low `size` bytes; f32 values are the low 32 bits).
  const stored = (v: bigint) => BigInt.asUintN(64, v);

  for (const c of cases) {
    const f = ex[c.name] as (...args: unknown[]) => unknown;
    if (c.kind === 'load') {
      const what = `${cfg.label} ${c.l.name} offset=${c.o}`;
      if (c.addr !== null) {
        checkLoad(() => f(), c.l, c.addr, c.o, `${what} const addr=${c.addr}`);
      } else {
        for (const a of edgeAddresses(c.o, c.l.size, len, cfg.i64)) {
          checkLoad(() => f(addrArg(a)), c.l, a, c.o, `${what} ${c.akind} addr=${a}`);
        }
      }
    } else {
      const what = `${cfg.label} ${c.s.name} offset=${c.o}`;
      const vals = c.value === null ? [STORE_VALUES[0]] : [c.value];
      for (const v of vals) {
        const sv = c.s.type === T.f32 ? v & 0xffffffffn : v;
        if (c.addr !== null) {
          const args = c.value === null ? [valueArg(c.s, v)] : [];
          checkStore(() => f(...args), c.s, c.addr, c.o, stored(sv), `${what} const addr=${c.addr} ${c.value === null ? 'dyn' : 'const'} value`);
        } else {
          for (const a of edgeAddresses(c.o, c.s.size, len, cfg.i64)) {
            const args = c.value === null ? [addrArg(a), valueArg(c.s, v)] : [addrArg(a)];
            checkStore(() => f(...args), c.s, a, c.o, stored(sv), `${what} ${c.akind ?? 'local'} addr=${a} ${c.value === null ? 'dyn' : 'const'} value`);
          }
        }
      }
    }
  }
  return { calls, traps: trapsSeen };
}


// 4088..4096: offset + size on both sides of the fast check's reach (4096, compile/emit-memory.ts)
const I32_OFFSETS = [0n, 1n, 4088n, 4092n, 4095n, 4096n, 2n ** 16n, 2n ** 31n - 1n, 2n ** 31n, TWO32 - 1n];
const I64_OFFSETS = [
  ...I32_OFFSETS,
  TWO32, TWO32 + 1n, TWO32 + 8n,
  2n ** 63n - 1n, 2n ** 63n, 2n ** 63n + 1n,
  TWO64 - 9n, TWO64 - 8n, TWO64 - 2n, TWO64 - 1n,
];

t('i32 memory (1 page): every load/store width at the edges, constant and dynamic addresses', () => {
  const r = runAccessMatrix({ label: 'i32/1p', i64: false, pages: 1, offsets: I32_OFFSETS, wholeSnapshot: true });
  assert.ok(r.calls > 2000 && r.traps > 1000 && r.traps < r.calls, JSON.stringify(r));
});

t('i64 memory (1 page): every load/store width at the edges, offsets up to 2^64-1, wrapping addresses', () => {
  const r = runAccessMatrix({ label: 'i64/1p', i64: true, pages: 1, offsets: I64_OFFSETS, wholeSnapshot: true });
  assert.ok(r.calls > 4000 && r.traps > 2000 && r.traps < r.calls, JSON.stringify(r));
});

t('i32 memory of 65536 pages (4 GiB): the last byte is reachable with every offset, one past is not', () => {
  const r = runAccessMatrix({ label: 'i32/4GiB', i64: false, pages: 65536, offsets: I32_OFFSETS, wholeSnapshot: false });
  assert.ok(r.calls > 2000, JSON.stringify(r));
});

t('i64 memory of 65537 pages (> 4 GiB): offsets near 2^32 reach the end', () => {
  const r = runAccessMatrix({
    label: 'i64/4GiB+64K', i64: true, pages: 65537,
    offsets: [0n, 1n, 2n ** 31n, TWO32 - 1n, TWO32, TWO32 + 1n, 2n ** 63n, TWO64 - 1n], wholeSnapshot: false,
  });
  assert.ok(r.calls > 2000, JSON.stringify(r));
});

// ------------------------------------------------------------------------------------------------ helpers

type Fn = (...args: any[]) => any;

/** Address argument for a memory/table of the given index type. */
const A = (i64: boolean, v: number | bigint): number | bigint => (i64 ? BigInt.asIntN(64, BigInt(v)) : Number(BigInt.asIntN(32, BigInt(v))));

function snapshot(mem: unknown): Uint8Array {
  const lm = getLinearMemory(mem);
  return lm.read(0, lm.byteLength);
}

function assertUnchanged(mem: unknown, before: Uint8Array, what: string): void {
  const after = snapshot(mem);
  assert.is(after.length, before.length, `${what}: size`);
  const i = after.findIndex((b, k) => b !== before[k]);
  assert.ok(i < 0, `${what}: a trapping operation changed byte ${i}`);
}

/** A trapping call must leave the memory exactly as it was. */
function expectTrapNoWrite(mem: unknown, f: () => unknown, what: string): void {
  const before = snapshot(mem);
  expectTrap(f, what);
  assertUnchanged(mem, before, what);
}

// ------------------------------------------------------------------------------------------------ grow

function growModule(i64: boolean) {
  const b = new ModuleBuilder();
  const AT = i64 ? T.i64 : T.i32;
  const grow = b.importFunc('env', 'grow', [], []);
  b.memory({ min: 1, max: 4, i64 }, 'mem');
  const c = (x: Code, v: number | bigint) => (i64 ? x.i64_const(v) : x.i32_const(v));
  b.func([AT], [T.i32], (x) => x.local_get(0).mem(Op.i32_load8_u).end(), { export: 'load8' });
  b.func([AT], [T.i32], (x) => x.local_get(0).mem(Op.i32_load).end(), { export: 'load32' });
  b.func([AT], [T.i64], (x) => x.local_get(0).mem(Op.i64_load, 1).end(), { export: 'load64off1' });
  b.func([AT, T.i32], [], (x) => x.local_get(0).local_get(1).mem(Op.i32_store8).end(), { export: 'store8' });
  b.func([AT, T.i64], [], (x) => x.local_get(0).local_get(1).mem(Op.i64_store).end(), { export: 'store64' });
  b.func([], [T.i32], (x) => { c(x, PAGE).mem(Op.i32_load8_u).end(); }, { export: 'loadConst64K' });
  b.func([], [T.i32], (x) => { c(x, 2 * PAGE - 4).mem(Op.i32_load).end(); }, { export: 'loadConst128Kminus4' });
  b.func([AT], [AT], (x) => x.local_get(0).memory_grow().end(), { export: 'grow' });
  b.func([], [AT], (x) => x.memory_size().end(), { export: 'size' });
  // memory.grow then an access at the old end, in the same function (r13 must be reloaded).
  b.func([AT], [T.i32], (x) => {
    x.i32_const(0); // a live value across the builtin call
    c(x, 1).memory_grow().drop();
    x.local_get(0).mem(Op.i32_load8_u).op(Op.i32_add).end();
  }, { export: 'growThenLoad' });
  // An imported JS function grows the memory; the access after the call must see the new length.
  b.func([AT], [T.i32], (x) => x.call(grow).local_get(0).mem(Op.i32_load8_u).end(), { export: 'importGrowThenLoad' });
  // Access, grow, access again at the same address in one function.
  b.func([AT], [T.i32], (x) => {
    x.local_get(0).mem(Op.i32_load8_u).drop();
    c(x, 1).memory_grow().drop();
    x.local_get(0).mem(Op.i32_load8_u).end();
  }, { export: 'loadGrowLoad' });
  return b.build();
}

for (const i64 of [false, true]) {
  t(`memory.grow (${i64 ? 'i64' : 'i32'} memory): accesses that trapped succeed after grow, the new end traps`, () => {
    let ex: Exports = {};
    const imports = { env: { grow: () => { (ex.mem as WebAssembly.Memory).grow(1); } } };
    ex = new qb.Instance(new qb.Module(growModule(i64)), imports).exports as Exports;
    const a = (v: number) => A(i64, v);
    const p = (v: number) => (i64 ? BigInt(v) : v);
    const mem = ex.mem;
    let len = PAGE;
    const probe = (what: string) => {
      expectValue(() => ex.load8(a(len - 1)), 0, `${what}: load8 at len-1`);
      expectTrap(() => ex.load8(a(len)), `${what}: load8 at len`);
      expectValue(() => ex.load32(a(len - 4)), 0, `${what}: load32 at len-4`);
      expectTrap(() => ex.load32(a(len - 3)), `${what}: load32 at len-3`);
      expectValue(() => ex.load64off1(a(len - 9)), 0n, `${what}: i64.load offset=1 at len-9`);
      expectTrap(() => ex.load64off1(a(len - 8)), `${what}: i64.load offset=1 at len-8`);
      expectTrapNoWrite(mem, () => ex.store64(a(len - 7), -1n), `${what}: i64.store at len-7`);
      expectTrapNoWrite(mem, () => ex.store8(a(len), 0x77), `${what}: store8 at len`);
      expectValue(() => ex.size(), p(len / PAGE), `${what}: memory.size`);
    };
    probe('initial');
    expectTrap(() => ex.loadConst64K(), 'const 65536 before grow');
    expectTrap(() => ex.loadConst128Kminus4(), 'const 131068 before grow');
    // grow from wasm
    expectValue(() => ex.grow(p(1)), p(1), 'memory.grow 1');
    len += PAGE;
    probe('after memory.grow');
    expectValue(() => ex.loadConst64K(), 0, 'const 65536 after grow');
    expectValue(() => ex.loadConst128Kminus4(), 0, 'const 131068 after grow');
    ex.store8(a(len - 1), 0x5a);
    expectValue(() => ex.load8(a(len - 1)), 0x5a, 'store at the new end');
    // grow from JS
    assert.is((mem as WebAssembly.Memory).grow(1), p(2));
    len += PAGE;
    probe('after Memory.grow from JS');
    // growing past the maximum fails and changes nothing
    expectValue(() => ex.grow(p(2)), p(-1), 'memory.grow past max');
    expectValue(() => ex.grow(a(-1)), p(-1), 'memory.grow by 2^N-1');
    probe('after failed grows');
    // grow and access in one function: the access is at the old length (trapped before the grow)
    expectValue(() => ex.growThenLoad(a(len)), 0, 'growThenLoad at old end');
    len += PAGE;
    probe('after growThenLoad');
    assert.is(len, 4 * PAGE);
    // at the maximum: growing fails, the end still traps in the same function after the failed grow
    expectTrap(() => ex.loadGrowLoad(a(len)), 'loadGrowLoad at len (max reached)');
    expectTrap(() => ex.growThenLoad(a(len)), 'growThenLoad at len (max reached)');
    probe('at max');
  });

  t(`memory.grow (${i64 ? 'i64' : 'i32'}): by an imported JS function / by another instance, seen after the call`, () => {
    let ex: Exports = {};
    const imports = { env: { grow: () => { (ex.mem as WebAssembly.Memory).grow(1); } } };
    ex = new qb.Instance(new qb.Module(growModule(i64)), imports).exports as Exports;
    const a = (v: number) => A(i64, v);
    expectTrap(() => ex.load8(a(PAGE)), 'before');
    expectValue(() => ex.importGrowThenLoad(a(PAGE)), 0, 'the JS import grew the memory: the access after the call succeeds');
    expectValue(() => ex.importGrowThenLoad(a(3 * PAGE - 1)), 0, 'again');
    expectTrap(() => ex.importGrowThenLoad(a(4 * PAGE)), 'grown to max: 4 pages; 4*64K traps');
    // A second instance importing the memory: its grow is seen by the first instance's code.
    const b = new ModuleBuilder();
    const AT = i64 ? T.i64 : T.i32;
    b.importMemory('env', 'mem', { min: 1, i64 });
    const g = b.importFunc('env', 'g', [], []);
    b.func([AT], [T.i32], (x) => x.local_get(0).mem(Op.i32_load8_u).end(), { export: 'load8' });
    b.func([AT], [T.i32], (x) => x.call(g).local_get(0).mem(Op.i32_load8_u).end(), { export: 'callThenLoad' });
    const mem2 = new qb.Memory(i64 ? { initial: 1n, maximum: 3n, address: 'i64' } as any : { initial: 1, maximum: 3 });
    // exporter instance that owns the memory? It defines its own; instead build a tiny module that imports
    // mem2 and grows it from wasm.
    const gb = new ModuleBuilder();
    gb.importMemory('env', 'mem', { min: 1, i64 });
    gb.func([], [], (x) => { (i64 ? x.i64_const(1) : x.i32_const(1)).memory_grow().drop().end(); }, { export: 'grow1' });
    const grower = new qb.Instance(new qb.Module(gb.build()), { env: { mem: mem2 } }).exports as Exports;
    const user = new qb.Instance(new qb.Module(b.build()), { env: { mem: mem2, g: grower.grow1 } }).exports as Exports;
    expectTrap(() => user.load8(a(PAGE)), 'shared memory before grow');
    expectValue(() => user.callThenLoad(a(PAGE)), 0, 'another instance grew the shared memory (wasm import)');
    expectValue(() => user.load8(a(2 * PAGE - 1)), 0, 'after');
    expectTrap(() => user.load8(a(2 * PAGE)), 'new end');
    grower.grow1();
    expectValue(() => user.load8(a(3 * PAGE - 1)), 0, 'grown by a direct call of the other instance');
    expectTrap(() => user.load8(a(3 * PAGE)), 'new end 2');
  });
}

// ------------------------------------------------------------------------------------------------ 0 pages

for (const i64 of [false, true]) {
  t(`memory of 0 pages (${i64 ? 'i64' : 'i32'}): every access traps, n = 0 bulk at 0 is fine, grow makes it usable`, () => {
    const b = new ModuleBuilder();
    const AT = i64 ? T.i64 : T.i32;
    b.memory({ min: 0, i64 }, 'mem');
    const c = (x: Code, v: number | bigint) => (i64 ? x.i64_const(v) : x.i32_const(v));
    b.func([AT], [T.i32], (x) => x.local_get(0).mem(Op.i32_load8_u).end(), { export: 'load8' });
    b.func([], [T.i32], (x) => { c(x, 0).mem(Op.i32_load8_u).end(); }, { export: 'load8c0' });
    b.func([], [T.i64], (x) => { c(x, 0).mem(Op.i64_load).end(); }, { export: 'load64c0' });
    b.func([AT], [], (x) => x.local_get(0).i32_const(1).mem(Op.i32_store8).end(), { export: 'store8' });
    b.func([], [], (x) => { c(x, 0).f64_const(1).mem(Op.f64_store).end(); }, { export: 'storeF64c0' });
    b.func([AT, T.i32, AT], [], (x) => x.local_get(0).local_get(1).local_get(2).memory_fill().end(), { export: 'fill' });
    b.func([AT, AT, AT], [], (x) => x.local_get(0).local_get(1).local_get(2).memory_copy().end(), { export: 'copy' });
    b.func([AT], [AT], (x) => x.local_get(0).memory_grow().end(), { export: 'grow' });
    b.func([], [AT], (x) => x.memory_size().end(), { export: 'size' });
    const ex = new qb.Instance(new qb.Module(b.build()), {}).exports as Exports;
    const a = (v: number) => A(i64, v);
    expectValue(() => ex.size(), i64 ? 0n : 0, 'size');
    expectTrap(() => ex.load8(a(0)), 'load8 0');
    expectTrap(() => ex.load8(a(-1)), 'load8 max');
    expectTrap(() => ex.load8c0(), 'load8 const 0');
    expectTrap(() => ex.load64c0(), 'i64.load const 0');
    expectTrap(() => ex.store8(a(0)), 'store8 0');
    expectTrap(() => ex.storeF64c0(), 'f64.store const 0');
    expectValue(() => ex.fill(a(0), 0, a(0)), undefined, 'fill n=0 at 0');
    expectTrap(() => ex.fill(a(1), 0, a(0)), 'fill n=0 at 1');
    expectTrap(() => ex.fill(a(0), 0, a(1)), 'fill n=1 at 0');
    expectValue(() => ex.copy(a(0), a(0), a(0)), undefined, 'copy n=0');
    expectTrap(() => ex.copy(a(1), a(0), a(0)), 'copy n=0 dst 1');
    expectTrap(() => ex.copy(a(0), a(1), a(0)), 'copy n=0 src 1');
    expectValue(() => ex.grow(a(1)), i64 ? 0n : 0, 'grow');
    expectValue(() => ex.load8(a(0)), 0, 'load8 0 after grow');
    expectValue(() => ex.load8c0(), 0, 'const load after grow');
    expectValue(() => ex.load8(a(PAGE - 1)), 0, 'last byte after grow');
    expectTrap(() => ex.load8(a(PAGE)), 'one past after grow');
    expectValue(() => ex.storeF64c0(), undefined, 'f64.store after grow');
  });
}

// ------------------------------------------------------------------------------------------------ multi-memory

for (const [i64a, i64b] of [[false, true], [true, false], [false, false], [true, true]] as const) {
  t(`several memories in one function (memory 0 ${i64a ? 'i64' : 'i32'} 1 page, memory 1 ${i64b ? 'i64' : 'i32'} 2 pages, memory 2 0 pages)`, () => {
    const b = new ModuleBuilder();
    const T0 = i64a ? T.i64 : T.i32, T1 = i64b ? T.i64 : T.i32;
    b.memory({ min: 1, max: 2, i64: i64a }, 'm0');
    b.memory({ min: 2, max: 3, i64: i64b }, 'm1');
    b.memory({ min: 0, max: 1, i64: false }, 'm2');
    const k0 = (x: Code, v: number) => (i64a ? x.i64_const(v) : x.i32_const(v));
    const k1 = (x: Code, v: number) => (i64b ? x.i64_const(v) : x.i32_const(v));
    // load from both memories in one expression
    b.func([T0, T1], [T.i32], (x) => x.local_get(0).mem(Op.i32_load8_u, 0, 0).local_get(1).mem(Op.i32_load8_u, 0, 1).op(Op.i32_add).end(), { export: 'sum' });
    b.func([T0, T1], [T.i64], (x) => x.local_get(1).mem(Op.i64_load, 0, 1).local_get(0).mem(Op.i64_load, 0, 0).op(Op.i64_add).end(), { export: 'sum64' });
    // store to memory 0 then memory 1 (the first store happens even when the second traps)
    b.func([T0, T1], [], (x) => x.local_get(0).i32_const(0x11).mem(Op.i32_store8, 0, 0).local_get(1).i32_const(0x22).mem(Op.i32_store8, 0, 1).end(), { export: 'st' });
    // constant addresses in both memories
    b.func([], [T.i32], (x) => { k0(x, PAGE - 1).mem(Op.i32_load8_u, 0, 0); k1(x, 2 * PAGE - 1).mem(Op.i32_load8_u, 0, 1).op(Op.i32_add).end(); }, { export: 'lastBoth' });
    b.func([], [T.i32], (x) => { k0(x, PAGE).mem(Op.i32_load8_u, 0, 0).end(); }, { export: 'past0' });
    b.func([], [T.i32], (x) => { k1(x, PAGE).mem(Op.i32_load8_u, 0, 1).end(); }, { export: 'mid1' });
    b.func([], [T.i32], (x) => { k1(x, 2 * PAGE).mem(Op.i32_load8_u, 0, 1).end(); }, { export: 'past1' });
    b.func([], [T.i32], (x) => { x.i32_const(0).mem(Op.i32_load8_u, 0, 2).end(); }, { export: 'zero2' });
    b.func([T.i32], [T.i32], (x) => { x.local_get(0).mem(Op.i32_load8_u, 0, 2).end(); }, { export: 'load2' });
    // offsets on memory 1
    b.func([T1], [T.i32], (x) => x.local_get(0).mem(Op.i32_load, PAGE, 1).end(), { export: 'load1off' });
    // grow memory 1 and access it in the same function; memory 0 keeps its bounds
    b.func([T0, T1], [T.i32], (x) => {
      k1(x, 1).memory_grow(1).drop();
      x.local_get(1).mem(Op.i32_load8_u, 0, 1).local_get(0).mem(Op.i32_load8_u, 0, 0).op(Op.i32_add).end();
    }, { export: 'grow1ThenBoth' });
    b.func([], [T.i32], (x) => { x.i32_const(1).memory_grow(2).end(); }, { export: 'grow2' });
    const ex = new qb.Instance(new qb.Module(b.build()), {}).exports as Exports;
    const a0 = (v: number) => A(i64a, v), a1 = (v: number) => A(i64b, v);
    const m0 = new Uint8Array((ex.m0 as WebAssembly.Memory).buffer);
    const m1 = new Uint8Array((ex.m1 as WebAssembly.Memory).buffer);
    m0[PAGE - 1] = 3; m1[2 * PAGE - 1] = 5; m1[PAGE] = 7; m0[0] = 1;
    expectValue(() => ex.sum(a0(PAGE - 1), a1(2 * PAGE - 1)), 8, 'last bytes of both');
    expectValue(() => ex.sum(a0(0), a1(PAGE)), 8, 'memory 1 at 64K is valid');
    expectTrap(() => ex.sum(a0(PAGE), a1(0)), 'memory 0 at 64K traps (memory 1 bounds must not be used)');
    expectTrap(() => ex.sum(a0(0), a1(2 * PAGE)), 'memory 1 at 128K traps');
    expectTrap(() => ex.sum(a0(-1), a1(0)), 'memory 0 at max address');
    expectTrap(() => ex.sum(a0(0), a1(-1)), 'memory 1 at max address');
    expectValue(() => ex.sum64(a0(PAGE - 8), a1(2 * PAGE - 8)), BigInt(3 << 24) * 2n ** 32n + BigInt(5 << 24) * 2n ** 32n, 'i64 loads at the ends');
    expectTrap(() => ex.sum64(a0(PAGE - 7), a1(0)), 'i64 load past memory 0');
    expectTrap(() => ex.sum64(a0(0), a1(2 * PAGE - 7)), 'i64 load past memory 1');
    expectValue(() => ex.lastBoth(), 8, 'const last bytes');
    expectTrap(() => ex.past0(), 'const past memory 0');
    expectValue(() => ex.mid1(), 7, 'const 64K in memory 1');
    expectTrap(() => ex.past1(), 'const past memory 1');
    expectTrap(() => ex.zero2(), 'memory 2 has 0 pages');
    expectValue(() => ex.load1off(a1(PAGE - 4)), 5 << 24, 'offset 64K on memory 1 at the end');
    expectTrap(() => ex.load1off(a1(PAGE - 3)), 'offset 64K on memory 1 one past');
    // stores: memory 0 first, then memory 1
    const b0 = snapshot(ex.m0), b1 = snapshot(ex.m1);
    expectTrap(() => ex.st(a0(PAGE), a1(0)), 'store to memory 0 past the end');
    assertUnchanged(ex.m0, b0, 'memory 0 after trapping store');
    assertUnchanged(ex.m1, b1, 'memory 1 after trapping store (never reached)');
    expectTrap(() => ex.st(a0(10), a1(2 * PAGE)), 'store to memory 1 past the end');
    assert.is(new Uint8Array((ex.m0 as WebAssembly.Memory).buffer)[10], 0x11, 'the first store happened');
    assertUnchanged(ex.m1, b1, 'memory 1 after its trapping store');
    ex.st(a0(PAGE - 1), a1(2 * PAGE - 1));
    assert.is(new Uint8Array((ex.m1 as WebAssembly.Memory).buffer)[2 * PAGE - 1], 0x22);
    // grow memory 1 inside a function
    expectTrap(() => ex.sum(a0(0), a1(3 * PAGE - 1)), 'before grow');
    expectValue(() => ex.grow1ThenBoth(a0(0), a1(3 * PAGE - 1)), 1, 'memory 1 grown in the same function');
    expectTrap(() => ex.grow1ThenBoth(a0(0), a1(3 * PAGE)), 'memory 1 at max');
    expectTrap(() => ex.grow1ThenBoth(a0(PAGE), a1(0)), 'memory 0 did not grow');
    expectValue(() => ex.grow2(), 0, 'grow memory 2');
    expectValue(() => ex.load2(PAGE - 1), 0, 'memory 2 now has one page');
    expectTrap(() => ex.load2(PAGE), 'memory 2 end');
    expectTrap(() => ex.sum(a0(PAGE), a1(0)), 'memory 0 still 1 page');
  });
}

t('calls into another instance (direct import and call_indirect) restore the caller\'s memory base and bounds', () => {
  // callee: its own 2-page memory, byte 0 = 2
  const cb = new ModuleBuilder();
  cb.memory({ min: 2, max: 2 }, 'mem');
  cb.data({ mode: 'active', offset: new Code().i32_const(0), bytes: [2] });
  cb.func([T.i32], [T.i32], (x) => x.local_get(0).mem(Op.i32_load8_u).end(), { export: 'load' });
  const callee = new qb.Instance(new qb.Module(cb.build()), {}).exports as Exports;
  // caller: 1-page memory, byte 0 = 1
  const b = new ModuleBuilder();
  const imp = b.importFunc('env', 'load', [T.i32], [T.i32]);
  b.importTable('env', 'tab', T.funcref, { min: 1 });
  b.memory({ min: 1, max: 1 }, 'mem');
  b.data({ mode: 'active', offset: new Code().i32_const(0), bytes: [1] });
  const sig = b.type([T.i32], [T.i32]);
  // returns own[a] * 100 + callee[b] * 10 + own[a] again (after the call)
  b.func([T.i32, T.i32], [T.i32], (x) => x.local_get(0).mem(Op.i32_load8_u).i32_const(100).op(Op.i32_mul)
    .local_get(1).call(imp).i32_const(10).op(Op.i32_mul).op(Op.i32_add)
    .local_get(0).mem(Op.i32_load8_u).op(Op.i32_add).end(), { export: 'direct' });
  b.func([T.i32, T.i32], [T.i32], (x) => x.local_get(0).mem(Op.i32_load8_u).i32_const(100).op(Op.i32_mul)
    .local_get(1).i32_const(0).call_indirect(sig).i32_const(10).op(Op.i32_mul).op(Op.i32_add)
    .local_get(0).mem(Op.i32_load8_u).op(Op.i32_add).end(), { export: 'indirect' });
  const tab = new qb.Table({ element: 'anyfunc', initial: 1 });
  tab.set(0, callee.load);
  const ex = new qb.Instance(new qb.Module(b.build()), { env: { load: callee.load, tab } }).exports as Exports;
  for (const f of ['direct', 'indirect']) {
    expectValue(() => ex[f](0, 0), 121, `${f}: both memories read correctly`);
    expectValue(() => ex[f](PAGE - 1, 2 * PAGE - 1), 0, `${f}: the callee's bound is its own 2 pages`);
    expectTrap(() => ex[f](0, 2 * PAGE), `${f}: callee one past its end`);
    expectTrap(() => ex[f](PAGE, 0), `${f}: caller one past its end (before the call)`);
  }
  // An access after the call at an address valid only in the callee's memory must trap in the caller.
  const b3 = new ModuleBuilder();
  const imp3 = b3.importFunc('env', 'load', [T.i32], [T.i32]);
  b3.importTable('env', 'tab', T.funcref, { min: 1 });
  b3.memory({ min: 1, max: 1 });
  const sig3 = b3.type([T.i32], [T.i32]);
  b3.func([T.i32], [T.i32], (x) => x.i32_const(0).call(imp3).drop().local_get(0).mem(Op.i32_load8_u).end(), { export: 'afterDirect' });
  b3.func([T.i32], [T.i32], (x) => x.i32_const(0).i32_const(0).call_indirect(sig3).drop().local_get(0).mem(Op.i32_load8_u).end(), { export: 'afterIndirect' });
  b3.func([T.i32], [T.i32], (x) => x.i32_const(0).call(imp3).drop().i32_const(PAGE).mem(Op.i32_load8_u).end(), { export: 'afterDirectConst' });
  const ex3 = new qb.Instance(new qb.Module(b3.build()), { env: { load: callee.load, tab } }).exports as Exports;
  expectTrap(() => ex3.afterDirect(PAGE), 'after a direct call into a bigger memory');
  expectTrap(() => ex3.afterIndirect(PAGE), 'after call_indirect into a bigger memory');
  expectTrap(() => ex3.afterDirectConst(), 'constant address after a direct call into a bigger memory');
  expectValue(() => ex3.afterDirect(PAGE - 1), 0, 'last byte of the caller');
});

// ------------------------------------------------------------------------------------------------ bulk memory

for (const i64 of [false, true]) {
  t(`bulk memory at the edges (${i64 ? 'i64' : 'i32'} memory): memory.fill / memory.copy / memory.init`, () => {
    const b = new ModuleBuilder();
    const AT = i64 ? T.i64 : T.i32;
    b.memory({ min: 1, max: 1, i64 }, 'mem');
    b.memory({ min: 1, max: 1, i64: !i64 }, 'other');
    const seg = b.data({ mode: 'passive', bytes: [1, 2, 3, 4] });
    const active = b.data({ mode: 'active', offset: i64 ? new Code().i64_const(8) : new Code().i32_const(8), bytes: [5, 6] });
    b.func([AT, T.i32, AT], [], (x) => x.local_get(0).local_get(1).local_get(2).memory_fill().end(), { export: 'fill' });
    b.func([AT, AT, AT], [], (x) => x.local_get(0).local_get(1).local_get(2).memory_copy().end(), { export: 'copy' });
    b.func([AT, T.i32, T.i32], [], (x) => x.local_get(0).local_get(1).local_get(2).memory_init(seg).end(), { export: 'init' });
    b.func([], [], (x) => x.data_drop(seg).end(), { export: 'drop' });
    b.func([AT, T.i32, T.i32], [], (x) => x.local_get(0).local_get(1).local_get(2).memory_init(active).end(), { export: 'initActive' });
    // copy between the two memories (mixed index types: n is i32)
    const OT = i64 ? T.i32 : T.i64;
    b.func([OT, AT, T.i32], [], (x) => x.local_get(0).local_get(1).local_get(2).memory_copy(1, 0).end(), { export: 'copyToOther' });
    b.func([AT, OT, T.i32], [], (x) => x.local_get(0).local_get(1).local_get(2).memory_copy(0, 1).end(), { export: 'copyFromOther' });
    // constant operands (another code path for the operands)
    const k = (x: Code, v: number | bigint) => (i64 ? x.i64_const(v) : x.i32_const(v));
    b.func([], [], (x) => { k(x, PAGE - 1); x.i32_const(0xee); k(x, 2); x.memory_fill().end(); }, { export: 'fillConstPast' });
    b.func([], [], (x) => { k(x, PAGE - 2); x.i32_const(0xee); k(x, 2); x.memory_fill().end(); }, { export: 'fillConstEnd' });
    const ex = new qb.Instance(new qb.Module(b.build()), {}).exports as Exports;
    const mem = ex.mem;
    const a = (v: number | bigint) => A(i64, v);
    const o = (v: number | bigint) => A(!i64, v);
    const L = PAGE;
    const bytes = () => new Uint8Array((mem as WebAssembly.Memory).buffer);
    const ok = (f: () => unknown, what: string) => expectValue(f, undefined, what);
    const trap = (f: () => unknown, what: string) => expectTrapNoWrite(mem, f, what);
    // fill
    ok(() => ex.fill(a(L), 0xaa, a(0)), 'fill n=0 at len');
    trap(() => ex.fill(a(L + 1), 0xaa, a(0)), 'fill n=0 at len+1');
    ok(() => ex.fill(a(L - 1), 0xab, a(1)), 'fill the last byte');
    assert.is(bytes()[L - 1], 0xab);
    trap(() => ex.fill(a(L - 1), 0xac, a(2)), 'fill 2 bytes at len-1');
    trap(() => ex.fill(a(L - 2), 0xac, a(3)), 'fill 3 bytes at len-2');
    ok(() => ex.fill(a(0), 0x01, a(L)), 'fill everything');
    trap(() => ex.fill(a(1), 0x02, a(L)), 'fill len bytes at 1');
    trap(() => ex.fill(a(-1), 0x02, a(1)), 'fill at the max address');
    trap(() => ex.fill(a(1), 0x02, a(-1)), 'fill a + n wraps to 0');
    trap(() => ex.fill(a(2), 0x02, a(-1)), 'fill a + n wraps to 1');
    if (i64) {
      trap(() => ex.fill(a(2n ** 63n), 0x02, a(2n ** 63n)), 'fill 2^63 + 2^63 wraps to 0');
      trap(() => ex.fill(a(2n ** 32n), 0x02, a(0)), 'fill n=0 at 2^32');
      trap(() => ex.fill(a(2n ** 64n - 1n), 0x02, a(0)), 'fill n=0 at 2^64-1');
    }
    trap(() => ex.fillConstPast(), 'fill with constant operands past the end');
    ok(() => ex.fillConstEnd(), 'fill with constant operands at the end');
    assert.is(bytes()[L - 1], 0xee);
    // copy
    bytes().set([9, 8, 7, 6], L - 4);
    bytes().set([1, 2, 3, 4], 0);
    ok(() => ex.copy(a(L), a(0), a(0)), 'copy n=0 dst at len');
    ok(() => ex.copy(a(0), a(L), a(0)), 'copy n=0 src at len');
    trap(() => ex.copy(a(L + 1), a(0), a(0)), 'copy n=0 dst at len+1');
    trap(() => ex.copy(a(0), a(L + 1), a(0)), 'copy n=0 src at len+1');
    ok(() => ex.copy(a(L - 4), a(0), a(4)), 'copy to the last 4 bytes');
    assert.equal(Array.from(bytes().subarray(L - 4)), [1, 2, 3, 4]);
    trap(() => ex.copy(a(L - 3), a(0), a(4)), 'copy dst one past');
    trap(() => ex.copy(a(0), a(L - 3), a(4)), 'copy src one past');
    trap(() => ex.copy(a(-1), a(0), a(1)), 'copy dst at max');
    trap(() => ex.copy(a(0), a(-1), a(1)), 'copy src at max');
    trap(() => ex.copy(a(1), a(0), a(-1)), 'copy n = max');
    ok(() => ex.copy(a(0), a(L - 4), a(4)), 'copy from the last 4 bytes');
    ok(() => ex.copy(a(2), a(0), a(4)), 'overlapping copy forward');
    assert.equal(Array.from(bytes().subarray(0, 6)), [1, 2, 1, 2, 3, 4]);
    ok(() => ex.copy(a(0), a(2), a(4)), 'overlapping copy backward');
    assert.equal(Array.from(bytes().subarray(0, 6)), [1, 2, 3, 4, 3, 4]);
    // copy between memories of different index types
    const other = new Uint8Array((ex.other as WebAssembly.Memory).buffer);
    ok(() => ex.copyToOther(o(L - 4), a(0), 4), 'copy to the other memory, last 4 bytes');
    assert.equal(Array.from(other.subarray(L - 4)), [1, 2, 3, 4]);
    trap(() => ex.copyToOther(o(L - 3), a(0), 4), 'copy to the other memory, one past');
    trap(() => ex.copyToOther(o(0), a(L - 3), 4), 'copy to the other memory, source one past');
    ok(() => ex.copyFromOther(a(L - 4), o(L - 4), 4), 'copy from the other memory');
    trap(() => ex.copyFromOther(a(L - 3), o(0), 4), 'copy from the other memory, dst one past');
    trap(() => ex.copyFromOther(a(0), o(L - 3), 4), 'copy from the other memory, src one past');
    trap(() => ex.copyFromOther(a(0), o(-1), 1), 'copy from the other memory, src at max');
    // init (segment of 4 bytes)
    ok(() => ex.init(a(L - 4), 0, 4), 'init the last 4 bytes');
    assert.equal(Array.from(bytes().subarray(L - 4)), [1, 2, 3, 4]);
    trap(() => ex.init(a(L - 3), 0, 4), 'init dst one past');
    ok(() => ex.init(a(L), 4, 0), 'init n=0 at len, segment end');
    trap(() => ex.init(a(L), 5, 0), 'init n=0 src past the segment');
    trap(() => ex.init(a(L + 1), 0, 0), 'init n=0 dst past len');
    trap(() => ex.init(a(0), 0, 5), 'init n past the segment');
    trap(() => ex.init(a(0), 1, 4), 'init src+n past the segment');
    trap(() => ex.init(a(0), -1, 1), 'init src at max');
    trap(() => ex.init(a(0), 1, -1), 'init src + n wraps');
    trap(() => ex.init(a(-1), 0, 1), 'init dst at max');
    if (i64) trap(() => ex.init(a(2n ** 32n), 0, 1), 'init dst at 2^32');
    // active segments are dropped by instantiation: only n = 0 (at offsets 0) is in bounds
    ok(() => ex.initActive(a(L), 0, 0), 'init n=0 from an active segment');
    trap(() => ex.initActive(a(0), 0, 1), 'init n=1 from an active (dropped) segment');
    trap(() => ex.initActive(a(0), 1, 0), 'init n=0 at offset 1 of an active (dropped) segment');
    ok(() => ex.drop(), 'data.drop');
    ok(() => ex.init(a(0), 0, 0), 'init n=0 after drop');
    ok(() => ex.init(a(L), 0, 0), 'init n=0 at len after drop');
    trap(() => ex.init(a(0), 0, 1), 'init n=1 after drop');
    trap(() => ex.init(a(0), 1, 0), 'init n=0 at segment offset 1 after drop');
  });
}

// ------------------------------------------------------------------------------------------------ tables

for (const i64 of [false, true]) {
  t(`tables at the edges (${i64 ? 'table64' : 'i32 table'}): table.get/set/fill/copy/init/grow and call_indirect`, () => {
    const b = new ModuleBuilder();
    const IT = i64 ? T.i64 : T.i32;
    const sig = b.type([], [T.i32]);
    const fs = [0, 1, 2, 3].map((k) => b.func([], [T.i32], (x) => x.i32_const(100 + k).end(), { export: `f${k}` }));
    b.table(T.funcref, { min: 3, max: 5, i64 }, 'tab');
    b.table(T.externref, { min: 2, max: 2, i64 }, 'ext');
    const activeSeg = b.elem({ mode: 'active', table: 0, offset: i64 ? new Code().i64_const(0) : new Code().i32_const(0), funcs: [fs[0], fs[1], fs[2]] });
    const seg = b.elem({ mode: 'passive', funcs: [fs[3], fs[2]] });
    const declSeg = b.elem({ mode: 'declarative', funcs: [fs[3]] });
    b.func([IT], [T.funcref], (x) => x.local_get(0).table_get(0).end(), { export: 'get' });
    b.func([IT], [], (x) => x.local_get(0).ref_func(fs[3]).table_set(0).end(), { export: 'set' });
    b.func([IT], [T.i32], (x) => x.local_get(0).call_indirect(sig, 0).end(), { export: 'call' });
    b.func([IT, IT], [], (x) => x.local_get(0).ref_func(fs[3]).local_get(1).table_fill(0).end(), { export: 'fill' });
    b.func([IT, IT, IT], [], (x) => x.local_get(0).local_get(1).local_get(2).table_copy(0, 0).end(), { export: 'copy' });
    b.func([IT, T.i32, T.i32], [], (x) => x.local_get(0).local_get(1).local_get(2).table_init(seg, 0).end(), { export: 'init' });
    b.func([IT], [IT], (x) => x.ref_null(T.funcref).local_get(0).table_grow(0).end(), { export: 'grow' });
    b.func([IT, T.i32, T.i32], [], (x) => x.local_get(0).local_get(1).local_get(2).table_init(activeSeg, 0).end(), { export: 'initActive' });
    b.func([IT, T.i32, T.i32], [], (x) => x.local_get(0).local_get(1).local_get(2).table_init(declSeg, 0).end(), { export: 'initDecl' });
    b.func([], [], (x) => x.elem_drop(seg).end(), { export: 'elemDrop' });
    b.func([], [IT], (x) => x.table_size(0).end(), { export: 'size' });
    b.func([IT], [T.externref], (x) => x.local_get(0).table_get(1).end(), { export: 'getExt' });
    b.func([IT, T.externref], [], (x) => x.local_get(0).local_get(1).table_set(1).end(), { export: 'setExt' });
    const k = (x: Code, v: number | bigint) => (i64 ? x.i64_const(v) : x.i32_const(v));
    b.func([], [T.i32], (x) => { k(x, 2).call_indirect(sig, 0).end(); }, { export: 'callConst2' });
    b.func([], [T.i32], (x) => { k(x, 3).call_indirect(sig, 0).end(); }, { export: 'callConst3' });
    if (i64) {
      b.func([], [T.i32], (x) => { x.i64_const(2n ** 32n + 2n).call_indirect(sig, 0).end(); }, { export: 'callConstWrap' });
      b.func([], [T.funcref], (x) => { x.i64_const(2n ** 32n + 1n).table_get(0).end(); }, { export: 'getConstWrap' });
    }
    const ex = new qb.Instance(new qb.Module(b.build()), {}).exports as Exports;
    const a = (v: number | bigint) => A(i64, v);
    const tab = ex.tab as WebAssembly.Table;
    const entries = () => Array.from({ length: Number(tab.length) }, (_, i) => tab.get((i64 ? BigInt(i) : i) as any));
    const trap = (f: () => unknown, what: string) => {
      const before = entries();
      expectTrap(f, what, TABLE_OOB);
      const after = entries();
      assert.is(after.length, before.length, `${what}: table length`);
      after.forEach((e, i) => assert.ok(e === before[i], `${what}: entry ${i} changed by a trapping operation`));
    };
    const ok = (f: () => unknown, what: string) => expectValue(f, undefined, what);
    assert.ok(ex.get(a(2)) === ex.f2, 'get last');
    trap(() => ex.get(a(3)), 'get one past');
    trap(() => ex.get(a(-1)), 'get max index');
    trap(() => ex.get(a(2n ** 31n)), 'get 2^31');
    if (i64) {
      trap(() => ex.get(a(2n ** 32n)), 'get 2^32');
      trap(() => ex.get(a(2n ** 32n + 1n)), 'get 2^32+1 (low half valid)');
      trap(() => ex.getConstWrap(), 'get const 2^32+1');
      trap(() => ex.get(a(2n ** 63n)), 'get 2^63');
    }
    expectValue(() => ex.callConst2(), 102, 'call_indirect const 2');
    expectValue(() => ex.call(a(2)), 102, 'call_indirect last');
    trap(() => ex.call(a(3)), 'call_indirect one past');
    trap(() => ex.callConst3(), 'call_indirect const one past');
    trap(() => ex.call(a(-1)), 'call_indirect max index');
    if (i64) {
      trap(() => ex.call(a(2n ** 32n + 2n)), 'call_indirect 2^32+2 (low half valid)');
      trap(() => ex.callConstWrap(), 'call_indirect const 2^32+2');
    }
    ok(() => ex.set(a(2)), 'set last');
    assert.ok(ex.get(a(2)) === ex.f3);
    trap(() => ex.set(a(3)), 'set one past');
    trap(() => ex.set(a(-1)), 'set max');
    // fill
    ok(() => ex.fill(a(3), a(0)), 'fill n=0 at len');
    trap(() => ex.fill(a(4), a(0)), 'fill n=0 at len+1');
    ok(() => ex.fill(a(2), a(1)), 'fill last');
    trap(() => ex.fill(a(2), a(2)), 'fill 2 at len-1');
    trap(() => ex.fill(a(1), a(-1)), 'fill n = max (wraps)');
    if (i64) trap(() => ex.fill(a(2n ** 63n), a(2n ** 63n)), 'fill 2^63 + 2^63');
    // copy
    ok(() => ex.copy(a(3), a(0), a(0)), 'copy n=0 dst len');
    ok(() => ex.copy(a(0), a(3), a(0)), 'copy n=0 src len');
    trap(() => ex.copy(a(4), a(0), a(0)), 'copy n=0 dst len+1');
    trap(() => ex.copy(a(0), a(4), a(0)), 'copy n=0 src len+1');
    ok(() => ex.copy(a(1), a(0), a(2)), 'copy to the end');
    assert.ok(ex.get(a(0)) === ex.f0 && ex.get(a(1)) === ex.f0 && ex.get(a(2)) === ex.f1, 'copy result');
    trap(() => ex.copy(a(2), a(0), a(2)), 'copy dst one past');
    trap(() => ex.copy(a(0), a(2), a(2)), 'copy src one past');
    trap(() => ex.copy(a(1), a(0), a(-1)), 'copy n max');
    // init (segment of 2)
    ok(() => ex.init(a(1), 0, 2), 'init to the end');
    assert.ok(ex.get(a(1)) === ex.f3 && ex.get(a(2)) === ex.f2);
    trap(() => ex.init(a(2), 0, 2), 'init dst one past');
    ok(() => ex.init(a(3), 2, 0), 'init n=0 at len and segment end');
    trap(() => ex.init(a(4), 0, 0), 'init n=0 dst past');
    trap(() => ex.init(a(0), 3, 0), 'init n=0 src past segment');
    trap(() => ex.init(a(0), 1, 2), 'init src+n past segment');
    trap(() => ex.init(a(0), 1, -1), 'init n max');
    // active and declarative segments are dropped: only n = 0 at offset 0 is in bounds
    ok(() => ex.initActive(a(3), 0, 0), 'table.init n=0 from an active segment');
    trap(() => ex.initActive(a(0), 0, 1), 'table.init n=1 from an active (dropped) segment');
    ok(() => ex.initDecl(a(0), 0, 0), 'table.init n=0 from a declarative segment');
    trap(() => ex.initDecl(a(0), 0, 1), 'table.init n=1 from a declarative segment');
    ok(() => ex.elemDrop(), 'elem.drop');
    ok(() => ex.init(a(3), 0, 0), 'table.init n=0 after elem.drop');
    trap(() => ex.init(a(0), 0, 1), 'table.init n=1 after elem.drop');
    // externref table
    const obj = { tag: 1 };
    ok(() => ex.setExt(a(1), obj), 'externref set last');
    assert.ok(ex.getExt(a(1)) === obj);
    expectTrap(() => ex.getExt(a(2)), 'externref get past', TABLE_OOB);
    expectTrap(() => ex.setExt(a(2), obj), 'externref set past', TABLE_OOB);
    if (i64) expectTrap(() => ex.getExt(a(2n ** 32n + 1n)), 'externref get 2^32+1', TABLE_OOB);
    // grow: the old end becomes valid (null), the new end traps
    expectValue(() => ex.size(), a(3), 'size');
    expectValue(() => ex.grow(a(1)), a(3), 'table.grow');
    expectValue(() => ex.get(a(3)), null, 'get the new last entry');
    trap(() => ex.get(a(4)), 'get past the new end');
    expectTrap(() => ex.call(a(3)), 'call_indirect a null entry', Number(process.versions.v8.split('.')[0]) >= 14 ? 'function signature mismatch' : 'null function or function signature mismatch');
    trap(() => ex.call(a(4)), 'call_indirect past the new end');
    ok(() => ex.set(a(3)), 'set the new last entry');
    expectValue(() => ex.call(a(3)), 103, 'call the new entry');
    expectValue(() => ex.grow(a(2)), a(-1), 'grow past max fails');
    expectValue(() => ex.grow(a(-1)), a(-1), 'grow by max fails');
    expectValue(() => ex.size(), a(4), 'size after failed grows');
    trap(() => ex.get(a(4)), 'end unchanged after failed grows');
    // grow from JS
    tab.grow((i64 ? 1n : 1) as any);
    expectValue(() => ex.get(a(4)), null, 'get entry added from JS');
    trap(() => ex.get(a(5)), 'past the end after JS grow');
    trap(() => ex.set(a(5)), 'set past the end after JS grow');
  });
}

t.run();
