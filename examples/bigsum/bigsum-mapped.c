/* bigsum, memory64 version: the host maps the file into the module's (imported, i64-indexed) memory and
 * calls bigsum(ptr, len); the guest reads the data with plain loads, no copy and no system call.
 *
 * Build (scripts/build-bigsum.sh): clang-16 --target=wasm64 -nostdlib, linked with --import-memory, so the
 * module imports env.memory (i64) and exports bigsum and __heap_base (the first free address: the host maps
 * the file at or above it, 64 KiB-aligned).
 */
#include "bigsum-core.h"

static struct bigsum_state result;

/* Returns the address of { sum, hash, bytes } (three u64s) inside the memory. */
__attribute__((export_name("bigsum")))
struct bigsum_state *bigsum(const u8 *data, u64 len) {
  bigsum_init(&result);
  bigsum_update(&result, data, len);
  return &result;
}

/* The same, returning only the hash: handy from the command line, e.g.
 *   quickbeam run --map-file FILE@1M --invoke bigsum_hash bigsum-mapped.wasm 1048576 FILE_SIZE */
__attribute__((export_name("bigsum_hash")))
u64 bigsum_hash(const u8 *data, u64 len) {
  return bigsum(data, len)->hash;
}
