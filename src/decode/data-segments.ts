// Data segments as parallel arrays: a module can have 100,000 of them (Go's toolchain emits one per
// symbol), and an object, a view and a constant expression per segment cost more in allocation and GC than
// decoding the rest of the module. Contents stay in the module bytes; an active segment's offset is kept as a
// number when it is one plain constant (the usual case), else as its ConstExpr.

import { ConstExpr, ConstOp, SegmentMode } from './types.js';

// Capacity 0 until the first segment: most modules have few or none, and a tiny module's compile should not
// pay for seven arrays (these empty ones are never written: the first add grows them).
const NO_U8 = new Uint8Array(0), NO_U32 = new Uint32Array(0), NO_F64 = new Float64Array(0);

export class DataSegments {
  count = 0;
  private modes = NO_U8;
  private memories = NO_U32;
  private starts = NO_U32;
  private lengths = NO_U32;
  /** Offset of an active segment given by one i32.const (as int32) or non-negative i64.const; NaN: see exprs. */
  private constOffsets = NO_F64;
  private exprs: Map<number, ConstExpr> | null = null;
  private constOps = NO_U8;

  constructor(readonly moduleBytes: Uint8Array) {}

  /** Append a segment whose contents are moduleBytes[start, start + length). */
  add(mode: SegmentMode, memory: number, start: number, length: number): number {
    const i = this.count;
    if (i === this.modes.length) this.grow();
    this.modes[i] = mode;
    this.memories[i] = memory;
    this.starts[i] = start;
    this.lengths[i] = length;
    this.constOffsets[i] = NaN;
    this.count = i + 1;
    return i;
  }

  /** Segment i's offset is the constant `value` (op: I32Const, or I64Const with 0 <= value <= 2^53). */
  setConstOffset(i: number, op: ConstOp.I32Const | ConstOp.I64Const, value: number): void {
    this.constOffsets[i] = value;
    this.constOps[i] = op;
  }

  setOffsetExpr(i: number, e: ConstExpr): void {
    (this.exprs ??= new Map()).set(i, e);
  }

  mode(i: number): SegmentMode {
    return this.modes[i] as SegmentMode;
  }

  memory(i: number): number {
    return this.memories[i];
  }

  length(i: number): number {
    return this.lengths[i];
  }

  /** The segment's contents (a view into the module bytes). */
  bytes(i: number): Uint8Array {
    const s = this.starts[i];
    return this.moduleBytes.subarray(s, s + this.lengths[i]);
  }

  /** Where the segment's contents start in the module bytes (`moduleBytes`). */
  start(i: number): number {
    return this.starts[i];
  }

  /** The offset as a number when it is a plain constant (i32: as an int32), else undefined. */
  constOffset(i: number): number | undefined {
    const v = this.constOffsets[i];
    return Number.isNaN(v) ? undefined : v;
  }

  /** The offset expression of an active segment (null for passive and declarative ones). */
  offsetExpr(i: number): ConstExpr | null {
    const v = this.constOffsets[i];
    if (Number.isNaN(v)) return this.exprs?.get(i) ?? null;
    const op = this.constOps[i] as ConstOp;
    return [{ op, value: op === ConstOp.I64Const ? BigInt(v) : v }];
  }

  private grow(): void {
    const n = Math.max(16, this.modes.length * 2);
    const modes = new Uint8Array(n), memories = new Uint32Array(n), starts = new Uint32Array(n);
    const lengths = new Uint32Array(n), constOffsets = new Float64Array(n), constOps = new Uint8Array(n);
    modes.set(this.modes);
    memories.set(this.memories);
    starts.set(this.starts);
    lengths.set(this.lengths);
    constOffsets.set(this.constOffsets);
    constOps.set(this.constOps);
    this.modes = modes;
    this.memories = memories;
    this.starts = starts;
    this.lengths = lengths;
    this.constOffsets = constOffsets;
    this.constOps = constOps;
  }
}
