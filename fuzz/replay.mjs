#!/usr/bin/env node
// Replay a saved finding in this process and print the trace (a crash then kills this process, which is
// the point when debugging it):
//   node fuzz/replay.mjs FINDING.json [--engine qb|v8] [--wasm FILE.wasm]
//   node --expose-gc fuzz/replay.mjs LAZY-FINDING.json [--eager]   (fuzz-lazy scenarios; lazy by default)
// FINDING.json: a test/regressions/*.json, fuzz/crashes/*.json or fuzz/mismatches/*.json (the .wasm next
// to it is used unless --wasm is given). Set QUICKBEAM_TEST_PLANT_BUG / QUICKBEAM_DIST as needed.
// (For memory64 under V8 on Node 20, run node with --experimental-wasm-memory64.)

import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { runPlan } from './lib/exec.mjs';
import { DIST_INDEX } from './lib/util.mjs';
import { compareTraces, describeDiffs } from './lib/compare.mjs';

const args = process.argv.slice(2);
const jsonFile = args.find((a) => a.endsWith('.json'));
if (!jsonFile) {
  console.error('usage: node fuzz/replay.mjs FINDING.json [--engine qb|v8] [--wasm FILE.wasm]');
  process.exit(2);
}
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const engine = opt('--engine') ?? 'qb';
const info = JSON.parse(readFileSync(jsonFile, 'utf8'));
const bytes = new Uint8Array(readFileSync(opt('--wasm') ?? jsonFile.replace(/\.json$/, '.wasm')));
const E = engine === 'v8' ? WebAssembly : (await import(pathToFileURL(DIST_INDEX).href)).default;
if (info.scenario) {
  // A fuzz-lazy finding (fuzz/crashes/lazy-*.json, fuzz/mismatches/fuzz-lazy-*.json, or a kind 'scenario'
  // regression): run its scenario, Quickbeam lazily compiled unless --eager.
  const { runScenario, compareScenario, describeScenarioDiffs } = await import('./lib/scenario.mjs');
  if (typeof globalThis.gc !== 'function') console.log('(run node with --expose-gc: the gc steps are no-ops without it)');
  const moduleOptions = engine === 'qb' ? { ...(info.qbOptions ?? {}), lazy: !args.includes('--eager') } : undefined;
  const trace = await runScenario(E, bytes, info.scenario, { moduleOptions });
  for (const e of trace) console.log(JSON.stringify(e).slice(0, 400));
  if (info.expected) {
    const c = compareScenario(info.expected, trace, info.scenario);
    console.log(c.diffs.length ? `DIFFERS from the expected trace: ${describeScenarioDiffs(c.diffs, 6)}` : 'matches the expected trace');
  }
  process.exit(0);
}
if (!info.plan) {
  console.log(`no plan in ${jsonFile}: validating only`);
  try {
    new E.Module(bytes, info.features ? { features: info.features } : undefined);
    console.log('valid');
  } catch (e) {
    console.log(`${e.name}: ${e.message}`);
  }
  process.exit(0);
}
const moduleOptions = engine === 'qb' && (info.features || info.qbOptions) ? { ...(info.qbOptions ?? {}), ...(info.features ? { features: info.features } : {}) } : undefined;
const trace = runPlan(E, bytes, info.plan, moduleOptions ? { moduleOptions } : {});
for (const e of trace) console.log(JSON.stringify(e).slice(0, 400));
if (info.expected) {
  const d = compareTraces(info.expected, trace);
  console.log(d.length ? `DIFFERS from the expected trace: ${describeDiffs(d, 6)}` : 'matches the expected trace');
}
