// Compiles single functions of a lazily compiled module on their first call. One LazyCompiler per module,
// made on the first lazy compile; the compiling machinery is this thread's (below), allocated once, so a
// lazy compile costs what the same function costs in the eager pass. Calls between functions go through the code-slot table, so each function's code
// stands alone: it starts with its own trap stubs and needs no linking.

import { Assembler } from '../x64/assembler.js';
import { FunctionCompiler, ModuleCodegen } from './function-compiler.js';
import { CompiledModule } from './module-compiler.js';
import { emitTrapStubs } from './stubs.js';
import { Int32List } from './int32-list.js';

export interface LazyFunctionCode {
  /** The function's code: valid until the next compile() (a view into the compiler's buffer). */
  code: Uint8Array;
  /** Offset of the function's entry in `code` (after its trap stubs). */
  entry: number;
  /** Source map of the function: code offsets (ascending) -> wasm byte offsets. */
  pcOffsets: Int32Array;
  wasmOffsets: Int32Array;
}

// The assembler, function compiler (value stack, control stack) and label tables are this thread's, shared by
// every module's LazyCompiler and pointed at the module being compiled (lazy compiles never overlap: one
// runs to the end, and its code is copied out, before anything else compiles), so that a loop of small lazy
// modules allocates none of them per module. Label tables hold -1 between compiles.
interface Context {
  asm: Assembler;
  m: ModuleCodegen;
  fc: FunctionCompiler;
}
let shared: Context | null = null;

function contextFor(c: CompiledModule): Context {
  if (shared === null) {
    const asm = new Assembler(64 * 1024);
    const m: ModuleCodegen = {
      asm, info: c.info, features: c.features, boundsChecks: c.boundsChecks, interruptible: c.interruptible,
      fuel: c.fuel, lazy: true, layout: c.layout, funcLabels: [], directLabels: [], regLabels: [], trapStubs: [], pcOffsets: new Int32List(),
      wasmOffsets: new Int32List(), callRelocs: new Int32List(),
    };
    shared = { asm, m, fc: new FunctionCompiler(m) };
  }
  const m = shared.m;
  m.info = c.info;
  m.features = c.features;
  m.boundsChecks = c.boundsChecks;
  m.interruptible = c.interruptible;
  m.fuel = c.fuel;
  m.layout = c.layout;
  for (let f = m.funcLabels.length, n = c.info.funcTypes.length; f < n; f++) {
    m.funcLabels.push(-1);
    m.directLabels.push(-1);
    m.regLabels.push(-1);
  }
  return shared;
}

export class LazyCompiler {
  constructor(private readonly c: CompiledModule) {}

  compile(f: number): LazyFunctionCode {
    const c = this.c;
    const { asm, m, fc } = contextFor(c);
    asm.reset();
    m.pcOffsets.clear();
    m.wasmOffsets.clear();
    m.trapStubs = emitTrapStubs(asm);
    const entry = asm.newLabel();
    m.funcLabels[f] = entry;
    try {
      fc.compile(f, c.bytes, c.bodyStarts[f], c.bodyEnds[f]);
      asm.finish();
    } finally {
      m.funcLabels[f] = -1;
    }
    return { code: asm.view(), entry: asm.labelOffset(entry), pcOffsets: m.pcOffsets.data.slice(0, m.pcOffsets.length), wasmOffsets: m.wasmOffsets.data.slice(0, m.wasmOffsets.length) };
  }
}
