// Drives one streaming pass over a module: the decoder walks the sections and hands each function body
// to the FunctionCompiler as it is reached; all code goes into one buffer, followed by the module's
// stubs (host-call thunks for imports, per-signature entry stubs, trap stubs).

import { Assembler } from '../x64/assembler.js';
import { AluOp, Cond, LoadKind, RAX, RBP, RDI, RDX, RSI, RSP, R11, R14, XMM0 } from '../x64/registers.js';
import { decodeModule } from '../decode/module-decoder.js';
import { Features } from '../decode/features.js';
import { FuncType, ModuleInfo, ValType } from '../decode/types.js';
import { computeVmctxLayout, VmctxLayout } from '../runtime/layout.js';
import { FunctionCompiler, ModuleCodegen } from './function-compiler.js';
import { TrapCode, TRAP_CODE_COUNT, VMCTX_EXEC, VMCTX_HOSTCALL, VMCTX_TRAP_HANDLER, EXEC_ARGS, VMCTX_CODE_SLOTS, Builtin } from './abi.js';
import { signatureId } from './signatures.js';

/** Milliseconds on a monotonic clock. (Not `performance.now()`: its first use loads perf_hooks, 0.6 ms of start-up.) */
function nowMs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

export interface CompiledModule {
  info: ModuleInfo;
  features: Features;
  boundsChecks: boolean;
  interruptible: boolean;
  fuel: boolean;
  layout: VmctxLayout;
  /** Machine code of the whole module (position independent: calls between functions are relative). */
  code: Uint8Array;
  /** Code offset per function index: defined functions' entries; imported functions' host-call thunks. */
  funcOffsets: Int32Array;
  /** Code offset of the entry stub of each type index. */
  entryStubOffsets: Int32Array;
  /** Process-wide signature id of each type index. */
  sigIds: number[];
  /** Source map: return address / trap site (code offset, ascending) -> wasm byte offset. */
  pcOffsets: Int32Array;
  wasmOffsets: Int32Array;
  /** (code offset, type index) of every imm32 signature id in the code (for relocating cached code). */
  sigRelocs: Int32Array;
  /** Lazy compilation: bodies are compiled on first call (see compileLazyFunction). */
  lazy: boolean;
  /** Lazy: code offset of each function's compile-on-first-call thunk (the initial code-slot value). */
  lazyThunkOffsets: Int32Array;
  /** Lazy: byte range of each function body in `bytes` (indexed by function index; imports 0). */
  bodyStarts: Int32Array;
  bodyEnds: Int32Array;
  /** The module bytes (kept for lazy compilation). */
  bytes: Uint8Array;
  /** Time spent compiling, in milliseconds. */
  compileMs: number;
}

export interface CompileOptions {
  /**
   * Trusted mode (default true = checked). With false, loads and stores are NOT bounds-checked: an
   * out-of-bounds access reads or writes outside the sandbox or crashes the process. For trusted code only.
   */
  boundsChecks?: boolean;
  /** Emit interrupt checks in loop headers and prologues (for timeouts and `interrupt()`). */
  interruptible?: boolean;
  /** Emit fuel metering (one unit per loop iteration and function entry). */
  fuel?: boolean;
  /**
   * Lazy compilation: validate every body now, but compile each function on its first call (through
   * the module's code-slot table). Default false here; the Module API decides by module size.
   */
  lazy?: boolean;
}

export function compileModule(bytes: Uint8Array, features: Features, options: CompileOptions = {}): CompiledModule {
  const t0 = nowMs();
  const asm = new Assembler(Math.max(4096, bytes.length * 4));
  const trapStubs = emitTrapStubs(asm);
  let m: ModuleCodegen | null = null;
  let fc: FunctionCompiler | null = null;

  const setup = (info: ModuleInfo): ModuleCodegen => {
    const layout = computeVmctxLayout({
      memories: info.memories.length,
      tables: info.tables.length,
      globals: info.globals.length,
      funcs: info.funcTypes.length,
    });
    const funcLabels: number[] = [];
    for (let f = 0; f < info.funcTypes.length; f++) funcLabels.push(asm.newLabel());
    const directLabels: number[] = [];
    for (let f = 0; f < info.funcTypes.length; f++) directLabels.push(f < info.numImportedFuncs ? -1 : asm.newLabel());
    const sigIds = info.types.map((t) => signatureId(t));
    return { asm, info, features, boundsChecks: options.boundsChecks !== false, interruptible: options.interruptible === true, fuel: options.fuel === true, lazy: options.lazy === true, layout, funcLabels, directLabels, trapStubs, sigIds, pcOffsets: [], wasmOffsets: [], sigRelocs: [] };
  };

  const lazy = options.lazy === true;
  let bodyStarts = new Int32Array(0), bodyEnds = new Int32Array(0);
  const scratch = lazy ? new Assembler(4096) : asm;
  const info = decodeModule(bytes, features, (funcIndex, start, end, info) => {
    if (m === null) {
      m = setup(info);
      // Lazy: the up-front pass only validates, with code going to a scratch buffer that is thrown away.
      fc = new FunctionCompiler(lazy ? { ...m, asm: scratch, funcLabels: m.funcLabels.map(() => -1), directLabels: m.directLabels.map(() => -1) } : m);
      fc.validateOnly = lazy;
      bodyStarts = new Int32Array(info.funcTypes.length);
      bodyEnds = new Int32Array(info.funcTypes.length);
    }
    if (lazy) scratch.reset();
    bodyStarts[funcIndex] = start;
    bodyEnds[funcIndex] = end;
    fc!.compile(funcIndex, bytes, start, end);
  });
  const mc: ModuleCodegen = m ?? setup(info);
  const lazyThunkOffsets = new Int32Array(lazy ? info.funcTypes.length : 0);
  if (lazy) emitLazyStubs(mc, lazyThunkOffsets);

  // Host-call thunks for imported functions.
  for (let f = 0; f < info.numImportedFuncs; f++) {
    asm.bind(mc.funcLabels[f]);
    emitHostThunk(mc, f, info.types[info.funcTypes[f]]);
  }
  const entryStubOffsets = new Int32Array(info.types.length);
  for (let t = 0; t < info.types.length; t++) {
    asm.align(16);
    entryStubOffsets[t] = asm.offset;
    emitEntryStub(mc, info.types[t]);
  }
  asm.finish();
  const funcOffsets = new Int32Array(info.funcTypes.length);
  for (let f = 0; f < funcOffsets.length; f++) funcOffsets[f] = asm.labelOffset(mc.funcLabels[f]);
  return {
    info,
    features,
    boundsChecks: mc.boundsChecks,
    interruptible: mc.interruptible,
    fuel: mc.fuel,
    layout: mc.layout,
    code: asm.bytes(),
    funcOffsets,
    entryStubOffsets,
    sigIds: mc.sigIds,
    pcOffsets: Int32Array.from(mc.pcOffsets),
    wasmOffsets: Int32Array.from(mc.wasmOffsets),
    sigRelocs: Int32Array.from(mc.sigRelocs),
    lazy,
    lazyThunkOffsets,
    bodyStarts,
    bodyEnds,
    bytes,
    compileMs: nowMs() - t0,
  };
}

/**
 * Lazy mode: each defined function's entry (what FuncRecords and exports point at) is a trampoline through
 * the code-slot table; the slot starts at a thunk that asks the runtime to compile the function, then
 * re-dispatches. Arguments are on the stack (wasm calling convention), so they survive the detour.
 */
function emitLazyStubs(m: ModuleCodegen, thunkOffsets: Int32Array): void {
  const a = m.asm;
  const info = m.info;
  const common = a.newLabel();
  for (let f = info.numImportedFuncs; f < info.funcTypes.length; f++) {
    a.bind(m.funcLabels[f]);
    a.load(LoadKind.I64, R11, R14, -1, 1, VMCTX_CODE_SLOTS);
    a.jmpMem(R11, 8 * f);
    thunkOffsets[f] = a.offset;
    a.movImm32(RAX, f);
    a.jmp(common);
  }
  const fail = a.newLabel();
  a.bind(common);
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

/**
 * The trap stubs (`mov edi, K; jmp [r14 + trap handler]`), emitted at the start of a code buffer so that
 * every out-of-line trap site's `call` targets an already bound label (no fixup to record and patch).
 */
export function emitTrapStubs(asm: Assembler): number[] {
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
 * An imported function is called like any wasm function; its thunk copies the arguments to the args
 * buffer and calls the host-call callback with (vmctx, import index). Results come back in the buffer.
 */
function emitHostThunk(m: ModuleCodegen, importIndex: number, type: FuncType): void {
  const a = m.asm;
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
function emitEntryStub(m: ModuleCodegen, type: FuncType): void {
  const a = m.asm;
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
