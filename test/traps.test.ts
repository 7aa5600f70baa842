// Traps and errors: each trap kind's RuntimeError and message (compared with V8's, which Quickbeam's
// messages follow), float->int conversions at their exact boundaries, call_indirect failures, stack
// exhaustion (a RangeError, and the process keeps running wasm afterwards), wasm backtraces with names
// and byte offsets (compared with V8's for the same module), host exceptions propagating unchanged through
// wasm frames, JS -> wasm -> JS -> wasm nesting, and CompileError byte offsets.

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Code, ModuleBuilder, Op, FC, T, bitsF32, bitsF64, f32Bits, f64Bits } from './helpers/wasm-builder.js';
import { Exports, outcome, qb, qbInstance, show, showOutcome, v8Instance } from './helpers/engines.js';

const MSG = {
  unreachable: 'unreachable',
  div: 'divide by zero',
  rem: 'remainder by zero',
  overflow: 'divide result unrepresentable',
  conv: 'float unrepresentable in integer range',
  // (V8 14, Node 26, has one message for both cases)
  sig: Number(process.versions.v8.split('.')[0]) >= 14 ? 'function signature mismatch' : 'null function or function signature mismatch',
  table: 'table index is out of bounds',
  oob: 'memory access out of bounds',
  stack: 'Maximum call stack size exceeded',
};

function expectRuntimeError(f: () => unknown, message: string, what: string): Error {
  const o = outcome(f);
  assert.ok(o.kind !== 'value', `${what}: expected a trap, got ${showOutcome(o)}`);
  assert.ok(o.error instanceof qb.RuntimeError, `${what}: expected a quickbeam RuntimeError, got ${showOutcome(o)}`);
  assert.is((o.error as Error).name, 'RuntimeError', `${what}: name`);
  assert.is(o.message, message, `${what}: message`);
  return o.error as Error;
}

/** Same outcome on both engines: equal values (bit-exact for floats via show), or errors of the same class and message. */
function sameOutcome(q: () => unknown, v: () => unknown, what: string): void {
  const a = outcome(q), b = outcome(v);
  const cls = (o: ReturnType<typeof outcome>) => (o.kind === 'value' ? 'value' : o.kind);
  assert.is(cls(a), cls(b), `${what}: quickbeam ${showOutcome(a)}, V8 ${showOutcome(b)}`);
  if (a.kind === 'value') assert.is(show(a.value), show(b.value), `${what}: quickbeam ${show(a.value)}, V8 ${show(b.value)}`);
  else assert.is(a.message, b.message, `${what}: message`);
}

// ------------------------------------------------------------------------------------------------ basic traps

test('unreachable, div/rem by zero, INT_MIN / -1: RuntimeErrors with V8\'s messages, constant and dynamic operands', () => {
  const b = new ModuleBuilder();
  b.func([], [], (c) => c.unreachable().end(), { export: 'unreachable' });
  const ops: Array<[string, number, T]> = [
    ['i32.div_s', Op.i32_div_s, T.i32], ['i32.div_u', Op.i32_div_u, T.i32], ['i32.rem_s', Op.i32_rem_s, T.i32], ['i32.rem_u', Op.i32_rem_u, T.i32],
    ['i64.div_s', Op.i64_div_s, T.i64], ['i64.div_u', Op.i64_div_u, T.i64], ['i64.rem_s', Op.i64_rem_s, T.i64], ['i64.rem_u', Op.i64_rem_u, T.i64],
  ];
  const i32s = [0, 1, -1, 2, -2, 7, -7, 0x7fffffff, -0x80000000];
  const i64s = [0n, 1n, -1n, 2n, -2n, 7n, -7n, 0x7fffffffffffffffn, -0x8000000000000000n, 0x80000000n, -0x80000000n];
  const calls: Array<[string, unknown[], string]> = [];
  for (const [name, op, t] of ops) {
    b.func([t, t], [t], (c) => c.local_get(0).local_get(1).op(op).end(), { export: `${name}` });
    const vals: Array<number | bigint> = t === T.i32 ? i32s : i64s;
    const k = (c: Code, v: number | bigint) => (t === T.i32 ? c.i32_const(v) : c.i64_const(v));
    for (const x of vals) {
      for (const y of vals) calls.push([name, [x, y], `${name}(${show(x)}, ${show(y)})`]);
      // constant divisor / dividend
      const n1 = `${name}_cy_${String(x)}`;
      b.func([t], [t], (c) => { c.local_get(0); k(c, x).op(op).end(); }, { export: n1 });
      for (const y of vals) calls.push([n1, [y], `${name}(${show(y)}, const ${show(x)})`]);
      const n2 = `${name}_cc_${String(x)}`;
      b.func([], [t], (c) => { k(c, x); k(c, vals[(vals.indexOf(x as never) + 3) % vals.length]).op(op).end(); }, { export: n2 });
      calls.push([n2, [], `${name}(const, const) ${show(x)}`]);
    }
  }
  const bytes = b.build();
  const q = qbInstance(bytes), v = v8Instance(bytes);
  expectRuntimeError(() => q.unreachable(), MSG.unreachable, 'unreachable');
  sameOutcome(() => q.unreachable(), () => v.unreachable(), 'unreachable');
  let trapsSeen = 0;
  for (const [name, args, what] of calls) {
    sameOutcome(() => q[name](...args), () => v[name](...args), what);
    const o = outcome(() => q[name](...args));
    if (o.kind !== 'value') {
      trapsSeen++;
      assert.ok(o.error instanceof qb.RuntimeError, `${what}: RuntimeError`);
      assert.ok([MSG.div, MSG.rem, MSG.overflow].includes(o.message!), `${what}: ${o.message}`);
    }
  }
  // the specific cases, stated explicitly
  expectRuntimeError(() => q['i32.div_s'](1, 0), MSG.div, 'i32.div_s by 0');
  expectRuntimeError(() => q['i64.rem_u'](1n, 0n), MSG.rem, 'i64.rem_u by 0');
  expectRuntimeError(() => q['i32.div_s'](-0x80000000, -1), MSG.overflow, 'i32 INT_MIN / -1');
  expectRuntimeError(() => q['i64.div_s'](-(2n ** 63n), -1n), MSG.overflow, 'i64 INT_MIN / -1');
  assert.is(q['i32.rem_s'](-0x80000000, -1), 0, 'INT_MIN rem -1 = 0');
  assert.is(q['i64.rem_s'](-(2n ** 63n), -1n), 0n, 'INT64_MIN rem -1 = 0');
  assert.ok(trapsSeen > 100, `traps seen ${trapsSeen}`);
});

// ------------------------------------------------------------------------------------------------ conversions

const f32buf = new Float32Array(1), u32buf = new Uint32Array(f32buf.buffer);
/** The f32 neighbours of a value that is exactly representable in f32. */
function f32Next(x: number, dir: 1 | -1): number {
  f32buf[0] = x;
  if (x === 0) { u32buf[0] = dir > 0 ? 1 : 0x80000001; return f32buf[0]; }
  u32buf[0] += (x > 0) === (dir > 0) ? 1 : -1;
  return f32buf[0];
}
function f64Next(x: number, dir: 1 | -1): number {
  if (x === 0) return dir * Number.MIN_VALUE;
  const b = f64Bits(x);
  return bitsF64((x > 0) === (dir > 0) ? b + 1n : b - 1n);
}

interface Trunc { name: string; op: number; sat: boolean; f64: boolean; i64: boolean; signed: boolean }
const TRUNCS: Trunc[] = [];
for (const sat of [false, true]) {
  for (const i64 of [false, true]) {
    for (const f64 of [false, true]) {
      for (const signed of [true, false]) {
        const name = `${i64 ? 'i64' : 'i32'}.trunc${sat ? '_sat' : ''}_${f64 ? 'f64' : 'f32'}_${signed ? 's' : 'u'}`;
        const key = name.replace(/\./g, '_') as keyof typeof Op;
        const op = sat
          ? FC[name.replace(/\./g, '_') as keyof typeof FC]
          : (Op[key] as number);
        TRUNCS.push({ name, op, sat, f64, i64, signed });
      }
    }
  }
}

/** Spec result of a truncation: the integer (BigInt), or 'trap'. */
function truncSpec(tr: Trunc, x: number): bigint | 'trap' {
  const bits = tr.i64 ? 64 : 32;
  const min = tr.signed ? -(2n ** BigInt(bits - 1)) : 0n;
  const max = tr.signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
  if (Number.isNaN(x)) return tr.sat ? 0n : 'trap';
  if (!Number.isFinite(x)) return tr.sat ? (x > 0 ? max : min) : 'trap';
  const t = BigInt(Math.trunc(x));
  if (t < min) return tr.sat ? min : 'trap';
  if (t > max) return tr.sat ? max : 'trap';
  return t;
}

test('float -> int truncation: every trapping and saturating op at its exact boundary values', () => {
  const b = new ModuleBuilder();
  const cases: Array<{ tr: Trunc; x: number; bits: number | bigint; name: string }> = [];
  let fn = 0;
  const nans32 = [0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa12345, 0xff812345];
  const nans64 = [0x7ff8000000000000n, 0xfff8000000000000n, 0x7ff0000000000001n, 0x7ff4000012345678n];
  for (const tr of TRUNCS) {
    const bits = tr.i64 ? 64 : 32;
    const lo = tr.signed ? -(2 ** (bits - 1)) : 0;
    const hi = tr.signed ? 2 ** (bits - 1) : 2 ** bits; // exclusive upper bound; a power of two: exact in f32/f64
    const next = tr.f64 ? f64Next : f32Next;
    const round = tr.f64 ? (x: number) => x : Math.fround;
    const xs = new Set<number>([
      0, -0, 1, -1, 0.5, -0.5, 0.9999999, -0.9999999, 1.5, -1.5,
      hi, next(hi, -1), next(hi, 1), hi * 2,
      round(lo), next(round(lo), -1), next(round(lo), 1), lo * 2 - 4,
      round(lo - 1), next(round(lo - 1), 1), next(round(lo - 1), -1),
      -1, next(-1, 1), next(-1, -1), next(0, 1), next(0, -1),
      Infinity, -Infinity, tr.f64 ? Number.MAX_VALUE : 3.4028234663852886e38, tr.f64 ? -Number.MAX_VALUE : -3.4028234663852886e38,
      2 ** 31 - 0.5, 2 ** 32 - 0.5, -(2 ** 31) - 0.5, -(2 ** 31) - 1, 2 ** 52 + 0.5,
    ].map(round));
    const xsBits: Array<number | bigint> = [...xs].map((x) => (tr.f64 ? f64Bits(x) : f32Bits(x)));
    xsBits.push(...(tr.f64 ? nans64 : nans32));
    const FT = tr.f64 ? T.f64 : T.f32;
    const IT = tr.f64 ? T.i64 : T.i32;
    const RT = tr.i64 ? T.i64 : T.i32;
    const emitOp = (c: Code) => (tr.sat ? c.fc(tr.op) : c.op(tr.op));
    // dynamic: float bits in, reinterpret, convert
    const dyn = `d${fn++}`;
    b.func([IT], [RT], (c) => { c.local_get(0).op(tr.f64 ? Op.f64_reinterpret_i64 : Op.f32_reinterpret_i32); emitOp(c).end(); }, { export: dyn });
    // the value in a register with other values live (all registers busy)
    const busy = `d${fn++}`;
    b.func([IT], [RT], (c) => {
      for (let k = 0; k < 16; k++) c.local_get(0).op(tr.f64 ? Op.f64_reinterpret_i64 : Op.f32_reinterpret_i32);
      c.local_get(0).op(tr.f64 ? Op.f64_reinterpret_i64 : Op.f32_reinterpret_i32);
      emitOp(c);
      c.local_set(1);
      for (let k = 0; k < 16; k++) c.drop();
      c.local_get(1).end();
    }, { export: busy, locals: [RT] });
    void FT;
    for (const xb of xsBits) {
      const x = tr.f64 ? bitsF64(xb as bigint) : bitsF32(Number(xb));
      const arg = tr.f64 ? BigInt.asIntN(64, xb as bigint) : Number(xb) | 0;
      cases.push({ tr, x, bits: arg, name: dyn }, { tr, x, bits: arg, name: busy });
      // constant operand
      const cn = `c${fn++}`;
      b.func([], [RT], (c) => { if (tr.f64) c.f64_bits(xb as bigint); else c.f32_bits(Number(xb)); emitOp(c).end(); }, { export: cn });
      cases.push({ tr, x, bits: arg, name: cn });
    }
  }
  const bytes = b.build();
  const q = qbInstance(bytes), v = v8Instance(bytes);
  let traps = 0;
  for (const { tr, x, bits, name } of cases) {
    const args = name.startsWith('c') ? [] : [bits];
    const what = `${tr.name}(${show(x)} = bits ${show(bits)}) via ${name.startsWith('c') ? 'constant' : 'parameter'}`;
    sameOutcome(() => q[name](...args), () => v[name](...args), what);
    const spec = truncSpec(tr, x);
    if (spec === 'trap') {
      traps++;
      expectRuntimeError(() => q[name](...args), MSG.conv, what);
    } else {
      const got = q[name](...args);
      const want = tr.i64 ? BigInt.asIntN(64, spec) : Number(BigInt.asIntN(32, spec));
      assert.is(show(got), show(want), `${what}: spec says ${show(want)}`);
    }
  }
  assert.ok(traps > 200, `traps ${traps}`);
});

// ------------------------------------------------------------------------------------------------ call_indirect

test('call_indirect: null entry, signature mismatch, out of bounds; structurally equal types match across modules', () => {
  const build = () => {
    const b = new ModuleBuilder();
    const tI = b.type([T.i32], [T.i32]);
    const tI2 = b.typeDistinct([T.i32], [T.i32]); // a second, structurally equal type index
    const tF = b.type([T.f64], [T.f64]);
    const tV = b.type([], []);
    const inc = b.func([T.i32], [T.i32], (c) => c.local_get(0).i32_const(1).op(Op.i32_add).end(), { export: 'inc' });
    const neg = b.func([T.f64], [T.f64], (c) => c.local_get(0).op(Op.f64_neg).end(), { export: 'neg' });
    const nop = b.func([], [], (c) => c.end(), { export: 'nop' });
    b.table(T.funcref, { min: 5 }, 'tab');
    b.elem({ mode: 'active', offset: new Code().i32_const(0), funcs: [inc, neg, nop] }); // 3, 4: null
    b.func([T.i32, T.i32], [T.i32], (c) => c.local_get(1).local_get(0).call_indirect(tI).end(), { export: 'callI' });
    b.func([T.i32, T.i32], [T.i32], (c) => c.local_get(1).local_get(0).call_indirect(tI2).end(), { export: 'callI2' });
    b.func([T.i32, T.f64], [T.f64], (c) => c.local_get(1).local_get(0).call_indirect(tF).end(), { export: 'callF' });
    b.func([T.i32], [], (c) => c.local_get(0).call_indirect(tV).end(), { export: 'callV' });
    return b.build();
  };
  const bytes = build();
  const q = qbInstance(bytes), v = v8Instance(bytes);
  for (const i of [0, 1, 2, 3, 4, 5, -1]) {
    sameOutcome(() => q.callI(i, 41), () => v.callI(i, 41), `callI(${i})`);
    sameOutcome(() => q.callI2(i, 41), () => v.callI2(i, 41), `callI2(${i})`);
    sameOutcome(() => q.callF(i, 2.5), () => v.callF(i, 2.5), `callF(${i})`);
    sameOutcome(() => q.callV(i), () => v.callV(i), `callV(${i})`);
  }
  assert.is(q.callI(0, 41), 42);
  assert.is(q.callI2(0, 41), 42, 'a structurally equal type index matches');
  expectRuntimeError(() => q.callI(1, 1), MSG.sig, 'signature mismatch');
  expectRuntimeError(() => q.callI(3, 1), MSG.sig, 'null entry');
  expectRuntimeError(() => q.callI(5, 1), MSG.table, 'index = table size');
  expectRuntimeError(() => q.callI(-1, 1), MSG.table, 'index 2^32-1');
  // A function of another instance (another module with its own type section) in the table.
  const q2 = qbInstance(bytes);
  (q.tab as WebAssembly.Table).set(3, q2.inc);
  assert.is(q.callI(3, 1), 2, 'a function from another module with an equal type');
  (q.tab as WebAssembly.Table).set(3, q2.neg);
  expectRuntimeError(() => q.callI(3, 1), MSG.sig, 'foreign function of another type');
  assert.is(q.callF(3, 1.5), -1.5);
});

// ------------------------------------------------------------------------------------------------ stack

test('stack exhaustion: RangeError "Maximum call stack size exceeded", and wasm keeps working afterwards', () => {
  const bytes2 = (() => {
    const m = new ModuleBuilder();
    const js = m.importFunc('env', 'js', [T.i32], [T.i32]);
    m.func([T.i32], [T.i32], (c) => c.local_get(0).i32_const(1).op(Op.i32_add).call(js).end(), { export: 'pingpong' });
    m.func([T.i32], [T.i32], (c) => c.local_get(0).i32_const(7).op(Op.i32_mul).end(), { export: 'ok' });
    return m.build();
  })();
  const b1 = new ModuleBuilder();
  const s1 = b1.nextFuncIndex();
  b1.func([T.i32], [T.i32], (c) => c.local_get(0).i32_const(1).op(Op.i32_add).call(s1).end(), { export: 'forever', name: 'forever' });
  const big1 = b1.nextFuncIndex();
  b1.func([T.i32], [T.i32], (c) => c.local_get(0).local_set(19999).local_get(19999).i32_const(1).op(Op.i32_add).call(big1).end(),
    { export: 'foreverBig', locals: new Array(20000).fill(T.i32) });
  const d1 = b1.nextFuncIndex();
  b1.func([T.i32], [T.i32], (c) => c.local_get(0).op(Op.i32_eqz).if_(T.i32).i32_const(0).else_()
    .local_get(0).i32_const(1).op(Op.i32_sub).call(d1).i32_const(1).op(Op.i32_add).end().end(), { export: 'depth' });
  const q = qbInstance(b1.build());
  for (let round = 0; round < 3; round++) {
    for (const name of ['forever', 'foreverBig']) {
      const o = outcome(() => q[name](0));
      assert.is(o.kind, 'RangeError', `${name} round ${round}: ${showOutcome(o)}`);
      assert.is(o.message, MSG.stack);
      assert.ok(o.error instanceof RangeError);
      assert.not.ok(o.error instanceof qb.RuntimeError, 'stack exhaustion is a RangeError, not a RuntimeError');
      // and wasm still works, including deep (but bounded) recursion
      assert.is(q.depth(1000), 1000);
    }
  }
  const st = outcome(() => q.forever(0));
  assert.match(String((st.error as Error).stack), /forever \(wasm-function\[0\]:0x[0-9a-f]+\)/, 'wasm frames in the backtrace');
  // wasm -> JS -> wasm -> JS ... until something runs out of stack: a RangeError, whoever throws it
  let ex: Exports = {};
  ex = qbInstance(bytes2, { env: { js: (n: number) => ex.pingpong(n) } });
  for (let round = 0; round < 2; round++) {
    const o = outcome(() => ex.pingpong(0));
    assert.is(o.kind, 'RangeError', `pingpong round ${round}: ${showOutcome(o)}`);
    assert.is(o.message, MSG.stack);
    assert.is(ex.ok(6), 42, 'wasm runs after a mixed JS/wasm stack overflow');
    assert.is(q.depth(500), 500);
  }
});

// ------------------------------------------------------------------------------------------------ backtraces

/** `name (wasm-function[N]:0xOFF)` / `wasm-function[N]:0xOFF` pairs from a stack string (V8 or quickbeam format). */
function wasmFrames(stack: string): string[] {
  const out: string[] = [];
  for (const line of stack.split('\n')) {
    const m = /^\s*at (?:(\S+) \()?(?:wasm:\/\/wasm\/[0-9a-f]+:)?(wasm-function\[\d+\]:0x[0-9a-f]+)\)?$/.exec(line);
    if (m) out.push(m[1] ? `${m[1]} ${m[2]}` : m[2]);
  }
  return out;
}

test('backtraces: wasm frames with name-section names and the module byte offset of each trapping / calling instruction', () => {
  const b = new ModuleBuilder();
  const host = b.importFunc('env', 'host', [], [], 'host');
  b.memory({ min: 1 });
  b.table(T.funcref, { min: 1 });
  const sig = b.type([T.i32], [T.i32]);
  // kinds of trapping instruction, each preceded by a few others so the offset is not the body start
  const kinds: Array<[string, (c: Code) => Code]> = [
    ['unreachable', (c) => c.mark('trap').unreachable()],
    ['load', (c) => c.local_get(0).mark('trap').mem(Op.i32_load, 8)],
    ['store', (c) => c.local_get(0).i64_const(1).mark('trap').mem(Op.i64_store, 3).i32_const(0)],
    ['div', (c) => c.i32_const(1).local_get(0).i32_const(0x10000).op(Op.i32_sub).mark('trap').op(Op.i32_div_u)],
    ['trunc', (c) => c.f64_const(1e300).mark('trap').op(Op.i32_trunc_f64_s)],
    ['indirect', (c) => c.i32_const(0).i32_const(0).mark('trap').call_indirect(sig)],
    ['table', (c) => c.local_get(0).mark('trap').table_get(0).ref_is_null()],
  ];
  const leaves: number[] = [];
  for (const [k, body] of kinds) {
    // The trailing division adds a later out-of-line trap site, so the trapping one is not the function's
    // last (see the known-bug test below for that case).
    leaves.push(b.func([T.i32], [T.i32], (c) => {
      c.nop().nop(); body(c);
      c.drop().local_get(0).local_get(0).op(Op.i32_div_u).end();
    }, { name: `leaf_${k}` }));
  }
  // middle(i): calls leaf i through a br_table-free chain of ifs; unnamed middle layer to check nameless frames
  const mids = leaves.map((leaf, k) => b.func([T.i32], [T.i32], (c) => c.local_get(0).mark('call').call(leaf).end(), k % 2 ? { name: `mid_${k}` } : {}));
  const tops = mids.map((mid, k) => b.func([T.i32], [T.i32], (c) => c.i32_const(7).drop().local_get(0).mark('call').call(mid).end(), { export: `top${k}`, name: `top_${k}` }));
  // a trap below a host call frame: the host function calls another export that traps
  b.func([], [], (c) => c.mark('call').call(host).end(), { export: 'viaHost', name: 'viaHost' });
  const bytes = b.build();
  let q: Exports = {}, v: Exports = {};
  q = qbInstance(bytes, { env: { host: () => q.top0(0x10000) } });
  v = v8Instance(bytes, { env: { host: () => v.top0(0x10000) } });
  kinds.forEach(([k], i) => {
    const arg = k === 'load' || k === 'store' ? 0x10000 - 4 : 0x10000;
    const eq = outcome(() => q[`top${i}`](arg));
    const ev = outcome(() => v[`top${i}`](arg));
    assert.ok(eq.error instanceof qb.RuntimeError, `${k}: ${showOutcome(eq)}`);
    const fq = wasmFrames(String((eq.error as Error).stack));
    const fv = wasmFrames(String((ev.error as Error).stack));
    const hex = (n: number) => `0x${n.toString(16)}`;
    const expected = [
      `leaf_${k} wasm-function[${leaves[i]}]:${hex(b.offsetOf(leaves[i], 'trap'))}`,
      `${i % 2 ? `mid_${i} ` : ''}wasm-function[${mids[i]}]:${hex(b.offsetOf(mids[i], 'call'))}`,
      `top_${i} wasm-function[${tops[i]}]:${hex(b.offsetOf(tops[i], 'call'))}`,
    ];
    assert.equal(fq, expected, `${k}: quickbeam frames\n${(eq.error as Error).stack}`);
    assert.equal(fv, expected, `${k}: V8 frames (test self-check)`);
    // the wasm frames come first, above the JS caller
    const lines = String((eq.error as Error).stack).split('\n');
    assert.is(lines[0], `RuntimeError: ${eq.message}`);
    assert.match(lines[1], /^\s+at leaf_/);
    // Quickbeam's exact line format
    assert.ok(lines.includes(`    at leaf_${k} (wasm-function[${leaves[i]}]:${hex(b.offsetOf(leaves[i], 'trap'))})`), lines.slice(0, 5).join('\n'));
  });
  // below a host frame: the innermost wasm frames are listed
  const eh = outcome(() => q.viaHost());
  assert.ok(eh.error instanceof qb.RuntimeError);
  const fh = wasmFrames(String((eh.error as Error).stack));
  assert.is(fh[0], `leaf_unreachable wasm-function[${leaves[0]}]:0x${b.offsetOf(leaves[0], 'trap').toString(16)}`);
  assert.ok(fh.length >= 3, fh.join('\n'));
});

/**
 * Known bug (TODO, src/api/module.ts symbolize): a trap whose out-of-line trap site is the last code of its
 * function has a return address equal to the next function's start, and is attributed to the next function.
 * Runs only with QB_KNOWN_BUGS=1 until fixed.
 */
test('backtraces: a trap at the last out-of-line trap site of a function is attributed to that function', () => {
  const b = new ModuleBuilder();
  b.memory({ min: 1 });
  const leaf = b.func([T.i32], [T.i32], (c) => c.local_get(0).mark('trap').mem(Op.i32_load).end(), { name: 'leaf' });
  const next = b.func([], [], (c) => c.end(), { name: 'next' });
  b.func([T.i32], [T.i32], (c) => c.local_get(0).mark('call').call(leaf).end(), { export: 'top', name: 'top' });
  void next;
  const bytes = b.build();
  const q = qbInstance(bytes), v = v8Instance(bytes);
  const eq = outcome(() => q.top(0x10000)), ev = outcome(() => v.top(0x10000));
  const expected = [`leaf wasm-function[${leaf}]:0x${b.offsetOf(leaf, 'trap').toString(16)}`, `top wasm-function[2]:0x${b.offsetOf(2, 'call').toString(16)}`];
  assert.equal(wasmFrames(String((ev.error as Error).stack)), expected, 'V8 (self-check)');
  assert.equal(wasmFrames(String((eq.error as Error).stack)), expected, String((eq.error as Error).stack));
  // The same for stack exhaustion in a function whose only trap site is the stack check.
  const r = new ModuleBuilder();
  const self = r.nextFuncIndex();
  r.func([], [], (c) => c.call(self).end(), { export: 'forever', name: 'forever' });
  r.func([], [], (c) => c.end(), { name: 'after' });
  const so = outcome(() => qbInstance(r.build()).forever());
  assert.is(so.kind, 'RangeError');
  const frames = wasmFrames(String((so.error as Error).stack));
  assert.ok(frames.length > 0 && frames.every((f) => f.startsWith('forever ')), frames.slice(0, 3).join('\n'));
});

// ------------------------------------------------------------------------------------------------ host exceptions

test('a JS exception thrown by an import propagates unchanged (same object) through several wasm frames', () => {
  const b = new ModuleBuilder();
  const thrower = b.importFunc('env', 'thrower', [T.i32], [T.i32]);
  const f1 = b.func([T.i32], [T.i32], (c) => c.local_get(0).call(thrower).i32_const(1).op(Op.i32_add).end());
  const f2 = b.func([T.i32], [T.i32], (c) => c.i32_const(5).local_get(0).call(f1).op(Op.i32_mul).end());
  b.func([T.i32], [T.i32], (c) => c.local_get(0).call(f2).end(), { export: 'f3' });
  b.func([], [T.i32], (c) => c.i32_const(3).end(), { export: 'ok' });
  const bytes = b.build();
  let toThrow: unknown;
  const q = qbInstance(bytes, { env: { thrower: (x: number) => { if (x === 99) throw toThrow; return x; } } });
  assert.is(q.f3(4), 25);
  const err = new Error('boom');
  const values: unknown[] = [err, { tag: 'obj' }, undefined, null, 42, 'str', Symbol('s'), 10n, new TypeError('t'), new qb.RuntimeError('fake')];
  for (const v of values) {
    toThrow = v;
    let caught: unknown = '<nothing>';
    try {
      q.f3(99);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught === v, `thrown ${String(v)}: caught ${String(caught)}`);
    assert.is(q.ok(), 3, 'wasm works after the exception');
    assert.is(q.f3(4), 25);
  }
  assert.is(err.stack!.split('\n')[0], 'Error: boom', 'the thrown error is not rewritten');
});

test('JS -> wasm -> JS -> wasm: a trap in the innermost wasm propagates out, or is caught by the JS in between', () => {
  const b = new ModuleBuilder();
  const js = b.importFunc('env', 'js', [T.i32, T.i64, T.f64], [T.i32]);
  b.memory({ min: 1 });
  // outer(a, b, c): keeps values live around the import call
  b.func([T.i32, T.i64, T.f64], [T.i32], (c) => {
    c.local_get(0).i32_const(3).op(Op.i32_mul);
    c.local_get(0).local_get(1).local_get(2).call(js);
    c.op(Op.i32_add);
    c.local_get(1).op(Op.i32_wrap_i64).op(Op.i32_add);
    c.end();
  }, { export: 'outer', name: 'outer' });
  // inner(x): traps when x < 0 (memory access), else returns x * 2 through several args
  b.func([T.i32, T.i64, T.f64], [T.i32], (c) => {
    c.local_get(0).i32_const(0).op(Op.i32_lt_s).if_().local_get(0).mem(Op.i32_load).drop().end();
    c.local_get(0).i32_const(2).op(Op.i32_mul).local_get(1).op(Op.i32_wrap_i64).op(Op.i32_add).end();
  }, { export: 'inner', name: 'inner' });
  const bytes = b.build();
  let mode = 'propagate';
  let inst: Exports = {};
  let innerErr: unknown = null;
  const js_ = (a: number, b2: bigint, c: number) => {
    if (mode === 'propagate') return inst.inner(-a, b2 * 2n, c);
    if (mode === 'catch') {
      try {
        return inst.inner(-a, b2, c);
      } catch (e) {
        innerErr = e;
        return inst.inner(a + 100, 7n, c / 2) + 1000; // a nested call after the trap, different arguments
      }
    }
    return inst.inner(a, b2 + 1n, c);
  };
  inst = qbInstance(bytes, { env: { js: js_ } });
  let vinst: Exports = {};
  vinst = v8Instance(bytes, { env: { js: (a: number, b2: bigint, c: number) => vinst.inner(a, b2 + 1n, c) } });
  mode = 'plain';
  for (const [a, bb, c] of [[1, 2n, 3.5], [7, -5n, -1], [1000, 2n ** 40n, 0]] as Array<[number, bigint, number]>) {
    assert.is(inst.outer(a, bb, c), vinst.outer(a, bb, c), `plain nesting ${a}`);
  }
  mode = 'propagate';
  const e = expectRuntimeError(() => inst.outer(5, 1n, 1), MSG.oob, 'trap in the innermost wasm');
  assert.match(String(e.stack), /at inner \(wasm-function\[\d+\]:0x[0-9a-f]+\)/);
  // the same error object as the inner entry raised
  mode = 'catch';
  innerErr = null;
  const r = inst.outer(5, 9n, 2);
  assert.ok(innerErr instanceof qb.RuntimeError, 'the JS in between saw the inner trap');
  assert.is((innerErr as Error).message, MSG.oob);
  // 5*3 + (inner(105, 7) + 1000 = 105*2 + 7 + 1000) + 9
  assert.is(r, 15 + 105 * 2 + 7 + 1000 + 9, 'the outer wasm continued with its live values intact');
  let seen: unknown = null;
  mode = 'propagate';
  try { inst.outer(5, 1n, 1); } catch (x) { seen = x; }
  const again = outcome(() => inst.outer(5, 1n, 1));
  assert.ok(seen instanceof qb.RuntimeError && again.error instanceof qb.RuntimeError);
  // identity: the error the inner entry threw is the one the outer JS gets
  let innerThrown: unknown = null;
  const inst2: Exports = qbInstance(bytes, {
    env: { js: (a: number, b2: bigint, c: number) => { try { return inst2.inner(-a, b2, c); } catch (x) { innerThrown = x; throw x; } } },
  });
  let outerCaught: unknown = null;
  try { inst2.outer(1, 1n, 1); } catch (x) { outerCaught = x; }
  assert.ok(innerThrown !== null && outerCaught === innerThrown, 'rethrown through the outer wasm frames unchanged');
});

// ------------------------------------------------------------------------------------------------ CompileError

test('CompileError: class, name and the byte offset of the problem (compared with V8\'s @+offset)', () => {
  const cases: Array<[string, Uint8Array, number | null]> = [];
  // body errors at marked instructions
  const mk = (what: string, body: (c: Code) => unknown, params: T[] = [], results: T[] = []) => {
    const b = new ModuleBuilder();
    b.memory({ min: 1 });
    const f = b.func(params, results, (c) => { c.nop(); body(c); });
    cases.push([what, b.build(), b.offsetOf(f, 'bad')]);
  };
  mk('illegal opcode', (c) => c.mark('bad').op(0xff).end());
  mk('type mismatch', (c) => c.i64_const(1).mark('bad').op(Op.i32_eqz).drop().end());
  mk('unknown local', (c) => c.mark('bad').local_get(5).drop().end());
  mk('unknown function', (c) => c.mark('bad').call(9).end());
  mk('unknown global', (c) => c.mark('bad').global_get(0).drop().end());
  mk('alignment too large', (c) => c.i32_const(0).mark('bad').mem(Op.i32_load, 0, 0, 3).drop().end());
  mk('br to unknown label', (c) => c.mark('bad').br(3).end());
  mk('else without if', (c) => c.mark('bad').else_().end());
  mk('missing result', (c) => c.mark('bad').end(), [], [T.i32]);
  mk('too many values at end', (c) => c.i32_const(1).mark('bad').end());
  mk('select type mismatch', (c) => c.i32_const(1).i64_const(2).i32_const(0).mark('bad').select().drop().end());
  const q: Array<[string, CompileErrorLike]> = [];
  type CompileErrorLike = { offset?: number; message: string; name: string };
  for (const [what, bytes, at] of cases) {
    const o = outcome(() => new qb.Module(bytes));
    assert.ok(o.error instanceof qb.CompileError, `${what}: ${showOutcome(o)}`);
    const e = o.error as CompileErrorLike;
    assert.is(e.name, 'CompileError');
    assert.is(qb.validate(bytes), false, `${what}: validate`);
    const ov = outcome(() => new WebAssembly.Module(bytes as BufferSource));
    assert.is(ov.kind, 'CompileError', `${what}: V8 accepts the module?`);
    const vAt = /@\+(\d+)/.exec(ov.message!);
    // The offset is the marked (consuming) instruction's; V8 sometimes reports the operand's producer
    // instead (type mismatches), which is accepted too.
    const ok = e.offset === at || (vAt !== null && e.offset === Number(vAt[1]));
    assert.ok(ok, `${what}: quickbeam offset ${e.offset}, V8 @+${vAt?.[1]}, mark ${at}: ${e.message}`);
    assert.ok(e.message.endsWith(`(at byte offset ${e.offset})`), `${what}: ${e.message}`);
    q.push([what, e]);
  }
  // module-level damage
  const good = (() => { const b = new ModuleBuilder(); b.func([], [], (c) => c.end(), { export: 'f' }); return b.build(); })();
  const damaged: Array<[string, (u: Uint8Array) => Uint8Array]> = [
    ['bad magic', (u) => { const x = u.slice(); x[1] = 0x62; return x; }],
    ['bad version', (u) => { const x = u.slice(); x[4] = 2; return x; }],
    ['truncated', (u) => u.slice(0, u.length - 3)],
    ['empty', () => new Uint8Array(0)],
    ['section size past the end', (u) => { const x = u.slice(); x[9] = 0x7f; return x; }],
    ['unknown section id', (u) => { const x = u.slice(); x[8] = 0x33; return x; }],
  ];
  for (const [what, damage] of damaged) {
    const bytes = damage(good);
    const o = outcome(() => new qb.Module(bytes));
    assert.ok(o.error instanceof qb.CompileError, `${what}: ${showOutcome(o)}`);
    const ov = outcome(() => new WebAssembly.Module(bytes as BufferSource));
    assert.is(ov.kind, 'CompileError', `${what}: V8`);
    const e = o.error as CompileErrorLike;
    assert.ok(typeof e.offset === 'number' && e.offset >= 0 && e.offset <= bytes.length, `${what}: offset ${e.offset}`);
    // Module-level errors: V8 and Quickbeam may point at different bytes of the same field / section header.
    const vAt = /@\+(\d+)/.exec(ov.message!);
    if (vAt) {
      const v = Number(vAt[1]);
      assert.ok(Math.abs(e.offset! - v) <= 2, `${what}: quickbeam ${e.offset} (${e.message}), V8 ${ov.message}`);
    }
  }
  // async API
  return qb.compile(cases[0][1]).then(
    () => assert.unreachable('compile() resolved for a malformed module'),
    (e: unknown) => assert.ok(e instanceof qb.CompileError),
  );
});

test.run();
