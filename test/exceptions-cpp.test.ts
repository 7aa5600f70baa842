// C++ exceptions as LLVM compiles them with -fwasm-exceptions, written by hand (no C++-to-wasm toolchain here):
// a `__cpp_exception` tag carrying a pointer to the exception object in linear memory, `__cxa_throw` as a call
// that throws, destructors run by cleanup handlers that rethrow, a catch that tests the object's type and
// rethrows what it does not handle, and exceptions that escape to JS. Both encodings LLVM emits: the legacy one
// (try / catch_all / rethrow, older Emscripten) and the new one (try_table / catch_all_ref / throw_ref).
//
// The program, in C++:
//   struct Guard { int id; ~Guard() { log(id); } };
//   struct Error { int type, code; };
//   void thrower(int depth, int code) {
//     Guard g{depth};
//     if (depth == 0) throw Error{code & 1 ? MINE : OTHER, code};
//     thrower(depth - 1, code);
//   }
//   int run(int depth, int code) {
//     try { thrower(depth, code); return 0; }
//     catch (Mine &e) { return 1000 + e.code; }      // an Error of another type propagates
//   }

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { qb } from './helpers/engines.js';
import { wat as watModule } from './helpers/wat.js';


const wat = (source: string): Uint8Array => watModule(source, { exceptions: true, reference_types: true });

// Shared parts: memory (log at 0: count then entries; the exception object at 65000), log, __cxa_throw.
const COMMON = `
  (tag $cpp (export "__cpp_exception") (param i32))
  (memory (export "memory") 1)
  (func $log (param i32)
    (local $n i32)
    (local.set $n (i32.load (i32.const 0)))
    (i32.store (i32.add (i32.const 4) (i32.shl (local.get $n) (i32.const 2))) (local.get 0))
    (i32.store (i32.const 0) (i32.add (local.get $n) (i32.const 1))))
  (func (export "clearLog") (i32.store (i32.const 0) (i32.const 0)))
  (func $cxa_throw (param $type i32) (param $code i32)
    (i32.store (i32.const 65000) (local.get $type))
    (i32.store (i32.const 65004) (local.get $code))
    (throw $cpp (i32.const 65000)))
`;

const LEGACY = wat(`(module ${COMMON}
  (func $thrower (param $depth i32) (param $code i32)
    (try
      (do
        (if (i32.eqz (local.get $depth))
          (then (call $cxa_throw (select (i32.const 1) (i32.const 2) (i32.and (local.get $code) (i32.const 1))) (local.get $code))))
        (call $thrower (i32.sub (local.get $depth) (i32.const 1)) (local.get $code)))
      (catch_all
        (call $log (local.get $depth)) ;; ~Guard on the exceptional path
        (rethrow 0)))
    (call $log (local.get $depth)))
  (func (export "run") (param $depth i32) (param $code i32) (result i32)
    (local $obj i32)
    (try $t (result i32)
      (do (call $thrower (local.get $depth) (local.get $code)) (i32.const 0))
      (catch $cpp
        (local.set $obj)
        (if (result i32) (i32.eq (i32.load (local.get $obj)) (i32.const 1))
          (then (i32.add (i32.const 1000) (i32.load offset=4 (local.get $obj))))
          (else (rethrow $t))))))
)`);

const NEW = wat(`(module ${COMMON}
  (func $thrower (param $depth i32) (param $code i32)
    (local $exn exnref)
    (local.set $exn
      (block $cleanup (result exnref)
        (try_table (catch_all_ref $cleanup)
          (if (i32.eqz (local.get $depth))
            (then (call $cxa_throw (select (i32.const 1) (i32.const 2) (i32.and (local.get $code) (i32.const 1))) (local.get $code))))
          (call $thrower (i32.sub (local.get $depth) (i32.const 1)) (local.get $code)))
        (call $log (local.get $depth)) ;; ~Guard on the normal path
        (return)))
    (call $log (local.get $depth)) ;; ~Guard on the exceptional path
    (throw_ref (local.get $exn)))
  (func (export "run") (param $depth i32) (param $code i32) (result i32)
    (local $obj i32) (local $exn exnref)
    (block $caught (result i32 exnref)
      (try_table (catch_ref $cpp $caught)
        (call $thrower (local.get $depth) (local.get $code)))
      (return (i32.const 0)))
    (local.set $exn)
    (local.set $obj)
    (if (result i32) (i32.eq (i32.load (local.get $obj)) (i32.const 1))
      (then (i32.add (i32.const 1000) (i32.load offset=4 (local.get $obj))))
      (else (throw_ref (local.get $exn)))))
)`);

function log(mem: { buffer: ArrayBuffer }): number[] {
  const v = new Int32Array(mem.buffer);
  return Array.from(v.subarray(1, 1 + v[0]));
}

for (const [name, bytes] of [['legacy try/catch_all/rethrow', LEGACY], ['try_table/catch_all_ref/throw_ref', NEW]] as const) {
  for (const options of [{}, { lazy: true }, { threads: 2, batchBytes: 1 }]) {
    test(`C++ exceptions (${name}, ${JSON.stringify(options)}): caught by type, destructors in order, others escape`, () => {
      const e = new qb.Instance(new qb.Module(bytes, options)).exports as Record<string, any>;
      e.clearLog();
      assert.is(e.run(5, 3), 1003);
      assert.equal(log(e.memory), [0, 1, 2, 3, 4, 5]);
      e.clearLog();
      let escaped: any;
      try {
        e.run(3, 4);
      } catch (x) {
        escaped = x;
      }
      assert.instance(escaped, qb.Exception);
      assert.ok(escaped.is(e.__cpp_exception));
      assert.is(escaped.getArg(e.__cpp_exception, 0), 65000);
      assert.is(new Int32Array(e.memory.buffer)[65004 / 4], 4);
      assert.equal(log(e.memory), [0, 1, 2, 3]);
      // the normal path: no exception at all would need depth < 0; a deep one still works
      e.clearLog();
      assert.is(e.run(2000, 7), 1007);
    });
  }
}

test('both encodings agree with the engine where it runs them', () => {
  for (const bytes of [LEGACY, NEW]) {
    let theirs: Record<string, any>;
    try {
      theirs = new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource)).exports as Record<string, any>;
    } catch {
      continue; // the engine lacks this encoding (Node 20: no try_table)
    }
    const ours = new qb.Instance(new qb.Module(bytes)).exports as Record<string, any>;
    for (const [d, c] of [[0, 1], [4, 9], [6, 2]]) {
      ours.clearLog();
      theirs.clearLog();
      const a = (() => { try { return ours.run(d, c); } catch (x) { return `exception ${(x as any).getArg(ours.__cpp_exception, 0)}`; } })();
      const b = (() => { try { return theirs.run(d, c); } catch (x) { return `exception ${(x as any).getArg(theirs.__cpp_exception, 0)}`; } })();
      assert.is(a, b);
      assert.equal(log(ours.memory), log(theirs.memory));
    }
  }
});

test.run();
