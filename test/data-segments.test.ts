// Active data segments at instantiation: many small ones (Go modules have ~100,000), short and long ones
// (instantiation copies the short ones with a loop, the long ones with one copy), overlapping ones (later wins),
// empty ones, and a segment out of bounds after others were written (those stay written, as the
// spec says). Memory contents must equal V8's.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ModuleBuilder, Code } from './helpers/wasm-builder.js';
import { qb } from './helpers/engines.js';

/** A deterministic PRNG (xorshift32). */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
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

test.run();
