#!/usr/bin/env bash
# Rebuilds examples/bigsum/*.wasm from their C sources (committed; nothing is built at run or test time):
#   bigsum-mapped.c -> bigsum-mapped.wasm   wasm64 (memory64), imports env.memory, exports bigsum, __heap_base
#   bigsum-wasi.c   -> bigsum-wasi.wasm     wasm32 WASI preview1 command reading the file with fd_read
# Both are freestanding (-nostdlib): no wasi-libc needed. Needs clang and wasm-ld (Debian: clang-16 lld-16).
# Override the compiler with CLANG=..., e.g. CLANG=clang-19 (with lld-19).

set -euo pipefail
cd "$(dirname "$0")/../examples/bigsum"

CLANG="${CLANG:-}"
if [[ -z "$CLANG" ]]; then
  for c in clang-16 clang; do
    if command -v "$c" >/dev/null 2>&1; then CLANG="$c"; break; fi
  done
fi
if [[ -z "$CLANG" ]]; then
  echo "build-bigsum: clang not found (apt-get install -y clang-16 lld-16)" >&2
  exit 1
fi
# wasm-ld: clang looks for it next to itself or on PATH; Debian's lld-16 installs wasm-ld-16.
LD_FLAG=()
if ! command -v wasm-ld >/dev/null 2>&1 && command -v wasm-ld-16 >/dev/null 2>&1; then
  LD_FLAG=(-fuse-ld="$(command -v wasm-ld-16)")
fi

COMMON=(-O2 -nostdlib -ffreestanding -fno-builtin -Wall -Wextra -Werror "${LD_FLAG[@]}" -Wl,--strip-debug)

# memory64: the host creates the (i64) memory and maps the file into it.
"$CLANG" --target=wasm64-unknown-unknown "${COMMON[@]}" \
  -Wl,--no-entry -Wl,--import-memory -Wl,--export=__heap_base \
  -o bigsum-mapped.wasm bigsum-mapped.c

# WASI command (wasm32: WASI preview1 has 32-bit pointers).
"$CLANG" --target=wasm32-unknown-unknown "${COMMON[@]}" \
  -Wl,--export=_start -Wl,--no-entry \
  -o bigsum-wasi.wasm bigsum-wasi.c

ls -l bigsum-mapped.wasm bigsum-wasi.wasm
