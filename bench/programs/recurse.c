/* Quickbeam bench: recursion. Deep and wide call trees with little work per call, where the cost is the
 * call sequence itself (argument passing, frames, spills around calls): the binary-trees benchmark of the
 * Computer Language Benchmarks Game (allocate, check and free complete trees), Takeuchi's tak, Ackermann,
 * an N-queens counter with bitmasks, a recursive-descent parser/evaluator over generated arithmetic
 * expressions, and a memo-free recursive partition count. argv[1] = scale (tree depth; the rest follow). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

typedef struct tnode { struct tnode *l, *r; } tnode;
static tnode *bottom_up(int d) {
  tnode *t = malloc(sizeof *t);
  if (d > 0) { t->l = bottom_up(d - 1); t->r = bottom_up(d - 1); } else t->l = t->r = 0;
  return t;
}
static int check(const tnode *t) { return t->l ? 1 + check(t->l) + check(t->r) : 1; }
static void release(tnode *t) { if (t->l) { release(t->l); release(t->r); } free(t); }

static int tak(int x, int y, int z) { return y < x ? tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y)) : z; }
static int ack(int m, int n) { return m == 0 ? n + 1 : n == 0 ? ack(m - 1, 1) : ack(m - 1, ack(m, n - 1)); }
static int queens(int n, uint32_t cols, uint32_t d1, uint32_t d2) {
  uint32_t all = (1u << n) - 1;
  if (cols == all) return 1;
  int count = 0;
  for (uint32_t free = all & ~(cols | d1 | d2); free; free &= free - 1) {
    uint32_t bit = free & -free;
    count += queens(n, cols | bit, (d1 | bit) << 1, (d2 | bit) >> 1);
  }
  return count;
}
static int64_t partitions(int n, int max) {
  if (n == 0) return 1;
  int64_t s = 0;
  for (int k = max < n ? max : n; k >= 1; k--) s += partitions(n - k, k);
  return s;
}

/* expressions: expr := term (('+'|'-') term)*, term := factor (('*'|'/'|'%') factor)*, factor := num | '(' expr ')' | '-' factor */
static uint32_t rng = 521288629u;
static uint32_t xr(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static char *gp;
static void gen_expr(int depth) {
  uint32_t r = xr();
  if (depth == 0 || r % 5 == 0) { int v = (int)(r >> 8) % 1000 + 1; gp += sprintf(gp, "%d", v); return; }
  if (r % 7 == 1) { *gp++ = '-'; gen_expr(depth - 1); return; }
  *gp++ = '(';
  gen_expr(depth - 1);
  *gp++ = "+-*/%+-"[(r >> 4) % 7];
  gen_expr(depth - 1);
  *gp++ = ')';
}
static const char *pp;
static int64_t p_expr(void);
static int64_t p_factor(void) {
  if (*pp == '(') { pp++; int64_t v = p_expr(); pp++; return v; }
  if (*pp == '-') { pp++; return -p_factor(); }
  int64_t v = 0; while (*pp >= '0' && *pp <= '9') v = v * 10 + (*pp++ - '0');
  return v;
}
static int64_t p_term(void) {
  int64_t v = p_factor();
  while (*pp == '*' || *pp == '/' || *pp == '%') {
    char op = *pp++; int64_t w = p_factor();
    if (op == '*') v = (v * w) % 1000000007; else if (w == 0) v = 0; else if (op == '/') v /= w; else v %= w;
  }
  return v;
}
static int64_t p_expr(void) {
  int64_t v = p_term();
  while (*pp == '+' || *pp == '-') { char op = *pp++; int64_t w = p_term(); v = op == '+' ? v + w : v - w; }
  return v;
}

int main(int argc, char **argv) {
  int depth = argc > 1 ? atoi(argv[1]) : 16;
  tnode *longlived = bottom_up(depth);
  int64_t total = 0;
  for (int d = 4; d <= depth; d += 2) {
    int iters = 1 << (depth - d + 4), sum = 0;
    for (int i = 0; i < iters; i++) { tnode *t = bottom_up(d); sum += check(t); release(t); }
    printf("%d trees of depth %d check %d\n", iters, d, sum);
    total += sum;
  }
  printf("long lived tree of depth %d check %d\n", depth, check(longlived));
  printf("tak(%d,%d,%d) = %d\n", depth + 2, depth / 2, depth / 4, tak(depth + 2, depth / 2, depth / 4));
  printf("ack(2,%d) = %d, ack(3,%d) = %d\n", depth * 100, ack(2, depth * 100), depth / 2, ack(3, depth / 2));
  printf("queens(%d) = %d\n", depth / 2 + 3, queens(depth / 2 + 3, 0, 0, 0));
  printf("partitions(%d) = %lld\n", depth * 4, (long long)partitions(depth * 4, depth * 4));
  char *buf = malloc(1 << 22);
  uint64_t h = 0; int nexpr = depth * 25;
  for (int k = 0; k < nexpr; k++) {
    gp = buf; gen_expr(14); *gp = 0;
    pp = buf; int64_t v = p_expr();
    h = h * 1000003 + (uint64_t)v;
    if (k < 3) printf("expr %d (%d chars) = %lld\n", k, (int)(gp - buf), (long long)v);
  }
  printf("expr hash %016llx, trees %lld\n", (unsigned long long)h, (long long)total);
  return 0;
}
