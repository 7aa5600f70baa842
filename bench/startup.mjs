#!/usr/bin/env node
// Process start-up of the `quickbeam` command, against Node's own engine on the same program.
//
//   node bench/startup.mjs [--runs N] [--interleaved] [--wait-idle] [--keep-env] [--json FILE]
//                          [--before DIR] [--trace]
//
// Whole-process wall time of:
//   node -e 0                                      the floor: Node's own start-up
//   node examples/node-wasi.mjs examples/hello.wasm  V8 + node:wasi on the same module
//   quickbeam --version                            the CLI alone (no engine)
//   quickbeam run examples/hello.wasm              as users run it: the run bundle (dist/quickbeam-run.cjs, no
//                                                  compiler) with its V8 code cache warm, and the compiled code
//                                                  loaded from run's machine-code cache (a temporary
//                                                  QUICKBEAM_CACHE_DIR)
//     ... --no-cache                               the same, compiling the module every time
//     ... --no-cache, QUICKBEAM_CODE_CACHE=0       ... and without the V8 code cache of the bundle
//     ... --no-cache, QUICKBEAM_NO_BUNDLE=1        ... and from the ES modules of dist/src (what `tsc` builds)
//   node --import quickbeam/register examples/node-wasi.mjs examples/hello.wasm
//                                                  the drop-in: node's own program, Quickbeam as its engine
//     ... QUICKBEAM_CODE_CACHE=0                   ... without the V8 code cache of the library bundle
//   DIR/bin/quickbeam.js run [--no-cache] examples/hello.wasm
//                                                  with --before DIR: another build (e.g. a checkout of an
//                                                  older commit, built) for a before/after comparison
//
// By default the figures come from hyperfine (-N, warm-up runs first; `--interleaved`, or no hyperfine
// installed, uses a built-in runner that takes the commands in turn, round after round, which spreads the
// disturbance of other work on the machine evenly). Reported: mean ± sd, median, min (ms).
// NODE_EXTRA_CA_CERTS is removed from the environment unless --keep-env: when set, Node reads that
// certificate file at every start (about 30 ms here), which would swamp everything measured here.
// --trace also prints the QUICKBEAM_TRACE_STARTUP=1 timeline of one `quickbeam run` (see src/startup-trace.ts).
// --wait-idle first waits (at most 15 min) for the 1-minute load average to drop below 0.6.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
let runs = 30, interleaved = false, waitIdle = false, keepEnv = false, jsonOut = null, before = null, trace = false;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--runs') runs = Number(argv[++i]);
  else if (a === '--interleaved') interleaved = true;
  else if (a === '--wait-idle') waitIdle = true;
  else if (a === '--keep-env') keepEnv = true;
  else if (a === '--json') jsonOut = argv[++i];
  else if (a === '--before') before = path.resolve(argv[++i] ?? '');
  else if (a === '--trace') trace = true;
  else if (a === '--help' || a === '-h') {
    console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 25).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
    process.exit(0);
  } else {
    console.error(`startup: unknown argument ${a} (see --help)`);
    process.exit(2);
  }
}
if (!(runs >= 1)) {
  console.error('startup: --runs needs a positive integer');
  process.exit(2);
}

const log = (s) => process.stderr.write(s + '\n');
const hello = path.join(root, 'examples', 'hello.wasm');
const nodeWasi = path.join(root, 'examples', 'node-wasi.mjs');
const bin = path.join(root, 'bin', 'quickbeam.js');
const register = pathToFileURL(path.join(root, 'dist', 'src', 'register', 'register.js')).href;
for (const f of [hello, nodeWasi, path.join(root, 'dist', 'src', 'cli', 'main.js')]) {
  if (!fs.existsSync(f)) {
    console.error(`startup: ${path.relative(root, f)} is missing (npm run build; scripts/build-examples.sh)`);
    process.exit(1);
  }
}
const haveBundle = fs.existsSync(path.join(root, 'dist', 'quickbeam.cjs'));
if (!haveBundle) log('startup: dist/quickbeam.cjs is missing (esbuild not installed?): the bundle rows measure dist/src');

const env = { ...process.env };
if (!keepEnv) delete env.NODE_EXTRA_CA_CERTS;
for (const k of ['QUICKBEAM_NO_BUNDLE', 'QUICKBEAM_CODE_CACHE', 'QUICKBEAM_TRACE_STARTUP']) delete env[k];
// run's machine-code cache: a fresh one (filled by the warm-up runs), not the user's.
const machineCache = fs.mkdtempSync(path.join(os.tmpdir(), 'qb-startup-'));
env.QUICKBEAM_CACHE_DIR = machineCache;
process.on('exit', () => fs.rmSync(machineCache, { recursive: true, force: true }));

if (waitIdle) {
  const until = Date.now() + 15 * 60_000;
  while (os.loadavg()[0] > 0.6 && Date.now() < until) {
    log(`startup: waiting for the machine to be idle (1-minute load ${os.loadavg()[0].toFixed(2)})`);
    await new Promise((r) => setTimeout(r, 20_000));
  }
}

const node = process.execPath;
/** label, argv, extra environment */
const cmds = [
  { label: '`node -e 0` (floor)', cmd: [node, '-e', '0'] },
  { label: '`node` + WebAssembly + node:wasi (examples/node-wasi.mjs)', cmd: [node, nodeWasi, hello] },
  { label: '`quickbeam --version`', cmd: [node, bin, '--version'] },
  { label: '`quickbeam run examples/hello.wasm` (compiled code cached)', cmd: [node, bin, 'run', hello] },
  { label: '`quickbeam run --no-cache examples/hello.wasm` (compiles)', cmd: [node, bin, 'run', '--no-cache', hello] },
  { label: '... without the V8 code cache of the bundle (QUICKBEAM_CODE_CACHE=0)', cmd: [node, bin, 'run', '--no-cache', hello], env: { QUICKBEAM_CODE_CACHE: '0' } },
  { label: '... from dist/src, not the bundle (QUICKBEAM_NO_BUNDLE=1)', cmd: [node, bin, 'run', '--no-cache', hello], env: { QUICKBEAM_NO_BUNDLE: '1' } },
  // The drop-in: the same node:wasi program, unmodified, with Quickbeam as its WebAssembly (the package entry loads
  // the library bundle through its V8 code cache; the module's code comes from the machine-code cache).
  { label: '`node --import quickbeam/register` + node:wasi (examples/node-wasi.mjs, compiled code cached)', cmd: [node, `--import=${register}`, nodeWasi, hello] },
  { label: '... without the V8 code cache of the library (QUICKBEAM_CODE_CACHE=0)', cmd: [node, `--import=${register}`, nodeWasi, hello], env: { QUICKBEAM_CODE_CACHE: '0' } },
];
if (before !== null) {
  // An older build may not know --no-cache (it always compiled).
  const probe = spawnSync(node, [path.join(before, 'bin', 'quickbeam.js'), 'run', '--no-cache', hello], { env, stdio: 'ignore' });
  const rel = path.relative(process.cwd(), before) || '.';
  if (probe.status === 0) {
    // (its own machine-code cache: entries are per build)
    cmds.push({ label: `\`${rel}/bin/quickbeam.js run examples/hello.wasm\` (--before, compiled code cached)`, cmd: [node, path.join(before, 'bin', 'quickbeam.js'), 'run', hello] });
  }
  const args = probe.status === 0 ? ['run', '--no-cache', hello] : ['run', hello];
  cmds.push({ label: `\`${rel}/bin/quickbeam.js ${args.slice(0, -1).join(' ')} examples/hello.wasm\` (--before)`, cmd: [node, path.join(before, 'bin', 'quickbeam.js'), ...args] });
}

// Every command must work (and the quickbeam runs must print what node prints) before it is timed.
const reference = spawnSync(node, [nodeWasi, hello], { env, encoding: 'utf8' });
for (const c of cmds) {
  const r = spawnSync(c.cmd[0], c.cmd.slice(1), { env: { ...env, ...c.env }, encoding: 'utf8' });
  if (r.status !== 0 || ((c.cmd.includes('run') || c.cmd.includes(nodeWasi)) && r.stdout !== reference.stdout)) {
    console.error(`startup: ${c.label} failed (status ${r.status}): ${(r.stderr || r.stdout || '').trim().split('\n')[0]}`);
    process.exit(1);
  }
}

if (trace) {
  const r = spawnSync(node, [bin, 'run', hello], { env: { ...env, QUICKBEAM_TRACE_STARTUP: '1' }, encoding: 'utf8' });
  log(r.stderr.trimEnd());
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const sd = Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, s.length - 1));
  return { mean, sd, median: s[Math.floor((s.length - 1) / 2)], min: s[0], runs: s.length };
};

const haveHyperfine = !interleaved && spawnSync('hyperfine', ['--version'], { stdio: 'ignore' }).status === 0;
let results;
if (haveHyperfine) {
  log(`startup: hyperfine, ${runs} runs per command`);
  const tmp = path.join(os.tmpdir(), `qb-startup-${process.pid}.json`);
  const quote = (s) => (/^[\w./:=+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  // `env` sets each command's own variables (hyperfine -N runs the command without a shell).
  const line = (c) => ['env', ...Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`), ...c.cmd].map(quote).join(' ');
  const hf = spawnSync('hyperfine', ['-N', '--warmup', '3', '--runs', String(runs), '--export-json', tmp, ...cmds.map(line)], { env, encoding: 'utf8' });
  if (hf.status !== 0) {
    console.error(`startup: hyperfine failed: ${(hf.stderr || '').trim().split('\n').slice(-1)[0]}`);
    process.exit(1);
  }
  const j = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  fs.unlinkSync(tmp);
  results = j.results.map((r) => stats(r.times.map((t) => t * 1000)));
} else {
  log(`startup: interleaved runner, ${runs} rounds`);
  const times = cmds.map(() => []);
  const once = (c) => {
    const t = process.hrtime.bigint();
    const r = spawnSync(c.cmd[0], c.cmd.slice(1), { env: { ...env, ...c.env }, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${c.label} failed with status ${r.status}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  for (let w = 0; w < 3; w++) for (const c of cmds) once(c);
  for (let r = 0; r < runs; r++) cmds.forEach((c, k) => times[k].push(once(c)));
  results = times.map(stats);
}

const f = (x) => x.toFixed(1);
const floor = results[0].median;
console.log(`\nWhole-process wall time (ms), ${haveHyperfine ? 'hyperfine' : 'interleaved runner'}, ${runs} runs; Node ${process.version}, ` +
  `${os.cpus().length} CPUs, 1-minute load ${os.loadavg()[0].toFixed(2)}${keepEnv ? '' : ', NODE_EXTRA_CA_CERTS unset'}\n`);
console.log('| command | mean ± sd | median | min | median over `node -e 0` |');
console.log('|---|---:|---:|---:|---:|');
cmds.forEach((c, k) => {
  const r = results[k];
  console.log(`| ${c.label} | ${f(r.mean)} ± ${f(r.sd)} | ${f(r.median)} | ${f(r.min)} | ${k === 0 ? '-' : '+' + f(r.median - floor)} |`);
});
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(cmds.map((c, k) => ({ label: c.label, cmd: c.cmd, env: c.env ?? {}, ...results[k] })), null, 2) + '\n');
