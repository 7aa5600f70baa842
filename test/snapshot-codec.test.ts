// The module-info snapshot codec (src/compile/snapshot-codec.ts): what the code cache and module transfer to
// workers restore must be the value that was encoded, exactly (NaN payloads, -0, shared references), and a
// damaged snapshot must be an error, never a wrong value.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeSnapshot, encodeSnapshot } from '../src/compile/snapshot-codec.js';

const none = (): void => {};

test('round trip of every kind of value', () => {
  const shared = { k: 'shared' };
  const value = {
    u: undefined, n: null, t: true, f: false,
    ints: [0, 1, -1, 63, 64, -64, -65, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53, -(2 ** 53)],
    floats: [0.5, -0, Infinity, -Infinity, NaN, 1e-310],
    big: [0n, -1n, 2n ** 64n - 1n, -(2n ** 63n)],
    strings: ['', 'ascii', 'latin1 \u00e9\u00ff', 'two-byte \u4e2d\u6587 \ud83d\ude00'],
    typed: [new Int32Array([1, -2, 3]), new Float64Array([1.5, -2.25]), new Uint8Array(0), new BigInt64Array([-5n])],
    map: new Map<unknown, unknown>([[1, 'a'], ['b', { c: 2 }]]),
    set: new Set([3, 'x']),
    a: shared, b: shared,
  };
  const back = decodeSnapshot(encodeSnapshot(value, new Uint8Array(0), none), new Uint8Array(0)) as typeof value;
  assert.equal(back, value);
  assert.ok(Object.is(back.floats[1], -0));
  assert.ok(back.a === back.b, 'shared references stay shared');
  assert.instance(back.typed[0], Int32Array);
  assert.instance(back.map, Map);
});

test('quiet NaN payloads survive (f64 bits, as JS numbers carry them)', () => {
  const f = new Float64Array(1);
  new BigUint64Array(f.buffer)[0] = 0x7ff8000000000123n;
  const back = decodeSnapshot(encodeSnapshot([f[0]], new Uint8Array(0), none), new Uint8Array(0)) as number[];
  const g = new Float64Array([back[0]]);
  assert.is(new BigUint64Array(g.buffer)[0], 0x7ff8000000000123n);
});

test('cycles are preserved', () => {
  const o: { self?: unknown; list: unknown[] } = { list: [] };
  o.self = o;
  o.list.push(o);
  const back = decodeSnapshot(encodeSnapshot(o, new Uint8Array(0), none), new Uint8Array(0)) as typeof o;
  assert.ok(back.self === back && back.list[0] === back);
});

test('views of the module bytes come back as views of the new bytes, and are reported to cover', () => {
  const mod = new Uint8Array([9, 8, 7, 6, 5, 4]);
  const covered: Array<[number, number]> = [];
  const snap = encodeSnapshot({ whole: mod, part: mod.subarray(2, 5) }, mod, (at, len) => covered.push([at, len]));
  assert.equal(covered, [[2, 3]]);
  const other = new Uint8Array([0, 0, 70, 60, 50, 0]);
  const back = decodeSnapshot(snap, other) as { whole: Uint8Array; part: Uint8Array };
  assert.ok(back.whole.buffer === other.buffer && back.part.buffer === other.buffer);
  assert.equal(Array.from(back.part), [70, 60, 50]);
  assert.throws(() => decodeSnapshot(snap, new Uint8Array(3)), /does not match the module/);
});

test('damaged snapshots are errors', () => {
  const snap = encodeSnapshot({ a: [1, 2, 3], s: 'text', t: new Int32Array(4) }, new Uint8Array(0), none);
  for (let cut = 0; cut < snap.length; cut++) {
    assert.throws(() => decodeSnapshot(snap.subarray(0, cut), new Uint8Array(0)), /damaged/, `cut at ${cut}`);
  }
  assert.throws(() => decodeSnapshot(Uint8Array.of(...snap, 0), new Uint8Array(0)), /damaged/);
  assert.throws(() => decodeSnapshot(Uint8Array.of(200), new Uint8Array(0)), /damaged/);
});

test('functions and symbols are refused', () => {
  assert.throws(() => encodeSnapshot({ f: () => 1 }, new Uint8Array(0), none), /cannot encode/);
  assert.throws(() => encodeSnapshot([Symbol('s')], new Uint8Array(0), none), /cannot encode/);
});

test.run();
