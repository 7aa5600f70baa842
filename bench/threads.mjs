#!/usr/bin/env node
// Threads (issue 15): a parallel workload's speed-up from 1 to 2 threads, Quickbeam vs V8 (node's default
// tiers). The same module runs in worker_threads Workers over one shared memory: each unit of work hashes a
// 64 KiB slice of the memory ITERS times (compute-bound, no sharing but one atomic add of each unit's result),
// and wait/notify starts every worker at once. 1 thread does 2 units; 2 threads do 1 unit each. Wall ms,
// medians of ROUNDS, engines interleaved. Also a contended run (every thread increments one counter).
//
//   node bench/threads.mjs [--rounds N] [--iters N]

import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import os from 'node:os';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROUNDS = opt('--rounds', 7);
const ITERS = opt('--iters', 400);
const CONTENDED = 2_000_000;

const require = createRequire(import.meta.url);
const wabt = await require('wabt')();
const WAT = `(module
  (import "env" "mem" (memory 8 8 shared))
  ;; hash the 64 KiB slice at $base $iters times; atomically add the result at 0
  (func (export "work") (param $base i32) (param $iters i32) (local $i i32) (local $h i32)
    (local.set $h (i32.const 0x811c9dc5))
    (loop $outer
      (local.set $i (i32.const 0))
      (loop $inner
        (local.set $h (i32.mul (i32.xor (local.get $h) (i32.load (i32.add (local.get $base) (local.get $i)))) (i32.const 0x01000193)))
        (br_if $inner (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (i32.const 65536))))
      (br_if $outer (local.tee $iters (i32.sub (local.get $iters) (i32.const 1)))))
    (drop (i32.atomic.rmw.add (i32.const 0) (local.get $h))))
  (func (export "count") (param $n i32)
    (loop $l (drop (i32.atomic.rmw.add (i32.const 8) (i32.const 1)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  ;; single-thread costs: n notifies (no waiter), n waits that find another value, n adds, n ors
  (func (export "notifies") (param $n i32) (loop $l (drop (memory.atomic.notify (i32.const 16) (i32.const 1)))
    (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  ;; (the wait in a function of its own: Node 20's V8 loses the loop counter across a wait32 in the loop itself)
  (func $wait (param i32 i32 i64) (result i32) (memory.atomic.wait32 (local.get 0) (local.get 1) (local.get 2)))
  (func (export "waits") (param $n i32) (loop $l (drop (call $wait (i32.const 16) (i32.const 1) (i64.const 0)))
    (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "adds") (param $n i32) (loop $l (drop (i32.atomic.rmw.add (i32.const 20) (local.get $n)))
    (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "ors") (param $n i32) (loop $l (drop (i32.atomic.rmw.or (i32.const 20) (local.get $n)))
    (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  ;; start line: wait until word 4 becomes 1
  (func (export "gate") (loop $w (if (i32.eqz (i32.atomic.load (i32.const 4)))
    (then (drop (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const -1))) (br $w))))))`;
const m = wabt.parseWat('threads.wat', WAT, { threads: true });
const BYTES = m.toBinary({}).buffer;
m.destroy();

const qbUrl = new URL('../dist/src/index.js', import.meta.url).href;
const workerSrc = `
const { parentPort, workerData } = require('node:worker_threads');
(async () => {
  const { engine, bytes, descriptor, memory, qbUrl } = workerData;
  let ex;
  if (engine === 'v8') ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { mem: memory } }).exports;
  else {
    const qb = (await import(qbUrl)).default;
    ex = new qb.Instance(qb.moduleFromTransferable(descriptor), { env: { mem: memory } }).exports;
  }
  parentPort.on('message', ([fn, a, b]) => { ex.gate(); ex[fn](a, b); parentPort.postMessage(0); });
  parentPort.postMessage('ready');
})();`;

const qb = (await import(qbUrl)).default;
const descriptor = qb.transferableModule(new qb.Module(BYTES));

async function pool(engine, n) {
  const memory = engine === 'v8' ? new WebAssembly.Memory({ initial: 8, maximum: 8, shared: true }) : new qb.Memory({ initial: 8, maximum: 8, shared: true });
  const workers = [];
  for (let k = 0; k < n; k++) {
    const w = new Worker(workerSrc, { eval: true, workerData: { engine, bytes: BYTES, descriptor, memory, qbUrl } });
    await new Promise((r) => w.once('message', r));
    workers.push(w);
  }
  const i32 = new Int32Array(memory.buffer);
  return {
    async run(calls) {
      Atomics.store(i32, 1, 0);
      const done = workers.map((w, k) => new Promise((r) => { w.once('message', r); w.postMessage(calls[k]); }));
      await new Promise((r) => setTimeout(r, 20)); // every worker at the gate
      const t0 = process.hrtime.bigint();
      Atomics.store(i32, 1, 1);
      Atomics.notify(i32, 1);
      await Promise.all(done);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    },
    stop: () => Promise.all(workers.map((w) => w.terminate())),
  };
}

const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const results = {};
for (const engine of ['quickbeam', 'v8']) results[engine] = { one: [], two: [], c1: [], c2: [] };
const pools = {};
for (const engine of ['quickbeam', 'v8']) pools[engine] = { p1: await pool(engine, 1), p2: await pool(engine, 2) };
for (let r = 0; r < ROUNDS; r++) {
  for (const engine of ['quickbeam', 'v8']) {
    const { p1, p2 } = pools[engine];
    results[engine].one.push(await p1.run([['work', 65536, 2 * ITERS]]));
    results[engine].two.push(await p2.run([['work', 65536, ITERS], ['work', 131072, ITERS]]));
    results[engine].c1.push(await p1.run([['count', 2 * CONTENDED]]));
    results[engine].c2.push(await p2.run([['count', CONTENDED], ['count', CONTENDED]]));
  }
}
for (const engine of ['quickbeam', 'v8']) {
  await pools[engine].p1.stop();
  await pools[engine].p2.stop();
}
console.log(`threads bench: ${ITERS} x 64 KiB hashed per unit, ${CONTENDED} contended increments per unit; medians of ${ROUNDS}; load average ${os.loadavg()[0].toFixed(2)}, ${os.cpus().length} cores`);
console.log('| engine | 1 thread, 2 units (ms) | 2 threads, 1 unit each (ms) | speed-up | contended: 1 thread (ms) | 2 threads (ms) |');
console.log('|---|---|---|---|---|---|');
// single-thread costs on this thread (ns per operation, best of 5)
const micro = {};
for (const [engine, W] of [['quickbeam', qb], ['v8', WebAssembly]]) {
  const mem = new W.Memory({ initial: 8, maximum: 8, shared: true });
  const ex = new W.Instance(new W.Module(BYTES), { env: { mem } }).exports;
  micro[engine] = [['notifies', 200_000], ['waits', 200_000], ['adds', 20_000_000], ['ors', 20_000_000]].map(([f, n]) => {
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t = process.hrtime.bigint();
      ex[f](n);
      best = Math.min(best, Number(process.hrtime.bigint() - t) / n);
    }
    return best.toFixed(1);
  });
}
for (const engine of ['quickbeam', 'v8']) {
  const x = results[engine];
  const one = median(x.one), two = median(x.two);
  console.log(`| ${engine === 'v8' ? 'V8 (Node default)' : 'Quickbeam'} | ${one.toFixed(1)} | ${two.toFixed(1)} | ${(one / two).toFixed(2)}x | ${median(x.c1).toFixed(1)} | ${median(x.c2).toFixed(1)} |`);
}
console.log('\n| engine | notify, no waiter (ns) | wait32, not-equal (ns) | rmw.add (ns) | rmw.or (ns) |');
console.log('|---|---|---|---|---|');
for (const engine of ['quickbeam', 'v8']) console.log(`| ${engine === 'v8' ? 'V8 (Node default)' : 'Quickbeam'} | ${micro[engine].join(' | ')} |`);
