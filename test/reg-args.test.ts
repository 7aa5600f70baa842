// Register arguments of direct calls (compile/reg-args.ts): the first integer/reference and float/v128
// arguments of a `call` to a function of the same module travel in registers, every other way into a function
// keeps the memory convention. Each case runs eagerly, lazily (no direct entries: memory convention only) and
// linked across compile batches, and is compared with V8: many arguments of mixed types beyond the register
// count, arguments permuted between the registers they arrive in (parallel moves with cycles), the same value
// passed twice, call_indirect into a register-argument function (and its signature-mismatch trap),
// return_call with register arguments (deep: constant stack), exports called from JS, a stack overflow in a
// recursion with register arguments (RangeError, as V8), and exceptions thrown through such calls.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { qb, outcome, showOutcome } from './helpers/engines.js';
import { wat as watModule } from './helpers/wat.js';

const wat = (source: string): Uint8Array =>
  watModule(source, { tail_call: true, reference_types: true, simd: true, exceptions: true }, { validate: false, names: true });

// $mix has 9 integer/reference and 9 float/v128 parameters (beyond the 6 + 6 registers), interleaved; its
// result weighs every argument by its position, so a swapped or lost argument changes it.
const MIX_PARAMS = 'i32 f64 i64 f32 v128 i32 funcref f64 i64 externref f32 i32 f64 i64 f32 i32 f64 v128';
const MIX = wat(`(module
  (type $mix_t (func (param ${MIX_PARAMS}) (result f64)))
  (type $two (func (param i64 i64) (result i64)))
  (type $other (func (param i64 f64) (result i64)))
  (tag $boom (param i64 f64 i32))
  (table $tab 4 funcref)
  (elem (table $tab) (i32.const 0) func $mix $swap2 $sum6)
  (func $f0)
  (elem declare func $f0)

  (func $mix (type $mix_t)
    (f64.add
      (f64.add
        (f64.add
          (f64.add (f64.convert_i32_s (local.get 0)) (f64.mul (local.get 1) (f64.const 2)))
          (f64.add (f64.mul (f64.convert_i64_s (local.get 2)) (f64.const 3)) (f64.mul (f64.promote_f32 (local.get 3)) (f64.const 4))))
        (f64.add
          (f64.add (f64.mul (f64.convert_i32_s (i32x4.extract_lane 1 (local.get 4))) (f64.const 5))
                   (f64.mul (f64.convert_i32_s (local.get 5)) (f64.const 6)))
          (f64.add (select (f64.const 7) (f64.const 0) (ref.is_null (local.get 6))) (f64.mul (local.get 7) (f64.const 8)))))
      (f64.add
        (f64.add
          (f64.add (f64.mul (f64.convert_i64_s (local.get 8)) (f64.const 9)) (select (f64.const 10) (f64.const 0) (ref.is_null (local.get 9))))
          (f64.add (f64.mul (f64.promote_f32 (local.get 10)) (f64.const 11)) (f64.mul (f64.convert_i32_s (local.get 11)) (f64.const 12))))
        (f64.add
          (f64.add (f64.mul (local.get 12) (f64.const 13)) (f64.mul (f64.convert_i64_s (local.get 13)) (f64.const 14)))
          (f64.add
            (f64.add (f64.mul (f64.promote_f32 (local.get 14)) (f64.const 15)) (f64.mul (f64.convert_i32_s (local.get 15)) (f64.const 16)))
            (f64.add (f64.mul (local.get 16) (f64.const 17)) (f64.mul (f64x2.extract_lane 1 (local.get 17)) (f64.const 18))))))))

  ;; every argument computed from the seed; the v128s, the references and some constants in between
  (func (export "mix") (param $s i32) (param $x externref) (result f64)
    (call $mix
      (local.get $s) (f64.convert_i32_s (i32.mul (local.get $s) (i32.const 3))) (i64.extend_i32_s (i32.sub (local.get $s) (i32.const 7)))
      (f32.const 1.5) (i32x4.splat (i32.add (local.get $s) (i32.const 11))) (i32.const -4)
      (select (result funcref) (ref.func $f0) (ref.null func) (i32.and (local.get $s) (i32.const 1)))
      (f64.const 0.25) (i64.mul (i64.extend_i32_u (local.get $s)) (i64.const 1000000007)) (local.get $x)
      (f32.convert_i32_s (local.get $s)) (i32.xor (local.get $s) (i32.const 0x55)) (f64.const -3)
      (i64.const -9) (f32.const 0.5) (i32.add (local.get $s) (local.get $s)) (f64.convert_i32_u (local.get $s))
      (f64x2.splat (f64.convert_i32_s (i32.sub (i32.const 0) (local.get $s))))))

  ;; the same through the table: call_indirect enters through the FuncRecord (memory convention)
  (func (export "mixIndirect") (param $s i32) (param $x externref) (param $slot i32) (result f64)
    (call_indirect $tab (type $mix_t)
      (local.get $s) (f64.const 1) (i64.const 2) (f32.const 3) (i32x4.splat (local.get $s)) (i32.const 6)
      (ref.func $f0) (f64.const 8) (i64.const 9) (local.get $x) (f32.const 11) (i32.const 12) (f64.const 13)
      (i64.const 14) (f32.const 15) (i32.const 16) (f64.const 17) (f64x2.splat (f64.const 18))
      (local.get $slot)))

  ;; permutations of the incoming register arguments (a cycle of moves), and one value passed twice
  (func $swap2 (type $two) (i64.sub (i64.mul (local.get 0) (i64.const 1000)) (local.get 1)))
  (func $sum6 (param i64 i64 i64 i64 i64 i64) (result i64)
    (i64.add (i64.add (i64.add (i64.mul (local.get 0) (i64.const 100000)) (i64.mul (local.get 1) (i64.const 10000)))
                      (i64.add (i64.mul (local.get 2) (i64.const 1000)) (i64.mul (local.get 3) (i64.const 100))))
             (i64.add (i64.mul (local.get 4) (i64.const 10)) (local.get 5))))
  (func $rot (param i64 i64 i64 i64 i64 i64) (result i64)
    (i64.add
      (call $sum6 (local.get 5) (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4))
      (i64.add (call $swap2 (local.get 1) (local.get 0)) (call $swap2 (local.get 2) (local.get 2)))))
  (func (export "rot") (param i64 i64 i64 i64 i64 i64) (result i64)
    (call $rot (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5)))
  ;; float registers permuted
  (func $fsub (param f64 f64 f32 f32) (result f64)
    (f64.sub (f64.mul (local.get 0) (f64.const 3)) (f64.add (local.get 1) (f64.promote_f32 (f32.sub (local.get 2) (local.get 3))))))
  (func (export "fswap") (param f64 f64 f32 f32) (result f64)
    (f64.add (call $fsub (local.get 1) (local.get 0) (local.get 3) (local.get 2))
             (call $fsub (local.get 0) (local.get 0) (local.get 2) (local.get 2))))

  ;; return_call with register arguments: swapped every step, deeper than real frames would fit
  (func $tailSwap (param $n i64) (param $a i64) (param $b i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (i64.sub (i64.mul (local.get $a) (i64.const 3)) (local.get $b)))
      (else (return_call $tailSwap (i64.sub (local.get $n) (i64.const 1)) (local.get $b) (i64.add (local.get $a) (i64.const 1))))))
  (func (export "tailSwap") (param i64) (result i64) (call $tailSwap (local.get 0) (i64.const 5) (i64.const 7)))
  ;; return_call to a function that needs more argument space than the caller has (a tail-call frame)
  (func $tailGrow (param $n i64) (result i64)
    (if (result i64) (i64.eqz (local.get $n))
      (then (i64.const 0))
      (else (return_call $tailWide (i64.sub (local.get $n) (i64.const 1)) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 5) (i64.const 6) (i64.const 7) (f64.const 0.5)))))
  (func $tailWide (param i64 i64 i64 i64 i64 i64 i64 i64 f64) (result i64)
    (if (i64.ne (i64.add (local.get 7) (local.get 6)) (i64.const 13)) (then unreachable))
    (if (f64.ne (local.get 8) (f64.const 0.5)) (then unreachable))
    (return_call $tailGrow (local.get 0)))
  (func (export "tailGrow") (param i64) (result i64) (call $tailGrow (local.get 0)))

  ;; a stack overflow in a recursion with register arguments
  (func $down (param i64 f64 i32) (result i64)
    (i64.add (call $down (i64.add (local.get 0) (i64.const 1)) (local.get 1) (local.get 2)) (i64.const 1)))
  (func (export "overflow") (result i64) (call $down (i64.const 0) (f64.const 1) (i32.const 2)))

  ;; exceptions thrown through calls with register arguments (legacy try/catch: Node 20's V8 has it)
  (func $thrower (param $depth i32) (param $v i64) (param $f f64) (result i64)
    (if (i32.eqz (local.get $depth)) (then (throw $boom (local.get $v) (local.get $f) (i32.const 42))))
    (i64.add (call $thrower (i32.sub (local.get $depth) (i32.const 1)) (i64.add (local.get $v) (i64.const 1)) (f64.mul (local.get $f) (f64.const 2)))
             (i64.const 1000)))
  (func (export "catchDeep") (param $depth i32) (result i64)
    (local $r i64)
    (try (result i64)
      (do (call $thrower (local.get $depth) (i64.const 10) (f64.const 1.5)))
      (catch $boom
        (drop)
        (i64.trunc_f64_s)
        (i64.add)))
    (local.set $r)
    ;; a call with register arguments after the landing pad
    (i64.add (local.get $r) (call $swap2 (i64.const 2) (i64.const 1)))))
`);

const CONFIGS: [string, Record<string, unknown>][] = [
  ['eager', {}],
  ['lazy', { lazy: true }],
  ['one function per batch, two threads', { threads: 2, batchBytes: 1 }],
];

function instances(options: Record<string, unknown>): [any, any] {
  const q = new qb.Instance(new qb.Module(MIX, options), {}).exports;
  const v = new WebAssembly.Instance(new WebAssembly.Module(MIX as BufferSource), {}).exports;
  return [q, v];
}

function same(name: string, q: () => unknown, v: () => unknown): void {
  const a = outcome(q), b = outcome(v);
  assert.is(showOutcome(a), showOutcome(b), name);
}

for (const [label, options] of CONFIGS) {
  test(`${label}: 18 mixed arguments (i32 i64 f32 f64 v128 funcref externref) direct and through the table`, () => {
    const [q, v] = instances(options);
    for (const s of [0, 1, 2, 77, -5, 123456]) {
      for (const x of [null, {}]) {
        same(`mix(${s})`, () => q.mix(s, x), () => v.mix(s, x));
        same(`mixIndirect(${s}, 0)`, () => q.mixIndirect(s, x, 0), () => v.mixIndirect(s, x, 0));
      }
    }
    // a different signature in the slot traps like V8 (RuntimeError), the instance keeps working
    const bad = outcome(() => q.mixIndirect(1, null, 1));
    assert.is(bad.kind, 'RuntimeError', showOutcome(bad));
    assert.is(showOutcome(bad), showOutcome(outcome(() => v.mixIndirect(1, null, 1))));
    same('mix after the trap', () => q.mix(3, null), () => v.mix(3, null));
  });

  test(`${label}: permuted and repeated register arguments`, () => {
    const [q, v] = instances(options);
    same('rot', () => q.rot(1n, 2n, 3n, 4n, 5n, 6n), () => v.rot(1n, 2n, 3n, 4n, 5n, 6n));
    same('rot big', () => q.rot(-1n, 2n ** 40n, 7n, -8n, 9n, 2n ** 62n), () => v.rot(-1n, 2n ** 40n, 7n, -8n, 9n, 2n ** 62n));
    same('fswap', () => q.fswap(1.25, -7.5, 3.5, 0.25), () => v.fswap(1.25, -7.5, 3.5, 0.25));
    assert.is(q.rot(1n, 2n, 3n, 4n, 5n, 6n), 612345n + (2000n - 1n) + (3000n - 3n));
  });

  test(`${label}: return_call with register arguments, in place and through a tail-call frame`, () => {
    const [q, v] = instances(options);
    for (const n of [0n, 1n, 2n, 7n, 1_000_000n]) same(`tailSwap(${n})`, () => q.tailSwap(n), () => v.tailSwap(n));
    for (const n of [0n, 1n, 5n, 300_000n]) same(`tailGrow(${n})`, () => q.tailGrow(n), () => v.tailGrow(n));
  });

  test(`${label}: deep recursion with register arguments overflows the stack as in V8 (RangeError)`, () => {
    const [q, v] = instances(options);
    const o = outcome(() => q.overflow());
    assert.is(showOutcome(o), showOutcome(outcome(() => v.overflow())));
    assert.is(o.kind, 'RangeError', showOutcome(o));
    assert.is(q.tailSwap(3n), 17n, 'still usable'); // (3,5,7) (2,7,6) (1,6,8) (0,8,7): 8*3 - 7
    const again = outcome(() => q.overflow());
    assert.is(again.kind, 'RangeError', showOutcome(again));
  });

  test(`${label}: exceptions thrown through calls with register arguments`, () => {
    const [q, v] = instances(options);
    for (const d of [0, 1, 5, 100]) same(`catchDeep(${d})`, () => q.catchDeep(d), () => v.catchDeep(d));
    // depth 5: the payload is (10 + 5, 1.5 * 2^5, 42): 15 + 48 + 1999
    assert.is(q.catchDeep(5), 15n + 48n + 1999n);
  });
}

test.run();
