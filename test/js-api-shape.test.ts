// Shapes of JS API objects that programs can observe, compared with V8 (issue 13): Instance has no own
// properties (exports is an enumerable getter on the prototype) and a frozen, null-prototype exports object;
// errors keep name and message on their prototypes (JSON.stringify(error) is "{}").

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import * as qb from '../src/index.js';

type Engine = typeof WebAssembly;
// (module (func (export "f")))
const BYTES = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 4, 1, 2, 0, 11]);

function shape(W: Engine): unknown {
  const i = new W.Instance(new W.Module(BYTES));
  const d = Object.getOwnPropertyDescriptor(W.Instance.prototype, 'exports')!;
  const errors = [new W.CompileError('a'), new W.LinkError('b'), new W.RuntimeError('c')];
  let compileError: unknown;
  try {
    new W.Module(new Uint8Array([0, 97, 115, 109]));
  } catch (e) {
    compileError = e;
  }
  return {
    instanceOwn: Object.getOwnPropertyNames(i),
    exportsAccessor: [typeof d.get, d.set, d.enumerable, d.configurable],
    exportsObject: [Object.isFrozen(i.exports), Object.getPrototypeOf(i.exports), Object.keys(i.exports)],
    errors: errors.map((e) => [e.name, JSON.stringify(e), Object.keys(e), String(e), Object.getOwnPropertyNames(Object.getPrototypeOf(e)).sort()]),
    compileError: [JSON.stringify(compileError), (compileError as Error).name, Object.keys(compileError as object)],
    classes: [W.CompileError.prototype.message, W.RuntimeError.prototype.name, new W.RuntimeError('x') instanceof Error],
  };
}

test('Instance and error objects have the shape of V8\'s', () => {
  assert.equal(shape(qb as unknown as Engine), shape(WebAssembly));
});

test.run();
