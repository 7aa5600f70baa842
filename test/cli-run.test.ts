// `quickbeam run` end to end: WASI programs, exit codes, traps, --invoke, .wat input, and one-line errors.
// Also the shared SQLite workloads: the WASI build through the CLI, the freestanding builds through the API.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import qb from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const bin = path.join(root, 'bin/quickbeam.js');
const fixtures = path.join(root, 'test/fixtures/cli');
const examples = path.join(root, 'examples');
const sqliteDir = path.resolve(root, process.env.QUICKBEAM_WORKLOADS ?? '../shared/workloads', 'sqlite');

function run(args: string[], opts: { cwd?: string; input?: string } = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, 'run', ...args], { encoding: 'utf8', timeout: 120_000, cwd: opts.cwd, input: opts.input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('a WASI hello world prints and exits 0', () => {
  const r = run([path.join(examples, 'hello.wasm')]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, 'Hello from Quickbeam!');
});

test('proc_exit becomes the exit status; stderr is the process stderr', () => {
  const r = run([path.join(fixtures, 'exit7.wasm')]);
  assert.is(r.status, 7);
  assert.is(r.stderr, 'bye\n');
});

test('a trap exits 134 and prints the error with its wasm backtrace (names from the name section)', () => {
  const r = run([path.join(fixtures, 'trap.wasm')]);
  assert.is(r.status, 134);
  assert.match(r.stderr, 'RuntimeError: divide by zero');
  assert.match(r.stderr, /at inner \(wasm-function\[0\]:0x[0-9a-f]+\)/);
  assert.match(r.stderr, /at outer \(wasm-function\[1\]:0x[0-9a-f]+\)/);
  assert.not.match(r.stderr, 'dist/src'); // no engine internals
});

test('--invoke parses arguments by the export signature and prints every result', () => {
  const r = run(['--invoke', 'mix', path.join(fixtures, 'calc.wasm'), '-5', '9007199254740993', '1.5', '0.25']);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, '9007199254740988\n1.75\n');
  const t = run(['--invoke', 'mix', path.join(fixtures, 'calc.wat'), '1', '2', '3', '4']);
  assert.is(t.stdout, '3\n7\n');
  const bad = run(['--invoke', 'mix', path.join(fixtures, 'calc.wasm'), 'x', '2', '3', '4']);
  assert.is(bad.status, 2);
  assert.is(bad.stderr.trim().split('\n').length, 1);
});

test('argv, environment and a preopened directory reach the guest; escapes are refused', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-cli-'));
  try {
    writeFileSync(path.join(dir, 'a.txt'), 'one\ntwo\nthree\n');
    const r = run(['--dir', `${dir}::/data`, path.join(examples, 'cat.wasm'), '/data/a.txt']);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, 'one\ntwo\nthree\n');
    const esc = run(['--dir', `${dir}::/data`, path.join(examples, 'cat.wasm'), '/data/../package.json']);
    assert.is.not(esc.status, 0);
    assert.not.match(esc.stdout, '"name"');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad command lines, missing files, malformed modules and missing imports are one-line errors', () => {
  const cases: Array<[string[], number, RegExp]> = [
    [[], 2, /missing FILE/],
    [['--bogus', 'x.wasm'], 2, /unknown option --bogus/],
    [['/no/such/file.wasm'], 1, /no such file/],
    [['--timeout', 'soon', 'x.wasm'], 2, /--timeout/],
    [['--compile-threads', '0', 'x.wasm'], 2, /--compile-threads expects a positive integer/],
  ];
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-cli-'));
  try {
    const bad = path.join(dir, 'bad.wasm');
    writeFileSync(bad, Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5]));
    cases.push([[bad], 1, /CompileError: .*byte offset/]);
    const imp = path.join(dir, 'imp.wat');
    writeFileSync(imp, '(module (import "env" "f" (func)) (func (export "_start") call 0))');
    cases.push([[imp], 1, /unknown import "env" "f"/]);
    for (const [args, status, msg] of cases) {
      const r = run(args);
      assert.is(r.status, status, `${args.join(' ')}: ${r.stderr}`);
      assert.is(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const haveSqlite = existsSync(path.join(sqliteDir, 'sqlite.wasi32.wasm'));

test('SQLite (WASI build) through quickbeam run prints exactly the expected output', () => {
  if (!haveSqlite) return console.log(`  (skipped: no ${sqliteDir})`);
  const args = readFileSync(path.join(sqliteDir, 'wasi.args'), 'utf8').trim().split(/\s+/);
  const expected = readFileSync(path.join(sqliteDir, 'expected_output.txt'), 'utf8');
  const r = run(['sqlite.wasi32.wasm', ...args], { cwd: sqliteDir });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout + r.stderr, expected);
  // Compiled on two threads in small batches (calls linked across batches), on one, and lazily after a
  // parallel validation: the same output.
  for (const mode of [['--eager', '--compile-threads', '2'], ['--eager', '--compile-threads', '1'], ['--lazy', '--compile-threads', '2']]) {
    const m = run(['--no-cache', ...mode, 'sqlite.wasi32.wasm', ...args], { cwd: sqliteDir });
    assert.is(m.status, 0, `${mode.join(' ')}: ${m.stderr}`);
    assert.is(m.stdout + m.stderr, expected, mode.join(' '));
  }
});

function fnv1a64(bytes: number[]): string {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

test('SQLite freestanding wasm32 and wasm64 builds give the expected checksums through the JS API', () => {
  if (!haveSqlite) return console.log(`  (skipped: no ${sqliteDir})`);
  const expected = JSON.parse(readFileSync(path.join(sqliteDir, 'expected_checksums.json'), 'utf8')) as Record<string, string>;
  for (const build of ['wasm32', 'wasm64']) {
    const bytes = readFileSync(path.join(sqliteDir, `sqlite.${build}.wasm`));
    const out: number[] = [];
    let printed = '';
    const { exports } = new qb.Instance(new qb.Module(bytes), {
      env: { putchar: (c: number) => void out.push(c & 0xff), print_i64: (v: bigint) => void (printed = BigInt.asUintN(64, v).toString(16)) },
    });
    const ret = BigInt.asUintN(64, BigInt((exports as { run: () => bigint }).run())).toString(16).padStart(16, '0');
    assert.is(ret, expected[build], build);
    assert.is(printed.padStart(16, '0'), expected[build], build);
    assert.is(fnv1a64(out), expected[build], build);
  }
});

test.run();
