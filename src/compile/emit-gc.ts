// GC operators (prefix 0xfb, and ref.eq): validation and code. Objects live in native memory (runtime/gc-heap.ts
// has the layout): field and element access is a null check and a load/store at a fixed offset (arrays: a
// bounds check against the length word), allocation bumps a pointer inline and calls the runtime when the
// region is full, casts compare the object's RTT with the target's (read from the vmctx, so the code has no
// process-specific constant) and, for a type with subtypes, one entry of the RTT's supertype display.
//
// At every allocation site and runtime call the value stack is spilled (registers hold nothing but the
// operands being built), so references live only in frame slots there, which the site's stack map describes
// (compile/stack-maps.ts) for the collector (runtime/gc-roots.ts).

import { AluOp, Cond, LoadKind, R11, R14, RAX, ShiftOp } from '../x64/registers.js';
import { ValType, type FuncType } from '../decode/types.js';
import {
  CONCRETE_SHIFT, Heap, KIND_MASK, REF_CONCRETE, REF_NON_NULL, concreteHeap, isRefType, isSubtype, readHeapType, refType, topHeap,
} from '../decode/ref-types.js';
import { ARRAY_DATA, ARRAY_LENGTH, TypeKind, isPacked, maxArrayLength, storageSize, structLayout, unpackedType } from '../decode/gc-types.js';
import { Builtin, TrapCode, VMCTX_EXEC, VMCTX_HOSTCALL, EXEC_ARGS } from './abi.js';
import { EXEC_GC_LIMIT, EXEC_GC_TOP, RTT_DEPTH, RTT_DISPLAY, RTT_KIND } from '../runtime/layout.js';
import { F_FUNC } from './control.js';
import { K_CONST, isXmmType } from './value-stack.js';
import { type FunctionCompiler, T_BOTTOM, typeName } from './function-compiler.js';

const STRUCT = TypeKind.Struct;
const ARRAY = TypeKind.Array;

// ---------------------------------------------------------------------------------------------------
// Out-of-line allocation slow paths (emitted after the function's code, before its trap sites)

/** Per function compiler: the allocation sites' slow paths, as parallel number arrays (no object per site). */
export class GcSlowPaths {
  private slow: number[] = [];
  private done: number[] = [];
  private obj: number[] = [];
  /** A register holding the size, or -1 - size for a constant size. */
  private size: number[] = [];
  private offset: number[] = [];
  /** The site's stack map (StackMapRecorder site index, -1: none), whose return address flush sets. */
  private map: number[] = [];
  private count = 0;

  reset(): void {
    this.count = 0;
  }

  add(slow: number, done: number, obj: number, size: number, wasmOffset: number, map: number): void {
    const k = this.count++;
    this.map[k] = map;
    this.slow[k] = slow;
    this.done[k] = done;
    this.obj[k] = obj;
    this.size[k] = size;
    this.offset[k] = wasmOffset;
  }

  /** Emit every slow path: GcAlloc(size) -> obj, then back (a full heap traps). */
  flush(c: FunctionCompiler): void {
    const a = c.asm;
    const saved = c.opOffset;
    for (let k = 0; k < this.count; k++) {
      c.opOffset = this.offset[k];
      a.bind(this.slow[k]);
      a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
      const size = this.size[k];
      if (size >= 0) a.store(8, size, R11, -1, 1, EXEC_ARGS);
      else a.storeImm(8, -1 - size, R11, -1, 1, EXEC_ARGS);
      a.movRR(true, 7 /* rdi */, R14);
      a.movImm32(6 /* rsi */, Builtin.GcAlloc);
      a.callMem(R14, VMCTX_HOSTCALL);
      c.recordPc();
      c.maps.setPc(this.map[k], a.offset);
      a.test(false, RAX, RAX);
      a.jcc(Cond.NE, c.trapLabel(TrapCode.None));
      a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
      a.load(LoadKind.I64, this.obj[k], R11, -1, 1, EXEC_ARGS);
      a.jmp(this.done[k]);
    }
    c.opOffset = saved;
    this.count = 0;
  }
}

/**
 * Allocate an object of `size` bytes (a register, or -1 - size for a constant) into register `obj`. Every
 * value-stack register must be spilled (the slow path calls the runtime); `obj` and a size register are the
 * only live registers. Leaves the local cache cleared.
 */
function emitAlloc(c: FunctionCompiler, obj: number, size: number): void {
  const a = c.asm;
  const slow = a.newLabel();
  const done = a.newLabel();
  a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
  a.load(LoadKind.I64, obj, R11, -1, 1, EXEC_GC_TOP);
  if (size >= 0) a.alu(AluOp.ADD, true, obj, size);
  else a.aluImm(AluOp.ADD, true, obj, -1 - size);
  a.aluLoad(AluOp.CMP, true, obj, R11, -1, 1, EXEC_GC_LIMIT);
  a.jcc(Cond.A, slow);
  a.store(8, obj, R11, -1, 1, EXEC_GC_TOP);
  if (size >= 0) a.alu(AluOp.SUB, true, obj, size);
  else a.aluImm(AluOp.SUB, true, obj, -1 - size);
  a.bind(done);
  // The operands are still on the value stack (in their slots): the map describes the frame at the slow call.
  c.gcSlow.add(slow, done, obj, size, c.opOffset, c.maps.record(c.vs, -1));
  c.vs.clearLocalCache();
}

/** Store the RTT of type index t into the header of the object in `obj`. */
function storeHeader(c: FunctionCompiler, obj: number, t: number): void {
  c.asm.load(LoadKind.I64, R11, R14, -1, 1, c.m.layout.rtt(t));
  c.asm.store(8, R11, obj, -1, 1, 0);
}

// ---------------------------------------------------------------------------------------------------
// Immediates and operand checks

function readTypeIndex(c: FunctionCompiler, kind: number): number {
  const at = c.r.pos;
  const t = c.r.u32();
  const types = c.m.info.types;
  if (t >= types.length) c.error(`unknown type ${t}`, at);
  if ((types[t].kind ?? 0) !== kind) c.error(`type mismatch: type ${t} is not ${kind === STRUCT ? 'a struct' : 'an array'} type`, at);
  return t;
}

function readFieldIndex(c: FunctionCompiler, type: FuncType): number {
  const at = c.r.pos;
  const i = c.r.u32();
  if (i >= type.fields!.length) c.error(`unknown field ${i}`, at);
  return i;
}

function refOf(t: number, kind: number, nullable: boolean): number {
  return refType(concreteHeap(t, kind), nullable);
}

function readDataIndex(c: FunctionCompiler): number {
  const at = c.r.pos;
  const d = c.r.u32();
  const info = c.m.info;
  if (info.dataCount === null) c.error('data count section required', at);
  if (d >= info.datas.count) c.error(`unknown data segment ${d}`, at);
  return d;
}

function readElemIndex(c: FunctionCompiler): number {
  const at = c.r.pos;
  const e = c.r.u32();
  if (e >= c.m.info.elems.length) c.error(`unknown elem segment ${e}`, at);
  return e;
}

/** Null check of an object reference in `r` (skipped for a non-null type). */
function nullCheck(c: FunctionCompiler, r: number, t: number): void {
  if (t & REF_NON_NULL) return;
  c.asm.test(true, r, r);
  c.asm.jcc(Cond.E, c.trapLabel(TrapCode.NullGcReference));
}

/** Load a field of storage type st at [base + index*scale + disp] into dst (GPR or XMM). */
function loadField(c: FunctionCompiler, st: number, signed: boolean, dst: number, base: number, index: number, scale: number, disp: number): void {
  const a = c.asm;
  switch (st) {
    case 0x78: a.load(signed ? LoadKind.S8_32 : LoadKind.U8, dst, base, index, scale, disp); break;
    case 0x77: a.load(signed ? LoadKind.S16_32 : LoadKind.U16, dst, base, index, scale, disp); break;
    case ValType.I32: a.load(LoadKind.U32, dst, base, index, scale, disp); break;
    case ValType.F32: a.movssLoad(dst, base, index, scale, disp); break;
    case ValType.F64: a.movsdLoad(dst, base, index, scale, disp); break;
    case ValType.V128: a.movdquLoad(dst, base, index, scale, disp); break;
    default: a.load(LoadKind.I64, dst, base, index, scale, disp); break;
  }
}

/** Store register src (of the field's value type) as storage type st at [base + index*scale + disp]. */
function storeField(c: FunctionCompiler, st: number, src: number, base: number, index: number, scale: number, disp: number): void {
  const a = c.asm;
  switch (st) {
    case 0x78: a.store(1, src, base, index, scale, disp); break;
    case 0x77: a.store(2, src, base, index, scale, disp); break;
    case ValType.I32: a.store(4, src, base, index, scale, disp); break;
    case ValType.F32: a.movssStore(src, base, index, scale, disp); break;
    case ValType.F64: a.movsdStore(src, base, index, scale, disp); break;
    case ValType.V128: a.movdquStore(src, base, index, scale, disp); break;
    default: a.store(8, src, base, index, scale, disp); break;
  }
}

/** Store value-stack entry i into a field of storage type st at [obj + disp] (scratch registers only). */
function storeEntryField(c: FunctionCompiler, i: number, st: number, obj: number, disp: number): void {
  if (isPacked(st)) {
    c.vs.loadEntry(i, R11);
    c.asm.store(st === 0x78 ? 1 : 2, R11, obj, -1, 1, disp);
  } else c.vs.storeEntryTo(i, obj, disp);
}

/** Scale and extra shift of an element size for an indexed address (16: shift the index by 4 first). */
function elemScale(size: number): number {
  return size > 8 ? 1 : size;
}

// ---------------------------------------------------------------------------------------------------
// The 0xfb operators

export function emitGc(c: FunctionCompiler, sub: number): void {
  switch (sub) {
    case 0: structNew(c, false); return;
    case 1: structNew(c, true); return;
    case 2: structGet(c, 0); return;
    case 3: structGet(c, 1); return;
    case 4: structGet(c, 2); return;
    case 5: structSet(c); return;
    case 6: arrayNew(c, false); return;
    case 7: arrayNew(c, true); return;
    case 8: arrayNewFixed(c); return;
    case 9: arrayNewSegment(c, true); return;
    case 10: arrayNewSegment(c, false); return;
    case 11: arrayGet(c, 0); return;
    case 12: arrayGet(c, 1); return;
    case 13: arrayGet(c, 2); return;
    case 14: arraySet(c); return;
    case 15: arrayLen(c); return;
    case 16: arrayFill(c); return;
    case 17: arrayCopy(c); return;
    case 18: arrayInitSegment(c, true); return;
    case 19: arrayInitSegment(c, false); return;
    case 20: refTest(c, false); return;
    case 21: refTest(c, true); return;
    case 22: refCast(c, false); return;
    case 23: refCast(c, true); return;
    case 24: brOnCast(c, false); return;
    case 25: brOnCast(c, true); return;
    case 26: convert(c, Heap.Extern, Heap.Any); return;
    case 27: convert(c, Heap.Any, Heap.Extern); return;
    case 28: refI31(c); return;
    case 29: i31Get(c, true); return;
    case 30: i31Get(c, false); return;
  }
  c.error(`illegal opcode 0xfb ${sub}`);
}

// ---- structs

function structNew(c: FunctionCompiler, isDefault: boolean): void {
  const t = readTypeIndex(c, STRUCT);
  const type = c.m.info.types[t];
  const fields = type.fields!;
  const n = isDefault ? 0 : fields.length;
  if (isDefault) {
    for (let k = 0; k < fields.length; k++) if (isRefType(fields[k].type) && (fields[k].type & REF_NON_NULL)) c.error(`type mismatch: field ${k} of type ${t} is not defaultable`);
  }
  for (let k = 0; k < n; k++) c.need(unpackedType(fields[n - 1 - k].type), k);
  const result = refOf(t, STRUCT, false);
  const vs = c.vs;
  if (c.dead) {
    c.discard(n);
    vs.pushDead(result);
    return;
  }
  const { offsets, size } = structLayout(type);
  vs.spillRegs();
  const obj = vs.allocGpr();
  emitAlloc(c, obj, -1 - size);
  storeHeader(c, obj, t);
  const first = vs.height - n;
  for (let k = 0; k < n; k++) storeEntryField(c, first + k, fields[k].type, obj, offsets[k]);
  for (let k = 0; k < n; k++) vs.drop();
  vs.pushReg(result, obj);
}

/** struct.get (mode 0), get_s (1), get_u (2). */
function structGet(c: FunctionCompiler, mode: number): void {
  const t = readTypeIndex(c, STRUCT);
  const type = c.m.info.types[t];
  const i = readFieldIndex(c, type);
  const st = type.fields![i].type;
  if (isPacked(st) !== (mode !== 0)) c.error(mode === 0 ? 'type mismatch: packed field needs struct.get_s or struct.get_u' : 'type mismatch: struct.get_s/get_u need a packed field');
  c.need1(refOf(t, STRUCT, true));
  const rt = unpackedType(st);
  const vs = c.vs;
  if (c.dead) {
    c.discard(1);
    vs.pushDead(rt);
    return;
  }
  const srcT = vs.type[vs.height - 1];
  const obj = vs.popToReg();
  nullCheck(c, obj, srcT);
  const off = structLayout(type).offsets[i];
  if (isXmmType(rt)) {
    const x = vs.allocFor(rt);
    loadField(c, st, false, x, obj, -1, 1, off);
    vs.freeGpr(obj);
    vs.pushReg(rt, x);
  } else {
    loadField(c, st, mode === 1, obj, obj, -1, 1, off);
    vs.pushReg(rt, obj);
  }
}

function structSet(c: FunctionCompiler): void {
  const t = readTypeIndex(c, STRUCT);
  const type = c.m.info.types[t];
  const i = readFieldIndex(c, type);
  const f = type.fields![i];
  if (!f.mutable) c.error(`field ${i} of type ${t} is immutable`);
  c.need(unpackedType(f.type), 0);
  c.need(refOf(t, STRUCT, true), 1);
  const vs = c.vs;
  if (c.dead) {
    c.discard(2);
    return;
  }
  const srcT = vs.type[vs.height - 2];
  const v = vs.popToReg();
  const obj = vs.popToReg();
  nullCheck(c, obj, srcT);
  storeField(c, f.type, v, obj, -1, 1, structLayout(type).offsets[i]);
  vs.freeFor(unpackedType(f.type), v);
  vs.freeGpr(obj);
}

// ---- arrays

function elemOf(c: FunctionCompiler, t: number): { type: number; mutable: boolean } {
  return c.m.info.types[t].fields![0];
}

/** size = ARRAY_DATA + len * esize rounded up to 8, into `size` (len: a zero-extended u32 register). */
function emitArraySize(c: FunctionCompiler, size: number, len: number, esize: number): void {
  const a = c.asm;
  a.movRR(true, size, len);
  if (esize > 1) a.shiftImm(ShiftOp.SHL, true, size, Math.log2(esize));
  if (esize >= 8) a.aluImm(AluOp.ADD, true, size, ARRAY_DATA);
  else {
    a.aluImm(AluOp.ADD, true, size, ARRAY_DATA + 7);
    a.aluImm(AluOp.AND, true, size, -8);
  }
}

/** Fill `count` (a register, clobbered) elements from address `p` (clobbered) with register v. */
function emitFillLoop(c: FunctionCompiler, st: number, v: number, p: number, count: number): void {
  const a = c.asm;
  const done = a.newLabel();
  const loop = a.newLabel();
  a.test(true, count, count);
  a.jcc(Cond.E, done);
  a.bind(loop);
  storeField(c, st, v, p, -1, 1, 0);
  a.aluImm(AluOp.ADD, true, p, storageSize(st));
  a.aluImm(AluOp.SUB, true, count, 1);
  a.jcc(Cond.NE, loop);
  a.bind(done);
}

function arrayNew(c: FunctionCompiler, isDefault: boolean): void {
  const t = readTypeIndex(c, ARRAY);
  const elem = elemOf(c, t);
  const vt = unpackedType(elem.type);
  if (isDefault && isRefType(vt) && (vt & REF_NON_NULL)) c.error(`type mismatch: array type ${t} is not defaultable`);
  c.need(ValType.I32, 0);
  if (!isDefault) c.need(vt, 1);
  const n = isDefault ? 1 : 2;
  const result = refOf(t, ARRAY, false);
  const vs = c.vs;
  if (c.dead) {
    c.discard(n);
    vs.pushDead(result);
    return;
  }
  const a = c.asm;
  const esize = storageSize(elem.type);
  vs.spillRegs();
  const lenAt = vs.height - 1;
  const len = vs.allocGpr();
  const size = vs.allocGpr();
  vs.loadEntry(lenAt, len);
  c.asm.aluImm(AluOp.CMP, false, len, maxArrayLength(esize));
  c.asm.jcc(Cond.A, c.trapLabel(TrapCode.ArrayTooLarge));
  emitArraySize(c, size, len, esize);
  const obj = vs.allocGpr();
  emitAlloc(c, obj, size);
  storeHeader(c, obj, t);
  vs.loadEntry(lenAt, len); // the slow path may have clobbered it
  a.store(4, len, obj, -1, 1, ARRAY_LENGTH);
  if (!isDefault) {
    const valAt = vs.height - 2;
    const zero = vs.kind[valAt] === K_CONST && vt !== ValType.V128 && vs.lo[valAt] === 0 && vs.hi[valAt] === 0;
    if (!zero) {
      const v = vs.allocFor(vt);
      vs.loadEntry(valAt, v);
      a.lea(true, size, obj, -1, 1, ARRAY_DATA);
      emitFillLoop(c, elem.type, v, size, len);
      vs.freeFor(vt, v);
    }
  }
  vs.freeGpr(len);
  vs.freeGpr(size);
  for (let k = 0; k < n; k++) vs.drop();
  vs.pushReg(result, obj);
}

function arrayNewFixed(c: FunctionCompiler): void {
  const t = readTypeIndex(c, ARRAY);
  const at = c.r.pos;
  const n = c.r.u32();
  if (n > 10000) c.error(`array.new_fixed of ${n} elements, more than the limit of 10000`, at);
  const elem = elemOf(c, t);
  const vt = unpackedType(elem.type);
  for (let k = 0; k < n; k++) c.need(vt, k);
  const result = refOf(t, ARRAY, false);
  const vs = c.vs;
  if (c.dead) {
    c.discard(n);
    vs.pushDead(result);
    return;
  }
  const esize = storageSize(elem.type);
  vs.spillRegs();
  const obj = vs.allocGpr();
  emitAlloc(c, obj, -1 - ((ARRAY_DATA + n * esize + 7) & ~7));
  storeHeader(c, obj, t);
  c.asm.storeImm(4, n, obj, -1, 1, ARRAY_LENGTH);
  const first = vs.height - n;
  for (let k = 0; k < n; k++) storeEntryField(c, first + k, elem.type, obj, ARRAY_DATA + k * esize);
  for (let k = 0; k < n; k++) vs.drop();
  vs.pushReg(result, obj);
}

/**
 * Bounds check of the element index in `idx` (a u32) against the array in `arr`, then the element's address
 * parts: returns the scale (the index register is shifted for 16-byte elements).
 */
function indexElement(c: FunctionCompiler, arr: number, idx: number, esize: number): number {
  const a = c.asm;
  a.aluLoad(AluOp.CMP, false, idx, arr, -1, 1, ARRAY_LENGTH);
  a.jcc(Cond.AE, c.trapLabel(TrapCode.ArrayOutOfBounds));
  if (esize === 16) a.shiftImm(ShiftOp.SHL, true, idx, 4);
  return elemScale(esize);
}

/** array.get (mode 0), get_s (1), get_u (2). */
function arrayGet(c: FunctionCompiler, mode: number): void {
  const t = readTypeIndex(c, ARRAY);
  const st = elemOf(c, t).type;
  if (isPacked(st) !== (mode !== 0)) c.error(mode === 0 ? 'type mismatch: packed array needs array.get_s or array.get_u' : 'type mismatch: array.get_s/get_u need a packed array');
  c.need(ValType.I32, 0);
  c.need(refOf(t, ARRAY, true), 1);
  const rt = unpackedType(st);
  const vs = c.vs;
  if (c.dead) {
    c.discard(2);
    vs.pushDead(rt);
    return;
  }
  const srcT = vs.type[vs.height - 2];
  const idx = vs.popToReg();
  const arr = vs.popToReg();
  nullCheck(c, arr, srcT);
  const scale = indexElement(c, arr, idx, storageSize(st));
  if (isXmmType(rt)) {
    const x = vs.allocFor(rt);
    loadField(c, st, false, x, arr, idx, scale, ARRAY_DATA);
    vs.freeGpr(arr);
    vs.freeGpr(idx);
    vs.pushReg(rt, x);
  } else {
    loadField(c, st, mode === 1, arr, arr, idx, scale, ARRAY_DATA);
    vs.freeGpr(idx);
    vs.pushReg(rt, arr);
  }
}

function arraySet(c: FunctionCompiler): void {
  const t = readTypeIndex(c, ARRAY);
  const elem = elemOf(c, t);
  if (!elem.mutable) c.error(`array type ${t} is immutable`);
  const vt = unpackedType(elem.type);
  c.need(vt, 0);
  c.need(ValType.I32, 1);
  c.need(refOf(t, ARRAY, true), 2);
  const vs = c.vs;
  if (c.dead) {
    c.discard(3);
    return;
  }
  const srcT = vs.type[vs.height - 3];
  const v = vs.popToReg();
  const idx = vs.popToReg();
  const arr = vs.popToReg();
  nullCheck(c, arr, srcT);
  const scale = indexElement(c, arr, idx, storageSize(elem.type));
  storeField(c, elem.type, v, arr, idx, scale, ARRAY_DATA);
  vs.freeFor(vt, v);
  vs.freeGpr(idx);
  vs.freeGpr(arr);
}

function arrayLen(c: FunctionCompiler): void {
  c.need1(Heap.Array);
  const vs = c.vs;
  if (c.dead) {
    c.discard(1);
    vs.pushDead(ValType.I32);
    return;
  }
  const srcT = vs.type[vs.height - 1];
  const arr = vs.popToReg();
  nullCheck(c, arr, srcT);
  c.asm.load(LoadKind.U32, arr, arr, -1, 1, ARRAY_LENGTH);
  vs.pushReg(ValType.I32, arr);
}

/** Trap unless offset + count (u32 registers) <= the array's length; clobbers r11. */
function rangeCheck(c: FunctionCompiler, arr: number, offset: number, count: number): void {
  const a = c.asm;
  a.movRR(false, R11, offset);
  a.alu(AluOp.ADD, true, R11, count);
  // the length is a u32 followed by 4 zero bytes: a 64-bit compare
  a.aluLoad(AluOp.CMP, true, R11, arr, -1, 1, ARRAY_LENGTH);
  a.jcc(Cond.A, c.trapLabel(TrapCode.ArrayOutOfBounds));
}

function arrayFill(c: FunctionCompiler): void {
  const t = readTypeIndex(c, ARRAY);
  const elem = elemOf(c, t);
  if (!elem.mutable) c.error(`array type ${t} is immutable`);
  const vt = unpackedType(elem.type);
  c.need(ValType.I32, 0);
  c.need(vt, 1);
  c.need(ValType.I32, 2);
  c.need(refOf(t, ARRAY, true), 3);
  const vs = c.vs;
  if (c.dead) {
    c.discard(4);
    return;
  }
  const srcT = vs.type[vs.height - 4];
  const n = vs.popToReg();
  const v = vs.popToReg();
  const off = vs.popToReg();
  const arr = vs.popToReg();
  nullCheck(c, arr, srcT);
  rangeCheck(c, arr, off, n);
  const esize = storageSize(elem.type);
  if (esize === 16) c.asm.shiftImm(ShiftOp.SHL, true, off, 4);
  c.asm.lea(true, arr, arr, off, elemScale(esize), ARRAY_DATA);
  emitFillLoop(c, elem.type, v, arr, n);
  vs.freeGpr(n);
  vs.freeFor(vt, v);
  vs.freeGpr(off);
  vs.freeGpr(arr);
}

function arrayCopy(c: FunctionCompiler): void {
  const td = readTypeIndex(c, ARRAY);
  const ts = readTypeIndex(c, ARRAY);
  const de = elemOf(c, td), se = elemOf(c, ts);
  if (!de.mutable) c.error(`array type ${td} is immutable`);
  if (!(isPacked(de.type) || isPacked(se.type) ? de.type === se.type : isSubtype(se.type, de.type, c.m.info.types))) {
    c.error('type mismatch: array.copy element types');
  }
  c.need(ValType.I32, 0);
  c.need(ValType.I32, 1);
  c.need(refOf(ts, ARRAY, true), 2);
  c.need(ValType.I32, 3);
  c.need(refOf(td, ARRAY, true), 4);
  if (c.dead) {
    c.discard(5);
    return;
  }
  c.storeImmArg(5, storageSize(de.type));
  c.emitBuiltinCall(Builtin.ArrayCopy, 5, 0);
}

function arrayNewSegment(c: FunctionCompiler, data: boolean): void {
  const t = readTypeIndex(c, ARRAY);
  const seg = data ? readDataIndex(c) : readElemIndex(c);
  const st = elemOf(c, t).type;
  checkSegmentElem(c, st, data, seg);
  c.need(ValType.I32, 0);
  c.need(ValType.I32, 1);
  const result = refOf(t, ARRAY, false);
  if (c.dead) {
    c.discard(2);
    c.vs.pushDead(result);
    return;
  }
  c.storeImmArg(0, t);
  c.storeImmArg(1, seg);
  c.emitBuiltinCall(data ? Builtin.ArrayNewData : Builtin.ArrayNewElem, 2, 2);
  c.pushBuiltinResult(result);
}

function checkSegmentElem(c: FunctionCompiler, st: number, data: boolean, seg: number): void {
  if (data) {
    if (isRefType(st)) c.error('type mismatch: array.*_data needs an array of numbers or vectors');
  } else if (!isRefType(st) || !isSubtype(c.m.info.elems[seg].elemType, st, c.m.info.types)) {
    c.error('type mismatch: element segment does not match the array type');
  }
}

function arrayInitSegment(c: FunctionCompiler, data: boolean): void {
  const t = readTypeIndex(c, ARRAY);
  const seg = data ? readDataIndex(c) : readElemIndex(c);
  const elem = elemOf(c, t);
  if (!elem.mutable) c.error(`array type ${t} is immutable`);
  checkSegmentElem(c, elem.type, data, seg);
  c.need(ValType.I32, 0);
  c.need(ValType.I32, 1);
  c.need(ValType.I32, 2);
  c.need(refOf(t, ARRAY, true), 3);
  if (c.dead) {
    c.discard(4);
    return;
  }
  c.storeImmArg(0, t);
  c.storeImmArg(1, seg);
  c.emitBuiltinCall(data ? Builtin.ArrayInitData : Builtin.ArrayInitElem, 4, 2);
}

// ---- i31, ref.eq, conversions

function refI31(c: FunctionCompiler): void {
  c.need1(ValType.I32);
  const result = Heap.I31 | REF_NON_NULL;
  const vs = c.vs;
  if (c.dead) {
    c.discard(1);
    vs.pushDead(result);
    return;
  }
  const r = vs.popToReg();
  c.asm.lea(false, r, r, r, 1, 1); // (v << 1) | 1, the top bit dropped
  vs.pushReg(result, r);
}

function i31Get(c: FunctionCompiler, signed: boolean): void {
  c.need1(Heap.I31);
  const vs = c.vs;
  if (c.dead) {
    c.discard(1);
    vs.pushDead(ValType.I32);
    return;
  }
  const srcT = vs.type[vs.height - 1];
  const r = vs.popToReg();
  nullCheck(c, r, srcT);
  c.asm.shiftImm(signed ? ShiftOp.SAR : ShiftOp.SHR, false, r, 1);
  vs.pushReg(ValType.I32, r);
}

/** ref.eq (0xd3): two eqrefs, equal words (i31 values compare by value, objects by identity). */
export function opRefEq(c: FunctionCompiler): void {
  c.need2(Heap.Eq, Heap.Eq);
  const vs = c.vs;
  if (c.dead) {
    c.discard(2);
    vs.pushDead(ValType.I32);
    return;
  }
  const b = vs.popToReg();
  const x = vs.popToReg();
  const a = c.asm;
  a.alu(AluOp.CMP, true, x, b);
  vs.freeGpr(b);
  if (c.nextConsumesFlags()) {
    vs.freeGpr(x);
    c.pushFlags(Cond.E);
    return;
  }
  a.setcc(Cond.E, x);
  a.movzxRR(1, x, x);
  vs.pushReg(ValType.I32, x);
}

/** any.convert_extern / extern.convert_any: the same word, in the other hierarchy (null-ness kept). */
function convert(c: FunctionCompiler, from: number, to: number): void {
  c.need1(from);
  const vs = c.vs;
  const t = c.peekType(0);
  const out = t === T_BOTTOM ? to : to | (t & REF_NON_NULL);
  if (c.dead) {
    c.discard(1);
    vs.pushDead(out);
    return;
  }
  vs.type[vs.height - 1] = out;
}

// ---- casts

/** Whether a value of type `src` (a reference type of ht's hierarchy) may be no GC object (i31, host value). */
function mayBeNonObject(src: number): boolean {
  const h = src & ~REF_NON_NULL;
  if (h & REF_CONCRETE) return false;
  return !(h === Heap.Struct || h === Heap.Array || h === Heap.None);
}

/** A cast to a concrete function type with subtypes asks the runtime on a signature mismatch. */
function needsSubtypeQuery(c: FunctionCompiler, ht: number): boolean {
  if (!(ht & REF_CONCRETE) || (ht & KIND_MASK) !== 0) return false;
  return !(c.m.info.types[ht >>> CONCRETE_SHIFT].final ?? true);
}

/**
 * Emit the test "the reference in r (of static type src) is a (ref null? ht)": falls through when it is,
 * jumps to `fail` when not. Clobbers r11 (and, for needsSubtypeQuery, every register but r = rax).
 */
function emitTypeTest(c: FunctionCompiler, r: number, src: number, ht: number, nullOk: boolean, fail: number): void {
  const a = c.asm;
  const ok = a.newLabel();
  if (!(src & REF_NON_NULL)) {
    a.test(true, r, r);
    a.jcc(Cond.E, nullOk ? ok : fail);
  }
  if (isSubtype(src | REF_NON_NULL, refType(ht, false), c.m.info.types)) {
    a.bind(ok);
    return;
  }
  if (ht & REF_CONCRETE) {
    const t = ht >>> CONCRETE_SHIFT;
    const type = c.m.info.types[t];
    if ((ht & KIND_MASK) === 0) {
      a.load(LoadKind.U32, R11, R14, -1, 1, c.m.layout.sig(t));
      a.aluStore(AluOp.CMP, false, r, -1, 1, 16, R11);
      if (type.final ?? true) a.jcc(Cond.NE, fail);
      else {
        a.jcc(Cond.E, ok);
        c.emitSubtypeQuery(r, 16, R11);
        c.vs.clearLocalCache();
        a.jcc(Cond.E, fail);
      }
    } else {
      if (mayBeNonObject(src)) {
        a.testImm(false, r, 3);
        a.jcc(Cond.NE, fail);
      }
      a.load(LoadKind.I64, R11, r, -1, 1, 0);
      a.aluLoad(AluOp.CMP, true, R11, R14, -1, 1, c.m.layout.rtt(t));
      if (type.final ?? true) a.jcc(Cond.NE, fail);
      else {
        const depth = type.depth ?? 0;
        a.jcc(Cond.E, ok);
        a.aluMemImm(AluOp.CMP, false, R11, -1, 1, RTT_DEPTH, depth);
        a.jcc(Cond.B, fail);
        a.load(LoadKind.I64, R11, R11, -1, 1, RTT_DISPLAY + 8 * depth);
        a.aluLoad(AluOp.CMP, true, R11, R14, -1, 1, c.m.layout.rtt(t));
        a.jcc(Cond.NE, fail);
      }
    }
    a.bind(ok);
    return;
  }
  switch (ht) {
    case Heap.Eq:
      a.testImm(false, r, 1);
      a.jcc(Cond.NE, ok);
      a.testImm(false, r, 2);
      a.jcc(Cond.NE, fail);
      break;
    case Heap.I31:
      a.testImm(false, r, 1);
      a.jcc(Cond.E, fail);
      break;
    case Heap.Struct:
    case Heap.Array:
      if (mayBeNonObject(src)) {
        a.testImm(false, r, 3);
        a.jcc(Cond.NE, fail);
      }
      a.load(LoadKind.I64, R11, r, -1, 1, 0);
      a.aluMemImm(AluOp.CMP, false, R11, -1, 1, RTT_KIND, ht === Heap.Struct ? STRUCT : ARRAY);
      a.jcc(Cond.NE, fail);
      break;
    case Heap.None:
    case Heap.NoFunc:
    case Heap.NoExtern:
    case Heap.NoExn:
      a.jmp(fail);
      break;
    default: // any, func, extern, exn: every non-null value of the hierarchy
      break;
  }
  a.bind(ok);
}

/** The operand of a cast to ht: a reference of ht's hierarchy; returns its type (T_BOTTOM when unreachable). */
function castOperand(c: FunctionCompiler, ht: number): number {
  const t = c.peekType(0);
  if (t === T_BOTTOM) return t;
  if (!isRefType(t) || topHeap(t & ~REF_NON_NULL) !== topHeap(ht)) c.error(`type mismatch: cast of ${typeName(t)} to another hierarchy`);
  return t;
}

/** Pop the cast operand into a register (rax and everything spilled when the test may call the runtime). */
function popCastOperand(c: FunctionCompiler, ht: number): number {
  const vs = c.vs;
  if (!needsSubtypeQuery(c, ht)) return vs.popToReg();
  vs.spillRegs();
  return vs.popToGpr(RAX);
}

function refTest(c: FunctionCompiler, nullable: boolean): void {
  const ht = readHeapType(c.r, c.m.features, c.m.info.types);
  const src = castOperand(c, ht);
  const vs = c.vs;
  if (c.dead) {
    c.discard(1);
    vs.pushDead(ValType.I32);
    return;
  }
  const a = c.asm;
  const r = popCastOperand(c, ht);
  const fail = a.newLabel();
  const done = a.newLabel();
  emitTypeTest(c, r, src, ht, nullable, fail);
  a.movImm32(r, 1);
  a.jmp(done);
  a.bind(fail);
  a.movImm32(r, 0);
  a.bind(done);
  vs.pushReg(ValType.I32, r);
}

function refCast(c: FunctionCompiler, nullable: boolean): void {
  const ht = readHeapType(c.r, c.m.features, c.m.info.types);
  const src = castOperand(c, ht);
  const out = refType(ht, nullable);
  const vs = c.vs;
  if (c.dead) {
    c.discard(1);
    vs.pushDead(out);
    return;
  }
  const r = popCastOperand(c, ht);
  emitTypeTest(c, r, src, ht, nullable, c.trapLabel(TrapCode.IllegalCast));
  vs.pushReg(out, r);
}

/** br_on_cast (fail = false) / br_on_cast_fail. */
function brOnCast(c: FunctionCompiler, onFail: boolean): void {
  const r = c.r;
  const fpos = r.pos;
  const flags = r.u8();
  if (flags > 3) c.error('malformed br_on_cast flags', fpos);
  const d = c.readDepth();
  const features = c.m.features, types = c.m.info.types;
  const rt1 = refType(readHeapType(r, features, types), (flags & 1) !== 0);
  const rt2 = refType(readHeapType(r, features, types), (flags & 2) !== 0);
  if (!isSubtype(rt2, rt1, types)) c.error('type mismatch: br_on_cast target type is not a subtype of the source type');
  c.need1(rt1);
  // the type that takes the branch, and the one that continues
  const diff = rt2 & REF_NON_NULL ? rt1 : rt1 | REF_NON_NULL; // rt1 minus rt2's null-ness
  const branchT = onFail ? diff : rt2;
  const nextT = onFail ? rt2 : diff;
  const target = c.ctl.at(d);
  const ltypes = target.branchTypes();
  const n = ltypes.length;
  if (n === 0 || !isSubtype(branchT, ltypes[n - 1], types)) c.error('type mismatch: br_on_cast label does not take the branch type');
  for (let k = 0; k < n - 1; k++) c.need(ltypes[n - 2 - k], k + 1);
  const vs = c.vs;
  if (c.dead) {
    c.discard(n);
    for (let k = 0; k < n - 1; k++) vs.pushDead(ltypes[k]);
    vs.pushDead(nextT);
    return;
  }
  const src = vs.type[vs.height - 1];
  const a = c.asm;
  const ht = rt2 & ~REF_NON_NULL;
  const query = needsSubtypeQuery(c, ht);
  if (query) vs.spillRegs();
  // The carried values go to their canonical slots first (both paths), retyped to the label's (as br_if).
  for (let i = vs.height - n, k = 0; i < vs.height; i++, k++) {
    vs.spill(i);
    if (k < n - 1) vs.type[i] = ltypes[k];
  }
  let g: number;
  if (query) {
    vs.claimGpr(RAX);
    g = RAX;
  } else g = vs.allocGpr();
  vs.loadEntry(vs.height - 1, g);
  const miss = a.newLabel();
  emitTypeTest(c, g, src, ht, (rt2 & REF_NON_NULL) === 0, miss);
  vs.freeGpr(g);
  if (onFail) {
    const cont = a.newLabel();
    a.jmp(cont);
    a.bind(miss);
    branchTo(c, d);
    a.bind(cont);
  } else {
    branchTo(c, d);
    a.bind(miss);
  }
  vs.type[vs.height - 1] = nextT;
}

/** An unconditional branch to relative depth d (the carried values are in their canonical slots). */
function branchTo(c: FunctionCompiler, d: number): void {
  const target = c.ctl.at(d);
  if (target.kind === F_FUNC) {
    c.emitReturn();
    return;
  }
  target.branchedTo = true;
  c.emitBranchMoves(target);
  c.asm.jmp(target.label);
}

