// The compiled-code cache: hits map the entry's code (no copy); corrupt, truncated or stale entries are detected
// and never executed; cached code has no process-specific constants (call_indirect signature checks hold in
// another process). Cases that run cached code run in child processes (test/helpers/isolate.ts), so that code
// which should never have run cannot take the test runner down with it.

import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import qb from '../src/index.js';
import { moduleInternals } from '../src/api/module.js';
import { entryLayout, setMappedCodeMin } from '../src/compile/code-cache.js';
import { keptBytes, snapshotInfo, restoreInfo } from '../src/compile/info-snapshot.js';
import { decodeModule } from '../src/decode/module-decoder.js';
import { resolveFeatures } from '../src/decode/features.js';
import { isolated } from './helpers/isolate.js';
import { wat as watBytes } from './helpers/wat.js';

const t = isolated(import.meta.url, { name: 'code-cache' });
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

// (module
//   (type $t (func (param i32) (result i32)))
//   (table 2 funcref) (elem (i32.const 0) $double $square)
//   (func $double (type $t) (i32.mul (local.get 0) (i32.const 2)))
//   (func $square (type $t) (i32.mul (local.get 0) (local.get 0)))
//   (func (export "apply") (param i32 i32) (result i32)
//     (call_indirect (type $t) (local.get 1) (local.get 0))))
const MODULE = Uint8Array.from([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 12, 2, 96, 1, 127, 1, 127, 96, 2, 127, 127, 1, 127, 3, 4, 3, 0, 0, 1, 4, 4, 1, 112, 0, 2, 7, 9, 1, 5,
  97, 112, 112, 108, 121, 0, 2, 9, 8, 1, 0, 65, 0, 11, 2, 0, 1, 10, 27, 3, 7, 0, 32, 0, 65, 2, 108, 11, 7, 0, 32, 0, 32, 0, 108, 11, 9,
  0, 32, 1, 32, 0, 17, 0, 0, 11,
]);

// A module that exercises more of what an entry holds: data and element segments (active, passive, with
// expressions), globals, imports, exports, a start function, names, several types.
const RICH_WAT = `(module
  (type $un (func (param i32) (result i32)))
  (type $bin (func (param i32 i32) (result i32)))
  (import "env" "log" (func $log (param i32)))
  (import "env" "g" (global $g i32))
  (memory (export "mem") 1)
  (table $tab 8 funcref)
  (global $counter (mut i32) (i32.const 0))
  (global $wide i64 (i64.const -5))
  (global $f f64 (f64.const 2.5))
  (data (i32.const 16) "hello")
  (data (offset (i32.add (global.get $g) (i32.const 64))) "world")
  (data $passive "passive bytes")
  (elem (i32.const 0) $inc $dbl $add)
  (elem $pe funcref (ref.func $inc) (ref.null func))
  (elem declare func $sq)
  (func $inc (type $un) (i32.add (local.get 0) (i32.const 1)))
  (func $dbl (type $un) (i32.mul (local.get 0) (i32.const 2)))
  (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
  (func $sq (type $un) (i32.mul (local.get 0) (local.get 0)))
  (func $init (global.set $counter (i32.const 7)))
  (start $init)
  (func (export "apply") (param i32 i32) (result i32)
    (call_indirect (type $un) (local.get 1) (local.get 0)))
  (func (export "load") (param i32) (result i32) (i32.load8_u (local.get 0)))
  (func (export "counter") (result i32) (global.get $counter))
  (func (export "init") (param i32 i32 i32) (memory.init $passive (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copyElem") (table.init $tab $pe (i32.const 6) (i32.const 0) (i32.const 2)))
  (func (export "trap") (param i32) (result i32) (call $log (local.get 0)) (unreachable)))`;

/** (with the name section: backtraces of cached code are checked) */
function wat(text: string): Uint8Array {
  return watBytes(text, { bulk_memory: true, reference_types: true }, { validate: false, names: true });
}

const temps: string[] = [];
process.on('exit', () => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'qb-cache-'));
  temps.push(d);
  return d;
}

type Exports = { apply: (f: number, x: number) => number };

function load(dir: string, options: object = {}, bytes = MODULE): { status: string; apply: Exports['apply']; m: object } {
  const m = new qb.Module(bytes, { cache: dir, ...options });
  const e = new qb.Instance(m, {}).exports as unknown as Exports;
  return { status: moduleInternals(m).cacheStatus, apply: e.apply, m };
}

function entryPath(dir: string): string {
  const files = readdirSync(dir).filter((f) => f.endsWith('.qbc'));
  assert.is(files.length, 1, files.join(' '));
  return path.join(dir, files[0]);
}

/** The /proc/self/maps line of the mapping holding `addr`. */
function mappingOf(addr: number): { perms: string; offset: number; file: string } | null {
  for (const line of readFileSync('/proc/self/maps', 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+\s*(.*)$/.exec(line);
    if (m === null) continue;
    if (addr >= parseInt(m[1], 16) && addr < parseInt(m[2], 16)) return { perms: m[3], offset: parseInt(m[4], 16), file: m[5] };
  }
  return null;
}

t('a second compile of the same module is a cache hit with identical behaviour', () => {
  const dir = tempDir();
  const a = load(dir);
  assert.is(a.status, 'absent');
  const b = load(dir);
  assert.is(b.status, 'hit');
  for (const [f, x] of [[0, 21], [1, 12], [0, -5]]) assert.is(b.apply(f, x), a.apply(f, x));
  assert.throws(() => b.apply(2, 1), /table index is out of bounds/);
});

t('a hit maps big code from the entry file (read+execute, private, no copy); small code is read into GC-owned memory', () => {
  const dir = tempDir();
  load(dir);
  const file = entryPath(dir);
  const small = load(dir);
  assert.is(small.status, 'hit');
  const smallMap = mappingOf(moduleInternals(small.m).code.addr);
  assert.ok(smallMap !== null && smallMap.perms.startsWith('r-x') && smallMap.file !== realpathSync(file), JSON.stringify(smallMap));
  assert.is(small.apply(1, 7), 49);
  setMappedCodeMin(0); // (this module's code is a page: map it as a big one would be)
  const { m, apply, status } = load(dir);
  setMappedCodeMin(1024 * 1024);
  assert.is(status, 'hit');
  const addr = moduleInternals(m).code.addr;
  const map = mappingOf(addr);
  assert.ok(map !== null);
  assert.is(map!.perms, 'r-xp');
  assert.is(map!.file, realpathSync(file));
  assert.is(map!.offset, entryLayout(readFileSync(file)).codeOffset);
  assert.is(apply(1, 7), 49);
});

t('mapped hits are GC-owned: a synchronous loop of hits that never yields frees their mappings (no finalizer)', () => {
  const dir = tempDir();
  load(dir); // (writes the entry)
  const script = `
    import { readFileSync } from 'node:fs';
    const qb = (await import(${JSON.stringify(path.join(root, 'dist/src/index.js'))})).default;
    const { moduleInternals } = await import(${JSON.stringify(path.join(root, 'dist/src/api/module.js'))});
    (await import(${JSON.stringify(path.join(root, 'dist/src/compile/code-cache.js'))})).setMappedCodeMin(0); // (mapped as a big one would be)
    const bytes = Uint8Array.from(${JSON.stringify([...MODULE])});
    const entryMaps = () => readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.includes('.qbc')).length;
    let sum = 0, peak = 0, mapped = 0;
    for (let i = 0; i < 2000; i++) {
      const m = new qb.Module(bytes, { cache: ${JSON.stringify(dir)} });
      if (i === 0) mapped = entryMaps();
      sum += new qb.Instance(m, {}).exports.apply(1, 3);
      // (Twice: V8 frees dead backing stores with a sweeper that the next collection finishes.)
      if (i % 200 === 199) { gc(); gc(); peak = Math.max(peak, entryMaps()); }
    }
    gc(); gc();
    console.log(JSON.stringify({ sum, mapped, peak, end: entryMaps() }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8' });
  const out = JSON.parse(r.stdout.trim().split('\n').pop() || 'null') as { sum: number; mapped: number; peak: number; end: number } | null;
  assert.ok(out !== null, r.stderr);
  assert.is(out!.sum, 2000 * 9);
  assert.ok(out!.mapped >= 1, 'the hit maps the entry');
  // With a finalizer (never run: the loop never yields) every hit's mappings stayed: 4,000 of them at the end.
  assert.ok(out!.peak <= 20 && out!.end <= 20, JSON.stringify(out));
});

t('a corrupted byte anywhere in the entry (code, source map, declarations, header) is detected and never executed', () => {
  const dir = tempDir();
  load(dir);
  const file = entryPath(dir);
  const good = readFileSync(file);
  const L = entryLayout(good);
  const positions = new Set<number>([
    0, 9, 16, 31, 32, 40, 60, L.metaEnd - 1, L.codeOffset, L.codeOffset + 1, L.codeOffset + L.codeLength - 1,
    L.codeOffset + L.codeLength, L.codeEnd - 1,
  ]);
  // Every 7th byte of the code itself, and a sample of the padding after it.
  for (let p = L.codeOffset; p < L.codeOffset + L.codeLength; p += 7) positions.add(p);
  for (let p = L.codeOffset + L.codeLength; p < L.codeEnd; p += 509) positions.add(p);
  for (let p = 32; p < L.metaEnd; p += 97) positions.add(p);
  for (const p of positions) {
    for (const flip of [0x01, 0x80, 0xff]) {
      const bad = Buffer.from(good);
      bad[p] ^= flip;
      writeFileSync(file, bad);
      const r = load(dir);
      assert.ok(r.status === 'corrupt' || r.status === 'stale', `byte ${p} ^ ${flip}: ${r.status}`);
      assert.is(r.apply(1, 9), 81);
      // The entry was rewritten from the fresh compile.
      const now = readFileSync(file);
      assert.ok(now.length === good.length && now.subarray(L.codeOffset).equals(good.subarray(L.codeOffset)), `byte ${p}: entry not rewritten`);
    }
  }
  // A damaged source map is not executable, so it does not make a miss; backtraces just lose their positions.
  const bad = Buffer.from(good);
  bad[L.srcMapOffset] ^= 0xff;
  writeFileSync(file, bad);
  const r = load(dir);
  assert.is(r.status, 'hit');
  assert.is(r.apply(0, 4), 8);
  assert.is(load(dir).status, 'hit');
});

t('a truncated or extended entry is detected', () => {
  const dir = tempDir();
  load(dir);
  const file = entryPath(dir);
  const good = readFileSync(file);
  const L = entryLayout(good);
  for (const n of [0, 10, 31, 32, 100, L.metaEnd, L.srcMapOffset, L.codeOffset, L.codeOffset + 1, L.codeEnd - 4096, L.codeEnd - 1]) {
    writeFileSync(file, good.subarray(0, n));
    const r = load(dir);
    assert.is(r.status, 'corrupt', `truncated to ${n}`);
    assert.is(r.apply(0, 5), 10);
  }
  writeFileSync(file, Buffer.concat([good, Buffer.alloc(4096)]));
  assert.is(load(dir).status, 'corrupt');
  assert.is(load(dir).status, 'hit');
});

t('different compile options use different entries', () => {
  const dir = tempDir();
  load(dir);
  assert.is(load(dir, { fuel: true }).status, 'absent');
  assert.is(load(dir, { boundsChecks: false }).status, 'absent');
  assert.is(load(dir, { fuel: true }).status, 'hit');
  assert.is(readdirSync(dir).length, 3);
});

t('a restored module (declarations from the entry) behaves like a compiled one: segments, globals, start, names, traps', async () => {
  const bytes = await wat(RICH_WAT);
  const dir = tempDir();
  const run = (): unknown[] => {
    const logged: number[] = [];
    const g = new qb.Global({ value: 'i32', mutable: false }, 100);
    const m = new qb.Module(bytes, { cache: dir });
    const inst = new qb.Instance(m, { env: { log: (x: number) => logged.push(x), g } });
    const e = inst.exports as Record<string, any>;
    const mem = new Uint8Array(e.mem.buffer);
    const text = (at: number, n: number) => Buffer.from(mem.subarray(at, at + n)).toString('latin1');
    e.init(200, 0, 13);
    e.copyElem();
    let trap = '';
    try {
      e.trap(5);
    } catch (err) {
      trap = String((err as Error).stack).split('\n').filter((l) => /wasm-function/.test(l)).join('|');
    }
    return [
      moduleInternals(m).cacheStatus, text(16, 5), text(164, 5), text(200, 13), e.counter(), e.apply(0, 41), e.apply(1, 41),
      e.apply(6, 1), logged, trap, qb.Module.exports(m), qb.Module.imports(m),
    ];
  };
  const a = run();
  const b = run();
  assert.is(a[0], 'absent');
  assert.is(b[0], 'hit');
  assert.equal(b.slice(1), a.slice(1));
  assert.match(String(b[9]), /wasm-function\[\d+\]:0x/);
});

t('an info snapshot restores exactly what decoding gives', async () => {
  for (const bytes of [MODULE, await wat(RICH_WAT)]) {
    const f = resolveFeatures({});
    const info = decodeModule(bytes, f);
    const { snapshot, keep } = snapshotInfo(info, bytes);
    const copy = keptBytes(bytes, keep);
    const restored = restoreInfo(snapshot, copy);
    // As loadCached does: custom sections (the name section among them) are read from the kept bytes.
    for (const s of restored.customSections) copy.set(bytes.subarray(s.start, s.end), s.start);
    // Compare everything, data segments through their accessors (their contents must be views into `copy`).
    const plain = (i: typeof info) => ({
      ...i, codeOffsets: [...i.codeOffsets], codeEnds: [...(i.codeEnds ?? [])], declaredFuncRefs: [...i.declaredFuncRefs], datas: null,
      funcNames: { names: i.funcNames.entries(), module: i.funcNames.moduleName },
    });
    assert.equal(plain(restored), plain(info));
    assert.is(restored.datas.count, info.datas.count);
    for (let k = 0; k < info.datas.count; k++) {
      assert.is(restored.datas.mode(k), info.datas.mode(k));
      assert.is(restored.datas.memory(k), info.datas.memory(k));
      assert.equal(restored.datas.offsetExpr(k), info.datas.offsetExpr(k));
      const v = restored.datas.bytes(k);
      assert.equal([...v], [...info.datas.bytes(k)]);
      assert.ok(v.buffer === copy.buffer);
    }
  }
});

t('call_indirect signature checks hold after a hit in another process (no process-specific constants)', async () => {
  // Module B imports a table and calls through it with type (i32) -> i32. Another process compiles B into the
  // cache; this one registers other function types first (so its signature ids differ), then loads B from the
  // cache: matching entries are called, mismatching ones trap, wherever they come from.
  const B = await wat(`(module
    (type $t (func (param i32) (result i32)))
    (import "a" "tab" (table 4 funcref))
    (func (export "call") (param i32 i32) (result i32) (call_indirect (type $t) (local.get 1) (local.get 0))))`);
  const A = await wat(`(module
    (type $x (func (param f64 f64) (result f64)))
    (type $y (func (param i64) (result i64)))
    (type $t (func (param i32) (result i32)))
    (table (export "tab") 4 funcref)
    (elem (i32.const 0) $f64 $i64 $ok $ok2)
    (func $f64 (type $x) (f64.add (local.get 0) (local.get 1)))
    (func $i64 (type $y) (local.get 0))
    (func $ok (type $t) (i32.add (local.get 0) (i32.const 1000)))
    (func $ok2 (param i32) (result i32) (i32.sub (local.get 0) (i32.const 1))))`);
  const dir = tempDir();
  const bFile = path.join(dir, 'b.wasm');
  writeFileSync(bFile, B);
  const cacheDir = path.join(dir, 'cache');
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { readFileSync } from 'node:fs';
    const qb = (await import(${JSON.stringify(path.join(root, 'dist/src/index.js'))})).default;
    const { moduleInternals } = await import(${JSON.stringify(path.join(root, 'dist/src/api/module.js'))});
    const m = new qb.Module(readFileSync(${JSON.stringify(bFile)}), { cache: ${JSON.stringify(cacheDir)} });
    console.log(moduleInternals(m).cacheStatus);`], { encoding: 'utf8' });
  assert.is(child.stdout.trim(), 'absent', child.stderr);
  const a = new qb.Instance(new qb.Module(A), {});
  const mb = new qb.Module(B, { cache: cacheDir });
  assert.is(moduleInternals(mb).cacheStatus, 'hit');
  const call = (new qb.Instance(mb, { a: { tab: a.exports.tab } }).exports as Record<string, any>).call;
  assert.is(call(2, 1), 1001);
  assert.is(call(3, 1), 0);
  assert.throws(() => call(0, 1), /signature mismatch/);
  assert.throws(() => call(1, 1), /signature mismatch/);
});

t('where executable file mappings are refused (noexec), a hit reads the code into code memory', () => {
  // A private mount namespace with a noexec tmpfs (needs root and unshare; skipped otherwise).
  const dir = tempDir();
  const probe = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o noexec,mode=700 tmpfs ${dir} && echo ok`], { encoding: 'utf8' });
  if (probe.stdout.trim() !== 'ok') {
    console.log(`    (skipped: cannot mount a noexec tmpfs here: ${(probe.stderr || probe.error?.message || '').trim().split('\n')[0]})`);
    return;
  }
  const script = `
    import { readFileSync } from 'node:fs';
    const qb = (await import(${JSON.stringify(path.join(root, 'dist/src/index.js'))})).default;
    const { moduleInternals } = await import(${JSON.stringify(path.join(root, 'dist/src/api/module.js'))});
    (await import(${JSON.stringify(path.join(root, 'dist/src/compile/code-cache.js'))})).setMappedCodeMin(0); // (a small module, mapped)
    const bytes = Uint8Array.from(${JSON.stringify([...MODULE])});
    const out = [];
    for (let k = 0; k < 2; k++) {
      const m = new qb.Module(bytes, { cache: ${JSON.stringify(path.join(dir, 'c'))} });
      const i = moduleInternals(m);
      const apply = new qb.Instance(m, {}).exports.apply;
      const maps = readFileSync('/proc/self/maps', 'utf8').split('\\n').find((l) => {
        const [lo, hi] = l.split(' ')[0].split('-').map((x) => parseInt(x, 16));
        return i.code.addr >= lo && i.code.addr < hi;
      });
      out.push(i.cacheStatus, apply(1, 6), maps.includes('.qbc') ? 'file' : 'anon', maps.split(' ')[1]);
    }
    console.log(JSON.stringify(out));`;
  const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o noexec,mode=700 tmpfs ${dir} && exec ${process.execPath} --input-type=module -e "$0"`, script], { encoding: 'utf8' });
  // (The first run's freshly compiled code is wherever code memory puts it; the hit's is read, not mapped.)
  const out = JSON.parse(r.stdout.trim() || 'null') as unknown[] | null;
  // (Read into code memory: a memfd's read+execute half, r-xs, or anonymous pages, r-xp, where memfd is refused.)
  assert.equal([out?.[0], out?.[1], ...(out?.slice(4, 7) ?? []), /^r-x[ps]$/.test(String(out?.[7]))], ['absent', 36, 'hit', 36, 'anon', true], r.stderr);
});

// Lazily compiled modules: the entry holds the functions compiled so far, written when the process exits.
const LAZY_WAT = `(module
  (func $a (export "a") (result i32) (i32.const 1))
  (func $b (export "b") (result i32) (i32.add (call $a) (i32.const 10)))
  (func $c (export "c") (result i32) (i32.const 3))
  (func $t (export "t") (result i32) (unreachable)))`;

/** In a fresh process: a lazy module with a cache, calling the named exports; its results and cache status. */
function lazyChild(dir: string, wasm: string, calls: string[]): { status: string; compiled: number; results: unknown[] } {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { readFileSync } from 'node:fs';
    const qb = (await import(${JSON.stringify(path.join(root, 'dist/src/index.js'))})).default;
    const { moduleInternals } = await import(${JSON.stringify(path.join(root, 'dist/src/api/module.js'))});
    const m = new qb.Module(readFileSync(${JSON.stringify(wasm)}), { cache: ${JSON.stringify(dir)}, lazy: true });
    const e = new qb.Instance(m, {}).exports;
    const results = ${JSON.stringify(calls)}.map((n) => {
      try { return e[n](); } catch (err) { return String(err.stack).split('\\n').slice(0, 2).join(' / '); }
    });
    const i = moduleInternals(m);
    console.log(JSON.stringify({ status: i.cacheStatus, compiled: i.native.lazy.compiledCount, results }));`], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim());
}

t('lazy modules: the entry is written once the process has compiled nothing for a second, so a process killed by a signal stores it too', async () => {
  const dir = tempDir();
  const wasm = path.join(dir, 'lazy.wasm');
  writeFileSync(wasm, await wat(LAZY_WAT));
  const cache = path.join(dir, 'cache');
  // Calls a, then waits (the event loop idle) and reports whether the entry exists, then is killed (no exit hook).
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', `
    import { readFileSync, readdirSync } from 'node:fs';
    const qb = (await import(${JSON.stringify(path.join(root, 'dist/src/index.js'))})).default;
    const m = new qb.Module(readFileSync(${JSON.stringify(wasm)}), { cache: ${JSON.stringify(cache)}, lazy: true });
    const e = new qb.Instance(m, {}).exports;
    const entries = () => { try { return readdirSync(${JSON.stringify(cache)}).filter((f) => f.endsWith('.qbc')).length; } catch { return 0; } };
    console.log(\`\${e.a()} \${entries()}\`);
    setTimeout(() => { console.log(\`\${entries()}\`); process.kill(process.pid, 'SIGKILL'); }, 1600);`], { encoding: 'utf8' });
  assert.is(r.signal, 'SIGKILL', r.stderr);
  assert.equal(r.stdout.trim().split('\n'), ['1 0', '1'], 'not written during the compile, written once idle');
  // The next process installs a from the entry.
  assert.equal(lazyChild(cache, wasm, ['a']), { status: 'hit', compiled: 0, results: [1] });
});

t('lazy modules: the functions one process compiled are installed by the next, which adds the ones it compiles', async () => {
  const dir = tempDir();
  const wasm = path.join(dir, 'lazy.wasm');
  writeFileSync(wasm, await wat(LAZY_WAT));
  const cache = path.join(dir, 'cache');
  const trap = 'RuntimeError: unreachable /     at t (wasm-function[3]:0x40)';
  assert.equal(lazyChild(cache, wasm, ['a']), { status: 'absent', compiled: 1, results: [1] });
  assert.equal(lazyChild(cache, wasm, ['a', 'b']), { status: 'hit', compiled: 1, results: [1, 11] });
  assert.equal(lazyChild(cache, wasm, ['a', 'b', 'c', 't']), { status: 'hit', compiled: 2, results: [1, 11, 3, trap] });
  // Everything is in the entry now, and a trap in a function loaded from it has its wasm position.
  assert.equal(lazyChild(cache, wasm, ['t', 'c', 'b', 'a']), { status: 'hit', compiled: 0, results: [trap, 3, 11, 1] });
  // An eager module of the same bytes has its own entry.
  assert.is(load(cache, {}, readFileSync(wasm)).status, 'absent');
  assert.is(readdirSync(cache).length, 2);
});

t('lazy modules: a corrupted function in the entry is detected and never executed', async () => {
  const dir = tempDir();
  const wasm = path.join(dir, 'lazy.wasm');
  writeFileSync(wasm, await wat(LAZY_WAT));
  const cache = path.join(dir, 'cache');
  lazyChild(cache, wasm, ['a', 'b', 'c']);
  const file = entryPath(cache);
  const good = readFileSync(file);
  const L = entryLayout(good);
  for (const p of [L.codeOffset + L.codeLength - 1, L.codeOffset + 200, L.codeEnd - 1, 40, L.metaEnd - 1]) {
    const bad = Buffer.from(good);
    bad[p] ^= 0x20;
    writeFileSync(file, bad);
    const r = lazyChild(cache, wasm, ['a', 'b', 'c']);
    assert.equal(r, { status: 'corrupt', compiled: 3, results: [1, 11, 3] }, `byte ${p}`);
  }
});

t('quickbeam run: a lazily compiled module starts from its cache entry on the next run', async () => {
  const bin = path.join(root, 'bin', 'quickbeam.js');
  const dir = tempDir();
  const wasm = path.join(dir, 'lazy.wasm');
  writeFileSync(wasm, await wat(LAZY_WAT));
  const cache = path.join(dir, 'cache');
  const run = () => spawnSync(process.execPath, [bin, 'run', '--lazy', '--cache', cache, '--invoke', 'b', wasm], {
    encoding: 'utf8', env: { ...process.env, QUICKBEAM_TRACE_STARTUP: '1' },
  });
  const first = run();
  assert.is(first.stdout, '11\n', first.stderr);
  assert.match(first.stderr, /run: compiled/);
  assert.is(readdirSync(cache).length, 1);
  const second = run();
  assert.is(second.stdout, '11\n', second.stderr);
  assert.match(second.stderr, /run: loaded from the code cache/);
});


t('the key names the compiler build, not only the package version (entries of other builds are never used)', async () => {
  const { quickbeamVersion } = await import('../src/compile/code-cache.js');
  const fs = await import('node:fs');
  const idFile = new URL('../build-id', import.meta.url); // dist/test -> dist/build-id (written by npm run build)
  const v = quickbeamVersion();
  assert.match(v, /^\d+\.\d+\.\d+.*\+/);
  if (fs.existsSync(idFile)) assert.ok(v.endsWith('+' + fs.readFileSync(idFile, 'utf8').trim()), v);
  else assert.match(v, /\+mtime-\d/);
});

t.run();
