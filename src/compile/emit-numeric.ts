// Numeric operators: integer and float arithmetic, comparisons, conversions (0x45..0xc4 and 0xfc 0..7).

import { floatConstLabel } from './float-consts.js';
import { AluOp, BitOp, Cond, RAX, RBP, RCX, RDX, R11, ShiftOp, SseOp, UnaryOp, XMM15 } from '../x64/registers.js';
import { ValType } from '../decode/types.js';
import { cpuFeatures } from '../x64/cpu-features.js';
import { K_CONST, K_LOCAL, K_STACK } from './value-stack.js';
import { TrapCode } from './abi.js';
import type { FunctionCompiler } from './function-compiler.js';

const I32 = ValType.I32, I64 = ValType.I64, F32 = ValType.F32, F64 = ValType.F64;

const scratch = new DataView(new ArrayBuffer(8));
function f64Lo(v: number): number { scratch.setFloat64(0, v, true); return scratch.getInt32(0, true); }
function f64Hi(v: number): number { scratch.setFloat64(0, v, true); return scratch.getInt32(4, true); }
function f32Bits(v: number): number { scratch.setFloat32(0, v, true); return scratch.getInt32(0, true); }

/** Load a float constant (given as a JS number) into xmm15. */
function loadFloatConst(c: FunctionCompiler, isDouble: boolean, v: number): void {
  const a = c.asm;
  if (isDouble) a.movImm64(R11, f64Lo(v), f64Hi(v));
  else a.movImm32(R11, f32Bits(v));
  a.movdToXmm(isDouble, XMM15, R11);
}

/** Load raw bits into xmm15. */
function loadMask(c: FunctionCompiler, isDouble: boolean, lo: number, hi: number): void {
  const a = c.asm;
  if (isDouble) a.movImm64(R11, lo, hi);
  else a.movImm32(R11, lo);
  a.movdToXmm(isDouble, XMM15, R11);
}

// ---------------------------------------------------------------- dispatch
//
// Operators 0x45..0xc4 go through a table of handlers, one per family (integer compares, ALU operations,
// shifts, float arithmetic, conversions, ...), not one switch. A fresh process runs this code cold, and V8
// optimises a function for the paths it has seen: when one big switch was optimised, the first use of an
// operator it had not seen yet (an f64.div, a rotate, a conversion) deoptimised the whole switch, which was then
// recompiled (emitNumeric: compiled 4 times, ~50 ms of optimising work each, in one sqlite compile). Through
// the table the dispatching call is megamorphic (a plain call, never deoptimised by a new target), and each
// family warms up and is optimised on its own.

type NumericHandler = (c: FunctionCompiler, op: number) => void;

/** Conditions of eq, ne, lt_s, lt_u, gt_s, gt_u, le_s, le_u, ge_s, ge_u (i32 0x46.., i64 0x51..). */
const INT_CMP_COND = new Uint8Array([Cond.E, Cond.NE, Cond.L, Cond.B, Cond.G, Cond.A, Cond.LE, Cond.BE, Cond.GE, Cond.AE]);
/** Shift operations of shl, shr_s, shr_u, rotl, rotr (i32 0x74.., i64 0x86..). */
const SHIFT_OPS = new Uint8Array([ShiftOp.SHL, ShiftOp.SAR, ShiftOp.SHR, ShiftOp.ROL, ShiftOp.ROR]);
/** ALU operation of i32/i64 add, sub, and, or, xor, by opcode. */
const ALU_OF_OP = new Uint8Array(256);
ALU_OF_OP[0x6a] = ALU_OF_OP[0x7c] = AluOp.ADD;
ALU_OF_OP[0x6b] = ALU_OF_OP[0x7d] = AluOp.SUB;
ALU_OF_OP[0x71] = ALU_OF_OP[0x83] = AluOp.AND;
ALU_OF_OP[0x72] = ALU_OF_OP[0x84] = AluOp.OR;
ALU_OF_OP[0x73] = ALU_OF_OP[0x85] = AluOp.XOR;
/** SSE operation of f32 add, sub, mul, div (0x92..) and f64 (0xa0..). */
const SSE_F32 = new Uint8Array([SseOp.ADDSS, SseOp.SUBSS, SseOp.MULSS, SseOp.DIVSS]);
const SSE_F64 = new Uint8Array([SseOp.ADDSD, SseOp.SUBSD, SseOp.MULSD, SseOp.DIVSD]);
/** Rounding modes of ceil, floor, trunc, nearest (0x8d.. / 0x9b..). */
const ROUND_MODE = new Uint8Array([2, 1, 3, 0]);

/** i32.eqz (0x45), i64.eqz (0x50). */
function opEqz(c: FunctionCompiler, op: number): void {
  const is64 = op === 0x50;
  if (c.unop(is64 ? I64 : I32, I32)) eqz(c, is64);
}

/** i32 compares 0x46..0x4f, i64 compares 0x51..0x5a. */
function opIntCompare(c: FunctionCompiler, op: number): void {
  const is64 = op >= 0x51;
  if (c.binop(is64 ? I64 : I32, I32)) compare(c, is64, INT_CMP_COND[op - (is64 ? 0x51 : 0x46)] as Cond);
}

/** f32 compares 0x5b..0x60, f64 compares 0x61..0x66. */
function opFloatCompare(c: FunctionCompiler, op: number): void {
  const isDouble = op >= 0x61;
  if (c.binop(isDouble ? F64 : F32, I32)) floatCompare(c, isDouble, op - (isDouble ? 0x61 : 0x5b));
}

/** clz, ctz, popcnt: i32 0x67..0x69, i64 0x79..0x7b. */
function opBitCount(c: FunctionCompiler, op: number): void {
  const is64 = op >= 0x79;
  const t = is64 ? I64 : I32;
  if (!c.unop(t, t)) return;
  const k = op - (is64 ? 0x79 : 0x67);
  if (k === 0) clz(c, is64);
  else if (k === 1) ctz(c, is64);
  else popcnt(c, is64);
}

/** add, sub, and, or, xor: i32 0x6a 0x6b 0x71..0x73, i64 0x7c 0x7d 0x83..0x85. */
function opIntAlu(c: FunctionCompiler, op: number): void {
  const is64 = op >= 0x7c;
  const t = is64 ? I64 : I32;
  if (c.binop(t, t)) aluBin(c, is64, ALU_OF_OP[op] as AluOp);
}

/** i32.mul (0x6c), i64.mul (0x7e). */
function opMul(c: FunctionCompiler, op: number): void {
  const is64 = op === 0x7e;
  const t = is64 ? I64 : I32;
  if (c.binop(t, t)) mul(c, is64);
}

/** div_s, div_u, rem_s, rem_u: i32 0x6d..0x70, i64 0x7f..0x82. */
function opDivRem(c: FunctionCompiler, op: number): void {
  const is64 = op >= 0x7f;
  const t = is64 ? I64 : I32;
  const k = op - (is64 ? 0x7f : 0x6d);
  if (c.binop(t, t)) divRem(c, is64, (k & 1) === 0, k >= 2);
}

/** shl, shr_s, shr_u, rotl, rotr: i32 0x74..0x78, i64 0x86..0x8a. */
function opShift(c: FunctionCompiler, op: number): void {
  const is64 = op >= 0x86;
  const t = is64 ? I64 : I32;
  if (c.binop(t, t)) shift(c, is64, SHIFT_OPS[op - (is64 ? 0x86 : 0x74)] as ShiftOp);
}

/** abs, neg, ceil, floor, trunc, nearest, sqrt: f32 0x8b..0x91, f64 0x99..0x9f. */
function opFloatUnary(c: FunctionCompiler, op: number): void {
  const isDouble = op >= 0x99;
  const t = isDouble ? F64 : F32;
  if (!c.unop(t, t)) return;
  const k = op - (isDouble ? 0x99 : 0x8b);
  if (k <= 1) signOp(c, isDouble, k);
  else if (k <= 5) round(c, isDouble, ROUND_MODE[k - 2]);
  else sqrt(c, isDouble);
}

/** add, sub, mul, div, min, max, copysign: f32 0x92..0x98, f64 0xa0..0xa6. */
function opFloatBinary(c: FunctionCompiler, op: number): void {
  const isDouble = op >= 0xa0;
  const t = isDouble ? F64 : F32;
  if (!c.binop(t, t)) return;
  const k = op - (isDouble ? 0xa0 : 0x92);
  if (k <= 3) sseBin(c, (isDouble ? SSE_F64 : SSE_F32)[k] as SseOp);
  else if (k <= 5) minMax(c, isDouble, k === 4);
  else copysign(c, isDouble);
}

/** Conversions, reinterpretations and sign extensions, 0xa7..0xc4. */
function opConvert(c: FunctionCompiler, op: number): void {
  switch (op) {
    // ---------------------------------------------------------------- conversions
    case 0xa7: if (c.unop(I64, I32)) retypeGpr(c, I32, true); return; // i32.wrap_i64
    case 0xa8: if (c.unop(F32, I32)) truncToInt(c, false, false, true, false); return;
    case 0xa9: if (c.unop(F32, I32)) truncToInt(c, false, false, false, false); return;
    case 0xaa: if (c.unop(F64, I32)) truncToInt(c, true, false, true, false); return;
    case 0xab: if (c.unop(F64, I32)) truncToInt(c, true, false, false, false); return;
    case 0xac: if (c.unop(I32, I64)) signExtend(c, true, 4, I64); return; // i64.extend_i32_s
    case 0xad: if (c.unop(I32, I64)) retypeGpr(c, I64, true); return; // i64.extend_i32_u
    case 0xae: if (c.unop(F32, I64)) truncToInt(c, false, true, true, false); return;
    case 0xaf: if (c.unop(F32, I64)) truncToInt(c, false, true, false, false); return;
    case 0xb0: if (c.unop(F64, I64)) truncToInt(c, true, true, true, false); return;
    case 0xb1: if (c.unop(F64, I64)) truncToInt(c, true, true, false, false); return;
    case 0xb2: if (c.unop(I32, F32)) intToFloat(c, false, false, true); return;
    case 0xb3: if (c.unop(I32, F32)) intToFloat(c, false, false, false); return;
    case 0xb4: if (c.unop(I64, F32)) intToFloat(c, false, true, true); return;
    case 0xb5: if (c.unop(I64, F32)) intToFloat(c, false, true, false); return;
    case 0xb6: if (c.unop(F64, F32)) floatConvert(c, SseOp.CVTSD2SS, F32); return;
    case 0xb7: if (c.unop(I32, F64)) intToFloat(c, true, false, true); return;
    case 0xb8: if (c.unop(I32, F64)) intToFloat(c, true, false, false); return;
    case 0xb9: if (c.unop(I64, F64)) intToFloat(c, true, true, true); return;
    case 0xba: if (c.unop(I64, F64)) intToFloat(c, true, true, false); return;
    case 0xbb: if (c.unop(F32, F64)) floatConvert(c, SseOp.CVTSS2SD, F64); return;
    case 0xbc: if (c.unop(F32, I32)) reinterpret(c, I32, false); return;
    case 0xbd: if (c.unop(F64, I64)) reinterpret(c, I64, true); return;
    case 0xbe: if (c.unop(I32, F32)) reinterpret(c, F32, false); return;
    case 0xbf: if (c.unop(I64, F64)) reinterpret(c, F64, true); return;
    case 0xc0: if (c.unop(I32, I32)) signExtend(c, false, 1, I32); return;
    case 0xc1: if (c.unop(I32, I32)) signExtend(c, false, 2, I32); return;
    case 0xc2: if (c.unop(I64, I64)) signExtend(c, true, 1, I64); return;
    case 0xc3: if (c.unop(I64, I64)) signExtend(c, true, 2, I64); return;
    case 0xc4: if (c.unop(I64, I64)) signExtend(c, true, 4, I64); return;
  }
  c.error(`illegal opcode 0x${op.toString(16)}`);
}

const NUMERIC_HANDLERS: NumericHandler[] = [];
for (let op = 0x45; op <= 0xc4; op++) {
  let h: NumericHandler;
  if (op === 0x45 || op === 0x50) h = opEqz;
  else if (op <= 0x5a) h = opIntCompare;
  else if (op <= 0x66) h = opFloatCompare;
  else if (op <= 0x69 || (op >= 0x79 && op <= 0x7b)) h = opBitCount;
  else if (op === 0x6c || op === 0x7e) h = opMul;
  else if ((op >= 0x6d && op <= 0x70) || (op >= 0x7f && op <= 0x82)) h = opDivRem;
  else if ((op >= 0x74 && op <= 0x78) || (op >= 0x86 && op <= 0x8a)) h = opShift;
  else if (op <= 0x8a) h = opIntAlu;
  else if (op <= 0x91 || (op >= 0x99 && op <= 0x9f)) h = opFloatUnary;
  else if (op <= 0xa6) h = opFloatBinary;
  else h = opConvert;
  NUMERIC_HANDLERS.push(h);
}

/** Operators 0x45..0xc4 (the caller has checked the range). */
export function emitNumeric(c: FunctionCompiler, op: number): void {
  NUMERIC_HANDLERS[op - 0x45](c, op);
}

/** Saturating truncations, 0xfc 0..7 (a separate switch keeps emitNumeric's cases dense: see there). */
export function emitSatTrunc(c: FunctionCompiler, sub: number): void {
  switch (sub) {
    case 0: if (c.unop(F32, I32)) truncToInt(c, false, false, true, true); return;
    case 1: if (c.unop(F32, I32)) truncToInt(c, false, false, false, true); return;
    case 2: if (c.unop(F64, I32)) truncToInt(c, true, false, true, true); return;
    case 3: if (c.unop(F64, I32)) truncToInt(c, true, false, false, true); return;
    case 4: if (c.unop(F32, I64)) truncToInt(c, false, true, true, true); return;
    case 5: if (c.unop(F32, I64)) truncToInt(c, false, true, false, true); return;
    case 6: if (c.unop(F64, I64)) truncToInt(c, true, true, true, true); return;
    case 7: if (c.unop(F64, I64)) truncToInt(c, true, true, false, true); return;
  }
  c.error(`illegal opcode 0xfc ${sub}`);
}

// ==================================================================== integer

function eqz(c: FunctionCompiler, is64: boolean): void {
  const vs = c.vs, a = c.asm;
  const fused = c.nextConsumesFlags();
  const r = fused ? vs.popToRegRead() : vs.popToReg();
  a.test(is64, r, r);
  if (fused) {
    vs.freeGpr(r);
    c.pushFlags(Cond.E);
    return;
  }
  a.setcc(Cond.E, r);
  a.movzxRR(1, r, r);
  vs.pushReg(I32, r);
}

function compare(c: FunctionCompiler, is64: boolean, cond: Cond): void {
  const vs = c.vs, a = c.asm;
  const fused = c.nextConsumesFlags(); // then the operands are only read
  if (vs.topIsImm32()) {
    const imm = vs.topLo();
    vs.drop();
    const r = fused ? vs.popToRegRead() : vs.popToReg();
    a.aluImm(AluOp.CMP, is64, r, imm);
    if (fused) {
      vs.freeGpr(r);
      c.pushFlags(cond);
      return;
    }
    a.setcc(cond, r);
    a.movzxRR(1, r, r);
    vs.pushReg(I32, r);
    return;
  }
  const b = vs.popToRegRead();
  const r = fused ? vs.popToRegRead() : vs.popToReg();
  a.alu(AluOp.CMP, is64, r, b);
  vs.freeGpr(b);
  if (fused) {
    vs.freeGpr(r);
    c.pushFlags(cond);
    return;
  }
  a.setcc(cond, r);
  a.movzxRR(1, r, r);
  vs.pushReg(I32, r);
}

function aluBin(c: FunctionCompiler, is64: boolean, op: AluOp): void {
  const vs = c.vs, a = c.asm;
  const t = is64 ? I64 : I32;
  const top = vs.height - 1;
  const k = vs.kind[top];
  if (vs.topIsImm32()) {
    const imm = vs.topLo();
    vs.drop();
    if (vs.kind[top - 1] === K_CONST && !is64) {
      // Both constant: fold (i32 only; wrapping semantics via |0 and Math.imul-free ops).
      const x = vs.lo[top - 1];
      let v = 0;
      switch (op) {
        case AluOp.ADD: v = (x + imm) | 0; break;
        case AluOp.SUB: v = (x - imm) | 0; break;
        case AluOp.AND: v = x & imm; break;
        case AluOp.OR: v = x | imm; break;
        case AluOp.XOR: v = x ^ imm; break;
      }
      vs.drop();
      vs.pushConst(I32, v, 0);
      return;
    }
    if ((op === AluOp.ADD || (op === AluOp.SUB && imm !== -0x80000000))) {
      // x + imm with x a cached local's register: lea into another register (no copy first)
      const s = vs.popCachedSource();
      if (s >= 0) {
        const r = vs.copyDst;
        a.lea(is64, r, s, -1, 1, op === AluOp.ADD ? imm : -imm);
        vs.freeGpr(s);
        vs.pushReg(t, r);
        return;
      }
    }
    const r = vs.popToReg();
    a.aluImm(op, is64, r, imm);
    vs.pushReg(t, r);
    return;
  }
  const cached = vs.cachedOperand(top);
  if (cached >= 0) {
    // The right operand is a local whose value is still in a register.
    const pinned = vs.cachedPinned;
    vs.drop();
    const r = vs.popToReg();
    a.alu(op, is64, r, cached);
    if (pinned) vs.unpinCached(t, cached);
    vs.pushReg(t, r);
    return;
  }
  if (k === K_LOCAL || k === K_STACK) {
    // Use the operand straight from memory.
    if (k === K_LOCAL) vs.cleanLocal(vs.reg[top]); // (the slot is read)
    const disp = k === K_LOCAL ? vs.localDisp[vs.reg[top]] : vs.slotDisp(top);
    vs.drop();
    const r = vs.popToReg();
    a.aluLoad(op, is64, r, RBP, -1, 1, disp);
    vs.pushReg(t, r);
    return;
  }
  const b = vs.popToRegRead();
  const r = vs.popToReg();
  a.alu(op, is64, r, b);
  vs.freeGpr(b);
  vs.pushReg(t, r);
}

function mul(c: FunctionCompiler, is64: boolean): void {
  const vs = c.vs, a = c.asm;
  const t = is64 ? I64 : I32;
  if (vs.topIsImm32()) {
    const imm = vs.topLo();
    vs.drop();
    const s = vs.popCachedSource(); // (imul r, s, imm: no copy of a cached local first)
    if (s >= 0) {
      const r = vs.copyDst;
      a.imulImm(is64, r, s, imm);
      vs.freeGpr(s);
      vs.pushReg(t, r);
      return;
    }
    const r = vs.popToReg();
    a.imulImm(is64, r, r, imm);
    vs.pushReg(t, r);
    return;
  }
  const b = vs.popToReg();
  const r = vs.popToReg();
  a.imul(is64, r, b);
  vs.freeGpr(b);
  vs.pushReg(t, r);
}

function divRem(c: FunctionCompiler, is64: boolean, signed: boolean, rem: boolean): void {
  const vs = c.vs, a = c.asm;
  const t = is64 ? I64 : I32;
  vs.claimGpr(RAX);
  vs.claimGpr(RDX);
  // A constant divisor needs no zero test, and (signed) no -1 test unless it is -1.
  const top = vs.height - 1;
  const constant = vs.kind[top] === K_CONST;
  const minusOne = constant && vs.lo[top] === -1 && (!is64 || vs.hi[top] === -1);
  const nonzero = constant && (vs.lo[top] !== 0 || (is64 && vs.hi[top] !== 0));
  const b = vs.popToRegRead(); // (div and idiv only read the divisor and the copy of the dividend)
  const x = vs.popToRegRead();
  a.movRR(is64, RAX, x);
  vs.freeGpr(x);
  if (!nonzero) {
    a.test(is64, b, b);
    a.jcc(Cond.E, c.trapLabel(rem ? TrapCode.RemainderByZero : TrapCode.DivideByZero));
  }
  if (signed && constant && !minusOne) {
    if (is64) a.cqo();
    else a.cdq();
    a.unary(UnaryOp.IDIV, is64, b);
  } else if (signed) {
    const normal = a.newLabel();
    const done = a.newLabel();
    a.aluImm(AluOp.CMP, is64, b, -1);
    a.jcc(Cond.NE, normal);
    if (rem) {
      // x rem -1 = 0 (and avoids the INT_MIN / -1 fault).
      a.alu(AluOp.XOR, false, RDX, RDX);
      a.jmp(done);
    } else {
      // INT_MIN / -1 overflows; anything else / -1 is a negation.
      if (is64) {
        a.movImm64(R11, 0, 0x80000000 | 0);
        a.alu(AluOp.CMP, true, RAX, R11);
      } else a.aluImm(AluOp.CMP, false, RAX, 0x80000000 | 0);
      a.jcc(Cond.E, c.trapLabel(TrapCode.IntegerOverflow));
    }
    a.bind(normal);
    if (is64) a.cqo();
    else a.cdq();
    a.unary(UnaryOp.IDIV, is64, b);
    a.bind(done);
  } else {
    a.alu(AluOp.XOR, false, RDX, RDX);
    a.unary(UnaryOp.DIV, is64, b);
  }
  vs.freeGpr(b);
  if (rem) {
    vs.freeGpr(RAX);
    vs.pushReg(t, RDX);
  } else {
    vs.freeGpr(RDX);
    vs.pushReg(t, RAX);
  }
}

function shift(c: FunctionCompiler, is64: boolean, op: ShiftOp): void {
  const vs = c.vs, a = c.asm;
  const t = is64 ? I64 : I32;
  if (vs.kind[vs.height - 1] === K_CONST) {
    const n = vs.topLo() & (is64 ? 63 : 31);
    vs.drop();
    const r = vs.popToReg();
    if (n !== 0) a.shiftImm(op, is64, r, n);
    vs.pushReg(t, r);
    return;
  }
  vs.popToGpr(RCX);
  const r = vs.popToReg();
  a.shift(op, is64, r);
  vs.freeGpr(RCX);
  vs.pushReg(t, r);
}

function clz(c: FunctionCompiler, is64: boolean): void {
  const vs = c.vs, a = c.asm;
  const r = vs.popToReg();
  if (cpuFeatures().lzcnt) a.bitop(BitOp.LZCNT, is64, r, r);
  else {
    a.movImm32(R11, is64 ? 127 : 63);
    a.bitop(BitOp.BSR, is64, r, r);
    a.cmov(Cond.E, is64, r, R11);
    a.aluImm(AluOp.XOR, is64, r, is64 ? 63 : 31);
  }
  vs.pushReg(is64 ? I64 : I32, r);
}

function ctz(c: FunctionCompiler, is64: boolean): void {
  const vs = c.vs, a = c.asm;
  const r = vs.popToReg();
  if (cpuFeatures().bmi1) a.bitop(BitOp.TZCNT, is64, r, r);
  else {
    a.movImm32(R11, is64 ? 64 : 32);
    a.bitop(BitOp.BSF, is64, r, r);
    a.cmov(Cond.E, is64, r, R11);
  }
  vs.pushReg(is64 ? I64 : I32, r);
}

function popcnt(c: FunctionCompiler, is64: boolean): void {
  const vs = c.vs, a = c.asm;
  const r = vs.popToReg();
  if (cpuFeatures().popcnt) a.bitop(BitOp.POPCNT, is64, r, r);
  else {
    // SWAR bit count: r = r - ((r >> 1) & 0x55..); pairs, nibbles, then a multiply to sum the bytes.
    const t = vs.allocGpr();
    const m = (lo: number) => { if (is64) a.movImm64(R11, lo, lo); else a.movImm32(R11, lo); };
    a.movRR(is64, t, r); a.shiftImm(ShiftOp.SHR, is64, t, 1); m(0x55555555); a.alu(AluOp.AND, is64, t, R11); a.alu(AluOp.SUB, is64, r, t);
    a.movRR(is64, t, r); a.shiftImm(ShiftOp.SHR, is64, t, 2); m(0x33333333); a.alu(AluOp.AND, is64, t, R11); a.alu(AluOp.AND, is64, r, R11); a.alu(AluOp.ADD, is64, r, t);
    a.movRR(is64, t, r); a.shiftImm(ShiftOp.SHR, is64, t, 4); a.alu(AluOp.ADD, is64, r, t); m(0x0f0f0f0f); a.alu(AluOp.AND, is64, r, R11);
    m(0x01010101); a.imul(is64, r, R11); a.shiftImm(ShiftOp.SHR, is64, r, is64 ? 56 : 24);
    vs.freeGpr(t);
  }
  vs.pushReg(is64 ? I64 : I32, r);
}

function signExtend(c: FunctionCompiler, is64: boolean, width: 1 | 2 | 4, tout: number): void {
  const vs = c.vs, a = c.asm;
  const r = vs.popToReg();
  a.movsxRR(is64, width, r, r);
  vs.pushReg(tout, r);
}

/** i32.wrap_i64 / i64.extend_i32_u: keep the low 32 bits (zero-extended). */
function retypeGpr(c: FunctionCompiler, tout: number, zeroExtend: boolean): void {
  const vs = c.vs;
  const top = vs.height - 1;
  if (vs.kind[top] === K_CONST) {
    vs.type[top] = tout;
    vs.hi[top] = 0;
    return;
  }
  const r = vs.popToReg();
  // (i64.extend_i32_u of a value the pop loaded or copied with a 32-bit instruction: zero-extended already)
  if (zeroExtend && !(tout === ValType.I64 && vs.poppedZext)) c.asm.movRR(false, r, r);
  vs.pushReg(tout, r);
}

// ==================================================================== float

function floatCompare(c: FunctionCompiler, isDouble: boolean, which: number): void {
  const vs = c.vs, a = c.asm;
  const ucom = isDouble ? SseOp.UCOMISD : SseOp.UCOMISS;
  const y = vs.popToRegRead(); // (ucomis writes neither operand)
  const x = vs.popToRegRead();
  if (which >= 2 && c.nextConsumesFlags()) {
    // lt/gt/le/ge are one condition (unordered gives false); eq/ne need two flags and are not fused.
    if (which === 2 || which === 4) a.sse(ucom, y, x);
    else a.sse(ucom, x, y);
    vs.freeXmm(x);
    vs.freeXmm(y);
    c.pushFlags(which <= 3 ? Cond.A : Cond.AE);
    return;
  }
  const g = vs.allocGpr();
  switch (which) {
    case 0: // eq: ZF and not PF
      a.sse(ucom, x, y);
      a.setcc(Cond.E, g);
      a.setcc(Cond.NP, R11);
      a.alu(AluOp.AND, false, g, R11);
      break;
    case 1: // ne: not ZF or PF
      a.sse(ucom, x, y);
      a.setcc(Cond.NE, g);
      a.setcc(Cond.P, R11);
      a.alu(AluOp.OR, false, g, R11);
      break;
    case 2: a.sse(ucom, y, x); a.setcc(Cond.A, g); break; // lt: y > x
    case 3: a.sse(ucom, x, y); a.setcc(Cond.A, g); break; // gt
    case 4: a.sse(ucom, y, x); a.setcc(Cond.AE, g); break; // le: y >= x
    case 5: a.sse(ucom, x, y); a.setcc(Cond.AE, g); break; // ge
  }
  a.movzxRR(1, g, g);
  vs.freeXmm(x);
  vs.freeXmm(y);
  vs.pushReg(I32, g);
}

function sseBin(c: FunctionCompiler, op: SseOp): void {
  const vs = c.vs, a = c.asm;
  const top = vs.height - 1;
  const t = vs.type[top];
  const k = vs.kind[top];
  const cached = vs.cachedOperand(top);
  if (cached >= 0) {
    const pinned = vs.cachedPinned;
    vs.drop();
    const x = vs.popToReg();
    a.sse(op, x, cached);
    if (pinned) vs.unpinCached(t, cached);
    vs.pushReg(t, x);
    return;
  }
  if (k === K_LOCAL || k === K_STACK) {
    // The right operand straight from its frame slot (scalar ops read only 4 or 8 bytes).
    if (k === K_LOCAL) vs.cleanLocal(vs.reg[top]); // (the slot is read)
    const disp = k === K_LOCAL ? vs.localDisp[vs.reg[top]] : vs.slotDisp(top);
    vs.drop();
    const x = vs.popToReg();
    a.sseLoad(op, x, RBP, -1, 1, disp);
    vs.pushReg(t, x);
    return;
  }
  if (k === K_CONST && (vs.lo[top] | vs.hi[top]) !== 0) {
    // The right operand straight from the function's float literals.
    const label = floatConstLabel(a, vs.lo[top], t === F32 ? 0 : vs.hi[top]);
    vs.drop();
    const x = vs.popToReg();
    a.sseLoadLabel(op, x, label);
    vs.pushReg(t, x);
    return;
  }
  const y = vs.popToRegRead();
  const x = vs.popToReg();
  a.sse(op, x, y);
  vs.freeXmm(y);
  vs.pushReg(t, x);
}

function sqrt(c: FunctionCompiler, isDouble: boolean): void {
  const vs = c.vs;
  const x = vs.popToReg();
  c.asm.sse(isDouble ? SseOp.SQRTSD : SseOp.SQRTSS, x, x);
  vs.pushReg(isDouble ? F64 : F32, x);
}

function round(c: FunctionCompiler, isDouble: boolean, mode: number): void {
  const vs = c.vs;
  const x = vs.popToReg();
  c.asm.round(isDouble, x, x, mode | 8);
  vs.pushReg(isDouble ? F64 : F32, x);
}

/** abs (which = 0) and neg (which = 1): bit operations on the sign, exact for NaNs too. */
function signOp(c: FunctionCompiler, isDouble: boolean, which: number): void {
  const vs = c.vs, a = c.asm;
  const t = isDouble ? F64 : F32;
  const top = vs.height - 1;
  if (vs.kind[top] === K_CONST) {
    if (isDouble) vs.hi[top] = which === 0 ? vs.hi[top] & 0x7fffffff : vs.hi[top] ^ (0x80000000 | 0);
    else vs.lo[top] = which === 0 ? vs.lo[top] & 0x7fffffff : vs.lo[top] ^ (0x80000000 | 0);
    return;
  }
  const x = vs.popToReg();
  if (which === 0) {
    loadMask(c, isDouble, isDouble ? -1 : 0x7fffffff, 0x7fffffff);
    a.sse(SseOp.ANDPS, x, XMM15);
  } else {
    loadMask(c, isDouble, isDouble ? 0 : 0x80000000 | 0, 0x80000000 | 0);
    a.sse(SseOp.XORPS, x, XMM15);
  }
  vs.pushReg(t, x);
}

function copysign(c: FunctionCompiler, isDouble: boolean): void {
  const vs = c.vs, a = c.asm;
  const y = vs.popToReg();
  const x = vs.popToReg();
  loadMask(c, isDouble, isDouble ? 0 : 0x80000000 | 0, 0x80000000 | 0);
  a.sse(SseOp.ANDPS, y, XMM15); // y = sign(y)
  a.sse(SseOp.ANDNPS, XMM15, x); // xmm15 = |x|
  a.sse(SseOp.ORPS, XMM15, y);
  a.sse(SseOp.MOVAPS, x, XMM15);
  vs.freeXmm(y);
  vs.pushReg(isDouble ? F64 : F32, x);
}

/** Wasm min/max: NaN if either is NaN; -0 < +0. */
function minMax(c: FunctionCompiler, isDouble: boolean, isMin: boolean): void {
  const vs = c.vs, a = c.asm;
  const y = vs.popToReg();
  const x = vs.popToReg();
  const nan = a.newLabel(), normal = a.newLabel(), done = a.newLabel();
  a.sse(isDouble ? SseOp.UCOMISD : SseOp.UCOMISS, x, y);
  a.jcc(Cond.P, nan);
  a.jcc(Cond.NE, normal);
  // Equal: only ±0 differ; OR of the bits gives -0 for min, AND gives +0 for max.
  a.sse(isMin ? SseOp.ORPS : SseOp.ANDPS, x, y);
  a.jmp(done);
  a.bind(nan);
  a.sse(isDouble ? SseOp.ADDSD : SseOp.ADDSS, x, y); // propagates a (quieted) NaN
  a.jmp(done);
  a.bind(normal);
  a.sse(isMin ? (isDouble ? SseOp.MINSD : SseOp.MINSS) : isDouble ? SseOp.MAXSD : SseOp.MAXSS, x, y);
  a.bind(done);
  vs.freeXmm(y);
  vs.pushReg(isDouble ? F64 : F32, x);
}

function floatConvert(c: FunctionCompiler, op: SseOp, tout: number): void {
  const vs = c.vs;
  const x = vs.popToReg();
  c.asm.sse(op, x, x);
  vs.pushReg(tout, x);
}

function reinterpret(c: FunctionCompiler, tout: number, is64: boolean): void {
  const vs = c.vs, a = c.asm;
  const top = vs.height - 1;
  if (vs.kind[top] === K_CONST) {
    vs.type[top] = tout;
    return;
  }
  const x = vs.popToReg();
  if (tout === I32 || tout === I64) {
    const g = vs.allocGpr();
    a.movdFromXmm(is64, g, x);
    vs.freeXmm(x);
    vs.pushReg(tout, g);
  } else {
    const f = vs.allocXmm();
    a.movdToXmm(is64, f, x);
    vs.freeGpr(x);
    vs.pushReg(tout, f);
  }
}

function intToFloat(c: FunctionCompiler, isDouble: boolean, srcIs64: boolean, signed: boolean): void {
  const vs = c.vs, a = c.asm;
  const x = vs.popToReg();
  const f = vs.allocXmm();
  a.sse(SseOp.XORPS, f, f);
  if (signed) a.cvtsi2s(isDouble, srcIs64, f, x);
  else if (!srcIs64) {
    a.movRR(false, x, x);
    a.cvtsi2s(isDouble, true, f, x);
  } else {
    const big = a.newLabel(), done = a.newLabel();
    a.test(true, x, x);
    a.jcc(Cond.S, big);
    a.cvtsi2s(isDouble, true, f, x);
    a.jmp(done);
    a.bind(big);
    // Halve with round-to-odd, convert, double.
    a.movRR(true, R11, x);
    a.shiftImm(ShiftOp.SHR, true, R11, 1);
    a.aluImm(AluOp.AND, true, x, 1);
    a.alu(AluOp.OR, true, R11, x);
    a.cvtsi2s(isDouble, true, f, R11);
    a.sse(isDouble ? SseOp.ADDSD : SseOp.ADDSS, f, f);
    a.bind(done);
  }
  vs.freeGpr(x);
  vs.pushReg(isDouble ? F64 : F32, f);
}

/**
 * Float -> integer truncation, trapping or saturating. The input is range-checked against exact bounds
 * before converting, so the hardware's "integer indefinite" result never leaks.
 */
function truncToInt(c: FunctionCompiler, isDouble: boolean, dstIs64: boolean, signed: boolean, saturating: boolean): void {
  const vs = c.vs, a = c.asm;
  const ucom = isDouble ? SseOp.UCOMISD : SseOp.UCOMISS;
  const x = vs.popToReg();
  const g = vs.allocGpr();
  // Bounds: valid iff x > lowerExcl (or x >= lowerIncl) and x < upper.
  let lower: number, lowerInclusive: boolean, upper: number;
  if (signed) {
    upper = dstIs64 ? 2 ** 63 : 2 ** 31;
    if (!dstIs64 && isDouble) { lower = -(2 ** 31) - 1; lowerInclusive = false; }
    else { lower = dstIs64 ? -(2 ** 63) : -(2 ** 31); lowerInclusive = true; }
  } else {
    upper = dstIs64 ? 2 ** 64 : 2 ** 32;
    lower = -1;
    lowerInclusive = false;
  }
  const nanL = saturating ? a.newLabel() : c.trapLabel(TrapCode.FloatUnrepresentable);
  const lowL = saturating ? a.newLabel() : c.trapLabel(TrapCode.FloatUnrepresentable);
  const highL = saturating ? a.newLabel() : c.trapLabel(TrapCode.FloatUnrepresentable);
  const done = a.newLabel();
  a.sse(ucom, x, x);
  a.jcc(Cond.P, nanL);
  loadFloatConst(c, isDouble, lower);
  a.sse(ucom, x, XMM15);
  a.jcc(lowerInclusive ? Cond.B : Cond.BE, lowL);
  loadFloatConst(c, isDouble, upper);
  a.sse(ucom, x, XMM15);
  a.jcc(Cond.AE, highL);
  if (signed) a.cvtts2si(isDouble, dstIs64, g, x);
  else if (!dstIs64) a.cvtts2si(isDouble, true, g, x), a.movRR(false, g, g);
  else {
    // u64: values >= 2^63 are converted after subtracting 2^63, then the top bit is set back.
    const small = a.newLabel(), conv = a.newLabel();
    loadFloatConst(c, isDouble, 2 ** 63);
    a.sse(ucom, x, XMM15);
    a.jcc(Cond.B, small);
    a.sse(isDouble ? SseOp.SUBSD : SseOp.SUBSS, x, XMM15);
    a.cvtts2si(isDouble, true, g, x);
    a.movImm64(R11, 0, 0x80000000 | 0);
    a.alu(AluOp.XOR, true, g, R11);
    a.jmp(conv);
    a.bind(small);
    a.cvtts2si(isDouble, true, g, x);
    a.bind(conv);
  }
  if (saturating) {
    a.jmp(done);
    a.bind(nanL);
    a.alu(AluOp.XOR, false, g, g);
    a.jmp(done);
    a.bind(lowL);
    if (!signed) a.alu(AluOp.XOR, false, g, g);
    else if (dstIs64) a.movImm64(g, 0, 0x80000000 | 0);
    else a.movImm32(g, 0x80000000 | 0);
    a.jmp(done);
    a.bind(highL);
    if (signed) {
      if (dstIs64) a.movImm64(g, -1, 0x7fffffff);
      else a.movImm32(g, 0x7fffffff);
    } else if (dstIs64) a.movImm64(g, -1, -1);
    else a.movImm32(g, -1);
  }
  a.bind(done);
  vs.freeXmm(x);
  vs.pushReg(dstIs64 ? I64 : I32, g);
}

