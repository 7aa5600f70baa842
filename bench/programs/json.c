/* Quickbeam bench: a JSON parser and serializer. A document of nested objects and arrays (records with
 * strings with escapes, integers, decimals with exponents, booleans, null) is generated as text, parsed by a
 * recursive-descent parser into a tree of malloc'd nodes (objects keep their members in an insertion-ordered
 * array, strings are unescaped including \uXXXX to UTF-8, numbers are parsed digit by digit into int64 or
 * double), queried (sum of fields by key lookup), serialized back to text and re-parsed; the two texts must
 * be identical after the first round trip. argv[1] = records, argv[2] = rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

enum { J_NULL, J_FALSE, J_TRUE, J_INT, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct node node;
struct node {
  int type, len, cap;
  union { int64_t i; double d; char *s; } v;
  node **items;   /* array elements or object values */
  char **keys;    /* object keys */
};

typedef struct { char *p; size_t n, cap; } sbuf;
static void sb_put(sbuf *b, char c) {
  if (b->n == b->cap) { b->cap = b->cap ? b->cap * 2 : 1024; b->p = realloc(b->p, b->cap); }
  b->p[b->n++] = c;
}
static void sb_puts(sbuf *b, const char *s) { while (*s) sb_put(b, *s++); }
static void sb_int(sbuf *b, int64_t v) {
  char t[24]; int k = 0; uint64_t u = v < 0 ? (uint64_t)-v : (uint64_t)v;
  do { t[k++] = (char)('0' + u % 10); u /= 10; } while (u);
  if (v < 0) sb_put(b, '-');
  while (k) sb_put(b, t[--k]);
}

/* ---- parser */
static const char *js;
static int perr;
static void ws(void) { while (*js == ' ' || *js == '\n' || *js == '\t' || *js == '\r') js++; }
static node *mk(int type) { node *n = malloc(sizeof *n); n->type = type; n->len = n->cap = 0; n->items = 0; n->keys = 0; n->v.i = 0; return n; }
static void push(node *n, char *key, node *val) {
  if (n->len == n->cap) {
    n->cap = n->cap ? n->cap * 2 : 4;
    n->items = realloc(n->items, sizeof(node *) * (size_t)n->cap);
    if (n->type == J_OBJ) n->keys = realloc(n->keys, sizeof(char *) * (size_t)n->cap);
  }
  if (key) n->keys[n->len] = key;
  n->items[n->len++] = val;
}
static int hexv(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }
static char *parse_string(void) {
  sbuf b = {0, 0, 0};
  js++;
  while (*js && *js != '"') {
    char c = *js++;
    if (c != '\\') { sb_put(&b, c); continue; }
    c = *js++;
    switch (c) {
    case 'n': sb_put(&b, '\n'); break;
    case 't': sb_put(&b, '\t'); break;
    case 'r': sb_put(&b, '\r'); break;
    case 'b': sb_put(&b, '\b'); break;
    case 'f': sb_put(&b, '\f'); break;
    case 'u': {
      unsigned cp = (unsigned)(hexv(js[0]) << 12 | hexv(js[1]) << 8 | hexv(js[2]) << 4 | hexv(js[3])); js += 4;
      if (cp < 0x80) sb_put(&b, (char)cp);
      else if (cp < 0x800) { sb_put(&b, (char)(0xc0 | cp >> 6)); sb_put(&b, (char)(0x80 | (cp & 63))); }
      else { sb_put(&b, (char)(0xe0 | cp >> 12)); sb_put(&b, (char)(0x80 | (cp >> 6 & 63))); sb_put(&b, (char)(0x80 | (cp & 63))); }
      break;
    }
    default: sb_put(&b, c);
    }
  }
  if (*js == '"') js++; else perr = 1;
  sb_put(&b, 0);
  return b.p;
}
static node *parse_value(void);
static node *parse_number(void) {
  int neg = 0; if (*js == '-') { neg = 1; js++; }
  uint64_t m = 0; int digits = 0, frac = 0, isf = 0, ex = 0;
  while (*js >= '0' && *js <= '9') { if (digits < 18) { m = m * 10 + (uint64_t)(*js - '0'); digits++; } else ex++; js++; }
  if (*js == '.') { isf = 1; js++; while (*js >= '0' && *js <= '9') { if (digits < 18) { m = m * 10 + (uint64_t)(*js - '0'); digits++; frac++; } js++; } }
  if (*js == 'e' || *js == 'E') {
    isf = 1; js++; int en = 0, eneg = 0;
    if (*js == '-') { eneg = 1; js++; } else if (*js == '+') js++;
    while (*js >= '0' && *js <= '9') en = en * 10 + (*js++ - '0');
    ex += eneg ? -en : en;
  }
  ex -= frac;
  if (!isf && ex == 0) { node *n = mk(J_INT); n->v.i = neg ? -(int64_t)m : (int64_t)m; return n; }
  double d = (double)m, p = 1;
  int ae = ex < 0 ? -ex : ex;
  for (double b = 10; ae; ae >>= 1, b *= b) if (ae & 1) p *= b;
  d = ex < 0 ? d / p : d * p;
  node *n = mk(J_NUM); n->v.d = neg ? -d : d; return n;
}
static node *parse_value(void) {
  ws();
  char c = *js;
  if (c == '{') {
    js++; node *o = mk(J_OBJ); ws();
    if (*js == '}') { js++; return o; }
    for (;;) {
      ws(); if (*js != '"') { perr = 1; return o; }
      char *k = parse_string(); ws();
      if (*js != ':') { perr = 1; return o; }
      js++;
      push(o, k, parse_value()); ws();
      if (*js == ',') { js++; continue; }
      if (*js == '}') { js++; return o; }
      perr = 1; return o;
    }
  }
  if (c == '[') {
    js++; node *a = mk(J_ARR); ws();
    if (*js == ']') { js++; return a; }
    for (;;) {
      push(a, 0, parse_value()); ws();
      if (*js == ',') { js++; continue; }
      if (*js == ']') { js++; return a; }
      perr = 1; return a;
    }
  }
  if (c == '"') { node *s = mk(J_STR); s->v.s = parse_string(); return s; }
  if (c == 't' && !strncmp(js, "true", 4)) { js += 4; return mk(J_TRUE); }
  if (c == 'f' && !strncmp(js, "false", 5)) { js += 5; return mk(J_FALSE); }
  if (c == 'n' && !strncmp(js, "null", 4)) { js += 4; return mk(J_NULL); }
  if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
  perr = 1; js++;
  return mk(J_NULL);
}

/* ---- serializer (numbers: %.17g, so the text round-trips to the same doubles in this parser) */
static void dump_str(sbuf *b, const char *s) {
  sb_put(b, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') { sb_put(b, '\\'); sb_put(b, (char)c); }
    else if (c == '\n') sb_puts(b, "\\n");
    else if (c == '\t') sb_puts(b, "\\t");
    else if (c < 32) { static const char hx[] = "0123456789abcdef"; sb_puts(b, "\\u00"); sb_put(b, hx[c >> 4]); sb_put(b, hx[c & 15]); }
    else sb_put(b, (char)c);
  }
  sb_put(b, '"');
}
static void dump(sbuf *b, const node *n) {
  switch (n->type) {
  case J_NULL: sb_puts(b, "null"); break;
  case J_TRUE: sb_puts(b, "true"); break;
  case J_FALSE: sb_puts(b, "false"); break;
  case J_INT: sb_int(b, n->v.i); break;
  case J_NUM: { /* fixed 6 decimals, integer arithmetic: exact and engine-independent */
    double d = n->v.d; if (d < 0) { sb_put(b, '-'); d = -d; }
    int64_t scaled = (int64_t)(d * 1e6 + 0.5);
    sb_int(b, scaled / 1000000); sb_put(b, '.');
    int64_t f = scaled % 1000000; char t[7]; for (int k = 5; k >= 0; k--) { t[k] = (char)('0' + f % 10); f /= 10; } t[6] = 0;
    sb_puts(b, t); break;
  }
  case J_STR: dump_str(b, n->v.s); break;
  case J_ARR: sb_put(b, '['); for (int k = 0; k < n->len; k++) { if (k) sb_put(b, ','); dump(b, n->items[k]); } sb_put(b, ']'); break;
  case J_OBJ:
    sb_put(b, '{');
    for (int k = 0; k < n->len; k++) { if (k) sb_put(b, ','); dump_str(b, n->keys[k]); sb_put(b, ':'); dump(b, n->items[k]); }
    sb_put(b, '}'); break;
  }
}
static void release(node *n) {
  for (int k = 0; k < n->len; k++) { release(n->items[k]); if (n->type == J_OBJ) free(n->keys[k]); }
  free(n->items); free(n->keys);
  if (n->type == J_STR) free(n->v.s);
  free(n);
}
static node *get(const node *o, const char *key) {
  for (int k = 0; k < o->len; k++) if (!strcmp(o->keys[k], key)) return o->items[k];
  return 0;
}

/* ---- document generator */
static uint32_t rng = 1234567u;
static uint32_t xr(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static const char *names[] = {"Ada", "Grace", "Alan", "Barbara", "Edsger", "Donald", "Frances", "Ken",
  "Dennis", "Niklaus", "John", "Radia", "Leslie", "Tony", "Margaret", "Robin"};
static void gen(sbuf *b, int records) {
  sb_puts(b, "{\"version\": 3, \"generated\": true, \"records\": [\n");
  for (int r = 0; r < records; r++) {
    uint32_t x = xr();
    if (r) sb_puts(b, ",\n");
    sb_puts(b, "  {\"id\": "); sb_int(b, r);
    sb_puts(b, ", \"name\": \""); sb_puts(b, names[x & 15]); sb_puts(b, " \\\"the\\\" "); sb_puts(b, names[(x >> 4) & 15]);
    if (x & 0x100) sb_puts(b, " \\u00e9\\u4e2d\\ttab");
    sb_puts(b, "\", \"score\": "); sb_int(b, (int64_t)(x >> 12 & 1023) - 300); sb_put(b, '.'); sb_int(b, x % 10); sb_int(b, (x >> 3) % 10);
    sb_puts(b, ", \"ratio\": "); sb_int(b, x % 97); sb_puts(b, ".5e-"); sb_int(b, 1 + (x >> 9) % 3);
    sb_puts(b, ", \"active\": "); sb_puts(b, (x & 0x200) ? "true" : "false");
    sb_puts(b, ", \"parent\": "); if (r % 7) sb_int(b, r / 7); else sb_puts(b, "null");
    sb_puts(b, ", \"tags\": [");
    int nt = 1 + (int)(x >> 20) % 5;
    for (int t = 0; t < nt; t++) { if (t) sb_puts(b, ", "); sb_put(b, '"'); sb_puts(b, names[(x >> (2 * t)) & 15]); sb_put(b, '"'); }
    sb_puts(b, "], \"pos\": {\"x\": "); sb_int(b, (int64_t)(xr() % 20001) - 10000);
    sb_puts(b, ", \"y\": "); sb_int(b, (int64_t)(xr() % 20001) - 10000);
    sb_puts(b, "}, \"history\": [[1, 2], [3, [4, [5, {\"deep\": "); sb_int(b, x & 255); sb_puts(b, "}]]]]}");
  }
  sb_puts(b, "\n]}");
  sb_put(b, 0);
}

int main(int argc, char **argv) {
  int records = argc > 1 ? atoi(argv[1]) : 20000;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  sbuf doc = {0, 0, 0};
  gen(&doc, records);
  printf("json: %zu bytes, %d records\n", doc.n - 1, records);
  sbuf prev = {0, 0, 0};
  uint64_t h = 14695981039346656037ULL;
  for (int round = 0; round < rounds; round++) {
    js = round == 0 ? doc.p : prev.p; perr = 0;
    node *root = parse_value();
    node *recs = get(root, "records");
    double score = 0, ratio = 0; int64_t pos = 0, deep = 0; int active = 0, tags = 0, roots = 0;
    for (int k = 0; k < recs->len; k++) {
      node *r = recs->items[k];
      score += get(r, "score")->v.d; ratio += get(r, "ratio")->v.d;
      active += get(r, "active")->type == J_TRUE; tags += get(r, "tags")->len;
      roots += get(r, "parent")->type == J_NULL;
      node *p = get(r, "pos"); pos += get(p, "x")->v.i * 3 + get(p, "y")->v.i;
      node *hist = get(r, "history");
      deep += get(hist->items[1]->items[1]->items[1]->items[1], "deep")->v.i;
      h ^= (uint64_t)strlen(get(r, "name")->v.s); h *= 1099511628211ULL;
    }
    sbuf out = {0, 0, 0};
    dump(&out, root); sb_put(&out, 0);
    for (size_t k = 0; k < out.n; k++) { h ^= (uint8_t)out.p[k]; h *= 1099511628211ULL; }
    int same = round > 0 && prev.n == out.n && !memcmp(prev.p, out.p, out.n);
    printf("round %d: err=%d score=%.2f ratio=%.4f pos=%lld deep=%lld active=%d tags=%d roots=%d out=%zu same=%d\n",
           round, perr, score, ratio, (long long)pos, (long long)deep, active, tags, roots, out.n - 1, same);
    release(root);
    free(prev.p); prev = out;
  }
  printf("json hash %016llx\n", (unsigned long long)h);
  return 0;
}
