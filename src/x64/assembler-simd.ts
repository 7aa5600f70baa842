// The packed SSE instruction set (SSE2 .. SSE4.1) used by the SIMD compiler (emit-simd.ts), on top of the
// Assembler's generic SSE encoders. Each operation is one number: bits 25-26 select the mandatory prefix
// (none / 66 / F3 / F2), bit 24 is REX.W, bits 0-23 the opcode bytes after the prefix (0F xx, 0F 38 xx,
// 0F 3A xx). Register operands are XMM or GPR numbers 0-15 as the instruction requires.

import type { Assembler } from './assembler.js';

/** Packed operations (see the file comment for the encoding of the values). */
export const enum V {
  PADDB = 0x02000ffc,
  PADDW = 0x02000ffd,
  PADDD = 0x02000ffe,
  PADDQ = 0x02000fd4,
  PSUBB = 0x02000ff8,
  PSUBW = 0x02000ff9,
  PSUBD = 0x02000ffa,
  PSUBQ = 0x02000ffb,
  PADDSB = 0x02000fec,
  PADDSW = 0x02000fed,
  PADDUSB = 0x02000fdc,
  PADDUSW = 0x02000fdd,
  PSUBSB = 0x02000fe8,
  PSUBSW = 0x02000fe9,
  PSUBUSB = 0x02000fd8,
  PSUBUSW = 0x02000fd9,
  PMULLW = 0x02000fd5,
  PMULHW = 0x02000fe5,
  PMULHUW = 0x02000fe4,
  PMULUDQ = 0x02000ff4,
  PMADDWD = 0x02000ff5,
  PMINUB = 0x02000fda,
  PMAXUB = 0x02000fde,
  PMINSW = 0x02000fea,
  PMAXSW = 0x02000fee,
  PAVGB = 0x02000fe0,
  PAVGW = 0x02000fe3,
  PAND = 0x02000fdb,
  PANDN = 0x02000fdf,
  POR = 0x02000feb,
  PXOR = 0x02000fef,
  PCMPEQB = 0x02000f74,
  PCMPEQW = 0x02000f75,
  PCMPEQD = 0x02000f76,
  PCMPGTB = 0x02000f64,
  PCMPGTW = 0x02000f65,
  PCMPGTD = 0x02000f66,
  PACKSSWB = 0x02000f63,
  PACKUSWB = 0x02000f67,
  PACKSSDW = 0x02000f6b,
  PUNPCKLBW = 0x02000f60,
  PUNPCKLWD = 0x02000f61,
  PUNPCKLDQ = 0x02000f62,
  PUNPCKLQDQ = 0x02000f6c,
  PUNPCKHBW = 0x02000f68,
  PUNPCKHWD = 0x02000f69,
  PUNPCKHDQ = 0x02000f6a,
  PUNPCKHQDQ = 0x02000f6d,
  PSLLW = 0x02000ff1,
  PSLLD = 0x02000ff2,
  PSLLQ = 0x02000ff3,
  PSRLW = 0x02000fd1,
  PSRLD = 0x02000fd2,
  PSRLQ = 0x02000fd3,
  PSRAW = 0x02000fe1,
  PSRAD = 0x02000fe2,
  MOVDQA = 0x02000f6f,
  MOVDQU = 0x04000f6f,
  PSHUFB = 0x020f3800,
  PMADDUBSW = 0x020f3804,
  PMULHRSW = 0x020f380b,
  PABSB = 0x020f381c,
  PABSW = 0x020f381d,
  PABSD = 0x020f381e,
  PTEST = 0x020f3817,
  PMOVSXBW = 0x020f3820,
  PMOVSXWD = 0x020f3823,
  PMOVSXDQ = 0x020f3825,
  PMULDQ = 0x020f3828,
  PCMPEQQ = 0x020f3829,
  PACKUSDW = 0x020f382b,
  PMOVZXBW = 0x020f3830,
  PMOVZXWD = 0x020f3833,
  PMOVZXDQ = 0x020f3835,
  PMINSB = 0x020f3838,
  PMINSD = 0x020f3839,
  PMINUW = 0x020f383a,
  PMINUD = 0x020f383b,
  PMAXSB = 0x020f383c,
  PMAXSD = 0x020f383d,
  PMAXUW = 0x020f383e,
  PMAXUD = 0x020f383f,
  PMULLD = 0x020f3840,
  ADDPS = 0x00000f58,
  ADDPD = 0x02000f58,
  SUBPS = 0x00000f5c,
  SUBPD = 0x02000f5c,
  MULPS = 0x00000f59,
  MULPD = 0x02000f59,
  DIVPS = 0x00000f5e,
  DIVPD = 0x02000f5e,
  MINPS = 0x00000f5d,
  MINPD = 0x02000f5d,
  MAXPS = 0x00000f5f,
  MAXPD = 0x02000f5f,
  SQRTPS = 0x00000f51,
  SQRTPD = 0x02000f51,
  ANDPS = 0x00000f54,
  ANDPD = 0x02000f54,
  ANDNPS = 0x00000f55,
  ANDNPD = 0x02000f55,
  ORPS = 0x00000f56,
  ORPD = 0x02000f56,
  XORPS = 0x00000f57,
  XORPD = 0x02000f57,
  MOVAPS = 0x00000f28,
  MOVAPD = 0x02000f28,
  CVTDQ2PS = 0x00000f5b,
  CVTTPS2DQ = 0x04000f5b,
  CVTPS2PD = 0x00000f5a,
  CVTPD2PS = 0x02000f5a,
  CVTDQ2PD = 0x04000fe6,
  CVTTPD2DQ = 0x02000fe6,
  MOVHLPS = 0x00000f12,
  MOVLHPS = 0x00000f16,
  MOVDDUP = 0x06000f12,
  UNPCKLPD = 0x02000f14,
  MOVSS = 0x04000f10,
  MOVSD = 0x06000f10,
  MOVQ = 0x04000f7e,
  PSHUFD = 0x02000f70,
  PSHUFLW = 0x06000f70,
  PSHUFHW = 0x04000f70,
  SHUFPS = 0x00000fc6,
  SHUFPD = 0x02000fc6,
  CMPPS = 0x00000fc2,
  CMPPD = 0x02000fc2,
  ROUNDPS = 0x020f3a08,
  ROUNDPD = 0x020f3a09,
  PBLENDW = 0x020f3a0e,
  PALIGNR = 0x020f3a0f,
  INSERTPS = 0x020f3a21,
  PINSRB = 0x020f3a20,
  PINSRW = 0x02000fc4,
  PINSRD = 0x020f3a22,
  PINSRQ = 0x030f3a22,
  PEXTRB = 0x020f3a14,
  PEXTRW_M = 0x020f3a15,
  PEXTRW = 0x02000fc5,
  PEXTRD = 0x020f3a16,
  PEXTRQ = 0x030f3a16,
  SHIFT_W = 0x02000f71,
  SHIFT_D = 0x02000f72,
  SHIFT_Q = 0x02000f73,
  PMOVMSKB = 0x02000fd7,
  MOVMSKPS = 0x00000f50,
  MOVMSKPD = 0x02000f50,
  MOVD_TO = 0x02000f6e,
  MOVQ_TO = 0x03000f6e,}

const PREFIXES = [0, 0x66, 0xf3, 0xf2];

function pfx(op: V): number {
  return PREFIXES[(op >>> 25) & 3];
}

/** op dst, src (register form). */
export function vv(a: Assembler, op: V, dst: number, src: number): void {
  a.sseRaw(pfx(op), (op >>> 24) & 1, op & 0xffffff, dst, src, -1);
}

/** op dst, src, imm8 (register form). */
export function vvi(a: Assembler, op: V, dst: number, src: number, imm: number): void {
  a.sseRaw(pfx(op), (op >>> 24) & 1, op & 0xffffff, dst, src, imm);
}

/** op reg, [base + index*scale + disp] (imm8 appended when imm >= 0). */
export function vm(a: Assembler, op: V, reg: number, base: number, index: number, scale: number, disp: number, imm = -1): void {
  a.sseRawMem(pfx(op), (op >>> 24) & 1, op & 0xffffff, reg, base, index, scale, disp, imm);
}

/** op reg, [rip + label] (no immediate). The label must be 16-byte aligned for packed operands. */
export function vl(a: Assembler, op: V, reg: number, label: number): void {
  a.sseRawLabel(pfx(op), op & 0xffffff, reg, label);
}

/** Shift by immediate: psllw/psrlw/psraw (SHIFT_W), d (SHIFT_D), q and byte shifts (SHIFT_Q). */
export const enum ShiftImm { SRL = 2, SRA = 4, SLL = 6, SRLDQ = 3, SLLDQ = 7 }

export function vshiftImm(a: Assembler, group: V, kind: ShiftImm, xmm: number, imm: number): void {
  a.sseRaw(0x66, 0, group & 0xffffff, kind, xmm, imm);
}

/** pinsrq xmm, r64, lane (SSE4.1). */
export function pinsrq(a: Assembler, xmm: number, gpr: number, lane: number): void {
  vvi(a, V.PINSRQ, xmm, gpr, lane);
}

/** movd/movq xmm, r32/r64 (zeroes the rest of the register). */
export function movdTo(a: Assembler, is64: boolean, xmm: number, gpr: number): void {
  vv(a, is64 ? V.MOVQ_TO : V.MOVD_TO, xmm, gpr);
}

/** pextrb/pextrd/pextrq gpr, xmm, lane (the xmm is the ModRM reg operand). */
export function pextr(a: Assembler, op: V, gpr: number, xmm: number, lane: number): void {
  vvi(a, op, xmm, gpr, lane);
}

/** pextrw r32, xmm, lane (SSE2 form: the GPR is the ModRM reg operand). */
export function pextrw(a: Assembler, gpr: number, xmm: number, lane: number): void {
  vvi(a, V.PEXTRW, gpr, xmm, lane);
}

/** Comparison predicates of cmpps/cmppd. */
export const enum FCmp { EQ = 0, LT = 1, LE = 2, UNORD = 3, NEQ = 4, NLT = 5, NLE = 6, ORD = 7 }

/** SSE4.1 rounding modes (with the precision exception suppressed). */
export const enum RoundMode { NEAREST = 8, FLOOR = 9, CEIL = 10, TRUNC = 11 }
