// Machine code loaded from a file (the code cache): mapped straight from the page cache, no copy.
//
// `mapCodeFile` maps a page-aligned range of a file MAP_PRIVATE with PROT_READ|PROT_EXEC: the pages are the
// page cache's own (shared with every process that maps the same entry), never writable, and stay valid
// when the file is replaced by a rename or deleted (cache entries are only ever replaced that way, never
// rewritten in place). The mapping is put (MAP_FIXED) over a GC-owned reservation (code-memory.ts
// gcOwnedPages: a resizable ArrayBuffer's pages), so V8 unmaps it when the block's owner is collected, like
// compiled code: no finalizer. Where executable file mappings are refused (a `noexec` mount), the code is
// read into GC-owned code memory instead (`readCodeBlock`). Only where resizable ArrayBuffers are missing is
// the mapping a plain one, freed by the module's finalizer (`gcOwned` false).

import fs from 'node:fs';
import { CodeBlock, gcOwnedPages, reserveCode } from './code-memory.js';
import {
  MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE, MAP_PRIVATE, PAGE_SIZE, PROT_EXEC, PROT_NONE, PROT_READ, alignUp, mmapFixed, munmap, tryMmapFile,
} from './native.js';

function block(addr: number, size: number, mapped: boolean): CodeBlock & { mapped: boolean } {
  let freed = false;
  const b = {
    addr,
    size,
    mapped,
    owner: {},
    free() {
      if (freed) return;
      freed = true;
      munmap(addr, size);
    },
  };
  return b;
}

/** A file range mapped over a GC-owned reservation (see mapFileOwned). */
export interface OwnedMapping {
  readonly addr: number;
  readonly size: number;
  /** Keeps the mapping alive: V8 unmaps it (with its reservation) when this is collected. */
  readonly owner: object;
  /** Replace the pages by inaccessible ones now (the reservation stays V8's until the owner is collected). */
  release(): void;
}

/**
 * Map `len` bytes of file `fd` at `offset` (page-aligned) MAP_PRIVATE with `prot` (populated up front unless
 * `populate` is false: then no page is read before it is touched), over a
 * GC-owned reservation. Null when there is no such reservation or the kernel refuses the mapping (e.g. EPERM
 * for PROT_EXEC on a noexec mount): the reservation is then left to the GC with inaccessible pages.
 */
export function mapFileOwned(fd: number, offset: number, len: number, prot: number, populate = true): OwnedMapping | null {
  if (offset % PAGE_SIZE !== 0) throw new Error(`internal: file offset ${offset} is not page-aligned`);
  const size = alignUp(Math.max(1, len), PAGE_SIZE);
  const pages = gcOwnedPages(size);
  if (pages === null) return null;
  const addr = pages.addr;
  const inaccessible = (): void => {
    // (Never leave a hole in V8's reservation: whatever got mapped there would go with V8's munmap.)
    mmapFixed(addr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  };
  if (!mmapFixed(addr, size, prot, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, offset)) {
    inaccessible();
    return null;
  }
  let released = false;
  return {
    addr,
    size,
    owner: pages.owner,
    release() {
      if (released) return;
      released = true;
      inaccessible();
    },
  };
}

/**
 * Map `len` bytes of file `fd` at `offset` (page-aligned) read+execute, populated up front (one system call
 * instead of a page fault per 64 KiB): GC-owned (see mapFileOwned), else a plain mapping the module's
 * finalizer frees. Null when the kernel refuses (errno: e.g. EPERM on a noexec mount).
 */
export function mapCodeFile(fd: number, offset: number, len: number): (CodeBlock & { mapped: boolean; gcOwned: boolean }) | null {
  const owned = mapFileOwned(fd, offset, len, PROT_READ | PROT_EXEC);
  if (owned !== null) {
    return { addr: owned.addr, size: owned.size, owner: owned.owner, mapped: true, gcOwned: true, free: () => owned.release() };
  }
  // No GC-owned reservation here, or the kernel refused (then it refuses this too).
  if (offset % PAGE_SIZE !== 0) throw new Error(`internal: code offset ${offset} is not page-aligned`);
  const size = alignUp(Math.max(1, len), PAGE_SIZE);
  const addr = tryMmapFile(size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_POPULATE, fd, offset);
  return addr === 0 ? null : { ...block(addr, size, true), gcOwned: false };
}

/** Scratch for readCodeBlock's checks (kept while small: a 1-page entry is read once per hit). */
let scratch = new Uint8Array(0);
const SCRATCH_KEEP = 1024 * 1024;

/**
 * Read the `region` bytes of file `fd` at `offset` (code zero-padded to a page multiple), check them with
 * `check` (the entry's checksum of the whole region), and copy the first `len` bytes (the code) into GC-owned
 * code memory (code-memory.ts: freed by the GC with whoever holds the block, no finalizer needed). Only the
 * code's length is allocated, so a hit of a tiny module takes a small block, not a page (a loop of hits held
 * a page each until the next collection). Null when the check fails; throws on I/O errors.
 */
export function readCodeBlock(
  fd: number, offset: number, region: number, len: number, check: (bytes: Uint8Array) => boolean,
): (CodeBlock & { mapped: boolean; gcOwned: boolean }) | null {
  if (scratch.length < region) scratch = new Uint8Array(region);
  const buf = scratch.length === region ? scratch : scratch.subarray(0, region);
  if (scratch.length > SCRATCH_KEEP) scratch = new Uint8Array(0);
  let done = 0;
  while (done < region) {
    const n = fs.readSync(fd, buf, done, region - done, offset + done);
    if (n <= 0) throw new Error('code cache entry ended early');
    done += n;
  }
  if (!check(buf)) return null;
  const r = reserveCode(Math.max(1, len));
  r.view.set(buf.subarray(0, len));
  const b = r.commit();
  return { addr: b.addr, size: b.size, owner: b.owner, free: () => b.free(), mapped: false, gcOwned: true };
}
