// Differential codegen checks: a few hundred seeded random expressions per result type (i32, i64, f32, f64)
// over every numeric operator, with edge-value constants and parameters (0, -1, INT_MIN/MAX, NaNs with
// payloads, ±0, ±inf, denormals), select / if / fused compares, local.tee into locals still being read; run
// on Quickbeam and on Node's WebAssembly and compared bit-exactly (floats are returned reinterpreted as
// integers). NaN results are judged by the spec rules, tracked by a small reference model of the operators:
// a NaN produced by arithmetic is a canonical NaN when every NaN input was canonical, else an arithmetic NaN
// (quiet bit set); abs/neg/copysign/reinterpret/select/locals keep NaN bits exactly. The same model predicts
// traps, and must agree with V8 (a self-check of the test).

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Code, FC, ModuleBuilder, Op, T, bitsF32, bitsF64, f32Bits, f64Bits } from './helpers/wasm-builder.js';
import { Exports, outcome, prng, qbInstance, show, v8Instance } from './helpers/engines.js';

type Ty = 'i32' | 'i64' | 'f32' | 'f64';
const WT: Record<Ty, T> = { i32: T.i32, i64: T.i64, f32: T.f32, f64: T.f64 };

// ------------------------------------------------------------------------------------------------ values

/** A NaN whose exact bits may be unknown: `bits` (full, with sign) when known, else its class. */
interface NanInfo { bits: bigint | null; canonical: boolean; sign: 0 | 1 | null }
interface FVal { v: number; nan: NanInfo | null }
type Val = number | bigint | FVal; // i32: int32 number; i64: signed bigint; floats: FVal

class Trap { constructor(readonly message: string) {} }
class Unknowable {}

const CANON32 = 0x7fc00000n, CANON64 = 0x7ff8000000000000n;
const SIGN32 = 0x80000000n, SIGN64 = 0x8000000000000000n;

function fromBits(t: 'f32' | 'f64', bits: bigint): FVal {
  const v = t === 'f32' ? bitsF32(Number(bits)) : bitsF64(bits);
  if (!Number.isNaN(v)) return { v, nan: null };
  const sign = t === 'f32' ? (bits & SIGN32 ? 1 : 0) : bits & SIGN64 ? 1 : 0;
  const payload = bits & ~(t === 'f32' ? SIGN32 : SIGN64);
  return { v: NaN, nan: { bits, canonical: payload === (t === 'f32' ? CANON32 : CANON64), sign } };
}

function toBits(t: 'f32' | 'f64', x: FVal): bigint {
  if (x.nan) {
    if (x.nan.bits === null) throw new Unknowable();
    return x.nan.bits;
  }
  return t === 'f32' ? BigInt(f32Bits(x.v)) : f64Bits(x.v);
}

const num = (t: 'f32' | 'f64', v: number): FVal => ({ v: t === 'f32' ? Math.fround(v) : v, nan: null });

/** Result of an arithmetic operator: NaN class from the inputs, else the value. */
function arith(t: 'f32' | 'f64', v: number, ...ins: FVal[]): FVal {
  const r = t === 'f32' ? Math.fround(v) : v;
  if (!Number.isNaN(r)) return { v: r, nan: null };
  const nanIns = ins.filter((x) => x.nan);
  const canonical = nanIns.every((x) => x.nan!.canonical);
  return { v: NaN, nan: { bits: null, canonical, sign: null } };
}

function bitlen(a: bigint): number {
  return a === 0n ? 0 : a.toString(2).length;
}

/** Correctly rounded (ties to even) conversion of an integer to a float with p significand bits. */
function bigToFloat(n: bigint, p: number): number {
  if (n === 0n) return 0;
  const neg = n < 0n;
  const a = neg ? -n : n;
  const L = bitlen(a);
  let r: number;
  if (L <= p) r = Number(a);
  else {
    const shift = BigInt(L - p);
    let q = a >> shift;
    const rem = a - (q << shift);
    const half = 1n << (shift - 1n);
    if (rem > half || (rem === half && (q & 1n) === 1n)) q += 1n;
    r = Number(q) * 2 ** Number(shift);
  }
  return neg ? -r : r;
}

function nearest(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  if (Math.abs(x) >= 2 ** 52) return x;
  const f = Math.floor(x);
  const d = x - f;
  let r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  if (r === 0) r = x < 0 ? -0 : 0;
  return r;
}

const S64 = (x: bigint) => BigInt.asIntN(64, x);
const U64 = (x: bigint) => BigInt.asUintN(64, x);

function popcnt(x: bigint): number {
  let n = 0;
  for (let v = x; v; v &= v - 1n) n++;
  return n;
}

// ------------------------------------------------------------------------------------------------ operators

interface OpDef {
  name: string;
  ins: Ty[];
  out: Ty;
  emit: (c: Code) => void;
  eval: (...a: any[]) => Val;
  weight?: number;
}

const OPS: OpDef[] = [];
function def(name: string, ins: Ty[], out: Ty, code: number | [0xfc, number], ev: (...a: any[]) => Val, weight = 1): void {
  OPS.push({ name, ins, out, emit: (c) => (Array.isArray(code) ? c.fc(code[1]) : c.op(code)), eval: ev, weight });
}

// i32
const i32 = (x: number) => x | 0;
def('i32.add', ['i32', 'i32'], 'i32', Op.i32_add, (a, b) => i32(a + b), 2);
def('i32.sub', ['i32', 'i32'], 'i32', Op.i32_sub, (a, b) => i32(a - b), 2);
def('i32.mul', ['i32', 'i32'], 'i32', Op.i32_mul, (a, b) => Math.imul(a, b), 2);
def('i32.div_s', ['i32', 'i32'], 'i32', Op.i32_div_s, (a, b) => {
  if (b === 0) throw new Trap('divide by zero');
  if (a === -0x80000000 && b === -1) throw new Trap('divide result unrepresentable');
  return i32(Math.trunc(a / b));
}, 0.5);
def('i32.div_u', ['i32', 'i32'], 'i32', Op.i32_div_u, (a, b) => { if (b === 0) throw new Trap('divide by zero'); return i32(Math.floor((a >>> 0) / (b >>> 0))); }, 0.5);
def('i32.rem_s', ['i32', 'i32'], 'i32', Op.i32_rem_s, (a, b) => { if (b === 0) throw new Trap('remainder by zero'); return i32(a % b); }, 0.5);
def('i32.rem_u', ['i32', 'i32'], 'i32', Op.i32_rem_u, (a, b) => { if (b === 0) throw new Trap('remainder by zero'); return i32((a >>> 0) % (b >>> 0)); }, 0.5);
def('i32.and', ['i32', 'i32'], 'i32', Op.i32_and, (a, b) => a & b);
def('i32.or', ['i32', 'i32'], 'i32', Op.i32_or, (a, b) => a | b);
def('i32.xor', ['i32', 'i32'], 'i32', Op.i32_xor, (a, b) => a ^ b);
def('i32.shl', ['i32', 'i32'], 'i32', Op.i32_shl, (a, b) => a << b);
def('i32.shr_s', ['i32', 'i32'], 'i32', Op.i32_shr_s, (a, b) => a >> b);
def('i32.shr_u', ['i32', 'i32'], 'i32', Op.i32_shr_u, (a, b) => i32(a >>> b));
def('i32.rotl', ['i32', 'i32'], 'i32', Op.i32_rotl, (a, b) => { const k = b & 31; return i32((a << k) | (a >>> (32 - k))); });
def('i32.rotr', ['i32', 'i32'], 'i32', Op.i32_rotr, (a, b) => { const k = b & 31; return i32((a >>> k) | (a << (32 - k))); });
def('i32.clz', ['i32'], 'i32', Op.i32_clz, (a) => Math.clz32(a));
def('i32.ctz', ['i32'], 'i32', Op.i32_ctz, (a) => (a === 0 ? 32 : 31 - Math.clz32(a & -a)));
def('i32.popcnt', ['i32'], 'i32', Op.i32_popcnt, (a) => popcnt(BigInt(a >>> 0)));
def('i32.eqz', ['i32'], 'i32', Op.i32_eqz, (a) => (a === 0 ? 1 : 0));
def('i32.extend8_s', ['i32'], 'i32', Op.i32_extend8_s, (a) => (a << 24) >> 24);
def('i32.extend16_s', ['i32'], 'i32', Op.i32_extend16_s, (a) => (a << 16) >> 16);
const cmp32: Array<[string, number, (a: number, b: number) => boolean]> = [
  ['eq', Op.i32_eq, (a, b) => a === b], ['ne', Op.i32_ne, (a, b) => a !== b],
  ['lt_s', Op.i32_lt_s, (a, b) => a < b], ['lt_u', Op.i32_lt_u, (a, b) => a >>> 0 < b >>> 0],
  ['gt_s', Op.i32_gt_s, (a, b) => a > b], ['gt_u', Op.i32_gt_u, (a, b) => a >>> 0 > b >>> 0],
  ['le_s', Op.i32_le_s, (a, b) => a <= b], ['le_u', Op.i32_le_u, (a, b) => a >>> 0 <= b >>> 0],
  ['ge_s', Op.i32_ge_s, (a, b) => a >= b], ['ge_u', Op.i32_ge_u, (a, b) => a >>> 0 >= b >>> 0],
];
for (const [n, o, f] of cmp32) def(`i32.${n}`, ['i32', 'i32'], 'i32', o, (a, b) => (f(a, b) ? 1 : 0), 0.5);
// i64
def('i64.add', ['i64', 'i64'], 'i64', Op.i64_add, (a: bigint, b: bigint) => S64(a + b), 2);
def('i64.sub', ['i64', 'i64'], 'i64', Op.i64_sub, (a: bigint, b: bigint) => S64(a - b), 2);
def('i64.mul', ['i64', 'i64'], 'i64', Op.i64_mul, (a: bigint, b: bigint) => S64(a * b), 2);
def('i64.div_s', ['i64', 'i64'], 'i64', Op.i64_div_s, (a: bigint, b: bigint) => {
  if (b === 0n) throw new Trap('divide by zero');
  if (a === -(2n ** 63n) && b === -1n) throw new Trap('divide result unrepresentable');
  return S64(a / b);
}, 0.5);
def('i64.div_u', ['i64', 'i64'], 'i64', Op.i64_div_u, (a: bigint, b: bigint) => { if (b === 0n) throw new Trap('divide by zero'); return S64(U64(a) / U64(b)); }, 0.5);
def('i64.rem_s', ['i64', 'i64'], 'i64', Op.i64_rem_s, (a: bigint, b: bigint) => { if (b === 0n) throw new Trap('remainder by zero'); return S64(a % b); }, 0.5);
def('i64.rem_u', ['i64', 'i64'], 'i64', Op.i64_rem_u, (a: bigint, b: bigint) => { if (b === 0n) throw new Trap('remainder by zero'); return S64(U64(a) % U64(b)); }, 0.5);
def('i64.and', ['i64', 'i64'], 'i64', Op.i64_and, (a: bigint, b: bigint) => a & b);
def('i64.or', ['i64', 'i64'], 'i64', Op.i64_or, (a: bigint, b: bigint) => a | b);
def('i64.xor', ['i64', 'i64'], 'i64', Op.i64_xor, (a: bigint, b: bigint) => a ^ b);
def('i64.shl', ['i64', 'i64'], 'i64', Op.i64_shl, (a: bigint, b: bigint) => S64(a << (U64(b) & 63n)));
def('i64.shr_s', ['i64', 'i64'], 'i64', Op.i64_shr_s, (a: bigint, b: bigint) => a >> (U64(b) & 63n));
def('i64.shr_u', ['i64', 'i64'], 'i64', Op.i64_shr_u, (a: bigint, b: bigint) => S64(U64(a) >> (U64(b) & 63n)));
def('i64.rotl', ['i64', 'i64'], 'i64', Op.i64_rotl, (a: bigint, b: bigint) => { const k = U64(b) & 63n, x = U64(a); return S64(k === 0n ? x : U64(x << k) | (x >> (64n - k))); });
def('i64.rotr', ['i64', 'i64'], 'i64', Op.i64_rotr, (a: bigint, b: bigint) => { const k = U64(b) & 63n, x = U64(a); return S64(k === 0n ? x : (x >> k) | U64(x << (64n - k))); });
def('i64.clz', ['i64'], 'i64', Op.i64_clz, (a: bigint) => BigInt(64 - bitlen(U64(a))));
def('i64.ctz', ['i64'], 'i64', Op.i64_ctz, (a: bigint) => (a === 0n ? 64n : BigInt(bitlen(U64(a) & -U64(a)) - 1)));
def('i64.popcnt', ['i64'], 'i64', Op.i64_popcnt, (a: bigint) => BigInt(popcnt(U64(a))));
def('i64.eqz', ['i64'], 'i32', Op.i64_eqz, (a: bigint) => (a === 0n ? 1 : 0));
def('i64.extend8_s', ['i64'], 'i64', Op.i64_extend8_s, (a: bigint) => BigInt.asIntN(8, a));
def('i64.extend16_s', ['i64'], 'i64', Op.i64_extend16_s, (a: bigint) => BigInt.asIntN(16, a));
def('i64.extend32_s', ['i64'], 'i64', Op.i64_extend32_s, (a: bigint) => BigInt.asIntN(32, a));
def('i64.extend_i32_s', ['i32'], 'i64', Op.i64_extend_i32_s, (a) => BigInt(a));
def('i64.extend_i32_u', ['i32'], 'i64', Op.i64_extend_i32_u, (a) => BigInt(a >>> 0));
def('i32.wrap_i64', ['i64'], 'i32', Op.i32_wrap_i64, (a: bigint) => Number(BigInt.asIntN(32, a)));
const cmp64: Array<[string, number, (a: bigint, b: bigint) => boolean]> = [
  ['eq', Op.i64_eq, (a, b) => a === b], ['ne', Op.i64_ne, (a, b) => a !== b],
  ['lt_s', Op.i64_lt_s, (a, b) => a < b], ['lt_u', Op.i64_lt_u, (a, b) => U64(a) < U64(b)],
  ['gt_s', Op.i64_gt_s, (a, b) => a > b], ['gt_u', Op.i64_gt_u, (a, b) => U64(a) > U64(b)],
  ['le_s', Op.i64_le_s, (a, b) => a <= b], ['le_u', Op.i64_le_u, (a, b) => U64(a) <= U64(b)],
  ['ge_s', Op.i64_ge_s, (a, b) => a >= b], ['ge_u', Op.i64_ge_u, (a, b) => U64(a) >= U64(b)],
];
for (const [n, o, f] of cmp64) def(`i64.${n}`, ['i64', 'i64'], 'i32', o, (a, b) => (f(a, b) ? 1 : 0), 0.5);
// floats
for (const t of ['f32', 'f64'] as const) {
  const O = (n: string) => (Op as Record<string, number>)[`${t}_${n}`];
  def(`${t}.add`, [t, t], t, O('add'), (a: FVal, b: FVal) => arith(t, a.v + b.v, a, b), 2);
  def(`${t}.sub`, [t, t], t, O('sub'), (a: FVal, b: FVal) => arith(t, a.v - b.v, a, b), 2);
  def(`${t}.mul`, [t, t], t, O('mul'), (a: FVal, b: FVal) => arith(t, a.v * b.v, a, b), 2);
  def(`${t}.div`, [t, t], t, O('div'), (a: FVal, b: FVal) => arith(t, a.v / b.v, a, b), 2);
  def(`${t}.min`, [t, t], t, O('min'), (a: FVal, b: FVal) => arith(t, a.nan || b.nan ? NaN : Math.min(a.v, b.v), a, b));
  def(`${t}.max`, [t, t], t, O('max'), (a: FVal, b: FVal) => arith(t, a.nan || b.nan ? NaN : Math.max(a.v, b.v), a, b));
  def(`${t}.sqrt`, [t], t, O('sqrt'), (a: FVal) => arith(t, Math.sqrt(a.v), a));
  def(`${t}.ceil`, [t], t, O('ceil'), (a: FVal) => arith(t, Math.ceil(a.v), a));
  def(`${t}.floor`, [t], t, O('floor'), (a: FVal) => arith(t, Math.floor(a.v), a));
  def(`${t}.trunc`, [t], t, O('trunc'), (a: FVal) => arith(t, Math.trunc(a.v), a));
  def(`${t}.nearest`, [t], t, O('nearest'), (a: FVal) => arith(t, nearest(a.v), a));
  const signBit = t === 'f32' ? SIGN32 : SIGN64;
  def(`${t}.abs`, [t], t, O('abs'), (a: FVal) => (a.nan ? { v: NaN, nan: { ...a.nan, sign: 0, bits: a.nan.bits === null ? null : a.nan.bits & ~signBit } } : num(t, Math.abs(a.v))));
  def(`${t}.neg`, [t], t, O('neg'), (a: FVal) => (a.nan
    ? { v: NaN, nan: { ...a.nan, sign: a.nan.sign === null ? null : ((1 - a.nan.sign) as 0 | 1), bits: a.nan.bits === null ? null : a.nan.bits ^ signBit } }
    : num(t, -a.v)));
  def(`${t}.copysign`, [t, t], t, O('copysign'), (a: FVal, b: FVal) => {
    const s: 0 | 1 | null = b.nan ? b.nan.sign : Object.is(b.v, -0) || b.v < 0 ? 1 : 0;
    if (s === null) throw new Unknowable();
    if (a.nan) return { v: NaN, nan: { ...a.nan, sign: s, bits: a.nan.bits === null ? null : s ? a.nan.bits | signBit : a.nan.bits & ~signBit } };
    return num(t, s ? -Math.abs(a.v) : Math.abs(a.v));
  });
  const cmpF: Array<[string, (a: number, b: number) => boolean]> = [
    ['eq', (a, b) => a === b], ['ne', (a, b) => a !== b], ['lt', (a, b) => a < b], ['gt', (a, b) => a > b], ['le', (a, b) => a <= b], ['ge', (a, b) => a >= b],
  ];
  for (const [n, f] of cmpF) def(`${t}.${n}`, [t, t], 'i32', O(n), (a: FVal, b: FVal) => (f(a.v, b.v) ? 1 : 0), 0.5);
  // conversions to this float type
  const p = t === 'f32' ? 24 : 53;
  const cv = (n: string) => (Op as Record<string, number>)[`${t}_convert_${n}`];
  def(`${t}.convert_i32_s`, ['i32'], t, cv('i32_s'), (a: number) => num(t, a));
  def(`${t}.convert_i32_u`, ['i32'], t, cv('i32_u'), (a: number) => num(t, a >>> 0));
  def(`${t}.convert_i64_s`, ['i64'], t, cv('i64_s'), (a: bigint) => num(t, bigToFloat(a, p)));
  def(`${t}.convert_i64_u`, ['i64'], t, cv('i64_u'), (a: bigint) => num(t, bigToFloat(U64(a), p)));
  // truncations from this float type
  for (const it of ['i32', 'i64'] as const) {
    for (const signed of [true, false]) {
      for (const sat of [false, true]) {
        const name = `${it}.trunc${sat ? '_sat' : ''}_${t}_${signed ? 's' : 'u'}`;
        const code: number | [0xfc, number] = sat ? [0xfc, (FC as Record<string, number>)[name.replace(/\./g, '_')]] : (Op as Record<string, number>)[name.replace(/\./g, '_')];
        def(name, [t], it, code, (a: FVal) => {
          const bits = it === 'i32' ? 32 : 64;
          const min = signed ? -(2n ** BigInt(bits - 1)) : 0n;
          const max = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
          let r: bigint;
          if (a.nan) {
            if (!sat) throw new Trap('float unrepresentable in integer range');
            r = 0n;
          } else if (!Number.isFinite(a.v)) {
            if (!sat) throw new Trap('float unrepresentable in integer range');
            r = a.v > 0 ? max : min;
          } else {
            r = BigInt(Math.trunc(a.v));
            if (r < min || r > max) {
              if (!sat) throw new Trap('float unrepresentable in integer range');
              r = r < min ? min : max;
            }
          }
          return it === 'i32' ? Number(BigInt.asIntN(32, r)) : S64(r);
        }, sat ? 0.7 : 0.3);
      }
    }
  }
}
def('f32.demote_f64', ['f64'], 'f32', Op.f32_demote_f64, (a: FVal) => arith('f32', a.v, a));
def('f64.promote_f32', ['f32'], 'f64', Op.f64_promote_f32, (a: FVal) => arith('f64', a.v, a));
def('i32.reinterpret_f32', ['f32'], 'i32', Op.i32_reinterpret_f32, (a: FVal) => Number(BigInt.asIntN(32, toBits('f32', a))));
def('i64.reinterpret_f64', ['f64'], 'i64', Op.i64_reinterpret_f64, (a: FVal) => S64(toBits('f64', a)));
def('f32.reinterpret_i32', ['i32'], 'f32', Op.f32_reinterpret_i32, (a: number) => fromBits('f32', BigInt(a >>> 0)));
def('f64.reinterpret_i64', ['i64'], 'f64', Op.f64_reinterpret_i64, (a: bigint) => fromBits('f64', U64(a)));

const OPS_BY_OUT: Record<Ty, OpDef[]> = { i32: [], i64: [], f32: [], f64: [] };
for (const o of OPS) OPS_BY_OUT[o.out].push(o);

// ------------------------------------------------------------------------------------------------ constants

const EDGE_I32 = [0, 1, -1, 2, -2, 0x7fffffff, -0x80000000, 0x80, 0xff, 0x100, 31, 32, 33, 63, 64, 0x55555555, -0x55555556, 0x10000, 0xffff];
const EDGE_I64 = [0n, 1n, -1n, 2n, 0x7fffffffffffffffn, -(2n ** 63n), 0xffffffffn, 0x100000000n, -0x80000000n, 0x7fffffffn, 31n, 32n, 63n, 64n, 65n,
  0x5555555555555555n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 24n + 1n];
const EDGE_F32 = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc12345, 0x7f800001, 0xff812345, 0x00000001, 0x807fffff,
  0x00800000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000, 0x3f000000, 0x4f000000, 0xcf000000, 0x4f800000, 0x5f000000, 0xdf000000,
  0x5f800000, 0x3fc00000, 0x40200000, 0x4b000001, 0xbf7fffff].map((x) => BigInt(x >>> 0));
const EDGE_F64 = [0n, SIGN64, 0x7ff0000000000000n, 0xfff0000000000000n, CANON64, 0xfff8000000000000n, 0x7ff8000000012345n, 0x7ff0000000000001n,
  0xfff4000000000000n, 1n, 0x800fffffffffffffn, 0x0010000000000000n, 0x7fefffffffffffffn, f64Bits(1), f64Bits(-1), f64Bits(0.5), f64Bits(2 ** 31),
  f64Bits(-(2 ** 31) - 1), f64Bits(2 ** 32), f64Bits(2 ** 63), f64Bits(-(2 ** 63)), f64Bits(2 ** 64), f64Bits(1.5), f64Bits(2.5), f64Bits(-2.5),
  f64Bits(2 ** 52 + 1), f64Bits(4294967295.5), f64Bits(-0.9999999999999999), f64Bits(3.4028235677973366e38), f64Bits(1e-310)];

// ------------------------------------------------------------------------------------------------ expressions

type Node =
  | { k: 'const'; t: Ty; bits: bigint | number }
  | { k: 'param'; t: Ty; idx: number }
  | { k: 'op'; op: OpDef; args: Node[] }
  | { k: 'select'; t: Ty; a: Node; b: Node; c: Node }
  | { k: 'if'; t: Ty; c: Node; a: Node; b: Node }
  | { k: 'brif'; t: Ty; a: Node; b: Node; c: Node }
  | { k: 'tee'; t: Ty; local: number; a: Node }
  | { k: 'get'; t: Ty; local: number };

// Params: i32 p0 p1, i64 p2 p3, f32 bits (i32) p4 p5, f64 bits (i64) p6 p7. Scratch locals 8..11: i32 i64 f32 f64.
const PARAM_IDX: Record<Ty, number[]> = { i32: [0, 1], i64: [2, 3], f32: [4, 5], f64: [6, 7] };
const SCRATCH: Record<Ty, number> = { i32: 8, i64: 9, f32: 10, f64: 11 };

const CMP_OPS = OPS.filter((o) => o.out === 'i32' && /\.(eq|ne|[lg][te](_[su])?|eqz)$/.test(o.name));

/** A condition: mostly a comparison (which the compiler fuses into the consuming select / if / br_if). */
function genCond(rnd: () => number, depth: number): Node {
  if (rnd() < 0.35) return gen(rnd, 'i32', depth);
  const op = CMP_OPS[Math.floor(rnd() * CMP_OPS.length)];
  return { k: 'op', op, args: op.ins.map((it) => gen(rnd, it, depth)) };
}

function gen(rnd: () => number, t: Ty, depth: number): Node {
  const pick = <X>(xs: X[]): X => xs[Math.floor(rnd() * xs.length)];
  if (depth <= 0 || rnd() < 0.12) {
    const r = rnd();
    if (r < 0.4) {
      const edge = rnd() < 0.7;
      switch (t) {
        case 'i32': return { k: 'const', t, bits: edge ? pick(EDGE_I32) : (rnd() * 2 ** 32) | 0 };
        case 'i64': return { k: 'const', t, bits: edge ? pick(EDGE_I64) : S64(BigInt(Math.floor(rnd() * 2 ** 32)) << 32n | BigInt(Math.floor(rnd() * 2 ** 32))) };
        case 'f32': return { k: 'const', t, bits: edge ? pick(EDGE_F32) : BigInt(f32Bits((rnd() - 0.5) * 2 ** (rnd() * 80 - 40))) };
        case 'f64': return { k: 'const', t, bits: edge ? pick(EDGE_F64) : f64Bits((rnd() - 0.5) * 2 ** (rnd() * 200 - 100)) };
      }
    }
    if (r < 0.85) return { k: 'param', t, idx: pick(PARAM_IDX[t]) };
    return { k: 'get', t, local: SCRATCH[t] };
  }
  const r = rnd();
  if (r < 0.06) return { k: 'select', t, a: gen(rnd, t, depth - 1), b: gen(rnd, t, depth - 1), c: genCond(rnd, depth - 1) };
  if (r < 0.1) return { k: 'if', t, c: genCond(rnd, depth - 1), a: gen(rnd, t, depth - 1), b: gen(rnd, t, depth - 1) };
  if (r < 0.13) return { k: 'brif', t, a: gen(rnd, t, depth - 1), b: gen(rnd, t, depth - 1), c: genCond(rnd, depth - 1) };
  if (r < 0.18) return { k: 'tee', t, local: SCRATCH[t], a: gen(rnd, t, depth - 1) };
  const ops = OPS_BY_OUT[t];
  let total = 0;
  for (const o of ops) total += o.weight ?? 1;
  let x = rnd() * total;
  let op = ops[0];
  for (const o of ops) {
    x -= o.weight ?? 1;
    if (x <= 0) { op = o; break; }
  }
  return { k: 'op', op, args: op.ins.map((it) => gen(rnd, it, depth - 1)) };
}

function emit(c: Code, n: Node): void {
  switch (n.k) {
    case 'const':
      if (n.t === 'i32') c.i32_const(n.bits as number);
      else if (n.t === 'i64') c.i64_const(n.bits as bigint);
      else if (n.t === 'f32') c.f32_bits(Number(n.bits));
      else c.f64_bits(n.bits as bigint);
      return;
    case 'param':
      c.local_get(n.idx);
      if (n.t === 'f32') c.op(Op.f32_reinterpret_i32);
      if (n.t === 'f64') c.op(Op.f64_reinterpret_i64);
      return;
    case 'get': c.local_get(n.local); return;
    case 'tee': emit(c, n.a); c.local_tee(n.local); return;
    case 'op': for (const a of n.args) emit(c, a); n.op.emit(c); return;
    case 'select': emit(c, n.a); emit(c, n.b); emit(c, n.c); c.select(); return;
    case 'if': emit(c, n.c); c.if_(WT[n.t]); emit(c, n.a); c.else_(); emit(c, n.b); c.end(); return;
    case 'brif':
      // (block (result t) a (br_if 0 c) drop b): a if c, else b
      c.block(WT[n.t]); emit(c, n.a); emit(c, n.c); c.br_if(0); c.drop(); emit(c, n.b); c.end();
      return;
  }
}

interface Env { params: Val[]; locals: Record<number, Val> }

function evaluate(n: Node, env: Env): Val {
  switch (n.k) {
    case 'const':
      if (n.t === 'i32') return n.bits as number;
      if (n.t === 'i64') return n.bits as bigint;
      return fromBits(n.t, BigInt(n.bits));
    case 'param': return env.params[n.idx];
    case 'get': return env.locals[n.local];
    case 'tee': { const v = evaluate(n.a, env); env.locals[n.local] = v; return v; }
    case 'op': { const args = n.args.map((a) => evaluate(a, env)); return n.op.eval(...args); }
    case 'select': { const a = evaluate(n.a, env), b = evaluate(n.b, env), c = evaluate(n.c, env); return c !== 0 ? a : b; }
    case 'if': return evaluate(n.c, env) !== 0 ? evaluate(n.a, env) : evaluate(n.b, env);
    case 'brif': { const a = evaluate(n.a, env); if (evaluate(n.c, env) !== 0) return a; return evaluate(n.b, env); }
  }
}

function size(n: Node): number {
  switch (n.k) {
    case 'op': return 1 + n.args.reduce((s, a) => s + size(a), 0);
    case 'select': case 'if': case 'brif': return 1 + size(n.a) + size(n.b) + size(n.c);
    case 'tee': return 1 + size(n.a);
    default: return 1;
  }
}

// ------------------------------------------------------------------------------------------------ the test

const PER_TYPE = 400;
const CALLS = 8;

function randomArgs(rnd: () => number): unknown[] {
  const pick = <X>(xs: X[]): X => xs[Math.floor(rnd() * xs.length)];
  const i32v = () => (rnd() < 0.5 ? pick(EDGE_I32) : (rnd() * 2 ** 32) | 0);
  const i64v = () => (rnd() < 0.5 ? pick(EDGE_I64) : S64(BigInt(Math.floor(rnd() * 2 ** 32)) << 32n | BigInt(Math.floor(rnd() * 2 ** 32))));
  const f32v = () => Number(BigInt.asIntN(32, rnd() < 0.5 ? pick(EDGE_F32) : BigInt(f32Bits((rnd() - 0.5) * 2 ** (rnd() * 80 - 40)))));
  const f64v = () => S64(rnd() < 0.5 ? pick(EDGE_F64) : f64Bits((rnd() - 0.5) * 2 ** (rnd() * 200 - 100)));
  return [i32v(), i32v(), i64v(), i64v(), f32v(), f32v(), f64v(), f64v()];
}

function envOf(args: unknown[]): Env {
  const a = args as [number, number, bigint, bigint, number, number, bigint, bigint];
  return {
    params: [a[0], a[1], a[2], a[3], fromBits('f32', BigInt(a[4] >>> 0)), fromBits('f32', BigInt(a[5] >>> 0)), fromBits('f64', U64(a[6])), fromBits('f64', U64(a[7]))],
    locals: { 8: 0, 9: 0n, 10: { v: 0, nan: null }, 11: { v: 0, nan: null } },
  };
}

/** Does the float result `bits` satisfy the model's NaN description? */
function nanOk(t: 'f32' | 'f64', bits: bigint, nan: NanInfo): string | null {
  const W = t === 'f32' ? 32 : 64;
  const ub = BigInt.asUintN(W, bits);
  const sign = ub >> BigInt(W - 1);
  const expMask = t === 'f32' ? 0x7f800000n : 0x7ff0000000000000n;
  const mant = ub & (t === 'f32' ? 0x7fffffn : 0xfffffffffffffn);
  const quiet = t === 'f32' ? 0x400000n : 0x8000000000000n;
  if ((ub & expMask) !== expMask || mant === 0n) return 'not a NaN';
  if (nan.bits !== null) return ub === BigInt.asUintN(W, nan.bits) ? null : `bits must be exactly 0x${BigInt.asUintN(W, nan.bits).toString(16)}`;
  if (nan.sign !== null && Number(sign) !== nan.sign) return `sign must be ${nan.sign}`;
  if (nan.canonical) return mant === quiet ? null : 'must be a canonical NaN';
  return mant & quiet ? null : 'must be an arithmetic NaN (quiet bit set)';
}

test(`random expressions: ${PER_TYPE} per result type, ${CALLS} argument sets each, Quickbeam vs V8 vs the spec's NaN rules`, () => {
  const rnd = prng(Number(process.env.QB_CODEGEN_SEED ?? 20240611)); // QB_CODEGEN_SEED: explore other seeds
  const b = new ModuleBuilder();
  const PARAMS = [T.i32, T.i32, T.i64, T.i64, T.i32, T.i32, T.i64, T.i64];
  const LOCALS = [T.i32, T.i64, T.f32, T.f64];
  const fns: Array<{ name: string; t: Ty; node: Node }> = [];
  for (const t of ['i32', 'i64', 'f32', 'f64'] as Ty[]) {
    for (let k = 0; k < PER_TYPE; k++) {
      const node = gen(rnd, t, 1 + Math.floor(rnd() * 6));
      const name = `${t}_${k}`;
      const rt = t === 'f32' || t === 'i32' ? T.i32 : T.i64;
      b.func(PARAMS, [rt], (c) => {
        emit(c, node);
        if (t === 'f32') c.op(Op.i32_reinterpret_f32);
        if (t === 'f64') c.op(Op.i64_reinterpret_f64);
        c.end();
      }, { export: name, locals: LOCALS });
      fns.push({ name, t, node });
    }
  }
  const bytes = b.build();
  const q: Exports = qbInstance(bytes);
  const v: Exports = v8Instance(bytes);
  const stats = { calls: 0, traps: 0, nans: 0, unknowable: 0, nodes: 0 };
  const failures: string[] = [];
  for (const { name, t, node } of fns) {
    stats.nodes += size(node);
    for (let k = 0; k < CALLS; k++) {
      const args = randomArgs(rnd);
      stats.calls++;
      const oq = outcome(() => q[name](...args));
      const ov = outcome(() => v[name](...args));
      const what = `${name} ${JSON.stringify(node, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x && x.name && x.emit ? x.name : x))} args ${args.map(show).join(', ')}`;
      // model
      let model: Val | Trap | Unknowable;
      try {
        model = evaluate(node, envOf(args));
      } catch (e) {
        if (e instanceof Trap || e instanceof Unknowable) model = e;
        else throw e;
      }
      if (model instanceof Unknowable) {
        // The result depends on bits the spec leaves open (the sign or payload of an arithmetic NaN):
        // even trapping may legitimately differ.
        stats.unknowable++;
        continue;
      }
      if (ov.kind !== 'value') {
        if (ov.kind !== 'RuntimeError') throw ov.error;
        stats.traps++;
        if (oq.kind !== 'RuntimeError' || oq.message !== ov.message) failures.push(`${what}\n  V8 traps "${ov.message}", Quickbeam: ${oq.kind} ${oq.message ?? show(oq.value)}`);
        if (!(model instanceof Trap)) failures.push(`${what}\n  (model self-check) V8 traps but the model does not`);
        continue;
      }
      if (oq.kind !== 'value') {
        failures.push(`${what}\n  Quickbeam: ${oq.kind} ${oq.message}, V8 ${show(ov.value)}`);
        continue;
      }
      if (model instanceof Trap) {
        failures.push(`${what}\n  (model self-check) the model traps (${model.message}), V8 does not`);
        continue;
      }
      if (t === 'i32' || t === 'i64') {
        if (show(oq.value) !== show(ov.value)) failures.push(`${what}\n  Quickbeam ${show(oq.value)}, V8 ${show(ov.value)}`);
        else if (show(model) !== show(ov.value)) failures.push(`${what}\n  (model self-check) model ${show(model)}, V8 ${show(ov.value)}`);
        continue;
      }
      const fm = model as FVal;
      const bq = BigInt(oq.value as number | bigint), bv = BigInt(ov.value as number | bigint);
      if (fm.nan) {
        stats.nans++;
        const eq = nanOk(t, bq, fm.nan), ev = nanOk(t, bv, fm.nan);
        if (eq) failures.push(`${what}\n  Quickbeam NaN 0x${BigInt.asUintN(t === 'f32' ? 32 : 64, bq).toString(16)}: ${eq}`);
        if (ev) failures.push(`${what}\n  (model self-check) V8 0x${BigInt.asUintN(t === 'f32' ? 32 : 64, bv).toString(16)}: ${ev}`);
      } else {
        if (bq !== bv) failures.push(`${what}\n  Quickbeam 0x${BigInt.asUintN(64, bq).toString(16)}, V8 0x${BigInt.asUintN(64, bv).toString(16)}`);
        else if (BigInt.asUintN(t === 'f32' ? 32 : 64, toBits(t, fm)) !== BigInt.asUintN(t === 'f32' ? 32 : 64, bv)) {
          failures.push(`${what}\n  (model self-check) model ${fm.v}, V8 bits 0x${BigInt.asUintN(64, bv).toString(16)}`);
        }
      }
    }
    if (failures.length > 20) break;
  }
  if (process.env.QB_DEBUG) console.error(stats);
  assert.ok(failures.length === 0, `${failures.length} mismatches:\n${failures.slice(0, 10).join('\n')}`);
  // the generator must exercise traps, NaNs and sizeable trees
  assert.ok(stats.traps > 20 && stats.nans > 50 && stats.nodes > 4 * PER_TYPE * 5, JSON.stringify(stats));
  assert.ok(stats.unknowable < stats.calls / 10, JSON.stringify(stats));
});

test('every operator with all-constant and all-parameter operands over the edge values (exhaustive pairs, sampled)', () => {
  const rnd = prng(7);
  const b = new ModuleBuilder();
  const PARAMS = [T.i32, T.i32, T.i64, T.i64, T.i32, T.i32, T.i64, T.i64];
  const edges: Record<Ty, Array<number | bigint>> = { i32: EDGE_I32, i64: EDGE_I64, f32: EDGE_F32, f64: EDGE_F64 };
  const cases: Array<{ name: string; op: OpDef; args: Node[]; callArgs: unknown[] }> = [];
  let n = 0;
  for (const op of OPS) {
    // 24 operand combinations per operator, each both as constants and through parameters
    for (let k = 0; k < 24; k++) {
      const vals = op.ins.map((t) => edges[t][Math.floor(rnd() * edges[t].length)]);
      const consts: Node[] = op.ins.map((t, i) => ({ k: 'const', t, bits: vals[i] }) as Node);
      const callArgs = randomArgs(rnd);
      const used: Record<Ty, number> = { i32: 0, i64: 0, f32: 0, f64: 0 };
      const params: Node[] = op.ins.map((t, i) => {
        const idx = PARAM_IDX[t][used[t]++ % 2];
        const val = vals[i];
        callArgs[idx] = t === 'i32' ? val : t === 'i64' ? val : t === 'f32' ? Number(BigInt.asIntN(32, BigInt(val))) : S64(BigInt(val));
        return { k: 'param', t, idx } as Node;
      });
      // with two operands of the same type from parameters, use both parameter slots (already set)
      for (const [mode, args] of [['c', consts], ['p', params]] as const) {
        const name = `e${n++}_${mode}`;
        const node: Node = { k: 'op', op, args };
        const rt = op.out === 'f32' || op.out === 'i32' ? T.i32 : T.i64;
        b.func(PARAMS, [rt], (c) => {
          emit(c, node);
          if (op.out === 'f32') c.op(Op.i32_reinterpret_f32);
          if (op.out === 'f64') c.op(Op.i64_reinterpret_f64);
          c.end();
        }, { export: name, locals: [T.i32, T.i64, T.f32, T.f64] });
        cases.push({ name, op, args, callArgs });
      }
    }
  }
  const bytes = b.build();
  const q = qbInstance(bytes), v = v8Instance(bytes);
  const failures: string[] = [];
  for (const { name, op, args, callArgs } of cases) {
    const oq = outcome(() => q[name](...callArgs)), ov = outcome(() => v[name](...callArgs));
    const what = `${op.name}(${args.map((a) => (a.k === 'const' ? show(a.bits) : `p${(a as { idx: number }).idx}=${show(callArgs[(a as { idx: number }).idx])}`)).join(', ')})`;
    if (ov.kind !== 'value') {
      if (oq.kind !== ov.kind || oq.message !== ov.message) failures.push(`${what}: V8 ${ov.kind} ${ov.message}, Quickbeam ${oq.kind} ${oq.message ?? show(oq.value)}`);
      continue;
    }
    if (oq.kind !== 'value') { failures.push(`${what}: Quickbeam ${oq.kind} ${oq.message}, V8 ${show(ov.value)}`); continue; }
    let model: Val | null = null;
    try { model = evaluate({ k: 'op', op, args }, envOf(callArgs)); } catch { model = null; }
    if ((op.out === 'f32' || op.out === 'f64') && model && (model as FVal).nan) {
      const e = nanOk(op.out, BigInt(oq.value as number | bigint), (model as FVal).nan!);
      if (e) failures.push(`${what}: Quickbeam NaN ${show(oq.value)}: ${e}`);
      continue;
    }
    if (show(oq.value) !== show(ov.value)) failures.push(`${what}: Quickbeam ${show(oq.value)}, V8 ${show(ov.value)}`);
  }
  assert.ok(failures.length === 0, `${failures.length} mismatches:\n${failures.slice(0, 15).join('\n')}`);
});

test('every compare fused into select / if / br_if (and materialised), over edge operands incl. NaNs', () => {
  const b = new ModuleBuilder();
  const PARAMS = [T.i32, T.i32, T.i64, T.i64, T.i32, T.i32, T.i64, T.i64];
  const consumers = ['value', 'select_i32', 'select_f64', 'if', 'br_if', 'br_if_value'] as const;
  const names: Array<{ name: string; op: OpDef; consumer: string; constRight: boolean }> = [];
  for (const op of CMP_OPS) {
    for (const consumer of consumers) {
      for (const constRight of [false, true]) {
        if (constRight && op.ins.length < 2) continue;
        const name = `${op.name}_${consumer}_${constRight ? 'k' : 'p'}`;
        const t = op.ins[0];
        const args: Node[] = op.ins.map((it, i) => (constRight && i === 1
          ? { k: 'const', t: it, bits: it === 'i32' ? 7 : it === 'i64' ? 7n : it === 'f32' ? BigInt(f32Bits(7)) : f64Bits(7) }
          : { k: 'param', t: it, idx: PARAM_IDX[it][i] }) as Node);
        const cmp: Node = { k: 'op', op, args };
        void t;
        b.func(PARAMS, [T.i32], (c) => {
          switch (consumer) {
            case 'value': emit(c, cmp); break;
            case 'select_i32': c.i32_const(11).i32_const(22); emit(c, cmp); c.select(); break;
            case 'select_f64':
              c.f64_const(1.5).f64_const(-2.5); emit(c, cmp); c.select();
              c.op(Op.i32_trunc_f64_s); break;
            case 'if': emit(c, cmp); c.if_(T.i32).i32_const(33).else_().i32_const(44).end(); break;
            case 'br_if': c.block(); emit(c, cmp); c.br_if(0); c.i32_const(55).return_().end(); c.i32_const(66); break;
            case 'br_if_value': c.block(T.i32).i32_const(77); emit(c, cmp); c.br_if(0); c.drop().i32_const(88).end(); break;
          }
          c.end();
        }, { export: name });
        names.push({ name, op, consumer, constRight });
      }
    }
  }
  const bytes = b.build();
  const q = qbInstance(bytes), v = v8Instance(bytes);
  const failures: string[] = [];
  const rnd = prng(99);
  let calls = 0;
  for (const { name, op } of names) {
    const vals = { i32: EDGE_I32, i64: EDGE_I64, f32: EDGE_F32, f64: EDGE_F64 }[op.ins[0]];
    for (let k = 0; k < 40; k++) {
      const args = randomArgs(rnd);
      const pi = PARAM_IDX[op.ins[0]];
      for (const idx of pi) {
        const raw = vals[Math.floor(rnd() * vals.length)];
        const t = op.ins[0];
        args[idx] = t === 'i32' ? raw : t === 'i64' ? raw : t === 'f32' ? Number(BigInt.asIntN(32, BigInt(raw))) : S64(BigInt(raw));
      }
      if (k % 5 === 0) args[pi[1]] = args[pi[0]]; // equal operands
      calls++;
      const a = outcome(() => q[name](...args)), c = outcome(() => v[name](...args));
      if (show(a.value) !== show(c.value) || a.kind !== c.kind) failures.push(`${name}(${args.map(show).join(', ')}): Quickbeam ${show(a.value)}, V8 ${show(c.value)}`);
    }
  }
  assert.ok(calls > 5000, String(calls));
  assert.ok(failures.length === 0, `${failures.length} mismatches:\n${failures.slice(0, 15).join('\n')}`);
});

test.run();
