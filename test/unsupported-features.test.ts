// A module using a proposal Quickbeam does not implement (yet) fails with a CompileError that names the feature
// and the byte offset, not "malformed section id". (Once a feature lands, its module compiles: then these
// cases check that V8 and Quickbeam agree on its imports and exports instead.)

import { test } from 'uvu';
import * as assert from 'uvu/assert';

import * as qb from '../src/index.js';

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const TYPE_SECTION = [0x01, 0x04, 0x01, 0x60, 0x00, 0x00]; // (func)

/** Compile with Quickbeam: the CompileError's message, or null when the module compiled. */
function compileError(bytes: number[]): string | null {
  try {
    const m = new qb.Module(new Uint8Array(bytes));
    // The feature is implemented now: reflection must agree with V8.
    const v8 = new WebAssembly.Module(new Uint8Array(bytes));
    assert.equal(qb.Module.imports(m), WebAssembly.Module.imports(v8));
    assert.equal(qb.Module.exports(m), WebAssembly.Module.exports(v8));
    return null;
  } catch (e) {
    if (!(e instanceof qb.CompileError)) throw e;
    return e.message;
  }
}

const CASES: Array<[string, number[], RegExp]> = [
  // tag section: one tag of type 0 (offset 14: the section id)
  ['tag section', [...HEADER, ...TYPE_SECTION, 0x0d, 0x03, 0x01, 0x00, 0x00], /^exception handling \(tag section\) is not supported yet \(at byte offset 14\)$/],
  // import "m" "t" (tag 0): the kind byte is at offset 21
  ['tag import', [...HEADER, ...TYPE_SECTION, 0x02, 0x08, 0x01, 0x01, 0x6d, 0x01, 0x74, 0x04, 0x00, 0x00], /^exception handling \(tag import\) is not supported yet \(at byte offset 21\)$/],
  // export "t" (tag 0) of a defined tag: with no tag support the tag section fails first
  ['tag export', [...HEADER, ...TYPE_SECTION, 0x0d, 0x03, 0x01, 0x00, 0x00, 0x07, 0x05, 0x01, 0x01, 0x74, 0x04, 0x00], /^exception handling \(tag section\) is not supported yet \(at byte offset 14\)$/],
];

for (const [name, bytes, expected] of CASES) {
  test(`${name}: the error names the feature and the offset`, () => {
    new WebAssembly.Module(new Uint8Array(bytes)); // valid for V8
    const msg = compileError(bytes);
    if (msg !== null) assert.match(msg, expected);
  });
}

test('an export of a tag that does not exist: the kind is named (V8 also rejects it)', () => {
  const bytes = [...HEADER, 0x07, 0x05, 0x01, 0x01, 0x74, 0x04, 0x00];
  assert.throws(() => new WebAssembly.Module(new Uint8Array(bytes)));
  const msg = compileError(bytes);
  assert.ok(msg !== null);
  // Either the feature (not implemented) or the missing tag (implemented), never "malformed export kind".
  assert.match(msg!, /^(exception handling \(tag export\) is not supported yet \(at byte offset 13\)|unknown tag 0 \(at byte offset 14\))$/);
});

test('the string section (stringref) is named; ids of no proposal stay malformed', () => {
  assert.is(compileError([...HEADER, 0x0e, 0x01, 0x00]), 'stringref (string section) is not supported yet (at byte offset 8)');
  assert.is(compileError([...HEADER, 0x7f, 0x00]), 'malformed section id (at byte offset 8)');
  assert.is(compileError([...HEADER, 0x02, 0x06, 0x01, 0x01, 0x6d, 0x01, 0x74, 0x05]), 'malformed import kind (at byte offset 15)');
  assert.throws(() => new WebAssembly.Module(new Uint8Array([...HEADER, 0x7f, 0x00])));
});

test('GC type definitions and instructions compile (issue 17; Node 20, the CI oracle, has no GC: not compared)', () => {
  // (rec (type (func))) and (type (struct)), (type (array i8)), (type (sub (func)))
  for (const form of [[0x4e, 0x01, 0x60, 0x00, 0x00], [0x5f, 0x00], [0x5e, 0x78, 0x00], [0x50, 0x00, 0x60, 0x00, 0x00]]) {
    new qb.Module(new Uint8Array([...HEADER, 0x01, form.length + 1, 0x01, ...form]));
  }
  assert.is(compileError([...HEADER, 0x01, 0x02, 0x01, 0x61]), 'malformed function type (at byte offset 11)');
  // (func (drop (ref.i31 (i32.const 0)))), eagerly and lazily
  const body = [0x00, 0x41, 0x00, 0xfb, 0x1c, 0x1a, 0x0b];
  const bytes = new Uint8Array([...HEADER, ...TYPE_SECTION, 0x03, 0x02, 0x01, 0x00, 0x0a, body.length + 2, 0x01, body.length, ...body]);
  for (const options of [{}, { lazy: true }]) new qb.Module(bytes, options);
});

test.run();
