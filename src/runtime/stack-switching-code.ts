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
//   enters there (the exit's address at savedRsp, a stack limit for S, the entry stub). When the stub returns
//   (normally, or after a trap through the exit address) it switches back to the suspender's *current* M frame
//   and returns the code from there.
// - resumeStack(suspender, code): a new M frame (the JS call that resumes: a promise reaction), then jumps
//   into the S frame the host-call shim left, which returns `code` to the import's thunk as if the host call
//   had just returned.
// - the host-call shim (vmctx slot 8): generated code's one way into JS. Off a secondary stack (exec
//   suspender 0) it is a tail jump to the koffi callback. On S it saves the wasm registers on S, notes the call
//   (vmctx, id) in the exec state and returns HOSTCALL_CODE from the M frame, leaving S as it is: the JS that
//   entered or resumed S runs the host call (api/exported-function.ts runHostCalls) and resumes S with its result code, or,
//   when a Suspending import got a promise, only once the promise settles. No koffi callback is involved,
//   which makes a host call several times cheaper (BENCHMARKS.md section 4).
// - a switching call for the unwinder's callback (findCatch), which the trap handler calls directly.
//
// While JS runs a host call from S, the exec state is as it was before S was entered or resumed (the M frame's
// exit restores it); the S-side entry's savedRsp is noted in EXEC_HOST_TOP, so that the exception search of a
// throw builtin can walk the S frames.

import { Assembler } from '../x64/assembler.js';
import { popExecFields, pushExecFields, restoreCalleeSaved, saveCalleeSaved } from './frame-code.js';
import { AluOp, Cond, LoadKind, R11, R12, R14, RAX, RBP, RBX, RCX, RDI, RDX, RSI, RSP } from '../x64/registers.js';
import {
  EXEC_ENTER_CODE, EXEC_ENTER_STUB, EXEC_ENTER_SUSPENDER, EXEC_ENTER_VMCTX, EXEC_HOST_ID, EXEC_HOST_SUSPENDER, EXEC_HOST_TOP, EXEC_HOST_VMCTX,
  EXEC_RESUME_CODE, EXEC_STACK_RESULT,
  EXEC_SAVED_RSP, EXEC_STACK_LIMIT, EXEC_SUSPENDER, HOSTCALL_CODE,
} from './layout.js';

/** Suspender record (native, at the top of its secondary stack): rsp of the current M frame. */
export const SUSPENDER_M_RSP = 0;
/** rsp of the S frame the host-call shim left when it switched to M. */
export const SUSPENDER_S_RSP = 8;
/** Top of the secondary stack (16-byte aligned): where enterStack starts. */
export const SUSPENDER_S_TOP = 16;
/**
 * While the stack is parked in a host call that JS runs: the S-side entry's savedRsp (its wasm frames' top, for
 * the collector's walk, runtime/gc-roots.ts); else 0. Written by the host-call shim, zeroed by every entry and
 * resumption (so JS does nothing per host call for it).
 */
export const SUSPENDER_PARKED_TOP = 24;
export const SUSPENDER_SIZE = 32;

const TWO32 = 4294967296;

function movAddr(a: Assembler, reg: number, addr: number): void {
  a.movImm64(reg, addr % TWO32 >>> 0, Math.floor(addr / TWO32) >>> 0);
}

export interface StackSwitchingParams {
  exec: number;
  /** Bytes of stack wasm may use below a secondary stack's entry (trampolines.ts stackBudget). */
  stackBudget: number;
  /** The koffi callback for host calls made off a secondary stack (those on one return to JS instead). */
  hostcall: number;
  findCatch: number;
}

export interface StackSwitchingLabels {
  enterStack: number;
  resumeStack: number;
  enterStack0: number;
  resumeStack0: number;
  hostcallShim: number;
  findCatchShim: number;
}

export function emitStackSwitching(a: Assembler, p: StackSwitchingParams): StackSwitchingLabels {
  const enterStack = a.newLabel();
  const resumeStack = a.newLabel();
  const enterStack0 = a.newLabel();
  const resumeStack0 = a.newLabel();
  const hostcallShim = a.newLabel();
  const findCatchShim = a.newLabel();
  const mExit = a.newLabel();
  const sExit = a.newLabel();
  const sResume = a.newLabel();

  // M frame: rbp rbx r12-r15, then savedRsp, stackLimit, suspender: rsp 16-byte aligned after it. Leaves r11 =
  // exec. rbx = the suspender (rdi_or_rcx), recorded with the frame's rsp. (No JS runs on M while S waits for
  // a host call: JS runs it after this frame returned, so M needs no stack limit of its own here.)
  const mPrologue = (suspenderReg: number): void => {
    saveCalleeSaved(a);
    movAddr(a, R11, p.exec);
    pushExecFields(a, R11, RAX, [EXEC_SAVED_RSP, EXEC_STACK_LIMIT, EXEC_SUSPENDER]);
    a.movRR(true, RBX, suspenderReg);
    a.store(8, RSP, RBX, -1, 1, SUSPENDER_M_RSP);
    a.store(8, RBX, R11, -1, 1, EXEC_SUSPENDER);
  };

  // A shim's start: off a secondary stack (exec suspender 0) a tail jump to `target`; on one, it falls through
  // with r11 = exec and rax = the suspender.
  // `noteOffStack`: the host-call shim's, which zeroes EXEC_HOST_SUSPENDER/TOP (a callback's call has neither).
  const offStackTailJump = (target: number, noteOffStack = false): void => {
    const onStack = a.newLabel();
    movAddr(a, R11, p.exec);
    a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_SUSPENDER);
    a.test(true, RAX, RAX);
    a.jcc(Cond.NE, onStack);
    if (noteOffStack) {
      a.store(8, RAX, R11, -1, 1, EXEC_HOST_SUSPENDER);
      a.store(8, RAX, R11, -1, 1, EXEC_HOST_TOP);
    }
    movAddr(a, RAX, target);
    a.jmpReg(RAX);
    a.bind(onStack);
  };

  // enterStack0() / resumeStack0(): the same with their arguments read from the exec state (koffi calls without
  // arguments are the cheapest).
  a.align(16, 0xcc);
  a.bind(enterStack0);
  movAddr(a, R11, p.exec);
  a.load(LoadKind.I64, RDI, R11, -1, 1, EXEC_ENTER_VMCTX);
  a.load(LoadKind.I64, RSI, R11, -1, 1, EXEC_ENTER_STUB);
  a.load(LoadKind.I64, RDX, R11, -1, 1, EXEC_ENTER_CODE);
  a.load(LoadKind.I64, RCX, R11, -1, 1, EXEC_ENTER_SUSPENDER);
  a.jmp(enterStack);
  a.align(16, 0xcc);
  a.bind(resumeStack0);
  movAddr(a, R11, p.exec);
  a.load(LoadKind.I64, RDI, R11, -1, 1, EXEC_ENTER_SUSPENDER);
  a.load(LoadKind.U32, RSI, R11, -1, 1, EXEC_RESUME_CODE);
  a.jmp(resumeStack);

  // enterStack(rdi = vmctx, rsi = entryStub, rdx = code, rcx = suspender): the M frame, then the entry itself on
  // S, which keeps nothing there but its exit's address (the M frame holds the callee-saved registers and the
  // exec fields to restore): savedRsp = S's top - 16, stackLimit = savedRsp - budget (S is always fresh here).
  a.align(16, 0xcc);
  a.bind(enterStack);
  mPrologue(RCX);
  a.storeImm(8, 0, RBX, -1, 1, SUSPENDER_PARKED_TOP);
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_S_TOP);
  a.leaLabel(RAX, sExit);
  a.aluImm(AluOp.SUB, true, RSP, 8);
  a.push(RAX); // the exit address the trap handler returns to
  a.store(8, RSP, R11, -1, 1, EXEC_SAVED_RSP);
  a.lea(true, RAX, RSP, -1, 1, -p.stackBudget);
  a.store(8, RAX, R11, -1, 1, EXEC_STACK_LIMIT);
  a.movRR(true, R14, RDI);
  a.callReg(RSI); // rdx = code, as entry stubs take it
  a.alu(AluOp.XOR, false, RAX, RAX);
  // Back on S (returned, or trapped: rsp = savedRsp + 8), eax = 0 or a trap code: return it from the current M
  // frame (the exec state's suspender is this stack's whenever its wasm runs; rbx did not survive the wasm code).
  a.bind(sExit);
  movAddr(a, R11, p.exec);
  a.load(LoadKind.I64, RBX, R11, -1, 1, EXEC_SUSPENDER);
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_M_RSP);
  a.bind(mExit);
  movAddr(a, R11, p.exec);
  a.store(4, RAX, R11, -1, 1, EXEC_STACK_RESULT);
  popExecFields(a, R11, [EXEC_SUSPENDER, EXEC_STACK_LIMIT, EXEC_SAVED_RSP]);
  restoreCalleeSaved(a);
  a.ret();

  // resumeStack(rdi = suspender, esi = the host call's result code)
  a.align(16, 0xcc);
  a.bind(resumeStack);
  mPrologue(RDI);
  a.storeImm(8, 0, RBX, -1, 1, SUSPENDER_PARKED_TOP);
  a.movRR(false, RAX, RSI);
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_S_RSP);
  a.jmp(sResume);

  // Host-call shim: rdi = vmctx, esi = id, rsp 16-byte aligned before the call. On S: leave the wasm registers
  // on S, note the call in the exec state and return HOSTCALL_CODE to the JS that entered or resumed S, which
  // runs the host call and resumes S with its result (resumeStack: continues at sResume).
  a.align(16, 0xcc);
  a.bind(hostcallShim);
  offStackTailJump(p.hostcall, true);
  saveCalleeSaved(a);
  a.movRR(true, RBX, RAX);
  pushExecFields(a, R11, RCX, [EXEC_SAVED_RSP, EXEC_STACK_LIMIT]);
  a.aluImm(AluOp.SUB, true, RSP, 8); // 16-byte aligned
  a.store(8, RSP, RBX, -1, 1, SUSPENDER_S_RSP);
  a.store(8, RDI, R11, -1, 1, EXEC_HOST_VMCTX);
  a.store(4, RSI, R11, -1, 1, EXEC_HOST_ID);
  a.store(8, RBX, R11, -1, 1, EXEC_HOST_SUSPENDER);
  a.load(LoadKind.I64, RCX, R11, -1, 1, EXEC_SAVED_RSP);
  a.store(8, RCX, R11, -1, 1, EXEC_HOST_TOP);
  a.store(8, RCX, RBX, -1, 1, SUSPENDER_PARKED_TOP);
  a.load(LoadKind.I64, RSP, RBX, -1, 1, SUSPENDER_M_RSP);
  a.movImm32(RAX, HOSTCALL_CODE);
  a.jmp(mExit);
  // Resumed (resumeStack): on S, rsp = the shim's frame, eax = the result, rbx = the suspender: continue the
  // wasm code.
  a.bind(sResume);
  movAddr(a, R11, p.exec);
  a.store(8, RBX, R11, -1, 1, EXEC_SUSPENDER);
  a.aluImm(AluOp.ADD, true, RSP, 8);
  popExecFields(a, R11, [EXEC_STACK_LIMIT, EXEC_SAVED_RSP]);
  restoreCalleeSaved(a);
  a.ret();

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

  return { enterStack, resumeStack, enterStack0, resumeStack0, hostcallShim, findCatchShim };
}

// (RDI/RSI are named in the comments above; they pass through untouched.)
void RDI;
void RSI;
