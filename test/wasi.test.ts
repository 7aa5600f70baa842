// Tests for src/wasi/ (WASI preview1): real C programs built with wasi-libc (test/fixtures/wasi/*.c, the
// committed .wasm next to them; rebuild with scripts/build-examples.sh) run against real files in a temp dir,
// plus direct calls for what a C program cannot express.
//
// The engine is a parameter: by default Node's own WebAssembly; QB_WASI_ENGINE=quickbeam runs the same
// programs under Quickbeam (src/index.ts).
//
// Run: npx tsc -p . ; npx uvu dist/test 'wasi\.test\.js$'

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASI, Errno, wasiExitCode, type WasiOptions } from '../src/wasi/index.js';

// -------------------------------------------------------------------------------------------------
// Engine and runner

/** The part of a `WebAssembly`-like namespace the runner needs. */
export interface EngineNamespace {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: object };
}

async function selectEngine(): Promise<{ name: string; engine: EngineNamespace }> {
  if (process.env['QB_WASI_ENGINE'] === 'quickbeam') {
    const path = '../src/index.js';
    const mod = (await import(path)) as { default?: EngineNamespace } & EngineNamespace;
    return { name: 'quickbeam', engine: mod.default ?? mod };
  }
  return { name: 'node', engine: WebAssembly as unknown as EngineNamespace };
}

const { name: ENGINE_NAME, engine: ENGINE } = await selectEngine();

export interface RunOptions extends Omit<WasiOptions, 'stdout' | 'stderr'> {
  /** Capture into strings (the default), or pass host fds. */
  stdout?: number;
  stderr?: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Instantiates `wasmBytes` on `engine` with a fresh WASI and runs `_start`; stdout/stderr are captured. */
export function runWasi(engine: EngineNamespace, wasmBytes: Uint8Array, opts: RunOptions = {}): RunResult {
  const out: Uint8Array[] = [];
  const err: Uint8Array[] = [];
  const wasi = new WASI({
    ...opts,
    stdin: opts.stdin ?? '',
    stdout: opts.stdout ?? { write: (c: Uint8Array) => out.push(c) },
    stderr: opts.stderr ?? { write: (c: Uint8Array) => err.push(c) },
  });
  const module = new engine.Module(wasmBytes);
  const instance = new engine.Instance(module, wasi.getImportObject());
  const code = wasi.start(instance);
  const text = (chunks: Uint8Array[]): string => Buffer.concat(chunks).toString('utf8');
  return { code, stdout: text(out), stderr: text(err) };
}

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/wasi/', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const wasmCache = new Map<string, Uint8Array>();
function wasm(path: string): Uint8Array {
  let b = wasmCache.get(path);
  if (!b) wasmCache.set(path, (b = new Uint8Array(fs.readFileSync(path))));
  return b;
}
const fixture = (name: string): Uint8Array => wasm(join(FIXTURES, `${name}.wasm`));

function run(name: string, args: string[], opts: RunOptions = {}): RunResult {
  return runWasi(ENGINE, fixture(name), { args: [name, ...args], ...opts });
}

/** A fresh temp dir (real path), removed after `f`. */
function withTmp<T>(f: (dir: string) => T): T {
  const dir = fs.realpathSync(fs.mkdtempSync(join(tmpdir(), 'qb-wasi-')));
  try {
    return f(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs fsops.wasm with a temp dir preopened as /sandbox. */
function fsops(cmd: string, check?: (dir: string, r: RunResult) => void): RunResult {
  return withTmp((dir) => {
    const r = run('fsops', [cmd], { preopens: { '/sandbox': dir } });
    check?.(dir, r);
    return r;
  });
}

function expectLines(actual: string, expected: string, what: string): void {
  const exp = expected.replace(/^\n/, '');
  assert.fixture(actual, exp, what);
}

function openFdCount(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

// -------------------------------------------------------------------------------------------------
// argv, environ, exit codes

test(`[${ENGINE_NAME}] argv and environ`, () => {
  const r = run('basics', ['args', 'héllo wörld', '', '--flag=1'], {
    env: { HOME: '/home/guest', EMPTY: '', 'UNI': 'ü€', SKIPPED: undefined },
  });
  assert.is(r.code, 0);
  expectLines(r.stdout, `
argc=5
argv[0]=basics
argv[1]=args
argv[2]=héllo wörld
argv[3]=
argv[4]=--flag=1
env HOME=/home/guest
env EMPTY=
env UNI=ü€
HOME=/home/guest
`, 'args output');
});

test(`[${ENGINE_NAME}] no args, no env`, () => {
  const r = runWasi(ENGINE, fixture('basics'), {});
  assert.is(r.code, 0);
  assert.is(r.stdout, 'argc=0\nHOME=(unset)\n');
});

test(`[${ENGINE_NAME}] exit codes: exit(), return from main, proc_raise`, () => {
  assert.is(run('basics', ['exit', '7']).code, 7);
  assert.is(run('basics', ['exit', '0']).code, 0);
  assert.is(run('basics', ['return', '3']).code, 3);
  assert.is(run('basics', ['return', '0']).code, 0);
  assert.is(run('basics', ['exit', '255']).code, 255);
  const r = run('basics', ['raise']);
  assert.is(r.code, 128 + 15, 'SIGTERM terminates with 128 + 15');
  assert.is(r.stdout, 'raise_chld=0\nraise_bad=28\n');
  const u = run('basics', ['nope']);
  assert.is(u.code, 2);
  assert.is(u.stderr, 'unknown command nope\n');
});

test(`[${ENGINE_NAME}] a trap propagates out of start()`, () => {
  let caught: unknown;
  try {
    run('basics', ['abort']);
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, 'start() throws');
  assert.is((caught as Error).name, 'RuntimeError');
});

// -------------------------------------------------------------------------------------------------
// clocks, random, poll, stdio

test(`[${ENGINE_NAME}] clocks, nanosleep, sched_yield`, () => {
  const before = Math.floor(Date.now() / 1000);
  const r = run('basics', ['clocks']);
  assert.is(r.code, 0, r.stderr);
  const rt = Number(/realtime_s=(\d+)/.exec(r.stdout)?.[1]);
  assert.ok(Math.abs(rt - before) <= 2, `realtime ${rt} near ${before}`);
  expectLines(r.stdout.replace(/^realtime_s=\d+\n/, ''), `
monotonic_res_ns=1
realtime_res_ns=1000
process_cpu_positive=1
thread_cpu_positive=1
slept_ms_at_least_50=1
abs_sleep=0 reached=1
time_matches=1
sched_yield=0
bad_clock=28
`, 'clocks');
});

test(`[${ENGINE_NAME}] random_get`, () => {
  const a = run('basics', ['random']);
  const b = run('basics', ['random']);
  assert.is(a.code, 0);
  assert.match(a.stdout, /^nonzero_enough=1\ndiffer=1\n[0-9a-f]{16}\n$/);
  assert.is.not(a.stdout, b.stdout, 'two runs differ');
});

test(`[${ENGINE_NAME}] poll_oneoff with clock subscriptions`, () => {
  const t0 = process.hrtime.bigint();
  const r = run('basics', ['poll']);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.is(r.stdout, 'poll_clock=0 n=1 userdata=111 type=0 error=0\npoll_none=28\n');
  assert.ok(ms >= 10 && ms < 4000, `waited ${ms} ms for the 10 ms timer, not the 5 s one`);
});

test(`[${ENGINE_NAME}] stdout, stderr, and stream errors`, () => {
  const r = run('basics', ['stdio']);
  assert.is(r.code, 0);
  expectLines(r.stdout, `
to stdout
raw stdout
isatty0=0
read_stdout=-1 errno=8
write_stdin=-1 errno=8
lseek_stdout=-1 errno=70
write_badfd=-1 errno=8
`, 'stdio');
  assert.is(r.stderr, 'to stderr\n');
});

test(`[${ENGINE_NAME}] sockets are not supported`, () => {
  assert.is(run('basics', ['unknown']).stdout, `sock_accept=${Errno.NOTSUP}\n`);
});

function stdinExpectation(input: Uint8Array): string {
  let sum = 0;
  let lines = 0;
  for (const b of input) {
    sum = (Math.imul(sum, 31) + b) >>> 0;
    if (b === 10) lines++;
  }
  const text = Buffer.from(input).toString('latin1');
  const first = text.slice(0, Math.min(text.length, 4096)).split('\n')[0]!.toUpperCase();
  return `poll=1 revents_in=1\n${input.length ? `first=${first}\n` : ''}bytes=${input.length} lines=${lines} sum=${sum} eof=1\n`;
}

test(`[${ENGINE_NAME}] stdin from a string, bytes, a reader and a host fd`, () => {
  const text = 'hello stdin\nsecond line\n';
  assert.is(run('basics', ['stdin'], { stdin: text }).stdout, stdinExpectation(Buffer.from(text)));
  assert.is(run('basics', ['stdin'], { stdin: '' }).stdout, stdinExpectation(new Uint8Array(0)));

  const big = new Uint8Array(100_000);
  for (let i = 0; i < big.length; i++) big[i] = i % 97 === 96 ? 10 : 97 + (i % 26);
  assert.is(run('basics', ['stdin'], { stdin: big }).stdout, stdinExpectation(big));

  // A reader handing out small chunks.
  let off = 0;
  const reader = {
    read(max: number): Uint8Array | null {
      if (off >= big.length) return null;
      const n = Math.min(max, 777, big.length - off);
      const c = big.subarray(off, off + n);
      off += n;
      return c;
    },
  };
  assert.is(run('basics', ['stdin'], { stdin: reader }).stdout, stdinExpectation(big));

  withTmp((dir) => {
    const p = join(dir, 'in.txt');
    fs.writeFileSync(p, big);
    const fd = fs.openSync(p, 'r');
    try {
      assert.is(run('basics', ['stdin'], { stdin: fd }).stdout, stdinExpectation(big));
    } finally {
      fs.closeSync(fd);
    }
  });
});

test(`[${ENGINE_NAME}] stdout/stderr to host fds keep their order`, () => {
  withTmp((dir) => {
    const p = join(dir, 'out.txt');
    const fd = fs.openSync(p, 'w');
    try {
      const r = run('basics', ['stdio'], { stdout: fd, stderr: fd });
      assert.is(r.code, 0);
    } finally {
      fs.closeSync(fd);
    }
    const text = fs.readFileSync(p, 'utf8');
    assert.ok(text.startsWith('to stdout\nto stderr\nraw stdout\n'), text);
  });
});

// -------------------------------------------------------------------------------------------------
// Files

test(`[${ENGINE_NAME}] files: create, write, read, seek, append, pread/pwrite, O_EXCL/O_TRUNC`, () => {
  fsops('rw', (dir, r) => {
    assert.is(r.code, 0, r.stderr);
    expectLines(r.stdout, `
open_create=0
write=13
lseek_cur=13
lseek_set=7
write2=5
read_on_wronly=-1 errno=8
pwrite=1
tell_after_pwrite=12
lseek_end=13
lseek_negative=-1 errno=28
close=0
close_again=-1 errno=8
content="Hello, WASI!|"
read5=5
buf=Hello
pread=5
pbuf=WASI!
pos_after_pread=5
write_on_rdonly=-1 errno=8
seek_past_end=100
read_at_eof=0
append=5
pos_after_append=18
appended="Hello, WASI!|more|"
fopen=0
ftell=790
fseek=0
fgets=line 0
lines=100
excl_existing=-1 errno=20
excl_new=0
size_after_trunc=0
open_missing=-1 errno=44
open_dir_for_write=-1 errno=31
open_file_as_dir=-1 errno=54
open_file_trailing_slash=-1 errno=54
open_through_file=-1 errno=54
`, 'rw');
    assert.is(fs.readFileSync(join(dir, 'a.txt'), 'utf8'), '');
    const b = fs.readFileSync(join(dir, 'b.txt'), 'utf8');
    assert.is(b.split('\n').length, 101);
    assert.ok(b.startsWith('line 0\nline 1\n'));
    assert.ok(fs.existsSync(join(dir, 'new.txt')));
  });
});

test(`[${ENGINE_NAME}] files: stat, truncate, allocate, sync, fcntl flags, times`, () => {
  fsops('stat', (dir, r) => {
    assert.is(r.code, 0, r.stderr);
    expectLines(r.stdout, `
stat=0
size=10 reg=1 nlink=1 ino_nonzero=1
stat_dir=0
dir=1
stat_missing=-1 errno=44
fstat=0
fsize=10
ftruncate_grow=0
size_grown=100
ftruncate_shrink=0
size_shrunk=4
fsync=0
fdatasync=0
fallocate=0
size_allocated=4096
fadvise=0
getfl_rdwr=1
setfl_append=0
getfl_append=1
write_appended=3
size_after_append=4099
futimens=0
atime=1000000000 mtime=1200000000 mtime_ns=500
utimensat=0
atime2=1000000000 mtime2=1300000000
set_times_now=0
set_times_conflict=-28 errno=0
mtime_recent=1
truncate=0
size_truncated=2
access_exists=0
access_missing=-1 errno=44
getfl_rdonly=1
ftruncate_rdonly=-1 errno=8
getfl_wronly=1
`, 'stat');
    const st = fs.statSync(join(dir, 's.txt'));
    assert.is(st.size, 2);
    assert.ok(Math.abs(st.mtimeMs - Date.now()) < 60_000, 'mtime was set to now');
    assert.is(fs.readFileSync(join(dir, 's.txt'), 'latin1'), '01');
  });
});

test(`[${ENGINE_NAME}] directories: mkdir, rmdir, rename, unlink, readdir, chdir`, () => {
  fsops('dirs', (dir, r) => {
    assert.is(r.code, 0, r.stderr);
    expectLines(r.stdout, `
mkdir=0
mkdir_exists=-1 errno=20
mkdir_nested_missing=-1 errno=44
mkdir_nested=0
list_d1=../,./,d2/,f.txt 
rmdir_notempty=-1 errno=55
rmdir_file=-1 errno=54
unlink_dir=-1 errno=31
rename_file=0
rename_missing=-1 errno=44
rename_dir=0
list_d3=../,./,g.txt ,h.txt 
rename_dir2=0
rename_over_file=0
d5="G"
unlink=0
unlink_missing=-1 errno=44
rmdir=0
rmdir_trailing_slash=0
opendir_file=-1 errno=54
opendir_missing=-1 errno=44
chdir=0
mkdir_rel=0
rel_read="relative"
list_root=../,./,d5.txt ,rel/
`, 'dirs');
    assert.equal(fs.readdirSync(dir).sort(), ['d5.txt', 'rel']);
    assert.is(fs.readFileSync(join(dir, 'rel/r.txt'), 'utf8'), 'relative');
  });
});

test(`[${ENGINE_NAME}] readdir over several fd_readdir calls, rewinddir, seekdir`, () => {
  fsops('many', (dir, r) => {
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, 'entries=300 dots=2 sum=44850\nafter_rewind=302\nafter_seekdir=149\n');
    assert.is(fs.readdirSync(join(dir, 'many')).length, 300);
  });
});

test(`[${ENGINE_NAME}] symlinks and hard links inside the sandbox`, () => {
  fsops('links', (dir, r) => {
    assert.is(r.code, 0, r.stderr);
    expectLines(r.stdout, `
symlink=0
symlink_exists=-1 errno=20
readlink=10 "target.txt"
readlink_short=4
readlink_not_link=-1 errno=28
lstat_is_link=1
stat_is_reg=1 size=14
via_link="target content"
open_nofollow=-1 errno=32
symlink_dir=0
through_dirlink="inner"
symlink_up=0
via_up_link="target content"
chain="target content"
open_loop=-1 errno=32
stat_dangling=-1 errno=44
create_through_dangling=0
created="made"
link=0
nlink=2
link_exists=-1 errno=20
unlink_link=0
target_still_there=0
listing=../,./,chain1@,chain2@,created_by_link.txt ,dangling@,hard.txt ,loop_a@,loop_b@,sub/,sublink@,target.txt 
`, 'links');
    assert.is(fs.readlinkSync(join(dir, 'sublink')), 'sub');
    assert.is(fs.statSync(join(dir, 'hard.txt')).nlink, 2);
    assert.is(fs.readFileSync(join(dir, 'created_by_link.txt'), 'utf8'), 'made');
    assert.not.ok(fs.existsSync(join(dir, 'link.txt')));
  });
});

test(`[${ENGINE_NAME}] raw calls: prestat, renumber, readdir buffers, rights, EFAULT`, () => {
  fsops('raw', (dir, r) => {
    assert.is(r.code, 0, r.stderr);
    expectLines(r.stdout, `
prestat3=8
prestat_name=0
preopen=/sandbox
prestat_name_short=-37 errno=0
prestat_stdout=-8 errno=0
preopen_type=3
renumber=0
old_fd_gone=-1 errno=8
write_renumbered=5
r1="first+more"
r2=""
renumber_bad=-8 errno=0
open_dir=0
readdir_small=0
used=30
readdir_on_file=-54 errno=0
set_rights_drop=0
write_without_right=-1 errno=8
set_rights_add=-76 errno=0
efault=-21 errno=0
read_dir_fd=-1 errno=31
seek_bad_whence=-28 errno=0
tell=0
`, 'raw');
    assert.is(fs.readFileSync(join(dir, 'r1.txt'), 'utf8'), 'first+more');
  });
});

// -------------------------------------------------------------------------------------------------
// The sandbox

function buildEscapeTree(tmp: string): string {
  const sb = join(tmp, 'sandbox');
  fs.mkdirSync(join(sb, 'data'), { recursive: true });
  fs.mkdirSync(join(tmp, 'outside'));
  fs.writeFileSync(join(tmp, 'secret.txt'), 'TOP SECRET\n');
  fs.writeFileSync(join(tmp, 'outside/o.txt'), 'o\n');
  fs.writeFileSync(join(sb, 'data/file.txt'), 'inside data');
  const links: [string, string][] = [
    ['data/up', '..'],
    ['data/up2', '../..'],
    ['etc_link', '/etc'],
    ['parent_link', '..'],
    ['parent_secret', '../secret.txt'],
    ['abs_secret', join(tmp, 'secret.txt')],
    ['abs_inside', join(sb, 'data/file.txt')],
    ['chain1', 'chain2'],
    ['chain2', 'chain3'],
    ['chain3', 'data/up2/secret.txt'],
    ['okchain1', 'okchain2'],
    ['okchain2', 'data/file.txt'],
    ['deep', 'data/../../secret.txt'],
    ['loop1', 'loop2'],
    ['loop2', 'loop1'],
    ['dir_escape', '../outside'],
  ];
  for (const [path, target] of links) fs.symlinkSync(target, join(sb, path));
  return sb;
}

function snapshot(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const name of fs.readdirSync(d).sort()) {
      const p = join(d, name);
      const st = fs.lstatSync(p);
      const r = rel ? `${rel}/${name}` : name;
      if (st.isSymbolicLink()) out.push(`${r} -> ${fs.readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${r}/`);
        walk(p, r);
      } else out.push(`${r} ${st.size} ${fs.readFileSync(p, 'latin1')}`);
    }
  };
  walk(dir, '');
  return out;
}

test(`[${ENGINE_NAME}] sandbox: '..', absolute paths and symlinks cannot leave the preopen`, () => {
  withTmp((tmp) => {
    const sb = buildEscapeTree(tmp);
    const outsideBefore = snapshot(join(tmp, 'outside'));
    const fdsBefore = openFdCount();
    const r = run('sandbox', [], { preopens: { '/sandbox': sb, '/other': join(tmp, 'outside') } });
    assert.is(r.code, 0, r.stderr);
    expectLines(r.stdout, `
dotdot=-1 errno=76
dotdot_deep=-1 errno=76
dotdot_inside=11
absolute_host_path=-1 errno=76
cross_preopen=-1 errno=76
other_preopen_ok=2
stat_dotdot=-1 errno=76
etc_link_file=-1 errno=76
etc_link_stat=-1 errno=76
etc_link_lstat=0
etc_link_readlink=/etc
parent_link_file=-1 errno=76
parent_link_opendir=-1 errno=76
parent_secret=-1 errno=76
parent_secret_nofollow=-1 errno=32
abs_secret=-1 errno=76
abs_inside=11
chain=-1 errno=76
okchain=11
deep=-1 errno=76
loop=-1 errno=32
up_inside=11
up2_escape=-1 errno=76
dir_escape_opendir=-1 errno=76
dir_escape_file=-1 errno=76
mkdir_dotdot=-1 errno=76
mkdir_via_link=-1 errno=76
create_via_parent_link=-1 errno=76
symlink_dangling_out=0
create_via_dangling_out=-1 errno=76
truncate_via_link=-1 errno=76
rename_out=-1 errno=76
rename_in=-1 errno=76
unlink_via_link=-1 errno=76
rmdir_via_link=-1 errno=28
symlink_absolute_target=-1 errno=76
symlink_relative_escape=0
rel_escape_read=-1 errno=76
link_via_parent=-1 errno=76
raw_absolute=-1 errno=76
raw_dotdot=-1 errno=76
raw_dotdot_file=-1 errno=76
raw_follow_parent_link=-1 errno=76
raw_nofollow_link=-1 errno=32
raw_empty=-1 errno=44
raw_stat_follow=-1 errno=76
raw_rmdir_dot=-1 errno=28
raw_rmdir_root_via_dotdot=-1 errno=28
raw_unlink_dotdot=-1 errno=31
raw_link_follow=-1 errno=76
raw_times_follow=-1 errno=76
raw_open_data=0
raw_data_up_ok=0
raw_data_up_escape=-1 errno=76
raw_data_follow_up2=-1 errno=76
raw_data_follow_up=0
root_still_there=0
`, 'sandbox');
    // Nothing outside the sandbox changed or appeared.
    assert.equal(fs.readdirSync(tmp).sort(), ['outside', 'sandbox', 'secret.txt']);
    assert.is(fs.readFileSync(join(tmp, 'secret.txt'), 'utf8'), 'TOP SECRET\n');
    assert.equal(snapshot(join(tmp, 'outside')), outsideBefore);
    // Inside, only the two links the program made are new.
    assert.is(fs.readlinkSync(join(sb, 'dangling_out')), '../created_outside.txt');
    assert.is(fs.readlinkSync(join(sb, 'rel_escape')), '../secret.txt');
    assert.not.ok(fs.existsSync(join(sb, 'newlink')));
    assert.not.ok(fs.existsSync(join(sb, 'hard_secret')));
    assert.not.ok(fs.existsSync(join(sb, 'hard2')));
    assert.is(fs.readFileSync(join(sb, 'data/file.txt'), 'utf8'), 'inside data');
    // start() closed what the program left open.
    assert.is(openFdCount(), fdsBefore);
  });
});

// -------------------------------------------------------------------------------------------------
// The examples

test(`[${ENGINE_NAME}] examples/hello.wasm and examples/cat.wasm`, () => {
  const hello = runWasi(ENGINE, wasm(join(EXAMPLES, 'hello.wasm')), { args: ['hello', 'a b'] });
  assert.is(hello.code, 0);
  assert.is(hello.stdout, 'Hello from Quickbeam!\nargv[1] = a b\n');
  withTmp((dir) => {
    fs.writeFileSync(join(dir, 'f.txt'), 'one two\nthree\n');
    const cat = runWasi(ENGINE, wasm(join(EXAMPLES, 'cat.wasm')), { args: ['cat', '/data/f.txt'], preopens: { '/data': dir } });
    assert.is(cat.stdout, 'one two\nthree\n');
    const wc = runWasi(ENGINE, wasm(join(EXAMPLES, 'cat.wasm')), { args: ['cat', '-c', '/data/f.txt', '/data/missing'], preopens: { '/data': dir } });
    assert.is(wc.code, 1);
    assert.is(wc.stdout, '      2       3      14 /data/f.txt\n');
    assert.is(wc.stderr, 'cat: /data/missing: No such file or directory\n');
  });
});

// -------------------------------------------------------------------------------------------------
// Direct calls (no engine): what a C program cannot express

interface Direct {
  wasi: WASI;
  mem: Uint8Array;
  call(name: string, ...args: (number | bigint)[]): number;
  str(ptr: number, s: string): number;
}

function direct(opts: WasiOptions = {}, memory = { buffer: new ArrayBuffer(65536) as ArrayBufferLike }): Direct {
  const wasi = new WASI(opts);
  wasi.initialize({ exports: { memory } });
  const imports = wasi.getImportObject().wasi_snapshot_preview1;
  return {
    wasi,
    get mem() {
      return new Uint8Array(memory.buffer);
    },
    call: (name, ...args) => imports[name]!(...args),
    str(ptr, s) {
      const b = Buffer.from(s, 'utf8');
      new Uint8Array(memory.buffer).set(b, ptr);
      return b.length;
    },
  };
}

test('direct: path checks (NUL, invalid UTF-8, absolute, empty)', () => {
  withTmp((dir) => {
    const d = direct({ preopens: { '/x': dir } });
    const FD = 3;
    let n = d.str(100, 'a\0b');
    assert.is(d.call('path_open', FD, 0, 100, n, 1, 0n, 0n, 0, 200), Errno.INVAL);
    d.mem.set([0x66, 0xff, 0x66], 100);
    assert.is(d.call('path_open', FD, 0, 100, 3, 1, 0n, 0n, 0, 200), Errno.ILSEQ);
    n = d.str(100, '/etc/passwd');
    assert.is(d.call('path_filestat_get', FD, 1, 100, n, 300), Errno.NOTCAPABLE);
    assert.is(d.call('path_open', FD, 0, 100, 0, 0, 0n, 0n, 0, 200), Errno.NOENT);
    n = d.str(100, 'x');
    assert.is(d.call('path_open', 1, 0, 100, n, 0, 0n, 0n, 0, 200), Errno.NOTDIR, 'stdout is not a directory');
    assert.is(d.call('path_open', 99, 0, 100, n, 0, 0n, 0n, 0, 200), Errno.BADF);
    // A pointer past the end of memory.
    assert.is(d.call('path_open', FD, 0, 65530, 100, 0, 0n, 0n, 0, 200), Errno.FAULT);
    assert.is(d.call('fd_prestat_get', FD, 65535), Errno.FAULT);
    // Creating a file, then EEXIST with O_EXCL; the new fd is the lowest free one.
    n = d.str(100, 'made.txt');
    assert.is(d.call('path_open', FD, 0, 100, n, 1 | 4, 1n << 6n, 0n, 0, 200), Errno.SUCCESS);
    assert.is(new DataView(d.mem.buffer).getUint32(200, true), 4);
    assert.is(d.call('path_open', FD, 0, 100, n, 1 | 4, 1n << 6n, 0n, 0, 200), Errno.EXIST);
    assert.ok(fs.existsSync(join(dir, 'made.txt')));
    d.wasi.close();
  });
});

test('direct: symlink budget (ELOOP after 40 links) and readdir cookies', () => {
  withTmp((dir) => {
    // l0 -> l1 -> ... -> l40 -> target: 41 links to follow.
    fs.writeFileSync(join(dir, 'target'), 'x');
    for (let i = 0; i <= 40; i++) fs.symlinkSync(i === 40 ? 'target' : `l${i + 1}`, join(dir, `l${i}`));
    const d = direct({ preopens: { '/x': dir } });
    let n = d.str(100, 'l0');
    assert.is(d.call('path_filestat_get', 3, 1, 100, n, 300), Errno.LOOP);
    n = d.str(100, 'l1');
    assert.is(d.call('path_filestat_get', 3, 1, 100, n, 300), Errno.SUCCESS, '40 links are fine');
    assert.is(d.mem[300 + 16], 4, 'regular file');
    // fd_readdir: a cookie past the end gives nothing; cookie k resumes at entry k.
    assert.is(d.call('fd_readdir', 3, 1000, 4096, 0n, 96), Errno.SUCCESS);
    const dv = new DataView(d.mem.buffer);
    const all = dv.getUint32(96, true);
    assert.ok(all > 42 * 24);
    assert.is(d.call('fd_readdir', 3, 1000, 4096, 1000n, 96), Errno.SUCCESS);
    assert.is(dv.getUint32(96, true), 0);
    assert.is(d.call('fd_readdir', 3, 1000, 4096, 2n, 96), Errno.SUCCESS);
    assert.is(dv.getBigUint64(1000, true), 3n, 'd_next of the entry after cookie 2');
  });
});

test('direct: memory growth is picked up, unknown imports return ENOSYS', () => {
  const memory = { buffer: new ArrayBuffer(65536) as ArrayBufferLike };
  const d = direct({ args: ['a', 'bc'] }, memory);
  assert.is(d.call('args_sizes_get', 0, 4), Errno.SUCCESS);
  memory.buffer = new ArrayBuffer(131072); // a grown memory: a new buffer
  assert.is(d.call('args_sizes_get', 70000, 70004), Errno.SUCCESS);
  const dv = new DataView(memory.buffer);
  assert.is(dv.getUint32(70000, true), 2);
  assert.is(dv.getUint32(70004, true), 5);
  const ns = d.wasi.getImportObject().wasi_snapshot_preview1;
  assert.is(ns['path_frobnicate']!(), Errno.NOSYS);
  assert.is((ns as Record<string, unknown>)['then'], undefined, 'not a thenable');
});

test('direct: start/initialize contracts and proc_exit in a reactor', () => {
  const memory = { buffer: new ArrayBuffer(65536) };
  assert.throws(() => new WASI().start({ exports: { memory } }), /_start/);
  assert.throws(() => new WASI().initialize({ exports: { memory, _start() {} } }), /_start/);
  assert.throws(() => new WASI().start({ exports: { _start() {} } }), /memory/);
  const w = new WASI();
  assert.is(w.start({ exports: { memory, _start() {} } }), 0);
  assert.throws(() => w.start({ exports: { memory, _start() {} } }), /already/);
  const r = new WASI();
  const imports = r.getImportObject().wasi_snapshot_preview1;
  r.initialize({ exports: { memory, _initialize() {} } });
  let caught: unknown;
  try {
    imports['proc_exit']!(42);
  } catch (e) {
    caught = e;
  }
  assert.is(wasiExitCode(caught), 42);
  assert.is(wasiExitCode(new Error('x')), undefined);
  assert.throws(() => new WASI({ preopens: { '/x': '/definitely/not/here' } }));
});

test.run();
