// v128 values in frames: 16-byte value-stack slots, locals and params mixed with 8-byte ones, multi-value
// calls and returns, branches whose carried values land at positions of other sizes, spills under
// register pressure, select, globals, call_indirect. Each export folds its v128 results into an i64 (v128
// cannot cross the JS boundary), and Quickbeam must agree with Node's V8 on every input.
//
// Run: npx tsc -p . ; node dist/test/simd-frames.test.js

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { wat } from './helpers/wat.js';
import { execFileSync } from 'node:child_process';
import { qbInstance, v8Instance, outcome, showOutcome, prng } from './helpers/engines.js';

const WAT = String.raw`
(module
  (type $mixT (func (param i32 v128 i64 v128 f64) (result v128 i32 v128 f64)))
  (table 2 funcref)
  (elem (i32.const 0) $mix $mix2)
  (global $g (mut v128) (v128.const i32x4 1 2 3 4))
  (global $gi (mut i32) (i32.const 7))

  ;; fold a v128 into an i64
  (func $h (param v128) (result i64)
    (i64.add (i64x2.extract_lane 0 (local.get 0))
             (i64.mul (i64x2.extract_lane 1 (local.get 0)) (i64.const 1000003))))

  (func $mix (type $mixT)
    (i32x4.add (local.get 1) (i32x4.splat (local.get 0)))
    (i32.add (local.get 0) (i32.wrap_i64 (local.get 2)))
    (i64x2.add (local.get 3) (i64x2.splat (local.get 2)))
    (f64.add (local.get 4) (f64.convert_i32_s (local.get 0))))

  (func $mix2 (type $mixT)
    (local.get 3) (i32.mul (local.get 0) (i32.const 3)) (local.get 1) (f64.neg (local.get 4)))

  (func (export "call_mix") (param $a i32) (param $b i64) (result i64)
    (local $r0 v128) (local $r1 i32) (local $r2 v128) (local $r3 f64)
    (call $mix (local.get $a) (i32x4.splat (i32.const 11)) (local.get $b)
               (v128.const i64x2 0x1111 0x2222) (f64.const 2.5))
    (local.set $r3) (local.set $r2) (local.set $r1) (local.set $r0)
    (i64.add (i64.add (call $h (local.get $r0)) (call $h (local.get $r2)))
             (i64.add (i64.extend_i32_u (local.get $r1)) (i64.trunc_f64_s (local.get $r3)))))

  (func (export "call_indirect") (param $k i32) (param $a i32) (result i64)
    (local $r0 v128) (local $r1 i32) (local $r2 v128) (local $r3 f64)
    (call_indirect (type $mixT) (local.get $a) (i32x4.splat (i32.const -5)) (i64.const 77)
               (v128.const i32x4 9 8 7 6) (f64.const -1.5) (local.get $k))
    (local.set $r3) (local.set $r2) (local.set $r1) (local.set $r0)
    (i64.add (i64.add (call $h (local.get $r0)) (call $h (local.get $r2)))
             (i64.add (i64.extend_i32_u (local.get $r1)) (i64.trunc_f64_s (local.get $r3)))))

  ;; mixed declared locals: offsets of 8- and 16-byte locals interleaved
  (func (export "locals") (param $x i32) (result i64)
    (local $a i32) (local $v v128) (local $b i64) (local $w v128) (local $c f32) (local $u v128) (local $d i32)
    (local.set $a (i32.add (local.get $x) (i32.const 1)))
    (local.set $v (i32x4.splat (local.get $a)))
    (local.set $b (i64.const -3))
    (local.set $w (i64x2.splat (local.get $b)))
    (local.set $c (f32.const 1.5))
    (local.set $u (f32x4.splat (local.get $c)))
    (local.set $d (i32.const 100))
    (i64.add
      (i64.add (call $h (local.get $v)) (call $h (local.get $w)))
      (i64.add (call $h (local.get $u))
               (i64.extend_i32_s (i32.add (local.get $a) (local.get $d))))))

  ;; a branch carrying [v128 i32] out of a block whose inside has other-sized values at those positions
  (func (export "branch_mixed") (param $x i32) (result i64)
    (local $r i32)
    (i64.const 5)
    (block (result v128 i32)
      (i32.const 1)
      (i64.const 2)
      (v128.const i32x4 100 200 300 400)
      (i32x4.splat (local.get $x))
      (i32.const 9)
      (br_if 0 (local.get $x))
      (drop) (drop) (drop) (drop) (drop)
      (v128.const i64x2 -1 -2)
      (i32.const 3))
    (local.set $r)
    (call $h)
    (i64.add)
    (i64.add (i64.extend_i32_u (local.get $r))))

  ;; the reverse: carried [i32 i64 v128] land where v128s were
  (func (export "branch_mixed2") (param $x i32) (result i64)
    (local $a i32) (local $b i64)
    (v128.const i32x4 1 1 1 1)
    (block (param v128) (result i32 i64 v128)
      (drop)
      (v128.const i32x4 5 6 7 8)
      (v128.const i32x4 9 9 9 9)
      (v128.const i32x4 3 3 3 3)
      (i32.add (local.get $x) (i32.const 4))
      (i64.extend_i32_s (local.get $x))
      (i32x4.splat (local.get $x))
      (br_if 0 (i32.and (local.get $x) (i32.const 1)))
      (br 0))
    (call $h)
    (i64.add)
    (local.set $b)
    (local.set $a)
    (i64.add (local.get $b) (i64.extend_i32_u (local.get $a))))

  (func (export "br_table") (param $k i32) (result i64)
    (local $r v128)
    (block $out (result i64)
      (block $b2 (result i32 v128)
        (block $b1 (result v128)
          (block $b0 (result i32 v128)
            (i64.const 1)
            (i32.const 42)
            (v128.const i64x2 7 8)
            (br_table $b0 $b2 $b0 (local.get $k)))
          (local.set $r)
          (drop)
          (i64x2.add (local.get $r) (v128.const i64x2 1000 2000))
          (br $b1))
        (local.set $r)
        (br $out (i64.add (i64.const 5) (call $h (local.get $r)))))
      (local.set $r)
      (i64.add (i64.extend_i32_u) (call $h (local.get $r)))))

  ;; a loop whose params are [v128 i32]
  (func (export "loop") (param $n i32) (result i64)
    (v128.const i32x4 0 0 0 0)
    (local.get $n)
    (loop $l (param v128 i32) (result v128 i32)
      (local.set $n)
      (i32x4.add (i32x4.splat (local.get $n)))
      (local.tee $n (i32.sub (local.get $n) (i32.const 1)))
      (br_if $l (local.get $n)))
    (drop)
    (call $h))

  ;; if/else with [v128 i64] results, select on v128
  (func (export "ifelse") (param $x i32) (result i64)
    (local $v v128)
    (if (result v128 i64) (local.get $x)
      (then (i32x4.splat (local.get $x)) (i64.const 10))
      (else (v128.const i32x4 4 3 2 1) (i64.const 20)))
    (i64x2.splat)
    (local.set $v (select (i32.and (local.get $x) (i32.const 2))))
    (i64.add (call $h (local.get $v))
      (call $h (select (result v128) (global.get $g) (i8x16.splat (local.get $x)) (i32.and (local.get $x) (i32.const 4))))))

  (func (export "globals") (param $x i32) (result i64)
    (global.set $g (i32x4.mul (global.get $g) (i32x4.splat (local.get $x))))
    (global.set $gi (i32.add (global.get $gi) (local.get $x)))
    (i64.add (call $h (global.get $g)) (i64.extend_i32_u (global.get $gi))))

  ;; 20 live v128 values (more than the 15 allocatable XMM registers): spills of 16-byte values
  (func (export "pressure") (param $x i32) (result i64)
    (local $v v128)
    (local.set $v (i32x4.splat (local.get $x)))
    (i32x4.add (local.get $v) (v128.const i32x4 1 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 2 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 3 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 4 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 5 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 6 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 7 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 8 0 0 0))
    (f32x4.add (local.get $v) (v128.const i32x4 9 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 10 0 0 0))
    (i32.add (local.get $x) (i32.const 1))
    (i32x4.add (local.get $v) (v128.const i32x4 11 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 12 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 13 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 14 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 15 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 16 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 17 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 18 0 0 0))
    (i32x4.add (local.get $v) (v128.const i32x4 19 0 0 0))
    (i32x4.mul (local.get $v) (v128.const i32x4 20 3 0 0))
    (i64.extend_i32_u (call $id (i32.const 0)))   ;; a call in the middle spills everything
    (local.set $x (i32.wrap_i64))
    (i32x4.add) (i32x4.add) (i32x4.add) (i32x4.add) (i32x4.add)
    (i32x4.add) (i32x4.add) (i32x4.add) (i32x4.add)
    (i32x4.replace_lane 3 (local.get $x))
    (local.set $v) (local.set $x) (local.get $v)
    (i32x4.add) (i32x4.add) (i32x4.add) (i32x4.add) (i32x4.add) (i32x4.add) (i32x4.add) (i32x4.add)
    (i32x4.add) (i32x4.add)
    (i32x4.replace_lane 2 (local.get $x))
    (call $h))

  (func $id (param i32) (result i32) (local.get 0))

  ;; v128 params beyond any register file, and a deep recursion with v128 frames
  (func $many (param v128 i32 v128 i64 v128 f32 v128 f64 v128) (result v128)
    (i32x4.add (local.get 0)
      (i32x4.add (local.get 2)
        (i32x4.add (local.get 4)
          (i32x4.add (local.get 6)
            (i32x4.add (local.get 8)
              (i32x4.replace_lane 0 (v128.const i32x4 0 0 0 0)
                (i32.add (local.get 1)
                  (i32.add (i32.wrap_i64 (local.get 3))
                    (i32.add (i32.trunc_f32_s (local.get 5)) (i32.trunc_f64_s (local.get 7))))))))))))
  (func $rec (param $n i32) (param $v v128) (result v128)
    (if (result v128) (i32.eqz (local.get $n))
      (then (local.get $v))
      (else (i32x4.add (call $rec (i32.sub (local.get $n) (i32.const 1)) (i32x4.add (local.get $v) (local.get $v)))
                       (local.get $v)))))
  (func (export "many") (param $x i32) (result i64)
    (i64.add
      (call $h (call $many (i32x4.splat (local.get $x)) (i32.const 1) (v128.const i32x4 1 2 3 4) (i64.const 2)
                          (v128.const i32x4 5 6 7 8) (f32.const 3.5) (i8x16.splat (local.get $x)) (f64.const 4.5)
                          (i16x8.splat (local.get $x))))
      (call $h (call $rec (i32.and (local.get $x) (i32.const 15)) (i32x4.splat (local.get $x))))))
)`;

let bytes: Uint8Array;

test.before(() => {
  bytes = wat(WAT, { simd: true, multi_value: true, reference_types: true }, { validate: false });
});

const EXPORTS: Array<[string, number]> = [
  ['call_mix', 2], ['call_indirect', 2], ['locals', 1], ['branch_mixed', 1], ['branch_mixed2', 1],
  ['br_table', 1], ['loop', 1], ['ifelse', 1], ['globals', 1], ['pressure', 1], ['many', 1],
];

test('v128 frames, calls and branches agree with V8', () => {
  const q = qbInstance(bytes);
  const v = v8Instance(bytes);
  const rnd = prng(1234);
  const int = (k: number): number => (k < 4 ? [0, 1, 2, 3][k] : Math.floor(rnd() * 2 ** 32) | 0);
  for (const [name, n] of EXPORTS) {
    for (let k = 0; k < 12; k++) {
      let xs: unknown[] = [int(k), int(k)].slice(0, n);
      if (name === 'call_mix') xs = [xs[0], BigInt(xs[1] as number)];
      if (name === 'call_indirect') xs = [(xs[0] as number) & 1, xs[1]];
      if (name === 'loop' || name === 'many') xs = [((xs[0] as number) & 63) + 1];
      const a = outcome(() => q[name](...xs));
      const b = outcome(() => v[name](...xs));
      assert.is(showOutcome(a), showOutcome(b), `${name}(${xs.join(', ')})`);
    }
  }
});

test('JS API: v128 in an exported or imported signature is a TypeError at call time', () => {
  const b = wat(`(module
    (import "m" "f" (func $f (param i32) (result v128)))
    (import "m" "g" (func $g (param v128)))
    (func (export "ret") (result v128) (v128.const i32x4 1 2 3 4))
    (func (export "arg") (param v128) (result i32) (i32x4.extract_lane 0 (local.get 0)))
    (func (export "callf") (result i32) (i32x4.extract_lane 0 (call $f (i32.const 1))))
    (func (export "callg") (call $g (v128.const i32x4 0 0 0 0))))`, { simd: true }, { validate: false });
  let called = 0;
  const imports = { m: { f: () => { called++; return 0; }, g: () => { called++; } } };
  const q = qbInstance(b, imports);
  const v = v8Instance(b, imports);
  for (const name of ['ret', 'arg', 'callf', 'callg']) {
    const a = outcome(() => q[name](1));
    const e = outcome(() => v[name](1));
    assert.is(a.kind, 'TypeError', `${name}: ${showOutcome(a)}`);
    assert.is(e.kind, 'TypeError', `V8 ${name}: ${showOutcome(e)}`);
  }
  assert.is(called, 0, 'imported JS functions with v128 in their signature are never entered');
});

test('SIMD without SSE4.1: a CompileError naming the reason', () => {
  // QUICKBEAM_CPU_NO is read once per process, so the check runs in a child process.
  const script = `
    import qb from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
    const bytes = new Uint8Array(${JSON.stringify(Array.from(bytes))});
    try { new qb.Module(bytes); console.log('compiled'); }
    catch (e) { console.log(e.constructor.name + ': ' + e.message); }`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, QUICKBEAM_CPU_NO: 'sse41' }, encoding: 'utf8',
  });
  assert.match(out, /^CompileError: SIMD instructions need a CPU with SSE4\.1/);
});

test.run();
