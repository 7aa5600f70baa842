// Machine code loaded from a file (the code cache): mapped straight from the page cache, no copy.
//
// `mapCodeFile` maps a page-aligned range of a file MAP_PRIVATE with PROT_READ|PROT_EXEC: the pages are the
// page cache's own (shared with every process that maps the same entry), never writable, and stay valid
// when the file is replaced by a rename or deleted (cache entries are only ever replaced that way, never
// rewritten in place). Where executable file mappings are refused (a `noexec` mount), `readCodeFile` reads
// the range with one read() into fresh anonymous memory, then makes it read+execute (W^X).
//
// Both return a CodeBlock that is not the GC's: the module's finalizer frees it (free()).

import fs from 'node:fs';
import { CodeBlock, reserveCode } from './code-memory.js';
import {
  MAP_POPULATE, MAP_PRIVATE, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, alignUp, bytesAt, mmapAnon, mprotect, munmap, tryMmapFile,
} from './native.js';

let mappedBytes = 0;

/** Bytes of code currently mapped or read from files (diagnostics, tests). */
export function fileCodeBytes(): number {
  return mappedBytes;
}

function block(addr: number, size: number, mapped: boolean): CodeBlock & { mapped: boolean } {
  mappedBytes += size;
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
      mappedBytes -= size;
    },
  };
  return b;
}

/**
 * Map `len` bytes of file `fd` at `offset` (page-aligned) read+execute, populated up front (one system call
 * instead of a page fault per 64 KiB). Null when the kernel refuses (errno: e.g. EPERM on a noexec mount).
 */
export function mapCodeFile(fd: number, offset: number, len: number): (CodeBlock & { mapped: boolean }) | null {
  if (offset % PAGE_SIZE !== 0) throw new Error(`internal: code offset ${offset} is not page-aligned`);
  const size = alignUp(Math.max(1, len), PAGE_SIZE);
  const addr = tryMmapFile(size, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_POPULATE, fd, offset);
  return addr === 0 ? null : block(addr, size, true);
}

/** Read `len` bytes of file `fd` at `offset` into new read+execute memory (W^X). Throws on I/O errors. */
export function readCodeFile(fd: number, offset: number, len: number): CodeBlock & { mapped: boolean } {
  const size = alignUp(Math.max(1, len), PAGE_SIZE);
  const addr = mmapAnon(size, PROT_READ | PROT_WRITE);
  try {
    const view = bytesAt(addr, size);
    let done = 0;
    while (done < len) {
      const n = fs.readSync(fd, view, done, len - done, offset + done);
      if (n <= 0) throw new Error('code cache entry ended early');
      done += n;
    }
    if (!mprotect(addr, size, PROT_READ | PROT_EXEC)) throw new Error('mprotect(R|X) of code memory failed');
  } catch (e) {
    munmap(addr, size);
    throw e;
  }
  return block(addr, size, false);
}

/**
 * Read `len` bytes of file `fd` at `offset` into GC-owned code memory (code-memory.ts: freed by the GC with
 * whoever holds the block, no finalizer needed), straight into the block where code memory is dual-mapped.
 * Throws on I/O errors.
 */
export function readCodeBlock(fd: number, offset: number, len: number): CodeBlock & { mapped: boolean; gcOwned: boolean } {
  const r = reserveCode(Math.max(1, len));
  let done = 0;
  while (done < len) {
    const n = fs.readSync(fd, r.view, done, len - done, offset + done);
    if (n <= 0) throw new Error('code cache entry ended early');
    done += n;
  }
  const b = r.commit();
  return { addr: b.addr, size: b.size, owner: b.owner, free: () => b.free(), mapped: false, gcOwned: true };
}
