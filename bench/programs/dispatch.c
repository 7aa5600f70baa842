/* Quickbeam bench: indirect calls. The shapes C code takes when it dispatches through function pointers
 * (every one a call_indirect in wasm): objects with a vtable (shapes with area/perimeter/scale methods, a
 * mix of five classes in random order, so the targets change from call to call), a qsort with a
 * comparator callback, an event bus that invokes registered handlers per event type, and an expression
 * tree evaluated by a per-node-kind function table (indirect and recursive at once).
 * argv[1] = objects, argv[2] = rounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

static uint32_t rng = 362436069u;
static uint32_t xr(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }

typedef struct shape shape;
typedef struct {
  double (*area)(const shape *);
  double (*perimeter)(const shape *);
  void (*scale)(shape *, double);
  int (*sides)(const shape *);
} vtable;
struct shape { const vtable *vt; double a, b; int kind; };

static double rect_area(const shape *s) { return s->a * s->b; }
static double rect_perim(const shape *s) { return 2 * (s->a + s->b); }
static void rect_scale(shape *s, double f) { s->a *= f; s->b *= f; }
static int rect_sides(const shape *s) { return 4; }
static double sq_area(const shape *s) { return s->a * s->a; }
static double sq_perim(const shape *s) { return 4 * s->a; }
static void sq_scale(shape *s, double f) { s->a *= f; }
static double circ_area(const shape *s) { return 3.141592653589793 * s->a * s->a; }
static double circ_perim(const shape *s) { return 2 * 3.141592653589793 * s->a; }
static int circ_sides(const shape *s) { return 0; }
static double tri_area(const shape *s) { return 0.5 * s->a * s->b; }
static double tri_perim(const shape *s) { return s->a + s->b + (s->a > s->b ? s->a : s->b); }
static int tri_sides(const shape *s) { return 3; }
static double hex_area(const shape *s) { return 2.598076211353316 * s->a * s->a; }
static double hex_perim(const shape *s) { return 6 * s->a; }
static int hex_sides(const shape *s) { return 6; }
static const vtable vts[5] = {
  {rect_area, rect_perim, rect_scale, rect_sides}, {sq_area, sq_perim, sq_scale, rect_sides},
  {circ_area, circ_perim, sq_scale, circ_sides}, {tri_area, tri_perim, rect_scale, tri_sides},
  {hex_area, hex_perim, sq_scale, hex_sides},
};

static int cmp_area(const void *x, const void *y) {
  const shape *a = x, *b = y;
  double u = a->vt->area(a), v = b->vt->area(b);
  return u < v ? -1 : u > v ? 1 : a->kind - b->kind;
}

/* a generic merge sort with a comparator callback (the shared libc's qsort is an insertion sort) */
static void sort_cb(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *), unsigned char *tmp) {
  unsigned char *b = base;
  if (n < 2) return;
  size_t h = n / 2;
  sort_cb(b, h, sz, cmp, tmp); sort_cb(b + h * sz, n - h, sz, cmp, tmp);
  if (cmp(b + (h - 1) * sz, b + h * sz) <= 0) return;
  size_t i = 0, j = h, k = 0;
  while (i < h && j < n) {
    if (cmp(b + j * sz, b + i * sz) < 0) { memcpy(tmp + k * sz, b + j * sz, sz); j++; }
    else { memcpy(tmp + k * sz, b + i * sz, sz); i++; }
    k++;
  }
  while (i < h) { memcpy(tmp + k * sz, b + i * sz, sz); i++; k++; }
  memcpy(b, tmp, k * sz);
}

/* event bus */
typedef struct { int type; int32_t payload; } event;
typedef void (*handler)(const event *, int64_t *);
static void h_count(const event *e, int64_t *st) { st[0]++; }
static void h_sum(const event *e, int64_t *st) { st[1] += e->payload; }
static void h_max(const event *e, int64_t *st) { if (e->payload > st[2]) st[2] = e->payload; }
static void h_xor(const event *e, int64_t *st) { st[3] ^= (int64_t)e->payload * 2654435761u; }
static void h_odd(const event *e, int64_t *st) { st[4] += e->payload & 1; }
static void h_shift(const event *e, int64_t *st) { st[5] = (st[5] << 1 | (e->payload & 1)) & 0xffffffff; }
typedef struct { handler hs[4]; int n; } slot;
static slot bus[8];
static void subscribe(int type, handler h) { bus[type].hs[bus[type].n++] = h; }
static void publish(const event *e, int64_t *st) { slot *s = &bus[e->type]; for (int k = 0; k < s->n; k++) s->hs[k](e, st); }

/* expression trees evaluated through a per-kind function table */
typedef struct expr expr;
typedef int64_t (*evalfn)(const expr *, const int64_t *env);
struct expr { int kind; int64_t val; expr *l, *r; };
static evalfn evals[6];
static int64_t ev(const expr *e, const int64_t *env) { return evals[e->kind](e, env); }
static int64_t e_const(const expr *e, const int64_t *env) { return e->val; }
static int64_t e_var(const expr *e, const int64_t *env) { return env[e->val]; }
static int64_t e_add(const expr *e, const int64_t *env) { return ev(e->l, env) + ev(e->r, env); }
static int64_t e_sub(const expr *e, const int64_t *env) { return ev(e->l, env) - ev(e->r, env); }
static int64_t e_mul(const expr *e, const int64_t *env) { return (ev(e->l, env) * ev(e->r, env)) % 1000003; }
static int64_t e_cond(const expr *e, const int64_t *env) { return ev(e->l, env) > 0 ? ev(e->r, env) : -ev(e->r, env); }
static expr *build(int depth) {
  expr *e = malloc(sizeof *e);
  uint32_t r = xr();
  if (depth == 0 || r % 8 == 0) { e->kind = r & 16 ? 1 : 0; e->val = e->kind ? (int64_t)(r >> 8) % 4 : (int64_t)(r >> 8) % 100 - 30; e->l = e->r = 0; return e; }
  e->kind = 2 + (int)(r >> 4) % 4; e->val = 0;
  e->l = build(depth - 1); e->r = build(depth - 1);
  return e;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 200000, rounds = argc > 2 ? atoi(argv[2]) : 3;
  shape *objs = malloc(sizeof(shape) * (size_t)n);
  unsigned char *tmp = malloc(sizeof(shape) * (size_t)n);
  for (int i = 0; i < n; i++) {
    uint32_t r = xr();
    objs[i].kind = (int)(r % 5); objs[i].vt = &vts[objs[i].kind];
    objs[i].a = 1 + (double)(r >> 8 & 1023) / 64; objs[i].b = 1 + (double)(r >> 18 & 1023) / 64;
  }
  subscribe(0, h_count); subscribe(0, h_sum); subscribe(1, h_max); subscribe(1, h_xor); subscribe(1, h_count);
  subscribe(2, h_odd); subscribe(3, h_shift); subscribe(3, h_sum); subscribe(3, h_xor); subscribe(4, h_count);
  for (int t = 5; t < 8; t++) { subscribe(t, h_sum); subscribe(t, h_odd); subscribe(t, h_max); }
  evals[0] = e_const; evals[1] = e_var; evals[2] = e_add; evals[3] = e_sub; evals[4] = e_mul; evals[5] = e_cond;
  expr *tree = build(18);
  uint64_t h = 14695981039346656037ULL;
  for (int round = 0; round < rounds; round++) {
    double area = 0, perim = 0; int64_t sides = 0;
    for (int k = 0; k < 4; k++)
      for (int i = 0; i < n; i++) {
        shape *s = &objs[i];
        area += s->vt->area(s); perim += s->vt->perimeter(s); sides += s->vt->sides(s);
        s->vt->scale(s, (i + k) & 1 ? 1.0009765625 : 0.9990234375);
      }
    sort_cb(objs, (size_t)n, sizeof(shape), cmp_area, tmp);
    int64_t st[6] = {0, 0, INT32_MIN, 0, 0, 0};
    for (int i = 0; i < n * 8; i++) { event e = {(int)(xr() & 7), (int32_t)(xr() % 100000) - 5000}; publish(&e, st); }
    int64_t env[4] = {round + 1, 7, -3, 11}, val = 0;
    for (int k = 0; k < 8; k++) { env[0] += k; val = val * 31 + ev(tree, env); }
    printf("round %d: area %.3f perim %.3f sides %lld first %.4f last %.4f events %lld %lld %lld %lld %lld %lld tree %lld\n",
           round, area, perim, (long long)sides, objs[0].vt->area(&objs[0]), objs[n - 1].vt->area(&objs[n - 1]),
           (long long)st[0], (long long)st[1], (long long)st[2], (long long)st[3], (long long)st[4], (long long)st[5], (long long)val);
    h ^= (uint64_t)val; h *= 1099511628211ULL;
  }
  printf("dispatch hash %016llx\n", (unsigned long long)h);
  return 0;
}
