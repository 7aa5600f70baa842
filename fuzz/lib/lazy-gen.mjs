// Module generators for scripts/fuzz-lazy (lazy compilation, lifetimes and re-entry):
//
// - generateLazyModule(seed): a module whose functions call each other in any graph (cycles and self
//   recursion included) directly and through a table, call host imports (the scenario's re-entry points),
//   and are split into pure functions (no stores, no global writes, no imports) and impure ones. Work and
//   recursion depth are bounded by a `fuel` global (exported; the scenario sets it before each call).
//   `rec(n, k, go)` recurses n levels (pure, no fuel) and then, when go != 0, calls table slot k (a pure
//   function) with call_indirect: with n just under the stack limit, that first call lazily compiles
//   a function with almost no stack left. Only some functions are exported, so the others are first
//   reached through calls, call_indirect or the exported table.
// - buildLinker(targets): the second module of a scenario. It imports some exports of the first module's
//   instance (wasm -> wasm calls across instances) and exports, for each import k: call_k (a direct call),
//   icall_k (call_indirect through its own exported table `btbl`), re_k (the import re-exported) and
//   deep_k(n, go, ...params) (n levels of recursion, then, when go != 0, the import).
//
// Types in descriptions are names ('i32', 'i64', 'f32', 'f64', 'funcref', 'externref').

import { ModuleBuilder, Code, T } from './wasm.mjs';
import { Rng } from './util.mjs';

const NUM = ['i32', 'i64', 'f32', 'f64'];
const BYTE = { i32: T.i32, i64: T.i64, f32: T.f32, f64: T.f64, funcref: T.funcref, externref: T.externref, v128: T.v128 };

/** Push the default value of a type. */
function pushDefault(c, t) {
  switch (t) {
    case 'i32': return c.i32(0);
    case 'i64': return c.i64(0);
    case 'f32': return c.op(0x43).f32(0);
    case 'f64': return c.op(0x44).f64(0);
    case 'funcref': return c.op(0xd0, 0x70);
    case 'externref': return c.op(0xd0, 0x6f);
    default: throw new Error(`no default for ${t}`);
  }
}

/** Block type for `results`: 0x40, a single value type, or a type index (multi-value). */
function blockType(b, c, results) {
  if (results.length === 0) return c.u8(0x40);
  if (results.length === 1) return c.u8(BYTE[results[0]]);
  return c.s32(b.type([], results.map((t) => BYTE[t])));
}

// Conversions: [from][to] -> opcode bytes.
const CONVERT = {
  i32: { i64: [0xac], f32: [0xb2], f64: [0xb7] },
  i64: { i32: [0xa7], f32: [0xb4], f64: [0xb9] },
  f32: { i32: [0xfc, 0x00], i64: [0xfc, 0x04], f64: [0xbb] }, // trunc_sat (never traps)
  f64: { i32: [0xfc, 0x02], i64: [0xfc, 0x06], f32: [0xb6] },
};
const TRAPPING_CONVERT = { f32: { i32: [0xa8], i64: [0xae] }, f64: { i32: [0xaa], i64: [0xb0] } };
const BINOPS = {
  i32: [0x6a, 0x6b, 0x6c, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77],
  i64: [0x7c, 0x7d, 0x7e, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89],
  f32: [0x92, 0x93, 0x94, 0x95, 0x96, 0x97],
  f64: [0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5],
};
const DIVOPS = { i32: [0x6d, 0x6e, 0x6f, 0x70], i64: [0x7f, 0x80, 0x81, 0x82] };
const LOAD = { i32: [0x28, 2], i64: [0x29, 3], f32: [0x2a, 2], f64: [0x2b, 3] };
const STORE = { i32: [0x36, 2], i64: [0x37, 3], f32: [0x38, 2], f64: [0x39, 3] };

/**
 * A module for the lazy-compilation fuzzer. Returns { bytes, meta } where meta describes what the
 * scenario builder needs: { family: 'lazygen', fuel, funcs: [{ index, export, params, results, pure }],
 * table, tableSlots: [funcIndex|null], pureSlots, rec, imports: [{ name, params, results }] }.
 */
export function generateLazyModule(seed, opts = {}) {
  const rng = new Rng(seed);
  const b = new ModuleBuilder();
  const nImports = rng.range(1, 4);
  const nFuncs = rng.range(opts.minFuncs ?? 6, opts.maxFuncs ?? 28);
  const randType = (maxParams, maxResults) => {
    const params = Array.from({ length: rng.int(maxParams + 1) }, () => rng.pick(NUM));
    const r = rng.float();
    const nr = r < 0.15 ? 0 : r < 0.85 || maxResults < 2 ? 1 : 2;
    return { params, results: Array.from({ length: Math.min(nr, maxResults) }, () => rng.pick(NUM)) };
  };
  // Imports: the host functions (the scenario decides what each call does: log, re-enter, gc, throw, ...).
  const imports = [];
  for (let i = 0; i < nImports; i++) {
    const t = randType(3, 1);
    const name = `h${i}`;
    b.importFunc('env', name, t.params.map((x) => BYTE[x]), t.results.map((x) => BYTE[x]));
    imports.push({ name, ...t });
  }
  // Function signatures and purity first (bodies refer to any function). A few pure (i32) -> i32
  // functions are the targets of rec's call_indirect.
  const funcs = [];
  for (let i = 0; i < nFuncs; i++) {
    const t = i < 2 ? { params: ['i32'], results: ['i32'] } : randType(4, 2);
    funcs.push({ index: nImports + i, ...t, pure: i < 2 || rng.bool(0.45), export: null });
  }
  const pure = funcs.filter((f) => f.pure), impure = funcs.filter((f) => !f.pure);
  // Table: pure functions first (slots [0, pureSlots)), then impure ones, then empty slots.
  const shuffle = (a) => { for (let i = a.length - 1; i > 0; i--) { const j = rng.int(i + 1); [a[i], a[j]] = [a[j], a[i]]; } return a; };
  const pureSlotsList = shuffle([...pure, ...pure.filter(() => rng.bool(0.3))]).map((f) => f.index);
  const impureSlotsList = shuffle([...impure]).map((f) => f.index);
  const tableSlots = [...pureSlotsList, ...impureSlotsList, ...Array.from({ length: rng.int(3) }, () => null)];
  const pureSlots = pureSlotsList.length;
  const byIndex = new Map(funcs.map((f) => [f.index, f]));
  const sameSig = (x, y) => x.params.join() === y.params.join() && x.results.join() === y.results.join();

  const G_FUEL = 0, G_ACC = 1;
  b.global(T.i32, true, new Code().i32(0).bytes(), 'fuel');
  b.global(T.i64, true, new Code().i64(0).bytes(), 'acc');
  b.memory({ min: 1, max: 2 }, 'mem');
  b.table({ min: tableSlots.length, max: tableSlots.length + 4 }, 'tbl');

  for (const f of funcs) {
    const code = new Code();
    const nParams = f.params.length;
    const extra = Array.from({ length: rng.range(1, 5) }, () => rng.pick(NUM));
    const localTypes = [...f.params, ...extra];
    const locals = extra.map((t) => ({ count: 1, type: BYTE[t] }));
    const localsOf = (t) => localTypes.map((x, i) => (x === t ? i : -1)).filter((i) => i >= 0);
    // Prologue: fuel -= 1; if fuel < 0, return the defaults.
    code.u8(0x23).u32(G_FUEL).i32(1).op(0x6b).u8(0x24).u32(G_FUEL);
    code.u8(0x23).u32(G_FUEL).i32(0).op(0x48).u8(0x04).u8(0x40);
    for (const t of f.results) pushDefault(code, t);
    code.op(0x0f, 0x0b);
    // Give every extra local a value (from params) so results are not constant.
    let budget = 40; // expression nodes per function
    const expr = (t, depth) => {
      budget--;
      const leaf = depth <= 0 || budget <= 0;
      const r = rng.float();
      if (leaf || r < 0.25) {
        const ls = localsOf(t);
        if (ls.length && rng.bool(0.7)) return code.localGet(rng.pick(ls));
        return constant(t);
      }
      if (r < 0.45) {
        // binary op (division may trap, rarely: the divisor is forced odd most of the time)
        if ((t === 'i32' || t === 'i64') && rng.bool(0.15)) {
          expr(t, depth - 1);
          expr(t, depth - 1);
          if (rng.bool(0.8)) { if (t === 'i32') code.i32(1).op(0x72); else code.i64(1).op(0x84); }
          return code.op(rng.pick(DIVOPS[t]));
        }
        expr(t, depth - 1);
        expr(t, depth - 1);
        return code.op(rng.pick(BINOPS[t]));
      }
      if (r < 0.55) {
        const from = rng.pick(NUM.filter((x) => x !== t));
        expr(from, depth - 1);
        const trapping = TRAPPING_CONVERT[from]?.[t];
        return code.op(...(trapping && rng.bool(0.05) ? trapping : CONVERT[from][t]));
      }
      if (r < 0.62) {
        // load (in bounds: address masked to the first 64 KiB - 8)
        expr('i32', depth - 1);
        code.i32(0xfff8).op(0x71);
        return code.memop(LOAD[t][0], LOAD[t][1], rng.bool(0.8) ? 0 : rng.int(8));
      }
      if (r < 0.68 && t === 'i64') return code.u8(0x23).u32(G_ACC);
      if (r < 0.74) {
        // if/else expression
        expr('i32', depth - 1);
        code.u8(0x04).u8(BYTE[t]);
        expr(t, depth - 1);
        code.u8(0x05);
        expr(t, depth - 1);
        return code.u8(0x0b);
      }
      // a call (direct or indirect) of a function with a first result of type t
      const cands = (f.pure ? pure : funcs).filter((g) => g.results[0] === t);
      if (!cands.length) return constant(t);
      const g = rng.pick(cands);
      callValue(g, depth);
      for (let k = 1; k < g.results.length; k++) code.u8(0x1a);
      return code;
    };
    const constant = (t) => {
      switch (t) {
        case 'i32': return code.i32(rng.bool(0.5) ? rng.range(-4, 64) : rng.u32() | 0);
        case 'i64': return code.i64(rng.bool(0.5) ? BigInt(rng.range(-4, 64)) : BigInt.asIntN(64, rng.u64()));
        case 'f32': return code.op(0x43).f32(rng.pick([0, -0, 1, -1.5, 0.5, 1e10, NaN, Infinity, rng.float() * 100]));
        case 'f64': return code.op(0x44).f64(rng.pick([0, -0, 1, -1.5, 0.5, 1e300, NaN, -Infinity, rng.float() * 1e6]));
      }
      throw new Error(t);
    };
    // Push g's arguments and call it, directly or through the table (pure callers: pure slots only).
    const callValue = (g, depth) => {
      for (const p of g.params) expr(p, depth - 1);
      const slotsOfG = tableSlots.map((x, i) => (x === g.index ? i : -1)).filter((i) => i >= 0 && (!f.pure || i < pureSlots));
      if (slotsOfG.length && rng.bool(0.4)) {
        const ty = b.type(g.params.map((x) => BYTE[x]), g.results.map((x) => BYTE[x]));
        const sameType = tableSlots.map((x, i) => (x !== null && i !== slotsOfG[0] && sameSig(byIndex.get(x), g) && (!f.pure || i < pureSlots) ? i : -1)).filter((i) => i >= 0);
        if (rng.bool(0.55)) code.i32(rng.pick(slotsOfG));
        else if (rng.bool(0.85)) {
          // a computed index selecting between two functions of g's type
          code.i32(slotsOfG[0]).i32(sameType.length ? rng.pick(sameType) : rng.pick(slotsOfG));
          expr('i32', depth - 1);
          code.u8(0x1b); // select
        } else {
          // a computed index: may select a function of another type (trap) or an empty slot (trap)
          expr('i32', depth - 1);
          code.i32(f.pure ? pureSlots : tableSlots.length).op(0x70); // rem_u
        }
        return code.u8(0x11).u32(ty).u8(0);
      }
      return code.call(g.index);
    };
    const assignable = localTypes.length; // loop counters (added later) are never assigned by statements
    const stmt = (depth) => {
      const r = rng.float();
      if (depth <= 0 || r < 0.3 || (f.pure && r < 0.4)) {
        const t = rng.int(assignable);
        if (assignable === 0) return;
        expr(localTypes[t], depth);
        code.localSet(t);
        return;
      }
      if (r < 0.5 || (f.pure && r < 0.8)) {
        // a call for its effects
        const g = rng.pick(f.pure ? pure : funcs);
        callValue(g, depth);
        for (let k = 0; k < g.results.length; k++) code.u8(0x1a);
        return;
      }
      if (f.pure) {
        // a small counted loop around a statement (several calls of the same callee)
        loop(depth);
        return;
      }
      if (r < 0.63) {
        const t = rng.pick(NUM);
        expr('i32', depth - 1);
        if (rng.bool(0.9)) code.i32(0xfff8).op(0x71);
        expr(t, depth - 1);
        code.memop(STORE[t][0], STORE[t][1], rng.int(16));
        return;
      }
      if (r < 0.72) {
        code.u8(0x23).u32(G_ACC);
        expr('i64', depth - 1);
        code.op(0x7c).u8(0x24).u32(G_ACC);
        return;
      }
      if (r < 0.9) {
        const h = rng.int(nImports);
        for (const p of imports[h].params) expr(p, depth - 1);
        code.call(h);
        for (let k = 0; k < imports[h].results.length; k++) code.u8(0x1a);
        return;
      }
      loop(depth);
    };
    const loop = (depth) => {
      // block { loop { if (counter >= n) br 1; body; counter++; br 0 } }, counter in a fresh i32 local
      const counter = localTypes.length;
      localTypes.push('i32');
      locals.push({ count: 1, type: T.i32 });
      code.i32(0).localSet(counter);
      code.u8(0x02).u8(0x40).u8(0x03).u8(0x40);
      code.localGet(counter).i32(rng.range(1, 4)).op(0x4e).u8(0x0d).u32(1); // i32.ge_s; br_if 1
      stmt(depth - 1);
      code.localGet(counter).i32(1).op(0x6a).localSet(counter);
      code.u8(0x0c).u32(0).u8(0x0b).u8(0x0b);
    };
    for (let k = 0; k < extra.length; k++) {
      if (nParams > 0 && rng.bool(0.6)) {
        const p = rng.int(nParams);
        code.localGet(p);
        if (f.params[p] !== extra[k]) code.op(...CONVERT[f.params[p]][extra[k]]);
      } else constant(extra[k]);
      code.localSet(nParams + k);
    }
    const nStmts = rng.range(1, 6);
    for (let k = 0; k < nStmts; k++) stmt(3);
    for (const t of f.results) expr(t, 2);
    // extra results of locals' types only; the body's value stack now holds exactly the results
    f.body = code.bytes();
    f.locals = locals;
  }
  for (const f of funcs) {
    b.funcs.push({ type: b.type(f.params.map((x) => BYTE[x]), f.results.map((x) => BYTE[x])), locals: f.locals, body: f.body });
    delete f.body;
    delete f.locals;
    if (rng.bool(0.5)) {
      f.export = `f${f.index}`;
      b.exports.push({ name: f.export, kind: 0, index: f.index });
    }
  }
  // rec(n, k, go) -> i32: n levels of pure recursion, then (go != 0) call_indirect slot k as (i32) -> i32
  // with argument 0, whose result is passed up unchanged.
  const recIndex = nImports + b.funcs.length;
  const tI32 = b.type([T.i32], [T.i32]);
  const rc = new Code();
  rc.localGet(0).op(0x45).u8(0x04).u8(T.i32); // if n == 0
  rc.localGet(2).u8(0x04).u8(T.i32).i32(0).localGet(1).u8(0x11).u32(tI32).u8(0).u8(0x05).i32(0).u8(0x0b);
  // (the result does not depend on n: how deep the stack can go is engine-specific)
  rc.u8(0x05).localGet(0).i32(1).op(0x6b).localGet(1).localGet(2).call(recIndex).u8(0x0b);
  b.func([T.i32, T.i32, T.i32], [T.i32], [], rc.bytes(), 'rec');
  b.elem(tableSlots.filter((x) => x !== null), 0, new Code().i32(0).bytes());
  // Exported functions must also be reachable by their export names: make sure at least two are.
  if (!funcs.some((f) => f.export)) {
    funcs[0].export = `f${funcs[0].index}`;
    b.exports.push({ name: funcs[0].export, kind: 0, index: funcs[0].index });
  }
  const bytes = b.build();
  return {
    bytes,
    meta: { family: 'lazygen', fuel: 'fuel', funcs, table: 'tbl', tableSlots, pureSlots, rec: 'rec', imports, pureIndices: pure.map((f) => f.index) },
  };
}

/**
 * The linker module: imports `targets` ([{ from (export name), params, results }]) as a.i<k> and exports
 * call_k / icall_k / re_k / deep_k and the table btbl (slot k = import k). Returns { bytes, exports:
 * [{ name, params, results, k, kind }] }.
 */
export function buildLinker(targets) {
  const b = new ModuleBuilder();
  const bt = (ts) => ts.map((x) => BYTE[x]);
  targets.forEach((t, k) => b.importFunc('a', `i${k}`, bt(t.params), bt(t.results)));
  const n = targets.length;
  const exportsOut = [];
  b.table({ min: n, max: n }, 'btbl');
  targets.forEach((t, k) => {
    const np = t.params.length;
    // call_k: a direct wasm -> wasm call into the other instance
    const c1 = new Code();
    for (let i = 0; i < np; i++) c1.localGet(i);
    c1.call(k);
    b.func(bt(t.params), bt(t.results), [], c1.bytes(), `call_${k}`);
    exportsOut.push({ name: `call_${k}`, params: t.params, results: t.results, k, kind: 'call' });
    // icall_k: the same through this module's table
    const c2 = new Code();
    for (let i = 0; i < np; i++) c2.localGet(i);
    c2.i32(k).u8(0x11).u32(b.type(bt(t.params), bt(t.results))).u8(0);
    b.func(bt(t.params), bt(t.results), [], c2.bytes(), `icall_${k}`);
    exportsOut.push({ name: `icall_${k}`, params: t.params, results: t.results, k, kind: 'icall' });
    // re_k: the imported function re-exported
    b.exports.push({ name: `re_${k}`, kind: 0, index: k });
    exportsOut.push({ name: `re_${k}`, params: t.params, results: t.results, k, kind: 're' });
    // deep_k(n, go, ...params): recursion n levels deep, then (go != 0) the import; non-tail, so frames pile up
    const self = n + b.funcs.length;
    const c3 = new Code();
    c3.localGet(0).op(0x45).u8(0x04);
    blockType(b, c3, t.results);
    c3.localGet(1).u8(0x04);
    blockType(b, c3, t.results);
    for (let i = 0; i < np; i++) c3.localGet(2 + i);
    c3.call(k).u8(0x05);
    for (const r of t.results) pushDefault(c3, r);
    c3.u8(0x0b).u8(0x05);
    c3.localGet(0).i32(1).op(0x6b).localGet(1);
    for (let i = 0; i < np; i++) c3.localGet(2 + i);
    c3.call(self).u8(0x0b);
    b.func([T.i32, T.i32, ...bt(t.params)], bt(t.results), [], c3.bytes(), `deep_${k}`);
    exportsOut.push({ name: `deep_${k}`, params: ['i32', 'i32', ...t.params], results: t.results, k, kind: 'deep' });
  });
  if (n) b.elem(targets.map((_, k) => k), 0, new Code().i32(0).bytes());
  return { bytes: b.build(), exports: exportsOut };
}

/** A tiny module for heap churn: three functions, one exported calling the other two. */
export function churnModule() {
  const b = new ModuleBuilder();
  const f0 = b.func([T.i32], [T.i32], [], new Code().localGet(0).i32(3).op(0x6c).bytes());
  const f1 = b.func([T.i32], [T.i32], [], new Code().localGet(0).i32(1).op(0x6a).bytes());
  b.func([T.i32], [T.i32], [], new Code().localGet(0).call(f0).call(f1).bytes(), 'run');
  b.memory({ min: 1, max: 1 }, 'mem');
  return b.build();
}
