// The single-pass function compiler: decodes one function body, validates each operator and emits its
// machine code in the same step. Shared state lives in the ValueStack (where operands are) and the
// ControlStack (open blocks); operator families are emitted by the emit-*.ts modules.

import { flushFloatConsts, resetFloatConsts } from './float-consts.js';
import { Assembler } from '../x64/assembler.js';
import { AluOp, Cond, invertCond, LoadKind, RAX, RBP, RCX, RDI, RSI, RSP, R11, R13, R14, R15, XMM0, XMM15, SseOp } from '../x64/registers.js';
import { ByteReader } from '../decode/reader.js';
import { ModuleInfo, ValType, FuncType, valTypeText } from '../decode/types.js';
import { isDefaultable, isRefType, isSubtype, readValType } from '../decode/ref-types.js';
import { opBrOnNonNull, opBrOnNull, opCallRef, opRefAsNonNull, opRefFunc, opRefIsNull, opRefNull } from './emit-ref.js';
import { Features } from '../decode/features.js';
import { CompileError } from '../errors.js';
import { ValueStack, K_CONST, K_REG, K_LOCAL, K_STACK, isXmmType, loadTyped, slotSize } from './value-stack.js';
import { ControlStack, ControlFrame, F_FUNC, F_BLOCK, F_LOOP, F_IF, F_ELSE, F_TRY } from './control.js';
import { Builtin, MEMDESC_FAST_LIMIT, TrapCode, VMCTX_EXEC, VMCTX_HOSTCALL, EXEC_STACK_LIMIT, EXEC_ARGS, VMCTX_INTERRUPTS, INTERRUPT_FLAG, INTERRUPT_FUEL, VMCTX_CODE_SLOTS, FUNCREC_CODE, FUNCREC_REG_CODE, FUNCREC_VMCTX } from './abi.js';
import type { VmctxLayout } from '../runtime/layout.js';
import { emitNumeric, emitSatTrunc } from './emit-numeric.js';
import { emitLoad, emitStore, emitMemorySize, emitMemoryGrow, emitBulkMemory, emitBoundsStubs, resetBoundsStubs } from './emit-memory.js';
import { emitAtomic } from './emit-atomics.js';
import { emitTableOp, emitTableGet, emitTableSet } from './emit-table.js';
import { emitSimd, flushSimdConsts, resetSimdConsts } from './emit-simd.js';
import { ExceptionEmitter, EXNREF } from './emit-exceptions.js';
import { opReturnCall, opReturnCallIndirect, opReturnCallRef } from './emit-tail-call.js';
import { GcSlowPaths, emitGc, opRefEq } from './emit-gc.js';
import { StackMapRecorder } from './stack-maps.js';
import { moduleMayHoldGcObjects } from '../decode/gc-types.js';
import { branchLabel, carryIntoLoop, emitLoopReload, emitLoopStubs, endLoop, loopNeedsReload, resetLoopStubs } from './loop-carry.js';
import { beginMerge, captureIfEntry, enterElse, finishMerge, recordEdge, recordIfEntryEdge } from './block-merge.js';
import { loadArgRegs, placeCallArgs, storeArgRegs } from './reg-args.js';
import type { Int32List } from './int32-list.js';
import { deferrableLocals, prefixSafe, zeroLocals } from './local-zeroing.js';
import { conformFallthrough, deferrableLocal, edgeNeedsStores, emitEdgeStores, endNeedsFlush, flushUnkept, OWED_ACTION, OWED_KEEP, OWED_UNKEPT } from './deferred-stores.js';

/** Bottom type of unreachable code: matches anything. */
export const T_BOTTOM = 0;

const EMPTY: number[] = [];
const EMPTY_I32 = new Int32Array(0);
const EMPTY_U8 = new Uint8Array(0);
const SINGLE: Record<number, number[]> = {
  [ValType.I32]: [ValType.I32],
  [ValType.I64]: [ValType.I64],
  [ValType.F32]: [ValType.F32],
  [ValType.F64]: [ValType.F64],
  [ValType.V128]: [ValType.V128],
  [ValType.FuncRef]: [ValType.FuncRef],
  [ValType.ExternRef]: [ValType.ExternRef],
  [EXNREF]: [EXNREF],
};

/** The one-type result list of a block type `t` (cached: no allocation per block once seen). */
function singleType(t: number): number[] {
  let single = SINGLE_REF.get(t);
  if (!single) SINGLE_REF.set(t, (single = [t]));
  return single;
}
const SINGLE_REF = new Map<number, number[]>();

/** Per-module state shared by every function compiled into the module's code buffer. */
export interface ModuleCodegen {
  asm: Assembler;
  info: ModuleInfo;
  features: Features;
  /** False only in the explicitly unsafe trusted mode: memory accesses are not bounds-checked. */
  boundsChecks: boolean;
  /** Check the interrupt flag in every loop header and function prologue. */
  interruptible: boolean;
  /** Count fuel (one unit per loop iteration and function entry); trap when it runs out. */
  fuel: boolean;
  /**
   * Lazy compilation: functions are compiled separately on first call, so calls between defined
   * functions go through the module's code-slot table instead of direct relative calls.
   */
  lazy: boolean;
  layout: VmctxLayout;
  /** Label of each function's entry for calls through FuncRecords (imported functions: host thunks). */
  funcLabels: number[];
  /** Label of each defined function's entry for direct calls from the same instance (-1: none). */
  directLabels: number[];
  /**
   * Label of each defined function's register entry (FuncRecord's FUNCREC_REG_CODE: call_indirect, call_ref,
   * calls of imports, with the first arguments in registers), bound where there is a direct entry.
   */
  regLabels: number[];
  /** Module trap stub label per trap code (index 0: code taken from eax). */
  trapStubs: number[];
  /** Source map of the module: code offset of a return address / trap site -> wasm byte offset. */
  pcOffsets: Int32List;
  /** Direct calls to functions without a label in this buffer: (code offset of the rel32, callee) pairs. */
  callRelocs: Int32List;
  wasmOffsets: Int32List;
}

interface TrapSite {
  label: number;
  code: number;
  wasmOffset: number;
}

export class FunctionCompiler {
  readonly asm: Assembler;
  readonly vs: ValueStack;
  readonly ctl = new ControlStack();
  r!: ByteReader;
  /** No code is emitted while dead (after br/return/unreachable until a reachable label). */
  dead = false;
  /** The innermost live loop: its header-dirty carried locals stay owed across labels (deferred-stores.ts). */
  keepLoop: ControlFrame | null = null;
  /** Byte offset of the operator being compiled (for errors and source maps). */
  opOffset = 0;
  funcIndex = 0;
  funcType!: FuncType;
  /** Validate only (lazy compilation's up-front pass): the whole body is treated as dead code. */
  validateOnly = false;
  numLocals = 0;
  localTypes: Int32Array = EMPTY_I32; // (set in the constructor)
  /** Whether the function being compiled has a direct entry, which takes register arguments (reg-args.ts). */
  regArgs = false;
  /** Largest outgoing argument area needed by a call in this function, in bytes. */
  outgoing = 0;
  private trapSites: TrapSite[] = [];
  private numTrapSites = 0;
  private frameSizePatch = 0;
  private frameCheckPatch = 0;
  /** Exception handling: handlers, landing pads and the handler table of the function. */
  readonly exc: ExceptionEmitter;
  /** GC: the allocation sites' out-of-line slow paths. */
  readonly gcSlow = new GcSlowPaths();
  /** GC: the stack maps of the function's call sites (only in modules whose values may be GC objects). */
  readonly maps = new StackMapRecorder();
  private mapsInfo: ModuleInfo | null = null;
  private mapsModule = false;

  constructor(readonly m: ModuleCodegen) {
    // The scratch arrays that grow (a function with more locals, a wider br_table, deeper blocks) are stored a
    // second time here: V8 treats a field that has only ever held one value as constant, and the first growth,
    // often late in a big module, then threw away the optimised code that relied on it (step, the local
    // operators, compile).
    this.localTypes = new Int32Array(64);
    this.localInit = new Uint8Array(64);
    this.initUndo = new Int32Array(64);
    this.initMarks = new Int32Array(16);
    this.brDepths = new Int32Array(64);
    this.brLanding = new Int32Array(64);
    this.asm = m.asm;
    this.vs = new ValueStack(m.asm);
    this.exc = new ExceptionEmitter(this);
  }

  error(message: string, offset = this.opOffset): never {
    throw new CompileError(message, offset);
  }

  // ================================================================ entry point

  compile(funcIndex: number, bytes: Uint8Array, start: number, end: number): void {
    const info = this.m.info;
    this.funcIndex = funcIndex;
    this.funcType = info.types[info.funcTypes[funcIndex]];
    const r = (this.r = new ByteReader(bytes, start, end));
    // The prologue's stack check is attributed to the body's start, not to whatever was compiled before.
    this.opOffset = start;
    this.readLocals();
    this.dead = this.validateOnly;
    this.outgoing = 0;
    this.numTrapSites = 0;
    this.gcSlow.reset();
    resetSimdConsts();
    resetLoopStubs();
    resetBoundsStubs();
    resetFloatConsts();
    this.ctl.reset();
    this.keepLoop = null;
    const params = this.funcType.params;
    this.vs.reset(this.localTypes, this.numLocals, params.length);
    this.zeroPending = this.validateOnly ? 0 : deferrableLocals(this.localTypes, params.length, this.numLocals, this.vs.declaredBytes >> 3);
    if (!this.validateOnly) this.maps.reset(this.moduleHasGcRefs(), this.vs, this.numLocals);

    this.exc.begin();
    if (!this.validateOnly) {
      // Three entries: calls through a FuncRecord (imports, call_indirect, call_ref, exports, lazy slots) may
      // come from another instance, so they load this instance's memory registers first; direct calls from the
      // same instance already have them and enter after that. The register and direct entries take the first
      // arguments in registers (reg-args.ts); the memory entry (FUNCREC_CODE) loads them from the argument area.
      this.regArgs = this.m.directLabels[funcIndex] >= 0;
      this.asm.bind(this.m.funcLabels[funcIndex]);
      if (this.regArgs) {
        loadArgRegs(this.asm, params, RSP, 8);
        this.asm.bind(this.m.regLabels[funcIndex]);
      }
      this.reloadMemory0(true);
      if (this.regArgs) this.asm.bind(this.m.directLabels[funcIndex]);
      this.emitPrologue();
    }

    const f = this.ctl.push();
    f.kind = F_FUNC;
    f.base = 0;
    f.params = EMPTY;
    f.results = this.funcType.results;
    f.label = this.asm.newLabel();

    this.operatorLoop(r);
    if (r.pos !== r.end) this.error('operators remaining after the end of the function', r.pos);
    if (this.validateOnly) return;
    this.gcSlow.flush(this);
    emitBoundsStubs(this);
    this.emitTrapSites();
    emitLoopStubs(this.vs, this.asm);
    flushSimdConsts(this);
    flushFloatConsts(this.asm);
    // Frame: vmctx + declared locals + value-stack slots + outgoing area, keeping rsp 16-byte aligned.
    const slotsEnd = 8 + this.vs.declaredBytes + this.vs.maxDepth;
    let frame = slotsEnd + this.exc.slotBytes() + this.outgoing;
    frame = (frame + 15) & ~15;
    this.exc.finish(frame, slotsEnd, this.maps);
    this.asm.patchInt32(this.frameSizePatch, frame);
    this.asm.patchInt32(this.frameCheckPatch, frame);
  }

  /**
   * The operator loop (r.u8() inlined: the end check is the one above it). A method of its own, ending right
   * after the loop: V8 on-stack-replaces the hot loop of the first big function while the code after it has
   * never run, and an OSR entry into a function with cold code after the loop deoptimised once per compiled
   * function (a deopt loop of ~1,000 deopts per MB of wasm, with the loop running in the interpreter
   * between them).
   */
  private operatorLoop(r: ByteReader): void {
    const ctl = this.ctl;
    const code = r.bytes;
    while (ctl.depth > 0) {
      const p = r.pos;
      if (p >= r.end) this.error('unexpected end of function body (END opcode expected)', p);
      this.opOffset = p;
      r.pos = p + 1;
      const op = code[p];
      if (this.zeroPending !== 0 && !prefixSafe(op)) this.endPrefix();
      if (this.vs.dirtyBits !== 0 && OWED_ACTION[op] !== OWED_KEEP) this.makeOwedStores(op, code[p + 1]);
      this.step(op);
    }
  }

  /**
   * The declared locals whose zeroing waits for the end of the straight-line prefix (local-zeroing.ts): bit j for
   * local numParams + j, cleared when the prefix writes it; 0 once the prefix has ended.
   */
  zeroPending = 0;

  /** The straight-line prefix ends before the current operator: zero the declared locals it did not write. */
  private endPrefix(): void {
    zeroLocals(this.asm, this.vs, this.funcType.params.length, this.zeroPending);
    this.zeroPending = 0;
  }

  private readLocals(): void {
    const r = this.r;
    const params = this.funcType.params;
    let n = params.length;
    this.ensureLocals(n);
    for (let i = 0; i < n; i++) this.localTypes[i] = params[i];
    const groups = r.u32();
    for (let g = 0; g < groups; g++) {
      const at = r.pos;
      const count = r.u32();
      const t = this.readValType();
      if (n + count > 50000) this.error('too many locals', at);
      this.ensureLocals(n + count);
      this.localTypes.fill(t, n, n + count);
      n += count;
    }
    this.numLocals = n;
    this.nonDefaultable = false;
    for (let i = params.length; i < n; i++) if (!isDefaultable(this.localTypes[i])) this.nonDefaultable = true;
    if (this.nonDefaultable) this.beginLocalInits(params.length, n);
  }

  // ---------------------------------------------------------------- initialisation of non-defaultable locals
  //
  // A local of a non-null reference type has no default value: local.get needs a local.set/tee before it in
  // the same block or an enclosing one. An initialisation lasts until the end of the block it happens in, so
  // each one is recorded on an undo list that `end` (and `else`, catch arms) roll back to the block's mark.
  // Only functions with such locals pay for this (nonDefaultable).

  nonDefaultable = false;
  private localInit: Uint8Array = EMPTY_U8; // (these three: set in the constructor)
  private initUndo: Int32Array = EMPTY_I32;
  private initTop = 0;
  private initMarks: Int32Array = EMPTY_I32;

  private beginLocalInits(numParams: number, numLocals: number): void {
    if (this.localInit.length < numLocals) this.localInit = new Uint8Array(Math.max(numLocals, 2 * this.localInit.length));
    const init = this.localInit;
    for (let i = 0; i < numLocals; i++) init[i] = i < numParams || isDefaultable(this.localTypes[i]) ? 1 : 0;
    this.initTop = 0;
  }

  private initLocal(i: number): void {
    this.localInit[i] = 1;
    if (this.initTop === this.initUndo.length) {
      const u = new Int32Array(2 * this.initUndo.length);
      u.set(this.initUndo);
      this.initUndo = u;
    }
    this.initUndo[this.initTop++] = i;
  }

  /** At a block's start (its frame just pushed): remember where its initialisations begin. */
  markLocalInits(): void {
    const d = this.ctl.depth - 1;
    if (d >= this.initMarks.length) {
      const m = new Int32Array(2 * d + 2);
      m.set(this.initMarks);
      this.initMarks = m;
    }
    this.initMarks[d] = this.initTop;
  }

  /** At the end of the top block (or the start of its next arm): forget the initialisations made inside it. */
  resetLocalInits(): void {
    const mark = this.initMarks[this.ctl.depth - 1];
    while (this.initTop > mark) this.localInit[this.initUndo[--this.initTop]] = 0;
  }

  private ensureLocals(n: number): void {
    if (this.localTypes.length < n) {
      const a = new Int32Array(Math.max(n, this.localTypes.length * 2));
      a.set(this.localTypes);
      this.localTypes = a;
    }
  }

  /** A value type (numeric or reference, see ref-types.ts). */
  readValType(): number {
    return readValType(this.r, this.m.features, this.m.info.types);
  }

  // ================================================================ prologue / epilogue

  private emitPrologue(): void {
    const a = this.asm;
    a.push(RBP);
    a.movRR(true, RBP, RSP);
    // Stack check before the frame is allocated: rsp - FRAME must stay above exec.stackLimit, so even a
    // frame bigger than the guard headroom traps instead of jumping past it.
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
    a.load(LoadKind.I64, R11, R11, -1, 1, EXEC_STACK_LIMIT);
    this.frameCheckPatch = a.aluImm32(AluOp.ADD, true, R11, 0);
    a.alu(AluOp.CMP, true, RSP, R11);
    a.jcc(Cond.B, this.trapLabel(TrapCode.StackOverflow));
    this.frameSizePatch = a.aluImm32(AluOp.SUB, true, RSP, 0);
    a.store(8, R14, RBP, -1, 1, -8);
    this.emitInterruptCheck();
    if (this.regArgs) storeArgRegs(this.vs, this.funcType.params);
    // Zero the declared locals (in 8-byte words: a v128 local takes two), unless that waits for the end of the
    // straight-line prefix (local-zeroing.ts).
    const declared = this.zeroPending !== 0 ? 0 : this.vs.declaredBytes >> 3;
    if (declared > 0 && declared <= 16) {
      for (let j = 0; j < declared; j++) a.storeImm(8, 0, RBP, -1, 1, -16 - 8 * j);
    } else if (declared > 16) {
      a.lea(true, RDI, RBP, -1, 1, -8 - 8 * declared);
      a.movImm32(RCX, 8 * declared);
      a.alu(AluOp.XOR, false, RAX, RAX);
      a.repStosb();
    }
  }

  /** Interrupt flag and fuel checks (only in modules compiled for bounded execution). */
  private emitInterruptCheck(): void {
    const m = this.m;
    if (!m.interruptible && !m.fuel) return;
    const a = this.asm;
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_INTERRUPTS);
    if (m.interruptible) {
      a.aluMemImm(AluOp.CMP, false, R11, -1, 1, INTERRUPT_FLAG, 0);
      a.jcc(Cond.NE, this.trapLabel(TrapCode.Interrupted));
    }
    if (m.fuel) {
      a.aluMemImm(AluOp.SUB, true, R11, -1, 1, INTERRUPT_FUEL, 1);
      a.jcc(Cond.B, this.trapLabel(TrapCode.OutOfFuel));
    }
  }

  /** Reload the pinned memory-0 registers from vmctx (r15 only when r14 may have changed): r15 base, r13 the fast bounds-check limit (shared: the desc). */
  reloadMemory0(withBase: boolean): void {
    if (this.m.info.memories.length === 0) return;
    const a = this.asm;
    const L = this.m.layout;
    if (withBase) a.load(LoadKind.I64, R15, R14, -1, 1, L.memBase(0));
    a.load(LoadKind.I64, R13, R14, -1, 1, L.memDesc(0));
    // a shared memory's length may change under us (other threads grow it): r13 keeps its MemoryDesc instead
    if (!this.m.info.memories[0].shared) a.load(LoadKind.I64, R13, R13, -1, 1, MEMDESC_FAST_LIMIT);
  }

  private emitEpilogue(): void {
    const a = this.asm;
    a.movRR(true, RSP, RBP);
    a.pop(RBP);
    a.ret();
  }

  /** Move the function's results from the top of the value stack to the return registers / area and return. */
  emitReturn(): void {
    const vs = this.vs;
    const results = this.funcType.results;
    const n = results.length;
    const first = vs.height - n;
    if (n === 1) {
      vs.loadEntry(first, isXmmType(results[0]) ? XMM0 : RAX);
    } else if (n > 1) {
      // Results overwrite the parameter area: take pending local reads out of it first.
      for (let i = first; i < vs.height; i++) if (vs.kind[i] === K_LOCAL) vs.spill(i);
      for (let k = 0, off = 16; k < n; off += slotSize(results[k]), k++) vs.storeEntryTo(first + k, RBP, off);
    }
    this.emitEpilogue();
  }

  // ================================================================ traps and source positions

  /** A label that, when jumped to, traps with `code` at the current operator. */
  trapLabel(code: number): number {
    const label = this.asm.newLabel();
    if (this.numTrapSites === this.trapSites.length) this.trapSites.push({ label: 0, code: 0, wasmOffset: 0 });
    const s = this.trapSites[this.numTrapSites++];
    s.label = label;
    s.code = code;
    s.wasmOffset = this.opOffset;
    return label;
  }

  /** Trap unconditionally at the current operator. */
  emitTrap(code: number): void {
    this.asm.call(this.m.trapStubs[code]);
    this.recordPc();
  }

  /** Whether the module's values may be GC objects (cached per module: then its call sites get stack maps). */
  private moduleHasGcRefs(): boolean {
    const info = this.m.info;
    if (this.mapsInfo !== info) {
      this.mapsInfo = info;
      this.mapsModule = moduleMayHoldGcObjects(info.types, info.globals, info.tables);
    }
    return this.mapsModule;
  }

  /** Record the stack map of the call whose return address is the current code offset (after recordPc). */
  recordCallSite(): void {
    this.maps.record(this.vs, this.asm.offset);
  }

  /** Record that the current code offset (a return address) belongs to the current operator. */
  recordPc(): void {
    this.m.pcOffsets.push(this.asm.offset);
    this.m.wasmOffsets.push(this.opOffset);
  }

  private emitTrapSites(): void {
    const a = this.asm;
    for (let i = 0; i < this.numTrapSites; i++) {
      const s = this.trapSites[i];
      a.bind(s.label);
      a.call(this.m.trapStubs[s.code]);
      this.m.pcOffsets.push(a.offset);
      this.m.wasmOffsets.push(s.wasmOffset);
    }
  }

  // ================================================================ validation helpers

  private typeMismatch(expected: number, got: number): never {
    this.error(`type mismatch: expected ${typeName(expected)}, got ${typeName(got)}`);
  }

  /** Type of the operand `depth` below the top, or T_BOTTOM in unreachable code; error if missing. */
  peekType(depth: number): number {
    const f = this.ctl.top();
    const i = this.vs.height - 1 - depth;
    if (i < f.base) {
      if (f.unreachable) return T_BOTTOM;
      this.error('type mismatch: not enough operands');
    }
    return this.vs.type[i];
  }

  /**
   * Check the operand `depth` below the top has type t. (peekType inlined: this runs for nearly every operand,
   * and before V8 optimises the compiler every call and property access costs.)
   */
  need(t: number, depth: number): void {
    const vs = this.vs;
    const ctl = this.ctl;
    const f = ctl.frames[ctl.depth - 1];
    const i = vs.height - 1 - depth;
    if (i < f.base) {
      if (f.unreachable) return; // T_BOTTOM matches anything
      this.error('type mismatch: not enough operands');
    }
    const got = vs.type[i];
    if (got !== t && got !== T_BOTTOM && !isSubtype(got, t, this.m.info.types)) this.typeMismatch(t, got);
  }

  need1(t: number): void {
    const vs = this.vs;
    const ctl = this.ctl;
    const f = ctl.frames[ctl.depth - 1];
    const i = vs.height - 1;
    if (i < f.base) {
      if (f.unreachable) return;
      this.error('type mismatch: not enough operands');
    }
    const got = vs.type[i];
    if (got !== t && got !== T_BOTTOM && !isSubtype(got, t, this.m.info.types)) this.typeMismatch(t, got);
  }

  need2(t1: number, t2: number): void {
    this.need(t2, 0);
    this.need(t1, 1);
  }

  need3(t1: number, t2: number, t3: number): void {
    this.need(t3, 0);
    this.need(t2, 1);
    this.need(t1, 2);
  }

  /** In dead code: pop n operands (those present above the frame base). */
  discard(n: number): void {
    const base = this.ctl.top().base;
    for (let k = 0; k < n && this.vs.height > base; k++) this.vs.drop();
  }

  /** Validate a sequence of types on top of the stack (types[last] on top). */
  needTypes(types: ArrayLike<number>): void {
    const n = types.length;
    for (let k = 0; k < n; k++) this.need(types[n - 1 - k], k);
  }

  /** Unary/binary operator validation + the dead-code path. Returns true when code must be emitted. */
  unop(tin: number, tout: number): boolean {
    this.need1(tin);
    if (this.dead) {
      this.discard(1);
      this.vs.pushDead(tout);
      return false;
    }
    return true;
  }

  binop(tin: number, tout: number): boolean {
    // need2(tin, tin), with both operands checked in one go when they are in the current frame.
    const vs = this.vs;
    const ctl = this.ctl;
    const h = vs.height;
    if (h - 2 >= ctl.frames[ctl.depth - 1].base) {
      const ty = vs.type;
      const t0 = ty[h - 1];
      if (t0 !== tin && t0 !== T_BOTTOM) this.typeMismatch(tin, t0);
      const t1 = ty[h - 2];
      if (t1 !== tin && t1 !== T_BOTTOM) this.typeMismatch(tin, t1);
    } else this.need2(tin, tin);
    if (this.dead) {
      this.discard(2);
      this.vs.pushDead(tout);
      return false;
    }
    return true;
  }

  /** Before operator op (next: the byte after it) while stores are owed: make those op needs (deferred-stores.ts). */
  private makeOwedStores(op: number, next: number): void {
    if (OWED_ACTION[op] === OWED_UNKEPT) {
      if (!(op === 0x0b && this.ctl.depth === 1)) flushUnkept(this.vs, this.keepLoop); // (a return needs no slot)
    } else if (!(op === 0xfc && next < 8)) this.vs.flushDirty(); // (0xfc 0..7: the saturating truncations)
  }

  /** Enter unreachable state in the current frame: the operand stack is cut back and becomes polymorphic. */
  setUnreachable(): void {
    const f = this.ctl.top();
    this.vs.dirtyBits = 0; // (stores owed by this path: nothing follows it)
    while (this.vs.height > f.base) this.vs.drop();
    f.unreachable = true;
    this.dead = true;
  }

  // ================================================================ block types

  private blockParams: ArrayLike<number> = EMPTY;
  private blockResults: ArrayLike<number> = EMPTY;

  readBlockType(): void {
    const r = this.r;
    const at = r.pos;
    const first = r.bytes[at];
    if (first === 0x63 || first === 0x64) {
      // a reference type with a heap type: (ref null? ht)
      this.blockParams = EMPTY;
      this.blockResults = singleType(readValType(r, this.m.features, this.m.info.types));
      return;
    }
    const bt = r.s33();
    if (bt === -64) {
      this.blockParams = EMPTY;
      this.blockResults = EMPTY;
    } else if (bt < 0) {
      // (a value type is one byte: a longer negative s33 is no block type, even if its low 7 bits name one)
      if (r.pos !== at + 1) this.error('malformed block type', at);
      const t = bt & 0x7f;
      let single = SINGLE[t];
      if (!single && bt >= -64) {
        r.pos = at; // an abstract reference shorthand (enabled by the features or an error naming them)
        single = singleType(readValType(r, this.m.features, this.m.info.types));
      }
      if (!single || (t === ValType.V128 && !this.m.features.simd)) this.error('malformed block type', at);
      this.blockParams = EMPTY;
      this.blockResults = single;
    } else {
      const types = this.m.info.types;
      if (bt >= types.length) this.error(`unknown type ${bt}`, at);
      if ((types[bt].kind ?? 0) !== 0) this.error(`type mismatch: block type ${bt} is not a function type`, at);
      this.blockParams = types[bt].params;
      this.blockResults = types[bt].results;
    }
  }

  // ================================================================ control flow

  /** Spill everything and make the top `n` entries canonical stack slots (constants included). */
  private canonicalizeTop(n: number): void {
    const vs = this.vs;
    vs.spillAll();
    for (let i = vs.height - n; i < vs.height; i++) if (vs.kind[i] === K_CONST) vs.spill(i);
  }

  enterBlock(kind: number): ControlFrame {
    const params = this.blockParams;
    const results = this.blockResults;
    this.needTypes(params);
    const live = !this.dead;
    const parent = this.ctl.top();
    // In unreachable code, missing params are materialised as placeholders inside the new frame.
    let present = 0;
    for (let k = 0; k < params.length; k++) if (this.vs.height - 1 - k >= parent.base) present++;
    if (live) this.canonicalizeTop(params.length);
    // Inside the block its params have the block type's types (supertypes of the operands' types).
    for (let k = 0; k < present; k++) this.vs.type[this.vs.height - present + k] = params[params.length - present + k];
    const f = this.ctl.push();
    if (this.nonDefaultable) this.markLocalInits();
    f.kind = kind;
    f.base = this.vs.height - present;
    if (present < params.length) {
      // Replace the operands with typed placeholders (dead code only).
      while (this.vs.height > f.base) this.vs.drop();
      for (let k = 0; k < params.length; k++) this.vs.pushDead(params[k]);
    }
    f.params = params;
    f.results = results;
    f.liveAtEntry = live;
    f.label = this.asm.newLabel();
    if (live) beginMerge(this.vs, this.asm, f);
    return f;
  }

  /** Emit a branch to frame `target` carrying the top values (caller guarantees the code is live). */
  emitBranchMoves(target: ControlFrame): void {
    const vs = this.vs;
    const types = target.branchTypes();
    const n = types.length;
    const src = vs.height - n;
    const dst = target.base;
    // Destination slots follow the target's base with the carried types' sizes (the entries now at those
    // positions may have other types). Lower destinations never overlap higher sources.
    let depth = vs.depthBefore(dst);
    for (let k = 0; k < n; k++) {
      depth += slotSize(types[k]);
      if (src + k === dst + k && vs.kind[src + k] === K_STACK) continue;
      vs.storeEntryTo(src + k, RBP, vs.stackTop - depth);
    }
  }

  /**
   * For a branch to `target` whose values are placed (and, to a loop, registers reloaded): record the cache it
   * leaves with (block-merge.ts) and return the label to jump to.
   */
  edgeTo(target: ControlFrame): number {
    recordEdge(this.vs, target);
    return branchLabel(target);
  }

  /** Whether a branch to `target` needs no moves once the top values are canonical. */
  branchIsDirect(target: ControlFrame): boolean {
    return target.base + target.branchTypes().length === this.vs.height;
  }

  readDepth(): number {
    const at = this.r.pos;
    const d = this.r.u32();
    if (d >= this.ctl.depth) this.error(`unknown label ${d}`, at);
    return d;
  }

  private opBr(): void {
    const d = this.readDepth();
    const target = this.ctl.at(d);
    this.needTypes(target.branchTypes());
    if (!this.dead) {
      if (target.kind === F_FUNC) this.emitReturn();
      else {
        this.emitBranchMoves(target);
        if (this.vs.dirtyBits !== 0) emitEdgeStores(this.vs, target);
        if (target.loopCount !== 0) emitLoopReload(this.vs, target);
        this.asm.jmp(this.edgeTo(target));
        target.branchedTo = true;
      }
    }
    this.setUnreachable();
  }

  private opBrIf(): void {
    const d = this.readDepth();
    const target = this.ctl.at(d);
    const types = target.branchTypes();
    this.need1(ValType.I32);
    for (let k = 0; k < types.length; k++) this.need(types[types.length - 1 - k], k + 1);
    if (this.dead) {
      // The branch operands stay on the stack, retyped to the label's types.
      this.discard(1 + types.length);
      for (let k = 0; k < types.length; k++) this.vs.pushDead(types[k]);
      return;
    }
    const vs = this.vs;
    const a = this.asm;
    // The condition: flags already set by a fused compare, or a value to test.
    let cond = this.takeFusedCond();
    const c = cond < 0 ? vs.popToRegRead() : -1; // (only tested)
    const n = types.length;
    // Values carried by the branch go to their canonical slots before the test (on both paths), retyped to
    // the label's types. (Only movs are emitted here: the flags of a fused compare survive.)
    for (let i = vs.height - n, k = 0; i < vs.height; i++, k++) {
      vs.spill(i);
      vs.type[i] = types[k];
    }
    if (c >= 0) {
      a.test(false, c, c);
      vs.freeGpr(c);
      cond = Cond.NE;
    }
    if (target.kind === F_FUNC) {
      const skip = a.newLabel();
      a.jcc(invertCond(cond as Cond), skip);
      this.emitReturn();
      a.bind(skip);
      return;
    }
    target.branchedTo = true;
    const reload = target.loopCount !== 0 && loopNeedsReload(vs, target);
    if (this.branchIsDirect(target) && !reload && (vs.dirtyBits === 0 || !edgeNeedsStores(vs, target))) {
      a.jcc(cond as Cond, this.edgeTo(target));
    } else {
      // (the taken path only: deferred stores still owed on the fallthrough stay owed there)
      const skip = a.newLabel();
      a.jcc(invertCond(cond as Cond), skip);
      this.emitBranchMoves(target);
      if (vs.dirtyBits !== 0) emitEdgeStores(vs, target);
      if (reload) emitLoopReload(vs, target);
      a.jmp(this.edgeTo(target));
      a.bind(skip);
    }
  }

  // ---------------------------------------------------------------- compare fusion
  //
  // A compare whose result feeds br_if / if / select directly leaves its condition in the flags instead of
  // materialising 0/1: the compare pushes a placeholder and records the condition; the consumer (always the
  // very next operator) takes it. Code emitted in between consists only of movs, which keep the flags.

  private fusedCond = -1;
  private fusedHeight = -1;

  /**
   * Called by a compare emitter: true when the next operator can consume flags directly (br_if, if,
   * select), possibly after one `i32.eqz`, which pushFlags then folds in by inverting the condition.
   */
  nextConsumesFlags(): boolean {
    const r = this.r;
    if (r.pos >= r.end) return false;
    const b = r.bytes;
    let next = b[r.pos];
    if (next === 0x45 && r.pos + 1 < r.end) next = b[r.pos + 1];
    return next === 0x0d || next === 0x04 || next === 0x1b;
  }

  /** Push the result of a compare as "condition `cond` in the flags" (see nextConsumesFlags). */
  pushFlags(cond: Cond): void {
    const r = this.r;
    if (r.bytes[r.pos] === 0x45) {
      // `i32.eqz` of a 0/1 compare result is the inverted compare. Float compares are fused only as
      // A/AE (false when unordered), whose inversions BE/B are true when unordered, as !(x op y) must be.
      r.pos++;
      cond = invertCond(cond);
    }
    this.vs.pushDead(ValType.I32);
    this.fusedCond = cond;
    this.fusedHeight = this.vs.height;
  }

  /** If the top of the stack is a fused compare, pop it and return its condition; else -1. */
  private takeFusedCond(): number {
    const cond = this.fusedCond;
    if (cond < 0) return -1;
    this.fusedCond = -1;
    if (this.vs.height !== this.fusedHeight) return -1;
    this.vs.drop();
    return cond;
  }

  // br_table scratch, reused (no allocation per br_table): the target depths, and per relative depth its
  // landing label (-1: not yet assigned) while one table is emitted.
  private brDepths: Int32Array = EMPTY_I32; // (both set in the constructor)
  private brLanding: Int32Array = EMPTY_I32;
  private brStubs: number[] = [];

  private opBrTable(): void {
    const r = this.r;
    const at = r.pos;
    const count = r.u32();
    if (count > 1_000_000) this.error('br_table too large', at);
    if (this.brDepths.length < count + 1) this.brDepths = new Int32Array(Math.max(count + 1, 2 * this.brDepths.length));
    const depths = this.brDepths;
    for (let i = 0; i <= count; i++) depths[i] = this.readDepth();
    this.need1(ValType.I32);
    const defaultTypes = this.ctl.at(depths[count]).branchTypes();
    const arity = defaultTypes.length;
    for (let i = 0; i <= count; i++) {
      const types = this.ctl.at(depths[i]).branchTypes();
      if (types.length !== arity) this.error('type mismatch: br_table targets have different arities', at);
      for (let k = 0; k < arity; k++) this.need(types[arity - 1 - k], k + 1);
    }
    if (!this.dead) this.emitBrTable(depths, count, arity);
    this.setUnreachable();
  }

  /** Emit br_table with targets depths[0..count) and default depths[count]. */
  private emitBrTable(depths: Int32Array, count: number, arity: number): void {
    const vs = this.vs;
    const a = this.asm;
    const idx = vs.popToReg();
    for (let i = vs.height - arity; i < vs.height; i++) vs.spill(i);
    // One landing label per distinct target depth: either the target itself or a stub doing the moves.
    if (this.brLanding.length < this.ctl.depth) this.brLanding = new Int32Array(Math.max(this.ctl.depth, 2 * this.brLanding.length));
    const landing = this.brLanding;
    for (let i = 0; i <= count; i++) landing[depths[i]] = -1;
    const stubs = this.brStubs;
    stubs.length = 0;
    for (let i = 0; i <= count; i++) {
      const d = depths[i];
      if (landing[d] >= 0) continue;
      const target = this.ctl.at(d);
      if (target.kind !== F_FUNC && this.branchIsDirect(target) && (target.loopCount === 0 || !loopNeedsReload(vs, target)) &&
          (vs.dirtyBits === 0 || !edgeNeedsStores(vs, target))) {
        target.branchedTo = true;
        landing[d] = this.edgeTo(target);
      } else {
        const l = a.newLabel();
        landing[d] = l;
        stubs.push(d, l);
      }
    }
    const table = a.newLabel();
    if (count > 0) {
      a.aluImm(AluOp.CMP, false, idx, count);
      a.jcc(Cond.AE, landing[depths[count]]);
      a.leaLabel(R11, table);
      a.load(LoadKind.S32_64, idx, R11, idx, 4, 0);
      a.alu(AluOp.ADD, true, R11, idx);
      a.jmpReg(R11);
      a.align(4);
      a.bind(table);
      for (let i = 0; i < count; i++) a.emitLabelDelta32(landing[depths[i]], table);
    } else {
      a.jmp(landing[depths[0]]);
    }
    vs.freeGpr(idx);
    for (let s = 0; s < stubs.length; s += 2) {
      const target = this.ctl.at(stubs[s]);
      a.bind(stubs[s + 1]);
      if (target.kind === F_FUNC) this.emitReturn();
      else {
        target.branchedTo = true;
        this.emitBranchMoves(target);
        if (vs.dirtyBits !== 0) emitEdgeStores(vs, target);
        if (target.loopCount !== 0) emitLoopReload(vs, target);
        a.jmp(this.edgeTo(target));
      }
    }
  }

  /**
   * Legacy catch/catch_all: like `else`, the arm before ends (its results go to the frame's slots and it jumps
   * to the end); the next arm starts with the frame's base height.
   */
  finishArm(f: ControlFrame): void {
    this.needTypes(f.results);
    if (this.vs.height - f.base !== f.results.length && !f.unreachable) this.error('type mismatch: wrong number of values at catch');
    if (this.vs.height - f.base > f.results.length) this.error('type mismatch: too many values at catch');
    if (!this.dead) {
      this.canonicalizeTop(f.results.length);
      this.asm.jmp(f.label);
      f.branchedTo = true;
    }
    while (this.vs.height > f.base) this.vs.drop();
    if (this.nonDefaultable) this.resetLocalInits();
    this.vs.clearLocalCache();
    f.unreachable = false;
  }

  /** Exception-handling operators exist only with the exceptions feature. */
  private exceptionsOn(): void {
    if (!this.m.features.exceptions) this.error(`illegal opcode 0x${this.r.bytes[this.opOffset].toString(16)}`);
  }

  private opElse(): void {
    const f = this.ctl.top();
    if (f.kind !== F_IF) this.error('else without matching if');
    this.needTypes(f.results);
    if (this.vs.height - f.base !== f.results.length && !f.unreachable) this.error('type mismatch: wrong number of values at else');
    if (this.vs.height - f.base > f.results.length) this.error('type mismatch: too many values at else');
    const a = this.asm;
    if (!this.dead) {
      this.canonicalizeTop(f.results.length);
      if (this.vs.dirtyBits !== 0) emitEdgeStores(this.vs, f); // (the then arm's edge: its owed stores, but the if's pairs stay owed)
      if (f.loopCount !== 0) emitLoopReload(this.vs, f);
      a.jmp(this.edgeTo(f));
      f.branchedTo = true;
    }
    while (this.vs.height > f.base) this.vs.drop();
    if (this.nonDefaultable) this.resetLocalInits();
    a.bind(f.elseLabel);
    enterElse(this.vs, f); // the else arm starts from the state before the then arm
    f.elseLabel = -1;
    f.kind = F_ELSE;
    f.unreachable = false;
    for (let k = 0; k < f.params.length; k++) this.vs.pushStack(f.params[k]);
    this.dead = !f.liveAtEntry || this.validateOnly;
  }

  opEnd(): void {
    const f = this.ctl.top();
    if (f.handler >= 0 || f.kind === F_TRY) this.exc.beforeEnd(f);
    this.needTypes(f.results);
    if (this.vs.height - f.base > f.results.length) this.error('type mismatch: too many values at end of block');
    if (this.vs.height - f.base < f.results.length && !f.unreachable) this.error('type mismatch: not enough values at end of block');
    if (f.kind === F_IF) {
      // An if without else: the empty else arm must produce the results from the params.
      const p = f.params, res = f.results;
      let same = p.length === res.length;
      for (let k = 0; same && k < p.length; k++) same = isSubtype(p[k], res[k], this.m.info.types);
      if (!same) this.error('type mismatch: if without else must leave its parameters as results');
    }
    if (f.kind === F_FUNC) {
      if (!this.dead) this.emitReturn();
      this.ctl.pop();
      return;
    }
    const a = this.asm;
    const fallthroughLive = !this.dead;
    if (fallthroughLive) {
      this.canonicalizeTop(f.results.length);
      if ((f.pairRegs !== 0 || this.vs.dirtyBits !== 0) && !endNeedsFlush(a, f)) f.pairRegs = 0; // (nothing else reaches this end: it merges nothing)
      else if (f.pairRegs !== 0) conformFallthrough(this.vs, f); // its owed stores, but the pairs stay owed
      else if (this.vs.dirtyBits !== 0) this.vs.flushDirty();
      recordEdge(this.vs, f);
    }
    if (f.kind === F_IF && f.liveAtEntry) recordIfEntryEdge(f);
    while (this.vs.height > f.base) this.vs.drop();
    if (this.nonDefaultable) this.resetLocalInits();
    if (f.kind === F_IF) a.bind(f.elseLabel);
    if (f.kind !== F_LOOP) {
      finishMerge(this.vs, a, f, fallthroughLive); // binds f.label: branches from elsewhere merge here
    } else {
      endLoop(this.vs, a, f); // its preheader, if something jumps to it
      if (f.headerLabel >= 0) this.keepLoop = f.outerLoop;
      if (!fallthroughLive) this.vs.clearLocalCache(); // (a loop's end is reached only by falling through)
    }
    this.ctl.pop();
    for (let k = 0; k < f.results.length; k++) this.vs.pushStack(f.results[k]);
    const live =
      fallthroughLive || (f.kind !== F_LOOP && f.branchedTo) || (f.kind === F_IF && f.liveAtEntry);
    this.dead = !live || this.validateOnly;
    if (this.dead) {
      // Nothing reaches the code after this block, but it is still validated normally.
      for (let i = this.vs.height - f.results.length; i < this.vs.height; i++) this.vs.kind[i] = K_CONST;
    }
  }

  // ================================================================ calls

  readFuncIndex(): number {
    const at = this.r.pos;
    const f = this.r.u32();
    if (f >= this.m.info.funcTypes.length) this.error(`unknown function ${f}`, at);
    return f;
  }

  /** Validate a call's operands; in dead code also pop them and push placeholders. Returns true if live. */
  callValidate(type: FuncType, extra: number): boolean {
    for (let k = 0; k < type.params.length; k++) this.need(type.params[type.params.length - 1 - k], k + extra);
    if (this.dead) {
      this.discard(type.params.length + extra);
      const res = type.results;
      for (let k = 0; k < res.length; k++) this.vs.pushDead(res[k]);
      return false;
    }
    return true;
  }

  /** Write the call's arguments to the outgoing area and pop them; spill everything else. */
  emitCallArgs(type: FuncType): void {
    const vs = this.vs;
    const np = type.params.length;
    this.reserveOutgoing(type);
    const first = vs.height - np;
    for (let k = 0, off = 0; k < np; off += slotSize(type.params[k]), k++) vs.storeEntryTo(first + k, RSP, off);
    for (let k = 0; k < np; k++) vs.drop();
    vs.spillRegs();
  }

  /** Make the outgoing area big enough for a call of this type (arguments and results). */
  reserveOutgoing(type: FuncType): void {
    const area = Math.max(typesBytes(type.params), typesBytes(type.results));
    if (area > this.outgoing) this.outgoing = area;
  }

  pushCallResults(type: FuncType): void {
    const vs = this.vs;
    const res = type.results;
    if (res.length === 1) {
      vs.pushReg(res[0], isXmmType(res[0]) ? XMM0 : RAX);
    } else {
      for (let k = 0, off = 0; k < res.length; off += slotSize(res[k]), k++) {
        if (res[k] === ValType.V128) {
          this.asm.movdquLoad(XMM15, RSP, -1, 1, off);
          this.asm.movdquStore(XMM15, RBP, -1, 1, vs.nextSlotDisp(res[k]));
        } else {
          this.asm.load(LoadKind.I64, R11, RSP, -1, 1, off);
          this.asm.store(8, R11, RBP, -1, 1, vs.nextSlotDisp(res[k]));
        }
        vs.pushStack(res[k]);
      }
    }
  }

  private opCall(): void {
    const f = this.readFuncIndex();
    const info = this.m.info;
    const type = info.types[info.funcTypes[f]];
    if (!this.callValidate(type, 0)) return;
    const a = this.asm;
    // (lazily compiled code keeps the memory convention for every call: see reg-args.ts)
    const lazy = this.m.lazy;
    if (lazy) this.emitCallArgs(type);
    else {
      this.reserveOutgoing(type);
      placeCallArgs(this.vs, a, type);
    }
    if (f < info.numImportedFuncs) {
      // Through the import's FuncRecord (rax), to its register entry (or its memory entry from lazy code).
      a.load(LoadKind.I64, RAX, R14, -1, 1, this.m.layout.func(f));
      a.load(LoadKind.I64, R14, RAX, -1, 1, FUNCREC_VMCTX);
      a.callMem(RAX, lazy ? FUNCREC_CODE : FUNCREC_REG_CODE);
      this.recordPc();
      this.recordCallSite();
      this.vs.clearLocalCache();
      a.load(LoadKind.I64, R14, RBP, -1, 1, -8);
      this.reloadMemory0(true);
    } else if (this.m.lazy) {
      a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_CODE_SLOTS);
      a.callMem(R11, 8 * f);
      this.recordPc();
      this.recordCallSite();
      this.vs.clearLocalCache();
      this.reloadMemory0(false);
    } else {
      // A function compiled in another batch: a rel32 the module linker patches (see batch-compiler.ts).
      const label = this.m.directLabels[f];
      if (label >= 0) a.call(label);
      else this.m.callRelocs.push2(a.callExternal(), f);
      this.recordPc();
      this.recordCallSite();
      this.vs.clearLocalCache();
      this.reloadMemory0(false);
    }
    this.pushCallResults(type);
  }

  private opCallIndirect(): void {
    const type = this.readCallIndirect();
    if (!this.callValidate(type, 1)) return;
    const a = this.asm;
    // The arguments go in registers to the record's register entry; a type with subtypes asks the runtime
    // (a host call) during the check, so there they are written to the area first (memory entry), as they are
    // from lazily compiled code.
    const viaRegs = !this.m.lazy && (this.m.info.types[this.indirectTypeIndex].final ?? true);
    if (viaRegs) {
      this.reserveOutgoing(type);
      // The index in rax, which becomes the record: nothing else lives there while the arguments are placed.
      // (Moved or loaded into rax with a 32-bit instruction, it is zero-extended; only a value already there is not.)
      const top = this.vs.height - 1;
      const inPlace = this.vs.kind[top] === K_REG && this.vs.reg[top] === RAX;
      const idx = this.vs.popToGpr(RAX);
      this.emitIndirectCheck(idx, inPlace);
      placeCallArgs(this.vs, a, type);
      this.vs.freeGpr(RAX);
    } else {
      this.emitIndirectRecord(type);
    }
    a.load(LoadKind.I64, R14, RAX, -1, 1, FUNCREC_VMCTX);
    a.callMem(RAX, viaRegs ? FUNCREC_REG_CODE : FUNCREC_CODE);
    this.recordPc();
    this.recordCallSite();
    this.vs.clearLocalCache();
    a.load(LoadKind.I64, R14, RBP, -1, 1, -8);
    this.reloadMemory0(true);
    this.pushCallResults(type);
  }

  // call_indirect's immediates, as read by readCallIndirect (for emitIndirectRecord).
  private indirectTypeIndex = 0;
  private indirectTableIndex = 0;

  /**
   * call_indirect / return_call_indirect: read and validate the type and table immediates and the index
   * operand's type; returns the function type.
   */
  readCallIndirect(): FuncType {
    const r = this.r;
    const info = this.m.info;
    const at = r.pos;
    const typeIndex = r.u32();
    if (typeIndex >= info.types.length) this.error(`unknown type ${typeIndex}`, at);
    if ((info.types[typeIndex].kind ?? 0) !== 0) this.error(`type mismatch: type ${typeIndex} is not a function type`, at);
    const tat = r.pos;
    const tableIndex = r.u32();
    if (tableIndex >= info.tables.length) this.error(`unknown table ${tableIndex}`, tat);
    const table = info.tables[tableIndex];
    if (!isSubtype(table.elemType, ValType.FuncRef, info.types)) this.error('type mismatch: call_indirect on a table of non-function references', tat);
    this.need1(table.index64 ? ValType.I64 : ValType.I32);
    this.indirectTypeIndex = typeIndex;
    this.indirectTableIndex = tableIndex;
    return info.types[typeIndex];
  }

  /**
   * After readCallIndirect: pop the table index, place the arguments, and leave in rax the FuncRecord of
   * table[index], checked (traps: index out of bounds, null entry, signature mismatch).
   */
  emitIndirectRecord(type: FuncType): void {
    // The index is below nothing: it is the top operand, above the arguments.
    const idx = this.vs.popToReg();
    const zext = !this.vs.poppedZext;
    this.emitCallArgs(type);
    this.emitIndirectCheck(idx, zext);
    this.vs.freeGpr(RAX); // (nothing lives in registers after emitCallArgs)
  }

  /**
   * The FuncRecord of table[index] (index in register idx, a temp, released here unless it is rax) into rax,
   * checked (traps: index out of bounds, null entry, signature mismatch). Uses only idx, r11 and rax. An i32
   * index is zero-extended first unless the pop that produced idx already did (a 32-bit copy, load or constant).
   */
  private emitIndirectCheck(idx: number, zext: boolean): void {
    const vs = this.vs;
    const a = this.asm;
    const typeIndex = this.indirectTypeIndex, tableIndex = this.indirectTableIndex;
    if (zext && !this.m.info.tables[tableIndex].index64) a.movRR(false, idx, idx);
    const L = this.m.layout;
    a.load(LoadKind.I64, R11, R14, -1, 1, L.table(tableIndex));
    a.aluLoad(AluOp.CMP, true, idx, R11, -1, 1, 8);
    a.jcc(Cond.AE, this.trapLabel(TrapCode.IndirectOutOfBounds));
    a.load(LoadKind.I64, R11, R11, -1, 1, 0);
    a.load(LoadKind.I64, RAX, R11, idx, 8, 0);
    if (idx !== RAX) vs.freeGpr(idx);
    a.test(true, RAX, RAX);
    a.jcc(Cond.E, this.trapLabel(TrapCode.IndirectNull));
    // The expected signature id (process-wide) comes from the instance's signature table, so the code has no
    // process-specific constants (a cached copy runs unchanged).
    a.load(LoadKind.U32, R11, R14, -1, 1, L.sig(typeIndex));
    a.aluStore(AluOp.CMP, false, RAX, -1, 1, 16, R11);
    if (this.m.info.types[typeIndex].final ?? true) {
      a.jcc(Cond.NE, this.trapLabel(TrapCode.IndirectSignature));
      return;
    }
    // A type with subtypes: a function of a declared subtype passes too (asked of the runtime: rare).
    const ok = a.newLabel();
    a.jcc(Cond.E, ok);
    this.emitSubtypeQuery(RAX, 16, R11);
    a.jcc(Cond.E, this.trapLabel(TrapCode.IndirectSignature));
    a.bind(ok);
  }

  /**
   * Asks the runtime whether the canonical type (u32) at [obj + disp] is a subtype of the one in `expected`
   * (a u32 register other than rax); ZF is set when it is not. Only rax (kept) is live: values are spilled.
   */
  emitSubtypeQuery(obj: number, disp: number, expected: number): void {
    const a = this.asm;
    a.push(RAX);
    a.push(RAX); // keeps rsp 16-byte aligned for the call
    a.load(LoadKind.I64, RDI, R14, -1, 1, VMCTX_EXEC);
    a.store(8, expected, RDI, -1, 1, EXEC_ARGS + 8);
    a.load(LoadKind.U32, RSI, obj, -1, 1, disp);
    a.store(8, RSI, RDI, -1, 1, EXEC_ARGS);
    a.movRR(true, RDI, R14);
    a.movImm32(RSI, Builtin.GcSubtype);
    a.callMem(R14, VMCTX_HOSTCALL);
    this.recordPc();
    a.pop(RAX);
    a.pop(RAX);
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
    a.aluMemImm(AluOp.CMP, false, R11, -1, 1, EXEC_ARGS, 0);
  }

  /**
   * Call a runtime builtin through the host-call callback. The top `nargs` operands go to args-buffer
   * slots `firstSlot...`; immediates must already be stored by `storeImmArg`. Leaves the result (if any)
   * in args slot 0 and returns with all registers free.
   */
  emitBuiltinCall(id: number, nargs: number, firstSlot: number): void {
    const vs = this.vs;
    const a = this.asm;
    const e = vs.allocGpr();
    a.load(LoadKind.I64, e, R14, -1, 1, VMCTX_EXEC);
    const first = vs.height - nargs;
    for (let k = 0; k < nargs; k++) vs.storeEntryTo(first + k, e, EXEC_ARGS + 8 * (firstSlot + k));
    vs.freeGpr(e);
    for (let k = 0; k < nargs; k++) vs.drop();
    vs.spillRegs();
    a.movRR(true, RDI, R14);
    a.movImm32(RSI, id);
    a.callMem(R14, VMCTX_HOSTCALL);
    this.vs.clearLocalCache();
    this.recordPc();
    this.recordCallSite();
    a.test(false, RAX, RAX);
    a.jcc(Cond.NE, this.trapLabel(TrapCode.None));
    this.reloadMemory0(false);
  }

  /** Store an immediate into args-buffer slot `slot` (before emitBuiltinCall). */
  storeImmArg(slot: number, value: number): void {
    const a = this.asm;
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
    a.storeImm(8, value, R11, -1, 1, EXEC_ARGS + 8 * slot);
  }

  /** After emitBuiltinCall: push args slot 0 as a value of type t. */
  pushBuiltinResult(t: number): void {
    const vs = this.vs;
    const a = this.asm;
    const r = vs.allocFor(t);
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
    if (t === ValType.I32) a.load(LoadKind.U32, r, R11, -1, 1, EXEC_ARGS);
    else a.load(LoadKind.I64, r, R11, -1, 1, EXEC_ARGS);
    vs.pushReg(t, r);
  }

  // ================================================================ locals and globals

  private readLocalIndex(): number {
    const at = this.r.pos;
    const i = this.r.u32();
    if (i >= this.numLocals) this.error(`unknown local ${i}`, at);
    return i;
  }

  private opLocalGet(): void {
    const i = this.readLocalIndex();
    const t = this.localTypes[i];
    if (this.nonDefaultable && this.localInit[i] === 0) this.error(`uninitialized local ${i}`);
    if (this.dead) this.vs.pushDead(t);
    else if (this.zeroPending !== 0 && this.prefixUnwritten(i)) {
      // Read in the straight-line prefix before any write: its slot is not zeroed yet, and its value is zero.
      if (t === ValType.V128) this.vs.pushConstV128(0, 0, 0, 0);
      else this.vs.pushConst(t, 0, 0);
    } else {
      this.vs.noteLocalUse(i);
      if (!this.vs.pushCachedLocal(t, i)) this.vs.pushLocal(t, i);
    }
  }

  /** Whether declared local i still waits for its zeroing (the prefix has not written it). */
  private prefixUnwritten(i: number): boolean {
    const j = i - this.funcType.params.length;
    return j >= 0 && (this.zeroPending & (1 << j)) !== 0;
  }

  private opLocalSet(tee: boolean): void {
    const i = this.readLocalIndex();
    const t = this.localTypes[i];
    this.need1(t);
    if (this.nonDefaultable && this.localInit[i] === 0) this.initLocal(i);
    const vs = this.vs;
    if (this.dead) {
      if (!tee) this.discard(1);
      else {
        this.discard(1);
        vs.pushDead(t);
      }
      return;
    }
    vs.materializeLocal(i);
    vs.noteLocalUse(i);
    vs.uncheckLocal(i);
    if (this.zeroPending !== 0 && this.prefixUnwritten(i)) this.zeroPending &= ~(1 << (i - this.funcType.params.length));
    const top = vs.height - 1;
    if (tee) vs.type[top] = t; // local.tee leaves the local's type (a supertype of the operand's)
    const disp = vs.localDisp[i];
    const k = vs.kind[top];
    // Numeric locals defer the store (deferred-stores.ts): the register holding the new value caches the local,
    // owing its slot a store, made only where something needs the slot.
    // Only inside a loop (outside, the store would mostly be made at the next label or branch anyway: deferring
    // it costs compile time for nothing); a loop's entry takes a local set before it as owing its store.
    vs.setEpoch[i] = vs.epoch;
    const defer = this.keepLoop !== null && deferrableLocal(t);
    if (k === K_CONST) {
      // A constant is stored at once (a store of an immediate; a loop counter set to 0 before its loop still
      // becomes the loop's to defer: setEpoch).
      vs.discardLocal(i);
      vs.storeEntryTo(top, RBP, disp);
      if (!tee) vs.drop();
    } else if (k === K_REG) {
      const r = vs.reg[top];
      if (!defer) vs.storeToFrame(t, r, disp);
      else {
        const other = isXmmType(t) ? vs.xmmLocal[r] : vs.gprLocal[r];
        if (other === i) {
          // `local.get x; local.set x`: r already holds x's current value (and owes its store or not, as before).
          if (!tee) vs.drop();
          return;
        }
        if (other >= 0 && vs.isDirty(other)) {
          // r owes another local's store: a copy in a free register keeps both deferred (else r's store is made).
          const s = vs.freeUncachedReg(isXmmType(t));
          if (s >= 0) {
            vs.asmCopy(t, s, r);
            if (!tee) vs.drop();
            vs.cacheLocal(i, s);
            vs.markDirty(i);
            return;
          }
        }
      }
      if (!tee) vs.drop();
      vs.cacheLocal(i, r); // the register still holds the new value: a later local.get needs no load
      if (defer) vs.markDirty(i);
    } else {
      const r = vs.popToReg();
      if (!defer) vs.storeToFrame(t, r, disp);
      if (tee) vs.pushReg(t, r);
      else vs.freeFor(t, r);
      vs.cacheLocal(i, r);
      if (defer) vs.markDirty(i);
    }
  }

  private readGlobalIndex(): number {
    const at = this.r.pos;
    const g = this.r.u32();
    if (g >= this.m.info.globals.length) this.error(`unknown global ${g}`, at);
    return g;
  }

  private opGlobalGet(): void {
    const g = this.readGlobalIndex();
    const t = this.m.info.globals[g].type;
    if (this.dead) {
      this.vs.pushDead(t);
      return;
    }
    const vs = this.vs;
    const r = vs.allocFor(t);
    this.asm.load(LoadKind.I64, R11, R14, -1, 1, this.m.layout.global(g));
    vs.pushReg(t, r);
    loadTyped(this.asm, t, r, R11, 0);
  }

  private opGlobalSet(): void {
    const g = this.readGlobalIndex();
    const gt = this.m.info.globals[g];
    if (!gt.mutable) this.error(`global ${g} is immutable`);
    this.need1(gt.type);
    if (this.dead) {
      this.discard(1);
      return;
    }
    const vs = this.vs;
    const e = vs.allocGpr();
    this.asm.load(LoadKind.I64, e, R14, -1, 1, this.m.layout.global(g));
    vs.storeEntryTo(vs.height - 1, e, 0);
    vs.freeGpr(e);
    vs.drop();
  }

  // ================================================================ the operator dispatch

  // Dispatch: V8 compiles a switch whose cases are dense integer literals (a range under 3x the number of cases)
  // to a jump table in every tier, interpreter included; a sparse one becomes a chain of compares, one per case
  // before the match. So numeric operators (0x45..0xc4) go straight to emitNumeric (its own dense switch), the
  // switch here covers 0x00..0x44 densely (loads and stores included), and the few operators above 0xc4 have
  // their own small switch.

  private step(op: number): void {
    if (op >= 0x45) {
      if (op <= 0xc4) emitNumeric(this, op);
      else this.stepHigh(op);
      return;
    }
    // (this.vs / this.asm are read in the cases that use them: not for every operator.)
    switch (op) {
      case 0x00: // unreachable
        if (!this.dead) this.emitTrap(TrapCode.Unreachable);
        this.setUnreachable();
        return;
      case 0x01: // nop
        return;
      case 0x02: // block
        this.readBlockType();
        this.enterBlock(F_BLOCK);
        return;
      case 0x03: { // loop
        this.readBlockType();
        const f = this.enterBlock(F_LOOP);
        if (this.dead) {
          this.asm.bind(f.label);
          this.vs.clearLocalCache();
          return;
        }
        carryIntoLoop(this.vs, this.asm, f); // binds the header (a preheader, if needed, comes after the function)
        f.outerLoop = this.keepLoop;
        this.keepLoop = f;
        this.emitInterruptCheck();
        return;
      }
      case 0x04: { // if
        const vs = this.vs;
        const a = this.asm;
        this.readBlockType();
        this.need1(ValType.I32);
        let c = -1;
        let cond = -1;
        if (!this.dead) {
          cond = this.takeFusedCond();
          if (cond < 0) c = vs.popToRegRead(); // (only tested)
        } else this.discard(1);
        const f = this.enterBlock(F_IF);
        f.kind = F_IF;
        f.elseLabel = a.newLabel();
        if (c >= 0) {
          a.test(false, c, c);
          vs.freeGpr(c);
          a.jcc(Cond.E, f.elseLabel);
        } else if (cond >= 0) {
          a.jcc(invertCond(cond as Cond), f.elseLabel);
        }
        captureIfEntry(vs, f);
        return;
      }
      case 0x05:
        this.opElse();
        return;
      case 0x0b:
        this.opEnd();
        return;
      case 0x0c:
        this.opBr();
        return;
      case 0x0d:
        this.opBrIf();
        return;
      case 0x0e:
        this.opBrTable();
        return;
      case 0x0f: { // return
        this.needTypes(this.funcType.results);
        if (!this.dead) this.emitReturn();
        this.setUnreachable();
        return;
      }
      case 0x10:
        this.opCall();
        return;
      case 0x11:
        this.opCallIndirect();
        return;
      case 0x12:
        opReturnCall(this);
        return;
      case 0x13:
        opReturnCallIndirect(this);
        return;
      case 0x15: // return_call_ref
        if (!this.m.features.typedFunctionReferences) break;
        opReturnCallRef(this);
        return;
      case 0x14: // call_ref
        if (!this.m.features.typedFunctionReferences) break;
        opCallRef(this);
        return;
      case 0x06: // try (legacy exceptions)
        this.exceptionsOn();
        this.exc.opTry();
        return;
      case 0x07: // catch (legacy)
        this.exceptionsOn();
        this.exc.opCatch(false);
        return;
      case 0x08: // throw
        this.exceptionsOn();
        this.exc.opThrow();
        return;
      case 0x09: // rethrow (legacy)
        this.exceptionsOn();
        this.exc.opRethrow();
        return;
      case 0x0a: // throw_ref
        this.exceptionsOn();
        this.exc.opThrowRef();
        return;
      case 0x18: // delegate (legacy)
        this.exceptionsOn();
        this.exc.opDelegate();
        return;
      case 0x19: // catch_all (legacy)
        this.exceptionsOn();
        this.exc.opCatch(true);
        return;
      case 0x1f: // try_table
        this.exceptionsOn();
        this.exc.opTryTable();
        return;
      case 0x1a: // drop
        this.peekType(0);
        if (this.dead) this.discard(1);
        else this.vs.drop();
        return;
      case 0x1b: // select
      case 0x1c: { // select t*
        let t: number;
        if (op === 0x1c) {
          const at = this.r.pos;
          const n = this.r.u32();
          if (n !== 1) this.error('invalid result arity for select', at);
          t = this.readValType();
          this.need3(t, t, ValType.I32);
        } else {
          this.need1(ValType.I32);
          const t1 = this.peekType(1);
          const t2 = this.peekType(2);
          if (t1 !== T_BOTTOM && t2 !== T_BOTTOM && t1 !== t2) this.typeMismatch(t1, t2);
          t = t1 === T_BOTTOM ? t2 : t1;
          if (isRefType(t)) this.error('type mismatch: select without type on reference types');
        }
        if (this.dead) {
          this.discard(3);
          this.vs.pushDead(t);
          return;
        }
        this.emitSelect(t);
        return;
      }
      case 0x20:
        this.opLocalGet();
        return;
      case 0x21:
        this.opLocalSet(false);
        return;
      case 0x22:
        this.opLocalSet(true);
        return;
      case 0x23:
        this.opGlobalGet();
        return;
      case 0x24:
        this.opGlobalSet();
        return;
      case 0x25:
        emitTableGet(this);
        return;
      case 0x26:
        emitTableSet(this);
        return;
      case 0x3f:
        emitMemorySize(this);
        return;
      case 0x40:
        emitMemoryGrow(this);
        return;
      case 0x41: { // i32.const
        const v = this.r.s32();
        if (this.dead) this.vs.pushDead(ValType.I32);
        else this.vs.pushConst(ValType.I32, v, 0);
        return;
      }
      case 0x42: { // i64.const
        this.r.s64();
        if (this.dead) this.vs.pushDead(ValType.I64);
        else this.vs.pushConst(ValType.I64, this.r.lo | 0, this.r.hi | 0);
        return;
      }
      case 0x43: { // f32.const
        const bits = this.r.u32Fixed();
        if (this.dead) this.vs.pushDead(ValType.F32);
        else this.vs.pushConst(ValType.F32, bits | 0, 0);
        return;
      }
      case 0x44: { // f64.const
        this.r.u64Fixed();
        if (this.dead) this.vs.pushDead(ValType.F64);
        else this.vs.pushConst(ValType.F64, this.r.lo | 0, this.r.hi | 0);
        return;
      }
      case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e: case 0x2f:
      case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
        emitLoad(this, op);
        return;
      case 0x36: case 0x37: case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x3c: case 0x3d: case 0x3e:
        emitStore(this, op);
        return;
    }
    this.error(`illegal opcode 0x${op.toString(16)}`);
  }

  /** Operators above 0xc4: references and the 0xfc / 0xfd / 0xfe prefixes. */
  private stepHigh(op: number): void {
    const vs = this.vs;
    const a = this.asm;
    switch (op) {
      case 0xd0: // ref.null ht
        opRefNull(this);
        return;
      case 0xd1:
        opRefIsNull(this);
        return;
      case 0xd2:
        opRefFunc(this, this.readFuncIndex());
        return;
      case 0xd4:
        if (!this.m.features.typedFunctionReferences) break;
        opRefAsNonNull(this);
        return;
      case 0xd5:
        if (!this.m.features.typedFunctionReferences) break;
        opBrOnNull(this);
        return;
      case 0xd6:
        if (!this.m.features.typedFunctionReferences) break;
        opBrOnNonNull(this);
        return;
      case 0xd3: // ref.eq
        if (!this.m.features.typedFunctionReferences) break;
        opRefEq(this);
        return;
      case 0xfb:
        if (!this.m.features.typedFunctionReferences) break;
        emitGc(this, this.r.u32());
        return;
      case 0xfd:
        if (!this.m.features.simd) break;
        emitSimd(this, this.r.u32());
        return;
      case 0xfe:
        if (!this.m.features.threads) break;
        emitAtomic(this, this.r.u32());
        return;
      case 0xfc: {
        const sub = this.r.u32();
        if (sub <= 7) emitSatTrunc(this, sub);
        else if (sub <= 11) emitBulkMemory(this, sub);
        else if (sub <= 17) emitTableOp(this, sub);
        else this.error(`illegal opcode 0xfc ${sub}`);
        return;
      }
    }
    this.error(`illegal opcode 0x${op.toString(16)}`);
  }

  private emitSelect(t: number): void {
    const vs = this.vs;
    const a = this.asm;
    let cond = this.takeFusedCond();
    const c = cond < 0 ? vs.popToRegRead() : -1; // (only tested)
    const b = vs.popToRegRead(); // (only read: the source of the cmov / movaps)
    const x = vs.popToReg();
    if (c >= 0) {
      a.test(false, c, c);
      vs.freeGpr(c);
      cond = Cond.NE;
    }
    // x when the condition holds, else b.
    if (isXmmType(t)) {
      const skip = a.newLabel();
      a.jcc(cond as Cond, skip);
      a.sse(SseOp.MOVAPS, x, b);
      a.bind(skip);
      vs.freeXmm(b);
    } else {
      a.cmov(invertCond(cond as Cond), true, x, b);
      vs.freeGpr(b);
    }
    vs.pushReg(t, x);
  }
}

/** Bytes a sequence of values takes in an argument/result area (8 per value, 16 per v128). */
function typesBytes(types: ArrayLike<number>): number {
  let n = 0;
  for (let k = 0; k < types.length; k++) n += slotSize(types[k]);
  return n;
}

export function typeName(t: number): string {
  return t === T_BOTTOM ? '<unknown>' : valTypeText(t);
}

