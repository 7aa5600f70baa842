// Writes bench/programs/expected.json: the output checksum of every program in bench/programs/build, as
// computed by V8 (Liftoff and TurboFan must agree; a disagreement stops the update). Run it after
// scripts/build-bench.sh.
//
//   node bench/update-expected.mjs
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const buildDir = path.join(here, 'programs', 'build');
const runner = path.join(here, 'run-module.mjs');
const TIERS = {
  liftoff: ['--liftoff-only', '--no-wasm-lazy-compilation'],
  turbofan: ['--no-liftoff', '--no-wasm-lazy-compilation'],
};

const expected = {};
// Only the programs built by scripts/build-bench.sh (programs/NAME.c); the SIMD program has its own script and section.
const files = fs.readdirSync(buildDir)
  .filter((f) => /\.wasm(32|64)\.wasm$/.test(f) && fs.existsSync(path.join(here, 'programs', f.replace(/\.wasm(32|64)\.wasm$/, '.c'))))
  .sort();
for (const f of files) {
  const [, name, bits] = /^(.*)\.(wasm32|wasm64)\.wasm$/.exec(f);
  const seen = {};
  for (const [tier, flags] of Object.entries(TIERS)) {
    const extra = bits === 'wasm64' ? ['--experimental-wasm-memory64'] : [];
    const out = execFileSync(process.execPath, [...flags, ...extra, runner, path.join(buildDir, f)], { encoding: 'utf8' });
    const r = JSON.parse(out.trim().split('\n').pop());
    if (r.checksum_mismatch) throw new Error(`${f} (${tier}): run() returned ${r.checksum_mismatch}, output hashes to ${r.checksum}`);
    seen[tier] = r.checksum;
  }
  if (seen.liftoff !== seen.turbofan) throw new Error(`${f}: Liftoff ${seen.liftoff} != TurboFan ${seen.turbofan}`);
  (expected[name] ??= {})[bits] = seen.liftoff;
  console.log(`${f}: ${seen.liftoff}`);
}
for (const [name, v] of Object.entries(expected)) {
  if (v.wasm32 && v.wasm64 && v.wasm32 !== v.wasm64) console.warn(`note: ${name} prints differently on wasm32 and wasm64`);
}
fs.writeFileSync(path.join(here, 'programs', 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
console.log(`wrote bench/programs/expected.json (${Object.keys(expected).length} programs)`);
