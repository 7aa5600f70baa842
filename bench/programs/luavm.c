/* Quickbeam bench: a Lua-5.4-style register virtual machine. Instructions are 32-bit words laid out like
 * Lua's (op:7 A:8 B:8 C:9 / sBx:17), values are tagged (nil, integer, float, table) and the arithmetic
 * opcodes dispatch on the operand tags (integer fast path, float fallback) as lvm.c does; tables have an
 * array part that grows on demand. The dispatch is one switch in one loop over a `pc` pointer, with a
 * call stack of frames sharing one register file. Guest programs: recursive fib, a float loop (Leibniz pi
 * with mixed int/float arithmetic), a sieve over a table and a table-sum of squares.
 * argv[1] = n for fib(n); the others scale with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

enum { T_NIL, T_INT, T_FLT, T_TAB };
typedef struct Table Table;
typedef struct { int tag; union { int64_t i; double n; Table *t; } u; } TValue;
struct Table { TValue *arr; int64_t size, cap; };

enum {
  OP_MOVE, OP_LOADI, OP_LOADF, OP_LOADNIL, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_ADDI,
  OP_LT, OP_LE, OP_EQ, OP_EQI, OP_JMP, OP_FORPREP, OP_FORLOOP, OP_NEWTABLE, OP_GETI, OP_SETI,
  OP_LEN, OP_CALL, OP_RETURN, OP_TEST, OP_UNM
};
/* word = op | A<<7 | B<<15 | C<<23; sBx = signed 17 bits at 15 */
#define MK(op, a, b, c) ((uint32_t)(op) | (uint32_t)(a) << 7 | (uint32_t)(b) << 15 | (uint32_t)(c) << 23)
#define MKS(op, a, sbx) ((uint32_t)(op) | (uint32_t)(a) << 7 | (uint32_t)((sbx) + 65535) << 15)
#define GOP(i) ((i) & 0x7f)
#define GA(i) (((i) >> 7) & 0xff)
#define GB(i) (((i) >> 15) & 0xff)
#define GC(i) ((i) >> 23)
#define GSBX(i) ((int)((i) >> 15) - 65535)

typedef struct { const uint32_t *code; int nregs; const double *kf; } Proto;
typedef struct { const Proto *p; const uint32_t *pc; TValue *base; int ret_to; } CallInfo;

static TValue regs[1 << 16];
static CallInfo frames[4096];
static Proto protos[8];

static Table *newtable(void) { Table *t = malloc(sizeof *t); t->size = 0; t->cap = 4; t->arr = calloc(4, sizeof(TValue)); return t; }
static void tset(Table *t, int64_t k, TValue v) {
  if (k < 1) return;
  if (k > t->cap) {
    int64_t nc = t->cap; while (nc < k) nc *= 2;
    TValue *na = calloc((size_t)nc, sizeof(TValue));
    memcpy(na, t->arr, (size_t)t->cap * sizeof(TValue)); free(t->arr); t->arr = na; t->cap = nc;
  }
  t->arr[k - 1] = v; if (k > t->size) t->size = k;
}
static TValue tget(Table *t, int64_t k) { TValue nil = {T_NIL, {0}}; return (k >= 1 && k <= t->size) ? t->arr[k - 1] : nil; }
static double tonum(TValue v) { return v.tag == T_INT ? (double)v.u.i : v.u.n; }

#define ARITH(iop, fop) do { TValue *rb = &base[GB(i)], *rc = &base[GC(i)]; \
  if (rb->tag == T_INT && rc->tag == T_INT) { ra->tag = T_INT; ra->u.i = (int64_t)((uint64_t)rb->u.i iop (uint64_t)rc->u.i); } \
  else { double x = tonum(*rb), y = tonum(*rc); ra->tag = T_FLT; ra->u.n = x fop y; } } while (0)

static TValue execute(int entry, TValue *args, int nargs) {
  int depth = 0;
  CallInfo *ci = &frames[0];
  ci->p = &protos[entry]; ci->pc = ci->p->code; ci->base = regs; ci->ret_to = -1;
  for (int k = 0; k < nargs; k++) regs[k] = args[k];
  TValue *base = ci->base; const uint32_t *pc = ci->pc;
  for (;;) {
    uint32_t i = *pc++;
    TValue *ra = &base[GA(i)];
    switch (GOP(i)) {
    case OP_MOVE: *ra = base[GB(i)]; break;
    case OP_LOADI: ra->tag = T_INT; ra->u.i = GSBX(i); break;
    case OP_LOADF: ra->tag = T_FLT; ra->u.n = ci->p->kf[GSBX(i)]; break;
    case OP_LOADNIL: ra->tag = T_NIL; break;
    case OP_ADD: ARITH(+, +); break;
    case OP_SUB: ARITH(-, -); break;
    case OP_MUL: ARITH(*, *); break;
    case OP_DIV: { double x = tonum(base[GB(i)]), y = tonum(base[GC(i)]); ra->tag = T_FLT; ra->u.n = x / y; break; }
    case OP_MOD: {
      TValue *rb = &base[GB(i)], *rc = &base[GC(i)];
      if (rb->tag == T_INT && rc->tag == T_INT && rc->u.i != 0) {
        int64_t m = rb->u.i % rc->u.i; if (m != 0 && (m ^ rc->u.i) < 0) m += rc->u.i;
        ra->tag = T_INT; ra->u.i = m;
      } else { ra->tag = T_FLT; ra->u.n = 0; }
      break;
    }
    case OP_ADDI: { TValue *rb = &base[GB(i)]; int c = (int)GC(i) - 256;
      if (rb->tag == T_INT) { ra->tag = T_INT; ra->u.i = rb->u.i + c; } else { ra->tag = T_FLT; ra->u.n = rb->u.n + c; } break; }
    case OP_UNM: { TValue *rb = &base[GB(i)]; if (rb->tag == T_INT) { ra->tag = T_INT; ra->u.i = -rb->u.i; } else { ra->tag = T_FLT; ra->u.n = -rb->u.n; } break; }
    /* compares: if ((R[A] op R[B]) != C) skip the next instruction (a JMP) */
    case OP_LT: case OP_LE: case OP_EQ: {
      TValue *rb = &base[GB(i)]; int r;
      if (ra->tag == T_INT && rb->tag == T_INT) {
        r = GOP(i) == OP_LT ? ra->u.i < rb->u.i : GOP(i) == OP_LE ? ra->u.i <= rb->u.i : ra->u.i == rb->u.i;
      } else {
        double x = tonum(*ra), y = tonum(*rb);
        r = GOP(i) == OP_LT ? x < y : GOP(i) == OP_LE ? x <= y : x == y;
      }
      if (r != (int)GC(i)) pc++;
      break;
    }
    case OP_EQI: { int r = ra->tag == T_INT && ra->u.i == (int)GB(i) - 128; if (r != (int)GC(i)) pc++; break; }
    case OP_TEST: { int truthy = ra->tag != T_NIL; if (truthy != (int)GC(i)) pc++; break; }
    case OP_JMP: pc += GSBX(i); break;
    case OP_FORPREP: { /* R[A]=init, R[A+1]=limit, R[A+2]=step (integers); R[A+3] = control */
      if (ra[0].u.i > ra[1].u.i) pc += GSBX(i) + 1; else ra[3] = ra[0];
      break;
    }
    case OP_FORLOOP: {
      ra[0].u.i += ra[2].u.i;
      if (ra[0].u.i <= ra[1].u.i) { ra[3] = ra[0]; pc -= GSBX(i) + 1; }
      break;
    }
    case OP_NEWTABLE: ra->tag = T_TAB; ra->u.t = newtable(); break;
    case OP_GETI: { TValue *rb = &base[GB(i)], *rc = &base[GC(i)]; *ra = tget(rb->u.t, rc->u.i); break; }
    case OP_SETI: { TValue *rb = &base[GB(i)], *rc = &base[GC(i)]; tset(ra->u.t, rb->u.i, *rc); break; }
    case OP_LEN: { TValue *rb = &base[GB(i)]; ra->tag = T_INT; ra->u.i = rb->u.t->size; break; }
    case OP_CALL: { /* call proto B with args R[A+1..A+C], result to R[A] */
      ci->pc = pc;
      CallInfo *nci = &frames[++depth];
      nci->p = &protos[GB(i)]; nci->pc = nci->p->code; nci->base = ra + 1; nci->ret_to = GA(i);
      ci = nci; base = ci->base; pc = ci->pc;
      break;
    }
    case OP_RETURN: {
      TValue v = *ra;
      if (depth == 0) return v;
      int to = ci->ret_to;
      ci = &frames[--depth]; base = ci->base; pc = ci->pc;
      base[to] = v;
      break;
    }
    }
  }
}

/* fib(n): if n < 2 return n; return fib(n-1) + fib(n-2) */
static const uint32_t fib_code[] = {
  MKS(OP_LOADI, 1, 2),
  MK(OP_LT, 0, 1, 0),         /* if n < 2 then skip the jump */
  MKS(OP_JMP, 0, 1),
  MK(OP_RETURN, 0, 0, 0),
  MK(OP_ADDI, 3, 0, 255),     /* R3 = n - 1 */
  MK(OP_CALL, 2, 0, 1),       /* R2 = fib(R3) */
  MK(OP_ADDI, 5, 0, 254),     /* R5 = n - 2 */
  MK(OP_CALL, 4, 0, 1),       /* R4 = fib(R5) */
  MK(OP_ADD, 2, 2, 4),
  MK(OP_RETURN, 2, 0, 0),
};
/* pi(n): s = 0.0; sign = 1; for k = 0, n do s = s + sign / (2k+1); sign = -sign end; return s * 4 */
static const double pi_k[] = {0.0, 4.0};
static const uint32_t pi_code[] = {
  MKS(OP_LOADF, 1, 0),        /* s */
  MKS(OP_LOADI, 2, 1),        /* sign */
  MKS(OP_LOADI, 3, 0),        /* for init */
  MK(OP_MOVE, 4, 0, 0),       /* limit */
  MKS(OP_LOADI, 5, 1),        /* step */
  MKS(OP_FORPREP, 3, 5),
  MK(OP_ADD, 7, 6, 6),        /* 2k */
  MK(OP_ADDI, 7, 7, 257),     /* 2k+1 */
  MK(OP_DIV, 8, 2, 7),
  MK(OP_ADD, 1, 1, 8),
  MK(OP_UNM, 2, 2, 0),
  MKS(OP_FORLOOP, 3, 5),
  MKS(OP_LOADF, 9, 1),
  MK(OP_MUL, 1, 1, 9),
  MK(OP_RETURN, 1, 0, 0),
};
/* sieve(n): t = {}; for i=1,n do t[i]=1 end; t[1]=nil-ish 0; for i=2,n do if t[i]==1 then count++;
 * for j=i*i,n,i do t[j]=0 end end end; return count */
static const uint32_t sieve_code[] = {
  MK(OP_NEWTABLE, 1, 0, 0),
  MKS(OP_LOADI, 2, 1), MK(OP_MOVE, 3, 0, 0), MKS(OP_LOADI, 4, 1), MKS(OP_LOADI, 6, 1),
  MKS(OP_FORPREP, 2, 1),
  MK(OP_SETI, 1, 5, 6),
  MKS(OP_FORLOOP, 2, 1),
  MKS(OP_LOADI, 7, 0),        /* count */
  MKS(OP_LOADI, 8, 2), MK(OP_MOVE, 9, 0, 0), MKS(OP_LOADI, 10, 1),
  MKS(OP_FORPREP, 8, 11),
  MK(OP_GETI, 12, 1, 11),
  MK(OP_EQI, 12, 129, 0),     /* if t[i] == 1 skip the jump */
  MKS(OP_JMP, 0, 8),
  MK(OP_ADDI, 7, 7, 257),
  MK(OP_MUL, 13, 11, 11), MK(OP_MOVE, 14, 0, 0), MK(OP_MOVE, 15, 11, 0), MKS(OP_LOADI, 17, 0),
  MKS(OP_FORPREP, 13, 1),
  MK(OP_SETI, 1, 16, 17),
  MKS(OP_FORLOOP, 13, 1),
  MKS(OP_FORLOOP, 8, 11),
  MK(OP_RETURN, 7, 0, 0),
};
/* sumsq(n): t = {}; for i=1,n do t[i] = i*i end; s = 0; for i=1,#t do s = s + t[i] % 1000 end; return s */
static const uint32_t sumsq_code[] = {
  MK(OP_NEWTABLE, 1, 0, 0),
  MKS(OP_LOADI, 2, 1), MK(OP_MOVE, 3, 0, 0), MKS(OP_LOADI, 4, 1),
  MKS(OP_FORPREP, 2, 2),
  MK(OP_MUL, 6, 5, 5), MK(OP_SETI, 1, 5, 6),
  MKS(OP_FORLOOP, 2, 2),
  MKS(OP_LOADI, 7, 0), MKS(OP_LOADI, 12, 1000),
  MKS(OP_LOADI, 8, 1), MK(OP_LEN, 9, 1, 0), MKS(OP_LOADI, 10, 1),
  MKS(OP_FORPREP, 8, 3),
  MK(OP_GETI, 13, 1, 11), MK(OP_MOD, 13, 13, 12), MK(OP_ADD, 7, 7, 13),
  MKS(OP_FORLOOP, 8, 3),
  MK(OP_RETURN, 7, 0, 0),
};

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 25;
  protos[0] = (Proto){fib_code, 8, 0};
  protos[1] = (Proto){pi_code, 12, pi_k};
  protos[2] = (Proto){sieve_code, 20, 0};
  protos[3] = (Proto){sumsq_code, 16, 0};
  TValue a = {T_INT, {.i = n}};
  TValue r = execute(0, &a, 1);
  printf("luavm fib(%d) = %lld\n", n, (long long)r.u.i);
  a.u.i = (int64_t)n * 200000;
  r = execute(1, &a, 1);
  printf("luavm pi(%lld) = %.12f\n", (long long)a.u.i, r.u.n);
  a.u.i = (int64_t)n * 80000;
  r = execute(2, &a, 1);
  printf("luavm primes <= %lld: %lld\n", (long long)a.u.i, (long long)r.u.i);
  a.u.i = (int64_t)n * 40000;
  r = execute(3, &a, 1);
  printf("luavm sumsq(%lld) = %lld\n", (long long)a.u.i, (long long)r.u.i);
  return 0;
}
