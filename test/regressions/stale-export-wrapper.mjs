// Regression: exported functions of a new Instance could be stale wrappers of a collected Instance whose
// native context (vmctx) was at the same address. Fixed in 7137c6b ("Fix use-after-free of instance
// contexts ... weak record/handler maps"); this test keeps it fixed.
//
// Found by scripts/fuzz-diff as a non-reproducible SIGSEGV in the long-lived Quickbeam worker,
// seed 3 case 209). Run: node --expose-gc test/regressions/stale-export-wrapper.mjs  (exit 0 = pass)
//
// Cause (before the fix): src/api/exported-function.ts kept two process-wide maps keyed by FuncRecord *addresses*: recordOwners
// (set only if absent) and wrappers. FuncRecords live inside the instance's vmctx (calloc'd). When an
// Instance is garbage-collected, instanceRegistry (src/api/instance.ts) frees the vmctx, but neither map is
// cleared, so when calloc hands the same address to a later instance, makeExportedFunction() returns the
// old instance's wrapper: its closure calls the *old* entry stub (code of a possibly freed module) with
// the *old* function type. Here module B's export g(f64, f64) -> f64 becomes A's f(i32) -> i32: g.length is
// 1 and g(3, 4) returns 3 instead of 12. With a freed entry stub it jumps into unmapped code (SIGSEGV).
//
//   A: (module (func (export "f") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1))))
//   B: (module (func (export "g") (param f64 f64) (result f64) (f64.mul (local.get 0) (local.get 1))))

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = process.env.QUICKBEAM_DIST ? path.resolve(process.env.QUICKBEAM_DIST) : path.join(here, '..', '..', 'dist', 'src', 'index.js');
const qb = (await import(pathToFileURL(dist).href)).default;

if (typeof globalThis.gc !== 'function') {
  console.error('run with --expose-gc');
  process.exit(2);
}

const A = new qb.Module(Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 9, 1, 7, 0, 32, 0, 65, 1, 106, 11]));
const B = new qb.Module(Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 124, 124, 1, 124, 3, 2, 1, 0, 7, 5, 1, 1, 103, 0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 162, 11]));

for (let round = 0; round < 50; round++) {
  (() => {
    const i = new qb.Instance(A, {});
    i.exports.f(1);
  })();
  globalThis.gc();
  await new Promise((r) => setTimeout(r, 1)); // let the FinalizationRegistry free A's instance
  const j = new qb.Instance(B, {});
  const g = j.exports.g;
  const r = g(3, 4);
  if (r !== 12 || g.length !== 2) {
    console.error(`round ${round}: B's export g has length ${g.length} and g(3, 4) = ${r} (expected 2 and 12): a stale wrapper of A's f`);
    process.exit(1);
  }
}
console.log('ok: 50 rounds, exports always belong to their own instance');
