// The fast body validator (src/compile/validate-body.ts) as WebAssembly, which Quickbeam compiles with itself:
// machine code from its first body, where the TypeScript one runs interpreted and in baseline code for most
// of a fresh process's first module. Built by scripts/build-validator-wasm.sh (clang, wasm32, no libc) into
// validator-wasm.ts; native-validator.ts (src/api) lays out the tables this code reads.
//
// Same contract as the TypeScript validator: validate_bodies accepts only bodies it has fully checked and
// found valid, and stops at the first one it does not accept (invalid, or outside the common subset); the
// caller validates that body with the function compiler, which gives the exact CompileError. It must never
// accept a body the function compiler rejects: where that would take care, it declines. Every read is
// checked against the body's end (a read past it declines), and LEBs are checked as strictly as the spec's.

typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef long long i64;
typedef unsigned long long u64;

#define BOTTOM 0
#define I32 0x7f
#define I64 0x7e
#define F32 0x7d
#define F64 0x7c
#define V128 0x7b
#define FUNCREF 0x70
#define EXTERNREF 0x6f

#define K_BLOCK 0
#define K_LOOP 1
#define K_IF 2
#define K_ELSE 3
#define K_FUNC 4

#define MAX_LOCALS 50000
#define MAX_BR_TABLE 1000000
/** validate_bodies' result for a body that ran out of stack or frame room (the body is ctx.current). */
#define OUTGROWN (-1)

// Feature flags (ctx.features)
#define F_SIMD 1
#define F_SIGN_EXT 2
#define F_MULTI_MEMORY 4
#define F_MEMORY_U64_LEB 8
#define F_REFERENCE_TYPES 16
#define F_SAT_FLOAT_TO_INT 32
#define F_BULK_MEMORY 64

/** The module's tables and this thread's scratch: addresses in this memory, written by native-validator.ts. */
struct Ctx {
  i32 code;        // u8[]: the bytes the starts/ends index, from offset `bias`
  i32 bias;
  i32 starts;      // i32[]: body f at code[starts[f - delta] - bias, ends[f - delta] - bias)
  i32 ends;
  i32 funcTypes;   // i32[numFuncs]: type index of each function
  i32 numFuncs;
  i32 typePlain;   // u8[numTypes]: 1 when every param and result is a plain type
  i32 numTypes;
  i32 listStart;   // i32[]: type lists (2t: params of type t, 2t + 1: results; then emptyList; then singles)
  i32 listLen;     // i32[]
  i32 listTypes;   // u8[]
  i32 emptyList;
  i32 singleList;  // i32[256]: value type -> its one-element list
  i32 numIn;       // u8[256]: numeric operators' operand type (0: declined)
  i32 numOut;      // u8[256]: their result type
  i32 numArity;    // u8[256]: 1 or 2 operands
  i32 memType;     // u8[0x3f]: loads' and stores' value type
  i32 memSize;     // u8[0x3f]: their access size
  i32 globalTypes; // u8[numGlobals] (0: a type outside the subset)
  i32 globalMutable;
  i32 numGlobals;
  i32 mem64;       // u8[numMems]
  i32 numMems;
  i32 tableElem;   // u8[numTables]: element type
  i32 table64;     // u8[numTables]
  i32 numTables;
  i32 funcRefs;    // u8[(numFuncs + 7) / 8]: functions declared for ref.func
  i32 features;
  i32 stack;       // u8[stackCap]: operand types
  i32 stackCap;
  i32 fKind;       // u8[depthCap]
  i32 fHeight;     // i32[depthCap]
  i32 fDead;       // u8[depthCap]
  i32 fParams;     // i32[depthCap]
  i32 fResults;    // i32[depthCap]
  i32 depthCap;
  i32 locals;      // u8[MAX_LOCALS]
  i32 depths;      // i32[depthsCap]: br_table targets
  i32 depthsCap;
  i32 current;     // out: the body validate_bodies stopped in
};

static struct Ctx ctx;

__attribute__((export_name("ctx_address"))) struct Ctx *ctx_address(void) { return &ctx; }

// The state of the body being validated (the TypeScript validator's fields).
static const u8 *code;
static i32 pos, end;
static u8 *stack;
static i32 sp, stackLimit;
static u8 *fKind, *fDead;
static i32 *fHeight, *fParams, *fResults;
static i32 depth, maxDepth;
static i32 *listStart, *listLen;
static const u8 *listTypes;
static u8 *locals;
static i32 numLocals;
static i32 features;
static i32 outgrown;
static i32 blockParams, blockResults;

static int isPlainType(i32 t) {
  return t == I32 || t == I64 || t == F32 || t == F64 || t == FUNCREF || t == EXTERNREF ||
         (t == V128 && (features & F_SIMD));
}

// ---------------------------------------------------------------------------------------------------------
// LEB128, as strict as the spec (unused bits of the last byte must be zero or, signed, the sign): a
// malformed one returns 0 (the body is declined; the function compiler reports it).

static int readU32(u32 *out) {
  u32 result = 0;
  for (int i = 0; i < 5; i++) {
    if (pos >= end) return 0;
    u32 b = code[pos++];
    if (i == 4) {
      if (b & 0xf0) return 0; // too long, or bits beyond 32
      *out = result | (b << 28);
      return 1;
    }
    result |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *out = result;
      return 1;
    }
  }
  return 0;
}

static int readS32(void) {
  for (int i = 0; i < 5; i++) {
    if (pos >= end) return 0;
    u32 b = code[pos++];
    if (i == 4) {
      if (b & 0x80) return 0;
      u32 top = b & 0x78; // bits 4..6 replicate bit 3 (the sign)
      return top == 0 || top == 0x78;
    }
    if (b < 0x80) return 1;
  }
  return 0;
}

/** Signed 33-bit (block types): value in *out. */
static int readS33(i64 *out) {
  i64 result = 0;
  for (int i = 0; i < 5; i++) {
    if (pos >= end) return 0;
    u32 b = code[pos++];
    if (i == 4) {
      if (b & 0x80) return 0;
      u32 top = b & 0x70; // bits 5..6 replicate bit 4 (the sign)
      if (top != 0 && top != 0x70) return 0;
      result |= (i64)(b & 0x1f) << 28;
      if (b & 0x10) result -= (i64)1 << 33;
      *out = result;
      return 1;
    }
    result |= (i64)(b & 0x7f) << (7 * i);
    if (b < 0x80) {
      int shift = 7 * (i + 1);
      if (b & 0x40) result -= (i64)1 << shift;
      *out = result;
      return 1;
    }
  }
  return 0;
}

static int readS64(void) {
  for (int i = 0; i < 10; i++) {
    if (pos >= end) return 0;
    u32 b = code[pos++];
    if (i == 9) {
      if (b & 0x80) return 0;
      u32 top = b & 0x7f; // bit 0 is value bit 63; the others replicate it
      return top == 0 || top == 0x7f;
    }
    if (b < 0x80) return 1;
  }
  return 0;
}

static int readU64(u64 *out) {
  u64 result = 0;
  for (int i = 0; i < 10; i++) {
    if (pos >= end) return 0;
    u64 b = code[pos++];
    if (i == 9) {
      if (b & 0xfe) return 0; // too long, or bits beyond 64
      *out = result | (b << 63);
      return 1;
    }
    result |= (b & 0x7f) << (7 * i);
    if (b < 0x80) {
      *out = result;
      return 1;
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// Operand stack (types), with the polymorphic bottom of unreachable code

/** Pop an operand of type t (BOTTOM-typed operands and an empty unreachable frame match). */
static int pop(i32 t) {
  i32 d = depth - 1;
  if (sp == fHeight[d]) return fDead[d] == 1;
  i32 got = stack[--sp];
  return got == t || got == BOTTOM;
}

/** Pop any operand: its type, BOTTOM in unreachable code, -1 when there is none. */
static i32 popAny(void) {
  i32 d = depth - 1;
  if (sp == fHeight[d]) return fDead[d] == 1 ? BOTTOM : -1;
  return stack[--sp];
}

static int push(i32 t) {
  if (sp >= stackLimit) {
    outgrown = 1;
    return 0;
  }
  stack[sp++] = (u8)t;
  return 1;
}

static int popTypes(i32 l) {
  i32 s = listStart[l];
  for (i32 i = listLen[l] - 1; i >= 0; i--)
    if (!pop(listTypes[s + i])) return 0;
  return 1;
}

static int pushTypes(i32 l) {
  i32 s = listStart[l], n = listLen[l];
  if (sp + n >= stackLimit) {
    outgrown = 1;
    return 0;
  }
  for (i32 i = 0; i < n; i++) stack[sp++] = listTypes[s + i];
  return 1;
}

/** Whether the top of the stack holds list l's types (without popping). */
static int hasTypes(i32 l) {
  i32 d = depth - 1;
  i32 base = fHeight[d];
  i32 s = listStart[l];
  i32 p = sp;
  for (i32 i = listLen[l] - 1; i >= 0; i--) {
    if (p == base) return fDead[d] == 1;
    i32 got = stack[--p];
    if (got != listTypes[s + i] && got != BOTTOM) return 0;
  }
  return 1;
}

static int sameTypes(i32 a, i32 b) {
  i32 n = listLen[a];
  if (listLen[b] != n) return 0;
  i32 sa = listStart[a], sb = listStart[b];
  for (i32 i = 0; i < n; i++)
    if (listTypes[sa + i] != listTypes[sb + i]) return 0;
  return 1;
}

static void setUnreachable(void) {
  i32 d = depth - 1;
  sp = fHeight[d];
  fDead[d] = 1;
}

static i32 labelTypes(i32 d) { return fKind[d] == K_LOOP ? fParams[d] : fResults[d]; }

// ---------------------------------------------------------------------------------------------------------
// Immediates

/** Block type: sets blockParams / blockResults; 0 when declined. */
static int blockType(void) {
  i64 bt;
  i32 at = pos;
  if (!readS33(&bt)) return 0;
  if (bt == -64) {
    blockParams = blockResults = ctx.emptyList;
    return 1;
  }
  if (bt < 0) {
    // A one-byte negative s33 is a value type; a longer negative one is no block type: declined.
    if (pos != at + 1) return 0;
    i32 t = (i32)(bt & 0x7f);
    if (!isPlainType(t)) return 0;
    blockParams = ctx.emptyList;
    blockResults = ((const i32 *)ctx.singleList)[t];
    return 1;
  }
  if (bt >= ctx.numTypes || ((const u8 *)ctx.typePlain)[bt] == 0) return 0;
  blockParams = (i32)(2 * bt);
  blockResults = (i32)(2 * bt + 1);
  return 1;
}

/** memarg of an access of `size` bytes: its memory's address type, or 0 when declined. */
static i32 memarg(i32 size) {
  u32 flags, m = 0;
  if (!readU32(&flags)) return 0;
  if (flags & 0x40) {
    if (!(features & F_MULTI_MEMORY)) return 0;
    flags -= 0x40;
    if (!readU32(&m)) return 0;
  }
  if (flags > 4 || (1 << flags) > size) return 0;
  if (m >= (u32)ctx.numMems) return 0;
  u64 offset;
  if (((const u8 *)ctx.mem64)[m] == 1) return readU64(&offset) ? I64 : 0;
  if (features & F_MEMORY_U64_LEB) {
    if (!readU64(&offset)) return 0;
    return offset >> 32 == 0 ? I32 : 0;
  }
  u32 off32;
  return readU32(&off32) ? I32 : 0;
}

/** Memory index of memory.size/grow/copy/fill: its address type, or 0 when invalid. */
static i32 memIndex(void) {
  u32 m;
  if (features & F_MULTI_MEMORY) {
    if (!readU32(&m)) return 0;
  } else {
    if (pos >= end) return 0;
    m = code[pos++];
    if (m != 0) return 0;
  }
  if (m >= (u32)ctx.numMems) return 0;
  return ((const u8 *)ctx.mem64)[m] == 1 ? I64 : I32;
}

/** Locals: the params (list `params`), then the declared ones. */
static int readLocals(i32 params) {
  i32 n = listLen[params];
  for (i32 i = 0, s = listStart[params]; i < n; i++) locals[i] = listTypes[s + i];
  u32 groups;
  if (!readU32(&groups)) return 0;
  for (u32 g = 0; g < groups; g++) {
    u32 count;
    if (!readU32(&count)) return 0;
    if (pos >= end) return 0;
    i32 t = code[pos++];
    // Declared locals must be defaultable: only plain types here.
    if (!isPlainType(t)) return 0;
    if ((u64)(u32)n + count > MAX_LOCALS) return 0;
    for (u32 k = 0; k < count; k++) locals[n + k] = (u8)t;
    n += (i32)count;
  }
  numLocals = n;
  return 1;
}

// ---------------------------------------------------------------------------------------------------------
// Operators outside the common ones

static const u8 SAT_IN[8] = {F32, F32, F64, F64, F32, F32, F64, F64};
static const u8 SAT_OUT[8] = {I32, I32, I32, I32, I64, I64, I64, I64};

static int rareOperator(i32 op) {
  switch (op) {
  case 0x00: // unreachable
    setUnreachable();
    return 1;
  case 0x01: // nop
    return 1;
  case 0x05: { // else
    i32 d = depth - 1;
    if (fKind[d] != K_IF) return 0;
    if (!popTypes(fResults[d]) || sp != fHeight[d]) return 0;
    fKind[d] = K_ELSE;
    fDead[d] = 0;
    return pushTypes(fParams[d]);
  }
  case 0x0e: { // br_table
    u32 count;
    if (!readU32(&count)) return 0;
    if (count > MAX_BR_TABLE || (i32)count + 1 > ctx.depthsCap) return 0;
    i32 *depths = (i32 *)ctx.depths;
    for (u32 i = 0; i <= count; i++) {
      u32 l;
      if (!readU32(&l)) return 0;
      if (l >= (u32)depth) return 0;
      depths[i] = depth - 1 - (i32)l;
    }
    if (!pop(I32)) return 0;
    i32 arity = listLen[labelTypes(depths[count])];
    for (u32 i = 0; i <= count; i++) {
      i32 types = labelTypes(depths[i]);
      if (listLen[types] != arity || !hasTypes(types)) return 0;
    }
    setUnreachable();
    return 1;
  }
  case 0x11: { // call_indirect
    u32 ti, table;
    if (!readU32(&ti) || !readU32(&table)) return 0;
    if (ti >= (u32)ctx.numTypes || ((const u8 *)ctx.typePlain)[ti] == 0 || table >= (u32)ctx.numTables) return 0;
    if (((const u8 *)ctx.tableElem)[table] != FUNCREF) return 0;
    if (!pop(((const u8 *)ctx.table64)[table] ? I64 : I32)) return 0;
    return popTypes((i32)(2 * ti)) && pushTypes((i32)(2 * ti + 1));
  }
  case 0x1b: { // select (untyped: numeric or vector operands of one type)
    if (!pop(I32)) return 0;
    i32 t1 = popAny(), t2 = popAny();
    if (t1 < 0 || t2 < 0) return 0;
    if (t1 == FUNCREF || t1 == EXTERNREF || t2 == FUNCREF || t2 == EXTERNREF) return 0;
    if (t1 != BOTTOM && t2 != BOTTOM && t1 != t2) return 0;
    if ((t1 != BOTTOM && !isPlainType(t1)) || (t2 != BOTTOM && !isPlainType(t2))) return 0;
    return push(t1 == BOTTOM ? t2 : t1);
  }
  case 0x25:   // table.get
  case 0x26: { // table.set (funcref / externref tables only)
    u32 t;
    if (!readU32(&t)) return 0;
    if (!(features & F_REFERENCE_TYPES) || t >= (u32)ctx.numTables) return 0;
    i32 et = ((const u8 *)ctx.tableElem)[t];
    if (et != FUNCREF && et != EXTERNREF) return 0;
    if (op == 0x26 && !pop(et)) return 0;
    if (!pop(((const u8 *)ctx.table64)[t] ? I64 : I32)) return 0;
    return op == 0x25 ? push(et) : 1;
  }
  case 0x3f: { // memory.size
    i32 at = memIndex();
    return at != 0 && push(at);
  }
  case 0x40: { // memory.grow
    i32 at = memIndex();
    return at != 0 && pop(at) && push(at);
  }
  case 0xd0: { // ref.null (abstract func / extern only)
    if (pos >= end) return 0;
    i32 t = code[pos++];
    if ((t != FUNCREF && t != EXTERNREF) || !(features & F_REFERENCE_TYPES)) return 0;
    return push(t);
  }
  case 0xd1: { // ref.is_null
    i32 t = popAny();
    if (t != FUNCREF && t != EXTERNREF && t != BOTTOM) return 0;
    return push(I32);
  }
  case 0xd2: { // ref.func
    u32 f;
    if (!readU32(&f)) return 0;
    if (f >= (u32)ctx.numFuncs || !(features & F_REFERENCE_TYPES)) return 0;
    if (!(((const u8 *)ctx.funcRefs)[f >> 3] & (1 << (f & 7)))) return 0;
    return push(FUNCREF);
  }
  case 0xfc: {
    u32 sub;
    if (!readU32(&sub)) return 0;
    if (sub <= 7) {
      if (!(features & F_SAT_FLOAT_TO_INT) || !pop(SAT_IN[sub])) return 0;
      return push(SAT_OUT[sub]);
    }
    if (sub == 10) { // memory.copy dst src
      if (!(features & F_BULK_MEMORY)) return 0;
      i32 td = memIndex(), ts = memIndex();
      if (td == 0 || ts == 0) return 0;
      return pop(td == I64 && ts == I64 ? I64 : I32) && pop(ts) && pop(td);
    }
    if (sub == 11) { // memory.fill
      if (!(features & F_BULK_MEMORY)) return 0;
      i32 t = memIndex();
      return t != 0 && pop(t) && pop(I32) && pop(t);
    }
    return 0;
  }
  default:
    return 0; // everything else: the function compiler validates
  }
}

// ---------------------------------------------------------------------------------------------------------
// The operator loop

/** Pop an operand of type t inline (the hot loop's form of pop()); declines the body on a mismatch. */
#define POP(t)                                                                                                 \
  do {                                                                                                         \
    if (s_ == base) {                                                                                          \
      if (!dead) return f;                                                                                     \
    } else {                                                                                                   \
      i32 got_ = stk[--s_];                                                                                    \
      if (got_ != (t) && got_ != BOTTOM) return f;                                                            \
    }                                                                                                          \
  } while (0)

/** A one-byte u32 immediate in place, else the general reader. */
#define IMM_U32(x)                                                                                             \
  do {                                                                                                         \
    if (p_ < e_ && code[p_] < 0x80) (x) = code[p_++];                                                      \
    else {                                                                                                     \
      pos = p_;                                                                                                \
      if (!readU32(&(x))) return f;                                                                            \
      p_ = pos;                                                                                                \
    }                                                                         \
  } while (0)

/**
 * Validate the bodies of functions [first, last) (see ctx.starts/ends, indexed by f - delta). Returns the first
 * function not accepted, `last` when all were, or OUTGROWN when a body ran out of stack or frame room
 * (ctx.current says which).
 */
__attribute__((export_name("validate_bodies"))) i32 validate_bodies(i32 first, i32 last, i32 delta) {
  code = (const u8 *)ctx.code;
  stack = (u8 *)ctx.stack;
  stackLimit = ctx.stackCap - 1;
  fKind = (u8 *)ctx.fKind;
  fDead = (u8 *)ctx.fDead;
  fHeight = (i32 *)ctx.fHeight;
  fParams = (i32 *)ctx.fParams;
  fResults = (i32 *)ctx.fResults;
  maxDepth = ctx.depthCap;
  listStart = (i32 *)ctx.listStart;
  listLen = (i32 *)ctx.listLen;
  listTypes = (const u8 *)ctx.listTypes;
  locals = (u8 *)ctx.locals;
  features = ctx.features;
  const i32 *starts = (const i32 *)ctx.starts, *ends = (const i32 *)ctx.ends;
  const i32 *funcTypes = (const i32 *)ctx.funcTypes;
  const u8 *typePlain = (const u8 *)ctx.typePlain;
  const u8 *numIn = (const u8 *)ctx.numIn, *numOut = (const u8 *)ctx.numOut, *numArity = (const u8 *)ctx.numArity;
  const u8 *memType = (const u8 *)ctx.memType, *memSize = (const u8 *)ctx.memSize;
  const u8 *globalTypes = (const u8 *)ctx.globalTypes, *globalMutable = (const u8 *)ctx.globalMutable;
  const i32 *singleList = (const i32 *)ctx.singleList;
  const i32 numFuncs = ctx.numFuncs, numGlobals = ctx.numGlobals, emptyList = ctx.emptyList;
  const int mem0Is32 = ctx.numMems > 0 && ((const u8 *)ctx.mem64)[0] == 0;

  // (the arrays in locals too: the globals are for the helpers, and a global is read from memory at each use)
  u8 *const stk = stack, *const fk = fKind, *const fd = fDead, *const lc = locals;
  i32 *const fh = fHeight, *const fp = fParams, *const fr = fResults, *const ls = listStart, *const ll = listLen;
  const u8 *const lt = listTypes;
  // The hot loop's state in locals (the helpers above work on the globals: synced around their calls).
  i32 p_, e_, s_, d_;
  for (i32 f = first; f < last; f++) {
    ctx.current = f;
    outgrown = 0;
    i32 ti = funcTypes[f];
    if (typePlain[ti] == 0) return f;
    p_ = starts[f - delta] - ctx.bias;
    e_ = ends[f - delta] - ctx.bias;
    pos = p_;
    end = e_;
    if (!readLocals(2 * ti)) return f;
    p_ = pos;
    fk[0] = K_FUNC;
    fh[0] = 0;
    fd[0] = 0;
    fp[0] = emptyList;
    fr[0] = 2 * ti + 1;
    s_ = 0;
    d_ = 1;
    i32 base = 0, dead = 0;
    u32 x;
    while (d_ > 0) {
      if (p_ >= e_) return f;
      if (s_ >= stackLimit) return OUTGROWN;
      i32 op = code[p_++];
      if (op >= 0x45 && op <= 0xc4) {
        i32 tin = numIn[op];
        if (tin == 0) return f;
        if (numArity[op] == 2) POP(tin);
        POP(tin);
        stk[s_++] = numOut[op];
        continue;
      }
      if (op >= 0x28 && op <= 0x3e) {
        i32 size = memSize[op];
        i32 at = I32;
        // memarg: alignment and offset of one byte each on a 32-bit memory 0 in place; else the general form.
        if (mem0Is32 && p_ + 1 < e_ && (x = code[p_]) <= 4 && (1 << x) <= size && code[p_ + 1] < 0x80) p_ += 2;
        else {
          pos = p_;
          if ((at = memarg(size)) == 0) return f;
          p_ = pos;
        }
        i32 t = memType[op];
        if (op >= 0x36) {
          POP(t);
          POP(at);
        } else {
          POP(at);
          stk[s_++] = (u8)t;
        }
        continue;
      }
      switch (op) {
      case 0x02:   // block
      case 0x03:   // loop
      case 0x04: { // if
        i32 params = emptyList, results = emptyList;
        x = p_ < e_ ? code[p_] : 0;
        if (x == 0x40) p_++;
        else if (x > 0x40 && x < 0x80 && isPlainType((i32)x)) {
          p_++;
          results = singleList[x];
        } else {
          pos = p_;
          if (!blockType()) return f;
          p_ = pos;
          params = blockParams;
          results = blockResults;
        }
        if (op == 0x04) POP(I32);
        i32 s = ls[params], n = ll[params];
        for (i32 i = n - 1; i >= 0; i--) POP(lt[s + i]);
        if (d_ == maxDepth) return OUTGROWN;
        fk[d_] = op == 0x02 ? K_BLOCK : op == 0x03 ? K_LOOP : K_IF;
        fh[d_] = s_;
        fd[d_] = 0;
        fp[d_] = params;
        fr[d_] = results;
        d_++;
        base = s_;
        dead = 0;
        if (s_ + n >= stackLimit) return OUTGROWN;
        for (i32 i = 0; i < n; i++) stk[s_++] = lt[s + i];
        break;
      }
      case 0x0b: { // e_
        i32 d = d_ - 1;
        i32 results = fr[d];
        i32 s = ls[results], n = ll[results];
        for (i32 i = n - 1; i >= 0; i--) POP(lt[s + i]);
        if (s_ != base) return f;
        // An if without else: the params pass through the implicit else, so they must be the results.
        if (fk[d] == K_IF && !sameTypes(fp[d], results)) return f;
        d_ = d;
        if (d > 0) {
          base = fh[d - 1];
          dead = fd[d - 1];
          if (s_ + n >= stackLimit) return OUTGROWN;
          for (i32 i = 0; i < n; i++) stk[s_++] = lt[s + i];
        }
        break;
      }
      case 0x0c:   // br
      case 0x0d: { // br_if
        IMM_U32(x);
        if (x >= (u32)d_) return f;
        i32 d = d_ - 1 - (i32)x;
        i32 types = fk[d] == K_LOOP ? fp[d] : fr[d];
        if (op == 0x0d) POP(I32);
        i32 s = ls[types], n = ll[types];
        for (i32 i = n - 1; i >= 0; i--) POP(lt[s + i]);
        if (op == 0x0c) {
          s_ = base;
          dead = 1;
          fd[d_ - 1] = 1;
        } else {
          if (s_ + n >= stackLimit) return OUTGROWN;
          for (i32 i = 0; i < n; i++) stk[s_++] = lt[s + i];
        }
        break;
      }
      case 0x0f: { // return
        i32 results = fr[0];
        i32 s = ls[results];
        for (i32 i = ll[results] - 1; i >= 0; i--) POP(lt[s + i]);
        s_ = base;
        dead = 1;
        fd[d_ - 1] = 1;
        break;
      }
      case 0x10: { // call
        IMM_U32(x);
        if (x >= (u32)numFuncs) return f;
        i32 t = funcTypes[x];
        if (typePlain[t] == 0) return f;
        i32 s = ls[2 * t];
        for (i32 i = ll[2 * t] - 1; i >= 0; i--) POP(lt[s + i]);
        s = ls[2 * t + 1];
        i32 n = ll[2 * t + 1];
        if (s_ + n >= stackLimit) return OUTGROWN;
        for (i32 i = 0; i < n; i++) stk[s_++] = lt[s + i];
        break;
      }
      case 0x1a: // drop
        if (s_ == base) {
          if (!dead) return f;
        } else s_--;
        break;
      case 0x20:   // local.get
      case 0x21:   // local.set
      case 0x22: { // local.tee
        IMM_U32(x);
        if (x >= (u32)numLocals) return f;
        i32 t = lc[x];
        if (t == 0) return f;
        if (op != 0x20) POP(t);
        if (op != 0x21) stk[s_++] = (u8)t;
        break;
      }
      case 0x23:   // global.get
      case 0x24: { // global.set
        IMM_U32(x);
        if (x >= (u32)numGlobals) return f;
        i32 t = globalTypes[x];
        if (t == 0) return f;
        if (op == 0x23) stk[s_++] = (u8)t;
        else {
          if (globalMutable[x] == 0) return f;
          POP(t);
        }
        break;
      }
      case 0x41: // i32.const
        if (p_ < e_ && code[p_] < 0x80) p_++;
        else {
          pos = p_;
          if (!readS32()) return f;
          p_ = pos;
        }
        stk[s_++] = I32;
        break;
      case 0x42: // i64.const
        if (p_ < e_ && code[p_] < 0x80) p_++;
        else {
          pos = p_;
          if (!readS64()) return f;
          p_ = pos;
        }
        stk[s_++] = I64;
        break;
      case 0x43: // f32.const
        if (e_ - p_ < 4) return f;
        p_ += 4;
        stk[s_++] = F32;
        break;
      case 0x44: // f64.const
        if (e_ - p_ < 8) return f;
        p_ += 8;
        stk[s_++] = F64;
        break;
      default:
        pos = p_;
        sp = s_;
        depth = d_;
        if (!rareOperator(op)) return outgrown ? OUTGROWN : f;
        p_ = pos;
        s_ = sp;
        d_ = depth;
        base = fh[d_ - 1];
        dead = fd[d_ - 1];
      }
    }
    if (p_ != e_) return f;
  }
  return last;
}
