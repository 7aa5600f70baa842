// Tail calls (return_call, return_call_indirect): deep tail recursion runs in constant stack in every form
// (self, mutual with more stack arguments than the caller has, through a table, through an import of another
// instance, to a JS import, with multi-value results), eagerly, lazily and linked across compile batches;
// results and trap backtraces agree with V8; bounded execution still stops an infinite tail loop.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { qb, outcome, showOutcome } from './helpers/engines.js';
import { moduleInternals } from '../src/api/module.js';
import { wabt, wat as watModule } from './helpers/wat.js';

// Node 20's V8 has typed function references (return_call_ref's oracle) behind a flag.
if (Number(process.versions.node.split('.')[0]) < 22) v8.setFlagsFromString('--experimental-wasm-typed-funcref');


const wat = (source: string): Uint8Array => watModule(source, { tail_call: true, multi_value: true, reference_types: true, simd: true }, { validate: false, names: true });

/** Deeper than any stack could hold as real frames (the budget is a few MB; each frame takes >= 32 bytes). */
const DEEP = 1_000_000;

// B: the other instance. Its own memory holds 99 at address 0; `pong` has six parameters and tail-calls A's
// `ping` (one parameter) through slot 2 of its table; `bdec` tail-calls back into A through slot 1.
const B = wat(`(module
  (type $t1 (func (param i64) (result i64)))
  (table (export "tab") 4 funcref)
  (memory 1)
  (data (i32.const 0) "\\63")
  (func $pong (export "pong") (param i64 i64 i64 i64 i64 i64) (result i64)
    (if (i64.ne (i64.add (local.get 1) (i64.add (local.get 2) (i64.add (local.get 3) (local.get 4)))) (i64.const 10))
      (then unreachable))
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.add (local.get 5) (i64.load8_u (i32.const 0))))
      (else (return_call_indirect (type $t1) (i64.sub (local.get 0) (i64.const 1)) (i32.const 2)))))
  (func $bdec (export "bdec") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.load8_u (i32.const 0)))
      (else (return_call_indirect (type $t1) (i64.sub (local.get 0) (i64.const 1)) (i32.const 1)))))
  (func (export "memByte") (result i64) (i64.load8_u (i32.const 0)))
  (elem (i32.const 0) $bdec))`);

// A: the main module. Its memory holds 0xd2 (210) at address 0.
const A = wat(`(module
  (import "env" "js" (func $js (param i64) (result i64)))
  (import "b" "pong" (func $pong (param i64 i64 i64 i64 i64 i64) (result i64)))
  (import "b" "memByte" (func $bmem (result i64)))
  (import "b" "tab" (table $btab 4 funcref))
  (type $t1 (func (param i64) (result i64)))
  (type $t6 (func (param i64 i64 i64 i64 i64 i64) (result i64)))
  (table $own 4 funcref)
  (memory 1)
  (data (i32.const 0) "\\d2")
  (elem (table $own) (i32.const 0) func $count_ind $odd)

  (func $count (export "count") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 42))
      (else (return_call $count (i64.sub (local.get 0) (i64.const 1))))))

  ;; The same recursion as a plain call: overflows the stack (so the tail versions prove something).
  (func (export "countCall") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 42))
      (else (call 4 (i64.sub (local.get 0) (i64.const 1))))))

  ;; Mutual recursion where one side has more stack arguments than the other.
  (func $even (export "even") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 1))
      (else (return_call $odd (i64.sub (local.get 0) (i64.const 1)) (i64.const 1) (i64.const 2) (i64.const 3)
                              (i64.const 4) (local.get 0)))))
  (func $odd (param i64 i64 i64 i64 i64 i64) (result i64)
    (if (i64.ne (i64.add (local.get 1) (i64.add (local.get 2) (i64.add (local.get 3) (local.get 4)))) (i64.const 10))
      (then unreachable))
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.add (i64.const 1000) (local.get 5)))
      (else (return_call $even (i64.sub (local.get 0) (i64.const 1))))))

  ;; Through this module's table, growing the argument area via the table too.
  (func $count_ind (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (i64.const 7))
      (else (if (result i64) (i64.eq (i64.rem_u (local.get 0) (i64.const 3)) (i64.const 0))
        (then (return_call_indirect $own (type $t6) (i64.sub (local.get 0) (i64.const 1)) (i64.const 4) (i64.const 3)
                                         (i64.const 2) (i64.const 1) (i64.const 5) (i32.const 1)))
        (else (return_call_indirect $own (type $t1) (i64.sub (local.get 0) (i64.const 1)) (i32.const 0)))))))
  (func (export "countInd") (param i64) (result i64)
    (return_call_indirect $own (type $t1) (local.get 0) (i32.const 0)))

  ;; Across instances: A.ping (1 arg) -> B.pong (6 args, import) -> A.ping (import of B) -> ...
  (func $ping (export "ping") (param i64) (result i64)
    (return_call $pong (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (local.get 0)))

  ;; Through B's table (imported): A.tloop -> B.bdec (slot 0) -> A.tloop (slot 1) -> ...
  (func $tloop (export "tloop") (param i64) (result i64)
    (return_call_indirect $btab (type $t1) (local.get 0) (i32.const 0)))

  ;; A tail call to a JS import, at the end of a tail chain.
  (func $toJs (export "toJs") (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then (return_call $js (i64.const 5)))
      (else (return_call $toJs (i64.sub (local.get 0) (i64.const 1))))))

  ;; A direct (same-instance) call whose callee tail-calls into B: after it returns, this function's memory
  ;; and instance must be its own again (210 + B's 99).
  (func $hop (param i64) (result i64) (return_call $pong (local.get 0) (i64.const 1) (i64.const 2) (i64.const 3) (i64.const 4) (i64.const 0)))
  (func (export "direct") (param i64) (result i64)
    (i64.add (call $hop (local.get 0)) (i64.add (i64.load8_u (i32.const 0)) (call $bmem))))

  ;; Multi-value results through a chain that grows the argument area and crosses a direct caller.
  (func $mv (param i64) (result i64 i64 i64)
    (if (result i64 i64 i64) (i64.eqz (local.get 0))
      (then (i64.const 7) (i64.const 8) (i64.const 9))
      (else (return_call $mv6 (i64.sub (local.get 0) (i64.const 1)) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0) (i64.const 0)))))
  (func $mv6 (param i64 i64 i64 i64 i64 i64) (result i64 i64 i64)
    (return_call $mv (local.get 0)))
  (func (export "mv") (param i64) (result i64 i64 i64) (return_call $mv (local.get 0)))
  (func (export "mvSum") (param i64) (result i64)
    (local i64)
    (call $mv (local.get 0))
    (i64.mul (i64.const 100))
    (i64.add)
    (i64.add (i64.mul (i64.const 100)))
    (i64.add (i64.load8_u (i32.const 0))))

  ;; A trap deep in a tail chain: the backtrace shows the trapping function and the outermost caller.
  (func $deepTrap (param i64) (result i64)
    (if (result i64) (i64.eqz (local.get 0))
      (then unreachable)
      (else (return_call $deepTrap (i64.sub (local.get 0) (i64.const 1))))))
  (func $mid (param i64) (result i64) (return_call $deepTrap (local.get 0)))
  (func (export "trap") (param i64) (result i64) (i64.add (i64.const 1) (call $mid (local.get 0))))

  (func $spin (export "spin") (return_call $spin))
  (elem (table $own) (i32.const 2) func $ping))`);

type Exports = Record<string, (...args: any[]) => any>;

interface Pair {
  a: Exports;
  b: Exports;
}

/** A imports B's functions and table; B reaches A through its table (slots 1 and 2), so every hop is wasm. */
function instantiate(engine: any, options: object | undefined, js: (x: bigint) => bigint): Pair {
  const mk = (bytes: Uint8Array) => (options === undefined ? new engine.Module(bytes) : new engine.Module(bytes, options));
  const b = new engine.Instance(mk(B), {}).exports;
  const a = new engine.Instance(mk(A), { env: { js }, b: { pong: b.pong, memByte: b.memByte, tab: b.tab } }).exports;
  b.tab.set(1, a.tloop);
  b.tab.set(2, a.ping);
  return { a, b };
}

const CONFIGS: Array<[string, object | undefined]> = [
  ['eager', undefined],
  ['lazy', { lazy: true }],
  ['two threads, one function per batch', { threads: 2, batchBytes: 1 }],
];

for (const [name, options] of CONFIGS) {
  test(`${name}: deep tail recursion in constant stack, every form, same results as V8`, () => {
    const { a } = instantiate(qb, options, (x) => x * 3n);
    const v = instantiate(WebAssembly, undefined, (x) => x * 3n).a;
    assert.is(a.count(BigInt(DEEP)), 42n);
    assert.is(a.count(10_000_000n), 42n, '10 million self tail calls');
    // The same depth as plain calls overflows: the stack really is bounded.
    const o = outcome(() => a.countCall(BigInt(DEEP)));
    assert.is(o.kind, 'RangeError', showOutcome(o));
    for (const n of [0n, 1n, 2n, 5n, 1001n, BigInt(DEEP), BigInt(DEEP) + 1n]) {
      assert.is(a.even(n), v.even(n), `even(${n})`);
      assert.is(a.countInd(n), v.countInd(n), `countInd(${n})`);
      assert.is(a.toJs(n), v.toJs(n), `toJs(${n})`);
      assert.equal(a.mv(n), v.mv(n), `mv(${n})`);
      assert.is(a.mvSum(n), v.mvSum(n), `mvSum(${n})`);
    }
    assert.is(a.even(10_000_000n), 1n, '10 million mutual tail calls');
    assert.is(a.mvSum(3n), 7n + 8n * 100n + 9n * 10000n + 210n);
  });

  test(`${name}: tail calls across instances (imports and a table of the other instance)`, () => {
    const { a } = instantiate(qb, options, (x) => x);
    const v = instantiate(WebAssembly, undefined, (x) => x).a;
    for (const n of [0n, 1n, 2n, 3n, 100n, BigInt(DEEP)]) {
      assert.is(a.ping(n), v.ping(n), `ping(${n})`);
      assert.is(a.tloop(n), v.tloop(n), `tloop(${n})`);
    }
    assert.is(a.ping(BigInt(DEEP)), 99n, 'pong adds B\'s memory byte');
    // A direct caller in A gets its own instance back after its callee tail-called into B.
    for (const n of [0n, 1n, 7n]) assert.is(a.direct(n), v.direct(n), `direct(${n})`);
    assert.is(a.direct(0n), 99n + 210n + 99n);
  });

  test(`${name}: a trap deep in a tail chain has V8's backtrace`, () => {
    const { a } = instantiate(qb, options, (x) => x);
    const v = instantiate(WebAssembly, undefined, (x) => x).a;
    for (const n of [0n, 3n, BigInt(DEEP)]) {
      const q = outcome(() => a.trap(n));
      const w = outcome(() => v.trap(n));
      assert.is(q.kind, 'RuntimeError', showOutcome(q));
      assert.is(q.message, 'unreachable');
      assert.equal(wasmFrames(String((q.error as Error).stack)), wasmFrames(String((w.error as Error).stack)), `trap(${n})`);
      assert.is(wasmFrames(String((q.error as Error).stack)).length, 2, 'the trapping function and the outer caller');
    }
  });

  test(`${name}: a JS import reached by a tail call can throw through the chain`, () => {
    const err = new Error('from js');
    const { a } = instantiate(qb, options, () => {
      throw err;
    });
    const o = outcome(() => a.toJs(1000n));
    assert.is(o.error, err);
    assert.is(a.count(5n), 42n, 'the instance stays usable');
  });
}

test('code-cache hit from another process: tail-call frames work (the code holds no process-specific address)', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-tail-'));
  try {
    const file = path.join(dir, 'b.wasm');
    writeFileSync(file, B);
    const cache = path.join(dir, 'cache');
    // Another process compiles B and stores it; its runtime code (the tail-call return stub) lies elsewhere.
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', `
      import { readFileSync } from 'node:fs';
      const qb = (await import(${JSON.stringify(path.join(root, 'dist/src/index.js'))})).default;
      const { moduleInternals } = await import(${JSON.stringify(path.join(root, 'dist/src/api/module.js'))});
      for (const lazy of [false, true]) {
        const m = new qb.Module(readFileSync(${JSON.stringify(file)}), { cache: ${JSON.stringify(cache)}, lazy });
        // a lazy entry holds the functions that ran: run the chain once
        const b = new qb.Instance(m, {}).exports;
        b.tab.set(1, b.bdec);
        b.tab.set(2, b.bdec);
        b.bdec(5n);
        console.log(moduleInternals(m).cacheStatus);
      }`], { encoding: 'utf8' });
    assert.is(child.stdout.trim(), 'absent\nabsent', child.stderr);
    for (const lazy of [false, true]) {
      const m = new qb.Module(B, { cache, lazy });
      assert.is(moduleInternals(m).cacheStatus, 'hit', lazy ? 'lazy' : 'eager');
      const b = new qb.Instance(m, {}).exports as Record<string, any>;
      const a = new qb.Instance(new qb.Module(A), { env: { js: (x: bigint) => x }, b: { pong: b.pong, memByte: b.memByte, tab: b.tab } }).exports as Record<string, any>;
      b.tab.set(1, a.tloop);
      b.tab.set(2, a.ping);
      // B's bdec -> A's tloop (another instance: a tail-call frame) -> B's bdec through B's table ...
      assert.is(b.bdec(BigInt(DEEP)), 99n, lazy ? 'lazy' : 'eager');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// Arguments stored in place over the caller's parameters: permutations, a parameter in its own position,
// f32/f64 and v128 (16-byte slots) parameters, declared locals, constants.
const PERMUTE = wat(`(module
  (func $rot (export "rot") (param i64 i64 i64 i32) (result i64)
    (if (result i64) (i32.eqz (local.get 3))
      (then (i64.add (i64.mul (local.get 0) (i64.const 1000000)) (i64.add (i64.mul (local.get 1) (i64.const 1000)) (local.get 2))))
      (else (return_call $rot (local.get 1) (local.get 2) (local.get 0) (i32.sub (local.get 3) (i32.const 1))))))
  (func $mix (export "mix") (param f32 f64 i32) (result f64)
    (local i32)
    (local.set 3 (i32.sub (local.get 2) (i32.const 1)))
    (if (result f64) (i32.eqz (local.get 2))
      (then (f64.add (f64.promote_f32 (local.get 0)) (local.get 1)))
      (else (return_call $mix (f32.add (local.get 0) (f32.const 1)) (f64.mul (local.get 1) (f64.const 1.5)) (local.get 3)))))
  (func (export "v") (param i32) (result i32) (return_call $vv (v128.const i32x4 1 2 3 4) (local.get 0) (v128.const i32x4 10 20 30 40)))
  (func $vv (param v128 i32 v128) (result i32)
    (if (result i32) (i32.eqz (local.get 1))
      (then (i32.add (i32x4.extract_lane 3 (local.get 0)) (i32x4.extract_lane 0 (local.get 2))))
      (else (return_call $vv (local.get 2) (i32.sub (local.get 1) (i32.const 1)) (local.get 0))))))`);

for (const [name, options] of CONFIGS) {
  test(`${name}: arguments permuted in place over the caller's parameters`, () => {
    const q = (options ? new qb.Instance(new qb.Module(PERMUTE, options)) : new qb.Instance(new qb.Module(PERMUTE))).exports as Record<string, any>;
    const v = new WebAssembly.Instance(new WebAssembly.Module(PERMUTE as BufferSource)).exports as Record<string, any>;
    for (const n of [0, 1, 2, 3, 4, 5, 99, 1_000_001]) {
      assert.is(q.rot(1n, 2n, 3n, n), v.rot(1n, 2n, 3n, n), `rot ${n}`);
      assert.is(q.mix(1.5, 0.25, n % 500), v.mix(1.5, 0.25, n % 500), `mix ${n}`);
      assert.is(q.v(n), v.v(n), `v ${n}`);
    }
  });
}

// An exception thrown at the end of a tail chain in another instance, reached through a tail-call frame, is
// caught by the outer caller's handler, which then runs with its own instance (its memory holds 210).
function excWat(source: string): Uint8Array {
  const m = wabt.parseWat('exc.wat', source, { tail_call: true, exceptions: true });
  try {
    return m.toBinary({}).buffer as Uint8Array;
  } finally {
    m.destroy();
  }
}
const THROWER = excWat(`(module (tag $t (param i32)) (memory 1) (data (i32.const 0) "\\63")
  (func $thr (export "thrower") (param i32) (result i32)
    (if (result i32) (i32.eqz (local.get 0)) (then (throw $t (i32.const 7)))
      (else (return_call $thr (i32.sub (local.get 0) (i32.const 1)))))))`);
const CATCHER = excWat(`(module (import "b" "thrower" (func $thr (param i32) (result i32))) (memory 1) (data (i32.const 0) "\\d2")
  (func $hop (param i32) (result i32) (return_call $thr (local.get 0)))
  (func (export "run") (param i32) (result i32)
    (try (result i32) (do (call $hop (local.get 0))) (catch_all (i32.add (i32.const 1000) (i32.load8_u (i32.const 0)))))))`);

for (const [name, options] of CONFIGS) {
  test(`${name}: an exception thrown at the end of a cross-instance tail chain is caught by the outer caller`, () => {
    const run = (engine: any, opts: object | undefined) => {
      const mk = (bytes: Uint8Array) => (opts === undefined ? new engine.Module(bytes) : new engine.Module(bytes, opts));
      const b = new engine.Instance(mk(THROWER), {}).exports;
      return new engine.Instance(mk(CATCHER), { b: { thrower: b.thrower } }).exports as Record<string, any>;
    };
    const q = run(qb, options), v = run(WebAssembly, undefined);
    for (const n of [0, 1, 5, 100_000]) assert.is(q.run(n), v.run(n), `run(${n})`);
    assert.is(q.run(3), 1210);
  });
}

test('fuel and interrupts stop an infinite tail-recursive loop', () => {
  for (const options of [{ fuel: true }, { fuel: true, lazy: true }]) {
    const { a } = instantiate(qb, options, (x) => x);
    qb.setFuel(100_000);
    const o = outcome(() => a.spin());
    assert.is(o.message, 'all fuel consumed', showOutcome(o));
  }
  const { a } = instantiate(qb, { timeoutMs: 50 }, (x) => x);
  const o = outcome(() => a.spin());
  assert.is(o.message, 'execution interrupted', showOutcome(o));
});

test('validation: a tail call must return the caller\'s results', () => {
  const bad = [
    '(module (func $f (result i64) (i64.const 1)) (func (result i32) (return_call $f)))',
    '(module (type $t (func (result i64))) (table 1 funcref) (func (return_call_indirect (type $t) (i32.const 0))))',
    '(module (func $f (param i32)) (func (return_call $f (i64.const 1))))',
  ];
  for (const source of bad) {
    const bytes = wabt.parseWat('bad.wat', source, { tail_call: true });
    let bin: Uint8Array;
    try {
      bin = bytes.toBinary({}).buffer;
    } finally {
      bytes.destroy();
    }
    assert.throws(() => new qb.Module(bin), (e: Error) => e instanceof qb.CompileError && /type mismatch/.test(e.message), source);
    assert.throws(() => new WebAssembly.Module(bin as BufferSource), undefined, `V8 rejects it too: ${source}`);
  }
});

// return_call_ref (wabt cannot write it: the module is assembled by hand).
//   type 0 (func (param i64) (result i64)), 1 (func (param i64 x6) (result i64)), 2 (func (result i64))
//   import "o" "f" (type 0)                                             ;; func 0
//   func 1 "countRef": n == 0 ? 9 : return_call_ref 1 (n-1, 1, 2, 3, 4, 5, ref.func 2)
//   func 2: checks its arguments 1..5 sum to 15, then return_call_ref 0 (a0, ref.func 1)
//   func 3 "nullRef": return_call_ref 0 (1, ref.null 0): traps
//   func 4 "viaImport": return_call_ref 0 (n, ref.func 0), the import (another instance's countRef)
function returnCallRefModule(): Uint8Array {
  const vec = (items: number[][]) => [items.length, ...items.flat()];
  const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
  const str = (x: string) => [x.length, ...Array.from(x, (ch) => ch.charCodeAt(0))];
  const body = (code: number[]) => [...uleb(code.length + 1), 0, ...code];
  const I64 = 0x7e;
  const types = vec([[0x60, 1, I64, 1, I64], [0x60, 6, I64, I64, I64, I64, I64, I64, 1, I64], [0x60, 0, 1, I64]]);
  const imports = vec([[...str('o'), ...str('f'), 0x00, 0]]);
  const funcs = vec([[0], [1], [2], [0]]);
  const exports = vec([[...str('countRef'), 0, 1], [...str('nullRef'), 0, 3], [...str('viaImport'), 0, 4]]);
  const elems = vec([[0x03, 0x00, ...vec([[0], [1], [2]])]]); // declarative: ref.func 0, 1, 2
  const code = vec([
    body([0x20, 0, 0x50, 0x04, I64, 0x42, 9, 0x05, 0x20, 0, 0x42, 1, 0x7d, 0x42, 1, 0x42, 2, 0x42, 3, 0x42, 4,
      0x42, 5, 0xd2, 2, 0x15, 1, 0x0b, 0x0b]),
    body([0x20, 1, 0x20, 2, 0x7c, 0x20, 3, 0x7c, 0x20, 4, 0x7c, 0x20, 5, 0x7c, 0x42, 15, 0x52, 0x04, 0x40, 0x00, 0x0b,
      0x20, 0, 0xd2, 1, 0x15, 0, 0x0b]),
    body([0x42, 1, 0xd0, 0, 0x15, 0, 0x0b]),
    body([0x20, 0, 0xd2, 0, 0x15, 0, 0x0b]),
  ]);
  return Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(1, types), ...section(2, imports),
    ...section(3, funcs), ...section(7, exports), ...section(9, elems), ...section(10, code)]);
}

function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let b = v & 0x7f;
    v >>>= 7;
    if (v !== 0) b |= 0x80;
    out.push(b);
  } while (v !== 0);
  return out;
}

for (const [name, options] of CONFIGS) {
  test(`${name}: return_call_ref in constant stack, growing the argument area, across instances; null traps`, () => {
    const bytes = returnCallRefModule();
    const run = (engine: any) => {
      const mk = () => (options === undefined || engine === WebAssembly ? new engine.Module(bytes) : new engine.Module(bytes, options));
      const first = new engine.Instance(mk(), { o: { f: (x: bigint) => x } }).exports;
      return new engine.Instance(mk(), { o: { f: first.countRef } }).exports;
    };
    const q = run(qb), v = run(WebAssembly);
    for (const n of [0n, 1n, 2n, 7n, BigInt(DEEP)]) {
      assert.is(q.countRef(n), v.countRef(n), `countRef(${n})`);
      assert.is(q.viaImport(n), v.viaImport(n), `viaImport(${n})`);
    }
    assert.is(q.viaImport(10_000_000n), 9n, '10 million mutual tail calls through references');
    const o = outcome(() => q.nullRef());
    assert.is(o.kind, 'RuntimeError', showOutcome(o));
    assert.is(o.message, outcome(() => v.nullRef()).message);
  });
}

/** `wasm-function[N]:0xOFF` of each wasm frame of a stack string (V8 or Quickbeam format). */
function wasmFrames(stack: string): string[] {
  const out: string[] = [];
  for (const line of stack.split('\n')) {
    const m = /(wasm-function\[\d+\]:0x[0-9a-f]+)/.exec(line);
    if (m) out.push(m[1]);
  }
  return out;
}

test.run();
