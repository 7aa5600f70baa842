// The fast body validator built to WebAssembly (src/compile/validator-wasm/validate.c) and compiled by Quickbeam
// itself (src/api/native-validator.ts): the embedded module matches its C source; on every body of the spec
// suites' modules, on mutations of them and on hand-made edge cases it accepts exactly what the TypeScript
// BodyValidator accepts (so never what the function compiler rejects); and a lazy Module validates through it
// end to end, with the function compiler's exact errors for what it declines.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { compilerAccepts, decode, type Decoded, mutateBody, rng, root, suite, uleb, wasmFiles as corpus } from './helpers/validation-corpus.js';
import { type Features, resolveFeatures } from '../src/decode/features.js';
import { BodyValidator, validatorStats } from '../src/compile/validate-body.js';
import { VALIDATOR_COMPILER, VALIDATOR_SOURCE_SHA256, VALIDATOR_WASM_BASE64 } from '../src/compile/validator-wasm/validator-wasm.js';
import { nativeBodyValidator, prepareNativeValidator, setNativeValidationMinBytes, NATIVE_VALIDATION_MIN_BYTES } from '../src/api/native-validator.js';
import { Module, Instance, CompileError as QbCompileError } from '../src/index.js';

const wasmFiles = (): string[] => corpus(['core', 'simd', 'memory64-wasm3', 'wasm3']);

// Every module from 0 bytes on goes to the native validator in this file (restored at the end).
setNativeValidationMinBytes(0);
prepareNativeValidator(0);

/** Whether the native validator accepts body f of d (alone). */
function nativeAccepts(d: Decoded, features: Features, f: number): boolean {
  const v = nativeBodyValidator(d.info, features, d.bytes);
  assert.ok(v !== null, 'the native validator exists');
  return v!.validateBodies(f, f + 1, d.bytes, d.starts, d.ends) === f + 1;
}

const LIKELY = [0x00, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x1a, 0x1b, 0x1c, 0x20, 0x21,
  0x22, 0x23, 0x24, 0x25, 0x26, 0x28, 0x36, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x50, 0x6a, 0x7c, 0xa7, 0xc0, 0xc4,
  0xd0, 0xd1, 0xd2, 0xfc, 0x40, 0x7f, 0x7e, 0x7d, 0x7c, 0x70, 0x6f, 0x80, 0xff];

interface Tally {
  bodies: number;
  accepted: number;
  mutants: number;
  mutantsInvalid: number;
}

/** Native and BodyValidator agree on every body and mutant; what they accept, the function compiler accepts. */
function check(features: Features, mutationsPerModule: number, seed: number): Tally {
  const t: Tally = { bodies: 0, accepted: 0, mutants: 0, mutantsInvalid: 0 };
  const next = rng(seed);
  for (const file of wasmFiles()) {
    const d = decode(new Uint8Array(fs.readFileSync(file)), features);
    if (d === null) continue;
    const ts = new BodyValidator(d.info, features);
    const first = d.info.numImportedFuncs, n = d.info.funcTypes.length;
    const where = (f: number): string => `${path.relative(suite, file)} function ${f}`;
    for (let f = first; f < n; f++) {
      t.bodies++;
      const native = nativeAccepts(d, features, f);
      assert.is(native, ts.validate(f, d.bytes, d.starts[f], d.ends[f]), `${where(f)}: native and BodyValidator disagree`);
      if (native) {
        t.accepted++;
        assert.ok(compilerAccepts(d, features, f), `${where(f)}: accepted natively, rejected by the function compiler`);
      }
    }
    if (n === first) continue;
    for (let k = 0; k < mutationsPerModule; k++) {
      const mutant = mutateBody(d, first, n, next, LIKELY, 4);
      if (mutant === null) continue;
      const { f, at, m } = mutant;
      const copy = m.bytes, s = d.starts[f], e = d.ends[f];
      t.mutants++;
      const native = nativeAccepts(m, features, f);
      assert.is(native, new BodyValidator(d.info, features).validate(f, copy, s, e), `${where(f)} mutated at ${at}: native and BodyValidator disagree`);
      const full = compilerAccepts(m, features, f);
      if (!full) t.mutantsInvalid++;
      if (native) assert.ok(full, `${where(f)} mutated at ${at}: accepted natively only`);
    }
  }
  return t;
}

test('the embedded module was built from validate.c as it is (and the build script reproduces it where clang is installed)', () => {
  const source = fs.readFileSync(path.join(root, 'src/compile/validator-wasm/validate.c'));
  assert.is(crypto.createHash('sha256').update(source).digest('hex'), VALIDATOR_SOURCE_SHA256,
    'validate.c changed since validator-wasm.ts was generated: run scripts/build-validator-wasm.sh');
  // (Machines without clang need none: the module is committed. Another clang version may make other bytes.)
  const clang = spawnSync('sh', ['-c', 'command -v wasm-ld-16 >/dev/null && clang-16 --version'], { encoding: 'utf8' });
  if (clang.status !== 0 || clang.stdout.split('\n')[0] !== VALIDATOR_COMPILER) return;
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'qb-validator-')), 'validator-wasm.ts');
  const r = spawnSync('sh', [path.join(root, 'scripts/build-validator-wasm.sh'), out], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  const rebuilt = fs.readFileSync(out, 'utf8');
  assert.ok(rebuilt.includes(JSON.stringify(VALIDATOR_WASM_BASE64)), 'the build script makes other bytes than the committed ones');
});

test('agrees with BodyValidator on every body of the spec modules and on mutations of them (all features)', () => {
  const t = check(resolveFeatures(), 8, 0x2545f491);
  if (process.env.QUICKBEAM_TEST_VERBOSE) console.log(t);
  assert.ok(t.bodies > 0 && t.accepted > 0);
  if (t.mutants > 1000) assert.ok(t.mutantsInvalid > t.mutants / 4, `mutations made ${t.mutantsInvalid} of ${t.mutants} bodies invalid`);
});

test('features turned off are respected (2.0 extensions and multi-memory off)', () => {
  const features = resolveFeatures({
    signExt: false, satFloatToInt: false, bulkMemory: false, referenceTypes: false, multiMemory: false, simd: false,
    memory64: false,
  });
  check(features, 3, 777);
});

// (type (func (param i32 i64) (result i32))) (memory 1) (func (type 0) BODY) with locals (2 x i32)
function oneFunction(body: number[], memory = [5, 3, 1, 0, 1]): Uint8Array {
  const full = [1, 2, 0x7f, ...body, 0x0b];
  const code = [1, ...uleb(full.length), ...full];
  return Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 0x60, 2, 0x7f, 0x7e, 1, 0x7f, 3, 2, 1, 0, ...memory,
    10, ...uleb(code.length), ...code]);
}

test('LEB immediates at their edges: over-long, unused bits set, cut off by the body end', () => {
  const features = resolveFeatures();
  const cases: Array<{ what: string; body: number[] }> = [
    // local.get with u32 immediates
    { what: 'local.get 0, 5 bytes', body: [0x20, 0x80, 0x80, 0x80, 0x80, 0x00] },
    { what: 'local.get 0, 6 bytes', body: [0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00] },
    { what: 'local.get, unused bits of the 5th byte', body: [0x20, 0x80, 0x80, 0x80, 0x80, 0x10] },
    { what: 'local.get, cut off', body: [0x20, 0x80] },
    // i32.const (s32): the 5th byte's bits 4..6 must replicate bit 3
    { what: 'i32.const -1, 5 bytes', body: [0x41, 0xff, 0xff, 0xff, 0xff, 0x7f] },
    { what: 'i32.const 0, 5 bytes', body: [0x41, 0x80, 0x80, 0x80, 0x80, 0x00] },
    { what: 'i32.const, bad sign bits', body: [0x41, 0xff, 0xff, 0xff, 0xff, 0x4f] },
    { what: 'i32.const, bad sign bits 2', body: [0x41, 0x80, 0x80, 0x80, 0x80, 0x70] },
    { what: 'i32.const, 6 bytes', body: [0x41, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00] },
    // i64.const (s64): the 10th byte is 0x00 or 0x7f
    { what: 'i64.const -1, 10 bytes', body: [0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xa7] },
    { what: 'i64.const 0, 10 bytes', body: [0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0xa7] },
    { what: 'i64.const, bad 10th byte', body: [0x42, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xa7] },
    { what: 'i64.const, 11 bytes', body: [0x42, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0xa7] },
    // memarg offsets (u32 on a 32-bit memory)
    { what: 'i32.load offset 2^32-1', body: [0x20, 0, 0x28, 2, 0xff, 0xff, 0xff, 0xff, 0x0f] },
    { what: 'i32.load offset 2^32', body: [0x20, 0, 0x28, 2, 0x80, 0x80, 0x80, 0x80, 0x10] },
    { what: 'i32.load align 2^3', body: [0x20, 0, 0x28, 3, 0] },
    { what: 'i32.load align 2^2, memory index bit, memory 0', body: [0x20, 0, 0x28, 0x42, 0, 0] },
    { what: 'i32.load, memory index bit, memory 1', body: [0x20, 0, 0x28, 0x42, 1, 0] },
    // block types (s33): one-byte value types and type indices
    { what: 'block (result i32)', body: [0x02, 0x7f, 0x20, 0, 0x0b] },
    { what: 'block type index 0 (needs params)', body: [0x20, 0, 0x20, 1, 0x02, 0x00, 0x1a, 0x0b] },
    { what: 'block type index 1 (no such type)', body: [0x02, 0x01, 0x0b, 0x20, 0] },
    { what: 'block type -1 in 2 bytes', body: [0x02, 0xff, 0x7f, 0x20, 0, 0x0b] },
    { what: 'block type index 0, 5 bytes', body: [0x20, 0, 0x20, 1, 0x02, 0x80, 0x80, 0x80, 0x80, 0x00, 0x1a, 0x0b] },
    { what: 'block type, bad 5th byte', body: [0x02, 0x80, 0x80, 0x80, 0x80, 0x40, 0x0b, 0x20, 0] },
    // br_table at its edges
    { what: 'br_table 0 targets', body: [0x02, 0x40, 0x20, 0, 0x0e, 0, 0, 0x0b, 0x20, 0] },
    { what: 'br_table to a missing label', body: [0x02, 0x40, 0x20, 0, 0x0e, 1, 0, 2, 0x0b, 0x20, 0] },
    { what: 'br_table, arity mismatch', body: [0x02, 0x7f, 0x20, 0, 0x20, 0, 0x0e, 1, 0, 1, 0x0b] },
    // memory.size / memory.grow memory index (one byte 0 without multi-memory; LEB with it)
    { what: 'memory.size 0', body: [0x3f, 0] },
    { what: 'memory.size 1', body: [0x3f, 1] },
    { what: 'memory.size 0 in 2 bytes', body: [0x3f, 0x80, 0x00] },
    // locals: counts summing past the limit
    { what: 'end cut off', body: [0x20, 0, 0x02, 0x40] },
  ];
  for (const { what, body } of cases) {
    const d = decode(oneFunction(body), features);
    if (d === null) continue; // (a body the decoder already refuses)
    const native = nativeAccepts(d, features, 0);
    assert.is(native, new BodyValidator(d.info, features).validate(0, d.bytes, d.starts[0], d.ends[0]), `${what}: native and BodyValidator disagree`);
    if (native) assert.ok(compilerAccepts(d, features, 0), `${what}: accepted natively only`);
  }
  // Declared locals: group counts whose sum overflows 32 bits, and the 50,000-local limit.
  for (const counts of [[0xffffffff, 2], [50000, 1], [49998, 0], [0x80000000, 0x80000000]]) {
    const groups = counts.flatMap((c) => [...uleb(c), 0x7f]);
    const full = [counts.length, ...groups, 0x20, 0, 0x0b];
    const code = [1, ...uleb(full.length), ...full];
    const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 0x60, 2, 0x7f, 0x7e, 1, 0x7f, 3, 2, 1, 0,
      10, ...uleb(code.length), ...code]);
    const d = decode(bytes, features);
    if (d === null) continue;
    const native = nativeAccepts(d, features, 0);
    assert.is(native, new BodyValidator(d.info, features).validate(0, d.bytes, d.starts[0], d.ends[0]), `locals ${counts}`);
    if (native) assert.ok(compilerAccepts(d, features, 0), `locals ${counts}: accepted natively only`);
  }
});

test('validateBodies over a range stops at exactly the first body it declines alone', () => {
  const features = resolveFeatures();
  const next = rng(0xbeef);
  let ranges = 0;
  for (const file of wasmFiles().filter((_, i) => i % 8 === 0)) {
    const d = decode(new Uint8Array(fs.readFileSync(file)), features);
    if (d === null) continue;
    const first = d.info.numImportedFuncs, n = d.info.funcTypes.length;
    if (n - first < 2) continue;
    const a = first + (next() % (n - first)), b = a + 1 + (next() % (n - a));
    let expected = a;
    while (expected < b && nativeAccepts(d, features, expected)) expected++;
    const v = nativeBodyValidator(d.info, features, d.bytes)!;
    assert.is(v.validateBodies(a, b, d.bytes, d.starts, d.ends), expected, `${path.relative(suite, file)} [${a}, ${b})`);
    ranges++;
  }
  if (wasmFiles().length > 100) assert.ok(ranges > 50);
});

test('a lazy Module validates through it end to end: runs, exact errors, deep bodies handed to BodyValidator', () => {
  // A function nesting 20,000 blocks (deeper than the native scratch: declined, then BodyValidator's grows),
  // between two ordinary ones; the module runs.
  const deep = 20000;
  const nested = [...Array(deep).fill([0x02, 0x40]).flat(), ...Array(deep).fill(0x0b)];
  const bodies = [
    [0, 0x20, 0, 0x20, 1, 0x6a, 0x0b], // add
    [0, ...nested, 0x41, 7, 0x0b], // () -> 7 through the deep blocks
    [0, 0x20, 0, 0x20, 1, 0x6b, 0x0b], // sub
  ];
  const code = [bodies.length, ...bodies.flatMap((b) => [...uleb(b.length), ...b])];
  const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 11, 2, 0x60, 2, 0x7f, 0x7f, 1, 0x7f, 0x60, 0, 1, 0x7f,
    3, 4, 3, 0, 1, 0, 7, 20, 3, 3, 97, 100, 100, 0, 0, 4, 100, 101, 101, 112, 0, 1, 3, 115, 117, 98, 0, 2,
    10, ...uleb(code.length), ...code]);
  const before = { ...validatorStats };
  const m = new Module(bytes, { lazy: true });
  assert.is(validatorStats.native - before.native, 2, 'the two ordinary bodies were validated natively');
  const e = new Instance(m, {}).exports as Record<string, (...a: number[]) => number>;
  assert.is(e.add(2, 3), 5);
  assert.is(e.deep(), 7);
  assert.is(e.sub(2, 3), -1);
  // An invalid body: the exact error of the function compiler. (func (result i32) i64.const 0)
  const bad = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 10, 6, 1, 4, 0, 66, 0, 11]);
  try {
    new Module(bad, { lazy: true });
    assert.unreachable('compiled an invalid module');
  } catch (err) {
    assert.instance(err, QbCompileError);
    assert.match(String((err as Error).message), /type mismatch/);
    assert.match(String((err as Error).message), /at byte offset 26/);
  }
});

test('a negative block type of more than one byte is malformed (as in V8), whichever validator sees it', () => {
  // (func (result i32) (block (type BT) unreachable)) with BT = -1 in two bytes (0xff 0x7f: "i32" in its low
  // bits) and -7809 (0xff 0x42)
  for (const bt of [[0xff, 0x7f], [0xff, 0x42]]) {
    const body = [0, 0x02, ...bt, 0x00, 0x0b, 0x0b];
    const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0,
      10, body.length + 2, 1, body.length, ...body]);
    for (const lazy of [false, true]) {
      assert.throws(() => new Module(bytes, { lazy }), (e: Error) => e instanceof QbCompileError && /malformed block type.*offset 25/.test(e.message), `${bt} ${lazy}`);
    }
  }
});

test('worker threads validate through validators of their own, concurrently, with the same answers', async () => {
  // Each worker compiles its own validator (its memory holds its scratch and tables) and validates the same
  // modules many times over while the others do; the answers must be the main thread's.
  const files = wasmFiles().filter((_, i) => i % 25 === 0).slice(0, 120);
  const { validate } = await import('../src/index.js');
  const expected = files.map((f) => validate(fs.readFileSync(f)));
  const index = pathToFileURL(path.join(root, 'dist/src/index.js')).href;
  const stats = pathToFileURL(path.join(root, 'dist/src/compile/validate-body.js')).href;
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    const fs = require('node:fs');
    (async () => {
      const { validate } = await import(${JSON.stringify(index)});
      const { validatorStats } = await import(${JSON.stringify(stats)});
      const answers = [];
      for (let round = 0; round < 8; round++) answers.push(workerData.files.map((f) => validate(fs.readFileSync(f))));
      parentPort.postMessage({ answers, native: validatorStats.native });
    })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));`;
  const runs = await Promise.all([0, 1, 2, 3].map(() => new Promise<{ answers?: boolean[][]; native?: number; error?: string }>((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { files }, env: { ...process.env, QUICKBEAM_NATIVE_VALIDATION_MIN_BYTES: '0' } });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  })));
  for (const r of runs) {
    assert.is(r.error, undefined, r.error);
    assert.ok(r.native! > 0, 'the worker validated natively');
    for (const answers of r.answers!) assert.equal(answers, expected);
  }
});

test('the threshold: modules below NATIVE_VALIDATION_MIN_BYTES keep BodyValidator', () => {
  setNativeValidationMinBytes(NATIVE_VALIDATION_MIN_BYTES);
  try {
    const d = decode(oneFunction([0x20, 0]), resolveFeatures())!;
    assert.is(nativeBodyValidator(d.info, resolveFeatures(), d.bytes), null);
    const big = new Uint8Array(NATIVE_VALIDATION_MIN_BYTES);
    assert.ok(nativeBodyValidator(d.info, resolveFeatures(), big) !== null);
  } finally {
    setNativeValidationMinBytes(0);
  }
});

test.after(() => setNativeValidationMinBytes(NATIVE_VALIDATION_MIN_BYTES));

test.run();
