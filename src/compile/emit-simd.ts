// SIMD (the 128-bit vector instructions of Wasm 2.0, prefix 0xfd): validation and code generation.
//
// v128 values live in XMM registers (allocated like f32/f64) and 16-byte frame slots. The baseline is
// SSE4.1 (with SSSE3): a module using any SIMD instruction on a CPU without it fails to compile with a
// CompileError. Operations without a single SSE instruction are lowered to short sequences; constants
// they need (masks, lookup tables) go to a per-function pool of 16-byte aligned literals placed after the
// function's code and addressed rip-relative, so they can be used as aligned memory operands.

import type { Assembler } from '../x64/assembler.js';
import type { FunctionCompiler } from './function-compiler.js';
import { ValType } from '../decode/types.js';
import { AluOp, Cond } from '../x64/registers.js';
import { V, vv, vvi, vm, vl, vshiftImm, ShiftImm, pextr, pextrw, movdTo, FCmp, RoundMode } from '../x64/assembler-simd.js';
import { K_CONST } from './value-stack.js';
import { readMemarg, addrType, emitAddress, addrBase, addrIndex, addrDisp, maMem } from './emit-memory.js';
import { cpuFeatures } from '../x64/cpu-features.js';
import { emitRelaxedSimd } from './emit-simd-relaxed.js';

const I32 = ValType.I32, I64 = ValType.I64, F32 = ValType.F32, F64 = ValType.F64, V128 = ValType.V128;

// ---------------------------------------------------------------- constant pool

let poolAsm: Assembler | null = null;
const poolLabels = new Map<string, number>();
const poolData: number[] = []; // label, w0, w1, w2, w3 per entry

/** Label of a 16-byte aligned literal with the four little-endian 32-bit words given. */
function constLabel(c: FunctionCompiler, w0: number, w1: number, w2: number, w3: number): number {
  if (poolAsm !== c.asm) {
    poolAsm = c.asm;
    poolLabels.clear();
    poolData.length = 0;
  }
  const key = `${w0 | 0},${w1 | 0},${w2 | 0},${w3 | 0}`;
  let label = poolLabels.get(key);
  if (label === undefined) {
    label = c.asm.newLabel();
    poolLabels.set(key, label);
    poolData.push(label, w0 | 0, w1 | 0, w2 | 0, w3 | 0);
  }
  return label;
}

function splat32(c: FunctionCompiler, w: number): number {
  return constLabel(c, w, w, w, w);
}

export function splat16(c: FunctionCompiler, h: number): number {
  return splat32(c, (h & 0xffff) | (h << 16));
}

function splat8(c: FunctionCompiler, b: number): number {
  return splat32(c, (b & 0xff) * 0x01010101);
}

function splat64(c: FunctionCompiler, lo: number, hi: number): number {
  return constLabel(c, lo, hi, lo, hi);
}

const f64View = new DataView(new ArrayBuffer(8));

/** The f64x2 splat of x. */
function splatF64(c: FunctionCompiler, x: number): number {
  f64View.setFloat64(0, x, true);
  return splat64(c, f64View.getInt32(0, true), f64View.getInt32(4, true));
}

/** The f32x4 splat of x. */
function splatF32(c: FunctionCompiler, x: number): number {
  f64View.setFloat32(0, x, true);
  return splat32(c, f64View.getInt32(0, true));
}

/**
 * Forget literals left pending by a function whose compile failed (a CompileError after its last operator is
 * read skips flushSimdConsts): the shared assembler is reset for the next compile, so their labels would name
 * other labels there. Called before each function.
 */
export function resetSimdConsts(): void {
  if (poolData.length === 0) return;
  poolLabels.clear();
  poolData.length = 0;
}

/** Emit the pending literals (called once a function's code is complete). */
export function flushSimdConsts(c: FunctionCompiler): void {
  if (poolData.length === 0) return; // nothing pooled (poolLabels is empty too): the common case, made cheap
  if (poolAsm !== c.asm) {
    poolLabels.clear();
    poolData.length = 0;
    return;
  }
  const a = c.asm;
  a.align(16);
  for (let k = 0; k < poolData.length; k += 5) {
    a.bind(poolData[k]);
    a.int32(poolData[k + 1]);
    a.int32(poolData[k + 2]);
    a.int32(poolData[k + 3]);
    a.int32(poolData[k + 4]);
  }
  poolLabels.clear();
  poolData.length = 0;
}

// ---------------------------------------------------------------- helpers

export function pop(c: FunctionCompiler): number {
  return c.vs.popToReg();
}

export function push(c: FunctionCompiler, x: number): void {
  c.vs.pushReg(V128, x);
}

function tmp(c: FunctionCompiler): number {
  return c.vs.allocXmm();
}

export function free(c: FunctionCompiler, x: number): void {
  c.vs.freeXmm(x);
}

/** x = ~x. */
function not(c: FunctionCompiler, x: number): void {
  const t = tmp(c);
  vv(c.asm, V.PCMPEQD, t, t);
  vv(c.asm, V.PXOR, x, t);
  free(c, t);
}

function laneIndex(c: FunctionCompiler, lanes: number): number {
  const at = c.r.pos;
  const lane = c.r.u8();
  if (lane >= lanes) c.error('invalid lane index', at);
  return lane;
}

/** Binary operation x = x op b. */
export function bin(c: FunctionCompiler, op: V): void {
  if (!c.binop(V128, V128)) return;
  const b = pop(c);
  const x = pop(c);
  vv(c.asm, op, x, b);
  free(c, b);
  push(c, x);
}

/** Binary operation with swapped operands: result = b op x. */
function binRev(c: FunctionCompiler, op: V): void {
  if (!c.binop(V128, V128)) return;
  const b = pop(c);
  const x = pop(c);
  vv(c.asm, op, b, x);
  free(c, x);
  push(c, b);
}

/** Unary operation x = op x (op dst, src with dst = src). */
export function un(c: FunctionCompiler, op: V): void {
  if (!c.unop(V128, V128)) return;
  const x = pop(c);
  vv(c.asm, op, x, x);
  push(c, x);
}

/** Unary operation x = op(x, imm8). */
function unImm(c: FunctionCompiler, op: V, imm: number): void {
  if (!c.unop(V128, V128)) return;
  const x = pop(c);
  vvi(c.asm, op, x, x, imm);
  push(c, x);
}

/** Packed float compare: x = cmp(x, b) or, swapped, b = cmp(b, x). */
function fcmp(c: FunctionCompiler, op: V, pred: FCmp, swap: boolean): void {
  if (!c.binop(V128, V128)) return;
  const b = pop(c);
  const x = pop(c);
  if (swap) {
    vvi(c.asm, op, b, x, pred);
    free(c, x);
    push(c, b);
  } else {
    vvi(c.asm, op, x, b, pred);
    free(c, b);
    push(c, x);
  }
}

// Integer compare tables per lane width: eq, gt_s, min_s, min_u, max_s, max_u.
const ICMP_8 = [V.PCMPEQB, V.PCMPGTB, V.PMINSB, V.PMINUB, V.PMAXSB, V.PMAXUB];
const ICMP_16 = [V.PCMPEQW, V.PCMPGTW, V.PMINSW, V.PMINUW, V.PMAXSW, V.PMAXUW];
const ICMP_32 = [V.PCMPEQD, V.PCMPGTD, V.PMINSD, V.PMINUD, V.PMAXSD, V.PMAXUD];

/** i8x16/i16x8/i32x4 comparisons; k: 0 eq, 1 ne, 2 lt_s, 3 lt_u, 4 gt_s, 5 gt_u, 6 le_s, 7 le_u, 8 ge_s, 9 ge_u. */
function icmp(c: FunctionCompiler, ops: readonly V[], k: number): void {
  if (!c.binop(V128, V128)) return;
  const a = c.asm;
  const b = pop(c);
  const x = pop(c);
  let r = x;
  switch (k) {
    case 0: vv(a, ops[0], x, b); break;
    case 1: vv(a, ops[0], x, b); not(c, x); break;
    case 2: vv(a, ops[1], b, x); r = b; break;
    case 4: vv(a, ops[1], x, b); break;
    case 6: vv(a, ops[2], b, x); vv(a, ops[0], b, x); r = b; break; // x <= b: min(b, x) == x
    case 7: vv(a, ops[3], b, x); vv(a, ops[0], b, x); r = b; break;
    case 8: vv(a, ops[4], b, x); vv(a, ops[0], b, x); r = b; break; // x >= b: max(b, x) == x
    case 9: vv(a, ops[5], b, x); vv(a, ops[0], b, x); r = b; break;
    case 3: vv(a, ops[5], b, x); vv(a, ops[0], b, x); not(c, b); r = b; break; // !(x >=u b)
    case 5: vv(a, ops[3], b, x); vv(a, ops[0], b, x); not(c, b); r = b; break; // !(x <=u b)
  }
  free(c, r === x ? b : x);
  push(c, r);
}

/** x = (x > b) on signed 64-bit lanes, SSE4.1 only (pcmpgtq is SSE4.2); b is clobbered. */
function gt64(c: FunctionCompiler, x: number, b: number): void {
  const a = c.asm;
  const t1 = tmp(c), t2 = tmp(c);
  vv(a, V.MOVDQA, t1, x);
  vv(a, V.PCMPGTD, t1, b); // high dwords: x.hi > b.hi
  vv(a, V.MOVDQA, t2, x);
  vv(a, V.PCMPEQD, t2, b); // high dwords: x.hi == b.hi
  vv(a, V.PSUBQ, b, x); // with equal high dwords, b - x < 0 iff x.lo >u b.lo
  vv(a, V.PAND, t2, b);
  vv(a, V.POR, t1, t2);
  vvi(a, V.PSHUFD, x, t1, 0xf5); // broadcast each lane's high dword
  free(c, t1);
  free(c, t2);
}

/** i64x2 comparisons; k: 0 eq, 1 ne, 2 lt_s, 3 gt_s, 4 le_s, 5 ge_s. */
function icmp64(c: FunctionCompiler, k: number): void {
  if (!c.binop(V128, V128)) return;
  const a = c.asm;
  const b = pop(c);
  const x = pop(c);
  let r = x;
  switch (k) {
    case 0: vv(a, V.PCMPEQQ, x, b); break;
    case 1: vv(a, V.PCMPEQQ, x, b); not(c, x); break;
    case 2: gt64(c, b, x); r = b; break;
    case 3: gt64(c, x, b); break;
    case 4: gt64(c, x, b); not(c, x); break;
    case 5: gt64(c, b, x); not(c, b); r = b; break;
  }
  free(c, r === x ? b : x);
  push(c, r);
}

/** Wasm min/max of packed floats: NaN if either operand is NaN (canonical), -0 < +0. */
function fminmax(c: FunctionCompiler, isDouble: boolean, isMax: boolean): void {
  if (!c.binop(V128, V128)) return;
  const a = c.asm;
  const b = pop(c);
  const x = pop(c);
  const t = tmp(c);
  const MOV = isDouble ? V.MOVAPD : V.MOVAPS;
  vv(a, MOV, t, x);
  // m: a register whose lanes are NaN only where the result x is NaN (so unord(m, x) = isnan(x)).
  let m: number;
  if (!isMax) {
    vv(a, isDouble ? V.MINPD : V.MINPS, x, b); // x = min(x, b): b when unordered or both zero
    vv(a, isDouble ? V.MINPD : V.MINPS, b, t); // b = min(b, x): x when unordered or both zero
    vv(a, isDouble ? V.ORPD : V.ORPS, x, b); // -0 | +0 = -0; any NaN makes a NaN
    m = b;
  } else {
    vv(a, isDouble ? V.MAXPD : V.MAXPS, x, b);
    vv(a, isDouble ? V.MAXPD : V.MAXPS, b, t);
    vv(a, MOV, t, x);
    vv(a, isDouble ? V.XORPD : V.XORPS, t, b); // d = differing bits: only for ±0 pairs and NaNs
    vv(a, isDouble ? V.ORPD : V.ORPS, x, t);
    vv(a, isDouble ? V.SUBPD : V.SUBPS, x, t); // (-0) - (-0) = +0; NaN stays NaN; else x - 0 = x
    m = t; // d: 0 or a sign bit outside NaN lanes
  }
  // Canonicalise NaN lanes: all ones, then clear everything but the sign, exponent and quiet bit.
  vvi(a, isDouble ? V.CMPPD : V.CMPPS, m, x, FCmp.UNORD);
  vv(a, isDouble ? V.ORPD : V.ORPS, x, m);
  vshiftImm(a, isDouble ? V.SHIFT_Q : V.SHIFT_D, ShiftImm.SRL, m, isDouble ? 13 : 10);
  vv(a, isDouble ? V.ANDNPD : V.ANDNPS, m, x);
  free(c, x);
  if (m !== b) free(c, b);
  if (m !== t) free(c, t);
  push(c, m);
}

/** abs / neg of packed floats through a sign mask built in a temp. */
function fsign(c: FunctionCompiler, isDouble: boolean, isNeg: boolean): void {
  if (!c.unop(V128, V128)) return;
  const a = c.asm;
  const x = pop(c);
  const t = tmp(c);
  vv(a, V.PCMPEQD, t, t);
  if (isNeg) {
    vshiftImm(a, isDouble ? V.SHIFT_Q : V.SHIFT_D, ShiftImm.SLL, t, isDouble ? 63 : 31);
    vv(a, isDouble ? V.XORPD : V.XORPS, x, t);
  } else {
    vshiftImm(a, isDouble ? V.SHIFT_Q : V.SHIFT_D, ShiftImm.SRL, t, 1);
    vv(a, isDouble ? V.ANDPD : V.ANDPS, x, t);
  }
  free(c, t);
  push(c, x);
}

/** Integer negation: 0 - x. */
function ineg(c: FunctionCompiler, sub: V): void {
  if (!c.unop(V128, V128)) return;
  const a = c.asm;
  const x = pop(c);
  const t = tmp(c);
  vv(a, V.PXOR, t, t);
  vv(a, sub, t, x);
  free(c, x);
  push(c, t);
}

// ---------------------------------------------------------------- shifts

const SHIFT_GROUP = [V.SHIFT_W, V.SHIFT_D, V.SHIFT_Q];
const SHIFT_SLL = [V.PSLLW, V.PSLLD, V.PSLLQ];
const SHIFT_SRL = [V.PSRLW, V.PSRLD, V.PSRLQ];
const SHIFT_SRA = [V.PSRAW, V.PSRAD];

/** Lane shifts. laneBits 8/16/32/64; kind 0 shl, 1 shr_s, 2 shr_u. The count is taken modulo laneBits. */
function shift(c: FunctionCompiler, laneBits: number, kind: number): void {
  c.need2(V128, I32);
  const vs = c.vs, a = c.asm;
  if (c.dead) {
    c.discard(2);
    vs.pushDead(V128);
    return;
  }
  const top = vs.height - 1;
  const w = laneBits === 16 ? 0 : laneBits === 32 ? 1 : 2;
  if (vs.kind[top] === K_CONST) {
    const n = vs.lo[top] & (laneBits - 1);
    vs.drop();
    const x = pop(c);
    if (n !== 0) shiftByImm(c, x, laneBits, kind, n, w);
    push(c, x);
    return;
  }
  const r = vs.popToReg();
  a.aluImm(AluOp.AND, false, r, laneBits - 1);
  if (laneBits === 8 && kind === 1) a.aluImm(AluOp.ADD, false, r, 8);
  const x = pop(c);
  const cnt = tmp(c);
  movdTo(a, false, cnt, r);
  vs.freeGpr(r);
  if (laneBits === 8) {
    if (kind === 1) {
      // Sign-extend bytes into words (byte in the high half), shift by n + 8, pack back.
      const t = tmp(c);
      vv(a, V.MOVDQA, t, x);
      vv(a, V.PUNPCKHBW, t, t);
      vv(a, V.PUNPCKLBW, x, x);
      vv(a, V.PSRAW, x, cnt);
      vv(a, V.PSRAW, t, cnt);
      vv(a, V.PACKSSWB, x, t);
      free(c, t);
    } else {
      // Shift words, then clear the bits that crossed a byte boundary with a broadcast byte mask.
      const m = tmp(c), z = tmp(c);
      vv(a, V.PCMPEQD, m, m);
      vshiftImm(a, V.SHIFT_W, ShiftImm.SRL, m, 8); // 0x00ff per word
      vv(a, kind === 0 ? V.PSLLW : V.PSRLW, m, cnt); // low byte: 0xff << n or 0xff >> n
      vv(a, V.PXOR, z, z);
      vv(a, V.PSHUFB, m, z);
      vv(a, kind === 0 ? V.PSLLW : V.PSRLW, x, cnt);
      vv(a, V.PAND, x, m);
      free(c, m);
      free(c, z);
    }
  } else if (kind === 0) {
    vv(a, SHIFT_SLL[w], x, cnt);
  } else if (kind === 2) {
    vv(a, SHIFT_SRL[w], x, cnt);
  } else if (laneBits !== 64) {
    vv(a, SHIFT_SRA[w], x, cnt);
  } else {
    // ((x >>> n) ^ m) - m with m = sign bit >>> n.
    const t = tmp(c);
    vv(a, V.PCMPEQD, t, t);
    vshiftImm(a, V.SHIFT_Q, ShiftImm.SLL, t, 63);
    vv(a, V.PSRLQ, t, cnt);
    vv(a, V.PSRLQ, x, cnt);
    vv(a, V.PXOR, x, t);
    vv(a, V.PSUBQ, x, t);
    free(c, t);
  }
  free(c, cnt);
  push(c, x);
}

function shiftByImm(c: FunctionCompiler, x: number, laneBits: number, kind: number, n: number, w: number): void {
  const a = c.asm;
  if (laneBits === 8) {
    if (kind === 1) {
      const t = tmp(c);
      vv(a, V.MOVDQA, t, x);
      vv(a, V.PUNPCKHBW, t, t);
      vv(a, V.PUNPCKLBW, x, x);
      vshiftImm(a, V.SHIFT_W, ShiftImm.SRA, x, n + 8);
      vshiftImm(a, V.SHIFT_W, ShiftImm.SRA, t, n + 8);
      vv(a, V.PACKSSWB, x, t);
      free(c, t);
    } else if (kind === 0) {
      vshiftImm(a, V.SHIFT_W, ShiftImm.SLL, x, n);
      vl(a, V.PAND, x, splat8(c, (0xff << n) & 0xff));
    } else {
      vshiftImm(a, V.SHIFT_W, ShiftImm.SRL, x, n);
      vl(a, V.PAND, x, splat8(c, 0xff >> n));
    }
    return;
  }
  if (kind === 0) vshiftImm(a, SHIFT_GROUP[w], ShiftImm.SLL, x, n);
  else if (kind === 2) vshiftImm(a, SHIFT_GROUP[w], ShiftImm.SRL, x, n);
  else if (laneBits !== 64) vshiftImm(a, SHIFT_GROUP[w], ShiftImm.SRA, x, n);
  else {
    const t = tmp(c);
    const bit = 63 - n; // m = 1 << (63 - n)
    vl(a, V.MOVDQA, t, bit >= 32 ? splat64(c, 0, 1 << (bit - 32)) : splat64(c, 1 << bit, 0));
    vshiftImm(a, V.SHIFT_Q, ShiftImm.SRL, x, n);
    vv(a, V.PXOR, x, t);
    vv(a, V.PSUBQ, x, t);
    free(c, t);
  }
}

// ---------------------------------------------------------------- memory

/** A v128 load of `size` bytes from memory with `op reg, [mem]` (imm8 appended when imm >= 0). */
function load(c: FunctionCompiler, size: number, op: V, imm = -1, post?: (x: number) => void): void {
  readMemarg(c, size);
  c.need1(addrType(c, maMem));
  const vs = c.vs;
  if (c.dead) {
    c.discard(1);
    vs.pushDead(V128);
    return;
  }
  emitAddress(c, size);
  const x = vs.allocXmm();
  vm(c.asm, op, x, addrBase, addrIndex, 1, addrDisp, imm);
  if (addrIndex >= 0) vs.freeGpr(addrIndex);
  if (post) post(x);
  push(c, x);
}

function store(c: FunctionCompiler): void {
  readMemarg(c, 16);
  c.need2(addrType(c, maMem), V128);
  const vs = c.vs;
  if (c.dead) {
    c.discard(2);
    return;
  }
  const x = pop(c);
  emitAddress(c, 16);
  c.asm.movdquStore(x, addrBase, addrIndex, 1, addrDisp);
  free(c, x);
  if (addrIndex >= 0) vs.freeGpr(addrIndex);
}

const LANE_LOAD = [V.PINSRB, V.PINSRW, V.PINSRD, V.PINSRQ];
const LANE_STORE = [V.PEXTRB, V.PEXTRW_M, V.PEXTRD, V.PEXTRQ];

/** v128.loadN_lane (store: v128.storeN_lane); log2 of the lane size in bytes. */
function laneMem(c: FunctionCompiler, log: number, isStore: boolean): void {
  const size = 1 << log;
  readMemarg(c, size);
  const lane = laneIndex(c, 16 >> log);
  c.need2(addrType(c, maMem), V128);
  const vs = c.vs;
  if (c.dead) {
    c.discard(2);
    if (!isStore) vs.pushDead(V128);
    return;
  }
  const x = pop(c);
  emitAddress(c, size);
  vm(c.asm, isStore ? LANE_STORE[log] : LANE_LOAD[log], x, addrBase, addrIndex, 1, addrDisp, lane);
  if (addrIndex >= 0) vs.freeGpr(addrIndex);
  if (isStore) free(c, x);
  else push(c, x);
}

// ---------------------------------------------------------------- lanes

function splat(c: FunctionCompiler, t: number, sub: number): void {
  if (!c.unop(t, V128)) return;
  const a = c.asm;
  if (t === F32 || t === F64) {
    const x = pop(c);
    if (t === F32) vvi(a, V.SHUFPS, x, x, 0);
    else vv(a, V.MOVDDUP, x, x);
    push(c, x);
    return;
  }
  const r = c.vs.popToReg();
  const x = tmp(c);
  movdTo(a, t === I64, x, r);
  c.vs.freeGpr(r);
  switch (sub) {
    case 0x0f: { // i8x16
      const z = tmp(c);
      vv(a, V.PXOR, z, z);
      vv(a, V.PSHUFB, x, z);
      free(c, z);
      break;
    }
    case 0x10: // i16x8
      vvi(a, V.PSHUFLW, x, x, 0);
      vvi(a, V.PSHUFD, x, x, 0);
      break;
    case 0x11: // i32x4
      vvi(a, V.PSHUFD, x, x, 0);
      break;
    case 0x12: // i64x2
      vv(a, V.PUNPCKLQDQ, x, x);
      break;
  }
  push(c, x);
}

function extractLane(c: FunctionCompiler, sub: number): void {
  const lanes = sub <= 0x16 ? 16 : sub <= 0x19 ? 8 : sub === 0x1b || sub === 0x1f ? 4 : 2;
  const t = sub <= 0x1b ? I32 : sub === 0x1d ? I64 : sub === 0x1f ? F32 : F64;
  const lane = laneIndex(c, lanes);
  if (!c.unop(V128, t)) return;
  const vs = c.vs, a = c.asm;
  const x = pop(c);
  if (t === F32 || t === F64) {
    if (lane !== 0) {
      if (t === F32) vvi(a, V.PSHUFD, x, x, lane);
      else vv(a, V.MOVHLPS, x, x);
    }
    vs.pushReg(t, x);
    return;
  }
  const r = vs.allocGpr();
  switch (sub) {
    case 0x15: pextr(a, V.PEXTRB, r, x, lane); a.movsxRR(false, 1, r, r); break;
    case 0x16: pextr(a, V.PEXTRB, r, x, lane); break;
    case 0x18: pextrw(a, r, x, lane); a.movsxRR(false, 2, r, r); break;
    case 0x19: pextrw(a, r, x, lane); break;
    case 0x1b: pextr(a, V.PEXTRD, r, x, lane); break;
    case 0x1d: pextr(a, V.PEXTRQ, r, x, lane); break;
  }
  free(c, x);
  vs.pushReg(t, r);
}

function replaceLane(c: FunctionCompiler, sub: number): void {
  const lanes = sub === 0x17 ? 16 : sub === 0x1a ? 8 : sub === 0x1c || sub === 0x20 ? 4 : 2;
  const t = sub <= 0x1c ? I32 : sub === 0x1e ? I64 : sub === 0x20 ? F32 : F64;
  const lane = laneIndex(c, lanes);
  c.need2(V128, t);
  const vs = c.vs, a = c.asm;
  if (c.dead) {
    c.discard(2);
    vs.pushDead(V128);
    return;
  }
  const s = vs.popToReg();
  const x = pop(c);
  switch (sub) {
    case 0x17: vvi(a, V.PINSRB, x, s, lane); break;
    case 0x1a: vvi(a, V.PINSRW, x, s, lane); break;
    case 0x1c: vvi(a, V.PINSRD, x, s, lane); break;
    case 0x1e: vvi(a, V.PINSRQ, x, s, lane); break;
    case 0x20: vvi(a, V.INSERTPS, x, s, lane << 4); break;
    case 0x22:
      if (lane === 0) vv(a, V.MOVSD, x, s);
      else vv(a, V.MOVLHPS, x, s);
      break;
  }
  vs.freeFor(t, s);
  push(c, x);
}

function shuffle(c: FunctionCompiler): void {
  const r = c.r;
  const lanes = new Uint8Array(16);
  for (let k = 0; k < 16; k++) lanes[k] = laneIndex(c, 32);
  void r;
  if (!c.binop(V128, V128)) return;
  const a = c.asm;
  const b = pop(c);
  const x = pop(c);
  const m1 = new Uint8Array(16), m2 = new Uint8Array(16);
  let useA = false, useB = false;
  for (let k = 0; k < 16; k++) {
    const l = lanes[k];
    if (l < 16) {
      m1[k] = l;
      m2[k] = 0x80;
      useA = true;
    } else {
      m1[k] = 0x80;
      m2[k] = l - 16;
      useB = true;
    }
  }
  const words = (m: Uint8Array): number => constLabel(c, word(m, 0), word(m, 4), word(m, 8), word(m, 12));
  if (useA) vl(a, V.PSHUFB, x, words(m1));
  if (useB) vl(a, V.PSHUFB, b, words(m2));
  if (useA && useB) vv(a, V.POR, x, b);
  if (useA) {
    free(c, b);
    push(c, x);
  } else {
    free(c, x);
    push(c, b);
  }
}

function word(m: Uint8Array, k: number): number {
  return m[k] | (m[k + 1] << 8) | (m[k + 2] << 16) | (m[k + 3] << 24);
}

// ---------------------------------------------------------------- reductions

/** v128.any_true and the all_true family (eq: the lane compare-with-zero op; -1 for any_true). */
function boolReduce(c: FunctionCompiler, eq: V | -1): void {
  if (!c.unop(V128, I32)) return;
  const vs = c.vs, a = c.asm;
  const x = pop(c);
  let cond = Cond.NE;
  if (eq === -1) {
    vv(a, V.PTEST, x, x);
  } else {
    // all lanes nonzero <=> no lane equals zero
    const t = tmp(c);
    vv(a, V.PXOR, t, t);
    vv(a, eq, t, x);
    vv(a, V.PTEST, t, t);
    free(c, t);
    cond = Cond.E;
  }
  free(c, x);
  if (c.nextConsumesFlags()) {
    c.pushFlags(cond);
    return;
  }
  const r = vs.allocGpr(); // (only movs between the test and setcc)
  a.setcc(cond, r);
  a.movzxRR(1, r, r);
  vs.pushReg(I32, r);
}

function bitmask(c: FunctionCompiler, sub: number): void {
  if (!c.unop(V128, I32)) return;
  const vs = c.vs, a = c.asm;
  const x = pop(c);
  const r = vs.allocGpr();
  switch (sub) {
    case 0x64: vv(a, V.PMOVMSKB, r, x); break;
    case 0x84: vv(a, V.PACKSSWB, x, x); vv(a, V.PMOVMSKB, r, x); a.movzxRR(1, r, r); break;
    case 0xa4: vv(a, V.MOVMSKPS, r, x); break;
    case 0xc4: vv(a, V.MOVMSKPD, r, x); break;
  }
  free(c, x);
  vs.pushReg(I32, r);
}

// ---------------------------------------------------------------- widening and narrowing arithmetic

/** extend_low/high_*: low uses pmovsx/pmovzx; high moves the high half down first (or unpacks with 0). */
function extend(c: FunctionCompiler, mov: V, high: boolean, unsigned: boolean, unpackHigh: V): void {
  if (!c.unop(V128, V128)) return;
  const a = c.asm;
  const x = pop(c);
  if (high && unsigned) {
    const z = tmp(c);
    vv(a, V.PXOR, z, z);
    vv(a, unpackHigh, x, z);
    free(c, z);
  } else {
    if (high) vvi(a, V.PSHUFD, x, x, 0xee);
    vv(a, mov, x, x);
  }
  push(c, x);
}

/** i16x8.extmul_*_i8x16: widen both operands, multiply 16-bit lanes. */
function extmul8(c: FunctionCompiler, mov: V, high: boolean): void {
  if (!c.binop(V128, V128)) return;
  const a = c.asm;
  const b = pop(c);
  const x = pop(c);
  if (high) {
    vvi(a, V.PSHUFD, x, x, 0xee);
    vvi(a, V.PSHUFD, b, b, 0xee);
  }
  vv(a, mov, x, x);
  vv(a, mov, b, b);
  vv(a, V.PMULLW, x, b);
  free(c, b);
  push(c, x);
}

/** i32x4.extmul_*_i16x8: low and high 16-bit halves of the products, interleaved. */
function extmul16(c: FunctionCompiler, signed: boolean, high: boolean): void {
  if (!c.binop(V128, V128)) return;
  const a = c.asm;
  const b = pop(c);
  const x = pop(c);
  const t = tmp(c);
  vv(a, V.MOVDQA, t, x);
  vv(a, V.PMULLW, x, b);
  vv(a, signed ? V.PMULHW : V.PMULHUW, t, b);
  vv(a, high ? V.PUNPCKHWD : V.PUNPCKLWD, x, t);
  free(c, t);
  free(c, b);
  push(c, x);
}

/** i64x2.extmul_*_i32x4: place the 32-bit lanes at even positions, then pmuldq/pmuludq. */
function extmul32(c: FunctionCompiler, signed: boolean, high: boolean): void {
  if (!c.binop(V128, V128)) return;
  const a = c.asm;
  const b = pop(c);
  const x = pop(c);
  const sel = high ? 0xfa : 0x50;
  vvi(a, V.PSHUFD, x, x, sel);
  vvi(a, V.PSHUFD, b, b, sel);
  vv(a, signed ? V.PMULDQ : V.PMULUDQ, x, b);
  free(c, b);
  push(c, x);
}

function i64mul(c: FunctionCompiler): void {
  if (!c.binop(V128, V128)) return;
  const a = c.asm;
  const b = pop(c);
  const x = pop(c);
  const t1 = tmp(c), t2 = tmp(c);
  vv(a, V.MOVDQA, t1, x);
  vshiftImm(a, V.SHIFT_Q, ShiftImm.SRL, t1, 32);
  vv(a, V.PMULUDQ, t1, b); // hi(x) * lo(b)
  vv(a, V.MOVDQA, t2, b);
  vshiftImm(a, V.SHIFT_Q, ShiftImm.SRL, t2, 32);
  vv(a, V.PMULUDQ, t2, x); // hi(b) * lo(x)
  vv(a, V.PADDQ, t1, t2);
  vshiftImm(a, V.SHIFT_Q, ShiftImm.SLL, t1, 32);
  vv(a, V.PMULUDQ, x, b); // lo(x) * lo(b)
  vv(a, V.PADDQ, x, t1);
  free(c, t1);
  free(c, t2);
  free(c, b);
  push(c, x);
}

function popcnt(c: FunctionCompiler): void {
  if (!c.unop(V128, V128)) return;
  const a = c.asm;
  const x = pop(c);
  const t = tmp(c), l = tmp(c);
  const mask = splat8(c, 0x0f);
  const lut = constLabel(c, 0x02010100, 0x03020201, 0x03020201, 0x04030302);
  vv(a, V.MOVDQA, t, x);
  vshiftImm(a, V.SHIFT_W, ShiftImm.SRL, t, 4);
  vl(a, V.PAND, t, mask);
  vl(a, V.PAND, x, mask);
  vl(a, V.MOVDQA, l, lut);
  vv(a, V.PSHUFB, l, x);
  vl(a, V.MOVDQA, x, lut);
  vv(a, V.PSHUFB, x, t);
  vv(a, V.PADDB, x, l);
  free(c, t);
  free(c, l);
  push(c, x);
}

// ---------------------------------------------------------------- conversions

export function truncSatF32(c: FunctionCompiler, unsigned: boolean): void {
  if (!c.unop(V128, V128)) return;
  const a = c.asm;
  const x = pop(c);
  const t = tmp(c);
  if (!unsigned) {
    vv(a, V.MOVAPS, t, x);
    vvi(a, V.CMPPS, t, t, FCmp.EQ);
    vv(a, V.ANDPS, x, t); // NaN lanes -> 0
    vv(a, V.MOVAPS, t, x);
    vv(a, V.CVTTPS2DQ, x, x); // out of range -> 0x80000000
    vv(a, V.PXOR, t, x);
    vv(a, V.PAND, t, x); // sign set: positive input, negative result = positive overflow
    vshiftImm(a, V.SHIFT_D, ShiftImm.SRA, t, 31);
    vv(a, V.PXOR, x, t); // 0x80000000 -> 0x7fffffff there
    free(c, t);
  } else {
    const z = tmp(c), m = tmp(c);
    vv(a, V.PXOR, z, z);
    vv(a, V.MAXPS, x, z); // NaN and negatives -> 0
    vv(a, V.MOVAPS, t, x);
    vl(a, V.SUBPS, t, splatF32(c, 2147483648));
    vl(a, V.MOVAPS, m, splatF32(c, 4294967296));
    vvi(a, V.CMPPS, m, x, FCmp.LE); // 2^32 <= x: saturate to all ones
    vv(a, V.CVTTPS2DQ, x, x); // right below 2^31, else 0x80000000
    vv(a, V.CVTTPS2DQ, t, t); // x - 2^31 when that is in [0, 2^31), else negative or 0x80000000
    vv(a, V.PMAXSD, t, z);
    vv(a, V.PADDD, x, t);
    vv(a, V.POR, x, m);
    free(c, t);
    free(c, z);
    free(c, m);
  }
  push(c, x);
}

export function truncSatF64(c: FunctionCompiler, unsigned: boolean): void {
  if (!c.unop(V128, V128)) return;
  const a = c.asm;
  const x = pop(c);
  const t = tmp(c);
  if (!unsigned) {
    vv(a, V.MOVAPD, t, x);
    vvi(a, V.CMPPD, t, t, FCmp.EQ);
    vv(a, V.ANDPD, x, t); // NaN lanes -> 0
    vl(a, V.MINPD, x, splatF64(c, 2147483647));
    vv(a, V.CVTTPD2DQ, x, x); // below -2^31 -> 0x80000000 (the saturated value); upper lanes zeroed
  } else {
    vv(a, V.XORPD, t, t);
    vv(a, V.MAXPD, x, t); // NaN and negatives -> 0
    vl(a, V.MINPD, x, splatF64(c, 4294967295));
    vvi(a, V.ROUNDPD, x, x, RoundMode.TRUNC);
    vl(a, V.ADDPD, x, splatF64(c, 4503599627370496)); // 2^52: the integer lands in the low mantissa bits
    vvi(a, V.SHUFPS, x, t, 0x08); // lanes: x.d0, x.d2, 0, 0
  }
  free(c, t);
  push(c, x);
}

function convertU32ToF32(c: FunctionCompiler): void {
  if (!c.unop(V128, V128)) return;
  const a = c.asm;
  const x = pop(c);
  const t = tmp(c);
  vv(a, V.MOVDQA, t, x);
  vshiftImm(a, V.SHIFT_D, ShiftImm.SLL, t, 16);
  vshiftImm(a, V.SHIFT_D, ShiftImm.SRL, t, 16); // low 16 bits
  vshiftImm(a, V.SHIFT_D, ShiftImm.SRL, x, 16); // high 16 bits
  vv(a, V.CVTDQ2PS, x, x);
  vl(a, V.MULPS, x, splatF32(c, 65536)); // exact
  vv(a, V.CVTDQ2PS, t, t);
  vv(a, V.ADDPS, x, t); // the only rounding step
  free(c, t);
  push(c, x);
}

function convertLowU32ToF64(c: FunctionCompiler): void {
  if (!c.unop(V128, V128)) return;
  const a = c.asm;
  const x = pop(c);
  vl(a, V.PUNPCKLDQ, x, splat32(c, 0x43300000)); // 2^52 + n as doubles
  vl(a, V.SUBPD, x, splat64(c, 0, 0x43300000));
  push(c, x);
}

// ---------------------------------------------------------------- dispatch

export function emitSimd(c: FunctionCompiler, sub: number): void {
  if (!cpuFeatures().sse41) c.error('SIMD instructions need a CPU with SSE4.1, which this one lacks');
  const vs = c.vs, a = c.asm;
  if (vs.v128Pool === null) vs.v128Pool = (w0, w1, w2, w3) => constLabel(c, w0, w1, w2, w3);
  switch (sub) {
    // ---- memory
    case 0x00: return load(c, 16, V.MOVDQU);
    case 0x01: return load(c, 8, V.PMOVSXBW);
    case 0x02: return load(c, 8, V.PMOVZXBW);
    case 0x03: return load(c, 8, V.PMOVSXWD);
    case 0x04: return load(c, 8, V.PMOVZXWD);
    case 0x05: return load(c, 8, V.PMOVSXDQ);
    case 0x06: return load(c, 8, V.PMOVZXDQ);
    case 0x07: return load(c, 1, V.PINSRB, 0, (x) => {
      const z = tmp(c);
      vv(a, V.PXOR, z, z);
      vv(a, V.PSHUFB, x, z);
      free(c, z);
    });
    case 0x08: return load(c, 2, V.PINSRW, 0, (x) => {
      vvi(a, V.PSHUFLW, x, x, 0);
      vvi(a, V.PSHUFD, x, x, 0);
    });
    case 0x09: return load(c, 4, V.MOVSS, -1, (x) => vvi(a, V.PSHUFD, x, x, 0));
    case 0x0a: return load(c, 8, V.MOVDDUP);
    case 0x0b: return store(c);
    case 0x5c: return load(c, 4, V.MOVSS);
    case 0x5d: return load(c, 8, V.MOVQ);
    case 0x54: return laneMem(c, 0, false);
    case 0x55: return laneMem(c, 1, false);
    case 0x56: return laneMem(c, 2, false);
    case 0x57: return laneMem(c, 3, false);
    case 0x58: return laneMem(c, 0, true);
    case 0x59: return laneMem(c, 1, true);
    case 0x5a: return laneMem(c, 2, true);
    case 0x5b: return laneMem(c, 3, true);

    // ---- constants, shuffles, lanes
    case 0x0c: {
      const r = c.r;
      const w = [0, 0, 0, 0];
      for (let k = 0; k < 4; k++) w[k] = r.u8() | (r.u8() << 8) | (r.u8() << 16) | (r.u8() << 24);
      if (c.dead) vs.pushDead(V128);
      else vs.pushConstV128(w[0], w[1], w[2], w[3]);
      return;
    }
    case 0x0d: return shuffle(c);
    case 0x0e: {
      if (!c.binop(V128, V128)) return;
      const s = pop(c);
      const x = pop(c);
      vl(a, V.PADDUSB, s, splat8(c, 0x70)); // indices >= 16 get the high bit: pshufb zeroes those lanes
      vv(a, V.PSHUFB, x, s);
      free(c, s);
      push(c, x);
      return;
    }
    case 0x0f: case 0x10: case 0x11: return splat(c, I32, sub);
    case 0x12: return splat(c, I64, sub);
    case 0x13: return splat(c, F32, sub);
    case 0x14: return splat(c, F64, sub);
    case 0x15: case 0x16: case 0x18: case 0x19: case 0x1b: case 0x1d: case 0x1f: case 0x21:
      return extractLane(c, sub);
    case 0x17: case 0x1a: case 0x1c: case 0x1e: case 0x20: case 0x22:
      return replaceLane(c, sub);

    // ---- comparisons
    case 0x41: return fcmp(c, V.CMPPS, FCmp.EQ, false);
    case 0x42: return fcmp(c, V.CMPPS, FCmp.NEQ, false);
    case 0x43: return fcmp(c, V.CMPPS, FCmp.LT, false);
    case 0x44: return fcmp(c, V.CMPPS, FCmp.LT, true);
    case 0x45: return fcmp(c, V.CMPPS, FCmp.LE, false);
    case 0x46: return fcmp(c, V.CMPPS, FCmp.LE, true);
    case 0x47: return fcmp(c, V.CMPPD, FCmp.EQ, false);
    case 0x48: return fcmp(c, V.CMPPD, FCmp.NEQ, false);
    case 0x49: return fcmp(c, V.CMPPD, FCmp.LT, false);
    case 0x4a: return fcmp(c, V.CMPPD, FCmp.LT, true);
    case 0x4b: return fcmp(c, V.CMPPD, FCmp.LE, false);
    case 0x4c: return fcmp(c, V.CMPPD, FCmp.LE, true);
    case 0xd6: case 0xd7: case 0xd8: case 0xd9: case 0xda: case 0xdb:
      return icmp64(c, sub - 0xd6);

    // ---- bitwise
    case 0x4d: {
      if (!c.unop(V128, V128)) return;
      const x = pop(c);
      not(c, x);
      push(c, x);
      return;
    }
    case 0x4e: return bin(c, V.PAND);
    case 0x4f: return binRev(c, V.PANDN); // a & ~b = pandn(b, a)
    case 0x50: return bin(c, V.POR);
    case 0x51: return bin(c, V.PXOR);
    case 0x52: { // bitselect v1 v2 c = (v1 & c) | (v2 & ~c) = ((v1 ^ v2) & c) ^ v2
      c.need3(V128, V128, V128);
      if (c.dead) {
        c.discard(3);
        vs.pushDead(V128);
        return;
      }
      const m = pop(c);
      const y = pop(c);
      const x = pop(c);
      vv(a, V.PXOR, x, y);
      vv(a, V.PAND, x, m);
      vv(a, V.PXOR, x, y);
      free(c, m);
      free(c, y);
      push(c, x);
      return;
    }
    case 0x53: return boolReduce(c, -1);
    case 0x63: return boolReduce(c, V.PCMPEQB);
    case 0x83: return boolReduce(c, V.PCMPEQW);
    case 0xa3: return boolReduce(c, V.PCMPEQD);
    case 0xc3: return boolReduce(c, V.PCMPEQQ);
    case 0x64: case 0x84: case 0xa4: case 0xc4: return bitmask(c, sub);

    // ---- float <-> float / int conversions
    case 0x5e: return un(c, V.CVTPD2PS);
    case 0x5f: return un(c, V.CVTPS2PD);
    case 0xf8: return truncSatF32(c, false);
    case 0xf9: return truncSatF32(c, true);
    case 0xfa: return un(c, V.CVTDQ2PS);
    case 0xfb: return convertU32ToF32(c);
    case 0xfc: return truncSatF64(c, false);
    case 0xfd: return truncSatF64(c, true);
    case 0xfe: return un(c, V.CVTDQ2PD);
    case 0xff: return convertLowU32ToF64(c);

    // ---- i8x16
    case 0x60: return un(c, V.PABSB);
    case 0x61: return ineg(c, V.PSUBB);
    case 0x62: return popcnt(c);
    case 0x65: return bin(c, V.PACKSSWB);
    case 0x66: return bin(c, V.PACKUSWB);
    case 0x6b: return shift(c, 8, 0);
    case 0x6c: return shift(c, 8, 1);
    case 0x6d: return shift(c, 8, 2);
    case 0x6e: return bin(c, V.PADDB);
    case 0x6f: return bin(c, V.PADDSB);
    case 0x70: return bin(c, V.PADDUSB);
    case 0x71: return bin(c, V.PSUBB);
    case 0x72: return bin(c, V.PSUBSB);
    case 0x73: return bin(c, V.PSUBUSB);
    case 0x76: return bin(c, V.PMINSB);
    case 0x77: return bin(c, V.PMINUB);
    case 0x78: return bin(c, V.PMAXSB);
    case 0x79: return bin(c, V.PMAXUB);
    case 0x7b: return bin(c, V.PAVGB);

    // ---- float rounding
    case 0x67: return unImm(c, V.ROUNDPS, RoundMode.CEIL);
    case 0x68: return unImm(c, V.ROUNDPS, RoundMode.FLOOR);
    case 0x69: return unImm(c, V.ROUNDPS, RoundMode.TRUNC);
    case 0x6a: return unImm(c, V.ROUNDPS, RoundMode.NEAREST);
    case 0x74: return unImm(c, V.ROUNDPD, RoundMode.CEIL);
    case 0x75: return unImm(c, V.ROUNDPD, RoundMode.FLOOR);
    case 0x7a: return unImm(c, V.ROUNDPD, RoundMode.TRUNC);
    case 0x94: return unImm(c, V.ROUNDPD, RoundMode.NEAREST);

    // ---- extadd_pairwise
    case 0x7c: { // i16x8 from i8x16, signed: pmaddubsw(ones as unsigned, x as signed)
      if (!c.unop(V128, V128)) return;
      const x = pop(c);
      const t = tmp(c);
      vl(a, V.MOVDQA, t, splat8(c, 1));
      vv(a, V.PMADDUBSW, t, x);
      free(c, x);
      push(c, t);
      return;
    }
    case 0x7d: { // unsigned: pmaddubsw(x as unsigned, ones as signed)
      if (!c.unop(V128, V128)) return;
      const x = pop(c);
      vl(a, V.PMADDUBSW, x, splat8(c, 1));
      push(c, x);
      return;
    }
    case 0x7e: { // i32x4 from i16x8, signed
      if (!c.unop(V128, V128)) return;
      const x = pop(c);
      vl(a, V.PMADDWD, x, splat16(c, 1));
      push(c, x);
      return;
    }
    case 0x7f: { // unsigned: bias to signed, pairwise add, unbias (+2 * 0x8000)
      if (!c.unop(V128, V128)) return;
      const x = pop(c);
      vl(a, V.PXOR, x, splat16(c, 0x8000));
      vl(a, V.PMADDWD, x, splat16(c, 1));
      vl(a, V.PADDD, x, splat32(c, 0x10000));
      push(c, x);
      return;
    }

    // ---- i16x8
    case 0x80: return un(c, V.PABSW);
    case 0x81: return ineg(c, V.PSUBW);
    case 0x82: { // q15mulr_sat_s: pmulhrsw, then 0x8000 * 0x8000 (the one overflow) -> 0x7fff
      if (!c.binop(V128, V128)) return;
      const b = pop(c);
      const x = pop(c);
      vv(a, V.PMULHRSW, x, b);
      vl(a, V.MOVDQA, b, splat16(c, 0x8000));
      vv(a, V.PCMPEQW, b, x);
      vv(a, V.PXOR, x, b);
      free(c, b);
      push(c, x);
      return;
    }
    case 0x85: return bin(c, V.PACKSSDW);
    case 0x86: return bin(c, V.PACKUSDW);
    case 0x87: return extend(c, V.PMOVSXBW, false, false, V.PUNPCKHBW);
    case 0x88: return extend(c, V.PMOVSXBW, true, false, V.PUNPCKHBW);
    case 0x89: return extend(c, V.PMOVZXBW, false, true, V.PUNPCKHBW);
    case 0x8a: return extend(c, V.PMOVZXBW, true, true, V.PUNPCKHBW);
    case 0x8b: return shift(c, 16, 0);
    case 0x8c: return shift(c, 16, 1);
    case 0x8d: return shift(c, 16, 2);
    case 0x8e: return bin(c, V.PADDW);
    case 0x8f: return bin(c, V.PADDSW);
    case 0x90: return bin(c, V.PADDUSW);
    case 0x91: return bin(c, V.PSUBW);
    case 0x92: return bin(c, V.PSUBSW);
    case 0x93: return bin(c, V.PSUBUSW);
    case 0x95: return bin(c, V.PMULLW);
    case 0x96: return bin(c, V.PMINSW);
    case 0x97: return bin(c, V.PMINUW);
    case 0x98: return bin(c, V.PMAXSW);
    case 0x99: return bin(c, V.PMAXUW);
    case 0x9b: return bin(c, V.PAVGW);
    case 0x9c: return extmul8(c, V.PMOVSXBW, false);
    case 0x9d: return extmul8(c, V.PMOVSXBW, true);
    case 0x9e: return extmul8(c, V.PMOVZXBW, false);
    case 0x9f: return extmul8(c, V.PMOVZXBW, true);

    // ---- i32x4
    case 0xa0: return un(c, V.PABSD);
    case 0xa1: return ineg(c, V.PSUBD);
    case 0xa7: return extend(c, V.PMOVSXWD, false, false, V.PUNPCKHWD);
    case 0xa8: return extend(c, V.PMOVSXWD, true, false, V.PUNPCKHWD);
    case 0xa9: return extend(c, V.PMOVZXWD, false, true, V.PUNPCKHWD);
    case 0xaa: return extend(c, V.PMOVZXWD, true, true, V.PUNPCKHWD);
    case 0xab: return shift(c, 32, 0);
    case 0xac: return shift(c, 32, 1);
    case 0xad: return shift(c, 32, 2);
    case 0xae: return bin(c, V.PADDD);
    case 0xb1: return bin(c, V.PSUBD);
    case 0xb5: return bin(c, V.PMULLD);
    case 0xb6: return bin(c, V.PMINSD);
    case 0xb7: return bin(c, V.PMINUD);
    case 0xb8: return bin(c, V.PMAXSD);
    case 0xb9: return bin(c, V.PMAXUD);
    case 0xba: return bin(c, V.PMADDWD);
    case 0xbc: return extmul16(c, true, false);
    case 0xbd: return extmul16(c, true, true);
    case 0xbe: return extmul16(c, false, false);
    case 0xbf: return extmul16(c, false, true);

    // ---- i64x2
    case 0xc0: { // abs: (x ^ s) - s with s the sign of each lane
      if (!c.unop(V128, V128)) return;
      const x = pop(c);
      const t = tmp(c);
      vvi(a, V.PSHUFD, t, x, 0xf5);
      vshiftImm(a, V.SHIFT_D, ShiftImm.SRA, t, 31);
      vv(a, V.PXOR, x, t);
      vv(a, V.PSUBQ, x, t);
      free(c, t);
      push(c, x);
      return;
    }
    case 0xc1: return ineg(c, V.PSUBQ);
    case 0xc7: return extend(c, V.PMOVSXDQ, false, false, V.PUNPCKHDQ);
    case 0xc8: return extend(c, V.PMOVSXDQ, true, false, V.PUNPCKHDQ);
    case 0xc9: return extend(c, V.PMOVZXDQ, false, true, V.PUNPCKHDQ);
    case 0xca: return extend(c, V.PMOVZXDQ, true, true, V.PUNPCKHDQ);
    case 0xcb: return shift(c, 64, 0);
    case 0xcc: return shift(c, 64, 1);
    case 0xcd: return shift(c, 64, 2);
    case 0xce: return bin(c, V.PADDQ);
    case 0xd1: return bin(c, V.PSUBQ);
    case 0xd5: return i64mul(c);
    case 0xdc: return extmul32(c, true, false);
    case 0xdd: return extmul32(c, true, true);
    case 0xde: return extmul32(c, false, false);
    case 0xdf: return extmul32(c, false, true);

    // ---- f32x4 / f64x2 arithmetic
    case 0xe0: return fsign(c, false, false);
    case 0xe1: return fsign(c, false, true);
    case 0xe3: return un(c, V.SQRTPS);
    case 0xe4: return bin(c, V.ADDPS);
    case 0xe5: return bin(c, V.SUBPS);
    case 0xe6: return bin(c, V.MULPS);
    case 0xe7: return bin(c, V.DIVPS);
    case 0xe8: return fminmax(c, false, false);
    case 0xe9: return fminmax(c, false, true);
    case 0xea: return binRev(c, V.MINPS); // pmin: b < a ? b : a = minps(b, a)
    case 0xeb: return binRev(c, V.MAXPS); // pmax: a < b ? b : a = maxps(b, a)
    case 0xec: return fsign(c, true, false);
    case 0xed: return fsign(c, true, true);
    case 0xef: return un(c, V.SQRTPD);
    case 0xf0: return bin(c, V.ADDPD);
    case 0xf1: return bin(c, V.SUBPD);
    case 0xf2: return bin(c, V.MULPD);
    case 0xf3: return bin(c, V.DIVPD);
    case 0xf4: return fminmax(c, true, false);
    case 0xf5: return fminmax(c, true, true);
    case 0xf6: return binRev(c, V.MINPD);
    case 0xf7: return binRev(c, V.MAXPD);
  }
  if (sub >= 0x100 && sub <= 0x113) return emitRelaxedSimd(c, sub);
  if (sub >= 0x23 && sub <= 0x40) {
    const k = (sub - 0x23) % 10;
    const ops = sub < 0x2d ? ICMP_8 : sub < 0x37 ? ICMP_16 : ICMP_32;
    return icmp(c, ops, k);
  }
  c.error(`illegal opcode 0xfd ${sub}`);
}
