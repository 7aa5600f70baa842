// The koffi native layer: libc memory management (mmap/munmap/mprotect/madvise, calloc/free), zero-copy
// views over native memory, and small read/write helpers.
//
// Every other module must reach koffi through this one: `koffi.config({ sync_stack_size })` only works
// before the first `koffi.load()`, and that size decides how deep wasm may recurse.
//
// Addresses are plain JS numbers (user-space addresses are < 2^47, exact in a double).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { koffi } from './koffi-loader.js';
import { startupMark } from '../startup-trace.js';

/**
 * Size of koffi's synchronous native stack, on which all machine code runs (16 MiB, koffi's maximum).
 * The entry trampoline gives wasm all of it except `STACK_HEADROOM` (see trampolines.ts).
 */
export const SYNC_STACK_SIZE = 16 * 1024 * 1024;

/** Stack kept free below the wasm stack limit for host callbacks, nested entries and entry stubs. */
export const STACK_HEADROOM = 1024 * 1024;

let configuredStackSize = SYNC_STACK_SIZE;
try {
  koffi.config({ sync_stack_size: SYNC_STACK_SIZE });
} catch {
  // koffi was already loaded by someone else: keep whatever it has.
  const cfg = koffi.config() as { sync_stack_size?: number };
  configuredStackSize = cfg.sync_stack_size ?? 2 * 1024 * 1024;
}

/** The sync stack size koffi actually uses (SYNC_STACK_SIZE unless koffi was loaded before us). */
export const nativeStackSize: number = configuredStackSize;

export { koffi };

const libc = koffi.load('libc.so.6');

export const PAGE_SIZE = 4096;
export const PROT_NONE = 0;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MADV_DONTNEED = 4;

// intptr_t results come back as Numbers (addresses < 2^47); mmap failure is -1.
const c_mmap = libc.func('intptr_t mmap(intptr_t addr, size_t len, int prot, int flags, int fd, int64_t off)');
const c_munmap = libc.func('int munmap(intptr_t addr, size_t len)');
const c_mprotect = libc.func('int mprotect(intptr_t addr, size_t len, int prot)');
const c_madvise = libc.func('int madvise(intptr_t addr, size_t len, int advice)');
const c_calloc = libc.func('intptr_t calloc(size_t n, size_t size)');
const c_free = libc.func('void free(intptr_t p)');
const c_memmove = libc.func('intptr_t memmove(intptr_t dst, intptr_t src, size_t n)');
const c_memset = libc.func('intptr_t memset(intptr_t dst, int c, size_t n)');
// The C environment is the one state every isolate (worker thread) of the process can reach
// (shared-memory-registry.ts); declared on first use.
let c_getenv: ((name: string) => string | null) | null = null;
let c_setenv: ((name: string, value: string, overwrite: number) => number) | null = null;

/** getenv(3) of the process (not a worker's copy of process.env). */
export function cGetenv(name: string): string | null {
  c_getenv ??= libc.func('const char *getenv(const char *name)') as (name: string) => string | null;
  return c_getenv(name);
}

/** _exit(2): ends the whole process now, from any thread (a Worker's process.exit ends only the Worker). */
export function cExit(code: number): never {
  (libc.func('void _exit(int status)') as (c: number) => void)(code);
  throw new Error('unreachable: _exit returned');
}

/** setenv(3) without overwriting: the first value set wins (glibc serialises setenv). */
export function cSetenvIfAbsent(name: string, value: string): void {
  c_setenv ??= libc.func('int setenv(const char *name, const char *value, int overwrite)') as (n: string, v: string, o: number) => number;
  c_setenv(name, value, 0);
}

/** errno of the last failed libc call. */
export function errno(): number {
  return koffi.errno();
}

/** Anonymous private mapping; returns 0 on failure (never throws). */
export function tryMmapAnon(len: number, prot: number, noReserve = false): number {
  const flags = MAP_PRIVATE | MAP_ANONYMOUS | (noReserve ? MAP_NORESERVE : 0);
  const p = c_mmap(0, len, prot, flags, -1, 0) as number;
  return p === -1 || p === 0 ? 0 : p;
}

/** Anonymous private mapping; throws a RangeError on failure. */
export function mmapAnon(len: number, prot: number, noReserve = false): number {
  const p = tryMmapAnon(len, prot, noReserve);
  if (p === 0) throw new RangeError(`could not map ${len} bytes of memory (errno ${koffi.errno()})`);
  return p;
}

export function munmap(addr: number, len: number): boolean {
  return (c_munmap(addr, len) as number) === 0;
}

export function mprotect(addr: number, len: number, prot: number): boolean {
  return (c_mprotect(addr, len, prot) as number) === 0;
}

export function madvise(addr: number, len: number, advice: number): boolean {
  return (c_madvise(addr, len, advice) as number) === 0;
}

export const MADV_POPULATE_WRITE = 23;

/**
 * A copy of `src` in a new Uint8Array (JS-owned memory). A big copy first has its pages allocated in one system
 * call (madvise MADV_POPULATE_WRITE, Linux 5.14): a fresh 32 MB buffer otherwise takes 8,000 page faults, which
 * cost more than the copy itself (measured in a VM, 12 fresh processes each: 22-31 ms of CPU for new
 * Uint8Array(32 MB) vs 18-25 ms this way). (Transparent huge pages would make it 9-11 ms, but with the kernel's
 * default `defrag=madvise` an MADV_HUGEPAGE range may stall in direct compaction: 110-141 ms, 1 run in 12.)
 * Where the advice is refused (older kernels) it is a plain copy.
 */
export function copyBytes(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src.length);
  prefault(out, 0, src.length);
  out.set(src);
  return out;
}

/** Allocate the pages of out[lo, hi) now, in one system call, when that is at least 1 MiB (see copyBytes). */
export function prefault(out: Uint8Array, lo: number, hi: number): void {
  if (hi - lo < 1024 * 1024) return;
  const addr = addressOf(out);
  const start = alignUp(addr + lo, PAGE_SIZE);
  const end = Math.floor((addr + hi) / PAGE_SIZE) * PAGE_SIZE;
  if (end > start) madvise(start, end - start, MADV_POPULATE_WRITE);
}

/** Zeroed heap memory (libc calloc); throws a RangeError when out of memory. Free with `nativeFree`. */
export function nativeAlloc(size: number): number {
  const p = c_calloc(1, Math.max(1, size)) as number;
  if (p === 0) throw new RangeError(`out of native memory (${size} bytes)`);
  return p;
}

/** Like nativeAlloc but returns 0 on failure. */
export function tryNativeAlloc(size: number): number {
  return c_calloc(1, Math.max(1, size)) as number;
}

export function nativeFree(addr: number): void {
  if (addr !== 0) c_free(addr);
}

/** memmove inside native memory. */
export function nativeMove(dst: number, src: number, len: number): void {
  if (len > 0) c_memmove(dst, src, len);
}

/** memset inside native memory. */
export function nativeFill(dst: number, byte: number, len: number): void {
  if (len > 0) c_memset(dst, byte & 0xff, len);
}

/** Largest view koffi can create: a bigger one aborts the process. */
export const MAX_VIEW_BYTES = 2 ** 32;

/**
 * An ArrayBuffer over native memory (zero-copy). `len` must be at most 2^32: bigger views abort the process,
 * so this throws a RangeError instead. The caller is responsible for the memory outliving the view.
 */
export function view(addr: number, len: number): ArrayBuffer {
  if (!(len >= 0 && len <= MAX_VIEW_BYTES)) throw new RangeError(`native view of ${len} bytes is too large (max 4 GiB)`);
  if (len === 0) return new ArrayBuffer(0);
  return koffi.view(addr, len);
}

/** A Uint8Array over native memory (zero-copy). */
export function bytesAt(addr: number, len: number): Uint8Array {
  return new Uint8Array(view(addr, len));
}

/** Copy bytes into native memory. */
export function copyIn(addr: number, src: Uint8Array): void {
  if (src.length === 0) return;
  new Uint8Array(view(addr, src.length)).set(src);
}

/** Copy bytes out of native memory. */
export function copyOut(addr: number, len: number): Uint8Array {
  if (len === 0) return new Uint8Array(0);
  return new Uint8Array(view(addr, len)).slice();
}

export function readU8(addr: number): number {
  return koffi.decode(addr, 'uint8_t') as number;
}
export function writeU8(addr: number, v: number): void {
  koffi.encode(addr, 'uint8_t', v & 0xff);
}
export function readI32(addr: number): number {
  return koffi.decode(addr, 'int32_t') as number;
}
export function readU32(addr: number): number {
  return koffi.decode(addr, 'uint32_t') as number;
}
export function writeU32(addr: number, v: number): void {
  koffi.encode(addr, 'uint32_t', v >>> 0);
}
export function writeI32(addr: number, v: number): void {
  koffi.encode(addr, 'int32_t', v | 0);
}

/** Read a u64 as a Number (exact below 2^53; larger values lose precision). */
export function readU64(addr: number): number {
  return Number(koffi.decode(addr, 'uint64_t') as number | bigint);
}
/** Read a u64 as a BigInt (exact). */
export function readU64Big(addr: number): bigint {
  return BigInt(koffi.decode(addr, 'uint64_t') as number | bigint);
}
/** Read an i64 as a BigInt (exact). */
export function readI64Big(addr: number): bigint {
  return BigInt(koffi.decode(addr, 'int64_t') as number | bigint);
}
/** Write a 64-bit value: a non-negative integer Number (< 2^53) or any BigInt (taken modulo 2^64). */
export function writeU64(addr: number, v: number | bigint): void {
  if (typeof v === 'bigint') koffi.encode(addr, 'uint64_t', BigInt.asUintN(64, v));
  else koffi.encode(addr, 'uint64_t', v);
}

/** Pointers are u64s below 2^47. */
export function readPtr(addr: number): number {
  return koffi.decode(addr, 'intptr_t') as number;
}
export function writePtr(addr: number, p: number): void {
  koffi.encode(addr, 'intptr_t', p);
}

export function readF32(addr: number): number {
  return koffi.decode(addr, 'float') as number;
}
export function writeF32(addr: number, v: number): void {
  koffi.encode(addr, 'float', v);
}
export function readF64(addr: number): number {
  return koffi.decode(addr, 'double') as number;
}
export function writeF64(addr: number, v: number): void {
  koffi.encode(addr, 'double', v);
}

/** Backing-store address of a typed array or ArrayBuffer (e.g. to hand a JS buffer to machine code). */
export function addressOf(buf: ArrayBufferView | ArrayBuffer): number {
  return Number(koffi.address(buf));
}

/** Round `n` up to a multiple of `align` (a power of two, or any positive integer). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/**
 * The native memory mapping that contains `addr`, from /proc/self/maps (null when not found), with its
 * permissions as the file shows them (e.g. `---p`). Used to measure koffi's stack and V8's memory reservations.
 */
export function mappingContaining(addr: number): { start: number; end: number; perms: string } | null {
  let text: string;
  try {
    text = readFileSync('/proc/self/maps', 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const dash = line.indexOf('-');
    const sp = line.indexOf(' ');
    if (dash <= 0 || sp <= dash) continue;
    const start = parseInt(line.slice(0, dash), 16);
    const end = parseInt(line.slice(dash + 1, sp), 16);
    if (addr >= start && addr < end) return { start, end, perms: line.slice(sp + 1, sp + 5) };
  }
  return null;
}


let gcFunction: (() => void) | null | undefined;

/**
 * Run a full garbage collection now, so that FinalizationRegistry callbacks releasing native resources
 * (memory reservations) get scheduled. Uses `globalThis.gc` when exposed, else obtains V8's gc function once
 * (`--expose-gc` set at runtime, taken from a fresh context). Returns false when unavailable.
 */
export function forceGc(): boolean {
  if (gcFunction === undefined) {
    const g = (globalThis as { gc?: unknown }).gc;
    if (typeof g === 'function') {
      gcFunction = g as () => void;
    } else {
      try {
        // node:v8 and node:vm are loaded here, not at start-up (together about 2 ms of process start).
        const require = createRequire(import.meta.url);
        (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
        const f = (require('node:vm') as typeof import('node:vm')).runInNewContext('gc') as unknown;
        gcFunction = typeof f === 'function' ? (f as () => void) : null;
      } catch {
        gcFunction = null;
      }
    }
  }
  if (gcFunction === null) return false;
  gcFunction();
  return true;
}

// -------------------------------------------------------------------------------------------------
// File and shared mappings (used by file-mapping.ts): mmap of a file descriptor over a fixed address,
// memfd_create + seals for shareable anonymous memory, sigaction for the SIGBUS guard.

export const MAP_SHARED = 0x01;
export const MAP_FIXED = 0x10;
export const MFD_CLOEXEC = 0x0001;
export const MFD_ALLOW_SEALING = 0x0002;
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
export const F_SEAL_SEAL = 0x0001;
export const F_SEAL_SHRINK = 0x0002;
export const SIGBUS = 7;
export const SA_SIGINFO = 0x00000004;
export const SA_ONSTACK = 0x08000000;
/** glibc's `struct sigaction` (x86-64): handler at 0, sa_mask (128 bytes) at 8, sa_flags (int) at 136. */
export const SIGACTION_SIZE = 152;
export const SIGACTION_FLAGS = 136;

const c_memfd_create = libc.func('int memfd_create(const char *name, unsigned int flags)');
// fcntl is variadic in C; every use here passes one int argument, which the SysV ABI passes identically.
const c_fcntl_int = libc.func('int fcntl(int fd, int cmd, int arg)');
const c_sigaction = libc.func('int sigaction(int sig, intptr_t act, intptr_t oldact)');

/**
 * mmap(addr, len, prot, flags | MAP_FIXED, fd, offset): replaces whatever was mapped at [addr, addr + len).
 * Returns true when the new mapping is in place (false on failure; errno tells why).
 * `fd` -1 with MAP_ANONYMOUS in `flags` maps zeroed anonymous pages.
 */
export function mmapFixed(addr: number, len: number, prot: number, flags: number, fd: number, offset: number): boolean {
  const p = c_mmap(addr, len, prot, flags | MAP_FIXED, fd, offset) as number;
  return p === addr;
}

/** A shared mapping of `len` bytes of file `fd` from offset 0 anywhere; 0 on failure (never throws). */
export function tryMmapShared(len: number, prot: number, fd: number): number {
  const p = c_mmap(0, len, prot, MAP_SHARED, fd, 0) as number;
  return p === -1 || p === 0 ? 0 : p;
}

export const MAP_POPULATE = 0x8000;

/**
 * A mapping of `len` bytes of file `fd` from `offset` (a multiple of the page size) anywhere, with `flags`
 * (MAP_PRIVATE or MAP_SHARED, | MAP_POPULATE); 0 on failure (never throws; errno tells why).
 */
export function tryMmapFile(len: number, prot: number, flags: number, fd: number, offset: number): number {
  const p = c_mmap(0, len, prot, flags, fd, offset) as number;
  return p === -1 || p === 0 ? 0 : p;
}

const c_close = libc.func('int close(int fd)');

/**
 * close(fd) for descriptors opened natively (memfd_create): fs.closeSync of a descriptor Node did not open
 * makes Node print "File descriptor N closed but not opened in unmanaged mode" in worker threads.
 */
export function closeFd(fd: number): void {
  c_close(fd);
}

/** memfd_create(name, flags): a new anonymous file descriptor, or -1 on failure. */
export function memfdCreate(name: string, flags: number): number {
  return c_memfd_create(name, flags) as number;
}

/** fcntl(fd, cmd, arg) for the int-argument commands (F_ADD_SEALS, F_GET_SEALS, ...). -1 on failure. */
export function fcntlInt(fd: number, cmd: number, arg: number): number {
  return c_fcntl_int(fd, cmd, arg) as number;
}

/** sigaction(sig, act, oldact) with native `struct sigaction` buffers (0 for none). True on success. */
export function sigaction(sig: number, act: number, oldact: number): boolean {
  return (c_sigaction(sig, act, oldact) as number) === 0;
}

startupMark('runtime: koffi loaded, libc bound');
