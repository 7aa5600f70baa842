// Relaxed SIMD (Wasm 3.0, prefix 0xfd, sub-opcodes 0x100-0x113): each operator lowered to the cheapest x86
// sequence whose result the spec allows, choosing V8's result on x64 wherever that costs nothing extra, so
// Node is a usable oracle. Results are deterministic for a given CPU feature set (the code cache key
// includes it). The choices:
//
// - i8x16.relaxed_swizzle: pshufb. Indices 16-127 select lane (i & 15), 128-255 give 0 (V8 too).
// - i32x4.relaxed_trunc_f32x4_s / _f64x2_s_zero: cvttps2dq / cvttpd2dq, so NaN and out-of-range lanes are
//   0x80000000 (V8 too). The unsigned forms are the saturating trunc_sat_u sequences (V8 too: NaN -> 0).
// - f32x4/f64x2.relaxed_madd / nmadd: fused (vfmadd231 / vfnmadd231, one rounding) when the CPU has FMA3,
//   as V8 does; otherwise mulps + addps (two roundings). Both are allowed, so the result depends on whether
//   the CPU has FMA, which the spec permits (it is fixed for a given machine and code-cache key). A NaN
//   result is the hardware's quieted propagation of an operand's NaN; with several NaN operands which one
//   wins may differ from V8 (its operand order depends on its register allocation: Node 24 and 26 differ).
// - relaxed_laneselect: the spec's choice (R_laneselect) is one for all lane widths. With AVX, the top bit
//   of each mask lane selects the whole lane: vpblendvb / vblendvps / vblendvpd for 8/32/64-bit lanes (V8's
//   instructions), and for 16-bit lanes psraw 15 to spread the top bit, then vpblendvb (V8 blends 16-bit
//   lanes by the top bit of each byte, which for a mask lane like 0x8000 is neither of the spec's options;
//   we differ from it there). Without AVX (the SSE4.1 blends need the mask in xmm0) every width is the
//   bit-wise select pxor/pand/pxor, the spec's other option.
// - relaxed_min / relaxed_max: minps/maxps (minpd/maxpd) a, b: the second operand when either is NaN or
//   both are zeros (V8 too), no canonicalisation.
// - i16x8.relaxed_q15mulr_s: pmulhrsw alone (0x8000 * 0x8000 gives 0x8000, V8 too).
// - i16x8.relaxed_dot_i8x16_i7x16_s: pmaddubsw with the second operand as the unsigned one (V8 too); for
//   the specified range (second operand 0-127) that is the exact dot product; i32x4..._add_s adds
//   pmaddwd-by-ones pairs to the accumulator.

import type { Assembler } from '../x64/assembler.js';
import type { FunctionCompiler } from './function-compiler.js';
import { ValType } from '../decode/types.js';
import { V, vv, vl, vshiftImm, ShiftImm } from '../x64/assembler-simd.js';
import { cpuFeatures } from '../x64/cpu-features.js';
import { bin, free, pop, push, splat16, truncSatF32, truncSatF64, un } from './emit-simd.js';

const V128 = ValType.V128;

// ---------------------------------------------------------------- VEX encodings (register forms only)

const MAP_0F38 = 2, MAP_0F3A = 3;
const PP_66 = 1;

/** A VEX.128 instruction `op reg, vvvv, rm` (is4: a fourth register operand in imm8[7:4], or -1). */
function vex(a: Assembler, map: number, w: number, op: number, reg: number, vvvv: number, rm: number, is4 = -1): void {
  a.byte(0xc4);
  a.byte(((reg & 8) ? 0 : 0x80) | 0x40 | ((rm & 8) ? 0 : 0x20) | map);
  a.byte((w << 7) | ((~vvvv & 15) << 3) | PP_66);
  a.byte(op);
  a.byte(0xc0 | ((reg & 7) << 3) | (rm & 7));
  if (is4 >= 0) a.byte(is4 << 4);
}

const VFMADD231 = 0xb8, VFNMADD231 = 0xbc;
const VBLENDVPS = 0x4a, VBLENDVPD = 0x4b, VPBLENDVB = 0x4c;

// ---------------------------------------------------------------- operators

/** Pop three v128 operands (a, b, c with c on top); false in dead code. */
function ternary(c: FunctionCompiler): boolean {
  c.need3(V128, V128, V128);
  if (c.dead) {
    c.discard(3);
    c.vs.pushDead(V128);
    return false;
  }
  return true;
}

/** relaxed_madd (a * b + c) and relaxed_nmadd (-(a * b) + c). */
function madd(c: FunctionCompiler, isDouble: boolean, negate: boolean): void {
  if (!ternary(c)) return;
  const a = c.asm;
  const z = pop(c);
  const y = pop(c);
  const x = pop(c);
  // b before a in the multiplication: when both are NaN, b's payload wins, as in Node 24's V8.
  if (cpuFeatures().fma) {
    vex(a, MAP_0F38, isDouble ? 1 : 0, negate ? VFNMADD231 : VFMADD231, z, y, x); // z = y * x + z
    free(c, x);
    free(c, y);
    push(c, z);
    return;
  }
  vv(a, isDouble ? V.MULPD : V.MULPS, y, x);
  if (negate) {
    vv(a, isDouble ? V.SUBPD : V.SUBPS, z, y);
    free(c, x);
    free(c, y);
    push(c, z);
  } else {
    vv(a, isDouble ? V.ADDPD : V.ADDPS, y, z);
    free(c, x);
    free(c, z);
    push(c, y);
  }
}

/** relaxed_laneselect a b m: lanes of a where m is set, of b elsewhere. blend: the VEX blend for the width. */
function laneselect(c: FunctionCompiler, blend: number, words: boolean): void {
  if (!ternary(c)) return;
  const a = c.asm;
  const m = pop(c);
  const y = pop(c);
  const x = pop(c);
  if (cpuFeatures().avx) {
    if (words) vshiftImm(a, V.SHIFT_W, ShiftImm.SRA, m, 15); // each word's top bit into both of its bytes
    vex(a, MAP_0F3A, 0, blend, x, y, x, m); // x = top bits of m ? x : y
  } else {
    vv(a, V.PXOR, x, y);
    vv(a, V.PAND, x, m);
    vv(a, V.PXOR, x, y);
  }
  free(c, m);
  free(c, y);
  push(c, x);
}

/** i16x8.relaxed_dot_i8x16_i7x16_s a b: pmaddubsw(b as unsigned, a as signed). */
function dot(c: FunctionCompiler): void {
  if (!c.binop(V128, V128)) return;
  const y = pop(c);
  const x = pop(c);
  vv(c.asm, V.PMADDUBSW, y, x);
  free(c, x);
  push(c, y);
}

/** i32x4.relaxed_dot_i8x16_i7x16_add_s a b acc. */
function dotAdd(c: FunctionCompiler): void {
  if (!ternary(c)) return;
  const a = c.asm;
  const z = pop(c);
  const y = pop(c);
  const x = pop(c);
  vv(a, V.PMADDUBSW, y, x);
  vl(a, V.PMADDWD, y, splat16(c, 1));
  vv(a, V.PADDD, y, z);
  free(c, x);
  free(c, z);
  push(c, y);
}

export function emitRelaxedSimd(c: FunctionCompiler, sub: number): void {
  switch (sub) {
    case 0x100: return bin(c, V.PSHUFB);
    case 0x101: return un(c, V.CVTTPS2DQ);
    case 0x102: return truncSatF32(c, true);
    case 0x103: return un(c, V.CVTTPD2DQ);
    case 0x104: return truncSatF64(c, true);
    case 0x105: return madd(c, false, false);
    case 0x106: return madd(c, false, true);
    case 0x107: return madd(c, true, false);
    case 0x108: return madd(c, true, true);
    case 0x109: return laneselect(c, VPBLENDVB, false);
    case 0x10a: return laneselect(c, VPBLENDVB, true);
    case 0x10b: return laneselect(c, VBLENDVPS, false);
    case 0x10c: return laneselect(c, VBLENDVPD, false);
    case 0x10d: return bin(c, V.MINPS);
    case 0x10e: return bin(c, V.MAXPS);
    case 0x10f: return bin(c, V.MINPD);
    case 0x110: return bin(c, V.MAXPD);
    case 0x111: return bin(c, V.PMULHRSW);
    case 0x112: return dot(c);
    case 0x113: return dotAdd(c);
  }
  c.error(`illegal opcode 0xfd ${sub}`);
}

