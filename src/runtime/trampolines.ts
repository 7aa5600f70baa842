// Runtime machine code, generated once per process: the entry trampoline (JS -> wasm) and the trap handler
// (wasm -> unwind to the innermost entry), plus `callWasm`, which turns a trap into a RuntimeError with a
// wasm backtrace.
//
// Entry: `int32 enter(int64 vmctx, int64 entryStub, int64 code)` (SysV). Saves rbx rbp r12-r15, pushes the
// previous savedRsp and stackLimit, stores savedRsp (and, when outermost, the stack limit), sets r14 =
// vmctx and calls entryStub with rdx = code. Returns 0, or the trap code after a trap.
// `enter0()` is the same with its three arguments read from the exec state (EXEC_ENTER_*): koffi calls
// without arguments are cheaper.
//
// Trap handler (vmctx slot 16): entered by `jmp` with edi = trap code and [rsp] = a return address inside
// the trapping function. Records [rsp], then [rbp+8] following the rbp chain up to the innermost entry
// (at most EXEC_TRACE_MAX), reloads rsp = savedRsp and returns the code through the entry's exit, whose address
// every entry leaves at savedRsp (enter's epilogue, or a secondary stack's switch back, stack-switching-code.ts).
//
// Stack: calls from the JS API run wasm on secondary stacks (stack-switching-code.ts; api/exported-function.ts enterOnStack), whose
// host calls return to JS; `enter` itself, called on koffi's sync stack (SYNC_STACK_SIZE), is kept for tests and
// hand-made contexts. The outermost entry on a stack sets stackLimit = entry rsp - stackBudget, where the budget
// (measured at startup) leaves STACK_HEADROOM above the low end of koffi's stack for host callbacks, nested
// entries and entry stubs; secondary stacks are that budget plus room for the shims.

import { clearInterrupt } from './interrupts.js';
import { RuntimeError } from '../errors.js';
import { Assembler } from '../x64/assembler.js';
import { popExecFields, restoreCalleeSaved, saveCalleeSaved } from './frame-code.js';
import { AluOp, Cond, LoadKind, R11, R14, R15, R8, RAX, RBP, RCX, RDI, RDX, RSI, RSP } from '../x64/registers.js';
import { allocateCode, allocatePermanentCode } from './code-memory.js';
import { clearTrace, execStateAddr, readTrace, setEnterArgs, writeExec64 } from './exec-state.js';
import { enterPlain } from './gc-roots.js';
import {
  EXEC_ENTER_CODE, EXEC_ENTER_STUB, EXEC_ENTER_VMCTX, EXEC_SAVED_RSP, EXEC_STACK_LIMIT, EXEC_TRACE,
  EXEC_TRACE_COUNT, EXEC_TRACE_MAX, EXEC_TRAP_CODE, EXEC_CATCH_RBP, EXEC_CATCH_PC, CAUGHT_CODE, HOSTCALL_DISPOSED, TrapCode, VMCTX_EXEC, VMCTX_HOSTCALL, VMCTX_TRAP_HANDLER,
  EXEC_TAIL_CALL_RETURN, VMCTX_MEMORIES, HOSTCALL_CODE, SUSPENDED_CODE,
  trapMessage,
} from './layout.js';
import { hostcallAddr, markUncatchable, takePendingException } from './host-calls.js';
import { syncDeferredGrowth } from './deferred-growth.js';
import { emitStackSwitching } from './stack-switching-code.js';
import { findCatchAddr } from './unwind.js';
import { drainReleases, pendingReleases, wasmRunning } from './lifetime.js';
import { STACK_HEADROOM, koffi, mappingContaining, nativeStackSize, writePtr } from './native.js';
import { startupMark } from '../startup-trace.js';
import { perfMapAdd } from './perf-map.js';

const TWO32 = 4294967296;

function movAddr(a: Assembler, reg: number, addr: number): void {
  a.movImm64(reg, addr % TWO32 >>> 0, Math.floor(addr / TWO32) >>> 0);
}

// ---------------------------------------------------------------------------------------------------
// Stack measurement

function measureStack(): { sample: number; low: number; high: number } {
  const a = new Assembler(64);
  a.lea(true, RAX, RSP, -1, 1, 8); // rsp before the call
  a.ret();
  const block = allocateCode(a.bytes());
  try {
    const getRsp = koffi.decode(block.addr, koffi.proto('intptr_t ()')) as () => number;
    const sample = Number(getRsp());
    const m = mappingContaining(sample);
    return { sample, low: m ? m.start : 0, high: m ? m.end : 0 };
  } finally {
    block.free();
  }
}

const measured = measureStack();

/** Low end of koffi's sync stack (0 if it could not be found). */
export const nativeStackLow = measured.low;
/** High end of koffi's sync stack (0 if it could not be found). */
export const nativeStackHigh = measured.high;

/**
 * Bytes of stack wasm may use below the outermost entry: from a top-level call's rsp down to the low end of
 * koffi's stack plus STACK_HEADROOM.
 */
export const stackBudget: number = (() => {
  const fallback = nativeStackSize - STACK_HEADROOM - 64 * 1024;
  if (measured.low === 0) return fallback;
  const b = measured.sample - measured.low - STACK_HEADROOM;
  if (!(b >= 64 * 1024 && b <= nativeStackSize)) return fallback;
  return Math.floor(b / 16) * 16;
})();

/** Lowest stack limit ever set (low end + headroom), 0 if unknown. */
export const stackFloor: number = measured.low === 0 ? 0 : measured.low + STACK_HEADROOM;

// ---------------------------------------------------------------------------------------------------
// Runtime code

function emitRuntime(): {
  code: Uint8Array; enter: number; enter0: number; trap: number; disposed: number; tailCallReturn: number;
  enterStack: number; resumeStack: number; enterStack0: number; resumeStack0: number; hostcallShim: number;
} {
  const EXEC = execStateAddr;
  const a = new Assembler(1024);
  const enter0 = a.newLabel();
  const enter = a.newLabel();
  const haveLimit = a.newLabel();
  const storeLimit = a.newLabel();
  const exit = a.newLabel();
  const trap = a.newLabel();
  const walk = a.newLabel();
  const walkDone = a.newLabel();
  const disposed = a.newLabel();
  const tailCallReturn = a.newLabel();
  const findCatchShim = a.newLabel();

  // enter0: load the three arguments from the exec state, then fall into enter.
  a.bind(enter0);
  movAddr(a, R11, EXEC);
  a.load(LoadKind.I64, RDI, R11, -1, 1, EXEC_ENTER_VMCTX);
  a.load(LoadKind.I64, RSI, R11, -1, 1, EXEC_ENTER_STUB);
  a.load(LoadKind.I64, RDX, R11, -1, 1, EXEC_ENTER_CODE);

  // enter(rdi = vmctx, rsi = entryStub, rdx = code)
  a.align(16, 0x90);
  a.bind(enter);
  saveCalleeSaved(a);
  movAddr(a, R11, EXEC);
  a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_SAVED_RSP);
  a.push(RAX);
  a.load(LoadKind.I64, RCX, R11, -1, 1, EXEC_STACK_LIMIT);
  a.push(RCX);
  // The word at savedRsp is the address of this entry's exit: the trap handler returns there (`ret` with rsp =
  // savedRsp), so entries of other kinds (stack-switching-code.ts) can exit their own way. rsp is now 16-byte
  // aligned.
  a.leaLabel(RCX, exit);
  a.push(RCX);
  a.test(true, RAX, RAX);
  a.jcc(Cond.NE, haveLimit);
  // Outermost entry: stackLimit = rsp - budget, but never below the floor when rsp is on koffi's stack.
  a.lea(true, RAX, RSP, -1, 1, -stackBudget);
  if (stackFloor !== 0) {
    movAddr(a, RCX, nativeStackLow);
    a.alu(AluOp.CMP, true, RSP, RCX);
    a.jcc(Cond.B, storeLimit);
    movAddr(a, RCX, nativeStackHigh);
    a.alu(AluOp.CMP, true, RSP, RCX);
    a.jcc(Cond.AE, storeLimit);
    movAddr(a, RCX, stackFloor);
    a.alu(AluOp.CMP, true, RAX, RCX);
    a.cmov(Cond.B, true, RAX, RCX);
  }
  a.bind(storeLimit);
  a.store(8, RAX, R11, -1, 1, EXEC_STACK_LIMIT);
  a.bind(haveLimit);
  a.store(8, RSP, R11, -1, 1, EXEC_SAVED_RSP);
  a.movRR(true, R14, RDI);
  a.callReg(RSI);
  a.alu(AluOp.XOR, false, RAX, RAX);
  a.aluImm(AluOp.ADD, true, RSP, 8);
  // Epilogue (also reached from the trap handler, through the exit address at savedRsp, eax = trap code).
  a.bind(exit);
  movAddr(a, R11, EXEC);
  popExecFields(a, R11, [EXEC_STACK_LIMIT, EXEC_SAVED_RSP]);
  restoreCalleeSaved(a);
  a.ret();

  // Trap handler: edi = code, [rsp] = return address in the trapping function.
  a.align(16, 0xcc);
  a.bind(trap);
  // Exception handling (runtime/unwind.ts): a HostException may be caught by a wasm handler of this entry's
  // frames. findCatch(rbp, pc) returns 1 with the catching frame's rbp and its landing pad in the exec state.
  const noCatch = a.newLabel();
  const toPad = a.newLabel();
  // A throw builtin that already found the handler (runtime/unwind.ts searchFromThrow) returns CAUGHT_CODE.
  a.aluImm(AluOp.CMP, false, RDI, CAUGHT_CODE);
  a.jcc(Cond.E, toPad);
  a.aluImm(AluOp.CMP, false, RDI, TrapCode.HostException);
  a.jcc(Cond.NE, noCatch);
  a.push(RDI); // rsp is now 16-byte aligned for the callback
  a.movRR(true, RDI, RBP);
  a.load(LoadKind.I64, RSI, RSP, -1, 1, 8);
  a.call(findCatchShim); // (on M when the trap is on a promising call's stack)
  a.pop(RDI);
  a.test(false, RAX, RAX);
  a.jcc(Cond.E, noCatch);
  a.bind(toPad);
  movAddr(a, R11, EXEC);
  a.load(LoadKind.I64, RBP, R11, -1, 1, EXEC_CATCH_RBP);
  a.jmpMem(R11, EXEC_CATCH_PC);
  a.bind(noCatch);
  movAddr(a, R11, EXEC);
  a.store(4, RDI, R11, -1, 1, EXEC_TRAP_CODE);
  a.load(LoadKind.I64, R8, R11, -1, 1, EXEC_SAVED_RSP);
  a.load(LoadKind.I64, RAX, RSP, -1, 1, 0);
  a.store(8, RAX, R11, -1, 1, EXEC_TRACE);
  a.movImm32(RCX, 1);
  a.movRR(true, RDX, RBP);
  a.bind(walk);
  a.aluImm(AluOp.CMP, false, RCX, EXEC_TRACE_MAX);
  a.jcc(Cond.AE, walkDone);
  a.alu(AluOp.CMP, true, RDX, RSP); // a frame must be above the current rsp ...
  a.jcc(Cond.B, walkDone);
  a.alu(AluOp.CMP, true, RDX, R8); // ... and below the innermost entry
  a.jcc(Cond.AE, walkDone);
  a.load(LoadKind.I64, RAX, RDX, -1, 1, 8);
  a.store(8, RAX, R11, RCX, 8, EXEC_TRACE);
  a.aluImm(AluOp.ADD, false, RCX, 1);
  a.load(LoadKind.I64, RAX, RDX, -1, 1, 0);
  a.alu(AluOp.CMP, true, RAX, RDX); // the chain must go strictly up
  a.jcc(Cond.BE, walkDone);
  a.movRR(true, RDX, RAX);
  a.jmp(walk);
  a.bind(walkDone);
  a.store(4, RCX, R11, -1, 1, EXEC_TRACE_COUNT);
  a.movRR(false, RAX, RDI);
  a.movRR(true, RSP, R8);
  a.ret(); // to the innermost entry's exit (the word at savedRsp)

  // The code of every FuncRecord of a disposed instance: called like a wasm function (r14 = its vmctx, which
  // stays valid), it asks the host-call callback to raise the "disposed" error and unwinds as a trap would,
  // with the caller's return address on top of the stack.
  a.align(16, 0xcc);
  a.bind(disposed);
  a.push(RBP);
  a.movRR(true, RBP, RSP); // rsp is 16-byte aligned for the callback
  a.movRR(true, RDI, R14);
  a.movImm32(RSI, HOSTCALL_DISPOSED);
  a.callMem(R14, VMCTX_HOSTCALL);
  a.movRR(false, RDI, RAX);
  a.pop(RBP);
  a.jmpMem(R14, VMCTX_TRAP_HANDLER);

  // Tail-call return stub (compile/emit-tail-call.ts): the return address below a tail-call frame's
  // argument area. Entered by the `ret` of the last function of a tail-call chain, with rsp = that area and
  // rbp = the frame (the chain's first caller's rbp at [rbp], its return address at [rbp+8], the vmctx to
  // restore at [rbp-8], the bytes of multi-value results at [rbp-12]). Copies those results up into the
  // caller's area at [rbp+16], restores r14/r15 (the caller may have called directly and not reload them)
  // and returns; rax/xmm0 (a single result) are untouched.
  a.align(16, 0xcc);
  a.bind(tailCallReturn);
  const copyDone = a.newLabel();
  const copy = a.newLabel();
  a.load(LoadKind.U32, RCX, RBP, -1, 1, -12);
  a.test(false, RCX, RCX);
  a.jcc(Cond.E, copyDone);
  a.bind(copy);
  a.load(LoadKind.I64, R11, RSP, RCX, 1, -8);
  a.store(8, R11, RBP, RCX, 1, 8);
  a.aluImm(AluOp.SUB, false, RCX, 8);
  a.jcc(Cond.NE, copy);
  a.bind(copyDone);
  a.load(LoadKind.I64, R14, RBP, -1, 1, -8);
  a.load(LoadKind.I64, R15, R14, -1, 1, VMCTX_MEMORIES);
  a.movRR(true, RSP, RBP);
  a.pop(RBP);
  a.ret();

  // JSPI: promising calls on secondary stacks, and the host-call shim every vmctx points at.
  const jspi = emitStackSwitching(a, {
    exec: EXEC, stackBudget, hostcall: hostcallAddr, findCatch: findCatchAddr,
  });
  a.bind(findCatchShim);
  a.jmp(jspi.findCatchShim);

  a.finish();
  return {
    code: a.bytes(), enter: a.labelOffset(enter), enter0: a.labelOffset(enter0), trap: a.labelOffset(trap),
    disposed: a.labelOffset(disposed), tailCallReturn: a.labelOffset(tailCallReturn),
    enterStack: a.labelOffset(jspi.enterStack), resumeStack: a.labelOffset(jspi.resumeStack),
    enterStack0: a.labelOffset(jspi.enterStack0), resumeStack0: a.labelOffset(jspi.resumeStack0),
    hostcallShim: a.labelOffset(jspi.hostcallShim),
  };
}

const runtime = emitRuntime();
const runtimeBlock = allocatePermanentCode(runtime.code);

/** Address of `int32 enter(int64 vmctx, int64 entryStub, int64 code)`. */
export const enterAddr: number = runtimeBlock.addr + runtime.enter;
/** Address of `int32 enter0(void)` (arguments in EXEC_ENTER_*). */
export const enter0Addr: number = runtimeBlock.addr + runtime.enter0;
/** Address of the trap handler (vmctx slot 16). */
export const trapHandlerAddr: number = runtimeBlock.addr + runtime.trap;
/** The host-call entry of generated code (vmctx slot 8): the stack-switching shim (stack-switching-code.ts). */
export const hostcallEntryAddr: number = runtimeBlock.addr + runtime.hostcallShim;
/** Code address given to the FuncRecords of a disposed instance: calling one throws (see host-calls.ts). */
export const disposedFuncAddr: number = runtimeBlock.addr + runtime.disposed;
/** Return address below a tail-call frame (compile/emit-tail-call.ts); generated code reads it from the exec state. */
export const tailCallReturnAddr: number = runtimeBlock.addr + runtime.tailCallReturn;
writeExec64(EXEC_TAIL_CALL_RETURN, tailCallReturnAddr);
/** The runtime code range (for diagnostics). */
export const runtimeCodeStart: number = runtimeBlock.addr;
export const runtimeCodeEnd: number = runtimeBlock.addr + runtime.code.length;
{
  // (QUICKBEAM_PERF_MAP=1: name the runtime's entry points for profilers; each range ends where the next starts.)
  const points: Array<[number, string]> = [
    [runtime.enter0, 'enter0'], [runtime.enter, 'enter'], [runtime.trap, 'trap'], [runtime.disposed, 'disposed'],
    [runtime.tailCallReturn, 'tailCallReturn'], [runtime.enterStack0, 'enterStack0'], [runtime.resumeStack0, 'resumeStack0'],
    [runtime.enterStack, 'enterStack'], [runtime.resumeStack, 'resumeStack'], [runtime.hostcallShim, 'hostcallShim'],
  ];
  points.sort((x, y) => x[0] - y[0]);
  perfMapAdd(points.map(([off, name], k) => [runtimeBlock.addr + off, (k + 1 < points.length ? points[k + 1][0] : runtime.code.length) - off, `quickbeam:${name}`]));
}

const enterFn = koffi.decode(enterAddr, koffi.proto('int32_t (int64_t, int64_t, int64_t)')) as
  (vmctx: number, stub: number, code: number) => number;
const enter0Fn = koffi.decode(enter0Addr, koffi.proto('int32_t ()')) as () => number;
/** JSPI (stack-switching-code.ts): `int32 enterStack(vmctx, entryStub, code, suspender)`. */
export const enterStackFn = koffi.decode(runtimeBlock.addr + runtime.enterStack, koffi.proto('int32_t (int64_t, int64_t, int64_t, int64_t)')) as
  (vmctx: number, stub: number, code: number, suspender: number) => number;
/** JSPI: `int32 resumeStack(suspender, code)`: continue a suspended stack, its host call returning `code`. */
export const resumeStackFn = koffi.decode(runtimeBlock.addr + runtime.resumeStack, koffi.proto('int32_t (int64_t, int32_t)')) as
  (suspender: number, code: number) => number;
/**
 * `enterStack0()`: enterStack with vmctx, stub, code and suspender in EXEC_ENTER_*; its result (0, a trap code or
 * HOSTCALL_CODE) is in EXEC_STACK_RESULT (exec-state.ts stackResult): `void` to koffi, which makes the call ~57
 * instructions cheaper than an int32 result (N-API's napi_create_int32 and V8's Integer::New).
 */
export const enterStack0Fn = koffi.decode(runtimeBlock.addr + runtime.enterStack0, koffi.proto('void ()')) as () => void;
/** `resumeStack0()`: resumeStack with the suspender in EXEC_ENTER_SUSPENDER, the code in EXEC_RESUME_CODE (result as above). */
export const resumeStack0Fn = koffi.decode(runtimeBlock.addr + runtime.resumeStack0, koffi.proto('void ()')) as () => void;
startupMark('runtime: stack measured, entry and trap code generated');

/** Write the runtime fields of a vmctx header: exec state (0), host-call callback (8), trap handler (16). */
export function initVmctxHeader(vmctx: number): void {
  writePtr(vmctx + VMCTX_EXEC, execStateAddr);
  writePtr(vmctx + VMCTX_HOSTCALL, hostcallEntryAddr);
  writePtr(vmctx + VMCTX_TRAP_HANDLER, trapHandlerAddr);
}

// ---------------------------------------------------------------------------------------------------
// Symbolizers and backtraces

/**
 * Names the frames of a trace (return addresses, innermost first): e.g. `name (wasm-function[3]:0x1a2)`, or
 * null to leave a frame out. Code has no registry to look pcs up in (a table of every module's code would
 * have to hold the modules, whose code the GC frees); the frames of a trace belong to the modules of the
 * instances whose calls are running and of what those keep alive, which api/exported-function.ts searches.
 */
export type TraceSymbolizer = (trace: readonly number[]) => Array<string | null>;

let traceSymbolizer: TraceSymbolizer = (trace) => trace.map(() => null);

export function setTraceSymbolizer(s: TraceSymbolizer): void {
  traceSymbolizer = s;
}

/** The wasm frames of a recorded trace, as stack lines (`    at ...`), innermost first. */
export function formatWasmFrames(trace: readonly number[]): string[] {
  const lines: string[] = [];
  if (trace.length === 0) return lines;
  let names: Array<string | null>;
  try {
    // (Return addresses in the runtime's own code, e.g. the entry trampoline, are nobody's frames.)
    names = traceSymbolizer(trace.filter((pc) => pc < runtimeCodeStart || pc >= runtimeCodeEnd));
  } catch {
    return lines;
  }
  for (const s of names) if (s !== null) lines.push(`    at ${s}`);
  return lines;
}

/**
 * A trap (our RuntimeError/RangeError) raised in wasm called from a JS import has unwound the outer wasm
 * frames too: list them in its stack where they belong, below the host-call frame that called the import.
 * The error object itself is rethrown unchanged otherwise.
 */
function addOuterWasmFrames(value: unknown, trace: readonly number[]): void {
  if (!(value instanceof RuntimeError || value instanceof RangeError) || trace.length === 0) return;
  const stack = value.stack;
  if (typeof stack !== 'string' || !/wasm-function\[/.test(stack)) return;
  const frames = formatWasmFrames(trace);
  if (frames.length === 0) return;
  const lines = stack.split('\n');
  // Each nesting level adds its frames below the innermost host-call frame (host-calls.ts hostcall, or the fast
  // path, api/exported-function.ts runHostCalls) not yet followed by wasm frames.
  let at = -1;
  for (let i = 0; i < lines.length; i++) {
    if (/\bat (?:hostcall|runHostCalls)\b/.test(lines[i]) && !(lines[i + 1] ?? '').includes('wasm-function[')) {
      at = i + 1;
      break;
    }
  }
  if (at < 0) return;
  lines.splice(at, 0, ...frames);
  try {
    value.stack = lines.join('\n');
  } catch {
    // a frozen or exotic error: leave it as it was
  }
}

/**
 * Build the error for trap `code`: a RuntimeError (a RangeError for stack exhaustion) with the wasm frames of
 * `trace` (return addresses, innermost first; none when omitted) above the JS frames. `skipFrames` hides it
 * and the JS frames above it.
 */
export function trapError(code: number, skipFrames?: Function, trace?: readonly number[]): Error {
  const message = trapMessage(code);
  const make = (): Error => (code === TrapCode.StackOverflow ? new RangeError(message) : new RuntimeError(message));
  if (typeof Error.captureStackTrace !== 'function') {
    const e = make();
    markUncatchable(e);
    return e;
  }
  // The stack is formatted when `stack` is first read, not now: formatting costs several times the trap
  // itself, and a loop that catches traps seldom reads it. The JS frames are captured once, into a holder
  // (the error itself is made with none), and the wasm frames are named now, while their modules are known.
  const limit = Error.stackTraceLimit;
  let err: Error;
  Error.stackTraceLimit = 0;
  try {
    err = make();
  } finally {
    Error.stackTraceLimit = limit;
  }
  const holder: { stack?: unknown } = {};
  Error.captureStackTrace(holder, skipFrames ?? trapError);
  markUncatchable(err); // traps are never caught by wasm, even when JS rethrows them into wasm
  const frames = trace === undefined ? [] : formatWasmFrames(trace);
  let stack: string | undefined;
  Object.defineProperty(err, 'stack', {
    configurable: true,
    enumerable: false,
    get(): string {
      if (stack === undefined) {
        const js = typeof holder.stack === 'string' ? holder.stack : '';
        const nl = js.indexOf('\n');
        stack = `${err.name}: ${err.message}${frames.length > 0 ? `\n${frames.join('\n')}` : ''}${nl >= 0 ? js.slice(nl) : ''}`;
      }
      return stack;
    },
    set(value: unknown): void {
      Object.defineProperty(err, 'stack', { value, writable: true, configurable: true, enumerable: false });
    },
  });
  return err;
}

function raise(code: number, entry: Function): never {
  if (code === TrapCode.HostException) {
    const p = takePendingException();
    const trace = readTrace();
    clearTrace();
    if (p !== null) {
      addOuterWasmFrames(p.value, trace);
      throw p.value;
    }
    throw new RuntimeError('host exception (lost)');
  }
  if (code === TrapCode.Interrupted) clearInterrupt();
  const trace = readTrace();
  clearTrace();
  throw trapError(code, entry, trace);
}

/** Throw what a nonzero entry result means (a trap's error, or the pending host exception). */
export function raiseEntryResult(code: number): never {
  raise(code, raiseEntryResult);
}

/**
 * Run `code` through the entry stub with the given vmctx. Arguments/results go through the args buffer.
 * Throws a RuntimeError on a trap (RangeError for stack exhaustion), or rethrows a host exception unchanged.
 */
export function callWasm(vmctx: number, entryStub: number, code: number): void {
  setEnterArgs(vmctx, entryStub, code);
  const rc = plainEnter0();
  syncDeferredGrowth();
  if (pendingReleases() !== 0 && !wasmRunning()) drainReleases();
  if (rc !== 0) raise(rc, callWasm);
}

/** The plain entry (on koffi's stack): its frames cannot be walked, so no collection runs meanwhile. */
function plainEnter0(): number {
  enterPlain(1);
  try {
    return enter0Fn();
  } finally {
    enterPlain(-1);
  }
}

/** callWasm through the three-argument entry (same behaviour; for comparison and tests). */
export function callWasm3(vmctx: number, entryStub: number, code: number): void {
  enterPlain(1);
  let rc: number;
  try {
    rc = enterFn(vmctx, entryStub, code);
  } finally {
    enterPlain(-1);
  }
  syncDeferredGrowth();
  if (pendingReleases() !== 0 && !wasmRunning()) drainReleases();
  if (rc !== 0) raise(rc, callWasm3);
}

/** Run without throwing: returns 0 or the trap code (HostException leaves the exception pending). */
export function callWasmRaw(vmctx: number, entryStub: number, code: number): number {
  setEnterArgs(vmctx, entryStub, code);
  const rc = plainEnter0();
  syncDeferredGrowth();
  if (pendingReleases() !== 0 && !wasmRunning()) drainReleases();
  return rc;
}
