// Bounded execution: timeouts, interrupt() from a host call and from another thread, and fuel.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import qb from '../src/index.js';

// (module
//   (import "env" "tick" (func $tick))
//   (func (export "spin") (loop br 0))
//   (func (export "spinTick") (loop call $tick br 0))
//   (func (export "count") (param i32) (result i32) (local i32)
//     (block (loop (br_if 1 (i32.ge_u (local.get 1) (local.get 0)))
//                  (local.set 1 (i32.add (local.get 1) (i32.const 1))) (br 0)))
//     (local.get 1)))
const SPIN = Uint8Array.from([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 9, 2, 96, 0, 0, 96, 1, 127, 1, 127, 2, 12, 1, 3, 101, 110, 118, 4, 116, 105, 99, 107, 0, 0, 3, 4, 3, 0, 0, 1,
  7, 27, 3, 4, 115, 112, 105, 110, 0, 1, 8, 115, 112, 105, 110, 84, 105, 99, 107, 0, 2, 5, 99, 111, 117, 110, 116, 0, 3, 10, 48, 3, 7, 0, 3,
  64, 12, 0, 11, 11, 9, 0, 3, 64, 16, 0, 12, 0, 11, 11, 28, 1, 1, 127, 2, 64, 3, 64, 32, 1, 32, 0, 79, 13, 1, 32, 1, 65, 1, 106, 33, 1, 12,
  0, 11, 11, 32, 1, 11,
]);

type Exports = { spin: () => void; spinTick: () => void; count: (n: number) => number };

function instantiate(options: object, tick: () => void = () => {}): Exports {
  const m = new qb.Module(SPIN, options);
  return new qb.Instance(m, { env: { tick } }).exports as unknown as Exports;
}

test('a timeout stops an infinite loop with a clean RuntimeError, and the instance stays usable', () => {
  const e = instantiate({ timeoutMs: 100 });
  const t0 = performance.now();
  assert.throws(() => e.spin(), (err: Error) => err instanceof qb.RuntimeError && err.message === 'execution interrupted');
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 90, `stopped after ${elapsed} ms`);
  assert.is(e.count(1000), 1000);
});

test('interrupt() called from a host function stops the guest', () => {
  let ticks = 0;
  const e = instantiate({ interruptible: true }, () => {
    if (++ticks === 50) qb.interrupt();
  });
  assert.throws(() => e.spinTick(), /execution interrupted/);
  assert.is(ticks, 50);
  assert.is(e.count(7), 7); // the flag was cleared by the trap
});

test('another thread can interrupt through interruptHandle()', async () => {
  const e = instantiate({ interruptible: true });
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
     setTimeout(() => Atomics.store(new Int32Array(workerData), 0, 1), 100);`,
    { eval: true, workerData: qb.interruptHandle() },
  );
  await new Promise((r) => worker.once('online', r));
  assert.throws(() => e.spin(), /execution interrupted/);
  await worker.terminate();
});

test('fuel gives a deterministic limit', () => {
  const e = instantiate({ fuel: true });
  qb.setFuel(1000);
  assert.throws(() => e.count(100_000), (err: Error) => err instanceof qb.RuntimeError && err.message === 'all fuel consumed');
  assert.is(qb.getFuel(), 0n);
  // count(n) costs one unit for the entry and one per loop iteration (n + 1 headers).
  qb.setFuel(1000);
  assert.is(e.count(500), 500);
  assert.is(qb.getFuel(), 1000n - 502n);
});

test('modules compiled without bounded execution ignore the interrupt flag', () => {
  const e = instantiate({});
  qb.interrupt();
  assert.is(e.count(10), 10);
  // Clear it for later tests: an interruptible call consumes the pending interrupt.
  const i = instantiate({ interruptible: true });
  assert.throws(() => i.count(10), /execution interrupted/);
});

test.run();
