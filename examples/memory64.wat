;; memory64: a linear memory indexed by i64. Every address below is an i64, so the same code can address more
;; than 4 GiB once the memory is grown that far (here it starts at 2 pages = 128 KiB).
;;
;;   quickbeam run --invoke fill_and_sum examples/memory64.wasm 100000      -> 12743440
;;   quickbeam run --invoke fill_and_sum examples/memory64.wasm 1000000     -> grows the memory to 16 pages, 127494304
;;   quickbeam run --invoke pages examples/memory64.wasm                    -> 2
;;
;; Build: wat2wasm --enable-memory64 examples/memory64.wat -o examples/memory64.wasm

(module
  ;; "i64" makes this a 64-bit memory: min 2 pages, max 65536 pages (4 GiB; memory64 allows more).
  (memory (export "memory") i64 2 65536)

  ;; fill(ptr, len, seed): byte i of [ptr, ptr+len) becomes (seed + i) & 0xff.
  (func $fill (export "fill") (param $ptr i64) (param $len i64) (param $seed i32)
    (local $i i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $len)))
        ;; The address operand of a memory64 store is an i64.
        (i64.store8
          (i64.add (local.get $ptr) (local.get $i))
          (i64.extend_i32_u (i32.add (local.get $seed) (i32.wrap_i64 (local.get $i)))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next))))

  ;; sum(ptr, len): the sum of the bytes of [ptr, ptr+len), as an i64.
  (func $sum (export "sum") (param $ptr i64) (param $len i64) (result i64)
    (local $i i64) (local $acc i64)
    (block $done
      (loop $next
        (br_if $done (i64.ge_u (local.get $i) (local.get $len)))
        (local.set $acc
          (i64.add (local.get $acc) (i64.load8_u (i64.add (local.get $ptr) (local.get $i)))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $next)))
    (local.get $acc))

  ;; fill_and_sum(len): fills len bytes at address 16 (seed 7) and sums them back. Grows the memory first when
  ;; the buffer does not fit; returns -1 when it cannot grow.
  (func (export "fill_and_sum") (param $len i64) (result i64)
    (local $need i64)
    ;; pages needed = ceil((16 + len) / 65536)
    (local.set $need (i64.shr_u (i64.add (i64.add (local.get $len) (i64.const 16)) (i64.const 65535)) (i64.const 16)))
    (if (i64.gt_u (local.get $need) (memory.size))
      (then
        (if (i64.eq (memory.grow (i64.sub (local.get $need) (memory.size))) (i64.const -1))
          (then (return (i64.const -1))))))
    (call $fill (i64.const 16) (local.get $len) (i32.const 7))
    (call $sum (i64.const 16) (local.get $len)))

  ;; The current size in pages (an i64 for a 64-bit memory).
  (func (export "pages") (result i64) (memory.size))

  ;; load_u8(addr): one byte; addresses past the end trap ("out of bounds memory access").
  (func (export "load_u8") (param $addr i64) (result i32)
    (i32.load8_u (local.get $addr))))
