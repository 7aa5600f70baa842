// Runtime machine code for JS Promise Integration (JSPI: `WebAssembly.promising` / `WebAssembly.Suspending`),
// emitted into the runtime block by trampolines.ts. A promising call runs wasm on a stack of its own (a
// "secondary stack", runtime/stack-switching.ts), so that a Suspending import can leave the wasm frames where
// they are, return to JS, and have them continue when its promise settles.
//
// Three stacks matter: koffi's sync stack ("M", where every call from JS lands and where JS callbacks must
// run: V8's stack checks refuse JS on any other stack), the secondary stack ("S") of each promising call, and
// V8's own. The code:
//
// - enterStack(vmctx, entryStub, code, suspender): an M frame (callee-saved registers, the exec state's
//   savedRsp / stackLimit / suspender), records its rsp in the suspender, switches rsp to the top of S and
//   calls the ordinary `enter` there (which sets a stack limit for S: savedRsp is 0 at that point). When
//   `enter` returns (normally or after a trap) it switches back to the suspender's *current* M frame and
//   returns the code from there.
// - resumeStack(suspender, code): a new M frame (the JS call that resumes: a promise reaction), then jumps
//   into the S frame the host-call shim left, which returns `code` to the import's thunk as if the host call
//   had just returned.
// - the host-call shim (vmctx slot 8): generated code's one way into JS. Off a secondary stack (exec
//   suspender 0) it is a tail jump to the koffi callback. On S it saves the wasm registers on S, runs the
//   callback on M (below the M frame), and then either continues on S, or, when the callback answered
//   SUSPENDED_CODE (a Suspending import got a promise), returns SUSPENDED_CODE from the M frame instead,
//   leaving S as it is.
// - a switching call for the unwinder's callback (findCatch), which the trap handler calls directly.
//
// While JS runs on M for a host call from S, the exec state's suspender is 0 (wasm that JS calls there runs on
// M and cannot suspend) and the stack limit is M's (kept in the suspender record); savedRsp still names the
// S-side entry, so that the exception search of a throw builtin walks the S frames.

import { Assembler } from '../x64/assembler.js';
import { popExecFields, pushExecFields, restoreCalleeSaved, saveCalleeSaved } from './frame-code.js';
import { AluOp, Cond, LoadKind, R11, R12, RAX, RBP, RBX, RCX, RDI, RSI, RSP } from '../x64/registers.js';
import { EXEC_SAVED_RSP, EXEC_STACK_LIMIT, EXEC_SUSPENDER, SUSPENDED_CODE } from './layout.js';

/** Suspender record (native, at the top of its secondary stack): rsp of the current M frame. */
export const SUSPENDER_M_RSP = 0;
/** rsp of the S frame the host-call shim left when it switched to M. */
export const SUSPENDER_S_RSP = 8;
/** Top of the secondary stack (16-byte aligned): where enterStack starts. */
export const SUSPENDER_S_TOP = 16;
/** The stack limit for wasm that JS, called from S, runs on M. */
export const SUSPENDER_M_LIMIT = 24;
export const SUSPENDER_SIZE = 32;

const TWO32 = 4294967296;

function movAddr(a: Assembler, reg: number, addr: number): void {
  a.movImm64(reg, addr % TWO32 >>> 0, Math.floor(addr / TWO32) >>> 0);
}

export interface StackSwitchingParams {
  exec: number;
  /** Label of the ordinary entry trampoline (same block). */
  enter: number;
  /** The koffi callbacks: hostcall for calls off a secondary stack, hostcallFromStack for calls on one. */
  hostcall: number;
  hostcallFromStack: number;
  findCatch: number;
  /** As in trampolines.ts: the budget below an outermost entry, and the floor on koffi's stack (0: unknown). */
  stackBudget: number;
  stackFloor: number;
}

export interface StackSwitchingLabels {
  enterStack: number;
  resumeStack: number;
  hostcallShim: number;
  findCatchShim: number;
}

export function emitStackSwitching(a: Assembler, p: StackSwitchingParams): StackSwitchingLabels {
  const enterStack = a.newLabel();
  const resumeStack = a.newLabel();
  const hostcallShim = a.newLabel();
  const findCatchShim = a.newLabel();
  const mExit = a.newLabel();
  const sResume = a.newLabel();

  // M frame: rbp rbx r12-r15, then savedRsp, stackLimit, suspender: rsp 16-byte aligned after it. Leaves r11 =
  // exec. rbx = the suspender (rdi_or_rcx), recorded with the frame's rsp and M's stack limit.
  const mPrologue = (suspenderReg: number): void => {
    saveCalleeSaved(a);
    movAddr(a, R11, p.exec);
    pushExecFields(a, R11, RAX, [EXEC_SAVED_RSP, EXEC_STACK_LIMIT, EXEC_SUSPENDER]);
    a.movRR(true, RBX, suspenderReg);
    a.store(8, RSP, RBX, -1, 1, SUSPENDER_M_RSP);
    a.store(8, RBX, R11, -1, 1, EXEC_SUSPENDER);
    // M's limit for wasm called by JS while this call is on S (as enter computes it for an outermost call).
    a.lea(true, RAX, RSP, -1, 1, -p.stackBudget);
    if (p.stackFloor !== 0) {
      movAddr(a, RCX, p.stackFloor);
      a.alu(AluOp.CMP, true, RAX, RCX);
      a.cmov(Cond.B, true, RAX, RCX);
    }
    a.store(8, RAX, RBX, -1, 1, SUSPENDER_M_LIMIT);
  };

  // A shim's start: off a secondary stack (exec suspender 0) a tail jump to `target`; on one, it falls through
  // with r11 = exec and rax = the suspender.
  const offStackTailJump = (target: number): void => {
    const onStack = a.newLabel();
    movAddr(a, R11, p.exec);
    a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_SUSPENDER);
    a.test(true, RAX, RAX);
    a.jcc(Cond.NE, onStack);
    movAddr(a, RAX, target);
    a.jmpReg(RAX);
    a.bind(onStack);
  };

  // enterStack(rdi = vmctx, rsi = entryStub, rdx = code, rcx = suspender)
  a.align(16, 0xcc);
  a.bind(enterStack);
  mPrologue(RCX);
  a.alu(AluOp.XOR, false, RCX, RCX);
  a.store(8, RCX, R11, -1, 1, EXEC_SAVED_RSP); // so that enter, on S, sets a limit for S
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_S_TOP);
  a.call(p.enter); // rdi, rsi, rdx as given; rbx survives (callee-saved in enter)
  // Back on S (returned or trapped), eax = 0 or a trap code: return it from the current M frame.
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_M_RSP);
  a.bind(mExit);
  movAddr(a, R11, p.exec);
  popExecFields(a, R11, [EXEC_SUSPENDER, EXEC_STACK_LIMIT, EXEC_SAVED_RSP]);
  restoreCalleeSaved(a);
  a.ret();

  // resumeStack(rdi = suspender, esi = the host call's result code)
  a.align(16, 0xcc);
  a.bind(resumeStack);
  mPrologue(RDI);
  a.movRR(false, RAX, RSI);
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_S_RSP);
  a.jmp(sResume);

  // Host-call shim: rdi = vmctx, esi = id, rsp 16-byte aligned before the call.
  a.align(16, 0xcc);
  a.bind(hostcallShim);
  const suspend = a.newLabel();
  offStackTailJump(p.hostcall);
  saveCalleeSaved(a);
  a.movRR(true, RBX, RAX);
  pushExecFields(a, R11, RCX, [EXEC_SAVED_RSP, EXEC_STACK_LIMIT]);
  a.aluImm(AluOp.SUB, true, RSP, 8); // 16-byte aligned
  a.store(8, RSP, RBX, -1, 1, SUSPENDER_S_RSP);
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_M_RSP);
  a.load(LoadKind.I64, RCX, RBX, -1, 1, SUSPENDER_M_LIMIT);
  a.store(8, RCX, R11, -1, 1, EXEC_STACK_LIMIT);
  a.alu(AluOp.XOR, false, RCX, RCX);
  a.store(8, RCX, R11, -1, 1, EXEC_SUSPENDER);
  movAddr(a, RAX, p.hostcallFromStack);
  a.callReg(RAX); // rdi, esi as given
  a.aluImm(AluOp.CMP, false, RAX, SUSPENDED_CODE);
  a.jcc(Cond.E, suspend);
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_S_RSP);
  // On S, rsp = the shim's frame, eax = the result, rbx = the suspender: continue the wasm code.
  a.bind(sResume);
  movAddr(a, R11, p.exec);
  a.store(8, RBX, R11, -1, 1, EXEC_SUSPENDER);
  a.aluImm(AluOp.ADD, true, RSP, 8);
  popExecFields(a, R11, [EXEC_STACK_LIMIT, EXEC_SAVED_RSP]);
  restoreCalleeSaved(a);
  a.ret();
  // Suspended: the S frames stay; return SUSPENDED_CODE to the JS that entered or resumed this stack.
  a.bind(suspend);
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_M_RSP);
  a.jmp(mExit);

  // findCatch(rdi = rbp, rsi = pc) for the trap handler: on M when called on S (savedRsp, which bounds the
  // search, stays S's).
  a.align(16, 0xcc);
  a.bind(findCatchShim);
  offStackTailJump(p.findCatch);
  a.push(RBP);
  a.movRR(true, RBP, RSP);
  a.push(RBX);
  a.push(R12); // 16-byte aligned
  a.movRR(true, RBX, RAX);
  a.movRR(true, R12, RSP);
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_M_RSP);
  movAddr(a, RAX, p.findCatch);
  a.callReg(RAX);
  a.movRR(true, RSP, R12);
  a.pop(R12);
  a.pop(RBX);
  a.pop(RBP);
  a.ret();

  return { enterStack, resumeStack, hostcallShim, findCatchShim };
}

// (RDI/RSI are named in the comments above; they pass through untouched.)
void RDI;
void RSI;
