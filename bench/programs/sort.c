/* Quickbeam bench: sorting. Generates PRNG keys, then sorts them three ways: an introsort-style quicksort
 * on 32-bit keys (median of three, insertion sort below 24), a bottom-up mergesort of 64-bit key/value
 * records through a scratch buffer, and a heapsort of signed 32-bit keys; each result is verified and
 * summarised. argv[1] = number of elements. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint32_t s0, s1, s2, s3;
static uint32_t next32(void) { /* xoshiro128-style generator, seeded below */
  uint32_t r = s0 + s3, t = s1 << 9;
  s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t;
  s3 = (s3 << 11) | (s3 >> 21);
  return r;
}
static void seed(uint32_t x) {
  s0 = x; s1 = x * 747796405u + 1; s2 = x ^ 0x9E3779B9u; s3 = ~x;
  for (int i = 0; i < 16; i++) next32();
}

/* ---- quicksort on uint32 */
static void insertion_u32(uint32_t *a, long n) {
  for (long i = 1; i < n; i++) {
    uint32_t v = a[i]; long j = i - 1;
    while (j >= 0 && a[j] > v) { a[j + 1] = a[j]; j--; }
    a[j + 1] = v;
  }
}
static void quicksort_u32(uint32_t *a, long n) {
  while (n > 24) {
    long m = n / 2;
    uint32_t x = a[0], y = a[m], z = a[n - 1];
    uint32_t p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
    long i = 0, j = n - 1;
    for (;;) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i >= j) break;
      uint32_t t = a[i]; a[i] = a[j]; a[j] = t;
      i++; j--;
    }
    /* recurse into the smaller half, loop on the larger */
    if (j + 1 < n - j - 1) { quicksort_u32(a, j + 1); a += j + 1; n -= j + 1; }
    else { quicksort_u32(a + j + 1, n - j - 1); n = j + 1; }
  }
  insertion_u32(a, n);
}

/* ---- bottom-up mergesort on records */
typedef struct { uint64_t key; uint32_t value; uint32_t pad; } rec_t;
static void mergesort_rec(rec_t *a, rec_t *tmp, long n) {
  rec_t *src = a, *dst = tmp;
  for (long width = 1; width < n; width *= 2) {
    for (long lo = 0; lo < n; lo += 2 * width) {
      long mid = lo + width < n ? lo + width : n;
      long hi = lo + 2 * width < n ? lo + 2 * width : n;
      long i = lo, j = mid, k = lo;
      while (i < mid && j < hi) dst[k++] = (src[j].key < src[i].key) ? src[j++] : src[i++];
      while (i < mid) dst[k++] = src[i++];
      while (j < hi) dst[k++] = src[j++];
    }
    rec_t *t = src; src = dst; dst = t;
  }
  if (src != a) memcpy(a, src, (size_t)n * sizeof(rec_t));
}

/* ---- heapsort on int32 */
static void sift_down(int32_t *a, long root, long n) {
  int32_t v = a[root];
  for (;;) {
    long c = 2 * root + 1;
    if (c >= n) break;
    if (c + 1 < n && a[c + 1] > a[c]) c++;
    if (a[c] <= v) break;
    a[root] = a[c]; root = c;
  }
  a[root] = v;
}
static void heapsort_i32(int32_t *a, long n) {
  for (long i = n / 2 - 1; i >= 0; i--) sift_down(a, i, n);
  for (long end = n - 1; end > 0; end--) {
    int32_t t = a[0]; a[0] = a[end]; a[end] = t;
    sift_down(a, 0, end);
  }
}

static uint64_t fold(uint64_t h, uint64_t v) { h ^= v; h *= 0x100000001B3ull; return h; }

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  printf("sort: %ld elements\n", n);
  uint32_t *u = malloc((size_t)n * sizeof *u);
  rec_t *r = malloc((size_t)n * sizeof *r), *tmp = malloc((size_t)n * sizeof *tmp);
  int32_t *h = malloc((size_t)n * sizeof *h);

  seed(12345);
  for (long i = 0; i < n; i++) u[i] = next32();
  for (long i = 0; i < n / 10; i++) u[next32() % (uint32_t)n] = 77777; /* duplicates */
  quicksort_u32(u, n);
  long bad = 0; uint64_t cs = 0xcbf29ce484222325ull;
  for (long i = 1; i < n; i++) bad += u[i - 1] > u[i];
  for (long i = 0; i < n; i += 97) cs = fold(cs, u[i]);
  printf("quicksort u32: min=%u median=%u max=%u unsorted=%ld sample=%016llx\n", u[0], u[n / 2], u[n - 1], bad,
         (unsigned long long)cs);

  seed(777);
  for (long i = 0; i < n; i++) { r[i].key = ((uint64_t)next32() << 32 | next32()) >> (i & 7); r[i].value = (uint32_t)i; r[i].pad = 0; }
  mergesort_rec(r, tmp, n);
  bad = 0; cs = 0xcbf29ce484222325ull;
  for (long i = 1; i < n; i++) bad += r[i - 1].key > r[i].key || (r[i - 1].key == r[i].key && r[i - 1].value > r[i].value);
  for (long i = 0; i < n; i += 89) cs = fold(cs, r[i].key ^ r[i].value);
  printf("mergesort rec: first=%llu last=%llu unsorted/unstable=%ld sample=%016llx\n",
         (unsigned long long)r[0].key, (unsigned long long)r[n - 1].key, bad, (unsigned long long)cs);

  seed(4242);
  for (long i = 0; i < n; i++) h[i] = (int32_t)next32() >> (int)(i % 13);
  heapsort_i32(h, n);
  bad = 0; cs = 0xcbf29ce484222325ull;
  for (long i = 1; i < n; i++) bad += h[i - 1] > h[i];
  for (long i = 0; i < n; i += 101) cs = fold(cs, (uint32_t)h[i]);
  printf("heapsort i32: min=%d median=%d max=%d unsorted=%ld sample=%016llx\n", h[0], h[n / 2], h[n - 1], bad,
         (unsigned long long)cs);

  free(h); free(tmp); free(r); free(u);
  return 0;
}
