// The GC heap (phase 1): native memory for struct and array objects, their type descriptors (RTTs), the
// allocator's regions, and the opaque JS objects that stand for GC objects outside wasm.
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
// Allocation: generated code bumps EXEC_GC_TOP up to EXEC_GC_LIMIT (the current region) inline and calls the
// GcAlloc builtin when the region is full; the builtin maps a new region (or a dedicated one for a big
// object). Phase 1 has no collector: regions are never freed, and the heap limit (gcHeapMax) makes running
// out a clean trap. Memory comes zeroed from mmap and is never reused, so new objects are all zero bits
// (null references, 0 numbers) before their fields are written.

import { EXEC_GC_LIMIT, EXEC_GC_TOP, RTT_CANON, RTT_DEPTH, RTT_DISPLAY, RTT_ELEM_SIZE, RTT_KIND } from './layout.js';
import { execStateAddr } from './exec-state.js';
import { PROT_READ, PROT_WRITE, readPtr, readU32, tryMmapAnon, writePtr, writeU32 } from './native.js';
import { canonDepth, canonElemSize, canonKind, canonSuper } from '../decode/gc-types.js';


/** Size of an allocation region; objects above a quarter of it get a region of their own. */
export const GC_REGION_SIZE = 1 << 20;
export const GC_BIG_OBJECT = GC_REGION_SIZE >> 2;
/** Default heap limit (bytes of regions), configurable with setGcHeapMax / { gcHeapMax } / --gc-heap-max. */
export const DEFAULT_GC_HEAP_MAX = 1024 * 1024 * 1024;

let heapMax = DEFAULT_GC_HEAP_MAX;
let heapBytes = 0;
let regionCount = 0;

export function setGcHeapMax(bytes: number): void {
  if (!(bytes > 0)) throw new RangeError('gcHeapMax must be a positive number of bytes');
  heapMax = bytes;
}

export function gcHeapMax(): number {
  return heapMax;
}

/** Bytes of heap mapped so far, and how many regions (statistics for tests and the CLI). */
export function gcHeapStats(): { bytes: number; regions: number } {
  return { bytes: heapBytes, regions: regionCount };
}

function mapRegion(size: number): number {
  if (heapBytes + size > heapMax) return 0;
  const p = tryMmapAnon(size, PROT_READ | PROT_WRITE);
  if (p === 0) return 0;
  heapBytes += size;
  regionCount++;
  return p;
}

/**
 * The GcAlloc builtin: `size` bytes (a multiple of 8) for one object. Small objects come from a new current
 * region (the rest of the old one is abandoned: phase 1 does not collect), big ones from a region of their own.
 * Returns the address, or 0 when the heap limit is reached.
 */
export function gcAllocate(size: number): number {
  if (size > GC_BIG_OBJECT) return mapRegion((size + 4095) & ~4095);
  const region = mapRegion(GC_REGION_SIZE);
  if (region === 0) return 0;
  writePtr(execStateAddr + EXEC_GC_TOP, region + size);
  writePtr(execStateAddr + EXEC_GC_LIMIT, region + GC_REGION_SIZE);
  return region;
}

// ---------------------------------------------------------------------------------------------------
// RTTs

const rtts: number[] = []; // by canonical id
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

/** The RTT of a canonical struct or array type (made on first use, with its supertypes' RTTs). */
export function rttOf(canon: number): number {
  const have = rtts[canon];
  if (have !== undefined) return have;
  const depth = canonDepth(canon);
  const sup = canonSuper(canon);
  const supRtt = sup > 0 ? rttOf(sup) : 0;
  const kind = canonKind(canon);
  const elemSize = canonElemSize(canon);
  const p = rttMemory(RTT_DISPLAY + 8 * (depth + 1));
  writeU32(p + RTT_CANON, canon);
  writeU32(p + RTT_DEPTH, depth);
  writeU32(p + RTT_KIND, kind);
  writeU32(p + RTT_ELEM_SIZE, elemSize);
  for (let d = 0; d < depth; d++) writePtr(p + RTT_DISPLAY + 8 * d, readPtr(supRtt + RTT_DISPLAY + 8 * d));
  writePtr(p + RTT_DISPLAY + 8 * depth, p);
  rtts[canon] = p;
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
// GC objects in JS: opaque objects, one per object address (identity is preserved both ways)

const wrappers = new Map<number, object>();
const addresses = new WeakMap<object, number>();

/** The JS object standing for the GC object at `addr`. */
export function wrapGcObject(addr: number): object {
  let w = wrappers.get(addr);
  if (w === undefined) {
    w = Object.freeze(Object.create(null) as object);
    wrappers.set(addr, w);
    addresses.set(w, addr);
  }
  return w;
}

/** The address of a GC object's JS object, or 0 for any other value. */
export function gcObjectAddress(v: unknown): number {
  return typeof v === 'object' && v !== null ? addresses.get(v) ?? 0 : 0;
}

/** Allocate from JS (builtins, constant expressions): the current region first, like the inline path. */
export function gcAllocFromJs(size: number): number {
  const top = readPtr(execStateAddr + EXEC_GC_TOP);
  const limit = readPtr(execStateAddr + EXEC_GC_LIMIT);
  if (top !== 0 && top + size <= limit) {
    writePtr(execStateAddr + EXEC_GC_TOP, top + size);
    return top;
  }
  return gcAllocate(size);
}
