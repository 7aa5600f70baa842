/* Quickbeam bench: a deflate-style codec. Compression is LZ77 with hash chains over a 32 KiB window (as
 * zlib/miniz do: 3-byte hash, bounded chain walk, lazy-free greedy matching), then Huffman coding of the
 * literal/length and distance symbols with deflate's length/distance bucket tables, code lengths limited to
 * 15 bits, canonical codes written LSB-first by a bit buffer. Decompression is a table-free canonical
 * decoder in the style of zlib's puff.c (count/symbol arrays, bit-at-a-time) plus the LZ copy loop. The
 * input is generated text (a word Markov chain with numbers and punctuation), compressed in 64 KiB blocks;
 * every block round-trips and is checked. argv[1] = input size in KiB, argv[2] = passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint32_t rng = 2463534242u;
static uint32_t xr(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

static const char *words[] = {"the", "of", "and", "a", "to", "in", "is", "you", "that", "it", "he", "was",
  "for", "on", "are", "as", "with", "his", "they", "at", "be", "this", "have", "from", "or", "one", "had",
  "by", "word", "but", "not", "what", "all", "were", "we", "when", "your", "can", "said", "there", "use",
  "an", "each", "which", "she", "do", "how", "their", "if", "will", "up", "other", "about", "out", "many",
  "then", "them", "these", "so", "some", "her", "would", "make", "like", "him", "into", "time", "has",
  "look", "two", "more", "write", "go", "see", "number", "no", "way", "could", "people", "compression"};
#define NWORDS (int)(sizeof words / sizeof *words)

static void gen_text(uint8_t *p, size_t n) {
  size_t i = 0; int prev = 0;
  while (i < n) {
    uint32_t r = xr();
    int w = (r & 3) ? (int)((prev * 7 + (r >> 8)) % 24) : (int)((r >> 8) % NWORDS);
    prev = w;
    const char *s = words[w];
    while (*s && i < n) p[i++] = (uint8_t)*s++;
    if (i < n) p[i++] = (r >> 20) % 17 == 0 ? (uint8_t)',' : (r >> 20) % 23 == 0 ? (uint8_t)'.' : (uint8_t)' ';
    if ((r >> 27) == 0 && i + 6 < n) { uint32_t v = xr() % 100000; for (int k = 0; k < 5; k++) { p[i++] = (uint8_t)('0' + v % 10); v /= 10; } p[i++] = '\n'; }
  }
}

/* ---- deflate tables */
static const uint16_t len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
  67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513,
  769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
static uint8_t len_sym[259];     /* match length -> length code - 257 */
static uint8_t dist_sym_lo[512]; /* distance-1 < 512 -> code; else via dist_sym_hi[(d-1) >> 7] */
static uint8_t dist_sym_hi[256];

static void init_tables(void) {
  for (int c = 0; c < 29; c++)
    for (int l = len_base[c]; l < (c == 28 ? 259 : len_base[c + 1]); l++) len_sym[l] = (uint8_t)c;
  len_sym[258] = 28;
  for (int c = 0; c < 30; c++) {
    int hi = c == 29 ? 32769 : dist_base[c + 1];
    for (int d = dist_base[c]; d < hi; d++) {
      if (d - 1 < 512) dist_sym_lo[d - 1] = (uint8_t)c;
      else dist_sym_hi[(d - 1) >> 7] = (uint8_t)c;
    }
  }
}
static int dist_code(int d) { return d - 1 < 512 ? dist_sym_lo[d - 1] : dist_sym_hi[(d - 1) >> 7]; }

/* ---- LZ77 tokens: (lit) or (len, dist) */
typedef struct { uint16_t len, dist; uint8_t lit; } tok_t;
#define WBITS 15
#define WSIZE (1 << WBITS)
#define HBITS 14
static int32_t head[1 << HBITS];
static int32_t prevpos[WSIZE];

static size_t lz_parse(const uint8_t *in, size_t n, tok_t *out, int max_chain) {
  for (int i = 0; i < (1 << HBITS); i++) head[i] = -1;
  size_t nt = 0, i = 0;
  while (i < n) {
    int best = 0, bestd = 0;
    if (i + 3 <= n) {
      uint32_t h = ((uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2]) * 2654435761u >> (32 - HBITS);
      int32_t p = head[h];
      int chain = max_chain;
      size_t maxlen = n - i < 258 ? n - i : 258;
      while (p >= 0 && i - (size_t)p <= WSIZE && chain-- > 0) {
        if (in[p + best] == in[i + best]) {
          size_t l = 0;
          while (l < maxlen && in[p + l] == in[i + l]) l++;
          if ((int)l > best) { best = (int)l; bestd = (int)(i - (size_t)p); if (l == maxlen) break; }
        }
        p = prevpos[p & (WSIZE - 1)];
      }
      prevpos[i & (WSIZE - 1)] = head[h];
      head[h] = (int32_t)i;
    }
    if (best >= 3) {
      out[nt].len = (uint16_t)best; out[nt].dist = (uint16_t)bestd; nt++;
      for (size_t k = i + 1; k < i + (size_t)best && k + 3 <= n; k++) {
        uint32_t h = ((uint32_t)in[k] << 16 | (uint32_t)in[k + 1] << 8 | in[k + 2]) * 2654435761u >> (32 - HBITS);
        prevpos[k & (WSIZE - 1)] = head[h]; head[h] = (int32_t)k;
      }
      i += (size_t)best;
    } else {
      out[nt].len = 0; out[nt].lit = in[i]; nt++; i++;
    }
  }
  return nt;
}

/* ---- Huffman code lengths (heap-built tree, depth limited to 15 by flattening) */
static void huff_lengths(const uint32_t *freq, int n, uint8_t *lens) {
  static uint32_t w[640]; static int16_t parent[640]; static int16_t heap[320];
  int hn = 0, nodes = n;
  for (int i = 0; i < n; i++) { lens[i] = 0; if (freq[i]) { w[i] = freq[i]; heap[hn++] = (int16_t)i; } }
  if (hn == 0) return;
  if (hn == 1) { lens[heap[0]] = 1; return; }
  /* simple O(n^2) selection of the two lightest: alphabets are small */
  while (hn > 1) {
    int a = 0, b = 1;
    if (w[heap[b]] < w[heap[a]]) { a = 1; b = 0; }
    for (int k = 2; k < hn; k++) {
      if (w[heap[k]] < w[heap[a]]) { b = a; a = k; } else if (w[heap[k]] < w[heap[b]]) b = k;
    }
    int na = heap[a], nb = heap[b];
    w[nodes] = w[na] + w[nb]; parent[na] = (int16_t)nodes; parent[nb] = (int16_t)nodes;
    int lo = a < b ? a : b, hi = a < b ? b : a;
    heap[lo] = (int16_t)nodes; heap[hi] = heap[--hn];
    nodes++;
  }
  parent[nodes - 1] = -1;
  int over = 0;
  for (int i = 0; i < n; i++) {
    if (!freq[i]) continue;
    int d = 0; for (int p = parent[i]; p >= 0; p = parent[p]) d++;
    if (d > 15) { d = 15; over = 1; }
    lens[i] = (uint8_t)d;
  }
  if (over) { /* repair the Kraft sum: lengthen the shortest codes until it fits */
    for (;;) {
      uint32_t kraft = 0;
      for (int i = 0; i < n; i++) if (lens[i]) kraft += 1u << (15 - lens[i]);
      if (kraft <= (1u << 15)) break;
      int s = -1;
      for (int i = 0; i < n; i++) if (lens[i] && lens[i] < 15 && (s < 0 || lens[i] > lens[s])) s = i;
      lens[s]++;
    }
  }
}

static void canon_codes(const uint8_t *lens, int n, uint16_t *codes) {
  uint16_t count[16] = {0}, next[16];
  for (int i = 0; i < n; i++) count[lens[i]]++;
  count[0] = 0; uint16_t code = 0;
  for (int b = 1; b < 16; b++) { code = (uint16_t)((code + count[b - 1]) << 1); next[b] = code; }
  for (int i = 0; i < n; i++) if (lens[i]) {
    uint16_t c = next[lens[i]]++, r = 0;
    for (int k = 0; k < lens[i]; k++) { r = (uint16_t)(r << 1 | (c & 1)); c >>= 1; }
    codes[i] = r; /* bit-reversed: deflate sends codes MSB-first into an LSB-first stream */
  }
}

/* ---- bit writer / reader */
typedef struct { uint8_t *p; size_t n; uint64_t acc; int bits; } bw_t;
static void putbits(bw_t *w, uint32_t v, int n) {
  w->acc |= (uint64_t)v << w->bits; w->bits += n;
  while (w->bits >= 8) { w->p[w->n++] = (uint8_t)w->acc; w->acc >>= 8; w->bits -= 8; }
}
typedef struct { const uint8_t *p; size_t n, pos; uint32_t acc; int bits; } br_t;
static int getbit(br_t *r) {
  if (r->bits == 0) { r->acc = r->pos < r->n ? r->p[r->pos] : 0; r->pos++; r->bits = 8; }
  int b = (int)(r->acc & 1); r->acc >>= 1; r->bits--; return b;
}
static uint32_t getbits(br_t *r, int n) { uint32_t v = 0; for (int k = 0; k < n; k++) v |= (uint32_t)getbit(r) << k; return v; }

/* puff-style decoding tables */
typedef struct { int16_t count[16]; int16_t symbol[288]; } huff_t;
static void build_decoder(huff_t *h, const uint8_t *lens, int n) {
  int16_t offs[16];
  for (int b = 0; b < 16; b++) h->count[b] = 0;
  for (int s = 0; s < n; s++) h->count[lens[s]]++;
  offs[1] = 0;
  for (int b = 1; b < 15; b++) offs[b + 1] = (int16_t)(offs[b] + h->count[b]);
  for (int s = 0; s < n; s++) if (lens[s]) h->symbol[offs[lens[s]]++] = (int16_t)s;
}
static int decode(br_t *r, const huff_t *h) {
  int code = 0, first = 0, index = 0;
  for (int len = 1; len < 16; len++) {
    code |= getbit(r);
    int count = h->count[len];
    if (code - count < first) return h->symbol[index + (code - first)];
    index += count; first += count; first <<= 1; code <<= 1;
  }
  return -1;
}

static tok_t toks[65536 + 16];
static size_t compress_block(const uint8_t *in, size_t n, uint8_t *out, int chain) {
  size_t nt = lz_parse(in, n, toks, chain);
  uint32_t lf[286] = {0}, df[30] = {0};
  for (size_t k = 0; k < nt; k++) {
    if (toks[k].len) { lf[257 + len_sym[toks[k].len]]++; df[dist_code(toks[k].dist)]++; }
    else lf[toks[k].lit]++;
  }
  lf[256] = 1;
  uint8_t ll[286], dl[30]; uint16_t lc[286], dc[30];
  huff_lengths(lf, 286, ll); huff_lengths(df, 30, dl);
  canon_codes(ll, 286, lc); canon_codes(dl, 30, dc);
  bw_t w = {out, 0, 0, 0};
  for (int s = 0; s < 286; s++) putbits(&w, ll[s], 4);   /* header: code lengths, 4 bits each */
  for (int s = 0; s < 30; s++) putbits(&w, dl[s], 4);
  for (size_t k = 0; k < nt; k++) {
    if (toks[k].len) {
      int ls = len_sym[toks[k].len], ds = dist_code(toks[k].dist);
      putbits(&w, lc[257 + ls], ll[257 + ls]);
      putbits(&w, (uint32_t)(toks[k].len - len_base[ls]), len_extra[ls]);
      putbits(&w, dc[ds], dl[ds]);
      putbits(&w, (uint32_t)(toks[k].dist - dist_base[ds]), dist_extra[ds]);
    } else putbits(&w, lc[toks[k].lit], ll[toks[k].lit]);
  }
  putbits(&w, lc[256], ll[256]);
  putbits(&w, 0, 7);
  return w.n;
}

static size_t decompress_block(const uint8_t *in, size_t n, uint8_t *out) {
  br_t r = {in, n, 0, 0, 0};
  uint8_t ll[286], dl[30];
  for (int s = 0; s < 286; s++) ll[s] = (uint8_t)getbits(&r, 4);
  for (int s = 0; s < 30; s++) dl[s] = (uint8_t)getbits(&r, 4);
  static huff_t lh, dh;
  build_decoder(&lh, ll, 286); build_decoder(&dh, dl, 30);
  size_t o = 0;
  for (;;) {
    int s = decode(&r, &lh);
    if (s < 0) return (size_t)-1;
    if (s < 256) out[o++] = (uint8_t)s;
    else if (s == 256) return o;
    else {
      s -= 257;
      size_t len = len_base[s] + getbits(&r, len_extra[s]);
      int ds = decode(&r, &dh);
      if (ds < 0) return (size_t)-1;
      size_t dist = dist_base[ds] + getbits(&r, dist_extra[ds]);
      if (dist > o) return (size_t)-1;
      for (size_t k = 0; k < len; k++, o++) out[o] = out[o - dist];
    }
  }
}

int main(int argc, char **argv) {
  size_t kib = argc > 1 ? (size_t)atoi(argv[1]) : 1024;
  int passes = argc > 2 ? atoi(argv[2]) : 2;
  size_t n = kib * 1024;
  uint8_t *in = malloc(n), *comp = malloc(65536 * 2 + 1024), *back = malloc(65536 + 300);
  init_tables();
  gen_text(in, n);
  uint64_t h = 14695981039346656037ULL;
  for (int pass = 0; pass < passes; pass++) {
    int chain = pass == 0 ? 8 : 64;
    size_t total = 0; int bad = 0;
    for (size_t off = 0; off < n; off += 65536) {
      size_t bn = n - off < 65536 ? n - off : 65536;
      size_t cn = compress_block(in + off, bn, comp, chain);
      total += cn;
      for (size_t k = 0; k < cn; k++) { h ^= comp[k]; h *= 1099511628211ULL; }
      size_t dn = decompress_block(comp, cn, back);
      if (dn != bn || memcmp(back, in + off, bn) != 0) bad++;
    }
    printf("lz pass %d (chain %d): %zu -> %zu bytes (%.2f%%), %d bad blocks, stream hash %016llx\n", pass, chain, n,
           total, 100.0 * (double)total / (double)n, bad, (unsigned long long)h);
  }
  return 0;
}
