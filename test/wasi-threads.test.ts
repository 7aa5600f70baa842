// wasi-threads in `quickbeam run` (issue 15): a program with the shape wasi-libc gives pthreads (imports a shared
// memory and `wasi` `thread-spawn`, exports `wasi_thread_start`) runs its threads as Workers over one memory:
// 4 threads of atomic increments, joined with wait/notify, print an exact total, run after run; proc_exit and a
// trap on a spawned thread end the whole process.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { wat } from './helpers/wat.js';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/quickbeam.js');
const RUNS = Number(process.env.QUICKBEAM_WASI_THREADS_RUNS ?? 5);

/** `threads` threads add `iters` each to a counter; the main thread joins them and prints "total tid-sum". */
function program(threadBody: string): Uint8Array {
  const src = `(module
  (import "wasi" "thread-spawn" (func $spawn (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "env" "memory" (memory 1 1 shared))
  (func (export "wasi_thread_start") (param $tid i32) (param $arg i32) (local $i i32)
    ${threadBody}
    (local.set $i (local.get $arg))
    (loop $l (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))
    (drop (i32.atomic.rmw.add (i32.const 8) (local.get $tid)))
    (drop (i32.atomic.rmw.add (i32.const 4) (i32.const 1)))
    (drop (memory.atomic.notify (i32.const 4) (i32.const -1))))
  (func $itoa (param $v i32) (param $end i32) (result i32)
    (loop $l
      (local.set $end (i32.sub (local.get $end) (i32.const 1)))
      (i32.store8 (local.get $end) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
      (br_if $l (local.tee $v (i32.div_u (local.get $v) (i32.const 10)))))
    (local.get $end))
  (func (export "_start") (local $n i32) (local $d i32) (local $p i32)
    (loop $s
      (if (i32.lt_s (call $spawn (i32.const 10000)) (i32.const 1)) (then (call $exit (i32.const 99))))
      (br_if $s (i32.lt_u (local.tee $n (i32.add (local.get $n) (i32.const 1))) (i32.const 4))))
    (block $b (loop $w
      (local.set $d (i32.atomic.load (i32.const 4)))
      (br_if $b (i32.eq (local.get $d) (i32.const 4)))
      (drop (memory.atomic.wait32 (i32.const 4) (local.get $d) (i64.const -1)))
      (br $w)))
    (i32.store8 (i32.const 199) (i32.const 10))
    (local.set $p (call $itoa (i32.atomic.load (i32.const 8)) (i32.const 199)))
    (local.set $p (i32.sub (local.get $p) (i32.const 1)))
    (i32.store8 (local.get $p) (i32.const 32))
    (local.set $p (call $itoa (i32.atomic.load (i32.const 0)) (local.get $p)))
    (i32.store (i32.const 64) (local.get $p))
    (i32.store (i32.const 68) (i32.sub (i32.const 200) (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 64) (i32.const 1) (i32.const 72)))))`;
  return wat(src, { threads: true }, { validate: false });
}

const dir = mkdtempSync(path.join(tmpdir(), 'qb-wasi-threads-'));
function runFile(name: string, bytes: Uint8Array): { status: number | null; stdout: string; stderr: string } {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  const r = spawnSync(process.execPath, [bin, 'run', '--no-cache', file], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('4 threads of atomic increments joined with wait/notify print the exact total, run after run', () => {
  const bytes = program('');
  for (let k = 0; k < RUNS; k++) {
    const r = runFile('count.wasm', bytes);
    assert.is(r.stderr, '');
    assert.is(r.stdout, '40000 10\n', `run ${k}`);
    assert.is(r.status, 0);
  }
});

test('proc_exit on a spawned thread ends the process with its code; a trap there exits 134', () => {
  const exit = runFile('exit.wasm', program('(if (i32.eq (local.get $tid) (i32.const 3)) (then (call $exit (i32.const 42))))'));
  assert.is(exit.status, 42, exit.stderr);
  const trap = runFile('trap.wasm', program('(if (i32.eq (local.get $tid) (i32.const 2)) (then unreachable))'));
  assert.is(trap.status, 134);
  assert.match(trap.stderr, 'quickbeam: thread 2: RuntimeError: unreachable');
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
