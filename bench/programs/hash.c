/* Quickbeam bench: hashing. Fills a buffer from a xorshift PRNG, then runs three hash kernels over it:
 * SHA-256 (32-bit rotates and adds), a table-driven CRC-32 (byte loads and table lookups) and a
 * four-lane 64-bit multiply/rotate mixer (64-bit multiplies). argv[1] = buffer size in KiB,
 * argv[2] = SHA-256 passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint64_t rng;
static uint64_t next64(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return rng;
}

/* ---- SHA-256 (FIPS 180-4) */
static const uint32_t K256[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

typedef struct { uint32_t h[8]; uint8_t buf[64]; uint64_t len; unsigned fill; } sha256_t;

static inline uint32_t ror(uint32_t x, int r) { return (x >> r) | (x << (32 - r)); }

static void sha256_block(uint32_t *h, const uint8_t *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

static void sha256_init(sha256_t *s) {
  static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, iv, sizeof iv);
  s->len = 0; s->fill = 0;
}

static void sha256_update(sha256_t *s, const uint8_t *p, size_t n) {
  s->len += n;
  while (n > 0) {
    if (s->fill == 0 && n >= 64) { sha256_block(s->h, p); p += 64; n -= 64; continue; }
    unsigned take = 64 - s->fill;
    if (take > n) take = (unsigned)n;
    memcpy(s->buf + s->fill, p, take);
    s->fill += take; p += take; n -= take;
    if (s->fill == 64) { sha256_block(s->h, s->buf); s->fill = 0; }
  }
}

static void sha256_final(sha256_t *s, uint8_t out[32]) {
  uint64_t bits = s->len * 8;
  uint8_t pad[72] = {0x80};
  unsigned padlen = (s->fill < 56) ? 56 - s->fill : 120 - s->fill;
  sha256_update(s, pad, padlen);
  uint8_t lenb[8];
  for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha256_update(s, lenb, 8);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(s->h[i] >> 24); out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
    out[4 * i + 2] = (uint8_t)(s->h[i] >> 8); out[4 * i + 3] = (uint8_t)s->h[i];
  }
}

static void print_hex(const char *label, const uint8_t *d, int n) {
  printf("%s", label);
  for (int i = 0; i < n; i++) printf("%02x", d[i]);
  printf("\n");
}

/* ---- CRC-32 (reflected, polynomial 0xEDB88320), one table lookup per byte */
static uint32_t crc_table[256];
static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}
static uint32_t crc32(const uint8_t *p, size_t n) {
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 255] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

/* ---- a four-lane multiply/rotate mixer over 32-byte stripes (our own design, not a standard hash) */
#define M1 0x9E6C63D0676A9A99ull
#define M2 0xC2B2AE3D27D4EB4Full
static inline uint64_t rol64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint64_t mix64(const uint8_t *p, size_t n, uint64_t seed) {
  uint64_t a = seed + M1, b = seed ^ M2, c = seed - M1, d = ~seed;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a = rol64(a + rd64(p + i) * M2, 29) * M1;
    b = rol64(b + rd64(p + i + 8) * M2, 31) * M1;
    c = rol64(c + rd64(p + i + 16) * M2, 27) * M1;
    d = rol64(d + rd64(p + i + 24) * M2, 33) * M1;
  }
  uint64_t h = rol64(a, 1) + rol64(b, 7) + rol64(c, 12) + rol64(d, 18) + n;
  for (; i < n; i++) h = rol64(h ^ (p[i] * M1), 11) * M2;
  h ^= h >> 33; h *= M2; h ^= h >> 29; h *= M1; h ^= h >> 32;
  return h;
}

int main(int argc, char **argv) {
  size_t kib = argc > 1 ? (size_t)atoi(argv[1]) : 1024;
  int passes = argc > 2 ? atoi(argv[2]) : 4;
  size_t n = kib * 1024;
  uint8_t *buf = malloc(n);
  rng = 0x2545F4914F6CDD1Dull;
  for (size_t i = 0; i < n; i += 8) { uint64_t v = next64(); memcpy(buf + i, &v, 8); }
  printf("hash: %u KiB buffer, %d SHA-256 passes\n", (unsigned)kib, passes);

  /* known-answer check: SHA-256("abc") */
  sha256_t s; uint8_t dg[32];
  sha256_init(&s); sha256_update(&s, (const uint8_t *)"abc", 3); sha256_final(&s, dg);
  print_hex("sha256(abc) = ", dg, 32);

  uint8_t chain[32] = {0};
  for (int pass = 0; pass < passes; pass++) {
    sha256_init(&s);
    sha256_update(&s, chain, 32);
    /* uneven chunk sizes exercise the buffered path too */
    size_t off = 0, step = 4096 + 77 * (size_t)pass;
    while (off < n) { size_t m = n - off < step ? n - off : step; sha256_update(&s, buf + off, m); off += m; }
    sha256_final(&s, chain);
  }
  print_hex("sha256 chain = ", chain, 32);

  crc_init();
  printf("crc32(\"123456789\") = %08x\n", crc32((const uint8_t *)"123456789", 9));
  uint32_t crc = 0;
  for (int pass = 0; pass < passes; pass++) crc ^= crc32(buf + pass, n - (size_t)pass);
  printf("crc32 fold = %08x\n", crc);

  uint64_t m = 0;
  for (int pass = 0; pass < 4 * passes; pass++) m = mix64(buf + (pass & 7), n - 8, m);
  printf("mix64 = %016llx\n", (unsigned long long)m);
  free(buf);
  return 0;
}
