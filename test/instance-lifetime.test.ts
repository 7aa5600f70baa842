// Instance lifetime: an instance's vmctx (which holds its FuncRecords) is freed only when nothing can reach
// its code any more. Exported functions, and tables/globals that may hold its funcrefs, keep it alive; and
// instances that nothing references are freed (their memory reservations too). Runs in a child process
// with --expose-gc so that a use-after-free shows up as a failure, not as the test runner dying.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

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

test.run();
