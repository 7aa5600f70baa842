#!/usr/bin/env node
// Where does a workload's run time go? Samples one run with `perf record -e cpu-clock` (software clock: no
// hardware counters needed) and attributes the samples to wasm functions, for Quickbeam and for V8.
//
//   node bench/profile.mjs FILE.wasm [--engine quickbeam|liftoff|turbofan] [--top N] [--annotate NAME]
//   node bench/profile.mjs FILE.wasm --vs liftoff|turbofan [--top N]     (Quickbeam and V8, per function, in ms)
//
// perf cannot see into JIT code by itself; it reads /tmp/perf-PID.map. For V8 that file is written by
// `--perf-basic-prof`; for Quickbeam the child below writes it from the compiled module (one entry per function,
// plus the stubs). --annotate NAME (Quickbeam only) prints that function's disassembly with the share of samples
// per instruction (the first hot function when NAME is `hot`). Needs `perf` (linux-perf) and `npx tsc -p .`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);

if (argv[0] === '--child') {
  // Runs FILE once under Quickbeam, after writing the perf map and a description of the code layout.
  const file = argv[1], layoutOut = argv[2];
  const quickbeam = (await import('../dist/src/index.js')).default;
  const { moduleInternals } = await import('../dist/src/api/module.js');
  const { functionRanges } = await import('../dist/src/cli/compile-cmd.js');
  const mod = new quickbeam.Module(fs.readFileSync(file), { lazy: false });
  const m = moduleInternals(mod);
  const base = Number(m.code.addr);
  const ranges = functionRanges(m.compiled);
  // The parent adds these functions to /tmp/perf-PID.map once this process is gone: node (started with
  // --perf-basic-prof) writes that file for its JavaScript code until it exits.
  fs.writeFileSync(layoutOut, JSON.stringify({ pid: process.pid, base, codeLength: m.compiled.code.length, ranges }));
  const inst = new quickbeam.Instance(mod, { env: { putchar() {}, print_i64() {} } });
  inst.exports.run();
  process.exit(0);
}

let file = null, engine = 'quickbeam', top = 15, annotate = null, vs = null;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--engine') engine = argv[++i];
  else if (argv[i] === '--vs') vs = argv[++i];
  else if (argv[i] === '--top') top = Number(argv[++i]);
  else if (argv[i] === '--annotate') annotate = argv[++i];
  else file = argv[i];
}
if (!file || !['quickbeam', 'liftoff', 'turbofan'].includes(engine) || (vs !== null && !['liftoff', 'turbofan'].includes(vs))) {
  console.error('usage: node bench/profile.mjs FILE.wasm [--engine quickbeam|liftoff|turbofan | --vs liftoff|turbofan] [--top N] [--annotate NAME|hot]');
  process.exit(2);
}
if (spawnSync('perf', ['--version'], { stdio: 'ignore' }).status !== 0) {
  console.error('profile: perf is not installed (apt-get install linux-perf)');
  process.exit(1);
}
const HZ = 10000;
/** Samples one run of FILE under `eng`; returns { total, bySym, samples, layoutFile, tmp }. */
function profileRun(eng) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qb-profile-'));
  const data = path.join(tmp, 'perf.data'), layoutFile = path.join(tmp, 'layout.json');
  const wasm64 = /wasm64/.test(file) ? ['--experimental-wasm-memory64'] : [];
  const cmd =
    eng === 'quickbeam'
      ? [process.execPath, '--perf-basic-prof', fileURLToPath(import.meta.url), '--child', path.resolve(file), layoutFile]
      : [process.execPath, '--perf-basic-prof', ...(eng === 'liftoff' ? ['--liftoff-only'] : ['--no-liftoff']), '--no-wasm-lazy-compilation',
         ...wasm64, path.join(here, 'run-module.mjs'), path.resolve(file)];
  const mapsBefore = new Set(fs.readdirSync('/tmp').filter((x) => /^perf-\d+\.map$/.test(x)));
  const rec = spawnSync('perf', ['record', '-q', '-e', 'cpu-clock', '-F', String(HZ), '-o', data, '--', ...cmd], { encoding: 'utf8' });
  if (rec.status !== 0) {
    console.error(`profile: perf record failed: ${rec.stderr}`);
    process.exit(1);
  }
  if (eng === 'quickbeam') {
    const layout = JSON.parse(fs.readFileSync(layoutFile, 'utf8'));
    const lines = layout.ranges.map((f) => `${(layout.base + f.start).toString(16)} ${(f.end - f.start).toString(16)} qb:${f.name ?? `func${f.index}`}`);
    // trap stubs (start of the buffer) and entry stubs / import thunks (after the last function)
    const first = Math.min(...layout.ranges.map((f) => f.start), layout.codeLength);
    const lastEnd = Math.max(...layout.ranges.map((f) => f.end), 0);
    if (first > 0) lines.push(`${layout.base.toString(16)} ${first.toString(16)} qb:(stubs)`);
    if (lastEnd < layout.codeLength) lines.push(`${(layout.base + lastEnd).toString(16)} ${(layout.codeLength - lastEnd).toString(16)} qb:(stubs)`);
    fs.appendFileSync(`/tmp/perf-${layout.pid}.map`, lines.join('\n') + '\n');
  }
  // ip and symbol of every sample
  const script = spawnSync('perf', ['script', '-i', data, '-F', 'ip,sym'], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const samples = script.stdout.split('\n').filter((l) => l.trim()).map((l) => {
    const m = /^\s*([0-9a-f]+)\s*(.*)$/.exec(l);
    return m ? { ip: parseInt(m[1], 16), sym: m[2].trim() || '[unknown]' } : null;
  }).filter(Boolean);
  if (eng === 'quickbeam') {
    // The code lives in a memfd mapping (not anonymous memory), so perf does not consult the perf map for it:
    // name those samples from the layout directly.
    const layout = JSON.parse(fs.readFileSync(layoutFile, 'utf8'));
    const ranges = [...layout.ranges].sort((x, y) => x.start - y.start);
    const lastEnd = Math.max(layout.codeLength, ...ranges.map((f) => f.end));
    for (const s of samples) {
      const off = s.ip - layout.base;
      if (off < 0 || off >= lastEnd + 65536) continue;
      let lo = 0, hi = ranges.length - 1, hit = null;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (ranges[mid].end <= off) lo = mid + 1;
        else if (ranges[mid].start > off) hi = mid - 1;
        else { hit = ranges[mid]; break; }
      }
      s.sym = hit ? `qb:${hit.name ?? `func${hit.index}`}` : 'qb:(stubs)';
    }
  }
  const total = samples.length;
  const bySym = new Map();
  for (const s of samples) {
    // V8's names look like "JS:sha256_block-13-liftoff"; ours "qb:sha256_block"
    let name = s.sym.replace(/^JS:/, '').replace(/-\d+-(liftoff|turbofan)$/, '');
    name = name.replace(/^qb:/, '');
    bySym.set(name, (bySym.get(name) ?? 0) + 1);
  }
  // wasm code: Quickbeam's functions are named qb:NAME, V8's wasm functions JS:NAME-N-liftoff|turbofan
  const wasmSamples = samples.filter((x) => /^qb:|^JS:.*-\d+-(liftoff|turbofan)$/.test(x.sym)).length;
  return { total, bySym, samples, layoutFile, tmp, mapsBefore, wasmSamples };
}

if (vs !== null) {
  const a = profileRun('quickbeam'), b = profileRun(vs);
  const names = new Set([...a.bySym.keys(), ...b.bySym.keys()]);
  const rowsVs = [...names].map((n) => [n, (a.bySym.get(n) ?? 0) * 1000 / HZ, (b.bySym.get(n) ?? 0) * 1000 / HZ]).sort((x, y) => y[1] - x[1]).slice(0, top);
  console.log(`${path.basename(file)}: ms of samples per function (cpu-clock ${HZ / 1000} kHz, whole process, compile included)`);
  console.log(`${'Quickbeam'.padStart(10)} ${vs.padStart(10)}  ratio  function`);
  console.log(`${(a.total * 1000 / HZ).toFixed(0).padStart(10)} ${(b.total * 1000 / HZ).toFixed(0).padStart(10)} ${(a.total / b.total).toFixed(2).padStart(6)}  (all)`);
  console.log(`${(a.wasmSamples * 1000 / HZ).toFixed(0).padStart(10)} ${(b.wasmSamples * 1000 / HZ).toFixed(0).padStart(10)} ${(a.wasmSamples / b.wasmSamples).toFixed(2).padStart(6)}  (in wasm code)`);
  for (const [n, x, y] of rowsVs) console.log(`${x.toFixed(0).padStart(10)} ${y.toFixed(0).padStart(10)} ${(y > 0 ? (x / y).toFixed(2) : '-').padStart(6)}  ${n}`);
  for (const r of [a, b]) cleanup(r);
  process.exit(0);
}

const { total, bySym, samples, layoutFile, tmp, mapsBefore, wasmSamples } = profileRun(engine);
const rows = [...bySym].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`${path.basename(file)} under ${engine}: ${total} samples (cpu-clock, 10 kHz; whole process, compile included), ` +
  `${((100 * wasmSamples) / total).toFixed(0)}% in wasm code`);
for (const [name, n] of rows) console.log(`${((100 * n) / total).toFixed(1).padStart(6)}%  ${name}`);

if (annotate && engine === 'quickbeam') {
  const layout = JSON.parse(fs.readFileSync(layoutFile, 'utf8'));
  const inFunc = (f) => samples.filter((s) => s.ip >= layout.base + f.start && s.ip < layout.base + f.end);
  let f = null;
  if (annotate === 'hot') {
    let best = 0;
    for (const r of layout.ranges) { const n = inFunc(r).length; if (n > best) { best = n; f = r; } }
  } else f = layout.ranges.find((r) => r.name === annotate || String(r.index) === annotate);
  if (!f) {
    console.error(`profile: no function ${annotate}`);
  } else {
    const hits = new Map();
    for (const s of inFunc(f)) { const off = s.ip - layout.base; hits.set(off, (hits.get(off) ?? 0) + 1); }
    const n = [...hits.values()].reduce((a, b) => a + b, 0);
    const { compileModule } = await import('../dist/src/compile/module-compiler.js');
    const { resolveFeatures } = await import('../dist/src/decode/features.js');
    const { disassemble } = await import('../dist/src/cli/compile-cmd.js');
    const c = compileModule(fs.readFileSync(file), resolveFeatures());
    console.log(`\n${f.name ?? `func${f.index}`}: ${n} samples (${((100 * n) / total).toFixed(1)}% of all), ${f.end - f.start} bytes of code; % per instruction:`);
    for (const line of disassemble(c.code, f.start, f.end)) {
      const off = parseInt(line.trim().split(':')[0], 16);
      const h = hits.get(off) ?? 0;
      console.log(`${h ? ((100 * h) / n).toFixed(1).padStart(5) + '%' : '      '} ${line}`);
    }
  }
}
cleanup({ tmp, mapsBefore });

function cleanup(r) {
  fs.rmSync(r.tmp, { recursive: true, force: true });
  // the perf maps written by the processes started here
  for (const f of fs.readdirSync('/tmp').filter((x) => /^perf-\d+\.map$/.test(x) && !r.mapsBefore.has(x))) fs.rmSync(path.join('/tmp', f), { force: true });
}
