// The fast body validator as machine code: Quickbeam compiles the WebAssembly build of the validator
// (compile/validator-wasm/validate.c) with itself, once per thread, and a lazy compile's up-front validation
// of a big module runs there instead of in the TypeScript BodyValidator. In a fresh process the TypeScript
// loop runs interpreted and in baseline code while V8 optimises it (swc's 16 MB: ~200 ms cold against ~95 ms
// warm); the compiled one runs at its final speed from the first body.
//
// Same contract as BodyValidator (it accepts only what it has checked; the caller gives what it declines to
// the TypeScript validators). This file lays out the tables validate.c reads (struct Ctx there) in the
// instance's memory: the thread's scratch once, a module's tables when its validation starts (or resumes
// after another module's), and each batch's bodies in a window after them.

import { useNativeBodyValidator, type NativeBodyValidation } from '../compile/batch-compiler.js';
import { MEM_SIZE, MEM_TYPE, NUM_ARITY, validatorStats, validatorTables, type ValidatorTables } from '../compile/validate-body.js';
import { VALIDATOR_WASM_BASE64 } from '../compile/validator-wasm/validator-wasm.js';
import type { Features } from '../decode/features.js';
import type { ModuleInfo } from '../decode/types.js';
import { Instance } from './instance.js';
import { Module } from './module.js';
import { startupMark } from '../startup-trace.js';

/** Modules of at least this many bytes are validated natively (smaller ones: BodyValidator, see below). */
export const NATIVE_VALIDATION_MIN_BYTES = 1 << 20;
// (QUICKBEAM_NATIVE_VALIDATION=0: BodyValidator alone, for comparing; QUICKBEAM_NATIVE_VALIDATION_MIN_BYTES=N:
// from N bytes on, e.g. 0 for the fuzzers)
let minBytes = process.env.QUICKBEAM_NATIVE_VALIDATION === '0' ? Infinity
  : Number(process.env.QUICKBEAM_NATIVE_VALIDATION_MIN_BYTES ?? NATIVE_VALIDATION_MIN_BYTES);

/** Testing: validate natively from this module size on (0: every module), or never (Infinity). */
export function setNativeValidationMinBytes(bytes: number): void {
  minBytes = bytes;
}

// struct Ctx in validate.c: the index of each field (32-bit words).
const enum C {
  code, bias, starts, ends, funcTypes, numFuncs, typePlain, numTypes, listStart, listLen, listTypes, emptyList,
  singleList, numIn, numOut, numArity, memType, memSize, globalTypes, globalMutable, numGlobals, mem64, numMems,
  tableElem, table64, numTables, funcRefs, features, stack, stackCap, fKind, fHeight, fDead, fParams, fResults,
  depthCap, locals, depths, depthsCap, current,
}
const OUTGROWN = -1;
const FUNCREF = 0x70, EXTERNREF = 0x6f;

// The thread's scratch (bodies that need more are declined: BodyValidator grows its own).
const STACK_CAP = 1 << 16;
const DEPTH_CAP = 1 << 14;
const DEPTHS_CAP = 1 << 16;
const MAX_LOCALS = 50000;
const PAGE = 65536;

const F_SIMD = 1, F_SIGN_EXT = 2, F_MULTI_MEMORY = 4, F_MEMORY_U64_LEB = 8, F_REFERENCE_TYPES = 16;
const F_SAT_FLOAT_TO_INT = 32, F_BULK_MEMORY = 64;

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  ctx_address(): number;
  validate_bodies(first: number, last: number, delta: number): number;
  __heap_base: { value: number };
}

/** This thread's compiled validator: undefined before the first try, null when it could not be made. */
let native: NativeValidatorInstance | null | undefined;

/**
 * Make this thread's validator if a lazy compile of `moduleBytes` bytes will want it. Called before the
 * module's compile starts (the validator's own compile must not run inside another one: the compiling
 * machinery is the thread's).
 */
export function prepareNativeValidator(moduleBytes: number): void {
  if (native !== undefined || moduleBytes < minBytes) return;
  native = null;
  try {
    const bytes = Buffer.from(VALIDATOR_WASM_BASE64, 'base64');
    // Options of its own, whatever the embedder's defaults: eager, no cache, no fuel or interrupts.
    const module = new Module(bytes, {
      lazy: false, threads: 1, cache: undefined, boundsChecks: true, interruptible: false, fuel: false,
      timeoutMs: undefined, features: {},
    });
    native = new NativeValidatorInstance(new Instance(module, {}).exports as unknown as Exports);
    startupMark('module: the fast validator compiled (machine code)');
  } catch {
    // (features turned off by the embedder, no executable memory, ...: BodyValidator does the work)
  }
}

/** A module's validation in machine code, or null (no validator on this thread, or a module below minBytes). */
export function nativeBodyValidator(info: ModuleInfo, features: Features, bytes: Uint8Array): NativeBodyValidation | null {
  if (native === undefined || native === null || bytes.length < minBytes) return null;
  return native.forModule(info, features);
}
useNativeBodyValidator(nativeBodyValidator);

class NativeValidatorInstance {
  private readonly ctx: number;
  /** Where modules' tables start (after the scratch). */
  private readonly tablesAt: number;
  private i32 = new Int32Array(0);
  private u8 = new Uint8Array(0);
  /** The module whose tables are in memory, and where its batch window starts. */
  owner: NativeModuleValidator | null = null;
  windowAt = 0;

  constructor(readonly exports: Exports) {
    this.ctx = exports.ctx_address();
    let at = align(exports.__heap_base.value);
    const take = (bytes: number): number => {
      const a = at;
      at = align(at + bytes);
      return a;
    };
    const fields: [C, number][] = [
      [C.numArity, take(256)], [C.memType, take(0x40)], [C.memSize, take(0x40)], [C.stack, take(STACK_CAP)],
      [C.fKind, take(DEPTH_CAP)], [C.fDead, take(DEPTH_CAP)], [C.fHeight, take(4 * DEPTH_CAP)],
      [C.fParams, take(4 * DEPTH_CAP)], [C.fResults, take(4 * DEPTH_CAP)], [C.locals, take(MAX_LOCALS)],
      [C.depths, take(4 * DEPTHS_CAP)],
    ];
    this.tablesAt = at;
    this.reserve(at);
    for (const [field, addr] of fields) this.set(field, addr);
    this.set(C.stackCap, STACK_CAP);
    this.set(C.depthCap, DEPTH_CAP);
    this.set(C.depthsCap, DEPTHS_CAP);
    this.u8.set(NUM_ARITY, this.get(C.numArity));
    this.u8.set(MEM_TYPE, this.get(C.memType));
    this.u8.set(MEM_SIZE, this.get(C.memSize));
  }

  forModule(info: ModuleInfo, features: Features): NativeModuleValidator {
    return new NativeModuleValidator(this, info, features);
  }

  /** Memory up to `end` bytes (views made again after growth). */
  reserve(end: number): void {
    const mem = this.exports.memory;
    const have = mem.buffer.byteLength;
    if (end > have) mem.grow(Math.ceil((end - have) / PAGE));
    if (this.u8.buffer !== mem.buffer || this.u8.length !== mem.buffer.byteLength) {
      this.u8 = new Uint8Array(mem.buffer);
      this.i32 = new Int32Array(mem.buffer);
    }
  }

  get(field: C): number {
    return this.i32[(this.ctx >> 2) + field];
  }

  set(field: C, value: number): void {
    this.i32[(this.ctx >> 2) + field] = value;
  }

  get bytes(): Uint8Array {
    return this.u8;
  }

  get words(): Int32Array {
    return this.i32;
  }

  /** Lay out a module's tables after the scratch; returns where its batch window starts. */
  load(m: NativeModuleValidator): number {
    let at = this.tablesAt;
    const place = (field: C, data: Uint8Array | Int32Array): void => {
      this.reserve(at + data.byteLength);
      if (data instanceof Int32Array) this.i32.set(data, at >> 2);
      else this.u8.set(data, at);
      this.set(field, at);
      at = align(at + data.byteLength);
    };
    const t = m.tables;
    place(C.funcTypes, t.funcTypes);
    place(C.typePlain, t.typePlain);
    place(C.listStart, t.listStart);
    place(C.listLen, t.listLen);
    place(C.listTypes, t.listTypes);
    place(C.singleList, t.singleList);
    place(C.numIn, t.numIn);
    place(C.numOut, t.numOut);
    place(C.globalTypes, t.globalTypes);
    place(C.globalMutable, t.globalMutable);
    place(C.mem64, t.mem64);
    place(C.tableElem, m.tableElem);
    place(C.table64, m.table64);
    place(C.funcRefs, m.funcRefs);
    this.set(C.numFuncs, t.funcTypes.length);
    this.set(C.numTypes, t.numTypes);
    this.set(C.emptyList, t.emptyList);
    this.set(C.numGlobals, t.globalTypes.length);
    this.set(C.numMems, t.mem64.length);
    this.set(C.numTables, m.tableElem.length);
    this.set(C.features, m.featureBits);
    this.owner = m;
    this.windowAt = at;
    return at;
  }
}

/** One module's validation through the thread's compiled validator (BatchCompiler's NativeBodyValidation). */
class NativeModuleValidator implements NativeBodyValidation {
  readonly tables: ValidatorTables;
  readonly tableElem: Uint8Array;
  readonly table64: Uint8Array;
  readonly funcRefs: Uint8Array;
  readonly featureBits: number;
  /** False after the compiled validator failed (a trap: it never should): the caller validates. */
  private usable = true;

  constructor(private readonly v: NativeValidatorInstance, info: ModuleInfo, features: Features) {
    this.tables = validatorTables(info, features);
    const nt = info.tables.length;
    this.tableElem = new Uint8Array(nt);
    this.table64 = new Uint8Array(nt);
    for (let i = 0; i < nt; i++) {
      // (funcref and externref only: another element type's code could have either in its low byte)
      const et = info.tables[i].elemType;
      this.tableElem[i] = et === FUNCREF || et === EXTERNREF ? et : 0;
      this.table64[i] = info.tables[i].index64 ? 1 : 0;
    }
    this.funcRefs = new Uint8Array((info.funcTypes.length + 7) >> 3);
    for (const f of info.declaredFuncRefs) if (f < info.funcTypes.length) this.funcRefs[f >> 3] |= 1 << (f & 7);
    this.featureBits = (features.simd ? F_SIMD : 0) | (features.signExt ? F_SIGN_EXT : 0) |
      (features.multiMemory ? F_MULTI_MEMORY : 0) | (features.memoryU64Leb ? F_MEMORY_U64_LEB : 0) |
      (features.referenceTypes ? F_REFERENCE_TYPES : 0) | (features.satFloatToInt ? F_SAT_FLOAT_TO_INT : 0) |
      (features.bulkMemory ? F_BULK_MEMORY : 0);
  }

  /**
   * Validate bodies [first, last) (body f at bytes[starts[f], ends[f])). Returns the first one not accepted
   * (invalid, outside the subset, or too deep for the scratch), or `last`.
   */
  validateBodies(first: number, last: number, bytes: Uint8Array, starts: Int32Array, ends: Int32Array): number {
    if (!this.usable || first >= last) return first;
    const v = this.v;
    let at = v.owner === this ? v.windowAt : v.load(this);
    // The batch's bodies are contiguous: copy them, then their starts and ends, into the window.
    const from = starts[first], to = ends[last - 1];
    const count = last - first;
    const codeAt = at;
    at = align(at + (to - from));
    const startsAt = at, endsAt = align(startsAt + 4 * count);
    v.reserve(endsAt + 4 * count);
    v.bytes.set(bytes.subarray(from, to), codeAt);
    v.words.set(starts.subarray(first, last), startsAt >> 2);
    v.words.set(ends.subarray(first, last), endsAt >> 2);
    v.set(C.code, codeAt);
    v.set(C.bias, from);
    v.set(C.starts, startsAt);
    v.set(C.ends, endsAt);
    try {
      let next = v.exports.validate_bodies(first, last, first);
      if (next === OUTGROWN) next = v.get(C.current);
      validatorStats.native += next - first;
      return next;
    } catch {
      this.usable = false;
      return v.get(C.current);
    }
  }
}

function align(n: number): number {
  return (n + 7) & ~7;
}
