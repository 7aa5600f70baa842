// Binaryen as a module generator (wasm-opt -ttf: translate random bytes into a valid module), NaN remover
// (--denan) and test-case reducer (wasm-reduce). Every function returns null when binaryen is missing.

import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { runTool, which, haveBinaryen } from './util.mjs';
import { InProcessTool, isJsTool } from './wasm-opt-inproc.mjs';

/** Binaryen feature flags for the features Quickbeam supports (reference types: see generateTtf). */
export const BASE_FEATURES = ['--mvp-features', '--enable-sign-ext', '--enable-nontrapping-float-to-int', '--enable-bulk-memory', '--enable-mutable-globals', '--enable-multivalue'];
export const REFTYPES = '--enable-reference-types';
export const MEMORY64 = '--enable-memory64';
export const SIMD = '--enable-simd';
export const TAIL_CALL = '--enable-tail-call';
/** Exceptions (try_table/throw/throw_ref/exnref; binaryen also emits the legacy try/catch/delegate). */
export const EH = '--enable-exception-handling';
/** For binaryen to read typed function references (call_ref, (ref $t)): they belong to its GC feature. */
export const TYPED_REFS = '--enable-gc';

let inproc = null;

/**
 * Load wasm-opt into this process when it is the JS build of npm's `binaryen` (see wasm-opt-inproc.mjs):
 * call once before generating, and between cases (it reloads a copy that has run many times). A native
 * wasm-opt is spawned per run as before. Resolves to 'in-process', 'spawn' or null (no binaryen).
 */
export async function prepareBinaryen() {
  if (!haveBinaryen()) return null;
  const file = which('wasm-opt');
  if (!isJsTool(file)) return 'spawn';
  if (!inproc) inproc = new InProcessTool(file);
  if (!inproc.main || inproc.stale) await inproc.load();
  return 'in-process';
}

/** Run wasm-opt with `args` (in this process when prepared, else as a command); true on success. */
function wasmOpt(args) {
  if (inproc?.main && !inproc.broken) return inproc.run(args).status === 0;
  return runTool(which('wasm-opt'), args, { timeout: 60000 }).status === 0;
}

let scratch = null;
function tmp() {
  if (!scratch) {
    scratch = mkdtempSync(path.join(tmpdir(), 'qb-fuzz-'));
    process.on('exit', () => { try { rmSync(scratch, { recursive: true, force: true }); } catch { /* ignore */ } });
  }
  return scratch;
}

let counter = 0;
function tmpFile(ext) {
  return path.join(tmp(), `${process.pid}-${counter++}${ext}`);
}

/**
 * wasm-opt -ttf over `randomBytes` with the given feature flags. Returns the module bytes, or null when
 * binaryen is missing or fails.
 */
export function ttf(randomBytes, features) {
  if (!haveBinaryen()) return null;
  const inp = tmpFile('.bin'), out = tmpFile('.wasm');
  writeFileSync(inp, randomBytes);
  const ok = wasmOpt([inp, '-ttf', ...features, '-o', out]);
  rmSync(inp, { force: true });
  if (!ok || !existsSync(out)) return null;
  const bytes = new Uint8Array(readFileSync(out));
  rmSync(out, { force: true });
  return bytes;
}

/** wasm-opt --denan: every float result that is NaN becomes 0 (removes NaN nondeterminism). */
export function denan(bytes, features) {
  if (!haveBinaryen()) return null;
  const inp = tmpFile('.wasm'), out = tmpFile('.wasm');
  writeFileSync(inp, bytes);
  const ok = wasmOpt([inp, '--denan', ...features, '-o', out]);
  rmSync(inp, { force: true });
  if (!ok || !existsSync(out)) return null;
  const b = new Uint8Array(readFileSync(out));
  rmSync(out, { force: true });
  return b;
}

/** wasm-dis text of a module (for reports), or null. */
export function disassemble(file) {
  const dis = which('wasm-dis');
  if (dis) {
    const r = runTool(dis, [file], { timeout: 30000 });
    if (r.status === 0) return r.stdout;
  }
  const w2w = which('wasm2wat');
  if (w2w) {
    const r = runTool(w2w, ['--enable-memory64', '--enable-multi-memory', '--enable-extended-const', file], { timeout: 30000 });
    if (r.status === 0) return r.stdout;
  }
  return null;
}

/**
 * Minimise `inFile` with wasm-reduce, keeping `checkArgs` (a node command line that reads the test file and
 * prints a verdict) giving the same output. Resolves to the reduced bytes, or null.
 */
export function reduce(inFile, checkCommand, testFile, workFile, features, timeoutSec = 300) {
  const wr = which('wasm-reduce');
  // npm's JS build of wasm-reduce cannot run the test command (no processes in its runtime): native only.
  if (!wr || isJsTool(wr) || process.env.QUICKBEAM_FUZZ_NO_BINARYEN === '1') return Promise.resolve(null);
  return new Promise((resolve) => {
    const args = [inFile, `--command=${checkCommand}`, '-t', testFile, '-w', workFile, '--timeout', '20', `--extra-flags=${features.join(' ')}`, ...features];
    const child = spawn(wr, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${path.dirname(wr)}:${process.env.PATH}` } });
    let log = '';
    child.stdout.on('data', (d) => { log = (log + d).slice(-20000); });
    child.stderr.on('data', (d) => { log = (log + d).slice(-20000); });
    const timer = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, timeoutSec * 1000);
    child.on('exit', () => {
      clearTimeout(timer);
      if (existsSync(workFile)) resolve({ bytes: new Uint8Array(readFileSync(workFile)), log });
      else resolve({ bytes: null, log });
    });
  });
}
