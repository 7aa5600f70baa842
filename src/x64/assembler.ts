// The x86-64 encoder. Writes machine code into a growable byte buffer.
//
// Hot path of the compiler: no allocation per emitted instruction. Every emitter reserves room for one
// maximal instruction (`need`), then writes bytes directly.
//
// Operand conventions:
//   - registers are numbers 0..15 (see registers.ts); XMM registers likewise.
//   - memory operands are `(base, index, scale, disp)`: base is a GPR, index is a GPR or -1 for none
//     (rsp cannot be an index), scale is 1/2/4/8, disp is an int32.
//   - `is64` selects the 64-bit operand size (REX.W); otherwise 32-bit (which zero-extends the result).
//
// Encoding rules implemented here: REX.W/R/X/B; base rsp/r12 needs a SIB byte; base rbp/r13 has no
// mod=00 form, so disp 0 is encoded as disp8 0; disp8 when the displacement fits in int8, else disp32;
// byte registers 4-7 (spl/bpl/sil/dil) need a REX prefix (possibly empty); mandatory prefixes
// (66/F2/F3) come before REX.

import { AluOp, BitOp, Cond, LoadKind, ShiftOp, SseOp, UnaryOp } from './registers.js';

// Fixup kinds.
const FX_REL32 = 0;        // 4-byte pc-relative displacement ending at at+4
const FX_REL8 = 1;         // 1-byte pc-relative displacement ending at at+1
const FX_DELTA_TARGET = 2; // emitLabelDelta32 waiting for its target label (other = base label)
const FX_DELTA_BASE = 3;   // emitLabelDelta32 waiting for its base label (other = target label)

// SSE op tables, indexed by SseOp: mandatory prefix (0 = none) and the opcode byte after 0F.
const SSE_PREFIX = new Uint8Array([
  0xf3, 0xf2, 0xf3, 0xf2, 0xf3, 0xf2, 0xf3, 0xf2, // ADD SUB MUL DIV
  0xf3, 0xf2, 0xf3, 0xf2, 0xf3, 0xf2, 0x00, 0x66, // MIN MAX SQRT UCOMI
  0x00, 0x66, 0x00, 0x66, 0x00, 0x66, 0x00, 0x66, // AND ANDN OR XOR
  0x00, 0xf3, 0xf2,                               // MOVAPS CVTSS2SD CVTSD2SS
]);
const SSE_OPCODE = new Uint8Array([
  0x58, 0x58, 0x5c, 0x5c, 0x59, 0x59, 0x5e, 0x5e,
  0x5d, 0x5d, 0x5f, 0x5f, 0x51, 0x51, 0x2e, 0x2e,
  0x54, 0x54, 0x55, 0x55, 0x56, 0x56, 0x57, 0x57,
  0x28, 0x5a, 0x5a,
]);

// LoadKind tables: REX.W, opcode (encoded as in `op`, see below).
const LOAD_W = new Uint8Array([0, 0, 1, 0, 0, 1, 0, 1, 1]);
const LOAD_OP = new Int32Array([0x0fb6, 0x0fbe, 0x0fbe, 0x0fb7, 0x0fbf, 0x0fbf, 0x8b, 0x63, 0x8b]);

// BitOp tables.
const BITOP_PREFIX = new Uint8Array([0xf3, 0xf3, 0xf3, 0x00, 0x00]);
const BITOP_OPCODE = new Int32Array([0x0fbd, 0x0fbc, 0x0fb8, 0x0fbd, 0x0fbc]);

function fitsInt8(v: number): boolean {
  return v >= -128 && v <= 127;
}

function scaleBits(scale: number): number {
  switch (scale) {
    case 1: return 0;
    case 2: return 1;
    case 4: return 2;
    case 8: return 3;
  }
  throw new Error(`x64: invalid index scale ${scale}`);
}

/** Write opcode `o` (1, 2 or 3 bytes packed big-endian) at b[p]; returns the position after it. */
function putOp(b: Uint8Array, p: number, o: number): number {
  if (o > 0xffff) {
    b[p] = o >> 16;
    b[p + 1] = o >> 8;
    b[p + 2] = o;
    return p + 3;
  }
  if (o > 0xff) {
    b[p] = o >> 8;
    b[p + 1] = o;
    return p + 2;
  }
  b[p] = o;
  return p + 1;
}

/** Write ModRM [SIB] [disp] for a memory operand at b[p]; returns the position after it. */
function putModrmMem(b: Uint8Array, dv: DataView, p: number, reg: number, base: number, index: number, scale: number, disp: number): number {
  if ((disp | 0) !== disp) throw new Error(`x64: displacement ${disp} is not an int32`);
  const r = (reg & 7) << 3;
  const lo = base & 7;
  let mod: number;
  if (disp === 0 && lo !== 5) mod = 0x00;
  else if (disp >= -128 && disp <= 127) mod = 0x40;
  else mod = 0x80;
  if (index >= 0) {
    if (index === 4) throw new Error('x64: rsp cannot be an index register');
    b[p++] = mod | r | 4;
    b[p++] = (scaleBits(scale) << 6) | ((index & 7) << 3) | lo;
  } else if (lo === 4) {
    b[p++] = mod | r | 4;
    b[p++] = 0x24; // scale 1, no index, base rsp/r12
  } else {
    b[p++] = mod | r | lo;
  }
  if (mod === 0x40) b[p++] = disp;
  else if (mod === 0x80) {
    dv.setInt32(p, disp, true);
    p += 4;
  }
  return p;
}

export class Assembler {
  private buf: Uint8Array;
  /**
   * A view of buf for the 32-bit fields: one bounds-checked store instead of four byte stores (displacements,
   * immediates and rel32s are written ~500,000 times in a sqlite.wasm32 compile).
   */
  private dv: DataView;
  /** buf.length, kept in a field (a typed array's length is a getter call before V8 optimises). */
  private cap: number;
  private pos = 0;

  // Labels: position (-1 = unbound) and the head of the label's pending-fixup list (-1 = none).
  private labelPos: Int32Array;
  private labelHead: Int32Array;
  private labelCount = 0;
  /** labelPos.length (and labelHead's); fxCap: the fixup arrays' length. Fields, not typed-array length getters. */
  private labelCap = 64;

  // Fixups: parallel arrays, linked per label through fxNext.
  private fxAt: Int32Array;
  private fxKind: Int32Array;
  private fxOther: Int32Array;
  private fxNext: Int32Array;
  private fxCount = 0;
  private fxCap = 64;
  private pending = 0;

  constructor(initialCapacity = 4096) {
    // (buf and dv are stored twice: V8 treats a field that has only ever held one value as constant, and the first
    // growth would throw away the optimised code that relied on it)
    this.buf = new Uint8Array(Math.max(64, initialCapacity | 0));
    this.buf = new Uint8Array(Math.max(64, initialCapacity | 0));
    this.dv = new DataView(this.buf.buffer);
    this.dv = new DataView(this.buf.buffer);
    this.cap = this.buf.length;
    this.labelPos = new Int32Array(64);
    this.labelHead = new Int32Array(64);
    this.fxAt = new Int32Array(64);
    this.fxKind = new Int32Array(64);
    this.fxOther = new Int32Array(64);
    this.fxNext = new Int32Array(64);
  }

  // ---------------------------------------------------------------------------------------------
  // Buffer

  /** Current position (number of bytes emitted). */
  get offset(): number {
    return this.pos;
  }

  /** A copy of the emitted code. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }

  /** A view (no copy) of the emitted code; invalidated by further emission. */
  view(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Forget all code, labels and fixups (keeps the buffers). */
  reset(): void {
    this.pos = 0;
    this.labelCount = 0;
    this.fxCount = 0;
    this.pending = 0;
  }

  private need(n: number): void {
    if (this.pos + n > this.cap) this.grow(n);
  }

  private grow(n: number): void {
    let size = this.cap * 2;
    while (size < this.pos + n) size *= 2;
    const nb = new Uint8Array(size);
    nb.set(this.buf.subarray(0, this.pos));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
    this.cap = size;
  }

  byte(b: number): void {
    this.need(1);
    this.buf[this.pos++] = b;
  }

  int32(v: number): void {
    this.need(4);
    this.put32(v);
  }

  /** Overwrite 4 bytes at `at` (little-endian). */
  patchInt32(at: number, v: number): void {
    if (at < 0 || at + 4 > this.pos) throw new Error(`x64: patchInt32 out of range (${at})`);
    this.dv.setInt32(at, v, true);
  }

  /** Read 4 emitted bytes at `at` as a signed int32. */
  readInt32(at: number): number {
    if (at < 0 || at + 4 > this.pos) throw new Error(`x64: readInt32 out of range (${at})`);
    return this.dv.getInt32(at, true);
  }

  /** Pad with `fill` bytes up to a multiple of `n` (a power of two). */
  align(n: number, fill = 0xcc): void {
    if (n <= 0 || (n & (n - 1)) !== 0) throw new Error(`x64: align(${n}) is not a power of two`);
    const pad = (n - (this.pos & (n - 1))) & (n - 1);
    this.need(pad);
    const b = this.buf;
    for (let i = 0; i < pad; i++) b[this.pos++] = fill;
  }

  // Unchecked writers (callers have called `need`).
  private put32(v: number): void {
    const p = this.pos;
    this.dv.setInt32(p, v, true);
    this.pos = p + 4;
  }

  private put16(v: number): void {
    const b = this.buf;
    b[this.pos++] = v;
    b[this.pos++] = v >> 8;
  }

  // Opcode: 1, 2 or 3 bytes packed big-endian in a number (0x0F escapes make multi-byte ones > 0xff).
  private op(o: number): void {
    this.pos = putOp(this.buf, this.pos, o);
  }

  // ---------------------------------------------------------------------------------------------
  // Core encoders

  // The core encoders keep the write position in a local and store it once: before V8 optimises them, every
  // property read or write is an inline-cache call, and these run for every instruction emitted.

  /**
   * [pfx] [REX] op ModRM(reg, rm) for a register-direct operand. `w` is 0/1; `force` emits an empty REX
   * (for byte registers spl/bpl/sil/dil).
   */
  private rr(pfx: number, w: number, o: number, reg: number, rm: number, force: boolean): void {
    let p = this.pos;
    if (p + 16 > this.cap) this.grow(16);
    const b = this.buf;
    if (pfx !== 0) b[p++] = pfx;
    const rex = 0x40 | (w << 3) | ((reg & 8) >> 1) | ((rm & 8) >> 3);
    if (rex !== 0x40 || force) b[p++] = rex;
    p = putOp(b, p, o);
    b[p] = 0xc0 | ((reg & 7) << 3) | (rm & 7);
    this.pos = p + 1;
  }

  /** [pfx] [REX] op ModRM [SIB] [disp] for a memory operand. Room for a trailing imm32 is reserved. */
  private rm(pfx: number, w: number, o: number, reg: number,
             base: number, index: number, scale: number, disp: number, force: boolean): void {
    let p = this.pos;
    if (p + 16 > this.cap) this.grow(16);
    const b = this.buf;
    if (pfx !== 0) b[p++] = pfx;
    let rex = 0x40 | (w << 3) | ((reg & 8) >> 1) | ((base & 8) >> 3);
    if (index >= 0) rex |= (index & 8) >> 2;
    if (rex !== 0x40 || force) b[p++] = rex;
    p = putOp(b, p, o);
    this.pos = putModrmMem(b, this.dv, p, reg, base, index, scale, disp);
  }

  /** [pfx] [REX] op ModRM(reg, [rip + rel32 to label]). The rel32 must be the last field. */
  private ripLabel(pfx: number, w: number, o: number, reg: number, label: number): void {
    this.checkLabel(label);
    this.need(16);
    const b = this.buf;
    if (pfx !== 0) b[this.pos++] = pfx;
    const rex = 0x40 | (w << 3) | ((reg & 8) >> 1);
    if (rex !== 0x40) b[this.pos++] = rex;
    this.op(o);
    b[this.pos++] = ((reg & 7) << 3) | 5;
    this.rel32To(label);
  }

  // ---------------------------------------------------------------------------------------------
  // Labels

  newLabel(): number {
    const l = this.labelCount;
    if (l === this.labelCap) {
      const n = l * 2;
      const p = new Int32Array(n); p.set(this.labelPos); this.labelPos = p;
      const h = new Int32Array(n); h.set(this.labelHead); this.labelHead = h;
      this.labelCap = n;
    }
    this.labelPos[l] = -1;
    this.labelHead[l] = -1;
    this.labelCount = l + 1;
    return l;
  }

  /**
   * Append `bytes` and one new label per entry of `at`, bound at that offset into them (code emitted earlier
   * and replayed: e.g. the trap stubs every buffer starts with). Returns the first new label's number.
   */
  replay(bytes: Uint8Array, at: Int32Array): number {
    this.need(bytes.length);
    const start = this.pos;
    this.buf.set(bytes, start);
    this.pos = start + bytes.length;
    const first = this.labelCount;
    for (let k = 0; k < at.length; k++) this.labelPos[this.newLabel()] = start + at[k];
    return first;
  }

  private checkLabel(label: number): void {
    if (!(label >= 0 && label < this.labelCount)) throw new Error(`x64: unknown label ${label}`);
  }

  isBound(label: number): boolean {
    this.checkLabel(label);
    return this.labelPos[label] >= 0;
  }

  /** Whether some jump or reference waits for the (unbound) label. */
  hasPendingRefs(label: number): boolean {
    this.checkLabel(label);
    return this.labelHead[label] >= 0;
  }

  /** The offset a label is bound to, or -1 when unbound. */
  labelOffset(label: number): number {
    this.checkLabel(label);
    return this.labelPos[label];
  }

  private addFixup(label: number, at: number, kind: number, other: number): void {
    const i = this.fxCount;
    if (i === this.fxCap) {
      const n = i * 2;
      const a = new Int32Array(n); a.set(this.fxAt); this.fxAt = a;
      const k = new Int32Array(n); k.set(this.fxKind); this.fxKind = k;
      const o = new Int32Array(n); o.set(this.fxOther); this.fxOther = o;
      const x = new Int32Array(n); x.set(this.fxNext); this.fxNext = x;
      this.fxCap = n;
    }
    this.fxAt[i] = at;
    this.fxKind[i] = kind;
    this.fxOther[i] = other;
    const heads = this.labelHead;
    this.fxNext[i] = heads[label];
    heads[label] = i;
    this.fxCount = i + 1;
    this.pending++;
  }

  /** Bind `label` to the current offset and resolve the fixups waiting for it. */
  bind(label: number): void {
    this.checkLabel(label);
    if (this.labelPos[label] >= 0) throw new Error(`x64: label ${label} bound twice`);
    const target = this.pos;
    this.labelPos[label] = target;
    let i = this.labelHead[label];
    this.labelHead[label] = -1;
    while (i >= 0) {
      const next = this.fxNext[i];
      const at = this.fxAt[i];
      this.pending--;
      switch (this.fxKind[i]) {
        case FX_REL32:
          this.patchInt32(at, target - (at + 4));
          break;
        case FX_REL8: {
          const d = target - (at + 1);
          if (!fitsInt8(d)) {
            throw new Error(`x64: short jump at offset ${at - 1} to label ${label} (offset ${target}) ` +
              `out of rel8 range (distance ${d})`);
          }
          this.buf[at] = d;
          break;
        }
        case FX_DELTA_TARGET: {
          const baseLabel = this.fxOther[i];
          const bp = this.labelPos[baseLabel];
          if (bp >= 0) this.patchInt32(at, target - bp);
          else this.addFixup(baseLabel, at, FX_DELTA_BASE, label);
          break;
        }
        case FX_DELTA_BASE: {
          const tp = this.labelPos[this.fxOther[i]];
          if (tp >= 0) this.patchInt32(at, tp - target);
          else this.addFixup(this.fxOther[i], at, FX_DELTA_TARGET, label);
          break;
        }
      }
      i = next;
    }
  }

  /** Emit a rel32 to `label` at the current position (the displacement ends the instruction). */
  private rel32To(label: number): void {
    const t = this.labelPos[label];
    const at = this.pos;
    const v = t >= 0 ? t - (at + 4) : 0;
    this.dv.setInt32(at, v, true);
    this.pos = at + 4;
    if (t < 0) this.addFixup(label, at, FX_REL32, -1);
  }

  /** Throws unless every label referenced so far has been bound. */
  finish(): void {
    if (this.pending === 0) return;
    const missing: number[] = [];
    for (let l = 0; l < this.labelCount && missing.length < 10; l++) {
      if (this.labelHead[l] >= 0) missing.push(l);
    }
    throw new Error(`x64: ${this.pending} unresolved label fixup(s); unbound labels: ${missing.join(', ')}`);
  }

  /** jmp to label: rel8 for a near-enough bound (backward) label, else rel32. */
  jmp(label: number): void {
    if (!(label >= 0 && label < this.labelCount)) this.checkLabel(label);
    let p = this.pos;
    if (p + 8 > this.cap) this.grow(8);
    const b = this.buf;
    const t = this.labelPos[label];
    if (t >= 0 && t - (p + 2) >= -128) {
      b[p] = 0xeb;
      b[p + 1] = t - (p + 2);
      this.pos = p + 2;
      return;
    }
    b[p] = 0xe9;
    this.pos = p + 1;
    this.rel32To(label);
  }

  /** jcc to label: rel8 for a near-enough bound (backward) label, else rel32. */
  jcc(cond: Cond, label: number): void {
    if (!(label >= 0 && label < this.labelCount)) this.checkLabel(label);
    let p = this.pos;
    if (p + 8 > this.cap) this.grow(8);
    const b = this.buf;
    const t = this.labelPos[label];
    if (t >= 0 && t - (p + 2) >= -128) {
      b[p] = 0x70 | (cond & 15);
      b[p + 1] = t - (p + 2);
      this.pos = p + 2;
      return;
    }
    b[p] = 0x0f;
    b[p + 1] = 0x80 | (cond & 15);
    this.pos = p + 2;
    this.rel32To(label);
  }

  // opcode rel8. A bound label out of range throws before anything is emitted.
  private shortJump(opcode: number, label: number): void {
    this.checkLabel(label);
    this.need(8);
    const t = this.labelPos[label];
    const at = this.pos + 1;
    if (t >= 0) {
      const d = t - (at + 1);
      if (!fitsInt8(d)) {
        throw new Error(`x64: short jump at offset ${at - 1} to label ${label} (offset ${t}) ` +
          `out of rel8 range (distance ${d})`);
      }
      this.buf[this.pos++] = opcode;
      this.buf[this.pos++] = d;
    } else {
      this.buf[this.pos++] = opcode;
      this.buf[this.pos++] = 0;
      this.addFixup(label, at, FX_REL8, -1);
    }
  }

  /** jmp rel8 to label; throws (now or at bind) if the distance does not fit. */
  jmpShort(label: number): void {
    this.shortJump(0xeb, label);
  }

  /** jcc rel8 to label; throws (now or at bind) if the distance does not fit. */
  jccShort(cond: Cond, label: number): void {
    this.shortJump(0x70 | (cond & 15), label);
  }

  /** call rel32 to label. */
  call(label: number): void {
    this.checkLabel(label);
    this.need(8);
    this.buf[this.pos++] = 0xe8;
    this.rel32To(label);
  }

  /**
   * call rel32 to code outside this buffer: emits a zero displacement for the linker to patch, and returns
   * the displacement's offset.
   */
  callExternal(): number {
    this.need(8);
    this.buf[this.pos++] = 0xe8;
    const at = this.pos;
    this.put32(0);
    return at;
  }

  /** jmp rel32 to an absolute offset within this buffer (0 <= target <= offset, or forward). */
  jmpToOffset(target: number): void {
    this.need(8);
    this.buf[this.pos++] = 0xe9;
    this.put32(target - (this.pos + 4));
  }

  /**
   * jcc rel32 whose target the caller fills in later with patchRel32 (no label: for out-of-line paths the caller
   * tracks itself). Returns the offset of the displacement.
   */
  jccPatchable(cond: Cond): number {
    this.need(8);
    const b = this.buf;
    b[this.pos++] = 0x0f;
    b[this.pos++] = 0x80 | (cond & 15);
    const at = this.pos;
    this.put32(0);
    return at;
  }

  /** Point the rel32 displacement at `at` (from jccPatchable) to the current offset. */
  patchRel32Here(at: number): void {
    this.patchInt32(at, this.pos - (at + 4));
  }

  /**
   * An out-of-line path: point the rel32 at `jccAt` (from jccPatchable) here, then `call callTarget` and
   * `jmp jmpTarget` (offsets in this buffer). Returns the call's return address. (One call for what
   * patchRel32Here, callToOffset and jmpToOffset do: it runs for every bounds-checked memory access.)
   */
  callAndJmp(jccAt: number, callTarget: number, jmpTarget: number): number {
    const p = this.pos;
    if (!(jccAt >= 0 && jccAt + 4 <= p)) throw new Error(`x64: callAndJmp patch out of range (${jccAt})`);
    if (p + 16 > this.cap) this.grow(16);
    const b = this.buf, dv = this.dv;
    dv.setInt32(jccAt, p - (jccAt + 4), true);
    b[p] = 0xe8;
    dv.setInt32(p + 1, callTarget - (p + 5), true);
    b[p + 5] = 0xe9;
    dv.setInt32(p + 6, jmpTarget - (p + 10), true);
    this.pos = p + 10;
    return p + 5;
  }

  /** call rel32 to an absolute offset within this buffer. */
  callToOffset(target: number): void {
    this.need(8);
    this.buf[this.pos++] = 0xe8;
    this.put32(target - (this.pos + 4));
  }

  /** lea r64, [rip + rel32] to a label. */
  leaLabel(dst: number, label: number): void {
    this.ripLabel(0, 1, 0x8d, dst, label);
  }

  /** Emit 4 bytes = offset(label) - offset(baseLabel), resolved once both are bound. */
  emitLabelDelta32(label: number, baseLabel: number): void {
    this.checkLabel(label);
    this.checkLabel(baseLabel);
    this.need(4);
    const at = this.pos;
    const t = this.labelPos[label];
    const bp = this.labelPos[baseLabel];
    this.put32(0);
    if (t >= 0 && bp >= 0) this.patchInt32(at, t - bp);
    else if (t < 0) this.addFixup(label, at, FX_DELTA_TARGET, baseLabel);
    else this.addFixup(baseLabel, at, FX_DELTA_BASE, label);
  }

  // ---------------------------------------------------------------------------------------------
  // Moves

  /** mov dst, src (32-bit form zero-extends). */
  movRR(is64: boolean, dst: number, src: number): void {
    this.rr(0, is64 ? 1 : 0, 0x89, src, dst, false);
  }

  /** mov r32, imm32 (zero-extends into the 64-bit register). `imm` may be an int32 or a uint32. */
  movImm32(dst: number, imm: number): void {
    checkImm32(imm);
    this.need(8);
    const b = this.buf;
    if (dst & 8) b[this.pos++] = 0x41;
    b[this.pos++] = 0xb8 | (dst & 7);
    this.put32(imm);
  }

  /**
   * Load the 64-bit value hi:lo (each an int32 or uint32) with the shortest encoding: mov r32, imm32
   * when hi is 0; REX.W C7 /0 simm32 when the value sign-extends from 32 bits; else movabs.
   * Never changes flags.
   */
  movImm64(dst: number, lo: number, hi: number): void {
    checkImm32(lo);
    checkImm32(hi);
    lo |= 0;
    hi |= 0;
    if (hi === 0) {
      this.movImm32(dst, lo);
      return;
    }
    this.need(16);
    const b = this.buf;
    if (hi === -1 && lo < 0) {
      b[this.pos++] = 0x48 | ((dst & 8) >> 3);
      b[this.pos++] = 0xc7;
      b[this.pos++] = 0xc0 | (dst & 7);
      this.put32(lo);
      return;
    }
    b[this.pos++] = 0x48 | ((dst & 8) >> 3);
    b[this.pos++] = 0xb8 | (dst & 7);
    this.put32(lo);
    this.put32(hi);
  }

  /** movImm64 from a bigint (taken modulo 2^64). */
  movImmBig(dst: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.movImm64(dst, Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0);
  }

  /** movabs r64, imm64 always (10 bytes); returns the offset of the imm64 (for patching). */
  movImm64Patchable(dst: number, lo: number, hi: number): number {
    this.need(16);
    const b = this.buf;
    b[this.pos++] = 0x48 | ((dst & 8) >> 3);
    b[this.pos++] = 0xb8 | (dst & 7);
    const at = this.pos;
    this.put32(lo);
    this.put32(hi);
    return at;
  }

  /** Integer load from memory. */
  load(kind: LoadKind, dst: number, base: number, index: number, scale: number, disp: number): void {
    if (!(kind >= 0 && kind <= 8)) throw new Error(`x64: bad LoadKind ${kind}`);
    this.rm(0, LOAD_W[kind], LOAD_OP[kind], dst, base, index, scale, disp, false);
  }

  /** Store the low `width` bytes of `src` to memory. */
  store(width: 1 | 2 | 4 | 8, src: number, base: number, index: number, scale: number, disp: number): void {
    switch (width) {
      case 1: this.rm(0, 0, 0x88, src, base, index, scale, disp, src >= 4 && src <= 7); return;
      case 2: this.rm(0x66, 0, 0x89, src, base, index, scale, disp, false); return;
      case 4: this.rm(0, 0, 0x89, src, base, index, scale, disp, false); return;
      case 8: this.rm(0, 1, 0x89, src, base, index, scale, disp, false); return;
    }
    throw new Error(`x64: bad store width ${width}`);
  }

  /** Store an immediate of `width` bytes (width 8: imm32 sign-extended, must be an int32). */
  storeImm(width: 1 | 2 | 4 | 8, imm: number, base: number, index: number, scale: number, disp: number): void {
    switch (width) {
      case 1:
        if (!(imm >= -128 && imm <= 255 && (imm | 0) === imm)) throw new Error(`x64: imm8 out of range: ${imm}`);
        this.rm(0, 0, 0xc6, 0, base, index, scale, disp, false);
        this.buf[this.pos++] = imm;
        return;
      case 2:
        if (!(imm >= -32768 && imm <= 65535 && (imm | 0) === imm)) throw new Error(`x64: imm16 out of range: ${imm}`);
        this.rm(0x66, 0, 0xc7, 0, base, index, scale, disp, false);
        this.put16(imm);
        return;
      case 4:
        checkImm32(imm);
        this.rm(0, 0, 0xc7, 0, base, index, scale, disp, false);
        this.put32(imm);
        return;
      case 8:
        checkSimm32(imm);
        this.rm(0, 1, 0xc7, 0, base, index, scale, disp, false);
        this.put32(imm);
        return;
    }
    throw new Error(`x64: bad store width ${width}`);
  }

  /** lea dst, [base + index*scale + disp]. */
  lea(is64: boolean, dst: number, base: number, index: number, scale: number, disp: number): void {
    this.rm(0, is64 ? 1 : 0, 0x8d, dst, base, index, scale, disp, false);
  }

  /** movzx r32, r8/r16. */
  movzxRR(srcWidth: 1 | 2, dst: number, src: number): void {
    if (srcWidth === 1) this.rr(0, 0, 0x0fb6, dst, src, src >= 4 && src <= 7);
    else if (srcWidth === 2) this.rr(0, 0, 0x0fb7, dst, src, false);
    else throw new Error(`x64: bad movzx source width ${srcWidth}`);
  }

  /** movsx r32/r64, r8/r16; movsxd r64, r32 (srcWidth 4, is64 only). */
  movsxRR(is64: boolean, srcWidth: 1 | 2 | 4, dst: number, src: number): void {
    const w = is64 ? 1 : 0;
    if (srcWidth === 1) this.rr(0, w, 0x0fbe, dst, src, src >= 4 && src <= 7);
    else if (srcWidth === 2) this.rr(0, w, 0x0fbf, dst, src, false);
    else if (srcWidth === 4 && is64) this.rr(0, 1, 0x63, dst, src, false);
    else throw new Error(`x64: bad movsx form (is64=${is64}, srcWidth=${srcWidth})`);
  }

  /** cmovcc dst, src. */
  cmov(cond: Cond, is64: boolean, dst: number, src: number): void {
    this.rr(0, is64 ? 1 : 0, 0x0f40 | (cond & 15), dst, src, false);
  }

  /** xchg a, b. */
  xchg(is64: boolean, a: number, b: number): void {
    this.rr(0, is64 ? 1 : 0, 0x87, b, a, false);
  }

  // ---------------------------------------------------------------------------------------------
  // Integer arithmetic

  /** dst op= src. */
  alu(op: AluOp, is64: boolean, dst: number, src: number): void {
    this.rr(0, is64 ? 1 : 0, (op << 3) | 1, src, dst, false);
  }

  /** dst op= imm (imm8 form when it fits; is64: imm must be an int32, sign-extended). */
  aluImm(op: AluOp, is64: boolean, dst: number, imm: number): void {
    if (is64) checkSimm32(imm);
    else checkImm32(imm);
    imm |= 0;
    const w = is64 ? 1 : 0;
    if (fitsInt8(imm)) {
      this.rr(0, w, 0x83, op, dst, false);
      this.buf[this.pos++] = imm;
    } else if (dst === 0) {
      this.need(8);
      if (is64) this.buf[this.pos++] = 0x48;
      this.buf[this.pos++] = (op << 3) | 5;
      this.put32(imm);
    } else {
      this.rr(0, w, 0x81, op, dst, false);
      this.put32(imm);
    }
  }

  /** dst op= imm32, always the 0x81 imm32 form; returns the offset of the imm32 (for patching). */
  aluImm32(op: AluOp, is64: boolean, dst: number, imm: number): number {
    if (is64) checkSimm32(imm);
    else checkImm32(imm);
    this.rr(0, is64 ? 1 : 0, 0x81, op, dst, false);
    const at = this.pos;
    this.put32(imm);
    return at;
  }

  /** dst op= [mem]. */
  aluLoad(op: AluOp, is64: boolean, dst: number, base: number, index: number, scale: number, disp: number): void {
    this.rm(0, is64 ? 1 : 0, (op << 3) | 3, dst, base, index, scale, disp, false);
  }

  /** [mem] op= src. */
  aluStore(op: AluOp, is64: boolean, base: number, index: number, scale: number, disp: number, src: number): void {
    this.rm(0, is64 ? 1 : 0, (op << 3) | 1, src, base, index, scale, disp, false);
  }

  /** [mem] op= imm (32 or 64-bit operand; imm8 form when it fits). */
  aluMemImm(op: AluOp, is64: boolean, base: number, index: number, scale: number, disp: number, imm: number): void {
    if (is64) checkSimm32(imm);
    else checkImm32(imm);
    imm |= 0;
    const w = is64 ? 1 : 0;
    if (fitsInt8(imm)) {
      this.rm(0, w, 0x83, op, base, index, scale, disp, false);
      this.buf[this.pos++] = imm;
    } else {
      this.rm(0, w, 0x81, op, base, index, scale, disp, false);
      this.put32(imm);
    }
  }

  /** test a, b. */
  test(is64: boolean, a: number, b: number): void {
    this.rr(0, is64 ? 1 : 0, 0x85, b, a, false);
  }

  /** test reg, imm32 (is64: sign-extended, must be an int32). */
  testImm(is64: boolean, reg: number, imm: number): void {
    if (is64) checkSimm32(imm);
    else checkImm32(imm);
    if (reg === 0) {
      this.need(8);
      if (is64) this.buf[this.pos++] = 0x48;
      this.buf[this.pos++] = 0xa9;
    } else {
      this.rr(0, is64 ? 1 : 0, 0xf7, 0, reg, false);
    }
    this.put32(imm);
  }

  /** not/neg/mul/imul/div/idiv reg (F7 /digit). */
  unary(op: UnaryOp, is64: boolean, reg: number): void {
    this.rr(0, is64 ? 1 : 0, 0xf7, op, reg, false);
  }

  /** imul dst, src. */
  imul(is64: boolean, dst: number, src: number): void {
    this.rr(0, is64 ? 1 : 0, 0x0faf, dst, src, false);
  }

  /** imul dst, src, imm (imm8 form when it fits). */
  imulImm(is64: boolean, dst: number, src: number, imm: number): void {
    if (is64) checkSimm32(imm);
    else checkImm32(imm);
    imm |= 0;
    if (fitsInt8(imm)) {
      this.rr(0, is64 ? 1 : 0, 0x6b, dst, src, false);
      this.buf[this.pos++] = imm;
    } else {
      this.rr(0, is64 ? 1 : 0, 0x69, dst, src, false);
      this.put32(imm);
    }
  }

  cdq(): void {
    this.byte(0x99);
  }

  cqo(): void {
    this.need(2);
    this.buf[this.pos++] = 0x48;
    this.buf[this.pos++] = 0x99;
  }

  /** Shift/rotate reg by cl. */
  shift(op: ShiftOp, is64: boolean, reg: number): void {
    this.rr(0, is64 ? 1 : 0, 0xd3, op, reg, false);
  }

  /** Shift/rotate reg by an immediate (masked to 5 or 6 bits; 1 uses the D1 form). */
  shiftImm(op: ShiftOp, is64: boolean, reg: number, imm: number): void {
    const n = imm & (is64 ? 63 : 31);
    if (n === 1) {
      this.rr(0, is64 ? 1 : 0, 0xd1, op, reg, false);
    } else {
      this.rr(0, is64 ? 1 : 0, 0xc1, op, reg, false);
      this.buf[this.pos++] = n;
    }
  }

  /** setcc r8 (spl/bpl/sil/dil get an empty REX). Writes only the low byte. */
  setcc(cond: Cond, reg: number): void {
    this.rr(0, 0, 0x0f90 | (cond & 15), 0, reg, reg >= 4 && reg <= 7);
  }

  /** lzcnt/tzcnt/popcnt/bsr/bsf dst, src. */
  bitop(op: BitOp, is64: boolean, dst: number, src: number): void {
    if (!(op >= 0 && op <= 4)) throw new Error(`x64: bad BitOp ${op}`);
    this.rr(BITOP_PREFIX[op], is64 ? 1 : 0, BITOP_OPCODE[op], dst, src, false);
  }

  /**
   * SSE4.2 `crc32 dst, src`: accumulate the CRC-32C (Castagnoli) of the low `width` bytes of src into dst
   * (dst is r32, or r64 when width is 8; the CRC is in its low 32 bits).
   */
  crc32(width: 1 | 2 | 4 | 8, dst: number, src: number): void {
    if (width === 2) this.byte(0x66);
    this.rr(0xf2, width === 8 ? 1 : 0, width === 1 ? 0x0f38f0 : 0x0f38f1, dst, src, width === 1 && src >= 4 && src <= 7);
  }

  /** SSE4.2 `crc32 dst, width PTR [mem]` (see crc32). */
  crc32Load(width: 1 | 2 | 4 | 8, dst: number, base: number, index: number, scale: number, disp: number): void {
    if (width === 2) this.byte(0x66);
    this.rm(0xf2, width === 8 ? 1 : 0, width === 1 ? 0x0f38f0 : 0x0f38f1, dst, base, index, scale, disp, false);
  }

  // ---------------------------------------------------------------------------------------------
  // Stack, control, misc

  push(reg: number): void {
    this.need(2);
    if (reg & 8) this.buf[this.pos++] = 0x41;
    this.buf[this.pos++] = 0x50 | (reg & 7);
  }

  pop(reg: number): void {
    this.need(2);
    if (reg & 8) this.buf[this.pos++] = 0x41;
    this.buf[this.pos++] = 0x58 | (reg & 7);
  }

  /** push imm32 (sign-extended to 64 bits; push imm8 when it fits). */
  pushImm(imm: number): void {
    checkSimm32(imm);
    this.need(8);
    if (fitsInt8(imm)) {
      this.buf[this.pos++] = 0x6a;
      this.buf[this.pos++] = imm;
    } else {
      this.buf[this.pos++] = 0x68;
      this.put32(imm);
    }
  }

  callReg(reg: number): void {
    this.rr(0, 0, 0xff, 2, reg, false);
  }

  callMem(base: number, disp: number): void {
    this.rm(0, 0, 0xff, 2, base, -1, 1, disp, false);
  }

  jmpReg(reg: number): void {
    this.rr(0, 0, 0xff, 4, reg, false);
  }

  jmpMem(base: number, disp: number): void {
    this.rm(0, 0, 0xff, 4, base, -1, 1, disp, false);
  }
  /** jmp qword [base + index*scale + disp] (an indirect jump through a table). */
  jmpMemIndexed(base: number, index: number, scale: number, disp: number): void {
    this.rm(0, 0, 0xff, 4, base, index, scale, disp, false);
  }


  ret(): void { this.byte(0xc3); }
  int3(): void { this.byte(0xcc); }
  nop(): void { this.byte(0x90); }
  cld(): void { this.byte(0xfc); }
  std(): void { this.byte(0xfd); }

  ud2(): void {
    this.need(2);
    this.buf[this.pos++] = 0x0f;
    this.buf[this.pos++] = 0x0b;
  }

  repMovsb(): void {
    this.need(2);
    this.buf[this.pos++] = 0xf3;
    this.buf[this.pos++] = 0xa4;
  }

  repStosb(): void {
    this.need(2);
    this.buf[this.pos++] = 0xf3;
    this.buf[this.pos++] = 0xaa;
  }

  // Atomics (threads). Width-1 forms need a REX prefix for spl..dil; width 2 takes the 0x66 prefix.

  /** xchg [mem], src (implicitly locked): src receives the old value (bits above `width` kept for 1 and 2). */
  xchgMem(width: 1 | 2 | 4 | 8, src: number, base: number, index: number, scale: number, disp: number): void {
    this.rm(width === 2 ? 0x66 : 0, width === 8 ? 1 : 0, width === 1 ? 0x86 : 0x87, src, base, index, scale, disp,
      width === 1 && src >= 4 && src <= 7);
  }

  /** lock xadd [mem], src: src receives the old value. */
  lockXadd(width: 1 | 2 | 4 | 8, src: number, base: number, index: number, scale: number, disp: number): void {
    this.byte(0xf0);
    this.rm(width === 2 ? 0x66 : 0, width === 8 ? 1 : 0, width === 1 ? 0x0fc0 : 0x0fc1, src, base, index, scale, disp,
      width === 1 && src >= 4 && src <= 7);
  }

  /** lock cmpxchg [mem], src: compares with al/ax/eax/rax, which receives the old value on a mismatch (ZF clear). */
  lockCmpxchg(width: 1 | 2 | 4 | 8, src: number, base: number, index: number, scale: number, disp: number): void {
    this.byte(0xf0);
    this.rm(width === 2 ? 0x66 : 0, width === 8 ? 1 : 0, width === 1 ? 0x0fb0 : 0x0fb1, src, base, index, scale, disp,
      width === 1 && src >= 4 && src <= 7);
  }

  mfence(): void {
    this.need(3);
    this.buf[this.pos++] = 0x0f;
    this.buf[this.pos++] = 0xae;
    this.buf[this.pos++] = 0xf0;
  }

  // ---------------------------------------------------------------------------------------------
  // SSE

  /** op dst, src (register-register). */
  sse(op: SseOp, dst: number, src: number): void {
    if (!(op >= 0 && op < SSE_OPCODE.length)) throw new Error(`x64: bad SseOp ${op}`);
    this.rr(SSE_PREFIX[op], 0, 0x0f00 | SSE_OPCODE[op], dst, src, false);
  }

  /** op dst, [mem]. Packed ops (ANDPS, MOVAPS, ...) need a 16-byte aligned address. */
  sseLoad(op: SseOp, dst: number, base: number, index: number, scale: number, disp: number): void {
    if (!(op >= 0 && op < SSE_OPCODE.length)) throw new Error(`x64: bad SseOp ${op}`);
    this.rm(SSE_PREFIX[op], 0, 0x0f00 | SSE_OPCODE[op], dst, base, index, scale, disp, false);
  }

  /** op dst, [rip + label] (e.g. a constant pool entry). */
  sseLoadLabel(op: SseOp, dst: number, label: number): void {
    if (!(op >= 0 && op < SSE_OPCODE.length)) throw new Error(`x64: bad SseOp ${op}`);
    this.ripLabel(SSE_PREFIX[op], 0, 0x0f00 | SSE_OPCODE[op], dst, label);
  }

  movssLoad(dst: number, base: number, index: number, scale: number, disp: number): void {
    this.rm(0xf3, 0, 0x0f10, dst, base, index, scale, disp, false);
  }

  movsdLoad(dst: number, base: number, index: number, scale: number, disp: number): void {
    this.rm(0xf2, 0, 0x0f10, dst, base, index, scale, disp, false);
  }

  movssStore(src: number, base: number, index: number, scale: number, disp: number): void {
    this.rm(0xf3, 0, 0x0f11, src, base, index, scale, disp, false);
  }

  movsdStore(src: number, base: number, index: number, scale: number, disp: number): void {
    this.rm(0xf2, 0, 0x0f11, src, base, index, scale, disp, false);
  }

  /** movss xmm, [rip + label]. */
  movssLoadLabel(dst: number, label: number): void {
    this.ripLabel(0xf3, 0, 0x0f10, dst, label);
  }

  /** movsd xmm, [rip + label]. */
  movsdLoadLabel(dst: number, label: number): void {
    this.ripLabel(0xf2, 0, 0x0f10, dst, label);
  }

  /** movss dst, src (register form: merges the low 32 bits, keeps the rest of dst). */
  movssRR(dst: number, src: number): void {
    this.rr(0xf3, 0, 0x0f10, dst, src, false);
  }

  /** movsd dst, src (register form: merges the low 64 bits, keeps the rest of dst). */
  movsdRR(dst: number, src: number): void {
    this.rr(0xf2, 0, 0x0f10, dst, src, false);
  }

  /** movq dst, src (xmm to xmm: copies the low 64 bits, zeroes the upper 64). */
  movqXX(dst: number, src: number): void {
    this.rr(0xf3, 0, 0x0f7e, dst, src, false);
  }

  /** movd/movq xmm, r32/r64 (zeroes the rest of xmm). */
  movdToXmm(is64: boolean, xmm: number, gpr: number): void {
    this.rr(0x66, is64 ? 1 : 0, 0x0f6e, xmm, gpr, false);
  }

  /** movd/movq r32/r64, xmm. */
  movdFromXmm(is64: boolean, gpr: number, xmm: number): void {
    this.rr(0x66, is64 ? 1 : 0, 0x0f7e, xmm, gpr, false);
  }

  /** cvtsi2ss/cvtsi2sd xmm, r32/r64. Does not clear dst first (false dependency is the caller's). */
  cvtsi2s(isDouble: boolean, srcIs64: boolean, dstXmm: number, srcGpr: number): void {
    this.rr(isDouble ? 0xf2 : 0xf3, srcIs64 ? 1 : 0, 0x0f2a, dstXmm, srcGpr, false);
  }

  /** cvttss2si/cvttsd2si r32/r64, xmm (truncating). */
  cvtts2si(isDouble: boolean, dstIs64: boolean, dstGpr: number, srcXmm: number): void {
    this.rr(isDouble ? 0xf2 : 0xf3, dstIs64 ? 1 : 0, 0x0f2c, dstGpr, srcXmm, false);
  }

  /** roundss/roundsd dst, src, mode (SSE4.1). mode: 0 nearest, 1 floor, 2 ceil, 3 trunc (|8 allowed). */
  round(isDouble: boolean, dst: number, src: number, mode: number): void {
    this.rr(0x66, 0, isDouble ? 0x0f3a0b : 0x0f3a0a, dst, src, false);
    this.buf[this.pos++] = mode & 15;
  }

  /** cmpss/cmpsd dst, src, predicate (0 eq, 1 lt, 2 le, 3 unord, 4 neq, 5 nlt, 6 nle, 7 ord). */
  cmpsImm(isDouble: boolean, dst: number, src: number, pred: number): void {
    this.rr(isDouble ? 0xf2 : 0xf3, 0, 0x0fc2, dst, src, false);
    this.buf[this.pos++] = pred & 7;
  }

  /** pxor dst, src. */
  pxor(dst: number, src: number): void {
    this.rr(0x66, 0, 0x0fef, dst, src, false);
  }

  /** pcmpeqd dst, src (pcmpeqd x, x sets all ones). */
  pcmpeqd(dst: number, src: number): void {
    this.rr(0x66, 0, 0x0f76, dst, src, false);
  }

  /** psrlq xmm, imm8. */
  psrlqImm(xmm: number, imm: number): void {
    this.rr(0x66, 0, 0x0f73, 2, xmm, false);
    this.buf[this.pos++] = imm;
  }

  /** psllq xmm, imm8. */
  psllqImm(xmm: number, imm: number): void {
    this.rr(0x66, 0, 0x0f73, 6, xmm, false);
    this.buf[this.pos++] = imm;
  }

  /** psrld xmm, imm8. */
  psrldImm(xmm: number, imm: number): void {
    this.rr(0x66, 0, 0x0f72, 2, xmm, false);
    this.buf[this.pos++] = imm;
  }

  /** pslld xmm, imm8. */
  pslldImm(xmm: number, imm: number): void {
    this.rr(0x66, 0, 0x0f72, 6, xmm, false);
    this.buf[this.pos++] = imm;
  }

  /** movmskps/movmskpd r32, xmm (sign bits of the lanes into the low bits of the GPR). */
  movmskp(isDouble: boolean, gpr: number, xmm: number): void {
    this.rr(isDouble ? 0x66 : 0, 0, 0x0f50, gpr, xmm, false);
  }

  /** movdqu xmm, [mem] (unaligned 128-bit load). */
  movdquLoad(dst: number, base: number, index: number, scale: number, disp: number): void {
    this.rm(0xf3, 0, 0x0f6f, dst, base, index, scale, disp, false);
  }

  /** movdqu [mem], xmm (unaligned 128-bit store). */
  movdquStore(src: number, base: number, index: number, scale: number, disp: number): void {
    this.rm(0xf3, 0, 0x0f7f, src, base, index, scale, disp, false);
  }

  // ---------------------------------------------------------------------------------------------
  // Generic SSE encoders: the packed (SIMD) instruction set in assembler-simd.ts is built on these.

  /** [pfx] [REX.W?] opcode ModRM(reg, rm register) [imm8 when imm >= 0]. */
  sseRaw(pfx: number, w: number, opcode: number, reg: number, rm: number, imm: number): void {
    this.rr(pfx, w, opcode, reg, rm, false);
    if (imm >= 0) this.buf[this.pos++] = imm & 0xff;
  }

  /** [pfx] [REX] opcode ModRM(reg, [base + index*scale + disp]) [imm8 when imm >= 0]. */
  sseRawMem(pfx: number, w: number, opcode: number, reg: number,
            base: number, index: number, scale: number, disp: number, imm: number): void {
    this.rm(pfx, w, opcode, reg, base, index, scale, disp, false);
    if (imm >= 0) this.buf[this.pos++] = imm & 0xff;
  }

  /** [pfx] [REX] opcode ModRM(reg, [rip + label]) (no immediate: the rel32 must end the instruction). */
  sseRawLabel(pfx: number, opcode: number, reg: number, label: number): void {
    this.ripLabel(pfx, 0, opcode, reg, label);
  }
}

/** Accepts int32 or uint32 values (the bit pattern of a 32-bit immediate). */
function checkImm32(v: number): void {
  if (!(v >= -0x80000000 && v <= 0xffffffff && Math.floor(v) === v)) {
    throw new Error(`x64: immediate ${v} does not fit in 32 bits`);
  }
}

/** Accepts int32 values only (immediates sign-extended to 64 bits). */
function checkSimm32(v: number): void {
  if ((v | 0) !== v) throw new Error(`x64: immediate ${v} is not an int32 (sign-extended imm32)`);
}
