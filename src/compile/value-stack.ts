// The virtual value stack of the single-pass compiler, and the register allocator that serves it.
//
// Every wasm operand-stack position i has a fixed spill slot in the frame (as in Liftoff), so a
// value is always somewhere definite: a constant (not materialised yet), a register, a reference to a
// local (not copied yet), or its own stack slot. Values stay in registers across operators and are
// written to their slots only under register pressure, before calls, and at control-flow boundaries.
// The arrays are preallocated and reused: pushing and popping never allocates.
//
// Slots are size-aware: a v128 entry takes 16 bytes, every other type 8. Entry i's slot ends `end[i]` bytes
// below the start of the slot area (end[i] = end[i-1] + size of its type), so a function without v128 values
// has exactly the 8-byte slots at slotBase - 8 i of before. Locals and params likewise take 8 or 16 bytes.

import { floatConstLabel } from './float-consts.js';
import { Assembler } from '../x64/assembler.js';
import { LoadKind, RBP, R11, SseOp, XMM15 } from '../x64/registers.js';
import { ValType } from '../decode/types.js';
import { pinsrq, vl, V } from '../x64/assembler-simd.js';

export const K_CONST = 0;
export const K_REG = 1;
export const K_LOCAL = 2;
export const K_STACK = 3;

/** GPRs handed out to values, in preference order. r11 is scratch; r13-r15, rsp, rbp are pinned. */
export const ALLOCATABLE_GPRS = [0, 1, 2, 3, 6, 7, 8, 9, 10, 12];
/** XMM registers handed out to values; xmm15 is scratch. */
export const ALLOCATABLE_XMMS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];

export function isFloatType(t: number): boolean {
  return t === ValType.F32 || t === ValType.F64;
}

/** Whether values of type t live in XMM registers (f32, f64, v128). */
export function isXmmType(t: number): boolean {
  return t === ValType.F32 || t === ValType.F64 || t === ValType.V128;
}

/** Bytes a value of type t takes in frame slots, locals, params and the argument/result areas. */
export function slotSize(t: number): number {
  return t === ValType.V128 ? 16 : 8;
}

/** Whether values of type t occupy 8 bytes (else 4) in memory slots. */
export function is64BitType(t: number): boolean {
  return t !== ValType.I32 && t !== ValType.F32;
}

const USED_BY_TEMP = 0x7fff;
const XMM_SCRATCH = XMM15;

export class ValueStack {
  height = 0;
  maxHeight = 0;
  kind: Uint8Array;
  /** Operand types (numbers as in ref-types.ts: reference types do not fit a byte). */
  type: Int32Array;
  /** Register number (K_REG), local index (K_LOCAL). */
  reg: Int32Array;
  /** Constant value: low and high 32 bits (i32/f32 use lo only; f32/f64 hold raw bits). */
  lo: Int32Array;
  hi: Int32Array;
  /** v128 constants: bits 64..95 and 96..127 (lo/hi hold bits 0..63). */
  c2: Int32Array;
  c3: Int32Array;
  /** Byte depth of the end of each entry's slot below the slot area's top (see slotDisp). */
  end: Int32Array;
  /** Largest byte depth reached (the size of the slot area). */
  maxDepth = 0;
  /** For each register: -1 free, USED_BY_TEMP held by an operator, else the stack position owning it. */
  gprOwner = new Int32Array(16).fill(-1);
  xmmOwner = new Int32Array(16).fill(-1);
  /** Literal pool for v128 constants (set by the SIMD compiler): the label of a 16-byte aligned literal. */
  v128Pool: ((w0: number, w1: number, w2: number, w3: number) => number) | null = null;
  /**
   * Local register cache: after `local.set x` (or a load of x) a register may still hold x's current value
   * while being free for allocation. localReg[x] is that register (-1: none); gprLocal/xmmLocal map back.
   * A register loses its cached local as soon as it is handed out for a new value; the whole cache is
   * dropped at labels where other paths merge and after calls.
   */
  localReg: Int32Array = new Int32Array(0);
  gprLocal = new Int32Array(16).fill(-1);
  xmmLocal = new Int32Array(16).fill(-1);
  /** The registers that cache a local: bit r for GPR r, bit 16 + r for XMM r (so merges visit only those). */
  cacheBits = 0;
  /**
   * Deferred local.set (deferred-stores.ts): the registers (a subset of cacheBits) whose local's frame slot is
   * older than the register. Such a register is written back before it loses its local (forget, eviction) and
   * before anything reads the slot; labels, branches and calls write them back first (or keep them, see there).
   */
  dirtyBits = 0;
  /**
   * Deferred local.set: setEpoch[x] === epoch when local x was set (or is a parameter) since the last loop entry or
   * cache clear; a loop's entry takes such carried locals as owing their stores (loop-carry.ts), so that the loop
   * body may defer theirs. Stale entries only make a loop owe a store it does not need.
   */
  setEpoch: Int32Array = new Int32Array(0);
  epoch = 1;
  /**
   * The registers that carry a local into the enclosing loops (bits as cacheBits, loop-carry.ts): when only
   * registers caching a local are free, the allocator takes one outside this set first, since a carried one
   * handed out for a temporary must be reloaded at the back edge.
   */
  carriedMask = 0;
  /** Number of K_LOCAL entries (lets local.set skip the scan when zero). */
  localRefs = 0;
  /**
   * Bounds checks of memory 0 passed earlier in the current basic block: checkedEnd[x] = E > 0 means local x's
   * current value + E <= memory 0's length was checked (lengths never shrink, but calls, labels and a write of x
   * drop it: clearLocalCache, uncheckLocal). checkedList holds the locals with an entry.
   */
  checkedEnd: Int32Array = new Int32Array(0);
  checkedList = new Int32Array(16);
  checkedCount = 0;
  /** Likewise for constant addresses: every access ending at or below it was checked (0: none). */
  checkedConstEnd = 0;
  /** The last locals read or written (a ring, newest before recentPos; -1 empty): loop-carry.ts's candidates. */
  recentLocals = new Int32Array(16).fill(-1);
  recentPos = 0;

  /** rbp-relative displacement of the top of the slot area; slot i is at stackTop - end[i]. */
  stackTop = 0;
  /** Bytes taken by the declared (non-param) locals, below [rbp-8]. */
  declaredBytes = 0;
  /** rbp-relative displacement of each local. */
  localDisp: Int32Array = new Int32Array(0);
  localType: Int32Array = new Int32Array(0);

  /** Length of the per-entry arrays (a field: a typed array's length is a getter call before V8 optimises). */
  private capacity: number;

  constructor(private readonly asm: Assembler, capacity = 1024) {
    this.capacity = capacity;
    this.kind = new Uint8Array(capacity);
    this.type = new Int32Array(capacity);
    this.reg = new Int32Array(capacity);
    this.lo = new Int32Array(capacity);
    this.hi = new Int32Array(capacity);
    this.c2 = new Int32Array(capacity);
    this.c3 = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
  }

  /** Start a new function whose locals have the given types (params first); `numParams` of them are params. */
  reset(localTypes: Int32Array, numLocals: number, numParams: number): void {
    this.height = 0;
    this.maxHeight = 0;
    this.maxDepth = 0;
    this.localRefs = 0;
    this.carriedMask = 0;
    const rl = this.recentLocals;
    for (let k = 0; k < rl.length; k++) rl[k] = -1;
    this.recentPos = 0;
    // Plain loops rather than TypedArray.prototype.fill (a C++ builtin call each, five per function). Only
    // this function's locals are reset in localReg: no other entry is read before it is written.
    const go = this.gprOwner, xo = this.xmmOwner, gl = this.gprLocal, xl = this.xmmLocal;
    for (let r = 0; r < 16; r++) {
      go[r] = -1;
      xo[r] = -1;
      gl[r] = -1;
      xl[r] = -1;
    }
    this.cacheBits = 0;
    this.dirtyBits = 0;
    if (this.localReg.length < numLocals) this.localReg = new Int32Array(Math.max(numLocals, 2 * this.localReg.length));
    const lr = this.localReg;
    if (numLocals > 64) lr.fill(-1, 0, numLocals);
    else for (let i = 0; i < numLocals; i++) lr[i] = -1;
    if (this.setEpoch.length < numLocals) this.setEpoch = new Int32Array(Math.max(numLocals, 2 * this.setEpoch.length));
    const ep = ++this.epoch;
    for (let i = 0; i < numParams; i++) this.setEpoch[i] = ep;
    if (this.checkedEnd.length < numLocals) this.checkedEnd = new Int32Array(Math.max(numLocals, 2 * this.checkedEnd.length));
    const ce = this.checkedEnd;
    if (numLocals > 64) ce.fill(0, 0, numLocals);
    else for (let i = 0; i < numLocals; i++) ce[i] = 0;
    this.checkedCount = 0;
    this.checkedConstEnd = 0;
    if (this.localDisp.length < numLocals) this.localDisp = new Int32Array(Math.max(numLocals, this.localDisp.length * 2));
    this.localType = localTypes;
    // Params upwards from [rbp+16]; [rbp-8] vmctx, then declared locals downwards, then the value-stack slots.
    let up = 16, down = 8;
    for (let i = 0; i < numLocals; i++) {
      const size = slotSize(localTypes[i]);
      if (i < numParams) {
        this.localDisp[i] = up;
        up += size;
      } else {
        down += size;
        this.localDisp[i] = -down;
      }
    }
    this.declaredBytes = down - 8;
    this.stackTop = -down;
  }

  slotDisp(i: number): number {
    return this.stackTop - this.end[i];
  }

  /** Byte depth below the slot area's top where entry i's slot starts (the end of entry i-1). */
  depthBefore(i: number): number {
    return i === 0 ? 0 : this.end[i - 1];
  }

  /** The slot displacement a value of type t pushed now would get. */
  nextSlotDisp(t: number): number {
    return this.stackTop - (this.depthBefore(this.height) + slotSize(t));
  }

  private grow(): void {
    const n = this.capacity * 2;
    this.capacity = n;
    const k = new Uint8Array(n); k.set(this.kind); this.kind = k;
    const t = new Int32Array(n); t.set(this.type); this.type = t;
    const r = new Int32Array(n); r.set(this.reg); this.reg = r;
    const l = new Int32Array(n); l.set(this.lo); this.lo = l;
    const h = new Int32Array(n); h.set(this.hi); this.hi = h;
    const c2 = new Int32Array(n); c2.set(this.c2); this.c2 = c2;
    const c3 = new Int32Array(n); c3.set(this.c3); this.c3 = c3;
    const e = new Int32Array(n); e.set(this.end); this.end = e;
  }

  private pushEntry(kind: number, type: number): number {
    const i = this.height;
    if (i >= this.capacity) this.grow();
    this.kind[i] = kind;
    this.type[i] = type;
    const e = (i === 0 ? 0 : this.end[i - 1]) + (type === ValType.V128 ? 16 : 8);
    this.end[i] = e;
    if (e > this.maxDepth) this.maxDepth = e;
    this.height = i + 1;
    if (this.height > this.maxHeight) this.maxHeight = this.height;
    return i;
  }

  pushConst(type: number, lo: number, hi: number): void {
    const i = this.pushEntry(K_CONST, type);
    this.lo[i] = lo;
    this.hi[i] = hi;
  }

  /** Push a v128 constant given as four little-endian 32-bit lanes. */
  pushConstV128(b0: number, b1: number, b2: number, b3: number): void {
    const i = this.pushEntry(K_CONST, ValType.V128);
    this.lo[i] = b0;
    this.hi[i] = b1;
    this.c2[i] = b2;
    this.c3[i] = b3;
  }

  /** Push a value held in register r (the register becomes owned by the new entry). */
  pushReg(type: number, r: number): void {
    const i = this.pushEntry(K_REG, type);
    this.reg[i] = r;
    // takeXmm / takeGpr inlined (every operator result comes through here).
    if (type === ValType.F32 || type === ValType.F64 || type === ValType.V128) {
      this.xmmOwner[r] = i;
      const l = this.xmmLocal[r];
      if (l >= 0) {
        if ((this.dirtyBits & (1 << (16 + r))) !== 0) this.writeBack(16 + r); // (r still holds l's value)
        this.localReg[l] = -1;
        this.xmmLocal[r] = -1;
        this.cacheBits &= ~(1 << (16 + r));
      }
    } else {
      this.gprOwner[r] = i;
      const l = this.gprLocal[r];
      if (l >= 0) {
        if ((this.dirtyBits & (1 << r)) !== 0) this.writeBack(r); // (r still holds l's value)
        this.localReg[l] = -1;
        this.gprLocal[r] = -1;
        this.cacheBits &= ~(1 << r);
      }
    }
  }

  pushLocal(type: number, local: number): void {
    const i = this.pushEntry(K_LOCAL, type);
    this.reg[i] = local;
    this.localRefs++;
  }

  /** Push a value that code has already written to its own slot. */
  pushStack(type: number): void {
    this.pushEntry(K_STACK, type);
  }

  /** Push a placeholder in unreachable code (no code is emitted for it). */
  pushDead(type: number): void {
    const i = this.pushEntry(K_CONST, type);
    this.lo[i] = 0;
    this.hi[i] = 0;
    this.c2[i] = 0;
    this.c3[i] = 0;
  }

  // ---------------------------------------------------------------- registers

  /**
   * Register r (GPR or XMM) is about to receive a new value: it no longer holds any local (one whose slot is
   * older is written back first).
   */
  private forget(xmm: boolean, r: number): void {
    const map = xmm ? this.xmmLocal : this.gprLocal;
    const l = map[r];
    if (l >= 0) {
      if ((this.dirtyBits & (1 << (xmm ? 16 + r : r))) !== 0) this.writeBack(xmm ? 16 + r : r);
      this.localReg[l] = -1;
      map[r] = -1;
      this.cacheBits &= ~(1 << (xmm ? 16 + r : r));
    }
  }

  private takeGpr(r: number, owner: number): void {
    this.gprOwner[r] = owner;
    this.forget(false, r);
  }

  private takeXmm(r: number, owner: number): void {
    this.xmmOwner[r] = owner;
    this.forget(true, r);
  }

  /** Drop every remembered bounds check (see checkedEnd). */
  clearChecks(): void {
    const ce = this.checkedEnd, cl = this.checkedList;
    for (let k = 0; k < this.checkedCount; k++) ce[cl[k]] = 0;
    this.checkedCount = 0;
    this.checkedConstEnd = 0;
  }

  /** Remember that local x's current value + end <= memory 0's length (a check just passed). */
  noteChecked(x: number, end: number): void {
    const ce = this.checkedEnd;
    if (ce[x] === 0) {
      if (this.checkedCount === this.checkedList.length) return;
      this.checkedList[this.checkedCount++] = x;
    }
    if (end > ce[x]) ce[x] = end;
  }

  /** Local x is written: its checks no longer hold. */
  uncheckLocal(x: number): void {
    this.checkedEnd[x] = 0; // (its checkedList entry stays: clearing it again is harmless)
  }

  /** The local whose current value entry i is (a pending local.get, or a register caching it), else -1. */
  entryLocal(i: number): number {
    const k = this.kind[i];
    if (k === K_LOCAL) return this.reg[i];
    if (k === K_REG && !isXmmType(this.type[i])) return this.gprLocal[this.reg[i]];
    return -1;
  }

  /** Drop every cached local (at merge points and after calls), and the bounds checks with them. */
  clearLocalCache(): void {
    this.epoch++;
    this.keepCached(0);
  }

  /**
   * A merge point whose edges all agree with the current cache on the registers in `mask` (bits as cacheBits):
   * keep those, forget the rest; the bounds checks go as at any label.
   */
  keepCached(mask: number): void {
    if (this.checkedCount !== 0 || this.checkedConstEnd !== 0) this.clearChecks();
    // Only the registers that cache something (and no TypedArray.prototype.fill: a C++ builtin call).
    const gl = this.gprLocal, xl = this.xmmLocal, lr = this.localReg;
    let m = this.cacheBits & ~mask;
    // A deferred store cannot be emitted here (a label may be bound: other paths arrive with other registers).
    if ((this.dirtyBits & m) !== 0) throw new Error('internal: a deferred local.set dropped at a merge or call');
    while (m !== 0) {
      const b = 31 - Math.clz32(m);
      m &= ~(1 << b);
      if (b >= 16) {
        lr[xl[b - 16]] = -1;
        xl[b - 16] = -1;
      } else {
        lr[gl[b]] = -1;
        gl[b] = -1;
      }
    }
    this.cacheBits &= mask;
  }

  /** Record that register r (of local x's type) now holds local x's current value. */
  cacheLocal(x: number, r: number): void {
    const xmm = isXmmType(this.localType[x]);
    const old = this.localReg[x];
    if (old >= 0) {
      // (r's value is x's current one: the old register's, and any store it owed, are obsolete)
      (xmm ? this.xmmLocal : this.gprLocal)[old] = -1;
      this.cacheBits &= ~(1 << (xmm ? 16 + old : old));
      this.dirtyBits &= ~(1 << (xmm ? 16 + old : old));
    }
    this.forget(xmm, r);
    this.localReg[x] = r;
    (xmm ? this.xmmLocal : this.gprLocal)[r] = x;
    this.cacheBits |= 1 << (xmm ? 16 + r : r);
  }

  /**
   * For a K_LOCAL entry at `top` used as the right operand of a binary operator: a register that holds the
   * local's value and stays valid while the left operand (at top - 1) is popped; else -1. When `cachedPinned`
   * is then true, release the register with unpinCached() after emitting the operator. (A number and a field,
   * not a result object: nothing is allocated per operator.)
   */
  cachedOperand(top: number): number {
    if (this.kind[top] !== K_LOCAL) return -1;
    const c = this.localReg[this.reg[top]];
    if (c < 0) return -1;
    const owners = isXmmType(this.type[top]) ? this.xmmOwner : this.gprOwner;
    if (owners[c] === -1) {
      owners[c] = USED_BY_TEMP; // keep the allocator off it (its cache stays valid)
      this.cachedPinned = true;
      return c;
    }
    if (owners[c] === top - 1) {
      this.cachedPinned = false;
      return c;
    }
    return -1;
  }

  /** Set by cachedOperand: whether its register was pinned as a temp (release with unpinCached). */
  cachedPinned = false;

  unpinCached(t: number, c: number): void {
    (isXmmType(t) ? this.xmmOwner : this.gprOwner)[c] = -1;
  }

  /** Note a use of local x (for loop-carry.ts); a repeat of the newest entry is not recorded again. */
  noteLocalUse(x: number): void {
    const rl = this.recentLocals;
    const p = this.recentPos;
    if (rl[p === 0 ? rl.length - 1 : p - 1] === x) return;
    rl[p] = x;
    this.recentPos = p + 1 === rl.length ? 0 : p + 1;
  }

  /** A free register of the class (XMM or GPR) that caches no local, or -1. */
  freeUncachedReg(xmm: boolean): number {
    return this.tryAllocFree(xmm ? ValType.F64 : ValType.I64);
  }

  /** Forget local x's cached register (written back first if its slot is older). */
  uncacheLocal(x: number): void {
    const old = this.localReg[x];
    if (old < 0) return;
    const xmm = isXmmType(this.localType[x]);
    if ((this.dirtyBits & (1 << (xmm ? 16 + old : old))) !== 0) this.writeBack(xmm ? 16 + old : old);
    (xmm ? this.xmmLocal : this.gprLocal)[old] = -1;
    this.cacheBits &= ~(1 << (xmm ? 16 + old : old));
    this.localReg[x] = -1;
  }

  /** Local x's slot is being written with a new value: forget its register and any store it owed. */
  discardLocal(x: number): void {
    const old = this.localReg[x];
    if (old < 0) return;
    const b = isXmmType(this.localType[x]) ? 16 + old : old;
    this.dirtyBits &= ~(1 << b);
    this.uncacheLocal(x);
  }

  /** local.set x left x's new value in its cached register only: its slot is written back later. */
  markDirty(x: number): void {
    const r = this.localReg[x];
    this.dirtyBits |= 1 << (isXmmType(this.localType[x]) ? 16 + r : r);
  }

  /** Whether local x's slot is older than its register (a deferred local.set). */
  isDirty(x: number): boolean {
    const r = this.localReg[x];
    return r >= 0 && (this.dirtyBits & (1 << (isXmmType(this.localType[x]) ? 16 + r : r))) !== 0;
  }

  /** Register b (bits as cacheBits) holds a local newer than its slot: store it (the register keeps it, clean). */
  writeBack(b: number): void {
    const xmm = b >= 16, r = b & 15;
    const l = xmm ? this.xmmLocal[r] : this.gprLocal[r];
    this.storeToFrame(this.localType[l], r, this.localDisp[l]);
    this.dirtyBits &= ~(1 << b);
  }

  /** Write back every deferred local.set (they stay cached, now clean). */
  flushDirty(): void {
    let m = this.dirtyBits;
    while (m !== 0) {
      const b = 31 - Math.clz32(m);
      m &= ~(1 << b);
      this.writeBack(b);
    }
  }

  /** Before something reads local x's frame slot: write back a deferred store. */
  cleanLocal(x: number): void {
    if (this.dirtyBits !== 0 && this.isDirty(x)) {
      const r = this.localReg[x];
      this.writeBack(isXmmType(this.localType[x]) ? 16 + r : r);
    }
  }

  /** `local.get x` from the cache: push the free register holding x without any code. False if none. */
  pushCachedLocal(t: number, x: number): boolean {
    const r = this.localReg[x];
    if (r < 0) return false;
    const xmm = isXmmType(t);
    if ((xmm ? this.xmmOwner : this.gprOwner)[r] !== -1) return false;
    const i = this.pushEntry(K_REG, t);
    this.reg[i] = r;
    (xmm ? this.xmmOwner : this.gprOwner)[r] = i;
    return true;
  }

  allocGpr(): number {
    // Prefer a free register that caches no local; else a free one not carried into a loop (one that owes no
    // deferred store first: taking it costs that store); else any free one; else spill.
    let fallback = -1, fallbackCost = 4;
    const carried = this.carriedMask, dirty = this.dirtyBits;
    for (let k = 0; k < ALLOCATABLE_GPRS.length; k++) {
      const r = ALLOCATABLE_GPRS[k];
      if (this.gprOwner[r] === -1) {
        if (this.gprLocal[r] < 0) {
          this.gprOwner[r] = USED_BY_TEMP;
          return r;
        }
        const cost = ((carried >> r) & 1) * 2 + ((dirty >> r) & 1);
        if (cost < fallbackCost) {
          fallback = r;
          fallbackCost = cost;
        }
      }
    }
    const r = fallback >= 0 ? fallback : this.spillOldest(false);
    this.takeGpr(r, USED_BY_TEMP);
    return r;
  }

  allocXmm(): number {
    let fallback = -1, fallbackCost = 4;
    const carried = this.carriedMask, dirty = this.dirtyBits;
    for (let k = 0; k < ALLOCATABLE_XMMS.length; k++) {
      const r = ALLOCATABLE_XMMS[k];
      if (this.xmmOwner[r] === -1) {
        if (this.xmmLocal[r] < 0) {
          this.xmmOwner[r] = USED_BY_TEMP;
          return r;
        }
        const cost = ((carried >>> (16 + r)) & 1) * 2 + ((dirty >>> (16 + r)) & 1);
        if (cost < fallbackCost) {
          fallback = r;
          fallbackCost = cost;
        }
      }
    }
    const r = fallback >= 0 ? fallback : this.spillOldest(true);
    this.takeXmm(r, USED_BY_TEMP);
    return r;
  }

  allocFor(type: number): number {
    return isXmmType(type) ? this.allocXmm() : this.allocGpr();
  }

  freeGpr(r: number): void {
    this.gprOwner[r] = -1;
  }

  freeXmm(r: number): void {
    this.xmmOwner[r] = -1;
  }

  freeFor(type: number, r: number): void {
    if (isXmmType(type)) this.xmmOwner[r] = -1;
    else this.gprOwner[r] = -1;
  }

  /** Take a specific GPR as a temp, moving any stack value out of it first. It must not be a temp already. */
  claimGpr(r: number): void {
    const owner = this.gprOwner[r];
    if (owner === USED_BY_TEMP) throw new Error(`internal: register ${r} already claimed`);
    if (owner >= 0) {
      // Move the value to another free register if there is one, else spill it.
      this.gprOwner[r] = USED_BY_TEMP;
      let moved = false;
      for (let k = 0; k < ALLOCATABLE_GPRS.length; k++) {
        const s = ALLOCATABLE_GPRS[k];
        if (this.gprOwner[s] === -1) {
          this.takeGpr(s, owner); // (first: a store s owes its local is made before s is overwritten)
          this.asm.movRR(true, s, r);
          this.reg[owner] = s;
          moved = true;
          break;
        }
      }
      if (!moved) {
        this.storeRegToSlot(owner, r);
        this.kind[owner] = K_STACK;
      }
    }
    this.takeGpr(r, USED_BY_TEMP);
  }

  /** Whether GPR r is free (neither a stack value nor a temp). */
  gprFree(r: number): boolean {
    return this.gprOwner[r] === -1;
  }

  private spillOldest(xmm: boolean): number {
    for (let i = 0; i < this.height; i++) {
      if (this.kind[i] === K_REG && isXmmType(this.type[i]) === xmm) {
        const r = this.reg[i];
        this.spill(i);
        return r;
      }
    }
    throw new Error('internal: out of registers with nothing to spill');
  }

  // ---------------------------------------------------------------- moving values

  private storeRegToSlot(i: number, r: number): void {
    const t = this.type[i];
    if (isXmmType(t)) {
      if (t === ValType.F32) this.asm.movssStore(r, RBP, -1, 1, this.slotDisp(i));
      else if (t === ValType.F64) this.asm.movsdStore(r, RBP, -1, 1, this.slotDisp(i));
      else this.asm.movdquStore(r, RBP, -1, 1, this.slotDisp(i));
    } else {
      this.asm.store(8, r, RBP, -1, 1, this.slotDisp(i));
    }
  }

  /** Emit code that loads entry i into register r (GPR or XMM by type), without changing the stack state. */
  loadEntry(i: number, r: number): void {
    const t = this.type[i];
    const a = this.asm;
    switch (this.kind[i]) {
      case K_CONST:
        if (t === ValType.V128) this.loadV128Const(i, r);
        else if (isFloatType(t)) {
          if (this.lo[i] === 0 && this.hi[i] === 0) a.sse(SseOp.XORPS, r, r);
          else if (t === ValType.F32) a.movssLoadLabel(r, floatConstLabel(a, this.lo[i], 0));
          else a.movsdLoadLabel(r, floatConstLabel(a, this.lo[i], this.hi[i]));
        } else if (t === ValType.I32) a.movImm32(r, this.lo[i]);
        else a.movImm64(r, this.lo[i], this.hi[i]);
        return;
      case K_REG: {
        const s = this.reg[i];
        if (s !== r) {
          if (isXmmType(t)) a.sse(SseOp.MOVAPS, r, s);
          else a.movRR(t !== ValType.I32, r, s); // (an i32 copy zero-extends: see poppedZext)
        }
        return;
      }
      case K_LOCAL: {
        const c = this.localReg[this.reg[i]];
        if (c >= 0 && c !== r) {
          // The local's current value is still in a register: copy it instead of loading it.
          if (isXmmType(t)) this.asm.sse(SseOp.MOVAPS, r, c);
          else this.asm.movRR(t !== ValType.I32, r, c);
        } else if (c !== r) this.loadFromFrame(t, r, this.localDisp[this.reg[i]]);
        return;
      }
      case K_STACK:
        this.loadFromFrame(t, r, this.slotDisp(i));
        return;
    }
  }

  /** Materialise the v128 constant of entry i in XMM register r (uses r11). */
  loadV128Const(i: number, r: number): void {
    const a = this.asm;
    const b0 = this.lo[i], b1 = this.hi[i], b2 = this.c2[i], b3 = this.c3[i];
    if ((b0 | b1 | b2 | b3) === 0) {
      a.pxor(r, r);
    } else if ((b0 & b1 & b2 & b3) === -1) {
      a.pcmpeqd(r, r);
    } else if (this.v128Pool !== null) {
      vl(a, V.MOVDQA, r, this.v128Pool(b0, b1, b2, b3));
    } else {
      a.movImm64(R11, b0, b1);
      a.movdToXmm(true, r, R11);
      if ((b2 | b3) !== 0) {
        a.movImm64(R11, b2, b3);
        pinsrq(a, r, R11, 1);
      }
    }
  }

  /** Copy register s to r (same class; type t: an i32 copy zero-extends). */
  asmCopy(t: number, r: number, s: number): void {
    if (isXmmType(t)) this.asm.sse(SseOp.MOVAPS, r, s);
    else this.asm.movRR(t !== ValType.I32, r, s);
  }

  loadFromFrame(t: number, r: number, disp: number): void {
    loadTyped(this.asm, t, r, RBP, disp);
  }

  /** Store register r (of type t) to an rbp-relative frame location. i32/f32 store 4 bytes. */
  storeToFrame(t: number, r: number, disp: number): void {
    const a = this.asm;
    switch (t) {
      case ValType.V128: a.movdquStore(r, RBP, -1, 1, disp); break;
      case ValType.I32: a.store(4, r, RBP, -1, 1, disp); break;
      case ValType.F32: a.movssStore(r, RBP, -1, 1, disp); break;
      case ValType.F64: a.movsdStore(r, RBP, -1, 1, disp); break;
      default: a.store(8, r, RBP, -1, 1, disp); break;
    }
  }

  /**
   * Write entry i's value to an arbitrary rbp/rsp-relative 8-byte location (base, disp), using only
   * scratch registers. Whole 8 bytes are written for 64-bit types; 4 for 32-bit ones; 16 for v128.
   */
  storeEntryTo(i: number, base: number, disp: number): void {
    const a = this.asm;
    const t = this.type[i];
    if (t === ValType.V128) {
      this.storeV128EntryTo(i, base, disp);
      return;
    }
    switch (this.kind[i]) {
      case K_CONST: {
        const lo = this.lo[i];
        const hi = is64BitType(t) ? this.hi[i] : 0;
        if (!is64BitType(t)) a.storeImm(4, lo, base, -1, 1, disp);
        else if ((hi === 0 && lo >= 0) || (hi === -1 && lo < 0)) a.storeImm(8, lo, base, -1, 1, disp);
        else {
          a.movImm64(R11, lo, hi);
          a.store(8, R11, base, -1, 1, disp);
        }
        return;
      }
      case K_REG: {
        const r = this.reg[i];
        if (isFloatType(t)) {
          if (t === ValType.F32) a.movssStore(r, base, -1, 1, disp);
          else a.movsdStore(r, base, -1, 1, disp);
        } else a.store(is64BitType(t) ? 8 : 4, r, base, -1, 1, disp);
        return;
      }
      case K_LOCAL:
      case K_STACK: {
        if (this.kind[i] === K_LOCAL && this.dirtyBits !== 0 && this.isDirty(this.reg[i])) {
          // The local's slot is older than its register (a deferred local.set): store from the register.
          const r = this.localReg[this.reg[i]];
          if (t === ValType.F32) a.movssStore(r, base, -1, 1, disp);
          else if (t === ValType.F64) a.movsdStore(r, base, -1, 1, disp);
          else a.store(is64BitType(t) ? 8 : 4, r, base, -1, 1, disp);
          return;
        }
        const src = this.kind[i] === K_LOCAL ? this.localDisp[this.reg[i]] : this.slotDisp(i);
        if (src === disp && base === RBP) return;
        a.load(LoadKind.I64, R11, RBP, -1, 1, src);
        a.store(8, R11, base, -1, 1, disp);
        return;
      }
    }
  }

  private storeV128EntryTo(i: number, base: number, disp: number): void {
    const a = this.asm;
    switch (this.kind[i]) {
      case K_CONST:
        this.storeHalf(this.lo[i], this.hi[i], base, disp);
        this.storeHalf(this.c2[i], this.c3[i], base, disp + 8);
        return;
      case K_REG:
        a.movdquStore(this.reg[i], base, -1, 1, disp);
        return;
      default: {
        const src = this.kind[i] === K_LOCAL ? this.localDisp[this.reg[i]] : this.slotDisp(i);
        if (src === disp && base === RBP) return;
        a.movdquLoad(XMM_SCRATCH, RBP, -1, 1, src);
        a.movdquStore(XMM_SCRATCH, base, -1, 1, disp);
      }
    }
  }

  private storeHalf(lo: number, hi: number, base: number, disp: number): void {
    const a = this.asm;
    if ((hi === 0 && lo >= 0) || (hi === -1 && lo < 0)) a.storeImm(8, lo, base, -1, 1, disp);
    else {
      a.movImm64(R11, lo, hi);
      a.store(8, R11, base, -1, 1, disp);
    }
  }

  /** Write entry i to its own slot and mark it K_STACK (constants too). */
  spill(i: number): void {
    const k = this.kind[i];
    if (k === K_STACK) return;
    this.storeEntryTo(i, RBP, this.slotDisp(i));
    if (k === K_REG) this.freeFor(this.type[i], this.reg[i]);
    else if (k === K_LOCAL) this.localRefs--;
    this.kind[i] = K_STACK;
  }

  /** Spill registers and local references (constants stay): the state required at control-flow boundaries. */
  spillAll(): void {
    for (let i = 0; i < this.height; i++) {
      const k = this.kind[i];
      if (k === K_REG || k === K_LOCAL) this.spill(i);
    }
  }

  /** Spill registers only (before a call: local references stay valid across calls). */
  spillRegs(): void {
    for (let i = 0; i < this.height; i++) {
      if (this.kind[i] === K_REG) this.spill(i);
    }
  }

  /** Before local `idx` is written: copy out every pending reference to it. */
  materializeLocal(idx: number): void {
    if (this.localRefs === 0) return;
    for (let i = 0; i < this.height; i++) {
      if (this.kind[i] === K_LOCAL && this.reg[i] === idx) {
        const t = this.type[i];
        const r = this.tryAllocFree(t);
        if (r >= 0) {
          const c = this.localReg[idx];
          if (c >= 0 && this.isDirty(idx)) this.asmCopy(t, r, c); // (its slot is older: a deferred local.set)
          else this.loadFromFrame(t, r, this.localDisp[idx]);
          this.kind[i] = K_REG;
          this.reg[i] = r;
          if (isXmmType(t)) this.takeXmm(r, i);
          else this.takeGpr(r, i);
          this.localRefs--;
        } else {
          this.spill(i);
        }
      }
    }
  }

  private tryAllocFree(t: number): number {
    if (isXmmType(t)) {
      for (let k = 0; k < ALLOCATABLE_XMMS.length; k++) {
        const r = ALLOCATABLE_XMMS[k];
        if (this.xmmOwner[r] === -1 && this.xmmLocal[r] < 0) return r;
      }
    } else {
      for (let k = 0; k < ALLOCATABLE_GPRS.length; k++) {
        const r = ALLOCATABLE_GPRS[k];
        if (this.gprOwner[r] === -1 && this.gprLocal[r] < 0) return r;
      }
    }
    return -1;
  }

  // ---------------------------------------------------------------- popping

  topKind(): number {
    return this.kind[this.height - 1];
  }

  /** Drop the top entry, releasing its register. */
  drop(): void {
    const i = --this.height;
    const k = this.kind[i];
    if (k === K_REG) this.freeFor(this.type[i], this.reg[i]);
    else if (k === K_LOCAL) this.localRefs--;
  }

  /**
   * Set by popToReg: whether the code it emitted left an i32 value zero-extended by construction (a 32-bit copy,
   * load or constant), so that a bounds check need not zero-extend it again.
   */
  poppedZext = false;

  /** Pop the top value into a register the caller owns (and may clobber); release with freeGpr/freeXmm. */
  popToReg(): number {
    const i = this.height - 1;
    const t = this.type[i];
    this.poppedZext = this.kind[i] !== K_REG;
    if (this.kind[i] === K_REG) {
      const r = this.reg[i];
      const xmm = isXmmType(t);
      if ((xmm ? this.xmmLocal : this.gprLocal)[r] >= 0) {
        // r also caches a local: hand out a copy when a register is free, so the local stays cached.
        const s = this.tryAllocFree(t);
        if (s >= 0) {
          if (xmm) {
            this.asm.sse(SseOp.MOVAPS, s, r);
            this.xmmOwner[r] = -1;
            this.xmmOwner[s] = USED_BY_TEMP;
          } else {
            this.asm.movRR(t !== ValType.I32, s, r); // (an i32 copy zero-extends)
            this.poppedZext = t === ValType.I32;
            this.gprOwner[r] = -1;
            this.gprOwner[s] = USED_BY_TEMP;
          }
          this.height = i;
          return s;
        }
      }
      // The caller may clobber a temp: it stops caching any local.
      if (xmm) this.takeXmm(r, USED_BY_TEMP);
      else this.takeGpr(r, USED_BY_TEMP);
      this.height = i;
      return r;
    }
    this.height = i; // pop first so the allocator cannot pick this entry to spill
    if (this.kind[i] === K_LOCAL) this.localRefs--;
    const r = this.allocFor(t);
    this.height = i + 1;
    this.loadEntry(i, r);
    this.height = i;
    return r;
  }

  /**
   * For an operator that can write its result to another register than its operand's (lea, 3-operand imul): when
   * popToReg would copy the top integer value out of a register that caches a local (to keep the local cached),
   * pop it instead as popToRegRead does, returning that register (read only; release it with freeGpr), with
   * `copyDst` a free register for the result, so the operator does the copy. Else -1, and nothing is popped.
   */
  popCachedSource(): number {
    const i = this.height - 1;
    const k = this.kind[i];
    if (isXmmType(this.type[i])) return -1;
    let c = -1;
    if (k === K_REG) {
      c = this.reg[i];
      if (this.gprLocal[c] < 0) return -1;
    } else if (k === K_LOCAL) {
      c = this.localReg[this.reg[i]];
      if (c < 0 || this.gprOwner[c] !== -1) return -1;
    } else return -1;
    const s = this.tryAllocFree(ValType.I64);
    if (s < 0) return -1;
    if (k === K_LOCAL) this.localRefs--;
    this.gprOwner[c] = USED_BY_TEMP;
    this.gprOwner[s] = USED_BY_TEMP;
    this.copyDst = s;
    this.height = i;
    return c;
  }

  /** Set by popCachedSource: the register for the result. */
  copyDst = -1;

  /**
   * Pop the top value into a register the caller only reads (an operand it never writes); release it with
   * freeGpr/freeXmm. A register holding a cached local is handed out as it is (no copy: the cache stays valid).
   */
  popToRegRead(): number {
    const i = this.height - 1;
    const k = this.kind[i];
    if (k === K_REG) {
      const r = this.reg[i];
      (isXmmType(this.type[i]) ? this.xmmOwner : this.gprOwner)[r] = USED_BY_TEMP;
      this.height = i;
      return r;
    }
    if (k === K_LOCAL) {
      const x = this.reg[i];
      const c = this.localReg[x];
      const owners = isXmmType(this.type[i]) ? this.xmmOwner : this.gprOwner;
      if (c >= 0 && owners[c] === -1) {
        owners[c] = USED_BY_TEMP;
        this.localRefs--;
        this.height = i;
        return c;
      }
      if (c < 0) {
        // Loaded from its slot into a register the caller only reads: it caches the local from now on, so the
        // next local.get of it (the then-arm after a compare, the value stored at an address just used) is free.
        const r = this.popToReg();
        this.cacheLocal(x, r);
        return r;
      }
    }
    return this.popToReg();
  }

  /** Pop the top value into the specific GPR r (claimed as a temp). */
  popToGpr(r: number): number {
    const i = this.height - 1;
    if (this.kind[i] === K_REG && this.reg[i] === r) {
      this.takeGpr(r, USED_BY_TEMP);
      this.height = i;
      return r;
    }
    if (this.gprOwner[r] !== -1) this.claimGpr(r);
    else this.takeGpr(r, USED_BY_TEMP);
    this.loadEntry(i, r);
    this.drop();
    return r;
  }

  /** True when the top entry is a constant whose value fits a sign-extended imm32 for its type. */
  topIsImm32(): boolean {
    const i = this.height - 1;
    if (this.kind[i] !== K_CONST) return false;
    const t = this.type[i];
    if (t === ValType.I32) return true;
    if (t === ValType.I64) return (this.hi[i] === 0 && this.lo[i] >= 0) || (this.hi[i] === -1 && this.lo[i] < 0);
    return false;
  }

  topLo(): number {
    return this.lo[this.height - 1];
  }

  topHi(): number {
    return this.hi[this.height - 1];
  }
}

/** Load a value of type t from [base + disp] into register r (GPR or XMM by type). */
export function loadTyped(a: Assembler, t: number, r: number, base: number, disp: number): void {
  switch (t) {
    case ValType.V128: a.movdquLoad(r, base, -1, 1, disp); break;
    case ValType.I32: a.load(LoadKind.U32, r, base, -1, 1, disp); break;
    case ValType.F32: a.movssLoad(r, base, -1, 1, disp); break;
    case ValType.F64: a.movsdLoad(r, base, -1, 1, disp); break;
    default: a.load(LoadKind.I64, r, base, -1, 1, disp); break;
  }
}
