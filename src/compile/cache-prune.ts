// The code cache's size limit. Nothing else ever removed an entry, so a cache directory grew with every new
// module (each `quickbeam run` of a new or rebuilt module file, each module an application compiles with a
// cache): ~/.cache/quickbeam without end. After a store, when the directory's entries add up to more than the
// limit, the least recently used ones go (a hit refreshes its entry's modification time: see touchEntry), down
// to three quarters of the limit, so that a full cache is not pruned again at every store. Temporary files
// that an interrupted store left behind go too, once they are an hour old.
//
// Best effort, never an error: a directory that cannot be listed, or entries that cannot be removed (a
// read-only copy of a cache), are left as they are. Removing an entry another process has mapped is safe: the
// mapping keeps the file's pages until it is unmapped.

import fs from 'node:fs';
import path from 'node:path';

const ENTRY_SUFFIX = '.qbc';
const TMP_SUFFIX = '.tmp';
const DEFAULT_MAX_MB = 1024;
const STALE_TMP_MS = 60 * 60 * 1000;

let warned = false;

/** The limit in bytes: QUICKBEAM_CACHE_MAX_MB (MiB, a positive integer) or 1 GiB. */
export function cacheMaxBytes(env: Record<string, string | undefined> = process.env): number {
  const v = env.QUICKBEAM_CACHE_MAX_MB;
  if (v === undefined || v === '') return DEFAULT_MAX_MB * 1024 * 1024;
  const n = Number(v);
  if (/^\d+$/.test(v) && Number.isSafeInteger(n) && n >= 1) return n * 1024 * 1024;
  if (!warned) {
    warned = true;
    process.stderr.write(`quickbeam: ignoring QUICKBEAM_CACHE_MAX_MB=${JSON.stringify(v)}: expected a positive integer (MiB); the limit is ${DEFAULT_MAX_MB} MiB\n`);
  }
  return DEFAULT_MAX_MB * 1024 * 1024;
}

/** Mark the entry open on `fd` as just used (its modification time: pruning removes the least recently used). */
export function touchEntry(fd: number): void {
  try {
    const now = new Date();
    fs.futimesSync(fd, now, now);
  } catch {
    // (a read-only cache: its entries are never pruned by this process either)
  }
}

/**
 * Remove least recently used entries of cache directory `dir` (a checked directory's real path) while its
 * entries add up to more than `maxBytes`, never the entry named `keep` (the one just stored). Returns the
 * number of files removed.
 */
export function pruneCache(dir: string, keep: string, maxBytes = cacheMaxBytes()): number {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  const entries: { name: string; size: number; used: number }[] = [];
  let total = 0;
  let removed = 0;
  const now = Date.now();
  for (const name of names) {
    const isEntry = name.endsWith(ENTRY_SUFFIX);
    if (!isEntry && !(name.endsWith(TMP_SUFFIX) && name.includes(ENTRY_SUFFIX))) continue;
    let st: fs.Stats;
    try {
      st = fs.lstatSync(path.join(dir, name));
    } catch {
      continue; // (removed meanwhile)
    }
    if (!st.isFile()) continue;
    if (!isEntry) {
      if (now - st.mtimeMs > STALE_TMP_MS && unlink(dir, name)) removed++;
      continue;
    }
    total += st.size;
    if (name !== keep) entries.push({ name, size: st.size, used: st.mtimeMs });
  }
  if (total <= maxBytes) return removed;
  entries.sort((a, b) => a.used - b.used);
  const target = Math.floor(maxBytes * 0.75);
  for (const e of entries) {
    if (total <= target) break;
    if (unlink(dir, e.name)) {
      total -= e.size;
      removed++;
    }
  }
  return removed;
}

function unlink(dir: string, name: string): boolean {
  try {
    fs.unlinkSync(path.join(dir, name));
    return true;
  } catch {
    return false;
  }
}
