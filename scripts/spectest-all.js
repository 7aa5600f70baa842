#!/usr/bin/env node
// `npm run test:spec`: runs the built CLI's `spectest` over the conformance corpus, one group at a time,
// each with the features of its era, then prints every group's final line and a total.
//
//   node scripts/spectest-all.js [extra spectest options, e.g. --engine v8 --jobs 4]
//
// The corpus is $QUICKBEAM_TESTSUITE, default ../shared/wasm-testsuite/json relative to the project root.
// Exits 0 (after saying so) when the corpus is missing; non-zero when any group fails.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const suite = path.resolve(root, process.env.QUICKBEAM_TESTSUITE || '../shared/wasm-testsuite/json');
const cli = process.env.QUICKBEAM_CLI || path.join(root, 'bin', 'quickbeam.js');
const extra = process.argv.slice(2);

const PARALLEL = ['--eager', '--compile-threads', '2', '--batch-bytes', '1'];

const GROUPS = [
  // Wasm 2.0: one memory per module (its binary/imports/memory tests assert that a second one is invalid)
  { name: 'core', flags: ['--no-multi-memory'] },
  // the 2022 memory64 proposal suite: its memory64.wast asserts that a second memory is invalid
  { name: 'memory64', flags: ['--no-multi-memory'] },
  // memory64 as in Wasm 3.0 (with table64; multi-memory allowed)
  { name: 'memory64-wasm3', flags: [] },
  // the SIMD (128-bit vector) instructions of Wasm 2.0
  { name: 'simd', flags: [] },
  // The same suites again with every function compiled lazily (on first call): results must not change.
  { name: 'core (lazy)', dir: 'core', flags: ['--no-multi-memory', '--lazy'] },
  { name: 'memory64 (lazy)', dir: 'memory64', flags: ['--no-multi-memory', '--lazy'] },
  { name: 'memory64-wasm3 (lazy)', dir: 'memory64-wasm3', flags: ['--lazy'] },
  { name: 'simd (lazy)', dir: 'simd', flags: ['--lazy'] },
  // And compiled on two threads with every function in its own batch, so every call between functions is
  // linked across batches compiled by different threads: results must not change either.
  { name: 'core (parallel)', dir: 'core', flags: ['--no-multi-memory', ...PARALLEL] },
  { name: 'memory64 (parallel)', dir: 'memory64', flags: ['--no-multi-memory', ...PARALLEL] },
  { name: 'memory64-wasm3 (parallel)', dir: 'memory64-wasm3', flags: [...PARALLEL] },
  { name: 'simd (parallel)', dir: 'simd', flags: [...PARALLEL] },
];

const FINAL = /^(\d+) passed, (\d+) failed, (\d+) skipped$/;

function runGroup(group) {
  return new Promise((resolve) => {
    const dir = path.join(suite, group.dir ?? group.name);
    const args = [cli, 'spectest', ...group.flags, ...extra, dir];
    console.log(`== ${group.name}: quickbeam ${args.slice(1).map((a) => (a === dir ? path.relative(process.cwd(), dir) || '.' : a)).join(' ')}`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let last = null;
    let pending = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const l of lines) if (FINAL.test(l)) last = l;
    });
    child.on('close', (code, signal) => {
      if (pending && FINAL.test(pending)) last = pending;
      resolve({ name: group.name, code: code ?? 1, signal, last });
    });
    child.on('error', (e) => {
      console.error(`spectest-all: cannot start ${cli}: ${e.message}`);
      resolve({ name: group.name, code: 1, signal: null, last: null });
    });
  });
}

async function main() {
  if (!existsSync(suite)) {
    console.log(`spectest-all: skipped (no test suite at ${suite}; set QUICKBEAM_TESTSUITE)`);
    return 0;
  }
  const results = [];
  for (const g of GROUPS) {
    if (!existsSync(path.join(suite, g.dir ?? g.name))) {
      console.log(`== ${g.name}: skipped (no folder ${path.join(suite, g.dir ?? g.name)})`);
      continue;
    }
    results.push(await runGroup(g));
  }
  console.log('\n== summary');
  const total = { passed: 0, failed: 0, skipped: 0 };
  let ok = true;
  const width = Math.max(...results.map((r) => r.name.length), 5);
  for (const r of results) {
    const m = r.last && FINAL.exec(r.last);
    if (m) {
      total.passed += Number(m[1]);
      total.failed += Number(m[2]);
      total.skipped += Number(m[3]);
    }
    const status = r.code === 0 ? '' : r.signal ? `  (spectest killed by ${r.signal})` : `  (exit status ${r.code})`;
    console.log(`${r.name.padEnd(width)}  ${r.last ?? 'no result line'}${status}`);
    if (r.code !== 0 || !m) ok = false;
  }
  console.log(`${'total'.padEnd(width)}  ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
  return ok ? 0 : 1;
}

process.exitCode = await main();
