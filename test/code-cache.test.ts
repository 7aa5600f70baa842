// The compiled-code cache: hits, and corrupt or stale entries that are detected and never executed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import qb from '../src/index.js';
import { moduleInternals } from '../src/api/module.js';

// (module
//   (type $t (func (param i32) (result i32)))
//   (table 2 funcref) (elem (i32.const 0) $double $square)
//   (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
//   (func $square (type $t) (i32.mul (local.get 0) (local.get 0)))
//   (func (export "apply") (param i32 i32) (result i32)
//     (call_indirect (type $t) (local.get 1) (local.get 0))))
const MODULE = Uint8Array.from([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 12, 2, 96, 1, 127, 1, 127, 96, 2, 127, 127, 1, 127, 3, 4, 3, 0, 0, 1, 4, 4, 1, 112, 0, 2, 7, 9, 1, 5,
  97, 112, 112, 108, 121, 0, 2, 9, 8, 1, 0, 65, 0, 11, 2, 0, 1, 10, 27, 3, 7, 0, 32, 0, 65, 2, 108, 11, 7, 0, 32, 0, 32, 0, 108, 11, 9,
  0, 32, 1, 32, 0, 17, 0, 0, 11,
]);

type Exports = { apply: (f: number, x: number) => number };

function load(dir: string, options: object = {}): { status: string; apply: Exports['apply'] } {
  const m = new qb.Module(MODULE, { cache: dir, ...options });
  const e = new qb.Instance(m, {}).exports as unknown as Exports;
  return { status: moduleInternals(m).cacheStatus, apply: e.apply };
}

test('a second compile of the same module is a cache hit with identical behaviour', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-cache-'));
  try {
    const a = load(dir);
    assert.is(a.status, 'absent');
    const b = load(dir);
    assert.is(b.status, 'hit');
    for (const [f, x] of [[0, 21], [1, 12], [0, -5]]) assert.is(b.apply(f, x), a.apply(f, x));
    // call_indirect signature ids were relocated: an out-of-range index still traps properly.
    assert.throws(() => b.apply(2, 1), /table index is out of bounds/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a corrupt entry is detected, ignored, and replaced', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-cache-'));
  try {
    load(dir);
    const file = path.join(dir, readdirSync(dir)[0]);
    const bytes = readFileSync(file);
    // Flip a byte in the middle of the machine code: executing it could do anything, so it must not run.
    bytes[bytes.length - 40] ^= 0xff;
    writeFileSync(file, bytes);
    const c = load(dir);
    assert.is(c.status, 'corrupt');
    assert.is(c.apply(1, 9), 81);
    assert.is(load(dir).status, 'hit');
    // A truncated entry too.
    writeFileSync(file, readFileSync(file).subarray(0, 50));
    assert.is(load(dir).status, 'corrupt');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('different compile options use different entries', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-cache-'));
  try {
    load(dir);
    assert.is(load(dir, { fuel: true }).status, 'absent');
    assert.is(load(dir, { boundsChecks: false }).status, 'absent');
    assert.is(load(dir, { fuel: true }).status, 'hit');
    assert.is(readdirSync(dir).length, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
