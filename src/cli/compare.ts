// `quickbeam compare`: runs one module under Quickbeam, V8 Liftoff and V8 TurboFan, each in a fresh child
// process, checks that they agree (program output, exit code or results, traps), and prints compile,
// instantiate and run times side by side with Quickbeam's ratios to each V8 tier.
//
// Module kinds:
//   freestanding   imports env.putchar(i32) / env.print_i64(i64), exports run() -> i64 (the shared workloads
//                  and bench/programs): output = the bytes passed to putchar, result = run()'s value
//   wasi           imports wasi_snapshot_preview1, exports _start: node:wasi under V8, Quickbeam's WASI
//                  (src/wasi) under Quickbeam; output = what the program writes to stdout
//   --invoke NAME  calls one export with ARGS (parsed by its parameter types) and compares the results
//
// This file is also the child: `node [V8 flags] compare.js --compare-child SPEC` runs one module once and
// writes the program's output to fd 1 and a JSON report to fd 3.

import { formatResultValue, parseArgValue, parseDirOption, parseEnvOption } from './values.js';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { decodeModule } from '../decode/module-decoder.js';
import { type Features, resolveFeatures } from '../decode/features.js';
import { ExternKind, type ModuleInfo, ValType, valTypeText } from '../decode/types.js';
import { CliError } from './main.js';
import { parseFeatureFlag, readModuleBytes } from './load-module.js';

const SELF = fileURLToPath(import.meta.url);
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

export type EngineId = 'quickbeam' | 'liftoff' | 'turbofan';
export const ALL_ENGINES: EngineId[] = ['quickbeam', 'liftoff', 'turbofan'];
const ENGINE_LABEL: Record<EngineId, string> = { quickbeam: 'Quickbeam', liftoff: 'V8 Liftoff', turbofan: 'V8 TurboFan' };
const V8_TIER_FLAGS: Record<Exclude<EngineId, 'quickbeam'>, string[]> = {
  liftoff: ['--liftoff-only', '--no-wasm-lazy-compilation'],
  turbofan: ['--no-liftoff', '--no-wasm-lazy-compilation'],
};

export function compareHelp(): string {
  return `Usage: quickbeam compare [options] FILE [ARGS...]
       quickbeam compare [options] --invoke NAME FILE [ARGS...]

Runs FILE under Quickbeam, V8 Liftoff (node --liftoff-only) and V8 TurboFan (node --no-liftoff), each in a
fresh process with eager compilation (Quickbeam: lazy: false; V8: --no-wasm-lazy-compilation), checks that
the three agree, and prints compile, instantiate and run times side by side with Quickbeam's ratios to each
V8 tier.

What runs:
  freestanding module   (imports env.putchar / env.print_i64, exports run() -> i64, like the workloads in
                        ../shared/workloads and bench/programs): run() once; compared: the output bytes and
                        run()'s value
  WASI command          (_start): with ARGS as its arguments; V8 uses node:wasi, Quickbeam its own WASI;
                        compared: stdout and the exit code
  --invoke NAME         call export NAME with ARGS parsed as its i32/i64/f32/f64 parameters; compared: the
                        results (or the trap). Also accepted right after FILE.

Options:
  --runs N              fresh processes per engine (default 1); times are medians
  --lazy                every engine with lazy compilation: Quickbeam's default (functions of modules of
                        512 KiB or more compile on first call) and V8 without --no-wasm-lazy-compilation
                        (by default all three compile the whole module inside new Module())
  --engines LIST        comma-separated subset of quickbeam,liftoff,turbofan (default all three)
  --dir HOST[::GUEST]   WASI: preopen a host directory (repeatable)
  --env NAME=VALUE      WASI: set a guest environment variable (repeatable)
  --no-FEATURE          turn a WebAssembly feature off in Quickbeam (e.g. --no-memory64)
  --show-output         print the program's output (from the first engine)
  --json                print the measurements as one JSON object instead of the table
  --timeout SECONDS     time limit per process (default 600)

Times are wall-clock inside each process: compile = new Module(bytes), instantiate = new Instance, run = the
call. Quickbeam's compile time includes warming up its own (JavaScript) compiler, as a fresh process does.
Exit status 0 when every engine agrees (the same trap everywhere counts as agreement), 1 when they differ
(or a process dies), 2 for usage errors.`;
}

// ------------------------------------------------------------------------------------------ options

export interface CompareOptions {
  file: string;
  args: string[];
  invoke: string | null;
  runs: number;
  engines: EngineId[];
  dirs: Array<[host: string, guest: string]>;
  env: Record<string, string>;
  features: Partial<Features>;
  showOutput: boolean;
  json: boolean;
  timeoutMs: number;
  lazy: boolean;
}

export function parseCompareArgs(args: string[]): CompareOptions {
  const o: CompareOptions = {
    file: '', args: [], invoke: null, runs: 1, engines: [...ALL_ENGINES], dirs: [], env: {}, features: {},
    showOutput: false, json: false, timeoutMs: 600_000, lazy: false,
  };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = args[++i];
      if (v === undefined) throw new CliError(`compare: ${name} needs a value (see quickbeam compare --help)`, 2);
      return v;
    };
    switch (name) {
      case '--invoke':
        o.invoke = value();
        break;
      case '--runs': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) < 1) throw new CliError(`compare: --runs needs a positive integer, not ${JSON.stringify(v)}`, 2);
        o.runs = Number(v);
        break;
      }
      case '--engines': {
        const list = value().split(',').map((s) => s.trim()).filter((s) => s !== '');
        for (const e of list) {
          if (!(ALL_ENGINES as string[]).includes(e)) throw new CliError(`compare: unknown engine ${JSON.stringify(e)} (quickbeam, liftoff, turbofan)`, 2);
        }
        if (list.length === 0) throw new CliError('compare: --engines needs at least one engine', 2);
        o.engines = ALL_ENGINES.filter((e) => list.includes(e));
        break;
      }
      case '--dir':
        o.dirs.push(parseDirOption(value()));
        break;
      case '--env': {
        const v = value();
        const kv = parseEnvOption(v);
        if (kv === null) throw new CliError(`compare: --env expects NAME=VALUE, got ${JSON.stringify(v)}`, 2);
        o.env[kv[0]] = kv[1];
        break;
      }
      case '--timeout': {
        const v = value();
        if (!(Number(v) > 0)) throw new CliError(`compare: --timeout needs a positive number of seconds, not ${JSON.stringify(v)}`, 2);
        o.timeoutMs = Math.round(Number(v) * 1000);
        break;
      }
      case '--lazy':
        o.lazy = true;
        break;
      case '--show-output':
        o.showOutput = true;
        break;
      case '--json':
        o.json = true;
        break;
      default:
        if (!parseFeatureFlag(a, o.features)) throw new CliError(`compare: unknown option ${a} (see quickbeam compare --help)`, 2);
    }
  }
  if (i >= args.length) throw new CliError('compare: missing FILE (see quickbeam compare --help)', 2);
  o.file = args[i]!;
  let rest = args.slice(i + 1);
  if (rest[0] === '--invoke') {
    if (rest[1] === undefined) throw new CliError('compare: --invoke needs a value (see quickbeam compare --help)', 2);
    if (o.invoke !== null) throw new CliError('compare: --invoke given twice', 2);
    o.invoke = rest[1];
    rest = rest.slice(2);
  }
  o.args = rest;
  return o;
}

// ------------------------------------------------------------------------------------------ module kind

export type ModuleKind = 'freestanding' | 'wasi' | 'invoke';

interface ModuleFacts {
  kind: ModuleKind;
  memory64: boolean;
  multiMemory: boolean;
  table64: boolean;
  /** For --invoke: parameter and result types of the export. */
  params: ValType[];
  results: ValType[];
  codeBytes: number;
}


export function moduleFacts(info: ModuleInfo, invoke: string | null): ModuleFacts {
  const memory64 = info.memories.some((m) => m.index64);
  const table64 = info.tables.some((t) => t.index64);
  const multiMemory = info.memories.length > 1;
  let codeBytes = 0;
  for (let d = 0; d < info.codeOffsets.length; d++) codeBytes += (info.codeEnds?.[d] ?? info.codeOffsets[d]!) - info.codeOffsets[d]!;
  const base = { memory64, multiMemory, table64, params: [] as ValType[], results: [] as ValType[], codeBytes };
  const funcExport = (name: string) => info.exports.find((e) => e.name === name && e.kind === ExternKind.Func);
  if (invoke !== null) {
    const e = funcExport(invoke);
    if (!e) throw new CliError(`compare: no exported function named ${JSON.stringify(invoke)}`);
    const t = info.types[info.funcTypes[e.index]!]!;
    for (const p of t.params) {
      if (p !== ValType.I32 && p !== ValType.I64 && p !== ValType.F32 && p !== ValType.F64) {
        throw new CliError(`compare: --invoke ${invoke}: parameters of type ${valTypeText(p)} cannot be given on the command line`, 2);
      }
    }
    return { ...base, kind: 'invoke', params: t.params, results: t.results };
  }
  if (info.imports.some((i) => i.module === 'wasi_snapshot_preview1' || i.module === 'wasi_unstable') || funcExport('_start')) {
    if (!funcExport('_start')) throw new CliError('compare: the WASI module exports no _start (use --invoke NAME)');
    return { ...base, kind: 'wasi' };
  }
  if (funcExport('run')) return { ...base, kind: 'freestanding' };
  throw new CliError('compare: not a freestanding workload (no export run), nor a WASI command (no _start): use --invoke NAME');
}

// ------------------------------------------------------------------------------------------ child

interface ChildSpec {
  engine: 'quickbeam' | 'v8';
  file: string;
  kind: ModuleKind;
  invoke: string | null;
  params: number[];
  args: string[];
  dirs: Array<[string, string]>;
  env: Record<string, string>;
  features: Partial<Features>;
  lazy: boolean;
}

export interface ChildReport {
  ok: boolean;
  compileMs?: number;
  instantiateMs?: number;
  runMs?: number;
  /** freestanding: run()'s value as unsigned hex; wasi: the exit code; invoke: the results, formatted. */
  result?: string;
  /** The error (a trap, or a failure to compile / link), as "Name: message". */
  error?: string;
  /** Where the error happened. */
  phase?: 'compile' | 'instantiate' | 'run';
  maxRssKb?: number;
}



interface WasiLike {
  getImportObject(): Record<string, unknown>;
  start(instance: unknown): number;
}

async function loadWasi(engine: 'quickbeam' | 'v8', spec: ChildSpec): Promise<WasiLike> {
  const preopens: Record<string, string> = {};
  for (const [host, guest] of spec.dirs) preopens[guest] = host;
  const options = { version: 'preview1' as const, args: [spec.file, ...spec.args], env: spec.env, preopens, returnOnExit: true };
  if (engine === 'v8') {
    const { WASI } = await import('node:wasi');
    return new WASI(options) as unknown as WasiLike;
  }
  const mod = (await import('../wasi/index.js')) as { WASI?: new (o: typeof options) => WasiLike };
  if (typeof mod.WASI !== 'function') throw new Error('Quickbeam has no WASI implementation (src/wasi exports no WASI class)');
  return new mod.WASI(options);
}

/** Peak RSS of this process in KiB: VmHWM of its own address space (getrusage's maxRSS is not usable in a
 * child: on Linux it starts from the RSS of the parent at fork time). */
function peakRssKb(): number {
  try {
    const m = /^VmHWM:\s*(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

/** Runs one module once in this process (the child side); writes the program's output to fd 1. */
async function childMain(specJson: string): Promise<void> {
  const spec = JSON.parse(specJson) as ChildSpec;
  const report: ChildReport = { ok: false };
  const send = (): void => {
    report.maxRssKb = peakRssKb();
    writeSync(3, JSON.stringify(report) + '\n');
  };
  const bytes = spec.file.endsWith('.wat') ? await readModuleBytes(spec.file) : readFileSync(spec.file);
  let W: typeof WebAssembly;
  if (spec.engine === 'v8') W = WebAssembly;
  else W = (await import('../index.js')).default as unknown as typeof WebAssembly;

  const outChunks: Buffer[] = [];
  let outBuf = Buffer.allocUnsafe(1 << 16), outLen = 0;
  const putchar = (c: number): void => {
    if (outLen === outBuf.length) {
      outChunks.push(outBuf);
      outBuf = Buffer.allocUnsafe(1 << 16);
      outLen = 0;
    }
    outBuf[outLen++] = c & 255;
  };
  const flushOut = (): void => {
    outChunks.push(outBuf.subarray(0, outLen));
    const all = Buffer.concat(outChunks);
    let off = 0;
    while (off < all.length) off += writeSync(1, all, off, all.length - off);
  };

  let phase: ChildReport['phase'] = 'compile';
  try {
    const t0 = performance.now();
    const module =
      spec.engine === 'v8'
        ? new W.Module(bytes as BufferSource)
        : new (W.Module as unknown as new (b: Uint8Array, o: unknown) => WebAssembly.Module)(bytes, spec.lazy ? { features: spec.features } : { features: spec.features, lazy: false });
    const t1 = performance.now();
    report.compileMs = t1 - t0;
    phase = 'instantiate';
    let wasi: WasiLike | null = null;
    const imports: Record<string, Record<string, unknown>> = {};
    if (spec.kind === 'wasi' || W.Module.imports(module).some((i) => i.module.startsWith('wasi'))) {
      wasi = await loadWasi(spec.engine, spec);
      Object.assign(imports, wasi.getImportObject());
    }
    for (const imp of W.Module.imports(module)) {
      if (imports[imp.module]?.[imp.name] !== undefined) continue;
      imports[imp.module] ??= {};
      if (imp.module === 'env' && imp.name === 'putchar') imports.env!.putchar = putchar;
      else if (imp.module === 'env' && imp.name === 'print_i64') imports.env!.print_i64 = () => {};
      else if (imp.kind === 'function') {
        imports[imp.module]![imp.name] = () => {
          throw new Error(`unexpected call of import ${imp.module}.${imp.name}`);
        };
      } else throw new Error(`cannot provide import ${imp.module}.${imp.name} (${imp.kind})`);
    }
    const t2 = performance.now();
    const instance = new W.Instance(module, imports as WebAssembly.Imports);
    const t3 = performance.now();
    report.instantiateMs = t3 - t2;
    phase = 'run';
    const exports = instance.exports as Record<string, (...a: unknown[]) => unknown>;
    let result: string;
    let t4: number, t5: number;
    if (spec.kind === 'wasi') {
      t4 = performance.now();
      const code = wasi!.start(instance);
      t5 = performance.now();
      result = `exit ${code}`;
    } else if (spec.kind === 'freestanding') {
      t4 = performance.now();
      const v = exports['run']!();
      t5 = performance.now();
      result = BigInt.asUintN(64, BigInt(v as bigint | number)).toString(16).padStart(16, '0');
    } else {
      const name = spec.invoke!;
      const callArgs = spec.args.map((s, k) => parseArgValue(s, spec.params[k]!));
      t4 = performance.now();
      const v = exports[name]!(...callArgs);
      t5 = performance.now();
      result = Array.isArray(v) ? v.map((x) => formatResultValue(x)).join(' ') : v === undefined ? '' : formatResultValue(v);
    }
    report.runMs = t5 - t4;
    report.result = result;
    report.ok = true;
  } catch (e) {
    report.phase = phase;
    report.error = e instanceof Error ? `${e.constructor?.name ?? e.name}: ${e.message}` : String(e);
  }
  flushOut();
  send();
}

// ------------------------------------------------------------------------------------------ parent

export interface EngineRun extends ChildReport {
  engine: EngineId;
  output: Buffer;
  exitStatus: number | null;
  signal: string | null;
  stderr: string;
}

function v8Flags(engine: Exclude<EngineId, 'quickbeam'>, facts: Pick<ModuleFacts, 'memory64' | 'multiMemory' | 'table64'>, lazy: boolean): string[] {
  const flags = V8_TIER_FLAGS[engine].filter((f) => !(lazy && f === '--no-wasm-lazy-compilation'));
  // (Shipped since: multi-memory in Node 22's V8, memory64 in Node 24's, whose V8 refuses the old flags.)
  if ((facts.memory64 || facts.table64) && NODE_MAJOR < 24) flags.push('--experimental-wasm-memory64');
  if (facts.multiMemory && NODE_MAJOR < 22) flags.push('--experimental-wasm-multi-memory');
  return flags;
}

function runChild(engine: EngineId, spec: ChildSpec, nodeFlags: string[], timeoutMs: number): Promise<EngineRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeFlags, SELF, '--compare-child', JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [], err: Buffer[] = [], rep: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (b: Buffer) => rep.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = Buffer.concat(rep).toString('utf8').trim();
      let report: ChildReport;
      try {
        report = JSON.parse(text.split('\n').pop() || '') as ChildReport;
      } catch {
        const why = signal ? `killed by ${signal}${signal === 'SIGKILL' ? ' (timeout?)' : ''}` : `exit status ${code}`;
        const lastErr = Buffer.concat(err).toString('utf8').trim().split('\n').filter((l) => l.trim() !== '').slice(-1)[0];
        report = { ok: false, error: `process died (${why})${lastErr ? `: ${lastErr}` : ''}` };
      }
      resolve({ ...report, engine, output: Buffer.concat(out), exitStatus: code, signal, stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** How the runs of the engines differ, or [] when they agree. Errors compare by name and message. */
export function disagreements(runs: Array<Pick<EngineRun, 'engine' | 'ok' | 'result' | 'error' | 'output'>>): string[] {
  const out: string[] = [];
  if (runs.length < 2) return out;
  const ref = runs[0]!;
  for (const r of runs.slice(1)) {
    const who = `${ENGINE_LABEL[r.engine]} vs ${ENGINE_LABEL[ref.engine]}`;
    if (r.ok !== ref.ok) {
      out.push(`${who}: ${r.ok ? `ran (${r.result})` : `failed (${r.error})`} but ${ENGINE_LABEL[ref.engine]} ${ref.ok ? `ran (${ref.result})` : `failed (${ref.error})`}`);
      continue;
    }
    if (!r.ok && r.error !== ref.error) out.push(`${who}: different errors: ${JSON.stringify(r.error)} vs ${JSON.stringify(ref.error)}`);
    if (r.ok && r.result !== ref.result) out.push(`${who}: different results: ${r.result} vs ${ref.result}`);
    if (!r.output.equals(ref.output)) {
      const a = r.output.toString('latin1').split('\n'), b = ref.output.toString('latin1').split('\n');
      let k = 0;
      while (k < a.length && k < b.length && a[k] === b[k]) k++;
      out.push(
        `${who}: output differs (${r.output.length} vs ${ref.output.length} bytes), first at line ${k + 1}: ` +
          `${JSON.stringify((a[k] ?? '<end>').slice(0, 80))} vs ${JSON.stringify((b[k] ?? '<end>').slice(0, 80))}`,
      );
    }
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return NaN;
  return n % 2 ? s[(n - 1) >> 1]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

function fmtMs(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !(b > 0) || !Number.isFinite(a)) return '-';
  const r = a / b;
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

export async function compareCommand(argv: string[]): Promise<number> {
  const o = parseCompareArgs(argv);
  const bytes = await readModuleBytes(o.file);
  let info: ModuleInfo;
  try {
    info = decodeModule(bytes, resolveFeatures(o.features));
  } catch (e) {
    throw new CliError(`${o.file}: ${(e as Error).name}: ${(e as Error).message}`);
  }
  const facts = moduleFacts(info, o.invoke);
  if (facts.kind === 'freestanding' && o.args.length > 0) {
    if (o.args[0]!.startsWith('-')) throw new CliError(`compare: options go before FILE (got ${o.args[0]} after it)`, 2);
    throw new CliError('compare: a freestanding workload takes no ARGS (its argv is built in); use --invoke NAME to pass arguments', 2);
  }
  if (facts.kind === 'invoke' && o.args.length !== facts.params.length) {
    throw new CliError(`compare: --invoke ${o.invoke}: expects ${facts.params.length} argument(s), got ${o.args.length}`, 2);
  }
  if (facts.kind === 'invoke') {
    for (let k = 0; k < o.args.length; k++) {
      try {
        parseArgValue(o.args[k]!, facts.params[k]!);
      } catch (e) {
        throw new CliError(`compare: --invoke ${o.invoke}: ${(e as Error).message}`, 2);
      }
    }
  }
  const file = path.resolve(o.file);
  const runsByEngine = new Map<EngineId, EngineRun[]>();
  for (const engine of o.engines) {
    const spec: ChildSpec = {
      engine: engine === 'quickbeam' ? 'quickbeam' : 'v8', file, kind: facts.kind, invoke: o.invoke, params: facts.params,
      args: o.args, dirs: o.dirs, env: o.env, features: o.features, lazy: o.lazy,
    };
    const flags = engine === 'quickbeam' ? [] : v8Flags(engine, facts, o.lazy);
    const runs: EngineRun[] = [];
    for (let r = 0; r < o.runs; r++) runs.push(await runChild(engine, spec, flags, o.timeoutMs));
    runsByEngine.set(engine, runs);
  }

  // Agreement: every run of every engine against the first run of the first engine.
  const firsts = o.engines.map((e) => runsByEngine.get(e)![0]!);
  const diffs = disagreements(firsts);
  for (const e of o.engines) {
    const rs = runsByEngine.get(e)!;
    const d = disagreements(rs).map((s) => `${ENGINE_LABEL[e]}: runs differ between processes: ${s.replace(/^[^:]*: /, '')}`);
    diffs.push(...d);
  }

  interface Row { engine: EngineId; compileMs?: number; instantiateMs?: number; runMs?: number; maxRssMb?: number; result?: string; error?: string }
  const rows: Row[] = o.engines.map((e) => {
    const rs = runsByEngine.get(e)!;
    const good = rs.filter((r) => r.ok);
    const pick = (f: (r: EngineRun) => number | undefined): number | undefined => {
      const xs = rs.map(f).filter((x): x is number => typeof x === 'number');
      return xs.length ? median(xs) : undefined;
    };
    return {
      engine: e,
      compileMs: pick((r) => r.compileMs),
      instantiateMs: pick((r) => r.instantiateMs),
      runMs: good.length ? median(good.map((r) => r.runMs!)) : undefined,
      maxRssMb: pick((r) => (r.maxRssKb !== undefined ? r.maxRssKb / 1024 : undefined)),
      result: rs[0]!.result,
      error: rs[0]!.ok ? undefined : `${rs[0]!.phase ? `${rs[0]!.phase}: ` : ''}${rs[0]!.error}`,
    };
  });
  const byEngine = new Map(rows.map((r) => [r.engine, r]));
  const qb = byEngine.get('quickbeam');

  if (o.json) {
    const outputs = Object.fromEntries(firsts.map((r) => [r.engine, { bytes: r.output.length, sha256: createHash('sha256').update(r.output).digest('hex') }]));
    console.log(JSON.stringify({ file: o.file, kind: facts.kind, codeBytes: facts.codeBytes, runs: o.runs, engines: rows, outputs, agree: diffs.length === 0, differences: diffs }));
    return diffs.length === 0 ? 0 : 1;
  }

  const what =
    facts.kind === 'freestanding' ? 'freestanding run()' : facts.kind === 'wasi' ? `WASI command${o.args.length ? ' ' + o.args.join(' ') : ''}` : `--invoke ${o.invoke}(${o.args.join(', ')})`;
  const lines: string[] = [];
  lines.push(
    `${path.basename(o.file)}: ${what}; ${bytes.length.toLocaleString('en-US')} bytes, ${facts.codeBytes.toLocaleString('en-US')} of code` +
      `${facts.memory64 ? ', memory64' : ''}; ${o.runs} process${o.runs > 1 ? 'es' : ''} per engine${o.runs > 1 ? ' (medians)' : ''}` +
      `${o.lazy ? '; lazy compilation' : ''}`,
  );
  const resultLabel = facts.kind === 'freestanding' ? 'run() / output' : facts.kind === 'wasi' ? 'exit / stdout' : 'results';
  lines.push(`${'engine'.padEnd(12)} ${'compile ms'.padStart(10)} ${'inst. ms'.padStart(9)} ${'run ms'.padStart(9)} ${'RSS MB'.padStart(7)}  ${resultLabel}`);
  for (const r of rows) {
    const first = runsByEngine.get(r.engine)![0]!;
    const res = r.error !== undefined ? `FAILED ${r.error}` : `${r.result}${facts.kind !== 'invoke' ? ` / ${first.output.length} bytes` : ''}`;
    lines.push(
      `${ENGINE_LABEL[r.engine].padEnd(12)} ${fmtMs(r.compileMs).padStart(10)} ${fmtMs(r.instantiateMs).padStart(9)} ${fmtMs(r.runMs).padStart(9)} ${(r.maxRssMb !== undefined ? r.maxRssMb.toFixed(0) : '-').padStart(7)}  ${res}`,
    );
  }
  if (qb) {
    for (const v of ['liftoff', 'turbofan'] as const) {
      const x = byEngine.get(v);
      if (!x) continue;
      lines.push(
        `Quickbeam / ${ENGINE_LABEL[v].replace('V8 ', '')}:`.padEnd(24) +
          `compile ${ratio(qb.compileMs, x.compileMs)}, run ${ratio(qb.runMs, x.runMs)}, compile+instantiate+run ` +
          ratio(sum(qb), sum(x)),
      );
    }
  }
  if (o.showOutput && firsts[0]) {
    lines.push('--- output (' + ENGINE_LABEL[firsts[0].engine] + ') ---');
    lines.push(firsts[0].output.toString('utf8').replace(/\n$/, ''));
    lines.push('---');
  }
  if (diffs.length === 0) {
    const allOk = firsts.every((r) => r.ok);
    lines.push(`${allOk ? 'agree' : 'agree (all fail the same way)'}: ${o.engines.map((e) => ENGINE_LABEL[e]).join(', ')}`);
  } else {
    lines.push('DISAGREE:');
    for (const d of diffs) lines.push('  ' + d);
  }
  process.stdout.write(lines.join('\n') + '\n');
  for (const r of firsts) {
    if (!r.ok && r.stderr.trim() !== '' && process.env['QUICKBEAM_DEBUG']) process.stderr.write(`[${r.engine} stderr]\n${r.stderr}\n`);
  }
  return diffs.length === 0 ? 0 : 1;
}

function sum(r: { compileMs?: number; instantiateMs?: number; runMs?: number }): number | undefined {
  if (r.compileMs === undefined || r.instantiateMs === undefined || r.runMs === undefined) return undefined;
  return r.compileMs + r.instantiateMs + r.runMs;
}

// ------------------------------------------------------------------------------------------ entry (child)

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(SELF);
  } catch {
    return false;
  }
}

if (isEntryPoint() && process.argv[2] === '--compare-child') {
  childMain(process.argv[3] ?? '{}').catch((e) => {
    try {
      writeSync(3, JSON.stringify({ ok: false, error: `child failed: ${e instanceof Error ? e.message : String(e)}` }) + '\n');
    } catch {
      // fd 3 is gone: the parent reports the exit status.
    }
    process.exitCode = 1;
  });
}
