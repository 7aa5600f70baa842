// Implementation limits that protect the fixed-size argument buffer: at most 1000 parameters and results.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import qb from '../src/index.js';

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...leb(body.length), ...body];
}

/** (func (export "sum") (param i32 x n) (result i32) local.get 0 ... i32.add ...) and an import of the same type. */
function module(n: number): Uint8Array {
  const type = [0x60, ...leb(n), ...new Array(n).fill(0x7f), 1, 0x7f];
  const code: number[] = [0];
  for (let i = 0; i < n; i++) {
    code.push(0x20, ...leb(i));
    if (i > 0) code.push(0x6a);
  }
  code.push(0x0b);
  const imports = [1, 3, ...[0x65, 0x6e, 0x76], 1, 0x66, 0x00, 0x00];
  return Uint8Array.from([
    0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, ...type]),
    ...section(2, imports),
    ...section(3, [1, 0]),
    ...section(7, [2, 3, 0x73, 0x75, 0x6d, 0, 1, 3, 0x69, 0x6d, 0x70, 0, 0]),
    ...section(10, [1, ...leb(code.length), ...code]),
  ]);
}

test('1000 parameters work across the JS boundary in both directions', () => {
  const n = 1000;
  const args = Array.from({ length: n }, (_, i) => i * 3 - 700);
  const expected = args.reduce((a, b) => (a + b) | 0, 0);
  let seen: number[] = [];
  const inst = new qb.Instance(new qb.Module(module(n)), {
    env: { f: (...xs: number[]) => { seen = xs; return 42; } },
  });
  const e = inst.exports as { sum: (...a: number[]) => number; imp: (...a: number[]) => number };
  assert.is(e.sum(...args), expected);
  assert.is(e.imp(...args), 42); // re-exported import: JS -> host thunk -> JS with 1000 arguments
  assert.equal(seen, args);
});

test('1001 parameters (or results) are a CompileError, never a buffer overrun', () => {
  assert.throws(() => new qb.Module(module(1001)), (e: Error) => e instanceof qb.CompileError && /1001 parameters/.test(e.message));
  assert.is(qb.validate(module(1001)), false);
});

test.run();
