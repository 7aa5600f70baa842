// A trap in wasm called from a JS import lists the outer wasm frames too, in order, as V8 does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import qb from '../src/index.js';

// (module (import "env" "callback" (func $cb))
//   (func $inner (export "inner") unreachable)
//   (func $middle (export "middle") call $cb)
//   (func $outer (export "outer") call $middle))   ;; wat2wasm --debug-names
const BYTES = Uint8Array.from([0,97,115,109,1,0,0,0,1,4,1,96,0,0,2,16,1,3,101,110,118,8,99,97,108,108,98,97,99,107,0,0,3,4,3,0,0,0,7,26,3,5,105,110,110,101,114,0,1,6,109,105,100,100,108,101,0,2,5,111,117,116,101,114,0,3,10,15,3,3,0,0,11,4,0,16,0,11,4,0,16,2,11,0,45,4,110,97,109,101,1,27,4,0,2,99,98,1,5,105,110,110,101,114,2,6,109,105,100,100,108,101,3,5,111,117,116,101,114,2,9,4,0,0,1,0,2,0,3,0]);

test('outer wasm frames follow the host call in the stack of a nested trap', () => {
  let inst: InstanceType<typeof qb.Instance> | null = null;
  const callback = (): void => {
    (inst!.exports as { inner: () => void }).inner();
  };
  inst = new qb.Instance(new qb.Module(BYTES), { env: { callback } });
  try {
    (inst.exports as { outer: () => void }).outer();
    assert.unreachable('no trap');
  } catch (e) {
    assert.instance(e, qb.RuntimeError);
    const stack = String((e as Error).stack);
    const order = ['at inner (wasm-function[1]', 'at callback', 'at middle (wasm-function[2]', 'at outer (wasm-function[3]'];
    let last = -1;
    for (const s of order) {
      const i = stack.indexOf(s);
      assert.ok(i > last, `${s} after the previous frame in:\n${stack}`);
      last = i;
    }
  }
});

test('a JS exception thrown through wasm frames is rethrown as itself, stack untouched', () => {
  const err = new Error('from the host');
  const before = err.stack;
  const inst = new qb.Instance(new qb.Module(BYTES), { env: { callback: () => { throw err; } } });
  try {
    (inst.exports as { outer: () => void }).outer();
    assert.unreachable('no exception');
  } catch (e) {
    assert.is(e, err);
    assert.is((e as Error).stack, before);
  }
});

test.run();
