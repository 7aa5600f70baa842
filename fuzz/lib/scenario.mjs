// Lifetime and re-entry scenarios for scripts/fuzz-lazy: what to do with a module besides calling its
// exports once in order. A scenario is JSON (built by the parent from the module and a seed, replayed
// identically by every engine's worker):
//
//   { family: 'ttf'|'lazygen', reset, fuel, fuelPerCall, table, imports: [ImportDesc + actions],
//     linker: { wasm (base64), targets, exports: [{ name, params, results }] } | null, steps: [Step],
//     qbOptions?: { eager: {...}, lazy: {...} } (more Quickbeam Module options, e.g. threads) }
//
// Steps (instances are numbered; A = the fuzzed module, B = the linker module of lazy-gen.mjs):
//   module {mod}                 compile A and keep the Module object as #mod (else every instance gets a
//                                fresh Module that is dropped as soon as it is instantiated)
//   dropModule {mod}             forget Module #mod
//   inst {id, mod|null}          instantiate A
//   link {id, from}              instantiate B with A-instance `from`'s exports as its imports
//   call {inst, name, args, params, results}                  an export, from JS
//   callTable {inst, table, index, args, params, results}      table.get(index)(...args) from JS
//   hold {key, inst, what: 'export'|'elem'|'table', name, index}  keep a function or table, not its instance
//   callHeld {key, index?, args, params, results}              call what was held (its instance may be gone)
//   tableSet {inst, index, from, name}   put instance `from`'s export `name` (A's or B's) into A-instance
//                                inst's table
//   drop {inst}                  forget an instance (B instances keep their A's functions alive)
//   gc {turns}                   global.gc() + a timer turn (FinalizationRegistry callbacks run), repeated
//   churn {globals, memories, tables, instances, modules}    allocate and drop native objects
//   deep {inst, name, n, args}   deep_k(n, 1, ...) / rec(n, k, 1) far past the stack limit (RangeError)
//   edge {inst, name, args, d}   find the deepest n for which name(n, 0, ...) does not overflow, then call
//                                name(n - d, 1, ...) for each d: the callee is first reached (and lazily
//                                compiled) with almost no stack left. The outcome is engine-specific.
//   observe {}                   the state of every live instance
// Steps may carry `pure: true` (nothing observable depends on how deep the stack got) and
// `volatile: true` (the outcome may legitimately differ: only crashes count, see compareScenario).
//
// Imported functions of A log their calls and then do their import's next action (cycled by a counter
// shared by the whole scenario): none | reenter {target: 'self'|instance, name, args, rethrow} | gc | churn
// | table {index, args} | throw | nested {name, args} (compile and instantiate A afresh inside the import
// and call one of its exports) | drop {inst}. Re-entry is bounded (depth 2, 12 per step).

import { Rng } from './util.mjs';
import { parseModule, addExports } from './wasm.mjs';
import { importDescs, randomArg, typeName } from './plan.mjs';
import { encodeValue, decodeValue, defaultValue, errorEvent, observe, makeMemory, makeTable, trapKind } from './exec.mjs';
import { buildLinker, churnModule } from './lazy-gen.mjs';

const MAX_IMPORT_EVENTS = 2000;
const MAX_REENTRY_DEPTH = 2;
const MAX_REENTRIES_PER_STEP = 12;

// ---------------------------------------------------------------------------------------------------
// Describing the module under test

/**
 * Prepare a binaryen (-ttf) module: export its table (as `tbl`) and about half of the functions it does
 * not export (as `__f<N>`), so that they can be reached first from JS and through the exported table.
 */
export function exposeTtf(bytes, seed) {
  const rng = new Rng(seed ^ 0x5a5a);
  const m = parseModule(bytes);
  const exported = new Set(m.exports.filter((e) => e.kind === 0).map((e) => e.index));
  const extra = [];
  if (m.tables.length > 0 && m.numImportedTables === 0 && !m.exports.some((e) => e.kind === 1)) extra.push({ name: 'tbl', kind: 1, index: 0 });
  for (let f = m.numImportedFuncs; f < m.funcs.length; f++) {
    if (!exported.has(f) && rng.bool(0.5)) extra.push({ name: `__f${f}`, kind: 0, index: f });
  }
  return extra.length ? addExports(bytes, extra) : bytes;
}

/** What the scenario builder needs to know about module A. meta: lazy-gen's description (else null). */
export function describeModule(bytes, meta = null) {
  const m = parseModule(bytes);
  const ftype = (fi) => {
    const t = m.types[m.funcs[fi]];
    return t ? { params: t.params.map(typeName), results: t.results.map(typeName) } : null;
  };
  const pureSet = new Set(meta?.pureIndices ?? []);
  const exportsOut = [];
  for (const e of m.exports) {
    if (e.kind !== 0) continue;
    const t = ftype(e.index);
    if (!t || [...t.params, ...t.results].includes('v128')) continue;
    exportsOut.push({ name: e.name, index: e.index, ...t, pure: pureSet.has(e.index) });
  }
  // The exported table (the first one) and its initial elements.
  let table = null, slots = [];
  const te = m.exports.find((e) => e.kind === 1);
  if (te) {
    const tab = m.tables[te.index];
    const size = Number(tab?.limits?.min ?? tab?.min ?? 0);
    if (size <= 4096 && (tab.elemType === 0x70 || tab.elemType === undefined)) {
      table = te.name;
      slots = Array.from({ length: size }, () => null);
      for (const seg of m.elems) {
        if (seg.mode !== 'active' || seg.table !== te.index) continue;
        const off = seg.offset?.length === 1 && seg.offset[0].op === 0x41 ? Number(seg.offset[0].imm) : null;
        if (off === null) continue;
        seg.funcs.forEach((fi, k) => {
          if (off + k < size && fi !== null) {
            const t = ftype(fi);
            slots[off + k] = t && ![...t.params, ...t.results].includes('v128') ? { index: fi, ...t, pure: pureSet.has(fi) } : null;
          }
        });
      }
    }
  }
  const hasExport = (n) => m.exports.some((e) => e.kind === 0 && e.name === n);
  const hasGlobal = (n) => m.exports.some((e) => e.kind === 3 && e.name === n);
  const recSlots = meta ? slots.map((s, k) => (s && s.pure && s.params.length === 1 && s.params[0] === 'i32' && s.results.length === 1 && s.results[0] === 'i32' ? k : -1)).filter((k) => k >= 0) : [];
  return {
    family: meta ? 'lazygen' : 'ttf',
    exports: exportsOut.filter((e) => e.name !== 'hangLimitInitializer' && e.name !== 'rec'),
    table,
    slots,
    reset: hasExport('hangLimitInitializer') ? 'hangLimitInitializer' : null,
    fuel: hasGlobal('fuel') ? 'fuel' : null,
    rec: meta && hasExport('rec') ? 'rec' : null,
    recSlots,
    imports: importDescs(m),
  };
}

// ---------------------------------------------------------------------------------------------------
// Building a scenario

/**
 * A random scenario for module A (described by describeModule) from `seed`. Options: steps (how many
 * random steps, default 20-60), linker (probability of building the linker module, default 0.8).
 */
export function buildScenario(desc, seed, opts = {}) {
  const rng = new Rng(seed);
  const args = (params) => params.map((t) => randomArg(rng, t));
  const callable = desc.exports;
  // The linker: up to 6 exports of A, imported by B.
  let linker = null;
  if (callable.length && rng.bool(opts.linker ?? 0.8)) {
    const targets = [];
    const pool = [...callable];
    const n = Math.min(pool.length, rng.range(1, 6));
    for (let i = 0; i < n; i++) {
      const e = pool.splice(rng.int(pool.length), 1)[0];
      targets.push({ from: e.name, params: e.params, results: e.results, pure: e.pure });
    }
    const L = buildLinker(targets);
    linker = { wasm: Buffer.from(L.bytes).toString('base64'), targets, exports: L.exports.map((x) => ({ ...x, pure: targets[x.k].pure })) };
  }
  // Import actions.
  const aInstances = [], bInstances = [];
  const imports = desc.imports.map((d) => {
    if (d.kind !== 'func') return d;
    const actions = [];
    const n = rng.range(1, 6);
    for (let i = 0; i < n; i++) {
      const r = rng.float();
      if (r < 0.45 || !callable.length) actions.push({ do: 'none' });
      else if (r < 0.72) {
        const e = rng.pick(callable);
        actions.push({ do: 'reenter', target: rng.bool(0.6) ? 'self' : rng.int(3), name: e.name, args: args(e.params), params: e.params, results: e.results, rethrow: rng.bool(0.15) });
      } else if (r < 0.8) actions.push({ do: 'gc' });
      else if (r < 0.85) actions.push({ do: 'churn', globals: rng.range(10, 300), instances: rng.int(3) });
      else if (r < 0.9 && desc.table && desc.slots.length) {
        const index = rng.int(desc.slots.length);
        const s = desc.slots[index];
        actions.push({ do: 'table', index, args: s ? args(s.params) : [], params: s?.params ?? [], results: s?.results ?? [] });
      } else if (r < 0.93) actions.push({ do: 'throw' });
      else if (r < 0.97) {
        const e = rng.pick(callable);
        actions.push({ do: 'nested', name: e.name, args: args(e.params), params: e.params, results: e.results });
      } else actions.push({ do: 'drop', inst: rng.int(4) });
    }
    return { ...d, actions };
  });
  const steps = [];
  let nextId = 0, nextMod = 0;
  const modules = [];
  const live = () => [...aInstances, ...bInstances];
  const newA = () => {
    let mod = null;
    if (modules.length && rng.bool(0.5)) mod = rng.pick(modules);
    else if (rng.bool(0.25)) {
      mod = nextMod++;
      modules.push(mod);
      steps.push({ op: 'module', mod });
    }
    const id = nextId++;
    steps.push({ op: 'inst', id, mod });
    aInstances.push(id);
    return id;
  };
  const newB = () => {
    if (!linker || !aInstances.length) return;
    const id = nextId++;
    steps.push({ op: 'link', id, from: rng.pick(aInstances) });
    bInstances.push(id);
  };
  const callA = (inst) => {
    if (!callable.length) return;
    const e = rng.pick(callable);
    steps.push({ op: 'call', inst, name: e.name, args: args(e.params), params: e.params, results: e.results });
  };
  const callB = (inst) => {
    const e = rng.pick(linker.exports.filter((x) => x.kind !== 'deep' || rng.bool(0.3)));
    const a = e.kind === 'deep' ? [rng.range(0, 300), 1, ...args(e.params.slice(2))] : args(e.params);
    steps.push({ op: 'call', inst, name: e.name, args: a, params: e.params, results: e.results });
  };
  const held = [];
  const deferred = [];
  let nextKey = 0;
  newA();
  if (rng.bool(0.3)) newA();
  if (rng.bool(0.5)) newB();
  if (rng.bool(0.5)) steps.push({ op: 'gc', turns: rng.range(1, 3) });
  const nSteps = opts.steps ?? rng.range(20, 60);
  for (let s = 0; s < nSteps; s++) {
    const r = rng.float();
    if (!aInstances.length) { newA(); continue; }
    if (r < 0.3) callA(rng.pick(aInstances));
    else if (r < 0.4) {
      if (desc.table && desc.slots.length) {
        const index = rng.bool(0.95) ? rng.int(desc.slots.length) : desc.slots.length + rng.int(3);
        const sl = desc.slots[index];
        steps.push({ op: 'callTable', inst: rng.pick(aInstances), table: desc.table, index, args: sl ? args(sl.params) : [], params: sl?.params ?? [], results: sl?.results ?? [] });
      } else callA(rng.pick(aInstances));
    } else if (r < 0.54) {
      if (bInstances.length) callB(rng.pick(bInstances));
      else newB();
    } else if (r < 0.58) newA();
    else if (r < 0.61) newB();
    else if (r < 0.66) {
      const inst = rng.pick(aInstances);
      const key = nextKey++;
      const w = rng.float();
      if (w < 0.5 && callable.length) {
        const e = rng.pick(callable);
        steps.push({ op: 'hold', key, inst, what: 'export', name: e.name });
        held.push({ key, params: e.params, results: e.results });
      } else if (desc.table && desc.slots.length) {
        const index = rng.int(desc.slots.length);
        if (w < 0.8) {
          const sl = desc.slots[index];
          steps.push({ op: 'hold', key, inst, what: 'elem', name: desc.table, index });
          held.push({ key, params: sl?.params ?? [], results: sl?.results ?? [] });
        } else {
          steps.push({ op: 'hold', key, inst, what: 'table', name: desc.table });
          held.push({ key, table: true });
        }
      }
    } else if (r < 0.74) {
      if (!held.length) continue;
      const h = rng.pick(held);
      if (h.table) {
        const index = rng.int(desc.slots.length);
        const sl = desc.slots[index];
        steps.push({ op: 'callHeld', key: h.key, index, args: sl ? args(sl.params) : [], params: sl?.params ?? [], results: sl?.results ?? [] });
      } else steps.push({ op: 'callHeld', key: h.key, args: args(h.params), params: h.params, results: h.results });
    } else if (r < 0.755) {
      // another instance's export into this instance's table: call_indirect and table.get then reach it
      // (never into a slot of a pure function: pure functions call_indirect only those)
      const free = desc.slots.map((x, i) => (x && x.pure ? -1 : i)).filter((i) => i >= 0);
      if (desc.table && free.length && callable.length) {
        if (bInstances.length && rng.bool(0.3)) {
          // a function of the linker module (another module's types: call_indirect checks the signature)
          const e = rng.pick(linker.exports.filter((x) => x.kind !== 'deep'));
          steps.push({ op: 'tableSet', inst: rng.pick(aInstances), index: rng.pick(free), from: rng.pick(bInstances), name: e.name });
        } else {
          const e = rng.pick(callable);
          steps.push({ op: 'tableSet', inst: rng.pick(aInstances), index: rng.pick(free), from: rng.pick(aInstances), name: e.name });
        }
      }
    } else if (r < 0.78) {
      const all = live();
      const inst = rng.pick(all);
      steps.push({ op: 'drop', inst });
      aInstances.splice(aInstances.indexOf(inst), aInstances.includes(inst) ? 1 : 0);
      bInstances.splice(bInstances.indexOf(inst), bInstances.includes(inst) ? 1 : 0);
      if (rng.bool(0.6)) steps.push({ op: 'gc', turns: rng.range(1, 3) });
    } else if (r < 0.86) steps.push({ op: 'gc', turns: rng.range(1, 3) });
    else if (r < 0.91) steps.push({ op: 'churn', globals: rng.range(0, 2000), memories: rng.int(3), tables: rng.int(20), instances: rng.int(12), modules: rng.int(3) });
    else if (r < 0.93 && modules.length) steps.push({ op: 'dropModule', mod: modules.splice(rng.int(modules.length), 1)[0] });
    else if (r < 0.965) {
      // far past the stack limit, then carry on (pure: the recursion itself has no effects)
      if (desc.rec && desc.recSlots.length && rng.bool(0.5)) {
        steps.push({ op: 'deep', inst: rng.pick(aInstances), name: desc.rec, n: 10_000_000, args: [rng.pick(desc.recSlots)], pure: true });
      } else if (bInstances.length) {
        const e = rng.pick(linker.exports.filter((x) => x.kind === 'deep'));
        steps.push({ op: 'deep', inst: rng.pick(bInstances), name: e.name, n: 10_000_000, args: args(e.params.slice(2)), pure: true });
      }
    } else if (r < 0.985) {
      // a first call (lazy compile) with almost no stack left
      const d = [0, 1, 2, 3, 5, 8, 16, 40, 100].filter(() => rng.bool(0.4));
      if (!d.length) d.push(rng.range(0, 4));
      if (desc.rec && desc.recSlots.length && rng.bool(0.5)) {
        steps.push({ op: 'edge', inst: rng.pick(aInstances), name: desc.rec, args: [rng.pick(desc.recSlots)], d, volatile: true, pure: true });
      } else if (bInstances.length) {
        const e = rng.pick(linker.exports.filter((x) => x.kind === 'deep'));
        const step = { op: 'edge', inst: rng.pick(bInstances), name: e.name, args: args(e.params.slice(2)), d, volatile: true, pure: !!e.pure };
        // Not pure: nothing can be compared after it, so it goes to the end (followed by more calls).
        if (step.pure) steps.push(step);
        else deferred.push(step);
      }
    } else steps.push({ op: 'observe' });
  }
  // Finally: collect, churn, and call every export of every live instance once more (in random order),
  // then every held function.
  steps.push({ op: 'gc', turns: 2 });
  steps.push({ op: 'churn', globals: 1500, memories: 1, tables: 10, instances: 8, modules: 2 });
  const finals = [];
  for (const inst of aInstances) for (const e of callable) finals.push({ op: 'call', inst, name: e.name, args: args(e.params), params: e.params, results: e.results });
  for (const inst of bInstances) for (const e of linker.exports.filter((x) => x.kind !== 'deep')) finals.push({ op: 'call', inst, name: e.name, args: args(e.params), params: e.params, results: e.results });
  for (let i = finals.length - 1; i > 0; i--) { const j = rng.int(i + 1); [finals[i], finals[j]] = [finals[j], finals[i]]; }
  steps.push(...finals.slice(0, opts.maxFinalCalls ?? 48));
  for (const h of held) {
    if (h.table) continue;
    steps.push({ op: 'callHeld', key: h.key, args: args(h.params), params: h.params, results: h.results });
  }
  steps.push({ op: 'observe' });
  if (deferred.length) {
    steps.push(...deferred);
    for (let i = 0; i < 6 && finals.length; i++) steps.push(rng.pick(finals));
  }
  return { family: desc.family, reset: desc.reset, fuel: desc.fuel, fuelPerCall: 400, table: desc.table, imports, linker, steps };
}

// ---------------------------------------------------------------------------------------------------
// Running a scenario (in a worker: the same code for every engine)

let churnBytes = null;

/**
 * Run scenario `sc` on module `bytes` in engine E. Options: moduleOptions (Quickbeam: { lazy }),
 * onModule(module) (a hook for every Module of A created, e.g. a planted bug), gc (function; default
 * globalThis.gc), profile (an object that receives the milliseconds spent per step kind), dump (memory
 * images in the state events, base64: for debugging a memory-hash difference). Resolves to the trace: [{ ev: 'step', k, op }, events of the step..., ...].
 */
export async function runScenario(E, bytes, sc, opts = {}) {
  const gc = opts.gc ?? globalThis.gc ?? (() => {});
  const trace = [];
  const ctx = {
    instances: new Map(), // id -> { kind: 'A'|'B', exports, from }
    modules: new Map(),
    held: new Map(),
    importCalls: 0,
    importEvents: 0,
    depth: 0,
    reentries: 0,
  };
  churnBytes ??= churnModule();
  const moduleOptions = opts.moduleOptions;
  const compileA = () => {
    const m = moduleOptions ? new E.Module(bytes, moduleOptions) : new E.Module(bytes);
    if (opts.onModule) opts.onModule(m);
    return m;
  };
  const linkerBytes = sc.linker ? new Uint8Array(Buffer.from(sc.linker.wasm, 'base64')) : null;
  const push = (e) => trace.push(e);

  const prepare = (id) => {
    const rec = ctx.instances.get(id);
    if (!rec) return;
    // B instances: their A's fuel and reset (kept at link time: the A instance itself may be gone)
    if (rec.fuel) rec.fuel.value = sc.fuelPerCall;
    if (rec.reset) rec.reset();
  };
  const valuesOf = (r, results) => (results.length === 0 ? [] : results.length === 1 ? [encodeValue(r, results[0])] : Array.from(r, (x, i) => encodeValue(x, results[i])));
  const doCall = (f, argv, params, results, evPrefix = '') => {
    if (typeof f !== 'function') { push({ ev: evPrefix + 'throw', name: 'missing', msg: typeof f }); return; }
    try {
      const r = f(...params.map((t, i) => decodeValue(argv[i], t)));
      push({ ev: evPrefix + 'result', values: valuesOf(r, results) });
    } catch (e) {
      const x = errorEvent(E, e);
      // The wasm frames of a trap's backtrace (`wasm-function[N]:0xOFFSET`, as V8 prints them too): eager
      // and lazy code must symbolize the same (lazily compiled code has its own code ranges).
      if (x.ev === 'trap' && x.kind !== 'stack-overflow') x.frames = framesOf(e);
      push({ ...x, ev: evPrefix + x.ev });
    }
  };
  const churn = (c) => {
    const keep = [];
    for (let i = 0; i < (c.globals ?? 0); i++) keep.push(new E.Global({ value: 'i64', mutable: true }, BigInt(i)));
    for (let i = 0; i < (c.memories ?? 0); i++) keep.push(new E.Memory({ initial: 1, maximum: 2 }));
    for (let i = 0; i < (c.tables ?? 0); i++) keep.push(new E.Table({ element: 'anyfunc', initial: 8 }));
    if (c.instances || c.modules) {
      ctx.churnModule ??= moduleOptions ? new E.Module(churnBytes, moduleOptions) : new E.Module(churnBytes);
      for (let i = 0; i < (c.instances ?? 0); i++) {
        const inst = new E.Instance(ctx.churnModule, {});
        if (i % 2 === 0) inst.exports.run(i);
        keep.push(inst);
      }
      for (let i = 0; i < (c.modules ?? 0); i++) {
        const m = moduleOptions ? new E.Module(churnBytes, moduleOptions) : new E.Module(churnBytes);
        new E.Instance(m, {}).exports.run(i);
      }
    }
    keep.length = 0;
  };

  // Imports of A instance `id`.
  const importsFor = (id) => {
    const obj = {};
    for (const d of sc.imports) {
      const ns = (obj[d.module] ??= {});
      switch (d.kind) {
        case 'func': {
          const { name, params, results, actions } = d;
          ns[name] = (...argv) => {
            const n = ctx.importCalls++;
            if (++ctx.importEvents <= MAX_IMPORT_EVENTS) push({ ev: 'import', inst: id, name, args: params.map((t, k) => encodeValue(argv[k], t)) });
            const a = actions?.length ? actions[n % actions.length] : null;
            if (a && ctx.importEvents <= MAX_IMPORT_EVENTS) hostAction(a, id);
            if (results.length === 0) return undefined;
            const v = (t) => (t === 'i32' ? n & 0xffff : t === 'i64' ? BigInt(n) : t === 'f32' || t === 'f64' ? n / 4 : defaultValue(t));
            return results.length === 1 ? v(results[0]) : results.map(v);
          };
          break;
        }
        case 'memory': ns[d.name] = makeMemory(E, d); break;
        case 'table': ns[d.name] = makeTable(E, d); break;
        case 'global': {
          const v = d.type === 'i64' ? 0n : d.type === 'funcref' || d.type === 'externref' ? null : 0;
          ns[d.name] = d.type === 'v128' ? null : new E.Global({ value: d.type === 'funcref' ? 'anyfunc' : d.type, mutable: !!d.mutable }, v);
          break;
        }
        default: ns[d.name] = undefined;
      }
    }
    return obj;
  };
  const hostAction = (a, self) => {
    switch (a.do) {
      case 'none': return;
      // (bounded per step: a full collection costs milliseconds, and imports may be called thousands of times)
      case 'gc': if (ctx.hostGcs++ < 2) gc(); else if (ctx.hostGcs < 8) gc({ type: 'minor' }); return;
      case 'churn': if (ctx.hostChurns++ < 3) churn(a); return;
      case 'throw': push({ ev: 'host-throw' }); throw new Error('thrown by the host import');
      case 'drop': ctx.instances.delete(a.inst); if (ctx.hostGcs++ < 2) gc(); return;
      case 'reenter': case 'table': case 'nested': {
        if (ctx.depth >= MAX_REENTRY_DEPTH || ctx.reentries >= MAX_REENTRIES_PER_STEP) return;
        ctx.reentries++;
        ctx.depth++;
        try {
          if (a.do === 'reenter') {
            const target = a.target === 'self' ? self : a.target;
            const rec = ctx.instances.get(target);
            push({ ev: 'reenter', target: a.target === 'self' ? 'self' : target, name: a.name, live: !!rec });
            if (!rec) return;
            const f = rec.exports[a.name];
            if (a.rethrow) {
              // let a trap or exception unwind through the wasm frames below this import
              const r = typeof f === 'function' ? f(...a.params.map((t, i) => decodeValue(a.args[i], t))) : undefined;
              push({ ev: 'nested-result', values: typeof f === 'function' ? valuesOf(r, a.results) : ['missing'] });
            } else doCall(f, a.args, a.params, a.results, 'nested-');
          } else if (a.do === 'table') {
            const rec = ctx.instances.get(self);
            const t = rec && sc.table ? rec.exports[sc.table] : undefined;
            push({ ev: 'reenter-table', index: a.index });
            if (!t) return;
            let f;
            try { f = t.get(a.index); } catch (e) { push(errorEvent(E, e)); return; }
            if (f === null) { push({ ev: 'nested-null' }); return; }
            doCall(f, a.args, a.params, a.results, 'nested-');
          } else {
            push({ ev: 'nested-instance', name: a.name });
            let inst;
            try {
              inst = new E.Instance(compileA(), importsFor(-1));
            } catch (e) { push(errorEvent(E, e)); return; }
            doCall(inst.exports[a.name], a.args, a.params, a.results, 'nested-');
          }
        } finally {
          ctx.depth--;
        }
        return;
      }
      default: return;
    }
  };

  const addA = (id, instance) => {
    const ex = instance.exports;
    ctx.instances.set(id, {
      kind: 'A', exports: ex,
      fuel: sc.fuel ? ex[sc.fuel] : null, reset: sc.reset ? ex[sc.reset] : null,
    });
  };
  const observeAll = () => {
    for (const [id, rec] of [...ctx.instances].sort((x, y) => x[0] - y[0])) push({ ...observe(rec.exports, { nanMask: true }, !!opts.dump), inst: id });
  };
  const observeOne = (id) => {
    const rec = ctx.instances.get(id);
    if (!rec) return;
    if (rec.kind === 'B') {
      const a = ctx.instances.get(rec.from);
      if (a) push({ ...observe(a.exports, { nanMask: true }, !!opts.dump), inst: rec.from });
    }
    push({ ...observe(rec.exports, { nanMask: true }, !!opts.dump), inst: id });
  };
  // The deepest n for which f(n, 0, ...rest) returns (the stack limit), or -1.
  const probe = (f, rest) => {
    const ok = (n) => {
      try { f(n, 0, ...rest); return true; } catch (e) {
        if (trapKind(e?.message) === 'stack-overflow' || e instanceof RangeError) return false;
        throw e;
      }
    };
    let lo = 0, hi = 256;
    while (ok(hi)) {
      lo = hi;
      hi *= 2;
      if (hi > (1 << 23)) return -1;
    }
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (ok(mid)) lo = mid; else hi = mid;
    }
    return lo;
  };

  for (let k = 0; k < sc.steps.length; k++) {
    const s = sc.steps[k];
    push({ ev: 'step', k, op: s.op });
    const tStep = opts.profile ? performance.now() : 0;
    ctx.reentries = 0;
    ctx.importEvents = 0;
    ctx.hostGcs = 0;
    ctx.hostChurns = 0;
    try {
      switch (s.op) {
        case 'module': ctx.modules.set(s.mod, compileA()); break;
        case 'dropModule': ctx.modules.delete(s.mod); break;
        case 'inst': {
          try {
            // Without a kept Module, nothing but the instance survives this block.
            const instance = s.mod !== null && s.mod !== undefined
              ? (ctx.modules.has(s.mod) ? new E.Instance(ctx.modules.get(s.mod), importsFor(s.id)) : null)
              : new E.Instance(compileA(), importsFor(s.id));
            if (!instance) { push({ ev: 'instantiate', ok: false, error: 'no-module' }); break; }
            addA(s.id, instance);
            push({ ev: 'instantiate', ok: true });
          } catch (e) {
            const x = errorEvent(E, e);
            push({ ev: 'instantiate', ok: false, error: x.ev === 'trap' ? 'trap:' + x.kind : x.name, msg: x.msg });
          }
          break;
        }
        case 'link': {
          const a = ctx.instances.get(s.from);
          if (!a) { push({ ev: 'instantiate', ok: false, error: 'no-instance' }); break; }
          try {
            const imp = { a: {} };
            sc.linker.targets.forEach((t, k) => { imp.a[`i${k}`] = a.exports[t.from]; });
            const instance = new E.Instance(moduleOptions ? new E.Module(linkerBytes, moduleOptions) : new E.Module(linkerBytes), imp);
            ctx.instances.set(s.id, { kind: 'B', exports: instance.exports, from: s.from, fuel: a.fuel, reset: a.reset });
            push({ ev: 'instantiate', ok: true });
          } catch (e) {
            const x = errorEvent(E, e);
            push({ ev: 'instantiate', ok: false, error: x.ev === 'trap' ? 'trap:' + x.kind : x.name, msg: x.msg });
          }
          break;
        }
        case 'call': {
          const rec = ctx.instances.get(s.inst);
          if (!rec) { push({ ev: 'gone' }); break; }
          prepare(s.inst);
          doCall(rec.exports[s.name], s.args, s.params, s.results);
          observeOne(s.inst);
          break;
        }
        case 'callTable': {
          const rec = ctx.instances.get(s.inst);
          if (!rec) { push({ ev: 'gone' }); break; }
          let f;
          try { f = rec.exports[s.table].get(s.index); } catch (e) { push(errorEvent(E, e)); break; }
          if (f === null) { push({ ev: 'null' }); break; }
          prepare(s.inst);
          doCall(f, s.args, s.params, s.results);
          observeOne(s.inst);
          break;
        }
        case 'hold': {
          const rec = ctx.instances.get(s.inst);
          if (!rec) { push({ ev: 'gone' }); break; }
          let v = null;
          try {
            v = s.what === 'export' ? rec.exports[s.name] : s.what === 'elem' ? rec.exports[s.name].get(s.index) : rec.exports[s.name];
          } catch (e) { push(errorEvent(E, e)); break; }
          // Only the function (or table) and the fuel global are kept: not the instance.
          ctx.held.set(s.key, { v, fuel: rec.fuel });
          push({ ev: 'held', what: v === null ? 'null' : typeof v });
          break;
        }
        case 'callHeld': {
          const h = ctx.held.get(s.key);
          if (!h || h.v === null || h.v === undefined) { push({ ev: 'gone' }); break; }
          let f = h.v;
          if (typeof f !== 'function') {
            try { f = f.get(s.index); } catch (e) { push(errorEvent(E, e)); break; }
            if (f === null) { push({ ev: 'null' }); break; }
          }
          if (sc.fuel && h.fuel) h.fuel.value = sc.fuelPerCall;
          doCall(f, s.args, s.params, s.results);
          break;
        }
        case 'tableSet': {
          const rec = ctx.instances.get(s.inst), from = ctx.instances.get(s.from);
          if (!rec || !from || !sc.table) { push({ ev: 'gone' }); break; }
          try { rec.exports[sc.table].set(s.index, from.exports[s.name]); push({ ev: 'set' }); } catch (e) { push(errorEvent(E, e)); }
          break;
        }
        case 'drop': ctx.instances.delete(s.inst); break;
        case 'gc':
          for (let t = 0; t < (s.turns ?? 1); t++) {
            gc();
            await new Promise((r) => setTimeout(r, 1));
          }
          break;
        case 'churn': churn(s); break;
        case 'deep': {
          const rec = ctx.instances.get(s.inst);
          if (!rec) { push({ ev: 'gone' }); break; }
          prepare(s.inst);
          const f = rec.exports[s.name];
          doCall(f, [s.n, 1, ...s.args], ['i32', 'i32', ...paramsOf(sc, s)], resultsOf(sc, s));
          break;
        }
        case 'edge': {
          const rec = ctx.instances.get(s.inst);
          if (!rec) { push({ ev: 'gone' }); break; }
          const f = rec.exports[s.name];
          if (typeof f !== 'function') { push({ ev: 'throw', name: 'missing', msg: s.name }); break; }
          const ps = paramsOf(sc, s);
          const rest = ps.map((t, i) => decodeValue(s.args[i], t));
          let limit;
          try { limit = probe(f, rest); } catch (e) { push(errorEvent(E, e)); break; }
          if (limit < 0) { push({ ev: 'no-limit' }); break; }
          for (const d of s.d) {
            prepare(s.inst);
            doCall(f, [Math.max(0, limit - d), 1, ...s.args], ['i32', 'i32', ...ps], resultsOf(sc, s));
          }
          break;
        }
        case 'observe': observeAll(); break;
        default: push({ ev: 'unknown-step' });
      }
      // After a recursion to the stack limit, the fuel left depends on how deep the engine got: reset it.
      if ((s.op === 'deep' || s.op === 'edge') && sc.fuel) {
        const rec = ctx.instances.get(s.inst);
        if (rec?.fuel) rec.fuel.value = sc.fuelPerCall;
      }
    } catch (e) {
      // Outside any wasm call (e.g. a RangeError recording an event near the stack limit)
      push({ ev: 'step-error', name: e?.name, msg: String(e?.message).slice(0, 200) });
    }
    if (opts.profile) opts.profile[s.op] = (opts.profile[s.op] ?? 0) + performance.now() - tStep;
  }
  return trace;
}

function framesOf(e) {
  let stack = '';
  try { stack = String(e?.stack ?? ''); } catch { /* unreadable */ }
  return (stack.match(/wasm-function\[\d+\]:0x[0-9a-f]+/g) ?? []).slice(0, 24).join(' ');
}

function paramsOf(sc, s) {
  if (s.name === 'rec') return ['i32'];
  const e = sc.linker?.exports.find((x) => x.name === s.name);
  return e ? e.params.slice(2) : [];
}

function resultsOf(sc, s) {
  if (s.name === 'rec') return ['i32'];
  return sc.linker?.exports.find((x) => x.name === s.name)?.results ?? [];
}

// ---------------------------------------------------------------------------------------------------
// Comparing two scenario traces

const NAN_EQUAL = (a, b) => a === b || (a === 'nan' && b === 'nan');

function sameValues(a, b) {
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!NAN_EQUAL(a[i], b[i])) return false;
  return true;
}

const isOverflow = (e) => (/(^|-)trap$/.test(e.ev) && e.kind === 'stack-overflow') || (e.ev === 'step-error' && e.name === 'RangeError');

/**
 * Differences between two scenario traces: [{ step, op, what, expected, actual }]. `strict` (two runs of
 * the same engine, e.g. eager vs lazy Quickbeam): memory images must be identical; else (V8 vs Quickbeam)
 * NaN bytes may differ (masked hashes). A step in which either side overflowed the stack is skipped when
 * the scenario marks it pure; otherwise nothing after it is compared (what happened before the overflow
 * depends on the depth, which is implementation-defined); the result says where comparison stopped (cut).
 * A step marked volatile is compared only when neither side overflowed.
 * Returns { diffs, cut: step index | null, skipped: count }.
 */
export function compareScenario(expected, actual, sc, { strict = false } = {}) {
  const groups = (t) => {
    const out = [];
    for (const e of t) {
      if (e.ev === 'step') out.push({ k: e.k, op: e.op, evs: [] });
      else if (out.length) out[out.length - 1].evs.push(e);
    }
    return out;
  };
  const ge = groups(expected), ga = groups(actual);
  const diffs = [];
  let skipped = 0;
  const n = Math.min(ge.length, ga.length);
  for (let g = 0; g < n; g++) {
    const E = ge[g].evs, A = ga[g].evs;
    const step = sc.steps[ge[g].k] ?? {};
    const push = (what, e, a) => diffs.push({ step: ge[g].k, op: step.op, what, expected: e, actual: a });
    const oe = E.some(isOverflow), oa = A.some(isOverflow);
    if (oe || oa) {
      if (step.pure) { skipped++; continue; }
      // a one-sided overflow in an ordinary step (recursion is bounded there) is a difference
      if (oe !== oa && !step.volatile) push('stack-overflow', oe ? 'overflow' : 'no overflow', oa ? 'overflow' : 'no overflow');
      return { diffs, cut: ge[g].k, skipped };
    }
    const len = Math.max(E.length, A.length);
    for (let i = 0; i < len; i++) {
      const x = E[i], y = A[i];
      if (!x || !y) { push('event-count', E.length, A.length); break; }
      if (x.ev !== y.ev) { push('event', describeEvent(x), describeEvent(y)); break; }
      if (!sameEvent(x, y, strict, push)) break;
    }
  }
  if (ge.length !== ga.length) diffs.push({ step: Math.min(ge.length, ga.length), what: 'step-count', expected: ge.length, actual: ga.length });
  return { diffs, cut: null, skipped };
}

function sameEvent(x, y, strict, push) {
  switch (x.ev) {
    case 'result': case 'nested-result':
      if (!sameValues(x.values, y.values)) { push('result', x.values, y.values); return false; }
      return true;
    case 'trap': case 'nested-trap':
      if (x.kind !== y.kind) { push('trap', `${x.kind} (${x.msg})`, `${y.kind} (${y.msg})`); return false; }
      if (strict && (x.frames ?? '') !== (y.frames ?? '')) { push('backtrace', `${x.kind} at ${x.frames}`, `at ${y.frames}`); return false; }
      return true;
    case 'throw': case 'nested-throw': case 'step-error':
      if (x.name !== y.name) { push('throw', `${x.name}: ${x.msg}`, `${y.name}: ${y.msg}`); return false; }
      return true;
    case 'instantiate':
      if (x.ok !== y.ok || (!x.ok && x.error !== y.error)) { push('instantiate', x.ok ? 'ok' : `${x.error}: ${x.msg}`, y.ok ? 'ok' : `${y.error}: ${y.msg}`); return false; }
      return true;
    case 'import':
      if (x.name !== y.name || x.inst !== y.inst || !sameValues(x.args, y.args)) { push('import', describeEvent(x), describeEvent(y)); return false; }
      return true;
    case 'state': {
      let ok = true;
      const by = (xs) => new Map(xs.map((m) => [m.name, m]));
      const ma = by(y.memories);
      for (const m of x.memories) {
        const o = ma.get(m.name);
        if (!o) { push('memory', m.name, 'missing'); ok = false; continue; }
        if (m.pages !== o.pages) { push('memory-size', `${m.name}: ${m.pages} pages`, `${o.name}: ${o.pages} pages`); ok = false; } else if (m.hash !== o.hash && (strict || !(m.masked && m.masked === o.masked))) { push('memory-hash', `inst ${x.inst} ${m.name}: ${m.hash}`, o.hash); ok = false; }
      }
      const ga = by(y.globals);
      for (const v of x.globals) {
        const o = ga.get(v.name);
        if (!o || !(v.value === o.value || (v.value === 'num:nan' && o.value === 'num:nan'))) { push('global', `inst ${x.inst} ${v.name} = ${v.value}`, `${v.name} = ${o?.value}`); ok = false; }
      }
      const ta = by(y.tables);
      for (const t of x.tables) {
        const o = ta.get(t.name);
        if (!o || o.length !== t.length || o.hash !== t.hash) { push('table', `inst ${x.inst} ${t.name}: ${t.length} ${t.hash}`, `${o?.length} ${o?.hash}`); ok = false; }
      }
      if (x.inst !== y.inst) { push('state-instance', x.inst, y.inst); ok = false; }
      return ok;
    }
    default:
      if (JSON.stringify(x) !== JSON.stringify(y)) { push(x.ev, describeEvent(x), describeEvent(y)); return false; }
      return true;
  }
}

export function describeEvent(e) {
  if (!e) return 'nothing';
  switch (e.ev) {
    case 'result': case 'nested-result': return `${e.ev} ${e.values.join(', ')}`;
    case 'trap': case 'nested-trap': return `${e.ev} ${e.kind}`;
    case 'import': return `import ${e.name}(${e.args.join(', ')}) from ${e.inst}`;
    default: return JSON.stringify(e).slice(0, 160);
  }
}

/** One line for a difference list. */
export function describeScenarioDiffs(diffs, max = 3) {
  const fmt = (v) => (typeof v === 'string' ? v : JSON.stringify(v));
  return diffs.slice(0, max).map((d) => `step ${d.step}${d.op ? ` (${d.op})` : ''} ${d.what}: expected ${fmt(d.expected)}, got ${fmt(d.actual)}`).join('; ') +
    (diffs.length > max ? ` (+${diffs.length - max} more)` : '');
}
