// The value stack and register allocator (src/compile/value-stack.ts).
//
// Unit tests drive a ValueStack with an Assembler and inspect its state (entry kinds, registers, owners) and
// the code it emitted (disassembled with objdump). End-to-end tests compile programs that put pressure on
// the allocator (deeper than the 10 allocatable GPRs / 15 XMMs, values live across calls, local writes under
// pending local reads, values carried by branches, multi-value, loops with params) and compare the results
// with Node's own WebAssembly.

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Assembler } from '../src/x64/assembler.js';
import {
  ValueStack, ALLOCATABLE_GPRS, ALLOCATABLE_XMMS, K_CONST, K_LOCAL, K_REG, K_STACK,
} from '../src/compile/value-stack.js';
import { disassemble } from './helpers/disasm.js';
import { Code, ModuleBuilder, Op, T, f64Bits } from './helpers/wasm-builder.js';
import { Exports, outcome, prng, qbInstance, show, showOutcome, v8Instance } from './helpers/engines.js';

// ValType numbers (the binary encoding).
const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c;
const RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;
const GPR64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const GPR32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const TEMP = 0x7fff;

/** `[rbp-0x18]` / `[rbp+0x10]` as objdump prints a displacement. */
function rbp(disp: number): string {
  return disp < 0 ? `[rbp-0x${(-disp).toString(16)}]` : `[rbp+0x${disp.toString(16)}]`;
}

/**
 * A fresh value stack for a function with params (i32, i64, f64) and declared locals (i32, f32, i64):
 * locals 0..2 are params at [rbp+16+8k], locals 3..5 are declared at [rbp-16-8j].
 */
function fresh(): { a: Assembler; vs: ValueStack; code: () => string[] } {
  const a = new Assembler();
  const vs = new ValueStack(a);
  const types = new Int32Array([I32, I64, F64, I32, F32, I64]);
  vs.reset(types, 6, 3);
  return { a, vs, code: () => disassemble(a.bytes()) };
}

/** Push n GPR values held in registers (as the result of some operator would be). */
function pushRegs(vs: ValueStack, n: number, type = I64): number[] {
  const regs: number[] = [];
  for (let k = 0; k < n; k++) {
    const r = type === F32 || type === F64 ? vs.allocXmm() : vs.allocGpr();
    vs.pushReg(type, r);
    regs.push(r);
  }
  return regs;
}

// ================================================================================================ unit

test('frame layout: params above rbp, declared locals below [rbp-8], slots below the locals', () => {
  const { vs } = fresh();
  assert.equal(Array.from(vs.localDisp.slice(0, 6)), [16, 24, 32, -16, -24, -32]);
  vs.pushConst(I32, 1, 0);
  vs.pushConst(I64, 2, 0);
  assert.is(vs.slotDisp(0), -40, 'first slot right below the last declared local');
  assert.is(vs.slotDisp(1), -48);
});

test('allocation order: rax rcx rdx rbx rsi rdi r8 r9 r10 r12, then xmm0..xmm14; pinned/scratch never', () => {
  const { a, vs } = fresh();
  assert.equal(ALLOCATABLE_GPRS, [RAX, RCX, RDX, RBX, RSI, RDI, 8, 9, 10, R12]);
  const got: number[] = [];
  for (let k = 0; k < 10; k++) got.push(vs.allocGpr());
  assert.equal(got, ALLOCATABLE_GPRS);
  for (const r of [RSP, RBP, R11, R13, R14, R15]) assert.not.ok(got.includes(r), `${GPR64[r]} handed out`);
  for (const r of got) assert.is(vs.gprOwner[r], TEMP);
  // Nothing on the stack to spill: the allocator must refuse rather than hand out a pinned register.
  assert.throws(() => vs.allocGpr(), /out of registers/);
  const x: number[] = [];
  for (let k = 0; k < 15; k++) x.push(vs.allocXmm());
  assert.equal(x, ALLOCATABLE_XMMS);
  assert.not.ok(x.includes(15), 'xmm15 is scratch');
  assert.throws(() => vs.allocXmm(), /out of registers/);
  assert.is(a.offset, 0, 'allocating temps emits no code');
  // Freed registers are reused, lowest preference first.
  vs.freeGpr(RDX);
  vs.freeGpr(RCX);
  assert.is(vs.allocGpr(), RCX);
  assert.is(vs.allocGpr(), RDX);
});

test('register pressure spills the oldest register entry (by stack position), never constants or locals', () => {
  const { vs, code } = fresh();
  vs.pushConst(I32, 7, 0); // 0
  vs.pushLocal(I32, 0); // 1
  const regs = pushRegs(vs, 10); // 2..11
  assert.equal(regs, ALLOCATABLE_GPRS);
  pushRegs(vs, 2, F64); // 12, 13: floats do not count for GPR pressure
  assert.is(vs.height, 14);
  const r = vs.allocGpr();
  assert.is(r, RAX, 'the register of the oldest register entry');
  assert.is(vs.kind[2], K_STACK);
  assert.is(vs.gprOwner[RAX], TEMP);
  assert.is(vs.kind[0], K_CONST);
  assert.is(vs.kind[1], K_LOCAL);
  const r2 = vs.allocGpr();
  assert.is(r2, RCX);
  assert.is(vs.kind[3], K_STACK);
  for (let i = 4; i < 12; i++) assert.is(vs.kind[i], K_REG);
  assert.is(vs.kind[12], K_REG);
  assert.equal(code(), [
    `mov QWORD PTR ${rbp(vs.slotDisp(2))},rax`,
    `mov QWORD PTR ${rbp(vs.slotDisp(3))},rcx`,
  ]);
  // Float pressure spills the oldest float entry.
  pushRegs(vs, 13, F64);
  const before = vs.height;
  const oldReg = vs.reg[12];
  const x = vs.allocXmm();
  assert.is(x, oldReg, 'the register of the oldest f64 entry');
  assert.is(vs.kind[12], K_STACK, 'oldest f64 entry spilled');
  assert.is(vs.kind[13], K_REG);
  assert.is(vs.height, before);
  assert.is(code().at(-1), `movsd QWORD PTR ${rbp(vs.slotDisp(12))},xmm${x}`);
});

test('claimGpr moves a value out of the claimed register, or spills it when no register is free', () => {
  const { vs, code, a } = fresh();
  // rcx holds entry 0 (allocated second: take rax first)
  const t0 = vs.allocGpr(); // rax (temp)
  const r1 = vs.allocGpr(); // rcx
  vs.pushReg(I32, r1);
  assert.is(r1, RCX);
  vs.claimGpr(RCX);
  assert.is(vs.gprOwner[RCX], TEMP);
  assert.is(vs.kind[0], K_REG);
  assert.is(vs.reg[0], RDX, 'moved to the first free register');
  assert.is(vs.gprOwner[RDX], 0);
  assert.equal(code(), ['mov rdx,rcx']);
  // claiming a temp is an internal error
  assert.throws(() => vs.claimGpr(RAX), /already claimed/);
  vs.freeGpr(t0);
  // claiming a free register emits nothing
  const at = a.offset;
  vs.claimGpr(RAX);
  assert.is(a.offset, at);
  assert.is(vs.gprOwner[RAX], TEMP);
  vs.freeGpr(RAX);
  vs.freeGpr(RCX);
  // no free register: the owner is spilled to its slot
  const { vs: vs2, code: code2 } = fresh();
  pushRegs(vs2, 10, I32);
  vs2.claimGpr(RDX); // entry 2 owns rdx
  assert.is(vs2.kind[2], K_STACK);
  assert.is(vs2.gprOwner[RDX], TEMP);
  assert.equal(code2(), [`mov QWORD PTR ${rbp(vs2.slotDisp(2))},rdx`]);
});

test('popToReg on each entry kind: register, constants of every type, local, stack slot', () => {
  {
    const { vs, a } = fresh();
    const r = vs.allocGpr();
    vs.pushReg(I64, r);
    assert.is(vs.popToReg(), r);
    assert.is(vs.height, 0);
    assert.is(vs.gprOwner[r], TEMP, 'the register becomes a temp of the caller');
    assert.is(a.offset, 0);
  }
  const cases: Array<[string, (vs: ValueStack) => void, RegExp[]]> = [
    ['i32 const', (vs) => vs.pushConst(I32, -5, 0), [/^mov eax,0xfffffffb$/]],
    ['i64 const (64-bit)', (vs) => vs.pushConst(I64, 0x9abcdef0 | 0, 0x12345678), [/^movabs rax,0x123456789abcdef0$/]],
    ['i64 const -1', (vs) => vs.pushConst(I64, -1, -1), [/^mov rax,0xffffffffffffffff$|^movabs rax,0xffffffffffffffff$/]],
    ['f32 const 0', (vs) => vs.pushConst(F32, 0, 0), [/^xorps xmm0,xmm0$/]],
    // other float constants: from the function's literals (float-consts.ts), read rip-relative
    ['f64 const 1.5', (vs) => vs.pushConst(F64, 0, 0x3ff80000), [/^movsd xmm0,QWORD PTR \[rip\+0x[0-9a-f]+\]$/]],
    ['f32 const -0', (vs) => vs.pushConst(F32, 0x80000000 | 0, 0), [/^movss xmm0,DWORD PTR \[rip\+0x[0-9a-f]+\]$/]],
    ['i32 param', (vs) => vs.pushLocal(I32, 0), [/^mov eax,DWORD PTR \[rbp\+0x10\]$/]],
    ['i64 param', (vs) => vs.pushLocal(I64, 1), [/^mov rax,QWORD PTR \[rbp\+0x18\]$/]],
    ['f64 param', (vs) => vs.pushLocal(F64, 2), [/^movsd xmm0,QWORD PTR \[rbp\+0x20\]$/]],
    ['f32 declared local', (vs) => vs.pushLocal(F32, 4), [/^movss xmm0,DWORD PTR \[rbp-0x18\]$/]],
    ['i64 declared local', (vs) => vs.pushLocal(I64, 5), [/^mov rax,QWORD PTR \[rbp-0x20\]$/]],
    ['i32 stack slot', (vs) => vs.pushStack(I32), [/^mov eax,DWORD PTR \[rbp-0x28\]$/]],
    ['f64 stack slot', (vs) => vs.pushStack(F64), [/^movsd xmm0,QWORD PTR \[rbp-0x28\]$/]],
  ];
  for (const [what, push, expect] of cases) {
    const { vs, code } = fresh();
    push(vs);
    const wasLocal = vs.kind[0] === K_LOCAL;
    const r = vs.popToReg();
    assert.is(r, 0, `${what}: first register of its class`);
    assert.is(vs.height, 0);
    if (wasLocal) assert.is(vs.localRefs, 0, `${what}: local reference released`);
    const c = code();
    assert.is(c.length, expect.length, `${what}: ${c.join(' ; ')}`);
    c.forEach((line, k) => assert.match(line, expect[k], `${what}: ${line}`));
  }
});

test('popToReg under full pressure spills another entry, never the one being popped', () => {
  const { vs, code } = fresh();
  pushRegs(vs, 10, I32); // entries 0..9 own every GPR
  vs.pushStack(I32); // entry 10, in its slot
  const r = vs.popToReg();
  assert.is(r, RAX);
  assert.is(vs.kind[0], K_STACK, 'entry 0 spilled to make room');
  assert.equal(code(), [
    `mov DWORD PTR ${rbp(vs.slotDisp(0))},eax`, // an i32 spill writes 4 bytes
    `mov eax,DWORD PTR ${rbp(vs.slotDisp(10))}`,
  ]);
});

test('popToGpr (a fixed register, as shifts need rcx): moves the top, evicts the current owner', () => {
  const { vs, code } = fresh();
  const [r0, r1] = pushRegs(vs, 2, I32); // entry 0 in rax, entry 1 in rcx
  assert.equal([r0, r1], [RAX, RCX]);
  vs.pushLocal(I32, 0); // top: a local
  const r = vs.popToGpr(RCX);
  assert.is(r, RCX);
  assert.is(vs.reg[1], RDX, 'the old owner of rcx moved to a free register');
  assert.is(vs.gprOwner[RCX], TEMP);
  assert.equal(code(), ['mov rdx,rcx', 'mov ecx,DWORD PTR [rbp+0x10]']);
  // top already in the wanted register: no code
  const { vs: v2, a: a2 } = fresh();
  pushRegs(v2, 2, I32);
  assert.is(v2.popToGpr(RCX), RCX);
  assert.is(a2.offset, 0);
});

test('materializeLocal copies out every pending read of that local only (register, else slot)', () => {
  const { vs, code } = fresh();
  vs.pushLocal(I32, 0); // 0
  vs.pushLocal(I64, 1); // 1
  vs.pushLocal(I32, 0); // 2
  vs.pushConst(I32, 3, 0); // 3
  vs.pushLocal(F32, 4); // 4
  assert.is(vs.localRefs, 4);
  vs.materializeLocal(0);
  assert.is(vs.kind[0], K_REG);
  assert.is(vs.kind[2], K_REG);
  assert.is(vs.kind[1], K_LOCAL);
  assert.is(vs.kind[4], K_LOCAL);
  assert.is(vs.kind[3], K_CONST);
  assert.is(vs.localRefs, 2);
  assert.is(vs.gprOwner[vs.reg[0]], 0);
  assert.is(vs.gprOwner[vs.reg[2]], 2);
  assert.equal(code(), [
    `mov ${GPR32[vs.reg[0]]},DWORD PTR [rbp+0x10]`,
    `mov ${GPR32[vs.reg[2]]},DWORD PTR [rbp+0x10]`,
  ]);
  // no pending reads: nothing happens
  const before = code().length;
  vs.materializeLocal(3);
  assert.is(code().length, before);
  // a float local goes to an XMM register
  vs.materializeLocal(4);
  assert.is(vs.kind[4], K_REG);
  assert.is(vs.xmmOwner[vs.reg[4]], 4);
  assert.match(code().at(-1)!, /^movss xmm0,DWORD PTR \[rbp-0x18\]$/);
  // no free register: the read goes to its own slot
  const { vs: v2, code: c2 } = fresh();
  pushRegs(v2, 10, I32);
  v2.pushLocal(I64, 1); // 10
  v2.materializeLocal(1);
  assert.is(v2.kind[10], K_STACK);
  assert.is(v2.localRefs, 0);
  for (let i = 0; i < 10; i++) assert.is(v2.kind[i], K_REG, 'no register entry spilled for it');
  assert.equal(c2(), ['mov r11,QWORD PTR [rbp+0x18]', `mov QWORD PTR ${rbp(v2.slotDisp(10))},r11`]);
});

test('spillAll keeps constants and spills registers and local reads; spillRegs keeps local reads', () => {
  const { vs, code } = fresh();
  vs.pushConst(I64, 1, 2); // 0
  const g = vs.allocGpr();
  vs.pushReg(I32, g); // 1
  vs.pushLocal(I32, 3); // 2
  vs.pushStack(I64); // 3
  const x = vs.allocXmm();
  vs.pushReg(F64, x); // 4
  vs.pushConst(F32, 0x3f800000, 0); // 5
  vs.spillRegs();
  assert.equal(Array.from(vs.kind.slice(0, 6)), [K_CONST, K_STACK, K_LOCAL, K_STACK, K_STACK, K_CONST]);
  assert.is(vs.gprOwner[g], -1);
  assert.is(vs.xmmOwner[x], -1);
  vs.spillAll();
  assert.equal(Array.from(vs.kind.slice(0, 6)), [K_CONST, K_STACK, K_STACK, K_STACK, K_STACK, K_CONST]);
  assert.is(vs.localRefs, 0);
  assert.is(vs.lo[0], 1);
  assert.is(vs.hi[0], 2);
  assert.equal(code(), [
    `mov DWORD PTR ${rbp(vs.slotDisp(1))},eax`,
    `movsd QWORD PTR ${rbp(vs.slotDisp(4))},xmm0`,
    'mov r11,QWORD PTR [rbp-0x10]',
    `mov QWORD PTR ${rbp(vs.slotDisp(2))},r11`,
  ]);
  // spilling a constant explicitly writes it (as at a block boundary)
  vs.spill(0);
  vs.spill(5);
  assert.is(vs.kind[0], K_STACK);
  assert.is(vs.kind[5], K_STACK);
  assert.equal(code().slice(4), [
    'movabs r11,0x200000001',
    `mov QWORD PTR ${rbp(vs.slotDisp(0))},r11`,
    `mov DWORD PTR ${rbp(vs.slotDisp(5))},0x3f800000`,
  ]);
});

test('drop releases registers and local reads', () => {
  const { vs } = fresh();
  const g = vs.allocGpr();
  vs.pushReg(I32, g);
  vs.pushLocal(I32, 0);
  const x = vs.allocXmm();
  vs.pushReg(F32, x);
  vs.drop();
  assert.is(vs.xmmOwner[x], -1);
  vs.drop();
  assert.is(vs.localRefs, 0);
  vs.drop();
  assert.is(vs.gprOwner[g], -1);
  assert.is(vs.height, 0);
});

// ================================================================================================ end to end

/** Compile on both engines and compare every export call given. */
function compare(bytes: Uint8Array, calls: Array<[string, unknown[]]>, imports: () => Record<string, any> = () => ({})): void {
  const q = qbInstance(bytes, imports());
  const v = v8Instance(bytes, imports());
  for (const [name, args] of calls) {
    const a = outcome(() => q[name](...args));
    const b = outcome(() => v[name](...args));
    const what = `${name}(${args.map(show).join(', ')})`;
    assert.is(a.kind, b.kind, `${what}: quickbeam ${showOutcome(a)}, V8 ${showOutcome(b)}`);
    if (a.kind === 'value') {
      const sa = show(a.value), sb = show(b.value);
      assert.is(sa, sb, `${what}: quickbeam ${sa}, V8 ${sb}`);
    } else {
      assert.is(a.message, b.message, `${what}: trap message`);
    }
  }
}

const rnd = prng(0x5eed);
const ri32 = () => (rnd() * 2 ** 32) | 0;
const ri64 = () => BigInt.asIntN(64, (BigInt(ri32() >>> 0) << 32n) | BigInt(ri32() >>> 0));
const rf64 = () => (rnd() - 0.5) * 2 ** (rnd() * 40 - 20);
const rf32 = () => Math.fround(rf64());
const argFor = (t: T) => (t === T.i32 ? ri32() : t === T.i64 ? ri64() : t === T.f32 ? rf32() : rf64());

const ADD: Record<number, number> = { [T.i32]: Op.i32_add, [T.i64]: Op.i64_add, [T.f32]: Op.f32_add, [T.f64]: Op.f64_add };
const MUL: Record<number, number> = { [T.i32]: Op.i32_mul, [T.i64]: Op.i64_mul, [T.f32]: Op.f32_mul, [T.f64]: Op.f64_mul };
const SUB: Record<number, number> = { [T.i32]: Op.i32_sub, [T.i64]: Op.i64_sub, [T.f32]: Op.f32_sub, [T.f64]: Op.f64_sub };
const XOR: Record<number, number> = { [T.i32]: Op.i32_xor, [T.i64]: Op.i64_xor };
function constOf(c: Code, t: T, k: number): Code {
  switch (t) {
    case T.i32: return c.i32_const(k * 0x9e3779b1);
    case T.i64: return c.i64_const(BigInt(k) * 0x9e3779b97f4a7c15n);
    case T.f32: return c.f32_const(k + 0.5);
    default: return c.f64_const(k * 1.25 + 0.125);
  }
}
/** Convert a value of type t on the stack to f64 (to combine mixed types). */
function toF64(c: Code, t: T): Code {
  switch (t) {
    case T.i32: return c.op(Op.f64_convert_i32_s);
    case T.i64: return c.op(Op.f64_convert_i64_s);
    case T.f32: return c.op(Op.f64_promote_f32);
    default: return c;
  }
}

/** Pop values of the given types (last on top) converting each to f64 and summing into local `acc`; push the sum. */
function foldToF64(c: Code, types: T[], acc: number): Code {
  for (let k = types.length - 1; k >= 0; k--) {
    toF64(c, types[k]);
    c.local_get(acc).op(Op.f64_add).local_set(acc);
  }
  return c.local_get(acc);
}

test('deep expressions: a sum of 40 nested products per type (more live values than registers)', () => {
  const b = new ModuleBuilder();
  const calls: Array<[string, unknown[]]> = [];
  for (const t of [T.i32, T.i64, T.f32, T.f64]) {
    const params = [t, t, t, t];
    // p_k = (local (k%4) * const_k): all 40 products are live before the first add
    b.func(params, [t], (c) => {
      for (let k = 0; k < 40; k++) {
        c.local_get(k % 4);
        constOf(c, t, k + 1);
        c.op(MUL[t]);
      }
      for (let k = 0; k < 39; k++) c.op(ADD[t]);
      c.end();
    }, { export: `sum40_${t}` });
    // nested the other way: ((((a*b)+c*d)...): few live values, checks the simple path gives the same
    b.func(params, [t], (c) => {
      c.local_get(0).local_get(1).op(MUL[t]);
      for (let k = 1; k < 40; k++) {
        c.local_get(k % 4);
        c.local_get((k + 1) % 4);
        c.op(MUL[t]).op(k % 3 === 0 ? SUB[t] : ADD[t]);
      }
      c.end();
    }, { export: `chain40_${t}` });
    for (let n = 0; n < 6; n++) {
      const args = params.map(argFor);
      calls.push([`sum40_${t}`, args], [`chain40_${t}`, args]);
    }
  }
  // mixed types interleaved: 16 of each type live at once, combined in f64
  const mixed = [T.i32, T.i64, T.f32, T.f64];
  b.func(mixed, [T.f64], (c) => {
    for (let k = 0; k < 64; k++) {
      const t = mixed[k % 4];
      c.local_get(k % 4);
      constOf(c, t, k + 3);
      c.op(t === T.i32 || t === T.i64 ? XOR[t] : ADD[t]);
    }
    foldToF64(c, Array.from({ length: 64 }, (_, k) => mixed[k % 4]), 4).end();
  }, { export: 'mixed64', locals: [T.f64] });
  for (let n = 0; n < 6; n++) calls.push(['mixed64', mixed.map(argFor)]);
  compare(b.build(), calls);
});

test('many live values across calls (direct, indirect, imported) keep their values', () => {
  const b = new ModuleBuilder();
  const host = b.importFunc('env', 'h', [T.i32, T.f64], [T.i64]);
  const sig = b.type([T.i64, T.f32], [T.f64]);
  const callee = b.func([T.i64, T.f32], [T.f64], (c) => {
    // clobbers every register it can
    for (let k = 0; k < 20; k++) c.local_get(0).i64_const(k).op(Op.i64_mul);
    for (let k = 0; k < 19; k++) c.op(Op.i64_add);
    c.op(Op.f64_convert_i64_s).local_get(1).op(Op.f64_promote_f32).op(Op.f64_add).end();
  });
  b.table(T.funcref, { min: 1 });
  b.elem({ mode: 'active', offset: new Code().i32_const(0), funcs: [callee] });
  b.func([T.i32, T.i64, T.f32, T.f64], [T.f64], (c) => {
    // 12 i32/i64 values and 16 floats live, then three calls in between, then combine everything
    for (let k = 0; k < 12; k++) {
      if (k % 2) c.local_get(1).i64_const(k).op(Op.i64_add);
      else c.local_get(0).i32_const(k).op(Op.i32_add);
    }
    for (let k = 0; k < 16; k++) {
      if (k % 2) c.local_get(3).f64_const(k).op(Op.f64_mul);
      else c.local_get(2).f32_const(k).op(Op.f32_sub);
    }
    c.local_get(1).local_get(2).call(callee); // f64
    c.local_get(0).local_get(3).call(host).op(Op.f64_convert_i64_s); // f64
    c.local_get(1).local_get(2).i32_const(0).call_indirect(sig, 0); // f64
    c.op(Op.f64_add).op(Op.f64_add);
    const types: T[] = [];
    for (let k = 0; k < 12; k++) types.push(k % 2 ? T.i64 : T.i32);
    for (let k = 0; k < 16; k++) types.push(k % 2 ? T.f64 : T.f32);
    types.push(T.f64);
    foldToF64(c, types, 4).end();
  }, { export: 'f', locals: [T.f64] });
  const calls: Array<[string, unknown[]]> = [];
  for (let n = 0; n < 8; n++) calls.push(['f', [ri32(), ri64() >> 20n, rf32(), rf64()]]);
  compare(b.build(), calls, () => ({ env: { h: (x: number, y: number) => BigInt(x) * 3n + BigInt(Math.trunc(y)) } }));
});

test('local.set / local.tee while reads of the same local are pending: the reads see the old value', () => {
  const b = new ModuleBuilder();
  const calls: Array<[string, unknown[]]> = [];
  for (const t of [T.i32, T.i64, T.f32, T.f64]) {
    const V = (c: Code, k: number) => constOf(c, t, k);
    // param: old - new
    b.func([t], [t], (c) => { c.local_get(0); V(c, 7).local_set(0); c.local_get(0).op(SUB[t]).end(); }, { export: `set_param_${t}` });
    // declared local, tee
    b.func([t], [t], (c) => {
      c.local_get(0).local_set(1);
      c.local_get(1); // old
      V(c, 9).local_tee(1); // new
      c.op(SUB[t]).local_get(1).op(ADD[t]).end();
    }, { export: `tee_local_${t}`, locals: [t] });
    // local.get x ; local.get x ; (x + 1) ; local.set x : both reads are old
    b.func([t], [t], (c) => {
      c.local_get(0).local_get(0);
      c.local_get(0);
      V(c, 1).op(ADD[t]).local_set(0);
      c.op(MUL[t]).local_get(0).op(SUB[t]).end();
    }, { export: `twice_${t}` });
    // the write of a value that is itself a read of the local (tee of own get)
    b.func([t], [t], (c) => { c.local_get(0).local_get(0).local_tee(0).op(ADD[t]).end(); }, { export: `self_tee_${t}` });
    // reads pending under full register pressure (materialisation must spill), then write
    b.func([t, t], [t], (c) => {
      for (let k = 0; k < 16; k++) { c.local_get(1); V(c, k).op(MUL[t]); }
      for (let k = 0; k < 6; k++) c.local_get(0);
      c.local_get(1).local_set(0);
      for (let k = 0; k < 21; k++) c.op(k % 2 ? SUB[t] : ADD[t]);
      c.local_get(0).op(ADD[t]).end();
    }, { export: `pressure_${t}` });
    // pending read, then a write inside a nested block and a loop
    b.func([t], [t], (c) => {
      c.local_get(0);
      c.block().loop();
      V(c, 3).local_set(0);
      c.end().end();
      c.local_get(0).op(SUB[t]).end();
    }, { export: `nested_${t}` });
    // pending read, then a call writes... nothing; but a write after a call with the read still pending
    for (const name of [`set_param_${t}`, `tee_local_${t}`, `twice_${t}`, `self_tee_${t}`, `nested_${t}`]) {
      for (let n = 0; n < 3; n++) calls.push([name, [argFor(t)]]);
    }
    for (let n = 0; n < 3; n++) calls.push([`pressure_${t}`, [argFor(t), argFor(t)]]);
  }
  compare(b.build(), calls);
});

test('select, br_if, br_table and if/else carrying values', () => {
  const b = new ModuleBuilder();
  const calls: Array<[string, unknown[]]> = [];
  for (const t of [T.i32, T.i64, T.f32, T.f64]) {
    // select with every operand kind: const, local, register
    b.func([t, t, T.i32], [t], (c) => { c.local_get(0).local_get(1).local_get(2).select().end(); }, { export: `sel_ll_${t}` });
    b.func([t, T.i32], [t], (c) => { constOf(c, t, 5); c.local_get(0).local_get(1).select().end(); }, { export: `sel_cl_${t}` });
    b.func([t, t, T.i32], [t], (c) => {
      c.local_get(0).local_get(1).op(ADD[t]);
      c.local_get(1).local_get(1).op(MUL[t]);
      c.local_get(2).select(t).end();
    }, { export: `sel_rr_${t}` });
    // br_if carrying a value out of two nested blocks; the fallthrough value is different
    b.func([t, T.i32], [t], (c) => {
      c.block(t).block(t);
      c.local_get(0);
      constOf(c, t, 2).op(MUL[t]);
      c.local_get(1).br_if(1);
      c.drop();
      constOf(c, t, 11).end();
      constOf(c, t, 3).op(ADD[t]).end().end();
    }, { export: `brif_${t}` });
    // br_table selecting among 4 blocks, each adding something different
    b.func([t, T.i32], [t], (c) => {
      c.block(t).block(t).block(t).block(t);
      c.local_get(0).local_get(1).br_table([0, 1, 2], 3);
      c.end(); constOf(c, t, 1).op(ADD[t]);
      c.end(); constOf(c, t, 2).op(MUL[t]);
      c.end(); constOf(c, t, 3).op(SUB[t]);
      c.end().end();
    }, { export: `brtable_${t}` });
    // br_table with live values below the carried one (not a direct branch)
    b.func([t, T.i32], [t], (c) => {
      c.local_get(0); // stays below
      c.block(t);
      c.local_get(0).local_get(0).op(MUL[t]);
      c.local_get(1).br_table([0, 0], 0);
      c.end().op(SUB[t]).end();
    }, { export: `brtable_deep_${t}` });
    // if/else with a value, under register pressure in one arm
    b.func([t, T.i32], [t], (c) => {
      c.local_get(0);
      c.local_get(1).if_(t);
      for (let k = 0; k < 18; k++) { c.local_get(0); constOf(c, t, k); c.op(ADD[t]); }
      for (let k = 0; k < 17; k++) c.op(MUL[t]);
      c.else_();
      constOf(c, t, 4);
      c.end().op(SUB[t]).end();
    }, { export: `ifelse_${t}` });
    for (let n = 0; n < 3; n++) {
      const x = argFor(t), y = argFor(t);
      for (const cond of [0, 1, 7]) {
        calls.push([`sel_ll_${t}`, [x, y, cond]], [`sel_cl_${t}`, [x, cond]], [`sel_rr_${t}`, [x, y, cond]]);
        calls.push([`brif_${t}`, [x, cond]], [`ifelse_${t}`, [x, cond]]);
      }
      for (const k of [0, 1, 2, 3, 4, -1]) calls.push([`brtable_${t}`, [x, k]], [`brtable_deep_${t}`, [x, k]]);
    }
  }
  compare(b.build(), calls);
});

test('multi-value: blocks and functions with 2..20 results, called from wasm and from JS', () => {
  const b = new ModuleBuilder();
  const calls: Array<[string, unknown[]]> = [];
  const order = [T.i32, T.i64, T.f32, T.f64];
  for (let n = 2; n <= 20; n++) {
    const results = Array.from({ length: n }, (_, k) => order[(k * 3 + n) % 4]);
    // params: one of each type
    const f = b.func(order, results, (c) => {
      for (let k = 0; k < n; k++) {
        const t = results[k];
        c.local_get(order.indexOf(t));
        constOf(c, t, k + 1).op(k % 2 ? MUL[t] : ADD[t]);
      }
      c.end();
    }, { export: `multi${n}` });
    // a block type with the same results, fed by a call and passed through a block and an if
    const bt = b.type([], results);
    b.func(order, [T.f64], (c) => {
      c.block({ type: bt });
      for (let k = 0; k < 4; k++) c.local_get(k);
      c.call(f);
      c.end();
      c.i32_const(1).if_({ type: b.type(results, results) }).else_().end();
      foldToF64(c, results, 4).end();
    }, { export: `fold${n}`, locals: [T.f64] });
    for (let r = 0; r < 2; r++) {
      const args = order.map(argFor);
      calls.push([`multi${n}`, args], [`fold${n}`, args]);
    }
  }
  compare(b.build(), calls);
});

test('loops with params: counted loops carrying several values through br_if and br', () => {
  const b = new ModuleBuilder();
  const calls: Array<[string, unknown[]]> = [];
  // (n) -> fib(n) as (i64), carrying (i32 counter, i64 a, i64 b) as loop params
  const lt = b.type([T.i32, T.i64, T.i64], [T.i32, T.i64, T.i64]);
  b.func([T.i32], [T.i64], (c) => {
    c.local_get(0).i64_const(0).i64_const(1);
    c.loop({ type: lt });
    // stack: k a b -> (k-1) b (a+b), continue while k-1 > 0
    c.local_set(3).local_set(2).local_set(1);
    c.local_get(1).i32_const(1).op(Op.i32_sub);
    c.local_get(3);
    c.local_get(2).local_get(3).op(Op.i64_add);
    c.local_get(1).i32_const(1).op(Op.i32_gt_s).br_if(0);
    c.end();
    c.local_set(3).local_set(2).drop().local_get(2).end();
  }, { export: 'fib', locals: [T.i32, T.i64, T.i64] });
  // float loop with params and an early exit via br to an outer block carrying two values
  const fl = b.type([T.f64, T.f32], [T.f64, T.f32]);
  const outer = b.type([], [T.f64, T.f32]);
  b.func([T.f64, T.i32], [T.f64], (c) => {
    c.block({ type: outer });
    c.local_get(0).f32_const(1);
    c.loop({ type: fl });
    c.local_set(3).local_set(2);
    // (x * 1.5 + y, y * 2)
    c.local_get(2).f64_const(1.5).op(Op.f64_mul).local_get(3).op(Op.f64_promote_f32).op(Op.f64_add);
    c.local_get(3).f32_const(2).op(Op.f32_mul);
    c.local_get(1).i32_const(1).op(Op.i32_sub).local_tee(1).op(Op.i32_eqz).if_().local_get(2).local_get(3).br(2).end();
    c.br(0);
    c.end();
    c.end();
    c.op(Op.f64_promote_f32).op(Op.f64_add).end();
  }, { export: 'floop', locals: [T.f64, T.f32] });
  // nested loops, the inner one carrying an i64 accumulator under pressure from 12 live values
  b.func([T.i32, T.i64], [T.i64], (c) => {
    for (let k = 0; k < 12; k++) c.local_get(1).i64_const(k).op(Op.i64_xor);
    c.local_get(1);
    c.loop({ type: b.type([T.i64], [T.i64]) });
    c.local_get(1).op(Op.i64_mul).i64_const(0x9e3779b97f4a7c15n).op(Op.i64_add);
    c.local_get(0).i32_const(1).op(Op.i32_sub).local_tee(0).br_if(0);
    c.end();
    for (let k = 0; k < 12; k++) c.op(Op.i64_add);
    c.end();
  }, { export: 'mix' });
  for (const n of [1, 2, 3, 10, 50, 90]) calls.push(['fib', [n]]);
  for (const n of [1, 2, 5, 20]) calls.push(['floop', [rf64(), n]]);
  for (const n of [1, 3, 17]) calls.push(['mix', [n, ri64()]]);
  compare(b.build(), calls);
});

test('many parameters and results (200 each) through JS, direct, indirect and host calls', () => {
  const N = 200;
  const order = [T.i32, T.i64, T.f32, T.f64];
  const types = Array.from({ length: N }, (_, k) => order[(k * 7) % 4]);
  const b = new ModuleBuilder();
  const host = b.importFunc('env', 'host', types, types);
  const sig = b.type(types, types);
  // result k = param (k + 4) % N (the same type: types repeat every 4) + k
  const rev = b.func(types, types, (c) => {
    for (let k = 0; k < N; k++) { c.local_get((k + 4) % N); constOf(c, types[k], k).op(ADD[types[k]]); }
    c.end();
  }, { export: 'rev' });
  void rev;
  b.table(T.funcref, { min: 1 });
  b.elem({ mode: 'active', offset: new Code().i32_const(0), funcs: [rev] });
  const pass = (callee: (c: Code) => void) => (c: Code) => { for (let k = 0; k < N; k++) c.local_get(k); callee(c); c.end(); };
  b.func(types, types, pass((c) => c.call(host)), { export: 'viaHost' });
  b.func(types, types, pass((c) => c.i32_const(0).call_indirect(sig)), { export: 'viaIndirect' });
  b.func(types, [T.f64], (c) => {
    for (let k = 0; k < N; k++) c.local_get(k);
    c.call(rev);
    foldToF64(c, types, N);
    c.end();
  }, { export: 'fold', locals: [T.f64] });
  const args = types.map(argFor);
  const hostImpl = (...xs: unknown[]) => xs.map((x, k) => (types[k] === T.i64 ? (x as bigint) * 3n : types[k] === T.i32 ? ((x as number) ^ k) : (x as number) * 0.5));
  const calls: Array<[string, unknown[]]> = [['viaHost', args], ['viaIndirect', args], ['fold', args], ['rev', args]];
  compare(b.build(), calls, () => ({ env: { host: hostImpl } }));
});

test('declared locals start at zero even when the stack below was dirtied (> 16 locals: the bulk-zeroing path)', () => {
  const b = new ModuleBuilder();
  const kinds = [T.i32, T.i64, T.f32, T.f64];
  const many = Array.from({ length: 60 }, (_, k) => kinds[k % 4]);
  // dirty: writes every local, recursing to dirty several frames
  const dirty = b.nextFuncIndex();
  b.func([T.i32], [], (c) => {
    for (let k = 0; k < many.length; k++) { constOf(c, many[k], k + 1000).local_set(k + 1); }
    c.local_get(0).if_().local_get(0).i32_const(1).op(Op.i32_sub).call(dirty).end().end();
  }, { locals: many });
  for (const n of [1, 16, 17, 60]) {
    const ls = many.slice(0, n);
    const check = b.func([], [T.f64], (c) => {
      for (let k = 0; k < n; k++) c.local_get(k);
      foldToF64(c, ls, n);
      c.end();
    }, { locals: [...ls, T.f64] });
    b.func([], [T.f64], (c) => c.i32_const(3).call(dirty).call(check).end(), { export: `zero${n}` });
  }
  compare(b.build(), [['zero1', []], ['zero16', []], ['zero17', []], ['zero60', []]]);
  const q = qbInstance(b.build());
  for (const n of [1, 16, 17, 60]) assert.is(q[`zero${n}`](), 0);
});

test.run();
