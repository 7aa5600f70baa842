#!/usr/bin/env bash
# Rebuilds the SIMD benchmark program (bench/programs/simd/simd.c, wasm_simd128.h intrinsics) for wasm32
# and wasm64 into bench/programs/build/simd.wasm{32,64}.wasm, like scripts/build-bench.sh: Debian's
# clang-16/lld-16 at -O2 with -msimd128, linked against the shared tiny libc (../shared/workloads/common:
# env.putchar / env.print_i64, export run).
#
#   scripts/build-bench-simd.sh [SIDE REPS]     # default: 512 150 (roughly 0.4 s under V8 Liftoff)
#
# Needs: apt-get install -y clang-16 lld-16 libclang-rt-16-dev-wasm32 libclang-rt-16-dev-wasm64
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORKLOADS="${QUICKBEAM_WORKLOADS:-$ROOT/../shared/workloads}"
if [ ! -f "$WORKLOADS/common/build_common.sh" ]; then
  echo "build-bench-simd: $WORKLOADS/common/build_common.sh not found (set QUICKBEAM_WORKLOADS)" >&2
  exit 1
fi
OBJ="$(mktemp -d)"
trap 'rm -rf "$OBJ"' EXIT
export OBJ
# shellcheck source=/dev/null
source "$WORKLOADS/common/build_common.sh"

SIDE="${1:-512}"
REPS="${2:-150}"
OUT="$ROOT/bench/programs/build"
mkdir -p "$OUT"
for bits in 32 64; do
  build_free "$bits" "$OUT/simd.wasm$bits.wasm" "\"simd\",\"$SIDE\",\"$REPS\"" -msimd128 -Wall -Wextra -Wno-unused-parameter \
    -- "$ROOT/bench/programs/simd/simd.c"
  echo "built bench/programs/build/simd.wasm$bits.wasm ($(stat -c %s "$OUT/simd.wasm$bits.wasm") bytes)"
done
