// The virtual value stack of the single-pass compiler, and the register allocator that serves it.
//
// Every wasm operand-stack position i has a fixed 8-byte spill slot in the frame (as in Liftoff), so a
// value is always somewhere definite: a constant (not materialised yet), a register, a reference to a
// local (not copied yet), or its own stack slot. Values stay in registers across operators and are
// written to their slots only under register pressure, before calls, and at control-flow boundaries.
// The arrays are preallocated and reused: pushing and popping never allocates.

import { Assembler } from '../x64/assembler.js';
import { LoadKind, RBP, R11, SseOp } from '../x64/registers.js';
import { ValType } from '../decode/types.js';

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

/** Whether values of type t occupy 8 bytes (else 4) in memory slots. */
export function is64BitType(t: number): boolean {
  return t !== ValType.I32 && t !== ValType.F32;
}

const USED_BY_TEMP = 0x7fff;

export class ValueStack {
  height = 0;
  maxHeight = 0;
  kind: Uint8Array;
  type: Uint8Array;
  /** Register number (K_REG), local index (K_LOCAL). */
  reg: Int32Array;
  /** Constant value: low and high 32 bits (i32/f32 use lo only; f32/f64 hold raw bits). */
  lo: Int32Array;
  hi: Int32Array;
  /** For each register: -1 free, USED_BY_TEMP held by an operator, else the stack position owning it. */
  gprOwner = new Int32Array(16).fill(-1);
  xmmOwner = new Int32Array(16).fill(-1);
  /** Number of K_LOCAL entries (lets local.set skip the scan when zero). */
  localRefs = 0;

  /** rbp-relative displacement of slot 0; slot i is at slotBase - 8 i. */
  slotBase = 0;
  /** rbp-relative displacement of each local. */
  localDisp: Int32Array = new Int32Array(0);
  localType: Uint8Array = new Uint8Array(0);

  constructor(private readonly asm: Assembler, capacity = 1024) {
    this.kind = new Uint8Array(capacity);
    this.type = new Uint8Array(capacity);
    this.reg = new Int32Array(capacity);
    this.lo = new Int32Array(capacity);
    this.hi = new Int32Array(capacity);
  }

  /** Start a new function whose locals have the given types (params first); `numParams` of them are params. */
  reset(localTypes: Uint8Array, numLocals: number, numParams: number): void {
    this.height = 0;
    this.maxHeight = 0;
    this.localRefs = 0;
    this.gprOwner.fill(-1);
    this.xmmOwner.fill(-1);
    if (this.localDisp.length < numLocals) this.localDisp = new Int32Array(Math.max(numLocals, this.localDisp.length * 2));
    this.localType = localTypes;
    for (let i = 0; i < numLocals; i++) {
      this.localDisp[i] = i < numParams ? 16 + 8 * i : -16 - 8 * (i - numParams);
    }
    // [rbp-8] vmctx, then declared locals, then the value-stack slots.
    this.slotBase = -16 - 8 * (numLocals - numParams);
  }

  slotDisp(i: number): number {
    return this.slotBase - 8 * i;
  }

  private grow(): void {
    const n = this.kind.length * 2;
    const k = new Uint8Array(n); k.set(this.kind); this.kind = k;
    const t = new Uint8Array(n); t.set(this.type); this.type = t;
    const r = new Int32Array(n); r.set(this.reg); this.reg = r;
    const l = new Int32Array(n); l.set(this.lo); this.lo = l;
    const h = new Int32Array(n); h.set(this.hi); this.hi = h;
  }

  private pushEntry(kind: number, type: number): number {
    const i = this.height;
    if (i >= this.kind.length) this.grow();
    this.kind[i] = kind;
    this.type[i] = type;
    this.height = i + 1;
    if (this.height > this.maxHeight) this.maxHeight = this.height;
    return i;
  }

  pushConst(type: number, lo: number, hi: number): void {
    const i = this.pushEntry(K_CONST, type);
    this.lo[i] = lo;
    this.hi[i] = hi;
  }

  /** Push a value held in register r (the register becomes owned by the new entry). */
  pushReg(type: number, r: number): void {
    const i = this.pushEntry(K_REG, type);
    this.reg[i] = r;
    if (isFloatType(type)) this.xmmOwner[r] = i;
    else this.gprOwner[r] = i;
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
  }

  // ---------------------------------------------------------------- registers

  allocGpr(): number {
    for (let k = 0; k < ALLOCATABLE_GPRS.length; k++) {
      const r = ALLOCATABLE_GPRS[k];
      if (this.gprOwner[r] === -1) {
        this.gprOwner[r] = USED_BY_TEMP;
        return r;
      }
    }
    const r = this.spillOldest(false);
    this.gprOwner[r] = USED_BY_TEMP;
    return r;
  }

  allocXmm(): number {
    for (let k = 0; k < ALLOCATABLE_XMMS.length; k++) {
      const r = ALLOCATABLE_XMMS[k];
      if (this.xmmOwner[r] === -1) {
        this.xmmOwner[r] = USED_BY_TEMP;
        return r;
      }
    }
    const r = this.spillOldest(true);
    this.xmmOwner[r] = USED_BY_TEMP;
    return r;
  }

  allocFor(type: number): number {
    return isFloatType(type) ? this.allocXmm() : this.allocGpr();
  }

  freeGpr(r: number): void {
    this.gprOwner[r] = -1;
  }

  freeXmm(r: number): void {
    this.xmmOwner[r] = -1;
  }

  freeFor(type: number, r: number): void {
    if (isFloatType(type)) this.xmmOwner[r] = -1;
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
          this.asm.movRR(true, s, r);
          this.gprOwner[s] = owner;
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
    this.gprOwner[r] = USED_BY_TEMP;
  }

  /** Whether GPR r is free (neither a stack value nor a temp). */
  gprFree(r: number): boolean {
    return this.gprOwner[r] === -1;
  }

  private spillOldest(xmm: boolean): number {
    for (let i = 0; i < this.height; i++) {
      if (this.kind[i] === K_REG && isFloatType(this.type[i]) === xmm) {
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
    if (isFloatType(t)) {
      if (t === ValType.F32) this.asm.movssStore(r, RBP, -1, 1, this.slotDisp(i));
      else this.asm.movsdStore(r, RBP, -1, 1, this.slotDisp(i));
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
        if (isFloatType(t)) {
          if (this.lo[i] === 0 && this.hi[i] === 0) a.sse(SseOp.XORPS, r, r);
          else {
            a.movImm64(R11, this.lo[i], t === ValType.F32 ? 0 : this.hi[i]);
            a.movdToXmm(t !== ValType.F32, r, R11);
          }
        } else if (t === ValType.I32) a.movImm32(r, this.lo[i]);
        else a.movImm64(r, this.lo[i], this.hi[i]);
        return;
      case K_REG: {
        const s = this.reg[i];
        if (s !== r) {
          if (isFloatType(t)) a.sse(SseOp.MOVAPS, r, s);
          else a.movRR(true, r, s);
        }
        return;
      }
      case K_LOCAL:
        this.loadFromFrame(t, r, this.localDisp[this.reg[i]]);
        return;
      case K_STACK:
        this.loadFromFrame(t, r, this.slotDisp(i));
        return;
    }
  }

  loadFromFrame(t: number, r: number, disp: number): void {
    const a = this.asm;
    switch (t) {
      case ValType.I32: a.load(LoadKind.U32, r, RBP, -1, 1, disp); break;
      case ValType.F32: a.movssLoad(r, RBP, -1, 1, disp); break;
      case ValType.F64: a.movsdLoad(r, RBP, -1, 1, disp); break;
      default: a.load(LoadKind.I64, r, RBP, -1, 1, disp); break;
    }
  }

  /** Store register r (of type t) to an rbp-relative frame location. i32/f32 store 4 bytes. */
  storeToFrame(t: number, r: number, disp: number): void {
    const a = this.asm;
    switch (t) {
      case ValType.I32: a.store(4, r, RBP, -1, 1, disp); break;
      case ValType.F32: a.movssStore(r, RBP, -1, 1, disp); break;
      case ValType.F64: a.movsdStore(r, RBP, -1, 1, disp); break;
      default: a.store(8, r, RBP, -1, 1, disp); break;
    }
  }

  /**
   * Write entry i's value to an arbitrary rbp/rsp-relative 8-byte location (base, disp), using only
   * scratch registers. Whole 8 bytes are written for 64-bit types; 4 for 32-bit ones.
   */
  storeEntryTo(i: number, base: number, disp: number): void {
    const a = this.asm;
    const t = this.type[i];
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
        const src = this.kind[i] === K_LOCAL ? this.localDisp[this.reg[i]] : this.slotDisp(i);
        if (src === disp && base === RBP) return;
        a.load(LoadKind.I64, R11, RBP, -1, 1, src);
        a.store(8, R11, base, -1, 1, disp);
        return;
      }
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
          this.loadFromFrame(t, r, this.localDisp[idx]);
          this.kind[i] = K_REG;
          this.reg[i] = r;
          if (isFloatType(t)) this.xmmOwner[r] = i;
          else this.gprOwner[r] = i;
          this.localRefs--;
        } else {
          this.spill(i);
        }
      }
    }
  }

  private tryAllocFree(t: number): number {
    if (isFloatType(t)) {
      for (let k = 0; k < ALLOCATABLE_XMMS.length; k++) if (this.xmmOwner[ALLOCATABLE_XMMS[k]] === -1) return ALLOCATABLE_XMMS[k];
    } else {
      for (let k = 0; k < ALLOCATABLE_GPRS.length; k++) if (this.gprOwner[ALLOCATABLE_GPRS[k]] === -1) return ALLOCATABLE_GPRS[k];
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

  /** Pop the top value into a register the caller owns (and may clobber); release with freeGpr/freeXmm. */
  popToReg(): number {
    const i = this.height - 1;
    const t = this.type[i];
    if (this.kind[i] === K_REG) {
      const r = this.reg[i];
      if (isFloatType(t)) this.xmmOwner[r] = USED_BY_TEMP;
      else this.gprOwner[r] = USED_BY_TEMP;
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

  /** Pop the top value into the specific GPR r (claimed as a temp). */
  popToGpr(r: number): number {
    const i = this.height - 1;
    if (this.kind[i] === K_REG && this.reg[i] === r) {
      this.gprOwner[r] = USED_BY_TEMP;
      this.height = i;
      return r;
    }
    if (this.gprOwner[r] !== -1) this.claimGpr(r);
    else this.gprOwner[r] = USED_BY_TEMP;
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

