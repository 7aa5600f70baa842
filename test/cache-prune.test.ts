// The code cache's size limit (compile/cache-prune.ts): after a store, the least recently used entries go while
// the directory holds more than the limit (down to 3/4 of it); a hit makes its entry recently used; the entry
// just stored, other files and fresh temporary files stay; stale temporary files go.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import qb from '../src/index.js';
import { cacheMaxBytes, pruneCache } from '../src/compile/cache-prune.js';
import { uleb } from './helpers/wasm-builder.js';

const MiB = 1024 * 1024;

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'qb-prune-'));
  fs.chmodSync(d, 0o700);
  return fs.realpathSync(d);
}

/** A file of `size` bytes last modified `ageS` seconds ago. */
function file(dir: string, name: string, size: number, ageS: number): void {
  fs.writeFileSync(path.join(dir, name), Buffer.alloc(size));
  const t = new Date(Date.now() - ageS * 1000);
  fs.utimesSync(path.join(dir, name), t, t);
}

const names = (dir: string): string[] => fs.readdirSync(dir).sort();
const entryBytes = (dir: string): number => names(dir).filter((n) => n.endsWith('.qbc')).reduce((s, n) => s + fs.statSync(path.join(dir, n)).size, 0);

test('pruneCache removes the least recently used entries down to 3/4 of the limit, never the one kept', () => {
  const dir = tempDir();
  try {
    // 6 entries of 1 MiB, the oldest first, and the one to keep (the caller's: the entry just stored), older still
    for (let k = 0; k < 6; k++) file(dir, `e${k}.qbc`, MiB, 600 - 100 * k);
    file(dir, 'keep.qbc', MiB, 10_000);
    file(dir, 'other.bin', 3 * MiB, 20_000); // not an entry: neither counted nor removed
    fs.mkdirSync(path.join(dir, 'run-hints'));
    const removed = pruneCache(dir, 'keep.qbc', 4 * MiB); // 7 MiB of entries, limit 4: down to 3
    assert.is(removed, 4);
    assert.equal(names(dir), ['e4.qbc', 'e5.qbc', 'keep.qbc', 'other.bin', 'run-hints']);
    assert.is(pruneCache(dir, 'keep.qbc', 4 * MiB), 0, 'under the limit: nothing goes');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('temporary files of interrupted stores go once an hour old; fresh ones (a store in progress) stay', () => {
  const dir = tempDir();
  try {
    file(dir, 'a.qbc.123-abc-1.tmp', 100, 2 * 3600);
    file(dir, 'b.qbc.456-def-2.tmp', 100, 60);
    file(dir, 'c.qbc', 100, 0);
    assert.is(pruneCache(dir, 'c.qbc', 100 * MiB), 1);
    assert.equal(names(dir), ['b.qbc.456-def-2.tmp', 'c.qbc']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory that cannot be listed, or entries that cannot be removed, are no error', () => {
  assert.is(pruneCache('/nonexistent/quickbeam-cache', 'x.qbc', 1), 0);
});

test('QUICKBEAM_CACHE_MAX_MB sets the limit; a malformed value is reported and the default used', () => {
  assert.is(cacheMaxBytes({}), 1024 * MiB);
  assert.is(cacheMaxBytes({ QUICKBEAM_CACHE_MAX_MB: '5' }), 5 * MiB);
  const write = process.stderr.write;
  let said = '';
  process.stderr.write = ((s: string) => ((said += s), true)) as typeof process.stderr.write;
  try {
    assert.is(cacheMaxBytes({ QUICKBEAM_CACHE_MAX_MB: '-3' }), 1024 * MiB);
    assert.is(cacheMaxBytes({ QUICKBEAM_CACHE_MAX_MB: '1.5' }), 1024 * MiB);
  } finally {
    process.stderr.write = write;
  }
  assert.match(said, /ignoring QUICKBEAM_CACHE_MAX_MB="-3": expected a positive integer/);
});

/** A distinct module (its data segment differs) of about `size` bytes, exporting f() -> n. */
function moduleOf(n: number, size: number): Uint8Array {
  const data = new Uint8Array(size).fill(n & 0xff);
  const seg: number[] = [1, 0, 0x41, 0, 0x0b];
  uleb(seg, data.length);
  const body = [0, 0x41, n & 0x3f, 0x0b]; // (n < 64: a one-byte i32.const)
  const code = [1, body.length, ...body];
  const head = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0, 5, 3, 1, 0, 16, 7, 5, 1, 1, 0x66, 0, 0];
  const dataSection: number[] = [];
  uleb(dataSection, seg.length + data.length);
  return Uint8Array.from([...head, 10, code.length, ...code, 11, ...dataSection, ...seg, ...data]);
}

test('end to end: stores prune the cache to its limit, and a hit keeps its entry', () => {
  const dir = tempDir();
  const saved = process.env.QUICKBEAM_CACHE_MAX_MB;
  process.env.QUICKBEAM_CACHE_MAX_MB = '1';
  try {
    const mods = [1, 2, 3].map((n) => moduleOf(n, 300 * 1024));
    for (const m of mods) new qb.Module(m, { cache: dir });
    let entries = names(dir).filter((n) => n.endsWith('.qbc'));
    assert.is(entries.length, 3, 'three entries of ~300 KiB fit in 1 MiB');
    // Which entry is whose: each module stored alone into a fresh directory names it.
    const keyOf = (m: Uint8Array): string => {
      const d = tempDir();
      try {
        new qb.Module(m, { cache: d });
        return names(d).find((n) => n.endsWith('.qbc'))!;
      } finally {
        fs.rmSync(d, { recursive: true, force: true });
      }
    };
    const keys = mods.map(keyOf);
    // Age them (oldest first: modules 1, 2, 3), then use the oldest: the hit makes it the most recently used.
    const ages = new Map<string, number>();
    keys.forEach((k, i) => {
      const t = new Date(Date.now() - (3 - i) * 1000_000);
      fs.utimesSync(path.join(dir, k), t, t);
      ages.set(k, t.getTime());
    });
    const hit = new qb.Module(mods[0], { cache: dir });
    assert.is((new qb.Instance(hit).exports.f as () => number)(), 1);
    assert.ok(fs.statSync(path.join(dir, keys[0])).mtimeMs > ages.get(keys[2])!, 'the hit made its entry the most recently used');
    // A fourth module: 4 x ~300 KiB > 1 MiB, so the least recently used (module 2's) goes, down to <= 3/4 MiB.
    const m4 = moduleOf(4, 300 * 1024);
    new qb.Module(m4, { cache: dir });
    entries = names(dir).filter((n) => n.endsWith('.qbc'));
    assert.ok(!entries.includes(keys[1]), 'the least recently used entry was removed');
    assert.ok(entries.includes(keys[0]), 'the entry just hit was kept');
    assert.ok(entries.includes(keyOf(m4)), 'the entry just stored was kept');
    assert.ok(entryBytes(dir) <= 1 * MiB, `entries add up to ${entryBytes(dir)} bytes`);
  } finally {
    if (saved === undefined) delete process.env.QUICKBEAM_CACHE_MAX_MB;
    else process.env.QUICKBEAM_CACHE_MAX_MB = saved;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
