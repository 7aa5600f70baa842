// Executable memory, W^X (no page is ever writable and executable at once), freed by V8's GC.
//
// Code lives in page-aligned reservations that V8 makes and frees itself: the backing store of a resizable
// ArrayBuffer (`new ArrayBuffer(n, { maxByteLength: n })`), which V8 allocates with its page allocator
// (mmap, committed read+write) and unmaps when the buffer is collected, by the GC itself: no finalizer, so a
// loop that compiles modules without ever yielding frees them as it goes (measured on Node 20, 24 and 26:
// the mapping is gone right after `gc()`). Pages that hold code are made read+execute here; nothing else
// touches them: the buffers never leave this file (a JS write through a view would fault on them), are
// never resized (a resize is the only operation in which V8 changes their pages' protection or writes to
// them), and V8 never reads or writes a backing store's contents on its own. Once V8 unmaps a buffer its
// addresses are the kernel's again, and whatever is mapped there next gets fresh pages and protections.
//
// A block's `owner` is what keeps its memory alive: whoever runs the code holds it (a module holds its
// code's blocks, an instance its module). Small blocks share 64 KiB chunks (one buffer costs ~15-20 us to
// create, a block a copy and one or two mprotects), so a chunk is freed after its last block's owner; big
// blocks get a buffer of their own. `free()` releases a block at once (explicit disposal): its pages are
// replaced by inaccessible ones as soon as nothing else lives on them.
//
// Where resizable ArrayBuffers are unavailable or not page-aligned, chunks are plain mappings unmapped by a
// FinalizationRegistry callback on the owner (which waits for the event loop).

import {
  MAP_ANONYMOUS, MAP_NORESERVE, MAP_PRIVATE, PAGE_SIZE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, addressOf, alignUp, bytesAt, mmapAnon, mmapFixed, mprotect, munmap,
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
  /** Offset below which the pages are read+execute (above: still read+write, never executed). */
  execEnd: number;
  /** Blocks not released by free(). */
  live: number;
  /** Bytes still counted in `mappedBytes` (0 once decommitted). */
  counted: number;
}

let current: Chunk | null = null;
let mappedBytes = 0;

// Diagnostics only (the memory is freed by V8 whether or not this runs): uncount a chunk when it is collected.
const uncount = new FinalizationRegistry<{ counted: number }>((c) => {
  mappedBytes -= c.counted;
  c.counted = 0;
});

// Fallback owners: plain mappings unmapped when their token is collected.
const unmapLater = new FinalizationRegistry<{ addr: number; size: number }>((m) => {
  munmap(m.addr, m.size);
});

let resizableWorks: boolean | null = null;

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

function newChunk(size: number): Chunk {
  const pages = v8Pages(size);
  let chunk: Chunk;
  if (pages !== null) {
    chunk = { owner: pages.buf, addr: pages.addr, size, bytes: new Uint8Array(pages.buf), used: 0, execEnd: 0, live: 0, counted: size };
  } else {
    const addr = mmapAnon(size, PROT_READ | PROT_WRITE);
    const owner = {};
    unmapLater.register(owner, { addr, size });
    chunk = { owner, addr, size, bytes: bytesAt(addr, size), used: 0, execEnd: 0, live: 0, counted: size };
  }
  mappedBytes += size;
  uncount.register(chunk.owner, chunk);
  return chunk;
}

function protect(addr: number, size: number, prot: number): void {
  if (!mprotect(addr, size, prot)) throw new Error('mprotect of code memory failed');
}

/** Copy `bytes` to offset `at` of the chunk and make the pages they touch read+execute. */
function install(c: Chunk, at: number, bytes: Uint8Array): void {
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
  if (c.counted === 0) return;
  mmapFixed(c.addr, c.size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  mappedBytes -= c.counted;
  c.counted = 0;
  c.bytes = null;
}

function blockOf(c: Chunk, addr: number, size: number): CodeBlock {
  c.live++;
  let freed = false;
  return {
    addr,
    size,
    owner: c.owner,
    free() {
      if (freed) return;
      freed = true;
      if (--c.live === 0 && c !== current) decommit(c);
    },
  };
}

/**
 * Copy machine code into fresh executable memory (read+execute), owned by the GC: keep `owner` (or the
 * block) for as long as the code may run.
 */
export function allocateCode(bytes: Uint8Array): CodeBlock {
  const len = Math.max(1, bytes.length);
  if (len > SMALL_LIMIT) {
    const c = newChunk(alignUp(len, PAGE_SIZE));
    install(c, 0, bytes);
    c.bytes = null;
    return blockOf(c, c.addr, c.size);
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
  install(c, at, bytes);
  c.used = at + size;
  return blockOf(c, c.addr + at, size);
}

/** Bytes of executable memory mapped by allocateCode and not yet freed (diagnostics: as reported by the GC). */
export function codeMemoryMapped(): number {
  return mappedBytes;
}
