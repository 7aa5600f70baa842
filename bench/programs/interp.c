/* Quickbeam bench: a bytecode interpreter. A small stack machine with locals, calls and a heap array,
 * dispatched by a switch in one loop (the shape of most interpreters compiled to wasm: one big function,
 * a br_table, many loads and stores). Three guest programs are assembled at startup: recursive Fibonacci
 * (call-heavy), a prime sieve (array-heavy) and a Collatz search (arithmetic and branches).
 * argv[1] = n for fib(n); the other programs scale with it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

enum {
  OP_HALT, OP_PUSH, OP_POP, OP_DUP, OP_SWAP, OP_OVER,
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHR,
  OP_LT, OP_LE, OP_EQ, OP_NE, OP_NOT,
  OP_LOAD, OP_STORE, OP_INC,                 /* locals: LOAD k, STORE k, INC k imm */
  OP_HLOAD, OP_HSTORE,                       /* heap[addr] */
  OP_JMP, OP_JZ, OP_JNZ,                     /* absolute targets */
  OP_CALL, OP_RET,                           /* CALL target nargs; RET returns top of stack */
  OP_COUNT
};

typedef struct { int32_t code[512]; int n; int labels[32]; int fix_at[64], fix_label[64], nfix; } asm_t;
static void emit(asm_t *a, int32_t v) { a->code[a->n++] = v; }
static void op0(asm_t *a, int op) { emit(a, op); }
static void op1(asm_t *a, int op, int32_t x) { emit(a, op); emit(a, x); }
static void opj(asm_t *a, int op, int label) { emit(a, op); a->fix_at[a->nfix] = a->n; a->fix_label[a->nfix++] = label; emit(a, -1); }
static void label(asm_t *a, int l) { a->labels[l] = a->n; }
static void link(asm_t *a) { for (int i = 0; i < a->nfix; i++) a->code[a->fix_at[i]] = a->labels[a->fix_label[i]]; }

typedef struct { int ret_pc, base, sp_base; } frame_t;

static int64_t stack[1 << 16];
static frame_t frames[1 << 12];
static int32_t *heap;
static uint64_t steps;

/* Runs code from pc 0 with nlocals zeroed locals in the root frame; returns the value left on top. */
static int64_t execute(const int32_t *code, int nlocals) {
  int pc = 0, sp = nlocals, fp = 0, base = 0;
  memset(stack, 0, sizeof(int64_t) * (size_t)nlocals);
  uint64_t n = 0;
  for (;;) {
    n++;
    int32_t op = code[pc++];
    switch (op) {
    case OP_HALT: steps += n; return stack[sp - 1];
    case OP_PUSH: stack[sp++] = code[pc++]; break;
    case OP_POP: sp--; break;
    case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
    case OP_SWAP: { int64_t t = stack[sp - 1]; stack[sp - 1] = stack[sp - 2]; stack[sp - 2] = t; break; }
    case OP_OVER: stack[sp] = stack[sp - 2]; sp++; break;
    case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
    case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
    case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
    case OP_DIV: sp--; stack[sp - 1] = stack[sp] ? stack[sp - 1] / stack[sp] : 0; break;
    case OP_MOD: sp--; stack[sp - 1] = stack[sp] ? stack[sp - 1] % stack[sp] : 0; break;
    case OP_AND: sp--; stack[sp - 1] &= stack[sp]; break;
    case OP_OR: sp--; stack[sp - 1] |= stack[sp]; break;
    case OP_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
    case OP_SHL: sp--; stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] << (stack[sp] & 63)); break;
    case OP_SHR: sp--; stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] >> (stack[sp] & 63)); break;
    case OP_LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
    case OP_LE: sp--; stack[sp - 1] = stack[sp - 1] <= stack[sp]; break;
    case OP_EQ: sp--; stack[sp - 1] = stack[sp - 1] == stack[sp]; break;
    case OP_NE: sp--; stack[sp - 1] = stack[sp - 1] != stack[sp]; break;
    case OP_NOT: stack[sp - 1] = !stack[sp - 1]; break;
    case OP_LOAD: stack[sp++] = stack[base + code[pc++]]; break;
    case OP_STORE: stack[base + code[pc++]] = stack[--sp]; break;
    case OP_INC: stack[base + code[pc]] += code[pc + 1]; pc += 2; break;
    case OP_HLOAD: stack[sp - 1] = heap[stack[sp - 1]]; break;
    case OP_HSTORE: sp -= 2; heap[stack[sp]] = (int32_t)stack[sp + 1]; break; /* addr value HSTORE */
    case OP_JMP: pc = code[pc]; break;
    case OP_JZ: pc = stack[--sp] ? pc + 1 : code[pc]; break;
    case OP_JNZ: pc = stack[--sp] ? code[pc] : pc + 1; break;
    case OP_CALL: {
      int target = code[pc], nargs = code[pc + 1];
      frames[fp].ret_pc = pc + 2; frames[fp].base = base; frames[fp].sp_base = sp - nargs; fp++;
      base = sp - nargs; pc = target; break;
    }
    case OP_RET: {
      int64_t v = stack[sp - 1];
      fp--; pc = frames[fp].ret_pc; sp = frames[fp].sp_base; base = frames[fp].base;
      stack[sp++] = v; break;
    }
    default: printf("bad opcode %d at %d\n", op, pc - 1); steps += n; return -1;
    }
  }
}

/* fib(n) = n < 2 ? n : fib(n-1) + fib(n-2), as guest code */
static void build_fib(asm_t *a, int n) {
  memset(a, 0, sizeof *a);
  op1(a, OP_PUSH, n); emit(a, OP_CALL); a->fix_at[a->nfix] = a->n; a->fix_label[a->nfix++] = 0; emit(a, -1); emit(a, 1);
  op0(a, OP_HALT);
  label(a, 0);                     /* fib: local 0 = n */
  op1(a, OP_LOAD, 0); op1(a, OP_PUSH, 2); op0(a, OP_LT); opj(a, OP_JZ, 1);
  op1(a, OP_LOAD, 0); op0(a, OP_RET);
  label(a, 1);
  op1(a, OP_LOAD, 0); op1(a, OP_PUSH, 1); op0(a, OP_SUB);
  emit(a, OP_CALL); a->fix_at[a->nfix] = a->n; a->fix_label[a->nfix++] = 0; emit(a, -1); emit(a, 1);
  op1(a, OP_LOAD, 0); op1(a, OP_PUSH, 2); op0(a, OP_SUB);
  emit(a, OP_CALL); a->fix_at[a->nfix] = a->n; a->fix_label[a->nfix++] = 0; emit(a, -1); emit(a, 1);
  op0(a, OP_ADD); op0(a, OP_RET);
  link(a);
}

/* count primes below limit with a sieve over heap[0..limit); locals: 0 i, 1 j, 2 count */
static void build_sieve(asm_t *a, int limit) {
  memset(a, 0, sizeof *a);
  op1(a, OP_PUSH, 2); op1(a, OP_STORE, 0);
  label(a, 0);                                         /* outer: while i < limit */
  op1(a, OP_LOAD, 0); op1(a, OP_PUSH, limit); op0(a, OP_LT); opj(a, OP_JZ, 3);
  op1(a, OP_LOAD, 0); op0(a, OP_HLOAD); opj(a, OP_JNZ, 2);   /* composite: skip */
  emit(a, OP_INC); emit(a, 2); emit(a, 1);
  op1(a, OP_LOAD, 0); op0(a, OP_DUP); op0(a, OP_MUL); op1(a, OP_STORE, 1);
  label(a, 1);                                         /* inner: for j = i*i; j < limit; j += i */
  op1(a, OP_LOAD, 1); op1(a, OP_PUSH, limit); op0(a, OP_LT); opj(a, OP_JZ, 2);
  op1(a, OP_LOAD, 1); op1(a, OP_PUSH, 1); op0(a, OP_HSTORE);
  op1(a, OP_LOAD, 1); op1(a, OP_LOAD, 0); op0(a, OP_ADD); op1(a, OP_STORE, 1);
  opj(a, OP_JMP, 1);
  label(a, 2);
  emit(a, OP_INC); emit(a, 0); emit(a, 1);
  opj(a, OP_JMP, 0);
  label(a, 3);
  op1(a, OP_LOAD, 2); op0(a, OP_HALT);
  link(a);
}

/* longest Collatz chain start below limit; locals: 0 start, 1 x, 2 len, 3 best, 4 bestlen */
static void build_collatz(asm_t *a, int limit) {
  memset(a, 0, sizeof *a);
  op1(a, OP_PUSH, 1); op1(a, OP_STORE, 0);
  label(a, 0);
  op1(a, OP_LOAD, 0); op1(a, OP_PUSH, limit); op0(a, OP_LT); opj(a, OP_JZ, 5);
  op1(a, OP_LOAD, 0); op1(a, OP_STORE, 1); op1(a, OP_PUSH, 0); op1(a, OP_STORE, 2);
  label(a, 1);                                         /* while x != 1 */
  op1(a, OP_LOAD, 1); op1(a, OP_PUSH, 1); op0(a, OP_NE); opj(a, OP_JZ, 3);
  op1(a, OP_LOAD, 1); op1(a, OP_PUSH, 1); op0(a, OP_AND); opj(a, OP_JNZ, 2);
  op1(a, OP_LOAD, 1); op1(a, OP_PUSH, 1); op0(a, OP_SHR); op1(a, OP_STORE, 1);
  emit(a, OP_INC); emit(a, 2); emit(a, 1); opj(a, OP_JMP, 1);
  label(a, 2);                                         /* odd: x = 3x + 1 */
  op1(a, OP_LOAD, 1); op1(a, OP_PUSH, 3); op0(a, OP_MUL); op1(a, OP_PUSH, 1); op0(a, OP_ADD); op1(a, OP_STORE, 1);
  emit(a, OP_INC); emit(a, 2); emit(a, 1); opj(a, OP_JMP, 1);
  label(a, 3);
  op1(a, OP_LOAD, 2); op1(a, OP_LOAD, 4); op0(a, OP_LE); opj(a, OP_JNZ, 4);
  op1(a, OP_LOAD, 2); op1(a, OP_STORE, 4); op1(a, OP_LOAD, 0); op1(a, OP_STORE, 3);
  label(a, 4);
  emit(a, OP_INC); emit(a, 0); emit(a, 1); opj(a, OP_JMP, 0);
  label(a, 5);
  op1(a, OP_LOAD, 3); op1(a, OP_PUSH, 1000000); op0(a, OP_MUL); op1(a, OP_LOAD, 4); op0(a, OP_ADD); op0(a, OP_HALT);
  link(a);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 25;
  static asm_t prog;
  steps = 0;
  printf("interp: fib(%d), sieve, collatz\n", n);

  build_fib(&prog, n);
  printf("fib(%d) = %lld  (%d words of bytecode)\n", n, (long long)execute(prog.code, 0), prog.n);

  int limit = 1 << (n - 6);
  heap = calloc((size_t)limit, sizeof(int32_t));
  build_sieve(&prog, limit);
  printf("primes below %d = %lld\n", limit, (long long)execute(prog.code, 3));
  free(heap);

  int climit = 1 << (n - 9);
  build_collatz(&prog, climit);
  int64_t r = execute(prog.code, 5);
  printf("collatz below %d: start %lld, %lld steps\n", climit, (long long)(r / 1000000), (long long)(r % 1000000));
  printf("instructions executed: %llu\n", (unsigned long long)steps);
  return 0;
}
