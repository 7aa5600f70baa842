// The 0xfe operators (threads): atomic loads and stores, read-modify-write, compare-exchange, fence, and
// memory.atomic.wait32/wait64/notify.
//
// x86-64 is TSO, so sequentially consistent loads are plain loads and only stores need a locked instruction
// (xchg). add/sub/xchg are one locked instruction (lock xadd, xchg) that returns the old value; and/or/xor
// have none that returns the old value, so they are a lock cmpxchg loop. Results of narrow accesses are
// zero-extended. Every access is bounds-checked exactly as a plain one (emitAddress) and traps when its
// effective address is not a multiple of its size (checked first, as the reference interpreter does).
// wait and notify are builtins (api/atomics-wait.ts) that receive the checked effective address.

import { AluOp, Cond, LoadKind, RAX, UnaryOp } from '../x64/registers.js';
import { ValType } from '../decode/types.js';
import { Builtin } from './abi.js';
import { addrBase, addrDisp, addrIndex, addrType, emitAddress, maAlign, maMem, readMemarg } from './emit-memory.js';
import type { FunctionCompiler } from './function-compiler.js';

const I32 = ValType.I32, I64 = ValType.I64;

// 0x10..0x4e come in groups of seven: load, store, add, sub, and, or, xor, xchg, cmpxchg; within a group
// i32, i64, i32 8u, i32 16u, i64 8u, i64 16u, i64 32u.
const G_LOAD = 0, G_STORE = 1, G_ADD = 2, G_SUB = 3, G_AND = 4, G_OR = 5, G_XOR = 6, G_XCHG = 7, G_CMPXCHG = 8;
const FIRST = 0x10, LAST = 0x4e;
const SIZE = new Uint8Array([4, 8, 1, 2, 1, 2, 4]);
const TYPE = new Uint8Array([I32, I64, I32, I32, I64, I64, I64]);
/** AluOp of the cmpxchg-loop groups (and, or, xor), indexed by group. */
const LOOP_OP = new Uint8Array([0, 0, 0, 0, AluOp.AND, AluOp.OR, AluOp.XOR]);

/** Zero-extending load of `size` bytes. */
function loadKind(size: number): LoadKind {
  return size === 1 ? LoadKind.U8 : size === 2 ? LoadKind.U16 : size === 4 ? LoadKind.U32 : LoadKind.I64;
}

/** memarg of an atomic access: the alignment must be exactly the natural one. */
function readAtomicMemarg(c: FunctionCompiler, size: number): void {
  const at = c.r.pos;
  readMemarg(c, size);
  if (1 << maAlign !== size) c.error('alignment must be exactly natural for an atomic operation', at);
}

export function emitAtomic(c: FunctionCompiler, sub: number): void {
  if (sub >= FIRST && sub <= LAST) {
    const g = ((sub - FIRST) / 7) | 0;
    const j = (sub - FIRST) % 7;
    emitAccess(c, g, SIZE[j] as 1 | 2 | 4 | 8, TYPE[j]);
    return;
  }
  switch (sub) {
    case 0x00: return emitWaitNotify(c, Builtin.AtomicNotify, 4, I32);
    case 0x01: return emitWaitNotify(c, Builtin.AtomicWait32, 4, I32);
    case 0x02: return emitWaitNotify(c, Builtin.AtomicWait64, 8, I64);
    case 0x03: { // atomic.fence 0x00
      const at = c.r.pos;
      if (c.r.u8() !== 0) c.error('zero byte expected', at);
      if (!c.dead) c.asm.mfence();
      return;
    }
  }
  c.error(`illegal opcode 0xfe ${sub}`);
}

function emitAccess(c: FunctionCompiler, g: number, size: 1 | 2 | 4 | 8, type: number): void {
  readAtomicMemarg(c, size);
  const at = addrType(c, maMem);
  if (g === G_LOAD) c.need1(at);
  else if (g === G_CMPXCHG) c.need3(at, type, type);
  else c.need2(at, type);
  const vs = c.vs, a = c.asm;
  if (c.dead) {
    c.discard(g === G_LOAD ? 1 : g === G_CMPXCHG ? 3 : 2);
    if (g !== G_STORE) vs.pushDead(type);
    return;
  }
  const is64 = size === 8;
  const mask = size - 1;
  switch (g) {
    case G_LOAD: {
      emitAddress(c, size, mask);
      const dst = addrIndex >= 0 ? addrIndex : vs.allocGpr();
      a.load(loadKind(size), dst, addrBase, addrIndex, 1, addrDisp);
      vs.pushReg(type, dst);
      return;
    }
    case G_STORE: {
      const v = vs.popToReg();
      emitAddress(c, size, mask);
      a.xchgMem(size, v, addrBase, addrIndex, 1, addrDisp); // a locked store: sequentially consistent
      vs.freeGpr(v);
      if (addrIndex >= 0) vs.freeGpr(addrIndex);
      return;
    }
    case G_ADD: case G_SUB: case G_XCHG: {
      const v = vs.popToReg();
      if (g === G_SUB) a.unary(UnaryOp.NEG, is64, v); // x - v = x + (-v) in every width
      emitAddress(c, size, mask);
      if (g === G_XCHG) a.xchgMem(size, v, addrBase, addrIndex, 1, addrDisp);
      else a.lockXadd(size, v, addrBase, addrIndex, 1, addrDisp);
      if (size < 4) a.movzxRR(size as 1 | 2, v, v); // (4 and 8: the instruction already wrote the whole register)
      if (addrIndex >= 0) vs.freeGpr(addrIndex);
      vs.pushReg(type, v);
      return;
    }
    case G_CMPXCHG: {
      vs.claimGpr(RAX); // the comparand and the old value
      const r = vs.popToReg();
      const e = vs.popToReg();
      emitAddress(c, size, mask);
      a.movRR(true, RAX, e);
      a.lockCmpxchg(size, r, addrBase, addrIndex, 1, addrDisp);
      // rax = old value (mismatch) or the expected value (match, which equals the old one in the low `size`
      // bytes): keep those bytes only
      if (size < 4) a.movzxRR(size as 1 | 2, RAX, RAX);
      else if (size === 4) a.movRR(false, RAX, RAX);
      vs.freeGpr(r);
      vs.freeGpr(e);
      if (addrIndex >= 0) vs.freeGpr(addrIndex);
      vs.pushReg(type, RAX);
      return;
    }
  }
  // and / or / xor: old = [m]; loop { new = old op v; lock cmpxchg [m], new } until no other write intervened
  vs.claimGpr(RAX);
  const v = vs.popToReg();
  emitAddress(c, size, mask);
  const tmp = vs.allocGpr();
  a.load(loadKind(size), RAX, addrBase, addrIndex, 1, addrDisp);
  const retry = a.newLabel();
  a.bind(retry);
  a.movRR(true, tmp, RAX);
  a.alu(LOOP_OP[g] as AluOp, is64, tmp, v);
  a.lockCmpxchg(size, tmp, addrBase, addrIndex, 1, addrDisp);
  a.jcc(Cond.NE, retry); // a failed cmpxchg wrote only the low `size` bytes of rax: it stays zero-extended
  vs.freeGpr(tmp);
  vs.freeGpr(v);
  if (addrIndex >= 0) vs.freeGpr(addrIndex);
  vs.pushReg(type, RAX);
}

/**
 * notify [addr, count] / wait32 [addr, expected i32, timeout i64] / wait64 [addr, expected i64, timeout i64]:
 * the address is checked here (bounds, alignment); the builtin gets the memory index (slot 0), the effective
 * address (slot 1) and the other operands (slots 2..).
 */
function emitWaitNotify(c: FunctionCompiler, id: number, size: 4 | 8, valueType: number): void {
  readAtomicMemarg(c, size);
  const mem = maMem;
  const at = addrType(c, mem);
  const notify = id === Builtin.AtomicNotify;
  if (notify) c.need2(at, I32);
  else c.need3(at, valueType, I64);
  const vs = c.vs, a = c.asm;
  if (c.dead) {
    c.discard(notify ? 2 : 3);
    vs.pushDead(I32);
    return;
  }
  const timeout = notify ? -1 : vs.popToReg();
  const value = vs.popToReg();
  emitAddress(c, size, size - 1);
  // effective address = addrIndex + addrDisp (the base is the builtin's business)
  const ea = addrIndex >= 0 ? addrIndex : vs.allocGpr();
  if (addrIndex >= 0) a.lea(true, ea, addrIndex, -1, 1, addrDisp);
  else a.movImm32(ea, addrDisp);
  vs.pushReg(I64, ea);
  vs.pushReg(valueType, value);
  if (!notify) vs.pushReg(I64, timeout);
  c.storeImmArg(0, mem);
  c.emitBuiltinCall(id, notify ? 2 : 3, 1);
  c.pushBuiltinResult(I32);
}
