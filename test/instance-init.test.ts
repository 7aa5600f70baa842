// Instantiation of big modules: function records and the function table of 60,000 functions, element
// segments of `ref.func` and other expressions, and active data segments: many small ones (Go modules have ~100,000), short and long ones
// (instantiation copies the short ones with a loop, the long ones with one copy), overlapping ones (later wins),
// empty ones, and a segment out of bounds after others were written (those stay written, as the
// spec says). Memory contents must equal V8's.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ModuleBuilder, Code, T, uleb as ulebInto, sleb as slebInto } from './helpers/wasm-builder.js';
import { prng, qb } from './helpers/engines.js';

/** Deterministic uint32s (the shared PRNG scaled). */
function rng(seed: number): () => number {
  const next = prng(seed);
  return () => Math.floor(next() * 4294967296);
}

const PAGES = 2;

/** An imported memory ("m" "a"), `count` segments with lengths 0-200 at random offsets. (One memory: Node 20's
 * V8, the oracle, has no multi-memory without a flag.) */
function segmentsModule(seed: number, count: number, outOfBoundsAt = -1): Uint8Array {
  const next = rng(seed);
  const b = new ModuleBuilder();
  b.importMemory('m', 'a', { min: PAGES });
  for (let i = 0; i < count; i++) {
    const len = next() % 4 === 0 ? 65 + (next() % 136) : next() % 65; // both sides of the 64-byte line
    const bytes = Array.from({ length: len }, () => next() & 0xff);
    const offset = i === outOfBoundsAt ? PAGES * 65536 - len + 1 : next() % (PAGES * 65536 - len + 1);
    b.data({ mode: 'active', offset: new Code().i32_const(offset | 0), bytes });
  }
  return b.build();
}

function contents(memories: Array<{ buffer: ArrayBuffer }>): Uint8Array[] {
  return memories.map((m) => new Uint8Array(m.buffer).slice());
}

function run(engine: typeof WebAssembly, bytes: Uint8Array): { error: string | null; mem: Uint8Array[] } {
  const a = new engine.Memory({ initial: PAGES });
  let error: string | null = null;
  try {
    new engine.Instance(new engine.Module(bytes as BufferSource), { m: { a } });
  } catch (e) {
    error = (e as Error).constructor.name;
  }
  return { error, mem: contents([a]) };
}

function sameAsV8(bytes: Uint8Array, what: string): void {
  const v8 = run(WebAssembly, bytes);
  const ours = run(qb as unknown as typeof WebAssembly, bytes);
  assert.is(ours.error, v8.error, `${what}: error`);
  for (let m = 0; m < v8.mem.length; m++) {
    const x = ours.mem[m], y = v8.mem[m];
    let first = -1;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) { first = i; break; }
    assert.is(first, -1, `${what}: memory ${m} differs from V8's first at byte ${first}`);
  }
}

test('5,000 segments of 0-200 bytes, overlapping: memories equal V8\'s', () => {
  for (const seed of [1, 2, 3]) sameAsV8(segmentsModule(seed, 5000), `seed ${seed}`);
});

test('a segment one byte out of bounds traps after the earlier ones were written (as V8)', () => {
  const bytes = segmentsModule(7, 3000, 2000);
  sameAsV8(bytes, 'out of bounds at 2000');
  const ours = run(qb as unknown as typeof WebAssembly, bytes);
  assert.is(ours.error, 'RuntimeError');
  assert.ok(ours.mem[0].some((x) => x !== 0), 'the earlier segments were written');
});

test('segments from a passive and active mix, with memory.init of the passive ones afterwards, as V8', () => {
  // (the active ones are dropped after instantiation: memory.init of one traps unless its length is 0)
  const b = new ModuleBuilder();
  b.memory({ min: 1 }, 'mem');
  const passive = b.data({ mode: 'passive', bytes: [1, 2, 3, 4, 5, 6, 7, 8] });
  const active = b.data({ mode: 'active', offset: new Code().i32_const(100), bytes: Array.from({ length: 70 }, (_, i) => i + 1) });
  b.func([], [], (c) => c.i32_const(10).i32_const(0).i32_const(8).memory_init(passive).i32_const(200).i32_const(0).i32_const(0).memory_init(active).end(), { export: 'init' });
  b.func([], [], (c) => c.i32_const(0).i32_const(0).i32_const(1).memory_init(active).end(), { export: 'initDropped' });
  const bytes = b.build();
  for (const engine of [WebAssembly, qb as unknown as typeof WebAssembly]) {
    const e = new engine.Instance(new engine.Module(bytes as BufferSource), {}).exports as any;
    e.init();
    const m = new Uint8Array(e.mem.buffer);
    assert.equal([...m.subarray(10, 18)], [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal([...m.subarray(100, 170)], Array.from({ length: 70 }, (_, i) => i + 1));
    assert.throws(() => e.initDropped(), (err: Error) => err instanceof engine.RuntimeError);
  }
});

test('60,000 functions in a table with imported ones and non-ref.func items: every call_indirect reaches its function, as in V8', () => {
  const n = 60_000;
  const b = new ModuleBuilder();
  const hostA = b.importFunc('h', 'a', [], [T.i32]);
  const hostB = b.importFunc('h', 'b', [], [T.i32]);
  b.importGlobal('h', 'g', T.funcref);
  const first = b.nextFuncIndex();
  // function k returns k * 7 + 3 (i32)
  for (let k = 0; k < n; k++) b.func([], [T.i32], (c) => c.i32_const(k * 7 + 3).end());
  b.table(T.funcref, { min: n + 4 }, 'table');
  b.elem({ mode: 'active', offset: new Code().i32_const(0), funcs: Array.from({ length: n }, (_, k) => first + k) });
  b.elem({ mode: 'active', offset: new Code().i32_const(n), funcs: [hostA, hostB] });
  b.func([T.i32], [T.i32], (c) => c.local_get(0).call_indirect(b.type([], [T.i32])).end(), { export: 'call' });
  const base = b.build();
  // A third segment with a global.get item (an imported funcref) and a ref.null, appended by hand:
  // elem flags 4 (active, table 0, expressions), offset n + 2, 2 items: global.get 0, ref.null func.
  const bytes = withExtraElemSegment(base, [0x04, 0x41, ...sleb(n + 2), 0x0b, 0x02, 0x23, 0x00, 0x0b, 0xd0, 0x70, 0x0b]);
  for (const engine of [WebAssembly, qb as unknown as typeof WebAssembly]) {
    const h = new ModuleBuilder();
    h.func([], [T.i32], (c) => c.i32_const(-5).end(), { export: 'f' });
    const helper = new engine.Instance(new engine.Module(h.build() as BufferSource), {}).exports as any;
    const e = new engine.Instance(new engine.Module(bytes as BufferSource), { h: { a: () => 11, b: () => 22, g: helper.f } }).exports as any;
    for (const k of [0, 1, 2, 15, 16, 17, 255, 256, 4095, 4096, 12_345, 32_767, 32_768, 59_998, 59_999]) assert.is(e.call(k), k * 7 + 3, `function ${k}`);
    assert.is(e.call(n), 11);
    assert.is(e.call(n + 1), 22);
    assert.is(e.call(n + 2), -5);
    assert.throws(() => e.call(n + 3), (err: Error) => err instanceof engine.RuntimeError, 'null entry');
    assert.is(e.table.length, n + 4);
  }
});

/** The LEB128 bytes of n (signed / unsigned). */
function sleb(n: number): number[] {
  const out: number[] = [];
  slebInto(out, n);
  return out;
}

function uleb(n: number): number[] {
  const out: number[] = [];
  ulebInto(out, n);
  return out;
}

/** `bytes` with one more segment (its encoding `seg`) in the element section (id 9): count and size updated. */
function withExtraElemSegment(bytes: Uint8Array, seg: number[]): Uint8Array {
  const readU = (p: number): [number, number] => {
    let v = 0, shift = 0, b: number;
    do {
      b = bytes[p++];
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return [v, p];
  };
  let p = 8;
  while (p < bytes.length) {
    const id = bytes[p];
    const [size, body] = readU(p + 1);
    if (id === 9) {
      const [count, items] = readU(body);
      const payload = [...uleb(count + 1), ...bytes.subarray(items, body + size), ...seg];
      return Uint8Array.from([...bytes.subarray(0, p), 9, ...uleb(payload.length), ...payload, ...bytes.subarray(body + size)]);
    }
    p = body + size;
  }
  throw new Error('no element section');
}

test.run();
