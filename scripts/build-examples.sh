#!/usr/bin/env bash
# Rebuilds the committed .wasm files from their sources:
#   examples/*.c                  -> examples/*.wasm              (WASI commands: clang + wasi-libc)
#   examples/*.wat                -> examples/*.wasm              (wat2wasm, memory64 + multi-memory)
#   test/fixtures/wasi/*.c        -> test/fixtures/wasi/*.wasm    (WASI test programs)
#
# Needs Debian's packages (bookworm):
#   apt-get install -y clang-16 lld-16 libclang-rt-16-dev-wasm32 wasi-libc wabt
# Override the compiler with CLANG=..., e.g. CLANG=clang-19 (with lld-19 and libclang-rt-19-dev-wasm32).
# Tests use the committed .wasm files; nothing is built at test time.

set -euo pipefail
cd "$(dirname "$0")/.."

CLANG="${CLANG:-}"
if [[ -z "$CLANG" ]]; then
  for c in clang-16 clang; do
    if command -v "$c" >/dev/null 2>&1; then CLANG="$c"; break; fi
  done
fi
missing=()
[[ -n "$CLANG" ]] || missing+=(clang)
command -v wat2wasm >/dev/null 2>&1 || missing+=(wat2wasm)
if (( ${#missing[@]} )); then
  echo "build-examples: missing ${missing[*]}" >&2
  echo "  apt-get install -y clang-16 lld-16 libclang-rt-16-dev-wasm32 wasi-libc wabt" >&2
  exit 1
fi

# wasi-libc from Debian lives in /usr/{include,lib}/wasm32-wasi, which clang finds with --sysroot=/usr.
SYSROOT="${WASI_SYSROOT:-/usr}"
if [[ ! -e "$SYSROOT/lib/wasm32-wasi/libc.a" ]]; then
  echo "build-examples: wasi-libc not found under $SYSROOT (apt-get install -y wasi-libc)" >&2
  exit 1
fi

CFLAGS=(--target=wasm32-wasi --sysroot="$SYSROOT" -O2 -Wall -Wextra -Wno-unused-parameter -Wno-unused-result)
# No DWARF (wasi-libc's archive carries some), but keep the name section so traps show function names.
LDFLAGS=(-Wl,--strip-debug)

build_c() {
  local src="$1" out="${1%.c}.wasm"
  echo "  CC   $src -> $out"
  "$CLANG" "${CFLAGS[@]}" "${LDFLAGS[@]}" -o "$out" "$src"
  chmod -x "$out"
}

build_wat() {
  local src="$1" out="${1%.wat}.wasm"
  echo "  WAT  $src -> $out"
  wat2wasm --enable-memory64 --enable-multi-memory -o "$out" "$src"
}

echo "build-examples: $("$CLANG" --version | head -n1); wat2wasm $(wat2wasm --version)"
for f in examples/*.c test/fixtures/wasi/*.c; do build_c "$f"; done
for f in examples/*.wat; do build_wat "$f"; done
echo "build-examples: done"
