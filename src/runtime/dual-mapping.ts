// Executable memory that can be written without protection changes: a memfd mapped twice, read+execute
// where code runs and read+write where it is written (one view kept for the mapping's life). No page is
// ever writable and executable at the same address, and installing code is a plain copy: no mprotect, no
// koffi view per piece. Where the kernel refuses (no memfd, or executable memfd mappings forbidden), callers
// fall back to W^X by mprotect.

import fs from 'node:fs';
import { MFD_CLOEXEC, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, alignUp, bytesAt, closeFd, memfdCreate, munmap, tryMmapShared } from './native.js';

export interface DualMapping {
  /** Where the code runs (read+execute). */
  readonly exec: number;
  /** The read+write alias. */
  readonly write: number;
  readonly size: number;
  /** A view of the read+write alias (null once unmapped). */
  view: Uint8Array | null;
}

let works: boolean | null = null;

/** Map `minBytes` (rounded up to pages) twice; null when dual mapping is unavailable here. */
export function mapDual(minBytes: number): DualMapping | null {
  if (works === false) return null;
  const size = alignUp(Math.max(1, minBytes), PAGE_SIZE);
  const fd = memfdCreate('quickbeam-code', MFD_CLOEXEC);
  if (fd < 0) {
    works = false;
    return null;
  }
  let exec = 0, write = 0;
  try {
    fs.ftruncateSync(fd, size);
    exec = tryMmapShared(size, PROT_READ | PROT_EXEC, fd);
    if (exec !== 0) write = tryMmapShared(size, PROT_READ | PROT_WRITE, fd);
  } catch {
    // ftruncate failed: treated like a refused mapping below
  } finally {
    closeFd(fd); // the mappings keep the file alive (native close: Node did not open it)
  }
  if (exec === 0 || write === 0) {
    if (exec !== 0) munmap(exec, size);
    works = false;
    return null;
  }
  works = true;
  return { exec, write, size, view: bytesAt(write, size) };
}

/** Unmap both aliases. No code in the mapping may run, or be called, afterwards. */
export function unmapDual(m: DualMapping): void {
  m.view = null;
  munmap(m.exec, m.size);
  munmap(m.write, m.size);
}
