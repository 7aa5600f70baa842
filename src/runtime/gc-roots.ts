// The collector's roots (runtime/gc-heap.ts collects):
//
// - Wasm frames. A collection starts only inside a host call (the GcAlloc builtin, array.new_data/elem, or
//   gcCollect() from JS), and wasm called from JS runs on secondary stacks (one per nesting depth, one per
//   promising call), each of which is *parked* in a host call while JS runs: the innermost one in the host call
//   that collects, outer ones in the import calls that led to it, suspended promising calls in their Suspending
//   import. The host-call shim notes in each parked stack's suspender record the S-side entry's savedRsp (the
//   frames' top) for as long as the host call runs (stack-switching-code.ts SUSPENDER_PARKED_TOP). The host-call shim leaves an rbp frame
//   at the record's S rsp + 64 (saveCalleeSaved, two exec fields, alignment), so each parked stack's frames are
//   walked up the rbp chain from there to the top: for each frame, the return address into it and its vmctx
//   ([rbp-8]) give the function (the unwinder's locate), whose stack map (compile/stack-maps.ts) lists the rbp
//   offsets holding references at that return address. Frames of stubs and thunks have no map and hold no
//   references. Code entered through the plain `enter` (tests, hand-made contexts) cannot be walked, so no
//   collection happens while any runs.
// - Global cells and tables whose type may hold GC objects, and element segments not yet dropped: a registry
//   of their words. Each entry holds the words (so reading them is always safe, and the storage itself is not
//   kept alive), and a FinalizationRegistry drops it once V8 has collected the storage. Until that callback
//   has run (a task after V8's collection) a dead storage's objects stay alive; the allocator has V8 collect
//   when the heap would otherwise be exhausted.
// - JS handles: every GC object whose JS object is alive (gc-heap.ts visitWrapped); exception payloads and
//   element segments keep the JS objects of their GC objects (api/exception.ts, api/instance.ts).

import { readI32, readPtr, view } from './native.js';
import { setRootProvider, visitWrapped } from './gc-heap.js';
import { codeLocator } from './unwind.js';
import { SUSPENDER_PARKED_TOP, SUSPENDER_S_RSP } from './stack-switching-code.js';
import { STACK_MAP_MAGIC, HANDLER_TABLE_MAGIC } from './layout.js';
import type { CodeLocation, HandlerCache } from './unwind.js';

const TWO32 = 4294967296;

// ---------------------------------------------------------------------------------------------------
// Parked stacks and plain entries

/** A secondary stack as the collector sees it: its suspender record (SUSPENDER_PARKED_TOP: parked or not). */
export interface ParkableStack {
  readonly record: number;
}

/**
 * Every mapped secondary stack (added when mapped, removed when unmapped). Parking is a word in the stack's own
 * record, written by the machine code: a Map from record to top that gained and lost an entry at every host call
 * rehashed each time, which made a wasm -> JS call ~2.7x as many instructions (515 -> 1,381); a JS field written
 * twice per host call cost ~20.
 */
const stacks = new Set<ParkableStack>();
/** Wasm activations entered through the plain `enter` (no secondary stack): their frames cannot be walked. */
let plainEntries = 0;

export function trackStack(s: ParkableStack): void {
  stacks.add(s);
}

export function untrackStack(s: ParkableStack): void {
  stacks.delete(s);
}

export function enterPlain(delta: number): void {
  plainEntries += delta;
}

// ---------------------------------------------------------------------------------------------------
// Storage roots: global cells, tables, element segments

/**
 * Words of a storage, updated by its owner when they move or change length: `count` 64-bit entries as pairs of
 * u32 (global cells, tables), or lists of raw reference words (element segments' items).
 */
export interface RootWords {
  u32: Uint32Array | null;
  count: number;
  lists: number[][] | null;
}

interface RootEntry {
  owner: WeakRef<object>;
  words: RootWords;
}

const storages = new Set<RootEntry>();
const storageGone = new FinalizationRegistry<RootEntry>((e) => storages.delete(e));

/**
 * Register a storage's words as roots for as long as `owner` lives (`words` must not refer to the owner: the
 * registry holds it strongly). The entry is dropped by a FinalizationRegistry callback once V8 has collected
 * the owner (a task after that collection), or by pruneDeadStorages right after a forced V8 collection.
 * Collections do not read the WeakRef: reading one keeps its target alive until the current job ends.
 */
export function registerRootWords(owner: object, words: RootWords): void {
  const e = { owner: new WeakRef(owner), words };
  storages.add(e);
  storageGone.register(owner, e);
}

/** Drop the entries of storages V8 has collected (after forceGc, before any other read of them in this job). */
function pruneDeadStorages(): void {
  for (const e of storages) if (e.owner.deref() === undefined) storages.delete(e);
}

// ---------------------------------------------------------------------------------------------------
// Stack maps

interface StackMap {
  /** Return-address offset from the entry -> rbp offsets of reference slots. */
  sites: Map<number, Int32Array>;
}

const NO_MAP: StackMap = { sites: new Map() };
const mapCaches = new WeakMap<HandlerCache, Map<number, StackMap>>();

/** Parse the stack maps after a function's handler table (see compile/stack-maps.ts), checked like the table. */
function readStackMap(loc: CodeLocation): StackMap {
  const entry = loc.entry;
  if (entry - 4 < loc.start || entry > loc.end) return NO_MAP;
  const rel = readI32(entry - 4);
  if (rel <= 0 || entry + rel + 12 > loc.end) return NO_MAP;
  const at = entry + rel;
  if (readI32(at) !== HANDLER_TABLE_MAGIC) return NO_MAP;
  const hw = readI32(at + 8);
  const m = at + 12 + 4 * hw;
  if (hw < 0 || m + 12 > loc.end || readI32(m) !== STACK_MAP_MAGIC) return NO_MAP;
  const nwords = readI32(m + 8);
  if (nwords < 0 || m + 12 + 4 * nwords > loc.end) return NO_MAP;
  const words = new Int32Array(view(m + 12, 4 * nwords).slice(0));
  const sites = new Map<number, Int32Array>();
  for (let p = 0; p + 2 <= nwords; ) {
    const n = words[p + 1];
    if (n < 0 || p + 2 + n > nwords) break;
    sites.set(words[p], words.slice(p + 2, p + 2 + n));
    p += 2 + n;
  }
  return { sites };
}

function stackMapOf(loc: CodeLocation): StackMap {
  let byEntry = mapCaches.get(loc.cache);
  if (byEntry === undefined) mapCaches.set(loc.cache, (byEntry = new Map()));
  let m = byEntry.get(loc.entry);
  if (m === undefined) byEntry.set(loc.entry, (m = readStackMap(loc)));
  return m;
}

// ---------------------------------------------------------------------------------------------------
// Walking

/** Frames walked and reference slots visited by the last collection (tests). */
export const lastWalk = { stacks: 0, frames: 0, slots: 0 };

/** Visit the reference slots of one parked stack's frames. */
function walkStack(record: number, top: number, visit: (w: number) => void): void {
  const sRsp = readPtr(record + SUSPENDER_S_RSP);
  if (!(sRsp > 0 && sRsp < top) || sRsp % 8 !== 0) return;
  const lo = sRsp;
  const words = new Uint32Array(view(lo, top + 16 - lo));
  const rd = (addr: number): number => {
    const i = (addr - lo) / 4;
    return words[i] + words[i + 1] * TWO32;
  };
  const locate = codeLocator();
  lastWalk.stacks++;
  let fp = sRsp + 64; // the shim's frame
  let prev = 0;
  while (fp > prev && fp < top && fp % 8 === 0) {
    const pc = rd(fp + 8);
    prev = fp;
    fp = rd(fp);
    if (!(fp > prev && fp < top && fp % 8 === 0)) break;
    const loc = locate === null ? null : locate(rd(fp - 8), pc);
    if (loc === null) continue;
    const slots = stackMapOf(loc).sites.get(pc - loc.entry);
    lastWalk.frames++;
    if (slots === undefined) continue;
    for (let k = 0; k < slots.length; k++) {
      const a = fp + slots[k];
      if (a >= lo && a + 8 <= top + 16) {
        visit(rd(a));
        lastWalk.slots++;
      }
    }
  }
}

function visitRoots(visit: (w: number) => void): void {
  lastWalk.stacks = lastWalk.frames = lastWalk.slots = 0;
  for (const s of stacks) {
    const top = readPtr(s.record + SUSPENDER_PARKED_TOP);
    if (top !== 0) walkStack(s.record, top, visit);
  }
  for (const e of storages) {
    const { u32, count, lists } = e.words;
    if (u32 !== null) for (let k = 0; k < count; k++) visit(u32[2 * k] + u32[2 * k + 1] * TWO32);
    if (lists !== null) for (const l of lists) for (let k = 0; k < l.length; k++) visit(l[k]);
  }
  visitWrapped(visit);
}

/**
 * Whether every wasm frame of the thread can be walked now: none entered through the plain `enter`, and
 * every running secondary stack is parked in a host call (a stack running wasm cannot be collecting).
 */
function walkable(): boolean {
  return plainEntries === 0;
}

setRootProvider(walkable, visitRoots, pruneDeadStorages);
