// Threads across worker_threads (issue 15): a module crosses as a descriptor (its machine code, not
// recompiled) and a shared memory by postMessage; every thread has its own Quickbeam, exec state and trap
// state. Stress: atomic counters (rmw.add, i64 add, or), a cmpxchg spin lock around plain loads and stores, a
// futex mutex (wait/notify) around a plain counter; exact final values, many rounds. A trap in one worker
// leaves the others running; memory.grow on one thread is seen by the code of the others. The same module
// runs on V8 as the oracle for the expected values.
//
// QUICKBEAM_THREADS_ROUNDS=N (default 6) sets the rounds; THREADS=N the workers (default 4).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { wat } from './helpers/wat.js';
import { Worker } from 'node:worker_threads';
import qb from '../src/index.js';


const WAT = `(module
  (import "env" "mem" (memory 1 16 shared))
  (func (export "inc") (param $n i32)
    (loop $l
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (drop (i64.atomic.rmw.add (i32.const 64) (i64.const 0x100000001)))
      (drop (i32.atomic.rmw8.add_u (i32.const 72) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "setbit") (param $t i32)
    (drop (i64.atomic.rmw.or (i32.const 80) (i64.shl (i64.const 1) (i64.extend_i32_u (local.get $t)))))
    (drop (i32.atomic.rmw.xor (i32.const 88) (i32.shl (i32.const 1) (local.get $t)))))
  ;; spin lock (cmpxchg) at 8 around a plain i64 counter at 16
  (func $spin (loop $s (br_if $s (i32.atomic.rmw.cmpxchg (i32.const 8) (i32.const 0) (i32.const 1)))))
  (func (export "locked") (param $n i32)
    (loop $l
      (call $spin)
      (i64.store (i32.const 16) (i64.add (i64.load (i32.const 16)) (i64.const 1)))
      (i32.atomic.store (i32.const 8) (i32.const 0))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  ;; futex mutex at 40 (0 free, 1 locked, 2 locked with waiters) around a plain i32 counter at 48
  (func $lock (local $c i32)
    (local.set $c (i32.atomic.rmw.cmpxchg (i32.const 40) (i32.const 0) (i32.const 1)))
    (if (local.get $c) (then
      (if (i32.ne (local.get $c) (i32.const 2)) (then (local.set $c (i32.atomic.rmw.xchg (i32.const 40) (i32.const 2)))))
      (block $done (loop $w
        (br_if $done (i32.eqz (local.get $c)))
        (drop (memory.atomic.wait32 (i32.const 40) (i32.const 2) (i64.const -1)))
        (local.set $c (i32.atomic.rmw.xchg (i32.const 40) (i32.const 2)))
        (br $w))))))
  (func $unlock
    (if (i32.ne (i32.atomic.rmw.sub (i32.const 40) (i32.const 1)) (i32.const 1)) (then
      (i32.atomic.store (i32.const 40) (i32.const 0))
      (drop (memory.atomic.notify (i32.const 40) (i32.const 1))))))
  (func (export "mutexed") (param $n i32)
    (loop $l
      (call $lock)
      (i32.store (i32.const 48) (i32.add (i32.load (i32.const 48)) (i32.const 1)))
      (call $unlock)
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "peek") (param i32) (result i32) (i32.atomic.load (local.get 0)))
  (func (export "poke") (param i32 i32) (i32.atomic.store (local.get 0) (local.get 1)))
  (func (export "trap") (unreachable))
  ;; spins until word 96 becomes non-zero (another thread's store), then returns the word at 100
  (func (export "await") (result i32)
    (loop $w (br_if $w (i32.eqz (i32.atomic.load (i32.const 96)))))
    (i32.atomic.load (i32.const 100))))`;

const BYTES: Uint8Array = (() => {
  return wat(WAT, { threads: true }, { validate: false });
})();

const THREADS = Number(process.env.THREADS ?? 4);
const ROUNDS = Number(process.env.QUICKBEAM_THREADS_ROUNDS ?? 6);
const workerUrl = new URL('./helpers/thread-worker.js', import.meta.url);

interface Reply { results: unknown[]; error?: string; ready?: boolean }

class Pool {
  readonly workers: Worker[] = [];
  private waiting: Array<((r: Reply) => void) | null> = [];
  private constructor() {}
  static async start(n: number, descriptor: unknown, memory: unknown): Promise<Pool> {
    const p = new Pool();
    const ready: Promise<Reply>[] = [];
    for (let k = 0; k < n; k++) {
      const w = new Worker(workerUrl, { workerData: { descriptor, memory } });
      p.workers.push(w);
      p.waiting.push(null);
      ready.push(new Promise((resolve, reject) => {
        p.waiting[k] = resolve;
        w.once('error', reject);
      }));
      w.on('message', (r: Reply) => {
        const f = p.waiting[k];
        p.waiting[k] = null;
        f?.(r);
      });
    }
    await Promise.all(ready);
    return p;
  }
  run(k: number, calls: Array<[string, unknown[]]>): Promise<Reply> {
    return new Promise((resolve) => {
      this.waiting[k] = resolve;
      this.workers[k].postMessage(calls);
    });
  }
  all(calls: (k: number) => Array<[string, unknown[]]>): Promise<Reply[]> {
    return Promise.all(this.workers.map((_, k) => this.run(k, calls(k))));
  }
  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

const N_INC = 20000, N_LOCKED = 5000, N_MUTEX = 3000;

test('counters, spin lock and futex mutex on several threads: exact totals, every round (V8 gives the same)', async () => {
  const module = new qb.Module(BYTES);
  const memory = new qb.Memory({ initial: 1, maximum: 16, shared: true });
  const pool = await Pool.start(THREADS, qb.transferableModule(module), memory);
  try {
    const view = new DataView(memory.buffer);
    for (let round = 0; round < ROUNDS; round++) {
      new Uint8Array(memory.buffer, 0, 128).fill(0);
      const replies = await pool.all((k) => [['inc', [N_INC]], ['locked', [N_LOCKED]], ['mutexed', [N_MUTEX]], ['setbit', [k]]]);
      for (const r of replies) assert.is(r.error, undefined);
      const T = THREADS;
      assert.is(view.getUint32(0, true), T * N_INC, `round ${round}: rmw.add`);
      assert.is(view.getBigUint64(64, true), BigInt(T * N_INC) * 0x100000001n, `round ${round}: i64 rmw.add`);
      assert.is(view.getUint8(72), (T * N_INC) & 0xff, `round ${round}: rmw8.add_u`);
      assert.is(view.getUint8(73), 0, `round ${round}: rmw8.add_u wrote one byte`);
      assert.is(view.getBigUint64(16, true), BigInt(T * N_LOCKED), `round ${round}: spin-locked counter`);
      assert.is(view.getUint32(48, true), T * N_MUTEX, `round ${round}: mutex counter`);
      assert.is(view.getUint32(40, true), 0, `round ${round}: mutex free`);
      assert.is(view.getBigUint64(80, true), (1n << BigInt(T)) - 1n, `round ${round}: rmw.or bits`);
      assert.is(view.getUint32(88, true), 2 ** T - 1, `round ${round}: rmw.xor bits`);
    }
  } finally {
    await pool.stop();
  }
  // V8 as the oracle for one thread's totals (the program is deterministic on one thread)
  const vm = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
  const v = new WebAssembly.Instance(new WebAssembly.Module(BYTES as BufferSource), { env: { mem: vm } }).exports as any;
  v.inc(N_INC);
  v.locked(N_LOCKED);
  v.mutexed(N_MUTEX);
  const dv = new DataView(vm.buffer);
  assert.equal([dv.getUint32(0, true), dv.getBigUint64(16, true), dv.getUint32(48, true)], [N_INC, BigInt(N_LOCKED), N_MUTEX]);
});

test('a trap in one worker leaves the others running; grow on one thread is seen by the code of the others', async () => {
  const module = new qb.Module(BYTES);
  const memory = new qb.Memory({ initial: 1, maximum: 16, shared: true });
  const pool = await Pool.start(3, qb.transferableModule(module), memory);
  try {
    // worker 1 spins in wasm until worker 2 stores; worker 0 traps meanwhile
    const spinning = pool.run(1, [['await', []], ['size', []], ['peek', [3 * 65536 + 8]]]);
    const trapped = await pool.run(0, [['trap', []]]);
    assert.is(trapped.error, 'RuntimeError: unreachable');
    const grown = await pool.run(2, [['grow', [3]], ['size', []], ['poke', [3 * 65536 + 8, 77]], ['poke', [100, 42]], ['poke', [96, 1]]]);
    assert.is(grown.error, undefined);
    assert.equal(grown.results.slice(0, 2), [1, 4]);
    const r = await spinning;
    assert.is(r.error, undefined);
    // worker 1 saw the word, the new size and a byte in the new pages (its desc is the process-wide one)
    assert.equal(r.results, [42, 4, 77]);
    // the trapped worker still works, and sees the grown memory too
    const again = await pool.run(0, [['size', []], ['peek', [3 * 65536 + 8]]]);
    assert.equal(again.results, [4, 77]);
    // and this thread (main) too: its own instance and the Memory object
    assert.is(memory.buffer.byteLength, 4 * 65536);
    const ex = new qb.Instance(module, { env: { mem: memory } }).exports as any;
    assert.is(ex.size(), 4);
    assert.is(ex.peek(3 * 65536 + 8), 77);
    assert.is(memory.grow(1), 4);
    const seen = await pool.run(2, [['size', []]]);
    assert.equal(seen.results, [5]);
  } finally {
    await pool.stop();
  }
});

test('module descriptors: eager modules carry their code (no recompilation), lazy ones their bytes', () => {
  const eager = qb.transferableModule(new qb.Module(BYTES, { lazy: false }));
  assert.ok(eager.code instanceof Uint8Array && eager.code.buffer instanceof SharedArrayBuffer && eager.code.length > 0);
  const lazy = qb.transferableModule(new qb.Module(BYTES, { lazy: true }));
  assert.is(lazy.code, null);
  for (const d of [eager, lazy]) {
    // (in this thread too) the same behaviour
    const mem = new qb.Memory({ initial: 1, maximum: 16, shared: true });
    const ex = new qb.Instance(qb.moduleFromTransferable(structuredClone(d)), { env: { mem } }).exports as any;
    ex.inc(10);
    ex.mutexed(3);
    assert.equal([ex.peek(0), ex.peek(48), ex.size()], [10, 3, 1]);
    assert.throws(() => ex.trap(), /unreachable/);
  }
  assert.throws(() => qb.moduleFromTransferable({ kind: 'nope' }), TypeError);
});

test.run();
