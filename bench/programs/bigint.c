/* Quickbeam bench: big-integer arithmetic with 32-bit limbs (little endian) and 64-bit intermediate
 * products. Computes N! by repeated small multiplication, converts it to decimal by repeated division by
 * 10^9, squares it with schoolbook multiplication and checks the square modulo small primes, and computes a
 * large Fibonacci number by repeated addition. argv[1] = N. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

typedef struct { uint32_t *d; long n, cap; } big_t;

static void big_init(big_t *b, long cap) { b->d = calloc((size_t)cap, 4); b->n = 0; b->cap = cap; }
static void big_free(big_t *b) { free(b->d); b->d = 0; b->n = b->cap = 0; }
static void big_set(big_t *b, uint32_t v) { b->n = v ? 1 : 0; b->d[0] = v; }
static void big_reserve(big_t *b, long n) {
  if (n <= b->cap) return;
  long cap = b->cap * 2 > n ? b->cap * 2 : n;
  uint32_t *d = calloc((size_t)cap, 4);
  memcpy(d, b->d, (size_t)b->n * 4);
  free(b->d); b->d = d; b->cap = cap;
}
static void big_copy(big_t *dst, const big_t *src) {
  big_reserve(dst, src->n);
  memcpy(dst->d, src->d, (size_t)src->n * 4); dst->n = src->n;
}
static void big_mul_small(big_t *b, uint32_t m) {
  uint64_t carry = 0;
  for (long i = 0; i < b->n; i++) {
    uint64_t t = (uint64_t)b->d[i] * m + carry;
    b->d[i] = (uint32_t)t; carry = t >> 32;
  }
  if (carry) { big_reserve(b, b->n + 1); b->d[b->n++] = (uint32_t)carry; }
}
/* divides in place, returns the remainder */
static uint32_t big_div_small(big_t *b, uint32_t m) {
  uint64_t rem = 0;
  for (long i = b->n - 1; i >= 0; i--) {
    uint64_t cur = rem << 32 | b->d[i];
    b->d[i] = (uint32_t)(cur / m); rem = cur % m;
  }
  while (b->n > 0 && b->d[b->n - 1] == 0) b->n--;
  return (uint32_t)rem;
}
static uint32_t big_mod_small(const big_t *b, uint32_t m) {
  uint64_t rem = 0;
  for (long i = b->n - 1; i >= 0; i--) rem = ((rem << 32) | b->d[i]) % m;
  return (uint32_t)rem;
}
/* r = a + b (r may alias a) */
static void big_add(big_t *r, const big_t *a, const big_t *b) {
  long n = a->n > b->n ? a->n : b->n;
  big_reserve(r, n + 1);
  uint64_t carry = 0;
  for (long i = 0; i < n; i++) {
    uint64_t t = carry + (i < a->n ? a->d[i] : 0) + (i < b->n ? b->d[i] : 0);
    r->d[i] = (uint32_t)t; carry = t >> 32;
  }
  r->n = n;
  if (carry) r->d[r->n++] = (uint32_t)carry;
}
/* r = a * b, schoolbook (r must not alias) */
static void big_mul(big_t *r, const big_t *a, const big_t *b) {
  big_reserve(r, a->n + b->n);
  memset(r->d, 0, (size_t)(a->n + b->n) * 4);
  for (long i = 0; i < a->n; i++) {
    uint64_t carry = 0, ai = a->d[i];
    uint32_t *rp = r->d + i;
    for (long j = 0; j < b->n; j++) {
      uint64_t t = ai * b->d[j] + rp[j] + carry;
      rp[j] = (uint32_t)t; carry = t >> 32;
    }
    rp[b->n] = (uint32_t)carry;
  }
  r->n = a->n + b->n;
  while (r->n > 0 && r->d[r->n - 1] == 0) r->n--;
}

/* decimal string of b (destroys a copy); returns the number of digits */
static long big_to_decimal(const big_t *b, char *out) {
  big_t t; big_init(&t, b->n + 1); big_copy(&t, b);
  long nchunks = 0;
  uint32_t *chunks = malloc((size_t)(b->n * 10 / 9 + 2) * 4);
  while (t.n > 0) chunks[nchunks++] = big_div_small(&t, 1000000000u);
  long len = 0;
  if (nchunks == 0) out[len++] = '0';
  else {
    len += sprintf(out, "%u", chunks[nchunks - 1]);
    for (long i = nchunks - 2; i >= 0; i--) len += sprintf(out + len, "%09u", chunks[i]);
  }
  out[len] = 0;
  free(chunks); big_free(&t);
  return len;
}

static const uint32_t PRIMES[] = {1000000007u, 998244353u, 4294967291u, 2147483647u};

int main(int argc, char **argv) {
  int N = argc > 1 ? atoi(argv[1]) : 2000;
  printf("bigint: %d!, its square, fib(%d)\n", N, 40 * N);

  big_t f; big_init(&f, 16); big_set(&f, 1);
  for (int k = 2; k <= N; k++) big_mul_small(&f, (uint32_t)k);
  char *dec = malloc((size_t)f.n * 10 + 16);
  long digits = big_to_decimal(&f, dec);
  long dsum = 0, zeros = 0;
  for (long i = 0; i < digits; i++) dsum += dec[i] - '0';
  for (long i = digits - 1; i >= 0 && dec[i] == '0'; i--) zeros++;
  printf("%d! has %ld digits (%ld limbs), digit sum %ld, %ld trailing zeros\n", N, digits, f.n, dsum, zeros);
  printf("%d! = %.24s...\n", N, dec);

  big_t sq; big_init(&sq, 16);
  big_mul(&sq, &f, &f);
  int ok = 1;
  for (int i = 0; i < 4; i++) {
    uint64_t m = big_mod_small(&f, PRIMES[i]);
    uint64_t want = m * m % PRIMES[i], got = big_mod_small(&sq, PRIMES[i]);
    printf("(%d!)^2 mod %u = %llu %s\n", N, PRIMES[i], (unsigned long long)got, got == want ? "ok" : "MISMATCH");
    ok &= got == want;
  }

  /* Fibonacci by repeated addition: a, b = b, a + b */
  big_t a, b, t; big_init(&a, 16); big_init(&b, 16); big_init(&t, 16);
  big_set(&a, 0); big_set(&b, 1);
  for (int i = 0; i < 40 * N; i++) { big_add(&t, &a, &b); big_copy(&a, &b); big_copy(&b, &t); }
  long fd = big_to_decimal(&a, dec = realloc(dec, (size_t)a.n * 10 + 16));
  printf("fib(%d) has %ld digits: %.20s...%s\n", 40 * N, fd, dec, dec + fd - 12);
  printf("%s\n", ok ? "all checks passed" : "CHECK FAILED");
  big_free(&a); big_free(&b); big_free(&t); big_free(&sq); big_free(&f); free(dec);
  return 0;
}
