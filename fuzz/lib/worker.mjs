// A long-lived engine worker: `node fuzz/lib/worker.mjs qb|v8`, driven over the IPC channel (JSON).
// Requests: { id, op: 'run', wasm (base64), plan, features?, qbOptions? (more Quickbeam Module options) }
//           { id, op: 'scenario', wasm, scenario, qbOptions?, features? }  (scenario.mjs; run node with
//             --expose-gc for its gc steps)
//           { id, op: 'validate', wasm, features? }   (Quickbeam: validate + new Module; V8: validate)
//           { id, op: 'ping' }
// Replies:  { id, ok: true, result } or { id, ok: false, error } for harness-level failures.
// A crash (signal) of this process is detected by the parent (pool.mjs), which restarts it.

import { runPlan } from './exec.mjs';
import { runScenario } from './scenario.mjs';
import { DIST_INDEX } from './util.mjs';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

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

// QUICKBEAM_FUZZ_PLANT=lazy-slots-freed-with-module (self-test of scripts/fuzz-lazy): re-creates the bug
// fixed in 818b973 from the outside. The code-slot table of a lazily compiled module is invalidated when the
// Module *object* is collected, although its instances still jump through it. (The table is GC-owned memory
// now, which the plant cannot free: it zeroes it instead, so a call through it jumps to address 0.)
let onModule = null;
let plantError = null;
if (engineName === 'qb' && process.env.QUICKBEAM_FUZZ_PLANT === 'lazy-slots-freed-with-module') {
  try {
    const dir = path.dirname(DIST_INDEX);
    const { moduleInternals } = await import(pathToFileURL(path.join(dir, 'api', 'module.js')).href);
    const registry = new FinalizationRegistry((slots) => slots.fill(0));
    onModule = (m) => {
      const internals = moduleInternals(m);
      const slots = internals?.native?.slots;
      if (typeof internals?.codeSlots !== 'number' || !(slots === null || slots instanceof Uint32Array)) {
        throw new Error('planted bug unavailable: ModuleInternals has no codeSlots / native.slots (update fuzz/lib/worker.mjs)');
      }
      if (slots === null) return;
      registry.register(m, slots);
    };
  } catch (e) {
    plantError = `planted bug unavailable: ${e.message}`;
  }
} else if (engineName === 'qb' && process.env.QUICKBEAM_FUZZ_PLANT) {
  plantError = `unknown planted bug ${process.env.QUICKBEAM_FUZZ_PLANT}`;
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

process.on('message', async (req) => {
  let reply;
  try {
    if (plantError) throw new Error(plantError);
    const bytes = typeof req.wasm === 'string' ? new Uint8Array(Buffer.from(req.wasm, 'base64')) : null;
    let result;
    switch (req.op) {
      case 'ping': result = { engine: engineName, node: process.version }; break;
      case 'validate': result = validate(bytes, req.features); break;
      case 'run': {
        const opts = engineName === 'qb' && (req.features || req.qbOptions) ? { moduleOptions: { ...(req.qbOptions ?? {}), ...(req.features ? { features: req.features } : {}) } } : {};
        if (RETAIN) opts.retain = retained;
        result = await runPlan(E, bytes, req.plan, opts); // (a promise for JSPI plans)
        break;
      }
      case 'scenario': {
        // (async: gc steps wait for a timer turn; one request at a time, so nothing interleaves)
        const moduleOptions = engineName === 'qb' ? { ...(req.qbOptions ?? {}), ...(req.features ? { features: req.features } : {}) } : undefined;
        result = await runScenario(E, bytes, req.scenario, { moduleOptions, onModule });
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
