// The MemoryDescs of shared memories, process-wide.
//
// A shared memory crosses threads as V8's own object (postMessage serialises a shared WebAssembly.Memory), and
// every thread that receives it runs its own copy of Quickbeam (one per isolate). So that the code of every
// thread sees one current length (a grow on any thread is visible to all), a shared memory's MemoryDesc is not
// GC-owned memory of one thread but an entry of a process-wide table in native memory, found by the memory's
// base address. The table is anchored in the C environment (setenv), the one state every isolate can reach:
// QUICKBEAM_SHARED_MEMORIES_<pid>=<address> (the pid in the name: a child process, which inherits the
// environment, has its own name and table). The first thread to load sets it; a thread that loses the race
// uses the winner's table (its own stays unused).
//
// Entry (48 bytes; the first 24 are the MemoryDesc, so generated code reads the entry itself):
//   +0 base (0: free), +8 byte length, +16 reserved bytes, +24 u32 maximum pages, +28 u32 flags (1: i64 index,
//   2: maximum unknown), +32 i32 live count (LinearMemory objects over it, in all threads), +36 u32 generation
//   (a count is given back only to the generation it was taken from: a dead memory's finalizer that runs late
//   leaves the next memory's count alone).
// An entry is claimed with a compare-exchange of its base. A shared memory created at a base takes over the
// entry there (the memory that had the address is dead, or V8 could not have reused it). The live count tells
// an adopter whether the entry describes a live memory: each LinearMemory adds one and takes it back when it is
// released or collected; an entry whose count is 0 is stale (its memory died, and V8 may have put a memory of
// its own at that base since). A thread terminated while holding one never takes it back: that entry stays
// trusted, the only case where a V8-created memory later placed at the same base would be mistyped. When the
// table is full, a memory gets a desc of its own thread (growth by other threads is then not seen by this
// thread's code until it grows the memory itself).

import { MEMDESC_BASE, MEMDESC_LENGTH, MEMDESC_RESERVED } from './layout.js';
import { PROT_READ, PROT_WRITE, cGetenv, cSetenvIfAbsent, mmapAnon, view } from './native.js';

const ENTRIES = 4096;
const ENTRY = 48;
const COUNT = 32; // byte offset of the live count in an entry
const GEN = 36; // byte offset of the generation: bumped by each memory that takes the entry
const F_INDEX64 = 1;
const F_MAX_UNKNOWN = 2;

let table: BigInt64Array | null = null;
let words: Uint32Array | null = null;
let tableAddr = 0;

function open(): void {
  if (table !== null) return;
  const name = `QUICKBEAM_SHARED_MEMORIES_${process.pid}`;
  let v = cGetenv(name);
  if (v === null) {
    cSetenvIfAbsent(name, String(mmapAnon(ENTRIES * ENTRY, PROT_READ | PROT_WRITE)));
    v = cGetenv(name)!;
  }
  tableAddr = Number(v);
  const buf = view(tableAddr, ENTRIES * ENTRY);
  table = new BigInt64Array(buf);
  words = new Uint32Array(buf);
}

export interface SharedDesc {
  /** Address of the MemoryDesc. */
  desc: number;
  /** Its length field (a BigInt64Array of one element over native memory, for atomic updates). */
  length: BigInt64Array;
  maxPages: number;
  index64: boolean;
  /** The memory came from V8 with no way to read its maximum (maxPages is then V8's limit). */
  maxUnknown: boolean;
  /** The entry's generation when this user counted itself (see dropSharedDesc). */
  gen: number;
}

function descAt(k: number): SharedDesc {
  const addr = tableAddr + k * ENTRY;
  const b = new BigInt64Array(table!.buffer, k * ENTRY + MEMDESC_LENGTH, 1);
  return {
    desc: addr,
    length: b,
    maxPages: words![(k * ENTRY + 24) >>> 2],
    index64: (words![(k * ENTRY + 28) >>> 2] & F_INDEX64) !== 0,
    maxUnknown: (words![(k * ENTRY + 28) >>> 2] & F_MAX_UNKNOWN) !== 0,
    gen: Atomics.load(words!, (k * ENTRY + GEN) >>> 2),
  };
}

/**
 * The desc of the live shared memory at `base`, counting one more user, or null (no live entry: a memory that
 * no Quickbeam of this process created, or whose entry went stale).
 */
export function findSharedDesc(base: number): SharedDesc | null {
  open();
  const b = BigInt(base);
  const w = words!;
  for (let k = 0; k < ENTRIES; k++) {
    if (Atomics.load(table!, k * (ENTRY / 8)) !== b) continue;
    const at = (k * ENTRY + COUNT) >>> 2;
    for (let n = Atomics.load(w, at); n > 0; n = Atomics.load(w, at)) {
      if (Atomics.compareExchange(w, at, n, n + 1) === n) return descAt(k);
    }
    return null;
  }
  return null;
}

/** One user of a desc fewer (a LinearMemory released or collected), unless the entry has moved on since. */
export function dropSharedDesc(desc: number, gen: number): void {
  if (words === null) return;
  const at = (desc - tableAddr + COUNT) >>> 2;
  const g = (desc - tableAddr + GEN) >>> 2;
  for (let n = Atomics.load(words, at); n > 0 && Atomics.load(words, g) === gen; n = Atomics.load(words, at)) {
    if (Atomics.compareExchange(words, at, n, n - 1) === n) return;
  }
}

/**
 * Register a new shared memory at `base` (taking over the entry of a dead one there, else a free one) and
 * fill its desc. Null when the table is full.
 */
export function registerSharedDesc(
  base: number, byteLength: number, reserved: number, maxPages: number, index64: boolean, maxUnknown: boolean,
): SharedDesc | null {
  open();
  const t = table!;
  const b = BigInt(base);
  let k = 0;
  for (; k < ENTRIES; k++) if (Atomics.load(t, k * (ENTRY / 8)) === b) break;
  if (k === ENTRIES) {
    for (k = 0; k < ENTRIES; k++) if (Atomics.compareExchange(t, k * (ENTRY / 8), 0n, b) === 0n) break;
    if (k === ENTRIES) return null;
  }
  const i = k * (ENTRY / 8);
  Atomics.store(words!, (k * ENTRY + COUNT) >>> 2, 0); // (not trusted while being filled)
  Atomics.add(words!, (k * ENTRY + GEN) >>> 2, 1);
  Atomics.store(t, i + MEMDESC_BASE / 8, b);
  Atomics.store(t, i + MEMDESC_LENGTH / 8, BigInt(byteLength));
  Atomics.store(t, i + MEMDESC_RESERVED / 8, BigInt(reserved));
  words![(k * ENTRY + 24) >>> 2] = maxPages;
  words![(k * ENTRY + 28) >>> 2] = (index64 ? F_INDEX64 : 0) | (maxUnknown ? F_MAX_UNKNOWN : 0);
  Atomics.store(words!, (k * ENTRY + COUNT) >>> 2, 1);
  return descAt(k);
}

/** Raise a shared desc's length to at least `byteLength` (grows on several threads may finish in any order). */
export function raiseSharedLength(d: SharedDesc, byteLength: number): void {
  const want = BigInt(byteLength);
  for (;;) {
    const cur = Atomics.load(d.length, 0);
    if (cur >= want) return;
    if (Atomics.compareExchange(d.length, 0, cur, want) === cur) return;
  }
}
