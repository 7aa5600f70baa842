// Cold compile: how long one eager compile takes in a FRESH process (our compiler is JavaScript that V8 has not
// warmed up yet), next to a warm compile in the same process and V8 Liftoff's eager compile.
//
//   node bench/cold-compile.mjs [--runs N] [--node PATH]... [--module FILE]... [--qb-flags "V8 FLAGS"] [--warm K]
//                               [--threads N] [--lib NAME=PATH]... [--configs qb,qb-warm,liftoff,liftoff-1t] [--json]
//
// Defaults: N = 11 fresh processes per cell (median); the node running this script plus Node 24 when there is
// one ($QB_NODE24, or the pinned build of scripts/node-versions.mjs (`node scripts/node-versions.mjs install 24`)); modules:
// sqlite.wasm32 (1 MB) and two 10-30 KB ones (examples/hello.wasm, bench/programs/build/interp.wasm32.wasm).
// Configurations (each run of a cell is its own process; cells are interleaved run by run):
//   qb          Quickbeam, `new Module(bytes, { lazy: false })` once: wall ms of the constructor (library bundle
//               dist/quickbeam.mjs, imported before the clock starts)
//   qb-warm     the same module compiled K (--warm, default 8) times in one process: the last compile
//   liftoff     `node --liftoff-only --no-wasm-lazy-compilation`: `new WebAssembly.Module(bytes)` (V8's
//               background compile threads on)
//   liftoff-1t  the same with --single-threaded (one core's worth)
// --lib NAME=PATH compares builds of the library (PATH: a dist/quickbeam.mjs; default: this checkout's), one row
// each, their runs interleaved with each other and with V8's.
// --threads N passes { threads: N } (compile threads; default: the library's choice, parallel for big modules).
// --qb-flags adds V8 flags to the Quickbeam processes (e.g. "--max-lazy" or "--no-lazy-feedback-allocation").
// Columns: median wall ms of the compile (and, for Quickbeam, the main thread's CPU ms from
// /proc/thread-self/schedstat: steadier than wall time on a shared machine); "x lift" = qb wall / liftoff wall
// (the target: sqlite <= 3x, 10-30 KB <= 4x).
//
// Child mode (used by the above): node [flags] bench/cold-compile.mjs --child ENGINE FILE [--warm K] -> one JSON line.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findNode } from '../scripts/node-versions.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);

function hrMs() {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

if (argv[0] === '--child') {
  const engine = argv[1];
  const file = argv[2];
  const wi = argv.indexOf('--warm');
  const warm = wi >= 0 ? Number(argv[wi + 1]) : 0;
  const ti = argv.indexOf('--threads');
  const options = ti >= 0 ? { lazy: false, threads: Number(argv[ti + 1]) } : { lazy: false };
  const bytes = new Uint8Array(fs.readFileSync(file));
  const cpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  // On-CPU time of this (the main) thread, ns resolution: unlike wall time it does not count time the thread
  // waited for a core while other work ran, and unlike process CPU time it excludes V8's background threads.
  const threadMs = () => Number(fs.readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
  const out = { engine };
  if (engine === 'qb') {
    const lib = process.env.QB_LIB ?? path.join(root, 'dist/quickbeam.mjs');
    const t0 = hrMs();
    const W = (await import(pathToFileURL(lib).href)).default;
    out.import_ms = hrMs() - t0;
    const c0 = cpu();
    const th0 = threadMs();
    const t1 = hrMs();
    let m = new W.Module(bytes, options);
    out.ms = hrMs() - t1;
    out.thread_ms = threadMs() - th0;
    out.cpu_ms = cpu() - c0;
    const internals = (mod) => {
      const s = Object.getOwnPropertySymbols(mod)[0];
      return s ? mod[s] : undefined;
    };
    out.compile_ms = internals(m)?.compiled?.compileMs;
    if (warm > 0) {
      for (let i = 0; i < warm; i++) {
        const th = threadMs();
        const t = hrMs();
        m = new W.Module(bytes, options);
        out.warm_ms = hrMs() - t;
        out.warm_thread_ms = threadMs() - th;
        out.warm_compile_ms = internals(m)?.compiled?.compileMs;
      }
    }
  } else {
    const c0 = cpu();
    const th0 = threadMs();
    const t1 = hrMs();
    new WebAssembly.Module(bytes);
    out.ms = hrMs() - t1;
    out.thread_ms = threadMs() - th0;
    out.cpu_ms = cpu() - c0;
  }
  console.log(JSON.stringify(out));
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------------------
// Parent

function opt(name, dflt) {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
}
function opts(name) {
  const r = [];
  for (let i = 0; i < argv.length; i++) if (argv[i] === name) r.push(argv[i + 1]);
  return r;
}

const RUNS = Number(opt('--runs', 11));
const WARM = Number(opt('--warm', 8));
const qbFlags = (opt('--qb-flags', '') || '').split(/\s+/).filter(Boolean);
const configs = opt('--configs', 'qb,qb-warm,liftoff,liftoff-1t').split(',');
const json = argv.includes('--json');
const threads = opt('--threads', null);
let libs = opts('--lib').map((s) => {
  const i = s.indexOf('=');
  return { name: s.slice(0, i), path: path.resolve(s.slice(i + 1)) };
});
if (libs.length === 0) libs = [{ name: '', path: process.env.QB_LIB ?? path.join(root, 'dist/quickbeam.mjs') }];

let nodes = opts('--node');
if (nodes.length === 0) {
  nodes = [process.execPath];
  const n24 = process.env.QB_NODE24 ?? findNode(24); // (scripts/node-versions.mjs: the tests' pinned build)
  if (n24 !== null && fs.existsSync(n24)) nodes.push(n24);
}
let modules = opts('--module');
if (modules.length === 0) {
  modules = [
    path.resolve(root, '../shared/workloads/sqlite/sqlite.wasm32.wasm'),
    path.join(root, 'examples/hello.wasm'),
    path.join(root, 'bench/programs/build/interp.wasm32.wasm'),
  ];
}

const self = fileURLToPath(import.meta.url);
function runChild(node, config, file, lib) {
  let flags = [];
  let engine = 'qb';
  const extra = [];
  if (config === 'qb') flags = qbFlags;
  else if (config === 'qb-warm') {
    flags = qbFlags;
    extra.push('--warm', String(WARM));
  } else if (config === 'liftoff') {
    engine = 'v8';
    flags = ['--liftoff-only', '--no-wasm-lazy-compilation'];
  } else if (config === 'liftoff-1t') {
    engine = 'v8';
    flags = ['--liftoff-only', '--no-wasm-lazy-compilation', '--single-threaded'];
  } else throw new Error(`unknown config ${config}`);
  if (engine === 'qb' && threads !== null) extra.push('--threads', threads);
  const env = { ...process.env, QB_LIB: lib.path };
  const r = spawnSync(node, [...flags, self, '--child', engine, file, ...extra], { encoding: 'utf8', timeout: 300_000, env });
  const line = (r.stdout || '').trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`child failed (${node} ${config} ${file}): ${r.stderr.slice(0, 600)}`);
  }
}

function median(xs) {
  const s = xs.filter((x) => typeof x === 'number').sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const results = {}; // node -> module -> config -> [runs]
for (const node of nodes) {
  const ver = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  results[ver] = {};
  for (const file of modules) {
    const cell = (results[ver][path.basename(file)] = { size: fs.statSync(file).size });
    const qbConfigs = configs.filter((c) => c.startsWith('qb'));
    const v8Configs = configs.filter((c) => !c.startsWith('qb'));
    for (const c of v8Configs) cell[c] = [];
    for (const lib of libs) for (const c of qbConfigs) cell[`${c}@${lib.name}`] = [];
    for (let i = 0; i < RUNS; i++) {
      for (const c of v8Configs) cell[c].push(runChild(node, c, file, libs[0]));
      for (const lib of libs) for (const c of qbConfigs) cell[`${c}@${lib.name}`].push(runChild(node, c, file, lib));
    }
  }
}

if (json) {
  console.log(JSON.stringify(results, null, 1));
} else {
  const fmt = (x) => (Number.isNaN(x) ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  console.log(`cold compile, median of ${RUNS} fresh processes (wall ms)${qbFlags.length ? `; Quickbeam V8 flags: ${qbFlags.join(' ')}` : ''}${threads !== null ? `; threads: ${threads}` : ''}`);
  const withLib = libs.length > 1 || libs[0].name !== '';
  console.log(`| node | module | KB |${withLib ? ' build |' : ''} qb fresh | qb fresh, main-thread CPU | qb warm | liftoff | liftoff 1 thread | fresh x lift | fresh x lift-1t | warm x lift |`);
  console.log(`|---|---|--:|${withLib ? '---|' : ''}--:|--:|--:|--:|--:|--:|--:|--:|`);
  for (const [ver, mods] of Object.entries(results)) {
    for (const [name, cell] of Object.entries(mods)) {
      for (const lib of libs) {
        const m = (c, k = 'ms') => (cell[c] ? median(cell[c].map((r) => r[k])) : NaN);
        const q = (c) => `${c}@${lib.name}`;
        const qb = m(q('qb')), thread = m(q('qb'), 'thread_ms'), warm = m(q('qb-warm'), 'warm_ms'), lift = m('liftoff'), lift1 = m('liftoff-1t');
        const x = (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? '-' : `${(a / b).toFixed(1)}x`);
        console.log(`| ${ver} | ${name} | ${(cell.size / 1024).toFixed(0)} |${withLib ? ` ${lib.name} |` : ''} ${fmt(qb)} | ${fmt(thread)} | ${fmt(warm)} | ${fmt(lift)} | ${fmt(lift1)} | ${x(qb, lift)} | ${x(qb, lift1)} | ${x(warm, lift)} |`);
      }
    }
  }
}
