// Register arguments (compile/reg-args.ts): the first integer/reference and float/v128 arguments of a `call` to a
// function of the same module, and of call_indirect, call_ref and calls of imports (through the FuncRecord's
// register entry), travel in registers; entry stubs, tail calls through records and lazily compiled modules' own
// calls keep the memory convention, as does all lazily compiled code. Each case runs eagerly, lazily (no direct
// entries: the memory convention, and adapters where eager code calls lazy code) and linked across compile batches, and is compared with V8: many arguments of mixed types beyond the register
// count, arguments permuted between the registers they arrive in (parallel moves with cycles), the same value
// passed twice, call_indirect into a register-argument function (and its signature-mismatch trap),
// return_call with register arguments (deep: constant stack), exports called from JS, a stack overflow in a
// recursion with register arguments (RangeError, as V8), and exceptions thrown through such calls; then (second
// part) call_indirect to own, imported JS and other instances' functions, call_ref, and the traps.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { qb, outcome, showOutcome } from './helpers/engines.js';
import { wat as watModule } from './helpers/wat.js';
import { Code, ModuleBuilder, Op, T } from './helpers/wasm-builder.js';
import v8 from 'node:v8';

// Node 20's V8 has typed function references (call_ref's oracle) behind a flag.
if (Number(process.versions.node.split('.')[0]) < 22) v8.setFlagsFromString('--experimental-wasm-typed-funcref');

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

  ;; the same through the table: call_indirect enters through the FuncRecord's register entry
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

// ------------------------------------------------------------------------------------------------------------
// Register arguments of call_indirect, call_ref and calls of imports: they enter through the FuncRecord's
// register entry (FUNCREC_REG_CODE), which every function that can be in a table has: an eagerly compiled
// function's own (it reloads its instance's memory registers), a lazily compiled module's adapter per type,
// a host function's thunk adapter. Each case is compared with V8 and with the value computed here.

// 16 parameters, four of each of i32 i64 f32 f64 (beyond the 6 + 6 registers), no v128 so that JS can be one.
const WIDE_PARAMS = 'i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64 i32 i64 f32 f64';
const WIDE_TYPES = WIDE_PARAMS.split(' ');

/** The arguments made from seed $s (in wat) and the same values in JS (i64 as BigInt). */
function wideArgsWat(seed: string): string {
  return WIDE_TYPES.map((t, k) => {
    switch (t) {
      case 'i32': return `(i32.add (i32.mul ${seed} (i32.const ${k + 1})) (i32.const ${k}))`;
      case 'i64': return `(i64.add (i64.mul (i64.extend_i32_s ${seed}) (i64.const 1000003)) (i64.const ${k}))`;
      case 'f32': return `(f32.add (f32.mul (f32.convert_i32_s ${seed}) (f32.const 0.5)) (f32.const ${k}))`;
      default: return `(f64.sub (f64.mul (f64.convert_i32_s ${seed}) (f64.const 0.25)) (f64.const ${k}))`;
    }
  }).join(' ');
}
function wideArgsJs(s: number): Array<number | bigint> {
  return WIDE_TYPES.map((t, k) => {
    switch (t) {
      case 'i32': return (Math.imul(s, k + 1) + k) | 0;
      case 'i64': return BigInt(s) * 1000003n + BigInt(k);
      case 'f32': return Math.fround(Math.fround(s * 0.5) + k);
      default: return s * 0.25 - k;
    }
  });
}
/** sum over k of (k + w) * arg k, left to right, as f64 (wat body of a $wide function; JS below). */
function weightedWat(w: number): string {
  let acc = '(f64.const 0)';
  WIDE_TYPES.forEach((t, k) => {
    const x = t === 'i32' ? `(f64.convert_i32_s (local.get ${k}))` : t === 'i64' ? `(f64.convert_i64_s (local.get ${k}))`
      : t === 'f32' ? `(f64.promote_f32 (local.get ${k}))` : `(local.get ${k})`;
    acc = `(f64.add ${acc} (f64.mul ${x} (f64.const ${k + w})))`;
  });
  return acc;
}
function weightedJs(args: Array<number | bigint>, w: number): number {
  let acc = 0;
  args.forEach((x, k) => { acc += Number(x) * (k + w); });
  return acc;
}
/** The JS import: weights k + 3, plus 5000. */
const hostWide = (...args: Array<number | bigint>): number => weightedJs(args, 3) + 5000;

// P: the other instance. Its memory holds 99 at 0; its functions add 1000 x that byte (so they must run with P's
// memory registers, which their register entry loads), and its table holds them.
const PEER = wat(`(module
  (type $wide (func (param ${WIDE_PARAMS}) (result f64)))
  (memory 1)
  (data (i32.const 0) "\\63")
  (table (export "tab") 4 funcref)
  (elem (i32.const 0) func $w1 $w2)
  (func $w1 (export "wide") (type $wide)
    (f64.add ${weightedWat(1)} (f64.mul (f64.convert_i32_u (i32.load8_u (i32.const 0))) (f64.const 1000))))
  (func $w2 (type $wide)
    (f64.add ${weightedWat(2)} (f64.mul (f64.convert_i32_u (i32.load8_u (i32.const 0))) (f64.const 2000)))))
`);

// M: byte 7 at 0 of its own memory. Its table: 0 its own $wide function, 1 the JS import, 2 P's exported
// function (imported), 3 $small, 4 $rec (recursion through the table), 5 $thrower, 6 $wide of another
// signature index... (a different type), 7 null.
const MAIN = wat(`(module
  (type $wide (func (param ${WIDE_PARAMS}) (result f64)))
  (type $small (func (param i64 f64 i32) (result i64)))
  (import "env" "host" (func $host (type $wide)))
  (import "env" "peer" (func $peer (type $wide)))
  (import "env" "peerTab" (table $peerTab 4 funcref))
  (tag $boom (param i64 f64 i32))
  (memory 1)
  (data (i32.const 0) "\\07")
  (table $t 8 funcref)
  (elem (table $t) (i32.const 0) func $own $host $peer $small $rec $thrower $count)
  (func $own (type $wide)
    (f64.add ${weightedWat(0)} (f64.mul (f64.convert_i32_u (i32.load8_u (i32.const 0))) (f64.const 1000))))
  (func $small (type $small)
    (i64.add (i64.mul (local.get 0) (i64.const 3)) (i64.add (i64.trunc_f64_s (local.get 1)) (i64.extend_i32_s (local.get 2)))))

  (func (export "callWide") (param $slot i32) (param $s i32) (result f64)
    (call_indirect $t (type $wide) ${wideArgsWat('(local.get $s)')} (local.get $slot)))
  (func (export "callPeerTab") (param $slot i32) (param $s i32) (result f64)
    (call_indirect $peerTab (type $wide) ${wideArgsWat('(local.get $s)')} (local.get $slot)))
  ;; direct calls of imports go through the record's register entry too
  (func (export "callHost") (param $s i32) (result f64) (call $host ${wideArgsWat('(local.get $s)')}))
  (func (export "callPeer") (param $s i32) (result f64) (call $peer ${wideArgsWat('(local.get $s)')}))
  ;; the wrong type for the slot (a signature mismatch), or any slot of $small's type
  (func (export "callSmall") (param $slot i32) (param $a i64) (result i64)
    (call_indirect $t (type $small) (local.get $a) (f64.const 2.5) (i32.const -3) (local.get $slot)))

  ;; recursion through the table: a countdown whose arguments rotate (a lost or swapped one changes the sum),
  ;; and one without end (stack overflow)
  (func $count (type $small)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.add (i64.trunc_f64_s (local.get 1)) (i64.extend_i32_s (local.get 2))))
      (else (i64.add (local.get 0)
        (call_indirect $t (type $small) (i64.sub (local.get 0) (i64.const 1)) (f64.add (local.get 1) (f64.const 1))
          (i32.add (local.get 2) (i32.const 2)) (i32.const 6))))))
  (func (export "count") (param i64) (result i64) (call_indirect $t (type $small) (local.get 0) (f64.const 0.5) (i32.const 1) (i32.const 6)))
  (func $rec (type $small)
    (i64.add (call_indirect $t (type $small) (i64.add (local.get 0) (i64.const 1)) (local.get 1) (local.get 2) (i32.const 4)) (i64.const 1)))
  (func (export "overflow") (result i64) (call_indirect $t (type $small) (i64.const 0) (f64.const 1) (i32.const 2) (i32.const 4)))

  ;; an exception thrown through indirect calls with register arguments, caught by the caller
  (func $thrower (type $small)
    (if (i32.eqz (local.get 2)) (then (throw $boom (local.get 0) (local.get 1) (i32.const 42))))
    (i64.add (call_indirect $t (type $small) (i64.add (local.get 0) (i64.const 1)) (f64.mul (local.get 1) (f64.const 2))
               (i32.sub (local.get 2) (i32.const 1)) (i32.const 5))
             (i64.const 1000)))
  (func (export "catchIndirect") (param $depth i32) (result i64)
    (try (result i64)
      (do (call_indirect $t (type $small) (i64.const 10) (f64.const 1.5) (local.get $depth) (i32.const 5)))
      (catch $boom (drop) (i64.trunc_f64_s) (i64.add))))
)
`);

/** M and P on one engine: P first (its function and table are M's imports). */
function linked(engine: any, mOptions: Record<string, unknown> | undefined, pOptions: Record<string, unknown> | undefined): any {
  const mk = (bytes: Uint8Array, o: Record<string, unknown> | undefined) => (o === undefined ? new engine.Module(bytes) : new engine.Module(bytes, o));
  const p = new engine.Instance(mk(PEER, pOptions), {}).exports;
  return new engine.Instance(mk(MAIN, mOptions), { env: { host: hostWide, peer: p.wide, peerTab: p.tab } }).exports;
}

const LINK_CONFIGS: [string, Record<string, unknown>, Record<string, unknown>][] = [
  ['eager', {}, {}],
  ['lazy', { lazy: true }, { lazy: true }],
  ['one function per batch, two threads', { threads: 2, batchBytes: 1 }, { threads: 2, batchBytes: 1 }],
  ['eager caller, lazy other instance', {}, { lazy: true }],
  ['lazy caller, eager other instance', { lazy: true }, {}],
];

for (const [label, mOptions, pOptions] of LINK_CONFIGS) {
  test(`${label}: call_indirect with 16 mixed arguments to an own function, a JS import, another instance's function`, () => {
    // (a fresh instance each time: in the lazy configurations the callee is first reached through the table)
    for (const slot of [0, 1, 2]) {
      const q = linked(qb, mOptions, pOptions), v = linked(WebAssembly, undefined, undefined);
      for (const s of [3, 0, -1, 77, 123456]) {
        same(`callWide(${slot}, ${s})`, () => q.callWide(slot, s), () => v.callWide(slot, s));
        const want = slot === 0 ? weightedJs(wideArgsJs(s), 0) + 7000 : slot === 1 ? hostWide(...wideArgsJs(s)) : weightedJs(wideArgsJs(s), 1) + 99000;
        assert.is(q.callWide(slot, s), want, `callWide(${slot}, ${s}) computed here`);
      }
    }
  });

  test(`${label}: call_indirect into another instance's table, and direct calls of imports`, () => {
    const q = linked(qb, mOptions, pOptions), v = linked(WebAssembly, undefined, undefined);
    for (const s of [5, -9, 1000]) {
      for (const slot of [1, 0]) same(`callPeerTab(${slot}, ${s})`, () => q.callPeerTab(slot, s), () => v.callPeerTab(slot, s));
      assert.is(q.callPeerTab(1, s), weightedJs(wideArgsJs(s), 2) + 198000, `callPeerTab(1, ${s}) computed here`);
      same(`callHost(${s})`, () => q.callHost(s), () => v.callHost(s));
      same(`callPeer(${s})`, () => q.callPeer(s), () => v.callPeer(s));
      assert.is(q.callPeer(s), weightedJs(wideArgsJs(s), 1) + 99000, `callPeer(${s}) computed here`);
    }
    // P's table holds nothing at 2 and 3, and has no slot 4
    for (const slot of [2, 4]) {
      const o = outcome(() => q.callPeerTab(slot, 1));
      assert.is(o.kind, 'RuntimeError', showOutcome(o));
      assert.is(showOutcome(o), showOutcome(outcome(() => v.callPeerTab(slot, 1))));
    }
  });

  test(`${label}: call_indirect traps: signature mismatch, null entry, out of bounds; then works again`, () => {
    const q = linked(qb, mOptions, pOptions), v = linked(WebAssembly, undefined, undefined);
    for (const slot of [0, 1, 2, 7, 8, 100, -1]) {
      const o = outcome(() => q.callSmall(slot, 5n));
      assert.is(o.kind, 'RuntimeError', `slot ${slot}: ${showOutcome(o)}`);
      assert.is(showOutcome(o), showOutcome(outcome(() => v.callSmall(slot, 5n))), `slot ${slot}`);
    }
    for (const slot of [3, 6]) same(`callSmall(${slot})`, () => q.callSmall(slot, 5n), () => v.callSmall(slot, 5n));
    assert.is(q.callSmall(3, 5n), 15n + 2n - 3n);
    same('callWide after the traps', () => q.callWide(0, 4), () => v.callWide(0, 4));
  });

  test(`${label}: recursion through call_indirect (deep, then a stack overflow) and exceptions through it`, () => {
    const q = linked(qb, mOptions, pOptions), v = linked(WebAssembly, undefined, undefined);
    for (const n of [0n, 1n, 10n, 5000n]) same(`count(${n})`, () => q.count(n), () => v.count(n));
    // n + (n - 1) + ... + 1, then trunc(0.5 + n) + 1 + 2n
    assert.is(q.count(100n), 5050n + 100n + 1n + 200n);
    const o = outcome(() => q.overflow());
    assert.is(o.kind, 'RangeError', showOutcome(o));
    assert.is(showOutcome(o), showOutcome(outcome(() => v.overflow())));
    assert.is(q.count(3n), 6n + 3n + 1n + 6n, 'still usable');
    for (const d of [0, 1, 6, 200]) same(`catchIndirect(${d})`, () => q.catchIndirect(d), () => v.catchIndirect(d));
    // depth 6: the payload is (10 + 6, 1.5 * 2^6, 42), caught after 6 frames that never add their 1000
    assert.is(q.catchIndirect(6), 16n + 96n);
  });
}

// call_ref (wabt cannot write it: built with the test module builder). Type 0 is $wide; func 0 the JS import,
// func 1 a $wide function of the module (memory byte 0 is 7); viaOwn(s), viaHost(s), viaNull(s): call_ref $wide
// with the arguments from s and ref.func 1, ref.func 0 (the import), ref.null. (No typed block or select: Node
// 20's V8 reads their type encoding as another proposal's.)
function callRefModule(): Uint8Array {
  const b = new ModuleBuilder();
  const wideT: T[] = WIDE_TYPES.map((t) => (t === 'i32' ? T.i32 : t === 'i64' ? T.i64 : t === 'f32' ? T.f32 : T.f64));
  const W = b.type(wideT, [T.f64]);
  b.importFunc('env', 'host', wideT, [T.f64]);
  b.memory({ min: 1 });
  b.data({ mode: 'active', offset: new Code().op(Op.i32_const).s(0), bytes: [7] });
  const own = b.func(wideT, [T.f64], (c) => {
    c.op(Op.f64_const, ...f64Le(0));
    wideT.forEach((t, k) => {
      c.op(Op.local_get).u(k);
      if (t === T.i32) c.op(Op.f64_convert_i32_s);
      else if (t === T.i64) c.op(Op.f64_convert_i64_s);
      else if (t === T.f32) c.op(Op.f64_promote_f32);
      c.op(Op.f64_const, ...f64Le(k + 4)).op(Op.f64_mul).op(Op.f64_add);
    });
    c.op(Op.i32_const).s(0).mem(Op.i32_load8_u).op(Op.f64_convert_i32_u).op(Op.f64_const, ...f64Le(1000)).op(Op.f64_mul).op(Op.f64_add);
    c.op(Op.end);
  }, { type: W });
  const refs: Array<[string, (c: Code) => unknown]> = [
    ['viaOwn', (c) => c.op(Op.ref_func).u(own)],
    ['viaHost', (c) => c.op(Op.ref_func).u(0)],
    ['viaNull', (c) => c.op(Op.ref_null).u(W)],
  ];
  for (const [name, ref] of refs) {
    b.func([T.i32], [T.f64], (c) => {
      wideT.forEach((t, k) => {
        c.op(Op.local_get).u(0);
        if (t === T.i32) c.op(Op.i32_const).s(k + 1).op(Op.i32_mul).op(Op.i32_const).s(k).op(Op.i32_add);
        else if (t === T.i64) c.op(Op.i64_extend_i32_s).op(Op.i64_const).s(1000003).op(Op.i64_mul).op(Op.i64_const).s(k).op(Op.i64_add);
        else if (t === T.f32) c.op(Op.f32_convert_i32_s).op(Op.f32_const, ...f32Le(0.5)).op(Op.f32_mul).op(Op.f32_const, ...f32Le(k)).op(Op.f32_add);
        else c.op(Op.f64_convert_i32_s).op(Op.f64_const, ...f64Le(0.25)).op(Op.f64_mul).op(Op.f64_const, ...f64Le(k)).op(Op.f64_sub);
      });
      ref(c);
      c.op(0x14).u(W).op(Op.end); // call_ref W
    }, { export: name });
  }
  b.elem({ mode: 'declarative', funcs: [0, own] });
  return b.build();
}

function f64Le(x: number): number[] { const d = new DataView(new ArrayBuffer(8)); d.setFloat64(0, x, true); return [...new Uint8Array(d.buffer)]; }
function f32Le(x: number): number[] { const d = new DataView(new ArrayBuffer(4)); d.setFloat32(0, x, true); return [...new Uint8Array(d.buffer)]; }

for (const [label, options] of CONFIGS) {
  test(`${label}: call_ref with 16 mixed arguments to a function of the module and to a JS import; null traps`, () => {
    const bytes = callRefModule();
    const q: any = new qb.Instance(new qb.Module(bytes, options), { env: { host: hostWide } }).exports;
    const v: any = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { host: hostWide } }).exports;
    for (const s of [2, -4, 99999]) {
      // (the import first: after viaOwn(s) the argument area already holds these arguments, stored there by the
      // callee's prologue, which would hide an adapter that does not store them)
      same(`viaHost(${s})`, () => q.viaHost(s), () => v.viaHost(s));
      same(`viaOwn(${s})`, () => q.viaOwn(s), () => v.viaOwn(s));
      assert.is(q.viaOwn(s), weightedJs(wideArgsJs(s), 4) + 7000, `viaOwn(${s}) computed here`);
      assert.is(q.viaHost(s), hostWide(...wideArgsJs(s)), `viaHost(${s}) computed here`);
    }
    const o = outcome(() => q.viaNull(1));
    assert.is(o.kind, 'RuntimeError', showOutcome(o));
    assert.is(showOutcome(o), showOutcome(outcome(() => v.viaNull(1))));
    assert.is(q.viaOwn(0), weightedJs(wideArgsJs(0), 4) + 7000, 'after the trap');
  });
}

test.run();
