/* Quickbeam bench: string processing. Generates a text of pseudo-words (syllables drawn with a skewed
 * distribution, random capitalisation and punctuation), then tokenises it, lower-cases each word and
 * counts words in an open-addressing hash table (FNV-1a keys, byte-wise compares), sorts the distinct
 * words by count and then alphabetically, and finally counts the occurrences of a few patterns with a
 * naive search. argv[1] = number of words to generate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static const char *SYL[] = {"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "an", "el", "or", "un",
                            "ber", "dan", "fil", "gor", "hem", "jas", "kin", "lum", "mor", "nix", "pel", "quo",
                            "ras", "sil", "tam", "ven", "wex", "yor", "zul", "the", "ing", "ion", "est", "ous"};
#define NSYL (int)(sizeof SYL / sizeof SYL[0])

static uint64_t st;
static uint32_t rnd(void) { st = st * 6364136223846793005ull + 1442695040888963407ull; return (uint32_t)(st >> 33); }
static int skewed(int n) { uint32_t a = rnd() % (uint32_t)n, b = rnd() % (uint32_t)n; return (int)(a < b ? a : b); }

typedef struct { const char *word; uint32_t len, count; uint64_t hash; } entry_t;
static entry_t *table;
static uint32_t cap, used;

static uint64_t fnv(const char *s, uint32_t n) {
  uint64_t h = 1469598103934665603ull;
  for (uint32_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ull; }
  return h;
}

static void grow(void);
static void add_word(const char *w, uint32_t n) {
  uint64_t h = fnv(w, n);
  uint32_t i = (uint32_t)h & (cap - 1);
  for (;;) {
    entry_t *e = &table[i];
    if (!e->word) {
      e->word = w; e->len = n; e->count = 1; e->hash = h;
      if (++used * 4 > cap * 3) grow();
      return;
    }
    if (e->hash == h && e->len == n && memcmp(e->word, w, n) == 0) { e->count++; return; }
    i = (i + 1) & (cap - 1);
  }
}
static void grow(void) {
  entry_t *old = table; uint32_t oldcap = cap;
  cap *= 2; table = calloc(cap, sizeof(entry_t));
  for (uint32_t k = 0; k < oldcap; k++) {
    if (!old[k].word) continue;
    uint32_t i = (uint32_t)old[k].hash & (cap - 1);
    while (table[i].word) i = (i + 1) & (cap - 1);
    table[i] = old[k];
  }
  free(old);
}

static int before(const entry_t *a, const entry_t *b) {   /* higher count first, then alphabetical */
  if (a->count != b->count) return a->count > b->count;
  uint32_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->word, b->word, n);
  return c ? c < 0 : a->len < b->len;
}
static void sort_entries(entry_t *a, entry_t *tmp, long n) {
  if (n < 2) return;
  long m = n / 2;
  sort_entries(a, tmp, m); sort_entries(a + m, tmp, n - m);
  long i = 0, j = m, k = 0;
  while (i < m && j < n) tmp[k++] = before(&a[j], &a[i]) ? a[j++] : a[i++];
  while (i < m) tmp[k++] = a[i++];
  while (j < n) tmp[k++] = a[j++];
  memcpy(a, tmp, sizeof(entry_t) * (size_t)n);
}

static long count_pattern(const char *text, long n, const char *pat) {
  long m = (long)strlen(pat), c = 0;
  for (long i = 0; i + m <= n; i++) {
    if (text[i] != pat[0]) continue;
    long k = 1;
    while (k < m && text[i + k] == pat[k]) k++;
    c += k == m;
  }
  return c;
}

int main(int argc, char **argv) {
  long nwords = argc > 1 ? atol(argv[1]) : 200000;
  st = 2024;
  char *text = malloc((size_t)nwords * 16 + 16);
  long len = 0;
  for (long w = 0; w < nwords; w++) {
    int nsyl = 1 + skewed(4);
    int cap0 = rnd() % 11 == 0;
    for (int s = 0; s < nsyl; s++) {
      const char *p = SYL[skewed(NSYL)];
      while (*p) text[len++] = *p++;
    }
    if (cap0) { long start = len; while (start > 0 && text[start - 1] >= 'a') start--; text[start] -= 32; }
    uint32_t r = rnd() % 20;
    if (r == 0) text[len++] = '.';
    else if (r == 1) text[len++] = ',';
    text[len++] = (r == 2) ? '\n' : ' ';
  }
  text[len] = 0;
  printf("wordfreq: %ld words, %ld bytes of text\n", nwords, len);

  /* tokenise into a lower-cased copy (words are slices of it) */
  char *low = malloc((size_t)len + 1);
  for (long i = 0; i < len; i++) { char c = text[i]; low[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
  cap = 1024; used = 0; table = calloc(cap, sizeof(entry_t));
  long tokens = 0;
  for (long i = 0; i < len;) {
    while (i < len && !(low[i] >= 'a' && low[i] <= 'z')) i++;
    long s = i;
    while (i < len && low[i] >= 'a' && low[i] <= 'z') i++;
    if (i > s) { add_word(low + s, (uint32_t)(i - s)); tokens++; }
  }
  printf("%ld tokens, %u distinct words, table capacity %u\n", tokens, used, cap);

  entry_t *list = malloc(sizeof(entry_t) * used), *tmp = malloc(sizeof(entry_t) * used);
  long k = 0;
  for (uint32_t i = 0; i < cap; i++) if (table[i].word) list[k++] = table[i];
  sort_entries(list, tmp, k);
  for (int i = 0; i < 8 && i < k; i++) printf("  %-12.*s %u\n", (int)list[i].len, list[i].word, list[i].count);
  long singles = 0, maxlen = 0;
  for (long i = 0; i < k; i++) { singles += list[i].count == 1; if ((long)list[i].len > maxlen) maxlen = list[i].len; }
  printf("%ld words occur once; longest word has %ld letters; last: %.*s\n", singles, maxlen, (int)list[k - 1].len,
         list[k - 1].word);

  static const char *pats[] = {"the", "kaka", "ing ", "ion.", "Zul"};
  for (int i = 0; i < 5; i++) printf("\"%s\": %ld\n", pats[i], count_pattern(text, len, pats[i]));
  free(list); free(tmp); free(table); free(low); free(text);
  return 0;
}
