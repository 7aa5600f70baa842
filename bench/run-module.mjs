// Runs one .wasm once in this process and prints one JSON line: compile, instantiate and run times, the
// output checksum and the peak RSS. Adapted from ../shared/workloads/run-v8.mjs (the V8 peer runner) so that
// the same runner measures Quickbeam and V8: bench/run.mjs starts it once per measurement, in a fresh process.
//
//   node [V8 flags] bench/run-module.mjs FILE.wasm [--engine v8|quickbeam] [--lazy] [--out FILE] [--show] [--args a b c]
//   node bench/run-module.mjs --baseline [--engine v8|quickbeam]     (peak RSS of the runner alone)
//
// V8 flags that matter (given to node itself, before the script):
//   --liftoff-only --no-wasm-lazy-compilation   Liftoff only (V8's baseline tier), compiled eagerly
//   --no-liftoff --no-wasm-lazy-compilation     TurboFan only
//   --experimental-wasm-memory64                needed for wasm64 modules on Node 20
// (`--liftoff --no-wasm-tier-up` is NOT Liftoff only on Node 20: dynamic tiering still moves hot functions
// to TurboFan.)
// Quickbeam compiles eagerly here (new Module(bytes, { lazy: false })), like V8 with --no-wasm-lazy-compilation;
// --lazy gives Quickbeam its default instead (modules of 4 MiB or more compile each function on first call);
// --options JSON adds Module options (e.g. {"lazy":true}, {"boundsChecks":false}, {"interruptible":true},
// {"fuel":true}, {"cache":"DIR"}).
// --gc-stats adds the collections V8 made during run() (v8.GCProfiler): run_mark_compacts, run_gcs (all kinds)
// and run_gc_ms (their main-thread time; concurrent marking on V8's threads is not in it, but is in run_cpu_ms).
// --dist DIR loads Quickbeam from DIR/quickbeam-entry.mjs (another checkout's build) instead of ../dist.
// Module kinds:
//   freestanding: imports env.putchar(i32), env.print_i64(i64); export run() -> i64
//   wasi (wasi_snapshot_preview1 imports): export _start; node:wasi (v8) or Quickbeam's WASI (quickbeam)
// checksum = FNV-1a 64 over all bytes written to stdout+stderr, as unsigned hex.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const argv = process.argv.slice(2);
let file = null, outFile = null, show = false, progArgs = null, engine = 'v8', baseline = false, lazy = false, gcStats = false, distDir = null;
let extraOptions = {};
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--out') outFile = argv[++i];
  else if (argv[i] === '--show') show = true;
  else if (argv[i] === '--engine') engine = argv[++i];
  else if (argv[i] === '--baseline') baseline = true;
  else if (argv[i] === '--lazy') lazy = true;
  else if (argv[i] === '--gc-stats') gcStats = true;
  else if (argv[i] === '--dist') distDir = path.resolve(argv[++i]);
  else if (argv[i] === '--options') extraOptions = JSON.parse(argv[++i]); // extra Quickbeam Module options
  else if (argv[i] === '--args') { progArgs = argv.slice(i + 1); break; }
  else if (file === null) file = argv[i];
  else { console.error(`run-module: unexpected argument ${argv[i]}`); process.exit(2); }
}
if ((!file && !baseline) || (engine !== 'v8' && engine !== 'quickbeam')) {
  console.error('usage: node [flags] run-module.mjs FILE.wasm [--engine v8|quickbeam] [--out F] [--show] [--args ...]');
  process.exit(2);
}

/** Peak RSS of this process in KiB: VmHWM of its own address space. (getrusage's maxRSS is not usable in a
 * child: on Linux it starts from the RSS of the parent at fork time.) */
function peakRssKb() {
  try {
    const m = /^VmHWM:\s*(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]);
  } catch {}
  return process.resourceUsage().maxRSS;
}

// Quickbeam as applications load it: the package entry (the library's bundle, through V8's code cache).
const qbPackage = engine === 'quickbeam'
  ? await import(distDir === null ? '../dist/quickbeam-entry.mjs' : pathToFileURL(path.join(distDir, 'quickbeam-entry.mjs')).href) : null;
const W = qbPackage !== null ? qbPackage.default : WebAssembly;
if (baseline) {
  console.log(JSON.stringify({ engine, baseline: true, max_rss_kb: peakRssKb() }));
  process.exit(0);
}

function fnv1a64(buf) {
  // FNV-1a 64 on two 32-bit halves; prime = 0x100_000001b3
  let hi = 0xcbf29ce4, lo = 0x84222325;
  for (let i = 0; i < buf.length; i++) {
    lo = (lo ^ buf[i]) >>> 0;
    const p = lo * 0x1b3;                       // < 2^41, exact
    const nhi = (hi * 0x1b3 + Math.floor(p / 4294967296) + lo * 0x100) >>> 0;
    lo = p >>> 0; hi = nhi;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}

// CPU time (user + system, all threads of this process) next to wall-clock time: much steadier than wall-clock
// when other work shares the machine, and for V8 it includes its background compile threads.
const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const gcProfiler = gcStats ? new (await import('node:v8')).default.GCProfiler() : null;
const bytes = fs.readFileSync(file);
const c0 = cpuMs();
const t0 = performance.now();
const mod = engine === 'quickbeam' ? new W.Module(bytes, { ...(lazy ? {} : { lazy: false }), ...extraOptions }) : new W.Module(bytes);
if (engine === 'quickbeam' && extraOptions.fuel) W.setFuel(2n ** 62n);
const t1 = performance.now();
const c1 = cpuMs();
const imports = W.Module.imports(mod);
const isWasi = imports.some((i) => i.module.startsWith('wasi'));

let result = { file: path.basename(file), engine, kind: isWasi ? 'wasi' : 'freestanding' };
let outBuf;
let moduleChecksum = null;
let tInst0, tInst1, tRun0, tRun1, cRun0, cRun1, gcRun;

if (isWasi) {
  const { WASI } = qbPackage !== null ? qbPackage : await import('node:wasi');
  const tmp = path.join(os.tmpdir(), `qb-bench-out-${process.pid}.txt`);
  const fd = fs.openSync(tmp, 'w+');
  const wasi = new WASI({ version: 'preview1', args: [path.basename(file), ...(progArgs ?? [])], env: {},
    stdout: fd, stderr: fd, returnOnExit: true });
  tInst0 = performance.now();
  const inst = new W.Instance(mod, wasi.getImportObject());
  tInst1 = performance.now();
  gcProfiler?.start();
  cRun0 = cpuMs();
  tRun0 = performance.now();
  const code = wasi.start(inst);
  tRun1 = performance.now();
  cRun1 = cpuMs();
  gcRun = gcProfiler?.stop();
  fs.closeSync(fd);
  outBuf = fs.readFileSync(tmp); fs.unlinkSync(tmp);
  result.exit = code;
} else {
  let chunks = [], cur = Buffer.allocUnsafe(1 << 16), n = 0;
  const env = {
    putchar: (c) => { if (n === cur.length) { chunks.push(cur); cur = Buffer.allocUnsafe(1 << 16); n = 0; } cur[n++] = c; },
    print_i64: (v) => { moduleChecksum = BigInt.asUintN(64, BigInt(v)); },
  };
  tInst0 = performance.now();
  const inst = new W.Instance(mod, { env });
  tInst1 = performance.now();
  gcProfiler?.start();
  cRun0 = cpuMs();
  tRun0 = performance.now();
  const ret = inst.exports.run();
  tRun1 = performance.now();
  cRun1 = cpuMs();
  gcRun = gcProfiler?.stop();
  chunks.push(cur.subarray(0, n));
  outBuf = Buffer.concat(chunks);
  result.ret = BigInt.asUintN(64, BigInt(ret)).toString(16).padStart(16, '0');
}
const cs = fnv1a64(outBuf);
result.compile_ms = +(t1 - t0).toFixed(3);
result.instantiate_ms = +(tInst1 - tInst0).toFixed(3);
result.run_ms = +(tRun1 - tRun0).toFixed(3);
result.compile_cpu_ms = +(c1 - c0).toFixed(3);
result.run_cpu_ms = +(cRun1 - cRun0).toFixed(3);
if (gcRun !== undefined) {
  result.run_mark_compacts = gcRun.statistics.filter((s) => s.gcType === 'MarkSweepCompact').length;
  result.run_gcs = gcRun.statistics.length;
  result.run_gc_ms = +(gcRun.statistics.reduce((t, s) => t + s.cost, 0) / 1000).toFixed(3);
}
result.checksum = cs.toString(16).padStart(16, '0');
if (moduleChecksum !== null && moduleChecksum !== cs) result.checksum_mismatch = moduleChecksum.toString(16);
result.out_bytes = outBuf.length;
result.max_rss_kb = peakRssKb();
result.flags = process.execArgv.join(' ');
if (outFile) fs.writeFileSync(outFile, outBuf);
if (show) process.stderr.write(outBuf);
console.log(JSON.stringify(result));
