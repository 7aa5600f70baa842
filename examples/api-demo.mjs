// Compile a small module with Quickbeam and call it from JS: a loop, a memory, a trap.
import quickbeam from '../dist/src/index.js';

// (module
//   (memory (export "memory") 1)
//   (func (export "sum") (param $n i32) (result i64) (local $i i32) (local $acc i64)
//     (block (loop
//       (br_if 1 (i32.ge_u (local.get $i) (local.get $n)))
//       (local.set $acc (i64.add (local.get $acc) (i64.extend_i32_u (local.get $i))))
//       (local.set $i (i32.add (local.get $i) (i32.const 1)))
//       (br 0)))
//     (local.get $acc))
//   (func (export "peek") (param i32) (result i32) (i32.load (local.get 0))))
const bytes = Uint8Array.from([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 11, 2, 96, 1, 127, 1, 126, 96, 1, 127, 1, 127, 3, 3, 2, 0, 1, 5, 3,
  1, 0, 1, 7, 23, 3, 6, 109, 101, 109, 111, 114, 121, 2, 0, 3, 115, 117, 109, 0, 0, 4, 112, 101, 101, 107, 0, 1,
  10, 48, 2, 38, 2, 1, 127, 1, 126, 2, 64, 3, 64, 32, 1, 32, 0, 79, 13, 1, 32, 2, 32, 1, 173, 124, 33, 2,
  32, 1, 65, 1, 106, 33, 1, 12, 0, 11, 11, 32, 2, 11, 7, 0, 32, 0, 40, 2, 0, 11
]);

const { instance } = await quickbeam.instantiate(bytes);
console.log('sum(1000000) =', instance.exports.sum(1_000_000));
try {
  instance.exports.peek(65536);
} catch (e) {
  console.log('peek(65536) trapped:', `${e.name}: ${e.message}`);
}
