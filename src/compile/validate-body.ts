// A validator for function bodies that emits nothing: lazy compilation's up-front pass (every body must be
// validated before the Module exists) runs this instead of the full function compiler in validate-only mode,
// which pays for the code generator's bookkeeping on every operator.
//
// It is an accelerator, not a second source of truth: `validateBody` returns true only for a body it has
// fully checked and found valid, and false for anything else: an invalid body, or one using an operator,
// type or immediate outside the common subset it knows (SIMD, tables, exceptions, typed references, ...).
// On false the caller validates that body with the function compiler, which gives the exact CompileError
// (or accepts). So the one rule that matters: it must never accept a body the function compiler rejects.
// Where that would take care (non-defaultable locals, subtyping), it declines instead. Types are compared
// for equality only, which is stricter than subtyping.

import { ByteReader } from '../decode/reader.js';
import { type ModuleInfo, ValType } from '../decode/types.js';
import type { Features } from '../decode/features.js';

/** Bottom type of unreachable code (matches anything), as in the function compiler. */
const BOTTOM = 0;

const I32 = ValType.I32, I64 = ValType.I64, F32 = ValType.F32, F64 = ValType.F64, V128 = ValType.V128;
const FUNCREF = ValType.FuncRef, EXTERNREF = ValType.ExternRef;

// Block kinds
const K_BLOCK = 0, K_LOOP = 1, K_IF = 2, K_ELSE = 3, K_FUNC = 4;
/** Block type of `block` with no params and no results (s33 -64). */
const BT_EMPTY = -64;

const MAX_LOCALS = 50000; // the function compiler's limit
// Operand stack and control depth: the thread's scratch starts at these capacities; a body that outgrows them
// is validated again with doubled ones (Go's resumable functions nest thousands of blocks), up to the limits.
const FIRST_STACK = 4096;
const FIRST_DEPTH = 1024;
const LIMIT_STACK = 1 << 20; // (deeper bodies: declined, the function compiler validates them)
const LIMIT_DEPTH = 1 << 20;
const KEEP_STACK = 1 << 16; // larger scratch is dropped after the body that needed it
const KEEP_DEPTH = 1 << 16;
const MAX_BR_TABLE = 1_000_000; // likewise
/**
 * run()'s result for a body that ran out of stack or frame room (the body is this.current). A constant, not
 * a call to outgrow() or arithmetic on f: in optimised code, an operation on a path never taken before has
 * no type feedback, and reaching it throws the optimised loop away.
 */
const OUTGROWN = -1;

// Numeric operators 0x45..0xc4: operand type, result type, and 1 (unary) or 2 (binary) operands.
const NUM_IN = new Uint8Array(256);
const NUM_OUT = new Uint8Array(256);
export const NUM_ARITY = new Uint8Array(256);
function num(from: number, to: number, arity: number, tin: number, tout: number): void {
  for (let op = from; op <= to; op++) {
    NUM_IN[op] = tin;
    NUM_OUT[op] = tout;
    NUM_ARITY[op] = arity;
  }
}
num(0x45, 0x45, 1, I32, I32); // i32.eqz
num(0x46, 0x4f, 2, I32, I32); // i32 compares
num(0x50, 0x50, 1, I64, I32); // i64.eqz
num(0x51, 0x5a, 2, I64, I32); // i64 compares
num(0x5b, 0x60, 2, F32, I32); // f32 compares
num(0x61, 0x66, 2, F64, I32); // f64 compares
num(0x67, 0x69, 1, I32, I32); // i32 clz ctz popcnt
num(0x6a, 0x78, 2, I32, I32); // i32 add .. rotr
num(0x79, 0x7b, 1, I64, I64);
num(0x7c, 0x8a, 2, I64, I64);
num(0x8b, 0x91, 1, F32, F32); // f32 abs .. sqrt
num(0x92, 0x98, 2, F32, F32); // f32 add .. copysign
num(0x99, 0x9f, 1, F64, F64);
num(0xa0, 0xa6, 2, F64, F64);
num(0xa7, 0xa7, 1, I64, I32); // i32.wrap_i64
num(0xa8, 0xa9, 1, F32, I32); // i32.trunc_f32_s/u
num(0xaa, 0xab, 1, F64, I32);
num(0xac, 0xad, 1, I32, I64); // i64.extend_i32_s/u
num(0xae, 0xaf, 1, F32, I64);
num(0xb0, 0xb1, 1, F64, I64);
num(0xb2, 0xb3, 1, I32, F32); // f32.convert_i32_s/u
num(0xb4, 0xb5, 1, I64, F32);
num(0xb6, 0xb6, 1, F64, F32); // f32.demote_f64
num(0xb7, 0xb8, 1, I32, F64);
num(0xb9, 0xba, 1, I64, F64);
num(0xbb, 0xbb, 1, F32, F64); // f64.promote_f32
num(0xbc, 0xbc, 1, F32, I32); // reinterprets
num(0xbd, 0xbd, 1, F64, I64);
num(0xbe, 0xbe, 1, I32, F32);
num(0xbf, 0xbf, 1, I64, F64);
// 0xc0..0xc4 (sign extension) are added per feature set: see SIGN_EXT below.
const SIGN_EXT_FIRST = 0xc0, SIGN_EXT_LAST = 0xc4;

// Loads 0x28..0x35 and stores 0x36..0x3e: value type and access size in bytes.
export const MEM_TYPE = new Uint8Array(0x3f);
export const MEM_SIZE = new Uint8Array(0x3f);
function mem(op: number, t: number, size: number): void {
  MEM_TYPE[op] = t;
  MEM_SIZE[op] = size;
}
mem(0x28, I32, 4); mem(0x29, I64, 8); mem(0x2a, F32, 4); mem(0x2b, F64, 8);
mem(0x2c, I32, 1); mem(0x2d, I32, 1); mem(0x2e, I32, 2); mem(0x2f, I32, 2);
mem(0x30, I64, 1); mem(0x31, I64, 1); mem(0x32, I64, 2); mem(0x33, I64, 2); mem(0x34, I64, 4); mem(0x35, I64, 4);
mem(0x36, I32, 4); mem(0x37, I64, 8); mem(0x38, F32, 4); mem(0x39, F64, 8);
mem(0x3a, I32, 1); mem(0x3b, I32, 2); mem(0x3c, I64, 1); mem(0x3d, I64, 2); mem(0x3e, I64, 4);

// 0xfc 0..7 (saturating truncation): operand and result types.
const SAT_IN = [F32, F32, F64, F64, F32, F32, F64, F64];
const SAT_OUT = [I32, I32, I32, I32, I64, I64, I64, I64];

/** The value types this validator handles (v128 only with SIMD on). */
const PLAIN_TYPES = [I32, I64, F32, F64, V128, FUNCREF, EXTERNREF];
const EMPTY: number[] = [];

function isPlainType(t: number, simd: boolean): boolean {
  return t === I32 || t === I64 || t === F32 || t === F64 || t === FUNCREF || t === EXTERNREF || (t === V128 && simd);
}

/**
 * A module's tables for the fast validators (this one and its WebAssembly build, validator-wasm/validate.c):
 * types lists (params and results of each function type, block results) flattened into typed arrays, so the
 * hot loops read no module objects (and V8's optimised code does not depend on their shapes).
 */
export interface ValidatorTables {
  /** Numeric operators' operand type (0: declined, e.g. sign extension without the feature). */
  numIn: Uint8Array;
  /** Their result type. */
  numOut: Uint8Array;
  /** Per global: its type (0: a type outside the subset: global.get of one declines) and mutability. */
  globalTypes: Uint8Array;
  globalMutable: Uint8Array;
  funcTypes: Int32Array;
  numTypes: number;
  /** Per type index: 1 when every param and result is a plain type (the others are declined). */
  typePlain: Uint8Array;
  // Type lists: list 2t = params of type t, 2t + 1 = its results; emptyList; then one list per plain type.
  listStart: Int32Array;
  listLen: Int32Array;
  listTypes: Uint8Array;
  emptyList: number;
  /** Block type -(value type) -> its one-element list. */
  singleList: Int32Array;
  /** Per memory: 1 when 64-bit. */
  mem64: Uint8Array;
}

export function validatorTables(info: ModuleInfo, features: Features): ValidatorTables {
  const numIn = NUM_IN.slice();
  const numOut = NUM_OUT.slice();
  for (let op = SIGN_EXT_FIRST; op <= SIGN_EXT_LAST; op++) {
    numIn[op] = numOut[op] = features.signExt ? (op <= 0xc1 ? I32 : I64) : 0;
  }
  const n = info.globals.length;
  const globalTypes = new Uint8Array(n);
  const globalMutable = new Uint8Array(n);
  for (let g = 0; g < n; g++) {
    const t = info.globals[g].type;
    globalTypes[g] = isPlainType(t, features.simd) ? t : 0;
    globalMutable[g] = info.globals[g].mutable ? 1 : 0;
  }
  const types = info.types;
  const nt = types.length;
  const typePlain = new Uint8Array(nt);
  let total = PLAIN_TYPES.length;
  for (let i = 0; i < nt; i++) {
    const { params, results } = types[i];
    // (struct and array types are no block or call types: a body naming one is declined)
    const plain = (types[i].kind ?? 0) === 0 && params.every((t) => isPlainType(t, features.simd)) && results.every((t) => isPlainType(t, features.simd));
    typePlain[i] = plain ? 1 : 0;
    if (plain) total += params.length + results.length;
  }
  const lists = 2 * nt + 1 + PLAIN_TYPES.length;
  const listStart = new Int32Array(lists);
  const listLen = new Int32Array(lists);
  const listTypes = new Uint8Array(total);
  let at = 0;
  const add = (id: number, list: readonly number[]): void => {
    listStart[id] = at;
    listLen[id] = list.length;
    for (const t of list) listTypes[at++] = t;
  };
  for (let i = 0; i < nt; i++) {
    if (typePlain[i] === 0) continue; // (declined before use)
    add(2 * i, types[i].params);
    add(2 * i + 1, types[i].results);
  }
  const emptyList = 2 * nt;
  add(emptyList, EMPTY);
  const singleList = new Int32Array(256);
  for (let k = 0; k < PLAIN_TYPES.length; k++) {
    const t = PLAIN_TYPES[k];
    singleList[t] = 2 * nt + 1 + k;
    add(2 * nt + 1 + k, [t]);
  }
  const mem64 = new Uint8Array(info.memories.length);
  for (let i = 0; i < info.memories.length; i++) mem64[i] = info.memories[i].index64 ? 1 : 0;
  return {
    numIn, numOut, globalTypes, globalMutable, funcTypes: Int32Array.from(info.funcTypes), numTypes: nt, typePlain,
    listStart, listLen, listTypes, emptyList, singleList, mem64,
  };
}

/**
 * Validates bodies of one module; reusable across bodies, allocation-free once its arrays have grown. Types
 * lists (params and results of each function type, block results) are flattened into typed arrays, so the
 * hot loop reads no module objects (and V8's optimised code does not depend on their shapes).
 */
// The fixed-capacity scratch arrays (~70 KB) are this thread's, shared by every validator: validate() runs to
// the end without calling out, so two never interleave, and a module's validator must not allocate them
// again (a loop of small lazily compiled modules spent a third of its time there).
interface Scratch {
  stack: Uint8Array;
  fKind: Uint8Array;
  fHeight: Int32Array;
  fDead: Uint8Array;
  fParams: Int32Array;
  fResults: Int32Array;
  locals: Uint8Array;
}
let scratch: Scratch | null = null;
const NO_BYTES = new Uint8Array(0);
const NO_INTS = new Int32Array(0);

function newScratch(stackCap: number, depthCap: number): Scratch {
  return {
    stack: new Uint8Array(stackCap), fKind: new Uint8Array(depthCap), fHeight: new Int32Array(depthCap),
    fDead: new Uint8Array(depthCap), fParams: new Int32Array(depthCap), fResults: new Int32Array(depthCap),
    locals: scratch?.locals ?? new Uint8Array(MAX_LOCALS),
  };
}

function threadScratch(): Scratch {
  return (scratch ??= newScratch(FIRST_STACK, FIRST_DEPTH));
}

/** Double the thread's scratch (both capacities); false at the limits. */
function growScratch(stackCap: number, depthCap: number): boolean {
  if (stackCap >= LIMIT_STACK && depthCap >= LIMIT_DEPTH) return false;
  scratch = newScratch(Math.min(2 * stackCap, LIMIT_STACK), Math.min(2 * depthCap, LIMIT_DEPTH));
  return true;
}

export class BodyValidator {
  // Fixed capacities in the hot loop: a body that needs more fails with `outgrown` set, and validate() grows the
  // thread's scratch and starts the body again. Growth code in the loop would cost a deoptimisation the first
  // time it ran.
  // (These start as placeholders and useScratch() sets them in the constructor: a field V8 has seen hold only one
  // value is 'const', and the first time useScratch() changed it after the scratch grew, V8 threw away all the
  // optimised code that depended on that (the validator's loop and ~25 functions inlined or not).)
  private stack: Uint8Array = NO_BYTES;
  private sp = 0;
  /** Operand stack room: the loop declines at this height (one value below capacity, as an operator pushes one). */
  private stackLimit = -1;
  // Control frames, as parallel arrays: kind, operand height at entry (after its params), unreachable flag, and
  // the type lists of its params and results.
  private fKind: Uint8Array = NO_BYTES;
  private fHeight: Int32Array = NO_INTS;
  private fDead: Uint8Array = NO_BYTES;
  private fParams: Int32Array = NO_INTS;
  private fResults: Int32Array = NO_INTS;
  private depth = 0;
  /** Set when a body failed only for lack of stack or frame room. */
  private outgrown = false;
  private readonly locals = threadScratch().locals;
  private numLocals = 0;
  private depths: Int32Array = NO_INTS; // (set in the constructor, as the scratch above)
  private readonly r = new ByteReader(new Uint8Array(0));
  private readonly numIn: Uint8Array;
  private readonly globalTypes: Uint8Array;
  private readonly globalMutable: Uint8Array;
  private readonly mem64: Uint8Array;
  private readonly funcTypes: Int32Array;
  private readonly numTypes: number;
  /** Per type index: 1 when every param and result is a plain type (the others are declined). */
  private readonly typePlain: Uint8Array;
  // Type lists: list 2t = params of type t, 2t + 1 = its results; EMPTY_LIST; then one list per plain type.
  private readonly listStart: Int32Array;
  private readonly listLen: Int32Array;
  private readonly listTypes: Uint8Array;
  private readonly emptyList: number;
  /** Block type -(value type) -> its one-element list. */
  private readonly singleList: Int32Array;

  constructor(private readonly info: ModuleInfo, private readonly features: Features) {
    this.useScratch();
    this.depths = new Int32Array(64);
    const t = validatorTables(info, features);
    this.numIn = t.numIn;
    this.globalTypes = t.globalTypes;
    this.globalMutable = t.globalMutable;
    this.funcTypes = t.funcTypes;
    this.numTypes = t.numTypes;
    this.typePlain = t.typePlain;
    this.listStart = t.listStart;
    this.listLen = t.listLen;
    this.listTypes = t.listTypes;
    this.emptyList = t.emptyList;
    this.singleList = t.singleList;
    this.mem64 = t.mem64;
  }

  /**
   * Validate the body of function f at bytes[start, end) (start: after the size field). True: valid. False:
   * invalid or not in this validator's subset; the function compiler must decide.
   */
  validate(f: number, bytes: Uint8Array, start: number, end: number): boolean {
    this.oneStart[0] = start;
    this.oneEnd[0] = end;
    return this.validateBodies(f, f + 1, bytes, this.oneStart, this.oneEnd, f) === f + 1;
  }
  private readonly oneStart = new Int32Array(1);
  private readonly oneEnd = new Int32Array(1);

  /**
   * Validate the bodies of functions [first, last), body f at bytes[starts[f - delta], ends[f - delta]), in
   * one run of the operator loop (the loop's prologue, ~25 field loads, once per batch instead of once per body;
   * measured, a run per body and a run per batch validated equally fast). Returns the first function it did not accept (invalid, or outside this
   * validator's subset: the function compiler must decide), or `last` when it accepted them all.
   */
  validateBodies(first: number, last: number, bytes: Uint8Array, starts: Int32Array, ends: Int32Array, delta = 0): number {
    const r = this.r;
    r.bytes = bytes;
    let f = first;
    for (;;) {
      if (this.stack !== threadScratch().stack) this.useScratch();
      this.outgrown = false;
      let next: number;
      try {
        next = this.run(f, last, starts, ends, delta);
      } catch {
        next = this.current; // a malformed immediate (the reader throws): the function compiler reports it
      }
      if (next === OUTGROWN) {
        next = this.current;
        this.outgrown = true;
      }
      f = next;
      if (f === last) break;
      // A body that ran out of stack or frame room only: again, with doubled room.
      if (!this.outgrown || !growScratch(this.stack.length, this.fKind.length)) break;
    }
    // A pathological body's capacities (up to ~15 MB) are not kept for the thread's life.
    if (this.fKind.length > KEEP_DEPTH || this.stack.length > KEEP_STACK) scratch = null;
    return f;
  }
  /** The function run() is validating. */
  private current = 0;

  /** Point the hot loop's arrays at the thread's scratch (after it grew). */
  private useScratch(): void {
    const s = threadScratch();
    this.stack = s.stack;
    this.stackLimit = s.stack.length - 1;
    this.fKind = s.fKind;
    this.fHeight = s.fHeight;
    this.fDead = s.fDead;
    this.fParams = s.fParams;
    this.fResults = s.fResults;
  }

  /** Locals: the params (list `params`), then the declared ones. */
  private readLocals(params: number): boolean {
    const r = this.r;
    let n = this.listLen[params];
    const types = this.listTypes;
    for (let i = 0, s = this.listStart[params]; i < n; i++) this.locals[i] = types[s + i];
    const simd = this.features.simd;
    const groups = r.u32();
    for (let g = 0; g < groups; g++) {
      const count = r.u32();
      const t = r.u8();
      // Declared locals must be defaultable: only plain types here (a non-nullable reference local needs the
      // function compiler's initialisation tracking).
      if (!isPlainType(t, simd)) return false;
      if (n + count > MAX_LOCALS) return false;
      this.locals.fill(t, n, n + count);
      n += count;
    }
    this.numLocals = n;
    return true;
  }



  // ---------------------------------------------------------------------------------------------------------
  // Operand stack (types), with the polymorphic bottom of unreachable code

  /** Push a type (the operator loop keeps room for one: see its check). */
  private push(t: number): void {
    this.stack[this.sp++] = t;
  }

  /** Pop an operand of type t (BOTTOM-typed operands and an empty unreachable frame match). */
  private pop(t: number): boolean {
    const d = this.depth - 1;
    if (this.sp === this.fHeight[d]) return this.fDead[d] === 1;
    const got = this.stack[--this.sp];
    return got === t || got === BOTTOM;
  }

  /** Pop any operand: its type, BOTTOM in unreachable code, -1 when there is none. */
  private popAny(): number {
    const d = this.depth - 1;
    if (this.sp === this.fHeight[d]) return this.fDead[d] === 1 ? BOTTOM : -1;
    return this.stack[--this.sp];
  }

  /** Pop the types of list `l` (last one first). */
  private popTypes(l: number): boolean {
    const types = this.listTypes, s = this.listStart[l];
    for (let i = this.listLen[l] - 1; i >= 0; i--) if (!this.pop(types[s + i])) return false;
    return true;
  }

  /** Push list l's types; false when they do not fit (the body is declined). */
  private pushTypes(l: number): boolean {
    const types = this.listTypes, s = this.listStart[l], n = this.listLen[l];
    if (this.sp + n >= this.stackLimit) return this.outgrow();
    for (let i = 0; i < n; i++) this.push(types[s + i]);
    return true;
  }

  /** Whether the top of the stack holds list l's types (without popping; BOTTOM matches in unreachable code). */
  private hasTypes(l: number): boolean {
    const d = this.depth - 1;
    const base = this.fHeight[d];
    const types = this.listTypes, s = this.listStart[l];
    let p = this.sp;
    for (let i = this.listLen[l] - 1; i >= 0; i--) {
      if (p === base) return this.fDead[d] === 1;
      const got = this.stack[--p];
      if (got !== types[s + i] && got !== BOTTOM) return false;
    }
    return true;
  }

  /** Whether lists a and b hold the same types. */
  private sameTypes(a: number, b: number): boolean {
    const n = this.listLen[a];
    if (this.listLen[b] !== n) return false;
    const types = this.listTypes, sa = this.listStart[a], sb = this.listStart[b];
    for (let i = 0; i < n; i++) if (types[sa + i] !== types[sb + i]) return false;
    return true;
  }

  private setUnreachable(): void {
    const d = this.depth - 1;
    this.sp = this.fHeight[d];
    this.fDead[d] = 1;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Control frames

  /** Decline for lack of room (validate() grows the scratch and tries again). */
  private outgrow(): false {
    this.outgrown = true;
    return false;
  }

  /** Types a branch to frame d carries (a list): a loop's params, any other block's results. */
  private labelTypes(d: number): number {
    return this.fKind[d] === K_LOOP ? this.fParams[d] : this.fResults[d];
  }

  /**
   * Block type immediate: sets blockParams / blockResults (type lists); false when this validator declines
   * it (a reference type beyond funcref/externref, a type with such types, an unknown type: the compiler decides).
   */
  private blockType(): boolean {
    const at = this.r.pos;
    const bt = this.r.s33();
    if (bt === BT_EMPTY) {
      this.blockParams = this.blockResults = this.emptyList;
      return true;
    }
    if (bt < 0) {
      if (this.r.pos !== at + 1) return false; // (more than one byte: no value type; the function compiler reports it)
      const t = bt & 0x7f;
      if (!isPlainType(t, this.features.simd)) return false;
      this.blockParams = this.emptyList;
      this.blockResults = this.singleList[t];
      return true;
    }
    if (bt >= this.numTypes || this.typePlain[bt] === 0) return false;
    this.blockParams = 2 * bt;
    this.blockResults = 2 * bt + 1;
    return true;
  }
  private blockParams = 0;
  private blockResults = 0;

  /** Label depth immediate -> frame index, or -1 when out of range. */
  private label(): number {
    const l = this.r.u32();
    return l < this.depth ? this.depth - 1 - l : -1;
  }

  /** `end` and `else`: the frame's results must be exactly what is on the stack above its height. */
  private checkFrameEnd(d: number): boolean {
    if (!this.popTypes(this.fResults[d])) return false;
    return this.sp === this.fHeight[d];
  }

  // ---------------------------------------------------------------------------------------------------------
  // Immediates

  /** memarg of an access of `size` bytes; returns its memory's address type, or 0 when declined/invalid. */
  private memarg(size: number): number {
    const r = this.r;
    let flags = r.u32();
    let m = 0;
    if (flags & 0x40) {
      if (!this.features.multiMemory) return 0;
      flags -= 0x40; // (not `&= ~0x40`: that would make flags >= 2^31 negative)
      m = r.u32();
    }
    // (a shift, not `2 ** flags`: V8 computes ** with a C pow call, even in optimised code; size <= 16)
    if (flags > 4 || 1 << flags > size) return 0;
    if (m >= this.mem64.length) return 0;
    if (this.mem64[m] === 1) {
      r.u64();
      return I64;
    }
    if (this.features.memoryU64Leb) {
      r.u64();
      return r.hi === 0 ? I32 : 0;
    }
    r.u32();
    return I32;
  }

  /** Memory index of memory.size/grow/copy/fill; its address type, or 0 when invalid. */
  private memIndex(): number {
    const r = this.r;
    const m = this.features.multiMemory ? r.u32() : r.u8();
    if (m >= this.mem64.length || (m !== 0 && !this.features.multiMemory)) return 0;
    return this.mem64[m] === 1 ? I64 : I32;
  }

  // ---------------------------------------------------------------------------------------------------------
  // The operator loop

  // The hot loop keeps the validator's state in locals (position, stack height, depth, the innermost frame's
  // height and unreachable flag) and reads immediates' one-byte forms in place: a fresh process runs it
  // interpreted and then in baseline code for much of its first module, where every `this.x` and every small
  // method call costs an inline-cache lookup or a call frame, and optimised code keeps locals in registers.
  // The state goes back into the fields around calls to the methods below (rare operators and long immediates).
  // One run validates many bodies (see validateBodies).
  private run(first: number, last: number, starts: Int32Array, ends: Int32Array, delta: number): number {
    const r = this.r;
    const code = r.bytes;
    const numIn = this.numIn;
    const stack = this.stack, stackLimit = this.stackLimit;
    const fKind = this.fKind, fHeight = this.fHeight, fDead = this.fDead, fParams = this.fParams, fResults = this.fResults;
    const maxDepth = fKind.length;
    const listStart = this.listStart, listLen = this.listLen, listTypes = this.listTypes;
    const locals = this.locals;
    const funcTypes = this.funcTypes, numFuncs = funcTypes.length, typePlain = this.typePlain;
    const globalTypes = this.globalTypes, globalMutable = this.globalMutable, numGlobals = globalTypes.length;
    const emptyList = this.emptyList, singleList = this.singleList, simd = this.features.simd;
    const mem0Is32 = this.mem64.length > 0 && this.mem64[0] === 0;
    let pos = 0, end = 0, sp = 0, depth = 0, numLocals = 0;
    // The innermost frame's operand height and unreachable flag (= fHeight / fDead[depth - 1]).
    let base = 0, dead = 0;
    // Popping an operand of type t, everywhere below (BOTTOM matches; at the frame's height only in dead code):
    //   if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== t && g !== BOTTOM) return f;
    let g = 0, x = 0, s = 0, n = 0;
    for (let f = first; f < last; f++) {
      this.current = f;
      const ti = funcTypes[f];
      if (typePlain[ti] === 0) return f;
      r.pos = starts[f - delta];
      r.end = end = ends[f - delta];
      if (!this.readLocals(2 * ti)) return f;
      pos = r.pos;
      numLocals = this.numLocals;
      // The function's frame: no params (they are locals), its type's results.
      fKind[0] = K_FUNC;
      fHeight[0] = 0;
      fDead[0] = 0;
      fParams[0] = emptyList;
      fResults[0] = 2 * ti + 1;
      sp = base = dead = 0;
      depth = 1;
      while (depth > 0) {
        if (pos >= end) return f;
        if (sp >= stackLimit) return OUTGROWN;
        const op = code[pos++];
        if (op >= 0x45 && op <= 0xc4) {
          const tin = numIn[op];
          if (tin === 0) return f;
          if (NUM_ARITY[op] === 2) {
            if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== tin && g !== BOTTOM) return f;
          }
          if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== tin && g !== BOTTOM) return f;
          stack[sp++] = op >= SIGN_EXT_FIRST ? tin : NUM_OUT[op];
          continue;
        }
        if (op >= 0x28 && op <= 0x3e) {
          const size = MEM_SIZE[op];
          let at: number = I32;
          // memarg: alignment (no memory index) and offset of one byte each, memory 0 32-bit; else the method.
          if (mem0Is32 && pos + 1 < end && (x = code[pos]) <= 4 && 1 << x <= size && code[pos + 1] < 0x80) pos += 2;
          else {
            r.pos = pos;
            at = this.memarg(size);
            pos = r.pos;
            if (at === 0) return f;
          }
          const t = MEM_TYPE[op];
          if (op >= 0x36) {
            if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== t && g !== BOTTOM) return f;
            if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== at && g !== BOTTOM) return f;
          } else {
            if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== at && g !== BOTTOM) return f;
            stack[sp++] = t;
          }
          continue;
        }
        switch (op) {
          case 0x02: // block
          case 0x03: // loop
          case 0x04: { // if
            // Block type: empty (0x40) and single value types in place; type indices through the method.
            let params = emptyList, results = emptyList;
            x = pos < end ? code[pos] : 0;
            if (x === 0x40) pos++;
            else if (x > 0x40 && x < 0x80 && isPlainType(x, simd)) {
              pos++;
              results = singleList[x];
            } else {
              r.pos = pos;
              if (!this.blockType()) return f;
              pos = r.pos;
              params = this.blockParams;
              results = this.blockResults;
            }
            if (op === 0x04) {
              if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== I32 && g !== BOTTOM) return f;
            }
            s = listStart[params];
            n = listLen[params];
            for (let i = n - 1; i >= 0; i--) {
              const t = listTypes[s + i];
              if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== t && g !== BOTTOM) return f;
            }
            if (depth === maxDepth) return OUTGROWN;
            fKind[depth] = op === 0x02 ? K_BLOCK : op === 0x03 ? K_LOOP : K_IF;
            fHeight[depth] = sp;
            fDead[depth] = 0;
            fParams[depth] = params;
            fResults[depth] = results;
            depth++;
            base = sp;
            dead = 0;
            if (sp + n >= stackLimit) return OUTGROWN;
            for (let i = 0; i < n; i++) stack[sp++] = listTypes[s + i];
            break;
          }
          case 0x0b: { // end
            const d = depth - 1;
            const results = fResults[d];
            s = listStart[results];
            n = listLen[results];
            for (let i = n - 1; i >= 0; i--) {
              const t = listTypes[s + i];
              if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== t && g !== BOTTOM) return f;
            }
            if (sp !== base) return f;
            // An if without else: the params pass through the implicit else, so they must be the results.
            if (fKind[d] === K_IF && !this.sameTypes(fParams[d], results)) return f;
            depth = d;
            if (d > 0) {
              base = fHeight[d - 1];
              dead = fDead[d - 1];
              if (sp + n >= stackLimit) return OUTGROWN;
              for (let i = 0; i < n; i++) stack[sp++] = listTypes[s + i];
            }
            break;
          }
          case 0x0c: // br
          case 0x0d: { // br_if
            x = pos < end ? code[pos] : 0x80;
            if (x < 0x80) pos++;
            else {
              r.pos = pos;
              x = r.u32();
              pos = r.pos;
            }
            if (x >= depth) return f;
            const d = depth - 1 - x;
            const types = fKind[d] === K_LOOP ? fParams[d] : fResults[d];
            if (op === 0x0d) {
              if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== I32 && g !== BOTTOM) return f;
            }
            s = listStart[types];
            n = listLen[types];
            for (let i = n - 1; i >= 0; i--) {
              const t = listTypes[s + i];
              if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== t && g !== BOTTOM) return f;
            }
            if (op === 0x0c) {
              sp = base;
              dead = 1;
              fDead[depth - 1] = 1;
            } else {
              if (sp + n >= stackLimit) return OUTGROWN;
              for (let i = 0; i < n; i++) stack[sp++] = listTypes[s + i];
            }
            break;
          }
          case 0x0f: { // return
            const results = fResults[0];
            s = listStart[results];
            for (let i = listLen[results] - 1; i >= 0; i--) {
              const t = listTypes[s + i];
              if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== t && g !== BOTTOM) return f;
            }
            sp = base;
            dead = 1;
            fDead[depth - 1] = 1;
            break;
          }
          case 0x10: { // call
            x = pos < end ? code[pos] : 0x80;
            if (x < 0x80) pos++;
            else {
              r.pos = pos;
              x = r.u32();
              pos = r.pos;
            }
            if (x >= numFuncs) return f;
            const ti = funcTypes[x];
            if (typePlain[ti] === 0) return f;
            s = listStart[2 * ti];
            for (let i = listLen[2 * ti] - 1; i >= 0; i--) {
              const t = listTypes[s + i];
              if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== t && g !== BOTTOM) return f;
            }
            s = listStart[2 * ti + 1];
            n = listLen[2 * ti + 1];
            if (sp + n >= stackLimit) return OUTGROWN;
            for (let i = 0; i < n; i++) stack[sp++] = listTypes[s + i];
            break;
          }
          case 0x1a: // drop
            if (sp === base) { if (dead === 0) return f; } else sp--;
            break;
          case 0x20: // local.get
          case 0x21: // local.set
          case 0x22: { // local.tee
            x = pos < end ? code[pos] : 0x80;
            if (x < 0x80) pos++;
            else {
              r.pos = pos;
              x = r.u32();
              pos = r.pos;
            }
            if (x >= numLocals) return f;
            const t = locals[x];
            if (t === 0) return f; // a parameter of a type outside the subset
            if (op !== 0x20) {
              if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== t && g !== BOTTOM) return f;
            }
            if (op !== 0x21) stack[sp++] = t;
            break;
          }
          case 0x23: // global.get
          case 0x24: { // global.set
            x = pos < end ? code[pos] : 0x80;
            if (x < 0x80) pos++;
            else {
              r.pos = pos;
              x = r.u32();
              pos = r.pos;
            }
            if (x >= numGlobals) return f;
            const t = globalTypes[x];
            if (t === 0) return f;
            if (op === 0x23) stack[sp++] = t;
            else {
              if (globalMutable[x] === 0) return f;
              if (sp === base) { if (dead === 0) return f; } else if ((g = stack[--sp]) !== t && g !== BOTTOM) return f;
            }
            break;
          }
          case 0x41: // i32.const
            if (pos < end && code[pos] < 0x80) pos++;
            else {
              r.pos = pos;
              r.s32();
              pos = r.pos;
            }
            stack[sp++] = I32;
            break;
          case 0x42: // i64.const
            if (pos < end && code[pos] < 0x80) pos++;
            else {
              r.pos = pos;
              r.s64();
              pos = r.pos;
            }
            stack[sp++] = I64;
            break;
          case 0x43: // f32.const
            if (end - pos < 4) return f;
            pos += 4;
            stack[sp++] = F32;
            break;
          case 0x44: // f64.const
            if (end - pos < 8) return f;
            pos += 8;
            stack[sp++] = F64;
            break;
          default:
            r.pos = pos;
            this.sp = sp;
            this.depth = depth;
            if (!this.rareOperator(op)) return f;
            pos = r.pos;
            sp = this.sp;
            depth = this.depth;
            base = fHeight[depth - 1];
            dead = fDead[depth - 1];
        }
      }
      if (pos !== end) return f;
    }
    return last;
  }

  /** Operators outside the hot loop (kept out of it so that V8 optimises the loop sooner and keeps it optimised). */
  private rareOperator(op: number): boolean {
    const r = this.r;
    const info = this.info;
    const features = this.features;
    switch (op) {
      case 0x00: // unreachable
        this.setUnreachable();
        break;
      case 0x01: // nop
        break;
      case 0x05: { // else
        const d = this.depth - 1;
        if (this.fKind[d] !== K_IF) return false;
        if (!this.checkFrameEnd(d)) return false;
        this.fKind[d] = K_ELSE;
        this.fDead[d] = 0;
        if (!this.pushTypes(this.fParams[d])) return false;
        break;
      }
      case 0x0e: { // br_table
        const count = r.u32();
        if (count > MAX_BR_TABLE) return false;
        if (this.depths.length < count + 1) this.depths = new Int32Array(Math.max(count + 1, 2 * this.depths.length));
        const depths = this.depths;
        for (let i = 0; i <= count; i++) {
          const d = this.label();
          if (d < 0) return false;
          depths[i] = d;
        }
        if (!this.pop(I32)) return false;
        const arity = this.listLen[this.labelTypes(depths[count])];
        for (let i = 0; i <= count; i++) {
          const types = this.labelTypes(depths[i]);
          if (this.listLen[types] !== arity || !this.hasTypes(types)) return false;
        }
        this.setUnreachable();
        break;
      }
      case 0x11: { // call_indirect
        const ti = r.u32();
        const table = r.u32();
        if (ti >= this.numTypes || this.typePlain[ti] === 0 || table >= info.tables.length) return false;
        const tt = info.tables[table];
        if (tt.elemType !== FUNCREF) return false;
        if (!this.pop(tt.index64 ? I64 : I32)) return false;
        if (!this.popTypes(2 * ti) || !this.pushTypes(2 * ti + 1)) return false;
        break;
      }
      case 0x1b: { // select
        if (!this.pop(I32)) return false;
        const t1 = this.popAny(), t2 = this.popAny();
        if (t1 < 0 || t2 < 0) return false;
        // Untyped select: numeric or vector operands of one type.
        if (t1 === FUNCREF || t1 === EXTERNREF || t2 === FUNCREF || t2 === EXTERNREF) return false;
        if (t1 !== BOTTOM && t2 !== BOTTOM && t1 !== t2) return false;
        if ((t1 !== BOTTOM && !isPlainType(t1, features.simd)) || (t2 !== BOTTOM && !isPlainType(t2, features.simd))) return false;
        this.push(t1 === BOTTOM ? t2 : t1);
        break;
      }
      case 0x25: // table.get
      case 0x26: { // table.set
        // Tables of funcref / externref only (typed-reference tables need subtyping: declined).
        const t = r.u32();
        if (!features.referenceTypes || t >= info.tables.length) return false;
        const tt = info.tables[t];
        const et = tt.elemType;
        if (et !== FUNCREF && et !== EXTERNREF) return false;
        if (op === 0x26 && !this.pop(et)) return false;
        if (!this.pop(tt.index64 ? I64 : I32)) return false;
        if (op === 0x25) this.push(et);
        break;
      }
      case 0x3f: { // memory.size
        const at = this.memIndex();
        if (at === 0) return false;
        this.push(at);
        break;
      }
      case 0x40: { // memory.grow
        const at = this.memIndex();
        if (at === 0 || !this.pop(at)) return false;
        this.push(at);
        break;
      }
      case 0xd0: { // ref.null (abstract func / extern only)
        const t = r.u8();
        if ((t !== FUNCREF && t !== EXTERNREF) || !features.referenceTypes) return false;
        this.push(t);
        break;
      }
      case 0xd1: { // ref.is_null
        const t = this.popAny();
        if (t !== FUNCREF && t !== EXTERNREF && t !== BOTTOM) return false;
        this.push(I32);
        break;
      }
      case 0xd2: { // ref.func
        const f = r.u32();
        if (f >= info.funcTypes.length || !info.declaredFuncRefs.has(f) || !features.referenceTypes) return false;
        this.push(FUNCREF);
        break;
      }
      case 0xfc: {
        const sub = r.u32();
        if (sub <= 7) {
          if (!features.satFloatToInt || !this.pop(SAT_IN[sub])) return false;
          this.push(SAT_OUT[sub]);
        } else if (sub === 10) { // memory.copy dst src
          if (!features.bulkMemory) return false;
          const td = this.memIndex(), ts = this.memIndex();
          if (td === 0 || ts === 0) return false;
          if (!this.pop(td === I64 && ts === I64 ? I64 : I32) || !this.pop(ts) || !this.pop(td)) return false;
        } else if (sub === 11) { // memory.fill
          if (!features.bulkMemory) return false;
          const t = this.memIndex();
          if (t === 0 || !this.pop(t) || !this.pop(I32) || !this.pop(t)) return false;
        } else return false;
        break;
      }
      default:
        return false; // everything else: the function compiler validates
    }
    return true;
  }
}

/**
 * Lazy compilation's up-front validation uses BodyValidator unless QUICKBEAM_FAST_VALIDATION=0 (for comparing
 * and for testing the function compiler's own validation).
 */
export const FAST_VALIDATION = process.env.QUICKBEAM_FAST_VALIDATION !== '0';

/**
 * Bodies the fast validators declined in this thread (handed to the function compiler), and bodies the one in
 * machine code accepted (api/native-validator.ts), for tests and benchmarks.
 */
export const validatorStats = { declined: 0, native: 0 };
