// File mappings and shared ranges inside linear memories.
//
// A linear memory is a reserved virtual range that never moves (linear-memory.ts). That makes it possible to
// put a host file, or memory shared with another linear memory, directly under a range of guest addresses:
// mmap(MAP_FIXED) over the committed part of the reservation. The guest then reads the file with plain loads,
// with no copy and no bounds-check change (the range is ordinary committed memory as far as the compiled code
// is concerned). JS reads and writes through the memory's windows (`read`/`write`/`window`) see the same
// pages.
//
// Granularity: OS pages (4 KiB), not wasm pages. `at` (guest address) and the file `offset` must be multiples
// of 4096; the mapped range is the requested length rounded up to 4096 and must lie inside the memory's
// *current* size (grow first; growing later never disturbs a mapping, since memories never move).
// The length must be a multiple of 4096 unless the range ends exactly at the end of the file: then the rest
// of the last page reads as zeros, and writes there never reach the file (kernel semantics). This rule
// guarantees that a mapping never exposes file bytes beyond the range that was asked for.
//
// Modes (there are no signal handlers for stores, so nothing here ever maps a page read-only: a guest store
// to a read-only page would kill the process with SIGSEGV):
//   - private (default, `shared: false`): MAP_PRIVATE, copy-on-write. The file is opened read-only and is
//     never modified: guest and JS stores succeed but land in private copies of the pages, visible only in
//     this memory. This is what "read-only" means here: *the file* is read-only, the memory stays writable.
//   - shared (`shared: true`, needs `writable: true`, its default when shared): MAP_SHARED on a file opened
//     read-write. Guest stores reach the file (through the page cache; `fs.fsyncSync` on the file, or unmap,
//     for durability), and other mappings of the file (other memories, other processes) see them.
//   - `shared: true, writable: false` is refused (a TypeError): it would need PROT_READ pages. So is
//     `shared: false, writable: true` (a private mapping never writes the file).
//
// Files that shrink while mapped: touching a mapped page that lies wholly beyond the file's end raises SIGBUS,
// which would kill the process (Node has no handler for it). Quickbeam installs a small SIGBUS handler (machine
// code, process-wide, installed on the first file mapping, chaining to any previous handler; see
// ensureSigbusGuard for what other SIGBUS handlers installed later must do) that recognizes
// faults inside its own file mappings: it re-checks the file size (fstat on the descriptor each mapping keeps
// open) and, when the faulting page starts at or beyond the end of the file, replaces that one page with a
// zeroed private anonymous page and resumes the faulting instruction. So after a shrink:
//   - pages beyond the new end read as zeros (from wasm and from JS alike), and stores to them stay private
//     (they are detached from the file: they stay detached even if the file grows again);
//   - pages before the new end keep tracking the file as before, and private copies the guest made there
//     (copy-on-write) keep their contents; private copies of pages beyond the new end are lost as well (the
//     kernel discards them on truncation), so they read as zeros too;
//   - `mappings()` reports the number of detached pages per mapping.
// Any other SIGBUS (outside these mappings, a page still inside the file, a hardware error) is passed to the
// previous handler, or the default action (the process dies, exactly as without Quickbeam). A system call
// handed a buffer over a truncated page (e.g. fs.writeSync from a window) gets EFAULT instead.
//
// Shared regions: `SharedRegion` is a memfd (memfd_create, sealed against shrinking, so never any SIGBUS)
// that can be mapped MAP_SHARED into any number of memories, at any page-aligned address of each: a store
// through one is immediately visible through the others.

import * as fs from 'node:fs';
import { Assembler } from '../x64/assembler.js';
import { AluOp, Cond, LoadKind, R10, R8, R9, RAX, RCX, RDI, RDX, RSI, RSP } from '../x64/registers.js';
import {
  F_ADD_SEALS, F_SEAL_SHRINK, MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, MAP_SHARED, MFD_ALLOW_SEALING, MFD_CLOEXEC,
  PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, SA_ONSTACK, SA_SIGINFO, SIGACTION_FLAGS, SIGACTION_SIZE, SIGBUS,
  copyIn, errno, fcntlInt, memfdCreate, mmapAnon, mmapFixed, mprotect, nativeAlloc, nativeFree, readI32, readPtr, readU64, sigaction,
  view, writeI32, writePtr, writeU64,
} from './native.js';

/** Mapping granularity (the OS page size on x86-64 Linux). */
export const MAPPING_ALIGN = PAGE_SIZE;

/** Chunk size for copies through JS windows. */
const COPY_CHUNK = 64 * 1024 * 1024;

// -------------------------------------------------------------------------------------------------
// The SIGBUS guard

// Control block (native memory), read by the handler:
//   +0 entry count, +8 pages detached so far (all mappings), +16 previous handler, +24 previous sa_flags,
//   +32 a zeroed kernel `struct sigaction` (SIG_DFL) used to restore the default action,
//   +64 entries, GUARD_ENTRY bytes each: +0 start address, +8 end address, +16 fd, +24 file offset of start,
//   +32 pages detached in this mapping.
const CTRL_COUNT = 0;
const CTRL_HITS = 8;
const CTRL_PREV = 16;
const CTRL_PREV_FLAGS = 24;
const CTRL_DFL = 32;
const CTRL_ENTRIES = 64;
const GUARD_ENTRY = 64;
const E_START = 0, E_END = 8, E_FD = 16, E_FILEOFF = 24, E_HITS = 32;
/** Most file mappings alive at once in the process. */
export const MAX_FILE_MAPPINGS = 4096;

const SYS_FSTAT = 5;
const SYS_MMAP = 9;
const SYS_RT_SIGACTION = 13;
const BUS_ADRERR = 2;
const STAT_SIZE = 144;
const STAT_ST_SIZE = 48;

let ctrl = 0;
let handlerAddr = 0;

/** Machine code of the handler: `void handler(int sig, siginfo_t *info, void *uctx)`. */
function assembleHandler(ctrlAddr: number): Uint8Array {
  const a = new Assembler(512);
  const lo = ctrlAddr % 2 ** 32, hi = Math.floor(ctrlAddr / 2 ** 32);
  const chain = a.newLabel(), loop = a.newLabel(), next = a.newLabel(), found = a.newLabel();
  const notShrink = a.newLabel(), dfl = a.newLabel();
  const syscall = (): void => { a.byte(0x0f); a.byte(0x05); };

  a.load(LoadKind.U32, RAX, RSI, -1, 1, 8); // si_code
  a.aluImm(AluOp.CMP, false, RAX, BUS_ADRERR);
  a.jcc(Cond.NE, chain);
  a.load(LoadKind.I64, RAX, RSI, -1, 1, 16); // si_addr
  a.movImm64Patchable(R8, lo | 0, hi | 0);
  a.load(LoadKind.I64, RCX, R8, -1, 1, CTRL_COUNT);
  a.lea(true, R9, R8, -1, 1, CTRL_ENTRIES);
  a.bind(loop);
  a.test(true, RCX, RCX);
  a.jcc(Cond.E, chain);
  a.aluLoad(AluOp.CMP, true, RAX, R9, -1, 1, E_START);
  a.jcc(Cond.B, next);
  a.aluLoad(AluOp.CMP, true, RAX, R9, -1, 1, E_END);
  a.jcc(Cond.B, found);
  a.bind(next);
  a.aluImm(AluOp.ADD, true, R9, GUARD_ENTRY);
  a.aluImm(AluOp.SUB, true, RCX, 1);
  a.jmp(loop);

  // Inside one of our file mappings: is the page beyond the end of the file now?
  a.bind(found);
  a.push(RDI);
  a.push(RSI);
  a.push(RDX);
  a.aluImm(AluOp.AND, true, RAX, -PAGE_SIZE);
  a.push(RAX); // the page
  a.aluImm(AluOp.SUB, true, RSP, STAT_SIZE); // struct stat at [rsp], the page at [rsp + STAT_SIZE]
  a.load(LoadKind.I64, RDI, R9, -1, 1, E_FD);
  a.movRR(true, RSI, RSP);
  a.movImm32(RAX, SYS_FSTAT);
  syscall(); // clobbers rcx, r11
  a.test(true, RAX, RAX);
  a.jcc(Cond.NE, notShrink);
  a.load(LoadKind.I64, RDX, RSP, -1, 1, STAT_SIZE);
  a.aluLoad(AluOp.SUB, true, RDX, R9, -1, 1, E_START);
  a.aluLoad(AluOp.ADD, true, RDX, R9, -1, 1, E_FILEOFF); // file offset of the page
  a.aluLoad(AluOp.CMP, true, RDX, RSP, -1, 1, STAT_ST_SIZE);
  a.jcc(Cond.L, notShrink); // the page starts inside the file: not ours to fix
  a.aluMemImm(AluOp.ADD, true, R9, -1, 1, E_HITS, 1);
  a.aluMemImm(AluOp.ADD, true, R8, -1, 1, CTRL_HITS, 1);
  // mmap(page, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_NORESERVE, -1, 0)
  a.load(LoadKind.I64, RDI, RSP, -1, 1, STAT_SIZE);
  a.movImm32(RSI, PAGE_SIZE);
  a.movImm32(RDX, PROT_READ | PROT_WRITE);
  a.movImm32(R10, MAP_PRIVATE | MAP_ANONYMOUS | 0x10 | MAP_NORESERVE);
  a.movImm64(R8, -1, -1);
  a.alu(AluOp.XOR, false, R9, R9);
  a.movImm32(RAX, SYS_MMAP);
  syscall();
  a.aluLoad(AluOp.CMP, true, RAX, RSP, -1, 1, STAT_SIZE);
  a.jcc(Cond.NE, notShrink);
  a.aluImm(AluOp.ADD, true, RSP, STAT_SIZE + 32);
  a.ret(); // the faulting access is retried and now finds a zero page

  a.bind(notShrink);
  a.aluImm(AluOp.ADD, true, RSP, STAT_SIZE + 8);
  a.pop(RDX);
  a.pop(RSI);
  a.pop(RDI);

  // Not ours: the previous handler, or the default action (the re-executed access then kills the process).
  a.bind(chain);
  a.movImm64Patchable(R8, lo | 0, hi | 0);
  a.load(LoadKind.I64, RAX, R8, -1, 1, CTRL_PREV);
  a.aluImm(AluOp.CMP, true, RAX, 1); // SIG_DFL = 0, SIG_IGN = 1
  a.jcc(Cond.BE, dfl);
  a.jmpReg(RAX);
  a.bind(dfl);
  a.movImm32(RDI, SIGBUS);
  a.lea(true, RSI, R8, -1, 1, CTRL_DFL);
  a.alu(AluOp.XOR, false, RDX, RDX);
  a.movImm32(R10, 8);
  a.movImm32(RAX, SYS_RT_SIGACTION);
  syscall();
  a.ret();
  a.finish();
  return a.bytes();
}

/** True when our handler is the process's SIGBUS handler. */
function guardIsCurrent(): boolean {
  if (handlerAddr === 0) return false;
  const cur = nativeAlloc(SIGACTION_SIZE);
  try {
    if (!sigaction(SIGBUS, 0, cur)) return false;
    return readPtr(cur) === handlerAddr;
  } finally {
    nativeFree(cur);
  }
}


let guardInstalled = false;

/**
 * Install the SIGBUS guard, once per JS realm (each worker thread that maps files installs its own, chaining
 * to the one before). It is never re-installed: if other code replaces it later, that code must chain to the
 * previous handler (as this one does), else a shrinking file kills the process again; re-installing could make
 * two chaining handlers call each other forever. Throws an Error when impossible: then file mappings are
 * refused, since a shrinking file could kill the process.
 */
export function ensureSigbusGuard(): void {
  if (guardInstalled) return;
  if (ctrl === 0) {
    ctrl = nativeAlloc(CTRL_ENTRIES + MAX_FILE_MAPPINGS * GUARD_ENTRY);
    const code = assembleHandler(ctrl);
    const size = Math.ceil(code.length / PAGE_SIZE) * PAGE_SIZE;
    const addr = mmapAnon(size, PROT_READ | PROT_WRITE);
    copyIn(addr, code);
    if (!mprotect(addr, size, PROT_READ | PROT_EXEC)) throw new Error('could not make the SIGBUS guard executable');
    handlerAddr = addr;
  }
  const old = nativeAlloc(SIGACTION_SIZE);
  const act = nativeAlloc(SIGACTION_SIZE);
  try {
    // Record the previous handler first, so a SIGBUS arriving during the switch still chains correctly.
    if (!sigaction(SIGBUS, 0, old)) throw new Error(`sigaction(SIGBUS) failed (errno ${errno()})`);
    writeU64(ctrl + CTRL_PREV, readPtr(old));
    writeU64(ctrl + CTRL_PREV_FLAGS, readI32(old + SIGACTION_FLAGS) >>> 0);
    writePtr(act, handlerAddr);
    writeI32(act + SIGACTION_FLAGS, SA_SIGINFO | SA_ONSTACK);
    if (!sigaction(SIGBUS, act, 0)) throw new Error(`could not install the SIGBUS guard (errno ${errno()})`);
    guardInstalled = true;
  } finally {
    nativeFree(old);
    nativeFree(act);
  }
}

function guardCount(): number {
  return ctrl === 0 ? 0 : readU64(ctrl + CTRL_COUNT);
}

function guardAdd(start: number, end: number, fd: number, fileOffset: number): void {
  const n = guardCount();
  if (n >= MAX_FILE_MAPPINGS) throw new RangeError(`too many file mappings (at most ${MAX_FILE_MAPPINGS} at once)`);
  const e = ctrl + CTRL_ENTRIES + n * GUARD_ENTRY;
  writeU64(e + E_START, start);
  writeU64(e + E_END, end);
  writeU64(e + E_FD, fd);
  writeU64(e + E_FILEOFF, fileOffset);
  writeU64(e + E_HITS, 0);
  writeU64(ctrl + CTRL_COUNT, n + 1); // published last
}

function guardFind(start: number): number {
  const n = guardCount();
  for (let i = 0; i < n; i++) {
    const e = ctrl + CTRL_ENTRIES + i * GUARD_ENTRY;
    if (readU64(e + E_START) === start) return e;
  }
  return 0;
}

function guardRemove(start: number): void {
  const e = guardFind(start);
  if (e === 0) return;
  const n = guardCount();
  const last = ctrl + CTRL_ENTRIES + (n - 1) * GUARD_ENTRY;
  // Copy the last entry over the removed one (briefly listed twice: harmless), then shrink the count.
  if (last !== e) new Uint8Array(view(e, GUARD_ENTRY)).set(new Uint8Array(view(last, GUARD_ENTRY)));
  writeU64(ctrl + CTRL_COUNT, n - 1);
}

function guardHits(start: number): number {
  const e = guardFind(start);
  return e === 0 ? 0 : readU64(e + E_HITS);
}

/** Pages the SIGBUS guard has replaced with zero pages since the process started (all mappings). */
export function detachedPageCount(): number {
  return ctrl === 0 ? 0 : readU64(ctrl + CTRL_HITS);
}

/** File mappings alive in the process (each holds a descriptor and a guard entry). Diagnostics. */
export function liveFileMappings(): number {
  return guardCount();
}

/** Whether the SIGBUS guard is installed and is the current SIGBUS handler. */
export function sigbusGuardActive(): boolean {
  return guardIsCurrent();
}

// -------------------------------------------------------------------------------------------------
// Argument helpers

/** A non-negative safe integer from a Number or BigInt option (TypeError / RangeError otherwise). */
function toOffset(v: unknown, what: string): number {
  if (typeof v === 'bigint') {
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} ${v} is out of range`);
    return Number(v);
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer (Number or BigInt), got ${describe(v)}`);
  if (v < 0 || !Number.isSafeInteger(v)) throw new RangeError(`${what} ${v} is out of range`);
  return v;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  return String(v);
}

function hex(n: number): string {
  return '0x' + n.toString(16);
}

function alignUp(n: number): number {
  return Math.ceil(n / MAPPING_ALIGN) * MAPPING_ALIGN;
}

function checkAligned(v: number, what: string): void {
  if (v % MAPPING_ALIGN !== 0) throw new RangeError(`${what} ${v} (${hex(v)}) is not a multiple of the ${MAPPING_ALIGN}-byte page size`);
}

function optionsObject(o: unknown, ctx: string): Record<string, unknown> {
  if (o === undefined || o === null || typeof o !== 'object') throw new TypeError(`${ctx}: options { at, ... } are required`);
  return o as Record<string, unknown>;
}

function systemError(ctx: string, e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  const out = new Error(`${ctx}: ${err?.message ?? String(e)}`, { cause: e });
  if (err?.code !== undefined) (out as NodeJS.ErrnoException).code = err.code;
  return out;
}

// -------------------------------------------------------------------------------------------------
// Shared regions

const regionRegistry = new FinalizationRegistry<{ fd: number; open: boolean }>((h) => {
  if (h.open) {
    h.open = false;
    try { fs.closeSync(h.fd); } catch { /* already closed */ }
  }
});

/**
 * Shareable memory: a memfd of `byteLength` bytes (a multiple of 4096), zero-filled, sealed against shrinking.
 * Map it into memories with `LinearMemory.mapRegion` / `Memory.mapShared`: every mapping sees the same bytes.
 * The pages live as long as some mapping or this object does.
 */
export class SharedRegion {
  readonly byteLength: number;
  readonly #h: { fd: number; open: boolean };

  constructor(byteLength: number | bigint) {
    const len = toOffset(byteLength, 'SharedRegion: byteLength');
    if (len === 0) throw new RangeError('SharedRegion: byteLength must be positive');
    checkAligned(len, 'SharedRegion: byteLength');
    const fd = memfdCreate('quickbeam-shared', MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) throw new Error(`SharedRegion: memfd_create failed (errno ${errno()})`);
    try {
      fs.ftruncateSync(fd, len);
      // Nobody can shrink it afterwards, so its mappings can never fault with SIGBUS.
      if (fcntlInt(fd, F_ADD_SEALS, F_SEAL_SHRINK) !== 0) throw new Error(`SharedRegion: sealing failed (errno ${errno()})`);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
    this.byteLength = len;
    this.#h = { fd, open: true };
    regionRegistry.register(this, this.#h, this.#h);
  }

  /** The memfd (internal; valid until close()). */
  get fd(): number {
    if (!this.#h.open) throw new Error('SharedRegion is closed');
    return this.#h.fd;
  }

  /** Write bytes into the region (at a byte offset). */
  write(offset: number, bytes: Uint8Array): void {
    if (!(Number.isSafeInteger(offset) && offset >= 0 && offset + bytes.length <= this.byteLength)) {
      throw new RangeError(`SharedRegion: write of ${bytes.length} bytes at ${offset} is outside the region (${this.byteLength} bytes)`);
    }
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
  }

  /** Release the descriptor. Existing mappings stay valid; the region can no longer be mapped. Idempotent. */
  close(): void {
    const h = this.#h;
    if (!h.open) return;
    h.open = false;
    regionRegistry.unregister(h);
    fs.closeSync(h.fd);
  }
}

// -------------------------------------------------------------------------------------------------
// Per-memory mapping sets

export interface MapFileOptions {
  /** Guest address of the first byte (a multiple of 4096). Required. */
  at: number | bigint;
  /** Byte offset in the file (a multiple of 4096). Default 0. */
  offset?: number | bigint;
  /** Bytes to map. Default: to the end of the file. A multiple of 4096 unless the range ends at the end of the file. */
  length?: number | bigint;
  /** MAP_SHARED: stores reach the file. Default false (private copy-on-write: the file is never modified). */
  shared?: boolean;
  /** Must equal `shared` (default: `shared`); exists so that callers can say explicitly that the file will change. */
  writable?: boolean;
}

export interface MapRegionOptions {
  /** Guest address (a multiple of 4096). Required. */
  at: number | bigint;
  /** Offset in the region (a multiple of 4096). Default 0. */
  offset?: number | bigint;
  /** Bytes (a multiple of 4096). Default: the rest of the region. */
  length?: number | bigint;
}

export interface MappingInfo {
  /** Guest address of the first byte. */
  at: number;
  /** Bytes requested. */
  length: number;
  /** Bytes mapped: `length` rounded up to the page size. */
  mappedLength: number;
  source: 'file' | 'region';
  /** The file, for file mappings. */
  path?: string;
  /** Offset in the file or region. */
  offset: number;
  /** Stores reach the file / are seen by the region's other mappings. */
  shared: boolean;
  /** Whether stores can reach the backing file (= shared). */
  writable: boolean;
  /** Pages detached from the file by the SIGBUS guard after the file shrank (file mappings). */
  detachedPages: number;
}

interface MappingRecord {
  at: number;
  length: number;
  mapped: number;
  source: 'file' | 'region';
  path?: string;
  offset: number;
  shared: boolean;
  /** File mappings: the descriptor kept open for the SIGBUS guard (-1 for regions). */
  fd: number;
  /** Keeps a region's memfd alive while mapped through this object (the mapping itself would anyway). */
  region?: SharedRegion;
}

/**
 * The file and region mappings of one linear memory. Holds only the memory's base address (never the
 * LinearMemory), so it can be released by the memory's finalizer.
 */
export class MemoryMappings {
  private readonly records: MappingRecord[] = [];

  constructor(private readonly base: number) {}

  get size(): number {
    return this.records.length;
  }

  /** Validate a guest range [at, at + mapped) against the memory size and existing mappings. */
  checkRange(ctx: string, at: number, mapped: number, memBytes: number): void {
    if (at + mapped > memBytes) {
      throw new RangeError(`${ctx}: range [${hex(at)}, ${hex(at + mapped)}) is outside the memory's current size ` +
        `(${memBytes} bytes = ${hex(memBytes)}); grow the memory first`);
    }
    for (const r of this.records) {
      if (at < r.at + r.mapped && r.at < at + mapped) {
        throw new RangeError(`${ctx}: range [${hex(at)}, ${hex(at + mapped)}) overlaps the existing mapping at ` +
          `[${hex(r.at)}, ${hex(r.at + r.mapped)})${r.path !== undefined ? ` of '${r.path}'` : ''}; unmap it first`);
      }
    }
  }

  mapFile(path: fs.PathLike, options: unknown, memBytes: number): MappingInfo {
    const ctx = 'mapFile';
    if (typeof path !== 'string' && !(path instanceof URL) && !Buffer.isBuffer(path)) {
      throw new TypeError(`${ctx}: path must be a string, URL or Buffer, got ${describe(path)}`);
    }
    const o = optionsObject(options, ctx);
    if (o.at === undefined) throw new TypeError(`${ctx}: option 'at' (the guest address) is required`);
    const at = toOffset(o.at, `${ctx}: at`);
    const offset = o.offset === undefined ? 0 : toOffset(o.offset, `${ctx}: offset`);
    const lengthOpt = o.length === undefined ? undefined : toOffset(o.length, `${ctx}: length`);
    const shared = o.shared === undefined ? false : o.shared;
    if (typeof shared !== 'boolean') throw new TypeError(`${ctx}: option 'shared' must be a boolean`);
    const writable = o.writable === undefined ? shared : o.writable;
    if (typeof writable !== 'boolean') throw new TypeError(`${ctx}: option 'writable' must be a boolean`);
    if (shared && !writable) {
      throw new TypeError(`${ctx}: shared read-only mappings are not supported (a guest store would crash the process); ` +
        `use shared: false, a private copy-on-write mapping that never modifies the file`);
    }
    if (!shared && writable) {
      throw new TypeError(`${ctx}: writable: true needs shared: true (a private mapping never writes to the file)`);
    }
    checkAligned(at, `${ctx}: at`);
    checkAligned(offset, `${ctx}: offset`);
    if (lengthOpt === 0) throw new RangeError(`${ctx}: length must be positive`);
    const pathText = typeof path === 'string' ? path : path instanceof URL ? path.href : path.toString();

    let fd: number;
    try {
      fd = fs.openSync(path, shared ? 'r+' : 'r');
    } catch (e) {
      throw systemError(`${ctx}: cannot open '${pathText}'${shared ? ' for reading and writing' : ''}`, e);
    }
    let keepFd = false;
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) {
        const kind = st.isDirectory() ? 'a directory' : 'not a regular file';
        throw new TypeError(`${ctx}: '${pathText}' is ${kind}; only regular files can be mapped`);
      }
      const fileSize = st.size;
      if (fileSize === 0) throw new RangeError(`${ctx}: '${pathText}' is empty: nothing to map`);
      if (offset >= fileSize) {
        throw new RangeError(`${ctx}: offset ${offset} is at or beyond the end of '${pathText}' (${fileSize} bytes)`);
      }
      const length = lengthOpt ?? fileSize - offset;
      if (offset + length > fileSize) {
        throw new RangeError(`${ctx}: '${pathText}' (${fileSize} bytes) is shorter than the range [${offset}, ${offset + length}) ` +
          `(offset ${offset} + length ${length})`);
      }
      if (length % MAPPING_ALIGN !== 0 && offset + length !== fileSize) {
        throw new RangeError(`${ctx}: length ${length} must be a multiple of ${MAPPING_ALIGN} unless the range ends at the end ` +
          `of the file (${fileSize} bytes)`);
      }
      const mapped = alignUp(length);
      this.checkRange(ctx, at, mapped, memBytes);
      ensureSigbusGuard();
      if (guardCount() >= MAX_FILE_MAPPINGS) throw new RangeError(`${ctx}: too many file mappings (at most ${MAX_FILE_MAPPINGS})`);
      const addr = this.base + at;
      const flags = shared ? MAP_SHARED : MAP_PRIVATE | MAP_NORESERVE;
      if (!mmapFixed(addr, mapped, PROT_READ | PROT_WRITE, flags, fd, offset)) {
        const code = errno();
        this.restoreAnonymous(addr, mapped);
        throw new Error(`${ctx}: mmap of '${pathText}' failed (errno ${code})`);
      }
      guardAdd(addr, addr + mapped, fd, offset);
      keepFd = true;
      const rec: MappingRecord = { at, length, mapped, source: 'file', path: pathText, offset, shared, fd };
      this.records.push(rec);
      return this.info(rec);
    } finally {
      if (!keepFd) fs.closeSync(fd);
    }
  }

  mapRegion(region: SharedRegion, options: unknown, memBytes: number): MappingInfo {
    const ctx = 'mapShared';
    if (!(region instanceof SharedRegion)) throw new TypeError(`${ctx}: expected a SharedRegion, got ${describe(region)}`);
    const o = optionsObject(options, ctx);
    if (o.at === undefined) throw new TypeError(`${ctx}: option 'at' (the guest address) is required`);
    const at = toOffset(o.at, `${ctx}: at`);
    const offset = o.offset === undefined ? 0 : toOffset(o.offset, `${ctx}: offset`);
    checkAligned(at, `${ctx}: at`);
    checkAligned(offset, `${ctx}: offset`);
    if (offset >= region.byteLength) throw new RangeError(`${ctx}: offset ${offset} is outside the region (${region.byteLength} bytes)`);
    const length = o.length === undefined ? region.byteLength - offset : toOffset(o.length, `${ctx}: length`);
    if (length === 0) throw new RangeError(`${ctx}: length must be positive`);
    checkAligned(length, `${ctx}: length`);
    if (offset + length > region.byteLength) {
      throw new RangeError(`${ctx}: range [${offset}, ${offset + length}) is outside the region (${region.byteLength} bytes)`);
    }
    this.checkRange(ctx, at, length, memBytes);
    const addr = this.base + at;
    if (!mmapFixed(addr, length, PROT_READ | PROT_WRITE, MAP_SHARED, region.fd, offset)) {
      const code = errno();
      this.restoreAnonymous(addr, length);
      throw new Error(`${ctx}: mmap failed (errno ${code})`);
    }
    const rec: MappingRecord = { at, length, mapped: length, source: 'region', offset, shared: true, fd: -1, region };
    this.records.push(rec);
    return this.info(rec);
  }

  /** Replace the mapping that starts at guest address `at` by zeroed anonymous pages. */
  unmap(at: number | bigint): void {
    const a = toOffset(at, 'unmap: at');
    const i = this.records.findIndex((r) => r.at === a);
    if (i < 0) {
      const inside = this.records.find((r) => a > r.at && a < r.at + r.mapped);
      throw new RangeError(`unmap: no mapping starts at ${hex(a)}` +
        (inside ? ` (it is inside the mapping at ${hex(inside.at)}; pass its start)` : ''));
    }
    const r = this.records[i]!;
    const addr = this.base + r.at;
    if (!mmapFixed(addr, r.mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) {
      throw new Error(`unmap: could not replace the mapping at ${hex(r.at)} (errno ${errno()})`);
    }
    this.records.splice(i, 1);
    this.release(r);
  }

  list(): MappingInfo[] {
    return this.records.slice().sort((x, y) => x.at - y.at).map((r) => this.info(r));
  }

  /** Forget every mapping (the memory is being freed: the caller unmaps the whole reservation next). */
  releaseAll(): void {
    for (const r of this.records) this.release(r);
    this.records.length = 0;
  }

  private release(r: MappingRecord): void {
    if (r.source === 'file') {
      guardRemove(this.base + r.at);
      try { fs.closeSync(r.fd); } catch { /* ignore */ }
    }
  }

  private restoreAnonymous(addr: number, len: number): void {
    // A failed MAP_FIXED may have removed part of the old mapping: put zeroed committed pages back.
    if (!mmapFixed(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)) {
      throw new Error(`could not restore memory at ${hex(addr)} after a failed mapping (errno ${errno()})`);
    }
  }

  private info(r: MappingRecord): MappingInfo {
    const out: MappingInfo = {
      at: r.at, length: r.length, mappedLength: r.mapped, source: r.source, offset: r.offset, shared: r.shared,
      writable: r.shared, detachedPages: r.source === 'file' ? guardHits(this.base + r.at) : 0,
    };
    if (r.path !== undefined) out.path = r.path;
    return out;
  }
}

/**
 * Copy `length` bytes of native memory at `addr` into the region at `offset` (through windows of at most
 * COPY_CHUNK bytes).
 */
export function copyIntoRegion(region: SharedRegion, offset: number, addr: number, length: number): void {
  for (let done = 0; done < length;) {
    const n = Math.min(COPY_CHUNK, length - done);
    region.write(offset + done, new Uint8Array(view(addr + done, n)));
    done += n;
  }
}

/** Copy `length` bytes of the region at `offset` into native memory at `addr`. */
export function copyFromRegion(region: SharedRegion, offset: number, addr: number, length: number): void {
  for (let done = 0; done < length;) {
    const n = Math.min(COPY_CHUNK, length - done);
    const dst = new Uint8Array(view(addr + done, n));
    let got = 0;
    while (got < n) {
      const k = fs.readSync(region.fd, dst, got, n - got, offset + done + got);
      if (k <= 0) throw new Error('SharedRegion: unexpected end of region');
      got += k;
    }
    done += n;
  }
}
