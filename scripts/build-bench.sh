#!/usr/bin/env bash
# Rebuilds Quickbeam's own benchmark programs (bench/programs/*.c) for wasm32 and wasm64 into
# bench/programs/build/, exactly like the shared freestanding workloads: Debian's clang-16/lld-16 at -O2,
# linked against the shared tiny libc (../shared/workloads/common: env.putchar / env.print_i64, export run).
#
#   scripts/build-bench.sh [NAME...]          # default: every program
#
# Needs: apt-get install -y clang-16 lld-16 libclang-rt-16-dev-wasm32 libclang-rt-16-dev-wasm64
# (clang-19's wasm-ld emits a 64-bit table for wasm64, which Node 20 rejects).
# After a rebuild, refresh the expected checksums with V8:  node bench/update-expected.mjs
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORKLOADS="${QUICKBEAM_WORKLOADS:-$ROOT/../shared/workloads}"
if [ ! -f "$WORKLOADS/common/build_common.sh" ]; then
  echo "build-bench: $WORKLOADS/common/build_common.sh not found (set QUICKBEAM_WORKLOADS)" >&2
  exit 1
fi
OBJ="$(mktemp -d)"
trap 'rm -rf "$OBJ"' EXIT
export OBJ
# shellcheck source=/dev/null
source "$WORKLOADS/common/build_common.sh"

SRC="$ROOT/bench/programs"
OUT="$SRC/build"
mkdir -p "$OUT"

# name : baked-in argv (after the program name). Sized for roughly 0.2-1 s under V8 Liftoff.
PROGRAMS=(
  "hash:3072 3"
  "sort:1000000"
  "interp:25"
  "bigint:3000"
  "nbody:2000000 800 2000"
  "fft:17 12"
  "wordfreq:2000000"
  "luavm:25"
  "lz:2048 2"
  "regex:10000 2"
  "json:6000 3"
  "image:768 6 64 400"
  "dispatch:200000 3"
  "recurse:16"
  "tokens:2048 4"
)

want=("$@")
for entry in "${PROGRAMS[@]}"; do
  name="${entry%%:*}"
  args="${entry#*:}"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " =~ " $name " ]]; then continue; fi
  argv="\"$name\""
  for a in $args; do argv="$argv,\"$a\""; done
  for bits in 32 64; do
    build_free "$bits" "$OUT/$name.wasm$bits.wasm" "$argv" -Wall -Wextra -Wno-unused-parameter -- "$SRC/$name.c"
    echo "built bench/programs/build/$name.wasm$bits.wasm ($(stat -c %s "$OUT/$name.wasm$bits.wasm") bytes)"
  done
done
