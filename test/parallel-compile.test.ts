// Parallel compilation: batches compiled by worker threads are linked into the same machine code as a
// compile on one thread, errors are the ones a sequential compile reports, and a worker that dies mid-compile
// costs time, not correctness. Cases that start workers or may crash run in child processes.
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
const moduleJs = path.join(root, 'dist/src/api/module.js');
const poolJs = path.join(root, 'dist/src/compile/compile-pool.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qb-parallel-'));

function runChild(script: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * n functions, each calling the next two directly (calls across batches) and one through a table (a signature
 * id to relocate); `run(x)` enters function 0. With `invalidAt`, those functions are invalid.
 */
function callGraph(n: number, opts: { invalidAt?: number[]; badDataSection?: boolean } = {}): string {
  const b = new ModuleBuilder();
  const type = b.type([T.i32], [T.i32]);
  const first = b.nextFuncIndex();
  for (let k = 0; k < n; k++) {
    b.func([T.i32], [T.i32], (c) => {
      if (opts.invalidAt?.includes(k)) return c.i32_const(1).op(0x7c).end(); // i64.add on an i32: invalid
      // f_k(x) = x <= 0 ? k : f_{k+1}(x - 1) + f_{k+2}(x - 2) + table[k % 7](x - 3), within bounds
      c.local_get(0).i32_const(0).op(0x4c).if_(T.i32).i32_const(k).else_();
      const next = (d: number): void => { c.local_get(0).i32_const(d).op(0x6b).call(first + ((k + d) % n)); };
      next(1); next(2); c.op(0x6a);
      c.local_get(0).i32_const(3).op(0x6b).i32_const(k % 7).call_indirect(type).op(0x6a);
      c.end().end();
    }, { type });
  }
  b.table(T.funcref, { min: 7, max: 7 });
  b.elem({ mode: 'active', table: 0, offset: new Code().i32_const(0), funcs: [0, 1, 2, 3, 4, 5, 6].map((k) => first + k * 3) });
  b.func([T.i32], [T.i32], (c) => c.local_get(0).call(first).end(), { export: 'run' });
  let bytes = Array.from(b.build());
  // A data section whose segment count runs past the end: a decoding error after the code section.
  if (opts.badDataSection) bytes = bytes.concat([11, 1, 5]);
  const file = path.join(tmp, `graph-${n}-${(opts.invalidAt ?? []).join('_')}-${opts.badDataSection ? 'bad' : ''}.wasm`);
  fs.writeFileSync(file, Uint8Array.from(bytes));
  return file;
}

const compileAll = (file: string, configs: string) => `
  import qb from ${JSON.stringify(index)};
  import { moduleInternals } from ${JSON.stringify(moduleJs)};
  import { lastParallelStats, prewarmCompileWorkers } from ${JSON.stringify(poolJs)};
  import crypto from 'node:crypto';
  import fs from 'node:fs';
  const bytes = fs.readFileSync(${JSON.stringify(file)});
  const out = [];
  // Start the workers first, so that they take part in every compile below.
  await prewarmCompileWorkers(4);
  for (const options of ${configs}) {
    if (options.rewarm) {
      await new Promise((r) => setTimeout(r, 50)); // let dead workers' exits be seen
      await prewarmCompileWorkers(options.threads);
    }
    try {
      const m = new qb.Module(bytes, { lazy: false, ...options });
      const stats = options.threads > 1 ? { ...lastParallelStats() } : null;
      const c = moduleInternals(m).compiled;
      // The code and its source map (backtrace positions), which must not depend on what a thread compiled before.
      const code = Buffer.concat([c.code, Buffer.from(c.pcOffsets.buffer), Buffer.from(c.wasmOffsets.buffer)]);
      const run = new qb.Instance(m, {}).exports.run;
      out.push({ sha: crypto.createHash('sha256').update(code).digest('hex'), results: [run(0), run(5), run(12)], stats });
    } catch (e) {
      out.push({ error: e.name + ': ' + e.message, offset: e.offset });
    }
  }
  console.log(JSON.stringify(out));
`;

test('the same machine code and source map from 1, 2 and 4 threads, whatever the batch size', () => {
  const file = callGraph(3000);
  const r = runChild(compileAll(file, `[
    { threads: 1, batchBytes: 1 }, { threads: 2, batchBytes: 1 }, { threads: 4, batchBytes: 1 },
    { threads: 1, batchBytes: 300 }, { threads: 2, batchBytes: 300 }, { threads: 1 }, { threads: 2 },
  ]`));
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  for (const o of out) assert.is(o.error, undefined, o.error);
  // Same batches, any thread count: identical bytes. Different batch sizes: different layout, same results.
  assert.is(out[1].sha, out[0].sha);
  assert.is(out[2].sha, out[0].sha);
  assert.is(out[4].sha, out[3].sha);
  assert.is(out[6].sha, out[5].sha);
  for (const o of out) assert.equal(o.results, out[0].results);
  // The workers really compiled some of the batches.
  assert.ok(out[1].stats.fromWorkers > 0 && out[2].stats.fromWorkers > 0, JSON.stringify(out.map((o: { stats: unknown }) => o.stats)));
});

test('the code cache key does not depend on the thread count', async () => {
  const { cacheKey } = await import(path.join(root, 'dist/src/compile/code-cache.js'));
  const { resolveFeatures } = await import(path.join(root, 'dist/src/decode/features.js'));
  const bytes = fs.readFileSync(callGraph(50));
  const f = resolveFeatures(undefined);
  assert.is(cacheKey(bytes, f, { threads: 1 }), cacheKey(bytes, f, { threads: 4 }));
});

test('a parallel compile or validation reports the first invalid function, exactly as a sequential one', () => {
  const cases = [callGraph(500, { invalidAt: [470, 490] }), callGraph(500, { invalidAt: [3, 480] }), callGraph(500, { invalidAt: [480], badDataSection: true })];
  for (const file of cases) {
    // Eager, and lazy (whose up-front validation runs in batches on the same threads).
    const r = runChild(compileAll(file, `[{ threads: 1 }, { threads: 1, batchBytes: 1 }, { threads: 2, batchBytes: 1 }, { threads: 4, batchBytes: 64 },
      { lazy: true, threads: 1 }, { lazy: true, threads: 2, batchBytes: 1 }]`));
    assert.is(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.match(out[0].error, /^CompileError: .*at byte offset \d+/);
    for (const o of out) {
      assert.is(o.error, out[0].error);
      assert.is(o.offset, out[0].offset);
    }
  }
  // Without the invalid function, the bad data section is the error.
  const r = runChild(compileAll(callGraph(500, { badDataSection: true }), `[{ threads: 2, batchBytes: 1 }]`));
  assert.is(r.status, 0, r.stderr);
  assert.match(JSON.parse(r.stdout)[0].error, /^CompileError: /);
});

test('a compile worker dying mid-compile: the module is still complete and correct', () => {
  const file = callGraph(3000);
  // Between the compiles, wait for replacements of the dead workers to be ready.
  const script = compileAll(file, `[{ threads: 1, batchBytes: 1 }, { threads: 2, batchBytes: 1, rewarm: true }, { threads: 2, batchBytes: 1, rewarm: true }]`);
  // Each worker exits as it claims its first batch: the caller takes that batch over, and the next compile
  // starts a new worker.
  const r = runChild(script, { QUICKBEAM_TEST_COMPILE_WORKER_EXIT_AT: '1' });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  for (const o of out) {
    assert.is(o.error, undefined, o.error);
    assert.is(o.sha, out[0].sha);
    assert.equal(o.results, out[0].results);
  }
  assert.ok(out[1].stats.takenOver + out[2].stats.takenOver >= 1, JSON.stringify(out.map((o: { stats: unknown }) => o.stats)));
});

test('compile workers do not keep the process alive', () => {
  const t0 = Date.now();
  const r = runChild(compileAll(callGraph(200), `[{ threads: 2, batchBytes: 1 }]`));
  assert.is(r.status, 0, r.stderr);
  assert.ok(Date.now() - t0 < 60_000);
});

test.run();
