// The garbage collector (issue 17 phase 2) end to end through generated code: stack maps at call and allocation
// sites, roots in frames (nested host calls and suspended JSPI stacks included), globals, tables, element
// segments, exception payloads and JS handles, the heap limit, and memory given back. Each test forces
// collections (gcCollect from an import, or allocation past the threshold) and then overwrites freed memory
// (new arrays filled with -1), so a reference the collector missed reads wrong values instead of passing.
// Every module is compiled eagerly and lazily.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as qb from '../src/index.js';
import { DISPOSE } from '../src/runtime/lifetime.js';
import { gcCollect, gcHeapMax, gcHeapStats, setGcHeapMax } from '../src/runtime/gc-heap.js';
import { forceGc } from '../src/runtime/native.js';
import { gcWat as wat } from './helpers/gc-wat.js';


const MODES: Array<[string, qb.ModuleOptions]> = [['eager', {}], ['lazy', { lazy: true }]];

// A small heap, so that scribbling 10 MB (40,000 arrays of 256 bytes) reuses all the memory a collection freed.
const SMALL_HEAP = 8 * 1024 * 1024;
const savedHeapMax = gcHeapMax();
setGcHeapMax(SMALL_HEAP);
gcCollect();

function instance(source: string, options: qb.ModuleOptions, imports: Record<string, Record<string, unknown>> = {}): Record<string, any> {
  return new qb.Instance(new qb.Module(wat(source), options), imports).exports as Record<string, any>;
}

// (Imports come from different modules: binaryen writes several imports of one module in the compact-imports
// encoding, which Quickbeam does not read.)
// Types and helpers every module below shares: a list node, an i64 array, and "scribble", which fills the
// heap's free memory with new arrays of -1 (what a missed reference would then read).
const TYPES = `
  (type $node (struct (field i32) (field (ref null $node))))
  (type $junk (array (mut i64)))`;
const SCRIBBLE = `
  (func $scribble (param $n i32)
    (loop $l
      (drop (array.new $junk (i64.const -1) (i32.const 30)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))`;

/** Collections so far. */
function collections(): number {
  return gcHeapStats().collections;
}

/** An import that collects (asserting that it could) and then scribbles over the freed memory. */
function collectImport(scribble: () => void): () => void {
  return () => {
    assert.ok(gcCollect(), 'a collection from an import must be able to walk every frame');
    scribble();
  };
}

for (const [mode, options] of MODES) {
  test(`${mode}: allocating 100x the heap limit in short-lived objects keeps a live list intact, heap and RSS bounded`, () => {
    const e = instance(`(module ${TYPES}
      ${SCRIBBLE}
      (global $live (mut (ref null $node)) (ref.null $node))
      (func (export "build") (param $n i32)
        (loop $l
          (global.set $live (struct.new $node (local.get $n) (global.get $live)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
      (func (export "churn") (param $n i32) (param $len i32)
        (loop $l
          (drop (array.new $junk (i64.const -1) (local.get $len)))
          (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
      ;; the list holds 1, 2, ..., n in order: returns n, or -1
      (func (export "check") (result i32)
        (local $p (ref null $node)) (local $k i32)
        (local.set $p (global.get $live))
        (block $done (loop $l
          (br_if $done (ref.is_null (local.get $p)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (if (i32.ne (struct.get $node 0 (local.get $p)) (local.get $k)) (then (return (i32.const -1))))
          (local.set $p (struct.get $node 1 (local.get $p)))
          (br $l)))
        (local.get $k)))`, options);
    const saved = gcHeapMax();
    const limit = 16 * 1024 * 1024;
    try {
      setGcHeapMax(limit);
      gcCollect(); // (gives back the regions above the limit)
      const max = gcHeapMax();
      assert.ok(gcHeapStats().bytes <= max);
      e.build(50_000); // 800 KB live
      const before = collections();
      forceGc();
      const rssBefore = process.memoryUsage().rss;
      let peakRss = rssBefore;
      const len = 126; // 16 + 126 * 8 = 1,024 bytes per array
      const perRound = 100_000;
      let allocated = 0;
      while (allocated < 100 * max) {
        e.churn(perRound, len);
        allocated += perRound * 1024;
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        assert.ok(gcHeapStats().bytes <= max);
      }
      assert.is(e.check(), 50_000);
      assert.is(gcHeapStats().strayWords, 0);
      const gcs = collections() - before;
      assert.ok(gcs >= 50, `only ${gcs} collections`);
      // (RSS is the whole process's: V8's heap moves too. Without a collector it would grow by the 1.6 GB allocated.)
      assert.ok(peakRss - rssBefore < max + 128 * 1024 * 1024, `RSS grew by ${((peakRss - rssBefore) / 2 ** 20).toFixed(0)} MB`);
      console.log(`  (${mode}: ${(allocated / 2 ** 20).toFixed(0)} MiB allocated under a ${(max / 2 ** 20).toFixed(0)} MiB limit, ${gcs} collections, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB (${((peakRss - rssBefore) / 2 ** 20).toFixed(0)} MB above the start), max pause ${gcHeapStats().maxPauseCpuMs.toFixed(1)} ms CPU)`);
    } finally {
      setGcHeapMax(saved);
      gcCollect();
    }
  });

  test(`${mode}: references in locals, on the value stack and in parameters survive collections in deep recursion`, () => {
    let e: Record<string, any> = {};
    e = instance(`(module ${TYPES}
      (import "js" "collect" (func $collect))
      ${SCRIBBLE}
      (func (export "scribble") (call $scribble (i32.const 40000)))
      (func $sum3 (param $a (ref $node)) (param $r i32) (param $b (ref null $node)) (result i32)
        (i32.add (i32.add (struct.get $node 0 (local.get $a)) (local.get $r)) (struct.get $node 0 (local.get $b))))
      (func $rec (export "rec") (param $d i32) (result i32)
        (local $s (ref null $node))
        (local.set $s (struct.new $node (local.get $d) (ref.null $node)))
        (if (result i32) (i32.eqz (local.get $d))
          (then (call $collect) (i32.const 0))
          (else
            (call $sum3
              (struct.new $node (i32.mul (local.get $d) (i32.const 2)) (local.get $s))
              (call $rec (i32.sub (local.get $d) (i32.const 1)))
              (local.get $s))))))`, options, { js: { collect: collectImport(() => e.scribble()) } });
    const before = collections();
    const depth = 3000;
    assert.is(e.rec(depth), 3 * (depth * (depth + 1)) / 2);
    assert.ok(collections() > before);
  });

  test(`${mode}: objects held by JS survive many collections, keep their identity, and anyref/externref round trips keep it`, () => {
    const e = instance(`(module ${TYPES}
      ${SCRIBBLE}
      (func (export "mk") (param $v i32) (result anyref) (struct.new $node (local.get $v) (ref.null $node)))
      (func (export "get") (param $x anyref) (result i32) (struct.get $node 0 (ref.cast (ref $node) (local.get $x))))
      (func (export "same") (param $x anyref) (result anyref) (local.get $x))
      (func (export "toExtern") (param $x anyref) (result externref) (extern.convert_any (local.get $x)))
      (func (export "toAny") (param $x externref) (result anyref) (any.convert_extern (local.get $x)))
      (func (export "churn") (call $scribble (i32.const 200000))))`, options);
    const held = Array.from({ length: 1000 }, (_, i) => e.mk(i));
    const before = collections();
    for (let k = 0; k < 10; k++) {
      assert.ok(gcCollect());
      e.churn();
    }
    assert.ok(collections() - before >= 10);
    for (let i = 0; i < held.length; i++) assert.is(e.get(held[i]), i);
    assert.is(e.same(held[7]), held[7]);
    assert.is(e.toExtern(held[8]), held[8]);
    assert.is(e.toAny(held[9]), held[9]);
    const plain = { x: 1 };
    assert.is(e.toAny(plain), plain);
  });

  test(`${mode}: an unreachable cycle is collected, one JS holds is not until JS drops it`, async () => {
    const e = instance(`(module ${TYPES}
      ${SCRIBBLE}
      (type $c (struct (field (mut (ref null $c))) (field (ref $junk))))
      (global $g (mut (ref null $c)) (ref.null $c))
      (func (export "makeCycle")
        (local $a (ref null $c)) (local $b (ref null $c))
        (local.set $a (struct.new $c (ref.null $c) (array.new_default $junk (i32.const 200000))))
        (local.set $b (struct.new $c (local.get $a) (array.new_default $junk (i32.const 200000))))
        (struct.set $c 0 (local.get $a) (local.get $b))
        (global.set $g (local.get $a)))
      (func (export "take") (result anyref) (global.get $g))
      (func (export "drop") (global.set $g (ref.null $c))))`, options);
    const CYCLE = 2 * (16 + 1_600_000); // (arrays above 1 MiB: each in a region of its own)
    assert.ok(gcCollect());
    const base = gcHeapStats().liveBytes;
    e.makeCycle();
    assert.ok(gcCollect());
    assert.ok(gcHeapStats().liveBytes >= base + CYCLE, 'the cycle is live while a global holds it');
    e.drop();
    const freed = gcHeapStats().regionsFreed;
    assert.ok(gcCollect());
    assert.ok(gcHeapStats().liveBytes < base + CYCLE, 'the unreachable cycle is collected');
    assert.ok(gcHeapStats().regionsFreed >= freed + 2, 'its big arrays\' regions are given back');
    // Held by JS only.
    e.makeCycle();
    let w: unknown = e.take();
    e.drop();
    assert.ok(gcCollect());
    assert.ok(gcHeapStats().liveBytes >= base + CYCLE, 'the cycle is live while JS holds it');
    w = null;
    // The wrapper dies with a V8 collection once the job that made it is over.
    for (let k = 0; k < 5 && gcHeapStats().liveBytes >= base + CYCLE; k++) {
      await new Promise((r) => setImmediate(r));
      if (!forceGc()) return;
      assert.ok(gcCollect());
    }
    assert.is(w, null);
    assert.ok(gcHeapStats().liveBytes < base + CYCLE, 'the cycle is collected once JS drops it');
  });

  test(`${mode}: globals, tables, element segments and exception payloads keep their objects`, () => {
    let e: Record<string, any> = {};
    e = instance(`(module ${TYPES}
      (import "js" "collect" (func $collect))
      ${SCRIBBLE}
      (global $g (mut (ref null $node)) (ref.null $node))
      (table $t 100 (ref null $node))
      (tag $x (export "x") (param (ref $node)))
      (elem $seg (ref $node) (item (struct.new $node (i32.const 77) (ref.null $node))))
      (type $arr (array (ref $node)))
      (func (export "scribble") (call $scribble (i32.const 40000)))
      (func (export "fill")
        (local $i i32)
        (global.set $g (struct.new $node (i32.const 555) (ref.null $node)))
        (loop $l
          (table.set $t (local.get $i) (struct.new $node (local.get $i) (ref.null $node)))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100)))))
      (func (export "throwIt") (param $v i32) (throw $x (struct.new $node (local.get $v) (ref.null $node))))
      (func (export "collect") (call $collect))
      (func (export "global") (result i32) (struct.get $node 0 (global.get $g)))
      (func (export "table") (param $i i32) (result i32) (struct.get $node 0 (table.get $t (local.get $i))))
      (func (export "segment") (result i32)
        (struct.get $node 0 (array.get $arr (array.new_elem $arr $seg (i32.const 0) (i32.const 1)) (i32.const 0))))
      (func (export "read") (param $x anyref) (result i32) (struct.get $node 0 (ref.cast (ref $node) (local.get $x)))))`,
    options, { js: { collect: collectImport(() => e.scribble()) } });
    e.fill();
    let thrown: unknown;
    try {
      e.throwIt(4242);
    } catch (x) {
      thrown = x;
    }
    assert.ok(thrown instanceof qb.Exception);
    const before = collections();
    for (let k = 0; k < 3; k++) e.collect();
    assert.ok(collections() - before >= 3);
    assert.is(e.global(), 555);
    for (let i = 0; i < 100; i++) assert.is(e.table(i), i);
    assert.is(e.segment(), 77);
    assert.is(e.read((thrown as qb.Exception).getArg(e.x, 0)), 4242);
  });

  test(`${mode}: frames below a nested host call and a suspended JSPI call keep their references`, async () => {
    let e: Record<string, any> = {};
    let resume: (v: number) => void = () => {};
    const suspending = new qb.Suspending(() => new Promise<number>((r) => (resume = r)));
    e = instance(`(module ${TYPES}
      (import "a" "inner" (func $inner))
      (import "b" "wait" (func $wait (result i32)))
      (import "js" "collect" (func $collect))
      ${SCRIBBLE}
      (func (export "scribble") (call $scribble (i32.const 40000)))
      (func (export "collect") (call $collect))
      (func (export "outer") (result i32)
        (local $s (ref null $node))
        (local.set $s (struct.new $node (i32.const 31) (ref.null $node)))
        (call $inner)
        (struct.get $node 0 (local.get $s)))
      (func (export "suspender") (result i32)
        (local $s (ref null $node))
        (local.set $s (struct.new $node (i32.const 41) (ref.null $node)))
        (i32.add (call $wait) (struct.get $node 0 (local.get $s)))))`, options, {
      a: { inner: () => e.collect() }, b: { wait: suspending }, js: { collect: collectImport(() => e.scribble()) },
    });
    assert.is(e.outer(), 31);
    const p = (qb.promising(e.suspender) as (...a: unknown[]) => Promise<number>)();
    for (let k = 0; k < 3; k++) e.collect();
    resume(1);
    assert.is(await p, 42);
  });
}

test('the heap limit: live data beyond it is a clean trap, and the heap is usable afterwards', () => {
  const e = instance(`(module ${TYPES}
      ${SCRIBBLE}
    (type $cell (struct (field (ref $junk)) (field (ref null $cell))))
    (global $keep (mut (ref null $cell)) (ref.null $cell))
    (func (export "hoard") (param $n i32)
      (loop $l
        (global.set $keep (struct.new $cell (array.new_default $junk (i32.const 1000)) (global.get $keep)))
        (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
    (func (export "release") (global.set $keep (ref.null $cell))))`, {});
  const saved = gcHeapMax();
  try {
    gcCollect();
    setGcHeapMax(gcHeapStats().bytes + 8 * 1024 * 1024);
    let msg = '';
    try {
      e.hoard(1_000_000);
    } catch (x) {
      assert.ok(x instanceof qb.RuntimeError);
      msg = (x as Error).message;
    }
    assert.is(msg, 'GC heap exhausted (gcHeapMax)');
    e.release();
    e.hoard(100);
  } finally {
    setGcHeapMax(saved);
  }
});

test('objects of dropped instances\' globals are collected, made by constant expressions too (found by fuzz-diff --gc)', async () => {
  // Each instance's global holds a 400 KB array made by its constant expression; the instances are dropped.
  // (A storage is known dead through a WeakRef, which JS keeps alive until the job that made it ends: the loop
  // yields now and then, as a program that instantiates per request or per event does.)
  const m = new qb.Module(wat(`(module (type $a (array i64))
    (global (export "g") (ref $a) (array.new_default $a (i32.const 50000))))`));
  const before = collections();
  for (let k = 0; k < 200; k++) { // 80 MB under an 8 MiB limit
    new qb.Instance(m, {});
    if (k % 5 === 4) await new Promise((r) => setImmediate(r));
  }
  assert.ok(collections() > before);
});

test('a function reference in a GC object keeps its instance: callable after the instance is dropped and V8 collected, eager and lazy', async () => {
  // A makes a struct holding a reference to its own function and is dropped; B calls through the struct.
  // (Before instances were pinned, the lazy case failed: A's vmctx was no longer found, its code could be freed.)
  const types = `(rec (type $ft (func (result i32)))) (rec (type $s (struct (field (ref null $ft)))))`;
  const A = wat(`(module ${types} (func $f (type $ft) (i32.const 42)) (elem declare func $f)
    (func (export "make") (result anyref) (struct.new $s (ref.func $f))))`);
  const B = wat(`(module ${types} (func (export "call") (param anyref) (result i32)
    (call_ref $ft (struct.get $s 0 (ref.cast (ref $s) (local.get 0))))))`);
  for (const [name, options] of MODES) {
    let made: unknown = (new qb.Instance(new qb.Module(A, options), {}).exports as Record<string, any>).make();
    const b = new qb.Instance(new qb.Module(B, options), {}).exports as Record<string, any>;
    assert.is(b.call(made), 42, name);
    for (let k = 0; k < 5; k++) {
      await new Promise((r) => setImmediate(r));
      if (!forceGc()) return;
      gcCollect();
    }
    for (let k = 0; k < 50; k++) new qb.Module(A, options); // code memory churn
    assert.is(b.call(made), 42, `${name}: after the instance was dropped`);
    made = null;
  }
  // The same with the function coming from JS: A only exports it, B stores what it is given.
  const A2 = wat(`(module ${types} (func (export "f") (type $ft) (i32.const 7)))`);
  const B2 = wat(`(module ${types}
    (func (export "make") (param (ref null $ft)) (result anyref) (struct.new $s (local.get 0)))
    (func (export "call") (param anyref) (result i32) (call_ref $ft (struct.get $s 0 (ref.cast (ref $s) (local.get 0))))))`);
  for (const [name, options] of MODES) {
    const b = new qb.Instance(new qb.Module(B2, options), {}).exports as Record<string, any>;
    let made: unknown = b.make((new qb.Instance(new qb.Module(A2, options), {}).exports as Record<string, any>).f);
    for (let k = 0; k < 5; k++) {
      await new Promise((r) => setImmediate(r));
      if (!forceGc()) return;
      gcCollect();
    }
    for (let k = 0; k < 50; k++) new qb.Module(A2, options);
    assert.is(b.call(made), 7, `${name}: a function from JS, after its instance was dropped`);
    made = null;
  }
});

test('X\'s function stored by B in a struct, called from a third instance C after X and B were dropped (and B disposed), eager and lazy', async () => {
  // B imports X's function and stores it in a struct; both instances are dropped (B disposed too, in the second
  // round: its own functions now throw); C calls through the struct. Only B, pinned, keeps X: host calls of X's
  // code found it only from the running instances (C), and disposal dropped B's imports (the lazy cases failed
  // with an unknown instance context; the eager ones could read freed memory).
  const types = `(rec (type $ft (func (result i32)))) (rec (type $s (struct (field (ref null $ft)))))`;
  const X = wat(`(module ${types} (func (export "f") (type $ft) (i32.const 9)))`);
  const B = wat(`(module ${types} (import "x" "f" (func $f (type $ft))) (elem declare func $f)
    (func (export "make") (result anyref) (struct.new $s (ref.func $f))))`);
  const C = wat(`(module ${types} (func (export "call") (param anyref) (result i32)
    (call_ref $ft (struct.get $s 0 (ref.cast (ref $s) (local.get 0))))))`);
  for (const [name, options] of MODES) for (const dispose of [false, true]) {
    const c = new qb.Instance(new qb.Module(C, options), {}).exports as Record<string, any>;
    let made: unknown;
    {
      const x = new qb.Instance(new qb.Module(X, options), {});
      const b = new qb.Instance(new qb.Module(B, options), { x: { f: (x.exports as Record<string, any>).f } });
      made = (b.exports as Record<string, any>).make();
      if (dispose) (b as unknown as Record<symbol, () => void>)[DISPOSE]();
    }
    for (let k = 0; k < 5; k++) {
      await new Promise((r) => setImmediate(r));
      if (!forceGc()) return;
      gcCollect();
    }
    for (let k = 0; k < 50; k++) new qb.Module(X, options); // code memory churn
    assert.is(c.call(made), 9, `${name}: after X and B were dropped${dispose ? ', B disposed' : ''}`);
    made = null;
  }
});

test('(restore the heap limit)', () => {
  setGcHeapMax(savedHeapMax);
});

test.run();
