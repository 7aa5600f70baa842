/* Quickbeam bench: a lexer that reports every token to JavaScript. A C-like source text (identifiers,
 * keywords, decimal/hex/float numbers, strings with escapes, char literals, line and block comments,
 * one- to three-character operators) is generated and tokenised by a hand-written scanner; each token is
 * handed to the host as it is found: one env.putchar call (a JS function) with a byte naming the token's
 * kind. The call per token is the point: this program measures wasm -> JS calls as much as the scanner.
 * argv[1] = source size in KiB, argv[2] = passes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>


static uint32_t rng = 77777u;
static uint32_t xr(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static const char *kw[] = {"int", "return", "if", "else", "while", "for", "static", "const", "struct", "void"};
static const char *ids[] = {"count", "x", "buffer_len", "node", "next", "i", "j", "result", "tmp", "value_of"};
static const char *ops[] = {"+", "-", "*", "/", "=", "==", "!=", "<=", ">>=", "&&", "||", "->", "++", "(", ")",
                            "{", "}", ";", ",", "[", "]", "<<", "%", "!"};

static size_t gen(char *p, size_t n) {
  size_t i = 0;
  while (i + 64 < n) {
    uint32_t r = xr();
    switch (r % 11) {
    case 0: case 1: i += (size_t)sprintf(p + i, "%s ", kw[(r >> 4) % 10]); break;
    case 2: case 3: case 4: i += (size_t)sprintf(p + i, "%s%u", ids[(r >> 4) % 10], (r >> 12) % 4); break;
    case 5: i += (size_t)sprintf(p + i, (r & 16) ? "0x%x" : "%u", (r >> 8) % 100000); break;
    case 6: i += (size_t)sprintf(p + i, "%u.%ue-%u", (r >> 8) % 1000, (r >> 18) % 100, (r >> 28) % 9); break;
    case 7: i += (size_t)sprintf(p + i, "\"str\\\"%u\\n\" ", (r >> 8) % 999); break;
    case 8: i += (size_t)sprintf(p + i, (r & 32) ? "/* note %u */\n" : "// line %u\n", (r >> 8) % 77); break;
    case 9: i += (size_t)sprintf(p + i, "'%c'", 'a' + (int)((r >> 8) % 26)); break;
    default: i += (size_t)sprintf(p + i, " %s ", ops[(r >> 4) % 24]); break;
    }
  }
  p[i] = 0;
  return i;
}

static int is_id(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9'); }
static int keyword(const char *s, size_t n) {
  for (int k = 0; k < 10; k++) if (strlen(kw[k]) == n && !memcmp(kw[k], s, n)) return 1;
  return 0;
}

static long lex(const char *s, long counts[8]) {
  long tokens = 0;
  for (;;) {
    char c = *s;
    if (!c) break;
    if (c == ' ' || c == '\n' || c == '\t') { s++; continue; }
    int kind;
    if (c == '/' && s[1] == '/') { while (*s && *s != '\n') s++; continue; }
    if (c == '/' && s[1] == '*') { s += 2; while (*s && !(s[0] == '*' && s[1] == '/')) s++; if (*s) s += 2; continue; }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
      const char *b = s; while (is_id(*s)) s++;
      kind = keyword(b, (size_t)(s - b)) ? 0 : 1;
    } else if (c >= '0' && c <= '9') {
      if (c == '0' && (s[1] == 'x' || s[1] == 'X')) { s += 2; while ((*s >= '0' && *s <= '9') || ((*s | 32) >= 'a' && (*s | 32) <= 'f')) s++; kind = 2; }
      else {
        kind = 2;
        while (*s >= '0' && *s <= '9') s++;
        if (*s == '.') { kind = 3; s++; while (*s >= '0' && *s <= '9') s++; }
        if (*s == 'e' || *s == 'E') { kind = 3; s++; if (*s == '-' || *s == '+') s++; while (*s >= '0' && *s <= '9') s++; }
      }
    } else if (c == '"') {
      s++; while (*s && *s != '"') { if (*s == '\\' && s[1]) s++; s++; }
      if (*s) s++;
      kind = 4;
    } else if (c == '\'') {
      s++; if (*s == '\\') s++; if (*s) s++; if (*s == '\'') s++;
      kind = 5;
    } else {
      static const char *three[] = {">>=", "<<="}, *two[] = {"==", "!=", "<=", ">=", "&&", "||", "->", "++", "--", "<<", ">>"};
      int len = 1;
      for (int k = 0; k < 2 && len == 1; k++) if (!strncmp(s, three[k], 3)) len = 3;
      for (int k = 0; k < 11 && len == 1; k++) if (s[0] == two[k][0] && s[1] == two[k][1]) len = 2;
      s += len;
      kind = 5 + len;
    }
    counts[kind]++;
    tokens++;
    putchar('A' + kind); /* one env.putchar call into JS (and the output checksum) */
  }
  return tokens;
}

int main(int argc, char **argv) {
  size_t kib = argc > 1 ? (size_t)atoi(argv[1]) : 1024;
  int passes = argc > 2 ? atoi(argv[2]) : 2;
  char *src = malloc(kib * 1024 + 1);
  size_t n = gen(src, kib * 1024);
  long total = 0, counts[8] = {0};
  for (int p = 0; p < passes; p++) total += lex(src, counts);
  printf("\ntokens: %zu bytes x %d passes: %ld tokens (kw %ld id %ld int %ld float %ld str %ld chr/op1 %ld op2 %ld op3 %ld)\n",
         n, passes, total, counts[0], counts[1], counts[2], counts[3], counts[4], counts[5], counts[6], counts[7]);
  return 0;
}
