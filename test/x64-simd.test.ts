// Tests for the packed SSE encoder (src/x64/assembler-simd.ts). As in x64-assembler.test.ts, every form is
// emitted, disassembled with GNU objdump (Intel syntax) and compared with the expected text; each emitted
// byte range must decode as exactly one instruction.
//
// Run: npx tsc -p . ; npx uvu dist/test x64-simd

import { objdumpListing } from './helpers/disasm.js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Assembler } from '../src/x64/assembler.js';
import { V, vv, vvi, vm, vl, vshiftImm, ShiftImm, pextr, pextrw, pinsrq, movdTo } from '../src/x64/assembler-simd.js';

const N64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const N32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const REGS = Array.from({ length: 16 }, (_, k) => k);
const xn = (r: number) => `xmm${r}`;
const hex8 = (v: number) => '0x' + (v & 0xff).toString(16);

const SIZE: Record<number, string> = { 1: 'BYTE', 2: 'WORD', 4: 'DWORD', 8: 'QWORD', 16: 'XMMWORD' };

function addr(base: number, index: number, scale: number, disp: number): string {
  let s = '[' + N64[base];
  if (index >= 0) s += `+${N64[index]}*${scale}`;
  if (disp !== 0 || (base & 7) === 5) s += disp < 0 ? `-0x${(-disp).toString(16)}` : `+0x${disp.toString(16)}`;
  return s + ']';
}
const mem = (size: number, b: number, i: number, s: number, d: number) => `${SIZE[size]} PTR ${addr(b, i, s, d)}`;

type Addr = [number, number, number, number];
/** Every base (with disp 0 / 8 / 32 bits), every index with some scale, the special bases rsp/rbp/r12/r13. */
const ADDRS: Addr[] = (() => {
  const out: Addr[] = [];
  for (const b of REGS) {
    out.push([b, -1, 1, 0], [b, -1, 1, -8], [b, -1, 1, 0x12345]);
  }
  let k = 0;
  for (const i of REGS) {
    if (i === 4) continue;
    out.push([(i * 7 + 3) & 15, i, [1, 2, 4, 8][k & 3], [0, -16, 0x100][k % 3]]);
    k++;
  }
  for (const b of [4, 5, 12, 13]) for (const i of [0, 13, 12, 5]) out.push([b, i, 2, 0]);
  return out;
})();

// -------------------------------------------------------------------------------------------------
// objdump harness

const objdump = objdumpListing;

const norm = (s: string) => s.replace(/\s*#.*$/, '').replace(/\s+/g, ' ').trim();

class Batch {
  readonly a = new Assembler(1 << 16);
  private cases: { start: number; end: number; expect: string }[] = [];
  add(expect: string, fn: (a: Assembler) => void): void {
    const start = this.a.offset;
    fn(this.a);
    this.cases.push({ start, end: this.a.offset, expect: norm(expect) });
  }
  check(): number {
    this.a.finish();
    const code = this.a.bytes();
    const dis = new Map<number, [number, string]>();
    const starts: number[] = [], texts: string[] = [];
    for (const line of objdump(code).split('\n')) {
      const m = /^\s*([0-9a-f]+):\t[0-9a-f ]+\t(.*)$/.exec(line);
      if (m) {
        starts.push(parseInt(m[1], 16));
        texts.push(norm(m[2]));
      }
    }
    for (let k = 0; k < starts.length; k++) {
      dis.set(starts[k], [(k + 1 < starts.length ? starts[k + 1] : code.length) - starts[k], texts[k]]);
    }
    const failures: string[] = [];
    for (const c of this.cases) {
      const got = dis.get(c.start);
      const bytes = Array.from(code.subarray(c.start, c.end), (b) => b.toString(16).padStart(2, '0')).join(' ');
      if (got === undefined) failures.push(`@${c.start} [${bytes}]: no instruction here; expected '${c.expect}'`);
      else if (got[1] !== c.expect) failures.push(`@${c.start} [${bytes}]: got '${got[1]}', expected '${c.expect}'`);
      else if (got[0] !== c.end - c.start) failures.push(`@${c.start} [${bytes}]: decodes as ${got[0]} bytes, emitted ${c.end - c.start}`);
    }
    if (failures.length > 0) {
      assert.unreachable(`${failures.length} of ${this.cases.length} instructions wrong:\n${failures.slice(0, 40).join('\n')}`);
    }
    return this.cases.length;
  }
}

// -------------------------------------------------------------------------------------------------
// Expected mnemonics (written out independently of the encoder's tables)

const XX: Array<[V, string]> = [
  [V.PADDB, 'paddb'], [V.PADDW, 'paddw'], [V.PADDD, 'paddd'], [V.PADDQ, 'paddq'],
  [V.PSUBB, 'psubb'], [V.PSUBW, 'psubw'], [V.PSUBD, 'psubd'], [V.PSUBQ, 'psubq'],
  [V.PADDSB, 'paddsb'], [V.PADDSW, 'paddsw'], [V.PADDUSB, 'paddusb'], [V.PADDUSW, 'paddusw'],
  [V.PSUBSB, 'psubsb'], [V.PSUBSW, 'psubsw'], [V.PSUBUSB, 'psubusb'], [V.PSUBUSW, 'psubusw'],
  [V.PMULLW, 'pmullw'], [V.PMULHW, 'pmulhw'], [V.PMULHUW, 'pmulhuw'], [V.PMULUDQ, 'pmuludq'], [V.PMADDWD, 'pmaddwd'],
  [V.PMINUB, 'pminub'], [V.PMAXUB, 'pmaxub'], [V.PMINSW, 'pminsw'], [V.PMAXSW, 'pmaxsw'],
  [V.PAVGB, 'pavgb'], [V.PAVGW, 'pavgw'],
  [V.PAND, 'pand'], [V.PANDN, 'pandn'], [V.POR, 'por'], [V.PXOR, 'pxor'],
  [V.PCMPEQB, 'pcmpeqb'], [V.PCMPEQW, 'pcmpeqw'], [V.PCMPEQD, 'pcmpeqd'],
  [V.PCMPGTB, 'pcmpgtb'], [V.PCMPGTW, 'pcmpgtw'], [V.PCMPGTD, 'pcmpgtd'],
  [V.PACKSSWB, 'packsswb'], [V.PACKUSWB, 'packuswb'], [V.PACKSSDW, 'packssdw'],
  [V.PUNPCKLBW, 'punpcklbw'], [V.PUNPCKLWD, 'punpcklwd'], [V.PUNPCKLDQ, 'punpckldq'], [V.PUNPCKLQDQ, 'punpcklqdq'],
  [V.PUNPCKHBW, 'punpckhbw'], [V.PUNPCKHWD, 'punpckhwd'], [V.PUNPCKHDQ, 'punpckhdq'], [V.PUNPCKHQDQ, 'punpckhqdq'],
  [V.PSLLW, 'psllw'], [V.PSLLD, 'pslld'], [V.PSLLQ, 'psllq'], [V.PSRLW, 'psrlw'], [V.PSRLD, 'psrld'],
  [V.PSRLQ, 'psrlq'], [V.PSRAW, 'psraw'], [V.PSRAD, 'psrad'],
  [V.MOVDQA, 'movdqa'], [V.MOVDQU, 'movdqu'],
  [V.PSHUFB, 'pshufb'], [V.PMADDUBSW, 'pmaddubsw'], [V.PMULHRSW, 'pmulhrsw'],
  [V.PABSB, 'pabsb'], [V.PABSW, 'pabsw'], [V.PABSD, 'pabsd'], [V.PTEST, 'ptest'],
  [V.PMOVSXBW, 'pmovsxbw'], [V.PMOVSXWD, 'pmovsxwd'], [V.PMOVSXDQ, 'pmovsxdq'],
  [V.PMOVZXBW, 'pmovzxbw'], [V.PMOVZXWD, 'pmovzxwd'], [V.PMOVZXDQ, 'pmovzxdq'],
  [V.PMULDQ, 'pmuldq'], [V.PCMPEQQ, 'pcmpeqq'], [V.PACKUSDW, 'packusdw'],
  [V.PMINSB, 'pminsb'], [V.PMINSD, 'pminsd'], [V.PMINUW, 'pminuw'], [V.PMINUD, 'pminud'],
  [V.PMAXSB, 'pmaxsb'], [V.PMAXSD, 'pmaxsd'], [V.PMAXUW, 'pmaxuw'], [V.PMAXUD, 'pmaxud'], [V.PMULLD, 'pmulld'],
  [V.ADDPS, 'addps'], [V.ADDPD, 'addpd'], [V.SUBPS, 'subps'], [V.SUBPD, 'subpd'],
  [V.MULPS, 'mulps'], [V.MULPD, 'mulpd'], [V.DIVPS, 'divps'], [V.DIVPD, 'divpd'],
  [V.MINPS, 'minps'], [V.MINPD, 'minpd'], [V.MAXPS, 'maxps'], [V.MAXPD, 'maxpd'],
  [V.SQRTPS, 'sqrtps'], [V.SQRTPD, 'sqrtpd'], [V.ANDPS, 'andps'], [V.ANDPD, 'andpd'],
  [V.ANDNPS, 'andnps'], [V.ANDNPD, 'andnpd'], [V.ORPS, 'orps'], [V.ORPD, 'orpd'], [V.XORPS, 'xorps'], [V.XORPD, 'xorpd'],
  [V.MOVAPS, 'movaps'], [V.MOVAPD, 'movapd'],
  [V.CVTDQ2PS, 'cvtdq2ps'], [V.CVTTPS2DQ, 'cvttps2dq'], [V.CVTPS2PD, 'cvtps2pd'], [V.CVTPD2PS, 'cvtpd2ps'],
  [V.CVTDQ2PD, 'cvtdq2pd'], [V.CVTTPD2DQ, 'cvttpd2dq'],
  [V.MOVHLPS, 'movhlps'], [V.MOVLHPS, 'movlhps'], [V.MOVDDUP, 'movddup'], [V.UNPCKLPD, 'unpcklpd'],
  [V.MOVSS, 'movss'], [V.MOVSD, 'movsd'], [V.MOVQ, 'movq'],
];

const XXI: Array<[V, string]> = [
  [V.PSHUFD, 'pshufd'], [V.PSHUFLW, 'pshuflw'], [V.PSHUFHW, 'pshufhw'], [V.SHUFPS, 'shufps'], [V.SHUFPD, 'shufpd'],
  [V.ROUNDPS, 'roundps'], [V.ROUNDPD, 'roundpd'], [V.PBLENDW, 'pblendw'], [V.PALIGNR, 'palignr'], [V.INSERTPS, 'insertps'],
];

const PRED = ['eq', 'lt', 'le', 'unord', 'neq', 'nlt', 'nle', 'ord'];

test('register forms: every packed op x every xmm pair', () => {
  const t = new Batch();
  for (const [op, mn] of XX) {
    for (const x of REGS) for (const y of REGS) t.add(`${mn} ${xn(x)},${xn(y)}`, (a) => vv(a, op, x, y));
  }
  for (const [op, mn] of XXI) {
    for (const x of REGS) for (const y of REGS) {
      const imm = (x * 16 + y * 3) & 0xff;
      t.add(`${mn} ${xn(x)},${xn(y)},${hex8(imm)}`, (a) => vvi(a, op, x, y, imm));
    }
  }
  for (const x of REGS) for (const y of REGS) {
    const p = (x + y) & 7;
    t.add(`cmp${PRED[p]}ps ${xn(x)},${xn(y)}`, (a) => vvi(a, V.CMPPS, x, y, p));
    t.add(`cmp${PRED[p]}pd ${xn(x)},${xn(y)}`, (a) => vvi(a, V.CMPPD, x, y, p));
  }
  t.check();
});

test('GPR <-> XMM forms: pinsr*/pextr*/movmsk/movd/movq', () => {
  const t = new Batch();
  for (const x of REGS) for (const g of REGS) {
    const l = (x + g) & 15;
    t.add(`pinsrb ${xn(x)},${N32[g]},${hex8(l)}`, (a) => vvi(a, V.PINSRB, x, g, l));
    t.add(`pinsrw ${xn(x)},${N32[g]},${hex8(l & 7)}`, (a) => vvi(a, V.PINSRW, x, g, l & 7));
    t.add(`pinsrd ${xn(x)},${N32[g]},${hex8(l & 3)}`, (a) => vvi(a, V.PINSRD, x, g, l & 3));
    t.add(`pinsrq ${xn(x)},${N64[g]},${hex8(l & 1)}`, (a) => pinsrq(a, x, g, l & 1));
    t.add(`pextrb ${N32[g]},${xn(x)},${hex8(l)}`, (a) => pextr(a, V.PEXTRB, g, x, l));
    t.add(`pextrw ${N32[g]},${xn(x)},${hex8(l & 7)}`, (a) => pextrw(a, g, x, l & 7));
    t.add(`pextrd ${N32[g]},${xn(x)},${hex8(l & 3)}`, (a) => pextr(a, V.PEXTRD, g, x, l & 3));
    t.add(`pextrq ${N64[g]},${xn(x)},${hex8(l & 1)}`, (a) => pextr(a, V.PEXTRQ, g, x, l & 1));
    t.add(`pmovmskb ${N32[g]},${xn(x)}`, (a) => vv(a, V.PMOVMSKB, g, x));
    t.add(`movmskps ${N32[g]},${xn(x)}`, (a) => vv(a, V.MOVMSKPS, g, x));
    t.add(`movmskpd ${N32[g]},${xn(x)}`, (a) => vv(a, V.MOVMSKPD, g, x));
    t.add(`movd ${xn(x)},${N32[g]}`, (a) => movdTo(a, false, x, g));
    t.add(`movq ${xn(x)},${N64[g]}`, (a) => movdTo(a, true, x, g));
  }
  t.check();
});

test('shifts by immediate', () => {
  const t = new Batch();
  const forms: Array<[V, ShiftImm, string]> = [
    [V.SHIFT_W, ShiftImm.SLL, 'psllw'], [V.SHIFT_W, ShiftImm.SRL, 'psrlw'], [V.SHIFT_W, ShiftImm.SRA, 'psraw'],
    [V.SHIFT_D, ShiftImm.SLL, 'pslld'], [V.SHIFT_D, ShiftImm.SRL, 'psrld'], [V.SHIFT_D, ShiftImm.SRA, 'psrad'],
    [V.SHIFT_Q, ShiftImm.SLL, 'psllq'], [V.SHIFT_Q, ShiftImm.SRL, 'psrlq'],
    [V.SHIFT_Q, ShiftImm.SLLDQ, 'pslldq'], [V.SHIFT_Q, ShiftImm.SRLDQ, 'psrldq'],
  ];
  for (const [g, k, mn] of forms) {
    for (const x of REGS) for (const n of [0, 1, 7, 8, 15, 31, 63]) t.add(`${mn} ${xn(x)},${hex8(n)}`, (a) => vshiftImm(a, g, k, x, n));
  }
  t.check();
});

test('memory forms: every addressing sample', () => {
  const t = new Batch();
  const loads: Array<[V, string, number]> = [
    [V.MOVDQU, 'movdqu', 16], [V.MOVDQA, 'movdqa', 16], [V.PAND, 'pand', 16], [V.PSHUFB, 'pshufb', 16],
    [V.SUBPS, 'subps', 16], [V.MINPD, 'minpd', 16], [V.PUNPCKLDQ, 'punpckldq', 16], [V.PMADDWD, 'pmaddwd', 16],
    [V.PMOVSXBW, 'pmovsxbw', 8], [V.PMOVZXBW, 'pmovzxbw', 8], [V.PMOVSXWD, 'pmovsxwd', 8], [V.PMOVZXWD, 'pmovzxwd', 8],
    [V.PMOVSXDQ, 'pmovsxdq', 8], [V.PMOVZXDQ, 'pmovzxdq', 8],
    [V.MOVSS, 'movss', 4], [V.MOVQ, 'movq', 8], [V.MOVDDUP, 'movddup', 8],
  ];
  const lanes: Array<[V, string, number]> = [
    [V.PINSRB, 'pinsrb', 1], [V.PINSRW, 'pinsrw', 2], [V.PINSRD, 'pinsrd', 4], [V.PINSRQ, 'pinsrq', 8],
  ];
  const extracts: Array<[V, string, number]> = [
    [V.PEXTRB, 'pextrb', 1], [V.PEXTRW_M, 'pextrw', 2], [V.PEXTRD, 'pextrd', 4], [V.PEXTRQ, 'pextrq', 8],
  ];
  for (const x of [0, 7, 8, 15]) {
    for (const [b, i, s, d] of ADDRS) {
      for (const [op, mn, size] of loads) t.add(`${mn} ${xn(x)},${mem(size, b, i, s, d)}`, (a) => vm(a, op, x, b, i, s, d));
      for (const [op, mn, size] of lanes) {
        const l = 16 / size - 1;
        t.add(`${mn} ${xn(x)},${mem(size, b, i, s, d)},${hex8(l)}`, (a) => vm(a, op, x, b, i, s, d, l));
      }
      for (const [op, mn, size] of extracts) {
        const l = 16 / size - 1;
        t.add(`${mn} ${mem(size, b, i, s, d)},${xn(x)},${hex8(l)}`, (a) => vm(a, op, x, b, i, s, d, l));
      }
    }
  }
  t.check();
});

test('rip-relative literal operands', () => {
  const t = new Batch();
  const label = t.a.newLabel();
  const ops: Array<[V, string]> = [[V.MOVDQA, 'movdqa'], [V.PAND, 'pand'], [V.PSHUFB, 'pshufb'], [V.SUBPD, 'subpd'], [V.MULPS, 'mulps']];
  const sites: Array<{ start: number; mn: string; x: number }> = [];
  for (const [op, mn] of ops) {
    for (const x of [0, 9, 15]) {
      sites.push({ start: t.a.offset, mn, x });
      vl(t.a, op, x, label);
    }
  }
  t.a.align(16);
  const target = t.a.offset;
  t.a.bind(label);
  for (let k = 0; k < 4; k++) t.a.int32(0);
  const code = t.a.bytes();
  const lines = objdump(code).split('\n');
  let k = 0;
  for (const line of lines) {
    const m = /^\s*([0-9a-f]+):\t[0-9a-f ]+\t(.*)$/.exec(line);
    if (!m || k >= sites.length) continue;
    const s = sites[k];
    if (parseInt(m[1], 16) !== s.start) continue;
    const end = k + 1 < sites.length ? sites[k + 1].start : sites[k].start + (sites[k].start - sites[k - 1].start);
    assert.is(norm(m[2]), `${s.mn} ${xn(s.x)},XMMWORD PTR [rip+0x${(target - end).toString(16)}]`);
    k++;
  }
  assert.is(k, sites.length);
});

test.run();
