// Resource lifetime (issue 12): V8-owned linear memories (base fixed across grow, buffers detached like V8's),
// native state in GC-owned ArrayBuffers with no per-instance registration, deterministic release with
// `[Symbol.dispose]()` that is never a use-after-free, and soak loops with a bound on RSS. Everything that
// could crash the process on a bug runs in a child process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ModuleBuilder, Code, T, Op } from './helpers/wasm-builder.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const dist = (p: string): string => JSON.stringify(path.join(root, 'dist/src', p));

/** Run an ES module script in a fresh process; its last stdout line is JSON. */
function child(script: string, flags: string[] = []): unknown {
  const prelude = `
    import qb from ${dist('index.js')};
    import { getLinearMemory } from ${dist('api/memory.js')};
    import { instanceState } from ${dist('api/instance.js')};
    const DISPOSE = Symbol.dispose ?? Symbol.for('nodejs.dispose');
    const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
    const outcome = (f) => { try { return { value: f() }; } catch (e) { return { error: e.name, message: e.message }; } };
  `;
  const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', prelude + script], { encoding: 'utf8', timeout: 300_000 });
  assert.is(r.status, 0, `child exited with ${r.status} ${r.signal ?? ''}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const b64 = (bytes: Uint8Array): string => JSON.stringify(Buffer.from(bytes).toString('base64'));

/** grow(n) -> old pages, st(addr, v) stores a byte, ld(addr) loads one; memory imported as env.mem or defined. */
function memModule(opts: { import?: boolean; min?: number; max?: number; i64?: boolean; exportMem?: boolean } = {}): Uint8Array {
  const b = new ModuleBuilder();
  const limits = { min: opts.min ?? 1, max: opts.max, i64: opts.i64 };
  if (opts.import) b.importMemory('env', 'mem', limits);
  else b.memory(limits, opts.exportMem === false ? undefined : 'mem');
  const A = opts.i64 ? T.i64 : T.i32;
  const addr = (c: Code, i: number): Code => (opts.i64 ? c.local_get(i).op(0xad) : c.local_get(i)); // i64.extend_i32_u
  b.func([T.i32], [A], (c) => (opts.i64 ? c.local_get(0).op(0xad) : c.local_get(0)).memory_grow().end(), { export: 'grow' });
  b.func([T.i32, T.i32], [], (c) => addr(c, 0).local_get(1).mem(Op.i32_store8).end(), { export: 'st' });
  b.func([T.i32], [T.i32], (c) => addr(c, 0).mem(Op.i32_load8_u).end(), { export: 'ld' });
  return b.build();
}

test('V8-owned memories: fixed base across grow from wasm and JS, detached buffers, 0-page memories, which memories are V8-owned', () => {
  const out = child(`
    const imp = new qb.Module(b64(${b64(memModule({ import: true, min: 0, max: 10 }))}));
    const mem = new qb.Memory({ initial: 0, maximum: 10 });
    const lm = getLinearMemory(mem);
    const base0 = lm.base;
    const b0 = mem.buffer;
    const x = new qb.Instance(imp, { env: { mem } }).exports;
    const r = [];
    r.push(lm.v8Backed, b0.byteLength, x.grow(1), b0.byteLength, mem.buffer.byteLength, lm.base === base0);
    x.st(65535, 7);
    r.push(new Uint8Array(mem.buffer)[65535]);
    const b1 = mem.buffer;
    r.push(mem.grow(2), b1.byteLength, mem.buffer !== b1, mem.buffer.byteLength, lm.base === base0);
    x.st(3 * 65536 - 1, 9);
    r.push(x.ld(3 * 65536 - 1), x.ld(65535));
    const b2 = mem.buffer;
    r.push(x.grow(100), b2.byteLength === 3 * 65536, outcome(() => mem.grow(8)).error, b2.byteLength === 3 * 65536);
    // A window is a view of its own: never detached, it keeps the memory alive.
    const w = mem.window(65535, 1);
    mem.grow(1);
    r.push(w.length, w[0]);
    // Which memories are V8's: every memory32; memory64 with a maximum of at most 65536 pages.
    const kind = (d) => getLinearMemory(new qb.Memory(d)).v8Backed;
    r.push(kind({ initial: 1 }), kind({ initial: 1, maximum: 65536 }), kind({ initial: 1n, maximum: 16n, address: 'i64' }),
      kind({ initial: 1n, maximum: 65536n, address: 'i64' }), kind({ initial: 1n, address: 'i64' }), kind({ initial: 1n, maximum: 65537n, address: 'i64' }));
    // memory64 backed by V8: grows and detaches the same way.
    const m64 = new qb.Instance(new qb.Module(b64(${b64(memModule({ i64: true, min: 1, max: 16 }))}))).exports;
    const c = m64.mem.buffer;
    r.push(m64.grow(1), c.byteLength, m64.mem.buffer.byteLength);
    m64.st(2 * 65536 - 1, 5);
    r.push(new Uint8Array(m64.mem.buffer)[2 * 65536 - 1]);
    console.log(JSON.stringify(r, (k, v) => typeof v === 'bigint' ? String(v) : v));
  `);
  assert.equal(out, [
    true, 0, 0, 0, 65536, true,
    7,
    1, 0, true, 3 * 65536, true,
    9, 7,
    -1, true, 'RangeError', true,
    1, 7,
    true, true, true, true, false, false,
    '1', 0, 2 * 65536,
    5,
  ]);
});

test('file mappings work over a V8-owned memory', () => {
  const out = child(`
    import fs from 'node:fs';
    import os from 'node:os';
    import path from 'node:path';
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qb-lifetime-')), 'data');
    fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
    const x = new qb.Instance(new qb.Module(b64(${b64(memModule({ min: 2, max: 4 }))}))).exports;
    const info = x.mem.mapFile(file, { at: 4096 });
    const r = [getLinearMemory(x.mem).v8Backed, info.mappedLength, x.ld(4096), x.ld(4096 + 8191), x.ld(4095)];
    x.st(4096, 1); // private: the file is unchanged
    r.push(x.ld(4096), fs.readFileSync(file)[0]);
    x.grow(1); // growing never disturbs a mapping
    r.push(x.ld(4097), new Uint8Array(x.mem.buffer)[4097]);
    x.mem.unmap(4096);
    r.push(x.ld(4097));
    console.log(JSON.stringify(r));
  `);
  assert.equal(out, [true, 8192, 0x5a, 0x5a, 0, 1, 0x5a, 0x5a, 0x5a, 0]);
});

/** A module whose functions call an import, a table entry and a global: the shapes dispose must cover. */
function userModules(): { lib: Uint8Array; user: Uint8Array } {
  // lib: exports f (returns 42 + the value of import env.h()), a table holding f, and its memory.
  const lib = new ModuleBuilder();
  const h = lib.importFunc('env', 'h', [], [T.i32]);
  lib.memory({ min: 1 }, 'mem');
  lib.table(T.funcref, { min: 1 }, 'tab');
  const f = lib.func([], [T.i32], (c) => c.i32_const(42).call(h).op(0x6a).end(), { export: 'f' });
  lib.elem({ mode: 'active', offset: new Code().i32_const(0), funcs: [f] });
  lib.func([T.i32], [T.i32], (c) => c.local_get(0).mem(Op.i32_load8_u).end(), { export: 'ld' });
  // user: imports lib's f, table and memory; callF calls f directly, callT through the table, ld reads memory.
  const user = new ModuleBuilder();
  const uf = user.importFunc('lib', 'f', [], [T.i32]);
  user.importTable('lib', 'tab', T.funcref, { min: 1 });
  user.importMemory('lib', 'mem', { min: 1 });
  const ty = user.type([], [T.i32]);
  user.func([], [T.i32], (c) => c.call(uf).end(), { export: 'callF' });
  user.func([], [T.i32], (c) => c.i32_const(0).call_indirect(ty).end(), { export: 'callT' });
  user.func([T.i32], [T.i32], (c) => c.local_get(0).mem(Op.i32_load8_u).end(), { export: 'ld' });
  return { lib: lib.build(), user: user.build() };
}

test('instance[Symbol.dispose]: every way into a disposed instance throws, an importer of its memory keeps it', () => {
  const { lib, user } = userModules();
  const out = child(`
    const L = new qb.Module(b64(${b64(lib)}));
    const U = new qb.Module(b64(${b64(user)}));
    const libI = new qb.Instance(L, { env: { h: () => 1 } });
    const lx = libI.exports;
    new Uint8Array(lx.mem.buffer)[5] = 77;
    const imports = { lib: { f: lx.f, tab: lx.tab, mem: lx.mem } };
    const userI = new qb.Instance(U, imports);
    const u = userI.exports;
    const r = [u.callF(), u.callT(), lx.f()];
    const fromTable = lx.tab.get(0);
    libI[DISPOSE]();
    libI[DISPOSE](); // idempotent
    for (const f of [() => lx.f(), () => fromTable(), () => u.callF(), () => u.callT()]) {
      const o = outcome(f);
      r.push(o.error, o.message);
    }
    // The memory is still imported by the live user instance: it keeps working, from wasm and from JS.
    const lm = getLinearMemory(lx.mem);
    r.push(u.ld(5), new Uint8Array(lx.mem.buffer)[5], lm.released);
    // Linking to a disposed instance's function is allowed (calling it throws); disposing that second user
    // leaves the memory to the first.
    const u2 = new qb.Instance(U, imports);
    r.push(outcome(() => u2.exports.callF()).error);
    u2[DISPOSE]();
    r.push(lm.released, u.ld(5));
    // The last holder goes: the memory is released; its Memory object throws, a buffer taken before stays safe.
    const old = lx.mem.buffer;
    userI[DISPOSE]();
    r.push(lm.released, outcome(() => lx.mem.buffer).error, old.byteLength, new Uint8Array(old)[5], outcome(() => u.ld(5)).error);
    console.log(JSON.stringify(r));
  `);
  const D = 'call to a function of a disposed instance';
  assert.equal(out, [
    43, 43, 43,
    'RuntimeError', D, 'RuntimeError', D, 'RuntimeError', D, 'RuntimeError', D,
    77, 77, false,
    'RuntimeError',
    false, 77,
    true, 'TypeError', 65536, 77, 'RuntimeError',
  ]);
});

test('release follows the last holder: memory disposed first, then its importers; LinkError for a disposed memory', () => {
  const out = child(`
    const M = new qb.Module(b64(${b64(memModule({ import: true, min: 1, max: 4 }))}));
    const mem = new qb.Memory({ initial: 1, maximum: 4 });
    const lm = getLinearMemory(mem);
    const a = new qb.Instance(M, { env: { mem } });
    const b = new qb.Instance(M, { env: { mem } });
    a.exports.st(3, 33);
    const old = mem.buffer;
    mem[DISPOSE]();
    const r = [outcome(() => mem.buffer).error, outcome(() => mem.grow(1)).error, outcome(() => mem.read(0, 1)).error, lm.released];
    // Still held by a and b: both keep working (and can grow it from wasm).
    r.push(b.exports.ld(3), a.exports.grow(1), b.exports.ld(65536 + 3));
    a[DISPOSE]();
    r.push(lm.released, b.exports.ld(3));
    b[DISPOSE]();
    r.push(lm.released, old.byteLength, outcome(() => new qb.Instance(M, { env: { mem } })).error);
    // A memory created by JS and never imported is released at once.
    const lone = new qb.Memory({ initial: 1 });
    lone[DISPOSE]();
    r.push(getLinearMemory(lone).released);
    // Own reservations (memory64 above 65536 pages) are unmapped at once when no view was handed out.
    const big = new qb.Memory({ initial: 1n, address: 'i64' });
    const blm = getLinearMemory(big);
    r.push(blm.v8Backed);
    big[DISPOSE]();
    r.push(blm.released);
    console.log(JSON.stringify(r));
  `);
  assert.equal(out, ['TypeError', 'TypeError', 'TypeError', false, 33, 1, 0, false, 33, true, 0, 'LinkError', true, false, true]);
});

test('dispose from inside a call: the running code finishes safely, its memory goes when the outermost call returns', () => {
  const b = new ModuleBuilder();
  const h = b.importFunc('env', 'h', [], []);
  b.memory({ min: 1 }, 'mem');
  // run: store 5 at 100, call h (which disposes this instance), then grow, store and load through the memory.
  b.func([], [T.i32], (c) => c.i32_const(100).i32_const(5).mem(Op.i32_store8).call(h)
    .i32_const(1).memory_grow().drop().i32_const(65536 + 100).i32_const(6).mem(Op.i32_store8)
    .i32_const(100).mem(Op.i32_load8_u).i32_const(65536 + 100).mem(Op.i32_load8_u).op(0x6a).end(), { export: 'run' });
  const out = child(`
    const M = new qb.Module(b64(${b64(b.build())}));
    let inst;
    let releasedInside = null;
    inst = new qb.Instance(M, { env: { h: () => { inst[DISPOSE](); releasedInside = getLinearMemory(inst.exports.mem).released; } } });
    const lm = getLinearMemory(inst.exports.mem);
    const r = [inst.exports.run(), releasedInside, lm.released, outcome(() => inst.exports.run()).error, outcome(() => inst.exports.mem.buffer).error];
    console.log(JSON.stringify(r));
  `);
  assert.equal(out, [11, false, true, 'RuntimeError', 'TypeError']);
});

test('host calls and funcrefs of instances reachable only through tables, globals, imports and host results', () => {
  // lib: f() = 1000 + h(), where h is a JS import; g(): returns funcref to f.
  const lib = new ModuleBuilder();
  const h = lib.importFunc('env', 'h', [], [T.i32]);
  const f = lib.func([], [T.i32], (c) => c.i32_const(1000).call(h).op(0x6a).end(), { export: 'f' });
  lib.elem({ mode: 'declarative', funcs: [f] });
  lib.func([], [T.funcref], (c) => c.ref_func(f).end(), { export: 'g' });
  // user: getf is a JS import returning a funcref; put() stores it in table slot 0; call(i) calls slot i.
  const user = new ModuleBuilder();
  const getf = user.importFunc('env', 'getf', [], [T.funcref]);
  user.table(T.funcref, { min: 2 }, 'tab');
  const ty = user.type([], [T.i32]);
  user.func([], [], (c) => c.i32_const(0).call(getf).table_set(0).end(), { export: 'put' });
  user.func([T.i32], [T.i32], (c) => c.local_get(0).call_indirect(ty).end(), { export: 'call' });
  // proxied: imports an externref table (which will hold a Proxy whose every trap throws) and a funcref table.
  const proxied = new ModuleBuilder();
  proxied.importTable('env', 'ext', T.externref, { min: 1 });
  proxied.importTable('env', 'fns', T.funcref, { min: 1 });
  const pty = proxied.type([], [T.i32]);
  proxied.func([], [T.i32], (c) => c.i32_const(0).call_indirect(pty, 1).end(), { export: 'call0' });
  // viaGlobal: an immutable funcref global imported as a plain function value, called through its own table.
  const viaGlobal = new ModuleBuilder();
  viaGlobal.importGlobal('env', 'g', T.funcref, false);
  viaGlobal.table(T.funcref, { min: 1 });
  const gty = viaGlobal.type([], [T.i32]);
  viaGlobal.func([], [T.i32], (c) => c.i32_const(0).global_get(0).table_set(0).i32_const(0).call_indirect(gty).end(), { export: 'run' });
  const out = child(`
    const L = new qb.Module(b64(${b64(lib.build())}));
    const U = new qb.Module(b64(${b64(user.build())}));
    const gc = async () => { for (let k = 0; k < 3; k++) { global.gc(); await new Promise((r) => setTimeout(r, 5)); } };
    // A lib instance reachable only through the funcref that a host import handed to the user instance.
    let n = 0;
    const u = new qb.Instance(U, { env: { getf: () => new qb.Instance(L, { env: { h: () => ++n } }).exports.g() } }).exports;
    u.put();
    await gc();
    for (let k = 0; k < 2000; k++) new qb.Instance(L, { env: { h: () => 0 } });
    await gc();
    const r = [u.call(0), u.call(0)];
    // table.get gives the same function each time, and it works.
    const t0 = u.tab.get(0);
    r.push(t0 === u.tab.get(0), t0());
    // A JS-made table filled from JS with functions of instances otherwise unreferenced; another instance calls them.
    const tab = new qb.Table({ element: 'anyfunc', initial: 2 });
    tab.set(1, new qb.Instance(L, { env: { h: () => 7 } }).exports.f);
    const caller = new qb.Instance(U, { env: { getf: () => null } });
    await gc();
    r.push(tab.get(1)(), u.call(0));
    // Finding the instance never touches user values: a Proxy in a table the caller uses runs no trap.
    const trapsRan = [];
    const hostile = new Proxy(function () {}, Object.fromEntries(['get', 'has', 'getPrototypeOf', 'ownKeys', 'getOwnPropertyDescriptor', 'apply']
      .map((k) => [k, () => { trapsRan.push(k); throw new Error('trap ' + k); }])));
    const ext = new qb.Table({ element: 'externref', initial: 1 }, hostile);
    const fns = new qb.Table({ element: 'anyfunc', initial: 1 });
    fns.set(0, new qb.Instance(L, { env: { h: () => 20 } }).exports.f);
    const p = new qb.Instance(new qb.Module(b64(${b64(proxied.build())})), { env: { ext, fns } }).exports;
    await gc();
    r.push(p.call0(), trapsRan.length);
    // A funcref held only by an imported global's cell keeps its instance alive.
    const vg = new qb.Instance(new qb.Module(b64(${b64(viaGlobal.build())})), { env: { g: new qb.Instance(L, { env: { h: () => 30 } }).exports.f } }).exports;
    await gc();
    for (let k = 0; k < 2000; k++) new qb.Instance(L, { env: { h: () => 0 } });
    await gc();
    r.push(vg.run());
    console.log(JSON.stringify(r));
  `, ['--expose-gc']);
  assert.equal(out, [1001, 1002, true, 1003, 1007, 1004, 1020, 0, 1030]);
});

/** A module whose code is bigger than a shared code chunk's blocks (so it has its pages to itself). */
function bigCodeModule(): Uint8Array {
  const b = new ModuleBuilder();
  b.func([T.i32], [T.i32], (c) => {
    c.local_get(0);
    for (let k = 0; k < 6000; k++) c.i32_const(k).op(0x6a); // x + 0 + 1 + ... + 5999 = x + 17997000
    return c.end();
  }, { export: 'f' });
  return b.build();
}

/** Script text: `perms(addr)`, the permissions of the mapping holding addr ('unmapped' when none). */
const MAPS = `
  const { readFileSync: readMaps } = await import('node:fs');
  const perms = (addr) => {
    for (const line of readMaps('/proc/self/maps', 'utf8').split('\\n')) {
      const [range, p] = line.split(' ');
      if (!range) continue;
      const [lo, hi] = range.split('-').map((x) => parseInt(x, 16));
      if (addr >= lo && addr < hi) return p.slice(0, 3); // (r-x: code; ---: released)
    }
    return 'unmapped';
  };
`;

test('module code is freed by the GC with the module, with no event-loop turn', () => {
  const out = child(`
    import { moduleInternals } from ${dist('api/module.js')};
    ${MAPS}
    const bytes = b64(${b64(bigCodeModule())});
    let m = new qb.Module(bytes);
    let i = new qb.Instance(m);
    const addr = moduleInternals(m).code.addr;
    const r = [i.exports.f(1), perms(addr)];
    m = null;
    i = null;
    // Synchronous: no finalizer can run before the check. V8 frees dead ArrayBuffers' memory on a background
    // thread after a GC, or at the next GC at the latest.
    for (let k = 0; k < 30 && perms(addr) !== 'unmapped'; k++) {
      globalThis.gc();
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
    r.push(perms(addr));
    // Many modules in a synchronous loop: the code memory mapped stays bounded.
    const { codeMemoryMapped } = await import(${dist('runtime/code-memory.js')});
    let peak = 0;
    for (let k = 0; k < 3000; k++) {
      new qb.Instance(new qb.Module(bytes)).exports.f(k);
      if (k % 100 === 0) { globalThis.gc(); peak = Math.max(peak, process.memoryUsage.rss()); }
    }
    r.push(peak < 512 * 2 ** 20);
    console.log(JSON.stringify(r));
  `, ['--expose-gc']);
  assert.equal(out, [17997001, 'r-x', 'unmapped', true]);
});

test('module[Symbol.dispose]: clean errors after, code kept while an instance uses it, released with the last one', () => {
  const out = child(`
    import { moduleInternals } from ${dist('api/module.js')};
    ${MAPS}
    const m = new qb.Module(b64(${b64(bigCodeModule())}));
    const addr = moduleInternals(m).code.addr;
    const a = new qb.Instance(m);
    const b = new qb.Instance(m);
    const fa = a.exports.f;
    m[DISPOSE]();
    m[DISPOSE](); // idempotent
    const r = [outcome(() => new qb.Instance(m)).error, outcome(() => qb.Module.exports(m)).error, outcome(() => qb.Module.imports(m)).error];
    // Its instances keep the code and keep working.
    r.push(fa(2), b.exports.f(3), perms(addr));
    a[DISPOSE]();
    r.push(outcome(() => fa(2)).error, b.exports.f(4), perms(addr));
    // The last holder goes: the pages are released now, and nothing can run them.
    b[DISPOSE]();
    r.push(perms(addr), outcome(() => b.exports.f(5)).error, outcome(() => fa(2)).error);
    // Disposing every instance first, then the module: released at the module's dispose.
    const m2 = new qb.Module(b64(${b64(bigCodeModule())}));
    const addr2 = moduleInternals(m2).code.addr;
    const c = new qb.Instance(m2);
    c[DISPOSE]();
    r.push(perms(addr2));
    m2[DISPOSE]();
    r.push(perms(addr2));
    // instantiate() of a disposed module rejects with the same TypeError.
    r.push(await qb.instantiate(m2).then(() => 'ok', (e) => e.name));
    console.log(JSON.stringify(r));
  `);
  assert.equal(out, [
    'TypeError', 'TypeError', 'TypeError',
    17997002, 17997003, 'r-x',
    'RuntimeError', 17997004, 'r-x',
    '---', 'RuntimeError', 'RuntimeError',
    'r-x', '---',
    'TypeError',
  ]);
});

test('instance[Symbol.dispose] while another instance imports its table: the importer keeps the table', () => {
  const lib = new ModuleBuilder();
  lib.table(T.funcref, { min: 2 }, 'tab');
  const f = lib.func([], [T.i32], (c) => c.i32_const(42).end(), { export: 'f' });
  lib.elem({ mode: 'active', offset: new Code().i32_const(0), funcs: [f] });
  const user = new ModuleBuilder();
  user.importTable('lib', 'tab', T.funcref, { min: 2 });
  const ty = user.type([], [T.i32]);
  const mine = user.func([], [T.i32], (c) => c.i32_const(7).end(), { export: 'mine' });
  user.func([T.i32], [T.i32], (c) => c.local_get(0).call_indirect(ty).end(), { export: 'callAt' });
  user.func([], [], (c) => c.i32_const(1).ref_func(mine).table_set(0).end(), { export: 'setMine' });
  user.func([], [T.i32], (c) => c.table_size(0).end(), { export: 'size' });
  const out = child(`
    const L = new qb.Module(b64(${b64(lib.build())}));
    const U = new qb.Module(b64(${b64(user.build())}));
    const libI = new qb.Instance(L);
    const tab = libI.exports.tab;
    const u = new qb.Instance(U, { lib: { tab } }).exports;
    const r = [u.callAt(0)];
    libI[DISPOSE]();
    // The table lives on for the importer: lib's function in it throws, the importer's own entries work.
    r.push(outcome(() => u.callAt(0)).error, u.size());
    u.setMine();
    r.push(u.callAt(1), tab.get(1)(), tab.length, outcome(() => tab.get(0)()).error);
    tab.grow(1);
    r.push(u.size());
    console.log(JSON.stringify(r));
  `);
  assert.equal(out, [42, 'RuntimeError', 2, 7, 7, 2, 'RuntimeError', 3]);
});

test('soak: 50,000 instances in an await loop (microtasks only) and 50,000 trapping ones in a sync loop, bounded RSS', () => {
  const trap = new ModuleBuilder();
  trap.memory({ min: 1 });
  trap.func([], [], (c) => c.unreachable().end(), { export: 'f' });
  const out = child(`
    const M = new qb.Module(b64(${b64(memModule({ min: 1 }))}));
    const T = new qb.Module(b64(${b64(trap.build())}));
    const rss = () => process.memoryUsage.rss();
    let s = 0;
    for (let i = 0; i < 5000; i++) { const { exports: x } = await qb.instantiate(M); x.st(i & 1023, 1); s += x.ld(i & 1023); }
    const warm = rss();
    let peak = warm;
    for (let i = 0; i < 50000; i++) {
      const { exports: x } = await qb.instantiate(M);
      x.st(i & 1023, 1);
      s += x.ld(i & 1023);
      if ((i & 1023) === 0) peak = Math.max(peak, rss());
    }
    let traps = 0;
    for (let i = 0; i < 50000; i++) {
      try { new qb.Instance(T).exports.f(); } catch (e) { if (e instanceof qb.RuntimeError) traps++; else throw e; }
      if ((i & 1023) === 0) peak = Math.max(peak, rss());
    }
    console.log(JSON.stringify({ s, traps, warmMb: warm / 2 ** 20, growthMb: (peak - warm) / 2 ** 20 }));
  `);
  const o = out as { s: number; traps: number; warmMb: number; growthMb: number };
  assert.is(o.s, 55000);
  assert.is(o.traps, 50000);
  // Before V8 backing, the await loop ran out of address space after ~31,000 instances.
  assert.ok(o.growthMb < 128, `RSS grew by ${o.growthMb.toFixed(0)} MB (from ${o.warmMb.toFixed(0)} MB)`);
});

test('traps in the middle of a loop of instantiations leak nothing: start-function traps, out-of-bounds segments, trapping calls', () => {
  // Each kind fails after its memory, table and globals exist (a trap during instantiation leaves a half-made
  // instance that nothing refers to); a working instance follows every failure.
  const startTrap = new ModuleBuilder();
  startTrap.memory({ min: 1 });
  startTrap.table(T.funcref, { min: 4 });
  startTrap.global(T.i32, true, (c) => c.i32_const(5));
  startTrap.start(startTrap.func([], [], (c) => c.unreachable().end()));
  const dataTrap = new ModuleBuilder();
  dataTrap.memory({ min: 1 }, 'mem'); // (exported: a V8 memory, the other kind)
  dataTrap.data({ mode: 'active', offset: new Code().i32_const(65530), bytes: [1, 2, 3, 4, 5, 6, 7, 8] });
  const elemTrap = new ModuleBuilder();
  elemTrap.memory({ min: 1 });
  elemTrap.table(T.funcref, { min: 1 });
  const g = elemTrap.func([], [], (c) => c.end());
  elemTrap.elem({ mode: 'active', offset: new Code().i32_const(1), funcs: [g] });
  const callTrap = new ModuleBuilder();
  callTrap.memory({ min: 1 });
  callTrap.func([], [], (c) => c.i32_const(0).i32_const(0).op(0x6d).drop().end(), { export: 'f' }); // i32.div_s by 0
  const out = child(`
    const { wasmRunning, pendingReleases } = await import(${dist('runtime/lifetime.js')});
    const { linearMemoryStats } = await import(${dist('runtime/linear-memory.js')});
    const M = new qb.Module(b64(${b64(memModule({ min: 1, exportMem: false }))}));
    const kinds = [${[startTrap, dataTrap, elemTrap, callTrap].map((b) => `new qb.Module(b64(${b64(b.build())}))`).join(', ')}];
    const rss = () => process.memoryUsage.rss();
    let traps = 0, s = 0, peak = 0, warm = 0;
    const round = (i) => {
      try {
        const x = new qb.Instance(kinds[i & 3]).exports;
        x.f();
      } catch (e) {
        if (!(e instanceof qb.RuntimeError)) throw e;
        traps++;
      }
      const x = new qb.Instance(M).exports;
      x.st(i & 1023, 1);
      s += x.ld(i & 1023);
    };
    for (let i = 0; i < 4000; i++) round(i);
    warm = rss();
    peak = warm;
    for (let i = 0; i < 40000; i++) { round(i); if ((i & 1023) === 0) peak = Math.max(peak, rss()); }
    console.log(JSON.stringify({ traps, s, running: wasmRunning(), pending: pendingReleases(), own: linearMemoryStats().count,
      warmMb: warm / 2 ** 20, growthMb: (peak - warm) / 2 ** 20 }));
  `);
  const o = out as { traps: number; s: number; running: boolean; pending: number; own: number; warmMb: number; growthMb: number };
  assert.is(o.traps, 44000);
  assert.is(o.s, 44000);
  assert.is(o.running, false);
  assert.is(o.pending, 0);
  assert.is(o.own, 0);
  assert.ok(o.growthMb < 64, `RSS grew by ${o.growthMb.toFixed(0)} MB (from ${o.warmMb.toFixed(0)} MB)`);
});

test('private memories (defined, not exported) are resizable buffers that grow in place; exported ones stay V8 memories', () => {
  const out = child(`
    const pi = new qb.Instance(new qb.Module(b64(${b64(memModule({ min: 1, max: 4, exportMem: false }))})));
    const priv = pi.exports;
    const st = instanceState(pi);
    const lm = st.memories[0];
    const base = lm.base;
    const r = [lm.kind];
    priv.st(65535, 9);
    r.push(priv.grow(2), priv.grow(1), priv.grow(1), lm.base === base, lm.pages);
    priv.st(4 * 65536 - 1, 7);
    r.push(priv.ld(65535), priv.ld(4 * 65536 - 1), outcome(() => priv.ld(4 * 65536)).error);
    const pub = new qb.Instance(new qb.Module(b64(${b64(memModule({ min: 1 }))}))).exports;
    r.push(getLinearMemory(pub.mem).kind);
    const ui = new qb.Instance(new qb.Module(b64(${b64(memModule({ min: 0, exportMem: false }))})));
    const unbounded = ui.exports;
    r.push(instanceState(ui).memories[0].kind, unbounded.grow(3), unbounded.grow(0), outcome(() => unbounded.ld(3 * 65536)).error);
    pi[DISPOSE]();
    r.push(outcome(() => priv.ld(0)).error, lm.released, lm.byteLength);
    console.log(JSON.stringify(r));
  `);
  assert.equal(out, ['private', 1, 3, -1, true, 4, 9, 7, 'RuntimeError', 'v8', 'private', 0, 3, 'RuntimeError', 'RuntimeError', true, 0]);
});

test.run();
