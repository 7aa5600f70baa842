// Node's own node:wasi with a Quickbeam instance (issue 13): Node checks `instance.exports.memory` against
// the engine's WebAssembly.Memory in native code (Node 22+; Node 20 reads its `buffer`), so a Quickbeam memory
// of up to 4 GiB is V8's own memory object with Quickbeam's prototype. Covered: start() of a command and
// initialize() of a reactor, WASI writing into memory that wasm grew (args_get), fd_write reading from it,
// V8's native brand check, and the same under every Node binary found (Node 24/26 where installed).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import * as qb from '../src/index.js';
import { wat as watBytes } from './helpers/wat.js';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// A command: grows memory by 2 pages, has args_get write argv into the new pages, then writes argv[1]
// (found through the pointer array) and "\n" to stdout with fd_write, and exits with proc_exit(7).
const COMMAND = `(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func $strlen (param $p i32) (result i32) (local $n i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (i32.load8_u (i32.add (local.get $p) (local.get $n)))))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $l)))
    (local.get $n))
  (func (export "_start") (local $base i32) (local $arg i32)
    (local.set $base (i32.mul (memory.grow (i32.const 2)) (i32.const 65536)))
    ;; argv pointers at base+65536, strings at base+65536+256 (both in the grown pages)
    (drop (call $args (i32.add (local.get $base) (i32.const 65536)) (i32.add (local.get $base) (i32.const 65792))))
    (local.set $arg (i32.load (i32.add (local.get $base) (i32.const 65540))))
    ;; iovecs at 0: argv[1], then "\\n" at 100
    (i32.store (i32.const 0) (local.get $arg))
    (i32.store (i32.const 4) (call $strlen (local.get $arg)))
    (i32.store8 (i32.const 100) (i32.const 10))
    (i32.store (i32.const 8) (i32.const 100))
    (i32.store (i32.const 12) (i32.const 1))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 2) (i32.const 16)))
    (call $exit (i32.const 7))))`;

// A reactor: _initialize stores a marker; "hello" writes "reactor <marker>\\n".
const REACTOR = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 200) "reactor ?\\n")
  (func (export "_initialize") (i32.store8 (i32.const 208) (i32.const 0x21)))
  (func (export "hello") (result i32)
    (i32.store (i32.const 0) (i32.const 200))
    (i32.store (i32.const 4) (i32.const 10))
    (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
    (i32.load (i32.const 16))))`;

function wat(text: string): Uint8Array {
  return watBytes(text, {}, { validate: false });
}

/** Run `body(stdoutFd)` with a temp file as WASI's stdout; returns the file's text afterwards. */
function withStdout(body: (fd: number) => void): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-nodewasi-'));
  const file = path.join(dir, 'out');
  const fd = openSync(file, 'w+');
  try {
    body(fd);
  } finally {
    closeSync(fd);
  }
  const text = readFileSync(file, 'utf8');
  rmSync(dir, { recursive: true, force: true });
  return text;
}

const nodeWasi = (): typeof import('node:wasi') => {
  process.removeAllListeners('warning'); // (node:wasi's ExperimentalWarning)
  return require('node:wasi');
};

test('node:wasi start() runs a Quickbeam command instance (args_get into grown memory, fd_write, proc_exit)', async () => {
  const { WASI } = nodeWasi();
  const bytes = await wat(COMMAND);
  let code = -1;
  const out = withStdout((fd) => {
    const wasi = new WASI({ version: 'preview1', args: ['prog', 'grown-memory-ok'], env: {}, stdout: fd, returnOnExit: true });
    const { instance } = { instance: new qb.Instance(new qb.Module(bytes), wasi.getImportObject() as any) };
    assert.ok(instance.exports.memory instanceof qb.Memory);
    code = wasi.start(instance as unknown as WebAssembly.Instance);
    // The memory node:wasi wrote to is the one Quickbeam's code uses: 3 pages, argv in the new ones.
    const mem = instance.exports.memory as unknown as qb.Memory;
    assert.is(mem.buffer.byteLength, 3 * 65536);
    assert.is(new TextDecoder().decode(new Uint8Array(mem.buffer, 2 * 65536 + 256 + 5, 15)), 'grown-memory-ok');
  });
  assert.is(code, 7);
  assert.is(out, 'grown-memory-ok\n');
});

test('node:wasi initialize() runs a Quickbeam reactor instance', async () => {
  const { WASI } = nodeWasi();
  const bytes = await wat(REACTOR);
  const out = withStdout((fd) => {
    const wasi = new WASI({ version: 'preview1', stdout: fd, returnOnExit: true });
    const instance = new qb.Instance(new qb.Module(bytes), wasi.getImportObject() as any);
    wasi.initialize(instance as unknown as WebAssembly.Instance);
    assert.is((instance.exports.hello as () => number)(), 10);
  });
  assert.is(out, 'reactor !\n');
});

test("a Quickbeam memory passes V8's native WebAssembly.Memory brand check, yet grows only through Quickbeam", () => {
  const engine = qb.engineWebAssembly!;
  const bufferGetter = Object.getOwnPropertyDescriptor(engine.Memory.prototype, 'buffer')!.get!;
  for (const mem of [new qb.Memory({ initial: 1, maximum: 3 }), new qb.Instance(new qb.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 5, 1, 1, 109, 2, 0])), {}).exports.m as qb.Memory]) {
    assert.is(bufferGetter.call(mem), mem.buffer); // V8's getter accepts it (throws a TypeError for other objects)
    assert.ok(mem instanceof qb.Memory);
    assert.not.ok(mem instanceof engine.Memory); // V8's methods are not inherited: grow goes through Quickbeam
    assert.is(Object.prototype.toString.call(mem), '[object WebAssembly.Memory]');
    const old = mem.buffer;
    assert.is(mem.grow(1), 1);
    assert.is(old.byteLength, 0); // detached
    assert.is(mem.buffer.byteLength, 2 * 65536);
  }
  assert.throws(() => bufferGetter.call({}), TypeError);
  // A memory V8 cannot hold (memory64 beyond 4 GiB) stays Quickbeam's own object.
  const big = new qb.Memory({ initial: 1, address: 'i64' } as any);
  assert.throws(() => bufferGetter.call(big), TypeError);
  assert.ok(big instanceof qb.Memory);
});

test('node:wasi with a Quickbeam instance under every Node binary available', async () => {
  const bytes = await wat(COMMAND);
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-nodewasi-'));
  try {
    const file = path.join(dir, 'cmd.wasm');
    writeFileSync(file, bytes);
    const script = `
      import { WASI } from 'node:wasi';
      import { readFileSync } from 'node:fs';
      import * as qb from ${JSON.stringify(path.join(root, 'dist', 'quickbeam-entry.mjs'))};
      const wasi = new WASI({ version: 'preview1', args: ['prog', 'node-' + process.versions.node], returnOnExit: true });
      const instance = new qb.Instance(new qb.Module(readFileSync(${JSON.stringify(file)})), wasi.getImportObject());
      process.exitCode = wasi.start(instance);`;
    const nodes = [process.execPath, ...(process.env.QUICKBEAM_TEST_NODES ?? '').split(path.delimiter).filter((p) => p !== '' && existsSync(p))];
    for (const node of nodes) {
      const r = spawnSync(node, ['--no-warnings', '--input-type=module', '-e', script], { encoding: 'utf8' });
      const version = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim();
      assert.is(r.stderr, '', node);
      assert.is(r.stdout, `node-${version}\n`, node);
      assert.is(r.status, 7, node);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
