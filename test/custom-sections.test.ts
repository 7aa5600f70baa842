// WebAssembly.Module.customSections against V8: every kind of custom section (the name section, Emscripten's
// dylink.0, producers, target_features, sourceMappingURL, DWARF, empty names and payloads, non-ASCII names,
// repeated names) at every position between the standard sections, after a code-cache hit, for lazily
// compiled modules, and the argument checks. Emscripten's dynamic-linking glue reads `dylink.0` this way.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import * as qb from '../src/index.js';
import { moduleInternals } from '../src/api/module.js';
import { Code, ModuleBuilder, T, uleb } from './helpers/wasm-builder.js';

type Engine = typeof WebAssembly;

/** A custom section (id 0) with this name and payload. */
function custom(name: string, payload: Uint8Array | number[]): number[] {
  const n = [...new TextEncoder().encode(name)];
  const body: number[] = [];
  uleb(body, n.length);
  body.push(...n);
  for (const x of payload) body.push(x); // (not spread: payloads of 300 KB)
  const out = [0];
  uleb(out, body.length);
  return out.concat(body);
}

/** The byte offsets where a section starts, and the end, of a module without custom sections. */
function sectionStarts(bytes: Uint8Array): number[] {
  const starts: number[] = [];
  let p = 8;
  while (p < bytes.length) {
    starts.push(p);
    p++;
    let size = 0, shift = 0, b: number;
    do {
      b = bytes[p++];
      size |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    p += size;
  }
  starts.push(bytes.length);
  return starts;
}

/** Insert `extra[k]` (section bytes) before standard section k (k = number of sections: at the end). */
function withCustom(bytes: Uint8Array, extra: Map<number, number[]>): Uint8Array<ArrayBuffer> {
  const starts = sectionStarts(bytes);
  const parts: ArrayLike<number>[] = [bytes.subarray(0, 8)];
  for (let k = 0; k < starts.length; k++) {
    parts.push(extra.get(k) ?? []);
    if (k + 1 < starts.length) parts.push(bytes.subarray(starts[k], starts[k + 1]));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function baseModule(): Uint8Array<ArrayBuffer> {
  const b = new ModuleBuilder();
  b.importFunc('env', 'log', [T.i32], []);
  b.memory({ min: 1 });
  const f = b.func([T.i32], [T.i32], (c) => c.local_get(0).end(), { export: 'id', name: 'identity' });
  b.exportFunc('id2', f);
  b.global(T.i32, false, (c) => c.i32_const(7), 'g');
  b.data({ mode: 'active', offset: new Code().i32_const(0), bytes: [1, 2, 3] });
  return b.build();
}

const bigPayload = new Uint8Array(300_000).map((_, i) => (i * 31) & 0xff);
/** The kinds of custom section real toolchains write (payloads made up, except their framing). */
const SECTIONS: Array<[string, number[] | Uint8Array]> = [
  ['dylink.0', [1, 4, 16, 2, 0, 0]], // Emscripten's dynamic-linking metadata (subsection mem-info)
  ['producers', [1, 8, ...new TextEncoder().encode('language'), 1, 1, 0x43, 0]],
  ['target_features', [2, 0x2b, 8, ...new TextEncoder().encode('mutable-')]],
  ['sourceMappingURL', [7, ...new TextEncoder().encode('a.wasm.')]],
  ['.debug_info', bigPayload],
  ['external_debug_info', []],
  ['', [9, 9]],
  ['名前 ü', [0xff, 0]],
  ['dylink.0', [2, 1, 0]], // a second section of the same name: both are returned, in module order
];

const names = [...new Set(SECTIONS.map(([n]) => n)), 'name', 'absent', 'DYLINK.0'];

function sectionsOf(E: Engine, m: WebAssembly.Module): Record<string, number[][]> {
  const out: Record<string, number[][]> = {};
  for (const n of names) out[n] = E.Module.customSections(m, n).map((b) => Array.from(new Uint8Array(b)));
  return out;
}

test('customSections returns every custom section by name, at every position, as V8 does', () => {
  const base = baseModule();
  const n = sectionStarts(base).length; // standard sections + 1 (the end)
  // Each kind at a different position, cycling (a section may come before the type section and after data).
  for (let shift = 0; shift < n; shift++) {
    const extra = new Map<number, number[]>();
    SECTIONS.forEach(([name, payload], k) => {
      const at = (k + shift) % n;
      extra.set(at, (extra.get(at) ?? []).concat(custom(name, payload)));
    });
    const bytes = withCustom(base, extra);
    const v8 = sectionsOf(WebAssembly, new WebAssembly.Module(bytes));
    const ours = sectionsOf(qb as unknown as Engine, new qb.Module(bytes));
    assert.equal(ours, v8, `shift ${shift}`);
    assert.is(v8['dylink.0'].length, 2);
    assert.is(v8['.debug_info'][0].length, bigPayload.length);
  }
});

test('the name section is a custom section too (and still names functions)', () => {
  const b = new ModuleBuilder();
  b.func([], [], (c) => c.unreachable().end(), { export: 'f', name: 'crashes_here' });
  const bytes = b.build();
  const m = new qb.Module(bytes);
  const ours = qb.Module.customSections(m, 'name').map((x) => Array.from(new Uint8Array(x)));
  const v8 = WebAssembly.Module.customSections(new WebAssembly.Module(bytes), 'name').map((x) => Array.from(new Uint8Array(x)));
  assert.equal(ours, v8);
  assert.is(ours.length, 1);
  const e = new qb.Instance(m, {}).exports as { f: () => void };
  assert.throws(() => e.f(), (err: Error) => /crashes_here/.test(String(err.stack)));
});

test('each call returns fresh ArrayBuffers, independent of the caller bytes', () => {
  const bytes = withCustom(baseModule(), new Map([[0, custom('dylink.0', [1, 2, 3])]]));
  const m = new qb.Module(bytes);
  const [a] = qb.Module.customSections(m, 'dylink.0');
  const [b] = qb.Module.customSections(m, 'dylink.0');
  assert.ok(a instanceof ArrayBuffer);
  assert.is.not(a, b);
  new Uint8Array(a).fill(0xee);
  bytes.fill(0, 8); // the caller reuses its buffer
  assert.equal(Array.from(new Uint8Array(qb.Module.customSections(m, 'dylink.0')[0])), [1, 2, 3]);
  assert.equal(Array.from(new Uint8Array(b)), [1, 2, 3]);
});

test('custom sections of a lazily compiled module and of a code-cache hit', () => {
  const extra = new Map<number, number[]>([[0, custom('dylink.0', [5, 6])], [3, custom('.debug_line', bigPayload)]]);
  const bytes = withCustom(baseModule(), extra);
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-custom-'));
  try {
    for (const options of [{ lazy: true }, { cache: dir }, { cache: dir }, { cache: dir, lazy: true }, { cache: dir, lazy: true }]) {
      const m = new qb.Module(bytes, options);
      const got = Array.from(new Uint8Array(qb.Module.customSections(m, '.debug_line')[0]));
      assert.ok(got.every((x, i) => x === bigPayload[i]) && got.length === bigPayload.length, JSON.stringify(options));
      assert.equal(Array.from(new Uint8Array(qb.Module.customSections(m, 'dylink.0')[0])), [5, 6]);
    }
    // (The second { cache } is a hit: the entry's bytes hold only data segments, the sections come from the caller's.)
    assert.is(moduleInternals(new qb.Module(bytes, { cache: dir })).cacheStatus, 'hit');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('argument checks and reflection properties match V8', () => {
  const bytes = baseModule();
  for (const E of [qb as unknown as Engine, WebAssembly]) {
    const m = new E.Module(bytes);
    const err = (f: () => unknown): string => {
      try {
        return `value ${JSON.stringify(f())}`;
      } catch (e) {
        return `${(e as Error).constructor.name}: ${(e as Error).message}`;
      }
    };
    const cs = E.Module.customSections as (...a: unknown[]) => ArrayBuffer[];
    const got = [
      err(() => cs(m)),
      err(() => cs(m, undefined)),
      err(() => cs({}, 'a')),
      err(() => cs(m, null).length),
      err(() => cs(m, Symbol('x'))),
      err(() => (E.Module.imports as (x: unknown) => unknown)({})),
      err(() => (E.Module.exports as (x: unknown) => unknown)(undefined)),
      err(() => ['imports', 'exports', 'customSections'].map((k) => Object.getOwnPropertyDescriptor(E.Module, k)!.enumerable)),
    ];
    const expected = [
      'TypeError: WebAssembly.Module.customSections(): Argument 1 is required',
      'TypeError: WebAssembly.Module.customSections(): Argument 1 is required',
      'TypeError: WebAssembly.Module.customSections(): Argument 0 must be a WebAssembly.Module',
      'value 0',
      'TypeError: Cannot convert a Symbol value to a string',
      'TypeError: WebAssembly.Module.imports(): Argument 0 must be a WebAssembly.Module',
      'TypeError: WebAssembly.Module.exports(): Argument 0 must be a WebAssembly.Module',
      'value [true,true,true]',
    ];
    assert.equal(got, expected, E === WebAssembly ? 'V8' : 'quickbeam');
  }
});

test.run();
