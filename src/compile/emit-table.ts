// Table operators: table.get/set/size inline (with bounds checks), the rest through runtime builtins.

import { isSubtype } from '../decode/ref-types.js';
import { AluOp, Cond, LoadKind, R11, R14 } from '../x64/registers.js';
import { ValType } from '../decode/types.js';
import { TrapCode, Builtin, TABLEDESC_ELEMENTS, TABLEDESC_LENGTH } from './abi.js';
import type { FunctionCompiler } from './function-compiler.js';

const I32 = ValType.I32, I64 = ValType.I64;

function readTableIndex(c: FunctionCompiler): number {
  const at = c.r.pos;
  const t = c.r.u32();
  if (t >= c.m.info.tables.length) c.error(`unknown table ${t}`, at);
  return t;
}

function readElemIndex(c: FunctionCompiler): number {
  const at = c.r.pos;
  const e = c.r.u32();
  if (e >= c.m.info.elems.length) c.error(`unknown elem segment ${e}`, at);
  return e;
}

function indexType(c: FunctionCompiler, table: number): number {
  return c.m.info.tables[table].index64 ? I64 : I32;
}

/** Pop the index, check it against the table length; leaves r11 = elements pointer, returns the index register. */
function emitTableIndex(c: FunctionCompiler, table: number): number {
  const vs = c.vs, a = c.asm;
  const idx = vs.popToReg();
  if (!c.m.info.tables[table].index64) a.movRR(false, idx, idx);
  a.load(LoadKind.I64, R11, R14, -1, 1, c.m.layout.table(table));
  a.aluLoad(AluOp.CMP, true, idx, R11, -1, 1, TABLEDESC_LENGTH);
  a.jcc(Cond.AE, c.trapLabel(TrapCode.TableOutOfBounds));
  a.load(LoadKind.I64, R11, R11, -1, 1, TABLEDESC_ELEMENTS);
  return idx;
}

export function emitTableGet(c: FunctionCompiler): void {
  const t = readTableIndex(c);
  const et = c.m.info.tables[t].elemType;
  c.need1(indexType(c, t));
  if (c.dead) {
    c.discard(1);
    c.vs.pushDead(et);
    return;
  }
  const idx = emitTableIndex(c, t);
  c.asm.load(LoadKind.I64, idx, R11, idx, 8, 0);
  c.vs.pushReg(et, idx);
}

export function emitTableSet(c: FunctionCompiler): void {
  const t = readTableIndex(c);
  const et = c.m.info.tables[t].elemType;
  c.need2(indexType(c, t), et);
  if (c.dead) return c.discard(2);
  const vs = c.vs;
  const v = vs.popToReg();
  const idx = emitTableIndex(c, t);
  c.asm.store(8, v, R11, idx, 8, 0);
  vs.freeGpr(v);
  vs.freeGpr(idx);
}

/** 0xfc 12..17: table.init, elem.drop, table.copy, table.grow, table.size, table.fill. */
export function emitTableOp(c: FunctionCompiler, sub: number): void {
  const info = c.m.info;
  const vs = c.vs;
  switch (sub) {
    case 12: { // table.init seg table
      const seg = readElemIndex(c);
      const t = readTableIndex(c);
      if (!isSubtype(info.elems[seg].elemType, info.tables[t].elemType, info.types)) c.error('type mismatch: table.init segment type');
      c.need3(indexType(c, t), I32, I32);
      if (c.dead) return c.discard(3);
      c.storeImmArg(0, seg);
      c.storeImmArg(1, t);
      c.emitBuiltinCall(Builtin.TableInit, 3, 2);
      return;
    }
    case 13: { // elem.drop seg
      const seg = readElemIndex(c);
      if (c.dead) return;
      c.storeImmArg(0, seg);
      c.emitBuiltinCall(Builtin.ElemDrop, 0, 1);
      return;
    }
    case 14: { // table.copy dst src
      const dst = readTableIndex(c);
      const src = readTableIndex(c);
      if (!isSubtype(info.tables[src].elemType, info.tables[dst].elemType, info.types)) c.error('type mismatch: table.copy element types');
      const td = indexType(c, dst), ts = indexType(c, src);
      c.need3(td, ts, td === I64 && ts === I64 ? I64 : I32);
      if (c.dead) return c.discard(3);
      c.storeImmArg(0, dst);
      c.storeImmArg(1, src);
      c.emitBuiltinCall(Builtin.TableCopy, 3, 2);
      return;
    }
    case 15: { // table.grow table
      const t = readTableIndex(c);
      const it = indexType(c, t);
      c.need2(info.tables[t].elemType, it);
      if (c.dead) {
        c.discard(2);
        vs.pushDead(it);
        return;
      }
      c.storeImmArg(0, t);
      c.emitBuiltinCall(Builtin.TableGrow, 2, 1);
      c.pushBuiltinResult(it);
      return;
    }
    case 16: { // table.size table
      const t = readTableIndex(c);
      const it = indexType(c, t);
      if (c.dead) {
        vs.pushDead(it);
        return;
      }
      const r = vs.allocGpr();
      c.asm.load(LoadKind.I64, r, R14, -1, 1, c.m.layout.table(t));
      c.asm.load(it === I64 ? LoadKind.I64 : LoadKind.U32, r, r, -1, 1, TABLEDESC_LENGTH);
      vs.pushReg(it, r);
      return;
    }
    case 17: { // table.fill table
      const t = readTableIndex(c);
      const it = indexType(c, t);
      c.need3(it, info.tables[t].elemType, it);
      if (c.dead) return c.discard(3);
      c.storeImmArg(0, t);
      c.emitBuiltinCall(Builtin.TableFill, 3, 1);
      return;
    }
  }
}
