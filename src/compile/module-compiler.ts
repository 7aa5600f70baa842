// Compiles a module: the decoder walks the sections and hands over each function body as it is reached.
// Eager: bodies are compiled in batches (batch-compiler.ts), on this thread or, for big modules, on a pool
// of compile workers as well (compile-pool.ts), then linked into one buffer: the batches in order, then
// the module's stubs (stubs.ts). The bytes are the same whichever thread compiled which batch.
// Lazy: each body is validated as it is reached and compiled on its first call (lazy-compiler.ts).

import { Assembler } from '../x64/assembler.js';
import { decodeModule } from '../decode/module-decoder.js';
import { Features } from '../decode/features.js';
import { ModuleInfo } from '../decode/types.js';
import { CompileError } from '../errors.js';
import { moduleVmctxLayout, VmctxLayout } from '../runtime/layout.js';
import { BatchCode, BatchCompiler, BatchFailure, CodegenOptions, EMPTY_I32, isBatchFailure, planBatches } from './batch-compiler.js';
import { compileBatchesInParallel, parallelThreads, startCompileWorkersFor } from './compile-pool.js';
import { emitEntryStub, emitHostThunk, emitLazyStubs } from './stubs.js';
import { emitArgSpill } from './reg-args.js';
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
  /**
   * Machine code of the whole module (position independent: calls between functions are relative; no
   * process-specific constants). Empty for a code-cache hit, whose code is mapped from the entry.
   */
  code: Uint8Array;
  /** Bytes of machine code (code.length, except for a cache hit). */
  codeSize: number;
  /**
   * Code offset per function index of its memory entry (FUNCREC_CODE: every argument in the caller's area):
   * defined functions' entries; imported functions' host-call thunks.
   */
  funcOffsets: Int32Array;
  /**
   * Code offset per function index of its register entry (FUNCREC_REG_CODE, reg-args.ts): an eagerly compiled
   * function's own; a lazily compiled one's, the shared adapter of its type; an import's, its host-call thunk's.
   */
  regEntryOffsets: Int32Array;
  /** Code offset of the entry stub of each type index. */
  entryStubOffsets: Int32Array;
  /** Process-wide signature id of each type index. */
  sigIds: number[];
  /** Source map: return address / trap site (code offset, ascending) -> wasm byte offset. */
  pcOffsets: Int32Array;
  wasmOffsets: Int32Array;
  /** Lazy compilation: bodies are compiled on first call (see compileLazyFunction). */
  lazy: boolean;
  /** Lazy: code offset of each function's compile-on-first-call thunk (the initial code-slot value). */
  lazyThunkOffsets: Int32Array;
  /** Lazy: byte range of each function body in `bytes` (indexed by function index; imports 0). */
  bodyStarts: Int32Array;
  bodyEnds: Int32Array;
  /**
   * The module bytes (kept for lazy compilation and data segments). A code-cache hit keeps only the data
   * segments' range: the rest reads as zeros.
   */
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
  /**
   * Threads for an eager compile: 1 compiles on the calling thread only; more use compile workers too, for
   * modules big enough to repay them. Default: see threadsFor and compile-pool's defaultThreads.
   */
  threads?: number;
  /** Wasm bytes per compile batch (default BATCH_BYTES; tests use small values to link more). */
  batchBytes?: number;
  /**
   * Where to link the code: a buffer of exactly `size` bytes (e.g. straight into code memory, see
   * code-memory.ts reserveCode). Default: a new buffer with room for zeros up to the next page boundary.
   */
  codeBuffer?: (size: number) => Uint8Array;
}

// The stubs' assembler, reused by every compile on this thread (compiles never overlap: they run to the end
// without calling out), so that a tiny module does not allocate a 4 KiB buffer and label tables.
let stubsAssembler: Assembler | null = null;

/**
 * Validate a module without compiling it (`WebAssembly.validate`): decoding and the validate-only pass of a lazy
 * compile. Throws the CompileError a compile would throw.
 */
export function validateModule(bytes: Uint8Array, features: Features, options: CompileOptions = {}): void {
  decodeAndCompileBodies(bytes, features, { ...options, lazy: true });
}

interface DecodedBodies {
  info: ModuleInfo;
  bodyStarts: Int32Array;
  bodyEnds: Int32Array;
  /** The compiled batches (validate-only, empty, when lazy). */
  compiled: BatchCode[];
  codegen: CodegenOptions;
}

/**
 * Threads for the bodies: as requested, else (undefined) by module size for an eager compile, and the calling
 * thread alone for a lazy one's validation. Measured (2 cores, fresh processes, medians of 5): with the fast
 * validator, a second thread only adds its start-up and a cold JIT: lazy Module of ruby (32 MB) 546 ms wall
 * on 1 thread vs 628 on 2, esbuild (14 MB) 627 vs 800, biome (44 MB) 1294 vs 1466.
 */
function threadsFor(options: CompileOptions): number | undefined {
  return options.threads ?? (options.lazy === true ? 1 : undefined);
}

/** Decode the module and compile (or, lazily, validate) every body. */
function decodeAndCompileBodies(bytes: Uint8Array, features: Features, options: CompileOptions): DecodedBodies {
  startCompileWorkersFor(bytes.length, threadsFor(options));
  const codegen: CodegenOptions = { boundsChecks: options.boundsChecks !== false, interruptible: options.interruptible === true, fuel: options.fuel === true };
  let seen: ModuleInfo | null = null;
  let bodyStarts = EMPTY_I32, bodyEnds = EMPTY_I32;
  let bodiesEnd = 0;
  const onBody = (funcIndex: number, start: number, end: number, info: ModuleInfo): void => {
    if (seen === null) {
      seen = info;
      bodyStarts = new Int32Array(info.funcTypes.length);
      bodyEnds = new Int32Array(info.funcTypes.length);
    }
    bodyStarts[funcIndex] = start;
    bodyEnds[funcIndex] = end;
    bodiesEnd = funcIndex + 1;
  };
  let info: ModuleInfo;
  try {
    info = decodeModule(bytes, features, onBody);
  } catch (e) {
    // As in a streaming compile, an invalid function before the point where decoding failed is the error.
    if (seen !== null && e instanceof CompileError) compileBodies(seen, bytes, features, codegen, bodyStarts, bodyEnds, bodiesEnd, options);
    throw e;
  }
  if (seen === null) {
    bodyStarts = new Int32Array(info.funcTypes.length);
    bodyEnds = new Int32Array(info.funcTypes.length);
  }
  const n = info.funcTypes.length;
  // Lazy: the bodies are validated now (errors stay eager and exact) and compiled on first call.
  const compiled = compileBodies(info, bytes, features, codegen, bodyStarts, bodyEnds, n, options);
  return { info, bodyStarts, bodyEnds, compiled, codegen };
}

export function compileModule(bytes: Uint8Array, features: Features, options: CompileOptions = {}): CompiledModule {
  const t0 = nowMs();
  const lazy = options.lazy === true;
  const { info, bodyStarts, bodyEnds, compiled, codegen } = decodeAndCompileBodies(bytes, features, options);
  const n = info.funcTypes.length;
  const batches = lazy ? [] : compiled;

  // Link: the batches in order, then the stubs.
  const funcOffsets = new Int32Array(n);
  const regEntryOffsets = new Int32Array(n);
  const directOffsets = new Int32Array(n);
  const callRelocs: number[] = [];
  const bases: number[] = [];
  const { size, pcOffsets, wasmOffsets } = layoutBatches(batches, info.numImportedFuncs, funcOffsets, regEntryOffsets, directOffsets, bases, callRelocs);
  const stubsBase = align64(size);
  const stubs = (stubsAssembler ??= new Assembler(4096));
  stubs.reset();
  const lazyThunkOffsets = lazy ? new Int32Array(n) : EMPTY_I32;
  if (lazy) emitLazyStubs(stubs, info, funcOffsets, lazyThunkOffsets, regEntryOffsets);
  for (let i = 0; i < info.numImportedFuncs; i++) {
    // (the register entry: the arguments stored to the area, then the thunk, which reads them there)
    const type = info.types[info.funcTypes[i]];
    regEntryOffsets[i] = stubs.offset;
    emitArgSpill(stubs, type.params);
    funcOffsets[i] = stubs.offset;
    emitHostThunk(stubs, i, type);
  }
  const entryStubOffsets = new Int32Array(info.types.length);
  for (let t = 0; t < info.types.length; t++) {
    stubs.align(16);
    entryStubOffsets[t] = stubsBase + stubs.offset;
    emitEntryStub(stubs, info.types[t]);
  }
  stubs.finish();
  if (lazy) {
    for (let g = info.numImportedFuncs; g < n; g++) lazyThunkOffsets[g] += stubsBase;
    for (let g = info.numImportedFuncs; g < n; g++) funcOffsets[g] += stubsBase;
    for (let g = info.numImportedFuncs; g < n; g++) regEntryOffsets[g] += stubsBase;
  }
  for (let i = 0; i < info.numImportedFuncs; i++) funcOffsets[i] += stubsBase;
  for (let i = 0; i < info.numImportedFuncs; i++) regEntryOffsets[i] += stubsBase;

  // (Room for zeros up to the next page boundary: the code cache stores the code page-padded without a copy.)
  const codeSize = stubsBase + stubs.offset;
  const code = options.codeBuffer !== undefined ? options.codeBuffer(codeSize) : new Uint8Array((codeSize + 4095) & ~4095).subarray(0, codeSize);
  for (let k = 0; k < batches.length; k++) code.set(batches[k].code, bases[k]);
  code.set(stubs.view(), stubsBase);
  if (callRelocs.length > 0) patchCallRelocs(code, callRelocs, directOffsets);
  const sigIds = info.types.map((t) => signatureId(t));

  return {
    info,
    features,
    boundsChecks: codegen.boundsChecks,
    interruptible: codegen.interruptible,
    fuel: codegen.fuel,
    layout: moduleVmctxLayout(info),
    code,
    codeSize: code.length,
    funcOffsets,
    regEntryOffsets,
    entryStubOffsets,
    sigIds,
    pcOffsets,
    wasmOffsets,
    lazy,
    lazyThunkOffsets,
    bodyStarts,
    bodyEnds,
    bytes,
    compileMs: nowMs() - t0,
  };
}

// The per-function and per-site loops of linking are functions of their own, apart from compileModule: it runs
// once per compile, so V8 optimises it by on-stack replacement at a loop, and its code after the loops (never
// run when the replacement was made) deoptimised it at every compile, leaving the loops in baseline code with
// an inline-cache call per property access (measured: ~6% of a warm sqlite.wasm32 compile).

/** Place the batches one after another: each function's three entries and the joined source map. */
function layoutBatches(
  batches: BatchCode[], numImported: number, funcOffsets: Int32Array, regEntryOffsets: Int32Array, directOffsets: Int32Array,
  bases: number[], callRelocs: number[],
): { size: number; pcOffsets: Int32Array; wasmOffsets: Int32Array } {
  // The source map: one batch's own arrays (its base is 0), else the batches' joined.
  let sites = 0;
  for (let k = 0; k < batches.length; k++) sites += batches[k].pcOffsets.length;
  const one = batches.length === 1;
  const pcOffsets = one ? batches[0].pcOffsets : new Int32Array(sites);
  const wasmOffsets = one ? batches[0].wasmOffsets : new Int32Array(sites);
  let size = 0;
  let f = numImported;
  let site = 0;
  for (let j = 0; j < batches.length; j++) {
    const b = batches[j];
    const base = align64(size);
    bases.push(base);
    const entries = b.entries;
    for (let k = 0; k < entries.length; k += 3, f++) {
      funcOffsets[f] = base + entries[k];
      regEntryOffsets[f] = base + entries[k + 1];
      directOffsets[f] = base + entries[k + 2];
    }
    if (!one) {
      // (TypedArray.set copies natively)
      const po = b.pcOffsets, len = po.length;
      pcOffsets.set(po, site);
      wasmOffsets.set(b.wasmOffsets, site);
      if (base !== 0) for (let k = site, e = site + len; k < e; k++) pcOffsets[k] += base;
      site += len;
    }
    const relocs = b.callRelocs;
    for (let k = 0; k < relocs.length; k += 2) callRelocs.push(base + relocs[k], relocs[k + 1]);
    size = base + b.code.length;
  }
  return { size, pcOffsets, wasmOffsets };
}

/** Direct calls between batches: each rel32 to its callee's direct entry. */
function patchCallRelocs(code: Uint8Array, callRelocs: number[], directOffsets: Int32Array): void {
  const dv = new DataView(code.buffer, code.byteOffset, code.length);
  for (let k = 0; k < callRelocs.length; k += 2) dv.setInt32(callRelocs[k], directOffsets[callRelocs[k + 1]] - (callRelocs[k] + 4), true);
}

function align64(n: number): number {
  return (n + 63) & ~63;
}

/**
 * Compile (lazy: only validate) the defined functions below `end` in batches, on this thread or in parallel,
 * and return the batches' code in order; throws the CompileError of the first invalid function.
 */
function compileBodies(
  info: ModuleInfo, bytes: Uint8Array, features: Features, codegen: CodegenOptions,
  bodyStarts: Int32Array, bodyEnds: Int32Array, end: number, options: CompileOptions,
): BatchCode[] {
  const plan = planBatches(info.numImportedFuncs, bodyStarts, bodyEnds, options.batchBytes, end);
  const threads = threadsFor(options);
  const numBatches = Math.max(0, plan.length - 1);
  const useThreads = parallelThreads(threads, numBatches, bodyEnds, bodyStarts, info.numImportedFuncs, end);
  const validateOnly = options.lazy === true;
  let results: Array<BatchCode | BatchFailure>;
  if (useThreads > 1) {
    results = compileBatchesInParallel({ info, bytes, features, codegen, plan, bodyStarts, bodyEnds, threads: useThreads, validateOnly });
  } else {
    const bc = new BatchCompiler(info, features, codegen, bytes, validateOnly);
    results = [];
    for (let k = 0; k < numBatches; k++) {
      // (The last batch's code stays in the assembler: it is linked before anything else is compiled here.)
      const r = bc.tryCompile(plan[k], plan[k + 1], bodyStarts, bodyEnds, k === numBatches - 1);
      results.push(r);
      if (isBatchFailure(r)) break; // later batches cannot hold an earlier error
    }
  }
  const out: BatchCode[] = [];
  for (const r of results) {
    if (isBatchFailure(r)) throw new CompileError(r.message, r.offset);
    out.push(r);
  }
  return out;
}
