// The JS API (src/index.ts and src/api/*), compared with Node's own WebAssembly on the same modules where
// the behaviour is standard: value conversions both ways, funcref identity, Module reflection, linking
// errors, Memory/Global/Table objects, exported function properties, validate/compile/instantiate, the
// module's default and named exports, and the `features` option.

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import qbDefault, * as qbNamed from '../src/index.js';
import { Code, ModuleBuilder, Op, T } from './helpers/wasm-builder.js';
import { Exports, outcome, qb, show, showOutcome } from './helpers/engines.js';
import { inIsolatedChild, isolated } from './helpers/isolate.js';

type Engine = typeof WebAssembly;
const engines: Array<[string, Engine]> = [['quickbeam', qb as unknown as Engine], ['V8', WebAssembly]];

function inst(E: Engine, bytes: Uint8Array, imports: Record<string, any> = {}): Exports {
  return new E.Instance(new E.Module(bytes as BufferSource), imports).exports as Exports;
}

/** Run `f` against both engines; the outcomes (value rendering, or error class + message kind) must agree. */
function agree(what: string, f: (E: Engine) => unknown, opts: { message?: boolean } = {}): unknown {
  const [a, b] = engines.map(([, E]) => outcome(() => f(E)));
  assert.is(a.kind, b.kind, `${what}: quickbeam ${showOutcome(a)}, V8 ${showOutcome(b)}`);
  if (a.kind === 'value') assert.is(show(a.value), show(b.value), `${what}: quickbeam ${show(a.value)}, V8 ${show(b.value)}`);
  else if (opts.message) assert.is(a.message, b.message, what);
  return a.kind === 'value' ? a.value : a.error;
}

// ------------------------------------------------------------------------------------------------ values

function identityModule(): Uint8Array {
  const b = new ModuleBuilder();
  for (const [n, t] of [['i32', T.i32], ['i64', T.i64], ['f32', T.f32], ['f64', T.f64], ['externref', T.externref], ['funcref', T.funcref]] as const) {
    b.func([t], [t], (c) => c.local_get(0).end(), { export: `id_${n}` });
  }
  b.func([T.i32, T.i64, T.f32, T.f64], [T.f64], (c) => {
    c.local_get(0).op(Op.f64_convert_i32_s).local_get(1).op(Op.f64_convert_i64_s).op(Op.f64_add);
    c.local_get(2).op(Op.f64_promote_f32).op(Op.f64_add).local_get(3).op(Op.f64_add).end();
  }, { export: 'sum4' });
  b.func([], [T.i64], (c) => c.i64_const(-(2n ** 63n)).end(), { export: 'minI64' });
  b.func([], [T.i64], (c) => c.i64_const(2n ** 63n - 1n).end(), { export: 'maxI64' });
  b.func([], [T.i32], (c) => c.i32_const(-1).end(), { export: 'minusOne' });
  b.func([], [T.i32, T.i64, T.f32, T.f64], (c) => c.i32_const(-7).i64_const(-8).f32_const(0.1).f64_const(0.1).end(), { export: 'multi' });
  return b.build();
}

test('ToWebAssemblyValue / ToJSValue: every value type, odd JS values, BigInt for i64 both ways', () => {
  const bytes = identityModule();
  const samples: unknown[] = [
    0, -0, 1, -1, 1.9, -1.9, 2 ** 31, 2 ** 32 + 5, -(2 ** 31) - 1, 2 ** 53, 1e300, -1e-300, NaN, Infinity, -Infinity,
    '12', '0x10', ' 7 ', 'abc', '', true, false, null, undefined, [], [5], {}, { valueOf: () => 9 }, { toString: () => '11' },
    0n, 1n, -1n, 2n ** 63n, 2n ** 64n + 3n, -(2n ** 63n) - 1n, Symbol('s'), () => 1,
  ];
  for (const n of ['i32', 'i64', 'f32', 'f64']) {
    for (const v of samples) {
      agree(`id_${n}(${typeof v === 'symbol' ? 'Symbol' : show(v)})`, (E) => inst(E, bytes)[`id_${n}`](v));
    }
  }
  // externref: any JS value round-trips as itself
  const q = inst(qb as unknown as Engine, bytes);
  const obj = {}, fn = () => 0, sym = Symbol('x');
  for (const v of [obj, fn, sym, 1, 'str', null, undefined, 0n, NaN]) {
    const r = q.id_externref(v);
    assert.ok(Object.is(r, v), `externref round trip of ${String(v)}`);
  }
  // funcref: only wasm functions (and null)
  for (const v of [null, () => 1, {}, 1, undefined]) agree(`id_funcref(${String(v)})`, (E) => {
    const r = inst(E, bytes).id_funcref(v);
    return r === null ? 'null' : typeof r;
  });
  agree('i64 extremes', (E) => { const x = inst(E, bytes); return [x.minI64(), x.maxI64()]; });
  agree('i32 -1 is -1', (E) => inst(E, bytes).minusOne());
  agree('multi-value result array', (E) => inst(E, bytes).multi());
  agree('missing arguments', (E) => inst(E, bytes).sum4());
  agree('extra arguments ignored', (E) => inst(E, bytes).sum4(1, 2n, 3, 4, 5, 6));
  agree('mixed', (E) => inst(E, bytes).sum4(-5, -(2n ** 40n), 0.1, 1e10));
  agree('Number for i64 is a TypeError', (E) => inst(E, bytes).sum4(1, 2, 3, 4));
  // conversions happen in parameter order, each once
  for (const [, E] of engines) void E;
  const order = engines.map(([, E]) => {
    const log: string[] = [];
    const mk = (tag: string, v: unknown) => ({ valueOf: () => { log.push(tag); return v; } });
    inst(E, bytes).sum4(mk('a', 1), mk('b', 2n), mk('c', 3), mk('d', 4));
    return log.join(',');
  });
  assert.is(order[0], order[1], 'argument conversion order');
});

test('i64 values through imports: BigInt in, BigInt out, truncation by ToBigInt64', () => {
  const b = new ModuleBuilder();
  const h = b.importFunc('env', 'h', [T.i64, T.i32], [T.i64]);
  b.func([T.i64], [T.i64], (c) => c.local_get(0).i32_const(-3).call(h).i64_const(1).op(Op.i64_add).end(), { export: 'f' });
  const bytes = b.build();
  for (const [ret, label] of [[5n, '5n'], [2n ** 64n + 7n, '2^64+7'], [-1n, '-1n'], [5, 'Number 5'], ['9', 'string'], [true, 'true']] as Array<[unknown, string]>) {
    agree(`import returns ${label}`, (E) => {
      const seen: unknown[] = [];
      const x = inst(E, bytes, { env: { h: (a: unknown, i: unknown) => { seen.push(a, i); return ret; } } });
      return [x.f(-(2n ** 63n)), ...seen];
    });
  }
});

test('re-entrancy during value conversions: valueOf calling wasm while arguments / results are in flight', () => {
  const b = new ModuleBuilder();
  const h = b.importFunc('env', 'h', [T.i32, T.i64, T.f64], [T.f64]);
  const hm = b.importFunc('env', 'hm', [T.i32], [T.i32, T.i64, T.f64]);
  b.func([T.i32, T.i64, T.f64], [T.f64], (c) => {
    c.local_get(0).op(Op.f64_convert_i32_s); // live across the call
    c.local_get(0).local_get(1).local_get(2).call(h);
    c.op(Op.f64_add).local_get(1).op(Op.f64_convert_i64_s).op(Op.f64_add).end();
  }, { export: 'outer' });
  b.func([T.i32, T.i64, T.f64], [T.f64], (c) => c.local_get(0).op(Op.f64_convert_i32_s).local_get(1).op(Op.f64_convert_i64_s)
    .op(Op.f64_mul).local_get(2).op(Op.f64_sub).end(), { export: 'inner' });
  b.func([T.i32], [T.f64], (c) => {
    c.local_get(0).call(hm);
    c.local_set(3).local_set(2).local_set(1);
    c.local_get(1).op(Op.f64_convert_i32_s).local_get(2).op(Op.f64_convert_i64_s).op(Op.f64_add).local_get(3).op(Op.f64_add).end();
  }, { export: 'multi', locals: [T.i32, T.i64, T.f64] });
  const bytes = b.build();
  agree('host results and exported-function arguments converted by user code that calls wasm', (E) => {
    let x: Exports = {};
    const log: unknown[] = [];
    const env = {
      h: (a: number, bb: bigint, c: number) => {
        log.push(a, bb, c);
        // the result's valueOf re-enters wasm with other arguments
        return { valueOf: () => x.inner(a + 1, bb * 3n, c / 2) + 0.25 };
      },
      hm: (n: number) => [
        { valueOf: () => x.inner(n, 2n, 1) }, // i32 result computed by wasm
        { valueOf: () => BigInt(x.inner(n + 1, 3n, 0)) } as unknown as bigint,
        n / 4,
      ],
    };
    x = inst(E, bytes, { env });
    const arg = { valueOf: () => x.inner(2, 5n, 0.5) }; // exported function argument converted via wasm
    return [x.outer(arg, 7n, 1.5), x.outer(-3, -(2n ** 40n), 0), x.multi(9), ...log];
  });
  agree('an exception from a result conversion propagates', (E) => {
    const marker = { m: 1 };
    const x = inst(E, bytes, { env: { h: () => ({ valueOf: () => { throw marker; } }), hm: () => [1, 1n, 1] } });
    try { x.outer(1, 1n, 1); return 'no throw'; } catch (e) { return e === marker; }
  });
  agree('wrong multi-value results', (E) => {
    const x = inst(E, bytes, { env: { h: () => 0, hm: () => [1, 2n] } });
    return outcome(() => x.multi(1)).kind;
  });
});

// ------------------------------------------------------------------------------------------------ funcref identity

test('funcref identity: exports, tables, ref.func, globals, across instances and re-exports', () => {
  const mk = () => {
    const b = new ModuleBuilder();
    const imp = b.importFunc('env', 'imp', [], [T.i32]);
    const f = b.func([], [T.i32], (c) => c.i32_const(7).end(), { export: ['f', 'f_again'] });
    b.exportFunc('imp_reexported', imp);
    b.table(T.funcref, { min: 3 }, 'tab');
    b.elem({ mode: 'active', offset: new Code().i32_const(0), funcs: [f, imp] });
    b.elem({ mode: 'declarative', funcs: [f] });
    b.global(T.funcref, false, (c) => c.ref_func(f), 'g');
    b.func([], [T.funcref], (c) => c.ref_func(f).end(), { export: 'getF' });
    b.func([T.i32], [T.funcref], (c) => c.local_get(0).table_get(0).end(), { export: 'getT' });
    b.func([T.funcref], [T.i32], (c) => c.i32_const(2).local_get(0).table_set(0).i32_const(2).table_get(0).ref_is_null().end(), { export: 'setT' });
    return b.build();
  };
  const bytes = mk();
  agree('identity relations', (E) => {
    const jsFn = () => 1;
    const a = inst(E, bytes, { env: { imp: jsFn } });
    const b2 = inst(E, bytes, { env: { imp: a.f } }); // a wasm function imported into another instance
    const tab = a.tab as WebAssembly.Table;
    return [
      a.f === a.f_again, a.f === a.getF(), a.f === tab.get(0), a.f === (a.g as WebAssembly.Global).value, a.f === a.getT(0),
      a.imp_reexported === jsFn, a.imp_reexported === tab.get(1), a.imp_reexported === a.getT(1), typeof a.imp_reexported,
      b2.imp_reexported === a.f, b2.getT(1) === a.f, b2.f === a.f,
      a.setT(b2.f), tab.get(2) === b2.f, a.getT(2) === b2.f,
      a.imp_reexported(), b2.imp_reexported(),
    ];
  });
});

// ------------------------------------------------------------------------------------------------ Module reflection

test('Module.imports / Module.exports / customSections match V8', () => {
  const b = new ModuleBuilder();
  b.importFunc('m', 'f', [T.i32], []);
  b.importTable('m', 't', T.funcref, { min: 1 });
  b.importMemory('m', 'mem', { min: 1 });
  b.importGlobal('m', 'g', T.i64, false);
  b.importGlobal('other', 'g2', T.f32, true);
  const f = b.func([], [], (c) => c.end(), { export: 'fn' });
  b.table(T.externref, { min: 0 }, 'tab');
  b.global(T.i32, true, (c) => c.i32_const(0), 'glob');
  b.exportFunc('fn2', f);
  b.exportFunc('imported', 0);
  b.exportMemory('mem', 0);
  const bytes = b.build();
  agree('imports', (E) => E.Module.imports(new E.Module(bytes as BufferSource)));
  agree('exports', (E) => E.Module.exports(new E.Module(bytes as BufferSource)));
  agree('imports of a non-module', (E) => E.Module.imports({} as WebAssembly.Module));
  // custom sections
  const withCustom = new Uint8Array([...bytes, 0, 6, 3, 0x61, 0x62, 0x63, 1, 2, 0, 3, 3, 0x61, 0x62, 0x63]);
  agree('customSections', (E) => E.Module.customSections(new E.Module(withCustom as BufferSource), 'abc').map((x) => Array.from(new Uint8Array(x))));
});

// ------------------------------------------------------------------------------------------------ linking

test('LinkError and TypeError cases of instantiation match V8', () => {
  const b = new ModuleBuilder();
  b.importFunc('env', 'f', [T.i32], [T.i32]);
  b.importMemory('env', 'mem', { min: 2, max: 4 });
  b.importTable('env', 'tab', T.funcref, { min: 2 });
  b.importGlobal('env', 'gi64', T.i64, false);
  b.importGlobal('env', 'gmut', T.i32, true);
  const bytes = b.build();
  const other = new ModuleBuilder();
  other.func([T.i64], [T.i32], (c) => c.i32_const(0).end(), { export: 'wrongSig' });
  other.func([T.i32], [T.i32], (c) => c.local_get(0).end(), { export: 'rightSig' });
  const otherBytes = other.build();
  const cases: Array<[string, (E: Engine) => Record<string, any> | undefined]> = [];
  const good = (E: Engine): Record<string, any> => ({
    env: {
      f: () => 0,
      mem: new E.Memory({ initial: 2, maximum: 4 }),
      tab: new E.Table({ element: 'anyfunc', initial: 2 }),
      gi64: 5n,
      gmut: new E.Global({ value: 'i32', mutable: true }, 1),
    },
  });
  const patch = (k: string, v: (E: Engine) => unknown) => (E: Engine) => { const g = good(E); g.env[k] = v(E); return g; };
  cases.push(['all good', good]);
  cases.push(['no import object', () => undefined]);
  cases.push(['module not an object', () => ({ env: 1 })]);
  cases.push(['missing function', patch('f', () => undefined)]);
  cases.push(['function not callable', patch('f', () => ({}))]);
  cases.push(['wasm function of the wrong type', patch('f', (E) => inst(E, otherBytes).wrongSig)]);
  cases.push(['wasm function of the right type', patch('f', (E) => inst(E, otherBytes).rightSig)]);
  cases.push(['memory too small', patch('mem', (E) => new E.Memory({ initial: 1, maximum: 4 }))]);
  cases.push(['memory without maximum', patch('mem', (E) => new E.Memory({ initial: 2 }))]);
  cases.push(['memory maximum too large', patch('mem', (E) => new E.Memory({ initial: 2, maximum: 5 }))]);
  cases.push(['memory bigger, smaller max', patch('mem', (E) => new E.Memory({ initial: 3, maximum: 3 }))]);
  cases.push(['memory not a Memory', patch('mem', () => new ArrayBuffer(65536 * 2))]);
  cases.push(['table too small', patch('tab', (E) => new E.Table({ element: 'anyfunc', initial: 1 }))]);
  cases.push(['table of externref', patch('tab', (E) => new E.Table({ element: 'externref', initial: 2 }))]);
  cases.push(['i64 global from a Number', patch('gi64', () => 5)]);
  cases.push(['i64 global from a Global i32', patch('gi64', (E) => new E.Global({ value: 'i32' }, 5))]);
  cases.push(['i64 global from a Global i64', patch('gi64', (E) => new E.Global({ value: 'i64' }, 5n))]);
  cases.push(['mutable global from a Number', patch('gmut', () => 1)]);
  cases.push(['mutable global from an immutable Global', patch('gmut', (E) => new E.Global({ value: 'i32' }, 1))]);
  cases.push(['mutable global of another type', patch('gmut', (E) => new E.Global({ value: 'f32', mutable: true }, 1))]);
  for (const [what, imports] of cases) {
    agree(what, (E) => { new E.Instance(new E.Module(bytes as BufferSource), imports(E)); return 'ok'; });
  }
  // the error classes are the namespace's own
  const o = outcome(() => new qb.Instance(new qb.Module(bytes), patch('f', () => ({}))(qb as unknown as Engine)));
  assert.ok(o.error instanceof qb.LinkError);
  assert.is((o.error as Error).name, 'LinkError');
  // a start function that traps: RuntimeError from the constructor
  const sb = new ModuleBuilder();
  sb.start(sb.func([], [], (c) => c.unreachable().end()));
  agree('trapping start function', (E) => { inst(E, sb.build()); return 'ok'; }, { message: true });
});

// ------------------------------------------------------------------------------------------------ Memory

test('Memory: buffer after grow, identity of the buffer between grows, contents kept, exported memory', () => {
  const b = new ModuleBuilder();
  b.memory({ min: 1, max: 3 }, 'mem');
  b.func([T.i32], [T.i32], (c) => c.local_get(0).memory_grow().end(), { export: 'grow' });
  b.func([T.i32, T.i32], [], (c) => c.local_get(0).local_get(1).mem(Op.i32_store8).end(), { export: 'st' });
  const bytes = b.build();
  agree('buffer semantics', (E) => {
    const x = inst(E, bytes);
    const mem = x.mem as WebAssembly.Memory;
    const b1 = mem.buffer;
    const same = b1 === mem.buffer;
    x.st(65535, 9);
    const r1 = x.grow(1);
    const b2 = mem.buffer;
    const r2 = mem.grow(1);
    const b3 = mem.buffer;
    x.st(3 * 65536 - 1, 4);
    return [same, r1, r2, b2 === b1, b3 === b2, b3.byteLength, new Uint8Array(b3)[65535], new Uint8Array(b3)[3 * 65536 - 1],
      x.grow(1), outcome(() => mem.grow(1)).kind, mem.buffer.byteLength, mem.buffer instanceof ArrayBuffer];
  });
  // Detachment (issue 13): every grow, from wasm or from JS (also of 0 pages), detaches the old buffer and
  // gives a new one; a failed grow detaches nothing.
  agree('buffer detachment', (E) => {
    const x = inst(E, bytes);
    const mem = x.mem as WebAssembly.Memory;
    const out: unknown[] = [];
    const b1 = mem.buffer;
    out.push(x.grow(1), b1.byteLength, mem.buffer !== b1, mem.buffer.byteLength);
    const b2 = mem.buffer;
    out.push(mem.grow(1), b2.byteLength, mem.buffer !== b2, mem.buffer.byteLength);
    const b3 = mem.buffer;
    out.push(x.grow(0), b3.byteLength, mem.buffer !== b3);
    const b4 = mem.buffer;
    out.push(mem.grow(0), b4.byteLength, mem.buffer !== b4);
    const b5 = mem.buffer;
    out.push(x.grow(1), b5.byteLength === 3 * 65536, outcome(() => mem.grow(1)).kind, b5.byteLength === 3 * 65536);
    return out;
  });
  // wasm-bindgen's glue caches a view and refreshes it when its byteLength is 0.
  agree('wasm-bindgen cached view', (E) => {
    const x = inst(E, bytes);
    const mem = x.mem as WebAssembly.Memory;
    let cached: Uint8Array | null = null;
    const view = (): Uint8Array => {
      if (cached === null || cached.byteLength === 0) cached = new Uint8Array(mem.buffer);
      return cached;
    };
    view()[10] = 1;
    x.grow(1);
    x.st(65536 + 5, 7);
    return [view().length, view()[10], view()[65536 + 5]];
  });
  agree('grow(0) keeps the length', (E) => { const m = new E.Memory({ initial: 1 }); const r = m.grow(0); return [r, m.buffer.byteLength]; });
  // type reflection (not in Node 20's V8): checked against the proposal's shape
  assert.equal((new qb.Memory({ initial: 1, maximum: 2 }) as unknown as { type(): unknown }).type(), { minimum: 1, shared: false, index: 'i32', maximum: 2 });
});

// ------------------------------------------------------------------------------------------------ Global

test('Global: get/set of every type from JS and from wasm, immutability, valueOf', () => {
  const b = new ModuleBuilder();
  const types = [['i32', T.i32], ['i64', T.i64], ['f32', T.f32], ['f64', T.f64], ['externref', T.externref], ['anyfunc', T.funcref]] as const;
  types.forEach(([n, t], k) => {
    b.importGlobal('env', n, t, true);
    void k;
  });
  types.forEach(([n, t], k) => {
    b.func([], [t], (c) => c.global_get(k).end(), { export: `get_${n}` });
    b.func([t], [], (c) => c.local_get(0).global_set(k).end(), { export: `set_${n}` });
  });
  const f = b.func([], [T.i32], (c) => c.i32_const(1).end(), { export: 'one' });
  b.global(T.i64, false, (c) => c.i64_const(-5), 'const64');
  b.global(T.f32, true, (c) => c.f32_const(1.5), 'mutF32');
  void f;
  const bytes = b.build();
  const values: Record<string, unknown[]> = {
    i32: [0, -1, 2 ** 31, 1.5, '7'], i64: [0n, -1n, 2n ** 64n + 1n, '12'], f32: [0.1, -0, NaN, 1e40], f64: [0.1, -0, 1e300],
    externref: [{}, 'x', null, undefined, 5], anyfunc: [null],
  };
  agree('globals', (E) => {
    const gs: Record<string, WebAssembly.Global> = {};
    // (explicit initial values: the default of an externref global is undefined by the current JS API spec,
    // null in Node 20's V8)
    for (const [n] of types) {
      const d = { value: n as WebAssembly.ValueType, mutable: true };
      gs[n] = n === 'externref' ? new E.Global(d, null) : new E.Global(d);
    }
    const x = inst(E, bytes, { env: gs });
    const out: unknown[] = [];
    for (const [n] of types) {
      out.push(n, gs[n].value === null ? 'null' : gs[n].value);
      for (const v of values[n]) {
        const o = outcome(() => { gs[n].value = v; });
        const got = x[`get_${n}`]();
        out.push(o.kind, typeof got === 'object' && got !== null ? 'obj' : got, Object.is(got, v) || got === gs[n].value);
      }
    }
    // wasm writes, JS reads
    x.set_i32(-9); x.set_i64(-(2n ** 63n)); x.set_f32(0.1); x.set_f64(-0); x.set_externref('hello'); x.set_anyfunc(x.one);
    out.push(gs.i32.value, gs.i64.value, gs.f32.value, gs.f64.value, gs.externref.value, gs.anyfunc.value === x.one);
    out.push(gs.i32.valueOf(), (x.const64 as WebAssembly.Global).value, outcome(() => { (x.const64 as WebAssembly.Global).value = 1n; }).kind);
    out.push((x.mutF32 as WebAssembly.Global).value, outcome(() => { gs.anyfunc.value = () => 1; }).kind);
    return out;
  });
  assert.is(new qb.Global({ value: 'externref' }).value, undefined, 'DefaultValue(externref) = ToWebAssemblyValue(undefined)');
  agree('Global constructor conversions', (E) => [
    new E.Global({ value: 'i32' }, 2 ** 32 + 3).value, new E.Global({ value: 'i64' }, 2n ** 64n - 1n).value,
    new E.Global({ value: 'f32' }, 0.1).value, new E.Global({ value: 'i64' }).value, new E.Global({ value: 'externref' }, 'e').value,
    outcome(() => new E.Global({ value: 'i64' }, 1 as any)).kind, outcome(() => new E.Global({ value: 'x' as any })).kind,
  ]);
});

// ------------------------------------------------------------------------------------------------ Table

test('Table: get/set/grow from JS and wasm, element conversions, bounds', () => {
  const b = new ModuleBuilder();
  b.importTable('env', 'tab', T.funcref, { min: 2 });
  const f = b.func([], [T.i32], (c) => c.i32_const(42).end(), { export: 'f' });
  b.func([T.i32], [T.i32], (c) => c.local_get(0).call_indirect(b.type([], [T.i32])).end(), { export: 'call' });
  b.func([T.i32], [T.i32], (c) => c.ref_func(f).local_get(0).table_grow(0).end(), { export: 'grow' });
  b.elem({ mode: 'declarative', funcs: [f] });
  const bytes = b.build();
  agree('funcref table', (E) => {
    const tab = new E.Table({ element: 'anyfunc', initial: 2, maximum: 6 });
    const x = inst(E, bytes, { env: { tab } });
    const out: unknown[] = [tab.length, tab.get(0)];
    tab.set(1, x.f);
    out.push(tab.get(1) === x.f, x.call(1), outcome(() => x.call(0)).message);
    out.push(outcome(() => tab.set(0, () => 1)).kind, outcome(() => tab.get(2)).kind, outcome(() => tab.set(2, null)).kind);
    out.push(tab.grow(1), tab.length, tab.get(2), x.grow(2), tab.length, tab.get(4) === x.f, x.call(4));
    out.push(outcome(() => tab.grow(2)).kind, x.grow(5), tab.length, tab.grow(0));
    out.push(tab.grow(1, x.f), tab.get(5) === x.f);
    tab.set(1); // default: null
    out.push(tab.get(1));
    return out;
  });
  agree('externref table', (E) => {
    const t = new E.Table({ element: 'externref', initial: 1 } as any);
    const o = {};
    const r: unknown[] = [t.get(0)];
    t.set(0, o);
    r.push(t.get(0) === o, t.grow(2, 'x'), t.get(2), t.length);
    t.set(0);
    r.push(t.get(0));
    return r;
  });
});

// ------------------------------------------------------------------------------------------------ functions

test('exported functions: name, length, re-exported imports, calling with `new`, properties', () => {
  const b = new ModuleBuilder();
  const imp = b.importFunc('env', 'imp', [T.i32, T.i32], [T.i32]);
  b.func([], [], (c) => c.end(), { export: 'zero', name: 'has_a_debug_name' });
  b.func([T.i32, T.i64, T.f32], [T.i32], (c) => c.i32_const(0).end(), { export: 'three' });
  b.exportFunc('re', imp);
  const bytes = b.build();
  agree('name / length', (E) => {
    const wasmImp = inst(E, bytes, { env: { imp: () => 0 } }).three; // index 2 of the other instance
    const x = inst(E, bytes, { env: { imp: wasmImp } });
    const y = inst(E, bytes, { env: { imp: (a: number, c: number) => a + c } });
    return [x.zero.name, x.zero.length, x.three.name, x.three.length, x.re === wasmImp, x.re.name, x.re.length,
      y.re.name, y.re.length, y.re(2, 3), typeof x.zero, Object.getPrototypeOf(x.zero) === Function.prototype,
      outcome(() => new x.zero()).kind];
  });
  agree('exports object', (E) => {
    const x = inst(E, bytes, { env: { imp: () => 0 } });
    return [Object.isFrozen(x), Object.getPrototypeOf(x), Object.keys(x)];
  });
});

// In a child process: a use-after-free here crashes.
const iso = isolated(import.meta.url, { name: 'js-api (isolated)' });
iso('an exported function, table or memory keeps its instance alive after the Instance object is collected', async () => {
  const { setFlagsFromString } = await import('node:v8');
  const { runInNewContext } = await import('node:vm');
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const b = new ModuleBuilder();
  b.memory({ min: 1 }, 'mem');
  b.global(T.i64, true, (c) => c.i64_const(0x1234567890n), 'g');
  const f = b.func([T.i32], [T.i64], (c) => c.local_get(0).i64_const(0x1122334455667788n).mem(Op.i64_store)
    .local_get(0).mem(Op.i64_load).global_get(0).op(Op.i64_add).end(), { export: 'f' });
  b.table(T.funcref, { min: 1 }, 'tab');
  b.elem({ mode: 'active', offset: new Code().i32_const(0), funcs: [f] });
  const m = new qb.Module(b.build());
  const keep: Array<{ f: (x: number) => bigint; tab: WebAssembly.Table; mem: WebAssembly.Memory }> = [];
  for (let k = 0; k < 20; k++) {
    const ex = new qb.Instance(m, {}).exports as Exports; // the Instance object itself is garbage at once
    keep.push({ f: ex.f, tab: ex.tab, mem: ex.mem });
  }
  for (let round = 0; round < 4; round++) {
    gc();
    await new Promise((r) => setTimeout(r, 10));
    // churn native allocations so that freed instance memory would be reused
    for (let k = 0; k < 50; k++) new qb.Instance(m, {});
  }
  for (const { f: fn, tab, mem } of keep) {
    assert.is(fn(8), 0x1122334455667788n + 0x1234567890n);
    const viaTable = tab.get(0) as (x: number) => bigint;
    assert.is(viaTable(16), 0x1122334455667788n + 0x1234567890n);
    assert.is(new DataView(mem.buffer).getBigUint64(8, true), 0x1122334455667788n);
  }
});

// ------------------------------------------------------------------------------------------------ namespace

test('validate / compile / instantiate (both overloads), default and named exports', async () => {
  const b = new ModuleBuilder();
  const imp = b.importFunc('env', 'add', [T.i32, T.i32], [T.i32]);
  b.func([T.i32], [T.i32], (c) => c.local_get(0).i32_const(10).call(imp).end(), { export: 'f' });
  const bytes = b.build();
  const bad = bytes.slice(0, bytes.length - 1);
  const imports = { env: { add: (a: number, c: number) => a + c } };
  for (const [, E] of engines) {
    assert.is(E.validate(bytes as BufferSource), true);
    assert.is(E.validate(bad as BufferSource), false);
    assert.is(E.validate(bytes.buffer), true, 'an ArrayBuffer');
  }
  agree('validate(non-buffer)', (E) => E.validate({} as BufferSource));
  const m = await qb.compile(bytes);
  assert.ok(m instanceof qb.Module);
  let rejected: unknown = null;
  await qb.compile(bad).catch((e) => { rejected = e; });
  assert.ok(rejected instanceof qb.CompileError);
  const r1 = await qb.instantiate(bytes, imports);
  assert.ok(r1.module instanceof qb.Module && r1.instance instanceof qb.Instance);
  assert.is((r1.instance.exports as Exports).f(5), 15);
  const r2 = await qb.instantiate(m, imports);
  assert.ok(r2 instanceof qb.Instance, 'instantiate(Module) resolves to an Instance');
  assert.is((r2.exports as Exports).f(1), 11);
  let le: unknown = null;
  await qb.instantiate(m, { env: { add: 1 } }).catch((e) => { le = e; });
  assert.ok(le instanceof qb.LinkError, 'instantiate rejects with LinkError');
  let te: unknown = null;
  await qb.instantiate(m).catch((e) => { te = e; });
  assert.ok(te instanceof TypeError, 'missing import object');
  // the default export is the namespace; named exports are the same objects
  const names = ['Module', 'Instance', 'Memory', 'Table', 'Global', 'CompileError', 'LinkError', 'RuntimeError', 'validate', 'compile', 'instantiate'];
  for (const n of names) {
    assert.ok((qbDefault as Record<string, unknown>)[n] !== undefined, `default.${n}`);
    assert.ok((qbDefault as Record<string, unknown>)[n] === (qbNamed as Record<string, unknown>)[n], `named ${n} === default.${n}`);
    assert.ok(n in WebAssembly, `${n} is a WebAssembly namespace member`);
  }
  for (const n of ['CompileError', 'LinkError', 'RuntimeError']) {
    const C = (qbDefault as Record<string, any>)[n];
    const e = new C('x');
    assert.ok(e instanceof Error);
    assert.is(e.name, n);
  }
  assert.not.ok(new qb.RuntimeError('x') instanceof qb.CompileError);
});

test('features option: memory64 and multiMemory can be turned off', () => {
  const b64 = new ModuleBuilder();
  b64.memory({ min: 1, i64: true });
  b64.func([T.i64], [T.i32], (c) => c.local_get(0).mem(Op.i32_load).end(), { export: 'f' });
  const m64 = b64.build();
  const bmm = new ModuleBuilder();
  bmm.memory({ min: 1 });
  bmm.memory({ min: 1 });
  bmm.func([T.i32], [T.i32], (c) => c.local_get(0).mem(Op.i32_load, 0, 1).end(), { export: 'f' });
  const mm = bmm.build();
  const t64 = new ModuleBuilder();
  t64.table(T.funcref, { min: 1, i64: true });
  const tb = t64.build();
  assert.ok(new qb.Module(m64) instanceof qb.Module, 'memory64 on by default');
  assert.ok(new qb.Module(mm) instanceof qb.Module, 'multi-memory on by default');
  const off = (bytes: Uint8Array, features: Record<string, boolean>) => outcome(() => new qb.Module(bytes, { features }));
  for (const [what, bytes, features] of [
    ['memory64 off', m64, { memory64: false }], ['multiMemory off', mm, { multiMemory: false }],
  ] as Array<[string, Uint8Array, Record<string, boolean>]>) {
    const o = off(bytes, features);
    assert.ok(o.error instanceof qb.CompileError, `${what}: ${showOutcome(o)}`);
    assert.is(qb.validate(bytes, { features }), false, `${what}: validate`);
  }
  const o = outcome(() => new qb.Module(tb, { features: { memory64: false, table64: false } }));
  assert.ok(o.error instanceof qb.CompileError, `table64 off: ${showOutcome(o)}`);
  assert.ok(new qb.Module(m64, { features: { multiMemory: false } }) instanceof qb.Module, 'other features stay on');
  return qb.instantiate(mm, {}, { features: { multiMemory: false } }).then(
    () => assert.unreachable('instantiate with multiMemory off accepted two memories'),
    (e: unknown) => assert.ok(e instanceof qb.CompileError),
  );
});

iso.run();
if (!inIsolatedChild) test.run();
