// x86-64 register numbers, condition codes and operation selectors used by the Assembler.
// Registers are plain numbers 0..15 (the hardware encoding; bit 3 goes into REX.R/X/B).

export const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
export const R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

export const XMM0 = 0, XMM1 = 1, XMM2 = 2, XMM3 = 3, XMM4 = 4, XMM5 = 5, XMM6 = 6, XMM7 = 7;
export const XMM8 = 8, XMM9 = 9, XMM10 = 10, XMM11 = 11, XMM12 = 12, XMM13 = 13, XMM14 = 14, XMM15 = 15;

/** Condition codes, in hardware order (the low nibble of Jcc/SETcc/CMOVcc). */
export const enum Cond {
  O = 0, NO = 1, B = 2, AE = 3, E = 4, NE = 5, BE = 6, A = 7,
  S = 8, NS = 9, P = 10, NP = 11, L = 12, GE = 13, LE = 14, G = 15,
}

/** The negation of a condition (flips the low bit of the encoding). */
export function invertCond(c: Cond): Cond {
  return (c ^ 1) as Cond;
}

/** Group-1 ALU operations (the /digit of 0x80-0x83 and bits 5:3 of the 0x00-0x3F opcodes). */
export const enum AluOp { ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7 }

/** Group-2 shift/rotate operations (the /digit of 0xC1/0xD1/0xD3). */
export const enum ShiftOp { ROL = 0, ROR = 1, SHL = 4, SHR = 5, SAR = 7 }

/** Group-3 unary operations (the /digit of 0xF7). */
export const enum UnaryOp { NOT = 2, NEG = 3, MUL = 4, IMUL = 5, DIV = 6, IDIV = 7 }

/**
 * Integer load kinds. U8/U16 zero-extend into a 32-bit register (and so into 64 bits); S8_32/S16_32
 * sign-extend to 32 bits (upper half zeroed); S8_64/S16_64/S32_64 sign-extend to 64 bits;
 * U32 is `mov r32, m32` (zero-extends); I64 is `mov r64, m64`.
 */
export const enum LoadKind { U8, S8_32, S8_64, U16, S16_32, S16_64, U32, S32_64, I64 }

/** Bit-counting operations. LZCNT/TZCNT/POPCNT need the matching CPU feature (see cpu-features.ts). */
export const enum BitOp { LZCNT, TZCNT, POPCNT, BSR, BSF }

/** Scalar / packed SSE operations with a `xmm, xmm/m` form. */
export const enum SseOp {
  ADDSS, ADDSD, SUBSS, SUBSD, MULSS, MULSD, DIVSS, DIVSD,
  MINSS, MINSD, MAXSS, MAXSD, SQRTSS, SQRTSD, UCOMISS, UCOMISD,
  ANDPS, ANDPD, ANDNPS, ANDNPD, ORPS, ORPD, XORPS, XORPD,
  MOVAPS, CVTSS2SD, CVTSD2SS,
}

const NAMES64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi'];
const NAMES32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const NAMES16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const NAMES8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil'];

/** The Intel-syntax name of GPR `r` at the given width (`r8b`/`r8w`/`r8d` style for r8-r15). */
export function regName(r: number, bits: 8 | 16 | 32 | 64): string {
  if (!(r >= 0 && r <= 15 && (r | 0) === r)) return `<bad reg ${r}>`;
  if (r < 8) {
    switch (bits) {
      case 64: return NAMES64[r];
      case 32: return NAMES32[r];
      case 16: return NAMES16[r];
      case 8: return NAMES8[r];
    }
  }
  switch (bits) {
    case 64: return `r${r}`;
    case 32: return `r${r}d`;
    case 16: return `r${r}w`;
    case 8: return `r${r}b`;
  }
  return `<bad width ${bits}>`;
}

/** The name of XMM register `r`. */
export function xmmName(r: number): string {
  if (!(r >= 0 && r <= 15 && (r | 0) === r)) return `<bad xmm ${r}>`;
  return `xmm${r}`;
}

const COND_NAMES = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

/** The mnemonic suffix of a condition code (`e`, `ne`, `b`, ...), as in `j<cc>` / `set<cc>`. */
export function condName(c: Cond): string {
  return COND_NAMES[c & 15];
}
