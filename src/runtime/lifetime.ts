// Deterministic release (`[Symbol.dispose]()`) must never free memory that machine code on the stack may
// still use: an instance can be disposed by a JS import it called, and its code then resumes. So releases
// requested while any wasm code is running are queued and run when the outermost call into wasm returns
// (callWasm drains the queue); requested while nothing runs, they happen at once.

import { savedRsp } from './exec-state.js';

/** Promising calls (JSPI) running or suspended on stacks of their own: set by runtime/stack-switching.ts's users. */
let suspendedCalls = 0;
export function setSuspendedCalls(n: number): void {
  suspendedCalls = n;
}

/** The nesting depth of calls from JS into wasm (their wasm may be waiting for a host call JS runs). */
let callDepth: () => number = () => 0;
export function setCallDepthReader(read: () => number): void {
  callDepth = read;
}

/** `Symbol.dispose` (Node 20 may lack it: then the symbol Node's own polyfill uses). */
export const DISPOSE: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose');

const pending: Array<() => void> = [];

/**
 * True while machine code runs (some entry trampoline is active), waits for a host call that JS runs, or waits
 * on a suspended stack (JSPI), whose frames still use their instances' code and memories.
 */
export function wasmRunning(): boolean {
  return savedRsp() !== 0 || suspendedCalls !== 0 || callDepth() !== 0;
}

/** Run `release` now if no wasm code runs, else when the outermost call into wasm returns. */
export function releaseWhenIdle(release: () => void): void {
  if (!wasmRunning()) release();
  else pending.push(release);
}

/** Number of queued releases (callWasm checks it after every outermost call). */
export function pendingReleases(): number {
  return pending.length;
}

/** Run the queued releases (called with no wasm code running). A failing release does not stop the others. */
export function drainReleases(): void {
  if (wasmRunning()) return;
  let first: unknown = null;
  while (pending.length > 0) {
    const r = pending.shift()!;
    try {
      r();
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== null) throw first;
}
