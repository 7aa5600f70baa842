// Declared locals zeroed where the straight-line prefix ends (compile/local-zeroing.ts), end to end through
// generated code: each probe first runs `dirty`, whose frame leaves non-zero words where the probe's frame will
// be, so a local that is neither written nor zeroed reads garbage (or a NaN: then the float conversion traps).
// Locals read before the prefix writes them, written by it, and left for the zeroing, of every type; prefixes
// ended by if, loop, block end, br_if, return, memory.grow and an out-of-bounds trap, and prefixes that go on
// through calls (also recursive ones) or end at once; a function with reference-typed locals (never deferred).
// Quickbeam's results are compared with V8's and with values computed here.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { qb, v8Instance } from './helpers/engines.js';
import { wat } from './helpers/wat.js';

const dirtyLocals = Array.from({ length: 24 }, (_, k) => `(local $d${k} i64)`).join(' ');
const dirtySets = Array.from({ length: 24 }, (_, k) => `(local.set $d${k} (i64.add (local.get $v) (i64.const ${k * 7919})))`).join('\n    ');
const dirtySum = Array.from({ length: 23 }, () => 'i64.add').join(' ');
const dirtyGets = Array.from({ length: 24 }, (_, k) => `local.get $d${k}`).join(' ');

const source = `
(module
  (memory 1 2)
  (func $dirty (param $v i64) (result i64) ${dirtyLocals}
    ${dirtySets}
    ${dirtyGets} ${dirtySum})
  (func $id (param i32) (result i32) (local.get 0))

  ;; every type, read before the prefix writes it (zero), written by it, and left for the zeroing
  (func $probe (param $k i32) (result f64)
    (local $a i32) (local $b i64) (local $c f32) (local $d f64) (local $v v128) (local $e i32)
    (local.set $b (i64.add (i64.extend_i32_u (local.get $a)) (i64.const 5)))
    (local.set $e (i32.add (i32.wrap_i64 (i64x2.extract_lane 1 (local.get $v))) (i32.const 11)))
    (if (local.get $k) (then (local.set $a (i32.const 7)) (local.set $v (v128.const i32x4 1 2 3 4))))
    (f64.add
      (f64.add (f64.convert_i64_s (i64.add (local.get $b) (i64.extend_i32_u (local.get $a))))
               (f64.promote_f32 (f32.add (local.get $c) (f32.const 1))))
      (f64.add (f64.add (local.get $d) (f64.convert_i32_s (local.get $e)))
               (f64.convert_i32_s (i32x4.extract_lane 3 (local.get $v))))))
  (func (export "probe") (param $k i32) (result f64)
    (drop (call $dirty (i64.const -6148914691236517206)))
    (call $probe (local.get $k)))

  ;; the prefix goes on through calls: $x written from a call, $y left for the zeroing at the loop
  (func $calls (param $n i32) (result i32) (local $x i32) (local $y i32) (local $z i64)
    (local.set $x (call $id (i32.add (local.get $n) (call $id (i32.const 3)))))
    (drop (call $dirty (i64.const 77)))
    (loop $l
      (local.set $y (i32.add (local.get $y) (local.get $x)))
      (local.set $z (i64.add (local.get $z) (i64.const 1)))
      (br_if $l (i32.lt_u (i32.wrap_i64 (local.get $z)) (i32.const 3))))
    (i32.add (local.get $y) (i32.wrap_i64 (local.get $z))))
  (func (export "calls") (param $n i32) (result i32)
    (drop (call $dirty (i64.const -1)))
    (call $calls (local.get $n)))

  ;; recursion inside the prefix: the deeper frames of the same function leave their values below
  (func $rec (export "rec") (param $n i32) (result i64) (local $acc i64) (local $t i64)
    (local.set $acc (i64.extend_i32_u (local.get $n)))
    (local.set $t (i64.mul (local.get $t) (i64.const 3)))
    (if (result i64) (i32.eqz (local.get $n))
      (then (i64.add (local.get $acc) (local.get $t)))
      (else (i64.add (i64.add (call $rec (i32.sub (local.get $n) (i32.const 1))) (local.get $acc)) (local.get $t)))))

  ;; prefixes ended by other operators
  (func $blockend (param $k i32) (result i32) (local $a i32) (local $b i32)
    (block (local.set $a (i32.add (local.get $k) (i32.const 1))))
    (i32.add (local.get $a) (local.get $b)))
  (func $brif (param $k i32) (result i32) (local $a i32) (local $b i32)
    (block $out (local.set $a (i32.const 9)) (br_if $out (local.get $k)) (local.set $b (i32.const 100)))
    (i32.add (local.get $a) (local.get $b)))
  (func $ret (param $k i32) (result i32) (local $a i32) (local $b i32)
    (local.set $a (i32.const 4))
    (if (local.get $k) (then (return (i32.add (local.get $a) (local.get $b)))))
    (i32.sub (local.get $b) (local.get $a)))
  (func $grow (param $k i32) (result i32) (local $a i32) (local $b i32)
    (local.set $a (memory.grow (i32.const 0)))
    (i32.add (local.get $a) (local.get $b)))
  (func $oob (param $p i32) (result i32) (local $a i32) (local $b i32)
    (local.set $a (i32.load (local.get $p)))
    (i32.add (local.get $a) (local.get $b)))
  (func $first (param $k i32) (result i32) (local $a i32) (local $b i64)
    (loop (nop))
    (i32.add (local.get $a) (i32.wrap_i64 (local.get $b))))
  (func (export "ends") (param $k i32) (result i32)
    (local $s i32)
    (drop (call $dirty (i64.const 12345)))
    (local.set $s (call $blockend (local.get $k)))
    (drop (call $dirty (i64.const 12345)))
    (local.set $s (i32.add (local.get $s) (i32.mul (call $brif (local.get $k)) (i32.const 10))))
    (drop (call $dirty (i64.const 12345)))
    (local.set $s (i32.add (local.get $s) (i32.mul (call $ret (local.get $k)) (i32.const 1000))))
    (drop (call $dirty (i64.const 12345)))
    (local.set $s (i32.add (local.get $s) (i32.mul (call $grow (local.get $k)) (i32.const 100000))))
    (drop (call $dirty (i64.const 12345)))
    (local.set $s (i32.add (local.get $s) (i32.mul (call $first (local.get $k)) (i32.const 1000000))))
    (drop (call $dirty (i64.const 12345)))
    (i32.add (local.get $s) (call $oob (i32.mul (local.get $k) (i32.const 4)))))
  (func (export "oob") (param $p i32) (result i32)
    (drop (call $dirty (i64.const 12345)))
    (call $oob (local.get $p)))

  ;; reference-typed locals: zeroed (null) in the prologue whatever the prefix does
  (func $refs (param $k i32) (result i32) (local $a i32) (local $r externref) (local $f funcref)
    (drop (call $id (local.get $k)))
    (local.set $a (i32.add (local.get $k) (i32.const 2)))
    (i32.add (local.get $a) (i32.add (ref.is_null (local.get $r)) (ref.is_null (local.get $f)))))
  (func (export "refs") (param $k i32) (result i32)
    (drop (call $dirty (i64.const -1)))
    (call $refs (local.get $k)))
)`;

const bytes = wat(source, { simd: true, reference_types: true });
const q = new qb.Instance(new qb.Module(bytes), {}).exports as Record<string, (...a: number[]) => number | bigint>;
const v = v8Instance(bytes) as Record<string, (...a: number[]) => number | bigint>;

test('locals of every type: read before the prefix writes them, written by it, zeroed where it ends', () => {
  // k = 0: b = 5, a = 0, c = 0, d = 0, e = 11, v = 0 -> 5 + 1 + 0 + 11 + 0; k = 1: a = 7, lane 3 = 4
  assert.is(q.probe(0), 17);
  assert.is(q.probe(1), 17 + 7 + 4);
  for (const k of [0, 1, 2]) assert.is(q.probe(k), v.probe(k), `probe(${k})`);
});

test('the prefix goes on through calls, also recursive ones', () => {
  for (const n of [0, 1, 5, 1000]) {
    assert.is(q.calls(n), 3 * (n + 3) + 3, `calls(${n})`);
    assert.is(q.calls(n), v.calls(n));
  }
  for (const n of [0, 1, 10, 200]) assert.is(q.rec(n), BigInt((n * (n + 1)) / 2), `rec(${n})`);
});

test('prefixes ended by a block end, br_if, return, memory.grow, a loop and a trap', () => {
  // k = 0: blockend 1, brif 109 -> 1090, ret -4 -> -4000, grow 1 -> 100000, first 0, oob [0]
  for (const k of [0, 1, 3]) assert.is(q.ends(k), v.ends(k), `ends(${k})`);
  const k0 = q.ends(0) as number;
  assert.is(k0 - (v.oob(0) as number), 1 + 1090 - 4000 + 100000);
  assert.throws(() => q.oob(65533), (e: unknown) => e instanceof qb.RuntimeError && /out of bounds/.test((e as Error).message));
});

test('reference-typed locals are null whatever the prefix does', () => {
  for (const k of [0, 5]) assert.is(q.refs(k), k + 2 + 2);
});

test.run();
