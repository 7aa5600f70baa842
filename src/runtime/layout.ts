// Native data layouts shared by generated code and the runtime: the exec state, trap codes, the instance
// context (vmctx), MemoryDesc, TableDesc, FuncRecord. See docs/ARCHITECTURE.md.

import type { ModuleInfo } from '../decode/types.js';

// ---------------------------------------------------------------------------------------------------
// Exec state (one per process)

/** rsp of the innermost entry trampoline (0 when no wasm is running). */
export const EXEC_SAVED_RSP = 0;
/** i32: the code of the last trap (written by the trap handler). */
export const EXEC_TRAP_CODE = 8;
/** Stack limit: a prologue traps with STACK_OVERFLOW when rsp (after its frame) is below this. */
export const EXEC_STACK_LIMIT = 16;
/** i32: number of return addresses recorded by the last trap. */
export const EXEC_TRACE_COUNT = 24;
/** Up to EXEC_TRACE_MAX return addresses (8 bytes each), innermost first. */
export const EXEC_TRACE = 32;
export const EXEC_TRACE_MAX = 64;
/** Arguments of the zero-argument entry `enter0` (vmctx, entry stub, code), read once at entry. */
export const EXEC_ENTER_VMCTX = 1024;
export const EXEC_ENTER_STUB = 1032;
export const EXEC_ENTER_CODE = 1040;
/** Address of the runtime's tail-call return stub (see compile/emit-tail-call.ts), read by generated code. */
export const EXEC_TAIL_CALL_RETURN = 1048;
/** Exception handling (runtime/unwind.ts): the catching frame's rbp and its landing pad, set by the unwinder. */
export const EXEC_CATCH_RBP = 1056;
export const EXEC_CATCH_PC = 1064;
/** The throw builtins (compile/emit-exceptions.ts): the throwing frame's rbp and a pc of the throw, for the search. */
export const EXEC_THROW_RBP = 1072;
export const EXEC_THROW_PC = 1080;
/**
 * JSPI (runtime/stack-switching-code.ts): the suspender record of the promising call whose secondary stack the
 * running wasm code is on directly (0: not on one, or JS frames in between).
 */
export const EXEC_SUSPENDER = 1088;
/** GC (runtime/gc-heap.ts): the allocation pointer and the end of the current region (inline bump allocation). */
export const EXEC_GC_TOP = 1096;
export const EXEC_GC_LIMIT = 1104;
/** GC type descriptor (RTT, runtime/gc-heap.ts) fields: canonical id, depth, kind, element size, display. */
export const RTT_CANON = 0;
export const RTT_DEPTH = 4;
export const RTT_KIND = 8;
export const RTT_ELEM_SIZE = 12;
export const RTT_DISPLAY = 16;
/**
 * Host calls that return to JS (runtime/stack-switching-code.ts): `enterStack0` reads its suspender here (with
 * vmctx, stub and code from EXEC_ENTER_*), `resumeStack0` its suspender here and the host call's result code from
 * EXEC_RESUME_CODE; the host-call shim leaves the calling vmctx, the host call's id, its stack and the stack's
 * frames' top in EXEC_HOST_*.
 */
export const EXEC_ENTER_SUSPENDER = 1152;
export const EXEC_RESUME_CODE = 1160;
export const EXEC_HOST_VMCTX = 1168;
export const EXEC_HOST_ID = 1176;
/** The host call's stack (suspender record) and its S-side entry's savedRsp (0 and 0 for a koffi callback's call). */
export const EXEC_HOST_SUSPENDER = 1184;
export const EXEC_HOST_TOP = 1192;
/**
 * What every return to JS from a secondary stack (stack-switching-code.ts's M exit) returns, also stored here
 * (i32): `enterStack0` and `resumeStack0` are declared `void` to koffi, since an int32 result costs a call ~57
 * more instructions (N-API's napi_create_int32 and V8's Integer::New).
 */
export const EXEC_STACK_RESULT = 1200;
/** Returned to JS by a stack entry or resumption when wasm on that stack made a host call (see EXEC_HOST_*). */
export const HOSTCALL_CODE = 0x7fffff02;
/** Returned by the host-call callback when a Suspending import got a promise (the stack is left suspended). */
export const SUSPENDED_CODE = 0x7fffff01;
/** Returned by a throw builtin that found the handler itself (catch rbp and pad set): the trap handler jumps. */
export const CAUGHT_CODE = 0x7fffff00;
/** Handler-table clause flag (compile/emit-exceptions.ts): the landing pad takes the exnref too. */
export const HANDLER_CLAUSE_REF = 1;
/** First word of a handler table: 'QBEH' (the unwinder checks it). */
export const HANDLER_TABLE_MAGIC = 0x48454251;
/** 'QBSM': the stack maps that follow a function's handler table (compile/stack-maps.ts, runtime/gc-roots.ts). */
export const STACK_MAP_MAGIC = 0x4d534251;
/** Args buffer: 8-byte slots for arguments and results between JS and wasm (both directions). */
export const EXEC_ARGS = 4096;
export const EXEC_ARGS_SIZE = 16384;
export const EXEC_ARGS_SLOTS = EXEC_ARGS_SIZE / 8;
export const EXEC_SIZE = EXEC_ARGS + EXEC_ARGS_SIZE;

// ---------------------------------------------------------------------------------------------------
// Trap codes

export const enum TrapCode {
  None = 0,
  Unreachable = 1,
  MemoryOutOfBounds = 2,
  DivideByZero = 3,
  RemainderByZero = 4,
  IntegerOverflow = 5,
  FloatUnrepresentable = 6,
  /** table.get/set/fill/copy/grow... index out of bounds. */
  TableOutOfBounds = 7,
  /** call_indirect / call_ref through a null entry. */
  IndirectNull = 8,
  /** call_indirect signature mismatch. */
  IndirectSignature = 9,
  /** The stack-limit check failed (reported as a RangeError, like V8). */
  StackOverflow = 10,
  ElementSegmentOutOfBounds = 11,
  DataSegmentOutOfBounds = 12,
  NullReference = 13,
  UnalignedAccess = 14,
  /** A host function threw: the exception is pending in host-calls.ts and is rethrown unchanged. */
  HostException = 15,
  /** call_indirect: index past the end of the table. */
  IndirectOutOfBounds = 16,
  /** An interrupt was requested (timeout, `interrupt()`): checked in loop headers and prologues. */
  Interrupted = 17,
  /** Fuel metering: the fuel counter ran out. */
  OutOfFuel = 18,
  /** throw_ref (or rethrow) of a null exnref. */
  NullExnRef = 19,
  /** memory.atomic.wait32/64 on a memory that is not shared. */
  WaitNotShared = 20,
  /** GC: ref.cast / br_on_cast... a failed cast (ref.cast only traps). */
  IllegalCast = 21,
  /** GC: array index (or range) out of bounds. */
  ArrayOutOfBounds = 22,
  /** GC: the heap limit (gcHeapMax) was reached, or an array too large for it was asked for. */
  GcHeapExhausted = 23,
  /** GC: struct.get/set, array.* or i31.get of a null reference. */
  NullGcReference = 24,
  /** GC: array.new* of more elements than V8 allows (its byte size must fit a 31-bit Smi). */
  ArrayTooLarge = 25,
}

/** Number of trap codes (valid codes are 1..TRAP_CODE_COUNT-1). */
export const TRAP_CODE_COUNT = 26;

/** V8's words for a call_indirect whose entry is null or of another type (one message from V8 14, Node 26). */
const SIGNATURE_MISMATCH = Number(process.versions.v8.split('.')[0]) >= 14 ? 'function signature mismatch' : 'null function or function signature mismatch';

/** Error messages, as the running Node's V8 words them. Index = TrapCode. */
export const TRAP_MESSAGES: readonly string[] = [
  'no trap',
  'unreachable',
  'memory access out of bounds',
  'divide by zero',
  'remainder by zero',
  'divide result unrepresentable',
  'float unrepresentable in integer range',
  'table index is out of bounds',
  SIGNATURE_MISMATCH,
  SIGNATURE_MISMATCH,
  'Maximum call stack size exceeded',
  'element segment out of bounds',
  'data segment out of bounds',
  'dereferencing a null pointer',
  'operation does not support unaligned accesses',
  'host exception',
  'table index is out of bounds',
  'execution interrupted',
  'all fuel consumed',
  'rethrowing null value',
  'Atomics.wait cannot be called in this context',
  'illegal cast',
  'array element access out of bounds',
  'GC heap exhausted (gcHeapMax)',
  'dereferencing a null pointer',
  'requested new array is too large',
];

/**
 * The wording of the core spec test suite (`assert_trap` texts), for the spectest runner. Index = TrapCode.
 */
export const TRAP_SPEC_TEXT: readonly string[] = [
  'no trap',
  'unreachable',
  'out of bounds memory access',
  'integer divide by zero',
  'integer divide by zero',
  'integer overflow',
  'invalid conversion to integer',
  'out of bounds table access',
  'uninitialized element',
  'indirect call type mismatch',
  'call stack exhausted',
  'out of bounds table access',
  'out of bounds memory access',
  'null reference',
  'unaligned atomic',
  'host exception',
  'undefined element',
  'interrupted',
  'all fuel consumed',
  'null exception reference',
  'expected shared memory',
  'cast failure',
  'out of bounds array access',
  'out of memory',
  'null structure reference',
  'out of memory',
];

/** The message of a trap code (with a fallback for unknown codes). */
export function trapMessage(code: number): string {
  return code > 0 && code < TRAP_CODE_COUNT ? TRAP_MESSAGES[code] : `unknown trap ${code}`;
}

// ---------------------------------------------------------------------------------------------------
// Instance context (vmctx)

export const VMCTX_EXEC = 0;
export const VMCTX_HOSTCALL = 8;
export const VMCTX_TRAP_HANDLER = 16;
/** Address of the process's interrupt/fuel block (src/runtime/interrupts.ts). */
export const VMCTX_INTERRUPTS = 24;
export const VMCTX_RESERVED = VMCTX_INTERRUPTS;
/** Lazily compiled modules: address of the module's code-slot table (one code address per function). */
export const VMCTX_CODE_SLOTS = 32;
/** Offsets in the interrupt block: i32 interrupt-requested flag; i64 fuel counter. */
export const INTERRUPT_FLAG = 0;
export const INTERRUPT_FUEL = 8;
export const VMCTX_MEMORIES = 40;

/** MemoryDesc: shared by every instance that imports the memory. */
export const MEMDESC_BASE = 0;
export const MEMDESC_LENGTH = 8;
export const MEMDESC_RESERVED = 16;
/**
 * max(length - (MEMORY_FAST_REACH - 1), 0): an address below it is in bounds for every access that ends at most
 * MEMORY_FAST_REACH bytes past it (offset + size), so the common check is one `cmp addr, r13` against this
 * value, kept in r13 for memory 0 (compile/emit-memory.ts). Not maintained in shared memories' descs (their
 * length changes under other threads: code reads the length itself).
 */
export const MEMDESC_FAST_LIMIT = 24;
export const MEMDESC_SIZE = 32;
export const MEMORY_FAST_REACH = 4096;
/**
 * The MEMDESC_FAST_LIMIT value for a memory of `length` bytes. Generated code derives the exact length from it
 * (0: length 0, else limit + REACH - 1), which needs every nonzero length to be at least REACH - 1: it is a
 * multiple of the 64 KiB page.
 */
export function memoryFastLimit(length: number): number {
  if (length !== 0 && length < MEMORY_FAST_REACH - 1) throw new RangeError(`memory length ${length} below the fast-check reach`);
  return length === 0 ? 0 : length - (MEMORY_FAST_REACH - 1);
}

/** TableDesc. */
export const TABLEDESC_ELEMENTS = 0;
export const TABLEDESC_LENGTH = 8;
export const TABLEDESC_MAX = 16;
export const TABLEDESC_SIZE = 24;

/**
 * FuncRecord: the value of a funcref. Two entries to the same function: FUNCREC_CODE takes every argument in the
 * caller's outgoing area (entry stubs, tail calls through records); FUNCREC_REG_CODE takes the first ones in
 * registers (compile/reg-args.ts: call_indirect, call_ref, calls of imports), with rax = the record.
 */
export const FUNCREC_CODE = 0;
export const FUNCREC_VMCTX = 8;
export const FUNCREC_SIG = 16;
export const FUNCREC_REG_CODE = 24;
export const FUNCREC_SIZE = 32;

/** Size of a global cell (8 bytes used by scalars and references, 16 reserved for v128). */
export const GLOBAL_CELL_SIZE = 16;

/** Host-call ids at or above this are runtime builtins (memory.grow, table.*, ...); below are imports. */
export const HOSTCALL_BUILTIN_BASE = 0x10000;
/**
 * The host-call id of the runtime's "disposed" stub: the code address of every FuncRecord of a disposed
 * instance, so that calling one of its functions from wasm throws instead of running.
 */
export const HOSTCALL_DISPOSED = 0x7ffffffe;

export interface VmctxCounts {
  memories: number;
  tables: number;
  globals: number;
  /** Size of the function index space (imports first). */
  funcs: number;
  /** Number of FuncRecords stored in the vmctx (default: `funcs`, one per function index). */
  records?: number;
  /** Number of function types: the size of the signature table (default 0). */
  types?: number;
  /** GC: entries of the RTT table (the module's type count when it defines struct or array types, else 0). */
  rtts?: number;
}

export interface VmctxLayout {
  /** Total size in bytes (a multiple of 8). */
  readonly size: number;
  /** Offset of memory m's base address (constant: reservations never move). */
  memBase(m: number): number;
  /** Offset of memory m's MemoryDesc pointer. */
  memDesc(m: number): number;
  /** Offset of table t's TableDesc pointer. */
  table(t: number): number;
  /** Offset of global g's cell pointer. */
  global(g: number): number;
  /** Offset of function f's FuncRecord pointer. */
  func(f: number): number;
  /** Offset of FuncRecord number r (inside the vmctx). */
  record(r: number): number;
  /** Offset of the u32 process-wide signature id of type index t (checked by call_indirect). */
  sig(t: number): number;
  /** GC: offset of the RTT address (runtime/gc-heap.ts) of struct or array type index t. */
  rtt(t: number): number;
  readonly rttsOffset: number;
  readonly tablesOffset: number;
  readonly globalsOffset: number;
  readonly funcsOffset: number;
  readonly recordsOffset: number;
  readonly sigsOffset: number;
}

/** The vmctx layout of an instance of a module (see ARCHITECTURE.md). */
export function moduleVmctxLayout(info: ModuleInfo): VmctxLayout {
  return computeVmctxLayout({
    memories: info.memories.length, tables: info.tables.length, globals: info.globals.length, funcs: info.funcTypes.length,
    types: info.types.length,
    rtts: info.types.some((t) => (t.kind ?? 0) !== 0) ? info.types.length : 0,
  });
}

/** The vmctx layout of an instance (see ARCHITECTURE.md). */
export function computeVmctxLayout(counts: VmctxCounts): VmctxLayout {
  return new Layout(counts.memories, counts.tables, counts.globals, counts.funcs, counts.records ?? counts.funcs, counts.types ?? 0, counts.rtts ?? 0);
}

function outOfRange(i: number, n: number, what: string): never {
  throw new RangeError(`vmctx: ${what} index ${i} out of range (count ${n})`);
}

// A class, not an object of closures: one small allocation per module compile instead of ~800 bytes.
class Layout implements VmctxLayout {
  readonly size: number;
  readonly tablesOffset: number;
  readonly globalsOffset: number;
  readonly funcsOffset: number;
  readonly recordsOffset: number;
  readonly sigsOffset: number;
  readonly rttsOffset: number;

  constructor(
    private readonly memories: number, private readonly tables: number, private readonly globals: number,
    private readonly funcs: number, private readonly records: number, private readonly types: number,
    private readonly rtts: number,
  ) {
    this.tablesOffset = VMCTX_MEMORIES + 16 * memories;
    this.globalsOffset = this.tablesOffset + 8 * tables;
    this.funcsOffset = this.globalsOffset + 8 * globals;
    this.recordsOffset = this.funcsOffset + 8 * funcs;
    this.sigsOffset = this.recordsOffset + FUNCREC_SIZE * records;
    this.rttsOffset = this.sigsOffset + ((4 * types + 7) & ~7);
    this.size = this.rttsOffset + 8 * rtts;
  }

  rtt(t: number): number {
    if (!(t >= 0 && t < this.rtts && (t | 0) === t)) outOfRange(t, this.rtts, 'RTT');
    return this.rttsOffset + 8 * t;
  }

  memBase(m: number): number {
    if (!(m >= 0 && m < this.memories && (m | 0) === m)) outOfRange(m, this.memories, 'memory');
    return VMCTX_MEMORIES + 16 * m;
  }

  memDesc(m: number): number {
    if (!(m >= 0 && m < this.memories && (m | 0) === m)) outOfRange(m, this.memories, 'memory');
    return VMCTX_MEMORIES + 16 * m + 8;
  }

  table(t: number): number {
    if (!(t >= 0 && t < this.tables && (t | 0) === t)) outOfRange(t, this.tables, 'table');
    return this.tablesOffset + 8 * t;
  }

  global(g: number): number {
    if (!(g >= 0 && g < this.globals && (g | 0) === g)) outOfRange(g, this.globals, 'global');
    return this.globalsOffset + 8 * g;
  }

  func(f: number): number {
    if (!(f >= 0 && f < this.funcs && (f | 0) === f)) outOfRange(f, this.funcs, 'function');
    return this.funcsOffset + 8 * f;
  }

  record(r: number): number {
    if (!(r >= 0 && r < this.records && (r | 0) === r)) outOfRange(r, this.records, 'record');
    return this.recordsOffset + FUNCREC_SIZE * r;
  }

  sig(t: number): number {
    if (!(t >= 0 && t < this.types && (t | 0) === t)) outOfRange(t, this.types, 'type');
    return this.sigsOffset + 4 * t;
  }
}

// ---------------------------------------------------------------------------------------------------
// Limits

export const WASM_PAGE_SIZE = 65536;
/** memory32: at most 65536 pages (4 GiB). */
export const MEMORY32_MAX_PAGES = 65536;
/** memory64: spec limit 2^48 pages. */
export const MEMORY64_MAX_PAGES = 2 ** 48;
/** Default cap on a memory64 reservation (and so on its size): 16 GiB. */
export const DEFAULT_MEMORY64_RESERVATION = 16 * 2 ** 30;
/** Largest table this runtime creates (like V8). */
export const TABLE_MAX_ELEMENTS = 10_000_000;
