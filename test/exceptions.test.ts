// Exception handling end to end through generated code: throw / try_table / legacy try, the unwinder (deep
// stacks, loops, lazy, parallel and cached code), payload kinds, the JS API (Tag, Exception, JSTag), JS
// exceptions crossing wasm frames, exceptions crossing instances and JS frames, and traps never being caught.
// Where the engine running the tests has the legacy instructions (V8 since 9.5), results are compared with it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { qb } from './helpers/engines.js';
import { exnrefCount } from '../src/api/exception.js';
import { wat as watModule } from './helpers/wat.js';


const wat = (source: string): Uint8Array => watModule(source, { exceptions: true, multi_value: true, reference_types: true, simd: true }, { names: true });

type Exports = Record<string, any>;

function inst(bytes: Uint8Array, imports: Record<string, any> = {}, options: Record<string, unknown> = {}): Exports {
  return new qb.Instance(new qb.Module(bytes, options), imports).exports;
}

/** The engine's own WebAssembly, when it runs the module (legacy exceptions: V8 >= 9.5), else null. */
function v8(bytes: Uint8Array, imports: Record<string, any> = {}): Exports | null {
  try {
    return new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), imports).exports as Exports;
  } catch {
    return null;
  }
}

const MODES: Array<[string, Record<string, unknown>]> = [
  ['eager', {}],
  ['lazy', { lazy: true }],
  ['parallel', { threads: 2, batchBytes: 1 }],
];

// ---------------------------------------------------------------------------------------------------------------
// A module exercising the unwinder: recursion, loops, payload kinds, try_table and legacy forms.

const CORE = wat(`(module
  (tag $e (export "e") (param i32))
  (tag $e64 (param i64))
  (tag $multi (param i32 i64 f32 f64 externref))
  (tag $v (param v128))
  (tag $empty)
  (global $depth (mut i32) (i32.const 0))

  ;; throw at depth 0 of an n-deep recursion
  (func $down (param $n i32)
    (if (i32.eqz (local.get $n)) (then (throw $e (i32.const 42))))
    (call $down (i32.sub (local.get $n) (i32.const 1))))

  ;; caught at the outermost frame (the bottom of the stack)
  (func (export "deepCatch") (param $n i32) (result i32)
    (block $h (result i32)
      (try_table (catch $e $h) (call $down (local.get $n)))
      (i32.const -1)))

  ;; every frame of the recursion has a handler that rethrows (throw_ref) after adding one to a global
  (func $downRethrow (param $n i32)
    (local $x exnref)
    (if (i32.eqz (local.get $n)) (then (throw $e (i32.const 7))))
    (local.set $x
      (block $h (result exnref)
        (try_table (catch_all_ref $h) (call $downRethrow (i32.sub (local.get $n) (i32.const 1))))
        (return)))
    (global.set $depth (i32.add (global.get $depth) (i32.const 1)))
    (throw_ref (local.get $x)))
  (func (export "rethrowChain") (param $n i32) (result i32 i32)
    (global.set $depth (i32.const 0))
    (block $h (result i32)
      (try_table (catch $e $h) (call $downRethrow (local.get $n)))
      (i32.const -1))
    (global.get $depth))

  ;; the recursion's innermost frame catches (the top of the stack)
  (func $downCatchInside (param $n i32) (result i32)
    (if (i32.eqz (local.get $n))
      (then (return (block $h (result i32) (try_table (catch $e $h) (throw $e (i32.const 5)))
        (i32.const -1)))))
    (i32.add (call $downCatchInside (i32.sub (local.get $n) (i32.const 1))) (i32.const 1)))
  (func (export "catchAtTop") (param i32) (result i32) (call $downCatchInside (local.get 0)))

  ;; catch in a loop: n throws, each caught, summing the payloads
  (func $thrower (param i32) (throw $e (local.get 0)))
  (func (export "loopCatch") (param $n i32) (result i32)
    (local $i i32) (local $sum i32)
    (loop $l
      (local.set $sum (i32.add (local.get $sum)
        (block $h (result i32)
          (try_table (catch $e $h) (call $thrower (local.get $i)))
          (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum))

  ;; stack depth reachable by plain recursion (counted until the stack-overflow trap)
  (func $probe (global.set $depth (i32.add (global.get $depth) (i32.const 1))) (call $probe))
  (func (export "probe") (global.set $depth (i32.const 0)) (call $probe))
  (func (export "depth") (result i32) (global.get $depth))

  ;; payload kinds
  (func (export "i64Payload") (param i64) (result i64)
    (block $h (result i64) (try_table (catch $e64 $h) (throw $e64 (local.get 0))) (i64.const 0)))
  (func (export "multiPayload") (param i32 i64 f32 f64 externref) (result i32 i64 f32 f64 externref)
    (block $h (result i32 i64 f32 f64 externref)
      (try_table (catch $multi $h)
        (throw $multi (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
      (unreachable)))
  (func (export "v128Payload") (param i64 i64) (result i64 i64)
    (local $v v128)
    (local.set $v (block $h (result v128)
      (try_table (catch $v $h)
        (throw $v (i64x2.replace_lane 1 (i64x2.splat (local.get 0)) (local.get 1))))
      (unreachable)))
    (i64x2.extract_lane 0 (local.get $v)) (i64x2.extract_lane 1 (local.get $v)))
  ;; caught to the function's own label: the pad returns
  (func (export "catchToReturn") (result i32 i64 f32 f64 externref)
    (try_table (catch $multi 0) (throw $multi (i32.const 1) (i64.const 2) (f32.const 3) (f64.const 4) (ref.null extern)))
    (unreachable))
  (func (export "catchToLoop") (result i32)
    (local $n i32) (local $sum i32)
    (block $done (result i32)
      (i32.const 0)
      (loop $l (param i32) (result i32)
        ;; the loop's parameter: 0 on entry, then each caught payload (the pad writes the loop's slot)
        (local.set $sum (i32.add (local.get $sum)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br_if $done (local.get $sum) (i32.gt_u (local.get $n) (i32.const 3)))
        (drop)
        (try_table (catch $e $l) (throw $e (i32.mul (local.get $n) (i32.const 10))))
        (unreachable))))
  (func (export "keepsValuesBelow") (param i32) (result i32)
    ;; values on the stack under the try_table's label survive the catch
    (i32.add (local.get 0)
      (i32.mul (i32.const 3)
        (block $h (result i32) (try_table (catch $e $h) (call $thrower (i32.const 10))) (i32.const 0)))))

  ;; legacy: catch, catch_all, rethrow, delegate
  (func (export "legacy") (param i32) (result i32)
    (try (result i32)
      (do (if (local.get 0) (then (call $thrower (local.get 0)))) (i32.const 0))
      (catch $e (i32.add (i32.const 100)))
      (catch_all (i32.const -1))))
  (func (export "legacyRethrow") (param i32) (result i32)
    (try (result i32)
      (do
        (try (result i32)
          (do (call $thrower (local.get 0)) (i32.const 0))
          (catch_all (rethrow 0))))
      (catch $e)))
  (func (export "legacyDelegate") (result i32)
    (try $outer (result i32)
      (do
        (try (result i32)
          (do
            (try (result i32) (do (call $thrower (i32.const 9)) (i32.const 0)) (delegate $outer)))
          (catch $e (drop) (i32.const -2))))
      (catch $e (i32.const 1000) (i32.add))))

  (func (export "throwRefNull")
    (block $h (try_table (catch_all $h) (throw_ref (ref.null exn)))))

  ;; traps are never caught
  (func (export "trapInTry") (result i32)
    (block $h (try_table (catch_all $h) (unreachable)))
    (i32.const 1))
  (func (export "legacyTrapInTry") (result i32)
    (try (result i32) (do (i32.div_u (i32.const 1) (i32.const 0))) (catch_all (i32.const 2))))
)`);

for (const [mode, options] of MODES) {
  const e = inst(CORE, {}, options);

  test(`${mode}: thrown 10,000 frames deep, caught at the bottom`, () => {
    assert.is(e.deepCatch(10_000), 42);
    assert.is(e.deepCatch(0), 42);
  });

  test(`${mode}: a handler in each of 1000 frames catches and rethrows`, () => {
    assert.equal(e.rethrowChain(1000), [7, 1000]);
  });

  test(`${mode}: caught at the top of a deep recursion`, () => {
    assert.is(e.catchAtTop(5000), 5005);
  });

  test(`${mode}: 100,000 catches in a loop leave the stack as it was`, () => {
    try {
      e.probe();
    } catch (err) {
      assert.instance(err, RangeError);
    }
    const before = e.depth();
    assert.ok(before > 1000);
    assert.is(e.loopCatch(100_000), (99_999 * 100_000) / 2 | 0);
    try {
      e.probe();
    } catch (err) {
      assert.instance(err, RangeError);
    }
    assert.is(e.depth(), before);
  });

  test(`${mode}: payloads of every kind`, () => {
    assert.is(e.i64Payload(-9223372036854775807n), -9223372036854775807n);
    const obj = { o: 1 };
    const r = e.multiPayload(-5, 1n << 62n, 1.5, -2.25, obj);
    assert.equal(r.slice(0, 4), [-5, 1n << 62n, 1.5, -2.25]);
    assert.is(r[4], obj);
    assert.equal(e.v128Payload(0x0123456789abcdefn, -2n), [0x0123456789abcdefn, -2n]);
    assert.equal(e.catchToReturn(), [1, 2n, 3, 4, null]);
    assert.is(e.catchToLoop(), 60);
    assert.is(e.keepsValuesBelow(4), 34);
  });

  test(`${mode}: legacy try/catch/catch_all/rethrow/delegate`, () => {
    assert.is(e.legacy(0), 0);
    assert.is(e.legacy(5), 105);
    assert.is(e.legacyRethrow(8), 8);
    assert.is(e.legacyDelegate(), 1009);
  });

  test(`${mode}: throw_ref of a null exnref traps (V8's message)`, () => {
    assert.throws(() => e.throwRefNull(), (x: unknown) => x instanceof qb.RuntimeError && (x as Error).message === 'rethrowing null value');
  });

  test(`${mode}: traps are not caught`, () => {
    assert.throws(() => e.trapInTry(), (x: unknown) => x instanceof qb.RuntimeError && /unreachable/.test((x as Error).message));
    assert.throws(() => e.legacyTrapInTry(), (x: unknown) => x instanceof qb.RuntimeError && /divide by zero/.test((x as Error).message));
  });
}

test('legacy forms agree with the engine', () => {
  const ours = inst(CORE);
  const theirs = v8(wat(`(module
    (tag $e (param i32))
    (func $thrower (param i32) (throw $e (local.get 0)))
    (func (export "legacy") (param i32) (result i32)
      (try (result i32)
        (do (if (local.get 0) (then (call $thrower (local.get 0)))) (i32.const 0))
        (catch $e (i32.add (i32.const 100)))
        (catch_all (i32.const -1))))
    (func (export "legacyDelegate") (result i32)
      (try $outer (result i32)
        (do (try (result i32)
          (do (try (result i32) (do (call $thrower (i32.const 9)) (i32.const 0)) (delegate $outer)))
          (catch $e (drop) (i32.const -2))))
        (catch $e (i32.const 1000) (i32.add)))))`));
  if (theirs === null) return;
  for (const x of [0, 1, 77]) assert.is(ours.legacy(x), theirs.legacy(x));
  assert.is(ours.legacyDelegate(), theirs.legacyDelegate());
});

// ---------------------------------------------------------------------------------------------------------------
// JS API and JS frames

const JSIMPORT = wat(`(module
  (import "m" "tag" (tag $t (param i32)))
  (import "m" "js" (func $js (param i32)))
  (tag $own (export "own") (param f64))
  (func (export "throwOwn") (param f64) (throw $own (local.get 0)))
  (func (export "throwImported") (param i32) (throw $t (local.get 0)))
  (func (export "callJs") (param i32) (call $js (local.get 0)))
  (func (export "catchAllJs") (param i32) (result i32)
    (block $h (try_table (catch_all $h) (call $js (local.get 0))) (return (i32.const 0)))
    (i32.const 1))
  (func (export "catchTagJs") (param i32) (result i32)
    (block $h (result i32) (try_table (catch $t $h) (call $js (local.get 0))) (i32.const -1)))
  (func (export "rethrowJs") (param i32)
    (throw_ref (block $h (result exnref) (try_table (catch_all_ref $h) (call $js (local.get 0))) (return))))
)`);

test('Tag and Exception: construction, is, getArg, brand checks', () => {
  const t = new qb.Tag({ parameters: ['i32', 'i64', 'f64', 'externref'] });
  const obj = {};
  const x = new qb.Exception(t, [7, 5n, 0.5, obj]);
  assert.ok(x.is(t));
  assert.not.ok(x.is(new qb.Tag({ parameters: ['i32', 'i64', 'f64', 'externref'] })));
  assert.is(x.getArg(t, 0), 7);
  assert.is(x.getArg(t, 1), 5n);
  assert.is(x.getArg(t, 2), 0.5);
  assert.is(x.getArg(t, 3), obj);
  assert.throws(() => x.getArg(t, 4), (x: unknown) => x instanceof RangeError);
  assert.throws(() => x.getArg(new qb.Tag({ parameters: [] }), 0), (x: unknown) => x instanceof TypeError);
  assert.throws(() => new qb.Exception(t, [1]), (x: unknown) => x instanceof TypeError);
  assert.throws(() => new qb.Exception({}, []), (x: unknown) => x instanceof TypeError);
  assert.throws(() => new qb.Tag({ parameters: ['i33'] }), (x: unknown) => x instanceof TypeError);
  assert.is(Object.prototype.toString.call(x), '[object WebAssembly.Exception]');
  assert.is(Object.prototype.toString.call(t), '[object WebAssembly.Tag]');
  assert.not.ok(x instanceof Error);
  assert.is((x as unknown as { stack: unknown }).stack, undefined);
  assert.throws(() => new qb.Exception(qb.JSTag, [1]), (x: unknown) => x instanceof TypeError);
  assert.type((new qb.Exception(t, [1, 2n, 3, null], { traceStack: true }) as unknown as { stack: unknown }).stack, 'string');
  assert.ok(qb.JSTag instanceof qb.Tag);
});

test('Exception argument checks as V8 (Node 24): [EnforceRange] index, receivers, iterables, traceStack', () => {
  const t = new qb.Tag({ parameters: ['i32', 'i64'] });
  const x = new qb.Exception(t, [7, 8n]);
  const fails = (f: () => unknown, cls: Function, msg: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof cls && msg.test((e as Error).message));
  assert.is(x.getArg(t, 1.5), 8n);
  assert.is(x.getArg(t, '1'), 8n);
  fails(() => x.getArg(t, -1), TypeError, /Index must be non-negative/);
  fails(() => x.getArg(t, undefined), TypeError, /Index must be convertible to a valid number/);
  fails(() => x.getArg(t, 2 ** 32), TypeError, /unsigned long range/);
  fails(() => x.getArg(t, 2), RangeError, /Index out of range/);
  fails(() => new qb.Exception(t, 5 as unknown as unknown[]), TypeError, /Exception values must be an iterable object/);
  fails(() => qb.Exception.prototype.is.call({}, t), TypeError, /Receiver is not a WebAssembly.Exception/);
  fails(() => qb.Exception.prototype.getArg.call({}, t, 0), TypeError, /Receiver is not a WebAssembly.Exception/);
  assert.type((new qb.Exception(t, [1, 2n], { traceStack: 1 } as unknown as { traceStack: boolean }) as unknown as { stack: unknown }).stack, 'string');
  assert.is(qb.Exception.length, 2);
  assert.is(qb.Tag.length, 1);
});

test('Tag and Exception name value types as V8 (Node 24): parameters array-like, exnref, v128, anyfunc, messages', () => {
  const fails = (f: () => unknown, msg: string) =>
    assert.throws(f, (e: unknown) => e instanceof TypeError && (e as Error).message === msg, msg);
  // parameters: an array-like read by length and index (not an iterable), 'anyfunc' but not 'funcref', 'exnref'
  assert.ok(new qb.Tag({ parameters: { length: '1', 0: 'f64' } }) instanceof qb.Tag);
  assert.ok(new qb.Tag({ parameters: { length: 0 } }) instanceof qb.Tag);
  fails(() => new qb.Tag({ parameters: new Set(['i32']) }), "WebAssembly.Tag(): Argument 0 contains parameters without 'length'");
  fails(() => new qb.Tag({ parameters: 'i32' }), "WebAssembly.Tag(): Argument 0 must be a tag type with 'parameters'");
  fails(() => new qb.Tag({ parameters: { length: 2, 0: 'i32' } }), 'WebAssembly.Tag(): Argument 0 parameter type at index #1 must be a value type');
  fails(() => new qb.Tag({ parameters: ['funcref'] }), 'WebAssembly.Tag(): Argument 0 parameter type at index #0 must be a value type');
  const ex = new qb.Tag({ parameters: ['i32', 'exnref'] });
  fails(() => new qb.Exception(ex, [1, null]), 'WebAssembly.Exception(): invalid type (ref null exn)');
  fails(() => new qb.Exception(ex, [1, {}]), 'WebAssembly.Exception(): invalid type (ref exn)');
  fails(() => new qb.Exception(new qb.Tag({ parameters: ['v128'] }), [0]), 'WebAssembly.Exception(): Invalid type v128');
  fails(() => new qb.Exception(new qb.Tag({ parameters: ['anyfunc'] }), [() => 1]),
    'WebAssembly.Exception(): function-typed object must be null (if nullable) or a Wasm function object');
  const x = new qb.Exception(new qb.Tag({ parameters: [] }), []);
  fails(() => x.is({}), 'WebAssembly.Exception.is(): Argument 0 must be a WebAssembly.Tag');
  fails(() => x.getArg({}, 0), 'WebAssembly.Exception.getArg(): Argument 0 must be a WebAssembly.Tag');
  assert.equal(Object.getOwnPropertyNames(qb.Exception.prototype), ['constructor', 'getArg', 'is', 'stack']);
  // exnref and v128 payloads thrown by wasm: getArg names the type; a JS 'exnref' tag links with a wasm one
  const bytes = wat(`(module
    (import "m" "t" (tag $e (param i32 exnref)))
    (tag $v (export "v") (param v128))
    (tag $inner)
    (func (export "throwE")
      (throw $e (i32.const 5) (block $h (result exnref) (try_table (catch_all_ref $h) (throw $inner)) (unreachable))))
    (func (export "throwV") (throw $v (v128.const i32x4 1 2 3 4))))`);
  const e = inst(bytes, { m: { t: ex } });
  const caught = (f: () => void): any => { try { f(); } catch (err) { return err; } return null; };
  const xe = caught(e.throwE);
  assert.ok(xe.is(ex));
  assert.is(xe.getArg(ex, 0), 5);
  fails(() => xe.getArg(ex, 1), 'WebAssembly.Exception.getArg(): invalid type exnref');
  fails(() => caught(e.throwV).getArg(e.v, 0), 'WebAssembly.Exception.getArg(): Invalid type v128');
});

test('a wasm exception reaches JS as a WebAssembly.Exception; imported and exported tags keep their identity', () => {
  const tag = new qb.Tag({ parameters: ['i32'] });
  const e = inst(JSIMPORT, { m: { tag, js: () => {} } });
  assert.ok(e.own instanceof qb.Tag);
  let caught: any;
  try {
    e.throwOwn(2.5);
  } catch (x) {
    caught = x;
  }
  assert.instance(caught, qb.Exception);
  assert.ok(caught.is(e.own));
  assert.is(caught.getArg(e.own, 0), 2.5);
  try {
    e.throwImported(11);
  } catch (x) {
    caught = x;
  }
  assert.ok(caught.is(tag));
  assert.is(caught.getArg(tag, 0), 11);
  // a second instance has its own defined tag
  const e2 = inst(JSIMPORT, { m: { tag, js: () => {} } });
  assert.is.not(e2.own, e.own);
  // linking checks the tag's type
  assert.throws(() => inst(JSIMPORT, { m: { tag: new qb.Tag({ parameters: ['i64'] }), js: () => {} } }), (x: unknown) => x instanceof qb.LinkError);
  assert.throws(() => inst(JSIMPORT, { m: { tag: {}, js: () => {} } }), (x: unknown) => x instanceof qb.LinkError);
});

test('tag imports link by canonical type: concrete reference parameters compare by structure, not index', () => {
  // (wabt has no text syntax for (ref null $t): the binaries by hand)
  const H = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  // types: 0 (func (param f64)), 1 (func (param i32)), 2 (func (param (ref null 1))); tag 0 of type 2, exported "t"
  const a = inst(new Uint8Array([...H, 0x01, 0x0e, 0x03, 0x60, 0x01, 0x7c, 0x00, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x01, 0x63, 0x01, 0x00,
    0x0d, 0x03, 0x01, 0x00, 0x02, 0x07, 0x05, 0x01, 0x01, 0x74, 0x04, 0x00]));
  // types: 0 (func (param i32)), 1 (func (param (ref null 0))); imports "a" "t" as a tag of type 1: the same type
  const same = new Uint8Array([...H, 0x01, 0x0a, 0x02, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x01, 0x63, 0x00, 0x00,
    0x02, 0x08, 0x01, 0x01, 0x61, 0x01, 0x74, 0x04, 0x00, 0x01]);
  // types: 0 (func (param f64)), 1 (func (param i32 i32)), 2 (func (param (ref null 1))): same indices, other type
  const other = new Uint8Array([...H, 0x01, 0x0f, 0x03, 0x60, 0x01, 0x7c, 0x00, 0x60, 0x02, 0x7f, 0x7f, 0x00, 0x60, 0x01, 0x63, 0x01, 0x00,
    0x02, 0x08, 0x01, 0x01, 0x61, 0x01, 0x74, 0x04, 0x00, 0x02]);
  inst(same, { a });
  assert.throws(() => inst(other, { a }), (x: unknown) => x instanceof qb.LinkError);
  assert.throws(() => inst(same, { a: { t: new qb.Tag({ parameters: ['anyfunc'] }) } }), (x: unknown) => x instanceof qb.LinkError);
  const v8a = v8(new Uint8Array([...H, 0x01, 0x0e, 0x03, 0x60, 0x01, 0x7c, 0x00, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x01, 0x63, 0x01, 0x00,
    0x0d, 0x03, 0x01, 0x00, 0x02, 0x07, 0x05, 0x01, 0x01, 0x74, 0x04, 0x00]));
  if (v8a !== null) {
    // the engine agrees (when it has typed function references)
    new WebAssembly.Instance(new WebAssembly.Module(same as BufferSource), { a: v8a });
    assert.throws(() => new WebAssembly.Instance(new WebAssembly.Module(other as BufferSource), { a: v8a }), (x: unknown) => x instanceof WebAssembly.LinkError);
  }
});

test('JS exceptions crossing wasm frames: catch_all, catch of a JS-made Exception, identity when not caught', () => {
  const tag = new qb.Tag({ parameters: ['i32'] });
  const err = new Error('from JS');
  let what: unknown = err;
  const e = inst(JSIMPORT, { m: { tag, js: () => { throw what; } } });
  assert.is(e.catchAllJs(0), 1);
  // not caught: the JS caller gets the very same object
  assert.throws(() => e.callJs(0), (x: unknown) => x === err);
  // rethrown by throw_ref: the same object again
  assert.throws(() => e.rethrowJs(0), (x: unknown) => x === err);
  what = null;
  assert.is(e.catchAllJs(0), 1);
  assert.throws(() => e.rethrowJs(0), (x: unknown) => x === null);
  // an Exception made in JS with the imported tag is caught by `catch $t`
  what = new qb.Exception(tag, [99]);
  assert.is(e.catchTagJs(0), 99);
  const other = new qb.Exception(new qb.Tag({ parameters: ['i32'] }), [1]);
  what = other;
  assert.throws(() => e.catchTagJs(0), (x: unknown) => x === other);
  // a wasm exception that went through JS is the same object when it comes back out
  const inner = inst(JSIMPORT, { m: { tag, js: () => {} } });
  let seen: unknown;
  const outer = inst(JSIMPORT, { m: { tag, js: (v: number) => {
    try {
      inner.throwImported(v);
    } catch (x) {
      seen = x;
      throw x;
    }
  } } });
  assert.throws(() => outer.callJs(3), (x: unknown) => x === seen && x instanceof qb.Exception);
  assert.is(outer.catchTagJs(4), 4);
});

test('JSTag: a JS exception is caught by catch of the imported JSTag, with the thrown value as externref', () => {
  const bytes = wat(`(module
    (import "m" "jstag" (tag $js (param externref)))
    (import "m" "f" (func $f))
    (func (export "catchJs") (result externref)
      (block $h (result externref) (try_table (catch $js $h) (call $f)) (ref.null extern)))
    (func (export "throwJs") (param externref) (throw $js (local.get 0))))`);
  const obj = { thrown: true };
  const e = inst(bytes, { m: { jstag: qb.JSTag, f: () => { throw obj; } } });
  assert.is(e.catchJs(), obj);
  // throwing with JSTag from wasm throws the JS value itself
  const v = new TypeError('x');
  assert.throws(() => e.throwJs(v), (x: unknown) => x === v);
});

test('a trap in a wasm callee reached through JS is not caught by catch_all, even when JS rethrows it', () => {
  const trapper = inst(wat('(module (func (export "f") (param i32) unreachable))'));
  const tag = new qb.Tag({ parameters: ['i32'] });
  let rethrown: unknown;
  const e = inst(JSIMPORT, { m: { tag, js: (v: number) => {
    try {
      trapper.f(v);
    } catch (x) {
      rethrown = x;
      throw x;
    }
  } } });
  assert.throws(() => e.catchAllJs(0), (x: unknown) => x === rethrown && x instanceof qb.RuntimeError);
});

test('a JS stack overflow in an import is not caught by catch_all (as in V8)', () => {
  const tag = new qb.Tag({ parameters: ['i32'] });
  const rec = (): never => rec();
  const e = inst(JSIMPORT, { m: { tag, js: rec } });
  assert.throws(() => e.catchAllJs(0), (x: unknown) => x instanceof RangeError && /call stack/.test((x as Error).message));
  // a RangeError of the program's own is an ordinary exception
  const mine = inst(JSIMPORT, { m: { tag, js: () => { throw new RangeError('mine'); } } });
  assert.is(mine.catchAllJs(0), 1);
});

test('JS -> wasm -> JS -> wasm -> throw across instances, caught in the first instance', () => {
  const tag = new qb.Tag({ parameters: ['i32'] });
  const deep = inst(JSIMPORT, { m: { tag, js: () => {} } });
  const mid = inst(JSIMPORT, { m: { tag, js: (v: number) => deep.throwImported(v + 1) } });
  const top = inst(JSIMPORT, { m: { tag, js: (v: number) => mid.callJs(v + 1) } });
  assert.is(top.catchTagJs(1), 3);
  assert.is(top.catchAllJs(1), 1);
});

test('a lazily compiled function throws, an eagerly compiled caller in another instance catches', () => {
  const tag = new qb.Tag({ parameters: ['i32'] });
  const lazy = inst(JSIMPORT, { m: { tag, js: () => {} } }, { lazy: true });
  const eager = inst(wat(`(module
    (import "m" "tag" (tag $t (param i32)))
    (import "m" "thrower" (func $thrower (param i32)))
    (func (export "run") (param i32) (result i32)
      (block $h (result i32) (try_table (catch $t $h) (call $thrower (local.get 0))) (i32.const -1))))`),
  { m: { tag, thrower: lazy.throwImported } });
  assert.is(eager.run(123), 123);
});

test('handler tables survive the code cache (eager and lazy entries)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-exc-cache-'));
  try {
    for (const lazy of [false, true]) {
      const sub = path.join(dir, lazy ? 'lazy' : 'eager');
      const first = new qb.Module(CORE, { cache: sub, lazy });
      assert.is((new qb.Instance(first).exports as Exports).deepCatch(100), 42);
      const second = new qb.Module(CORE, { cache: sub, lazy });
      const e = new qb.Instance(second).exports as Exports;
      assert.is(e.deepCatch(100), 42);
      assert.is(e.legacyDelegate(), 1009);
      assert.equal(e.rethrowChain(10), [7, 10]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('exnref and funcref payloads survive the outermost call: rethrown by JS into wasm later, they still work', () => {
  const bytes = wat(`(module
    (import "m" "rethrow" (func $rethrowJs (param externref)))
    (tag $inner (export "inner") (param i32))
    (tag $outer (export "outer") (param exnref funcref))
    (func $seven (result i32) (i32.const 7))
    (elem declare func $seven)
    (func (export "make")
      (throw $outer
        (block $h (result exnref) (try_table (catch_all_ref $h) (throw $inner (i32.const 42))) (unreachable))
        (ref.func $seven)))
    (func (export "use") (param externref) (result i32 i32)
      (local $e exnref) (local $f funcref)
      (block $h (result exnref funcref)
        (try_table (catch $outer $h) (call $rethrowJs (local.get 0)))
        (unreachable))
      (local.set $f)
      (local.set $e)
      (table.set (i32.const 0) (local.get $f))
      (call_indirect (result i32) (i32.const 0))
      (block $h2 (result i32) (try_table (catch $inner $h2) (throw_ref (local.get $e))) (i32.const -1)))
    (table 1 funcref))`);
  let saved: unknown;
  const e = inst(bytes, { m: { rethrow: (x: unknown) => { throw x; } } });
  try {
    e.make();
  } catch (x) {
    saved = x;
  }
  assert.instance(saved, qb.Exception);
  assert.is((saved as any).getArg(e.outer, 1)(), 7);
  assert.is(exnrefCount(), 0); // the call is over: its ids are gone (no instance so far has exnref storage)
  assert.equal(e.use(saved), [7, 42]);
});

test('exnref in a signature: JS calls throw a TypeError before anything runs, both ways (fuzz-diff, as V8)', () => {
  // Found by scripts/fuzz-diff with exceptions: an export returning exnref ran its body (logging an import
  // call) before failing to convert the result; V8 (and the JS API) refuse the call up front.
  const bytes = wat(`(module
    (import "m" "f" (func $f (param exnref)))
    (import "m" "log" (func $log (param i32)))
    (func (export "res") (result exnref) (call $log (i32.const 1)) (ref.null exn))
    (func (export "par") (param exnref) (call $log (i32.const 2)))
    (func (export "callImport") (result i32)
      (block $h (try_table (catch_all $h) (call $f (ref.null exn))) (return (i32.const 5)))
      (i32.const 7)))`);
  for (const [mode, options] of MODES) {
    const log: number[] = [];
    let called = 0;
    const e = inst(bytes, { m: { f: () => { called++; }, log: (x: number) => log.push(x) } }, options);
    for (const name of ['res', 'par']) {
      assert.throws(() => e[name](null), (x: unknown) => x instanceof TypeError && (x as Error).message === 'type incompatibility when transforming from/to JS', `${mode} ${name}`);
    }
    // wasm calling a JS import with an exnref parameter: the TypeError is thrown into wasm (catch_all catches it)
    assert.is(e.callImport(), 7, mode);
    assert.equal(log, [], mode);
    assert.is(called, 0, mode);
  }
});

test('exnref ids die with the outermost call while no instance can store exnrefs', () => {
  const e = inst(CORE);
  assert.equal(e.rethrowChain(1000), [7, 1000]);
  assert.is(exnrefCount(), 0);
  // a module with an exnref global keeps them from then on (it could hold one across calls)
  const keeper = inst(wat(`(module (tag $t) (global $g (mut exnref) (ref.null exn))
    (func (export "keep")
      (global.set $g (block $h (result exnref) (try_table (catch_all_ref $h) (throw $t)) (unreachable))))
    (func (export "again") (throw_ref (global.get $g))))`));
  keeper.keep();
  assert.ok(exnrefCount() > 0);
  assert.throws(() => keeper.again(), (x: unknown) => x instanceof qb.Exception);
});

test('exceptions are a feature: with it off, exception opcodes and the tag section are rejected', () => {
  assert.throws(() => new qb.Module(CORE, { features: { exceptions: false } }), (x: unknown) => x instanceof qb.CompileError);
});

test('exnref and v128 globals and exnref tables refuse JS as V8 (Node 24) does, with its messages', () => {
  // (last in this file: an instance with exnref storage keeps exnref ids alive from then on, see above)
  const e = inst(wat(`(module
    (global (export "g") (mut exnref) (ref.null exn))
    (global (export "c") exnref (ref.null exn))
    (global (export "v") (mut v128) (v128.const i64x2 0 0))
    (table (export "t") 2 exnref))`));
  const fails = (f: () => unknown, cls: Function, msg: string) =>
    assert.throws(f, (x: unknown) => x instanceof cls && (x as Error).message === msg, msg);
  fails(() => e.g.value, TypeError, 'get WebAssembly.Global.value): invalid type exnref');
  fails(() => e.g.valueOf(), TypeError, 'WebAssembly.Global.valueOf(): invalid type exnref');
  fails(() => { e.g.value = null; }, TypeError, 'set WebAssembly.Global.value): invalid type (ref null exn)');
  fails(() => { e.g.value = undefined; }, TypeError, 'set WebAssembly.Global.value): invalid type (ref exn)');
  fails(() => { e.c.value = null; }, TypeError, "set WebAssembly.Global.value): Can't set the value of an immutable global.");
  fails(() => e.v.value, TypeError, "get WebAssembly.Global.value): Can't get the value of s128 WebAssembly.Global");
  fails(() => { e.v.value = 1; }, TypeError, "set WebAssembly.Global.value): Can't set the value of s128 WebAssembly.Global");
  fails(() => e.t.get(0), TypeError, 'WebAssembly.Table.get(): invalid type exnref');
  fails(() => e.t.get(100), RangeError, 'WebAssembly.Table.get(): invalid address 100 in exnref table of size 2');
  fails(() => e.t.set(100, null), RangeError, 'WebAssembly.Table.set(): invalid address 100 in exnref table of size 2');
  fails(() => e.t.set(0, null), TypeError, 'WebAssembly.Table.set(): Argument 1 is invalid for table: invalid type (ref null exn)');
  fails(() => e.t.set(0, undefined), TypeError, 'WebAssembly.Table.set(): Argument 1 is invalid for table: invalid type (ref exn)');
  fails(() => e.t.grow(1, 5), TypeError, 'WebAssembly.Table.grow(): Argument 1 is invalid: invalid type (ref exn)');
  e.t.set(0); // no value: the default (null), as V8
  assert.is(e.t.grow(1), 2);
  assert.is(e.t.length, 3);
});

test.run();
