// Growth of V8-owned memories from wasm, told to V8 only when JS can next see the memory.
//
// Why: V8 gives a memory a new ArrayBuffer at every grow, and Node 20's V8 counts each new buffer's whole
// length as new external memory (the detached one is only uncounted when a GC sweeps it), so once a memory is
// a few tens of MB, nearly every grow starts a full (incremental) collection: json.wasm32's ~30 grows to 254 MB
// cost 7 Mark-Compacts under Liftoff and under Quickbeam alike, each marking the whole JS heap (Quickbeam's is
// twice node's). Nothing but JS can see V8's buffer, and JS runs only when wasm calls an import or returns.
//
// So `memory.grow` executed by wasm commits the pages itself (mprotect inside V8's reservation) and updates
// the MemoryDesc that the code reads; V8's memory is grown by the sum, once (one new buffer, as V8 would have
// left it after the last grow: also a grow of 0 pages detaches), when JS could look: before an imported function
// runs (builtins.ts) and when a call into wasm returns to JS, normally or not (trampolines.ts). Quickbeam's own
// JS that reads a memory through V8 syncs it first (linear-memory.ts).
//
// Only where V8 reserves guard regions (x86-64 Linux with V8's trap handler: 8 GiB from the base of every
// memory, whatever its maximum; probed once below), so that the pages committed here are always V8's own
// range of that memory, which V8 frees whole.

import { WASM_PAGE_SIZE } from './layout.js';
import { mappingContaining } from './native.js';
import { backingAddress, tryCreateV8Memory, v8Buffer } from './v8-memory.js';

/** A memory whose V8 object is behind its size (LinearMemory). */
export interface GrowthDeferrer {
  /** Grow the V8 memory to the memory's size (one V8 grow); may throw. */
  syncV8Growth(): void;
}

const pending: GrowthDeferrer[] = [];

/** Note a memory that wasm grew past its V8 object (once until it is synced). */
export function noteDeferredGrowth(m: GrowthDeferrer): void {
  pending.push(m);
}

/** Bring every V8 memory grown by wasm up to date: JS is about to run (cheap when none is behind). */
export function syncDeferredGrowth(): void {
  if (pending.length !== 0) flushDeferredGrowth();
}

function flushDeferredGrowth(): void {
  // (Every memory is synced even if one fails; the first failure is rethrown.)
  let failure: { error: unknown } | null = null;
  while (pending.length !== 0) {
    const m = pending.pop()!;
    try {
      m.syncV8Growth();
    } catch (e) {
      failure ??= { error: e };
    }
  }
  if (failure !== null) throw failure.error;
}

/** V8's reservation per memory with guard regions: at least this much from the base is the memory's own. */
const GUARDED_RESERVATION = 8 * 2 ** 30;

let enabled: boolean | null = null;

/** Whether wasm's grows of V8 memories may be deferred in this process (probed on first use). */
export function growthDeferrable(): boolean {
  if (enabled === null) enabled = probeGuardedReservations();
  return enabled;
}

/** Testing: defer (true), never defer (false), or probe again (null). */
export function setGrowthDeferral(on: boolean | null): void {
  enabled = on;
}

/**
 * Whether V8 reserves guard regions for its memories here: a 1-page memory with a maximum of 1 page is followed
 * by at least 8 GiB of its own inaccessible reservation (without guard regions V8 reserves just the maximum).
 * Not when a V8 flag may lower V8's page limit below what Quickbeam checks (V8 would then refuse the sync).
 */
function probeGuardedReservations(): boolean {
  if (process.platform !== 'linux' || process.arch !== 'x64') return false;
  const flags = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
  if (/wasm[-_]max[-_]mem[-_]pages|wasm[-_]trap[-_]handler/.test(flags)) return false;
  const probe = tryCreateV8Memory(1, 1);
  if (probe === null) return false;
  const base = backingAddress(v8Buffer(probe));
  const after = mappingContaining(base + WASM_PAGE_SIZE);
  return after !== null && after.perms === '---p' && after.start <= base + WASM_PAGE_SIZE && after.end >= base + GUARDED_RESERVATION;
}
