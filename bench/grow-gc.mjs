// V8's full collections during run() and run()'s CPU time, Quickbeam against Liftoff (and, with --before DIR,
// another checkout's build): fresh processes, interleaved program by program, through bench/run-module.mjs
// --gc-stats. For the programs whose memory grows (issue 16: V8 starts a collection per new buffer of a large
// memory on Node 20; runtime/deferred-growth.ts).
//
//   node bench/grow-gc.mjs [--runs N] [--before DIR] [--node PATH] [PROGRAM...]
//
// --before DIR: a checkout with a build (DIR/dist), loaded by this run-module.mjs.
// PROGRAM: a name from bench/programs/build (json, wordfreq, ...; the wasm32 build) or sqlite (the shared
// workload, run as run.mjs runs it); default: the programs whose memory grows. --node runs every process on
// another Node (e.g. `node scripts/node-versions.mjs path 24`); the figures are medians and minima of N runs.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let runs = 5, before = null, node = process.execPath;
const names = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runs') runs = +args[++i];
  else if (args[i] === '--before') before = path.resolve(args[++i]);
  else if (args[i] === '--node') node = args[++i];
  else names.push(args[i]);
}
if (names.length === 0) names.push('json', 'wordfreq', 'recurse', 'lz', 'sqlite');

const workloads = path.resolve(process.env.QUICKBEAM_WORKLOADS ?? path.join(here, '..', '..', 'shared', 'workloads'));
const fileOf = (name) => name === 'sqlite' ? path.join(workloads, 'sqlite', 'sqlite.wasm32.wasm') : path.join(here, 'programs', 'build', `${name}.wasm32.wasm`);

const engines = [
  { label: 'Liftoff', flags: ['--liftoff-only', '--no-wasm-lazy-compilation'], runner: path.join(here, 'run-module.mjs'), extra: [] },
  ...(before !== null ? [{ label: 'before', flags: [], runner: path.join(here, 'run-module.mjs'), extra: ['--engine', 'quickbeam', '--dist', path.join(before, 'dist')] }] : []),
  { label: 'Quickbeam', flags: [], runner: path.join(here, 'run-module.mjs'), extra: ['--engine', 'quickbeam'] },
];

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

console.log(`node ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}, ${runs} runs, load ${load()}`);
console.log('| program | engine | run CPU ms (median, min) | full GCs in run() | their main-thread ms | peak RSS MB |');
console.log('|---|---|---:|---:|---:|---:|');
for (const name of names) {
  const file = fileOf(name);
  const results = engines.map(() => []);
  for (let r = 0; r < runs; r++) {
    engines.forEach((e, k) => {
      const p = spawnSync(node, [...e.flags, e.runner, file, ...e.extra, '--gc-stats'], { encoding: 'utf8' });
      const line = p.stdout.trim().split('\n').pop();
      let j;
      try { j = JSON.parse(line); } catch { throw new Error(`${e.label} ${name}: ${p.stderr || line}`); }
      results[k].push(j);
    });
  }
  engines.forEach((e, k) => {
    const rs = results[k];
    const cpu = rs.map((j) => j.run_cpu_ms);
    console.log(`| ${name} | ${e.label} | ${median(cpu).toFixed(0)}, ${Math.min(...cpu).toFixed(0)} | ${median(rs.map((j) => j.run_mark_compacts))} |` +
      ` ${median(rs.map((j) => j.run_gc_ms)).toFixed(1)} | ${(median(rs.map((j) => j.max_rss_kb)) / 1024).toFixed(0)} |`);
  });
}
console.log(`load ${load()}`);
