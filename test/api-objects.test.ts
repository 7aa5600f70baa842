// Tests of the JS API objects Memory, Table, Global (src/api/{memory,table,global}.ts), compared with
// Node's own WebAssembly where the behaviour is standard.

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import { Global, getGlobalCell, globalFromRuntime } from '../src/api/global.js';
import { Memory, getLinearMemory, memoryFromRuntime } from '../src/api/memory.js';
import { Table, getTableStorage, tableFromRuntime } from '../src/api/table.js';
import { MEMDESC_LENGTH, WASM_PAGE_SIZE } from '../src/runtime/layout.js';
import { readU64 } from '../src/runtime/native.js';
import { externToId, idToExtern, registerFuncRecord, jsToFuncRecord, funcRecordToJs } from '../src/runtime/refs.js';

type Ctor = new (...args: any[]) => unknown;

/** The error class thrown by `f`, or null. */
function errorClass(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    return (e as Error).constructor.name;
  }
}

/** Same outcome (no error, or the same error class) as Node's WebAssembly for the same arguments. */
function sameAsV8(ours: Ctor, theirs: Ctor, args: unknown[]): void {
  const a = errorClass(() => new ours(...args));
  const b = errorClass(() => new theirs(...args));
  const show = (x: unknown): string => {
    try {
      return typeof x === 'object' && x !== null ? JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v)) : String(x);
    } catch {
      return '?';
    }
  };
  assert.is(a, b, `for ${args.map(show).join(', ')}`);
}

// -------------------------------------------------------------------------------------------------
// Memory

test('Memory: descriptor validation like V8', () => {
  const cases: unknown[][] = [
    [], [undefined], [null], [1], ['x'], [{}], [{ initial: 1 }], [{ initial: 0 }], [{ initial: -1 }], [{ initial: NaN }],
    [{ initial: Infinity }], [{ initial: 2 ** 32 }], [{ initial: 65536 }], [{ initial: 65537 }], [{ initial: 1.9 }],
    [{ initial: '2' }], [{ initial: 2, maximum: 1 }], [{ initial: 1, maximum: 65536 }], [{ initial: 1, maximum: 65537 }],
    [{ initial: 1n }], [{ initial: 1, maximum: 2 ** 32 }], [{ initial: 1, maximum: undefined }],
    [{ initial: { valueOf: () => 3 } }], [{ initial: Symbol('s') }],
  ];
  for (const c of cases) sameAsV8(Memory, WebAssembly.Memory, c);
});

test('Memory: buffer, grow, descriptor reads', () => {
  const m = new Memory({ initial: 1, maximum: 3 });
  assert.ok(m.buffer instanceof ArrayBuffer);
  assert.is(m.buffer.byteLength, WASM_PAGE_SIZE);
  assert.is(m.buffer, m.buffer);
  const b1 = m.buffer;
  new Uint8Array(b1)[3] = 42;
  assert.is(m.grow(1), 1);
  assert.is.not(m.buffer, b1);
  assert.is(m.buffer.byteLength, 2 * WASM_PAGE_SIZE);
  assert.is(new Uint8Array(m.buffer)[3], 42);
  assert.is(m.grow(0), 2);
  assert.throws(() => m.grow(2), RangeError);
  assert.throws(() => m.grow(-1), TypeError);
  assert.is(m.grow(1), 2);
  assert.is(Object.prototype.toString.call(m), '[object WebAssembly.Memory]');
  assert.equal(m.type(), { minimum: 3, maximum: 3, shared: false, index: 'i32' });
  // internal accessors
  const lm = getLinearMemory(m);
  assert.equal(Object.getOwnPropertySymbols(Memory.prototype).map(String).filter((s) => !s.includes('dispose')), ['Symbol(Symbol.toStringTag)'], 'no internal symbols');
  assert.is(memoryFromRuntime(lm), m);
  assert.is(readU64(lm.desc + MEMDESC_LENGTH), 3 * WASM_PAGE_SIZE);
  assert.throws(() => getLinearMemory({}), TypeError);
  // brand checks
  assert.throws(() => Object.getOwnPropertyDescriptor(Memory.prototype, 'buffer')!.get!.call({}), TypeError);
  assert.throws(() => Memory.prototype.grow.call({}, 1), TypeError);
  // a Memory built from the runtime object
  const m2 = memoryFromRuntime(getLinearMemory(new Memory({ initial: 0 })));
  assert.ok(m2 instanceof Memory);
  assert.is(m2.buffer.byteLength, 0);
  // property access order
  const order: string[] = [];
  const proxy = new Proxy({ initial: 1, maximum: 2 }, { get(t, k) { order.push(String(k)); return (t as any)[k]; } });
  new Memory(proxy);
  const order2: string[] = [];
  const proxy2 = new Proxy({ initial: 1, maximum: 2 }, { get(t, k) { order2.push(String(k)); return (t as any)[k]; } });
  new WebAssembly.Memory(proxy2);
  assert.equal(order.filter((k) => k !== 'address' && k !== 'index'), order2.filter((k) => k !== 'address' && k !== 'index'));
});

test('Memory: memory64 descriptors', () => {
  const m = new Memory({ initial: 1n, maximum: 4n, address: 'i64' });
  assert.is(m.grow(1n), 1n);
  assert.is(m.buffer.byteLength, 2 * WASM_PAGE_SIZE);
  assert.equal(m.type(), { minimum: 2n, maximum: 4n, shared: false, index: 'i64' });
  const m2 = new Memory({ initial: 2n, index: 'i64' });
  assert.is(getLinearMemory(m2).index64, true);
  assert.is(getLinearMemory(m2).reservedBytes, 16 * 2 ** 30);
  assert.is(m2.grow(1), 2n); // Numbers accepted as a leniency
  assert.throws(() => new Memory({ initial: -1n, address: 'i64' }), TypeError);
  assert.throws(() => new Memory({ initial: 2n ** 64n, address: 'i64' }), TypeError);
  assert.throws(() => new Memory({ initial: 2n ** 48n + 1n, address: 'i64' }), RangeError);
  assert.throws(() => new Memory({ initial: 2n ** 40n, address: 'i64' }), RangeError); // beyond the reservation cap
  assert.throws(() => new Memory({ initial: 1, address: 'i16' }), TypeError);
  assert.throws(() => new Memory({ initial: 1n }), TypeError); // i32: BigInt is a TypeError
  assert.ok(new Memory({ initial: 1, maximum: 2, shared: true }).buffer instanceof SharedArrayBuffer); // (shared-memory-api.test.ts)
  // shared memory64 (as Node 26): V8's shared memory under an i64 index type
  const sm = new Memory({ initial: 1n, maximum: 2n, shared: true, address: 'i64' });
  assert.ok(sm.buffer instanceof SharedArrayBuffer);
  assert.equal(sm.type(), { minimum: 1n, maximum: 2n, shared: true, index: 'i64' });
  assert.throws(() => new Memory({ initial: 1n, maximum: 65537n, shared: true, address: 'i64' }), RangeError); // above V8's limit
});

// -------------------------------------------------------------------------------------------------
// Table

test('Table: descriptor validation like V8', () => {
  const cases: unknown[][] = [
    [], [{}], [{ element: 'anyfunc' }], [{ element: 'anyfunc', initial: 1 }], [{ element: 'externref', initial: 1 }],
    [{ element: 'i32', initial: 1 }], [{ element: 'anyfunc', initial: -1 }], [{ element: 'anyfunc', initial: 2, maximum: 1 }],
    [{ element: 'anyfunc', initial: 1e8 }], [{ element: 'anyfunc', initial: 2 ** 32 }],
    [{ element: 'anyfunc', initial: 1 }, () => 0], [{ element: 'anyfunc', initial: 1 }, null],
    [{ element: 'externref', initial: 1 }, 'x'], [{ element: 'anyfunc', initial: 1 }, undefined],
  ];
  for (const c of cases) sameAsV8(Table, WebAssembly.Table, c);
});

test('Table: get/set/grow with externref and funcref', () => {
  const t = new Table({ element: 'externref', initial: 2 });
  const vt = new WebAssembly.Table({ element: 'externref', initial: 2 });
  assert.is(t.length, 2);
  assert.is(t.get(0), vt.get(0));
  const obj = { a: 1 };
  t.set(0, obj);
  assert.is(t.get(0), obj);
  t.set(1, null);
  assert.is(t.get(1), null);
  t.set(1);
  assert.is(t.get(1), undefined);
  assert.is(t.grow(2, 'hi'), 2);
  assert.is(t.get(3), 'hi');
  assert.is(t.length, 4);
  assert.throws(() => t.get(4), RangeError);
  assert.throws(() => t.set(4, 1), RangeError);
  assert.throws(() => t.get(-1), TypeError);
  // Same extern value, same id (storage is by id).
  assert.is(getTableStorage(t).get(0), externToId(obj));
  assert.is(idToExtern(externToId(obj)), obj);
  assert.is(externToId(null), 0);
  assert.is(idToExtern(externToId(-0)), -0);
  assert.ok(Object.is(idToExtern(externToId(-0)), -0));
  assert.ok(Object.is(idToExtern(externToId(0)), 0));

  const f = new Table({ element: 'anyfunc', initial: 1, maximum: 3 });
  assert.is(f.get(0), null);
  const fake = function exported() { return 1; };
  registerFuncRecord(0x123450, fake);
  assert.is(jsToFuncRecord(fake), 0x123450);
  assert.is(funcRecordToJs(0x123450), fake);
  f.set(0, fake);
  assert.is(f.get(0), fake);
  assert.is(getTableStorage(f).get(0), 0x123450);
  assert.throws(() => f.set(0, () => 1), TypeError);
  assert.throws(() => f.set(0, 'x'), TypeError);
  assert.is(f.grow(1, fake), 1);
  assert.is(f.get(1), fake);
  assert.throws(() => f.grow(2), RangeError);
  assert.equal(f.type(), { element: 'anyfunc', minimum: 2, maximum: 3, index: 'i32' });
  assert.is(tableFromRuntime(getTableStorage(f)), f);
  assert.is(Object.prototype.toString.call(f), '[object WebAssembly.Table]');

  const t64 = new Table({ element: 'anyfunc', initial: 1n, address: 'i64' });
  assert.is(t64.length, 1n);
  assert.is(t64.grow(2n), 1n);
  assert.is(t64.get(2n), null);
  assert.throws(() => t64.get(3n), RangeError);
});

// -------------------------------------------------------------------------------------------------
// Global

test('Global: construction like V8', () => {
  const cases: unknown[][] = [
    [], [{}], [{ value: 'i32' }], [{ value: 'i64' }], [{ value: 'f32' }], [{ value: 'f64' }], [{ value: 'v128' }],
    [{ value: 'externref' }], [{ value: 'anyfunc' }], [{ value: 'x' }], [{ value: 'i32' }, 1n], [{ value: 'i64' }, 1],
    [{ value: 'i64' }, 1n], [{ value: 'i64' }, '12'], [{ value: 'i64' }, 'zz'], [{ value: 'f32' }, 1n],
    [{ value: 'anyfunc' }, () => 1], [{ value: 'anyfunc' }, null], [{ value: 'i32', mutable: true }, 5],
    [{ value: 'i32' }, Symbol('x')], [{ value: 'i64' }, true],
  ];
  for (const c of cases) sameAsV8(Global, WebAssembly.Global, c);
});

test('Global: values like V8', () => {
  const values: Array<[string, unknown]> = [
    ['i32', 5], ['i32', 2 ** 31], ['i32', -1.7], ['i32', '12'], ['i32', undefined], ['i64', 2n ** 63n], ['i64', -5n],
    ['i64', undefined], ['f32', 0.1], ['f32', 1e40], ['f32', NaN], ['f64', 0.1], ['f64', -0], ['f64', undefined],
    ['externref', 'str'], ['externref', null], ['anyfunc', null], ['anyfunc', undefined],
  ];
  for (const [type, v] of values) {
    const ours = v === undefined ? new Global({ value: type }) : new Global({ value: type }, v);
    const theirs = v === undefined ? new WebAssembly.Global({ value: type } as any) : new WebAssembly.Global({ value: type } as any, v);
    assert.ok(Object.is(ours.value, theirs.value), `${type} ${String(v)}: ${String(ours.value)} vs ${String(theirs.value)}`);
    assert.ok(Object.is(ours.valueOf(), theirs.valueOf()));
  }
  // The current JS API spec: DefaultValue(externref) is undefined (Node 20's V8 still gives null here).
  assert.is(new Global({ value: 'externref' }).value, undefined);
  const g = new Global({ value: 'i64', mutable: true }, 1n);
  g.value = 2n ** 64n + 3n;
  assert.is(g.value, 3n);
  assert.throws(() => { g.value = 3; }, TypeError);
  const c = new Global({ value: 'i32' }, 1);
  assert.throws(() => { c.value = 2; }, TypeError);
  const f = new Global({ value: 'f32', mutable: true });
  f.value = 0.1;
  assert.is(f.value, Math.fround(0.1));
  const o = {};
  const e = new Global({ value: 'externref', mutable: true }, o);
  assert.is(e.value, o);
  e.value = null;
  assert.is(e.value, null);
  const fake = function exported2() { return 2; };
  registerFuncRecord(0x223450, fake);
  const fr = new Global({ value: 'anyfunc', mutable: true }, fake);
  assert.is(fr.value, fake);
  assert.throws(() => { fr.value = () => 3; }, TypeError);
  // cell layout: an i32 write also clears the upper half
  const i = new Global({ value: 'i32', mutable: true }, -1);
  const cell = getGlobalCell(i);
  assert.is(readU64(cell.addr), 0xffffffff);
  i.value = 7;
  assert.is(readU64(cell.addr), 7);
  assert.is(globalFromRuntime(cell), i);
  assert.equal(i.type(), { mutable: true, value: 'i32' });
  assert.is(Object.prototype.toString.call(i), '[object WebAssembly.Global]');
  assert.throws(() => Object.getOwnPropertyDescriptor(Global.prototype, 'value')!.get!.call({}), TypeError);
});

test.run();
