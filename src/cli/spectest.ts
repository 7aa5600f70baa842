// `quickbeam spectest`: runs wast2json conformance tests (.json + .wasm) against the Quickbeam engine or V8.
// Each .json file runs in its own worker process (spectest-worker.ts) so that a crash or a hang is reported as
// a failure of that file and the run goes on; up to --jobs workers run at once. Output is printed per file in
// input order: one line per failing command, a summary line per file, and at the very end exactly
// `N passed, M failed, K skipped`. Every command of a file (module, register, action and every assertion)
// counts once; "skipped" are the text-format (.wat) modules a binary-only engine cannot run.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FEATURES, type Features, resolveFeatures } from '../decode/features.js';
import { CliError } from './main.js';
import { walkArgs } from './arg-walker.js';
import { type EngineName, QUICKBEAM_INDEX_URL } from './spectest-engine.js';
import type { WorkerOptions } from './spectest-worker.js';

const WORKER_PATH = fileURLToPath(new URL('./spectest-worker.js', import.meta.url));
const DEFAULT_TIMEOUT_S = 120;
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);

type FeatureName = keyof Features;

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

function featureByKebab(): Map<string, FeatureName> {
  const m = new Map<string, FeatureName>();
  for (const k of Object.keys(DEFAULT_FEATURES) as FeatureName[]) m.set(kebab(k), k);
  return m;
}

export function spectestHelp(): string {
  const names = [...featureByKebab()].map(([kb, k]) => `${kb}${DEFAULT_FEATURES[k] ? '' : ' (off by default)'}`);
  const rows: string[] = [];
  for (const n of names) {
    const last = rows.length - 1;
    if (last >= 0 && rows[last]!.length + n.length + 2 <= 72) rows[last] += `, ${n}`;
    else rows.push(n);
  }
  const feats = rows.join(',\n' + ' '.repeat(35));
  return `Usage: quickbeam spectest [options] PATH...

Runs WebAssembly spec tests converted by wast2json. PATH is a .json file or a folder searched recursively
for them. Each file runs in its own process; a crash or hang fails that file and the run goes on.

Options:
  --engine quickbeam|v8  engine under test (default quickbeam); v8 = this Node's own WebAssembly,
                         started with --experimental-wasm-memory64 (before Node 24) unless --no-memory64
  --lazy, --eager        compile every module lazily (functions on first call) or eagerly
  --compile-threads N    threads for eager compiles (default: by module size)
  --batch-bytes N        wasm bytes per compile batch (testing: 1 puts every function in its own batch,
                         so that with --compile-threads every call between functions is linked)
  --no-FEATURE           turn a feature off (e.g. --no-multi-memory passes
                         new Module(bytes, { features: { multiMemory: false } }))
  --FEATURE              turn a feature on
                         features: ${feats}
  --jobs N, -j N         files run at once (default 2)
  --filter SUBSTRING     only files whose path (as printed) contains SUBSTRING
  --timeout SECONDS      per-file time limit (default ${DEFAULT_TIMEOUT_S})
  --direct-calls         call exports from JS even for NaN and v128 values (by default such calls go
                         through a small wasm wrapper that passes bit patterns, so NaN payloads are exact)
  --verbose, -v          also print notes (e.g. trap messages worded differently) and worker output

Output: one line per failing command (file:line: ...), one summary line per file, then
"N passed, M failed, K skipped" (K = text-format modules, which need a text parser).
Exit status 0 when nothing failed or crashed, 1 otherwise, 2 for usage errors.`;
}

export interface SpectestOptions {
  engine: EngineName;
  features: Partial<Features>;
  /** --lazy / --eager: force the compilation mode of every module (quickbeam engine). */
  lazy?: boolean;
  /** --compile-threads / --batch-bytes (quickbeam engine). */
  threads?: number;
  batchBytes?: number;
  jobs: number;
  verbose: boolean;
  filter: string | null;
  timeoutMs: number;
  directCalls: boolean;
  paths: string[];
  debugAbortOn?: string;
  debugHangOn?: string;
}

export function parseSpectestArgs(args: string[]): SpectestOptions {
  const o: SpectestOptions = {
    engine: 'quickbeam',
    features: {},
    jobs: 2,
    verbose: false,
    filter: null,
    timeoutMs: DEFAULT_TIMEOUT_S * 1000,
    directCalls: false,
    paths: [],
  };
  const feats = featureByKebab();
  walkArgs('spectest', args, (a) => o.paths.push(a), ({ name, value, noValue }) => {
    switch (name) {
      case '--engine': {
        const v = value();
        if (v !== 'quickbeam' && v !== 'v8') throw new CliError(`spectest: --engine must be quickbeam or v8, not ${JSON.stringify(v)}`, 2);
        o.engine = v;
        break;
      }
      case '--jobs':
      case '-j': {
        const v = value();
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new CliError(`spectest: --jobs needs a positive integer, not ${JSON.stringify(v)}`, 2);
        o.jobs = n;
        break;
      }
      case '--timeout': {
        const v = value();
        const n = Number(v);
        if (!(n > 0)) throw new CliError(`spectest: --timeout needs a positive number of seconds, not ${JSON.stringify(v)}`, 2);
        o.timeoutMs = Math.round(n * 1000);
        break;
      }
      case '--filter':
        o.filter = value();
        break;
      case '--verbose':
      case '-v':
        noValue();
        o.verbose = true;
        break;
      case '--lazy':
      case '--eager':
        noValue();
        o.lazy = name === '--lazy';
        break;
      case '--compile-threads':
      case '--batch-bytes': {
        const v = Number(value());
        if (!Number.isInteger(v) || v < 1) throw new CliError(`spectest: ${name} needs a positive integer`, 2);
        if (name === '--compile-threads') o.threads = v;
        else o.batchBytes = v;
        break;
      }
      case '--direct-calls':
        noValue();
        o.directCalls = true;
        break;
      case '--debug-abort-on': // testing the runner: the worker aborts at the first assertion of matching files
        o.debugAbortOn = value();
        break;
      case '--debug-hang-on': // testing the runner: the worker spins forever at the first assertion
        o.debugHangOn = value();
        break;
      default: {
        const off = name.startsWith('--no-');
        const f = feats.get(name.slice(off ? 5 : 2));
        if (f === undefined || !name.startsWith('--')) {
          throw new CliError(`spectest: unknown option ${name} (see quickbeam spectest --help)`, 2);
        }
        noValue();
        o.features[f] = !off;
      }
    }
  });
  if (o.paths.length === 0) throw new CliError('spectest: no PATH given (see quickbeam spectest --help)', 2);
  return o;
}

function collect(p: string, out: string[]): void {
  let st;
  try {
    st = statSync(p);
  } catch {
    throw new CliError(`spectest: no such file or folder: ${p}`, 2);
  }
  if (st.isFile()) {
    out.push(path.resolve(p));
    return;
  }
  const walk = (dir: string): void => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile() && e.name.endsWith('.json')) out.push(path.resolve(full));
    }
  };
  walk(p);
}

interface FileResult {
  display: string;
  passed: number;
  failed: number;
  skipped: number;
  lines: string[];
}

function displayName(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  return rel === '' ? abs : rel;
}

function tail(text: string, n: number): string[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  return lines.slice(-n);
}

/**
 * Runs one file; runs it a second time if the worker died before it even started (exit status != 0 and not one
 * protocol message): that is a worker that could not load, e.g. while dist/ was being rebuilt underneath it.
 */
async function runFile(abs: string, o: SpectestOptions, table64: boolean): Promise<FileResult> {
  const first = await runFileOnce(abs, o, table64);
  if (!first.retry) return first.result;
  const second = (await runFileOnce(abs, o, table64)).result;
  if (o.verbose) second.lines.unshift(`${second.display}: note: the worker failed to start; ran it again`);
  return second;
}

function runFileOnce(abs: string, o: SpectestOptions, table64: boolean): Promise<{ result: FileResult; retry: boolean }> {
  const display = displayName(abs);
  const r: FileResult = { display, passed: 0, failed: 0, skipped: 0, lines: [] };
  const wopts: WorkerOptions = {
    file: abs,
    engine: o.engine,
    features: o.features,
    lazy: o.lazy,
    threads: o.threads,
    batchBytes: o.batchBytes,
    table64,
    directCalls: o.directCalls,
    debugAbortOn: o.debugAbortOn,
    debugHangOn: o.debugHangOn,
  };
  const nodeFlags: string[] = [];
  // memory64 ships in Node 24's V8, which no longer knows the flag (and refuses to start with it)
  if (o.engine === 'v8' && o.features.memory64 !== false && NODE_MAJOR < 24) nodeFlags.push('--experimental-wasm-memory64');

  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeFlags, WORKER_PATH, JSON.stringify(wopts)], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    let pending: { line: number; type: string } | null = null;
    let done = false;
    let fatal: string | null = null;
    let timedOut = false;
    let messages = 0;
    let output = ''; // the worker's own stdout + stderr (engine debug output, crash messages), bounded
    const keep = (d: Buffer): void => {
      output += d.toString();
      if (output.length > 65536) output = output.slice(-32768);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);

    const settle = (): void => {
      if (pending) r.passed++;
      pending = null;
    };
    let buf = '';
    const onMessage = (m: { t: string; line?: number; type?: string; msg?: string }): void => {
      messages++;
      switch (m.t) {
        case 'at':
          settle();
          pending = { line: m.line ?? 0, type: m.type ?? '?' };
          break;
        case 'fail':
          r.failed++;
          r.lines.push(`${display}:${m.line}: ${m.msg}`);
          pending = null;
          break;
        case 'skip':
          r.skipped++;
          pending = null;
          break;
        case 'note':
          if (o.verbose) r.lines.push(`${display}:${m.line}: note: ${m.msg}`);
          break;
        case 'fatal':
          fatal = m.msg ?? 'unknown error';
          break;
        case 'done':
          settle();
          done = true;
          break;
      }
    };
    const results = child.stdio[3] as NodeJS.ReadableStream;
    results.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const lineText = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (lineText === '') continue;
        try {
          onMessage(JSON.parse(lineText));
        } catch {
          /* not a protocol line */
        }
      }
    });

    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs);

    child.on('error', (e) => {
      fatal = `cannot start the worker: ${e.message}`;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);

      const reason = timedOut
        ? `timed out after ${o.timeoutMs / 1000} s`
        : signal
          ? `crashed (killed by signal ${signal})`
          : `exited with status ${code}`;
      let showOutput = o.verbose;
      if (fatal !== null) {
        r.failed++;
        r.lines.push(`${display}: ${fatal}`);
      } else if (!done) {
        const at = pending as { line: number; type: string } | null;
        r.failed++;
        r.lines.push(at ? `${display}:${at.line}: ${at.type}: worker ${reason}` : `${display}: worker ${reason}`);
        pending = null;
        showOutput = true;
      } else if (code !== 0 || signal) {
        r.failed++;
        r.lines.push(`${display}: worker ${reason} after finishing the file`);
        showOutput = true;
      }
      if (showOutput) {
        const lines = o.verbose ? tail(output, 1000) : tail(output, 12);
        for (const l of lines) r.lines.push(`    | ${l}`);
      }
      resolve({ result: r, retry: messages === 0 && !timedOut && signal === null && code !== 0 });
    });
  });
}

export async function spectestCommand(args: string[]): Promise<number> {
  const o = parseSpectestArgs(args);
  if (o.engine === 'quickbeam' && !existsSync(QUICKBEAM_INDEX_URL)) {
    throw new CliError(
      `spectest: the Quickbeam engine is not built (${displayName(fileURLToPath(QUICKBEAM_INDEX_URL))} is missing); ` +
        'run `npm run build`, or test the runner with --engine v8',
      1,
    );
  }
  const seen = new Set<string>();
  let files: string[] = [];
  for (const p of o.paths) {
    const found: string[] = [];
    collect(p, found);
    for (const f of found) {
      if (!seen.has(f)) {
        seen.add(f);
        files.push(f);
      }
    }
  }
  if (o.filter !== null) files = files.filter((f) => displayName(f).includes(o.filter!));
  if (files.length === 0) process.stderr.write('quickbeam spectest: no .json files to run\n');

  const table64 = o.engine === 'quickbeam' && resolveFeatures(o.features).table64;
  if (o.verbose) {
    const feats = Object.entries(o.features).map(([k, v]) => `${v ? '' : 'no-'}${kebab(k)}`);
    let line = `spectest: ${files.length} file(s), engine ${o.engine}, jobs ${o.jobs}`;
    if (feats.length > 0) line += `, features ${feats.join(' ')}`;
    if (o.engine === 'v8' && feats.some((f) => !f.endsWith('memory64'))) line += ' (v8: only memory64 has an effect)';
    console.log(line);
  }

  const results: (FileResult | undefined)[] = new Array(files.length);
  let next = 0;
  let printed = 0;
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const flush = (): void => {
    while (printed < files.length && results[printed] !== undefined) {
      const r = results[printed]!;
      for (const l of r.lines) console.log(l);
      console.log(`${r.display}: ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped`);
      totals.passed += r.passed;
      totals.failed += r.failed;
      totals.skipped += r.skipped;
      printed++;
    }
  };
  const loop = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      results[i] = await runFile(files[i]!, o, table64);
      flush();
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, Math.max(files.length, 1)) }, loop));
  flush();
  console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
  return totals.failed === 0 ? 0 : 1;
}
