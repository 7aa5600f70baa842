// Memory operators: loads and stores with their bounds checks, memory.size/grow and bulk memory.
//
// Bounds check (docs/ARCHITECTURE.md). Memory 0 (not shared), offset + size <= MEMORY_FAST_REACH: r13 holds
// the desc's fast limit (length - (REACH - 1), or 0), so `cmp addr, r13; jb` proves the access in bounds and it
// reads [r15 + addr + offset] with the address register untouched; otherwise (jae) an out-of-line path calls a
// shared stub that checks against the exact length (derived from r13), then jumps back (emitBoundsStubs).
// Other accesses: t = addr (i32: zero-extended); t += offset + size (i64 memories: a carry traps, so address +
// offset never wraps); t > length traps; access [base + t - size]. A shared memory 0's length changes under
// other threads: there r13 = its MemoryDesc.

import { AluOp, Cond, LoadKind, R11, R13, R14, R15, ShiftOp } from '../x64/registers.js';
import { ValType } from '../decode/types.js';
import { K_CONST, K_LOCAL, K_REG } from './value-stack.js';
import { TrapCode, Builtin, MEMDESC_LENGTH, MEMORY_FAST_REACH } from './abi.js';
import type { FunctionCompiler } from './function-compiler.js';

const I32 = ValType.I32, I64 = ValType.I64, F32 = ValType.F32, F64 = ValType.F64;

/**
 * Test-only: QUICKBEAM_TEST_PLANT_BUG=bounds-off-by-one makes every dynamic bounds check one byte too lenient,
 * so the fuzzers' own tests can prove they catch a broken bounds check. Never set it otherwise.
 */
const PLANTED_OFF_BY_ONE = process.env.QUICKBEAM_TEST_PLANT_BUG === 'bounds-off-by-one';

// Decoded memarg of the current operator (module-level scratch: the compiler is single-threaded).
export let maMem = 0;
/** log2 of the memarg's alignment (atomics require exactly the natural one). */
export let maAlign = 0;
let maOffLo = 0; // uint32
let maOffHi = 0; // uint32

// Result of emitAddress: the access is [addrBase + addrIndex + addrDisp] (addrIndex -1: none).
// Exported (live bindings) for the SIMD loads and stores in emit-simd.ts. addrIndexReadOnly: addrIndex may
// hold a cached local (popToRegRead): the access must not write it (a load takes another destination); it is
// released with freeGpr all the same.
export let addrBase = 0;
export let addrIndex = -1;
export let addrDisp = 0;
export let addrIndexReadOnly = false;

// Accesses that fail the fast check (an address in the last REACH - 1 bytes of memory, or any address in an
// empty memory) take an out-of-line path: `call` a stub shared by the accesses of the function with the same
// address register and reach, which checks exactly and returns, or jumps to the trap stub (the return address,
// recorded with the access's wasm offset, names the access in the backtrace), then `jmp` back. Per access: the
// offset of its jae's displacement (patched directly, no label or fixup), the code offset to return to, the
// address register, the end (offset + size), the wasm offset.
let sites = new Int32Array(200);
let sitesLength = 0;
// The shared stubs, emitted before the accesses' paths (so that their calls are backward, with no fixups): the
// code offset per (register, end), valid when its generation is the current function's (a direct index: a big
// function has thousands of accesses).
const KEYS = 16 * (MEMORY_FAST_REACH + 1);
const sharedAt = new Int32Array(KEYS);
const sharedGen = new Int32Array(KEYS);
let gen = 0;

/** Before each function (a failed compile may leave entries behind). */
export function resetBoundsStubs(): void {
  sitesLength = 0;
  gen = (gen + 1) | 0;
}

function addSite(jaeAt: number, back: number, reg: number, end: number, wasmOffset: number): void {
  const n = sitesLength;
  let s = sites; // (a local: each use of the module-level binding is a context load and a check)
  if (n + 5 > s.length) {
    s = new Int32Array(2 * s.length);
    s.set(sites.subarray(0, n));
    sites = s;
  }
  s[n] = jaeAt;
  s[n + 1] = back;
  s[n + 2] = reg;
  s[n + 3] = end;
  s[n + 4] = wasmOffset;
  sitesLength = n + 5;
}

/**
 * After the function's code: the shared stubs, then the out-of-line paths of the accesses. A memory's length is
 * a multiple of 64 KiB, so r13 = 0 means length 0, and otherwise length = r13 + REACH - 1 exactly: the exact
 * check needs no load.
 */
export function emitBoundsStubs(c: FunctionCompiler): void {
  const n = sitesLength;
  if (n === 0) return;
  const a = c.asm, m = c.m;
  const trap = m.trapStubs[TrapCode.MemoryOutOfBounds];
  const g = gen;
  const s = sites; // (a local: a module-level binding is read again after every call)
  for (let p = 0; p < n; p += 5) {
    const reg = s[p + 2], end = s[p + 3];
    const key = reg * (MEMORY_FAST_REACH + 1) + end;
    if (sharedGen[key] === g) continue;
    sharedGen[key] = g;
    sharedAt[key] = a.offset;
    a.test(true, R13, R13);
    a.jcc(Cond.E, trap); // an empty memory
    a.lea(true, R11, R13, -1, 1, MEMORY_FAST_REACH - 1 - end); // length - (offset + size) >= 0
    a.alu(AluOp.CMP, true, reg, R11);
    a.jcc(Cond.A, trap);
    a.ret();
  }
  const pcs = m.pcOffsets, wasm = m.wasmOffsets;
  for (let p = 0; p < n; p += 5) {
    pcs.push(a.callAndJmp(s[p], sharedAt[s[p + 2] * (MEMORY_FAST_REACH + 1) + s[p + 3]], s[p + 1]));
    wasm.push(s[p + 4]);
  }
  sitesLength = 0;
}

export function readMemarg(c: FunctionCompiler, size: number): void {
  const r = c.r;
  const at = r.pos;
  let flags = r.u32();
  let mem = 0;
  if (flags & 0x40) {
    if (!c.m.features.multiMemory) c.error('malformed memop flags: memory index needs multi-memory', at);
    flags -= 0x40; // (not `&= ~0x40`: that would make flags >= 2^31 negative, and pass the check below)
    mem = r.u32();
  }
  // (a shift, not `2 ** flags`: V8 computes ** with a C pow call, even in optimised code; size <= 16)
  if (flags > 4 || 1 << flags > size) c.error('alignment must not be larger than natural', at);
  maAlign = flags;
  const mems = c.m.info.memories;
  if (mem >= mems.length) c.error(`unknown memory ${mem}`, at);
  maMem = mem;
  if (mems[mem].index64) {
    r.u64();
    maOffLo = r.lo >>> 0;
    maOffHi = r.hi >>> 0;
  } else if (c.m.features.memoryU64Leb) {
    // Wasm 3.0: a u64 LEB for every memory; an i32 memory's offset must still fit in 32 bits
    const offAt = r.pos;
    r.u64();
    if (r.hi !== 0) c.error('offset out of range', offAt);
    maOffLo = r.lo >>> 0;
    maOffHi = 0;
  } else {
    maOffLo = r.u32() >>> 0;
    maOffHi = 0;
  }
}

/** Whether memory 0 is shared: then r13 holds its MemoryDesc, not its length (see reloadMemory0). */
function shared0(c: FunctionCompiler): boolean {
  return c.m.info.memories[0].shared;
}

export function addrType(c: FunctionCompiler, mem: number): number {
  return c.m.info.memories[mem].index64 ? I64 : I32;
}

/**
 * Pop the address operand and emit the bounds check for an access of `size` bytes (memarg in ma*). Atomics
 * pass `alignMask` = size - 1: an effective address with any of those bits set traps (before the bounds
 * check, as the reference interpreter orders them). `readOnlyIndex`: the caller never writes addrIndex (see
 * addrIndexReadOnly).
 */
export function emitAddress(c: FunctionCompiler, size: number, alignMask = 0, readOnlyIndex = false): void {
  const vs = c.vs, a = c.asm;
  const mem = maMem;
  const index64 = c.m.info.memories[mem].index64;
  const L = c.m.layout;
  const top = vs.height - 1;
  if (vs.kind[top] === K_CONST && maOffHi === 0 && c.m.boundsChecks) {
    const addrHi = index64 ? vs.hi[top] >>> 0 : 0;
    const end = (vs.lo[top] >>> 0) + maOffLo + size;
    if (addrHi === 0 && end <= 0x7fffffff) {
      vs.drop();
      if (((end - size) & alignMask) !== 0) a.jmp(c.trapLabel(TrapCode.UnalignedAccess));
      if (mem === 0 && end <= vs.checkedConstEnd) {
        // an access reaching at least as far was checked earlier in this basic block (lengths never shrink)
      } else if (mem === 0 && !shared0(c)) {
        // fast limit L (r13): L = 0 means an empty memory, else length = L + REACH - 1 (see emitBoundsStubs), so
        // end <= length exactly when L >= max(end - REACH + 1, 1)
        a.aluImm(AluOp.CMP, true, R13, Math.max(end - MEMORY_FAST_REACH + 1, 1));
        a.jcc(Cond.B, c.trapLabel(TrapCode.MemoryOutOfBounds));
        if (!PLANTED_OFF_BY_ONE) vs.checkedConstEnd = end;
      } else {
        if (mem === 0) {
          a.aluMemImm(AluOp.CMP, true, R13, -1, 1, MEMDESC_LENGTH, end);
        } else {
          a.load(LoadKind.I64, R11, R14, -1, 1, L.memDesc(mem));
          a.aluMemImm(AluOp.CMP, true, R11, -1, 1, MEMDESC_LENGTH, end);
        }
        a.jcc(Cond.B, c.trapLabel(TrapCode.MemoryOutOfBounds));
        if (mem === 0 && !PLANTED_OFF_BY_ONE) vs.checkedConstEnd = end;
      }
      if (mem === 0) addrBase = R15;
      else {
        a.load(LoadKind.I64, R11, R14, -1, 1, L.memBase(mem));
        addrBase = R11;
      }
      addrIndex = -1;
      addrIndexReadOnly = false;
      addrDisp = end - size;
      return;
    }
  }
  // The address a plain local whose value passed a check reaching at least as far in this basic block: no check.
  const local = mem === 0 && alignMask === 0 && maOffHi === 0 && !PLANTED_OFF_BY_ONE ? vs.entryLocal(top) : -1;
  const end = maOffLo + size;
  const checked = local >= 0 && end <= vs.checkedEnd[local] && c.m.boundsChecks;
  if (checked || (mem === 0 && !shared0(c) && alignMask === 0 && maOffHi === 0 && end <= MEMORY_FAST_REACH &&
      !PLANTED_OFF_BY_ONE && c.m.boundsChecks)) {
    // The address register is only read: a cached local's register serves as it is. An i32 register's upper
    // half is zero by construction; the fast check compares all 64 bits of the register the access uses (a
    // nonzero upper half would fail it and trap in the stub, never reach outside the memory), so it needs no
    // zero-extension. Nor does a local whose check is reused: its current value passed such a compare in this
    // basic block, and every register it reached since holds it zero-extended (32-bit copies and loads).
    const t = readOnlyIndex ? vs.popToRegRead() : vs.popToReg();
    if (!checked) {
      a.alu(AluOp.CMP, true, t, R13);
      const jaeAt = a.jccPatchable(Cond.AE);
      addSite(jaeAt, a.offset, t, end, c.opOffset);
      if (local >= 0) vs.noteChecked(local, end);
    }
    addrBase = R15;
    addrIndex = t;
    addrIndexReadOnly = readOnlyIndex;
    addrDisp = maOffLo;
    return;
  }
  addrIndexReadOnly = false;
  const t = vs.popToReg();
  if (!index64 && !vs.poppedZext) a.movRR(false, t, t); // (i32 addresses: explicitly zero-extended)
  if (alignMask !== 0) {
    // (addr + offset) & mask: only the offset's low bits matter
    const low = maOffLo & alignMask;
    if (low === 0) a.testImm(false, t, alignMask);
    else {
      a.lea(false, R11, t, -1, 1, low);
      a.testImm(false, R11, alignMask);
    }
    a.jcc(Cond.NE, c.trapLabel(TrapCode.UnalignedAccess));
  }
  if (!c.m.boundsChecks) {
    emitUncheckedAddress(c, t);
    return;
  }
  const trap = c.trapLabel(TrapCode.MemoryOutOfBounds);
  const slack = PLANTED_OFF_BY_ONE ? 1 : 0;
  let sumLo = maOffLo + size - slack;
  let sumHi = maOffHi;
  if (sumLo >= 2 ** 32) {
    sumLo -= 2 ** 32;
    sumHi += 1;
  }
  if (sumHi >= 2 ** 32) {
    a.jmp(trap); // offset + size >= 2^64: every access traps
  } else if (sumHi === 0 && sumLo <= 0x7fffffff) {
    a.aluImm(AluOp.ADD, true, t, sumLo);
  } else {
    a.movImm64(R11, sumLo | 0, sumHi | 0);
    a.alu(AluOp.ADD, true, t, R11);
  }
  if (index64) a.jcc(Cond.B, trap); // carry: address + offset + size wrapped past 2^64
  if (mem === 0 && !shared0(c)) {
    a.load(LoadKind.I64, R11, R14, -1, 1, L.memDesc(0));
    a.aluLoad(AluOp.CMP, true, t, R11, -1, 1, MEMDESC_LENGTH);
  } else if (mem === 0) a.aluLoad(AluOp.CMP, true, t, R13, -1, 1, MEMDESC_LENGTH);
  else {
    a.load(LoadKind.I64, R11, R14, -1, 1, L.memDesc(mem));
    a.aluLoad(AluOp.CMP, true, t, R11, -1, 1, MEMDESC_LENGTH);
  }
  a.jcc(Cond.A, trap);
  if (local >= 0 && end <= 0x7fffffff) vs.noteChecked(local, end);
  if (mem === 0) addrBase = R15;
  else {
    a.load(LoadKind.I64, R11, R14, -1, 1, L.memBase(mem));
    addrBase = R11;
  }
  addrIndex = t;
  addrDisp = -(size - slack);
}

/** Trusted mode: [base + t + offset] with no check at all. */
function emitUncheckedAddress(c: FunctionCompiler, t: number): void {
  const a = c.asm;
  const mem = maMem;
  if (maOffHi === 0 && maOffLo <= 0x7fffffff) addrDisp = maOffLo;
  else {
    a.movImm64(R11, maOffLo | 0, maOffHi | 0);
    a.alu(AluOp.ADD, true, t, R11);
    addrDisp = 0;
  }
  if (mem === 0) addrBase = R15;
  else {
    a.load(LoadKind.I64, R11, R14, -1, 1, c.m.layout.memBase(mem));
    addrBase = R11;
  }
  addrIndex = t;
}

// Per-opcode tables for 0x28..0x35 (loads) and 0x36..0x3e (stores): kind / size / type as parallel typed arrays,
// read by index (destructuring a tuple would run the iterator protocol, and allocate, before V8 optimises).
const LOAD_KIND = new Uint8Array([
  LoadKind.U32, LoadKind.I64, LoadKind.U32, LoadKind.I64,
  LoadKind.S8_32, LoadKind.U8, LoadKind.S16_32, LoadKind.U16,
  LoadKind.S8_64, LoadKind.U8, LoadKind.S16_64, LoadKind.U16,
  LoadKind.S32_64, LoadKind.U32,
]);
const LOAD_SIZE = new Uint8Array([4, 8, 4, 8, 1, 1, 2, 2, 1, 1, 2, 2, 4, 4]);
const LOAD_TYPE = new Uint8Array([I32, I64, F32, F64, I32, I32, I32, I32, I64, I64, I64, I64, I64, I64]);

export function emitLoad(c: FunctionCompiler, op: number): void {
  const kind: LoadKind = LOAD_KIND[op - 0x28];
  const size = LOAD_SIZE[op - 0x28];
  const type = LOAD_TYPE[op - 0x28];
  readMemarg(c, size);
  c.need1(addrType(c, maMem));
  const vs = c.vs, a = c.asm;
  if (c.dead) {
    c.discard(1);
    vs.pushDead(type);
    return;
  }
  emitAddress(c, size, 0, true);
  if (type === F32 || type === F64) {
    const x = vs.allocXmm();
    if (type === F32) a.movssLoad(x, addrBase, addrIndex, 1, addrDisp);
    else a.movsdLoad(x, addrBase, addrIndex, 1, addrDisp);
    if (addrIndex >= 0) vs.freeGpr(addrIndex);
    vs.pushReg(type, x);
    return;
  }
  const dst = addrIndex >= 0 && !addrIndexReadOnly ? addrIndex : vs.allocGpr();
  a.load(kind, dst, addrBase, addrIndex, 1, addrDisp);
  if (addrIndex >= 0 && addrIndexReadOnly) vs.freeGpr(addrIndex);
  vs.pushReg(type, dst);
}

const STORE_SIZE = new Uint8Array([4, 8, 4, 8, 1, 2, 1, 2, 4]);
const STORE_TYPE = new Uint8Array([I32, I64, F32, F64, I32, I32, I64, I64, I64]);

export function emitStore(c: FunctionCompiler, op: number): void {
  const size = STORE_SIZE[op - 0x36] as 1 | 2 | 4 | 8;
  const type = STORE_TYPE[op - 0x36];
  readMemarg(c, size);
  c.need2(addrType(c, maMem), type);
  const vs = c.vs, a = c.asm;
  if (c.dead) {
    c.discard(2);
    return;
  }
  // The value: an immediate when it fits, else a register.
  const top = vs.height - 1;
  let imm = 0;
  let immOk = false;
  if (vs.kind[top] === K_CONST) {
    const lo = vs.lo[top], hi = vs.hi[top];
    if (size < 8) {
      imm = size === 4 ? lo : size === 2 ? lo & 0xffff : lo & 0xff;
      immOk = true;
    } else if ((hi === 0 && lo >= 0) || (hi === -1 && lo < 0)) {
      imm = lo;
      immOk = true;
    }
  }
  let v = -1;
  if (immOk) vs.drop();
  else v = vs.popToReg();
  emitAddress(c, size, 0, true);
  if (immOk) a.storeImm(size, imm, addrBase, addrIndex, 1, addrDisp);
  else if (type === F32) a.movssStore(v, addrBase, addrIndex, 1, addrDisp);
  else if (type === F64) a.movsdStore(v, addrBase, addrIndex, 1, addrDisp);
  else a.store(size, v, addrBase, addrIndex, 1, addrDisp);
  if (v >= 0) vs.freeFor(type, v);
  if (addrIndex >= 0) vs.freeGpr(addrIndex);
}

function readMemIndex(c: FunctionCompiler): number {
  const at = c.r.pos;
  const m = c.m.features.multiMemory ? c.r.u32() : c.r.u8();
  if (!c.m.features.multiMemory && m !== 0) c.error('zero byte expected', at);
  if (m >= c.m.info.memories.length) c.error(`unknown memory ${m}`, at);
  return m;
}

export function emitMemorySize(c: FunctionCompiler): void {
  const mem = readMemIndex(c);
  const t = addrType(c, mem);
  const vs = c.vs, a = c.asm;
  if (c.dead) {
    vs.pushDead(t);
    return;
  }
  const r = vs.allocGpr();
  if (mem === 0 && !shared0(c)) {
    a.load(LoadKind.I64, r, R14, -1, 1, c.m.layout.memDesc(0));
    a.load(LoadKind.I64, r, r, -1, 1, MEMDESC_LENGTH);
  } else if (mem === 0) a.load(LoadKind.I64, r, R13, -1, 1, MEMDESC_LENGTH);
  else {
    a.load(LoadKind.I64, r, R14, -1, 1, c.m.layout.memDesc(mem));
    a.load(LoadKind.I64, r, r, -1, 1, MEMDESC_LENGTH);
  }
  a.shiftImm(ShiftOp.SHR, true, r, 16);
  vs.pushReg(t, r);
}

export function emitMemoryGrow(c: FunctionCompiler): void {
  const mem = readMemIndex(c);
  const t = addrType(c, mem);
  c.need1(t);
  if (c.dead) {
    c.discard(1);
    c.vs.pushDead(t);
    return;
  }
  c.storeImmArg(0, mem);
  c.emitBuiltinCall(Builtin.MemoryGrow, 1, 1);
  c.pushBuiltinResult(t);
}

/** 0xfc 8..11: memory.init, data.drop, memory.copy, memory.fill. */
export function emitBulkMemory(c: FunctionCompiler, sub: number): void {
  const r = c.r;
  const info = c.m.info;
  switch (sub) {
    case 8: { // memory.init seg mem
      const at = r.pos;
      const seg = r.u32();
      if (info.dataCount === null) c.error('data count section required', at);
      if (seg >= info.dataCount) c.error(`unknown data segment ${seg}`, at);
      const mem = readMemIndex(c);
      c.need3(addrType(c, mem), I32, I32);
      if (c.dead) return c.discard(3);
      c.storeImmArg(0, seg);
      c.storeImmArg(1, mem);
      c.emitBuiltinCall(Builtin.MemoryInit, 3, 2);
      return;
    }
    case 9: { // data.drop seg
      const at = r.pos;
      const seg = r.u32();
      if (info.dataCount === null) c.error('data count section required', at);
      if (seg >= info.dataCount) c.error(`unknown data segment ${seg}`, at);
      if (c.dead) return;
      c.storeImmArg(0, seg);
      c.emitBuiltinCall(Builtin.DataDrop, 0, 1);
      return;
    }
    case 10: { // memory.copy dst src
      const dst = readMemIndex(c);
      const src = readMemIndex(c);
      const td = addrType(c, dst), ts = addrType(c, src);
      c.need3(td, ts, td === I64 && ts === I64 ? I64 : I32);
      if (c.dead) return c.discard(3);
      c.storeImmArg(0, dst);
      c.storeImmArg(1, src);
      c.emitBuiltinCall(Builtin.MemoryCopy, 3, 2);
      return;
    }
    case 11: { // memory.fill mem
      const mem = readMemIndex(c);
      const t = addrType(c, mem);
      c.need3(t, I32, t);
      if (c.dead) return c.discard(3);
      c.storeImmArg(0, mem);
      c.emitBuiltinCall(Builtin.MemoryFill, 3, 1);
      return;
    }
  }
}
