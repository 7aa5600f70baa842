// Instance lifetime: an instance's vmctx (which holds its FuncRecords) is freed only when nothing can reach
// its code any more. Exported functions, and tables/globals that may hold its funcrefs, keep it alive; and
// instances that nothing references are freed (their memory reservations too). Runs in a child process
// with --expose-gc so that a use-after-free shows up as a failure, not as the test runner dying.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ModuleBuilder, T } from './helpers/wasm-builder.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const fixtures = path.join(root, 'test/fixtures/lifetime');
const index = path.join(root, 'dist/src/index.js');

function runChild(script: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('funcrefs in a shared table and exported functions outlive their Instance objects', () => {
  const r = runChild(`
    import qb from ${JSON.stringify(index)};
    import fs from 'node:fs';
    const M = new qb.Module(fs.readFileSync(${JSON.stringify(path.join(fixtures, 'table-user.wasm'))}));
    const C = new qb.Module(fs.readFileSync(${JSON.stringify(path.join(fixtures, 'table-caller.wasm'))}));
    const table = new qb.Table({ element: 'anyfunc', initial: 4 });
    const keep = [];
    for (let i = 0; i < 2000; i++) {
      const inst = new qb.Instance(M, { env: { t: table } });
      if (i % 500 === 0) keep.push(inst.exports.f);
      inst.exports.put(i % 4);
      if (i % 400 === 0) table.set(3, new qb.Instance(M, { env: { t: table } }).exports.f);
    }
    const gc = async () => { for (let k = 0; k < 4; k++) { global.gc(); await new Promise((r) => setTimeout(r, 5)); } };
    await gc();
    const caller = new qb.Instance(C, { env: { t: table } });
    let sum = 0;
    for (let r = 0; r < 4; r++) sum += caller.exports.call(r, 21);
    for (const f of keep) sum += f(5);
    for (let i = 0; i < 2000; i++) new qb.Instance(M, { env: { t: table } }).exports.f(1);
    await gc();
    for (let r = 0; r < 4; r++) sum += caller.exports.call(r, 21);
    for (const f of keep) sum += f(5);
    console.log(JSON.stringify({ sum, same: table.get(0) === table.get(0) }));
  `);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  assert.is(out.sum, 2 * (4 * 42 + 4 * 10));
  assert.ok(out.same);
});

test('unreferenced instances are freed: 40,000 instances with 4 GiB reservations each', () => {
  const r = runChild(`
    import qb from ${JSON.stringify(index)};
    import fs from 'node:fs';
    const M = new qb.Module(fs.readFileSync(${JSON.stringify(path.join(fixtures, 'churn.wasm'))}));
    let s = 0;
    for (let i = 0; i < 40000; i++) {
      s += new qb.Instance(M, {}).exports.f(i & 7);
      if (i % 5000 === 0) await new Promise((r) => setTimeout(r, 0));
    }
    console.log(String(s));
  `);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), String((40000 / 8) * 28));
});

// Regression (esbuild-wasm crashed lazily compiled): the code-slot table was owned by the Module object, so
// when only the instance was kept (`const { instance } = await instantiate(bytes)`, as Go's wasm_exec does),
// collecting the Module freed the slots that the instance's code still calls through.
test('a lazily compiled instance outlives its dropped Module object', () => {
  const b = new ModuleBuilder();
  const f0 = b.func([T.i32], [T.i32], (c) => c.local_get(0).i32_const(1).op(0x6a).end(), { name: 'inc' });
  const f1 = b.func([T.i32], [T.i32], (c) => c.local_get(0).i32_const(3).op(0x6c).end(), { name: 'triple' });
  const f2 = b.func([], [], (c) => c.unreachable().end(), { name: 'boom' });
  b.func([T.i32], [T.i32], (c) => c.local_get(0).call(f0).call(f1).end(), { export: 'run' });
  b.func([], [], (c) => c.call(f2).end(), { export: 'trap' });
  const bytes = Buffer.from(b.build()).toString('base64');
  const r = runChild(`
    import qb from ${JSON.stringify(index)};
    const bytes = Buffer.from(${JSON.stringify(bytes)}, 'base64');
    const instances = [];
    for (let i = 0; i < 50; i++) instances.push((await qb.instantiate(bytes, {}, { lazy: true })).instance);
    // Only the instances remain reachable: collect the Module objects and run their finalizers, then churn
    // the native heap so that anything freed too early is reused.
    for (let k = 0; k < 6; k++) { global.gc(); await new Promise((r) => setTimeout(r, 5)); }
    for (let i = 0; i < 2000; i++) new qb.Global({ value: 'i64', mutable: true }, BigInt(i));
    let sum = 0;
    for (const inst of instances) sum += inst.exports.run(4);
    let stack = '';
    try { instances[7].exports.trap(); } catch (e) { stack = e.stack; }
    console.log(JSON.stringify({ sum, stack }));
  `);
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  assert.is(out.sum, 50 * 15);
  // The trap's backtrace is still symbolized from the module's source map.
  assert.match(out.stack, /at boom \(wasm-function\[2\]:0x[0-9a-f]+\)/);
});

test.run();
