// The fast body validator (lazy compilation's up-front pass) must never accept a body the function compiler
// rejects: checked on every function of the spec suites' modules, on mutations of them (random bytes and
// likely opcodes written into bodies), and with features turned off. It must also accept most valid code,
// or it is not doing its job.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { type Features, resolveFeatures } from '../src/decode/features.js';
import { BodyValidator } from '../src/compile/validate-body.js';
import { primerModule } from '../src/compile/validator-primer.js';
import { compilerAccepts, decode, mutateBody, rng, root, suite, uleb, wasmFiles as corpus } from './helpers/validation-corpus.js';

const wasmFiles = (): string[] => corpus(['core', 'simd', 'memory64-wasm3']);

// Opcodes a mutation writes: control and stack-shape operators, where validators most often go wrong.
const LIKELY = [0x00, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x1a, 0x1b, 0x1c, 0x20, 0x21,
  0x22, 0x23, 0x24, 0x28, 0x36, 0x3f, 0x40, 0x41, 0x42, 0x45, 0x50, 0x6a, 0x7c, 0xa7, 0xc0, 0xd0, 0xd1, 0xd2, 0xfc, 0x40,
  0x7f, 0x7e, 0x7d, 0x7c, 0x70, 0x6f, 0x80, 0xff];

interface Tally {
  bodies: number;
  compilerValid: number;
  fastAccepted: number;
  mutants: number;
  mutantsInvalid: number;
}

function check(features: Features, mutationsPerModule: number, seed: number): Tally {
  const t: Tally = { bodies: 0, compilerValid: 0, fastAccepted: 0, mutants: 0, mutantsInvalid: 0 };
  const next = rng(seed);
  for (const file of wasmFiles()) {
    const bytes = new Uint8Array(fs.readFileSync(file));
    const d = decode(bytes, features);
    if (d === null) continue;
    const v = new BodyValidator(d.info, features);
    const first = d.info.numImportedFuncs, n = d.info.funcTypes.length;
    for (let f = first; f < n; f++) {
      t.bodies++;
      const fast = v.validate(f, d.bytes, d.starts[f], d.ends[f]);
      const full = compilerAccepts(d, features, f);
      if (full) t.compilerValid++;
      if (fast) {
        t.fastAccepted++;
        assert.ok(full, `${path.relative(suite, file)} function ${f}: accepted by the fast validator only`);
      }
    }
    if (n === first) continue;
    for (let k = 0; k < mutationsPerModule; k++) {
      const mutant = mutateBody(d, first, n, next, LIKELY, 3);
      if (mutant === null) continue;
      const { f, at, m } = mutant;
      const copy = m.bytes, s = d.starts[f], e = d.ends[f];
      t.mutants++;
      const fast = new BodyValidator(d.info, features).validate(f, copy, s, e);
      const full = compilerAccepts(m, features, f);
      if (!full) t.mutantsInvalid++;
      if (fast) assert.ok(full, `${path.relative(suite, file)} function ${f} mutated at ${at}: accepted by the fast validator only`);
    }
  }
  return t;
}

test('never accepts what the function compiler rejects; accepts most valid bodies (all features)', () => {
  const t = check(resolveFeatures(), 6, 0x9e3779b9);
  if (process.env.QUICKBEAM_TEST_VERBOSE) console.log(t);
  // Coverage: most valid bodies of the 2.0 + SIMD + memory64 suites are within the fast subset or declined
  // only for SIMD; without the corpus (no ../shared) only hello.wasm runs.
  assert.ok(t.compilerValid > 0);
  assert.ok(t.fastAccepted / t.compilerValid > 0.5, `fast validator accepted ${t.fastAccepted} of ${t.compilerValid} valid bodies`);
  if (t.mutants > 1000) assert.ok(t.mutantsInvalid > t.mutants / 4, `mutations made ${t.mutantsInvalid} of ${t.mutants} bodies invalid`);
});

test('features turned off are respected (2.0 extensions and multi-memory off)', () => {
  const features = resolveFeatures({
    signExt: false, satFloatToInt: false, bulkMemory: false, referenceTypes: false, multiMemory: false, simd: false,
    memory64: false,
  });
  check(features, 3, 12345);
});

test('hello.wasm (wasi-libc C) is validated entirely by the fast validator', () => {
  const features = resolveFeatures();
  const d = decode(new Uint8Array(fs.readFileSync(path.join(root, 'examples/hello.wasm'))), features)!;
  const v = new BodyValidator(d.info, features);
  for (let f = d.info.numImportedFuncs; f < d.info.funcTypes.length; f++) {
    assert.ok(v.validate(f, d.bytes, d.starts[f], d.ends[f]), `function ${f} declined`);
  }
});

test('table.get / table.set of funcref and externref tables (wasm-bindgen\'s externref table) need no fallback', () => {
  const features = resolveFeatures();
  // (table $f 1 funcref) (table $e 1 externref)
  // (func (param i32) (result funcref) (table.set $e (local.get 0) (table.get $e (local.get 0))) (table.get $f (local.get 0)))
  const bytes = Uint8Array.from([
    0, 97, 115, 109, 1, 0, 0, 0,
    1, 6, 1, 96, 1, 127, 1, 112, // type: (i32) -> funcref
    3, 2, 1, 0,
    4, 7, 2, 112, 0, 1, 111, 0, 1, // tables: funcref 1, externref 1
    10, 16, 1, 14, 0, 32, 0, 32, 0, 37, 1, 38, 1, 32, 0, 37, 0, 11,
  ]);
  const d = decode(bytes, features)!;
  const v = new BodyValidator(d.info, features);
  assert.ok(v.validate(0, d.bytes, d.starts[0], d.ends[0]), 'declined');
  // table.set of the wrong reference type is declined (and the function compiler rejects it)
  const bad = bytes.slice();
  bad[bad.length - 6] = 0; // table.set $f (a funcref table) of an externref
  const d2 = decode(bad, features)!;
  assert.not.ok(new BodyValidator(d2.info, features).validate(0, d2.bytes, d2.starts[0], d2.ends[0]));
});

/** A module of one function `() -> i32` whose body (after the locals vector) is `body`. */
function oneFunction(body: number[]): Uint8Array {
  const fn = [0, ...body]; // no locals
  const code = [1, ...uleb(fn.length), ...fn];
  return Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 10, ...uleb(code.length), ...code]);
}

test('bodies deeper or taller than the first scratch capacities are validated here after it grows (Go nests thousands of blocks)', () => {
  const features = resolveFeatures();
  const n = 5000;
  // n nested blocks, i32.const 7 innermost, n ends, end of function: depth 5001 > the first 1024 frames
  const nested = [...Array(n).fill([0x02, 0x40]).flat(), 0x41, 7, ...Array(n).fill(0x0b), 0x0b];
  // the innermost block of empty type leaves a value: invalid (the result is declared by no block)
  const d = decode(oneFunction(nested), features)!;
  assert.not.ok(new BodyValidator(d.info, features).validate(0, d.bytes, d.starts[0], d.ends[0]), 'invalid deep body accepted');
  assert.not.ok(compilerAccepts(d, features, 0));
  // the same with every block typed (result i32): valid
  const typed = [...Array(n).fill([0x02, 0x7f]).flat(), 0x41, 7, ...Array(n).fill(0x0b), 0x0b];
  const d2 = decode(oneFunction(typed), features)!;
  assert.ok(new BodyValidator(d2.info, features).validate(0, d2.bytes, d2.starts[0], d2.ends[0]), 'valid deep body declined');
  assert.ok(compilerAccepts(d2, features, 0));
  // 10,000 values on the operand stack (> the first 4096), added back down to one
  const m = 10_000;
  const tall = [...Array(m).fill([0x41, 1]).flat(), ...Array(m - 1).fill(0x6a), 0x0b];
  const d3 = decode(oneFunction(tall), features)!;
  assert.ok(new BodyValidator(d3.info, features).validate(0, d3.bytes, d3.starts[0], d3.ends[0]), 'tall body declined');
  // one add short: two values left at the end, invalid for both validators
  const tallBad = [...Array(m).fill([0x41, 1]).flat(), ...Array(m - 2).fill(0x6a), 0x0b];
  const d4 = decode(oneFunction(tallBad), features)!;
  assert.not.ok(new BodyValidator(d4.info, features).validate(0, d4.bytes, d4.starts[0], d4.ends[0]), 'invalid tall body accepted');
  assert.not.ok(compilerAccepts(d4, features, 0));
  // 100,000 frames (a scratch too big to keep for the thread), then ordinary bodies again
  const deep = 100_000;
  const d5 = decode(oneFunction([...Array(deep).fill([0x02, 0x7f]).flat(), 0x41, 7, ...Array(deep).fill(0x0b), 0x0b]), features)!;
  const v = new BodyValidator(d5.info, features);
  assert.ok(v.validate(0, d5.bytes, d5.starts[0], d5.ends[0]), '100,000 frames declined');
  for (const d of [d2, d3, d5]) assert.ok(v.validate(0, d.bytes, d.starts[0], d.ends[0]), 'declined after the scratch was dropped');
  assert.not.ok(v.validate(0, d4.bytes, d4.starts[0], d4.ends[0]));
});

test('memarg alignment at its edges, with and without the memory-index bit: the fast validator and both compile modes agree with the rule', async () => {
  const { Module, CompileError: QbCompileError } = await import('../src/index.js');
  const features = resolveFeatures();
  // (memory 1) (func (param i32) (result i32) local.get 0 <load> align=2^k [memidx 0] offset 0 [wrap/extract])
  const loads: Array<{ op: number[]; log2: number; tail: number[] }> = [
    { op: [0x2d], log2: 0, tail: [] }, // i32.load8_u
    { op: [0x28], log2: 2, tail: [] }, // i32.load
    { op: [0x29], log2: 3, tail: [0xa7] }, // i64.load, i32.wrap_i64
    { op: [0xfd, 0x00], log2: 4, tail: [0xfd, 0x1b, 0x00] }, // v128.load, i32x4.extract_lane 0
    { op: [0xfe, 0x10], log2: 2, tail: [] }, // i32.atomic.load (exactly natural)
  ];
  const exponents = [0, 1, 2, 3, 4, 5, 31, 32 + 31, 0x7fffffbf, 0x80000000, 0xffffffbf];
  let checked = 0;
  for (const { op, log2, tail } of loads) {
    const atomic = op[0] === 0xfe;
    for (const k of exponents) {
      for (const withMem of [false, true]) {
        if (withMem && (k & 0x40) !== 0) continue;
        const flags = withMem ? k + 0x40 : k;
        const body = [0, 0x20, 0, ...op, ...uleb(flags), ...(withMem ? [0] : []), 0, ...tail, 0x0b];
        const code = [1, ...uleb(body.length), ...body];
        const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 127, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1,
          10, ...uleb(code.length), ...code]);
        const valid = atomic ? k === log2 : k <= log2;
        const what = `op ${op.map((b) => b.toString(16)).join(' ')} flags 0x${flags.toString(16)}`;
        const d = decode(bytes, features)!;
        const fast = new BodyValidator(d.info, features).validate(0, d.bytes, d.starts[0], d.ends[0]);
        if (fast) assert.ok(valid, `${what}: accepted by the fast validator`);
        for (const lazy of [false, true]) {
          let ok = true;
          try {
            new Module(bytes, { lazy });
          } catch (e) {
            assert.instance(e, QbCompileError, what);
            assert.match(String((e as Error).message), /alignment/, what);
            ok = false;
          }
          assert.is(ok, valid, `${what} (${lazy ? 'lazy' : 'eager'}): ${valid ? 'rejected' : 'accepted'}`);
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 80);
});

test('an invalid body is declined, and the module still fails with the function compiler\'s exact error', async () => {
  const { Module, CompileError: QbCompileError } = await import('../src/index.js');
  // (func (result i32) i64.const 0): type mismatch at the end
  const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 10, 6, 1, 4, 0, 66, 0, 11]);
  for (const lazy of [true, false]) {
    try {
      new Module(bytes, { lazy });
      assert.unreachable('compiled an invalid module');
    } catch (e) {
      assert.instance(e, QbCompileError);
      assert.match(String((e as Error).message), /type mismatch/);
      assert.match(String((e as Error).message), /at byte offset 26/); // the `end` where i64 is found
    }
  }
});

test('validateBodies over a range stops at exactly the first body validate() declines (the batch compiler\'s loop)', () => {
  const features = resolveFeatures();
  const next = rng(0x51ed);
  let ranges = 0, stops = 0;
  for (const file of wasmFiles().slice(0, 400)) {
    const d0 = decode(new Uint8Array(fs.readFileSync(file)), features);
    if (d0 === null) continue;
    const first = d0.info.numImportedFuncs, n = d0.info.funcTypes.length;
    if (n - first < 2) continue;
    // the module as it is, and with one byte of a random body changed (an invalid body mid-range, usually)
    for (const mutate of [false, true]) {
      const bytes = d0.bytes.slice();
      if (mutate) {
        const f = first + (next() % (n - first));
        if (d0.ends[f] - d0.starts[f] < 2) continue;
        bytes[d0.starts[f] + (next() % (d0.ends[f] - d0.starts[f]))] = LIKELY[next() % LIKELY.length];
      }
      const single = new BodyValidator(d0.info, features);
      const expected: number[] = [];
      for (let f = first; f < n; f++) if (!single.validate(f, bytes, d0.starts[f], d0.ends[f])) expected.push(f);
      const ranged = new BodyValidator(d0.info, features);
      const got: number[] = [];
      for (let f = ranged.validateBodies(first, n, bytes, d0.starts, d0.ends); f < n; f = ranged.validateBodies(f + 1, n, bytes, d0.starts, d0.ends)) got.push(f);
      assert.equal(got, expected, path.relative(suite, file));
      ranges++;
      stops += got.length;
    }
  }
  assert.ok(ranges > 0);
  if (ranges > 100) assert.ok(stops > 0, 'no range stopped early: the mutations tested nothing');
});

test('a range with a body deeper than the scratch in its middle: the scratch grows and the range goes on', () => {
  const features = resolveFeatures();
  const n = 3000;
  const deep = [0, ...Array(n).fill([0x02, 0x7f]).flat(), 0x41, 7, ...Array(n).fill(0x0b), 0x1a, 0x0b];
  const small = [0, 0x41, 1, 0x1a, 0x0b];
  const bad = [0, 0x41, 1, 0x0b]; // a value left on the stack of a function without results
  const bodies = [small, deep, small, bad, small];
  const code = [bodies.length, ...bodies.flatMap((b) => [...uleb(b.length), ...b])];
  const bytes = Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 6, 5, 0, 0, 0, 0, 0,
    10, ...uleb(code.length), ...code]);
  const d = decode(bytes, features)!;
  const v = new BodyValidator(d.info, features);
  assert.is(v.validateBodies(0, 5, d.bytes, d.starts, d.ends), 3, 'stops at the invalid body, after the deep one');
  assert.is(v.validateBodies(4, 5, d.bytes, d.starts, d.ends), 5);
  assert.not.ok(compilerAccepts(d, features, 3));
});

test('the primer (type feedback for a fresh process) is valid, and the fast validator accepts all of it', () => {
  const features = resolveFeatures();
  const d = decode(primerModule(), features);
  assert.ok(d !== null, 'the primer does not decode');
  const v = new BodyValidator(d!.info, features);
  for (let f = 0; f < d!.info.funcTypes.length; f++) {
    assert.ok(compilerAccepts(d!, features, f), `primer function ${f} is invalid`);
    assert.ok(v.validate(f, d!.bytes, d!.starts[f], d!.ends[f]), `primer function ${f} declined: it no longer primes the whole loop`);
  }
});

test.run();
