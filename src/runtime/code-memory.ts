// Executable memory, W^X (no page is ever writable and executable at the same address), freed by V8's GC.
//
// Code lives in page-aligned reservations that V8 makes and frees itself: the backing store of a resizable
// ArrayBuffer (`new ArrayBuffer(n, { maxByteLength: n })`), which V8 allocates with its page allocator
// (mmap) and unmaps (munmap of the whole range) when the buffer is collected, by the GC itself: no
// finalizer, so a loop that compiles modules without ever yielding frees them as it goes (measured on Node
// 20, 24 and 26: the mapping is gone right after `gc()`). The buffers never leave this file, are never
// resized (a resize is the only operation in which V8 changes their pages' protection or touches them), and
// V8 never reads or writes a backing store's contents on its own. Once V8 unmaps a buffer its addresses are
// the kernel's again: whatever is mapped there next gets fresh pages and protections.
//
// A chunk's reservation is twice its size, and holds a dual mapping of one memfd: read+execute in the first
// half (where code runs), read+write in the second (where it is written, through a typed array over the
// buffer), both put over V8's pages with MAP_FIXED, so that V8's munmap takes both. Installing code is then
// a plain copy: no system call per block (both halves are populated when mapped: one system call instead of
// a write fault and an execute fault per page) (an mprotect costs 1-16 us here, several per module with two
// cores shared and V8's threads to shoot TLBs down on). Where memfd or executable shared mappings are
// refused, the buffer's own pages are used, made writable just for each copy (mprotect).
//
// A block's `owner` is what keeps its memory alive: whoever runs the code holds it (a module holds its
// code's blocks, an instance its module). Small blocks share 64 KiB chunks (a chunk costs ~30-50 us to set
// up), so a chunk is freed after its last block's owner; big blocks get a chunk of their own. `free()`
// releases a block at once (explicit disposal): a chunk's pages are replaced by inaccessible ones as soon as
// no live block is left on it.
//
// Where resizable ArrayBuffers are unavailable or not page-aligned, chunks are plain mappings unmapped by a
// FinalizationRegistry callback on the owner (which waits for the event loop).

import fs from 'node:fs';
import {
  closeFd,
  MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, MAP_SHARED, MFD_CLOEXEC, PAGE_SIZE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, addressOf,
  alignUp, bytesAt, memfdCreate, mmapAnon, mmapFixed, mprotect, munmap,
} from './native.js';

export interface CodeBlock {
  /** Address of the first byte of code. */
  readonly addr: number;
  /** Bytes reserved for this block (>= the code size). */
  readonly size: number;
  /** Keeps the memory alive: hold it (or the block) as long as the code may run. */
  readonly owner: object;
  /** Release the block now. Idempotent. The code must not be running or be called again. */
  free(): void;
}

const CHUNK_SIZE = 64 * 1024;
const SMALL_LIMIT = 16 * 1024;
const BLOCK_ALIGN = 64;

interface Chunk {
  /** The owner: the resizable ArrayBuffer whose backing store holds the code (or a token, see fallback). */
  owner: object;
  addr: number;
  size: number;
  /** A view for copying code in (dropped once the chunk is full). */
  bytes: Uint8Array | null;
  used: number;
  /** Whether `bytes` is a separate read+write alias (else the pages themselves, see install). */
  dual: boolean;
  /** Offset below which the pages are read+execute (above: still read+write, never executed). */
  execEnd: number;
  /** Blocks not released by free(). */
  live: number;
  /** Bytes still counted in `mappedBytes` (0 once decommitted or collected; not the chunk: see uncount). */
  counted: { bytes: number };
}

let current: Chunk | null = null;
let mappedBytes = 0;

// Diagnostics only (the memory is freed by V8 whether or not this runs): uncount a chunk when it is collected.
// (The held value must not refer to the chunk's owner, or the registry would keep it alive.)
const uncount = new FinalizationRegistry<{ bytes: number }>((counted) => {
  mappedBytes -= counted.bytes;
  counted.bytes = 0;
});

// Fallback owners: plain mappings unmapped when their token is collected.
const unmapLater = new FinalizationRegistry<{ addr: number; size: number }>((m) => {
  munmap(m.addr, m.size);
});

let resizableWorks: boolean | null = null;
let dualWorks: boolean | null = null;

/** A V8 page-allocator reservation of `size` bytes (a multiple of the page size), or null. */
function v8Pages(size: number): { buf: ArrayBuffer; addr: number } | null {
  if (resizableWorks === false) return null;
  let buf: ArrayBuffer;
  try {
    buf = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer)(size, { maxByteLength: size });
  } catch (e) {
    if (resizableWorks === true) throw new RangeError(`could not allocate ${size} bytes of code memory`);
    resizableWorks = false;
    return null;
  }
  const addr = addressOf(buf);
  if (resizableWorks === null) resizableWorks = (buf as { resizable?: boolean }).resizable === true && addr % PAGE_SIZE === 0;
  return resizableWorks ? { buf, addr } : null;
}

/** Put a memfd of `size` bytes at [addr, addr + size) read+execute and at [addr + size, addr + 2 size) read+write. */
function mapDualAt(addr: number, size: number): boolean {
  const fd = memfdCreate('quickbeam-code', MFD_CLOEXEC);
  if (fd < 0) return false;
  try {
    fs.ftruncateSync(fd, size);
    return mmapFixed(addr, size, PROT_READ | PROT_EXEC, MAP_SHARED | MAP_POPULATE, fd, 0) && mmapFixed(addr + size, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  } catch {
    return false;
  } finally {
    closeFd(fd); // the mappings keep the file (native close: Node did not open it, and warns in workers)
  }
}

function newChunk(size: number): Chunk {
  let chunk: Chunk | null = null;
  if (dualWorks !== false) {
    const pages = v8Pages(2 * size);
    if (pages !== null) {
      if (mapDualAt(pages.addr, size)) {
        dualWorks = true;
        const bytes = new Uint8Array(pages.buf, size, size);
        chunk = { owner: pages.buf, addr: pages.addr, size, bytes, dual: true, used: 0, execEnd: 0, live: 0, counted: { bytes: size } };
      } else {
        dualWorks = false; // (this buffer is left to the GC: part of it may be a mapping of the memfd now)
      }
    }
  }
  if (chunk === null) {
    const pages = v8Pages(size);
    if (pages !== null) {
      chunk = { owner: pages.buf, addr: pages.addr, size, bytes: new Uint8Array(pages.buf), dual: false, used: 0, execEnd: 0, live: 0, counted: { bytes: size } };
    } else {
      const addr = mmapAnon(size, PROT_READ | PROT_WRITE);
      const owner = {};
      unmapLater.register(owner, { addr, size });
      chunk = { owner, addr, size, bytes: bytesAt(addr, size), dual: false, used: 0, execEnd: 0, live: 0, counted: { bytes: size } };
    }
  }
  mappedBytes += size;
  uncount.register(chunk.owner, chunk.counted);
  return chunk;
}

function protect(addr: number, size: number, prot: number): void {
  if (!mprotect(addr, size, prot)) throw new Error('mprotect of code memory failed');
}

/** Copy `bytes` to offset `at` of the chunk, where they are read+execute. */
function install(c: Chunk, at: number, bytes: Uint8Array): void {
  if (c.dual) {
    c.bytes!.set(bytes, at);
    return;
  }
  const first = Math.floor(at / PAGE_SIZE) * PAGE_SIZE;
  // The first page may hold earlier blocks' code (read+execute): writable just for the copy. Nothing runs
  // meanwhile: this thread is here, and no other thread runs this isolate's code.
  if (first < c.execEnd) protect(c.addr + first, PAGE_SIZE, PROT_READ | PROT_WRITE);
  c.bytes!.set(bytes, at);
  const end = alignUp(at + Math.max(1, bytes.length), PAGE_SIZE);
  protect(c.addr + first, end - first, PROT_READ | PROT_EXEC);
  if (end > c.execEnd) c.execEnd = end;
}

/** Replace a chunk's pages by inaccessible ones (its reservation stays V8's, freed when the owner is collected). */
function decommit(c: Chunk): void {
  if (c.counted.bytes === 0) return;
  mmapFixed(c.addr, c.dual ? 2 * c.size : c.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  mappedBytes -= c.counted.bytes;
  c.counted.bytes = 0;
  c.bytes = null;
}

// (Classes, not objects of closures: a tiny module's compile allocates one block and one reservation.)
class Block implements CodeBlock {
  private freed = false;
  readonly owner: object;

  constructor(private readonly c: Chunk, readonly addr: number, readonly size: number) {
    c.live++;
    this.owner = c.owner;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    const c = this.c;
    if (--c.live === 0 && c !== current) decommit(c);
  }
}

function blockOf(c: Chunk, addr: number, size: number): CodeBlock {
  return new Block(c, addr, size);
}

/** Room for `len` bytes of code: the chunk and offset. */
function place(len: number): { c: Chunk; at: number; size: number } {
  if (len > SMALL_LIMIT) {
    const c = newChunk(alignUp(len, PAGE_SIZE));
    c.used = c.size;
    return { c, at: 0, size: c.size };
  }
  const size = alignUp(len, BLOCK_ALIGN);
  if (current === null || current.used + size > CHUNK_SIZE) {
    const old = current;
    current = newChunk(CHUNK_SIZE);
    if (old !== null) {
      old.bytes = null;
      if (old.live === 0) decommit(old);
    }
  }
  const c = current;
  const at = c.used;
  c.used = at + size;
  return { c, at, size };
}

/** The end of an install into a chunk of its own: no more writes. */
function sealed(c: Chunk): void {
  if (c !== current) c.bytes = null;
}

/**
 * Copy machine code into fresh executable memory (read+execute), owned by the GC: keep `owner` (or the
 * block) for as long as the code may run.
 */
export function allocateCode(bytes: Uint8Array): CodeBlock {
  const { c, at, size } = place(Math.max(1, bytes.length));
  install(c, at, bytes);
  const block = blockOf(c, c.addr + at, size);
  sealed(c);
  return block;
}

// Code that lives as long as the process (the runtime's entry and trap code, helpers) is held here. (A
// module-level `const` is not enough: V8 keeps top-level bindings that no function uses on the module body's
// stack, and collects what they hold once the body has run.)
const permanent: CodeBlock[] = [];

/** allocateCode for code that is never freed: held for the life of the process. */
export function allocatePermanentCode(bytes: Uint8Array): CodeBlock {
  const b = allocateCode(bytes);
  permanent.push(b);
  return b;
}

/** Code being written in place (see reserveCode). */
export interface CodeReservation {
  /** Where to write the code (exactly the size asked for). Do not keep it after commit(). */
  readonly view: Uint8Array;
  /** The code is written: make it a block (read+execute). */
  commit(): CodeBlock;
}

/**
 * Room for `len` bytes of code, written through `view` and then committed: with dual-mapped chunks the view
 * is the block's writable alias, so the code is linked in place with no copy (a tiny module otherwise pays
 * for a buffer of its own, off-heap: 1-3 us to allocate and collect).
 */
export function reserveCode(len: number): CodeReservation {
  const { c, at, size } = place(Math.max(1, len));
  return new Reservation(c, at, len, blockOf(c, c.addr + at, size));
}

class Reservation implements CodeReservation {
  readonly view: Uint8Array;

  constructor(private readonly c: Chunk, private readonly at: number, len: number, private readonly block: CodeBlock) {
    this.view = c.dual ? c.bytes!.subarray(at, at + len) : new Uint8Array(len);
  }

  commit(): CodeBlock {
    if (!this.c.dual) install(this.c, this.at, this.view);
    sealed(this.c);
    return this.block;
  }
}

/**
 * A GC-owned page-aligned reservation of `size` bytes (a multiple of the page size) for a mapping of its own
 * (mapped-code.ts puts code-cache entries' pages there with MAP_FIXED): V8 unmaps the whole range when `owner`
 * is collected. Null where resizable ArrayBuffers are missing or not page-aligned. The buffer must never be
 * read, written or resized through JS (only its address is used).
 */
export function gcOwnedPages(size: number): { owner: object; addr: number } | null {
  const p = v8Pages(size);
  return p === null ? null : { owner: p.buf, addr: p.addr };
}

/** Bytes of executable memory mapped by allocateCode and not yet freed (diagnostics: as reported by the GC). */
export function codeMemoryMapped(): number {
  return mappedBytes;
}
