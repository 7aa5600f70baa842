// The package entry (dist/quickbeam-entry.mjs) loads the library from its one-file CommonJS bundle through V8's
// code cache (src/bundle-cache.cts), as bin does the CLI: the first process saves the cache at exit, later ones
// start from it; a cache saved by a process that compiled nothing is replaced by one that compiled; the cache is
// only used when private to the user; QUICKBEAM_CODE_CACHE=0 and QUICKBEAM_NO_BUNDLE=1 turn it off. Whatever
// path the entry takes, the library behaves the same.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { splitStartupTrace } from './helpers/startup-trace.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = path.join(root, 'dist', 'quickbeam-entry.mjs');
const libBundle = path.join(root, 'dist', 'quickbeam-lib.cjs');
const cacheDir = path.join(root, 'dist', 'v8-code-cache');
const srcIndex = path.join(root, 'dist', 'src', 'index.js');

const haveBundle = existsSync(libBundle) && statSync(libBundle).mtimeMs >= statSync(srcIndex).mtimeMs;

/** A module exporting add(i32, i32) -> i32, compiled and called by the child when `compile` is set. */
const ADD = [0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1, 0, 7, 7, 1, 3, 97, 100, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 106, 11];

interface Child {
  status: number | null;
  stdout: string;
  stderr: string;
  marks: string[];
}

/** A process that imports the package entry (and, with `compile`, compiles and calls a module). */
function child(compile: boolean, env: Record<string, string> = {}): Child {
  const code = compile
    ? `const q = (await import(${JSON.stringify(pathToFileURL(entry).href)})).default;
       const { instance } = await q.instantiate(new Uint8Array(${JSON.stringify(ADD)}));
       process.stdout.write([instance.exports.add(40, 2), typeof q.Module, q.Module === (await import(${JSON.stringify(pathToFileURL(entry).href)})).Module].join(' ') + '\\n');`
    : `const q = await import(${JSON.stringify(pathToFileURL(entry).href)});
       process.stdout.write([Object.keys(q).length > 30, typeof q.default.validate].join(' ') + '\\n');`
  const e: Record<string, string | undefined> = { ...process.env, QUICKBEAM_TRACE_STARTUP: '1', ...env };
  for (const k of ['QUICKBEAM_NO_BUNDLE', 'QUICKBEAM_CODE_CACHE']) if (!(k in env)) delete e[k];
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: e, timeout: 120_000 });
  const { marks, other } = splitStartupTrace(r.stderr);
  return { status: r.status, stdout: r.stdout, stderr: other, marks };
}

const libCaches = (): string[] => (existsSync(cacheDir) ? readdirSync(cacheDir).filter((f) => f.startsWith('quickbeam-lib-')) : []);
const clearLibCaches = (): void => {
  for (const f of libCaches()) rmSync(path.join(cacheDir, f));
};
const compiledMark = (c: Child): string | undefined => c.marks.find((m) => m.startsWith('entry: library bundle compiled'));

test('package entry: the library bundle through the V8 code cache, saved at exit', () => {
  if (!haveBundle) return console.log('  (skipped: no dist/quickbeam-lib.cjs newer than dist/src)');
  clearLibCaches();
  const first = child(true);
  assert.is(first.status, 0, first.stderr);
  assert.is(first.stdout, '42 function true\n');
  assert.is(compiledMark(first), 'entry: library bundle compiled (code cache absent)', first.marks.join(' | '));
  assert.ok(first.marks.includes('entry: code cache saved (full)'), first.marks.join(' | '));
  const saved = libCaches();
  assert.is(saved.length, 1, saved.join(' '));
  // (`node --input-type=module -e CODE`: neither the script nor --input-type are flags: one cache for all such processes)
  assert.match(saved[0]!, /^quickbeam-lib-[0-9a-f]{16}-node.*-default\.full\.bin$/);
  assert.is(statSync(path.join(cacheDir, saved[0]!)).mode & 0o777, 0o600);

  const second = child(true);
  assert.is(second.status, 0, second.stderr);
  assert.is(second.stdout, '42 function true\n');
  assert.is(compiledMark(second), 'entry: library bundle compiled (code cache used)', second.marks.join(' | '));
  assert.not.ok(second.marks.some((m) => m.startsWith('entry: code cache saved')), 'a full cache is not saved again');
  assert.equal(libCaches(), saved);
});

test('package entry: a cache saved without compiling is replaced by the first process that compiles', () => {
  if (!haveBundle) return;
  clearLibCaches();
  const importOnly = child(false);
  assert.is(importOnly.status, 0, importOnly.stderr);
  assert.is(importOnly.stdout, 'true function\n');
  assert.ok(importOnly.marks.includes('entry: code cache saved (partial)'), importOnly.marks.join(' | '));
  const again = child(false);
  assert.is(compiledMark(again), 'entry: library bundle compiled (code cache used)');
  assert.not.ok(again.marks.some((m) => m.startsWith('entry: code cache saved')), 'partial -> partial: nothing to gain');
  const compiles = child(true);
  assert.is(compiles.stdout, '42 function true\n');
  assert.ok(compiles.marks.includes('entry: code cache saved (full)'), compiles.marks.join(' | '));
  const left = libCaches();
  assert.is(left.length, 1, left.join(' '));
  assert.ok(left[0]!.endsWith('.full.bin'), left[0]);
});

test('package entry: quickbeam/register (which changes NODE_OPTIONS for children) finds the cache it saved', () => {
  if (!haveBundle) return;
  clearLibCaches();
  const register = pathToFileURL(path.join(root, 'dist', 'src', 'register', 'register.js')).href;
  const code = `const { instance } = await WebAssembly.instantiate(new Uint8Array(${JSON.stringify(ADD)}));
    process.stdout.write(String(instance.exports.add(2, 3)) + ' ' + String(WebAssembly.Module.name) + '\\n');`;
  const run = (): Child => {
    const e: Record<string, string | undefined> = { ...process.env, QUICKBEAM_TRACE_STARTUP: '1' };
    for (const k of ['QUICKBEAM_NO_BUNDLE', 'QUICKBEAM_CODE_CACHE', 'NODE_OPTIONS']) delete e[k];
    const r = spawnSync(process.execPath, [`--import=${register}`, '--input-type=module', '-e', code], { encoding: 'utf8', env: e, timeout: 120_000 });
    const { marks, other } = splitStartupTrace(r.stderr);
    return { status: r.status, stdout: r.stdout, stderr: other, marks };
  };
  const first = run();
  assert.is(first.status, 0, first.stderr);
  assert.is(first.stdout, '5 Module\n');
  assert.ok(first.marks.includes('entry: code cache saved (full)'), first.marks.join(' | '));
  const second = run();
  assert.is(second.stdout, '5 Module\n');
  assert.is(compiledMark(second), 'entry: library bundle compiled (code cache used)', second.marks.join(' | '));
  assert.not.ok(second.marks.some((m) => m.startsWith('entry: code cache saved')), second.marks.join(' | '));
  assert.is(libCaches().length, 1, libCaches().join(' '));
});

test('package entry: only a private cache file is used; QUICKBEAM_CODE_CACHE=0 and QUICKBEAM_NO_BUNDLE=1 turn it off', () => {
  if (!haveBundle) return;
  clearLibCaches();
  assert.is(child(true).status, 0);
  const [file] = libCaches();
  const full = path.join(cacheDir, file!);
  chmodSync(full, 0o666);
  try {
    const r = child(true);
    assert.is(r.stdout, '42 function true\n');
    assert.is(compiledMark(r), 'entry: library bundle compiled (code cache absent)', r.marks.join(' | '));
    assert.ok(r.marks.includes(`entry: code cache ignored: ${file} is writable by group and others (mode 0666)`), r.marks.join(' | '));
  } finally {
    if (existsSync(full)) chmodSync(full, 0o600);
  }
  clearLibCaches();
  const off = child(true, { QUICKBEAM_CODE_CACHE: '0' });
  assert.is(off.stdout, '42 function true\n');
  assert.is(compiledMark(off), 'entry: library bundle compiled (code cache absent)');
  assert.equal(libCaches(), [], 'QUICKBEAM_CODE_CACHE=0 saves nothing');
  const noBundle = child(true, { QUICKBEAM_NO_BUNDLE: '1' });
  assert.is(noBundle.status, 0, noBundle.stderr);
  assert.is(noBundle.stdout, '42 function true\n');
  assert.is(compiledMark(noBundle), undefined, noBundle.marks.join(' | '));
  assert.equal(libCaches(), []);
});

test.run();
