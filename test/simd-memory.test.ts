// SIMD loads and stores are bounds-checked exactly like scalar accesses, on i32 and i64 memories: every
// v128 memory operator is run at addresses around the end of a one-page memory (and with large offsets),
// and must trap exactly when address + offset + access size > memory size; results that do not trap must
// agree between the i32 and the i64 memory, and with V8 on the i32 memory.
//
// Run: npx tsc -p . ; node dist/test/simd-memory.test.js

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { wat } from './helpers/wat.js';
import { qbInstance, v8Instance, outcome, showOutcome } from './helpers/engines.js';

// [name, access size, body producing an i64 from ($a: address, $v: v128)]
const OPS: Array<[string, number, (off: string) => string]> = [
  ['load', 16, (o) => `(call $h (v128.load ${o} (local.get $a)))`],
  ['load8x8_s', 8, (o) => `(call $h (v128.load8x8_s ${o} (local.get $a)))`],
  ['load16x4_u', 8, (o) => `(call $h (v128.load16x4_u ${o} (local.get $a)))`],
  ['load32x2_s', 8, (o) => `(call $h (v128.load32x2_s ${o} (local.get $a)))`],
  ['load8_splat', 1, (o) => `(call $h (v128.load8_splat ${o} (local.get $a)))`],
  ['load16_splat', 2, (o) => `(call $h (v128.load16_splat ${o} (local.get $a)))`],
  ['load32_splat', 4, (o) => `(call $h (v128.load32_splat ${o} (local.get $a)))`],
  ['load64_splat', 8, (o) => `(call $h (v128.load64_splat ${o} (local.get $a)))`],
  ['load32_zero', 4, (o) => `(call $h (v128.load32_zero ${o} (local.get $a)))`],
  ['load64_zero', 8, (o) => `(call $h (v128.load64_zero ${o} (local.get $a)))`],
  ['load8_lane', 1, (o) => `(call $h (v128.load8_lane ${o} 13 (local.get $a) (local.get $v)))`],
  ['load16_lane', 2, (o) => `(call $h (v128.load16_lane ${o} 5 (local.get $a) (local.get $v)))`],
  ['load32_lane', 4, (o) => `(call $h (v128.load32_lane ${o} 2 (local.get $a) (local.get $v)))`],
  ['load64_lane', 8, (o) => `(call $h (v128.load64_lane ${o} 1 (local.get $a) (local.get $v)))`],
  ['store', 16, (o) => `(v128.store ${o} (local.get $a) (local.get $v)) (call $sum)`],
  ['store8_lane', 1, (o) => `(v128.store8_lane ${o} 15 (local.get $a) (local.get $v)) (call $sum)`],
  ['store16_lane', 2, (o) => `(v128.store16_lane ${o} 3 (local.get $a) (local.get $v)) (call $sum)`],
  ['store32_lane', 4, (o) => `(v128.store32_lane ${o} 1 (local.get $a) (local.get $v)) (call $sum)`],
  ['store64_lane', 8, (o) => `(v128.store64_lane ${o} 0 (local.get $a) (local.get $v)) (call $sum)`],
];
const OFFSETS = [0, 1, 7, 65535];

function module(index64: boolean): string {
  const at = index64 ? 'i64' : 'i32';
  let funcs = '';
  for (const [name, , body] of OPS) {
    for (const off of OFFSETS) {
      funcs += `(func (export "${name}_${off}") (param $a ${at}) (result i64) (local $v v128)
        (local.set $v (v128.const i8x16 0x81 2 3 4 5 6 7 8 9 10 11 12 13 14 15 0xf0))
        ${body(off === 0 ? '' : `offset=${off}`)})\n`;
    }
  }
  return `(module
    (memory ${index64 ? 'i64 ' : ''}1 1)
    (data (${at}.const 0) "\\01\\02\\03\\04\\05\\06\\07\\08\\09\\0a\\0b\\0c\\0d\\0e\\0f\\10")
    (data (${at}.const 65520) "\\f1\\f2\\f3\\f4\\f5\\f6\\f7\\f8\\f9\\fa\\fb\\fc\\fd\\fe\\ff\\80")
    (func $h (param v128) (result i64)
      (i64.add (i64x2.extract_lane 0 (local.get 0)) (i64.mul (i64x2.extract_lane 1 (local.get 0)) (i64.const 1000003))))
    (func $sum (result i64) (local $i ${at}) (local $s i64)
      (loop $l
        (local.set $s (i64.add (i64.mul (local.get $s) (i64.const 31)) (i64.load (local.get $i))))
        (br_if $l (${at}.lt_u (local.tee $i (${at}.add (local.get $i) (${at}.const 8))) (${at}.const 65536))))
      (local.get $s))
    ${funcs})`;
}

function assemble(text: string, memory64: boolean): Uint8Array {
  return wat(text, { simd: true, memory64 }, { validate: false });
}

test('v128 memory operators trap exactly at the end of i32 and i64 memories', async () => {
  const b32 = await assemble(module(false), false);
  const b64 = await assemble(module(true), true);
  let checked = 0;
  for (const [name, size] of OPS) {
    for (const off of OFFSETS) {
      const fn = `${name}_${off}`;
      // fresh instances per export: stores change memory
      const q32 = qbInstance(b32), q64 = qbInstance(b64), v = v8Instance(b32);
      const addrs = [0, 5, 65536 - size - off - 1, 65536 - size - off, 65536 - size - off + 1, 65535, 65536, 2 ** 32 - 1];
      for (const a of addrs) {
        if (a < 0) continue;
        const trap = a + off + size > 65536;
        const r32 = outcome(() => q32[fn](a | 0));
        const rv = outcome(() => v[fn](a | 0));
        const r64 = outcome(() => q64[fn](BigInt(a)));
        assert.is(r32.kind, trap ? 'RuntimeError' : 'value', `${fn}(${a}) on i32 memory: ${showOutcome(r32)}`);
        assert.is(showOutcome(r32), showOutcome(rv), `${fn}(${a}): Quickbeam vs V8`);
        assert.is(r64.kind, r32.kind, `${fn}(${a}) on i64 memory: ${showOutcome(r64)}`);
        if (!trap) assert.is(showOutcome(r64), showOutcome(r32), `${fn}(${a}): i64 vs i32 memory`);
        checked++;
      }
      // i64 addresses beyond 2^32 (and wrapping past 2^64) always trap
      for (const a of [2n ** 32n, 2n ** 63n, 2n ** 64n - 1n]) {
        const r = outcome(() => q64[fn](BigInt.asIntN(64, a)));
        assert.is(r.kind, 'RuntimeError', `${fn}(${a}) on i64 memory`);
        checked++;
      }
    }
  }
  assert.ok(checked > 500);
});

test.run();
