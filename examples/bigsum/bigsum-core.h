/* The checksum both bigsum variants compute, so that their results can be compared.
 *
 * The input is read as little-endian 64-bit words; a final partial word is padded with zero bytes.
 *   sum  = sum of the words, modulo 2^64
 *   hash = FNV-1a over words: h = (h ^ w) * 0x100000001b3, starting from 0xcbf29ce484222325
 * `hash` depends on the order of the words, `sum` does not: together they catch a wrong length, a wrong
 * offset, missing or repeated data. Streaming works as long as every chunk but the last is a multiple of
 * 8 bytes.
 */
#ifndef BIGSUM_CORE_H
#define BIGSUM_CORE_H

typedef unsigned long long u64;
typedef unsigned char u8;

struct bigsum_state {
  u64 sum;
  u64 hash;
  u64 bytes;
};

static inline void bigsum_init(struct bigsum_state *s) {
  s->sum = 0;
  s->hash = 0xcbf29ce484222325ull;
  s->bytes = 0;
}

static inline u64 bigsum_load64(const u8 *p) {
  u64 w;
  __builtin_memcpy(&w, p, 8); /* unaligned-safe; wasm is little-endian */
  return w;
}

/* Add n bytes at p. Every call but the last must pass a multiple of 8 bytes. */
static inline void bigsum_update(struct bigsum_state *s, const u8 *p, u64 n) {
  u64 sum = s->sum, hash = s->hash;
  u64 words = n / 8;
  for (u64 i = 0; i < words; i++) {
    u64 w = bigsum_load64(p + 8 * i);
    sum += w;
    hash = (hash ^ w) * 0x100000001b3ull;
  }
  u64 rest = n % 8;
  if (rest != 0) {
    u64 w = 0;
    for (u64 k = 0; k < rest; k++) w |= (u64)p[8 * words + k] << (8 * k);
    sum += w;
    hash = (hash ^ w) * 0x100000001b3ull;
  }
  s->sum = sum;
  s->hash = hash;
  s->bytes += n;
}

#endif
