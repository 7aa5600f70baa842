// Compiles single functions of a lazily compiled module on their first call. One LazyCompiler per module,
// made on the first lazy compile and reused for every later one: its function compiler (value stack,
// control stack) and label tables are allocated once (the assembler is shared by all modules), so a lazy compile costs what the same function
// costs in the eager pass. Calls between functions go through the code-slot table, so each function's code
// stands alone: it starts with its own trap stubs and needs no linking.

import { Assembler } from '../x64/assembler.js';
import { FunctionCompiler, ModuleCodegen } from './function-compiler.js';
import { CompiledModule } from './module-compiler.js';
import { emitTrapStubs } from './stubs.js';

export interface LazyFunctionCode {
  /** The function's code: valid until the next compile() (a view into the compiler's buffer). */
  code: Uint8Array;
  /** Offset of the function's entry in `code` (after its trap stubs). */
  entry: number;
  /** Source map of the function: code offsets (ascending) -> wasm byte offsets. */
  pcOffsets: Int32Array;
  wasmOffsets: Int32Array;
}

// The assembler is this thread's, shared by every module's LazyCompiler (lazy compiles never overlap: one runs
// to the end, and its code is copied out, before anything else compiles), so that a loop of small lazy
// modules does not allocate a 64 KiB buffer per module.
let sharedAssembler: Assembler | null = null;

export class LazyCompiler {
  private readonly asm = (sharedAssembler ??= new Assembler(64 * 1024));
  private readonly m: ModuleCodegen;
  private readonly fc: FunctionCompiler;

  constructor(private readonly c: CompiledModule) {
    const n = c.info.funcTypes.length;
    this.m = {
      asm: this.asm, info: c.info, features: c.features, boundsChecks: c.boundsChecks, interruptible: c.interruptible,
      fuel: c.fuel, lazy: true, layout: c.layout, funcLabels: new Array<number>(n).fill(-1),
      directLabels: new Array<number>(n).fill(-1), trapStubs: [], pcOffsets: [], wasmOffsets: [], callRelocs: [],
    };
    this.fc = new FunctionCompiler(this.m);
  }

  compile(f: number): LazyFunctionCode {
    const { asm, m, c } = this;
    asm.reset();
    m.pcOffsets.length = 0;
    m.wasmOffsets.length = 0;
    m.trapStubs = emitTrapStubs(asm);
    const entry = asm.newLabel();
    m.funcLabels[f] = entry;
    try {
      this.fc.compile(f, c.bytes, c.bodyStarts[f], c.bodyEnds[f]);
      asm.finish();
    } finally {
      m.funcLabels[f] = -1;
    }
    return { code: asm.view(), entry: asm.labelOffset(entry), pcOffsets: Int32Array.from(m.pcOffsets), wasmOffsets: Int32Array.from(m.wasmOffsets) };
  }
}
