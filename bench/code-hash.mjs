// SHA-256 of the machine code Quickbeam generates for modules (eager, one thread), to check that a change to the
// compiler leaves the generated code byte-identical.
//
//   node bench/code-hash.mjs [FILE.wasm]...   (default: ../shared/workloads' sqlite.wasm32 and bench/programs' json.wasm32)

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileModule } from '../dist/src/compile/module-compiler.js';
import { DEFAULT_FEATURES } from '../dist/src/decode/features.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const files = process.argv.slice(2);
if (files.length === 0) {
  files.push(path.join(root, '../shared/workloads/sqlite/sqlite.wasm32.wasm'));
  files.push(path.join(root, 'bench/programs/build/json.wasm32.wasm'));
}
for (const file of files) {
  const m = compileModule(new Uint8Array(fs.readFileSync(file)), DEFAULT_FEATURES, { lazy: false, threads: 1 });
  const digest = crypto.createHash('sha256').update(m.code).digest('hex').slice(0, 16);
  console.log(`${path.basename(file)}: ${m.code.length} bytes, sha256 ${digest}`);
}
