#!/usr/bin/env node
// wasm-reduce's interestingness command: `node reduce-check.mjs CONFIG.json TEST.wasm`.
// Runs TEST.wasm under V8 and Quickbeam (fresh workers) with a plan rebuilt from the module, and prints the
// verdict's signature: the same line as for the original module means "still interesting".
// CONFIG: { sig, planSeed, features, plantBug, node24, planOpts, qbOptions }

import { readFileSync } from 'node:fs';
import { makeEngines, diffCase } from './diff.mjs';
import { buildPlan } from './plan.mjs';
import { signature } from './regress.mjs';

const [cfgFile, testFile] = process.argv.slice(2);
const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
let out = 'boring:unreadable';
let engines = null;
try {
  const bytes = new Uint8Array(readFileSync(testFile));
  let plan = null;
  try { plan = buildPlan(bytes, cfg.planSeed, cfg.planOpts ?? {}); } catch { out = 'boring:undecodable'; }
  if (plan) {
    engines = makeEngines({ plantBug: cfg.plantBug, useNode24: cfg.node24, recycle: 1 });
    const v = await diffCase(engines, bytes, plan, { features: cfg.features ?? undefined, qbOptions: cfg.qbOptions ?? undefined, timeoutMs: 8000 });
    out = signature(v);
  }
} catch (e) {
  out = 'boring:error';
}
if (engines) await engines.stop();
console.log(out === cfg.sig ? out : `boring (${out})`);
process.exit(0);
