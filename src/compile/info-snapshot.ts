// A module's decoded declarations (ModuleInfo) as bytes, so that a code-cache hit restores them instead of
// decoding the module again (which costs 30-50 ms of a cold process on 15-30 MB modules: 34,000 function
// declarations and bodies, 18,000 data segments...).
//
// The snapshot is the ModuleInfo in snapshot-codec.ts's encoding (plain data, with shared references), with
// three adjustments:
// - views into the module's bytes (data segment contents) are written as (offset, length) and restored as views
//   into the bytes of the module being loaded, which hash to the same key, so they are the same bytes;
// - the big per-function arrays go as Int32Arrays (one copy each instead of one tagged value per element):
//   funcTypes, codeOffsets, codeEnds, declaredFuncRefs, and element segments whose items are all plain
//   ref.func / ref.null;
// - DataSegments (a class) gets its prototype back.
// codeOffsets, codeEnds and declaredFuncRefs are only read when compiling or disassembling, never for running
// cached code, so they are restored on first access. A snapshot is only ever read by the same Quickbeam version
// (the cache key includes it), and test/code-cache.test.ts checks that a restored ModuleInfo equals a decoded one.

import { DataSegments } from '../decode/data-segments.js';
import { FunctionNames } from '../decode/name-section.js';
import { prefault } from '../runtime/native.js';
import { ConstExpr, ConstOp, ElemSegment, ModuleInfo } from '../decode/types.js';
import { recanonicalize } from '../decode/gc-types.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec.js';

/** ref.null t is packed as -1 - t (t a ValType byte), ref.func f as f. */
function packItems(items: ConstExpr[]): Int32Array | null {
  const out = new Int32Array(items.length);
  for (let k = 0; k < items.length; k++) {
    const e = items[k];
    if (e.length !== 1) return null;
    const { op, value } = e[0];
    if (op === ConstOp.RefFunc && typeof value === 'number') out[k] = value;
    else if (op === ConstOp.RefNull && typeof value === 'number') out[k] = -1 - value;
    else return null;
  }
  return out;
}

function unpackItems(packed: Int32Array): ConstExpr[] {
  const n = packed.length;
  const out: ConstExpr[] = [];
  for (let k = 0; k < n; k++) {
    const v = packed[k];
    out.push(v >= 0 ? [{ op: ConstOp.RefFunc, value: v }] : [{ op: ConstOp.RefNull, value: -1 - v }]);
  }
  return out;
}

interface Packed {
  info: Omit<ModuleInfo, 'funcTypes' | 'codeOffsets' | 'codeEnds' | 'declaredFuncRefs' | 'elems' | 'funcNames'>;
  funcTypes: Int32Array;
  codeOffsets: Int32Array;
  codeEnds: Int32Array | null;
  declaredFuncRefs: Int32Array;
  /** Per element segment: its items packed, or null when they are kept as they are (in elems). */
  elemItems: Array<Int32Array | null>;
  elems: ElemSegment[];
}

/**
 * The snapshot of `info`, decoded from `bytes`, and the range of `bytes` a restored module reads: the data
 * segments' contents and any other view into the bytes (a view of the whole module, such as the one data
 * segments are sliced from, is assumed to be read only through such parts).
 */
export function snapshotInfo(info: ModuleInfo, bytes: Uint8Array): { snapshot: Uint8Array; keep: [number, number] } {
  let lo = bytes.length;
  let hi = 0;
  const cover = (start: number, length: number): void => {
    if (length === 0) return;
    lo = Math.min(lo, start);
    hi = Math.max(hi, start + length);
  };
  for (let k = 0; k < info.datas.count; k++) {
    const v = info.datas.bytes(k);
    cover(v.byteOffset - bytes.byteOffset, v.length);
  }
  // (funcNames is not stored: the restored module parses its kept "name" section when a name is asked for.)
  const { funcTypes, codeOffsets, codeEnds, declaredFuncRefs, elems, funcNames: _names, ...rest } = info;
  const elemItems = elems.map((e) => packItems(e.items));
  const packed: Packed = {
    info: rest,
    funcTypes: Int32Array.from(funcTypes),
    codeOffsets: Int32Array.from(codeOffsets),
    codeEnds: codeEnds === undefined ? null : Int32Array.from(codeEnds),
    declaredFuncRefs: Int32Array.from(declaredFuncRefs),
    elemItems,
    elems: elems.map((e, k) => (elemItems[k] !== null ? { ...e, items: [] } : e)),
  };
  const snapshot = encodeSnapshot(packed, bytes, cover);
  return { snapshot, keep: lo < hi ? [lo, hi] : [0, 0] };
}

/**
 * The module bytes a restored module needs: a buffer as long as `src` holding only src[keep] (the rest reads as
 * zeros and, untouched, costs no memory).
 */
export function keptBytes(src: Uint8Array, keep: [number, number]): Uint8Array {
  const out = new Uint8Array(src.length);
  const [lo, hi] = keep;
  if (!(lo >= 0 && lo <= hi && hi <= src.length)) throw new Error('module info snapshot does not match the module');
  if (hi > lo) {
    prefault(out, lo, hi);
    out.set(src.subarray(lo, hi), lo);
  }
  return out;
}

/** The body offsets as the snapshot holds them (restoreInfo's `raw`: cheaper than info.codeOffsets). */
export interface RawArrays {
  codeOffsets: Int32Array;
  codeEnds: Int32Array | null;
}

/**
 * The ModuleInfo of a snapshot, for module bytes `bytes` (the same bytes it was made from); `raw`, when given,
 * receives the body offsets as Int32Arrays.
 */
export function restoreInfo(snapshot: Uint8Array, bytes: Uint8Array, raw?: RawArrays): ModuleInfo {
  const p = decodeSnapshot(snapshot, bytes) as Packed;
  Object.setPrototypeOf(p.info.datas, DataSegments.prototype);
  const funcTypes = new Array<number>(p.funcTypes.length);
  for (let k = 0; k < funcTypes.length; k++) funcTypes[k] = p.funcTypes[k];
  const elems = p.elems;
  for (let k = 0; k < elems.length; k++) {
    const items = p.elemItems[k];
    if (items !== null) elems[k].items = unpackItems(items);
  }
  // The custom sections' bytes are copied into `bytes` by the caller (loadCached) before any name is read.
  const info = { ...p.info, funcTypes, elems, funcNames: FunctionNames.fromSections(bytes, p.info.customSections) } as ModuleInfo;
  // canonical ids are this thread's (the snapshot may come from another process or thread)
  recanonicalize(info.types);
  if (raw !== undefined) {
    raw.codeOffsets = p.codeOffsets;
    raw.codeEnds = p.codeEnds;
  }
  (info as unknown as Record<symbol, Packed>)[PACKED] = p;
  lazyField(info, 'codeOffsets');
  if (p.codeEnds !== null) lazyField(info, 'codeEnds');
  lazyField(info, 'declaredFuncRefs');
  return info;
}

/** Where a restored ModuleInfo keeps its snapshot's arrays until a lazy field is first read. */
const PACKED = Symbol('packed snapshot');

type LazyKey = 'codeOffsets' | 'codeEnds' | 'declaredFuncRefs';

function makeField(p: Packed, key: LazyKey): ModuleInfo[LazyKey] {
  return key === 'declaredFuncRefs' ? new Set(p.declaredFuncRefs) : Array.from(key === 'codeOffsets' ? p.codeOffsets : p.codeEnds!);
}

/**
 * The accessors of each lazy field: one pair per field for the process (a pair of closures per restore gave
 * every restored ModuleInfo hidden classes of its own).
 */
const accessors = new Map<LazyKey, PropertyDescriptor>();

function accessorsOf(key: LazyKey): PropertyDescriptor {
  let d = accessors.get(key);
  if (d === undefined) {
    d = {
      configurable: true,
      enumerable: true,
      get(this: ModuleInfo) {
        const value = makeField((this as unknown as Record<symbol, Packed>)[PACKED], key);
        Object.defineProperty(this, key, { value, writable: true, configurable: true, enumerable: true });
        return value;
      },
      set(this: ModuleInfo, value: unknown) {
        Object.defineProperty(this, key, { value, writable: true, configurable: true, enumerable: true });
      },
    };
    accessors.set(key, d);
  }
  return d;
}

/** A field computed on first read (then a plain data property). */
function lazyField(info: ModuleInfo, key: LazyKey): void {
  Object.defineProperty(info, key, accessorsOf(key));
}
