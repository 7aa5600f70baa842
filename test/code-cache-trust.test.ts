// The trust model of the caches whose files become code (src/trusted-file.cts): run's machine-code cache and the
// V8 bytecode cache of bin/quickbeam.js. Only a file no one but this user (or root) can have written is used.
//
// The attack the cases stage: an entry with a valid checksum, planted under the key of module TWO (which returns
// 2) but holding the machine code of module ONE (which returns 1). When such an entry is executed, f() returns 1
// (the control case shows it does when the entry passes the checks); every case where it must not be used checks
// that f() returns 2, from a fresh compile. Each case runs in its own process (test/helpers/isolate.ts).

import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import qb from '../src/index.js';
import { moduleInternals } from '../src/api/module.js';
import { rekeyEntry, setMappedCodeMin } from '../src/compile/code-cache.js';
import { readTrusted, trustedDir, writeTrusted } from '../src/trusted-file.cjs';
import { inIsolatedChild, isolated } from './helpers/isolate.js';

const t = isolated(import.meta.url, { name: 'code-cache-trust' });
// Hits of these small modules map their code, as big ones do (small ones are read by default): what the trust
// checks protect is what gets mapped and executed.
setMappedCodeMin(0);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = path.join(root, 'bin', 'quickbeam.js');

/** (module (func (export "f") (result i32) i32.const N)) */
const constModule = (n: number): Uint8Array => Uint8Array.from([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 6, 1, 4, 0, 65, n, 11]);
const ONE = constModule(1);
const TWO = constModule(2);
const uid = process.getuid!();
const OTHER_UID = 65534; // nobody

const temps: string[] = [];
process.on('exit', () => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));
/** A fresh private (0700) directory, removed when the process exits. */
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'qb-trust-'));
  temps.push(d);
  return d;
}

/** Files of `dir` (real path) mapped into this process (/proc/self/maps). */
function mappedFrom(dir: string): string[] {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch {
    return [];
  }
  return readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.split(/\s+/).slice(5).join(' ')).filter((f) => f.startsWith(real + '/'));
}

function load(dir: string, bytes = TWO): { status: string; reason: string | undefined; f: number } {
  const m = new qb.Module(bytes, { cache: dir });
  const { f } = new qb.Instance(m, {}).exports as unknown as { f: () => number };
  const i = moduleInternals(m);
  // Entries are mapped as code: one that is not used must not even be mapped.
  if (i.cacheStatus !== 'hit') assert.equal(mappedFrom(dir), [], `${i.cacheStatus}: an entry of ${dir} is mapped`);
  else assert.ok(mappedFrom(dir).length > 0, 'a hit maps its entry');
  return { status: i.cacheStatus, reason: i.cacheReason, f: f() };
}

/** The cache entry of `bytes`, as the code cache writes it. */
function entryOf(bytes: Uint8Array): { name: string; data: Buffer } {
  const d = tempDir();
  assert.is(load(d, bytes).status, 'absent');
  const [name] = readdirSync(d);
  return { name: name!, data: readFileSync(path.join(d, name!)) };
}

/** An entry under TWO's key holding TWO's bytes and ONE's code, with valid checksums: what an attacker would plant. */
function forgedEntry(): { name: string; data: Buffer } {
  const one = entryOf(ONE);
  const two = entryOf(TWO);
  return { name: two.name, data: Buffer.from(rekeyEntry(one.data, two.name.replace(/\.qbc$/, ''), TWO)) };
}

/** Plants the forged entry in `dir` with `mode`; returns its path. */
function plant(dir: string, mode = 0o600): string {
  const e = forgedEntry();
  const file = path.join(dir, e.name);
  writeFileSync(file, e.data);
  chmodSync(file, mode);
  return file;
}

const mode = (p: string): number => lstatSync(p).mode & 0o7777;
const listing = (dir: string): string[] => readdirSync(dir).sort();

t('control: a forged entry that passes the checks is executed (what the other cases prevent)', () => {
  const dir = tempDir();
  plant(dir);
  const r = load(dir);
  assert.is(r.status, 'hit');
  assert.is(r.f, 1, 'the forged code ran');
});

t('two modules under one key (a fingerprint collision) do not share code: the entry holds its module\'s bytes, compared on every lookup', () => {
  // ONE's entry, renamed to TWO's key with everything else intact: what a collision of the key would find.
  const dir = tempDir();
  const one = entryOf(ONE);
  const two = entryOf(TWO);
  writeFileSync(path.join(dir, two.name), Buffer.from(rekeyEntry(one.data, two.name.replace(/\.qbc$/, ''), ONE)));
  const r = load(dir);
  assert.is(r.status, 'stale');
  assert.is(r.f, 2, "TWO's own code ran");
  assert.is(load(dir).status, 'hit', 'the miss rewrote the entry for TWO');
  assert.is(load(dir).f, 2);
});

t('a valid entry of this user hits; the cache directory is created 0700 and entries 0600, even with umask 0', () => {
  process.umask(0);
  const base = tempDir();
  const dir = path.join(base, 'a', 'b');
  const first = load(dir);
  assert.is(first.status, 'absent');
  assert.is(first.f, 2);
  assert.is(mode(path.join(base, 'a')), 0o700);
  assert.is(mode(dir), 0o700);
  const files = listing(dir);
  assert.is(files.length, 1, files.join(' ')); // no temp file left behind
  assert.match(files[0]!, /^[0-9a-f]{32}\.qbc$/);
  assert.is(mode(path.join(dir, files[0]!)), 0o600);
  assert.is(lstatSync(path.join(dir, files[0]!)).uid, uid);
  const second = load(dir);
  assert.is(second.status, 'hit');
  assert.is(second.f, 2);
  assert.is(second.reason, undefined);
});

t('an entry writable by group or others is not executed; the module compiles, and the entry is rewritten 0600', () => {
  for (const [m, who] of [[0o666, 'group and others'], [0o620, 'group'], [0o602, 'others']] as const) {
    const dir = tempDir();
    const file = plant(dir, m);
    const r = load(dir);
    assert.is(r.status, 'untrusted');
    assert.is(r.f, 2, 'compiled, not loaded');
    assert.is(r.reason, `entry ${path.basename(file)} is writable by ${who} (mode 0${m.toString(8)})`);
    assert.is(mode(file), 0o600);
    const again = load(dir);
    assert.is(again.status, 'hit');
    assert.is(again.f, 2);
  }
});

t('an entry that is a symbolic link to a valid entry elsewhere is not followed', () => {
  const elsewhere = tempDir();
  const target = plant(elsewhere);
  const targetBytes = readFileSync(target);
  const dir = tempDir();
  const link = path.join(dir, path.basename(target));
  symlinkSync(target, link);
  const r = load(dir);
  assert.is(r.status, 'untrusted');
  assert.is(r.reason, `entry ${path.basename(target)} is a symbolic link`);
  assert.is(r.f, 2);
  assert.equal(mappedFrom(elsewhere), [], 'the link target is not mapped');
  // The link was replaced by a fresh entry; its target was not written through.
  assert.ok(lstatSync(link).isFile());
  assert.equal(readFileSync(target), targetBytes);
  assert.is(load(dir).status, 'hit');
});

t('an entry in a 0777 directory is not used, and nothing is written there', () => {
  const dir = tempDir();
  const file = plant(dir);
  const bytes = readFileSync(file);
  chmodSync(dir, 0o777);
  const r = load(dir);
  assert.is(r.status, 'untrusted');
  assert.is(r.reason, 'directory is writable by group and others (mode 0777)');
  assert.is(r.f, 2);
  assert.equal(readFileSync(file), bytes, 'not rewritten');
  const other = load(dir, constModule(3)); // not cached yet: still not written
  assert.is(other.status, 'untrusted');
  assert.is(other.f, 3);
  assert.equal(listing(dir), [path.basename(file)]);
  // A group-writable directory too, and a sticky world-writable one (sticky is fine for ancestors only).
  for (const [m, text] of [[0o770, 'group (mode 0770)'], [0o1777, 'group and others (mode 1777)']] as const) {
    chmodSync(dir, m);
    assert.is(load(dir).reason, `directory is writable by ${text}`);
  }
});

// Only root can give a file to another user: elsewhere this case is skipped (said by the parent, whose output shows).
const asRoot = uid === 0 ? t : (name: string): void => void (inIsolatedChild || console.log(`  (skipped "${name}": not root (uid ${uid}), so files cannot be given to another user)`));

asRoot('an entry or a directory owned by another user is not used (as root: chown to 65534)', () => {
  const dir = tempDir();
  const file = plant(dir);
  chownSync(file, OTHER_UID, OTHER_UID);
  const r = load(dir);
  assert.is(r.status, 'untrusted');
  assert.is(r.reason, `entry ${path.basename(file)} is owned by uid ${OTHER_UID}, not by this user (uid 0)`);
  assert.is(r.f, 2);
  assert.is(lstatSync(file).uid, 0, 'rewritten by this user');
  // The directory: not read, not written.
  const dir2 = tempDir();
  const file2 = plant(dir2);
  chownSync(dir2, OTHER_UID, OTHER_UID);
  const r2 = load(dir2);
  assert.is(r2.status, 'untrusted');
  assert.is(r2.reason, `directory is owned by uid ${OTHER_UID}, not by this user (uid 0)`);
  assert.is(r2.f, 2);
  assert.equal(listing(dir2), [path.basename(file2)]);
  // An ancestor owned by neither this user nor root.
  const base = tempDir();
  const parent = path.join(base, 'p');
  mkdirSync(parent, { mode: 0o755 });
  chownSync(parent, OTHER_UID, OTHER_UID);
  const r3 = load(path.join(parent, 'cache'));
  assert.is(r3.status, 'untrusted');
  assert.is(r3.reason, `${parent} is owned by uid ${OTHER_UID}, neither this user (uid 0) nor root`);
});

t('a cache directory that cannot be made private (its parent is world-writable, not sticky) is refused', () => {
  const base = tempDir();
  chmodSync(base, 0o777);
  const dir = path.join(base, 'cache');
  const r = load(dir);
  assert.is(r.status, 'untrusted');
  assert.is(r.reason, `${base} is writable by group and others (mode 0777) and not sticky`);
  assert.is(r.f, 2);
  assert.equal(listing(dir), []); // created (0700), but nothing written into it
  // A sticky parent, like /tmp, is fine.
  chmodSync(base, 0o1777);
  assert.is(load(dir).status, 'absent');
  assert.is(load(dir).status, 'hit');
});

t('quickbeam run: an untrusted cache is ignored with one line on stderr, and the module still runs', () => {
  const work = tempDir();
  const wasm = path.join(work, 'two.wasm');
  writeFileSync(wasm, TWO);
  const run = (args: string[], env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } =>
    // QUICKBEAM_CODE_CACHE=0: leave the V8 cache in dist/ to the case that tests it.
    spawnSync(process.execPath, [bin, 'run', ...args, '--invoke', 'f', wasm], { encoding: 'utf8', env: { ...process.env, QUICKBEAM_CODE_CACHE: '0', ...env } });
  // A 0777 directory, by --cache and by QUICKBEAM_CACHE_DIR.
  const open = tempDir();
  chmodSync(open, 0o777);
  for (const [args, env] of [[['--cache', open], {}], [[], { QUICKBEAM_CACHE_DIR: open }]] as const) {
    const r = run([...args], env);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, '2\n');
    assert.is(r.stderr, `quickbeam: ignoring code cache ${open}: directory is writable by group and others (mode 0777)\n`);
  }
  assert.equal(listing(open), []);
  // A forged, world-writable entry in a private directory: compiled instead, reported, rewritten.
  const dir = tempDir();
  const file = plant(dir, 0o666);
  const r = run(['--cache', dir]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, '2\n');
  assert.is(r.stderr, `quickbeam: ignoring code cache ${dir}: entry ${path.basename(file)} is writable by group and others (mode 0666)\n`);
  const hit = run(['--cache', dir]);
  assert.is(hit.stdout, '2\n');
  assert.is(hit.stderr, '');
});

t('bin/quickbeam.js: a V8 code cache file or directory writable by others is not deserialised', () => {
  const bundle = path.join(root, 'dist', 'quickbeam.cjs');
  const hello = path.join(root, 'examples', 'hello.wasm');
  if (!existsSync(bundle) || !existsSync(hello)) {
    console.log('  (skipped: no dist/quickbeam.cjs or examples/hello.wasm)');
    return;
  }
  const machineCache = tempDir();
  const tmp = tempDir(); // TMPDIR: its quickbeam-UID/v8-code-cache, the second place, starts empty
  const run = (): string[] => {
    const env: Record<string, string | undefined> = { ...process.env, QUICKBEAM_TRACE_STARTUP: '1', QUICKBEAM_CACHE_DIR: machineCache, TMPDIR: tmp };
    delete env.QUICKBEAM_CODE_CACHE;
    delete env.QUICKBEAM_NO_BUNDLE;
    const r = spawnSync(process.execPath, [bin, 'run', '--no-cache', hello], { encoding: 'utf8', env });
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, 'Hello from Quickbeam!\n');
    return r.stderr.split('\n').map((l) => l.replace(/^quickbeam startup: +[\d.]+ +\+[\d.]+ {2}/, ''));
  };
  const v8cache = (marks: string[]): string | undefined => /code cache (\w+)/.exec(marks.find((m) => m.startsWith('bin: bundle compiled')) ?? '')?.[1];
  run(); // makes sure there is a cache
  // Where bin keeps the CLI bundle's (one file per Node version: this one's; the library's are quickbeam-lib-*): dist/v8-code-cache, or (when that is not this user's) TMPDIR/quickbeam-UID/v8-code-cache.
  const ours = (d: string): string | undefined => {
    try {
      return readdirSync(d).find((f) => f.startsWith('quickbeam-cli-') && f.includes(`-node${process.version}-`) && f.includes('-default.full.bin') && lstatSync(path.join(d, f)).uid === uid);
    } catch {
      return undefined;
    }
  };
  const cacheDir = [path.join(root, 'dist', 'v8-code-cache'), path.join(tmp, `quickbeam-${uid}`, 'v8-code-cache')].find((d) => ours(d) !== undefined);
  if (cacheDir === undefined) {
    console.log('  (skipped: no V8 code cache was saved)');
    return;
  }
  const file = path.join(cacheDir, ours(cacheDir)!);
  assert.is(mode(cacheDir), 0o700);
  assert.is(mode(file), 0o600);
  try {
    chmodSync(file, 0o666);
    const a = run();
    assert.is(v8cache(a), 'absent');
    assert.ok(a.includes(`bin: code cache ignored: ${path.basename(file)} is writable by group and others (mode 0666)`), a.join('\n'));
    assert.is(mode(file), 0o600, 'rewritten');
    assert.is(v8cache(run()), 'used');
    chmodSync(cacheDir, 0o777);
    const b = run();
    assert.is(v8cache(b), 'absent');
    assert.ok(b.includes(`bin: code cache directory ${cacheDir}/ ignored: directory is writable by group and others (mode 0777)`), b.join('\n'));
  } finally {
    chmodSync(cacheDir, 0o700);
    if (existsSync(file)) chmodSync(file, 0o600);
  }
});

t('trusted-file: a FIFO is refused without blocking; files are written 0600 with no temp file left', () => {
  const dir = tempDir();
  const d = trustedDir(dir);
  assert.ok(d.ok);
  if (!d.ok) return;
  process.umask(0);
  writeTrusted(d, 'x', Buffer.from('data'));
  assert.equal(listing(dir), ['x']);
  assert.is(mode(path.join(dir, 'x')), 0o600);
  const r = readTrusted(d, 'x');
  assert.ok(r.ok && r.data.toString() === 'data');
  assert.equal(readTrusted(d, 'absent'), { ok: false, missing: true, reason: 'absent does not exist' });
  const fifo = spawnSync('mkfifo', ['-m', '600', path.join(dir, 'fifo')]);
  if (fifo.status === 0) assert.equal(readTrusted(d, 'fifo'), { ok: false, missing: false, reason: 'fifo is not a regular file' });
  mkdirSync(path.join(dir, 'sub'), { mode: 0o700 });
  assert.equal(readTrusted(d, 'sub'), { ok: false, missing: false, reason: 'sub is not a regular file' });
  // The directory, given through a symbolic link, is checked as what it resolves to.
  const link = path.join(tempDir(), 'link');
  symlinkSync(dir, link);
  const viaLink = trustedDir(link);
  assert.ok(viaLink.ok && viaLink.path === dir);
  assert.equal(trustedDir(path.join(dir, 'x')), { ok: false, missing: false, reason: 'not a directory' });
  assert.equal(statSync(dir).mode & 0o777, 0o700);
});

t.run();
