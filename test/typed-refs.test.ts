// Typed function references: the value-type representation (decode/ref-types.ts: encoding, subtyping, binary
// decoding) and, end to end through generated code, call_ref, ref.as_non_null, br_on_null, br_on_non_null and
// the initialisation rule of non-defaultable locals, at edges the spec files do not reach (traps' messages as
// V8 words them: checked against Node 24, whose V8 runs these modules unchanged).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteReader } from '../src/decode/reader.js';
import { DEFAULT_FEATURES, resolveFeatures } from '../src/decode/features.js';
import { ValType, type FuncType } from '../src/decode/types.js';
import {
  Heap,
  REF_NON_NULL,
  concreteHeap,
  isDefaultable,
  isRefType,
  isSubtype,
  readValType,
  refType,
  refTypeText,
} from '../src/decode/ref-types.js';
import { qb, qbInstance, outcome } from './helpers/engines.js';

// ---- the representation ----

const ft = (key: string): FuncType => ({ params: [], results: [], key });
const TYPES: FuncType[] = [ft('a'), ft('b'), ft('a')]; // 0 and 2 are the same type (equal keys), 1 another

test('representation: numbers, null-ness, names', () => {
  assert.is(refType(Heap.Func, true), ValType.FuncRef);
  assert.is(refType(Heap.Extern, true), ValType.ExternRef);
  assert.is(refType(Heap.Func, false), ValType.FuncRef | REF_NON_NULL);
  for (const t of [ValType.I32, ValType.I64, ValType.F32, ValType.F64, ValType.V128]) assert.not.ok(isRefType(t));
  for (const h of [Heap.Func, Heap.Extern, Heap.Exn, Heap.NoExn, Heap.NoFunc, Heap.NoExtern, Heap.Any, Heap.None]) {
    assert.ok(isRefType(h));
    assert.ok(isRefType(h | REF_NON_NULL));
  }
  assert.ok(isRefType(concreteHeap(999_999)));
  assert.ok(concreteHeap(999_999) > 0 && (concreteHeap(999_999) | REF_NON_NULL) > 0, 'fits an int32, positive');
  assert.not.ok(isDefaultable(refType(concreteHeap(3), false)));
  assert.ok(isDefaultable(refType(concreteHeap(3), true)));
  assert.is(refTypeText(ValType.FuncRef), 'funcref');
  assert.is(refTypeText(Heap.NoExn), 'nullexnref');
  assert.is(refTypeText(refType(Heap.Func, false)), '(ref func)');
  assert.is(refTypeText(refType(concreteHeap(7), true)), '(ref null 7)');
});

test('subtyping: null-ness, abstract hierarchies, concrete types by canonical key', () => {
  const sub = (a: number, b: number) => isSubtype(a, b, TYPES);
  const c0 = concreteHeap(0), c1 = concreteHeap(1), c2 = concreteHeap(2);
  assert.ok(sub(refType(Heap.Func, false), ValType.FuncRef));
  assert.not.ok(sub(ValType.FuncRef, refType(Heap.Func, false)), 'nullable is not a subtype of non-null');
  assert.ok(sub(refType(c0, false), ValType.FuncRef));
  assert.ok(sub(refType(c0, true), refType(c2, true)), 'equal keys: the same type');
  assert.not.ok(sub(refType(c0, true), refType(c1, true)));
  assert.ok(sub(Heap.NoFunc, refType(c1, true)), 'nofunc is below every function type');
  assert.not.ok(sub(Heap.NoFunc, ValType.ExternRef));
  assert.ok(sub(Heap.NoExtern, ValType.ExternRef));
  assert.ok(sub(Heap.NoExn, Heap.Exn));
  assert.not.ok(sub(Heap.Exn, ValType.ExternRef));
  assert.not.ok(sub(ValType.ExternRef, ValType.FuncRef));
  assert.not.ok(sub(ValType.FuncRef, refType(c0, true)), 'func is above its concrete types, not below');
  assert.ok(sub(Heap.None, Heap.Any));
  assert.not.ok(sub(ValType.I32, ValType.I64));
  assert.ok(sub(ValType.V128, ValType.V128));
});

function decode(bytes: number[], numTypes = 3, features = DEFAULT_FEATURES): number | string {
  const r = new ByteReader(Uint8Array.from(bytes));
  try {
    const t = readValType(r, features, Array.from({ length: numTypes }, () => ft('')));
    return r.pos === bytes.length ? t : `stopped at ${r.pos}`;
  } catch (e) {
    return (e as Error).message;
  }
}

test('binary decoding: shorthands, 0x63/0x64 with abstract and multi-byte concrete heap types, errors', () => {
  assert.is(decode([0x70]), ValType.FuncRef);
  assert.is(decode([0x64, 0x70]), ValType.FuncRef | REF_NON_NULL);
  assert.is(decode([0x63, 0x73]), Heap.NoFunc);
  assert.is(decode([0x63, 0x02]), concreteHeap(2));
  assert.is(decode([0x64, 0x81, 0x01], 200), concreteHeap(129) | REF_NON_NULL, 'type index as an s33 LEB');
  assert.is(decode([0x69]), Heap.Exn);
  assert.match(String(decode([0x63, 0x03])), 'unknown type 3');
  assert.is(decode([0x6e]), Heap.Any, "GC's abstract heap types are types (GC's instructions are not supported)");
  assert.is(decode([0x64, 0x6b]), Heap.Struct | REF_NON_NULL);
  assert.match(String(decode([0x6e], 3, resolveFeatures({ typedFunctionReferences: false }))), 'malformed value type');
  assert.match(String(decode([0x63, 0x40])), 'malformed heap type');
  const off = resolveFeatures({ typedFunctionReferences: false });
  assert.match(String(decode([0x63, 0x00], 3, off)), 'malformed value type');
  assert.match(String(decode([0x73], 3, off)), 'malformed value type');
  assert.is(decode([0x70], 3, off), ValType.FuncRef);
});

// ---- end to end ----

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
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const str = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s)];

interface Fn {
  type: number;
  locals?: number[][]; // [count, ...type bytes]
  body: number[];
  export?: string;
}

/** A module of function types (raw bytes after 0x60), functions, and `elem declare func` of all of them. */
function module(types: number[][], funcs: Fn[]): Uint8Array {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(...section(1, vec(types.map((t) => [0x60, ...t]))));
  out.push(...section(3, vec(funcs.map((f) => uleb(f.type)))));
  const exps = funcs.flatMap((f, i) => (f.export ? [[...str(f.export), 0x00, ...uleb(i)]] : []));
  out.push(...section(7, vec(exps)));
  out.push(...section(9, vec([[0x03, 0x00, ...vec(funcs.map((_, i) => uleb(i)))]])));
  const bodies = funcs.map((f) => {
    const b = [...vec(f.locals ?? []), ...f.body, 0x0b];
    return [...uleb(b.length), ...b];
  });
  out.push(...section(10, vec(bodies)));
  return Uint8Array.from(out);
}

const I32 = 0x7f;
// type 0: (i32) -> i32; type 1: (i32 i32) -> i32; type 2: (i32) -> i32 again (the same type, another index)
const TY = [
  [1, I32, 1, I32],
  [2, I32, I32, 1, I32],
  [1, I32, 1, I32],
];

test('call_ref: calls through a typed reference (also one of an equivalent type index), null traps as V8', () => {
  const bytes = module(TY, [
    // 0: inc(x) = x + 1
    { type: 0, body: [0x20, 0, 0x41, 1, 0x6a] },
    // 1: run(x, which): which ? call_ref $t0 (ref.func 0) x : call_ref $t0 (ref.null $t0) x
    {
      type: 1,
      export: 'run',
      body: [0x20, 0, 0xd2, 0, 0xd0, 0x00, 0x20, 1, 0x1c, 1, 0x63, 0x00, 0x14, 0x00],
    },
    // 2: via2(x) = call_ref $t2 (ref.func 0) x: inc has type 0, equivalent to type 2
    { type: 2, export: 'via2', body: [0x20, 0, 0xd2, 0, 0x14, 0x02] },
  ]);
  for (const lazy of [false, true]) {
    const l = lazy ? qbLazy(bytes) : qbInstance(bytes);
    assert.is(l.run(41, 1), 42);
    assert.is(l.via2(9), 10);
    const o = outcome(() => l.run(1, 0));
    assert.is(o.kind, 'RuntimeError');
    assert.is(o.message, 'dereferencing a null pointer');
  }
});

function qbLazy(bytes: Uint8Array): Record<string, any> {
  return new qb.Instance(new qb.Module(bytes, { lazy: true }), {}).exports;
}

test('ref.as_non_null, br_on_null, br_on_non_null: null and non-null paths through generated code', () => {
  const FR = 0x70;
  const bytes = module(
    [
      [1, I32, 1, I32],
      [1, I32, 1, I32],
    ],
    [
      { type: 0, body: [0x20, 0, 0x41, 1, 0x6a] }, // 0: inc
      // 1: asnn(which) = (ref.as_non_null (which ? ref.func 0 : ref.null func)) then ref.is_null -> 0, or trap
      { type: 1, export: 'asnn', body: [0xd2, 0, 0xd0, FR, 0x20, 0, 0x1c, 1, FR, 0xd4, 0xd1] },
      // 2: bon(which) = block (result i32) { i32.const 7; (which ? ref.func 0 : null); br_on_null 0; drop; drop;
      //    i32.const 100 } : 7 when null (the i32 below the reference is carried), 100 otherwise
      {
        type: 1,
        export: 'bon',
        body: [0x02, I32, 0x41, 7, 0xd2, 0, 0xd0, FR, 0x20, 0, 0x1c, 1, FR, 0xd5, 0, 0x1a, 0x1a, 0x41, 0xe4, 0x00, 0x0b],
      },
      // 3: bonn(which) = block (result (ref null $0)) { (which ? ref.func 0 : null); br_on_non_null 0;
      //    ref.null $0 } -> then call_ref $0 with 5: 6 when non-null, null trap otherwise
      {
        type: 1,
        export: 'bonn',
        body: [0x41, 5, 0x02, 0x63, 0x00, 0xd2, 0, 0xd0, 0x00, 0x20, 0, 0x1c, 1, 0x63, 0x00, 0xd6, 0, 0xd0, 0x00, 0x0b, 0x14, 0x00],
      },
    ],
  );
  for (const e of [qbInstance(bytes), qbLazy(bytes)]) {
    assert.is(e.asnn(1), 0);
    const o = outcome(() => e.asnn(0));
    assert.is(o.kind, 'RuntimeError');
    assert.is(o.message, 'dereferencing a null pointer');
    assert.is(e.bon(0), 7);
    assert.is(e.bon(1), 100);
    assert.is(e.bonn(1), 6);
    assert.is(outcome(() => e.bonn(0)).message, 'dereferencing a null pointer');
  }
});

test('non-defaultable locals: set before get in the same or an enclosing block; an init ends with its block', () => {
  const NN = [0x64, 0x00]; // (ref $0)
  const ok = module(TY.slice(0, 1).concat([[1, I32, 1, I32]]), [
    { type: 0, body: [0x20, 0, 0x41, 1, 0x6a] },
    // local 1: (ref $0); set at top level, read inside a block and an if arm
    {
      type: 1,
      export: 'f',
      locals: [[1, ...NN]],
      body: [0xd2, 0, 0x21, 1, 0x02, 0x40, 0x0b, 0x20, 0, 0x04, I32, 0x20, 0, 0x20, 1, 0x14, 0x00, 0x05, 0x41, 0, 0x0b],
    },
  ]);
  const e = qbInstance(ok);
  assert.is(e.f(4), 5);
  assert.is(e.f(0), 0);
  // set inside a block, read after its end: invalid
  const bad = module(TY.slice(0, 1).concat([[1, I32, 1, I32]]), [
    { type: 0, body: [0x20, 0, 0x41, 1, 0x6a] },
    { type: 1, locals: [[1, ...NN]], body: [0x02, 0x40, 0xd2, 0, 0x21, 1, 0x0b, 0x20, 0, 0x20, 1, 0x14, 0x00] },
  ]);
  const o = outcome(() => qbInstance(bad));
  assert.is(o.kind, 'CompileError');
  assert.match(String(o.message), 'uninitialized local 1');
  // set in the then arm, read in the else arm: invalid
  const arms = module(TY.slice(0, 1).concat([[1, I32, 1, I32]]), [
    { type: 0, body: [0x20, 0, 0x41, 1, 0x6a] },
    {
      type: 1,
      locals: [[1, ...NN]],
      body: [0x20, 0, 0x04, I32, 0xd2, 0, 0x21, 1, 0x41, 0, 0x05, 0x20, 0, 0x20, 1, 0x14, 0x00, 0x0b],
    },
  ]);
  assert.match(String(outcome(() => qbInstance(arms)).message), 'uninitialized local 1');
});

test('block params take the block type: a (ref $t) entering a block as funcref cannot be call_ref-ed inside (as V8 24)', () => {
  const types = [
    [1, I32, 1, I32],
    [1, I32, 1, I32],
    [2, I32, 0x70, 1, I32], // 2: (i32 funcref) -> i32
    [2, I32, 0x63, 0, 1, I32], // 3: (i32 (ref null 0)) -> i32
  ];
  const body = (bt: number) => [0x20, 0, 0xd2, 0, 0x02, bt, 0x14, 0x00, 0x0b];
  const inc = { type: 0, body: [0x20, 0, 0x41, 1, 0x6a] };
  const bad = outcome(() => qbInstance(module(types, [inc, { type: 1, export: 'f', body: body(2) }])));
  assert.is(bad.kind, 'CompileError');
  assert.match(String(bad.message), 'type mismatch');
  assert.is(qbInstance(module(types, [inc, { type: 1, export: 'f', body: body(3) }])).f(4), 5);
});

test('JS boundary: a (ref null $t) parameter takes wasm functions of type $t only, (ref $t) refuses null (as V8 24)', () => {
  const NULLABLE = [0x63, 0x00], NONNULL = [0x64, 0x00];
  const types = [
    [1, I32, 1, I32], // 0: (i32) -> i32
    [0, 0], // 1: () -> ()
    [1, ...NULLABLE, 1, I32], // 2: ((ref null 0)) -> i32
    [1, ...NONNULL, 1, I32], // 3: ((ref 0)) -> i32
  ];
  const bytes = module(types, [
    { type: 0, export: 'inc', body: [0x20, 0, 0x41, 1, 0x6a] },
    { type: 1, export: 'nop', body: [] },
    { type: 2, export: 'callit', body: [0x41, 7, 0x20, 0, 0x14, 0x00] },
    { type: 3, export: 'nn', body: [0x41, 7, 0x20, 0, 0x14, 0x00] },
  ]);
  const e = qbInstance(bytes);
  assert.is(e.callit(e.inc), 8);
  assert.is(e.nn(e.inc), 8);
  const wrongSig = outcome(() => e.callit(e.nop));
  assert.is(wrongSig.kind, 'TypeError');
  assert.is(wrongSig.message, 'type incompatibility when transforming from/to JS');
  assert.is(outcome(() => e.callit(() => 1)).kind, 'TypeError', 'a JS function is not a wasm function of type 0');
  assert.is(outcome(() => e.nn(null)).message, 'type incompatibility when transforming from/to JS');
  const o = outcome(() => e.callit(null));
  assert.is(o.kind, 'RuntimeError');
  assert.is(o.message, 'dereferencing a null pointer');
  // another instance's function of an equivalent type is accepted
  const other = qbInstance(bytes);
  assert.is(e.callit(other.inc), 8);
});

test('JS API objects of typed references: global and table values keep their type (TypeErrors where V8 24 has them)', () => {
  // type 0 (i32)->i32, type 1 ()->(); global 0 (mut (ref null 0)); table 0: 1 (ref null 0); table 1: 1 (ref 0)
  // initialised with ref.func 0 (0x40 0x00 tabletype expr); exports g, t, tn, inc (type 0), nop (type 1)
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  out.push(...section(1, vec([[0x60, 1, I32, 1, I32], [0x60, 0, 0]])));
  out.push(...section(3, vec([[0], [1]])));
  out.push(...section(4, vec([[0x63, 0, 0, 1], [0x40, 0, 0x64, 0, 0, 1, 0xd2, 0, 0x0b]])));
  out.push(...section(6, vec([[0x63, 0, 1, 0xd0, 0, 0x0b]])));
  const exp = (name: string, kind: number, idx: number) => [...str(name), kind, idx];
  out.push(...section(7, vec([exp('g', 3, 0), exp('t', 1, 0), exp('tn', 1, 1), exp('inc', 0, 0), exp('nop', 0, 1)])));
  out.push(...section(9, vec([[0x03, 0x00, ...vec([[0], [1]])]])));
  out.push(...section(10, vec([[7, 0, 0x20, 0, 0x41, 1, 0x6a, 0x0b], [2, 0, 0x0b]])));
  const e = qbInstance(Uint8Array.from(out));
  const kind = (f: () => unknown) => outcome(f).kind;
  e.g.value = e.inc;
  assert.is(e.g.value, e.inc);
  assert.is(kind(() => (e.g.value = e.nop)), 'TypeError');
  e.g.value = null;
  assert.is(e.g.value, null);
  assert.is(kind(() => e.t.set(0, e.nop)), 'TypeError');
  e.t.set(0, e.inc);
  assert.is(e.t.get(0), e.inc);
  assert.is(e.tn.get(0)(4), 5, 'the initialiser filled the table');
  assert.is(kind(() => e.tn.grow(1)), 'TypeError', 'a non-nullable table needs a value to grow');
  assert.is(kind(() => e.tn.set(0, null)), 'TypeError');
  assert.is(e.tn.grow(1, e.inc), 1);
  assert.is(e.tn.get(1)(1), 2);
});

test.run();
