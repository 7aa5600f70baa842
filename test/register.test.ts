// quickbeam/register (issue 13): `node --import quickbeam/register app.js` (and NODE_OPTIONS) installs
// Quickbeam as globalThis.WebAssembly in the main thread, in workers (file workers inheriting execArgv, with
// their own execArgv, eval workers) and in child processes (execFile from another directory, fork), with
// module options from environment variables; `instanceof` through the global for every class; quickbeam/wasi.
// Each case runs a real application file in a fresh process, from the package root (as README.md shows).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = pathToFileURL(path.join(root, 'dist', 'quickbeam-entry.mjs')).href;
// (Inside the package, so that the apps can import 'quickbeam/wasi' by the package's self-reference.)
const dir = mkdtempSync(path.join(root, 'dist', 'register-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

// (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
const ADD = [0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1, 0, 7, 7, 1, 3, 97, 100, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 106, 11];
/** Which engine a thread's global is, and a call through it. */
const PROBE = `const probe = (where) => where + ' ' + (String(WebAssembly.Module).includes('[native code]') ? 'v8' : 'quickbeam') + ' ' +
  new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(${JSON.stringify(ADD)}))).exports.add(2, 3);`;

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

const workerFile = file('worker.mjs', `import { isMainThread } from 'node:worker_threads';\n${PROBE}\nconsole.log(probe(isMainThread ? 'forked' : 'file-worker'));`);
const childFile = file('child.cjs', `${PROBE}\nconsole.log(probe('child'));`);

const APP = file('app.mjs', `
import { Worker } from 'node:worker_threads';
import { execFileSync, fork } from 'node:child_process';
${PROBE}
console.log(probe('main'));
const run = (w) => new Promise((r) => w.on('exit', r));
await run(new Worker(${JSON.stringify(`${PROBE} console.log(probe('eval-worker'))`)}, { eval: true }));
await run(new Worker(${JSON.stringify(workerFile)}));
await run(new Worker(${JSON.stringify(workerFile)}, { execArgv: [] }));
await run(new Worker(${JSON.stringify(workerFile)}, { execArgv: ['--no-warnings'] }));
process.stdout.write(execFileSync(process.execPath, [${JSON.stringify(childFile)}], { cwd: '/' }));
await run(fork(${JSON.stringify(workerFile)}, { cwd: '/' }));
`);

const EXPECTED = ['main', 'eval-worker', 'file-worker', 'file-worker', 'file-worker', 'child', 'forked'];

function node(args: string[], env: Record<string, string> = {}): { stdout: string; stderr: string; status: number | null } {
  const clean = { ...process.env };
  delete clean.NODE_OPTIONS;
  for (const k of Object.keys(clean)) if (k.startsWith('QUICKBEAM_') || k === 'FORCE_COLOR') delete clean[k];
  return spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', env: { ...clean, ...env } });
}

test('--import quickbeam/register: main thread, workers of every kind, child processes', () => {
  const r = node(['--import', 'quickbeam/register', APP]);
  assert.is(r.stderr, '');
  assert.equal(r.stdout.trim().split('\n'), EXPECTED.map((w) => `${w} quickbeam 5`));
});

test('NODE_OPTIONS="--import quickbeam/register" does the same', () => {
  const r = node([APP], { NODE_OPTIONS: '--import quickbeam/register' });
  assert.is(r.stderr, '');
  assert.equal(r.stdout.trim().split('\n'), EXPECTED.map((w) => `${w} quickbeam 5`));
});

test('QUICKBEAM_REGISTER=0 leaves V8 everywhere', () => {
  const r = node([APP], { NODE_OPTIONS: '--import quickbeam/register', QUICKBEAM_REGISTER: '0' });
  assert.is(r.stderr, '');
  assert.equal(r.stdout.trim().split('\n'), EXPECTED.map((w) => `${w} v8 5`));
});

test('instanceof through the global for every class, the namespace shape, quickbeam/wasi', () => {
  const app = file('classes.mjs', `
    import * as qb from ${JSON.stringify(entry)};
    import { WASI } from 'quickbeam/wasi';
    const W = WebAssembly;
    const out = {};
    const bytes = new Uint8Array(${JSON.stringify(ADD)});
    // exports: memory m, table t, global g, function f (traps: unreachable)
    const mod = new W.Module(new Uint8Array([0,97,115,109,1,0,0,0,1,4,1,96,0,0,3,2,1,0,4,4,1,112,0,1,5,3,1,0,1,6,6,1,127,1,65,7,11,7,17,4,1,109,2,0,1,116,1,0,1,103,3,0,1,102,0,0,10,5,1,3,0,0,11]));
    const inst = new W.Instance(mod, {});
    const e = inst.exports;
    const errorOf = (f) => { try { f(); } catch (err) { return err; } };
    out.classes = [
      mod instanceof W.Module, inst instanceof W.Instance, e.m instanceof W.Memory, e.t instanceof W.Table,
      e.g instanceof W.Global, new W.Memory({ initial: 1 }) instanceof W.Memory, new W.Table({ initial: 1, element: 'anyfunc' }) instanceof W.Table,
      new W.Global({ value: 'i64' }, 1n) instanceof W.Global, typeof e.f === 'function',
      errorOf(() => new W.Module(new Uint8Array([1, 2, 3]))) instanceof W.CompileError,
      errorOf(() => new W.Instance(new W.Module(new Uint8Array([0,97,115,109,1,0,0,0,2,7,1,1,109,1,102,0,0,1,4,1,96,0,0].slice(0, 8))), {})) === undefined,
      errorOf(() => new W.Instance(new W.Module(new Uint8Array([0,97,115,109,1,0,0,0,1,4,1,96,0,0,2,7,1,1,109,1,102,0,0])), { m: { f: 1 } })) instanceof W.LinkError,
      errorOf(() => e.f()) instanceof W.RuntimeError, errorOf(() => e.f()) instanceof Error,
      (await W.instantiate(bytes)).instance instanceof W.Instance, (await W.compile(bytes)) instanceof W.Module,
      new W.Tag({ parameters: ['i32'] }) instanceof W.Tag, new W.Exception(new W.Tag({ parameters: ['i32'] }), [1]) instanceof W.Exception,
      W.JSTag instanceof W.Tag,
    ];
    out.same = [W.Module === qb.Module, W.Memory === qb.Memory, W.RuntimeError === qb.RuntimeError, WASI === qb.WASI, typeof qb.default.WASI];
    out.shape = [Object.prototype.toString.call(W), Object.keys(W).sort().join(), W.validate(bytes), W.validate(new Uint8Array(4))];
    console.log(JSON.stringify(out));
  `);
  const r = node(['--import', 'quickbeam/register', app]);
  assert.is(r.stderr, '');
  const out = JSON.parse(r.stdout);
  assert.ok(out.classes.every((x: boolean) => x === true), JSON.stringify(out.classes));
  assert.equal(out.same, [true, true, true, true, 'function']);
  // (the operations are enumerable, as V8's: Node 24's list)
  assert.equal(out.shape, ['[object WebAssembly]', 'compile,compileStreaming,instantiate,instantiateStreaming,promising,validate', true, false]);
});

test('a Module posted to a Worker (as Emscripten\'s pthread glue does) arrives as a Module, machine code and all', () => {
  // (module (func (export "add") ...) (@custom "dylink.0" "x")): the worker reads the custom section back (as
  // Emscripten's dynamic linking does), instantiates the module and calls it; the main thread's module is
  // Quickbeam's, so without quickbeam/register's message handling it would arrive as an empty object.
  const withSection = [...ADD, 0, 10, 8, 100, 121, 108, 105, 110, 107, 46, 48, 120];
  const worker = file('module-worker.mjs', `
    import { parentPort } from 'node:worker_threads';
    // (a listener removed again must not run: off() finds the listener register wrapped)
    const removed = () => parentPort.postMessage('removed listener ran');
    parentPort.on('message', removed);
    parentPort.off('message', removed);
    parentPort.on('message', ({ cmd, wasmModule, list }) => {
      const m = list[0];
      const section = new Uint8Array(WebAssembly.Module.customSections(wasmModule, 'dylink.0')[0]);
      const sum = new WebAssembly.Instance(wasmModule).exports.add(40, 2) + new WebAssembly.Instance(m).exports.add(1, 1);
      parentPort.postMessage([cmd, wasmModule instanceof WebAssembly.Module, String.fromCharCode(...section), sum].join(' '));
    });`);
  const app = file('module-app.mjs', `
    import { Worker } from 'node:worker_threads';
    const m = new WebAssembly.Module(new Uint8Array(${JSON.stringify(withSection)}));
    const w = new Worker(${JSON.stringify(worker)});
    w.on('message', (text) => { console.log(text); w.terminate(); });
    w.postMessage({ cmd: 'load', wasmModule: m, list: [m] });`);
  const r = node(['--import', 'quickbeam/register', app]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'load true x 44');
});

test('module options from the environment: cache, features, bad values', () => {
  // (module (func (export "f") (result v128) v128.const i64x2 0 0))
  const simd = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11];
  const app = file('options.mjs', `
    const ok = (b) => { try { new WebAssembly.Module(new Uint8Array(b)); return 'compiled'; } catch (e) { return e.constructor.name; } };
    console.log(ok(${JSON.stringify(simd)}), new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(${JSON.stringify(ADD)}))).exports.add(1, 1));`);
  const cache = path.join(dir, 'cache');
  const plain = node(['--import', 'quickbeam/register', app]);
  assert.is(JSON.stringify([plain.stdout, plain.stderr]), JSON.stringify(['compiled 2\n', '']));
  const r = node(['--import', 'quickbeam/register', app], { QUICKBEAM_CACHE_DIR: cache, QUICKBEAM_FEATURES: '-simd' });
  assert.is(r.stderr, '');
  assert.is(r.stdout, 'CompileError 2\n');
  assert.is(readdirSync(cache).filter((f) => f.endsWith('.qbc')).length, 1); // the add module, compiled once and stored
  const bad = node(['--import', 'quickbeam/register', app], { QUICKBEAM_FEATURES: 'simd,teleport' });
  assert.is(bad.status, 9);
  assert.match(bad.stderr, /^quickbeam\/register: QUICKBEAM_FEATURES: unknown feature "teleport"/);
  const badLazy = node(['--import', 'quickbeam/register', app], { QUICKBEAM_LAZY: 'yes' });
  assert.is(badLazy.status, 9);
  assert.match(badLazy.stderr, /QUICKBEAM_LAZY="yes": expected 1 or 0/);
});

test('the default cache: modules of 1 MiB or more in the user cache directory, mapped on the next start; QUICKBEAM_CACHE=0 turns it off', () => {
  // ADD with a custom section of 1 MiB (the module's size is what counts) and ADD alone
  const pad = 1024 * 1024;
  const name = [1, 0x70]; // (name length 1, "p")
  const sizeLeb = [];
  for (let v = pad + name.length; ; ) {
    const b = v & 0x7f;
    v >>>= 7;
    if (v === 0) { sizeLeb.push(b); break; }
    sizeLeb.push(b | 0x80);
  }
  const big = `new Uint8Array([...${JSON.stringify(ADD)}, 0, ...${JSON.stringify(sizeLeb)}, ...${JSON.stringify(name)}, ...new Uint8Array(${pad})])`;
  const app = file('default-cache.mjs', `
    const add = (b) => new WebAssembly.Instance(new WebAssembly.Module(b)).exports.add(2, 3);
    console.log(add(${big}), add(new Uint8Array(${JSON.stringify(ADD)})));`);
  const home = mkdtempSync(path.join(dir, 'home-'));
  const cache = path.join(home, 'quickbeam');
  const entries = (): string[] => { try { return readdirSync(cache).filter((f) => f.endsWith('.qbc')); } catch { return []; } };
  const env = { XDG_CACHE_HOME: home, QUICKBEAM_TRACE_STARTUP: '1' };
  const first = node(['--import', 'quickbeam/register', app], env);
  assert.is(first.status, 0, first.stderr);
  assert.is(first.stdout, '5 5\n');
  assert.is(entries().length, 1, 'the big module is stored, the small one is not');
  const second = node(['--import', 'quickbeam/register', app], env);
  assert.is(second.stdout, '5 5\n');
  assert.match(second.stderr, /cache: code checksummed/, 'the second start maps the big module from the cache');
  rmSync(cache, { recursive: true, force: true });
  const off = node(['--import', 'quickbeam/register', app], { ...env, QUICKBEAM_CACHE: '0' });
  assert.is(off.stdout, '5 5\n');
  assert.is(entries().length, 0, 'QUICKBEAM_CACHE=0 stores nothing');
  const bad = node(['--import', 'quickbeam/register', app], { ...env, QUICKBEAM_CACHE: 'maybe' });
  assert.is(bad.status, 9);
  assert.match(bad.stderr, /QUICKBEAM_CACHE="maybe": expected 1 or 0/);
});

test("README.md's register example commands work as written", () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const commands = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1].split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.includes('--import quickbeam/register') && /\.(m?js|wasm)\b/.test(l) && !l.includes('app.js'));
  assert.ok(commands.length >= 1, 'no example command found in README.md');
  for (const command of commands) {
    const cache = mkdtempSync(path.join(dir, 'cache-'));
    const text = command.replaceAll('/tmp/qb-cache', cache);
    for (let run = 0; run < 2; run++) {
      const r = spawnSync('sh', ['-c', text], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '' } });
      assert.is(r.status, 0, `${command}: ${r.stderr}`);
      assert.match(r.stdout, /Hello from Quickbeam!/, command);
    }
    if (command.includes('/tmp/qb-cache')) assert.is(readdirSync(cache).filter((f) => f.endsWith('.qbc')).length, 1, command);
  }
});

test.run();
