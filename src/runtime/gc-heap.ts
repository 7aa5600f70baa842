// The GC heap: native memory for struct and array objects, their type descriptors (RTTs), the allocator's
// regions, the collector (a precise, non-moving mark-sweep), and the opaque JS objects that stand for GC
// objects outside wasm.
//
// Reference words (one 64-bit word per reference, in every hierarchy except func and exn):
//   0                 null
//   low bit 1         i31: the 31-bit value v as (v << 1) | 1
//   low bits 10       a host value (a JS value passed as externref/anyref): handle id << 2 | 2 (refs.ts)
//   low bits 00       a GC object: its address (8-aligned)
// so extern.convert_any and any.convert_extern are no-ops, and ref.eq is a compare.
//
// Object layout: word 0 = the RTT address of its canonical type; struct fields follow at fixed offsets
// (gc-types.ts structLayout); an array has its u32 length at +8 and its elements from +16.
//
// RTT (one per canonical struct/array type, process lifetime): +0 u32 canonical id, +4 u32 depth (length of
// the supertype chain), +8 u32 kind (1 struct, 2 array), +12 u32 element size (arrays), +16 the display:
// depth+1 RTT addresses, root supertype first, itself last. So "is the object's type a subtype of $t" is
// `rtt == rtt_t || (rtt.depth >= depth_t && rtt.display[depth_t] == rtt_t)`: bounded, no loop.
//
// Allocation: generated code bumps EXEC_GC_TOP up to EXEC_GC_LIMIT (the current *run* of free memory) inline
// and calls the GcAlloc builtin when the run is full; the builtin takes the next free run (zeroed first), maps a
// new 1 MiB region, or collects. Objects above a quarter of a region get a region of their own.
//
// The collector (why mark-sweep: generated code, JS handles and tables hold raw addresses, so objects never
// move; see ARCHITECTURE.md): marking starts from the roots (runtime/gc-roots.ts: wasm frames through stack
// maps, globals, tables, element segments, JS handles) and traces reference fields by the RTT's layout
// (RttInfo). Sweeping walks each region object by object (an object's size comes from its RTT and length), turns
// every maximal range of dead objects and free space into one free run (a filler: word 0 = 1, word 1 = its
// length; a single free word is 0), frees regions with no live object, and lists the runs of at least
// MIN_RUN bytes for the bump allocator. Memory is zero when handed out (mmap'd, or cleared when its run is
// taken), so `*.new_default` writes only the header. A region is parseable at all times except the current run
// above TOP (zero; retired with a filler before a collection).

import { EXEC_GC_LIMIT, EXEC_GC_TOP, RTT_CANON, RTT_DEPTH, RTT_DISPLAY, RTT_ELEM_SIZE, RTT_KIND } from './layout.js';
import { execStateAddr } from './exec-state.js';
import { PROT_READ, PROT_WRITE, forceGc, munmap, nativeFill, readPtr, readU32, tryMmapAnon, view, writePtr, writeU32 } from './native.js';
import { TypeKind, canonDepth, canonElemSize, canonKind, canonSuper, mayHoldGcObject, storageSize, structLayout } from '../decode/gc-types.js';
import type { FuncType } from '../decode/types.js';

/** Size of an allocation region; objects above a quarter of it get a region of their own. */
export const GC_REGION_SIZE = 1 << 20;
export const GC_BIG_OBJECT = GC_REGION_SIZE >> 2;
/** Default heap limit (bytes of regions, per thread: GC objects cross modules), set with setGcHeapMax / --gc-heap-max. */
export const DEFAULT_GC_HEAP_MAX = 1024 * 1024 * 1024;
/** Free runs shorter than this are not allocated into (each run costs a runtime call to start). */
const MIN_RUN = 2048;
/** The heap size below which no collection is started. */
const MIN_THRESHOLD = 32 * 1024 * 1024;
const MiB = GC_REGION_SIZE;
const TWO32 = 4294967296;
const FILLER = 1;
/** QUICKBEAM_GC_TRACE=1: one line per collection on stderr (time of each phase, live bytes). */
const gcTrace = process.env.QUICKBEAM_GC_TRACE === '1';
/**
 * QUICKBEAM_GC_STRESS=N (testing the stack maps and roots): every allocation takes the runtime path, and every
 * N-th one collects first (when the roots can be walked).
 */
const stressEvery = Number(process.env.QUICKBEAM_GC_STRESS ?? 0) | 0;
let stressCount = 0;

let heapMax = DEFAULT_GC_HEAP_MAX;

export function setGcHeapMax(bytes: number): void {
  if (!(bytes > 0)) throw new RangeError('gcHeapMax must be a positive number of bytes');
  heapMax = bytes;
}

export function gcHeapMax(): number {
  return heapMax;
}

// ---------------------------------------------------------------------------------------------------
// Regions

interface Region {
  start: number;
  size: number;
  /** A region of one big object. */
  big: boolean;
  /** The region's memory as words (a koffi view: the mapping outlives it while the region is listed). */
  u32: Uint32Array;
  /** Mark bits, one per 8-byte word (a big region: bit 0). */
  marks: Int32Array;
}

/** Regions by 1 MiB key (address / 1 MiB): every region starts at a multiple of 1 MiB. */
const regionByKey = new Map<number, Region>();
const regions = new Set<Region>();
let heapBytes = 0;

/** Map `size` bytes (a page multiple) at a multiple of 1 MiB; 0 when the limit or the system refuses. */
function mapAligned(size: number): number {
  if (heapBytes + size > heapMax) return 0;
  const p = tryMmapAnon(size + MiB, PROT_READ | PROT_WRITE);
  if (p === 0) return 0;
  const head = (MiB - (p % MiB)) % MiB;
  const start = p + head;
  if (head > 0) munmap(p, head);
  munmap(start + size, MiB - head);
  return start;
}

function addRegion(start: number, size: number, big: boolean): Region {
  const r: Region = {
    start, size, big,
    u32: new Uint32Array(view(start, size)),
    marks: new Int32Array(big ? 1 : size >>> 8),
  };
  for (let k = Math.floor(start / MiB), end = Math.ceil((start + size) / MiB); k < end; k++) regionByKey.set(k, r);
  regions.add(r);
  heapBytes += size;
  return r;
}

function removeRegion(r: Region): void {
  lastKey = -1;
  lastRegion = undefined;
  for (let k = Math.floor(r.start / MiB), end = Math.ceil((r.start + r.size) / MiB); k < end; k++) regionByKey.delete(k);
  regions.delete(r);
  heapBytes -= r.size;
  munmap(r.start, r.size);
}

// ---------------------------------------------------------------------------------------------------
// Free runs and allocation

/** Free runs left by the last sweep: [start, end), whether already zero; taken in order from runPos. */
const runStart: number[] = [];
const runEnd: number[] = [];
const runZero: boolean[] = [];
let runCount = 0;
let runPos = 0;
/** Empty regions kept by the last sweep for reuse (cleared when taken; unmapped when a big object needs room). */
const spare: Region[] = [];

// Statistics and the collection policy
let allocatedSinceGc = 0;
let liveAfterGc = 0;
let threshold = MIN_THRESHOLD;
let collections = 0;
let totalPauseMs = 0;
let maxPauseMs = 0;
let totalPauseCpuMs = 0;
let maxPauseCpuMs = 0;
let lastLiveBytes = 0;
let regionsFreed = 0;
let peakHeapBytes = 0;

/** Set by runtime/gc-roots.ts: whether a collection may run now (every wasm frame can be walked). */
let rootsWalkable: () => boolean = () => false;
/** Set by runtime/gc-roots.ts: call `visit` with every root reference word. */
let enumerateRoots: (visit: (word: number) => void) => void = () => {};

/** Set by runtime/gc-roots.ts: drop the registry entries of storages V8 has collected. */
let pruneStorages: () => void = () => {};

export function setRootProvider(walkable: () => boolean, roots: (visit: (word: number) => void) => void, prune: () => void): void {
  rootsWalkable = walkable;
  enumerateRoots = roots;
  pruneStorages = prune;
}

/**
 * When the heap is still full after a collection: have V8 collect, so that storages and JS objects it finds
 * dead stop being roots now rather than when their FinalizationRegistry callbacks run (a later task). Returns
 * false when V8 cannot be made to collect.
 */
function collectJsSide(): boolean {
  if (!forceGc()) return false;
  pruneStorages();
  for (const [addr, ref] of wrappers) if (ref.deref() === undefined) wrappers.delete(addr);
  return true;
}

/** Write a filler over the free range [s, e) of a region (a single word is left 0). */
function writeFree(r: Region, s: number, e: number): void {
  const i = (s - r.start) >>> 2;
  const u = r.u32;
  if (e - s >= 16) {
    u[i] = FILLER;
    u[i + 1] = 0;
    u[i + 2] = e - s;
    u[i + 3] = 0;
  } else {
    u[i] = 0;
    u[i + 1] = 0;
  }
}

/** The end of the current run (EXEC_GC_LIMIT, except under QUICKBEAM_GC_STRESS, where LIMIT is kept at TOP). */
let runLimit = 0;

/** Close the current run: its unused end (zero) becomes a filler, so the region stays parseable. */
function retireCurrentRun(): void {
  const top = readPtr(execStateAddr + EXEC_GC_TOP);
  if (top !== 0 && runLimit > top) {
    const r = regionByKey.get(Math.floor(top / MiB));
    if (r !== undefined) writeFree(r, top, runLimit);
  }
  runLimit = 0;
  writePtr(execStateAddr + EXEC_GC_TOP, 0);
  writePtr(execStateAddr + EXEC_GC_LIMIT, 0);
}

/** Make [start, end) the current run and allocate `size` bytes at its start. */
function startRun(start: number, end: number, size: number): number {
  runLimit = end;
  writePtr(execStateAddr + EXEC_GC_TOP, start + size);
  writePtr(execStateAddr + EXEC_GC_LIMIT, stressEvery > 0 ? start + size : end);
  return start;
}

/** The next listed free run of at least `size` bytes, zeroed and made current (0: none left). */
function takeRun(size: number): number {
  while (runPos < runCount) {
    const k = runPos++;
    const s = runStart[k], e = runEnd[k];
    if (e - s < size) continue; // (left as its filler: parseable, reused after the next sweep)
    if (!runZero[k]) nativeFill(s, 0, e - s);
    allocatedSinceGc += e - s;
    return startRun(s, e, size);
  }
  const r = spare.pop();
  if (r === undefined) return 0;
  nativeFill(r.start, 0, r.size);
  allocatedSinceGc += r.size;
  return startRun(r.start, r.start + r.size, size);
}

function newSmallRegion(size: number): number {
  const start = mapAligned(GC_REGION_SIZE);
  if (start === 0) return 0;
  addRegion(start, GC_REGION_SIZE, false);
  if (heapBytes > peakHeapBytes) peakHeapBytes = heapBytes;
  allocatedSinceGc += GC_REGION_SIZE;
  return startRun(start, start + GC_REGION_SIZE, size);
}

function newBigObject(size: number): number {
  const bytes = Math.ceil(size / 4096) * 4096;
  while (heapBytes + bytes > heapMax && spare.length > 0) {
    removeRegion(spare.pop()!);
    regionsFreed++;
  }
  const start = mapAligned(bytes);
  if (start === 0) return 0;
  addRegion(start, bytes, true);
  if (heapBytes > peakHeapBytes) peakHeapBytes = heapBytes;
  allocatedSinceGc += bytes;
  return start;
}

function shouldCollect(size: number): boolean {
  return liveAfterGc + allocatedSinceGc + size > Math.min(threshold, heapMax);
}

/**
 * Allocate `size` bytes (a multiple of 8) for one object once the current run is full: the next free run, a new
 * region, or a collection first when the heap has grown past the threshold (only when `mayCollect` and every
 * root can be found). Returns the address (memory zeroed), or 0 when the heap limit is reached.
 */
export function gcAllocate(size: number, mayCollect: boolean): number {
  if (!(size > 0 && size <= Number.MAX_SAFE_INTEGER)) return 0;
  let collected = false;
  let forcedV8 = false;
  if (mayCollect && (shouldCollect(size) || (stressEvery > 0 && ++stressCount % stressEvery === 0)) && rootsWalkable()) {
    collect();
    collected = true;
  }
  if (stressEvery > 0 && size <= GC_BIG_OBJECT) {
    // (Stress: every allocation comes here; bump in the current run, LIMIT following TOP.)
    const top = readPtr(execStateAddr + EXEC_GC_TOP);
    if (top !== 0 && top + size <= runLimit) {
      writePtr(execStateAddr + EXEC_GC_TOP, top + size);
      writePtr(execStateAddr + EXEC_GC_LIMIT, top + size);
      return top;
    }
  }
  for (;;) {
    let p: number;
    if (size > GC_BIG_OBJECT) p = newBigObject(size);
    else {
      retireCurrentRun();
      p = takeRun(size);
      if (p === 0) p = newSmallRegion(size);
    }
    if (p !== 0) return p;
    if (forcedV8 || !mayCollect || !rootsWalkable()) return 0;
    if (collected) {
      // Still full after a collection: storages (globals, tables) V8 has not collected yet are roots until it
      // does (their registry entries are weak). Have V8 collect, then collect again (once).
      if (!collectJsSide()) return 0;
      forcedV8 = true;
    }
    collect(); // (the limit was reached before the threshold, or V8 just collected: collect, then try again)
    collected = true;
  }
}

/** Allocate from JS (builtins, constant expressions): the current run first, like the inline path. */
export function gcAllocFromJs(size: number, mayCollect = false): number {
  const top = readPtr(execStateAddr + EXEC_GC_TOP);
  const limit = readPtr(execStateAddr + EXEC_GC_LIMIT);
  if (top !== 0 && top + size <= limit) {
    writePtr(execStateAddr + EXEC_GC_TOP, top + size);
    return top;
  }
  return gcAllocate(size, mayCollect);
}

// ---------------------------------------------------------------------------------------------------
// RTTs and what the collector knows of each type

/** Per RTT: the object's kind and what to trace (byte offsets of reference fields; arrays: elements). */
interface RttInfo {
  kind: TypeKind;
  /** Structs: the object size. */
  size: number;
  /** Arrays: bytes per element. */
  elemSize: number;
  /** Structs: byte offsets of the fields that may hold GC objects. */
  refOffsets: Int32Array;
  /** Arrays: whether the elements may hold GC objects. */
  elemRefs: boolean;
}

const rtts: number[] = []; // by canonical id
const rttInfos = new Map<number, RttInfo>();
let rttChunk = 0;
let rttChunkLeft = 0;

function rttMemory(bytes: number): number {
  if (bytes > rttChunkLeft) {
    const size = Math.max(bytes, 64 * 1024);
    rttChunk = tryMmapAnon(size, PROT_READ | PROT_WRITE);
    if (rttChunk === 0) throw new RangeError('could not map memory for GC type descriptors');
    rttChunkLeft = size;
  }
  const p = rttChunk;
  rttChunk += bytes;
  rttChunkLeft -= bytes;
  return p;
}

function describe(type: FuncType): RttInfo {
  const fields = type.fields!;
  if ((type.kind ?? 0) === TypeKind.Struct) {
    const { offsets, size } = structLayout(type);
    const refs: number[] = [];
    fields.forEach((f, k) => {
      if (mayHoldGcObject(f.type)) refs.push(offsets[k]);
    });
    return { kind: TypeKind.Struct, size, elemSize: 0, refOffsets: Int32Array.from(refs), elemRefs: false };
  }
  const st = fields[0].type;
  return { kind: TypeKind.Array, size: 0, elemSize: storageSize(st), refOffsets: new Int32Array(0), elemRefs: mayHoldGcObject(st) };
}

/**
 * The RTT of a canonical struct or array type (made on first use, with its supertypes' RTTs). `type` (a module
 * type with that canonical id) tells the collector the layout; every module that can allocate objects of a type
 * asks for its RTT with it at instantiation.
 */
export function rttOf(canon: number, type?: FuncType): number {
  let p = rtts[canon];
  if (p === undefined) {
    const depth = canonDepth(canon);
    const sup = canonSuper(canon);
    const supRtt = sup > 0 ? rttOf(sup) : 0;
    const kind = canonKind(canon);
    const elemSize = canonElemSize(canon);
    p = rttMemory(RTT_DISPLAY + 8 * (depth + 1));
    writeU32(p + RTT_CANON, canon);
    writeU32(p + RTT_DEPTH, depth);
    writeU32(p + RTT_KIND, kind);
    writeU32(p + RTT_ELEM_SIZE, elemSize);
    for (let d = 0; d < depth; d++) writePtr(p + RTT_DISPLAY + 8 * d, readPtr(supRtt + RTT_DISPLAY + 8 * d));
    writePtr(p + RTT_DISPLAY + 8 * depth, p);
    rtts[canon] = p;
  }
  if (type !== undefined && !rttInfos.has(p)) rttInfos.set(p, describe(type));
  return p;
}

/** Kind (1 struct, 2 array) and canonical id of a GC object. */
export function objectKind(addr: number): number {
  return readU32(readPtr(addr) + RTT_KIND);
}

export function objectCanon(addr: number): number {
  return readU32(readPtr(addr) + RTT_CANON);
}

export function arrayLength(addr: number): number {
  return readU32(addr + 8);
}

export function arrayElemSize(addr: number): number {
  return readU32(readPtr(addr) + RTT_ELEM_SIZE);
}

// ---------------------------------------------------------------------------------------------------
// The collector

function word64(u: Uint32Array, byteOffset: number): number {
  const i = byteOffset >>> 2;
  return u[i] + u[i + 1] * TWO32;
}

/** Bytes of the object at byte offset `off` of region r. */
function objectBytes(u: Uint32Array, off: number, info: RttInfo): number {
  if (info.kind === TypeKind.Struct) return info.size;
  return Math.ceil((16 + u[(off + 8) >>> 2] * info.elemSize) / 8) * 8;
}

// RttInfo by RTT address: a direct-mapped cache in front of the map (addresses above 2^31 are slow map keys).
const cacheRtt = new Float64Array(1024);
const cacheInfo: (RttInfo | undefined)[] = new Array(1024).fill(undefined);

function infoOf(rtt: number): RttInfo | undefined {
  const k = (rtt / 8) & 1023;
  if (cacheRtt[k] === rtt) return cacheInfo[k];
  const info = rttInfos.get(rtt);
  if (info !== undefined) {
    cacheRtt[k] = rtt;
    cacheInfo[k] = info;
  }
  return info;
}

/** Objects marked but not traced yet (addresses as doubles: no number boxes). */
let markStack = new Float64Array(4096);
let markTop = 0;

function pushMark(w: number): void {
  if (markTop === markStack.length) {
    const grown = new Float64Array(2 * markStack.length);
    grown.set(markStack);
    markStack = grown;
  }
  markStack[markTop++] = w;
}

// The region of the last address looked up (objects near each other are traced together).
let lastRegion: Region | undefined;
let lastKey = -1;

function regionOf(w: number): Region | undefined {
  const key = Math.floor(w / MiB);
  if (key === lastKey) return lastRegion;
  lastKey = key;
  return (lastRegion = regionByKey.get(key));
}
/** Root or field words that looked like objects but are not (must stay 0: counted for tests and debugging). */
let strayWords = 0;

/** Mark the object a reference word points at (i31, host values and null are skipped) and queue it. */
function markWord(w: number): void {
  if (w === 0 || w % 4 !== 0) return;
  const r = regionOf(w);
  const off = r === undefined ? -1 : w - r.start;
  if (r === undefined || off < 0 || off >= r.size || (r.big && off !== 0)) {
    strayWords++;
    return;
  }
  const bit = off / 8;
  const idx = bit >>> 5, mask = 1 << (bit & 31);
  if ((r.marks[idx] & mask) !== 0) return;
  if (infoOf(word64(r.u32, off)) === undefined) {
    strayWords++;
    return;
  }
  r.marks[idx] |= mask;
  pushMark(w);
}

function drainMarkStack(): void {
  while (markTop > 0) {
    const w = markStack[--markTop];
    const r = regionOf(w)!;
    const u = r.u32;
    const i = (w - r.start) >>> 2;
    const info = infoOf(u[i] + u[i + 1] * TWO32)!;
    // (Reads inlined, and null, i31 and host words skipped by their low word before any arithmetic on doubles.)
    if (info.kind === TypeKind.Struct) {
      const offs = info.refOffsets;
      for (let k = 0; k < offs.length; k++) {
        const j = i + (offs[k] >>> 2);
        const lo = u[j];
        if ((lo & 3) === 0 && (lo | u[j + 1]) !== 0) markWord(lo + u[j + 1] * TWO32);
      }
    } else if (info.elemRefs) {
      const n = u[i + 2];
      for (let k = 0, j = i + 4; k < n; k++, j += 2) {
        const lo = u[j];
        if ((lo & 3) === 0 && (lo | u[j + 1]) !== 0) markWord(lo + u[j + 1] * TWO32);
      }
    }
  }
}

/**
 * Sweep a small region: every range between live objects becomes free (a filler), and the long ones are listed
 * as runs; returns the live bytes (0: the region is empty). Only live objects are visited: their mark bits give
 * where they start and their headers how long they are, so a sweep costs what the live objects do, not the
 * dead ones.
 */
function sweepRegion(r: Region): number {
  const u = r.u32, marks = r.marks;
  const firstRun = runCount;
  let live = 0;
  let prevEnd = 0;
  for (let wi = 0; wi < marks.length; wi++) {
    let m = marks[wi];
    while (m !== 0) {
      const b = 31 - Math.clz32(m & -m);
      m &= m - 1;
      const off = (wi * 32 + b) * 8;
      if (off > prevEnd) freeRange(r, prevEnd, off);
      const i = off >>> 2;
      const info = infoOf(u[i] + u[i + 1] * TWO32);
      if (info === undefined) throw new Error(`quickbeam: GC heap corrupted at 0x${(r.start + off).toString(16)}`);
      const bytes = objectBytes(u, off, info);
      live += bytes;
      prevEnd = off + bytes;
    }
  }
  if (live === 0) {
    runCount = firstRun;
    return 0;
  }
  if (prevEnd < r.size) freeRange(r, prevEnd, r.size);
  marks.fill(0);
  return live;
}

/** Region r's bytes [s, e) (offsets) are free: a filler, and a run when long enough. */
function freeRange(r: Region, s: number, e: number): void {
  writeFree(r, r.start + s, r.start + e);
  if (e - s >= MIN_RUN) {
    runStart[runCount] = r.start + s;
    runEnd[runCount] = r.start + e;
    runZero[runCount] = false;
    runCount++;
  }
}

/** Run a collection now (the caller made sure every root can be found). */
function collect(): void {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  retireCurrentRun();
  enumerateRoots(markWord);
  const t1 = performance.now();
  drainMarkStack();
  const t2 = performance.now();
  runCount = 0;
  runPos = 0;
  let live = 0;
  const empty: Region[] = [];
  for (const r of [...regions]) {
    if (r.big) {
      if ((r.marks[0] & 1) !== 0) {
        r.marks[0] = 0;
        live += r.size;
      } else {
        removeRegion(r);
        regionsFreed++;
      }
      continue;
    }
    const l = sweepRegion(r);
    if (l > 0) {
      live += l;
      continue;
    }
    empty.push(r);
  }
  liveAfterGc = live;
  lastLiveBytes = live;
  allocatedSinceGc = 0;
  threshold = Math.min(Math.max(MIN_THRESHOLD, 2 * live), heapMax);
  // Empty regions: as many as the heap will use again before the next collection are kept as free runs
  // (cleared when taken: cheaper than a fresh mapping's page faults), the rest go back to the OS.
  let budget = threshold - heapBytes;
  for (const r of empty) budget += r.size;
  spare.length = 0;
  for (const r of empty) {
    if (budget >= r.size) {
      budget -= r.size;
      spare.push(r);
    } else {
      removeRegion(r);
      regionsFreed++;
    }
  }
  collections++;
  const pause = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  const pauseCpu = (cpu.user + cpu.system) / 1000;
  totalPauseCpuMs += pauseCpu;
  if (pauseCpu > maxPauseCpuMs) maxPauseCpuMs = pauseCpu;
  if (gcTrace) process.stderr.write(`gc: roots ${(t1 - t0).toFixed(2)} mark ${(t2 - t1).toFixed(2)} sweep ${(performance.now() - t2).toFixed(2)} ms, live ${live}\n`);
  totalPauseMs += pause;
  if (pause > maxPauseMs) maxPauseMs = pause;
}

/** Collect if the heap has grown past its threshold and every root can be found (before constant expressions). */
export function gcCollectIfDue(): void {
  // (A quarter early: the constant expressions about to run cannot collect when they fill the heap.)
  if (liveAfterGc + allocatedSinceGc <= 0.75 * Math.min(threshold, heapMax) || !rootsWalkable()) return;
  collect();
  // Over half the limit still live: dead storages V8 has not collected yet may hold it (see gcAllocate).
  if (2 * liveAfterGc > heapMax && collectJsSide()) collect();
}

/**
 * Collect now, if every root can be found (no wasm frames that cannot be walked); returns whether it ran.
 * (For tests and embedders; collections otherwise start from allocation.)
 */
export function gcCollect(): boolean {
  if (!rootsWalkable()) return false;
  collect();
  return true;
}

/**
 * Heap statistics (tests, the CLI, benchmarks): bytes mapped now and at most, regions, collections, live bytes
 * after the last one, pauses (wall-clock and CPU time of the process: on a loaded machine the wall clock
 * includes time other processes ran), regions given back to the OS, and stray words (reference words that
 * pointed at no object: always 0 unless something is wrong).
 */
export function gcHeapStats(): {
  bytes: number; regions: number; peakBytes: number; collections: number; liveBytes: number;
  totalPauseMs: number; maxPauseMs: number; totalPauseCpuMs: number; maxPauseCpuMs: number; regionsFreed: number; strayWords: number;
} {
  return {
    bytes: heapBytes, regions: regions.size, peakBytes: peakHeapBytes, collections, liveBytes: lastLiveBytes,
    totalPauseMs, maxPauseMs, totalPauseCpuMs, maxPauseCpuMs, regionsFreed, strayWords,
  };
}

// ---------------------------------------------------------------------------------------------------
// GC objects in JS: opaque objects, one per live object (identity is preserved both ways). A wrapper keeps
// its object alive (every address in the table is a root) and lets it go when JS drops it: the table holds
// wrappers weakly, and once V8 has collected one, the registry's callback removes its entry.

const wrappers = new Map<number, WeakRef<object>>();
const addresses = new WeakMap<object, number>();
const wrapperGone = new FinalizationRegistry<number>((addr) => {
  const ref = wrappers.get(addr);
  if (ref !== undefined && ref.deref() === undefined) wrappers.delete(addr);
});

/** The JS object standing for the GC object at `addr`. */
export function wrapGcObject(addr: number): object {
  let w = wrappers.get(addr)?.deref();
  if (w === undefined) {
    w = Object.freeze(Object.create(null) as object);
    wrappers.set(addr, new WeakRef(w));
    addresses.set(w, addr);
    wrapperGone.register(w, addr);
  }
  return w;
}

/** The address of a GC object's JS object, or 0 for any other value. */
export function gcObjectAddress(v: unknown): number {
  return typeof v === 'object' && v !== null ? addresses.get(v) ?? 0 : 0;
}

/**
 * Roots: the address of every GC object with a JS object that V8 has not shown to be gone (entries are removed
 * by the FinalizationRegistry's callback, not here: reading a WeakRef would keep its target alive until the
 * current job ends).
 */
export function visitWrapped(visit: (word: number) => void): void {
  for (const addr of wrappers.keys()) visit(addr);
}
