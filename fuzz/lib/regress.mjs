// Mismatch/crash follow-up: minimise with wasm-reduce, then save as a regression test under
// test/regressions/ (<name>.wasm + <name>.json with the plan and V8's trace), replayed by test/fuzz.test.ts.

import { writeFileSync, readFileSync, readdirSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REGRESSION_DIR, FUZZ_DIR, ensureDir, sha1 } from './util.mjs';
import { reduce, disassemble } from './binaryen.mjs';
import { buildPlan } from './plan.mjs';
import { diffCase } from './diff.mjs';
import { describeDiffs } from './compare.mjs';

const CHECK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'reduce-check.mjs');

/** A stable signature of a verdict, kept identical while reducing. */
export function signature(v) {
  if (v.verdict === 'crash' || v.verdict === 'hang') return v.verdict;
  if (v.verdict !== 'mismatch') return 'boring:' + v.verdict;
  const d = v.diffs[0];
  const kindOf = (x) => (x && typeof x === 'object' ? x.ev + (x.kind ? ':' + x.kind : '') : String(x).split(' ')[0]);
  if (d.what === 'outcome' || d.what === 'trap') return `mismatch:${d.what}:${kindOf(d.expected)}->${kindOf(d.actual)}`;
  return `mismatch:${d.what}`;
}

/** Save a module whose mismatch we could not reduce (or before reducing) under fuzz/mismatches/. */
export function saveMismatch(bytes, info) {
  const dir = ensureDir(path.join(FUZZ_DIR, 'mismatches'));
  const name = `${info.fuzzer}-${sha1(bytes).slice(0, 12)}`;
  writeFileSync(path.join(dir, `${name}.wasm`), bytes);
  writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(info, null, 2) + '\n');
  return path.join(dir, `${name}.wasm`);
}

/**
 * Whether the finding reproduces alone (fresh worker processes, nothing run before it). A finding that
 * does not is state-dependent (e.g. garbage-collection timing): wasm-reduce cannot work on it.
 */
export function reproducesAlone(bytes, sig, { planSeed, features, plantBug, node24, planOpts = {}, qbOptions }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-repro-'));
  try {
    const test = path.join(dir, 'test.wasm');
    writeFileSync(test, bytes);
    const cfg = path.join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ sig, planSeed, features: features ?? null, plantBug: plantBug ?? null, node24: !!node24, planOpts, qbOptions: qbOptions ?? null }));
    const r = spawnSync(process.execPath, [CHECK, cfg, test], { encoding: 'utf8', timeout: 120000 });
    return (r.stdout ?? '').trim() === sig;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Reduce `bytes` keeping signature `sig` (plan rebuilt from the reduced module with planSeed each time).
 * Returns the reduced bytes or null.
 */
export async function minimise(bytes, sig, { planSeed, features, binaryenFeatures, plantBug, node24, timeoutSec = 600, planOpts = {}, qbOptions }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-reduce-'));
  try {
    const inFile = path.join(dir, 'orig.wasm');
    writeFileSync(inFile, bytes);
    const test = path.join(dir, 'test.wasm'), work = path.join(dir, 'work.wasm');
    const cfg = path.join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ sig, planSeed, features: features ?? null, plantBug: plantBug ?? null, node24: !!node24, planOpts, qbOptions: qbOptions ?? null }));
    const cmd = `${process.execPath} ${CHECK} ${cfg} ${test}`;
    const r = await reduce(inFile, cmd, test, work, binaryenFeatures, timeoutSec);
    if (!r || !r.bytes) return null;
    return r.bytes;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Save a regression: runs the plan under V8 for the expected trace. `todo` marks it skipped in the suite
 * (the string says why; flip it once the bug is fixed). Returns { name, file, verdict }.
 */
export async function saveRegression(engines, bytes, { fuzzer, found, features = null, planSeed = 1, planOpts = {}, todo = null, description = null, plan = null, expected = null, oracle = null, qbOptions = null }) {
  ensureDir(REGRESSION_DIR);
  plan ??= buildPlan(bytes, planSeed, planOpts);
  const v = expected ? { verdict: 'given', expected } : await diffCase(engines, bytes, plan, { features, qbOptions: qbOptions ?? undefined });
  const name = `${fuzzer}-${sha1(bytes).slice(0, 10)}`;
  const wasmFile = path.join(REGRESSION_DIR, `${name}.wasm`);
  writeFileSync(wasmFile, bytes);
  const text = disassemble(wasmFile);
  const json = {
    fuzzer,
    found,
    description: description ?? (v.verdict === 'mismatch' ? describeDiffs(v.diffs, 4) : `${v.verdict}: ${v.detail ?? ''}`),
    verdictAtDiscovery: v.verdict,
    oracle: oracle ?? engines.v8.label,
    features,
    ...(qbOptions ? { qbOptions } : {}),
    planSeed,
    plan,
    expected: v.expected ?? null,
    ...(todo ? { skip: todo } : {}),
    ...(text && text.length < 20000 ? { wat: text } : {}),
  };
  writeFileSync(path.join(REGRESSION_DIR, `${name}.json`), JSON.stringify(json, null, 1) + '\n');
  return { name, file: wasmFile, verdict: v.verdict };
}

/** Every saved regression: [{ name, wasm (bytes), json }]. */
export function loadRegressions(dir = REGRESSION_DIR) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.json')) continue;
    const name = f.slice(0, -5);
    const wasmFile = path.join(dir, `${name}.wasm`);
    if (!existsSync(wasmFile)) continue;
    out.push({ name, wasm: new Uint8Array(readFileSync(wasmFile)), json: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) });
  }
  return out;
}
