// Function bodies are compiled in batches: runs of consecutive functions of about BATCH_BYTES of wasm, each
// into its own buffer that starts with its own trap stubs. A batch's code depends only on the module and the
// batch, never on which thread compiled it or in what order, so the module linker (module-compiler.ts) gets
// the same bytes from one thread or many. Calls between functions of one batch are resolved by the
// assembler; calls into other batches are rel32 relocations the linker patches. The code has no
// process-specific constants (call_indirect reads signature ids from the instance's vmctx).
//
// Used on the calling thread and in compile workers (compile-worker.ts) alike.

import { Assembler } from '../x64/assembler.js';
import { Features } from '../decode/features.js';
import { ModuleInfo } from '../decode/types.js';
import { moduleVmctxLayout } from '../runtime/layout.js';
import { CompileError } from '../errors.js';
import { FunctionCompiler, ModuleCodegen } from './function-compiler.js';
import { emitTrapStubs } from './stubs.js';
import { Int32List } from './int32-list.js';
import { BodyValidator, FAST_VALIDATION, validatorStats } from './validate-body.js';
import { primeBodyValidator } from './validator-primer.js';

/** Wasm body bytes per batch: big enough that per-batch costs vanish, small enough to spread over threads. */
export const BATCH_BYTES = 64 * 1024;

/** What a compile needs besides the module: everything that changes the generated code. */
export interface CodegenOptions {
  boundsChecks: boolean;
  interruptible: boolean;
  fuel: boolean;
}

/** Validate only (lazy compilation's up-front pass): the batch's code is empty. */
export interface BatchMode {
  validateOnly: boolean;
}

/**
 * Batch boundaries over the defined functions: batch k is functions [b[k], b[k+1]). A batch closes once it
 * holds `batchBytes` of bodies (so a big function is a batch of its own).
 */
export function planBatches(
  numImported: number, bodyStarts: Int32Array, bodyEnds: Int32Array, batchBytes = BATCH_BYTES, n = bodyStarts.length,
): Int32Array {
  const bounds: number[] = [numImported];
  let bytes = 0;
  for (let f = numImported; f < n; f++) {
    bytes += bodyEnds[f] - bodyStarts[f];
    if (bytes >= batchBytes && f + 1 < n) {
      bounds.push(f + 1);
      bytes = 0;
    }
  }
  if (n > numImported) bounds.push(n);
  return new Int32Array(bounds);
}

/** Shared by every empty Int32Array result: V8 makes a zero-length typed array slowly (~0.2 us, 10x a short one). */
export const EMPTY_I32 = new Int32Array(0);

function int32s(a: Int32List): Int32Array {
  return a.length === 0 ? EMPTY_I32 : a.data.slice(0, a.length);
}

/** The code of one batch. Offsets are relative to the start of `code`. */
export interface BatchCode {
  code: Uint8Array;
  /**
   * Per function of the batch (triples): the FuncRecord's memory entry, its register entry, the direct-call entry.
   */
  entries: Int32Array;
  /** Source map: code offset of a return address / trap site (ascending) -> wasm byte offset. */
  pcOffsets: Int32Array;
  wasmOffsets: Int32Array;
  /** (offset of a rel32 direct call into another batch, callee function index) pairs. */
  callRelocs: Int32Array;
}

/** A batch that failed validation: the first error in it (message without the offset suffix). */
export interface BatchFailure {
  funcIndex: number;
  message: string;
  offset: number;
}

const EMPTY_BATCH: BatchCode = {
  code: new Uint8Array(0), entries: new Int32Array(0), pcOffsets: new Int32Array(0), wasmOffsets: new Int32Array(0),
  callRelocs: new Int32Array(0),
};

/**
 * The assembler, function compiler (value stack, control stack) and label tables of this thread, shared by
 * every batch compile: compiles on one thread never overlap (they run to completion without calling out),
 * and a tiny module should not pay for a 64 KiB buffer and a value stack of its own. Label tables hold -1
 * between compiles.
 */
interface Context {
  asm: Assembler;
  m: ModuleCodegen;
  fc: FunctionCompiler;
  /** The BatchCompiler the context is set up for. */
  owner: BatchCompiler | null;
}
let shared: Context | null = null;

function sharedContext(owner: BatchCompiler, info: ModuleInfo, features: Features, options: CodegenOptions, validateOnly: boolean): Context {
  if (shared === null) {
    const asm = new Assembler(64 * 1024);
    const m: ModuleCodegen = {
      asm, info, features, ...options, lazy: false, layout: moduleVmctxLayout(info), funcLabels: [], directLabels: [], regLabels: [],
      trapStubs: [], pcOffsets: new Int32List(), wasmOffsets: new Int32List(), callRelocs: new Int32List(),
    };
    shared = { asm, m, fc: new FunctionCompiler(m), owner: null };
  }
  if (shared.owner === owner) return shared;
  shared.owner = owner;
  const { m, fc } = shared;
  m.info = info;
  m.features = features;
  m.boundsChecks = options.boundsChecks;
  m.interruptible = options.interruptible;
  m.fuel = options.fuel;
  m.layout = moduleVmctxLayout(info);
  for (let f = m.funcLabels.length, n = info.funcTypes.length; f < n; f++) {
    m.funcLabels.push(-1);
    m.directLabels.push(-1);
    m.regLabels.push(-1);
  }
  fc.validateOnly = validateOnly;
  return shared;
}

/** A fast validator in machine code (api/native-validator.ts): BodyValidator's contract, for a batch at a time. */
export interface NativeBodyValidation {
  /** Validate bodies [first, last); returns the first one not accepted, or `last`. */
  validateBodies(first: number, last: number, bytes: Uint8Array, starts: Int32Array, ends: Int32Array): number;
}
type NativeValidatorFactory = (info: ModuleInfo, features: Features, bytes: Uint8Array) => NativeBodyValidation | null;
let nativeValidatorFactory: NativeValidatorFactory | null = null;

/** Set by api/native-validator.ts (which compiles the validator with Quickbeam itself: the api layer's job). */
export function useNativeBodyValidator(factory: NativeValidatorFactory | null): void {
  nativeValidatorFactory = factory;
}

export class BatchCompiler {
  private readonly asm: Assembler;
  private readonly m: ModuleCodegen;
  private readonly fc: FunctionCompiler;
  private bodyValidator: BodyValidator | null = null;
  /** undefined: not asked for yet. */
  private nativeValidator: NativeBodyValidation | null | undefined;

  constructor(
    private readonly info: ModuleInfo, private readonly features: Features, private readonly options: CodegenOptions,
    private readonly bytes: Uint8Array, private readonly validateOnly = false,
    /** Validate-only batches try BodyValidator first (tests turn it off to run the function compiler alone). */
    private readonly fastValidation = FAST_VALIDATION,
  ) {
    ({ asm: this.asm, m: this.m, fc: this.fc } = sharedContext(this, info, features, options, validateOnly));
  }

  /**
   * Compile functions [first, end) (bodies at bodyStarts/bodyEnds). Throws CompileError for an invalid one.
   * With `inPlace`, the batch's code is a view of this thread's assembler (no copy): valid only until the
   * next compile on this thread.
   */
  compile(first: number, end: number, bodyStarts: Int32Array, bodyEnds: Int32Array, inPlace = false): BatchCode {
    sharedContext(this, this.info, this.features, this.options, this.validateOnly);
    const { asm, m } = this;
    if (this.validateOnly) {
      // The fast validators first (the one in machine code, then BodyValidator for what it declines); the
      // function compiler decides what they decline (and gives exact errors).
      if (this.fastValidation && this.nativeValidator === undefined) {
        this.nativeValidator = nativeValidatorFactory?.(this.info, this.features, this.bytes) ?? null;
      }
      const nv = this.fastValidation ? this.nativeValidator ?? null : null;
      for (let f = first; f < end; f++) {
        if (nv !== null) {
          f = nv.validateBodies(f, end, this.bytes, bodyStarts, bodyEnds);
          if (f === end) break;
        }
        if (this.fastValidation && this.bodyValidator === null) {
          primeBodyValidator(this.features);
          this.bodyValidator = new BodyValidator(this.info, this.features);
        }
        const v = this.bodyValidator;
        if (v !== null) {
          // (after a native decline, this body alone: the native validator goes on with the next)
          const next = v.validateBodies(f, nv !== null ? f + 1 : end, this.bytes, bodyStarts, bodyEnds);
          if (next === end) break;
          if (nv !== null && next > f) continue;
          f = next;
        }
        validatorStats.declined++;
        asm.reset(); // nothing is emitted, but labels are still made
        this.fc.compile(f, this.bytes, bodyStarts[f], bodyEnds[f]);
      }
      return EMPTY_BATCH;
    }
    asm.reset();
    m.pcOffsets.clear();
    m.wasmOffsets.clear();
    m.callRelocs.clear();
    m.trapStubs = emitTrapStubs(asm);
    for (let f = first; f < end; f++) {
      m.funcLabels[f] = asm.newLabel();
      m.directLabels[f] = asm.newLabel();
      m.regLabels[f] = asm.newLabel();
    }
    try {
      for (let f = first; f < end; f++) {
        // (the function compiler aligns the entry to 16 bytes after the handler-table word before it)
        this.fc.compile(f, this.bytes, bodyStarts[f], bodyEnds[f]);
      }
      asm.finish();
      const entries = new Int32Array(3 * (end - first));
      for (let f = first, k = 0; f < end; f++, k += 3) {
        entries[k] = asm.labelOffset(m.funcLabels[f]);
        entries[k + 1] = asm.labelOffset(m.regLabels[f]);
        entries[k + 2] = asm.labelOffset(m.directLabels[f]);
      }
      return {
        code: inPlace ? asm.view() : asm.bytes(), entries, pcOffsets: int32s(m.pcOffsets), wasmOffsets: int32s(m.wasmOffsets),
        callRelocs: int32s(m.callRelocs),
      };
    } finally {
      for (let f = first; f < end; f++) m.funcLabels[f] = m.directLabels[f] = m.regLabels[f] = -1;
    }
  }

  /** compile(), with an invalid function reported as a value (for workers, which cannot throw across threads). */
  tryCompile(first: number, end: number, bodyStarts: Int32Array, bodyEnds: Int32Array, inPlace = false): BatchCode | BatchFailure {
    try {
      return this.compile(first, end, bodyStarts, bodyEnds, inPlace);
    } catch (e) {
      if (!(e instanceof CompileError)) throw e;
      return { funcIndex: this.fc.funcIndex, message: rawMessage(e), offset: e.offset };
    }
  }
}

/** A CompileError's message without the " (at byte offset N)" its constructor appends. */
export function rawMessage(e: CompileError): string {
  const suffix = ` (at byte offset ${e.offset})`;
  return e.offset >= 0 && e.message.endsWith(suffix) ? e.message.slice(0, -suffix.length) : e.message;
}

export function isBatchFailure(r: BatchCode | BatchFailure): r is BatchFailure {
  return (r as BatchFailure).message !== undefined;
}
