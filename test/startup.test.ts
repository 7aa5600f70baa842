// Start-up machinery of the `quickbeam` command: the one-file bundles made by scripts/bundle.mjs (when esbuild
// is installed), the V8 code cache of bin/quickbeam.js, the fallback to dist/src, and the
// QUICKBEAM_TRACE_STARTUP timeline. Whatever path the CLI takes, its output must be the same.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { splitStartupTrace } from './helpers/startup-trace.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'quickbeam.js');
const bundle = path.join(root, 'dist', 'quickbeam.cjs');
const runBundle = path.join(root, 'dist', 'quickbeam-run.cjs');
const cacheDir = path.join(root, 'dist', 'v8-code-cache');
const hello = path.join(root, 'examples', 'hello.wasm');
const mainJs = path.join(root, 'dist', 'src', 'cli', 'main.js');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Labels of the QUICKBEAM_TRACE_STARTUP lines, in order. */
  marks: string[];
}

function quickbeam(args: string[], env: Record<string, string> = {}): Run {
  const e: Record<string, string | undefined> = { ...process.env, QUICKBEAM_TRACE_STARTUP: '1', ...env };
  for (const k of ['QUICKBEAM_NO_BUNDLE', 'QUICKBEAM_CODE_CACHE']) if (!(k in env)) delete e[k];
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: e, timeout: 120_000 });
  const { marks, other } = splitStartupTrace(r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: other, marks };
}

const haveBundle = existsSync(bundle) && statSync(bundle).mtimeMs >= statSync(mainJs).mtimeMs;
const haveRunBundle = haveBundle && existsSync(runBundle) && statSync(runBundle).mtimeMs >= statSync(mainJs).mtimeMs;
const skip = (why: string): void => console.log(`  (skipped: ${why})`);

test('QUICKBEAM_TRACE_STARTUP=1 prints a timeline on stderr and leaves stdout alone', () => {
  const plain = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
  const traced = quickbeam(['--version']);
  assert.is(traced.status, 0);
  assert.is(traced.stdout, plain.stdout);
  assert.is(plain.stderr, '');
  assert.ok(traced.marks[0]!.startsWith('bin: start'), traced.marks.join(' | '));
  assert.is(traced.marks[traced.marks.length - 1], 'exit');
});

test('quickbeam run: the bundle and dist/src give the same output and status', () => {
  if (!existsSync(hello)) return skip('no examples/hello.wasm');
  const fromSrc = quickbeam(['run', '--no-cache', hello, 'a b'], { QUICKBEAM_NO_BUNDLE: '1' });
  assert.is(fromSrc.status, 0, fromSrc.stderr);
  assert.ok(fromSrc.marks.includes('bin: dist/src/cli/main.js imported'), fromSrc.marks.join(' | '));
  assert.is(fromSrc.stdout, 'Hello from Quickbeam!\nargv[1] = a b\n');
  if (!haveBundle) return skip('no up-to-date dist/quickbeam.cjs (esbuild not installed?)');
  const bundled = quickbeam(['run', '--no-cache', hello, 'a b']);
  assert.is(bundled.status, 0, bundled.stderr);
  assert.ok(bundled.marks.some((m) => m.startsWith('bin: bundle compiled')), bundled.marks.join(' | '));
  assert.is(bundled.stdout, fromSrc.stdout);
  for (const [label, r] of [['dist/src', fromSrc], ['bundle', bundled]] as const) {
    for (const m of ['runtime: koffi loaded, libc bound', 'run: instantiated', 'cli: run finished']) {
      assert.ok(r.marks.includes(m), `${label}: ${m} missing from ${r.marks.join(' | ')}`);
    }
  }
});

test('bundle: errors of commands outside it (spectest, compile) read as before', () => {
  if (!haveBundle) return skip('no up-to-date dist/quickbeam.cjs');
  for (const args of [['spectest', '--bogus'], ['compile'], ['run'], ['run', '/nonexistent.wasm'], ['frobnicate']]) {
    const bundled = quickbeam(args);
    const fromSrc = quickbeam(args, { QUICKBEAM_NO_BUNDLE: '1' });
    assert.is(bundled.status, fromSrc.status, args.join(' '));
    assert.is(bundled.stderr, fromSrc.stderr, args.join(' '));
    assert.is(bundled.stderr.split('\n').length, 1, bundled.stderr);
    assert.ok(bundled.stderr.startsWith('quickbeam: ') && !bundled.stderr.includes('CliError'), bundled.stderr);
  }
  const help = quickbeam(['help', 'spectest']);
  assert.is(help.status, 0);
  assert.match(help.stdout, 'Usage: quickbeam spectest');
});

test('bundle: the V8 code caches: saved by `run`, used next time, upgraded once a run compiles, a damaged one replaced', () => {
  if (!haveRunBundle || !existsSync(hello)) return skip('no up-to-date dist/quickbeam.cjs and quickbeam-run.cjs, or no examples/hello.wasm');
  const machineCache = mkdtempSync(path.join(tmpdir(), 'qb-startup-test-'));
  // quickbeam-cli-* for the full bundle, quickbeam-run-* for the run bundle (bin/quickbeam.js)
  const ours = (which: 'cli' | 'run'): string[] =>
    existsSync(cacheDir) ? readdirSync(cacheDir).filter((f) => f.startsWith(`quickbeam-${which}-`) && f.includes('-default.') && f.endsWith('.bin')) : [];
  const clear = (): void => [...ours('cli'), ...ours('run')].forEach((f) => rmSync(path.join(cacheDir, f)));
  const kinds = (which: 'cli' | 'run'): string[] => ours(which).map((f) => f.replace(/.*\.(\w+)\.bin$/, '$1'));
  const saved = (r: Run): string[] => r.marks.filter((m) => m.startsWith('bin: code cache saved'));
  const v8cache = (r: Run, which: 'bundle' | 'run bundle'): string | undefined =>
    /code cache (\w+)/.exec(r.marks.find((m) => m.startsWith(`bin: ${which} compiled`)) ?? '')?.[1];
  try {
    const run = (...args: string[]): Run => {
      const r = quickbeam(['run', ...args, hello], { QUICKBEAM_CACHE_DIR: machineCache });
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout, 'Hello from Quickbeam!\n');
      return r;
    };
    run(); // fills run's machine-code cache
    clear();
    const a = run(); // module loaded from run's cache, by the run bundle alone
    if (ours('run').length === 0) return skip(`the cache is not in ${cacheDir} (dist/ not writable?)`);
    assert.is(v8cache(a, 'run bundle'), 'absent');
    assert.is(v8cache(a, 'bundle'), undefined, a.marks.join(' | '));
    assert.equal(saved(a), ['bin: code cache saved (partial)']);
    const b = run();
    assert.is(v8cache(b, 'run bundle'), 'used');
    assert.equal(saved(b), []);
    const c = run('--no-cache'); // compiles: the full bundle, straight away
    assert.is(v8cache(c, 'run bundle'), undefined, c.marks.join(' | '));
    assert.is(v8cache(c, 'bundle'), 'absent');
    assert.equal(saved(c), ['bin: code cache saved (full)']);
    assert.equal(kinds('cli'), ['full']);
    assert.equal(kinds('run'), ['partial'], 'the run bundle keeps its own cache');
    const d = run('--no-cache');
    assert.is(v8cache(d, 'bundle'), 'used');
    assert.equal(saved(d), []);
    writeFileSync(path.join(cacheDir, ours('cli')[0]!), 'not a code cache');
    const e = run('--no-cache');
    assert.is(v8cache(e, 'bundle'), 'rejected');
    assert.equal(saved(e), ['bin: code cache saved (full)']);
    writeFileSync(path.join(cacheDir, ours('run')[0]!), 'not a code cache either');
    const f = run();
    assert.is(v8cache(f, 'run bundle'), 'rejected');
    assert.equal(saved(f), ['bin: code cache saved (partial)']);
    const off = quickbeam(['run', '--no-cache', hello], { QUICKBEAM_CODE_CACHE: '0' });
    assert.is(v8cache(off, 'bundle'), 'absent');
    assert.equal(saved(off), []);
    assert.is(v8cache(run(), 'run bundle'), 'used');
  } finally {
    rmSync(machineCache, { recursive: true, force: true });
  }
});

test('run bundle: a run that must compile goes to the full bundle, or is handed over to it before anything is visible', () => {
  if (!haveRunBundle || !existsSync(hello)) return skip('no up-to-date dist/quickbeam-run.cjs or no examples/hello.wasm');
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-handover-test-'));
  try {
    const env = { QUICKBEAM_CACHE_DIR: path.join(dir, 'cache') };
    const handedOver = (r: Run): string | undefined => r.marks.find((m) => m.startsWith('bin: handed over to the full bundle'));
    const expectHello = (r: Run, what: string): void => {
      assert.is(r.status, 0, `${what}: ${r.stderr}`);
      assert.is(r.stdout, 'Hello from Quickbeam!\nargv[1] = x\n', what);
      assert.is(r.stderr, '', what);
    };
    const cache = env.QUICKBEAM_CACHE_DIR;
    const entries = (): string[] => (existsSync(cache) ? readdirSync(cache).filter((f) => f.endsWith('.qbc')) : []);
    // A first run: no hint that the module is in the cache (run-prescan.cts), so the full bundle from the start.
    const first = quickbeam(['run', hello, 'x'], env);
    expectHello(first, 'first run');
    assert.ok(first.marks.includes('bin: the full bundle for this run (not cached yet)'), first.marks.join(' | '));
    assert.ok(!first.marks.some((m) => m.startsWith('bin: run bundle')), first.marks.join(' | '));
    assert.is(entries().length, 1);
    // A hit: the run bundle alone.
    const hit = quickbeam(['run', hello, 'x'], env);
    expectHello(hit, 'hit');
    assert.ok(hit.marks.some((m) => m.startsWith('bin: run bundle compiled')), hit.marks.join(' | '));
    assert.is(handedOver(hit), undefined, hit.marks.join(' | '));
    assert.ok(hit.marks.includes('run: loaded from the code cache (21 functions)'), hit.marks.join(' | '));
    // A miss the hint did not foresee (the entry is gone): the run bundle reaches the compiler's stub in
    // `new Module`, and the full bundle compiles and runs the module, once.
    for (const f of entries()) rmSync(path.join(cache, f));
    const miss = quickbeam(['run', hello, 'x'], env);
    expectHello(miss, 'miss');
    assert.match(handedOver(miss) ?? '', /compileModule/, miss.marks.join(' | '));
    assert.is(miss.marks.filter((m) => m === 'run: instantiated').length, 1, miss.marks.join(' | '));
    assert.ok(miss.marks.indexOf('run: instantiated') > miss.marks.indexOf(handedOver(miss)!));
    assert.is(entries().length, 1);
    // The module file changed (same bytes, new mtime): no hint for it as it is now.
    const later = new Date(statSync(hello).mtimeMs + 1000);
    const copy = path.join(dir, 'hello.wasm');
    writeFileSync(copy, readFileSync(hello));
    const viaCopy = quickbeam(['run', copy, 'x'], env);
    expectHello({ ...viaCopy, stdout: viaCopy.stdout.replace(copy, hello) }, 'copy');
    assert.ok(viaCopy.marks.includes('bin: the full bundle for this run (not cached yet)'), viaCopy.marks.join(' | '));
    assert.ok(viaCopy.marks.includes('run: loaded from the code cache (21 functions)'), 'the full bundle uses the cache too');
    utimesSync(copy, later, later);
    assert.ok(quickbeam(['run', copy, 'x'], env).marks.includes('bin: the full bundle for this run (not cached yet)'));
    // One hint per module file: the copy's earlier version's hint went when the new one was left.
    assert.is(readdirSync(path.join(cache, 'run-hints')).length, 2, 'hints of hello.wasm and of its copy');
    // A module compiled lazily (>= 4 MiB: hello plus a 4 MiB custom section): the full bundle from the start.
    const big = path.join(dir, 'big.wasm');
    const name = Buffer.from('padding');
    const payload = 4 * 1024 * 1024;
    const size = 1 + name.length + payload;
    const leb: number[] = [];
    for (let v = size; ; ) {
      const b = v & 0x7f;
      v >>>= 7;
      if (v === 0) { leb.push(b); break; }
      leb.push(b | 0x80);
    }
    writeFileSync(big, Buffer.concat([readFileSync(hello), Buffer.from([0, ...leb, name.length]), name, Buffer.alloc(payload)]));
    for (const round of ['first', 'second']) {
      const lazy = quickbeam(['run', big, 'x'], env);
      expectHello(lazy, `lazy, ${round} run`);
      assert.ok(lazy.marks.includes('bin: the full bundle for this run (lazy)'), lazy.marks.join(' | '));
      assert.is(handedOver(lazy), undefined, lazy.marks.join(' | '));
      assert.ok(!lazy.marks.some((m) => m.startsWith('bin: run bundle')), lazy.marks.join(' | '));
    }
    // An invalid module: the same one-line CompileError as from dist/src.
    const bad = path.join(dir, 'bad.wasm');
    writeFileSync(bad, Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 9]));
    const viaBundle = quickbeam(['run', bad], env);
    const viaSrc = quickbeam(['run', bad], { ...env, QUICKBEAM_NO_BUNDLE: '1' });
    assert.is(viaBundle.status, 1);
    assert.is(viaBundle.stderr, viaSrc.stderr);
    assert.match(viaBundle.stderr, /CompileError/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run pre-scan: knows every option of `quickbeam run` that takes a value, and which runs compile', async () => {
  const { runHelp } = await import(pathToFileURL(path.join(root, 'dist', 'src', 'cli', 'run.js')).href);
  const { RUN_VALUE_OPTIONS, fullBundleReason, leaveRunHint } = await import(pathToFileURL(path.join(root, 'dist', 'src', 'run-prescan.cjs')).href);
  const fromHelp = [...(runHelp() as string).matchAll(/^ {2}(--[\w-]+) [A-Z]/gm)].map((m) => m[1]).sort();
  assert.equal([...(RUN_VALUE_OPTIONS as Set<string>)].sort(), fromHelp);
  const will = fullBundleReason as (args: string[]) => string | null;
  const cache = mkdtempSync(path.join(tmpdir(), 'qb-prescan-test-'));
  try {
    const withCache = ['--cache', cache];
    assert.is(will([...withCache, hello]), 'not cached yet');
    leaveRunHint(cache, hello);
    assert.is(will([...withCache, hello]), null);
    assert.is(will([`--cache=${cache}`, hello]), null);
    assert.is(will(['--cache', path.join(cache, 'other'), hello]), 'not cached yet', 'another cache directory');
    assert.is(will([...withCache, '--no-cache', hello]), 'no code cache');
    assert.is(will([...withCache, '--lazy', hello]), 'lazy');
    assert.is(will([...withCache, '--env', '--lazy', hello]), null, '--lazy as the value of --env');
    assert.is(will([...withCache, hello, '--no-cache']), null, 'a guest argument');
    assert.is(will([...withCache, '--', '--no-cache']), null, 'a file named --no-cache (missing)');
    assert.is(will([...withCache, '/nonexistent.wasm']), null, '(runCommand reports it)');
    assert.is(will([...withCache, '/dev/stdin']), 'not a regular file', 'read once only');
    assert.is(will([...withCache, path.dirname(hello)]), 'not a regular file');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test('bundle: a bundle older than dist/src/cli/main.js is not used', () => {
  if (!haveRunBundle) return skip('no up-to-date dist/quickbeam.cjs and quickbeam-run.cjs');
  const stale = (files: string[], args: string[], expect: string): void => {
    const times = files.map((f) => statSync(f));
    const main = statSync(mainJs);
    try {
      for (const f of files) utimesSync(f, statSync(f).atime, new Date(main.mtimeMs - 60_000));
      const r = quickbeam(args);
      assert.is(r.status, 0, r.stderr);
      assert.ok(r.marks.some((m) => m.startsWith(expect)), `${files.map((f) => path.basename(f)).join(', ')} stale: ${r.marks.join(' | ')}`);
    } finally {
      files.forEach((f, k) => utimesSync(f, times[k]!.atime, times[k]!.mtime));
    }
  };
  stale([runBundle], ['--version'], 'bin: bundle compiled'); // the full bundle serves it
  stale([runBundle, bundle], ['--version'], 'bin: dist/src/cli/main.js imported');
  stale([bundle], ['run', '--no-cache', hello], 'bin: dist/src/cli/main.js imported');
  const fresh = quickbeam(['--version']);
  assert.ok(fresh.marks.some((m) => m.startsWith('bin: run bundle compiled')), `--version starts from the run bundle: ${fresh.marks.join(' | ')}`);
});

test('library bundle: dist/quickbeam-entry.mjs exports what dist/src/index.js does, and works', () => {
  const entry = path.join(root, 'dist', 'quickbeam-entry.mjs');
  if (!existsSync(entry)) return skip('no dist/quickbeam-entry.mjs');
  // In a child process: the bundle is a second copy of the engine, which this process need not carry.
  const script = `
    const viaEntry = await import(${JSON.stringify(pathToFileURL(entry).href)});
    const src = await import(${JSON.stringify(pathToFileURL(path.join(root, 'dist', 'src', 'index.js')).href)});
    // (module (func (export "f") (result i32) i32.const 42))
    const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 6, 1, 4, 0, 65, 42, 11]);
    const { instance } = await viaEntry.default.instantiate(bytes);
    console.log(JSON.stringify({ entry: Object.keys(viaEntry).sort(), src: Object.keys(src).sort(), f: instance.exports.f() }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { entry: string[]; src: string[]; f: number };
  assert.equal(out.entry, out.src);
  assert.is(out.f, 42);
});

test.run();
