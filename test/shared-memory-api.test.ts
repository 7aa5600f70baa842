// new WebAssembly.Memory({ shared: true }) through the JS API (issue 13): V8's own shared memory, so the buffer
// is a SharedArrayBuffer usable with Atomics (pyodide's glue makes a 1-page one for Atomics.wait), growing
// does not detach it, and a module importing a non-shared memory refuses it. Compared with V8.

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import * as qb from '../src/index.js';

type Engine = typeof WebAssembly;
const ENGINES: Array<[string, Engine]> = [['quickbeam', qb as unknown as Engine], ['V8', WebAssembly]];

function outcome(f: () => unknown): string {
  try {
    return `value ${JSON.stringify(f())}`;
  } catch (e) {
    return `${(e as Error).constructor.name}`;
  }
}

test('a shared memory behaves as in V8', () => {
  const seen = ENGINES.map(([, W]) => {
    const m = new W.Memory({ initial: 1, maximum: 3, shared: true });
    const b = m.buffer;
    const before = [b instanceof SharedArrayBuffer, b.byteLength];
    const grew = m.grow(1);
    const after = [b.byteLength, m.buffer.byteLength, m.buffer instanceof SharedArrayBuffer];
    const i32 = new Int32Array(m.buffer);
    Atomics.store(i32, 1, 7);
    const atomics = [Atomics.wait(i32, 0, 0, 1), Atomics.add(new Int32Array(b), 1, 1), Atomics.load(i32, 1), m.buffer.byteLength];
    return JSON.stringify([before, grew, after, atomics,
      outcome(() => m.grow(2)),
      outcome(() => new W.Memory({ initial: 1, shared: true } as WebAssembly.MemoryDescriptor)),
      outcome(() => new W.Instance(new W.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 2, 8, 1, 1, 109, 1, 109, 2, 0, 1])), { m: { m } }))]);
  });
  assert.is(seen[0], seen[1]);
  assert.is(seen[0], '[[true,65536],1,[65536,131072,true],["timed-out",7,8,131072],"RangeError","TypeError","LinkError"]');
});

test('a shared memory is V8\'s own memory object and type() says shared', () => {
  const m = new qb.Memory({ initial: 2, maximum: 2, shared: true });
  const getter = Object.getOwnPropertyDescriptor(qb.engineWebAssembly!.Memory.prototype, 'buffer')!.get!;
  assert.is(getter.call(m), m.buffer);
  assert.equal((m as unknown as { type(): unknown }).type(), { minimum: 2, shared: true, index: 'i32', maximum: 2 });
});

test.run();
