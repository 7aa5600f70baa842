// `quickbeam compile`: compiles a module (decode + validation + code generation, nothing is executed) and
// reports the generated code: one line per function with its wasm body size and machine code size, then the
// totals and the compile time. With --disasm each selected function's machine code is disassembled with GNU
// objdump (Intel syntax, addresses = offsets in the module's code buffer), or dumped as hex without objdump.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileModule, type CompiledModule } from '../compile/module-compiler.js';
import { DEFAULT_FEATURES, type Features, resolveFeatures } from '../decode/features.js';
import { ExternKind } from '../decode/types.js';
import { CompileError } from '../errors.js';
import { CliError } from './main.js';
import { walkArgs } from './arg-walker.js';
import { readModuleBytes } from './load-module.js';

export function compileHelp(): string {
  return `Usage: quickbeam compile [options] FILE

Compiles FILE (.wasm, or .wat text): decoding, validation and x86-64 code generation in one pass; nothing
runs. Prints one line per defined function (index, name, wasm body bytes, machine code bytes, ratio), then
the totals and the compile time.

Options:
  --disasm              also print each function's machine code (objdump -D -b binary -mi386:x86-64
                        -M intel when objdump is installed, hex otherwise); addresses are offsets in the
                        module's code buffer
  --func N|NAME         only function N (index in the function index space, imports included) or the
                        function with that name (name section) or export name; repeatable
  --sort size           list functions by machine code size, largest first (default: by index)
  --summary             print the totals only
  --unsafe-no-bounds-checks
                        compile as 'quickbeam run --unsafe-no-bounds-checks' would (to see what bounds
                        checks cost in code size)
  --no-FEATURE          turn a feature off (e.g. --no-memory64), as in spectest

Exit status 0 when the module compiles, 1 with the CompileError message when it does not, 2 for usage errors.`;
}

export interface CompileCmdOptions {
  file: string;
  disasm: boolean;
  funcs: string[];
  sortBySize: boolean;
  summary: boolean;
  boundsChecks: boolean;
  features: Partial<Features>;
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

export function parseCompileArgs(args: string[]): CompileCmdOptions {
  const o: CompileCmdOptions = { file: '', disasm: false, funcs: [], sortBySize: false, summary: false, boundsChecks: true, features: {} };
  const feats = new Map<string, keyof Features>();
  for (const k of Object.keys(DEFAULT_FEATURES) as (keyof Features)[]) feats.set(kebab(k), k);
  const files: string[] = [];
  walkArgs('compile', args, (a) => files.push(a), ({ name, value }) => {
    switch (name) {
      case '--disasm':
        o.disasm = true;
        break;
      case '--func':
        o.funcs.push(value());
        break;
      case '--sort': {
        const v = value();
        if (v !== 'size' && v !== 'index') throw new CliError(`compile: --sort must be size or index, not ${JSON.stringify(v)}`, 2);
        o.sortBySize = v === 'size';
        break;
      }
      case '--summary':
        o.summary = true;
        break;
      case '--unsafe-no-bounds-checks':
        o.boundsChecks = false;
        break;
      default: {
        const neg = name.startsWith('--no-');
        const f = feats.get(name.slice(neg ? 5 : 2));
        if (f === undefined) throw new CliError(`compile: unknown option ${name} (see quickbeam compile --help)`, 2);
        o.features[f] = !neg;
      }
    }
  });
  if (files.length !== 1) throw new CliError(`compile: expected one FILE.wasm (see quickbeam compile --help)`, 2);
  o.file = files[0]!;
  return o;
}

export interface FunctionCode {
  index: number;
  name: string | null;
  /** Byte range of the function's machine code in CompiledModule.code (trap sites included). */
  start: number;
  end: number;
  /** Size of the wasm body (locals and instructions), in bytes. */
  wasmBytes: number;
}

/**
 * The machine code range of every defined function. A function ends where the next piece of code starts: the
 * next function, the import thunks and entry stubs that follow the last function, or the end of the buffer.
 */
export function functionRanges(c: CompiledModule): FunctionCode[] {
  const info = c.info;
  const starts = [...c.funcOffsets, ...c.entryStubOffsets, c.code.length].sort((a, b) => a - b);
  const nextStart = (off: number): number => {
    let lo = 0, hi = starts.length - 1, best = c.code.length;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! > off) {
        best = starts[mid]!;
        hi = mid - 1;
      } else lo = mid + 1;
    }
    return best;
  };
  const out: FunctionCode[] = [];
  for (let f = info.numImportedFuncs; f < c.funcOffsets.length; f++) {
    const d = f - info.numImportedFuncs;
    const start = c.funcOffsets[f]!;
    const bodyStart = info.codeOffsets[d] ?? 0, bodyEnd = info.codeEnds?.[d] ?? bodyStart;
    out.push({ index: f, name: functionName(c, f), start, end: nextStart(start), wasmBytes: bodyEnd - bodyStart });
  }
  return out;
}

/** The name-section name of function f, else its first export name, else null. */
export function functionName(c: CompiledModule, f: number): string | null {
  const n = c.info.funcNames.get(f);
  if (n !== undefined) return n;
  const e = c.info.exports.find((x) => x.kind === ExternKind.Func && x.index === f);
  return e ? e.name : null;
}

function selectFunctions(all: FunctionCode[], c: CompiledModule, wanted: string[]): FunctionCode[] {
  if (wanted.length === 0) return all;
  const out: FunctionCode[] = [];
  for (const w of wanted) {
    let hits: FunctionCode[];
    if (/^\d+$/.test(w)) {
      const idx = Number(w);
      if (idx < c.info.numImportedFuncs && idx < c.funcOffsets.length)
        throw new CliError(`compile: function ${idx} is imported (it has a host-call thunk, not a body)`, 2);
      hits = all.filter((f) => f.index === idx);
    } else {
      const exported = new Set(c.info.exports.filter((e) => e.kind === ExternKind.Func && e.name === w).map((e) => e.index));
      hits = all.filter((f) => c.info.funcNames.get(f.index) === w || exported.has(f.index));
    }
    if (hits.length === 0) throw new CliError(`compile: no defined function ${JSON.stringify(w)}`, 2);
    for (const h of hits) if (!out.includes(h)) out.push(h);
  }
  return out;
}

let objdumpChecked: boolean | null = null;
function haveObjdump(): boolean {
  if (objdumpChecked === null) {
    const r = spawnSync('objdump', ['--version'], { stdio: 'ignore' });
    objdumpChecked = r.status === 0;
  }
  return objdumpChecked;
}

/** Disassembly of code[start, end) as lines (address = offset in the code buffer). */
export function disassemble(code: Uint8Array, start: number, end: number): string[] {
  const bytes = code.subarray(start, end);
  if (haveObjdump()) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'quickbeam-disasm-'));
    try {
      const file = path.join(dir, 'code.bin');
      writeFileSync(file, bytes);
      const r = spawnSync(
        'objdump',
        ['-D', '-b', 'binary', '-mi386:x86-64', '-M', 'intel', `--adjust-vma=0x${start.toString(16)}`, file],
        { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
      );
      if (r.status === 0) {
        // Keep the instruction lines: "   addr:\tbytes\tmnemonic"
        return r.stdout.split('\n').filter((l) => /^\s*[0-9a-f]+:\t/.test(l));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const lines: string[] = [];
  for (let o = 0; o < bytes.length; o += 16) {
    const row = Array.from(bytes.subarray(o, o + 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(`${(start + o).toString(16).padStart(8, ' ')}:  ${row}`);
  }
  return lines;
}

function fmtInt(n: number): string {
  return n.toLocaleString('en-US');
}

export async function compileCommand(args: string[]): Promise<number> {
  const o = parseCompileArgs(args);
  const bytes = await readModuleBytes(o.file);
  const features = resolveFeatures(o.features);
  let c: CompiledModule;
  try {
    c = compileModule(bytes, features, { boundsChecks: o.boundsChecks });
  } catch (e) {
    if (e instanceof CompileError) throw new CliError(`compile: ${o.file}: CompileError: ${e.message}`, 1);
    throw e;
  }
  const all = functionRanges(c);
  let shown = selectFunctions(all, c, o.funcs);
  if (o.sortBySize) shown = [...shown].sort((a, b) => b.end - b.start - (a.end - a.start) || a.index - b.index);

  const out: string[] = [];
  if (!o.summary) {
    const nameWidth = Math.min(40, Math.max(4, ...shown.map((f) => (f.name ?? '').length)));
    out.push(`${'func'.padStart(6)}  ${'name'.padEnd(nameWidth)}  ${'wasm B'.padStart(9)}  ${'code B'.padStart(9)}  ${'x'.padStart(6)}  offset`);
    for (const f of shown) {
      const size = f.end - f.start;
      let name = f.name ?? '';
      if (name.length > nameWidth) name = name.slice(0, nameWidth - 1) + '~';
      const ratio = f.wasmBytes > 0 ? (size / f.wasmBytes).toFixed(1) : '-';
      out.push(
        `${String(f.index).padStart(6)}  ${name.padEnd(nameWidth)}  ${fmtInt(f.wasmBytes).padStart(9)}  ${fmtInt(size).padStart(9)}  ${ratio.padStart(6)}  0x${f.start.toString(16)}`,
      );
      if (o.disasm) {
        out.push(...disassemble(c.code, f.start, f.end));
        out.push('');
      }
    }
  }
  const wasmTotal = all.reduce((s, f) => s + f.wasmBytes, 0);
  const codeInFuncs = all.reduce((s, f) => s + (f.end - f.start), 0);
  const mbps = c.compileMs > 0 ? wasmTotal / 1e6 / (c.compileMs / 1000) : 0;
  out.push(
    `${fmtInt(all.length)} functions (${fmtInt(c.info.numImportedFuncs)} imported): ${fmtInt(wasmTotal)} bytes of wasm code -> ` +
      `${fmtInt(codeInFuncs)} bytes of machine code in functions (${wasmTotal > 0 ? (codeInFuncs / wasmTotal).toFixed(2) : '-'} per wasm byte), ` +
      `${fmtInt(c.code.length)} bytes with stubs`,
  );
  out.push(`compiled ${fmtInt(bytes.length)} bytes in ${c.compileMs.toFixed(1)} ms (${mbps.toFixed(mbps < 10 ? 2 : 1)} MB/s of wasm code)`);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}
