// scripts/fuzz-lazy: one scenario (scenario.mjs) under V8, Quickbeam eager and Quickbeam lazy, each in its
// own worker process (with --expose-gc), and the verdict:
//   match | crash | hang | lazy-mismatch (eager vs lazy Quickbeam) | v8-mismatch (V8 vs eager Quickbeam)
//   | nan-nondet | invalid (V8 rejects the module) | oracle-failure | oracle-hang | harness-error
// A crash or hang says which Quickbeam run it was (`engine`: 'lazy' | 'eager') and the signal.

import { existsSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EngineProcess } from './pool.mjs';
import { compareScenario, describeScenarioDiffs } from './scenario.mjs';
import { DIST_INDEX, HOST_NODE_MAJOR, REGRESSION_DIR, ensureDir, memory64Flags, sha1 } from './util.mjs';
import { reduce, disassemble } from './binaryen.mjs';

const CHECK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'lazy-check.mjs');

/** The Quickbeam build a campaign tests: --dist, else $QUICKBEAM_DIST, else dist/src/index.js. */
export function resolveDist(dist) {
  return dist ? path.resolve(dist) : DIST_INDEX;
}

/**
 * Worker processes: v8, eager and lazy (Quickbeam), or the subset in `only`. Options: dist (the build
 * under test), plant (QUICKBEAM_FUZZ_PLANT for the Quickbeam workers), recycle (scenarios per worker).
 */
export function makeLazyEngines({ dist = null, plant = null, recycle = 25, only = null } = {}) {
  const index = resolveDist(dist);
  if (!existsSync(index)) {
    console.error(`no Quickbeam build at ${index}: run \`npm run build\` first (or pass --dist / set QUICKBEAM_DIST)`);
    process.exit(2);
  }
  const env = { ...process.env };
  delete env.QUICKBEAM_TEST_PLANT_BUG;
  delete env.QUICKBEAM_FUZZ_PLANT;
  delete env.QUICKBEAM_FUZZ_RETAIN;
  const qbEnv = { ...env, QUICKBEAM_DIST: index };
  if (plant) qbEnv.QUICKBEAM_FUZZ_PLANT = plant;
  const want = (n) => !only || only.includes(n);
  const e = {
    v8: want('v8') ? new EngineProcess('v8', { env, execArgv: ['--expose-gc', ...memory64Flags()], recycle: recycle * 2, label: `v8 (node ${HOST_NODE_MAJOR})` }) : null,
    eager: want('eager') ? new EngineProcess('qb', { env: qbEnv, execArgv: ['--expose-gc'], recycle, label: 'quickbeam eager' }) : null,
    lazy: want('lazy') ? new EngineProcess('qb', { env: qbEnv, execArgv: ['--expose-gc'], recycle, label: 'quickbeam lazy' }) : null,
    dist: index,
    async stop() { await Promise.all([e.v8?.stop(), e.eager?.stop(), e.lazy?.stop()]); },
  };
  return e;
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64');
const QB_OPTIONS = { eager: { lazy: false }, lazy: { lazy: true } };

/** Quickbeam's Module options for the eager or lazy run: { lazy } plus the scenario's (e.g. threads). */
export function qbOptionsFor(sc, which) {
  return { ...(sc.qbOptions?.[which] ?? {}), ...QB_OPTIONS[which] };
}

const nanShaped = (diffs) => diffs.every((d) => ['memory-hash', 'result', 'import', 'global'].includes(d.what)) && !/undefined|bad:/.test(JSON.stringify(diffs));

/**
 * Run a scenario under the engines and classify it. Options: timeoutMs (per engine run), denan (bytes =>
 * bytes|null: confirms that a V8 difference is NaN nondeterminism).
 */
export async function lazyCase(engines, bytes, sc, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? 30000;
  const wasm = b64(bytes);
  const t0 = Date.now();
  const req = (eng, which, w = wasm) => (eng ? eng.request({ op: 'scenario', wasm: w, scenario: sc, qbOptions: qbOptionsFor(sc, which) }, timeoutMs) : Promise.resolve(null));
  const [rv, re, rl] = await Promise.all([req(engines.v8, 'v8'), req(engines.eager, 'eager'), req(engines.lazy, 'lazy')]);
  const ms = Date.now() - t0;
  const base = { ms, runs: { v8: rv?.status, eager: re?.status, lazy: rl?.status } };
  // Quickbeam crashes and hangs first: they are findings whatever V8 did (the caller has checked that V8
  // accepts the module).
  const v8ok = rv?.status === 'ok';
  for (const [name, r] of [['lazy', rl], ['eager', re]]) {
    if (!r) continue;
    if (r.status === 'crash') return { ...base, verdict: 'crash', engine: name, signal: r.signal, code: r.code, detail: `quickbeam ${name}: ${r.signal ? `signal ${r.signal}` : `exit code ${r.code}`}`, stderr: r.stderr };
  }
  for (const [name, r] of [['lazy', rl], ['eager', re]]) {
    if (!r) continue;
    if (r.status === 'hang' && (!rv || v8ok)) return { ...base, verdict: 'hang', engine: name, detail: `quickbeam ${name}: no answer within ${timeoutMs} ms${rv ? ' (V8 finished)' : ''}` };
  }
  if (rv && !v8ok) return { ...base, verdict: rv.status === 'hang' ? 'oracle-hang' : 'oracle-failure', detail: rv.status === 'crash' ? `signal ${rv.signal} code ${rv.code}: ${rv.stderr?.slice(-500)}` : rv.error ?? rv.status };
  for (const [name, r] of [['lazy', rl], ['eager', re]]) {
    if (r && r.status !== 'ok') return { ...base, verdict: 'harness-error', engine: name, detail: r.error ?? r.status };
  }
  const out = { ...base, v8: rv?.result ?? null, eager: re?.result ?? null, lazy: rl?.result ?? null };
  // Eager vs lazy: the same compiler, so everything must be identical (memory bytes included).
  if (re && rl) {
    const c = compareScenario(re.result, rl.result, sc, { strict: true });
    out.cutLazy = c.cut;
    if (c.diffs.length) return { ...out, verdict: 'lazy-mismatch', diffs: c.diffs, detail: describeScenarioDiffs(c.diffs) };
  }
  if (rv && (re || rl)) {
    const qb = re ?? rl;
    const c = compareScenario(rv.result, qb.result, sc);
    out.cutV8 = c.cut;
    if (c.diffs.length) {
      if (opts.denan && nanShaped(c.diffs)) {
        const clean = opts.denan(bytes);
        if (clean) {
          const eng = re ? engines.eager : engines.lazy;
          const [cv, cq] = await Promise.all([
            engines.v8.request({ op: 'scenario', wasm: b64(clean), scenario: sc }, timeoutMs),
            eng.request({ op: 'scenario', wasm: b64(clean), scenario: sc, qbOptions: qbOptionsFor(sc, re ? 'eager' : 'lazy') }, timeoutMs),
          ]);
          if (cv.status === 'ok' && cq.status === 'ok' && compareScenario(cv.result, cq.result, sc).diffs.length === 0) {
            return { ...out, verdict: 'nan-nondet', diffs: c.diffs, detail: describeScenarioDiffs(c.diffs) };
          }
        }
      }
      return { ...out, verdict: 'v8-mismatch', diffs: c.diffs, detail: describeScenarioDiffs(c.diffs) };
    }
  }
  return { ...out, verdict: 'match' };
}

/** A stable signature of a finding (kept while minimising). */
export function lazySignature(v) {
  if (v.verdict === 'crash') return `crash:${v.engine}:${v.signal ?? `exit-${v.code}`}`;
  if (v.verdict === 'hang') return `hang:${v.engine}`;
  if (v.verdict === 'lazy-mismatch' || v.verdict === 'v8-mismatch') return `${v.verdict}:${v.diffs[0].what}`;
  return 'boring:' + v.verdict;
}

/** The engines a signature needs. */
export function enginesFor(sig) {
  if (/^(crash|hang):lazy/.test(sig)) return ['lazy'];
  if (/^(crash|hang):eager/.test(sig)) return ['eager'];
  if (sig.startsWith('lazy-mismatch')) return ['eager', 'lazy'];
  return ['v8', 'eager'];
}

/**
 * Whether `sc` on `bytes` still gives signature `sig` in fresh worker processes (tried `attempts` times:
 * crashes that depend on garbage-collection timing do not always reproduce).
 */
export async function reproduces(bytes, sc, sig, { dist, plant, attempts = 2, timeoutMs = 30000 } = {}) {
  for (let a = 0; a < attempts; a++) {
    const engines = makeLazyEngines({ dist, plant, recycle: 1, only: enginesFor(sig) });
    try {
      const v = await lazyCase(engines, bytes, sc, { timeoutMs });
      if (lazySignature(v) === sig) return true;
    } finally {
      await engines.stop();
    }
  }
  return false;
}

/**
 * Shorten a scenario keeping signature `sig`: drop chunks of steps (ddmin-style, halving the chunk size),
 * then import actions, then shrink churn. Returns the smallest scenario found within `maxTrials`.
 */
export async function minimiseScenario(bytes, sc, sig, { dist, plant, maxTrials = 200, log = () => {} } = {}) {
  let best = sc;
  let trials = 0;
  const test = async (cand) => {
    trials++;
    return reproduces(bytes, cand, sig, { dist, plant, attempts: sig.startsWith('crash') || sig.startsWith('hang') ? 2 : 1 });
  };
  let chunk = Math.max(1, Math.floor(best.steps.length / 2));
  while (chunk >= 1 && trials < maxTrials) {
    let removed = false;
    for (let start = 0; start < best.steps.length && trials < maxTrials; ) {
      const cand = { ...best, steps: [...best.steps.slice(0, start), ...best.steps.slice(start + chunk)] };
      if (cand.steps.length && await test(cand)) {
        best = cand;
        removed = true;
        log(`  steps: ${best.steps.length}`);
      } else start += chunk;
    }
    if (!removed || chunk > 1) chunk = Math.floor(chunk / 2);
  }
  // Import actions: 'none' wherever possible.
  for (let i = 0; i < best.imports.length && trials < maxTrials; i++) {
    const d = best.imports[i];
    if (!d.actions) continue;
    for (let a = 0; a < d.actions.length && trials < maxTrials; a++) {
      if (d.actions[a].do === 'none') continue;
      const imports = best.imports.map((x, j) => (j === i ? { ...x, actions: x.actions.map((y, b) => (b === a ? { do: 'none' } : y)) } : x));
      const cand = { ...best, imports };
      if (await test(cand)) best = cand;
    }
  }
  // Churn and gc sizes.
  for (let k = 0; k < best.steps.length && trials < maxTrials; k++) {
    const s = best.steps[k];
    if (s.op !== 'churn') continue;
    for (const field of ['modules', 'instances', 'tables', 'memories', 'globals']) {
      if (!s[field]) continue;
      const cand = { ...best, steps: best.steps.map((x, j) => (j === k ? { ...x, [field]: 0 } : x)) };
      if (await test(cand)) best = cand;
    }
  }
  log(`  scenario: ${sc.steps.length} -> ${best.steps.length} steps in ${trials} trials`);
  return best;
}

/** Minimise module A with wasm-reduce, the scenario fixed. Returns the reduced bytes or null. */
export async function minimiseModule(bytes, sc, sig, { dist, plant, features, timeoutSec = 600 }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-lazy-reduce-'));
  try {
    const inFile = path.join(dir, 'orig.wasm');
    writeFileSync(inFile, bytes);
    const test = path.join(dir, 'test.wasm'), work = path.join(dir, 'work.wasm');
    const cfg = path.join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ sig, scenario: sc, dist: resolveDist(dist), plant: plant ?? null }));
    const r = await reduce(inFile, `${process.execPath} ${CHECK} ${cfg} ${test}`, test, work, features, timeoutSec);
    return r?.bytes ?? null;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether a finding reproduces in a separate process (for wasm-reduce's command, see lazy-check.mjs). */
export function reproducesInChild(bytes, sc, sig, { dist, plant }) {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-lazy-repro-'));
  try {
    const test = path.join(dir, 'test.wasm');
    writeFileSync(test, bytes);
    const cfg = path.join(dir, 'cfg.json');
    writeFileSync(cfg, JSON.stringify({ sig, scenario: sc, dist: resolveDist(dist), plant: plant ?? null }));
    const r = spawnSync(process.execPath, [CHECK, cfg, test], { encoding: 'utf8', timeout: 180000 });
    return (r.stdout ?? '').trim() === sig;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Save a reduced finding as a regression (test/regressions/fuzz-lazy-<hash>.wasm + .json, kind
 * 'scenario'): the scenario, V8's trace as the expectation, Quickbeam lazily compiled. `todo` marks it
 * skipped (a known open bug).
 */
export async function saveLazyRegression(bytes, sc, { found, description, todo = null, dist }) {
  ensureDir(REGRESSION_DIR);
  const engines = makeLazyEngines({ dist, recycle: 1, only: ['v8'] });
  let expected = null;
  try {
    const r = await engines.v8.request({ op: 'scenario', wasm: b64(bytes), scenario: sc }, 60000);
    if (r.status === 'ok') expected = r.result;
  } finally {
    await engines.stop();
  }
  const name = `fuzz-lazy-${sha1(bytes).slice(0, 10)}`;
  const wasmFile = path.join(REGRESSION_DIR, `${name}.wasm`);
  writeFileSync(wasmFile, bytes);
  const wat = disassemble(wasmFile);
  const json = {
    fuzzer: 'fuzz-lazy',
    kind: 'scenario',
    found,
    description,
    oracle: 'v8 (node 20)',
    qbOptions: qbOptionsFor(sc, 'lazy'),
    scenario: sc,
    expected,
    ...(todo ? { skip: todo } : {}),
    ...(wat && wat.length < 20000 ? { wat } : {}),
  };
  writeFileSync(path.join(REGRESSION_DIR, `${name}.json`), JSON.stringify(json, null, 1) + '\n');
  return { name, file: wasmFile };
}
