// Locals carried in registers across control flow (compile/loop-carry.ts, compile/block-merge.ts) and bounds
// checks remembered within a basic block (compile/emit-memory.ts), end to end through generated code: loops
// whose back edges come from br, br_if and br_table with calls clobbering the registers in between, block and
// if/else merges whose arms cache different locals, jumps that know nothing of the carried registers (a
// try_table catch pad into a loop or to a block's end), accesses whose checks are or are not covered
// by an earlier one (a covered one reads the address register as it is: no zero-extension), and locals loaded
// for an operator that only reads them (compares, conditions, addresses), which stay cached in that register
// for later reads, also under register pressure. Expected values are computed here in JS.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { qb } from './helpers/engines.js';
import { wat } from './helpers/wat.js';

const source = `
(module
  (memory 1)
  (tag $e)
    (func $id (param i32) (result i32) (local.get 0))
  (func $thrower (param i32)
    (if (i32.eqz (i32.and (local.get 0) (i32.const 3))) (then (throw $e))))

  (func (export "ifs") (param $n i32) (result i32)
    (local $i i32) (local $s i32) (local $t i32)
    ;; (uses before the loop: what is cached or recently used is carried into it)
    (local.set $i (i32.const 0))
    (local.set $s (i32.sub (local.get $n) (local.get $n)))
    (local.set $t (i32.const 0))
    (loop $l
      (local.set $t (i32.mul (local.get $i) (i32.const 3)))
      (if (i32.and (local.get $i) (i32.const 1))
        (then (local.set $s (i32.add (local.get $s) (local.get $t))))
        (else (local.set $s (i32.sub (local.get $s) (local.get $i)))))
      (if (i32.eqz (i32.rem_u (local.get $i) (i32.const 5)))
        (then (local.set $t (i32.const 7))))
      (local.set $s (i32.xor (local.get $s) (local.get $t)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s))

  (func (export "edges") (param $n i32) (result i32)
    (local $i i32) (local $a i32) (local $b f64)
    (local.set $a (i32.mul (local.get $n) (i32.const 0)))
    (local.set $b (f64.convert_i32_u (local.get $a)))
    (block $done
      (loop $l
        (block $out0
          (block $out1
            (block $out2
              (br_table $out2 $out1 $out0 (i32.rem_u (local.get $i) (i32.const 3))))
            (local.set $a (i32.add (local.get $a) (call $id (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_table $l $done (i32.ge_u (local.get $i) (local.get $n))))
          (local.set $b (f64.add (local.get $b) (f64.convert_i32_u (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $l (i32.lt_u (local.get $i) (local.get $n)))
          (br $done))
        (local.set $a (i32.xor (local.get $a) (i32.mul (local.get $i) (i32.const 77))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
    (i32.add (local.get $a) (i32.trunc_f64_u (local.get $b))))

  (func (export "catchloop") (param $n i32) (result i32)
    (local $i i32) (local $s i32) (local $c i32)
    (local.set $s (i32.sub (local.get $n) (local.get $n)))
    (local.set $c (i32.and (local.get $n) (i32.const 0)))
    (local.set $i (i32.const 0))
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (if (i32.ge_u (local.get $i) (local.get $n))
        (then (return (i32.add (local.get $s) (i32.mul (local.get $c) (i32.const 1000))))))
      (try_table (catch_all $l)
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (call $thrower (local.get $i)))
      (local.set $s (i32.sub (local.get $s) (i32.const 1)))
      (br $l))
    (unreachable))

  (func (export "catchblock") (param $n i32) (result i32)
    (local $i i32) (local $s i32)
    (local.set $s (i32.sub (local.get $n) (local.get $n)))
    (local.set $i (i32.and (local.get $n) (i32.const 0)))
    (loop $l
      (block $caught
        (local.set $s (i32.add (local.get $s) (local.get $i)))
        (try_table (catch_all $caught)
          (call $thrower (local.get $i)))
        (local.set $s (i32.add (local.get $s) (i32.const 100))))
      (local.set $s (i32.add (local.get $s) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $s))

  (func (export "fill") (param $p i32) (param $v i32)
    (i32.store offset=0 (local.get $p) (local.get $v))
    (i32.store offset=8 (local.get $p) (i32.add (local.get $v) (i32.const 1))))
  (func (export "lowhigh") (param $p i32) (result i32)
    (i32.add (i32.load offset=0 (local.get $p)) (i32.load offset=8 (local.get $p))))
  (func (export "highlow") (param $p i32) (result i32)
    (i32.add (i32.load offset=8 (local.get $p)) (i32.load offset=0 (local.get $p))))
  (func (export "reassigned") (param $p i32) (param $q i32) (result i32)
    (local $x i32)
    (local.set $x (i32.load offset=8 (local.get $p)))
    (local.set $p (local.get $q))
    (i32.add (local.get $x) (i32.load offset=4 (local.get $p))))
  (func (export "afterblock") (param $p i32) (param $q i32) (result i32)
    (local $x i32)
    (local.set $x (i32.load offset=8 (local.get $p)))
    (block $b (br_if $b (i32.eqz (local.get $q))) (local.set $p (local.get $q)))
    (i32.add (local.get $x) (i32.load offset=4 (local.get $p))))
  (func (export "consts") (param $k i32) (result i32)
    (i32.add (i32.load (i32.const 65528))
      (if (result i32) (local.get $k)
        (then (i32.load (i32.const 65532)))
        (else (i32.load (i32.const 65536))))))

  (func (export "readcache") (param $a i32) (param $b i32) (param $n i32) (result i32)
    (local $i i32) (local $s i32) (local $x f64)
    (local.set $x (f64.convert_i32_s (local.get $a)))
    (block $done
      (loop $l
        ;; i and n are loaded by the compare (only read), then cached for the uses below
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.lt_s (local.get $a) (local.get $b))
          (then (local.set $s (i32.add (local.get $s) (i32.sub (local.get $b) (local.get $a))))
                (local.set $a (i32.add (local.get $a) (i32.const 3))))
          (else (local.set $s (i32.xor (local.get $s) (local.get $a)))
                (local.set $b (i32.add (local.get $b) (local.get $i)))))
        (if (f64.gt (local.get $x) (f64.const 10))
          (then (local.set $x (f64.mul (local.get $x) (f64.const 0.5))))
          (else (local.set $x (f64.add (local.get $x) (f64.convert_i32_s (local.get $i))))))
        ;; twelve live values (more than the allocatable registers), then the cached locals again
        local.get $a i32.const 3 i32.mul
        local.get $b i32.const 5 i32.mul
        local.get $i i32.const 7 i32.mul
        local.get $n i32.const 11 i32.mul
        local.get $s i32.const 13 i32.mul
        local.get $a local.get $b i32.mul
        local.get $i local.get $n i32.mul
        local.get $b local.get $i i32.mul
        local.get $a i32.const 17 i32.xor
        local.get $b i32.const 19 i32.xor
        local.get $i i32.const 23 i32.xor
        local.get $n i32.const 29 i32.xor
        i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add i32.add
        (local.set $s (i32.add (local.get $s)))
        (if (i32.gt_u (local.get $s) (local.get $a)) (then (local.set $s (i32.sub (local.get $s) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l)))
    (i32.add (local.get $s) (i32.trunc_f64_s (local.get $x))))
  (func (export "ptrtwice") (param $p i32) (result i32)
    (local $q i32)
    (local.set $q (i32.load (local.get $p)))
    (i32.store offset=4 (local.get $q) (i32.const 9))
    (i32.add (i32.load offset=4 (local.get $q)) (i32.load (local.get $q))))
  (func (export "cmpaddr") (param $p i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $p) (i32.const 100))
      (then (i32.const -1))
      (else (i32.add (i32.load8_u (local.get $p)) (i32.load8_u offset=1 (local.get $p))))))
)`;

const ex = new qb.Instance(new qb.Module(wat(source, { exceptions: true, reference_types: true })), {}).exports as Record<string, (...a: number[]) => number>;
const u32 = (x: number) => x >>> 0;

function trapsOutOfBounds(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return e instanceof qb.RuntimeError && /out of bounds/.test((e as Error).message);
  }
}

test('loop with if/else arms caching different locals', () => {
  for (const n of [1, 2, 7, 100, 1001]) {
    let i = 0, s = 0, t = 0;
    do {
      t = Math.imul(i, 3);
      s = i & 1 ? (s + t) | 0 : (s - i) | 0;
      if (u32(i) % 5 === 0) t = 7;
      s ^= t;
      i++;
    } while (u32(i) < u32(n));
    assert.is(ex.ifs(n), s, `n=${n}`);
  }
});

test('back edges from br, br_if and br_table, with a call clobbering registers', () => {
  for (const n of [1, 3, 10, 301]) {
    let i = 0, a = 0, b = 0;
    for (;;) {
      const k = u32(i) % 3;
      if (k === 0) {
        a = (a + i) | 0;
        i++;
        if (u32(i) >= u32(n)) break;
      } else if (k === 1) {
        b += i;
        i++;
        if (!(u32(i) < u32(n))) break;
      } else {
        a ^= Math.imul(i, 77);
        i++;
        if (!(u32(i) < u32(n))) break;
      }
    }
    assert.is(ex.edges(n), (a + Math.trunc(b)) | 0, `n=${n}`);
  }
});

test('a try_table catch pad jumping to a loop header reloads the carried locals', () => {
  for (const n of [1, 4, 9, 50]) {
    let i = 0, s = 0, c = 0, result = 0;
    for (;;) {
      i++;
      s += i;
      if (i >= n) { result = s + c * 1000; break; }
      c++;
      if ((i & 3) === 0) continue; // thrown and caught by the catch_all to the loop
      s -= 1;
    }
    assert.is(ex.catchloop(n), result, `n=${n}`);
  }
});

test('a try_table catch pad jumping to a block end (an edge that records no cache)', () => {
  for (const n of [1, 2, 9, 64]) {
    let i = 0, s = 0;
    do {
      s += i;
      if ((i & 3) !== 0) s += 100; // else thrown and caught by the catch_all to the block's end
      s += i;
      i++;
    } while (i < n);
    assert.is(ex.catchblock(n), s, `n=${n}`);
  }
});

test('bounds checks covered by an earlier one, and the ones that are not', () => {
  const end = 65536;
  ex.fill(end - 12, 40);
  assert.is(ex.lowhigh(end - 12), 81);
  assert.is(ex.highlow(end - 12), 81);
  for (const p of [end - 11, end - 8, end - 5, end - 4, end - 1, end, 0xfffffff0, 0xffffffff]) {
    assert.ok(trapsOutOfBounds(() => ex.lowhigh(p | 0)), `lowhigh(${p}) traps`);
    assert.ok(trapsOutOfBounds(() => ex.highlow(p | 0)), `highlow(${p}) traps`);
  }
  ex.fill(16, 5);
  assert.is(ex.reassigned(16, 20), 6 + 6); // [24] = 6 twice (q + 4 = 24)
  assert.ok(trapsOutOfBounds(() => ex.reassigned(16, end - 3)), 'a reassigned local is checked again');
  assert.ok(trapsOutOfBounds(() => ex.afterblock(16, end - 3)), 'a local reassigned in a block is checked again');
  assert.is(ex.afterblock(16, 0), 6 + 0);
  assert.is(ex.consts(1), 41); // [65528] = 0, [65532] = 41
  assert.ok(trapsOutOfBounds(() => ex.consts(0)), 'a constant address beyond the one checked is checked');
});

test('locals loaded for a read-only use stay cached: compares, conditions, register pressure', () => {
  for (const [a0, b0, n] of [[0, 0, 0], [1, 5, 1], [3, 40, 17], [-7, 2, 64], [100, -100, 33], [2147483000, 2147483600, 50]]) {
    let a = a0, b = b0, i = 0, s = 0, x = a0;
    for (; u32(i) < u32(n); i++) {
      if (a < b) { s = (s + ((b - a) | 0)) | 0; a = (a + 3) | 0; } else { s ^= a; b = (b + i) | 0; }
      x = x > 10 ? x * 0.5 : x + i;
      const t = [Math.imul(a, 3), Math.imul(b, 5), Math.imul(i, 7), Math.imul(n, 11), Math.imul(s, 13), Math.imul(a, b),
        Math.imul(i, n), Math.imul(b, i), a ^ 17, b ^ 19, i ^ 23, n ^ 29].reduce((p, q) => (p + q) | 0, 0);
      s = (s + t) | 0;
      if (u32(s) > u32(a)) s = (s - i) | 0;
    }
    assert.is(ex.readcache(a0, b0, n), (s + Math.trunc(x)) | 0, `a=${a0} b=${b0} n=${n}`);
  }
});

test('a covered access reads the address register unextended, at the memory end and past it', () => {
  const end = 65536;
  const put = (at: number, v: number) => ex.fill(at - 8, v - 1); // fill(p, v): [p] = v, [p + 8] = v + 1
  // ptrtwice: q = [p]; [q + 4] = 9; returns [q + 4] + [q]
  put(end - 8, 78);
  put(64, end - 8);
  assert.is(ex.ptrtwice(64), 9 + 78);
  for (const q of [end - 7, end - 4, end - 1, end, 0x7fffffff, 0xfffffff8]) {
    put(64, q | 0);
    assert.ok(trapsOutOfBounds(() => ex.ptrtwice(64)), `ptrtwice with q = ${q} traps`);
  }
  // cmpaddr: p compared (and cached), then two byte loads through it
  ex.fill(end - 12, 0x0102 - 1); // [end - 12] = 0x0101, [end - 4] = 0x0102
  assert.is(ex.cmpaddr(50), -1);
  assert.is(ex.cmpaddr(end - 4), 0x02 + 0x01);
  assert.is(ex.cmpaddr(end - 2), 0);
  assert.ok(trapsOutOfBounds(() => ex.cmpaddr(end - 1)), 'cmpaddr(end - 1) traps (second byte)');
  assert.ok(trapsOutOfBounds(() => ex.cmpaddr(end)), 'cmpaddr(end) traps');
  assert.ok(trapsOutOfBounds(() => ex.cmpaddr(-1)), 'cmpaddr(0xffffffff) traps');
});

test.run();
