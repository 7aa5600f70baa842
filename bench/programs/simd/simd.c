/* Quickbeam bench: SIMD kernels written with wasm_simd128.h intrinsics (Wasm 2.0 128-bit SIMD).
 *   - dot products: f32x4 multiply-add and i32x4.dot_i16x8 over int16 arrays
 *   - a 3x3 box blur of an 8-bit image: u8 -> u16 widening, adds, u16 x u16 -> u32 extmul, shifts, narrowing
 *   - substring counting: first/last byte filters with i8x16.eq, v128.and, i8x16.bitmask, then memcmp
 *   - byte statistics: i8x16.popcnt, saturating adds, u8 min/max, avgr, i8x16.shuffle and swizzle
 *   - float lanes: min/max/pmin/pmax, sqrt, rounding, trunc_sat and convert, i64x2 arithmetic
 * Every kernel folds its result into a checksum printed as hex (floats by their bit patterns).
 * argv[1] = image side (pixels), argv[2] = repetitions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <wasm_simd128.h>

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next64(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return rng;
}

static uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v;
  h *= 0x100000001b3ULL;
  return h ^ (h >> 29);
}

static uint64_t fold_v128(uint64_t h, v128_t v) {
  h = mix(h, (uint64_t)wasm_i64x2_extract_lane(v, 0));
  return mix(h, (uint64_t)wasm_i64x2_extract_lane(v, 1));
}

static uint32_t f32_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* ---- dot products */
static float dot_f32(const float *a, const float *b, int n) {
  v128_t s0 = wasm_f32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
  for (int i = 0; i < n; i += 16) {
    s0 = wasm_f32x4_add(s0, wasm_f32x4_mul(wasm_v128_load(a + i), wasm_v128_load(b + i)));
    s1 = wasm_f32x4_add(s1, wasm_f32x4_mul(wasm_v128_load(a + i + 4), wasm_v128_load(b + i + 4)));
    s2 = wasm_f32x4_add(s2, wasm_f32x4_mul(wasm_v128_load(a + i + 8), wasm_v128_load(b + i + 8)));
    s3 = wasm_f32x4_add(s3, wasm_f32x4_mul(wasm_v128_load(a + i + 12), wasm_v128_load(b + i + 12)));
  }
  v128_t s = wasm_f32x4_add(wasm_f32x4_add(s0, s1), wasm_f32x4_add(s2, s3));
  return wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1) +
         wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3);
}

static int64_t dot_i16(const int16_t *a, const int16_t *b, int n) {
  v128_t acc = wasm_i64x2_splat(0);
  for (int i = 0; i < n; i += 16) {
    v128_t d = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_v128_load(a + i), wasm_v128_load(b + i)),
                              wasm_i32x4_dot_i16x8(wasm_v128_load(a + i + 8), wasm_v128_load(b + i + 8)));
    acc = wasm_i64x2_add(acc, wasm_i64x2_extend_low_i32x4(d));
    acc = wasm_i64x2_add(acc, wasm_i64x2_extend_high_i32x4(d));
  }
  return wasm_i64x2_extract_lane(acc, 0) + wasm_i64x2_extract_lane(acc, 1);
}

/* ---- 3x3 box blur: out = (sum of 9 neighbours) * 7282 >> 16 (~ / 9) */
static void blur(const uint8_t *in, uint8_t *out, int w, int h) {
  const v128_t k = wasm_i16x8_splat(7282);
  for (int y = 1; y < h - 1; y++) {
    const uint8_t *r0 = in + (y - 1) * w, *r1 = in + y * w, *r2 = in + (y + 1) * w;
    uint8_t *o = out + y * w;
    for (int x = 1; x + 16 <= w - 1; x += 16) {
      v128_t lo = wasm_i16x8_splat(0), hi = lo;
      const uint8_t *rows[3] = {r0, r1, r2};
      for (int r = 0; r < 3; r++) {
        for (int dx = -1; dx <= 1; dx++) {
          v128_t v = wasm_v128_load(rows[r] + x + dx);
          lo = wasm_i16x8_add(lo, wasm_u16x8_extend_low_u8x16(v));
          hi = wasm_i16x8_add(hi, wasm_u16x8_extend_high_u8x16(v));
        }
      }
      v128_t a = wasm_u32x4_shr(wasm_u32x4_extmul_low_u16x8(lo, k), 16);
      v128_t b = wasm_u32x4_shr(wasm_u32x4_extmul_high_u16x8(lo, k), 16);
      v128_t c = wasm_u32x4_shr(wasm_u32x4_extmul_low_u16x8(hi, k), 16);
      v128_t d = wasm_u32x4_shr(wasm_u32x4_extmul_high_u16x8(hi, k), 16);
      v128_t p = wasm_u8x16_narrow_i16x8(wasm_u16x8_narrow_i32x4(a, b), wasm_u16x8_narrow_i32x4(c, d));
      wasm_v128_store(o + x, p);
    }
  }
}

/* ---- substring counting */
static int count_substr(const uint8_t *s, int n, const uint8_t *pat, int m) {
  const v128_t first = wasm_i8x16_splat((int8_t)pat[0]);
  const v128_t last = wasm_i8x16_splat((int8_t)pat[m - 1]);
  int count = 0;
  int i = 0;
  for (; i + m - 1 + 16 <= n; i += 16) {
    v128_t bf = wasm_v128_load(s + i);
    v128_t bl = wasm_v128_load(s + i + m - 1);
    uint32_t mask = wasm_i8x16_bitmask(wasm_v128_and(wasm_i8x16_eq(bf, first), wasm_i8x16_eq(bl, last)));
    while (mask) {
      int bit = __builtin_ctz(mask);
      if (memcmp(s + i + bit + 1, pat + 1, (size_t)(m - 2)) == 0) count++;
      mask &= mask - 1;
    }
  }
  for (; i + m <= n; i++) if (memcmp(s + i, pat, (size_t)m) == 0) count++;
  return count;
}

/* ---- byte statistics */
static uint64_t byte_stats(const uint8_t *s, int n) {
  v128_t bits = wasm_i16x8_splat(0), sat = wasm_i8x16_splat(0);
  v128_t mn = wasm_i8x16_splat(-1), mx = wasm_i8x16_splat(0), avg = wasm_i8x16_splat(0);
  v128_t hex = wasm_i8x16_splat(0);
  const v128_t digits = wasm_i8x16_make('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f');
  for (int i = 0; i < n; i += 16) {
    v128_t v = wasm_v128_load(s + i);
    bits = wasm_i16x8_add(bits, wasm_u16x8_extend_low_u8x16(wasm_i8x16_popcnt(v)));
    sat = wasm_u8x16_add_sat(sat, wasm_u8x16_shr(v, 6));
    mn = wasm_u8x16_min(mn, v);
    mx = wasm_u8x16_max(mx, v);
    avg = wasm_u8x16_avgr(avg, v);
    v128_t rev = wasm_i8x16_shuffle(v, avg, 15, 14, 13, 12, 11, 10, 9, 8, 23, 22, 21, 20, 19, 18, 17, 16);
    hex = wasm_v128_xor(hex, wasm_i8x16_swizzle(digits, wasm_v128_and(rev, wasm_i8x16_splat(15))));
  }
  uint64_t h = 0;
  h = fold_v128(h, bits);
  h = fold_v128(h, sat);
  h = fold_v128(h, mn);
  h = fold_v128(h, mx);
  h = fold_v128(h, avg);
  return fold_v128(h, hex);
}

/* ---- float lanes */
static uint64_t float_lanes(const float *a, int n) {
  v128_t lo = wasm_f32x4_splat(1e30f), hi = wasm_f32x4_splat(-1e30f);
  v128_t plo = lo, phi = hi, acc = wasm_f32x4_splat(0);
  v128_t ints = wasm_i32x4_splat(0), wide = wasm_i64x2_splat(0);
  for (int i = 0; i < n; i += 4) {
    v128_t v = wasm_v128_load(a + i);
    lo = wasm_f32x4_min(lo, v);
    hi = wasm_f32x4_max(hi, v);
    plo = wasm_f32x4_pmin(plo, v);
    phi = wasm_f32x4_pmax(phi, v);
    v128_t r = wasm_f32x4_sqrt(wasm_f32x4_abs(v));
    acc = wasm_f32x4_add(acc, wasm_f32x4_floor(wasm_f32x4_mul(r, wasm_f32x4_splat(3.5f))));
    v128_t t = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_mul(v, wasm_f32x4_splat(1000.0f)));
    ints = wasm_i32x4_add(ints, t);
    wide = wasm_i64x2_add(wasm_i64x2_mul(wide, wasm_i64x2_splat(31)), wasm_i64x2_extend_low_i32x4(t));
    acc = wasm_f32x4_sub(acc, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_shr(t, 8)), wasm_f32x4_splat(0.25f)));
  }
  uint64_t h = 0;
  h = fold_v128(h, lo);
  h = fold_v128(h, hi);
  h = fold_v128(h, plo);
  h = fold_v128(h, phi);
  h = fold_v128(h, acc);
  h = fold_v128(h, ints);
  return fold_v128(h, wide);
}

int main(int argc, char **argv) {
  int side = argc > 1 ? atoi(argv[1]) : 512;
  int reps = argc > 2 ? atoi(argv[2]) : 10;
  side = (side + 15) & ~15;
  const int n = side * side;
  printf("simd: %dx%d image, %d repetitions\n", side, side, reps);

  uint8_t *img = malloc((size_t)n + 64), *out = malloc((size_t)n + 64);
  float *fa = malloc(sizeof(float) * (size_t)n), *fb = malloc(sizeof(float) * (size_t)n);
  int16_t *ia = malloc(sizeof(int16_t) * (size_t)n), *ib = malloc(sizeof(int16_t) * (size_t)n);
  for (int i = 0; i < n + 64; i++) img[i] = (uint8_t)(next64() >> 56);
  for (int i = 0; i < n; i++) {
    uint64_t r = next64();
    fa[i] = (float)((int32_t)(r & 0xffff) - 32768) / 4096.0f;
    fb[i] = (float)((int32_t)((r >> 16) & 0xffff) - 32768) / 8192.0f;
    ia[i] = (int16_t)(r >> 32);
    ib[i] = (int16_t)(r >> 48);
  }
  /* a text of a small alphabet, so that the pattern occurs often */
  uint8_t *text = malloc((size_t)n + 64);
  for (int i = 0; i < n + 64; i++) text[i] = "abcab"[(next64() >> 40) % 5];
  static const uint8_t pat[] = "abcab";

  uint64_t h = 0;
  for (int r = 0; r < reps; r++) {
    float d = dot_f32(fa, fb, n);
    h = mix(h, f32_bits(d));
    h = mix(h, (uint64_t)dot_i16(ia, ib, n));
    blur(img, out, side, side);
    blur(out, img, side, side);
    h = mix(h, byte_stats(img, n));
    h = mix(h, (uint64_t)count_substr(text, n, pat, 5));
    h = mix(h, float_lanes(fa, n));
    fa[r % n] += 0.5f;
    ia[(r * 7) % n] ^= 0x55;
    text[(r * 13) % n] = 'c';
  }
  printf("dot_f32 = %08x\n", f32_bits(dot_f32(fa, fb, n)));
  printf("dot_i16 = %lld\n", (long long)dot_i16(ia, ib, n));
  printf("matches = %d\n", count_substr(text, n, pat, 5));
  printf("checksum = %016llx\n", (unsigned long long)h);
  return 0;
}
