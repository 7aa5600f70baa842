// Exception handling in the single pass: throw, throw_ref, try_table (catch, catch_ref, catch_all, catch_all_ref)
// and the legacy try / catch / catch_all / rethrow / delegate. Nothing runs on the non-throwing path: a try emits
// no code at all; it records a handler (a code range of its body, its clauses, the enclosing handler), and each
// clause gets a landing pad out of line. The runtime's unwinder (runtime/unwind.ts) finds the handler from a
// frame's return address and jumps to the pad with rbp = the catching frame.
//
// Per function, in the code:
//   [entry - 4]    i32: offset from the entry to the handler table, 0 when the function has no handler
//                  (every function has this word, so the unwinder can read any wasm function's)
//   entry          the function
//   ...            trap sites, SIMD constants, try_table landing pads
//   table          i32 'QBEH', i32 count, i32 words, then per handler: start, end (code offsets from the entry; the range
//                  holds return addresses start < pc <= end), parent handler (-1 none), delegate target (-2: not
//                  a delegate; -1: the caller), clause count, and per clause: tag index (-1 catch_all), flags
//                  (HF_REF: the pad takes the exnref), pad offset from the entry
// The table travels with the code: through batches, workers, lazy compilation and the code cache unchanged.
//
// A landing pad restores rsp (rbp - frame size), r14 from [rbp-8], the memory registers, then takes the payload
// (and exnref id) from the args buffer, where the unwinder put them, into the branch target's canonical slots
// (try_table; a catch to the function label returns) or onto the value stack (legacy catch, inline after the try
// body). Everything is in canonical slots at a throw: exceptions come only out of calls, which spill first.
// Legacy catch bodies keep the caught exception's id for `rethrow` in a frame slot per legacy-try nesting level,
// below the value-stack slots (displacements patched when the frame size is known).

import { AluOp, LoadKind, RAX, RBP, RDI, RSI, RSP, R11, R14, XMM0, XMM15 } from '../x64/registers.js';
import { ValType } from '../decode/types.js';
import { F_FUNC, F_BLOCK, F_TRY, F_CATCH, ControlFrame } from './control.js';
import { slotSize } from './value-stack.js';
import { Builtin, VMCTX_EXEC, VMCTX_HOSTCALL, EXEC_ARGS } from './abi.js';
import { HANDLER_CLAUSE_REF as HF_REF, EXEC_THROW_RBP, EXEC_THROW_PC, HANDLER_TABLE_MAGIC } from '../runtime/layout.js';
import { isSubtype } from '../decode/ref-types.js';
import type { FunctionCompiler } from './function-compiler.js';
import type { StackMapRecorder } from './stack-maps.js';

/** exnref (0x69): an id of the exception object in the externref handle table; 0 = null. */
export const EXNREF = 0x69;

/** The non-null bit of reference types (decode/ref-types.ts): `(ref exn)` is EXNREF | NON_NULL. */
const NON_NULL = 0x100;


const EMPTY: number[] = [];

/** The exception-handling state of one function compiler (reset per function; arrays reused). */
export class ExceptionEmitter {
  private markerPos = -1;
  // Handlers, by index (opening order).
  private count = 0;
  private hStart: number[] = [];
  private hEnd: number[] = [];
  private hParent: number[] = [];
  private hDelegate: number[] = [];
  private hClauses: number[][] = [];
  // try_table landing pads, emitted after the function: label, target label (-1: return), carried types, the
  // target slots' displacements, whether the exnref comes last.
  // (flat arrays reused from function to function: no allocation per try_table)
  private padLabel: number[] = [];
  private padTarget: number[] = [];
  private padFirst: number[] = [];
  private padCount: number[] = [];
  private padTypes: number[] = [];
  private padDisps: number[] = [];
  private numPads = 0;
  private numPadValues = 0;
  /** A try_table's clauses while they are read (tag, flags, label / pad label; three numbers each). */
  private scratch: number[] = [];
  // Patches: `sub rsp, imm32` of inline pads (frame size), disp32 of exnref slot accesses (level k).
  private framePatches: number[] = [];
  private slotPatches: number[] = [];
  private slotLevels: number[] = [];
  private maxLevels = 0;

  constructor(private readonly fc: FunctionCompiler) {}

  /** Before the function's entry label: the handler-table word (entry 16-byte aligned). */
  begin(): void {
    this.count = 0;
    this.numPads = 0;
    this.numPadValues = 0;
    this.framePatches.length = 0;
    this.slotPatches.length = 0;
    this.slotLevels.length = 0;
    this.maxLevels = 0;
    this.markerPos = -1;
    if (this.fc.validateOnly) return;
    const a = this.fc.asm;
    while (((a.offset + 4) & 15) !== 0) a.byte(0xcc);
    this.markerPos = a.offset;
    a.int32(0);
  }

  /** Frame bytes for the legacy catches' exception slots. */
  slotBytes(): number {
    return 8 * this.maxLevels;
  }

  // ---------------------------------------------------------------------------------------------- handlers

  /** The handler in effect at the current position (innermost try body), -1 when none. */
  private current(): number {
    const ctl = this.fc.ctl;
    for (let d = ctl.depth - 1; d >= 0; d--) if (ctl.frames[d].handler >= 0) return ctl.frames[d].handler;
    return -1;
  }

  private open(): number {
    const i = this.count++;
    const a = this.fc.asm;
    this.hStart[i] = a.offset;
    this.hEnd[i] = -1;
    this.hParent[i] = this.current();
    this.hDelegate[i] = -2;
    if (this.hClauses.length <= i) this.hClauses.push([]);
    this.hClauses[i].length = 0;
    return i;
  }

  private close(i: number): void {
    if (i >= 0 && this.hEnd[i] < 0) this.hEnd[i] = this.fc.asm.offset;
  }

  /** Called by `end` (and delegate) before anything else: a try body's range ends here. */
  beforeEnd(f: ControlFrame): void {
    if (f.handler >= 0) this.close(f.handler);
    if (f.kind === F_TRY) this.close(f.tryEntry);
  }

  // ---------------------------------------------------------------------------------------------- throw

  private readTag(): number {
    const fc = this.fc;
    const at = fc.r.pos;
    const x = fc.r.u32();
    const tags = fc.m.info.tags;
    if (tags === undefined || x >= tags.length) fc.error(`unknown tag ${x}`, at);
    return x;
  }

  private tagParams(x: number): ArrayLike<number> {
    const info = this.fc.m.info;
    return info.types[info.tags![x]].params;
  }

  /** Call builtin `id` (operands already in the args buffer) that always throws: the unwinder takes over. */
  private emitThrowCall(id: number): void {
    const fc = this.fc;
    const a = fc.asm;
    fc.vs.spillRegs();
    // The frame and a pc inside the try ranges, so that the builtin can search for the handler itself.
    const here = a.newLabel();
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
    a.store(8, RBP, R11, -1, 1, EXEC_THROW_RBP);
    a.leaLabel(RAX, here);
    a.bind(here);
    a.store(8, RAX, R11, -1, 1, EXEC_THROW_PC);
    a.movRR(true, RDI, R14);
    a.movImm32(RSI, id);
    a.callMem(R14, VMCTX_HOSTCALL);
    // eax = CAUGHT_CODE (the builtin found the handler), HostException (none in this entry's frames) or a trap
    // code: trap stub 0 takes the code from eax. The call is inline so that its return address lies in the
    // enclosing try ranges.
    a.call(fc.m.trapStubs[0]);
    fc.recordPc();
  }

  /** throw x */
  opThrow(): void {
    const fc = this.fc;
    const x = this.readTag();
    const params = this.tagParams(x);
    fc.needTypes(params);
    if (!fc.dead) {
      const vs = fc.vs;
      const a = fc.asm;
      const e = vs.allocGpr();
      a.load(LoadKind.I64, e, R14, -1, 1, VMCTX_EXEC);
      a.storeImm(8, x, e, -1, 1, EXEC_ARGS);
      const first = vs.height - params.length;
      for (let k = 0, off = 8; k < params.length; off += slotSize(params[k]), k++) vs.storeEntryTo(first + k, e, EXEC_ARGS + off);
      vs.freeGpr(e);
      for (let k = 0; k < params.length; k++) vs.drop();
      this.emitThrowCall(Builtin.Throw);
    }
    fc.setUnreachable();
  }

  /** throw_ref */
  opThrowRef(): void {
    const fc = this.fc;
    fc.need1(EXNREF);
    if (!fc.dead) {
      const vs = fc.vs;
      const a = fc.asm;
      const e = vs.allocGpr();
      a.load(LoadKind.I64, e, R14, -1, 1, VMCTX_EXEC);
      vs.storeEntryTo(vs.height - 1, e, EXEC_ARGS);
      vs.freeGpr(e);
      vs.drop();
      this.emitThrowCall(Builtin.ThrowRef);
    }
    fc.setUnreachable();
  }

  /** rethrow l (legacy): throw again the exception caught by the catch at label l. */
  opRethrow(): void {
    const fc = this.fc;
    const at = fc.r.pos;
    const l = fc.r.u32();
    if (l >= fc.ctl.depth) fc.error(`unknown label ${l}`, at);
    const target = fc.ctl.at(l);
    if (target.kind !== F_CATCH) fc.error('invalid rethrow label', at);
    if (!fc.dead) {
      const a = fc.asm;
      this.loadExnSlot(RAX, target.exnLevel);
      a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
      a.store(8, RAX, R11, -1, 1, EXEC_ARGS);
      this.emitThrowCall(Builtin.ThrowRef);
    }
    fc.setUnreachable();
  }

  // ---------------------------------------------------------------------------------------------- try_table

  /** try_table bt catch* ... end */
  opTryTable(): void {
    const fc = this.fc;
    const r = fc.r;
    fc.readBlockType();
    const n = r.u32();
    const live = !fc.dead;
    // Clauses are validated against the labels outside the try_table (read before its frame is pushed).
    const clauses = this.scratch;
    clauses.length = 0;
    for (let k = 0; k < n; k++) {
      const kindAt = r.pos;
      const kind = r.u8();
      if (kind > 3) fc.error('malformed catch clause', kindAt);
      const tag = kind <= 1 ? this.readTag() : -1;
      const lAt = r.pos;
      const l = r.u32();
      if (l >= fc.ctl.depth) fc.error(`unknown label ${l}`, lAt);
      const target = fc.ctl.at(l);
      const carried = tag >= 0 ? this.tagParams(tag) : EMPTY;
      const ref = kind === 1 || kind === 3;
      this.checkLabel(target, carried, ref);
      clauses.push(tag, ref ? HF_REF : 0, l);
    }
    // Pads are described now (the target's slots are known here); their code is emitted after the function.
    if (live && !fc.validateOnly) {
      for (let k = 0; k < clauses.length; k += 3) {
        const target = fc.ctl.at(clauses[k + 2]);
        const carried = clauses[k] >= 0 ? this.tagParams(clauses[k]) : EMPTY;
        clauses[k + 2] = this.addPad(target, carried, (clauses[k + 1] & HF_REF) !== 0);
        target.branchedTo = true;
      }
    }
    const f = fc.enterBlock(F_BLOCK);
    if (live && !fc.validateOnly) {
      const i = this.open();
      this.hParent[i] = this.currentOutside();
      const cs = this.hClauses[i];
      for (let k = 0; k < clauses.length; k++) cs.push(clauses[k]);
      f.handler = i;
    }
  }

  /** The handler in effect outside the frame just pushed (its parent's context). */
  private currentOutside(): number {
    const ctl = this.fc.ctl;
    for (let d = ctl.depth - 2; d >= 0; d--) if (ctl.frames[d].handler >= 0) return ctl.frames[d].handler;
    return -1;
  }

  /** A catch clause to `target` carries `carried` (+ exnref when `ref`): they must match its label types. */
  private checkLabel(target: ControlFrame, carried: ArrayLike<number>, ref: boolean): void {
    const want = target.branchTypes();
    const n = carried.length + (ref ? 1 : 0);
    let ok = want.length === n;
    const types = this.fc.m.info.types;
    for (let k = 0; ok && k < carried.length; k++) ok = isSubtype(carried[k], want[k], types);
    if (ok && ref) ok = isSubtype(EXNREF | NON_NULL, want[n - 1], types);
    if (!ok) this.fc.error('type mismatch: catch clause does not match its label');
  }

  private addPad(target: ControlFrame, carried: ArrayLike<number>, ref: boolean): number {
    const fc = this.fc;
    const vs = fc.vs;
    const label = fc.asm.newLabel();
    const first = this.numPadValues;
    const n = carried.length + (ref ? 1 : 0);
    for (let k = 0; k < n; k++) this.padTypes[first + k] = k < carried.length ? carried[k] : EXNREF;
    const toFunc = target.kind === F_FUNC;
    if (!toFunc) {
      // the target's canonical slots (as a branch to it moves its values)
      let depth = vs.depthBefore(target.base);
      for (let k = 0; k < n; k++) {
        depth += slotSize(this.padTypes[first + k]);
        this.padDisps[first + k] = vs.stackTop - depth;
      }
    }
    const i = this.numPads++;
    target.unknownEntry = true; // the pad jumps to target.label with no cache (block-merge.ts)
    this.padLabel[i] = label;
    this.padTarget[i] = toFunc ? -1 : target.label;
    this.padFirst[i] = first;
    this.padCount[i] = n;
    this.numPadValues = first + n;
    return label;
  }

  /** rsp, r14 and the memory registers of the catching frame (rbp is set by the unwinder). */
  private emitPadPrologue(frame: number): void {
    const fc = this.fc;
    const a = fc.asm;
    a.movRR(true, RSP, RBP);
    if (frame < 0) this.framePatches.push(a.aluImm32(AluOp.SUB, true, RSP, 0));
    else a.aluImm32(AluOp.SUB, true, RSP, frame);
    a.load(LoadKind.I64, R14, RBP, -1, 1, -8);
    fc.reloadMemory0(true);
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
  }

  // ---------------------------------------------------------------------------------------------- legacy try

  /** try bt (legacy) */
  opTry(): void {
    const fc = this.fc;
    fc.readBlockType();
    const live = !fc.dead;
    let level = 0;
    for (let d = 0; d < fc.ctl.depth; d++) {
      const k = fc.ctl.frames[d].kind;
      if (k === F_TRY || k === F_CATCH) level++;
    }
    const f = fc.enterBlock(F_BLOCK);
    f.kind = F_TRY;
    f.exnLevel = level;
    if (live && !fc.validateOnly) {
      const i = this.open();
      this.hParent[i] = this.currentOutside();
      f.handler = i;
      f.tryEntry = i;
    }
  }

  /** catch x / catch_all (legacy): ends the try body (or the previous catch) and starts a handler body. */
  opCatch(all: boolean): void {
    const fc = this.fc;
    const f = fc.ctl.top();
    if (f.kind !== F_TRY && f.kind !== F_CATCH) fc.error(all ? 'catch_all without try' : 'catch without try');
    if (f.catchAll) fc.error(all ? 'catch_all after catch_all' : 'catch after catch_all');
    const tag = all ? -1 : this.readTag();
    const params = tag >= 0 ? this.tagParams(tag) : EMPTY;
    fc.finishArm(f);
    if (f.kind === F_TRY) {
      this.close(f.tryEntry);
      f.handler = -1; // the catch bodies are not covered by their own try
      f.kind = F_CATCH;
      if (f.exnLevel + 1 > this.maxLevels) this.maxLevels = f.exnLevel + 1;
    }
    if (all) f.catchAll = true;
    const vs = fc.vs;
    fc.dead = !f.liveAtEntry || fc.validateOnly;
    if (fc.dead || f.tryEntry < 0) {
      for (let k = 0; k < params.length; k++) vs.pushDead(params[k]);
      fc.dead = true;
      return;
    }
    const a = fc.asm;
    const pad = a.newLabel();
    a.bind(pad);
    this.hClauses[f.tryEntry].push(tag, HF_REF, pad);
    this.emitPadPrologue(-1);
    // The exception's id first (every register is free here), then the payload onto the value stack.
    let words = 0;
    for (let k = 0; k < params.length; k++) words += slotSize(params[k]);
    a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_ARGS + words);
    this.storeExnSlot(RAX, f.exnLevel);
    let off = 0;
    for (let k = 0; k < params.length; k++) {
      const t = params[k];
      const reg = vs.allocFor(t);
      if (t === ValType.V128) a.movdquLoad(reg, R11, -1, 1, EXEC_ARGS + off);
      else if (t === ValType.F32) a.movssLoad(reg, R11, -1, 1, EXEC_ARGS + off);
      else if (t === ValType.F64) a.movsdLoad(reg, R11, -1, 1, EXEC_ARGS + off);
      else if (t === ValType.I32) a.load(LoadKind.U32, reg, R11, -1, 1, EXEC_ARGS + off);
      else a.load(LoadKind.I64, reg, R11, -1, 1, EXEC_ARGS + off);
      vs.pushReg(t, reg);
      off += slotSize(t);
    }
  }

  /** delegate l (legacy): exceptions of the try body go to the handler at label l (counted outside the try). */
  opDelegate(): void {
    const fc = this.fc;
    const f = fc.ctl.top();
    if (f.kind !== F_TRY) fc.error('delegate without try');
    const at = fc.r.pos;
    const l = fc.r.u32();
    if (l >= fc.ctl.depth - 1) fc.error(`unknown label ${l}`, at);
    if (f.tryEntry >= 0) {
      this.close(f.tryEntry);
      // The nearest handler at or outside the label's frame; -1 (the caller) from the function's frame.
      let target = -1;
      for (let d = fc.ctl.depth - 2 - l; d >= 0; d--) {
        if (fc.ctl.frames[d].handler >= 0) {
          target = fc.ctl.frames[d].handler;
          break;
        }
      }
      this.hDelegate[f.tryEntry] = target;
    }
    f.kind = F_BLOCK;
    fc.opEnd();
  }

  private exnSlotAccess(level: number): void {
    // The disp32 is the instruction's last 4 bytes (no immediate follows).
    this.slotPatches.push(this.fc.asm.offset - 4);
    this.slotLevels.push(level);
  }

  private storeExnSlot(r: number, level: number): void {
    this.fc.asm.store(8, r, RBP, -1, 1, -0x10000000);
    this.exnSlotAccess(level);
  }

  private loadExnSlot(r: number, level: number): void {
    this.fc.asm.load(LoadKind.I64, r, RBP, -1, 1, -0x10000000);
    this.exnSlotAccess(level);
  }

  // ---------------------------------------------------------------------------------------------- finish

  /**
   * After the function's code, with the frame size known (its last 8*maxLevels bytes hold the exception slots):
   * the try_table pads, then the handler table; patch the marker, pads and slot accesses.
   */
  finish(frame: number, slotsEnd: number, maps: StackMapRecorder): void {
    if (this.markerPos < 0) return;
    const fc = this.fc;
    const a = fc.asm;
    for (let i = 0; i < this.framePatches.length; i++) a.patchInt32(this.framePatches[i], frame);
    for (let i = 0; i < this.slotPatches.length; i++) a.patchInt32(this.slotPatches[i], -(slotsEnd + 8 * (this.slotLevels[i] + 1)));
    for (let i = 0; i < this.numPads; i++) this.emitPad(i, frame);
    if (this.count === 0 && maps.empty) return;
    const entry = this.markerPos + 4;
    while ((a.offset & 3) !== 0) a.byte(0xcc);
    const table = a.offset;
    let words = 0;
    for (let i = 0; i < this.count; i++) words += 5 + this.hClauses[i].length;
    a.int32(HANDLER_TABLE_MAGIC);
    a.int32(this.count);
    a.int32(words);
    for (let i = 0; i < this.count; i++) {
      const cs = this.hClauses[i];
      a.int32(this.hStart[i] - entry);
      a.int32((this.hEnd[i] < 0 ? a.offset : this.hEnd[i]) - entry);
      a.int32(this.hParent[i]);
      a.int32(this.hDelegate[i]);
      a.int32(cs.length / 3);
      for (let k = 0; k < cs.length; k += 3) {
        a.int32(cs[k]);
        a.int32(cs[k + 1]);
        a.int32(a.labelOffset(cs[k + 2]) - entry);
      }
    }
    if (!maps.empty) maps.emit(a, entry);
    a.patchInt32(this.markerPos, table - entry);
  }

  private emitPad(i: number, frame: number): void {
    const fc = this.fc;
    const a = fc.asm;
    a.bind(this.padLabel[i]);
    this.emitPadPrologue(frame);
    const types = this.padTypes;
    const first = this.padFirst[i];
    const n = this.padCount[i];
    const target = this.padTarget[i];
    if (target >= 0) {
      for (let k = first, off = 0; k < first + n; off += slotSize(types[k]), k++) {
        if (types[k] === ValType.V128) {
          a.movdquLoad(XMM15, R11, -1, 1, EXEC_ARGS + off);
          a.movdquStore(XMM15, RBP, -1, 1, this.padDisps[k]);
        } else {
          a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_ARGS + off);
          a.store(8, RAX, RBP, -1, 1, this.padDisps[k]);
        }
      }
      a.jmp(target);
      return;
    }
    // A catch to the function's label: return the carried values.
    if (n === 1) {
      const t = types[first];
      if (t === ValType.V128) a.movdquLoad(XMM0, R11, -1, 1, EXEC_ARGS);
      else if (t === ValType.F32) a.movssLoad(XMM0, R11, -1, 1, EXEC_ARGS);
      else if (t === ValType.F64) a.movsdLoad(XMM0, R11, -1, 1, EXEC_ARGS);
      else a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_ARGS);
    } else {
      for (let k = first, off = 0; k < first + n; off += slotSize(types[k]), k++) {
        if (types[k] === ValType.V128) {
          a.movdquLoad(XMM15, R11, -1, 1, EXEC_ARGS + off);
          a.movdquStore(XMM15, RBP, -1, 1, 16 + off);
        } else {
          a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_ARGS + off);
          a.store(8, RAX, RBP, -1, 1, 16 + off);
        }
      }
    }
    a.movRR(true, RSP, RBP);
    a.pop(RBP);
    a.ret();
  }
}

