// The module's stubs, emitted after its functions: compile-on-first-call trampolines of lazily compiled
// modules, host-call thunks for imported functions, and per-signature entry stubs (JS -> wasm); plus the
// trap stubs every code buffer starts with.

import { Assembler } from '../x64/assembler.js';
import { AluOp, Cond, LoadKind, RAX, RBP, RDI, RDX, RSI, RSP, R11, R14, XMM0 } from '../x64/registers.js';
import { FuncType, ModuleInfo, ValType } from '../decode/types.js';
import { emitRecordAdapter } from './reg-args.js';
import { TrapCode, TRAP_CODE_COUNT, VMCTX_EXEC, VMCTX_HOSTCALL, VMCTX_TRAP_HANDLER, EXEC_ARGS, VMCTX_CODE_SLOTS, Builtin } from './abi.js';

/**
 * The trap stubs (`mov edi, K; jmp [r14 + trap handler]`), emitted at the start of a code buffer so that
 * every out-of-line trap site's `call` targets an already bound label (no fixup to record and patch).
 */
export function emitTrapStubs(asm: Assembler): number[] {
  // Position-independent and always the same: emitted once, then replayed (a copy and bound labels; 0.5 us
  // of a tiny module's compile otherwise). Labels start at 0 in a reset assembler, as they did the first time.
  if (trapTemplate !== null && asm.offset === 0) {
    const first = asm.replay(trapTemplate.bytes, trapTemplate.at);
    if (first === 0) return trapTemplate.labels;
    const labels: number[] = [];
    for (let k = 0; k < TRAP_CODE_COUNT; k++) labels.push(first + k);
    return labels;
  }
  const start = asm.offset;
  const labels = emitTrapStubsSlowly(asm);
  if (trapTemplate === null && start === 0 && labels[0] === 0) {
    const at = new Int32Array(TRAP_CODE_COUNT);
    for (let k = 0; k < TRAP_CODE_COUNT; k++) at[k] = asm.labelOffset(labels[k]);
    trapTemplate = { bytes: asm.view().slice(), at, labels: labels.slice() };
  }
  return labels;
}

/** The trap stubs' bytes, each stub's offset, and their labels when replayed into a reset assembler. */
let trapTemplate: { bytes: Uint8Array; at: Int32Array; labels: number[] } | null = null;

function emitTrapStubsSlowly(asm: Assembler): number[] {
  const labels: number[] = [];
  for (let k = 0; k < TRAP_CODE_COUNT; k++) {
    const l = asm.newLabel();
    asm.bind(l);
    labels.push(l);
    if (k === TrapCode.None) asm.movRR(false, RDI, RAX);
    else asm.movImm32(RDI, k);
    asm.jmpMem(R14, VMCTX_TRAP_HANDLER);
  }
  return labels;
}

/**
 * Lazy mode: each defined function's entry (what FuncRecords and exports point at) is a trampoline through
 * the code-slot table; the slot starts at a thunk that asks the runtime to compile the function, then
 * re-dispatches. Arguments are on the stack (wasm calling convention), so they survive the detour. The
 * register entries (`regOffsets`) are one adapter per function type (reg-args.ts), which stores the register
 * arguments there and jumps to the record's memory entry; a function without parameters needs none.
 */
export function emitLazyStubs(a: Assembler, info: ModuleInfo, funcOffsets: Int32Array, thunkOffsets: Int32Array, regOffsets: Int32Array): void {
  const common = a.newLabel();
  const first = info.numImportedFuncs, n = info.funcTypes.length;
  // From function TEMPLATE_FROM on (a slot displacement of 4 bytes) every stub has the same bytes but three
  // 32-bit fields: the first one is assembled, the others are copies of it with those fields patched (a big
  // module has tens of thousands, and in a fresh process assembling each costs ~0.5 us of cold JavaScript).
  let template: LazyStubTemplate | null = null;
  let copiesFrom = n;
  for (let f = first; f < n; f++) {
    if (template !== null) {
      copiesFrom = f;
      emitLazyStubCopies(a, template, f, n, funcOffsets, thunkOffsets);
      break;
    }
    funcOffsets[f] = a.offset;
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_CODE_SLOTS);
    a.jmpMem(R11, 8 * f);
    thunkOffsets[f] = a.offset;
    a.movImm32(RAX, f);
    a.jmp(common);
    if (f >= TEMPLATE_FROM) template = lazyStubTemplate(a, f, funcOffsets[f], thunkOffsets[f]);
  }
  const adapters = new Int32Array(info.types.length).fill(-1);
  for (let f = info.numImportedFuncs; f < info.funcTypes.length; f++) {
    const t = info.funcTypes[f], params = info.types[t].params;
    if (params.length === 0) {
      regOffsets[f] = funcOffsets[f];
      continue;
    }
    if (adapters[t] < 0) {
      adapters[t] = a.offset;
      emitRecordAdapter(a, params);
    }
    regOffsets[f] = adapters[t];
  }
  const fail = a.newLabel();
  a.bind(common);
  // (the copies' jumps to `common`, which has an offset now)
  if (template !== null) {
    const target = a.labelOffset(common);
    for (let f = copiesFrom; f < n; f++) {
      const at = funcOffsets[f] + template.rel;
      a.patchInt32(at, target - (at + 4));
    }
  }
  a.push(RBP);
  a.movRR(true, RBP, RSP);
  a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
  a.store(8, RAX, R11, -1, 1, EXEC_ARGS);
  a.movRR(true, RDI, R14);
  a.movImm32(RSI, Builtin.LazyCompile);
  a.callMem(R14, VMCTX_HOSTCALL);
  a.test(false, RAX, RAX);
  a.jcc(Cond.NE, fail);
  a.pop(RBP);
  a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
  a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_ARGS);
  a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_CODE_SLOTS);
  a.jmpMemIndexed(R11, RAX, 8, 0);
  a.bind(fail);
  a.movRR(false, RDI, RAX);
  a.pop(RBP);
  a.jmpMem(R14, VMCTX_TRAP_HANDLER);
}

/** Functions from this index on have a 4-byte slot displacement (8 f >= 128): one stub size. */
const TEMPLATE_FROM = 16;

/** A lazy stub's bytes and where its fields are: the slot displacement (8 f), the index (f), the jump to common. */
interface LazyStubTemplate {
  bytes: Uint8Array;
  thunk: number;
  disp: number;
  imm: number;
  rel: number;
}

/**
 * The stub of function f just assembled at [start, a.offset), as a template; null when its bytes are not the
 * expected `mov r11, [r14 + slots]; jmp [r11 + disp32]; mov eax, imm32; jmp rel32` (the assembler changed:
 * then every stub is assembled).
 */
function lazyStubTemplate(a: Assembler, f: number, start: number, thunkStart: number): LazyStubTemplate | null {
  const end = a.offset;
  const code = a.view();
  const t = thunkStart - start;
  const ok = code[thunkStart] === 0xb8 && code[thunkStart + 5] === 0xe9 && end === thunkStart + 10 &&
    a.readInt32(thunkStart - 4) === 8 * f && a.readInt32(thunkStart + 1) === f;
  return ok ? { bytes: code.slice(start, end), thunk: t, disp: t - 4, imm: t + 1, rel: t + 6 } : null;
}

/** Stubs of functions [from, n) as copies of the template (their jumps to common are patched by the caller). */
function emitLazyStubCopies(a: Assembler, t: LazyStubTemplate, from: number, n: number, funcOffsets: Int32Array, thunkOffsets: Int32Array): void {
  for (let f = from; f < n; f++) {
    const start = a.offset;
    a.replay(t.bytes, NO_LABELS);
    a.patchInt32(start + t.disp, 8 * f);
    a.patchInt32(start + t.imm, f);
    funcOffsets[f] = start;
    thunkOffsets[f] = start + t.thunk;
  }
}
const NO_LABELS = new Int32Array(0);

/**
 * An imported function is called like any wasm function; its thunk copies the arguments to the args
 * buffer and calls the host-call callback with (vmctx, import index). Results come back in the buffer.
 */
export function emitHostThunk(a: Assembler, importIndex: number, type: FuncType): void {
  const fail = a.newLabel();
  a.push(RBP);
  a.movRR(true, RBP, RSP);
  a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
  for (let k = 0; k < type.params.length; k++) {
    a.load(LoadKind.I64, RAX, RBP, -1, 1, 16 + 8 * k);
    a.store(8, RAX, R11, -1, 1, EXEC_ARGS + 8 * k);
  }
  a.movRR(true, RDI, R14);
  a.movImm32(RSI, importIndex);
  a.callMem(R14, VMCTX_HOSTCALL);
  a.test(false, RAX, RAX);
  a.jcc(Cond.NE, fail);
  a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
  const nr = type.results.length;
  if (nr === 1) {
    a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_ARGS);
    a.movdToXmm(true, XMM0, RAX);
  } else {
    for (let k = 0; k < nr; k++) {
      a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_ARGS + 8 * k);
      a.store(8, RAX, RBP, -1, 1, 16 + 8 * k);
    }
  }
  a.pop(RBP);
  a.ret();
  a.bind(fail);
  // Trap with the callback's code; the return address on the stack points into the calling function.
  a.movRR(false, RDI, RAX);
  a.pop(RBP);
  a.jmpMem(R14, VMCTX_TRAP_HANDLER);
}

/** Entered from the runtime's `enter` trampoline with r14 = vmctx, rdx = function code address. */
export function emitEntryStub(a: Assembler, type: FuncType): void {
  const np = type.params.length, nr = type.results.length;
  const area = (8 * Math.max(np, nr) + 15) & ~15;
  a.push(RBP);
  a.movRR(true, RBP, RSP);
  if (area > 0) a.aluImm(AluOp.SUB, true, RSP, area);
  a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
  for (let k = 0; k < np; k++) {
    a.load(LoadKind.I64, RAX, R11, -1, 1, EXEC_ARGS + 8 * k);
    a.store(8, RAX, RSP, -1, 1, 8 * k);
  }
  a.callReg(RDX);
  a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_EXEC);
  if (nr === 1) {
    const t = type.results[0];
    if (t === ValType.F32) a.movssStore(XMM0, R11, -1, 1, EXEC_ARGS);
    else if (t === ValType.F64) a.movsdStore(XMM0, R11, -1, 1, EXEC_ARGS);
    else a.store(8, RAX, R11, -1, 1, EXEC_ARGS);
  } else {
    for (let k = 0; k < nr; k++) {
      a.load(LoadKind.I64, RAX, RSP, -1, 1, 8 * k);
      a.store(8, RAX, R11, -1, 1, EXEC_ARGS + 8 * k);
    }
  }
  a.movRR(true, RSP, RBP);
  a.pop(RBP);
  a.ret();
}
