// Compiles share one assembler and function compiler per thread (batch-compiler.ts): a CompileError in the
// middle of a function must leave nothing behind that the next module's compile would pick up.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { qb } from './helpers/engines.js';
import { wat as watModule } from './helpers/wat.js';


const wat = (source: string): Uint8Array => watModule(source, { simd: true });

/** The module with one byte (nop) appended after the `end` of its only function body: malformed. */
function trailingOperator(bytes: Uint8Array): Uint8Array {
  // The code section is last and small here: section size, count 1, body size are single-byte LEBs.
  let p = 8;
  while (bytes[p] !== 10) p += 2 + bytes[p + 1]!;
  assert.ok(bytes[p + 1]! < 0x7f && bytes[p + 3]! < 0x7f, 'small code section expected');
  const out = Uint8Array.from([...bytes, 0x01]);
  out[p + 1]! += 1; // section size
  out[p + 3]! += 1; // body size (after the count byte)
  return out;
}

test('a function failing after its last operator leaves no pending SIMD literals for the next module (fuzz-malformed)', () => {
  // Found by scripts/fuzz-malformed --node24: the literal pool (i8x16.popcnt's nibble masks, shift masks, ...)
  // is flushed when a function's code is complete; an "operators remaining after the end" error came after
  // the last operator, so its literals stayed pending, and the next function to pool one bound their stale
  // labels in a reset assembler: "x64: label N bound twice" / "unknown label" (an Error, not a CompileError).
  const bad = trailingOperator(wat(`(module (func (param v128) (result v128) (i8x16.popcnt (local.get 0))))`));
  assert.throws(() => new qb.Module(bad), (e: unknown) => e instanceof qb.CompileError && /operators remaining after the end/.test((e as Error).message));
  const good = wat(`(module
    (func (export "f") (param i32) (result i32)
      (i8x16.extract_lane_u 0 (i8x16.shl (i8x16.popcnt (i8x16.splat (local.get 0))) (i32.const 3)))))`);
  for (const options of [{}, { lazy: true }]) {
    assert.throws(() => new qb.Module(bad, options), (e: unknown) => e instanceof qb.CompileError);
    const e = new qb.Instance(new qb.Module(good, options), {}).exports as any;
    assert.is(e.f(0xff), 64);
    assert.is(e.f(0x13), 24);
  }
});

test.run();
