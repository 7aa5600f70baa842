// compileStreaming / instantiateStreaming take a fetch Response, as WebAssembly's do.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import qb from '../src/index.js';

// (module (func (export "answer") (result i32) i32.const 42))
const BYTES = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 7, 10, 1, 6, 97, 110, 115, 119, 101, 114, 0, 0, 10, 6, 1, 4, 0, 65, 42, 11]);

test('instantiateStreaming and compileStreaming accept a Response or a promise of one', async () => {
  const { instance } = await qb.instantiateStreaming(new Response(BYTES));
  assert.is((instance.exports as { answer: () => number }).answer(), 42);
  const m = await qb.compileStreaming(Promise.resolve(new Response(BYTES)));
  assert.ok(m instanceof qb.Module);
});

test('a failed response or a non-response is a TypeError; bad bytes a CompileError', async () => {
  try {
    await qb.compileStreaming(new Response(BYTES, { status: 404 }));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TypeError);
  }
  try {
    await qb.compileStreaming({} as never);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TypeError);
  }
  try {
    await qb.compileStreaming(new Response(new Uint8Array([0, 97, 115, 109, 2, 0, 0, 0])));
    assert.unreachable();
  } catch (e) {
    assert.instance(e, qb.CompileError);
  }
});

test.run();
