// Tests of `quickbeam compare` and `quickbeam compile` on small modules (through the real CLI, in child
// processes: compare starts Quickbeam, V8 Liftoff and V8 TurboFan processes of its own).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { disagreements, parseCompareArgs } from '../src/cli/compare.js';
import { parseCompileArgs } from '../src/cli/compile-cmd.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // dist/test -> project root
const CLI = path.join(ROOT, 'bin', 'quickbeam.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'qb-cli-compare-'));

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
}

// (module
//   (import "env" "putchar" (func $putchar (param i32)))
//   (import "env" "print_i64" (func $print_i64 (param i64)))
//   (memory (export "memory") 1)
//   (data (i32.const 16) "hello, compare\n")
//   (func $run (export "run") (result i64) (local $i i32) (local $h i64)
//     ;; putchar each of the 15 bytes and return their FNV-1a 64 hash (also passed to print_i64)
//     ...))
const FREE = hex(
  '0061736d01000000010d0360017f0060017e006000017e021f0203656e760770757463686172000003656e76097072696e745f6936340001' +
    '030201020503010001071002066d656d6f727902000372756e00020a49014702017f017e42a5c688a1c89ca7f94b2101024003402000410f' +
    '4f0d0120002d00101000200120003100108542b383808080207e2101200041016a21000c000b0b2001100120010b0b15010041100b0f6865' +
    '6c6c6f2c20636f6d706172650a0030046e616d65011a0300077075746368617201097072696e745f693634020372756e020d030000010002' +
    '02000169010168',
);
// (module
//   (func $fac (export "fac") (param $n i64) (result i64)   ;; recursive factorial
//     (if (result i64) (i64.le_u (local.get $n) (i64.const 1)) (then (i64.const 1))
//       (else (i64.mul (local.get $n) (call $fac (i64.sub (local.get $n) (i64.const 1)))))))
//   (func $add (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
//   (func $div (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
//   (func $hyp (export "hyp") (param f64 f64) (result f64) (f64.sqrt (f64.add (f64.mul ..0 ..0) (f64.mul ..1 ..1)))))
const CALC = hex(
  '0061736d0100000001120360017e017e60027f7f017f60027c7c017c030504000101020719040366616300000361646400010364697600020368' +
    '797000030a380417002000420158047e4201052000200042017d10007e0b0b0700200020016a0b0700200020016d0b0e0020002000a22001' +
    '2001a2a09f0b002a046e616d650115040003666163010361646402036469760303687970020c04000100016e010002000300',
);
const freeFile = path.join(dir, 'free.wasm');
const calcFile = path.join(dir, 'calc.wasm');
const badFile = path.join(dir, 'bad.wasm');
writeFileSync(freeFile, FREE);
writeFileSync(calcFile, CALC);
writeFileSync(badFile, Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1]));

function cli(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// ---------------------------------------------------------------------------------------------- compile

test('compile: one line per function, totals and compile time', () => {
  const r = cli('compile', calcFile);
  assert.is(r.status, 0, r.stderr);
  for (const name of ['fac', 'add', 'div', 'hyp']) assert.match(r.stdout, new RegExp(`^\\s+\\d+\\s+${name}\\s+\\d+\\s+\\d+`, 'm'));
  assert.match(r.stdout, /4 functions \(0 imported\): 51 bytes of wasm code -> [\d,]+ bytes of machine code/);
  assert.match(r.stdout, /compiled 164 bytes in [\d.]+ ms/);
});

test('compile --disasm --func NAME: disassembles only that function', () => {
  const r = cli('compile', '--disasm', '--func', 'fac', calcFile);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\s+0\s+fac\s/m);
  assert.not.match(r.stdout, /^\s+\d+\s+add\s/m);
  const hasObjdump = spawnSync('objdump', ['--version']).status === 0;
  if (hasObjdump) {
    assert.match(r.stdout, /push\s+rbp/);
    assert.match(r.stdout, /\bret\b/);
    assert.match(r.stdout, /\bimul\s/); // i64.mul
  } else assert.match(r.stdout, /^\s+0:\s+55 /m);
});

test('compile --func N by index, and errors', () => {
  const r = cli('compile', '--func', '2', '--disasm', calcFile);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\s+2\s+div\s/m);
  assert.is(cli('compile', '--func', 'nosuch', calcFile).status, 2);
  const bad = cli('compile', badFile);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /CompileError/);
  assert.is(cli('compile').status, 2);
  assert.equal(parseCompileArgs(['--sort', 'size', '--no-memory64', 'x.wasm']).features, { memory64: false });
});

// ---------------------------------------------------------------------------------------------- compare

test('compare: a freestanding module agrees on all three engines', () => {
  const r = cli('compare', '--show-output', freeFile);
  assert.is(r.status, 0, r.stdout + r.stderr);
  for (const e of ['Quickbeam', 'V8 Liftoff', 'V8 TurboFan']) assert.match(r.stdout, new RegExp(`^${e}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+`, 'm'));
  // FNV-1a 64 of "hello, compare\n", as run() returns it
  const want = (() => {
    let h = 0xcbf29ce484222325n;
    for (const c of Buffer.from('hello, compare\n')) h = BigInt.asUintN(64, (h ^ BigInt(c)) * 0x100000001b3n);
    return h.toString(16).padStart(16, '0');
  })();
  assert.ok(r.stdout.includes(`${want} / 15 bytes`), r.stdout);
  assert.match(r.stdout, /hello, compare/);
  assert.match(r.stdout, /Quickbeam \/ Liftoff:\s+compile [\d.]+x, run [\d.]+x/);
  assert.match(r.stdout, /^agree: Quickbeam, V8 Liftoff, V8 TurboFan$/m);
});

test('compare --invoke: results, i64 and f64 arguments, and a trap all engines agree on', () => {
  const fac = cli('compare', '--invoke', 'fac', calcFile, '20');
  assert.is(fac.status, 0, fac.stdout + fac.stderr);
  assert.is(fac.stdout.match(/2432902008176640000/g)?.length, 3);
  const hyp = cli('compare', calcFile, '--invoke', 'hyp', '3', '4');
  assert.is(hyp.status, 0, hyp.stdout + hyp.stderr);
  assert.match(hyp.stdout, /^agree/m);
  const div = cli('compare', '--engines', 'quickbeam,liftoff', '--invoke', 'div', calcFile, '7', '0');
  assert.is(div.status, 0, div.stdout + div.stderr);
  assert.is(div.stdout.match(/FAILED run: RuntimeError: divide by zero/g)?.length, 2);
  assert.match(div.stdout, /agree \(all fail the same way\)/);
  assert.not.match(div.stdout, /TurboFan/);
});

test('compare --json and usage errors', () => {
  const j = cli('compare', '--json', '--runs', '2', '--engines', 'quickbeam,turbofan', '--invoke', 'add', calcFile, '2', '40');
  assert.is(j.status, 0, j.stderr);
  const o = JSON.parse(j.stdout);
  assert.is(o.agree, true);
  assert.is(o.runs, 2);
  assert.equal(o.engines.map((e: { engine: string }) => e.engine), ['quickbeam', 'turbofan']);
  assert.equal(o.engines.map((e: { result: string }) => e.result), ['42', '42']);
  assert.is(cli('compare', '--invoke', 'add', calcFile, '1').status, 2); // wrong arity
  assert.is(cli('compare', '--invoke', 'add', calcFile, 'x', '1').status, 2); // not an i32
  assert.is(cli('compare', freeFile, 'extra').status, 2); // freestanding takes no ARGS
  assert.is(cli('compare', '--engines', 'spidermonkey', freeFile).status, 2);
  assert.is(cli('compare', calcFile).status, 1); // no run, no _start
});

test('compare: a WASI command (examples/hello.wasm) under Quickbeam WASI and node:wasi', () => {
  const hello = path.join(ROOT, 'examples', 'hello.wasm');
  if (!existsSync(hello)) return; // the example is not there in this checkout
  const r = cli('compare', '--engines', 'quickbeam,liftoff', hello, 'one', 'two');
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /exit 0 \/ \d+ bytes/);
  assert.match(r.stdout, /^agree/m);
});

test('parseCompareArgs and disagreements', () => {
  const o = parseCompareArgs(['--runs', '3', '--engines', 'turbofan,quickbeam', 'f.wasm', '--invoke', 'g', '1', '2']);
  assert.is(o.file, 'f.wasm');
  assert.is(o.invoke, 'g');
  assert.equal(o.args, ['1', '2']);
  assert.equal(o.engines, ['quickbeam', 'turbofan']);
  assert.is(o.runs, 3);
  const run = (engine: 'quickbeam' | 'liftoff' | 'turbofan', out: string, result = '1', error?: string) => ({
    engine, ok: error === undefined, result, error, output: Buffer.from(out),
  });
  assert.equal(disagreements([run('quickbeam', 'a\nb\n'), run('liftoff', 'a\nb\n')]), []);
  const d = disagreements([run('quickbeam', 'a\nX\n'), run('liftoff', 'a\nb\n'), run('turbofan', 'a\nb\n', '2')]);
  assert.is(d.length, 3);
  assert.match(d[0]!, /output differs .* first at line 2/);
  assert.match(d[1]!, /different results: 2 vs 1/);
  const t = disagreements([run('quickbeam', '', '', 'RuntimeError: unreachable'), run('liftoff', '', '0')]);
  assert.is(t.length, 1);
  assert.match(t[0]!, /ran \(0\) but Quickbeam failed \(RuntimeError: unreachable\)/);
});

test.run();
