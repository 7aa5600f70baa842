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

// What a program can observe of the namespace and the classes, as Node 24 and 26 have it (Node 20's V8 is
// older in places: Exception's length, Memory.toFixedLengthBuffer, JSTag): the expectations are written out.
test('namespace operations: enumerable, not constructors, length 1', () => {
  const ns = qb.webAssemblyNamespace() as unknown as Record<string, unknown>;
  const ops = ['compile', 'validate', 'instantiate', 'compileStreaming', 'instantiateStreaming', 'promising'];
  assert.equal(Object.keys(ns).sort(), [...ops].sort(), 'only the operations are enumerable');
  for (const k of ops) {
    const f = ns[k] as Function;
    assert.is(f.length, 1, k);
    assert.is(f.name, k);
    assert.not.ok('prototype' in f, `${k} has no prototype`);
    assert.throws(() => new (f as new () => unknown)(), TypeError, k);
  }
  const d = Object.getOwnPropertyDescriptor(ns, 'JSTag')!;
  assert.equal([d.writable, d.enumerable, d.configurable], [false, false, true]);
  // the default export's operations are the same kind of function
  assert.not.ok('prototype' in qb.default.validate);
  assert.is(qb.default.validate(BYTES), true);
});

test('classes: lengths, enumerable members, no internal statics or symbols', () => {
  const W = qb.default;
  const lengths = Object.fromEntries(['Module', 'Instance', 'Memory', 'Table', 'Global', 'Tag', 'Exception', 'CompileError', 'LinkError', 'RuntimeError', 'SuspendError', 'Suspending']
    .map((k) => [k, (W as unknown as Record<string, Function>)[k]!.length]));
  assert.equal(lengths, { Module: 1, Instance: 1, Memory: 1, Table: 1, Global: 1, Tag: 1, Exception: 2, CompileError: 1, LinkError: 1, RuntimeError: 1, SuspendError: 1, Suspending: 1 });
  const keysIn = (o: object) => {
    const out: string[] = [];
    for (const k in o) out.push(k);
    return out.sort();
  };
  assert.equal(keysIn(new W.Memory({ initial: 1 })), ['buffer', 'grow', 'toFixedLengthBuffer']);
  assert.equal(keysIn(new W.Table({ initial: 1, element: 'anyfunc' })), ['get', 'grow', 'length', 'set']);
  assert.equal(keysIn(new W.Global({ value: 'i32' })), ['value', 'valueOf']);
  const tag = new W.Tag({ parameters: [] });
  assert.equal(keysIn(new W.Exception(tag, [])), ['getArg', 'is', 'stack']);
  assert.equal(keysIn(new W.Instance(new W.Module(BYTES))), ['exports']);
  assert.is(Object.getPrototypeOf(W.Memory.prototype), Object.prototype);
  const statics = (C: Function) => Object.getOwnPropertyNames(C).filter((k) => !['length', 'name', 'prototype'].includes(k)).sort();
  assert.equal(statics(W.Module), ['customSections', 'exports', 'imports']);
  for (const C of [W.Instance, W.Table, W.Global, W.Tag, W.Exception]) assert.equal(statics(C), [], C.name);
  assert.equal(statics(W.Memory), ['SharedRegion'], 'only the documented extension');
  for (const C of [W.Memory, W.Table, W.Global]) {
    assert.equal(Object.getOwnPropertySymbols(C.prototype).map(String).filter((s) => !s.includes('dispose')), ['Symbol(Symbol.toStringTag)'], C.name);
  }
});

test('error classes are callable without new, as V8\'s are', () => {
  for (const W of [qb.default as unknown as Engine, WebAssembly]) {
    for (const C of [W.CompileError, W.LinkError, W.RuntimeError]) {
      const e = (C as unknown as (m: string) => Error)('msg');
      assert.ok(e instanceof C && e instanceof Error, C.name);
      assert.is(e.message, 'msg');
      assert.is(e.constructor, C);
      assert.is(String(e), `${C.name}: msg`);
    }
  }
  // errors Quickbeam throws are instances of the exposed classes
  try {
    new qb.Module(new Uint8Array([0, 97, 115, 109]));
    assert.unreachable();
  } catch (e) {
    assert.ok(e instanceof qb.CompileError);
    assert.is((e as Error).constructor, qb.CompileError);
  }
});

test('Global and Table value types as V8 (Node 24) reads them: anyfunc not funcref, exnref globals', () => {
  const W = qb.default;
  assert.throws(() => new W.Global({ value: 'funcref' as 'anyfunc' }), /Descriptor property 'value' must be a WebAssembly type/);
  assert.throws(() => new W.Table({ initial: 1, element: 'funcref' as 'anyfunc' }), /Descriptor property 'element' must be a WebAssembly reference type/);
  assert.is(new W.Global({ value: 'anyfunc' }).value, null);
  const g = new W.Global({ value: 'exnref' as 'anyfunc', mutable: true });
  assert.throws(() => g.value, /get WebAssembly.Global.value\): invalid type exnref/);
  assert.throws(() => g.valueOf(), /WebAssembly.Global.valueOf\(\): invalid type exnref/);
  assert.throws(() => { g.value = null; }, /invalid type \(ref null exn\)/);
  assert.throws(() => new W.Global({ value: 'exnref' as 'anyfunc' }, null), /WebAssembly.Global\(\): invalid type \(ref null exn\)/);
  assert.throws(() => new W.Global({ value: 'exnref' as 'anyfunc' }, 1), /invalid type \(ref exn\)/);
});

test('argument range messages are V8\'s', () => {
  const W = qb.default;
  const m = new W.Memory({ initial: 1 });
  assert.throws(() => m.grow(-1), /WebAssembly.Memory.grow\(\): Argument 0 must be non-negative/);
  assert.throws(() => m.grow(2 ** 33), /Argument 0 must be in the unsigned long range/);
  const t = new W.Table({ initial: 1, element: 'anyfunc' });
  assert.throws(() => t.get(-1), /WebAssembly.Table.get\(\): Argument 0 must be non-negative/);
  assert.throws(() => new W.Instance({} as never), /WebAssembly.Instance\(\): Argument 0 must be a WebAssembly.Module/);
  assert.throws(() => W.promising(1 as unknown as Function), /WebAssembly.promising\(\): Argument 0 must be a function/);
});

test.run();
