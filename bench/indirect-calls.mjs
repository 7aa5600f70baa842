// Calls through FuncRecords in a loop (issue 16, BENCHMARKS.md "Fourth round"): call_indirect with four
// arguments (i32 i64 f64 i32) to two alternating targets, and a call of another instance's function through an
// import. Prints ns per call (CPU time of this process) for one engine; run it once per engine and build:
//
//   node bench/indirect-calls.mjs [--engine quickbeam|v8] [--lazy] [--dist DIR] [--n N]
//   node --liftoff-only --no-wasm-lazy-compilation bench/indirect-calls.mjs --engine v8
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt; };
const engine = opt('--engine', 'quickbeam'), n = Number(opt('--n', 20_000_000)), lazy = argv.includes('--lazy');
const dist = path.resolve(opt('--dist', path.join(here, '..', 'dist')));
const W = engine === 'quickbeam' ? (await import(path.join(dist, 'src', 'index.js'))).default : WebAssembly;
const wabt = await createRequire(import.meta.url)('wabt')();
const wasm = (src) => wabt.parseWat('m.wat', src, {}).toBinary({}).buffer;
const mk = (bytes, imports = {}) => new W.Instance(engine === 'quickbeam' ? new W.Module(bytes, { lazy }) : new W.Module(bytes), imports).exports;

const SIG = '(param i32 i64 f64 i32) (result i64)';
const BODY = (op) => `(i64.${op} (i64.add (i64.extend_i32_u (local.get 0)) (local.get 1)) (i64.add (i64.trunc_f64_s (local.get 2)) (i64.extend_i32_u (local.get 3))))`;
const loop = (call) => `(func (export "run") (param $n i32) (result i64) (local $acc i64) (local $i i32)
  (loop $l
    (local.set $acc ${call})
    (local.set $i (i32.add (local.get $i) (i32.const 1)))
    (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
  (local.get $acc))`;
const indirect = mk(wasm(`(module (type $t (func ${SIG})) (table 2 funcref) (elem (i32.const 0) func $a $b)
  (func $a (type $t) ${BODY('add')}) (func $b (type $t) ${BODY('sub')})
  ${loop('(call_indirect (type $t) (local.get $i) (local.get $acc) (f64.const 1.5) (i32.const 3) (i32.and (local.get $i) (i32.const 1)))')})`));
const callee = mk(wasm(`(module (func (export "f") ${SIG} ${BODY('add')}))`));
const viaImport = mk(wasm(`(module (import "a" "f" (func $f ${SIG})) ${loop('(call $f (local.get $i) (local.get $acc) (f64.const 1.5) (i32.const 3))')})`), { a: { f: callee.f } });

for (const [name, run] of [['call_indirect', indirect.run], ['import call', viaImport.run]]) {
  run(1000);
  const t0 = process.cpuUsage();
  const r = run(n);
  const t = process.cpuUsage(t0);
  console.log(`${name}: ${(((t.user + t.system) * 1000) / n).toFixed(2)} ns/call (${engine}${lazy ? ', lazy' : ''}; result ${r})`);
}
