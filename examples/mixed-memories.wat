;; Multi-memory: one module with a 32-bit memory ($small, memory 0) and a 64-bit memory ($big, memory 1), both
;; used by ONE function. copy_checksum copies bytes from $small to $big in a loop, reading each byte back from
;; $big, and returns a checksum of what it read (h = h * 31 + byte, as an i32).
;;
;;   quickbeam run --invoke run examples/mixed-memories.wasm                        -> 1995164702
;;   quickbeam run --invoke copy_checksum examples/mixed-memories.wasm 0 4096 27   -> 1995164702 (the same)
;;   quickbeam run --invoke copy_checksum examples/mixed-memories.wasm 0 0 9       -> -989816068 (checksum of "Quickbeam")
;;
;; Build: wat2wasm --enable-memory64 --enable-multi-memory examples/mixed-memories.wat -o examples/mixed-memories.wasm

(module
  (memory $small (export "small") 1)        ;; i32-indexed, 64 KiB
  (memory $big (export "big") i64 1 16)     ;; i64-indexed, 64 KiB, up to 1 MiB

  (data (memory $small) (i32.const 0) "Quickbeam mixes memories!\0a\00")

  ;; copy_checksum(src, dst, len): $small[src .. src+len) -> $big[dst .. dst+len); returns the checksum.
  (func $copy_checksum (export "copy_checksum") (param $src i32) (param $dst i64) (param $len i32) (result i32)
    (local $i i32) (local $h i32) (local $b i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        ;; read from memory 0 with an i32 address ...
        (local.set $b (i32.load8_u $small (i32.add (local.get $src) (local.get $i))))
        ;; ... write to memory 1 with an i64 address ...
        (i32.store8 $big
          (i64.add (local.get $dst) (i64.extend_i32_u (local.get $i)))
          (local.get $b))
        ;; ... and read it back from memory 1.
        (local.set $h
          (i32.add
            (i32.mul (local.get $h) (i32.const 31))
            (i32.load8_u $big (i64.add (local.get $dst) (i64.extend_i32_u (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $h))

  ;; run(): copies the 27-byte message to address 4096 of $big and returns its checksum.
  (func (export "run") (result i32)
    (call $copy_checksum (i32.const 0) (i64.const 4096) (i32.const 27)))

  ;; Sizes in pages: $small answers an i32, $big an i64.
  (func (export "small_pages") (result i32) (memory.size $small))
  (func (export "big_pages") (result i64) (memory.size $big)))
