// Constant expressions of Wasm 3.0 (extended-const and global.get of earlier immutable globals), evaluated at
// instantiation: global initialisers that read imported and earlier defined globals through i32/i64
// add/sub/mul (with wrap-around), and segment offsets computed from them. Expected values as Node 24's V8
// gives them for the same bytes; with typed function references off, reading a defined global is invalid.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { qb, qbInstance, outcome } from './helpers/engines.js';

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}
function sleb(n: bigint): number[] {
  const out: number[] = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && !(b & 0x40)) || (n === -1n && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s)];
const I32 = 0x7f, I64 = 0x7e, END = 0x0b;
const gget = (i: number) => [0x23, i];
const i32c = (v: number) => [0x41, ...sleb(BigInt(v))];
const i64c = (v: bigint) => [0x42, ...sleb(v)];

/**
 * Imports env.base (i32) as global 0. Globals: 1 = base * 2; 2 = g1 + 3 (a defined global);
 * 3 (i64) = (0x7fffffffffffffff + 1) * 3 - 4 (wraps); 4 = g2 * 0x10000 * 0x10000 (wraps to 0 in i32).
 * Memory 1 page: data "xy" at g2. Table 4 funcref: ref.func 0 at g1 - 198. Exports the globals,
 * load8(addr), table.
 */
function moduleBytes(): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(...section(1, vec([[0x60, 1, I32, 1, I32]])));
  out.push(...section(2, vec([[...str('env'), ...str('base'), 0x03, I32, 0]])));
  out.push(...section(3, vec([[0]])));
  out.push(...section(4, vec([[0x70, 0, 4]])));
  out.push(...section(5, vec([[0, 1]])));
  const globals = [
    [I32, 0, ...gget(0), ...i32c(2), 0x6c, END],
    [I32, 0, ...gget(1), ...i32c(3), 0x6a, END],
    [I64, 0, ...i64c(0x7fffffffffffffffn), ...i64c(1n), 0x7c, ...i64c(3n), 0x7e, ...i64c(4n), 0x7d, END],
    [I32, 0, ...gget(2), ...i32c(0x10000), 0x6c, ...i32c(0x10000), 0x6c, END],
  ];
  out.push(...section(6, vec(globals)));
  const exp = (name: string, kind: number, idx: number) => [...str(name), kind, idx];
  out.push(...section(7, vec([exp('g1', 3, 1), exp('g2', 3, 2), exp('g3', 3, 3), exp('g4', 3, 4), exp('load8', 0, 0), exp('tab', 1, 0)])));
  out.push(...section(9, vec([[0x00, ...gget(1), ...i32c(198), 0x6b, END, ...vec([[0]])]])));
  out.push(...section(10, vec([[7, 0, 0x20, 0, 0x2d, 0, 0, END]])));
  out.push(...section(11, vec([[0x00, ...gget(2), END, ...str('xy')]])));
  return Uint8Array.from(out);
}

test('constant expressions read earlier globals, wrap around, and place segments', () => {
  const bytes = moduleBytes();
  for (const lazy of [false, true]) {
    const e = new qb.Instance(new qb.Module(bytes, { lazy }), { env: { base: 100 } }).exports as Record<string, any>;
    assert.is(e.g1.value, 200);
    assert.is(e.g2.value, 203);
    assert.is(e.g3.value, 0x7ffffffffffffffcn); // 2^63 wraps to -2^63; * 3 wraps to -2^63; - 4 wraps
    assert.is(e.g4.value, 0);
    assert.is(e.load8(203), 0x78);
    assert.is(e.load8(204), 0x79);
    assert.is(e.tab.get(2), e.load8);
    assert.is(e.tab.get(1), null);
  }
  // The host's V8 agrees where it runs Wasm 3.0 (Node 24+; Node 20 rejects global.get of a defined global).
  let v8: Record<string, any> | null = null;
  try {
    v8 = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), { env: { base: 100 } }).exports as Record<string, any>;
  } catch {
    /* an older V8 */
  }
  if (v8) {
    const e = qbInstance(bytes, { env: { base: 100 } });
    for (const g of ['g1', 'g2', 'g3', 'g4']) assert.is(e[g].value, v8[g].value, g);
    assert.is(e.load8(203), v8.load8(203));
  }
  // Wasm 2.0: only imported globals (the defined global 1 is unknown there)
  const o = outcome(() => qbInstance(bytes, { env: { base: 100 } }, { typedFunctionReferences: false }));
  assert.is(o.kind, 'CompileError');
  assert.match(String(o.message), 'unknown global 1');
});

test.run();
