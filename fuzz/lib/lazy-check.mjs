#!/usr/bin/env node
// wasm-reduce's interestingness command for scripts/fuzz-lazy: `node lazy-check.mjs CONFIG.json TEST.wasm`.
// Runs the (fixed) scenario on TEST.wasm in fresh worker processes and prints the verdict's signature when
// it is still CONFIG.sig, else `boring (...)`. CONFIG: { sig, scenario, dist, plant }.

import { readFileSync } from 'node:fs';
import { makeLazyEngines, lazyCase, lazySignature, enginesFor } from './lazy.mjs';

const [cfgFile, testFile] = process.argv.slice(2);
const cfg = JSON.parse(readFileSync(cfgFile, 'utf8'));
let out = 'boring:unreadable';
try {
  const bytes = new Uint8Array(readFileSync(testFile));
  if (!WebAssembly.validate(bytes)) out = 'boring:invalid';
  else {
    const attempts = /^(crash|hang)/.test(cfg.sig) ? 2 : 1;
    for (let a = 0; a < attempts && out !== cfg.sig; a++) {
      const engines = makeLazyEngines({ dist: cfg.dist, plant: cfg.plant, recycle: 1, only: enginesFor(cfg.sig) });
      try {
        out = lazySignature(await lazyCase(engines, bytes, cfg.scenario, { timeoutMs: 20000 }));
      } finally {
        await engines.stop();
      }
    }
  }
} catch (e) {
  out = 'boring:error ' + e.message;
}
console.log(out === cfg.sig ? out : `boring (${out})`);
process.exit(0);
