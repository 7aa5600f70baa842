// memory.atomic.wait32/wait64/notify (threads), called by generated code as builtins once the address has
// been bounds- and alignment-checked. A shared memory is V8's own, so its buffer is a SharedArrayBuffer and
// JS's Atomics.wait/notify do the work: they block this thread (Node allows it on the main thread too) in
// V8's futex table, which is keyed by backing store and address, so waiters and notifiers on any thread
// that maps the memory (Quickbeam or V8 code, or JS) meet.

import { TrapCode } from '../runtime/layout.js';
import { argsI32, argsI64, argsU32 } from '../runtime/exec-state.js';
import type { LinearMemory } from '../runtime/linear-memory.js';

const TWO32 = 4294967296;

// Views over a memory's current buffer (a grow gives a new SharedArrayBuffer object), held weakly.
interface Views { i32: Int32Array; i64: BigInt64Array }
const viewsOf = new WeakMap<SharedArrayBuffer, Views>();

function views(mem: LinearMemory): Views {
  const b = mem.buffer as unknown as SharedArrayBuffer;
  let v = viewsOf.get(b);
  if (v === undefined) {
    v = { i32: new Int32Array(b), i64: new BigInt64Array(b) };
    viewsOf.set(b, v);
  }
  return v;
}

/** Slots: 0 memory (resolved by the caller), 1 effective address, 2 expected, 3 timeout (ns, negative: none). */
export function builtinWait(mem: LinearMemory, wide: boolean): number {
  if (!mem.shared) return TrapCode.WaitNotShared;
  const ea = argsU32[2] + argsU32[3] * TWO32;
  const timeoutNs = argsI64[3];
  const expected = wide ? argsI64[2] : argsI32[4];
  const v = views(mem);
  const ms = timeoutNs < 0n ? Infinity : Number(timeoutNs) / 1e6;
  const r = wide ? Atomics.wait(v.i64, ea / 8, expected as bigint, ms) : Atomics.wait(v.i32, ea / 4, expected as number, ms);
  argsI32[0] = r === 'ok' ? 0 : r === 'not-equal' ? 1 : 2;
  argsI32[1] = 0;
  return 0;
}

/** Slots: 0 memory, 1 effective address, 2 count (u32). A memory that is not shared has no waiters: 0. */
export function builtinNotify(mem: LinearMemory): number {
  let woken = 0;
  if (mem.shared) {
    const ea = argsU32[2] + argsU32[3] * TWO32;
    const count = argsU32[4];
    woken = Atomics.notify(views(mem).i32, ea / 4, count);
  }
  argsI32[0] = woken;
  argsI32[1] = 0;
  return 0;
}
