// Tests of the `quickbeam spectest` runner and the CLI skeleton. They use `--engine v8` (the host's own
// WebAssembly) so that they test the runner, not the engine: real suite files must give exactly the counts
// of COUNTS.tsv, and synthetic fixtures (built here with the runner's own tiny module writer) check failure
// reporting, NaN classes, references, traps, crashes and hangs.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ExternKind,
  ModuleBuilder,
  Op,
  f32ConstBits,
  f64ConstBits,
  globalGet,
  i32Const,
  localGet,
  call,
  v128Const,
} from '../src/cli/spectest-wasm.js';
import { isArithmeticNaN32, isCanonicalNaN32, isArithmeticNaN64, isCanonicalNaN64, matches } from '../src/cli/spectest-values.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/test
const projectRoot = path.resolve(here, '..', '..');
const mainJs = path.resolve(here, '..', 'src', 'cli', 'main.js');
const binJs = path.join(projectRoot, 'bin', 'quickbeam.js');
const suite = path.resolve(projectRoot, process.env['QUICKBEAM_TESTSUITE'] ?? '../shared/wasm-testsuite/json');
const haveSuite = existsSync(path.join(suite, 'core'));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  lines: string[];
  final: string;
}

function cli(args: string[], script = mainJs): Run {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', timeout: 300_000 });
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines, final: lines[lines.length - 1] ?? '' };
}

// ---- COUNTS.tsv ----

function expectedCounts(group: string, name: string): { passed: number; skipped: number } {
  const tsv = readFileSync(path.join(suite, '..', 'COUNTS.tsv'), 'utf8').trim().split('\n');
  const header = tsv[0]!.split('\t');
  const row = tsv.map((l) => l.split('\t')).find((c) => c[0] === group && c[1] === name);
  if (!row) throw new Error(`${group}/${name} not in COUNTS.tsv`);
  let total = 0;
  for (let i = 0; i < header.length; i++) if (header[i] !== 'group' && header[i] !== 'name' && header[i] !== 'wast_bytes') total += Number(row[i]);
  // text-format modules (skipped by a binary-only runner) are not told apart in COUNTS.tsv: count them in the json
  const json = JSON.parse(readFileSync(path.join(suite, group, name, `${name}.json`), 'utf8')) as { commands: { module_type?: string }[] };
  const skipped = json.commands.filter((c) => c.module_type === 'text').length;
  return { passed: total - skipped, skipped };
}

// ---- fixtures ----

let tmp = '';
test.before(() => {
  tmp = mkdtempSync(path.join(tmpdir(), 'qb-spectest-'));
});
test.after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

type Cmd = Record<string, unknown>;

/** Writes dir/name/name.json and its modules; returns the json path. */
function fixture(name: string, commands: Cmd[], modules: Record<string, Uint8Array | string>): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, bytes] of Object.entries(modules)) writeFileSync(path.join(dir, file), bytes);
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ source_filename: `${name}.wast`, commands }));
  return file;
}

const i32 = (v: number | string) => ({ type: 'i32', value: String(v) });
const i64 = (v: bigint | string) => ({ type: 'i64', value: String(v) });
const f32 = (v: number | string) => ({ type: 'f32', value: String(v) });
const f64 = (v: bigint | string) => ({ type: 'f64', value: String(v) });
const ext = (v: number | string) => ({ type: 'externref', value: String(v) });
const invoke = (field: string, args: object[] = []) => ({ type: 'invoke', field, args });
const ret = (line: number, action: object, expected: object[]): Cmd => ({ type: 'assert_return', line, action, expected });

/** The main fixture module: arithmetic, NaN producers, identities, a trapping divide. */
function mainModule(): Uint8Array {
  const b = new ModuleBuilder();
  const exp = (name: string, idx: number) => b.export(name, ExternKind.Func, idx);
  exp('add', b.func({ params: ['i32', 'i32'], results: ['i32'] }, [], [...localGet(0), ...localGet(1), Op.i32Add]));
  exp('div', b.func({ params: ['i32', 'i32'], results: ['i32'] }, [], [...localGet(0), ...localGet(1), Op.i32DivS]));
  exp('f32.canon', b.func({ params: [], results: ['f32'] }, [], f32ConstBits(0x7fc00000)));
  exp('f32.arith', b.func({ params: [], results: ['f32'] }, [], f32ConstBits(0x7fe00000)));
  exp('f32.snan', b.func({ params: [], results: ['f32'] }, [], f32ConstBits(0x7fa00000)));
  exp('f64.negcanon', b.func({ params: [], results: ['f64'] }, [], f64ConstBits(0xfff8000000000000n)));
  exp('f64.snan', b.func({ params: [], results: ['f64'] }, [], f64ConstBits(0x7ff4000000000000n)));
  exp('f64.id', b.func({ params: ['f64'], results: ['f64'] }, [], localGet(0)));
  exp('f32.id', b.func({ params: ['f32'], results: ['f32'] }, [], localGet(0)));
  exp('ext.id', b.func({ params: ['externref'], results: ['externref'] }, [], localGet(0)));
  exp('i64.id', b.func({ params: ['i64'], results: ['i64'] }, [], localGet(0)));
  exp('two', b.func({ params: [], results: ['i32', 'f32'] }, [], [...i32Const(7), ...f32ConstBits(0x3f800000)]));
  b.export('g', ExternKind.Global, b.global('i32', false, i32Const(42)));
  b.export('gnan', ExternKind.Global, b.global('f32', false, f32ConstBits(0x7fa00001)));
  return b.build();
}

function emptyModule(): Uint8Array {
  return new ModuleBuilder().build();
}

/** A module with one function; its type section declares a result the body does not produce (invalid). */
function invalidModule(): Uint8Array {
  const b = new ModuleBuilder();
  b.func({ params: [], results: ['i32'] }, [], []);
  return b.build();
}

// ---- CLI skeleton ----

test('cli: --help lists the commands, exit 0', () => {
  const r = cli(['--help']);
  assert.is(r.status, 0);
  for (const c of ['run', 'compile', 'compare', 'spectest']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
});

test('cli: help COMMAND and COMMAND --help', () => {
  const a = cli(['help', 'spectest']);
  const b = cli(['spectest', '--help']);
  assert.is(a.status, 0);
  assert.is(b.status, 0);
  assert.match(a.stdout, 'Usage: quickbeam spectest');
  assert.is(a.stdout, b.stdout);
  assert.match(a.stdout, '--no-multi-memory');
});

test('cli: run with a missing file or bad option is a one-line usage error', () => {
  for (const args of [['run'], ['run', '--bogus', 'x.wasm']]) {
    const r = cli(args);
    assert.is(r.status, 2, args.join(' '));
    assert.is(r.stderr.trim().split('\n').length, 1, args.join(' ') + ': ' + r.stderr);
  }
  const r = cli(['run', '/no/such/file.wasm']);
  assert.is(r.status, 1);
  assert.match(r.stderr, 'no such file');
});

test('cli: errors are one line on stderr, no stack', () => {
  for (const args of [['bogus'], ['spectest', '--bogus', 'x'], ['spectest'], ['spectest', '--engine', 'v8', '/no/such/dir'], ['spectest', '--jobs', '0', 'x']]) {
    const r = cli(args);
    assert.is(r.status, 2, args.join(' '));
    assert.is(r.stderr.trim().split('\n').length, 1, args.join(' ') + ': ' + r.stderr);
    assert.not.match(r.stderr, '    at ');
  }
});

test('cli: bin/quickbeam.js runs the built CLI', () => {
  const r = cli(['--help'], binJs);
  assert.is(r.status, 0);
  assert.match(r.stdout, 'spectest');
});

// ---- real suite files against V8 ----

for (const [group, name] of [
  ['core', 'i32'],
  ['core', 'nop'],
  ['core', 'f32_bitwise'],
  ['core', 'conversions'],
  ['core', 'linking'],
  // (From Node 22 V8 has multi-memory on, and cannot turn it off: the 2.0-era imports file asserts that a
  // second memory is invalid, so the 3.0 era's is the one that V8 passes there.)
  Number(process.versions.node.split('.')[0]) >= 22 ? ['wasm3', 'imports'] : ['core', 'imports'],
  ['memory64', 'address64'],
] as const) {
  test(`suite: ${group}/${name} with --engine v8 matches COUNTS.tsv`, () => {
    if (!haveSuite) return console.log(`  (skipped: no test suite at ${suite})`);
    const { passed, skipped } = expectedCounts(group, name);
    const extra = group === 'memory64' ? ['--no-multi-memory'] : group === 'wasm3' ? ['--memory-u64-leb'] : [];
    const r = cli(['spectest', '--engine', 'v8', ...extra, path.join(suite, group, name)]);
    assert.is(r.final, `${passed} passed, 0 failed, ${skipped} skipped`, r.stdout);
    assert.is(r.status, 0);
    assert.is(r.lines.length, 2, r.stdout); // the file's summary + the final line
  });
}

// ---- synthetic fixtures ----

test('fixture: failures are reported with their line; NaN classes, refs, traps, compile errors', () => {
  const file = fixture(
    'main',
    [
      { type: 'module', line: 1, filename: 'main.0.wasm' },
      ret(10, invoke('add', [i32(1), i32(2)]), [i32(3)]),
      ret(11, invoke('add', [i32(1), i32(2)]), [i32(4)]), // FAIL
      ret(12, invoke('add', [i32(4294967295), i32(4294967295)]), [i32(4294967294)]),
      ret(20, invoke('f32.canon'), [f32('nan:canonical')]),
      ret(21, invoke('f32.arith'), [f32('nan:arithmetic')]),
      ret(22, invoke('f32.arith'), [f32('nan:canonical')]), // FAIL
      ret(23, invoke('f32.snan'), [f32('nan:arithmetic')]), // FAIL (signalling is not arithmetic)
      ret(24, invoke('f32.snan'), [f32(0x7fa00000)]), // exact bits of a signalling NaN survive the wrapper
      ret(25, invoke('f64.negcanon'), [f64('nan:canonical')]),
      ret(26, invoke('f64.snan'), [f64('nan:arithmetic')]), // FAIL
      ret(27, invoke('f64.id', [f64(0x7ff4000000000001n)]), [f64(0x7ff4000000000001n)]),
      ret(28, invoke('f32.id', [f32(0xffa00001)]), [f32(0xffa00001)]),
      ret(29, invoke('f32.id', [f32(0x80000000)]), [f32(0)]), // FAIL (-0 is not +0)
      ret(30, invoke('ext.id', [ext(1)]), [ext(1)]),
      ret(31, invoke('ext.id', [ext(1)]), [ext(2)]), // FAIL
      ret(32, invoke('ext.id', [ext('null')]), [ext('null')]),
      ret(33, invoke('i64.id', [i64(18446744073709551615n)]), [i64(18446744073709551615n)]),
      ret(34, invoke('two'), [i32(7), f32(0x3f800000)]),
      ret(35, { type: 'get', field: 'g' }, [i32(42)]),
      ret(36, { type: 'get', field: 'gnan' }, [f32(0x7fa00001)]),
      ret(37, invoke('missing'), []), // FAIL
      { type: 'assert_trap', line: 40, action: invoke('div', [i32(1), i32(0)]), text: 'integer divide by zero', expected: [{ type: 'i32' }] },
      { type: 'assert_trap', line: 41, action: invoke('div', [i32(4), i32(2)]), text: 'integer divide by zero', expected: [{ type: 'i32' }] }, // FAIL
      { type: 'action', line: 42, action: invoke('add', [i32(1), i32(1)]), expected: [{ type: 'i32' }] },
      { type: 'assert_malformed', line: 50, filename: 'main.1.wat', text: 'unexpected token', module_type: 'text' }, // skipped
      { type: 'assert_invalid', line: 51, filename: 'main.2.wasm', text: 'type mismatch', module_type: 'binary' }, // FAIL (it is valid)
      { type: 'assert_malformed', line: 52, filename: 'main.3.wasm', text: 'magic header not detected', module_type: 'binary' },
      { type: 'assert_invalid', line: 53, filename: 'main.4.wasm', text: 'type mismatch', module_type: 'binary' },
      { type: 'module', line: 60, filename: 'main.3.wasm' }, // FAIL (malformed)
      ret(61, invoke('add', [i32(1), i32(2)]), [i32(3)]), // FAIL (its module failed)
    ],
    {
      'main.0.wasm': mainModule(),
      'main.1.wat': '(module',
      'main.2.wasm': emptyModule(),
      'main.3.wasm': new Uint8Array([1, 2, 3, 4]),
      'main.4.wasm': invalidModule(),
    },
  );
  const r = cli(['spectest', '--engine', 'v8', file]);
  const failing = [11, 22, 23, 26, 29, 31, 37, 41, 51, 60, 61];
  const reported = r.lines.filter((l) => /\.json:\d+: /.test(l)).map((l) => Number(/\.json:(\d+): /.exec(l)![1]));
  assert.equal(reported, failing, r.stdout);
  const total = 31;
  assert.is(r.final, `${total - failing.length - 1} passed, ${failing.length} failed, 1 skipped`);
  assert.is(r.status, 1);
  const line = (n: number) => r.lines.find((l) => l.includes(`main.json:${n}: `)) ?? '';
  assert.match(line(11), 'assert_return invoke "add"(i32 1, i32 2): expected i32 4, got i32 3');
  assert.match(line(22), 'expected f32 nan:canonical, got f32 nan:0x600000 (0x7fe00000)');
  assert.match(line(23), 'got f32 nan:0x200000 (0x7fa00000)');
  assert.match(line(26), 'expected f64 nan:arithmetic');
  assert.match(line(31), 'expected ref.extern 2, got ref.extern 1');
  assert.match(line(37), 'no exported function "missing"');
  assert.match(line(41), 'expected a trap ("integer divide by zero"), but it returned');
  assert.match(line(51), 'expected CompileError ("type mismatch"), but the module compiled');
  assert.match(line(60), 'module main.3.wasm: failed to compile: CompileError');
  assert.match(line(61), 'module main.3.wasm (line 60) failed to compile');
  assert.match(r.stdout, /main\.json: 19 passed, 11 failed, 1 skipped/);
});

test('fixture: --direct-calls loses a signalling f32 NaN across JS (why wrappers exist)', () => {
  const file = fixture('direct', [{ type: 'module', line: 1, filename: 'd.0.wasm' }, ret(2, invoke('f32.snan'), [f32(0x7fa00000)])], {
    'd.0.wasm': mainModule(),
  });
  const wrapped = cli(['spectest', '--engine', 'v8', file]);
  assert.is(wrapped.final, '2 passed, 0 failed, 0 skipped');
  const direct = cli(['spectest', '--engine', 'v8', '--direct-calls', file]);
  assert.is(direct.final, '1 passed, 1 failed, 0 skipped');
  assert.match(direct.stdout, 'got f32 nan:0x600000 (0x7fe00000)');
});

test('fixture: spectest host module, register, named modules, link and instantiation errors', () => {
  // $A imports spectest.global_i32 and spectest.print_i32 and exports get() = global_i32 (666)
  const a = new ModuleBuilder();
  const print = a.importFunc('spectest', 'print_i32', { params: ['i32'], results: [] });
  const g = a.importGlobal('spectest', 'global_i32', 'i32', false);
  a.export('get', ExternKind.Func, a.func({ params: [], results: ['i32'] }, [], [...globalGet(g), ...globalGet(g), ...call(print)]));
  // B imports A.get under the registered name "A" and re-exports a caller
  const b = new ModuleBuilder();
  const imp = b.importFunc('A', 'get', { params: [], results: ['i32'] });
  b.export('call', ExternKind.Func, b.func({ params: [], results: ['i32'] }, [], call(imp)));
  // unlinkable: imports a missing function
  const u = new ModuleBuilder();
  u.importFunc('A', 'nope', { params: [], results: [] });
  // uninstantiable: start function traps
  const s = new ModuleBuilder();
  s.start(s.func({ params: [], results: [] }, [], [Op.unreachable]));
  const file = fixture(
    'link',
    [
      { type: 'module', line: 1, name: '$A', filename: 'l.0.wasm' },
      { type: 'register', line: 2, name: '$A', as: 'A' },
      { type: 'module', line: 3, filename: 'l.1.wasm' },
      ret(4, invoke('call'), [i32(666)]),
      ret(5, { type: 'invoke', module: '$A', field: 'get', args: [] }, [i32(666)]),
      { type: 'assert_unlinkable', line: 6, filename: 'l.2.wasm', text: 'unknown import', module_type: 'binary' },
      { type: 'assert_uninstantiable', line: 7, filename: 'l.3.wasm', text: 'unreachable', module_type: 'binary' },
      { type: 'assert_unlinkable', line: 8, filename: 'l.3.wasm', text: 'unknown import', module_type: 'binary' }, // FAIL
      ret(9, { type: 'invoke', module: '$Nope', field: 'get', args: [] }, [i32(666)]), // FAIL
    ],
    { 'l.0.wasm': a.build(), 'l.1.wasm': b.build(), 'l.2.wasm': u.build(), 'l.3.wasm': s.build() },
  );
  const r = cli(['spectest', '--engine', 'v8', file]);
  assert.is(r.final, '7 passed, 2 failed, 0 skipped', r.stdout);
  assert.match(r.stdout, 'link.json:8: assert_unlinkable l.3.wasm: expected LinkError ("unknown import"), got RuntimeError');
  assert.match(r.stdout, 'link.json:9: assert_return invoke $Nope "get"(): no module named $Nope');
});

test('fixture: Wasm 3.0 commands: module definition/instance, quoted modules with a binary, _custom, untyped v128 traps, reference kinds', () => {
  // $M: a counter in a mutable global (instances are generative), a v128 function that traps when asked, nulls
  const m = new ModuleBuilder();
  const g = m.global('i32', true, i32Const(0));
  const bump = [...globalGet(g), ...i32Const(1), Op.i32Add, 0x24, g, ...globalGet(g)];
  m.export('bump', ExternKind.Func, m.func({ params: [], results: ['i32'] }, [], bump));
  const trapIf = [...localGet(0), 0x04, 0x40, Op.unreachable, Op.end, ...v128Const(new Uint8Array(16))];
  m.export('v128.trap', ExternKind.Func, m.func({ params: ['i32'], results: ['v128'] }, [], trapIf));
  m.export('null.func', ExternKind.Func, m.func({ params: [], results: ['funcref'] }, [], [Op.refNull, 0x70]));
  m.export('self', ExternKind.Func, m.func({ params: [], results: ['funcref'] }, [], [0xd2, 3]));
  const file = fixture(
    'wasm3',
    [
      { type: 'module_definition', line: 1, name: '$M', filename: 'w.0.wasm', module_type: 'binary' },
      { type: 'module_instance', line: 2, instance: '$I1', module: '$M' },
      { type: 'module_instance', line: 3, instance: '$I2', module: '$M' },
      ret(4, { type: 'invoke', module: '$I1', field: 'bump', args: [] }, [i32(1)]),
      ret(5, { type: 'invoke', module: '$I1', field: 'bump', args: [] }, [i32(2)]),
      ret(6, { type: 'invoke', module: '$I2', field: 'bump', args: [] }, [i32(1)]),
      ret(7, invoke('bump'), [i32(2)]), // the last instance is the current module
      { type: 'assert_trap', line: 8, action: invoke('v128.trap', [i32(1)]), text: 'unreachable' },
      { type: 'assert_trap', line: 9, action: invoke('v128.trap', [i32(0)]), text: 'unreachable' }, // FAIL
      { type: 'action', line: 10, action: invoke('v128.trap', [i32(0)]) },
      ret(11, invoke('null.func'), [{ type: 'funcref', value: 'null' }]),
      ret(12, invoke('null.func'), [{ type: 'refnull' }]),
      ret(13, invoke('null.func'), [{ type: 'nullfuncref' }]),
      ret(14, invoke('null.func'), [{ type: 'funcref' }]), // FAIL
      ret(15, invoke('self'), [{ type: 'funcref' }]),
      ret(16, invoke('self'), [{ type: 'refnull' }]), // FAIL
      { type: 'module', line: 20, filename: 'w.1.wat', module_type: 'text', binary_filename: 'w.1.wasm' },
      ret(21, invoke('bump'), [i32(1)]),
      { type: 'module', line: 22, filename: 'w.2.wat', module_type: 'text' }, // skipped
      { type: 'assert_malformed_custom', line: 23, filename: 'w.3.wat', module_type: 'text', text: 'x' }, // skipped
      { type: 'module_instance', line: 24, instance: '$I3', module: '$Nope' }, // FAIL
    ],
    { 'w.0.wasm': m.build(), 'w.1.wasm': m.build(), 'w.1.wat': '(module', 'w.2.wat': '(module', 'w.3.wat': '(module' },
  );
  const r = cli(['spectest', '--engine', 'v8', file]);
  const reported = r.lines.filter((l) => /\.json:\d+: /.test(l)).map((l) => Number(/\.json:(\d+): /.exec(l)![1]));
  assert.equal(reported, [9, 14, 16, 24], r.stdout);
  assert.is(r.final, '15 passed, 4 failed, 2 skipped', r.stdout);
  assert.match(r.stdout, 'wasm3.json:14: assert_return invoke "null.func"(): expected ref.func, got funcref null');
  assert.match(r.stdout, 'wasm3.json:24: module_instance: no module definition named $Nope');
});

test('fixture: a crashing worker fails its file and the run goes on', () => {
  const ok = fixture('aaa-ok', [{ type: 'module', line: 1, filename: 'm.wasm' }, ret(2, invoke('add', [i32(1), i32(2)]), [i32(3)])], {
    'm.wasm': mainModule(),
  });
  const crash = fixture('bbb-crash-me', [{ type: 'module', line: 1, filename: 'm.wasm' }, ret(5, invoke('add', [i32(1), i32(2)]), [i32(3)]), ret(6, invoke('add', [i32(1), i32(2)]), [i32(3)])], {
    'm.wasm': mainModule(),
  });
  const later = fixture('ccc-later', [{ type: 'module', line: 1, filename: 'm.wasm' }], { 'm.wasm': mainModule() });
  const r = cli(['spectest', '--engine', 'v8', '--jobs', '1', '--debug-abort-on', 'crash-me', ok, crash, later]);
  assert.is(r.status, 1);
  assert.match(r.stdout, /bbb-crash-me\.json:5: assert_return: worker crashed \(killed by signal SIGABRT\)/);
  assert.match(r.stdout, /aaa-ok\.json: 2 passed, 0 failed, 0 skipped/);
  assert.match(r.stdout, /bbb-crash-me\.json: 1 passed, 1 failed, 0 skipped/);
  assert.match(r.stdout, /ccc-later\.json: 1 passed, 0 failed, 0 skipped/);
  assert.is(r.final, '4 passed, 1 failed, 0 skipped');
});

test('fixture: a hanging worker times out and the run goes on', () => {
  const hang = fixture('hang-me', [{ type: 'module', line: 1, filename: 'm.wasm' }, ret(3, invoke('add', [i32(1), i32(2)]), [i32(3)])], {
    'm.wasm': mainModule(),
  });
  const ok = fixture('fine', [{ type: 'module', line: 1, filename: 'm.wasm' }], { 'm.wasm': mainModule() });
  const r = cli(['spectest', '--engine', 'v8', '--timeout', '2', '--debug-hang-on', 'hang-me', hang, ok]);
  assert.is(r.status, 1);
  assert.match(r.stdout, /hang-me\.json:3: assert_return: worker timed out after 2 s/);
  assert.is(r.final, '2 passed, 1 failed, 0 skipped');
});

test('fixture: folders are searched recursively; --filter selects files', () => {
  const dir = path.join(tmp, 'tree');
  mkdirSync(path.join(dir, 'x', 'y'), { recursive: true });
  const write = (p: string) => {
    writeFileSync(path.join(dir, p, 'm.wasm'), emptyModule());
    writeFileSync(path.join(dir, p, `${path.basename(p)}.json`), JSON.stringify({ commands: [{ type: 'module', line: 1, filename: 'm.wasm' }] }));
  };
  write('x');
  write('x/y');
  assert.is(cli(['spectest', '--engine', 'v8', dir]).final, '2 passed, 0 failed, 0 skipped');
  const f = cli(['spectest', '--engine', 'v8', '--filter', 'y.json', dir]);
  assert.is(f.final, '1 passed, 0 failed, 0 skipped');
  assert.is(f.lines.length, 2);
});

// ---- value checks ----

test('values: NaN classes by bits', () => {
  assert.ok(isCanonicalNaN32(0x7fc00000) && isCanonicalNaN32(0xffc00000));
  assert.not.ok(isCanonicalNaN32(0x7fc00001));
  assert.ok(isArithmeticNaN32(0x7fc00001) && isArithmeticNaN32(0xffffffff));
  assert.not.ok(isArithmeticNaN32(0x7fa00000));
  assert.not.ok(isArithmeticNaN32(0x7f800000)); // infinity
  assert.ok(isCanonicalNaN64(0xfff8000000000000n));
  assert.not.ok(isCanonicalNaN64(0x7ff8000000000001n));
  assert.ok(isArithmeticNaN64(0x7ff8000000000001n));
  assert.not.ok(isArithmeticNaN64(0x7ff4000000000000n));
  const refs = () => ({});
  assert.ok(matches({ type: 'v128', lane_type: 'f32', value: ['nan:canonical', '0', '1065353216', 'nan:arithmetic'] }, { t: 'v128', v: new Uint8Array([0, 0, 0xc0, 0xff, 0, 0, 0, 0, 0, 0, 0x80, 0x3f, 1, 0, 0xc0, 0x7f]) }, refs));
  assert.not.ok(matches({ type: 'v128', lane_type: 'i16', value: ['65535', '0', '0', '0', '0', '0', '0', '1'] }, { t: 'v128', v: new Uint8Array(16) }, refs));
});

test.run();
