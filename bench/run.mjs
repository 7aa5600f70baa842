#!/usr/bin/env node
// `npm run bench`: Quickbeam side by side with V8's two tiers (Liftoff, TurboFan), in one run, on this machine.
//
//   node bench/run.mjs [--quick] [--only NAME[,NAME...]] [--runs N] [--write | --no-write] [--json FILE]
//                      [--wait-idle]
//
// NAME is a workload (hash, sort, interp, bigint, nbody, fft, wordfreq, sqlite) or a section
// (compile, run, memory64, calls, memory, wasi, gc); with section names only those sections run, with workload
// names only those workloads. --quick: one process per measurement and short tinybench budgets (a smoke run).
// A full run (no --quick, no --only) rewrites the generated part of BENCHMARKS.md; --write / --no-write
// override that. --wait-idle first waits (at most 15 min) for the 1-minute load average to drop below 0.6.
// Needs `npx tsc -p .` first (it imports ../dist/src).
//
// How each figure is measured:
//   - compile and run times: a fresh process per measurement (bench/run-module.mjs), median of --runs, CPU time:
//     Quickbeam (plain node, eager: new Module(bytes, { lazy: false })), Liftoff (--liftoff-only --no-wasm-lazy-compilation), TurboFan (--no-liftoff
//     --no-wasm-lazy-compilation), + --experimental-wasm-memory64 for wasm64. Every run's output checksum is
//     checked: a wrong answer is reported loudly and never enters a ratio or a mean.
//   - Quickbeam's warm compile (its JavaScript compiler already optimised by V8) and call overheads:
//     tinybench inside this process.
//   - peak RSS: VmHWM of those child processes (/proc/self/status).
//   - whole-process time of the WASI hello example: hyperfine.
//   - GC binary trees (bench/gc-section.mjs): bench/gc.mjs in fresh processes, 3 runs (1 with --quick),
//     Quickbeam on this node and on Node 24, V8's Liftoff and TurboFan on Node 24 (skipped without one).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dist = path.join(root, 'dist', 'src');

// ------------------------------------------------------------------------------------------------ options
const SECTIONS = ['compile', 'run', 'memory64', 'calls', 'memory', 'wasi', 'gc'];
const argv = process.argv.slice(2);
let quick = false, runsOpt = null, write = null, jsonOut = null, waitIdle = false;
const onlyNames = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--quick') quick = true;
  else if (a === '--only') onlyNames.push(...(argv[++i] ?? '').split(',').filter(Boolean));
  else if (a.startsWith('--only=')) onlyNames.push(...a.slice(7).split(',').filter(Boolean));
  else if (a === '--runs') runsOpt = Number(argv[++i]);
  else if (a === '--write') write = true;
  else if (a === '--no-write') write = false;
  else if (a === '--json') jsonOut = argv[++i];
  else if (a === '--wait-idle') waitIdle = true;
  else if (a === '--help' || a === '-h') {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 14).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    process.exit(0);
  } else {
    console.error(`bench: unknown argument ${a} (see --help)`);
    process.exit(2);
  }
}
if (!fs.existsSync(path.join(dist, 'index.js'))) {
  console.error('bench: dist/ is missing: run `npx tsc -p .` first');
  process.exit(1);
}
const quickbeam = (await import('../dist/src/index.js')).default;
const { compileModule } = await import('../dist/src/compile/module-compiler.js');
const { resolveFeatures } = await import('../dist/src/decode/features.js');

const RUNS = runsOpt ?? (quick ? 1 : 5);
if (!(RUNS >= 1)) { console.error('bench: --runs needs a positive integer'); process.exit(2); }
const sectionsWanted = onlyNames.filter((n) => SECTIONS.includes(n));
const workloadsWanted = onlyNames.filter((n) => !SECTIONS.includes(n));
const want = (s) => sectionsWanted.length === 0 || sectionsWanted.includes(s);
if (write === null) write = !quick && onlyNames.length === 0;

const log = (s) => process.stderr.write(s + '\n');
if (waitIdle) {
  // Other work on the machine skews every figure: wait (at most 15 minutes) for the 1-minute load to settle.
  const until = Date.now() + 15 * 60_000;
  while (os.loadavg()[0] > 0.6 && Date.now() < until) {
    log(`bench: waiting for the machine to be idle (1-minute load ${os.loadavg()[0].toFixed(2)})`);
    await new Promise((r) => setTimeout(r, 20_000));
  }
}
const t0All = performance.now();
const loadStart = os.loadavg()[0];
let loadMax = loadStart;
setInterval(() => { loadMax = Math.max(loadMax, os.loadavg()[0]); }, 5000).unref();

// ------------------------------------------------------------------------------------------------ workloads
// Every child is a Node process: NODE_EXTRA_CA_CERTS (set on some machines) adds ~30-40 ms of certificate
// parsing to each Node start, which is not what the whole-process rows measure.
delete process.env.NODE_EXTRA_CA_CERTS;

const WORKLOADS_DIR = path.resolve(process.env.QUICKBEAM_WORKLOADS ?? path.join(root, '..', 'shared', 'workloads'));
const expected = JSON.parse(fs.readFileSync(path.join(here, 'programs', 'expected.json'), 'utf8'));
/** name -> { wasm32: {file, expected}, wasm64: {...} } */
const workloads = [];
for (const name of Object.keys(expected)) {
  const w = { name, builds: {} };
  for (const bits of ['wasm32', 'wasm64']) {
    const file = path.join(here, 'programs', 'build', `${name}.${bits}.wasm`);
    if (fs.existsSync(file) && expected[name][bits]) w.builds[bits] = { file, expected: expected[name][bits] };
  }
  workloads.push(w);
}
const sqliteDir = path.join(WORKLOADS_DIR, 'sqlite');
if (fs.existsSync(path.join(sqliteDir, 'expected_checksums.json'))) {
  const sums = JSON.parse(fs.readFileSync(path.join(sqliteDir, 'expected_checksums.json'), 'utf8'));
  const w = { name: 'sqlite', builds: {} };
  for (const bits of ['wasm32', 'wasm64']) {
    const file = path.join(sqliteDir, `sqlite.${bits}.wasm`);
    if (fs.existsSync(file) && sums[bits]) w.builds[bits] = { file, expected: sums[bits] };
  }
  workloads.push(w);
} else log(`bench: note: ${sqliteDir} not found, sqlite skipped (set QUICKBEAM_WORKLOADS)`);
for (const n of workloadsWanted) {
  if (!workloads.some((w) => w.name === n)) { console.error(`bench: unknown workload or section ${n}`); process.exit(2); }
}
const selected = workloads.filter((w) => workloadsWanted.length === 0 || workloadsWanted.includes(w.name));
/** Every module: { workload, bits, file, expected, bytes, codeBytes } */
const modules = [];
for (const w of selected) {
  for (const bits of ['wasm32', 'wasm64']) {
    const b = w.builds[bits];
    if (!b) continue;
    const bytes = fs.readFileSync(b.file);
    modules.push({ workload: w.name, bits, file: b.file, expected: b.expected, bytes, codeBytes: codeSectionSize(bytes), key: `${w.name}.${bits}` });
  }
}

/** Size of the code section's contents (the function bodies), from the module's section headers. */
function codeSectionSize(bytes) {
  let p = 8;
  const leb = () => { let r = 0, s = 0, b; do { b = bytes[p++]; r += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return r; };
  while (p < bytes.length) {
    const id = bytes[p++];
    const size = leb();
    if (id === 10) return size;
    p += size;
  }
  return 0;
}

// ------------------------------------------------------------------------------------------------ engines
const RUNNER = path.join(here, 'run-module.mjs');
const ENGINES = {
  quickbeam: { label: 'Quickbeam', flags: [], engine: 'quickbeam' },
  liftoff: { label: 'V8 Liftoff', flags: ['--liftoff-only', '--no-wasm-lazy-compilation'], engine: 'v8' },
  turbofan: { label: 'V8 TurboFan', flags: ['--no-liftoff', '--no-wasm-lazy-compilation'], engine: 'v8' },
};
const MEM64 = ['--experimental-wasm-memory64'];

/** Runs bench/run-module.mjs in a fresh process; resolves to its JSON report or { crash }. */
function runChild(nodeFlags, args, timeoutMs = 300_000) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeFlags, RUNNER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop();
      try {
        const r = JSON.parse(last);
        r.stdout = out;
        resolve(r);
      } catch {
        const why = signal ? `killed by ${signal}` : `exit status ${code}`;
        const line = err.trim().split('\n').filter((l) => l.trim() && !/ExperimentalWarning|--trace-warnings/.test(l)).slice(-1)[0] ?? '';
        resolve({ crash: `${why}${line ? ': ' + line.slice(0, 160) : ''}` });
      }
    });
  });
}

const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const n = s.length;
  return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const geomean = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x) && x > 0);
  return s.length ? Math.exp(s.reduce((a, x) => a + Math.log(x), 0) / s.length) : NaN;
};

// ------------------------------------------------------------------------------------------------ child runs
// results[key][engine] = { runs: [...], compileMs, runMs, rssKb, wrong: [..], crash: [..] }
const results = {};
const needChildRuns = want('compile') || want('run') || want('memory64') || want('memory');
if (needChildRuns && modules.length) {
  const total = RUNS * modules.length * 3;
  log(`bench: ${modules.length} modules x 3 engines x ${RUNS} process${RUNS > 1 ? 'es' : ''} = ${total} runs`);
  let done = 0;
  for (let rep = 0; rep < RUNS; rep++) {
    for (const m of modules) {
      for (const [id, e] of Object.entries(ENGINES)) {
        const flags = [...e.flags, ...(m.bits === 'wasm64' && e.engine === 'v8' ? MEM64 : [])];
        const r = await runChild(flags, [m.file, '--engine', e.engine]);
        const slot = ((results[m.key] ??= {})[id] ??= { runs: [], wrong: [], crash: [] });
        if (r.crash) slot.crash.push(r.crash);
        else {
          slot.runs.push(r);
          if (r.checksum !== m.expected || r.checksum_mismatch || (r.ret && r.ret !== m.expected)) {
            slot.wrong.push(`got ${r.checksum}${r.ret && r.ret !== r.checksum ? ` (run() returned ${r.ret})` : ''}, expected ${m.expected}`);
          }
        }
        done++;
        const status = r.crash ? `CRASH ${r.crash}` : slot.wrong.length ? 'WRONG CHECKSUM' : `compile ${r.compile_cpu_ms.toFixed(1)} ms, run ${r.run_cpu_ms.toFixed(1)} ms (CPU; wall ${r.compile_ms.toFixed(1)}, ${r.run_ms.toFixed(1)})`;
        log(`  [${String(done).padStart(String(total).length)}/${total}] ${m.key.padEnd(16)} ${e.label.padEnd(12)} ${status}`);
      }
    }
  }
  for (const m of modules) {
    for (const id of Object.keys(ENGINES)) {
      const s = results[m.key][id];
      // CPU time (user + system of the process, all threads) is the primary figure: it barely moves when other
      // work shares the cores, which wall-clock time does not. Wall-clock medians are kept next to it.
      s.compileMs = median(s.runs.map((r) => r.compile_cpu_ms));
      s.compileWallMs = median(s.runs.map((r) => r.compile_ms));
      s.instantiateMs = median(s.runs.map((r) => r.instantiate_ms));
      s.runMs = median(s.runs.map((r) => r.run_cpu_ms));
      s.runWallMs = median(s.runs.map((r) => r.run_ms));
      s.rssKb = median(s.runs.map((r) => r.max_rss_kb));
      s.ok = s.crash.length === 0 && s.wrong.length === 0 && s.runs.length > 0;
    }
  }
}

// tinybench on the CPU-time clock of this process (microsecond resolution), for the same reason as above.
const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };

// Quickbeam's compile time with a warm compiler, in this process (tinybench).
const warmCompile = {};
if (want('compile') && modules.length) {
  log('bench: Quickbeam warm compile (tinybench, in process)');
  const features = resolveFeatures();
  const bench = new Bench({ time: quick ? 100 : 600, iterations: quick ? 2 : 5, warmupTime: quick ? 50 : 200, warmupIterations: 2, now: cpuNow });
  for (const m of modules) bench.add(m.key, () => { compileModule(m.bytes, features); });
  await bench.run();
  for (const t of bench.tasks) warmCompile[t.name] = t.result?.latency?.p50 ?? NaN;
}

// ------------------------------------------------------------------------------------------------ calls
// (module
//   (import "env" "f" (func $f (param i32)))
//   (func (export "nop0") (result i32) (i32.const 42))
//   (func (export "add2") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
//   (func (export "add4") (param i32 i32 i32 i32) (result i32) (i32.add (i32.add ..0 ..1) (i32.add ..2 ..3)))
//   (func (export "add2_64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
//   (func (export "add4_64") (param i64 i64 i64 i64) (result i64) ...)
//   (func (export "callimport") (param $n i32) (local $i i32)   ;; calls $f($i) n times
//     (block $done (loop $next (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
//       (call $f (local.get $i)) (local.set $i (i32.add (local.get $i) (i32.const 1))) (br $next)))))
const CALLS_WASM = Uint8Array.from([0,97,115,109,1,0,0,0,1,37,6,96,1,127,0,96,0,1,127,96,2,127,127,1,127,96,4,127,127,127,127,1,127,96,2,126,126,1,126,96,4,126,126,126,126,1,126,2,9,1,3,101,110,118,1,102,0,0,3,7,6,1,2,3,4,5,0,7,55,6,4,110,111,112,48,0,1,4,97,100,100,50,0,2,4,97,100,100,52,0,3,7,97,100,100,50,95,54,52,0,4,7,97,100,100,52,95,54,52,0,5,10,99,97,108,108,105,109,112,111,114,116,0,6,10,81,6,4,0,65,42,11,7,0,32,0,32,1,106,11,13,0,32,0,32,1,106,32,2,32,3,106,106,11,7,0,32,0,32,1,124,11,13,0,32,0,32,1,124,32,2,32,3,124,124,11,30,1,1,127,2,64,3,64,32,1,32,0,79,13,1,32,1,16,0,32,1,65,1,106,33,1,12,0,11,11,11]);
const calls = [];
if (want('calls')) {
  log('bench: call overhead (tinybench, in process)');
  const BATCH = 10_000;
  let acc = 0;
  const env = { f: (x) => { acc ^= x; } };
  const qb = (await quickbeam.instantiate(CALLS_WASM, { env })).instance.exports;
  const v8 = (await WebAssembly.instantiate(CALLS_WASM, { env })).instance.exports;
  const cases = [
    ['JS -> wasm, 0 args, i32 result', (x) => () => { for (let i = 0; i < BATCH; i++) acc ^= x.nop0(); }],
    ['JS -> wasm, 2 x i32', (x) => () => { for (let i = 0; i < BATCH; i++) acc ^= x.add2(i, 7); }],
    ['JS -> wasm, 4 x i32', (x) => () => { for (let i = 0; i < BATCH; i++) acc ^= x.add4(i, 7, 8, 9); }],
    ['JS -> wasm, 2 x i64 (BigInt)', (x) => () => { for (let i = 0; i < BATCH; i++) x.add2_64(123n, 456n); }],
    ['JS -> wasm, 4 x i64 (BigInt)', (x) => () => { for (let i = 0; i < BATCH; i++) x.add4_64(1n, 2n, 3n, 4n); }],
    ['wasm -> JS import, 1 x i32', (x) => () => { x.callimport(BATCH); }],
  ];
  // koffi's own floors (bench/calls.mjs measures the same, and counts instructions per layer): a decoded
  // zero-argument function (`mov eax, 42; ret`), and machine code calling a registered callback in a loop.
  const { koffi } = await import('../dist/src/runtime/native.js');
  const { allocatePermanentCode } = await import('../dist/src/runtime/code-memory.js');
  const ret42 = koffi.decode(allocatePermanentCode(Uint8Array.from([0xb8, 42, 0, 0, 0, 0xc3])).addr, koffi.proto('int32_t ()'));
  const cb = BigInt(koffi.register((a, b) => { acc ^= b; return 0; }, koffi.pointer(koffi.proto('int32_t (int64_t, int32_t)'))));
  const loop = [0x53, 0x41, 0x54, 0x41, 0x55, 0x89, 0xfb, 0x49, 0xbc];
  for (let k = 0n; k < 8n; k++) loop.push(Number((cb >> (8n * k)) & 0xffn));
  loop.push(0x85, 0xdb, 0x74, 0x0e, 0xbf, 0, 0, 0, 0, 0x89, 0xde, 0x41, 0xff, 0xd4, 0xff, 0xcb, 0xeb, 0xee, 0x41, 0x5d, 0x41, 0x5c, 0x5b, 0xc3);
  const callbacks = koffi.decode(allocatePermanentCode(Uint8Array.from(loop)).addr, koffi.proto('int32_t (int32_t)'));
  const floors = [
    ['koffi floor: JS -> native call, 0 args', () => { for (let i = 0; i < BATCH; i++) acc ^= ret42(); }],
    ['koffi floor: native -> JS callback', () => { callbacks(BATCH); }],
  ];
  const bench = new Bench({ time: quick ? 100 : 500, iterations: 10, warmupTime: quick ? 50 : 200, now: cpuNow });
  for (const [name, mk] of cases) {
    bench.add(`qb|${name}`, mk(qb));
    bench.add(`v8|${name}`, mk(v8));
  }
  for (const [name, fn] of floors) bench.add(`qb|${name}`, fn);
  await bench.run();
  const ns = (n) => (bench.tasks.find((t) => t.name === n)?.result?.latency?.p50 ?? NaN) * 1e6 / BATCH;
  for (const [name] of cases) calls.push({ name, qb: ns(`qb|${name}`), v8: ns(`v8|${name}`) });
  for (const [name] of floors) calls.push({ name, qb: ns(`qb|${name}`), v8: NaN });
}

// ------------------------------------------------------------------------------------------------ defaults
// The engines as an application gets them: node's defaults (lazy compilation, Liftoff first, hot functions
// tiered up to TurboFan) and Quickbeam's (lazy compilation for modules of 4 MiB or more), on sqlite.
const defaults = {};
const defaultMods = modules.filter((m) => m.workload === 'sqlite').length ? modules.filter((m) => m.workload === 'sqlite') : modules.slice(0, 2);
if ((want('run') || want('memory')) && modules.length) {
  log('bench: default configurations (lazy compilation)');
  for (let rep = 0; rep < RUNS; rep++) {
    for (const m of defaultMods) {
      for (const [id, flags, args] of [['quickbeam', [], ['--engine', 'quickbeam', '--lazy']], ['v8', m.bits === 'wasm64' ? MEM64 : [], []]]) {
        const r = await runChild(flags, [m.file, ...args]);
        const slot = ((defaults[m.key] ??= {})[id] ??= { runs: [], wrong: [], crash: [] });
        if (r.crash) slot.crash.push(r.crash);
        else if (r.checksum !== m.expected) slot.wrong.push(`got ${r.checksum}, expected ${m.expected}`);
        else slot.runs.push(r);
      }
    }
  }
  for (const m of defaultMods) {
    for (const s of Object.values(defaults[m.key])) {
      s.ok = s.crash.length === 0 && s.wrong.length === 0 && s.runs.length > 0;
      s.compileMs = median(s.runs.map((r) => r.compile_cpu_ms));
      s.runMs = median(s.runs.map((r) => r.run_cpu_ms));
      s.totalWallMs = median(s.runs.map((r) => r.compile_ms + r.instantiate_ms + r.run_ms));
      s.rssKb = median(s.runs.map((r) => r.max_rss_kb));
    }
  }
}

// ------------------------------------------------------------------------------------------------ memory
const memory = { baseline: {}, code: {} };
if (want('memory')) {
  log('bench: peak RSS baselines and machine code sizes');
  for (const eng of ['quickbeam', 'v8']) {
    const xs = [];
    for (let rep = 0; rep < RUNS; rep++) {
      const r = await runChild([], ['--baseline', '--engine', eng]);
      if (!r.crash) xs.push(r.max_rss_kb);
    }
    memory.baseline[eng] = median(xs);
  }
  // Machine code per wasm code byte: Quickbeam's from the compiler itself; V8's from --trace-wasm-compilation-times.
  const features = resolveFeatures();
  for (const m of modules.filter((x) => x.workload === 'sqlite' || !modules.some((y) => y.workload === 'sqlite'))) {
    const c = compileModule(m.bytes, features);
    const entry = (memory.code[m.key] = { wasm: m.codeBytes, quickbeam: c.code.length });
    for (const id of ['liftoff', 'turbofan']) {
      const r = await runChild([...ENGINES[id].flags, '--trace-wasm-compilation-times', ...(m.bits === 'wasm64' ? MEM64 : [])], [m.file]);
      if (r.crash) continue;
      let code = 0;
      for (const mm of r.stdout.matchAll(/codesize (\d+)/g)) code += Number(mm[1]);
      entry[id] = code;
    }
  }
}

// ------------------------------------------------------------------------------------------------ wasi
const wasi = { rows: [], note: null };
if (want('wasi')) {
  const hello = path.join(root, 'examples', 'hello.wasm');
  const nodeWasi = path.join(root, 'examples', 'node-wasi.mjs');
  const haveHyperfine = spawnSync('hyperfine', ['--version'], { stdio: 'ignore' }).status === 0;
  if (!fs.existsSync(hello)) wasi.note = 'examples/hello.wasm not found: skipped';
  else if (!haveHyperfine) wasi.note = 'hyperfine not installed: skipped';
  else {
    log('bench: whole-process time of the WASI hello example (hyperfine)');
    const qbCmd = [process.execPath, path.join(root, 'bin', 'quickbeam.js'), 'run', hello, 'bench'];
    const q = spawnSync(qbCmd[0], qbCmd.slice(1), { encoding: 'utf8' });
    const n = spawnSync(process.execPath, [nodeWasi, hello, 'bench'], { encoding: 'utf8' });
    const cmds = [];
    cmds.push({ label: '`node` + WebAssembly + node:wasi (examples/node-wasi.mjs)', cmd: [process.execPath, '--no-warnings', nodeWasi, hello, 'bench'] });
    if (q.status === 0 && q.stdout === n.stdout) cmds.unshift({ label: '`quickbeam run examples/hello.wasm`', cmd: qbCmd });
    else wasi.note = `\`quickbeam run\` did not reproduce node's output (status ${q.status}${q.stderr ? ': ' + q.stderr.trim().split('\n')[0] : ''}): measured for node only`;
    cmds.push({ label: '`node -e 0` (Node start-up alone)', cmd: [process.execPath, '-e', '0'] });
    const tmp = path.join(os.tmpdir(), `qb-hyperfine-${process.pid}.json`);
    const quote = (s) => (/^[\w./:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
    const hfArgs = ['-N', '--warmup', '2', '--runs', quick ? '3' : '15', '--export-json', tmp, ...cmds.map((c) => c.cmd.map(quote).join(' '))];
    const hf = spawnSync('hyperfine', hfArgs, { encoding: 'utf8' });
    if (hf.status !== 0) wasi.note = `hyperfine failed: ${(hf.stderr || '').trim().split('\n').slice(-1)[0]}`;
    else {
      const j = JSON.parse(fs.readFileSync(tmp, 'utf8'));
      fs.unlinkSync(tmp);
      j.results.forEach((r, k) => wasi.rows.push({ label: cmds[k].label, meanMs: r.mean * 1000, sdMs: r.stddev * 1000, medianMs: r.median * 1000 }));
    }
  }
}

// ------------------------------------------------------------------------------------------------ gc
const { runGcSection, gcMarkdown } = await import('./gc-section.mjs');
const gc = want('gc') ? runGcSection({ runs: quick ? 1 : 3, log }) : null;

// ------------------------------------------------------------------------------------------------ report
const f1 = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');
const fms = (x) => (!Number.isFinite(x) ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const fx = (x) => (Number.isFinite(x) ? `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}x` : '-');
const fint = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const cell = (s, key) => {
  if (!s) return '-';
  if (s.crash.length) return `**CRASH** (${s.crash[0].replace(/\|/g, '\\|')})`;
  if (s.wrong.length) return `**WRONG CHECKSUM** (${s.wrong[0]})`;
  return fms(s[key]);
};
const ok = (...ss) => ss.every((s) => s && s.ok);

const cpu = (() => {
  try { return /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? os.cpus()[0]?.model; } catch { return os.cpus()[0]?.model ?? 'unknown'; }
})();
const date = new Date().toISOString().slice(0, 10);
const commit = (() => {
  const r = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no', '--', 'src'], { encoding: 'utf8' }).stdout.trim() !== '';
  return `${r.stdout.trim()}${dirty ? ' + uncommitted changes in src/' : ''}`;
})();
const problems = [];
for (const m of modules) {
  for (const [id, e] of Object.entries(ENGINES)) {
    const s = results[m.key]?.[id];
    if (!s) continue;
    if (s.crash.length) problems.push(`**${e.label} CRASHED on ${m.key}**: ${s.crash[0]}`);
    if (s.wrong.length) problems.push(`**${e.label} WRONG CHECKSUM on ${m.key}**: ${s.wrong[0]}`);
  }
}

for (const m of defaultMods) {
  for (const [id, s] of Object.entries(defaults[m.key] ?? {})) {
    const label = id === 'quickbeam' ? 'Quickbeam (lazy)' : 'V8 (default flags)';
    if (s.crash.length) problems.push(`**${label} CRASHED on ${m.key}**: ${s.crash[0]}`);
    if (s.wrong.length) problems.push(`**${label} WRONG CHECKSUM on ${m.key}**: ${s.wrong[0]}`);
  }
}
const md = [];
md.push(`Quickbeam ${commit ? `at commit ${commit}` : '(no git checkout: commit unknown)'}. Measured ${date} on ${cpu} (${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}), ` +
  `Node ${process.version} (V8 ${process.versions.v8}); ${RUNS} fresh process${RUNS > 1 ? 'es' : ''} per engine and module, medians` +
  `${quick ? ' (**--quick smoke run: noisy**)' : ''}. Generated by \`npm run bench\` in ${((performance.now() - t0All) / 60000).toFixed(1)} min; ` +
  `1-minute load average ${loadStart.toFixed(2)} at the start, at most ${Math.max(loadMax, os.loadavg()[0]).toFixed(2)} during the run ` +
  `(the bench itself keeps about one core busy; more means other work shared the machine).`);
md.push('');
if (problems.length) {
  md.push('**Problems in this run** (these cells are excluded from every ratio and mean):');
  md.push('');
  for (const p of problems) md.push(`- ${p}`);
  md.push('');
}

const summary = {};
if (want('compile') && modules.length) {
  md.push('### 1. Compile time');
  md.push('');
  md.push('Eager compilation of the whole module (`new Module(bytes)`) in a fresh process, CPU ms (all threads: V8 compiles ' +
    'on background threads, so its CPU time is its total work; "Liftoff wall" is the latency its 2 threads achieve). ' +
    '"Quickbeam warm" repeats the compile inside one process (tinybench median), once V8 has optimised Quickbeam\'s own ' +
    'JavaScript; a fresh process pays that warm-up. MB/s = code section bytes per CPU second.');
  md.push('');
  md.push('| module | code section | Quickbeam ms | Quickbeam warm ms | Liftoff ms | Liftoff wall ms | TurboFan ms | QB / Liftoff | QB warm / Liftoff | QB / TurboFan | MB/s QB warm · Liftoff · TurboFan |');
  md.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const m of modules) {
    const r = results[m.key];
    const q = r.quickbeam, l = r.liftoff, t = r.turbofan, w = warmCompile[m.key];
    const mbps = (ms) => (Number.isFinite(ms) && ms > 0 ? f1(m.codeBytes / 1e3 / ms) : '-');
    md.push(`| ${m.key} | ${fint(m.codeBytes)} | ${fms(q.compileMs)} | ${fms(w)} | ${fms(l.compileMs)} | ${fms(l.compileWallMs)} | ${fms(t.compileMs)} | ` +
      `${fx(q.compileMs / l.compileMs)} | ${fx(w / l.compileMs)} | ${fx(q.compileMs / t.compileMs)} | ${mbps(w)} · ${mbps(l.compileMs)} · ${mbps(t.compileMs)} |`);
    if (m.workload === 'sqlite' && m.bits === 'wasm32') {
      summary.sqlite_compile_vs_liftoff = q.compileMs / l.compileMs;
      summary.sqlite_warm_compile_vs_liftoff = w / l.compileMs;
    }
  }
  md.push('');
}

if (want('run') && modules.length) {
  md.push('### 2. Run time');
  md.push('');
  md.push('CPU time of the `run()` call (the whole program once), median. Ratios above 1 mean Quickbeam is slower. ' +
    'Every run\'s output checksum was checked against V8\'s (`bench/programs/expected.json`, the shared sqlite checksums). ' +
    'The wall-clock geometric means are given under the table for comparison.');
  md.push('');
  md.push('| workload | Quickbeam ms | Liftoff ms | TurboFan ms | QB / Liftoff | QB / TurboFan |');
  md.push('|---|---:|---:|---:|---:|---:|');
  const ratios = { wasm32: { l: [], t: [] }, wasm64: { l: [], t: [] } };
  for (const bits of ['wasm32', 'wasm64']) {
    for (const m of modules.filter((x) => x.bits === bits)) {
      const r = results[m.key];
      const rl = ok(r.quickbeam, r.liftoff) ? r.quickbeam.runMs / r.liftoff.runMs : NaN;
      const rt = ok(r.quickbeam, r.turbofan) ? r.quickbeam.runMs / r.turbofan.runMs : NaN;
      ratios[bits].l.push(rl); ratios[bits].t.push(rt);
      md.push(`| ${m.key} | ${cell(r.quickbeam, 'runMs')} | ${cell(r.liftoff, 'runMs')} | ${cell(r.turbofan, 'runMs')} | ${fx(rl)} | ${fx(rt)} |`);
    }
  }
  for (const bits of ['wasm32', 'wasm64']) {
    if (!ratios[bits].l.length) continue;
    summary[`geomean_${bits}_vs_liftoff`] = geomean(ratios[bits].l);
    summary[`geomean_${bits}_vs_turbofan`] = geomean(ratios[bits].t);
    md.push(`| **geometric mean, ${bits}** | | | | **${fx(geomean(ratios[bits].l))}** | **${fx(geomean(ratios[bits].t))}** |`);
  }
  md.push('');
  const wall = (bits, other) => geomean(modules.filter((m) => m.bits === bits).map((m) => {
    const r = results[m.key];
    return ok(r.quickbeam, r[other]) ? r.quickbeam.runWallMs / r[other].runWallMs : NaN;
  }));
  md.push(`Wall-clock geometric means: wasm32 ${fx(wall('wasm32', 'liftoff'))} of Liftoff, ${fx(wall('wasm32', 'turbofan'))} of TurboFan; ` +
    `wasm64 ${fx(wall('wasm64', 'liftoff'))} of Liftoff, ${fx(wall('wasm64', 'turbofan'))} of TurboFan.`);
  md.push('');
  if (defaultMods.some((m) => defaults[m.key])) {
    md.push('The tables above compare eager compilation everywhere. As an application gets them by default, both engines ' +
      'compile lazily: Quickbeam validates up front and compiles each function on its first call (modules of 4 MiB or ' +
      'more); node validates lazily too, starts in Liftoff and tiers hot functions up to TurboFan. CPU ms, median:');
    md.push('');
    md.push('| module | Quickbeam compile | Quickbeam run | node compile | node run | Quickbeam / node, compile + run | wall ms, Quickbeam · node |');
    md.push('|---|---:|---:|---:|---:|---:|---:|');
    for (const m of defaultMods) {
      const q = defaults[m.key]?.quickbeam, v = defaults[m.key]?.v8;
      if (!q || !v) continue;
      const both = ok(q, v);
      md.push(`| ${m.key} | ${cell(q, 'compileMs')} | ${cell(q, 'runMs')} | ${cell(v, 'compileMs')} | ${cell(v, 'runMs')} | ` +
        `${both ? fx((q.compileMs + q.runMs) / (v.compileMs + v.runMs)) : '-'} | ${fms(q.totalWallMs)} · ${fms(v.totalWallMs)} |`);
    }
    md.push('');
  }
}

if (want('memory64') && modules.length) {
  md.push('### 3. memory64 cost');
  md.push('');
  md.push('Run time (CPU) of the wasm64 build divided by the wasm32 build of the same program (same output), per engine.');
  md.push('');
  md.push('| workload | Quickbeam 64/32 | Liftoff 64/32 | TurboFan 64/32 |');
  md.push('|---|---:|---:|---:|');
  const cols = { quickbeam: [], liftoff: [], turbofan: [] };
  for (const w of selected) {
    const a = results[`${w.name}.wasm32`], b = results[`${w.name}.wasm64`];
    if (!a || !b) continue;
    const rs = Object.keys(cols).map((id) => (ok(a[id], b[id]) ? b[id].runMs / a[id].runMs : NaN));
    Object.keys(cols).forEach((id, k) => cols[id].push(rs[k]));
    md.push(`| ${w.name} | ${rs.map(fx).join(' | ')} |`);
  }
  const g = Object.keys(cols).map((id) => geomean(cols[id]));
  summary.memory64 = Object.fromEntries(Object.keys(cols).map((id, k) => [id, g[k]]));
  md.push(`| **geometric mean** | ${g.map((x) => `**${fx(x)}**`).join(' | ')} |`);
  md.push('');
}

if (want('calls') && calls.length) {
  md.push('### 4. Call overhead');
  md.push('');
  md.push('ns per call (CPU time), tinybench median of batches of 10,000 calls, in one process. V8 here is Node\'s default configuration; ' +
    'the wasm -> JS row is a wasm loop calling an imported JS function. The koffi rows are the floor any call through koffi pays: ' +
    'a JS -> wasm call is one such call, and so is a wasm -> JS call (a host call returns to JS, which resumes the wasm stack with one; ' +
    'see "Boundary calls: the floor per layer" below for instruction counts per layer).');
  md.push('');
  md.push('| call | Quickbeam ns | V8 ns | Quickbeam / V8 |');
  md.push('|---|---:|---:|---:|');
  for (const c of calls) md.push(`| ${c.name} | ${f1(c.qb)} | ${Number.isNaN(c.v8) ? '' : f1(c.v8)} | ${Number.isNaN(c.v8) ? '' : fx(c.qb / c.v8)} |`);
  md.push('');
}

if (want('memory') && modules.length) {
  md.push('### 5. Memory');
  md.push('');
  md.push('Peak RSS (VmHWM) of a fresh process that compiles and runs the module, median; ' +
    '"node alone" is the same runner that loads the engine and exits.');
  md.push('');
  const rssMods = modules.filter((m) => m.workload === 'sqlite');
  const show = rssMods.length ? rssMods : modules.slice(0, 2);
  md.push(`| | node alone | ${show.map((m) => m.key).join(' | ')} |`);
  md.push(`|---|---:|${show.map(() => '---:').join('|')}|`);
  const mb = (kb) => (Number.isFinite(kb) ? `${f1(kb / 1024, 0)} MB` : '-');
  for (const [id, e] of Object.entries(ENGINES)) {
    const base = memory.baseline[e.engine];
    md.push(`| ${e.label} | ${mb(base)} | ${show.map((m) => { const s = results[m.key]?.[id]; return s && s.runs.length ? `${mb(s.rssKb)} (+${f1((s.rssKb - base) / 1024, 0)})` : '-'; }).join(' | ')} |`);
  }
  for (const [id, label] of [['quickbeam', 'Quickbeam, lazy (its default)'], ['v8', "V8, node's default flags"]]) {
    const base = memory.baseline[id];
    const cells = show.map((m) => { const s = defaults[m.key]?.[id]; return s && s.runs.length ? `${mb(s.rssKb)} (+${f1((s.rssKb - base) / 1024, 0)})` : '-'; });
    if (cells.some((c) => c !== '-')) md.push(`| ${label} | ${mb(base)} | ${cells.join(' | ')} |`);
  }
  md.push('');
  md.push('Machine code generated, in bytes per byte of wasm code section (V8: sum of `codesize` from `--trace-wasm-compilation-times`; ' +
    'Quickbeam: the whole code buffer, stubs included):');
  md.push('');
  md.push('| module | wasm code | Quickbeam | Liftoff | TurboFan |');
  md.push('|---|---:|---:|---:|---:|');
  for (const [key, c] of Object.entries(memory.code)) {
    const per = (x) => (Number.isFinite(x) ? `${fint(x)} (${f1(x / c.wasm, 2)})` : '-');
    md.push(`| ${key} | ${fint(c.wasm)} | ${per(c.quickbeam)} | ${per(c.liftoff)} | ${per(c.turbofan)} |`);
  }
  md.push('');
}

if (want('wasi')) {
  md.push('### 6. Whole process: WASI hello');
  md.push('');
  md.push('`examples/hello.wasm` (wasi-libc, prints one line), start to exit, hyperfine mean ± standard deviation.');
  md.push('');
  if (wasi.rows.length) {
    md.push('| command | mean ms | ± ms |');
    md.push('|---|---:|---:|');
    for (const r of wasi.rows) md.push(`| ${r.label} | ${f1(r.meanMs)} | ${f1(r.sdMs)} |`);
    md.push('');
  }
  if (wasi.note) { md.push(`Note: ${wasi.note}.`); md.push(''); }
}

if (gc !== null) {
  md.push(...gcMarkdown(gc, f1));
  if (!gc.agree) problems.push(`**GC binary trees: the engines disagree** (${gc.results.join(', ')})`);
  for (const r of gc.rows) if (r.failed) problems.push(`**GC binary trees: ${r.label} failed**: ${r.failed}`);
}

const text = md.join('\n');
process.stdout.write('\n' + text + '\n');
if (Object.keys(summary).length) log(`bench: summary ${JSON.stringify(summary)}`);
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ date, cpu, node: process.version, runs: RUNS, quick, results, defaults, warmCompile, calls, memory, wasi, gc, summary }, (k, v) => (k === 'stdout' ? undefined : v), 2));

if (write) {
  const file = path.join(root, 'BENCHMARKS.md');
  const BEGIN = '<!-- bench:begin (generated by bench/run.mjs: edits between these markers are overwritten) -->';
  const END = '<!-- bench:end -->';
  let doc = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `# Benchmarks\n\n${BEGIN}\n${END}\n`;
  const a = doc.indexOf('<!-- bench:begin'), b = doc.indexOf(END);
  if (a < 0 || b < 0) doc = doc.trimEnd() + `\n\n## Results\n\n${BEGIN}\n${END}\n`;
  const a2 = doc.indexOf('<!-- bench:begin'), b2 = doc.indexOf(END);
  doc = doc.slice(0, a2) + BEGIN + '\n' + text + '\n' + doc.slice(b2);
  fs.writeFileSync(file, doc);
  log(`bench: wrote ${path.relative(process.cwd(), file)}`);
}
log(`bench: done in ${((performance.now() - t0All) / 1000).toFixed(0)} s`);
if (problems.length) {
  log('bench: PROBLEMS:');
  for (const p of problems) log('  ' + p.replace(/\*\*/g, ''));
  process.exitCode = 1;
}
