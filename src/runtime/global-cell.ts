// Global cells: the native storage of a global (8 bytes used; 16 reserved for v128). Generated code reads
// and writes the cell through the pointer in the vmctx.
//
// A cell is either owned (a GC-owned block, small-blocks.ts: off-heap, never moved, freed by the GC together
// with the GlobalCell, with no finalizer) or wraps memory owned by someone else, whose owner it keeps alive.
// Instances must hold a strong reference to every GlobalCell their vmctx points at.

import { registerRootWords } from './gc-roots.js';
import { mayHoldGcObject } from '../decode/gc-types.js';
import { ValType } from '../decode/types.js';
import { GLOBAL_CELL_SIZE } from './layout.js';
import { view } from './native.js';
import { allocBlock, lastBlockAddress } from './small-blocks.js';

const TWO32 = 4294967296;

export class GlobalCell {
  /**
   * The JS API object presenting this (api/global.ts), once one was made: a plain field, not a WeakMap from
   * this to it. (The two point at each other, which a WeakMap made an ephemeron cycle that only a full
   * collection breaks: every instance's objects were promoted, and a loop making instances grew Node 24's old
   * space by ~200 MB between full collections.)
   */
  jsObject: object | null = null;
  /** Address of the cell. */
  readonly addr: number;
  readonly type: ValType;
  readonly mutable: boolean;
  private readonly dv: DataView;
  private readonly owner: unknown;
  /** Objects that must live as long as this cell (instances using it, functions stored in it from JS). */
  private readonly keepAlive = new Set<object>();

  /** Keep `o` alive as long as this cell (see TableStorage.keep). */
  keep(o: unknown): void {
    if ((typeof o === 'object' || typeof o === 'function') && o !== null) this.keepAlive.add(o);
  }

  /** The objects kept alive by this cell (instances using it, values stored from JS). */
  kept(): Iterable<object> {
    return this.keepAlive;
  }

  /** `dv` views the cell's 16 bytes (and keeps an owned cell's block alive). */
  private constructor(addr: number, type: ValType, mutable: boolean, owner: unknown, dv: DataView) {
    this.addr = addr;
    this.type = type;
    this.mutable = mutable;
    this.owner = owner;
    this.dv = dv;
    // GC: while this lives, the cell's value is a root of the collector (types that may hold GC objects).
    if (mayHoldGcObject(type)) {
      registerRootWords(this, { u32: new Uint32Array(dv.buffer, dv.byteOffset, 2), count: 1, lists: null });
    }
  }

  /** A fresh zeroed cell owned by the returned object (its storage is freed with it by the GC). */
  static allocate(type: ValType, mutable: boolean): GlobalCell {
    const block = allocBlock(GLOBAL_CELL_SIZE);
    return new GlobalCell(lastBlockAddress(), type, mutable, null, new DataView(block.buffer, block.byteOffset, GLOBAL_CELL_SIZE));
  }

  /** Wrap an existing cell (at least 16 bytes, 8-byte aligned) owned by `owner`, which is kept alive. */
  static wrap(addr: number, type: ValType, mutable: boolean, owner: unknown): GlobalCell {
    return new GlobalCell(addr, type, mutable, owner, new DataView(view(addr, GLOBAL_CELL_SIZE)));
  }

  getI32(): number { return this.dv.getInt32(0, true); }
  setI32(v: number): void { this.dv.setInt32(0, v | 0, true); this.dv.setUint32(4, 0, true); }
  getI64(): bigint { return this.dv.getBigInt64(0, true); }
  setI64(v: bigint): void { this.dv.setBigInt64(0, BigInt.asIntN(64, v), true); }
  getF32(): number { return this.dv.getFloat32(0, true); }
  setF32(v: number): void { this.dv.setFloat32(0, v, true); this.dv.setUint32(4, 0, true); }
  getF64(): number { return this.dv.getFloat64(0, true); }
  setF64(v: number): void { this.dv.setFloat64(0, v, true); }
  /** Raw bits of an f32 (u32). */
  getF32Bits(): number { return this.dv.getUint32(0, true); }
  setF32Bits(bits: number): void { this.dv.setUint32(0, bits >>> 0, true); this.dv.setUint32(4, 0, true); }
  /** Raw bits of an f64 (u64 BigInt). */
  getF64Bits(): bigint { return this.dv.getBigUint64(0, true); }
  setF64Bits(bits: bigint): void { this.dv.setBigUint64(0, BigInt.asUintN(64, bits), true); }
  /** A reference value (FuncRecord address or externref id; 0 = null), or any u64 below 2^53. */
  getRef(): number { return this.dv.getUint32(0, true) + this.dv.getUint32(4, true) * TWO32; }
  setRef(raw: number): void {
    this.dv.setUint32(0, raw >>> 0, true);
    this.dv.setUint32(4, Math.floor(raw / TWO32) >>> 0, true);
  }
  /** The 16 bytes of a v128 (copy). */
  getV128(): Uint8Array { return new Uint8Array(this.dv.buffer, this.dv.byteOffset, 16).slice(); }
  setV128(bytes: Uint8Array): void { new Uint8Array(this.dv.buffer, this.dv.byteOffset, 16).set(bytes.subarray(0, 16)); }

  /** The object that owns a wrapped cell (null for an owned one). */
  get cellOwner(): unknown {
    return this.owner;
  }
}
