/* Quickbeam bench: a regular-expression engine. Patterns (literals, ., [classes], [^negated], ranges, *, +,
 * ?, |, groups, ^, $) are parsed by recursive descent into a program for a Thompson/Pike virtual machine
 * (CHAR, ANY, CLASS, SPLIT, JMP, MATCH, as in Russ Cox's "Regular Expression Matching: the Virtual Machine
 * Approach"), which is run breadth-first over each line of a generated log (unanchored search, thread lists
 * with generation marks), and the same patterns are also matched by a recursive backtracking matcher (the
 * style of Pike's matcher in "The Practice of Programming"). Both must agree on every line.
 * argv[1] = number of log lines, argv[2] = rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

enum { I_CHAR, I_ANY, I_CLASS, I_SPLIT, I_JMP, I_MATCH, I_BOL, I_EOL };
typedef struct { uint8_t op; uint8_t c; int16_t cls; int x, y; } inst_t;
typedef struct { inst_t code[512]; int n; uint8_t classes[32][32]; int ncls; } prog_t;

/* ---- parser: alt := seq ('|' seq)*, seq := rep*, rep := atom ('*'|'+'|'?')*, atom := c | . | [..] | (alt) */
static const char *src;
static prog_t *P;
static int emit(uint8_t op, int c, int x, int y) { inst_t *i = &P->code[P->n]; i->op = op; i->c = (uint8_t)c; i->cls = -1; i->x = x; i->y = y; return P->n++; }
static void parse_alt(void);
/* Insert an instruction at position at, shifting [at, n) up by one and fixing jump targets >= at. */
static void insert_at(int at, inst_t ins) {
  for (int k = P->n; k > at; k--) P->code[k] = P->code[k - 1];
  P->n++;
  for (int k = 0; k < P->n; k++) {
    if (k == at) continue;
    inst_t *i = &P->code[k];
    if (i->op == I_SPLIT || i->op == I_JMP) { if (i->x >= at) i->x++; if (i->op == I_SPLIT && i->y >= at) i->y++; }
  }
  P->code[at] = ins;
}
static void parse_atom(void) {
  char c = *src;
  if (c == '(') { src++; parse_alt(); if (*src == ')') src++; return; }
  if (c == '.') { src++; emit(I_ANY, 0, 0, 0); return; }
  if (c == '^') { src++; emit(I_BOL, 0, 0, 0); return; }
  if (c == '$') { src++; emit(I_EOL, 0, 0, 0); return; }
  if (c == '[') {
    src++;
    int neg = 0; if (*src == '^') { neg = 1; src++; }
    uint8_t *set = P->classes[P->ncls]; memset(set, 0, 32);
    while (*src && *src != ']') {
      uint8_t lo = (uint8_t)*src++, hi = lo;
      if (*src == '-' && src[1] && src[1] != ']') { src++; hi = (uint8_t)*src++; }
      for (int k = lo; k <= hi; k++) set[k >> 3] |= (uint8_t)(1 << (k & 7));
    }
    if (*src == ']') src++;
    if (neg) for (int k = 0; k < 32; k++) set[k] = (uint8_t)~set[k];
    int at = emit(I_CLASS, 0, 0, 0); P->code[at].cls = (int16_t)P->ncls++;
    return;
  }
  if (c == '\\' && src[1]) src++;
  src++; emit(I_CHAR, (uint8_t)*(src - 1), 0, 0);
}
static void parse_rep(void) {
  int start = P->n;
  parse_atom();
  while (*src == '*' || *src == '+' || *src == '?') {
    char q = *src++;
    if (q == '*') {            /* L1: split L2, L3; L2: e; jmp L1; L3: */
      inst_t s = {I_SPLIT, 0, -1, start + 1, 0}; insert_at(start, s);
      emit(I_JMP, 0, start, 0); P->code[start].y = P->n;
    } else if (q == '+') {     /* L1: e; split L1, L3; L3: */
      emit(I_SPLIT, 0, start, P->n + 1);
    } else {                   /* split L1, L2; L1: e; L2: */
      inst_t s = {I_SPLIT, 0, -1, start + 1, 0}; insert_at(start, s);
      P->code[start].y = P->n;
    }
  }
}
static void parse_seq(void) { while (*src && *src != '|' && *src != ')') parse_rep(); }
static void parse_alt(void) {
  int start = P->n;
  parse_seq();
  while (*src == '|') {        /* split L1, L2; L1: e1; jmp L3; L2: e2; L3: */
    src++;
    inst_t s = {I_SPLIT, 0, -1, start + 1, 0}; insert_at(start, s);
    int j = emit(I_JMP, 0, 0, 0);
    P->code[start].y = P->n;
    parse_seq();
    P->code[j].x = P->n;
  }
}
static void compile(prog_t *p, const char *re) { P = p; p->n = 0; p->ncls = 0; src = re; parse_alt(); emit(I_MATCH, 0, 0, 0); }

/* ---- Pike VM (no captures): breadth-first over the input, one thread per pc */
static int clist[512], nlist[512];
static uint32_t mark[512], gen;
static void addthread(const prog_t *p, int *list, int *n, int pc, const uint8_t *s, const uint8_t *bol, const uint8_t *eol) {
  if (mark[pc] == gen) return;
  mark[pc] = gen;
  const inst_t *i = &p->code[pc];
  switch (i->op) {
  case I_JMP: addthread(p, list, n, i->x, s, bol, eol); return;
  case I_SPLIT: addthread(p, list, n, i->x, s, bol, eol); addthread(p, list, n, i->y, s, bol, eol); return;
  case I_BOL: if (s == bol) addthread(p, list, n, pc + 1, s, bol, eol); return;
  case I_EOL: if (s == eol) addthread(p, list, n, pc + 1, s, bol, eol); return;
  default: list[(*n)++] = pc;
  }
}
static int pike_search(const prog_t *p, const uint8_t *s, const uint8_t *e) {
  int cn = 0, nn = 0;
  gen++;
  for (const uint8_t *sp = s;; sp++) {
    addthread(p, clist, &cn, 0, sp, s, e);   /* unanchored: a new thread at every position */
    if (cn == 0 && sp == e) return 0;
    gen++;
    nn = 0;
    for (int k = 0; k < cn; k++) {
      const inst_t *i = &p->code[clist[k]];
      switch (i->op) {
      case I_MATCH: return 1;
      case I_CHAR: if (sp < e && *sp == i->c) addthread(p, nlist, &nn, clist[k] + 1, sp + 1, s, e); break;
      case I_ANY: if (sp < e) addthread(p, nlist, &nn, clist[k] + 1, sp + 1, s, e); break;
      case I_CLASS: if (sp < e && (p->classes[i->cls][*sp >> 3] >> (*sp & 7) & 1)) addthread(p, nlist, &nn, clist[k] + 1, sp + 1, s, e); break;
      }
    }
    if (sp == e) return 0;
    memcpy(clist, nlist, (size_t)nn * sizeof(int)); cn = nn;
  }
}

/* ---- recursive backtracking over the same program */
static int bt(const prog_t *p, int pc, const uint8_t *sp, const uint8_t *bol, const uint8_t *eol, int depth) {
  for (;;) {
    const inst_t *i = &p->code[pc];
    switch (i->op) {
    case I_MATCH: return 1;
    case I_CHAR: if (sp == eol || *sp != i->c) return 0; pc++; sp++; break;
    case I_ANY: if (sp == eol) return 0; pc++; sp++; break;
    case I_CLASS: if (sp == eol || !(p->classes[i->cls][*sp >> 3] >> (*sp & 7) & 1)) return 0; pc++; sp++; break;
    case I_BOL: if (sp != bol) return 0; pc++; break;
    case I_EOL: if (sp != eol) return 0; pc++; break;
    case I_JMP: pc = i->x; break;
    case I_SPLIT:
      if (depth > 4000) return 0;
      if (bt(p, i->x, sp, bol, eol, depth + 1)) return 1;
      pc = i->y; break;
    }
  }
}
static int bt_search(const prog_t *p, const uint8_t *s, const uint8_t *e) {
  for (const uint8_t *sp = s; sp <= e; sp++) if (bt(p, 0, sp, s, e, 0)) return 1;
  return 0;
}

static uint32_t rng = 88172645u;
static uint32_t xr(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static const char *levels[] = {"INFO", "WARN", "ERROR", "DEBUG"};
static const char *svcs[] = {"auth", "db", "cache", "api", "worker", "scheduler"};
static const char *msgs[] = {"request served", "connection reset by peer", "timeout after", "user login ok",
  "disk usage at", "retrying job", "cache miss for key", "slow query took"};

int main(int argc, char **argv) {
  int lines = argc > 1 ? atoi(argv[1]) : 20000;
  int rounds = argc > 2 ? atoi(argv[2]) : 2;
  char *text = malloc((size_t)lines * 96);
  int *start = malloc(sizeof(int) * (size_t)(lines + 1));
  int pos = 0;
  for (int l = 0; l < lines; l++) {
    start[l] = pos;
    uint32_t r = xr();
    pos += sprintf(text + pos, "2026-12-%02u %02u:%02u:%02u [%s] %s: %s %u ms id=%x%s", 1 + r % 28, r >> 8 & 15,
                   (r >> 12) % 60, (r >> 18) % 60, levels[(r >> 24) & 3], svcs[(r >> 26) % 6], msgs[xr() & 7],
                   xr() % 5000, xr(), (r & 0x300) == 0 ? " user=alice@example.com" : "");
  }
  start[lines] = pos;
  static const char *pats[] = {
    "ERROR", "\\[(WARN|ERROR)\\] (db|cache)", "timeout after [0-9]+ ms", "^2026-12-0[1-9] ",
    "[a-z]+@[a-z]+\\.(com|org)", "id=[0-9a-f]*ff", "(a|b|c|d|e)+(x|y|z)", "took [1-4][0-9][0-9][0-9] ms$",
    "us.r=.*com$", "(re)*try(ing)?",
  };
  int np = (int)(sizeof pats / sizeof *pats);
  static prog_t progs[16];
  for (int k = 0; k < np; k++) compile(&progs[k], pats[k]);
  long total = 0, disagree = 0;
  for (int round = 0; round < rounds; round++) {
    for (int k = 0; k < np; k++) {
      long hits = 0;
      for (int l = 0; l < lines; l++) {
        const uint8_t *s = (const uint8_t *)text + start[l], *e = (const uint8_t *)text + start[l + 1];
        int a = pike_search(&progs[k], s, e);
        int b = bt_search(&progs[k], s, e);
        if (a != b) disagree++;
        hits += a;
      }
      if (round == 0) printf("regex /%s/ (%d instructions): %ld of %d lines\n", pats[k], progs[k].n, hits, lines);
      total += hits;
    }
  }
  printf("regex total %ld, engines disagree on %ld\n", total, disagree);
  return 0;
}
