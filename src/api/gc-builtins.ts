// Runtime builtins of the GC operators (compile/emit-gc.ts): allocation when the inline bump region is full,
// and the array operators that read segments or move many elements. Operands arrive in the args buffer,
// results go to slot 0; each returns 0 or a trap code.

import { Builtin } from '../compile/abi.js';
import { argsU32, argsI32 } from '../runtime/exec-state.js';
import { ARRAY_DATA, ARRAY_LENGTH, isCanonSubtype, maxArrayLength, storageSize, structLayout } from '../decode/gc-types.js';
import { TrapCode } from '../runtime/layout.js';
import { gcAllocFromJs } from '../runtime/gc-heap.js';
import { copyIn, nativeMove, readPtr, readU32, writeF32, writeF64, writeI32, writePtr, writeU32, writeU64, writeU8 } from '../runtime/native.js';
import { trapError } from '../runtime/trampolines.js';
import type { InstanceState } from './instance.js';

const TWO32 = 4294967296;
const EMPTY = new Uint8Array(0);

function u32(slot: number): number {
  return argsU32[2 * slot];
}

function u64(slot: number): number {
  return argsU32[2 * slot] + argsU32[2 * slot + 1] * TWO32;
}

function setResult(v: number): void {
  argsI32[0] = v % TWO32 | 0;
  argsI32[1] = Math.floor(v / TWO32) | 0;
}

/** A new array of type index t with n elements of `esize` bytes (zeroed, length set); 0 when the heap is full. */
function newArray(state: InstanceState, t: number, n: number, esize: number, mayCollect: boolean): number {
  const size = Math.ceil((ARRAY_DATA + n * esize) / 8) * 8;
  const obj = gcAllocFromJs(size, mayCollect);
  if (obj === 0) return 0;
  writePtr(obj, readPtr(state.vmctx + state.module.compiled.layout.rtt(t)));
  writeU32(obj + ARRAY_LENGTH, n);
  return obj;
}

function dataBytes(state: InstanceState, seg: number): Uint8Array {
  return state.segments.dataDropped[seg] ? EMPTY : state.module.info.datas.bytes(seg);
}

/** Write reference words into an array's elements from index d. */
function writeRefs(obj: number, d: number, items: readonly number[], s: number, n: number): void {
  for (let k = 0; k < n; k++) writePtr(obj + ARRAY_DATA + 8 * (d + k), items[s + k]);
}

export function gcBuiltin(state: InstanceState, id: number): number {
  const types = state.module.info.types;
  switch (id) {
    case Builtin.GcSubtype:
      setResult(isCanonSubtype(u32(0), u32(1)) ? 1 : 0);
      return 0;
    case Builtin.GcAlloc: {
      const obj = gcAllocFromJs(u64(0), true);
      if (obj === 0) return TrapCode.GcHeapExhausted;
      setResult(obj);
      return 0;
    }
    case Builtin.ArrayNewData: {
      const t = u32(0), seg = u32(1), s = u32(2), n = u32(3);
      const esize = storageSize(types[t].fields![0].type);
      // V8's order (fuzz-malformed against Node 24, then mapped out by hand): an offset of 2^31 or more (negative
      // as V8's int32), then the size limit, then the whole range.
      const bytes = dataBytes(state, seg);
      if (s >= 0x80000000) return TrapCode.DataSegmentOutOfBounds;
      if (n > maxArrayLength(esize)) return TrapCode.ArrayTooLarge;
      if (s + n * esize > bytes.length) return TrapCode.DataSegmentOutOfBounds;
      const obj = newArray(state, t, n, esize, true);
      if (obj === 0) return TrapCode.GcHeapExhausted;
      if (n > 0) copyIn(obj + ARRAY_DATA, bytes.subarray(s, s + n * esize));
      setResult(obj);
      return 0;
    }
    case Builtin.ArrayNewElem: {
      const t = u32(0), seg = u32(1), s = u32(2), n = u32(3);
      const items = state.segments.elemItems[seg];
      if (s >= 0x80000000) return TrapCode.ElementSegmentOutOfBounds; // (V8's order, as above)
      if (n > maxArrayLength(8)) return TrapCode.ArrayTooLarge;
      if (s + n > items.length) return TrapCode.ElementSegmentOutOfBounds;
      const obj = newArray(state, t, n, 8, true);
      if (obj === 0) return TrapCode.GcHeapExhausted;
      writeRefs(obj, 0, items, s, n);
      setResult(obj);
      return 0;
    }
    case Builtin.ArrayInitData: {
      const t = u32(0), seg = u32(1), obj = u64(2), d = u32(3), s = u32(4), n = u32(5);
      if (obj === 0) return TrapCode.NullGcReference;
      const esize = storageSize(types[t].fields![0].type);
      if (d + n > readU32(obj + ARRAY_LENGTH)) return TrapCode.ArrayOutOfBounds;
      const bytes = dataBytes(state, seg);
      if (s + n * esize > bytes.length) return TrapCode.DataSegmentOutOfBounds;
      if (n > 0) copyIn(obj + ARRAY_DATA + d * esize, bytes.subarray(s, s + n * esize));
      return 0;
    }
    case Builtin.ArrayInitElem: {
      const seg = u32(1), obj = u64(2), d = u32(3), s = u32(4), n = u32(5);
      if (obj === 0) return TrapCode.NullGcReference;
      if (d + n > readU32(obj + ARRAY_LENGTH)) return TrapCode.ArrayOutOfBounds;
      const items = state.segments.elemItems[seg];
      if (s + n > items.length) return TrapCode.ElementSegmentOutOfBounds;
      writeRefs(obj, d, items, s, n);
      return 0;
    }
    case Builtin.ArrayCopy: {
      const dst = u64(0), d = u32(1), src = u64(2), s = u32(3), n = u32(4), esize = u32(5);
      if (dst === 0 || src === 0) return TrapCode.NullGcReference;
      if (d + n > readU32(dst + ARRAY_LENGTH) || s + n > readU32(src + ARRAY_LENGTH)) return TrapCode.ArrayOutOfBounds;
      if (n > 0) nativeMove(dst + ARRAY_DATA + d * esize, src + ARRAY_DATA + s * esize, n * esize);
      return 0;
    }
  }
  throw new Error(`quickbeam: unknown GC builtin ${id}`);
}

// ---------------------------------------------------------------------------------------------------
// Constant expressions (globals, tables, element segments): allocation from JS

/** Write a raw value (js-values.ts RawValue) as storage type st at addr. */
function writeStorage(addr: number, st: number, v: number | bigint): void {
  switch (st) {
    case 0x78: writeU8(addr, Number(v) & 0xff); return;
    case 0x77: writeU8(addr, Number(v) & 0xff); writeU8(addr + 1, (Number(v) >> 8) & 0xff); return;
    case 0x7f: writeI32(addr, Number(v) | 0); return;
    case 0x7e: writeU64(addr, BigInt.asUintN(64, BigInt(v))); return;
    case 0x7d: writeF32(addr, Number(v)); return;
    case 0x7c: writeF64(addr, Number(v)); return;
    case 0x7b: {
      let x = BigInt.asUintN(128, BigInt(v));
      for (let k = 0; k < 16; k++, x >>= 8n) writeU8(addr + k, Number(x & 0xffn));
      return;
    }
    default: writePtr(addr, Number(v));
  }
}

function rttAddress(state: InstanceState, t: number): number {
  return readPtr(state.vmctx + state.module.compiled.layout.rtt(t));
}

/** struct.new / struct.new_default in a constant expression (values: the fields, or null for defaults). */
export function constStructNew(state: InstanceState, t: number, values: ReadonlyArray<number | bigint> | null): number {
  const type = state.module.info.types[t];
  const { offsets, size } = structLayout(type);
  const obj = gcAllocFromJs(size);
  if (obj === 0) throw trapError(TrapCode.GcHeapExhausted);
  writePtr(obj, rttAddress(state, t));
  if (values !== null) type.fields!.forEach((f, k) => writeStorage(obj + offsets[k], f.type, values[k]));
  return obj;
}

/** array.new / new_default / new_fixed in a constant expression: n elements, each `values[k]` or `fill`. */
export function constArrayNew(state: InstanceState, t: number, n: number, values: ReadonlyArray<number | bigint> | null, fill: number | bigint | null): number {
  const st = state.module.info.types[t].fields![0].type;
  const esize = storageSize(st);
  if (n > maxArrayLength(esize)) throw trapError(TrapCode.ArrayTooLarge);
  // (No collection in constant expressions: objects made so far are only in JS variables.)
  const obj = newArray(state, t, n, esize, false);
  if (obj === 0) throw trapError(TrapCode.GcHeapExhausted);
  for (let k = 0; k < n; k++) {
    const v = values !== null ? values[k] : fill;
    if (v !== null) writeStorage(obj + ARRAY_DATA + k * esize, st, v);
  }
  return obj;
}
