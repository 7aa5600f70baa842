// Differential execution of one module under V8 (the oracle) and Quickbeam, each in its own worker process.

import { EngineProcess } from './pool.mjs';
import { compareTraces, memoryDiff } from './compare.mjs';
import { exposeFloatState } from './wasm.mjs';
import { existsSync } from 'node:fs';
import { findNode24, DIST_INDEX } from './util.mjs';

/** Node 20 needs a flag for memory64; Node 24 has it (and multi-memory) on. */
export function v8ExecArgv(node24) {
  return node24 ? [] : ['--experimental-wasm-memory64'];
}

/** Exit with a clear message when there is no Quickbeam build to test. */
export function requireBuild() {
  if (!existsSync(DIST_INDEX)) {
    console.error(`no Quickbeam build at ${DIST_INDEX}: run \`npx tsc -p .\` first (or set QUICKBEAM_DIST)`);
    process.exit(2);
  }
}

export function makeEngines({ plantBug = null, useNode24 = false, recycle = 200, retain = process.env.QUICKBEAM_FUZZ_RETAIN === '1' } = {}) {
  requireBuild();
  const env = { ...process.env };
  delete env.QUICKBEAM_TEST_PLANT_BUG;
  delete env.QUICKBEAM_FUZZ_RETAIN;
  const qbEnv = { ...env };
  if (retain) qbEnv.QUICKBEAM_FUZZ_RETAIN = '1';
  if (plantBug) qbEnv.QUICKBEAM_TEST_PLANT_BUG = plantBug;
  else if (process.env.QUICKBEAM_TEST_PLANT_BUG) qbEnv.QUICKBEAM_TEST_PLANT_BUG = process.env.QUICKBEAM_TEST_PLANT_BUG;
  const node24 = useNode24 ? findNode24() : null;
  // Without node24 the oracle is the node running this script (Node 24 and later: no memory64 flag, which they
  // refuse).
  const major = Number(process.versions.node.split('.')[0]);
  const newV8 = node24 !== null || major >= 24;
  const qb = new EngineProcess('qb', { env: qbEnv, recycle, label: 'quickbeam' });
  const v8 = new EngineProcess('v8', { env, execArgv: v8ExecArgv(newV8), recycle: recycle * 2, label: node24 ? 'v8 (node 24)' : `v8 (node ${major})` });
  if (node24) v8.execPath = node24;
  return { qb, v8, node24, async stop() { await Promise.all([qb.stop(), v8.stop()]); } };
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64');

/** True when a trace mentions a NaN anywhere (a value, a global, or a memory whose masked hash was needed). */
export function traceHasNaN(trace) {
  for (const e of trace) {
    if (e.ev === 'state') {
      if (e.memories.some((m) => m.masked && m.masked !== m.hash)) return true;
      if (e.globals.some((g) => g.value === 'num:nan')) return true;
    } else if (e.ev === 'result' && e.values.includes('nan')) return true;
    else if (e.ev === 'import' && e.args.includes('nan')) return true;
  }
  return false;
}

/** The trace up to and including the state after call `k` (-1: instantiation only). */
function traceThroughCall(trace, k) {
  let calls = -1;
  const end = trace.findIndex((e) => e.ev === 'call' && ++calls > k);
  return end < 0 ? trace : trace.slice(0, end);
}

/**
 * Whether a NaN sat where the traces cannot show it (a memory or f32/f64 global the module does not export)
 * by the end of the first call whose traces differ: both engines run again with that state exported.
 * (fuzz-diff-5ff5c8cdede7: the first call stored f64.min of a non-canonical NaN to an unexported memory,
 * V8's result canonical, Quickbeam's the operand's, both arithmetic NaNs as the spec allows; in call 27 an
 * i32.load16_s of its top bytes chose a branch, and the traces differed only in a trap.)
 */
async function hiddenNaN(engines, bytes, plan, opts, timeoutMs) {
  const exposed = exposeFloatState(bytes);
  if (!exposed) return false;
  const wasm = b64(exposed);
  const nplan = { ...plan, nanMask: true };
  const [pv, pq] = await Promise.all([
    engines.v8.request({ op: 'run', wasm, plan: nplan }, timeoutMs),
    engines.qb.request({ op: 'run', wasm, plan: nplan, features: opts.features, qbOptions: opts.qbOptions }, timeoutMs),
  ]);
  if (pv.status !== 'ok' || pq.status !== 'ok') return false;
  const diffs = compareTraces(pv.result, pq.result);
  const first = diffs.length ? Math.min(...diffs.map((d) => d.callIndex)) : Infinity;
  return traceHasNaN(traceThroughCall(pv.result, first)) || traceHasNaN(traceThroughCall(pq.result, first));
}

/**
 * Run a module under both engines and classify:
 *   match | mismatch | crash | hang | nan-nondet | invalid (V8 rejects it) | oracle-failure | harness-error
 * Options: features (Quickbeam's), timeoutMs, denan (bytes => bytes|null, used to confirm a mismatch is not
 * NaN nondeterminism).
 */
export async function diffCase(engines, bytes, plan, opts = {}) {
  const timeoutMs = opts.timeoutMs ?? 10000;
  const wasm = b64(bytes);
  const t0 = Date.now();
  const [rv, rq] = await Promise.all([
    engines.v8.request({ op: 'run', wasm, plan }, timeoutMs),
    engines.qb.request({ op: 'run', wasm, plan, features: opts.features, qbOptions: opts.qbOptions }, timeoutMs),
  ]);
  const ms = Date.now() - t0;
  if (rv.status !== 'ok') {
    return { verdict: rv.status === 'hang' ? 'oracle-hang' : 'oracle-failure', detail: rv.status === 'crash' ? `signal ${rv.signal} code ${rv.code}: ${rv.stderr?.slice(-500)}` : rv.error ?? rv.status, qb: rq, ms };
  }
  const expected = rv.result;
  if (expected[0]?.ev === 'compile') {
    return { verdict: 'invalid', detail: expected[0].msg, ms };
  }
  if (rq.status === 'crash') return { verdict: 'crash', detail: `signal ${rq.signal} code ${rq.code}`, stderr: rq.stderr, expected, ms };
  if (rq.status === 'hang') return { verdict: 'hang', detail: `no answer within ${timeoutMs} ms (V8 finished)`, expected, ms };
  if (rq.status !== 'ok') return { verdict: 'harness-error', detail: rq.error, expected, ms };
  const actual = rq.result;
  // A feature Quickbeam does not implement yet (GC types or instructions): counted, not a mismatch.
  if (actual[0]?.ev === 'compile' && /not supported/.test(actual[0].msg)) return { verdict: 'unsupported', detail: actual[0].msg, ms };
  let diffs = compareTraces(expected, actual);
  if (diffs.length === 0) return { verdict: 'match', expected, actual, ms };
  // Memory images whose NaN-masked hashes differ: the masks are computed per side, so compare the images
  // themselves (re-run with dumps after those calls): bytes may differ only inside NaNs on both sides.
  const memCalls = [...new Set(diffs.filter((d) => d.what === 'memory-hash').map((d) => d.callIndex))];
  if (memCalls.length) {
    const checked = memCalls.slice(0, 8);
    const dplan = { ...plan, dumpAfter: checked };
    const [dv, dq] = await Promise.all([
      engines.v8.request({ op: 'run', wasm, plan: dplan }, timeoutMs * 2),
      engines.qb.request({ op: 'run', wasm, plan: dplan, features: opts.features, qbOptions: opts.qbOptions }, timeoutMs * 2),
    ]);
    if (dv.status === 'ok' && dq.status === 'ok') {
      const states = (t) => t.filter((e) => e.ev === 'state');
      const sv = states(dv.result), sq = states(dq.result);
      const explained = new Set();
      for (const k of checked) {
        const mv = sv[k]?.memories ?? [], mq = sq[k]?.memories ?? [];
        let ok = mv.length === mq.length;
        for (const m of mv) {
          const o = mq.find((x) => x.name === m.name);
          if (!ok || !o || !m.dump || !o.dump) { ok = false; break; }
          if (memoryDiff(Buffer.from(m.dump, 'base64'), Buffer.from(o.dump, 'base64')).unexplained.length) { ok = false; break; }
        }
        if (ok) explained.add(k);
      }
      // Later calls than the ones checked: explained when every checked one was (the same bytes persist).
      const allChecked = checked.every((k) => explained.has(k));
      diffs = diffs.filter((d) => d.what !== 'memory-hash' || !(explained.has(d.callIndex) || (allChecked && d.callIndex > checked[checked.length - 1])));
      if (diffs.length === 0) return { verdict: 'match', expected, actual, ms, nanMemory: true };
    }
  }
  // NaN nondeterminism: confirm with the same module with NaNs removed. (The runs need not show a NaN:
  // i64.reinterpret_f64(f64.max(0, NaN)) logs an integer whose sign bit the spec leaves open.) Usually it
  // explains value differences only, but NaN bits stored to memory and read back as integers can steer
  // control flow too (seed 2 case 6673: an f64.max NaN's payload, V8 canonical, Quickbeam the operand's,
  // read by a later call's i32.load16_s): a run with NaNs and any other difference gets the check as well,
  // and so does one whose NaNs are in state it does not export (hiddenNaN).
  const nanShaped = diffs.every((d) => ['memory-hash', 'result', 'import', 'global'].includes(d.what)) &&
    !/undefined|bad:/.test(JSON.stringify(diffs));
  const sawNaN = nanShaped || traceHasNaN(expected) || traceHasNaN(actual) ||
    (opts.denan && await hiddenNaN(engines, bytes, plan, opts, timeoutMs));
  if (opts.denan && sawNaN) {
    const clean = opts.denan(bytes);
    if (clean) {
      const [cv, cq] = await Promise.all([
        engines.v8.request({ op: 'run', wasm: b64(clean), plan }, timeoutMs),
        engines.qb.request({ op: 'run', wasm: b64(clean), plan, features: opts.features, qbOptions: opts.qbOptions }, timeoutMs),
      ]);
      if (cv.status === 'ok' && cq.status === 'ok' && cv.result[0]?.ev !== 'compile') {
        const d2 = compareTraces(cv.result, cq.result);
        if (d2.length === 0) return { verdict: 'nan-nondet', diffs, expected, actual, ms, control: !nanShaped };
      }
    }
  }
  return { verdict: 'mismatch', diffs, expected, actual, ms, nan: traceHasNaN(expected) || traceHasNaN(actual) };
}
