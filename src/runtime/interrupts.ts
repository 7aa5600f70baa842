// Bounded execution: an interrupt flag and a fuel counter that generated code checks in loop headers and
// function prologues (only in modules compiled with `interruptible` / `fuel`), in the style of Wasmtime's
// epochs. The block lives in a SharedArrayBuffer so any thread can raise the flag with Atomics.store; a
// watchdog worker implements deadlines (`timeoutMs`) without touching the running thread.

import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { INTERRUPT_FLAG, INTERRUPT_FUEL } from './layout.js';
import { koffi } from './native.js';

// [0] interrupt flag, [2..3] fuel (i64), [4] watchdog command sequence, [5] watchdog timeout ms,
// [6] watchdog cancel sequence.
const sab = new SharedArrayBuffer(64);
const i32 = new Int32Array(sab);
const i64 = new BigInt64Array(sab);

/** Native address of the block (vmctx slot VMCTX_INTERRUPTS). */
export const interruptBlockAddr: number = Number(koffi.address(i32));

/** Ask the running (or next) wasm code in interruptible modules to stop with an "execution interrupted" trap. */
export function interrupt(): void {
  Atomics.store(i32, INTERRUPT_FLAG / 4, 1);
}

/** Clear a pending interrupt (done automatically when the trap is delivered). */
export function clearInterrupt(): void {
  Atomics.store(i32, INTERRUPT_FLAG / 4, 0);
}

/**
 * The SharedArrayBuffer holding the interrupt flag (Int32 at index 0): post it to another thread, which can
 * interrupt wasm running here with `Atomics.store(new Int32Array(handle), 0, 1)`.
 */
export function interruptHandle(): SharedArrayBuffer {
  return sab;
}

/** Set the fuel of modules compiled with fuel metering (one unit per loop iteration and per function entry). */
export function setFuel(units: number | bigint): void {
  i64[INTERRUPT_FUEL / 8] = BigInt(units);
}

/** The fuel left (0 after running out: the counter's last decrement, below zero, is what traps). */
export function getFuel(): bigint {
  const v = i64[INTERRUPT_FUEL / 8];
  return v < 0n ? 0n : v;
}

// ---------------------------------------------------------------------------------------------------
// Watchdog: one lazily started worker that raises the flag when a deadline passes.

const CMD = 4, TIMEOUT = 5, CANCEL = 6;
let watchdog: Worker | null = null;

const WATCHDOG_SOURCE = `
const { workerData } = require('node:worker_threads');
const a = new Int32Array(workerData);
let seen = 0;
for (;;) {
  Atomics.wait(a, ${CMD}, seen);
  seen = Atomics.load(a, ${CMD});
  const ms = Atomics.load(a, ${TIMEOUT});
  const cancel = Atomics.load(a, ${CANCEL});
  // Sleep until cancelled or timed out; a new command also ends the wait.
  const r = Atomics.wait(a, ${CANCEL}, cancel, ms);
  if (r === 'timed-out' && Atomics.load(a, ${CMD}) === seen) Atomics.store(a, 0, 1);
}
`;

function ensureWatchdog(): void {
  if (watchdog !== null) return;
  // node:worker_threads is loaded on first use, not at start-up (about 1.5 ms of process start).
  const { Worker } = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  watchdog = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: sab });
  watchdog.unref();
}

/** Arm a deadline: after `ms` milliseconds the interrupt flag is raised unless cancelDeadline() ran first. */
export function armDeadline(ms: number): void {
  ensureWatchdog();
  Atomics.store(i32, TIMEOUT, Math.max(0, Math.min(ms, 2 ** 31 - 1)) | 0);
  Atomics.add(i32, CMD, 1);
  Atomics.notify(i32, CMD);
}

export function cancelDeadline(): void {
  Atomics.add(i32, CANCEL, 1);
  Atomics.notify(i32, CANCEL);
}
