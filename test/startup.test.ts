// Start-up machinery of the `quickbeam` command: the one-file bundles made by scripts/bundle.mjs (when esbuild
// is installed), the V8 code cache of bin/quickbeam.js, the fallback to dist/src, and the
// QUICKBEAM_TRACE_STARTUP timeline. Whatever path the CLI takes, its output must be the same.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'quickbeam.js');
const bundle = path.join(root, 'dist', 'quickbeam.cjs');
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
  const marks: string[] = [];
  const other: string[] = [];
  for (const line of r.stderr.split('\n')) {
    const m = /^quickbeam startup: +[\d.]+ +\+[\d.]+ {2}(.*)$/.exec(line);
    if (m) marks.push(m[1]!);
    else if (line !== '' && !line.startsWith('quickbeam startup:')) other.push(line);
  }
  return { status: r.status, stdout: r.stdout, stderr: other.join('\n'), marks };
}

const haveBundle = existsSync(bundle) && statSync(bundle).mtimeMs >= statSync(mainJs).mtimeMs;
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

test('bundle: the V8 code cache: saved by `run`, used next time, upgraded once a run compiles, a damaged one replaced', () => {
  if (!haveBundle || !existsSync(hello)) return skip('no up-to-date dist/quickbeam.cjs or no examples/hello.wasm');
  const machineCache = mkdtempSync(path.join(tmpdir(), 'qb-startup-test-'));
  const ours = (): string[] => (existsSync(cacheDir) ? readdirSync(cacheDir).filter((f) => f.includes('-default.') && f.endsWith('.bin')) : []);
  const clear = (): void => ours().forEach((f) => rmSync(path.join(cacheDir, f)));
  const saved = (r: Run): string | undefined => r.marks.find((m) => m.startsWith('bin: code cache saved'));
  const v8cache = (r: Run): string | undefined => /code cache (\w+)/.exec(r.marks.find((m) => m.startsWith('bin: bundle compiled')) ?? '')?.[1];
  try {
    const run = (...args: string[]): Run => {
      const r = quickbeam(['run', ...args, hello], { QUICKBEAM_CACHE_DIR: machineCache });
      assert.is(r.status, 0, r.stderr);
      assert.is(r.stdout, 'Hello from Quickbeam!\n');
      return r;
    };
    run(); // fills run's machine-code cache
    clear();
    const a = run(); // module loaded from run's cache: no compiler bytecode to save
    if (ours().length === 0) return skip(`the cache is not in ${cacheDir} (dist/ not writable?)`);
    assert.is(v8cache(a), 'absent');
    assert.is(saved(a), 'bin: code cache saved (partial)');
    const b = run();
    assert.is(v8cache(b), 'used');
    assert.is(saved(b), undefined);
    const c = run('--no-cache'); // compiles: the cache is upgraded
    assert.is(v8cache(c), 'used');
    assert.is(saved(c), 'bin: code cache saved (full)');
    assert.equal(ours().map((f) => f.replace(/.*\.(\w+)\.bin$/, '$1')), ['full']);
    const d = run('--no-cache');
    assert.is(v8cache(d), 'used');
    assert.is(saved(d), undefined);
    writeFileSync(path.join(cacheDir, ours()[0]!), 'not a code cache');
    const e = run('--no-cache');
    assert.is(v8cache(e), 'rejected');
    assert.is(saved(e), 'bin: code cache saved (full)');
    const off = quickbeam(['run', '--no-cache', hello], { QUICKBEAM_CODE_CACHE: '0' });
    assert.is(v8cache(off), 'absent');
    assert.is(saved(off), undefined);
    assert.is(v8cache(run()), 'used');
  } finally {
    rmSync(machineCache, { recursive: true, force: true });
  }
});

test('bundle: a bundle older than dist/src/cli/main.js is not used', () => {
  if (!haveBundle) return skip('no up-to-date dist/quickbeam.cjs');
  const st = statSync(bundle);
  const main = statSync(mainJs);
  try {
    utimesSync(bundle, st.atime, new Date(main.mtimeMs - 60_000));
    const r = quickbeam(['--version']);
    assert.is(r.status, 0);
    assert.ok(r.marks.includes('bin: dist/src/cli/main.js imported'), r.marks.join(' | '));
  } finally {
    utimesSync(bundle, st.atime, st.mtime);
  }
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
