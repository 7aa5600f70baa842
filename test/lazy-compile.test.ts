// Lazy compilation at scale: functions compiled one by one on first call land in the module's code arena
// (no mapping or protection change per function), stay correct when first reached through a table, and
// their memory is bounded while the module lives and released once it is collected. Each case runs in a
// child process with --expose-gc, so a crash fails one test and GC can be forced.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import { Code, ModuleBuilder, T } from './helpers/wasm-builder.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const index = path.join(root, 'dist/src/index.js');
const codeMemory = path.join(root, 'dist/src/runtime/code-memory.js');

function runChild(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 300_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * N functions f_k(x) = x * 3 + k, all in table 0; `call(i, x)` calls entry i through call_indirect. Written
 * to a temp file (too big for a command-line argument); returns its path.
 */
function manyFunctions(n: number): string {
  const b = new ModuleBuilder();
  const type = b.type([T.i32], [T.i32]);
  const funcs: number[] = [];
  for (let k = 0; k < n; k++) {
    funcs.push(b.func([T.i32], [T.i32], (c) => c.local_get(0).i32_const(3).op(0x6c).i32_const(k).op(0x6a).end(), { type }));
  }
  b.table(T.funcref, { min: n, max: n });
  b.elem({ mode: 'active', table: 0, offset: new Code().i32_const(0), funcs });
  b.func([T.i32, T.i32], [T.i32], (c) => c.local_get(1).local_get(0).call_indirect(type).end(), { export: 'call' });
  // A chain of direct calls through not-yet-compiled functions: chain(x) = f_0(f_1(f_2(x))).
  b.func([T.i32], [T.i32], (c) => c.local_get(0).call(funcs[2]).call(funcs[1]).call(funcs[0]).end(), { export: 'chain' });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qb-lazy-')), 'many.wasm');
  fs.writeFileSync(file, b.build());
  return file;
}

test('10,000 lazily compiled functions: correct through call_indirect, code memory and RSS bounded, all released with the module', () => {
  const n = 10_000;
  const r = runChild(`
    import qb from ${JSON.stringify(index)};
    import { codeMemoryMapped } from ${JSON.stringify(codeMemory)};
    import fs from 'node:fs';
    const bytes = fs.readFileSync(${JSON.stringify(manyFunctions(n))});
    const settle = async () => { for (let k = 0; k < 6; k++) { global.gc(); await new Promise((r) => setTimeout(r, 5)); } };
    await settle();
    const rss0 = process.memoryUsage().rss;
    const code0 = codeMemoryMapped();
    const codeArenaBytes = () => codeMemoryMapped() - code0;
    let bad = 0, peakArena = 0, peakRss = 0;
    for (let round = 0; round < 5; round++) {
      let inst = new qb.Instance(new qb.Module(bytes, { lazy: true }), {});
      if (inst.exports.chain(1) !== ((1 * 3 + 2) * 3 + 1) * 3 + 0) bad++;
      for (let i = 0; i < ${n}; i++) if (inst.exports.call(i, i & 255) !== (i & 255) * 3 + i) bad++;
      // Second calls run the installed code (no recompilation).
      for (let i = 0; i < ${n}; i += 97) if (inst.exports.call(i, 7) !== 21 + i) bad++;
      peakArena = Math.max(peakArena, codeArenaBytes());
      inst = null;
      await settle();
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }
    console.log(JSON.stringify({ bad, peakArena, arenaAfter: codeArenaBytes(), rssGrowth: peakRss - rss0 }));
  `);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  if (process.env.QB_VERBOSE) console.log(out);
  assert.is(out.bad, 0);
  // Each function is ~100 bytes of code plus its trap stubs, 64-byte aligned: a few MiB for 10,000 of them
  // (one module at a time: each round's arena is freed before the next).
  assert.ok(out.peakArena > 0 && out.peakArena <= 8 * 1024 * 1024, `arena bytes ${out.peakArena}`);
  // (All but the chunk code memory is filling, which the next module's code goes into.)
  assert.ok(out.arenaAfter <= 64 * 1024, `code memory released with the module: ${out.arenaAfter} bytes left`);
  assert.ok(out.rssGrowth < 96 * 1024 * 1024, `RSS grew by ${out.rssGrowth} bytes over 5 rounds`);
});

test.run();
