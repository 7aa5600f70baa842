// Reference operators: ref.null, ref.is_null, ref.func, and typed function references (ref.as_non_null,
// br_on_null, br_on_non_null, call_ref). A reference is one 64-bit word in a GPR or slot, 0 for null (a
// funcref is its FuncRecord's address, an externref or exnref a handle id), so null tests are `test r, r`.

import { Cond, invertCond, LoadKind, RAX, RBP, R11, R14 } from '../x64/registers.js';
import { FuncType, ValType } from '../decode/types.js';
import { REF_NON_NULL, concreteHeap, isRefType, isSubtype, readHeapType, refType } from '../decode/ref-types.js';
import { FUNCREC_CODE, FUNCREC_REG_CODE, FUNCREC_VMCTX, TrapCode } from './abi.js';
import { placeCallArgs } from './reg-args.js';
import { F_FUNC } from './control.js';
import { type FunctionCompiler, T_BOTTOM, typeName } from './function-compiler.js';

/** ref.null ht: a null of (ref null ht). */
export function opRefNull(c: FunctionCompiler): void {
  const t = readHeapType(c.r, c.m.features, c.m.info.types); // (ref null ht) has the heap's number
  if (c.dead) c.vs.pushDead(t);
  else c.vs.pushConst(t, 0, 0);
}

/** The operand on top must be a reference; returns its type (T_BOTTOM in unreachable code). */
function needRef(c: FunctionCompiler): number {
  const t = c.peekType(0);
  if (t !== T_BOTTOM && !isRefType(t)) c.error(`type mismatch: expected a reference, got ${typeName(t)}`);
  return t;
}

export function opRefIsNull(c: FunctionCompiler): void {
  needRef(c);
  const vs = c.vs;
  if (c.dead) {
    c.discard(1);
    vs.pushDead(ValType.I32);
    return;
  }
  const a = c.asm;
  const r = vs.popToReg();
  a.test(true, r, r);
  a.setcc(Cond.E, r);
  a.movzxRR(1, r, r);
  vs.pushReg(ValType.I32, r);
}

/** ref.func f: (ref $t) of f's type with typed function references, else funcref. */
export function opRefFunc(c: FunctionCompiler, f: number): void {
  const info = c.m.info;
  if (!info.declaredFuncRefs.has(f)) c.error(`undeclared function reference ${f}`);
  const t = c.m.features.typedFunctionReferences ? refType(concreteHeap(info.funcTypes[f]), false) : ValType.FuncRef;
  const vs = c.vs;
  if (c.dead) {
    vs.pushDead(t);
    return;
  }
  const r = vs.allocGpr();
  c.asm.load(LoadKind.I64, r, R14, -1, 1, c.m.layout.func(f));
  vs.pushReg(t, r);
}

/** ref.as_non_null: traps on null ("dereferencing a null pointer", as V8), else the same value, non-null. */
export function opRefAsNonNull(c: FunctionCompiler): void {
  const t = needRef(c);
  const vs = c.vs;
  const out = t === T_BOTTOM ? T_BOTTOM : t | REF_NON_NULL;
  if (c.dead) {
    c.discard(1);
    vs.pushDead(out);
    return;
  }
  const r = vs.popToReg();
  c.asm.test(true, r, r);
  c.asm.jcc(Cond.E, c.trapLabel(TrapCode.NullReference));
  vs.pushReg(out, r);
}

/**
 * br_on_null l: branch to l (with the values below the reference) when the reference is null; otherwise
 * continue with it as non-null.
 */
export function opBrOnNull(c: FunctionCompiler): void {
  const d = c.readDepth();
  const target = c.ctl.at(d);
  const types = target.branchTypes();
  const t = needRef(c);
  for (let k = 0; k < types.length; k++) c.need(types[types.length - 1 - k], k + 1);
  const out = t === T_BOTTOM ? T_BOTTOM : t | REF_NON_NULL;
  const vs = c.vs;
  if (c.dead) {
    c.discard(1 + types.length);
    for (let k = 0; k < types.length; k++) vs.pushDead(types[k]);
    vs.pushDead(out);
    return;
  }
  const a = c.asm;
  const r = vs.popToReg();
  // The values the branch carries go to their canonical slots first (on both paths), retyped to the label's
  // types (as after br_if).
  for (let i = vs.height - types.length, k = 0; i < vs.height; i++, k++) {
    vs.spill(i);
    vs.type[i] = types[k];
  }
  a.test(true, r, r);
  branchIf(c, Cond.E, d);
  vs.pushReg(out, r);
}

/**
 * br_on_non_null l: branch to l carrying the values below and the reference (non-null) when it is not
 * null; otherwise drop the null and continue. l's last type must be a supertype of the non-null reference.
 */
export function opBrOnNonNull(c: FunctionCompiler): void {
  const d = c.readDepth();
  const target = c.ctl.at(d);
  const types = target.branchTypes();
  const n = types.length;
  if (n === 0) c.error('type mismatch: br_on_non_null needs a label with a reference type');
  const t = needRef(c);
  const last = types[n - 1];
  if (!isRefType(last)) c.error('type mismatch: br_on_non_null needs a label with a reference type');
  if (t !== T_BOTTOM && !isSubtype(t | REF_NON_NULL, last, c.m.info.types)) {
    c.error('type mismatch: br_on_non_null operand does not match the label');
  }
  for (let k = 0; k < n - 1; k++) c.need(types[n - 2 - k], k + 1);
  const vs = c.vs;
  if (c.dead) {
    c.discard(n);
    for (let k = 0; k < n - 1; k++) vs.pushDead(types[k]);
    return;
  }
  const a = c.asm;
  for (let i = vs.height - n, k = 0; i < vs.height; i++, k++) {
    vs.spill(i);
    if (k < n - 1) vs.type[i] = types[k]; // retyped to the label's types (as after br_if)
  }
  vs.loadEntry(vs.height - 1, R11);
  a.test(true, R11, R11);
  branchIf(c, Cond.NE, d);
  vs.drop();
}

/** Branch to relative depth `d` when `cond` holds; the carried values are in their canonical slots. */
function branchIf(c: FunctionCompiler, cond: Cond, d: number): void {
  const a = c.asm;
  const target = c.ctl.at(d);
  if (target.kind === F_FUNC) {
    const skip = a.newLabel();
    a.jcc(invertCond(cond), skip);
    c.emitReturn();
    a.bind(skip);
    return;
  }
  target.branchedTo = true;
  if (c.branchIsDirect(target)) {
    a.jcc(cond, target.label);
  } else {
    const skip = a.newLabel();
    a.jcc(invertCond(cond), skip);
    c.emitBranchMoves(target);
    a.jmp(target.label);
    a.bind(skip);
  }
}

/**
 * call_ref $t: call the function a (ref null $t) points to, with its own instance's vmctx (as call_indirect,
 * without the signature check: validation proved the type). Null traps.
 */
export function opCallRef(c: FunctionCompiler): void {
  const type = readCallRef(c);
  if (!c.callValidate(type, 1)) return;
  const a = c.asm;
  if (c.m.lazy) {
    // (lazily compiled code keeps the memory convention: see reg-args.ts)
    emitRefRecord(c, type);
    a.load(LoadKind.I64, R14, RAX, -1, 1, FUNCREC_VMCTX);
    a.callMem(RAX, FUNCREC_CODE);
  } else {
    // The reference in rax, then the arguments in their registers (reg-args.ts): the record's register entry.
    c.reserveOutgoing(type);
    c.vs.popToGpr(RAX);
    a.test(true, RAX, RAX);
    a.jcc(Cond.E, c.trapLabel(TrapCode.NullReference));
    placeCallArgs(c.vs, a, type);
    c.vs.freeGpr(RAX);
    a.load(LoadKind.I64, R14, RAX, -1, 1, FUNCREC_VMCTX);
    a.callMem(RAX, FUNCREC_REG_CODE);
  }
  c.recordPc();
  c.recordCallSite();
  c.vs.clearLocalCache();
  a.load(LoadKind.I64, R14, RBP, -1, 1, -8);
  c.reloadMemory0(true);
  c.pushCallResults(type);
}

/**
 * call_ref / return_call_ref: read and validate the type immediate and the reference operand's type
 * ((ref null $t)); returns the function type.
 */
export function readCallRef(c: FunctionCompiler): FuncType {
  const r = c.r;
  const info = c.m.info;
  const at = r.pos;
  const typeIndex = r.u32();
  if (typeIndex >= info.types.length) c.error(`unknown type ${typeIndex}`, at);
  if ((info.types[typeIndex].kind ?? 0) !== 0) c.error(`type mismatch: type ${typeIndex} is not a function type`, at);
  c.need1(refType(concreteHeap(typeIndex), true));
  return info.types[typeIndex];
}

/**
 * After readCallRef: pop the reference, place the arguments, and leave in rax the FuncRecord it points to
 * (null traps).
 */
export function emitRefRecord(c: FunctionCompiler, type: FuncType): void {
  const vs = c.vs;
  const a = c.asm;
  const ref = vs.popToReg();
  c.emitCallArgs(type);
  a.test(true, ref, ref);
  a.jcc(Cond.E, c.trapLabel(TrapCode.NullReference));
  if (ref !== RAX) a.movRR(true, RAX, ref);
  vs.freeGpr(ref);
}
