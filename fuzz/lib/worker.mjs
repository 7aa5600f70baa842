// A long-lived engine worker: `node fuzz/lib/worker.mjs qb|v8`, driven over the IPC channel (JSON).
// Requests: { id, op: 'run', wasm (base64), plan, features?, qbOptions? (more Quickbeam Module options) }
//           { id, op: 'validate', wasm, features? }   (Quickbeam: validate + new Module; V8: validate)
//           { id, op: 'ping' }
// Replies:  { id, ok: true, result } or { id, ok: false, error } for harness-level failures.
// A crash (signal) of this process is detected by the parent (pool.mjs), which restarts it.

import { runPlan } from './exec.mjs';
import { DIST_INDEX } from './util.mjs';
import { pathToFileURL } from 'node:url';

const engineName = process.argv[2];
// QUICKBEAM_FUZZ_RETAIN=1: keep every Instance alive until this worker exits (rules out garbage-collection
// effects, e.g. the stale-export-wrapper bug of test/regressions/stale-export-wrapper.mjs).
const RETAIN = process.env.QUICKBEAM_FUZZ_RETAIN === '1';
const retained = [];
let E;
if (engineName === 'qb') {
  const mod = await import(pathToFileURL(DIST_INDEX).href);
  E = mod.default;
} else if (engineName === 'v8') {
  E = WebAssembly;
} else {
  console.error(`worker: unknown engine ${engineName}`);
  process.exit(2);
}

function validate(bytes, features) {
  if (engineName === 'v8') {
    const valid = WebAssembly.validate(bytes);
    let msg = null;
    if (!valid) {
      try { new WebAssembly.Module(bytes); msg = 'validate false but new Module succeeded'; } catch (e) { msg = String(e.message).slice(0, 300); }
    }
    return { valid, msg };
  }
  const options = features ? { features } : undefined;
  // Both entry points must agree, and only ever fail with a CompileError.
  let valid, msg = null, errorName = null, validateThrew = null;
  try {
    valid = E.validate(bytes, options);
  } catch (e) {
    validateThrew = `${e?.name}: ${String(e?.message).slice(0, 300)}`;
  }
  let moduleOk;
  try {
    new E.Module(bytes, options);
    moduleOk = true;
  } catch (e) {
    moduleOk = false;
    errorName = e instanceof E.CompileError ? 'CompileError' : `${e?.name ?? typeof e} (not a CompileError)`;
    msg = String(e?.message).slice(0, 300);
  }
  return { valid: valid ?? moduleOk, moduleOk, validateThrew, errorName, msg };
}

process.on('message', (req) => {
  let reply;
  try {
    const bytes = typeof req.wasm === 'string' ? new Uint8Array(Buffer.from(req.wasm, 'base64')) : null;
    let result;
    switch (req.op) {
      case 'ping': result = { engine: engineName, node: process.version }; break;
      case 'validate': result = validate(bytes, req.features); break;
      case 'run': {
        const opts = engineName === 'qb' && (req.features || req.qbOptions) ? { moduleOptions: { ...(req.qbOptions ?? {}), ...(req.features ? { features: req.features } : {}) } } : {};
        if (RETAIN) opts.retain = retained;
        result = runPlan(E, bytes, req.plan, opts);
        break;
      }
      default: throw new Error(`unknown op ${req.op}`);
    }
    reply = { id: req.id, ok: true, result };
  } catch (e) {
    reply = { id: req.id, ok: false, error: `${e?.name}: ${e?.message}\n${e?.stack ?? ''}`.slice(0, 2000) };
  }
  process.send(reply);
});

process.on('disconnect', () => process.exit(0));
process.send({ id: 0, ok: true, result: 'ready' });
