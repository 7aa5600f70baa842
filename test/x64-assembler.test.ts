// Tests for the x86-64 encoder (src/x64/). Every instruction form is emitted, disassembled with GNU
// objdump (Intel syntax) and compared with the expected text; each emitted byte range must decode as
// exactly one instruction. Many instructions are batched into one buffer and one objdump run per test.
//
// Run: npx tsc -p . ; npx uvu dist/test x64-assembler

import { objdumpListing } from './helpers/disasm.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Assembler } from '../src/x64/assembler.js';
import {
  AluOp, BitOp, Cond, LoadKind, ShiftOp, SseOp, UnaryOp,
  RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15,
  XMM0, XMM15, invertCond, regName, xmmName, condName,
} from '../src/x64/registers.js';
import { cpuFeatures, parseCpuFeatures, resetCpuFeaturesCache } from '../src/x64/cpu-features.js';

// -------------------------------------------------------------------------------------------------
// Expected-text helpers (independent of the code under test)

const N64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const N32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const N16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const N8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const REGS = [RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15];

function rn(r: number, bits: number): string {
  switch (bits) {
    case 64: return N64[r];
    case 32: return N32[r];
    case 16: return N16[r];
    case 8: return N8[r];
  }
  throw new Error(`bad bits ${bits}`);
}
const xn = (r: number) => `xmm${r}`;
const gw = (is64: boolean) => (is64 ? 64 : 32);

/** Immediate as objdump prints it: the unsigned value at the operand width, in hex. */
function hex(v: number, bits: number): string {
  return '0x' + BigInt.asUintN(bits, BigInt(v)).toString(16);
}

const SIZE: Record<number, string> = { 1: 'BYTE', 2: 'WORD', 4: 'DWORD', 8: 'QWORD', 16: 'XMMWORD' };

/** `[base+index*scale+disp]` as objdump prints it (disp8 0 is shown for rbp/r13 bases). */
function addr(base: number, index: number, scale: number, disp: number): string {
  let s = '[' + N64[base];
  if (index >= 0) s += `+${N64[index]}*${scale}`;
  if (disp !== 0 || (base & 7) === 5) s += disp < 0 ? `-0x${(-disp).toString(16)}` : `+0x${disp.toString(16)}`;
  return s + ']';
}
const mem = (size: number, base: number, index: number, scale: number, disp: number) =>
  `${SIZE[size]} PTR ${addr(base, index, scale, disp)}`;

/** Expected encoded length of ModRM + SIB + displacement for a memory operand. */
function memLen(base: number, index: number, disp: number): number {
  const sib = index >= 0 || (base & 7) === 4 ? 1 : 0;
  const d = disp === 0 && (base & 7) !== 5 ? 0 : disp >= -128 && disp <= 127 ? 1 : 4;
  return 1 + sib + d;
}

type Addr = [base: number, index: number, scale: number, disp: number];

/** A sample of addressing modes: every base with disp 0/8/32 bits, every index, special bases with index. */
function sampleAddrs(): Addr[] {
  const out: Addr[] = [];
  const disps = [0, -8, 0x100, 127, -0x80000000];
  for (const b of REGS) {
    out.push([b, -1, 1, 0]);
    out.push([b, -1, 1, -8]);
    out.push([b, -1, 1, 0x12345]);
  }
  const scales = [1, 2, 4, 8];
  let k = 0;
  for (const i of REGS) {
    if (i === RSP) continue;
    out.push([REGS[(i * 7 + 3) % 16], i, scales[k % 4], disps[k % disps.length]]);
    k++;
  }
  for (const b of [RSP, RBP, R12, R13]) {
    for (const i of [RAX, R13, R12, RBP]) out.push([b, i, scales[k++ % 4], 0]);
  }
  return out;
}
const SAMPLE = sampleAddrs();

/** Every base, every index (and none), every scale, displacements at all the size boundaries. */
function fullAddrs(): Addr[] {
  const out: Addr[] = [];
  const disps = [0, 1, -1, 127, -128, 128, -129, 0x12345678, -0x80000000, 0x7fffffff];
  for (const b of REGS) {
    for (const i of [-1, ...REGS.filter((r) => r !== RSP)]) {
      for (const s of i < 0 ? [1] : [1, 2, 4, 8]) for (const d of disps) out.push([b, i, s, d]);
    }
  }
  return out;
}

// -------------------------------------------------------------------------------------------------
// objdump harness

let objdumpChecked = false;
const objdump = objdumpListing;

/** Map instruction start offset -> [length, normalised text]. */
function disassemble(code: Uint8Array): Map<number, [number, string]> {
  if (!objdumpChecked) {
    // Sanity check that objdump understands what we ask for (and fail clearly otherwise).
    const t = objdump(new Uint8Array([0x48, 0x89, 0xc8]));
    if (!/mov\s+rax,rcx/.test(t)) throw new Error(`objdump does not produce Intel-syntax x86-64 output:\n${t}`);
    objdumpChecked = true;
  }
  const text = objdump(code);
  const starts: number[] = [];
  const texts: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*([0-9a-f]+):\t[0-9a-f ]+\t(.*)$/.exec(line);
    if (!m) continue;
    starts.push(parseInt(m[1], 16));
    texts.push(norm(m[2]));
  }
  const map = new Map<number, [number, string]>();
  for (let i = 0; i < starts.length; i++) {
    const end = i + 1 < starts.length ? starts[i + 1] : code.length;
    map.set(starts[i], [end - starts[i], texts[i]]);
  }
  return map;
}

function norm(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

interface Case { start: number; end: number; expect: string; len: number; what: string }

/** Collects emitted instructions with their expected disassembly, then checks them in one objdump run. */
class Batch {
  readonly a: Assembler;
  private cases: Case[] = [];
  constructor(a?: Assembler) {
    this.a = a ?? new Assembler(1 << 16);
  }
  /** Emit one instruction via `fn` and expect it to disassemble as `expect` (and be `len` bytes if given). */
  add(expect: string, fn: (a: Assembler) => void, len = -1, what = ''): void {
    const start = this.a.offset;
    fn(this.a);
    this.cases.push({ start, end: this.a.offset, expect: norm(expect), len, what });
  }
  check(): number {
    const code = this.a.bytes();
    const dis = disassemble(code);
    const failures: string[] = [];
    for (const c of this.cases) {
      const got = dis.get(c.start);
      const bytes = Array.from(code.subarray(c.start, c.end), (b) => b.toString(16).padStart(2, '0')).join(' ');
      const where = `@${c.start.toString(16)} [${bytes}]${c.what ? ' (' + c.what + ')' : ''}`;
      if (got === undefined) {
        failures.push(`${where}: no instruction starts here; expected '${c.expect}'`);
      } else if (got[1] !== c.expect) {
        failures.push(`${where}: got '${got[1]}', expected '${c.expect}'`);
      } else if (c.start + got[0] !== c.end) {
        failures.push(`${where}: '${c.expect}' decodes as ${got[0]} bytes, emitted ${c.end - c.start}`);
      } else if (c.len >= 0 && c.len !== c.end - c.start) {
        failures.push(`${where}: '${c.expect}' is ${c.end - c.start} bytes, expected ${c.len}`);
      }
    }
    if (failures.length > 0) {
      assert.unreachable(`${failures.length} of ${this.cases.length} instructions wrong:\n` +
        failures.slice(0, 40).join('\n'));
    }
    return this.cases.length;
  }
}

// -------------------------------------------------------------------------------------------------
// Register names and conditions

test('regName / xmmName / condName / invertCond', () => {
  for (const r of REGS) {
    assert.is(regName(r, 64), N64[r]);
    assert.is(regName(r, 32), N32[r]);
    assert.is(regName(r, 16), N16[r]);
    assert.is(regName(r, 8), N8[r]);
    assert.is(xmmName(r), `xmm${r}`);
  }
  assert.is(XMM0, 0);
  assert.is(XMM15, 15);
  for (let c = 0; c < 16; c++) {
    assert.is(condName(c as Cond), CC[c]);
    assert.is(invertCond(invertCond(c as Cond)), c);
  }
  assert.is(invertCond(Cond.E), Cond.NE);
  assert.is(invertCond(Cond.L), Cond.GE);
  assert.is(invertCond(Cond.A), Cond.BE);
  assert.is(invertCond(Cond.P), Cond.NP);
});

// -------------------------------------------------------------------------------------------------
// Memory operands

test('memory operands: every base/index/scale/displacement (mov r64, m64 and lea)', () => {
  const t = new Batch(new Assembler(1 << 18));
  let k = 0;
  for (const [b, i, s, d] of fullAddrs()) {
    const dst = REGS[k++ % 16];
    t.add(`mov ${N64[dst]},${mem(8, b, i, s, d)}`, (a) => a.load(LoadKind.I64, dst, b, i, s, d), 2 + memLen(b, i, d));
    const is64 = (k & 1) === 0;
    t.add(`lea ${rn(dst, gw(is64))},${addr(b, i, s, d)}`, (a) => a.lea(is64, dst, b, i, s, d),
      1 + (is64 || dst >= 8 || b >= 8 || i >= 8 ? 1 : 0) + memLen(b, i, d));
  }
  t.check();
});

test('load: every LoadKind x every destination register', () => {
  const t = new Batch();
  const kinds: [LoadKind, (r: number) => string, number][] = [
    [LoadKind.U8, (r) => `movzx ${N32[r]},BYTE`, 1],
    [LoadKind.S8_32, (r) => `movsx ${N32[r]},BYTE`, 1],
    [LoadKind.S8_64, (r) => `movsx ${N64[r]},BYTE`, 1],
    [LoadKind.U16, (r) => `movzx ${N32[r]},WORD`, 2],
    [LoadKind.S16_32, (r) => `movsx ${N32[r]},WORD`, 2],
    [LoadKind.S16_64, (r) => `movsx ${N64[r]},WORD`, 2],
    [LoadKind.U32, (r) => `mov ${N32[r]},DWORD`, 4],
    [LoadKind.S32_64, (r) => `movsxd ${N64[r]},DWORD`, 4],
    [LoadKind.I64, (r) => `mov ${N64[r]},QWORD`, 8],
  ];
  for (const [kind, pre] of kinds) {
    for (const dst of REGS) {
      for (const [b, i, s, d] of SAMPLE) {
        t.add(`${pre(dst)} PTR ${addr(b, i, s, d)}`, (a) => a.load(kind, dst, b, i, s, d));
      }
    }
  }
  t.check();
});

test('store: widths 1/2/4/8 x every source register (byte stores of spl/bpl/sil/dil)', () => {
  const t = new Batch();
  for (const w of [1, 2, 4, 8] as const) {
    for (const src of REGS) {
      for (const [b, i, s, d] of SAMPLE) {
        t.add(`mov ${mem(w, b, i, s, d)},${rn(src, w * 8)}`, (a) => a.store(w, src, b, i, s, d));
      }
    }
  }
  // Byte store of sil needs the empty REX (40 88 ..); without it the register would be dh.
  t.add('mov BYTE PTR [rax],sil', (a) => a.store(1, RSI, RAX, -1, 1, 0), 3);
  t.add('mov BYTE PTR [rax],bl', (a) => a.store(1, RBX, RAX, -1, 1, 0), 2);
  t.check();
});

test('atomics: xchg / lock xadd / lock cmpxchg with memory, widths 1/2/4/8 x every register, mfence', () => {
  const t = new Batch();
  for (const w of [1, 2, 4, 8] as const) {
    for (const src of REGS) {
      for (const [b, i, s, d] of SAMPLE) {
        t.add(`xchg ${mem(w, b, i, s, d)},${rn(src, w * 8)}`, (a) => a.xchgMem(w, src, b, i, s, d));
        t.add(`lock xadd ${mem(w, b, i, s, d)},${rn(src, w * 8)}`, (a) => a.lockXadd(w, src, b, i, s, d));
        t.add(`lock cmpxchg ${mem(w, b, i, s, d)},${rn(src, w * 8)}`, (a) => a.lockCmpxchg(w, src, b, i, s, d));
      }
    }
  }
  // sil needs the empty REX (else dh); the lock prefix comes before 0x66
  t.add('xchg BYTE PTR [rax],sil', (a) => a.xchgMem(1, RSI, RAX, -1, 1, 0), 3);
  t.add('lock xadd WORD PTR [r15+r8*1-0x2],r9w', (a) => a.lockXadd(2, R9, R15, R8, 1, -2), 8);
  t.add('lock cmpxchg QWORD PTR [r15+rcx*1-0x8],rdx', (a) => a.lockCmpxchg(8, RDX, R15, RCX, 1, -8), 7);
  t.add('mfence', (a) => a.mfence(), 3);
  t.check();
});

test('storeImm: widths 1/2/4/8, immediates at the boundaries', () => {
  const t = new Batch();
  const imms: Record<number, number[]> = {
    1: [0, 1, 127, -128, 255, -1],
    2: [0, 0x7fff, -0x8000, 0xffff, -1, 0x1234],
    4: [0, 1, -1, 0x7fffffff, -0x80000000, 0xffffffff, 0x12345678],
    8: [0, 1, -1, 0x7fffffff, -0x80000000, 0x12345678],
  };
  for (const w of [1, 2, 4, 8] as const) {
    let k = 0;
    for (const [b, i, s, d] of SAMPLE) {
      for (const imm of imms[w]) {
        if ((k++ % 3) !== 0 && imm !== imms[w][0]) continue;
        t.add(`mov ${mem(w, b, i, s, d)},${hex(imm, w * 8)}`, (a) => a.storeImm(w, imm, b, i, s, d));
      }
    }
  }
  t.check();
  const a = new Assembler();
  assert.throws(() => a.storeImm(8, 0x80000000, RAX, -1, 1, 0), /int32/);
  assert.throws(() => a.storeImm(1, 256, RAX, -1, 1, 0), /imm8/);
  assert.throws(() => a.storeImm(2, 0x10000, RAX, -1, 1, 0), /imm16/);
});

test('memory operand errors', () => {
  const a = new Assembler();
  assert.throws(() => a.load(LoadKind.I64, RAX, RCX, RSP, 1, 0), /rsp cannot be an index/);
  assert.throws(() => a.load(LoadKind.I64, RAX, RCX, RDX, 3, 0), /scale/);
  assert.throws(() => a.load(LoadKind.I64, RAX, RCX, -1, 1, 0x80000000), /int32/);
  assert.throws(() => a.load(LoadKind.I64, RAX, RCX, -1, 1, 1.5), /int32/);
  // r12 as an index is fine (only rsp's encoding means "no index" without REX.X).
  const t = new Batch();
  t.add('mov rax,QWORD PTR [rcx+r12*1]', (a2) => a2.load(LoadKind.I64, RAX, RCX, R12, 1, 0));
  t.check();
});

// -------------------------------------------------------------------------------------------------
// Moves and immediates

test('movRR, movImm32, movImm64 (shortest form), movImmBig, movImm64Patchable', () => {
  const t = new Batch();
  for (const is64 of [false, true]) {
    for (const d of REGS) for (const s of REGS) {
      t.add(`mov ${rn(d, gw(is64))},${rn(s, gw(is64))}`, (a) => a.movRR(is64, d, s), is64 || d >= 8 || s >= 8 ? 3 : 2);
    }
  }
  for (const d of REGS) {
    for (const imm of [0, 1, -1, 0x7fffffff, 0x80000000, 0xffffffff, -0x80000000]) {
      t.add(`mov ${N32[d]},${hex(imm, 32)}`, (a) => a.movImm32(d, imm), d >= 8 ? 6 : 5);
    }
    // hi == 0: mov r32, imm32 (zero-extends).
    for (const lo of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, -1]) {
      t.add(`mov ${N32[d]},${hex(lo, 32)}`, (a) => a.movImm64(d, lo, 0), d >= 8 ? 6 : 5);
    }
    // Sign-extending simm32: REX.W C7 /0.
    for (const lo of [-1, 0x80000000, 0xffffff80, -0x80000000]) {
      t.add(`mov ${N64[d]},${hex(lo | 0, 64)}`, (a) => a.movImm64(d, lo, -1), 7);
      t.add(`mov ${N64[d]},${hex(lo | 0, 64)}`, (a) => a.movImm64(d, lo, 0xffffffff), 7);
    }
    // Everything else: movabs.
    for (const [lo, hi] of [[0, 1], [0x9abcdef0, 0x12345678], [0x7fffffff, -1], [0, 0x80000000], [5, 0xfffffffe]]) {
      const v = (BigInt.asUintN(32, BigInt(hi)) << 32n) | BigInt.asUintN(32, BigInt(lo));
      t.add(`movabs ${N64[d]},0x${v.toString(16)}`, (a) => a.movImm64(d, lo, hi), 10);
    }
    t.add(`movabs ${N64[d]},0x1122334455667788`, (a) => a.movImmBig(d, 0x1122334455667788n), 10);
    t.add(`mov ${N64[d]},0xfffffffffffffffe`, (a) => a.movImmBig(d, -2n), 7);
    t.add(`mov ${N32[d]},0xffffffff`, (a) => a.movImmBig(d, 0xffffffffn), d >= 8 ? 6 : 5);
    t.add(`mov ${N32[d]},0x0`, (a) => a.movImmBig(d, 1n << 64n), d >= 8 ? 6 : 5);
    t.add(`movabs ${N64[d]},0x0`, (a) => a.movImm64Patchable(d, 0, 0), 10);
  }
  t.check();
  const a = new Assembler();
  const at = a.offset + 2;
  assert.is(a.movImm64Patchable(RAX, 0, 0), at);
  assert.throws(() => a.movImm32(RAX, 0x100000000), /32 bits/);
  assert.throws(() => a.movImm64(RAX, 0, 2 ** 32), /32 bits/);
});

test('movzxRR, movsxRR, cmov, xchg', () => {
  const t = new Batch();
  for (const d of REGS) for (const s of REGS) {
    t.add(`movzx ${N32[d]},${N8[s]}`, (a) => a.movzxRR(1, d, s), s >= 4 || d >= 8 ? 4 : 3);
    t.add(`movzx ${N32[d]},${N16[s]}`, (a) => a.movzxRR(2, d, s));
    t.add(`movsx ${N32[d]},${N8[s]}`, (a) => a.movsxRR(false, 1, d, s));
    t.add(`movsx ${N64[d]},${N8[s]}`, (a) => a.movsxRR(true, 1, d, s));
    t.add(`movsx ${N32[d]},${N16[s]}`, (a) => a.movsxRR(false, 2, d, s));
    t.add(`movsx ${N64[d]},${N16[s]}`, (a) => a.movsxRR(true, 2, d, s));
    t.add(`movsxd ${N64[d]},${N32[s]}`, (a) => a.movsxRR(true, 4, d, s));
    for (const is64 of [false, true]) {
      const c = (d * 16 + s) & 15;
      t.add(`cmov${CC[c]} ${rn(d, gw(is64))},${rn(s, gw(is64))}`, (a) => a.cmov(c as Cond, is64, d, s));
      t.add(`xchg ${rn(d, gw(is64))},${rn(s, gw(is64))}`, (a) => a.xchg(is64, d, s));
    }
  }
  // movzx from a low byte register 0-3 needs no REX; from spl/bpl/sil/dil it does.
  t.add('movzx eax,bl', (a) => a.movzxRR(1, RAX, RBX), 3);
  t.add('movzx esi,bl', (a) => a.movzxRR(1, RSI, RBX), 3);
  t.add('movzx eax,sil', (a) => a.movzxRR(1, RAX, RSI), 4);
  for (let c = 0; c < 16; c++) t.add(`cmov${CC[c]} rax,rcx`, (a) => a.cmov(c as Cond, true, RAX, RCX));
  t.check();
  assert.throws(() => new Assembler().movsxRR(false, 4, RAX, RCX), /movsx/);
});

// -------------------------------------------------------------------------------------------------
// ALU

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

test('alu / aluImm / aluImm32: every op, register pair and immediate size', () => {
  const t = new Batch();
  for (let op = 0; op < 8; op++) {
    for (const is64 of [false, true]) {
      const bits = gw(is64);
      for (const d of REGS) for (const s of REGS) {
        if (((d + s + op) & 3) !== 0 && d !== s && d !== RSP && s !== R13) continue; // keep the size sane
        t.add(`${ALU[op]} ${rn(d, bits)},${rn(s, bits)}`, (a) => a.alu(op as AluOp, is64, d, s));
      }
      for (const d of REGS) {
        const rex = is64 || d >= 8 ? 1 : 0;
        for (const imm of [0, 1, -1, 127, -128]) {
          t.add(`${ALU[op]} ${rn(d, bits)},${hex(imm, bits)}`, (a) => a.aluImm(op as AluOp, is64, d, imm), rex + 3);
        }
        for (const imm of [128, -129, 0x7fffffff, -0x80000000, 0x12345]) {
          t.add(`${ALU[op]} ${rn(d, bits)},${hex(imm, bits)}`, (a) => a.aluImm(op as AluOp, is64, d, imm),
            rex + (d === RAX ? 5 : 6));
        }
        if (!is64) {
          // uint32 immediates are accepted for 32-bit operations.
          t.add(`${ALU[op]} ${rn(d, bits)},0xffffffff`, (a) => a.aluImm(op as AluOp, false, d, 0xffffffff), rex + 3);
          t.add(`${ALU[op]} ${rn(d, bits)},0x80000000`, (a) => a.aluImm(op as AluOp, false, d, 0x80000000));
        }
        t.add(`${ALU[op]} ${rn(d, bits)},0x8`, (a) => a.aluImm32(op as AluOp, is64, d, 8), rex + 6);
      }
    }
  }
  t.check();
  const a = new Assembler();
  assert.throws(() => a.aluImm(AluOp.ADD, true, RAX, 0x80000000), /int32/);
  assert.throws(() => a.aluImm(AluOp.ADD, false, RAX, 0x100000000), /32 bits/);
  // aluImm32 returns the offset of the patchable imm32.
  const b = new Assembler();
  b.push(RBP);
  const at = b.aluImm32(AluOp.SUB, true, RSP, 0);
  assert.is(at, 1 + 3);
  b.patchInt32(at, 0x1230);
  assert.is(b.readInt32(at), 0x1230);
  const t2 = new Batch(b);
  t2.add('sub rsp,0x40', (x) => x.aluImm32(AluOp.SUB, true, RSP, 0x40));
  t2.check();
});

test('aluLoad / aluStore / aluMemImm: every op, register and addressing sample', () => {
  const t = new Batch();
  for (let op = 0; op < 8; op++) {
    for (const is64 of [false, true]) {
      const bits = gw(is64);
      const w = is64 ? 8 : 4;
      let k = op;
      for (const r of REGS) {
        for (const [b, i, s, d] of SAMPLE) {
          if ((k++ % 4) !== 0) continue;
          t.add(`${ALU[op]} ${rn(r, bits)},${mem(w, b, i, s, d)}`, (a) => a.aluLoad(op as AluOp, is64, r, b, i, s, d));
          t.add(`${ALU[op]} ${mem(w, b, i, s, d)},${rn(r, bits)}`, (a) => a.aluStore(op as AluOp, is64, b, i, s, d, r));
        }
      }
      let j = 0;
      for (const [b, i, s, d] of SAMPLE) {
        const imm = [0, -1, 127, -128, 128, 0x7fffffff, -0x80000000][j++ % 7];
        const immLen = imm >= -128 && imm <= 127 ? 1 : 4;
        const rex = is64 || b >= 8 || i >= 8 ? 1 : 0;
        t.add(`${ALU[op]} ${mem(w, b, i, s, d)},${hex(imm, bits)}`,
          (a) => a.aluMemImm(op as AluOp, is64, b, i, s, d, imm), rex + 1 + memLen(b, i, d) + immLen);
      }
    }
  }
  t.check();
});

test('test / testImm / unary / imul / imulImm / cdq / cqo', () => {
  const t = new Batch();
  const UN: [UnaryOp, string][] = [[UnaryOp.NOT, 'not'], [UnaryOp.NEG, 'neg'], [UnaryOp.MUL, 'mul'],
    [UnaryOp.IMUL, 'imul'], [UnaryOp.DIV, 'div'], [UnaryOp.IDIV, 'idiv']];
  for (const is64 of [false, true]) {
    const bits = gw(is64);
    for (const x of REGS) {
      for (const y of REGS) {
        t.add(`test ${rn(x, bits)},${rn(y, bits)}`, (a) => a.test(is64, x, y));
        t.add(`imul ${rn(x, bits)},${rn(y, bits)}`, (a) => a.imul(is64, x, y));
      }
      for (const imm of [1, -1, 0x7fffffff, -0x80000000, 0x80]) {
        t.add(`test ${rn(x, bits)},${hex(imm, bits)}`, (a) => a.testImm(is64, x, imm));
      }
      if (!is64) t.add(`test ${rn(x, 32)},0x80000000`, (a) => a.testImm(false, x, 0x80000000));
      for (const [op, name] of UN) t.add(`${name} ${rn(x, bits)}`, (a) => a.unary(op, is64, x));
      for (const y of [RAX, RSP, RBP, R8, R13, R15]) {
        for (const imm of [3, -5, 127, -128, 128, 1000, -0x80000000]) {
          const len = (is64 || x >= 8 || y >= 8 ? 1 : 0) + 2 + (imm >= -128 && imm <= 127 ? 1 : 4);
          t.add(`imul ${rn(x, bits)},${rn(y, bits)},${hex(imm, bits)}`, (a) => a.imulImm(is64, x, y, imm), len);
        }
      }
    }
  }
  t.add('cdq', (a) => a.cdq(), 1);
  t.add('cqo', (a) => a.cqo(), 2);
  t.check();
  assert.throws(() => new Assembler().testImm(true, RCX, 0x80000000), /int32/);
});

test('shift / shiftImm: every op, register and count (masked)', () => {
  const t = new Batch();
  const SH: [ShiftOp, string][] = [[ShiftOp.ROL, 'rol'], [ShiftOp.ROR, 'ror'], [ShiftOp.SHL, 'shl'],
    [ShiftOp.SHR, 'shr'], [ShiftOp.SAR, 'sar']];
  for (const is64 of [false, true]) {
    const bits = gw(is64);
    for (const r of REGS) {
      const rex = is64 || r >= 8 ? 1 : 0;
      for (const [op, name] of SH) {
        t.add(`${name} ${rn(r, bits)},cl`, (a) => a.shift(op, is64, r), rex + 2);
        for (const n of [0, 1, 2, 31, 32, 33, 63, 64, 65, -1]) {
          const m = n & (is64 ? 63 : 31);
          t.add(`${name} ${rn(r, bits)},${m === 1 ? '1' : hex(m, 8)}`, (a) => a.shiftImm(op, is64, r, n),
            rex + (m === 1 ? 2 : 3));
        }
      }
    }
  }
  t.check();
});

test('setcc (every condition, every register incl. spl/bpl/sil/dil) and bitop', () => {
  const t = new Batch();
  for (let c = 0; c < 16; c++) {
    for (const r of REGS) {
      t.add(`set${CC[c]} ${N8[r]}`, (a) => a.setcc(c as Cond, r), r >= 4 ? 4 : 3);
    }
  }
  const BIT: [BitOp, string, number][] = [[BitOp.LZCNT, 'lzcnt', 1], [BitOp.TZCNT, 'tzcnt', 1],
    [BitOp.POPCNT, 'popcnt', 1], [BitOp.BSR, 'bsr', 0], [BitOp.BSF, 'bsf', 0]];
  for (const [op, name, pfx] of BIT) {
    for (const is64 of [false, true]) {
      for (const d of REGS) for (const s of REGS) {
        const len = pfx + (is64 || d >= 8 || s >= 8 ? 1 : 0) + 3;
        t.add(`${name} ${rn(d, gw(is64))},${rn(s, gw(is64))}`, (a) => a.bitop(op, is64, d, s), len);
      }
    }
  }
  t.check();
  // Mandatory prefix F3 must come before REX.
  const a = new Assembler();
  a.bitop(BitOp.POPCNT, true, R9, RCX);
  assert.equal(Array.from(a.bytes()), [0xf3, 0x4c, 0x0f, 0xb8, 0xc9]);
});

test('crc32 (SSE4.2): every width, register and memory sources', () => {
  const t = new Batch();
  const W: Array<[1 | 2 | 4 | 8, number]> = [[1, 8], [2, 16], [4, 32], [8, 64]];
  for (const [w, bits] of W) {
    const dbits = w === 8 ? 64 : 32;
    for (const d of REGS) for (const s of REGS) {
      // F2 [66] [REX] 0F 38 F0/F1 ModRM (byte sources spl..dil need an empty REX).
      const rex = w === 8 || d >= 8 || s >= 8 || (w === 1 && s >= 4 && s <= 7) ? 1 : 0;
      t.add(`crc32 ${rn(d, dbits)},${rn(s, bits)}`, (a) => a.crc32(w, d, s), (w === 2 ? 1 : 0) + 1 + rex + 4);
    }
    for (const [b, i, sc, disp] of sampleAddrs()) {
      for (const d of [RAX, R11]) {
        t.add(`crc32 ${rn(d, dbits)},${mem(w, b, i, sc, disp)}`, (a) => a.crc32Load(w, d, b, i, sc, disp));
      }
    }
  }
  t.check();
  // The mandatory F2 prefix comes before REX (and after an operand-size 66).
  const a = new Assembler();
  a.crc32Load(8, R10, R9, -1, 1, 8);
  a.crc32(2, RAX, RCX);
  assert.equal(Array.from(a.bytes()), [0xf2, 0x4d, 0x0f, 0x38, 0xf1, 0x51, 0x08, 0x66, 0xf2, 0x0f, 0x38, 0xf1, 0xc1]);
});

test('stack, indirect control and misc instructions', () => {
  const t = new Batch();
  for (const r of REGS) {
    t.add(`push ${N64[r]}`, (a) => a.push(r), r >= 8 ? 2 : 1);
    t.add(`pop ${N64[r]}`, (a) => a.pop(r), r >= 8 ? 2 : 1);
    t.add(`call ${N64[r]}`, (a) => a.callReg(r), r >= 8 ? 3 : 2);
    t.add(`jmp ${N64[r]}`, (a) => a.jmpReg(r), r >= 8 ? 3 : 2);
    for (const d of [0, 8, -8, 0x1000, -0x80000000]) {
      t.add(`call QWORD PTR ${addr(r, -1, 1, d)}`, (a) => a.callMem(r, d), (r >= 8 ? 1 : 0) + 1 + memLen(r, -1, d));
      t.add(`jmp QWORD PTR ${addr(r, -1, 1, d)}`, (a) => a.jmpMem(r, d), (r >= 8 ? 1 : 0) + 1 + memLen(r, -1, d));
    }
  }
  t.add('push 0xffffffffffffffff', (a) => a.pushImm(-1), 2);
  t.add('push 0x7f', (a) => a.pushImm(127), 2);
  t.add('push 0x80', (a) => a.pushImm(128), 5);
  t.add('push 0xffffffff80000000', (a) => a.pushImm(-0x80000000), 5);
  t.add('ret', (a) => a.ret(), 1);
  t.add('ud2', (a) => a.ud2(), 2);
  t.add('int3', (a) => a.int3(), 1);
  t.add('nop', (a) => a.nop(), 1);
  t.add('cld', (a) => a.cld(), 1);
  t.add('std', (a) => a.std(), 1);
  t.add('rep movs BYTE PTR es:[rdi],BYTE PTR ds:[rsi]', (a) => a.repMovsb(), 2);
  t.add('rep stos BYTE PTR es:[rdi],al', (a) => a.repStosb(), 2);
  t.add('mfence', (a) => a.mfence(), 3);
  t.check();
});

// -------------------------------------------------------------------------------------------------
// SSE

const SSE: [SseOp, string, number][] = [
  [SseOp.ADDSS, 'addss', 4], [SseOp.ADDSD, 'addsd', 8], [SseOp.SUBSS, 'subss', 4], [SseOp.SUBSD, 'subsd', 8],
  [SseOp.MULSS, 'mulss', 4], [SseOp.MULSD, 'mulsd', 8], [SseOp.DIVSS, 'divss', 4], [SseOp.DIVSD, 'divsd', 8],
  [SseOp.MINSS, 'minss', 4], [SseOp.MINSD, 'minsd', 8], [SseOp.MAXSS, 'maxss', 4], [SseOp.MAXSD, 'maxsd', 8],
  [SseOp.SQRTSS, 'sqrtss', 4], [SseOp.SQRTSD, 'sqrtsd', 8], [SseOp.UCOMISS, 'ucomiss', 4], [SseOp.UCOMISD, 'ucomisd', 8],
  [SseOp.ANDPS, 'andps', 16], [SseOp.ANDPD, 'andpd', 16], [SseOp.ANDNPS, 'andnps', 16], [SseOp.ANDNPD, 'andnpd', 16],
  [SseOp.ORPS, 'orps', 16], [SseOp.ORPD, 'orpd', 16], [SseOp.XORPS, 'xorps', 16], [SseOp.XORPD, 'xorpd', 16],
  [SseOp.MOVAPS, 'movaps', 16], [SseOp.CVTSS2SD, 'cvtss2sd', 4], [SseOp.CVTSD2SS, 'cvtsd2ss', 8],
];

test('sse / sseLoad: every op, every xmm pair, addressing samples', () => {
  assert.is(SSE.length, SseOp.CVTSD2SS + 1);
  const t = new Batch();
  for (const [op, name, size] of SSE) {
    for (const d of REGS) for (const s of REGS) {
      t.add(`${name} ${xn(d)},${xn(s)}`, (a) => a.sse(op, d, s));
    }
    let k = 0;
    for (const d of REGS) {
      for (const [b, i, sc, disp] of SAMPLE) {
        if ((k++ % 5) !== 0) continue;
        t.add(`${name} ${xn(d)},${mem(size, b, i, sc, disp)}`, (a) => a.sseLoad(op, d, b, i, sc, disp));
      }
    }
  }
  t.check();
  // Prefix before REX: addsd xmm9, xmm1 = F2 44 0F 58 C9.
  const a = new Assembler();
  a.sse(SseOp.ADDSD, 9, 1);
  a.sse(SseOp.XORPD, 0, 15);
  a.sse(SseOp.XORPS, 0, 0);
  assert.equal(Array.from(a.bytes()), [0xf2, 0x44, 0x0f, 0x58, 0xc9, 0x66, 0x41, 0x0f, 0x57, 0xc7, 0x0f, 0x57, 0xc0]);
});

test('movss/movsd loads and stores, movd/movq, conversions, round', () => {
  const t = new Batch();
  for (const x of REGS) {
    for (const [b, i, s, d] of SAMPLE) {
      t.add(`movss ${xn(x)},${mem(4, b, i, s, d)}`, (a) => a.movssLoad(x, b, i, s, d));
      t.add(`movsd ${xn(x)},${mem(8, b, i, s, d)}`, (a) => a.movsdLoad(x, b, i, s, d));
      t.add(`movss ${mem(4, b, i, s, d)},${xn(x)}`, (a) => a.movssStore(x, b, i, s, d));
      t.add(`movsd ${mem(8, b, i, s, d)},${xn(x)}`, (a) => a.movsdStore(x, b, i, s, d));
    }
    for (const g of REGS) {
      t.add(`movd ${xn(x)},${N32[g]}`, (a) => a.movdToXmm(false, x, g));
      t.add(`movq ${xn(x)},${N64[g]}`, (a) => a.movdToXmm(true, x, g));
      t.add(`movd ${N32[g]},${xn(x)}`, (a) => a.movdFromXmm(false, g, x));
      t.add(`movq ${N64[g]},${xn(x)}`, (a) => a.movdFromXmm(true, g, x));
      t.add(`cvtsi2ss ${xn(x)},${N32[g]}`, (a) => a.cvtsi2s(false, false, x, g));
      t.add(`cvtsi2ss ${xn(x)},${N64[g]}`, (a) => a.cvtsi2s(false, true, x, g));
      t.add(`cvtsi2sd ${xn(x)},${N32[g]}`, (a) => a.cvtsi2s(true, false, x, g));
      t.add(`cvtsi2sd ${xn(x)},${N64[g]}`, (a) => a.cvtsi2s(true, true, x, g));
      t.add(`cvttss2si ${N32[g]},${xn(x)}`, (a) => a.cvtts2si(false, false, g, x));
      t.add(`cvttss2si ${N64[g]},${xn(x)}`, (a) => a.cvtts2si(false, true, g, x));
      t.add(`cvttsd2si ${N32[g]},${xn(x)}`, (a) => a.cvtts2si(true, false, g, x));
      t.add(`cvttsd2si ${N64[g]},${xn(x)}`, (a) => a.cvtts2si(true, true, g, x));
    }
    for (const y of REGS) {
      for (const mode of [0, 1, 2, 3, 8, 9, 10, 11]) {
        if (((x + y + mode) & 3) !== 0) continue;
        t.add(`roundss ${xn(x)},${xn(y)},${hex(mode, 8)}`, (a) => a.round(false, x, y, mode));
        t.add(`roundsd ${xn(x)},${xn(y)},${hex(mode, 8)}`, (a) => a.round(true, x, y, mode));
      }
    }
  }
  t.check();
  // Mandatory prefix before REX.W: cvtsi2sd xmm1, r9 = F2 49 0F 2A C9; movq xmm1, r9 = 66 49 0F 6E C9.
  const a = new Assembler();
  a.cvtsi2s(true, true, 1, R9);
  a.movdToXmm(true, 1, R9);
  a.round(true, 1, 2, 1);
  assert.equal(Array.from(a.bytes()), [0xf2, 0x49, 0x0f, 0x2a, 0xc9, 0x66, 0x49, 0x0f, 0x6e, 0xc9,
    0x66, 0x0f, 0x3a, 0x0b, 0xca, 0x01]);
});

test('extra SSE: movssRR/movsdRR/movqXX/pxor/pcmpeqd/shift imm/movmskp/movdqu/cmpsImm', () => {
  const t = new Batch();
  const PRED = ['eq', 'lt', 'le', 'unord', 'neq', 'nlt', 'nle', 'ord'];
  for (const x of REGS) {
    for (const y of REGS) {
      t.add(`movss ${xn(x)},${xn(y)}`, (a) => a.movssRR(x, y));
      t.add(`movsd ${xn(x)},${xn(y)}`, (a) => a.movsdRR(x, y));
      t.add(`movq ${xn(x)},${xn(y)}`, (a) => a.movqXX(x, y));
      t.add(`pxor ${xn(x)},${xn(y)}`, (a) => a.pxor(x, y));
      t.add(`pcmpeqd ${xn(x)},${xn(y)}`, (a) => a.pcmpeqd(x, y));
      t.add(`movmskps ${N32[x]},${xn(y)}`, (a) => a.movmskp(false, x, y));
      t.add(`movmskpd ${N32[x]},${xn(y)}`, (a) => a.movmskp(true, x, y));
      const p = (x + y) & 7;
      t.add(`cmp${PRED[p]}ss ${xn(x)},${xn(y)}`, (a) => a.cmpsImm(false, x, y, p));
      t.add(`cmp${PRED[p]}sd ${xn(x)},${xn(y)}`, (a) => a.cmpsImm(true, x, y, p));
    }
    for (const n of [1, 31, 32, 63]) {
      t.add(`psrlq ${xn(x)},${hex(n, 8)}`, (a) => a.psrlqImm(x, n));
      t.add(`psllq ${xn(x)},${hex(n, 8)}`, (a) => a.psllqImm(x, n));
      t.add(`psrld ${xn(x)},${hex(n, 8)}`, (a) => a.psrldImm(x, n));
      t.add(`pslld ${xn(x)},${hex(n, 8)}`, (a) => a.pslldImm(x, n));
    }
    for (const [b, i, s, d] of SAMPLE) {
      t.add(`movdqu ${xn(x)},${mem(16, b, i, s, d)}`, (a) => a.movdquLoad(x, b, i, s, d));
      t.add(`movdqu ${mem(16, b, i, s, d)},${xn(x)}`, (a) => a.movdquStore(x, b, i, s, d));
    }
  }
  t.check();
});

// -------------------------------------------------------------------------------------------------
// Labels

test('labels: backward jumps pick rel8/rel32 at the exact boundary, forward jumps use rel32', () => {
  const t = new Batch();
  const a = t.a;
  const top = a.newLabel();
  assert.is(a.isBound(top), false);
  assert.is(a.labelOffset(top), -1);
  a.bind(top);
  assert.is(a.isBound(top), true);
  assert.is(a.labelOffset(top), 0);
  // Backward distances around the rel8 boundary: a jump k bytes after its label has rel8 = -(k + 2).
  for (const k of [0, 1, 125, 126, 127, 128, 200]) {
    for (const kind of ['jmp', 'jcc', 'call'] as const) {
      const l = a.newLabel();
      a.bind(l);
      const lo = a.offset;
      for (let i = 0; i < k; i++) a.nop();
      const short = k <= 126;
      if (kind === 'jmp') t.add(`jmp 0x${lo.toString(16)}`, (x) => x.jmp(l), short ? 2 : 5, `k=${k}`);
      else if (kind === 'jcc') t.add(`jle 0x${lo.toString(16)}`, (x) => x.jcc(Cond.LE, l), short ? 2 : 6, `k=${k}`);
      else t.add(`call 0x${lo.toString(16)}`, (x) => x.call(l), 5, `k=${k}`);
    }
  }
  // Every condition, both forms.
  const mid = a.newLabel();
  a.bind(mid);
  const midOff = a.offset;
  for (let c = 0; c < 16; c++) t.add(`j${CC[c]} 0x${midOff.toString(16)}`, (x) => x.jcc(c as Cond, mid), 2);
  for (let i = 0; i < 130; i++) a.int3();
  for (let c = 0; c < 16; c++) t.add(`j${CC[c]} 0x${midOff.toString(16)}`, (x) => x.jcc(c as Cond, mid), 6);
  t.add(`call 0x${midOff.toString(16)}`, (x) => x.call(mid), 5);
  t.add(`lea r13,[rip+0x${BigInt.asUintN(64, BigInt(midOff - (a.offset + 7))).toString(16)}] # 0x${midOff.toString(16)}`,
    (x) => x.leaLabel(R13, mid), 7);
  // Forward jumps: rel32 even when close.
  const fwd = a.newLabel();
  const fwdExpect: [number, string, number][] = [];
  const record = (text: string, len: number, fn: (x: Assembler) => void) => {
    const s = a.offset;
    fn(a);
    assert.is(a.offset - s, len, text);
    fwdExpect.push([s, text, len]);
  };
  record('jmp', 5, (x) => x.jmp(fwd));
  for (let c = 0; c < 16; c++) record(`j${CC[c]}`, 6, (x) => x.jcc(c as Cond, fwd));
  record('call', 5, (x) => x.call(fwd));
  record('lea', 7, (x) => x.leaLabel(RAX, fwd));
  record('lea', 7, (x) => x.leaLabel(R9, fwd));
  a.nop();
  a.bind(fwd);
  const fwdOff = a.offset;
  assert.is(a.labelOffset(fwd), fwdOff);
  a.nop();
  a.finish();
  // Add the forward-jump cases after binding (Batch.add records the emitted range).
  const dis = disassemble(a.bytes());
  for (const [s, what, len] of fwdExpect) {
    const got = dis.get(s);
    assert.ok(got, `instruction at ${s}`);
    assert.is(got![0], len);
    if (what === 'lea') {
      const reg = a.bytes()[s] === 0x4c ? 'r9' : 'rax';
      assert.is(got![1], `lea ${reg},[rip+0x${(fwdOff - (s + 7)).toString(16)}] # 0x${fwdOff.toString(16)}`);
    } else {
      assert.is(got![1], `${what} 0x${fwdOff.toString(16)}`);
    }
  }
  t.check();
});

test('labels: jmpShort / jccShort forward and backward, range errors', () => {
  const t = new Batch();
  const a = t.a;
  const back = a.newLabel();
  a.bind(back);
  for (let i = 0; i < 126; i++) a.nop();
  t.add('jmp 0x0', (x) => x.jmpShort(back), 2);          // rel8 = -128: fits
  const back2 = a.newLabel();
  a.bind(back2);
  for (let i = 0; i < 126; i++) a.nop();
  t.add(`jl 0x${a.labelOffset(back2).toString(16)}`, (x) => x.jccShort(Cond.L, back2), 2);  // rel8 = -128
  const back3 = a.newLabel();
  a.bind(back3);
  for (let i = 0; i < 127; i++) a.nop();
  const before = a.offset;
  assert.throws(() => a.jmpShort(back3), /rel8 range \(distance -129\)/);  // immediate error
  assert.throws(() => a.jccShort(Cond.E, back3), /rel8 range/);
  assert.is(a.offset, before);                            // nothing emitted by the failed attempts
  // Forward short jumps, distance 127 (the maximum).
  const f1 = a.newLabel();
  const s1 = a.offset;
  a.jmpShort(f1);
  for (let i = 0; i < 127; i++) a.nop();
  a.bind(f1);
  const f2 = a.newLabel();
  const s2 = a.offset;
  a.jccShort(Cond.B, f2);
  a.jccShort(Cond.B, f2);
  a.jccShort(Cond.G, f2);
  a.nop();
  a.bind(f2);
  a.finish();
  const dis = disassemble(a.bytes());
  assert.equal(dis.get(s1), [2, `jmp 0x${(s1 + 2 + 127).toString(16)}`]);
  const f2Off = a.labelOffset(f2);
  assert.equal(dis.get(s2), [2, `jb 0x${f2Off.toString(16)}`]);
  assert.equal(dis.get(s2 + 2), [2, `jb 0x${f2Off.toString(16)}`]);
  assert.equal(dis.get(s2 + 4), [2, `jg 0x${f2Off.toString(16)}`]);
  t.check();

  // Forward by 128: the error is raised when the label is bound.
  const b = new Assembler();
  const far = b.newLabel();
  b.jmpShort(far);
  for (let i = 0; i < 128; i++) b.nop();
  assert.throws(() => b.bind(far), /short jump at offset 0 .*out of rel8 range/);
  const c = new Assembler();
  const far2 = c.newLabel();
  c.jccShort(Cond.NE, far2);
  for (let i = 0; i < 127; i++) c.nop();
  c.bind(far2);                                           // exactly 127: fine
  assert.equal(Array.from(c.bytes().subarray(0, 2)), [0x75, 127]);
});

test('labels: emitLabelDelta32 in every binding order, finish(), misuse errors', () => {
  const a = new Assembler();
  const L = [a.newLabel(), a.newLabel(), a.newLabel(), a.newLabel(), a.newLabel(), a.newLabel()];
  // L0 bound before, L1 bound before: resolved immediately.
  a.bind(L[0]);
  a.int3();
  a.bind(L[1]);
  const d0 = a.offset; a.emitLabelDelta32(L[1], L[0]);
  const d1 = a.offset; a.emitLabelDelta32(L[0], L[1]);
  // Base bound, target later.
  const d2 = a.offset; a.emitLabelDelta32(L[2], L[0]);
  // Target bound, base later.
  const d3 = a.offset; a.emitLabelDelta32(L[0], L[3]);
  // Neither bound: target bound first / base bound first.
  const d4 = a.offset; a.emitLabelDelta32(L[4], L[5]);
  const d5 = a.offset; a.emitLabelDelta32(L[5], L[4]);
  assert.throws(() => a.finish(), /unresolved/);
  for (let i = 0; i < 3; i++) a.nop();
  a.bind(L[4]);
  a.nop();
  a.bind(L[2]);
  a.nop();
  a.bind(L[5]);
  a.nop();
  a.bind(L[3]);
  a.finish();
  const off = (l: number) => a.labelOffset(l);
  assert.is(a.readInt32(d0), off(L[1]) - off(L[0]));
  assert.is(a.readInt32(d1), off(L[0]) - off(L[1]));
  assert.is(a.readInt32(d2), off(L[2]) - off(L[0]));
  assert.is(a.readInt32(d3), off(L[0]) - off(L[3]));
  assert.is(a.readInt32(d4), off(L[4]) - off(L[5]));
  assert.is(a.readInt32(d5), off(L[5]) - off(L[4]));
  assert.is(a.readInt32(d1), -1);

  // A jump table: lea base; movsxd; add; jmp — targets bound after the table.
  const t = new Batch();
  const tbl = t.a.newLabel();
  const cases = [t.a.newLabel(), t.a.newLabel(), t.a.newLabel()];
  t.add('lea r11,[rip+0x3] # 0xa', (x) => x.leaLabel(R11, tbl), 7);
  for (let i = 0; i < 3; i++) {
    t.a.bind(cases[i]);
    t.add('ret', (x) => x.ret());
  }
  t.a.bind(tbl); // offset 10: the table itself is data, placed last so it does not disturb disassembly
  assert.is(t.a.labelOffset(tbl), 10);
  t.check();
  for (const c of cases) t.a.emitLabelDelta32(c, tbl);
  t.a.finish();
  for (let i = 0; i < 3; i++) assert.is(t.a.readInt32(10 + 4 * i), 7 + i - 10);

  // Misuse.
  const m = new Assembler();
  const l = m.newLabel();
  m.jmp(l);
  assert.throws(() => m.finish(), /1 unresolved label fixup\(s\); unbound labels: 0/);
  m.bind(l);
  m.finish();
  assert.throws(() => m.bind(l), /bound twice/);
  assert.throws(() => m.jmp(99), /unknown label/);
  assert.throws(() => m.labelOffset(-1), /unknown label/);
});

test('labels: many labels and fixups (internal arrays grow), reset', () => {
  const a = new Assembler(16);
  const n = 500;
  const labels: number[] = [];
  for (let i = 0; i < n; i++) labels.push(a.newLabel());
  for (let i = 0; i < n; i++) {
    a.jmp(labels[i]);
    a.jcc(Cond.E, labels[i]);
  }
  for (let i = 0; i < n; i++) a.bind(labels[i]);
  a.finish();
  // All targets are the end of the jumps.
  const end = n * 11;
  for (let i = 0; i < n; i++) {
    assert.is(a.readInt32(i * 11 + 1), end - (i * 11 + 5));
    assert.is(a.readInt32(i * 11 + 7), end - (i * 11 + 11));
  }
  a.reset();
  assert.is(a.offset, 0);
  assert.is(a.bytes().length, 0);
  const l = a.newLabel();
  assert.is(l, 0);
  assert.is(a.isBound(l), false);
  a.jmp(l);
  a.bind(l);
  a.finish();
  assert.equal(Array.from(a.bytes()), [0xe9, 0, 0, 0, 0]);
});

test('jmpToOffset / callToOffset', () => {
  const t = new Batch();
  t.a.nop();
  t.add('jmp 0x0', (x) => x.jmpToOffset(0), 5);
  t.add('call 0x0', (x) => x.callToOffset(0), 5);
  t.add('call 0x100', (x) => x.callToOffset(0x100), 5);
  t.check();
});

// -------------------------------------------------------------------------------------------------
// Buffer

test('buffer: growth, bytes() copies, byte/int32/patchInt32/readInt32, align', () => {
  const small = new Assembler(1);
  const big = new Assembler(1 << 20);
  for (const a of [small, big]) {
    for (let i = 0; i < 3000; i++) {
      a.load(LoadKind.I64, i & 15, (i * 3) & 15, (i & 7) === 4 ? -1 : (i & 7) + 8, 8, i * 1000);
      a.movImm64(i & 15, i, 0x12345678);
      a.sseLoad(SseOp.ADDSD, i & 15, RSP, -1, 1, i);
    }
  }
  assert.is(small.offset, big.offset);
  assert.equal(small.bytes(), big.bytes());

  const a = new Assembler();
  a.byte(0x90);
  a.byte(0x1ff);           // truncated to 0xff
  a.int32(-2);
  a.int32(0xdeadbeef);
  assert.is(a.offset, 10);
  assert.equal(Array.from(a.bytes()), [0x90, 0xff, 0xfe, 0xff, 0xff, 0xff, 0xef, 0xbe, 0xad, 0xde]);
  assert.is(a.readInt32(2), -2);
  assert.is(a.readInt32(6), 0xdeadbeef | 0);
  a.patchInt32(2, 0x01020304);
  assert.is(a.readInt32(2), 0x01020304);
  assert.throws(() => a.patchInt32(8, 0), /out of range/);
  assert.throws(() => a.readInt32(-1), /out of range/);
  const copy = a.bytes();
  copy[0] = 0;
  assert.is(a.bytes()[0], 0x90);
  assert.is(a.view().length, 10);
  a.align(16);
  assert.is(a.offset, 16);
  assert.equal(Array.from(a.bytes().subarray(10)), [0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc]);
  a.align(16);
  assert.is(a.offset, 16);
  a.nop();
  a.align(8, 0x90);
  assert.is(a.offset, 24);
  assert.throws(() => a.align(3), /power of two/);
});

// -------------------------------------------------------------------------------------------------
// CPU features

test('cpu features: parsing, masking, caching', () => {
  const info = 'processor\t: 0\nflags\t\t: fpu sse2 sse4_1 sse4_2 popcnt abm bmi1 avx fma\nbugs\t\t: x\n' +
    'processor\t: 1\nflags\t\t: fpu\n';
  assert.equal({ ...parseCpuFeatures(info, undefined) }, { lzcnt: true, bmi1: true, popcnt: true, sse41: true, avx: true, sse42: true, fma: true });
  assert.equal({ ...parseCpuFeatures('flags : lzcnt\n', '') }, { lzcnt: true, bmi1: false, popcnt: false, sse41: false, avx: false, sse42: false, fma: false });
  // the first `flags` line only, not `vmx flags` before it nor a second processor's after it
  assert.equal(
    { ...parseCpuFeatures('processor\t: 0\nvmx flags\t: avx fma\nflags\t\t: popcnt sse4_2\n\nprocessor\t: 1\nflags\t\t: avx\n', undefined) },
    { lzcnt: false, bmi1: false, popcnt: true, sse41: false, avx: false, sse42: true, fma: false },
  );
  assert.equal({ ...parseCpuFeatures('processor\t: 0\nflagsy : avx\n', undefined) }, { lzcnt: false, bmi1: false, popcnt: false, sse41: false, avx: false, sse42: false, fma: false });
  assert.equal({ ...parseCpuFeatures(info, 'lzcnt, popcnt') }, { lzcnt: false, bmi1: true, popcnt: false, sse41: true, avx: true, sse42: true, fma: true });
  assert.equal({ ...parseCpuFeatures(info, 'sse4_1,tzcnt') }, { lzcnt: true, bmi1: false, popcnt: true, sse41: false, avx: true, sse42: true, fma: true });
  assert.equal({ ...parseCpuFeatures(info, 'crc32') }, { lzcnt: true, bmi1: true, popcnt: true, sse41: true, avx: true, sse42: false, fma: true });
  assert.equal({ ...parseCpuFeatures(info, 'all') }, { lzcnt: false, bmi1: false, popcnt: false, sse41: false, avx: false, sse42: false, fma: false });
  assert.equal({ ...parseCpuFeatures(null, undefined) }, { lzcnt: false, bmi1: false, popcnt: false, sse41: false, avx: false, sse42: false, fma: false });
  assert.throws(() => parseCpuFeatures(info, 'lzcnt,bogus'), /unknown CPU feature 'bogus'/);

  const saved = process.env.QUICKBEAM_CPU_NO;
  try {
    delete process.env.QUICKBEAM_CPU_NO;
    resetCpuFeaturesCache();
    const f = cpuFeatures();
    assert.is(cpuFeatures(), f); // cached
    for (const k of ['lzcnt', 'bmi1', 'popcnt', 'sse41', 'avx'] as const) assert.type(f[k], 'boolean');
    process.env.QUICKBEAM_CPU_NO = 'lzcnt,popcnt,sse41';
    assert.is(cpuFeatures(), f); // still cached
    resetCpuFeaturesCache();
    const g = cpuFeatures();
    assert.is(g.lzcnt, false);
    assert.is(g.popcnt, false);
    assert.is(g.sse41, false);
    assert.is(g.bmi1, f.bmi1);
    assert.is(g.avx, f.avx);
  } finally {
    if (saved === undefined) delete process.env.QUICKBEAM_CPU_NO;
    else process.env.QUICKBEAM_CPU_NO = saved;
    resetCpuFeaturesCache();
  }
});

test.run();
