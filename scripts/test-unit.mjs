#!/usr/bin/env node
// The unit tests (uvu over dist/test) on every Node version Quickbeam supports: this node (20 on CI), then the
// pinned Node 24 and 26 builds (scripts/node-versions.mjs installs them into .cache/node on first use). Every
// run gets QUICKBEAM_NODE24 / QUICKBEAM_NODE26, so the tests that compare with V8's Wasm 3.0 (on by default
// from Node 24) find their oracle whichever node runs them.
//
//   node scripts/test-unit.mjs [--this-node-only] [PATTERN]
//
// PATTERN is uvu's file pattern (default: every *.test.js). Exits non-zero when any run fails.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureNode } from './node-versions.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const thisNodeOnly = args.includes('--this-node-only');
const pattern = args.find((a) => !a.startsWith('--')) ?? '.*\\.test\\.js$';
const uvu = path.join(root, 'node_modules', 'uvu', 'bin.js');

const thisMajor = Number(process.versions.node.split('.')[0]);
const others = thisNodeOnly ? [] : [24, 26].filter((m) => m !== thisMajor);
const env = { ...process.env };
for (const m of [24, 26]) env[`QUICKBEAM_NODE${m}`] = ensureNode(m);

const runs = [{ label: `Node ${process.versions.node} (this node)`, exe: process.execPath }];
for (const m of others) runs.push({ label: `Node ${m}`, exe: env[`QUICKBEAM_NODE${m}`] });

const results = [];
for (const { label, exe } of runs) {
  console.log(`\n=== unit tests on ${label}: ${exe}`);
  const t0 = Date.now();
  const r = spawnSync(exe, [uvu, 'dist/test', pattern], { cwd: root, env, stdio: 'inherit' });
  results.push({ label, ok: r.status === 0, s: ((Date.now() - t0) / 1000).toFixed(0), status: r.status ?? r.signal });
}
console.log('');
for (const r of results) console.log(`unit tests on ${r.label}: ${r.ok ? 'passed' : `FAILED (exit ${r.status})`} in ${r.s} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
