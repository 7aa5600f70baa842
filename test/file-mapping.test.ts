// File mappings and shared ranges in linear memories (src/runtime/file-mapping.ts, Memory.mapFile & co.),
// one Memory imported by several instances, and trusted mode ({ boundsChecks: false }) on in-bounds programs.
//
// Modules are built here with a tiny binary writer (no wat2wasm needed). Files are created in a temporary
// folder; the file above 4 GiB is sparse (a few written pages). Scenarios that would kill the process if the
// SIGBUS guard failed (a file shrinking under its mapping) run in a child process (this file, re-run with
// QB_FM_CHILD=<scenario>), which reports JSON on stdout.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { Instance, Memory, Module } from '../src/index.js';
import { SharedRegion } from '../src/api/memory.js';
import { getLinearMemory } from '../src/api/memory.js';
import { detachedPageCount, liveFileMappings, sigbusGuardActive } from '../src/runtime/file-mapping.js';
import { moduleInternals } from '../src/api/module.js';
import {
  applyMapFiles, importedMemoryForMapFiles, memoryForMapFiles, parseMapFileOption,
} from '../src/cli/map-file-option.js';
import {
  MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, bytesAt, forceGc, mmapAnon, mmapFixed,
} from '../src/runtime/native.js';

const PAGE = 65536;
const OS_PAGE = 4096;
const GiB = 2 ** 30;

// ------------------------------------------------------------------------------------------------ module writer

function uleb(v: number | bigint): number[] {
  let n = BigInt(v);
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) b |= 0x80;
    out.push(b);
  } while (n !== 0n);
  return out;
}

function sleb(v: number | bigint): number[] {
  let n = BigInt(v);
  const out: number[] = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    const done = (n === 0n && (b & 0x40) === 0) || (n === -1n && (b & 0x40) !== 0);
    out.push(done ? b : b | 0x80);
    if (done) return out;
  }
}

function str(s: string): number[] {
  const b = Buffer.from(s, 'utf8');
  return [...uleb(b.length), ...b];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

const I32 = 0x7f, I64 = 0x7e;

interface FuncDef {
  name: string;
  params: number[];
  results: number[];
  locals?: number[];
  body: number[];
}

/**
 * A module importing memory "env"."mem" (i32 or i64 addresses, at least `minPages`) and, optionally, functions
 * "env".<name>; exports the given functions. `imports` are [name, params, results].
 */
function buildModule(index64: boolean, minPages: number, funcs: FuncDef[], imports: Array<[string, number[], number[]]> = []): Uint8Array {
  const types: number[][] = [];
  const typeIndex = (p: number[], r: number[]): number => {
    const t = [0x60, ...uleb(p.length), ...p, ...uleb(r.length), ...r];
    const k = types.findIndex((x) => x.length === t.length && x.every((v, i) => v === t[i]));
    if (k >= 0) return k;
    types.push(t);
    return types.length - 1;
  };
  const importEntries: number[][] = [[...str('env'), ...str('mem'), 0x02, index64 ? 0x04 : 0x00, ...uleb(minPages)]];
  for (const [name, p, r] of imports) importEntries.push([...str('env'), ...str(name), 0x00, ...uleb(typeIndex(p, r))]);
  const funcTypes = funcs.map((f) => uleb(typeIndex(f.params, f.results)));
  const exportsSec = funcs.map((f, i) => [...str(f.name), 0x00, ...uleb(imports.length + i)]);
  const bodies = funcs.map((f) => {
    const locals = f.locals ?? [];
    const decl = vec(locals.map((t) => [1, t]));
    const b = [...decl, ...f.body, 0x0b];
    return [...uleb(b.length), ...b];
  });
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vec(types)),
    ...section(2, vec(importEntries)),
    ...section(3, vec(funcTypes)),
    ...section(7, vec(exportsSec)),
    ...section(10, vec(bodies)),
  ]);
}

// Opcodes used below.
const GET = 0x20, SET = 0x21, CALL = 0x10, DROP = 0x1a, BLOCK = 0x02, LOOP = 0x03, BR = 0x0c, BR_IF = 0x0d, END = 0x0b, VOID = 0x40;
const I32_LOAD8_U = 0x2d, I64_LOAD = 0x29, I32_LOAD = 0x28, I32_STORE8 = 0x3a, I64_STORE = 0x37, I32_STORE = 0x36;
const I32_CONST = 0x41, I64_CONST = 0x42, I64_ADD = 0x7c, I64_MUL = 0x7e, I64_XOR = 0x85, I32_ADD = 0x6a, I32_SUB = 0x6b;
const I64_SUB = 0x7d, I32_EQZ = 0x45, I64_EQZ = 0x50, I64_EXTEND_I32_U = 0xad;
const MEM_SIZE = [0x3f, 0x00], MEM_GROW = [0x40, 0x00];

function memarg(align: number, offset: number): number[] {
  return [align, ...uleb(offset)];
}

/** The probe functions, over addresses of type `A` (I32 or I64). */
function probeFuncs(index64: boolean): FuncDef[] {
  const A = index64 ? I64 : I32;
  const ADD = index64 ? I64_ADD : I32_ADD;
  const SUB = index64 ? I64_SUB : I32_SUB;
  const EQZ = index64 ? I64_EQZ : I32_EQZ;
  const CONST = index64 ? I64_CONST : I32_CONST;
  return [
    { name: 'load8', params: [A], results: [I32], body: [GET, 0, I32_LOAD8_U, ...memarg(0, 0)] },
    { name: 'load64', params: [A], results: [I64], body: [GET, 0, I64_LOAD, ...memarg(3, 0)] },
    { name: 'load64off', params: [A], results: [I64], body: [GET, 0, I64_LOAD, ...memarg(3, 24)] },
    { name: 'load32', params: [A], results: [I32], body: [GET, 0, I32_LOAD, ...memarg(2, 0)] },
    { name: 'store8', params: [A, I32], results: [], body: [GET, 0, GET, 1, I32_STORE8, ...memarg(0, 0)] },
    { name: 'store32', params: [A, I32], results: [], body: [GET, 0, GET, 1, I32_STORE, ...memarg(2, 0)] },
    { name: 'store64', params: [A, I64], results: [], body: [GET, 0, GET, 1, I64_STORE, ...memarg(3, 0)] },
    {
      // sum64(a, n): sum of n little-endian u64 words from a (mod 2^64)
      name: 'sum64', params: [A, A], results: [I64], locals: [I64],
      body: [
        BLOCK, VOID, LOOP, VOID,
        GET, 1, EQZ, BR_IF, 1,
        GET, 2, GET, 0, I64_LOAD, ...memarg(3, 0), I64_ADD, SET, 2,
        GET, 0, CONST, 8, ADD, SET, 0,
        GET, 1, CONST, 1, SUB, SET, 1,
        BR, 0, END, END,
        GET, 2,
      ],
    },
    {
      // hash64(a, n): h = (h ^ word) * 0x100000001b3 over n words, a checksum that depends on the order
      name: 'hash64', params: [A, A], results: [I64], locals: [I64],
      body: [
        I64_CONST, ...sleb(-3750763034362895579n), SET, 2,
        BLOCK, VOID, LOOP, VOID,
        GET, 1, EQZ, BR_IF, 1,
        GET, 2, GET, 0, I64_LOAD, ...memarg(3, 0), I64_XOR, I64_CONST, ...sleb(0x100000001b3n), I64_MUL, SET, 2,
        GET, 0, CONST, 8, ADD, SET, 0,
        GET, 1, CONST, 1, SUB, SET, 1,
        BR, 0, END, END,
        GET, 2,
      ],
    },
    {
      // fill(a, n, v): n u64 words from a get v, v+1, v+2, ...
      name: 'fill', params: [A, A, I64], results: [],
      body: [
        BLOCK, VOID, LOOP, VOID,
        GET, 1, EQZ, BR_IF, 1,
        GET, 0, GET, 2, I64_STORE, ...memarg(3, 0),
        GET, 2, I64_CONST, 1, I64_ADD, SET, 2,
        GET, 0, CONST, 8, ADD, SET, 0,
        GET, 1, CONST, 1, SUB, SET, 1,
        BR, 0, END, END,
      ],
    },
    { name: 'size', params: [], results: [A], body: [...MEM_SIZE] },
    { name: 'grow', params: [A], results: [A], body: [GET, 0, ...MEM_GROW] },
  ];
}

interface Probe {
  load8(a: number): number;
  load64(a: number): bigint;
  load64off(a: number): bigint;
  load32(a: number): number;
  store8(a: number, v: number): void;
  store32(a: number, v: number): void;
  store64(a: number, v: bigint): void;
  sum64(a: number, n: number): bigint;
  hash64(a: number, n: number): bigint;
  fill(a: number, n: number, v: bigint): void;
  size(): number;
  grow(d: number): number;
}

const moduleCache = new Map<string, Module>();
/**
 * Every instance made here stays alive until the process ends. Without this, the GC test below (which forces
 * collections) intermittently made a new i64 instance's export behave like a dead i32 instance's export
 * ("Cannot mix BigInt and other types" from the i32 parameter conversion): exported-function.ts caches
 * wrappers and record owners by FuncRecord address, and a freed vmctx's addresses can be reused.
 */
const keepInstances: Instance[] = [];

function probeModule(index64: boolean, boundsChecks = true): Module {
  const key = `${index64}/${boundsChecks}`;
  let m = moduleCache.get(key);
  if (m === undefined) {
    m = new Module(buildModule(index64, 1, probeFuncs(index64)), { boundsChecks });
    moduleCache.set(key, m);
  }
  return m;
}

/** An instance of the probe module over `mem`, with Number addresses whatever the index type. */
function probe(mem: Memory, opts: { boundsChecks?: boolean } = {}): Probe {
  const index64 = mem.type().index === 'i64';
  const inst = new Instance(probeModule(index64, opts.boundsChecks ?? true), { env: { mem } });
  keepInstances.push(inst);
  const e = inst.exports as Record<string, (...a: unknown[]) => unknown>;
  const A = (a: number): number | bigint => (index64 ? BigInt(a) : a);
  const N = (r: unknown): number => Number(r);
  const U = (r: unknown): bigint => BigInt.asUintN(64, r as bigint); // i64 results as unsigned
  return {
    load8: (a) => e.load8!(A(a)) as number,
    load64: (a) => U(e.load64!(A(a))),
    load64off: (a) => U(e.load64off!(A(a))),
    load32: (a) => e.load32!(A(a)) as number,
    store8: (a, v) => void e.store8!(A(a), v),
    store32: (a, v) => void e.store32!(A(a), v),
    store64: (a, v) => void e.store64!(A(a), v),
    sum64: (a, n) => U(e.sum64!(A(a), A(n))),
    hash64: (a, n) => U(e.hash64!(A(a), A(n))),
    fill: (a, n, v) => void e.fill!(A(a), A(n), v),
    size: () => N(e.size!()),
    grow: (d) => N(e.grow!(A(d))),
  };
}

// ------------------------------------------------------------------------------------------------ files

const tmp = process.env.QB_FM_TMP ?? fs.mkdtempSync(path.join(os.tmpdir(), 'qb-file-mapping-'));
let fileCounter = 0;

/** A file whose byte i is (i * 131 + seed) & 255. */
function patternFile(size: number, seed = 7): string {
  const p = path.join(tmp, `f${fileCounter++}.bin`);
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 131 + seed) & 255;
  fs.writeFileSync(p, b);
  return p;
}

function patternByte(i: number, seed = 7): number {
  return (i * 131 + seed) & 255;
}

function patternU64(i: number, seed = 7): bigint {
  let v = 0n;
  for (let k = 7; k >= 0; k--) v = (v << 8n) | BigInt(patternByte(i + k, seed));
  return v;
}

function readFileAt(p: string, pos: number, n: number): Buffer {
  const fd = fs.openSync(p, 'r');
  try {
    const b = Buffer.alloc(n);
    fs.readSync(fd, b, 0, n, pos);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

function writeFileAt(p: string, pos: number, bytes: Uint8Array): void {
  const fd = fs.openSync(p, 'r+');
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, pos);
  } finally {
    fs.closeSync(fd);
  }
}

function u64le(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, v));
  return b;
}

function mem64(pages: number, maximum?: number): Memory {
  return new Memory(maximum === undefined ? { initial: pages, index: 'i64' } : { initial: pages, maximum, index: 'i64' });
}

function throwsMatching(f: () => unknown, cls: Function, re: RegExp, what: string): void {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof cls, `${what}: expected ${cls.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    assert.match((e as Error).message, re, what);
    return;
  }
  assert.unreachable(`${what}: did not throw`);
}

// ------------------------------------------------------------------------------------------------ child scenarios

const CHILD = process.env.QB_FM_CHILD;

/** Run one scenario in a child process; returns its JSON report, its exit code and signal. */
function runChild(scenario: string): { report: Record<string, unknown> | null; status: number | null; signal: string | null; stderr: string } {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, QB_FM_CHILD: scenario, QB_FM_TMP: tmp },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('@@REPORT '));
  return {
    report: line ? (JSON.parse(line.slice(9)) as Record<string, unknown>) : null,
    status: r.status,
    signal: r.signal,
    stderr: r.stderr ?? '',
  };
}

function report(o: Record<string, unknown>): void {
  process.stdout.write('@@REPORT ' + JSON.stringify(o, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
}

async function childMain(scenario: string): Promise<void> {
  const dir = process.env.QB_FM_TMP!;
  const file = path.join(dir, `child-${scenario}-${process.pid}.bin`);
  const size = 8 * OS_PAGE;
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = patternByte(i);
  fs.writeFileSync(file, b);
  const at = PAGE;
  switch (scenario) {
    case 'shrink-private':
    case 'shrink-shared': {
      const shared = scenario === 'shrink-shared';
      const mem = mem64(2);
      const p = probe(mem);
      mem.mapFile(file, { at, shared });
      p.store64(at + 6 * OS_PAGE, 0x1122334455667788n); // page 6 written before the shrink
      p.store64(at + 1 * OS_PAGE, 0x99n); // page 1 too (stays inside the file)
      const before = p.load64(at + 5 * OS_PAGE);
      fs.truncateSync(file, 2 * OS_PAGE + 100); // page 2 partly inside, pages 3..7 beyond the end
      const out: Record<string, unknown> = {
        before,
        page0: p.load64(at),
        page1: p.load64(at + OS_PAGE + 8),
        page1written: p.load64(at + OS_PAGE),
        page2head: p.load8(at + 2 * OS_PAGE + 99),
        page2tail: p.load8(at + 2 * OS_PAGE + 100),
        page3: p.load64(at + 3 * OS_PAGE),
        page5: p.load64(at + 5 * OS_PAGE),
        page6: p.load64(at + 6 * OS_PAGE),
        page7sum: p.sum64(at + 7 * OS_PAGE, OS_PAGE / 8),
      };
      // JS windowed access over the shrunk range (page 4 untouched so far by wasm).
      out.jsPage4 = Array.from(mem.read(at + 4 * OS_PAGE, 4));
      // Stores to detached pages work and stay out of the file.
      p.store64(at + 3 * OS_PAGE, 42n);
      out.page3After = p.load64(at + 3 * OS_PAGE);
      out.fileSize = fs.statSync(file).size;
      out.detached = mem.mappings()[0]!.detachedPages;
      out.total = detachedPageCount();
      mem.unmap(at);
      out.afterUnmap = p.load64(at + 6 * OS_PAGE);
      report(out);
      break;
    }
    case 'shrink-to-zero-then-regrow': {
      const mem = mem64(2);
      const p = probe(mem);
      mem.mapFile(file, { at, shared: true });
      fs.truncateSync(file, 0);
      const zero = p.load64(at + OS_PAGE);
      writeFileAt(file, 0, Buffer.alloc(8 * OS_PAGE, 0xab)); // the file grows back
      report({
        zero,
        detachedStaysZero: p.load64(at + OS_PAGE),   // detached by the first touch
        untouchedTracksFile: p.load8(at + 5 * OS_PAGE), // never touched while short: tracks the file again
        detached: mem.mappings()[0]!.detachedPages,
      });
      break;
    }
    case 'foreign-sigbus': {
      // The guard is installed (a mapping exists) but a SIGBUS in someone else's mapping must still kill.
      const mem = mem64(1);
      mem.mapFile(file, { at: 0, length: OS_PAGE });
      const other = path.join(dir, `foreign-${process.pid}.bin`);
      fs.writeFileSync(other, Buffer.alloc(2 * OS_PAGE, 1));
      const fd = fs.openSync(other, 'r');
      const addr = mmapAnon(2 * OS_PAGE, PROT_READ | PROT_WRITE);
      if (!mmapFixed(addr, 2 * OS_PAGE, PROT_READ, MAP_PRIVATE, fd, 0)) throw new Error('mmap failed');
      fs.truncateSync(other, 0);
      process.stdout.write(`@@REPORT ${JSON.stringify({ guard: sigbusGuardActive(), about: 'to fault' })}\n`);
      const v = bytesAt(addr + OS_PAGE, 4)[0]; // SIGBUS: not ours
      report({ survived: true, v });
      break;
    }
    case 'worker-chain': {
      // The main thread and a worker each install a guard (the worker's chains to the main one's); shrinking
      // files mapped by either is handled, whichever handler runs first.
      const mem = mem64(1);
      const p = probe(mem);
      mem.mapFile(file, { at: 0 });
      const other = path.join(dir, `worker-${process.pid}.bin`);
      fs.writeFileSync(other, Buffer.alloc(4 * OS_PAGE, 0x33));
      const { Worker } = await import('node:worker_threads');
      const srcUrl = new URL('../src/index.js', import.meta.url).href;
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        const fs = require('node:fs');
        import(${JSON.stringify(srcUrl)}).then(({ Memory }) => {
          const mem = new Memory({ initial: 1, index: 'i64' });
          mem.mapFile(workerData.other, { at: 0, shared: true });
          const before = mem.read(3 * 4096, 1)[0];
          fs.truncateSync(workerData.other, 4096);
          parentPort.postMessage({ before, after: mem.read(3 * 4096, 1)[0], inside: mem.read(100, 1)[0] });
        });`;
      const fromWorker = await new Promise<Record<string, number>>((resolve, reject) => {
        const w = new Worker(code, { eval: true, workerData: { other } });
        w.once('message', (m) => { resolve(m as Record<string, number>); void w.terminate(); });
        w.once('error', reject);
      });
      // Now the worker's handler is the process's; the main thread's mapping is still protected through it.
      fs.truncateSync(file, OS_PAGE);
      report({ fromWorker, mainInside: p.load8(5), mainBeyond: p.load64(3 * OS_PAGE), detached: mem.mappings()[0]!.detachedPages });
      break;
    }
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
  void MAP_ANONYMOUS;
}

// ------------------------------------------------------------------------------------------------ tests

if (CHILD !== undefined) {
  await childMain(CHILD);
} else {
  defineTests();
  test.after(() => {
    fs.rmSync(tmp, { recursive: true, force: true });
  });
  test.run();
}

function defineTests(): void {
  test('mapFile (private): files of several sizes read from wasm and JS, with no copy; the file never changes', () => {
    for (const index64 of [true, false]) {
      for (const size of [OS_PAGE, 10_000, 3 * OS_PAGE, 1024 * 1024 + 4096 * 3 + 5]) {
        const file = patternFile(size, size & 255);
        const orig = fs.readFileSync(file);
        const pages = Math.ceil((PAGE + size) / PAGE) + 1;
        const mem = new Memory({ initial: pages, index: index64 ? 'i64' : 'i32' });
        const p = probe(mem);
        const at = PAGE;
        const info = mem.mapFile(file, { at: index64 ? BigInt(at) : at });
        assert.is(info.at, at);
        assert.is(info.length, size);
        assert.is(info.mappedLength, Math.ceil(size / OS_PAGE) * OS_PAGE);
        assert.is(info.shared, false);
        assert.is(info.writable, false);
        assert.is(info.source, 'file');
        // wasm: first, last and some middle bytes; a word; the tail of the last page reads 0
        const seed = size & 255;
        for (const i of [0, 1, size >> 1, size - 1]) assert.is(p.load8(at + i), patternByte(i, seed), `byte ${i} of ${size}`);
        assert.is(p.load64(at + 8), patternU64(8, seed));
        assert.is(p.load64off(at), patternU64(24, seed));
        if (size % OS_PAGE !== 0) assert.is(p.load8(at + size), 0, 'tail of the last page');
        // the bytes before the mapping are untouched (zero)
        assert.is(p.load64(at - 8), 0n);
        // JS windowed access
        assert.equal(Buffer.from(mem.read(at, size)), orig, 'JS read of the whole mapping');
        assert.equal(Array.from(mem.window(at + size - 3, 3)), Array.from(orig.subarray(size - 3)));
        // Writes from wasm and JS are private: visible in the memory, never in the file
        p.store64(at, 0xdeadbeefcafef00dn);
        mem.write(at + size - 1, new Uint8Array([0x5a]));
        assert.is(p.load64(at), 0xdeadbeefcafef00dn);
        assert.is(p.load8(at + size - 1), 0x5a);
        assert.equal(fs.readFileSync(file), orig, 'the file is unchanged');
        // sum in wasm equals the sum over the file
        const words = Math.floor(size / 8);
        const view = Buffer.from(mem.read(at, words * 8));
        let expect = 0n;
        for (let k = 0; k < words; k++) expect += view.readBigUInt64LE(k * 8);
        assert.is(p.sum64(at, words), BigInt.asUintN(64, expect));
        mem.unmap(at);
        assert.is(p.load64(at), 0n, 'unmap leaves zeros');
        assert.equal(mem.mappings(), []);
      }
    }
  });

  test('mapFile (shared): guest stores reach the file; file writes reach the guest', () => {
    const file = patternFile(5 * OS_PAGE);
    const mem = mem64(2);
    const p = probe(mem);
    const at = 2 * OS_PAGE;
    const info = mem.mapFile(file, { at, shared: true });
    assert.is(info.shared, true);
    assert.is(info.writable, true);
    p.store64(at + 4096 + 16, 0x0102030405060708n);
    assert.equal(readFileAt(file, 4096 + 16, 8), u64le(0x0102030405060708n), 'guest store in the file');
    mem.write(at + 100, new Uint8Array([1, 2, 3]));
    assert.equal(Array.from(readFileAt(file, 100, 3)), [1, 2, 3], 'JS store in the file');
    writeFileAt(file, 3 * OS_PAGE, u64le(77n));
    assert.is(p.load64(at + 3 * OS_PAGE), 77n, 'file write seen by the guest');
    // writable: true explicitly is the same
    mem.unmap(at);
    assert.is(p.load64(at + 3 * OS_PAGE), 0n);
    assert.equal(readFileAt(file, 4096 + 16, 8), u64le(0x0102030405060708n), 'the file keeps the stores after unmap');
    mem.mapFile(file, { at, shared: true, writable: true, offset: OS_PAGE, length: 2 * OS_PAGE });
    assert.is(p.load64(at + 16), 0x0102030405060708n, 'offset: guest address at = file offset 4096');
    mem.unmap(BigInt(at));
  });

  test('mapFile: a sparse file above 4 GiB in an i64 memory, private and shared, wasm and JS', () => {
    const file = path.join(tmp, 'big.bin');
    const size = 4 * GiB + 3 * PAGE + 1234; // not a page multiple: the last page's tail reads as zero
    const fd = fs.openSync(file, 'w+');
    fs.ftruncateSync(fd, size);
    const marks: Array<[number, bigint]> = [
      [0, 0x1111111111111111n], [2 ** 32 - 8, 0x2222222222222222n], [2 ** 32, 0x3333333333333333n],
      [2 ** 32 + 5 * 4096 + 16, 0x4444444444444444n], [size - 8, 0x5555555555555555n],
    ];
    for (const [pos, v] of marks) fs.writeSync(fd, u64le(v), 0, 8, pos);
    fs.closeSync(fd);
    const at = PAGE;
    const pages = Math.ceil((at + size) / PAGE) + 1;
    const mem = mem64(pages);
    const p = probe(mem);
    assert.is(p.size(), pages);
    for (const shared of [false, true]) {
      const info = mem.mapFile(file, { at: BigInt(at), shared });
      assert.is(info.length, size);
      for (const [pos, v] of marks) {
        assert.is(p.load64(at + pos), v, `wasm load at file offset ${pos} (shared ${shared})`);
        assert.equal(Buffer.from(mem.read(at + pos, 8)), u64le(v), `JS read at ${pos}`);
      }
      assert.is(p.load64(at + 2 ** 31), 0n, 'a hole reads zero');
      assert.is(p.load8(at + size), 0, 'tail of the last page');
      // a word straddling the 4 GiB boundary of the file
      assert.is(p.load64(at + 2 ** 32 - 4), (0x3333333333333333n << 32n | 0x22222222n) & 0xffffffffffffffffn);
      const target = 2 ** 32 + 9 * 4096 + 8;
      p.store64(at + target, 0x6666666666666666n);
      mem.write(at + target + 8, new Uint8Array([9, 8, 7]));
      assert.is(p.load64(at + target), 0x6666666666666666n);
      assert.equal(Array.from(mem.read(at + target + 8, 3)), [9, 8, 7]);
      const inFile = readFileAt(file, target, 11);
      if (shared) {
        assert.equal(inFile, Buffer.concat([u64le(0x6666666666666666n), Buffer.from([9, 8, 7])]), 'shared: stores above 4 GiB reach the file');
      } else {
        assert.equal(inFile, Buffer.alloc(11), 'private: the file is unchanged');
      }
      // 256 KiB sum across the 4 GiB line, compared with JS
      const n = 32768;
      const from = 2 ** 32 - 128 * 1024;
      const bytes = Buffer.from(mem.read(at + from, n * 8));
      let s = 0n;
      for (let k = 0; k < n; k++) s += bytes.readBigUInt64LE(k * 8);
      assert.is(p.sum64(at + from, n), BigInt.asUintN(64, s));
      mem.unmap(at);
      assert.is(p.load64(at + 2 ** 32), 0n);
    }
    // disk use stayed small: the file is sparse
    const st = fs.statSync(file);
    assert.ok(st.blocks * 512 < 16 * 1024 * 1024, `sparse file uses ${st.blocks * 512} bytes`);
    fs.unlinkSync(file);
  });

  test('mapFile: mappings survive memory.grow (from JS and from wasm); new space can be mapped after growing', () => {
    const file = patternFile(2 * PAGE);
    const mem = mem64(3, 100);
    const p = probe(mem);
    mem.mapFile(file, { at: PAGE });
    const before = p.hash64(PAGE, (2 * PAGE) / 8);
    assert.is(mem.grow(5), 3n);
    assert.is(p.grow(2), 8);
    assert.is(p.size(), 10);
    assert.is(p.hash64(PAGE, (2 * PAGE) / 8), before);
    assert.is(p.load8(PAGE + 5), patternByte(5));
    // beyond the old size: refused before growing, fine after
    const file2 = patternFile(PAGE, 99);
    mem.mapFile(file2, { at: 9 * PAGE });
    assert.is(p.load8(9 * PAGE + 3), patternByte(3, 99));
    assert.is(mem.grow(1), 10n);
    assert.is(p.load8(9 * PAGE + 3), patternByte(3, 99));
    assert.is(p.load8(10 * PAGE), 0);
    assert.equal(mem.mappings().map((m) => m.at), [PAGE, 9 * PAGE]);
  });

  test('mapFile: every misuse is a clear error and leaves the memory unchanged', () => {
    const file = patternFile(3 * OS_PAGE + 10);
    const mem = mem64(2);
    const p = probe(mem);
    p.store64(PAGE, 1234n);
    const E = (f: () => unknown, cls: Function, re: RegExp, what: string): void => {
      throwsMatching(f, cls, re, what);
      assert.is(p.load64(PAGE), 1234n, `${what}: memory unchanged`);
      assert.equal(mem.mappings(), [], `${what}: no mapping left`);
    };
    E(() => mem.mapFile(file, { at: PAGE + 100 }), RangeError, /at 65636 .*not a multiple of the 4096-byte page size/, 'unaligned at');
    E(() => mem.mapFile(file, { at: PAGE, offset: 10 }), RangeError, /offset 10 .*not a multiple/, 'unaligned offset');
    E(() => mem.mapFile(file, { at: PAGE, length: 100 }), RangeError, /length 100 must be a multiple of 4096 unless the range ends at the end of the file/, 'unaligned length');
    E(() => mem.mapFile(file, { at: 2 * PAGE - OS_PAGE }), RangeError, /outside the memory's current size .*grow the memory first/, 'past the end of the memory');
    E(() => mem.mapFile(file, { at: 10 * PAGE }), RangeError, /outside the memory's current size/, 'far outside');
    E(() => mem.mapFile(file, { at: PAGE, length: 4 * OS_PAGE }), RangeError, /shorter than the range \[0, 16384\)/, 'file shorter than the range');
    E(() => mem.mapFile(file, { at: PAGE, offset: 4 * OS_PAGE }), RangeError, /offset 16384 is at or beyond the end/, 'offset past EOF');
    E(() => mem.mapFile(file, { at: PAGE, offset: OS_PAGE, length: 3 * OS_PAGE }), RangeError, /shorter than the range/, 'offset + length past EOF');
    E(() => mem.mapFile(patternFile(0), { at: PAGE }), RangeError, /is empty: nothing to map/, 'empty file');
    E(() => mem.mapFile(tmp, { at: PAGE }), TypeError, /is a directory; only regular files can be mapped/, 'a directory');
    E(() => mem.mapFile('/dev/zero', { at: PAGE }), TypeError, /not a regular file/, 'a device');
    const missing = path.join(tmp, 'missing.bin');
    E(() => mem.mapFile(missing, { at: PAGE }), Error, /cannot open .*missing\.bin.*ENOENT/, 'a missing file');
    try { mem.mapFile(missing, { at: PAGE }); } catch (e) { assert.is((e as NodeJS.ErrnoException).code, 'ENOENT'); }
    E(() => mem.mapFile(file, { at: PAGE, shared: true, writable: false }), TypeError, /shared read-only mappings are not supported/, 'shared read-only');
    E(() => mem.mapFile(file, { at: PAGE, writable: true }), TypeError, /writable: true needs shared: true/, 'private writable');
    E(() => mem.mapFile(file, { at: PAGE, length: 0 }), RangeError, /length must be positive/, 'zero length');
    E(() => mem.mapFile(file, { at: -4096 }), RangeError, /at -4096 is out of range/, 'negative at');
    E(() => mem.mapFile(file, { at: 1.5 as number }), TypeError, /at must be an integer/, 'fractional at');
    E(() => mem.mapFile(file, { at: '4096' as unknown as number }), TypeError, /at must be an integer/, 'string at');
    E(() => mem.mapFile(file, {} as { at: number }), TypeError, /option 'at' .* is required/, 'no at');
    E(() => mem.mapFile(file, undefined as unknown as { at: number }), TypeError, /options \{ at, \.\.\. \} are required/, 'no options');
    E(() => mem.mapFile(42 as unknown as string, { at: PAGE }), TypeError, /path must be a string/, 'bad path');
    E(() => mem.mapFile(file, { at: PAGE, shared: 1 as unknown as boolean }), TypeError, /'shared' must be a boolean/, 'bad shared');
    // read-only file: private works, shared is refused by the OS (EACCES) unless running as root
    const ro = patternFile(OS_PAGE);
    fs.chmodSync(ro, 0o444);
    if (process.getuid?.() !== 0) {
      E(() => mem.mapFile(ro, { at: PAGE, shared: true }), Error, /cannot open .* for reading and writing.*EACCES/, 'shared on a read-only file');
    }
    // overlap
    mem.mapFile(file, { at: OS_PAGE * 4 });
    throwsMatching(() => mem.mapFile(file, { at: OS_PAGE * 5 }), RangeError, /overlaps the existing mapping at \[0x4000, 0x8000\)/, 'overlap');
    throwsMatching(() => mem.mapFile(file, { at: OS_PAGE }), RangeError, /overlaps/, 'overlap from below');
    throwsMatching(() => mem.mapFile(file, { at: 0, length: 5 * OS_PAGE }), RangeError, /shorter than the range/, 'longer than the file, wrapping around a mapping');
    mem.mapFile(file, { at: 0 }); // ends exactly where the other begins: fine
    mem.unmap(0);
    mem.mapFile(file, { at: OS_PAGE * 8 }); // adjacent is fine
    throwsMatching(() => mem.unmap(OS_PAGE * 5), RangeError, /no mapping starts at 0x5000 \(it is inside the mapping at 0x4000/, 'unmap inside');
    throwsMatching(() => mem.unmap(PAGE * 1), RangeError, /no mapping starts at 0x10000/, 'unmap nothing');
    mem.unmap(OS_PAGE * 4);
    mem.unmap(OS_PAGE * 8);
    throwsMatching(() => mem.unmap(OS_PAGE * 4), RangeError, /no mapping starts/, 'unmap twice');
    throwsMatching(() => new Memory({ initial: 1 }).unmap(0), RangeError, /no mapping starts at 0x0/, 'unmap on a memory without mappings');
    // brand check
    throwsMatching(() => Memory.prototype.mapFile.call({}, file, { at: 0 }), TypeError, /./, 'brand check');
    assert.is(p.load64(PAGE), 1234n);
    assert.ok(sigbusGuardActive());
  });

  test('file shrinking under a private mapping: no crash, pages beyond the new end read zero (child process)', () => {
    const r = runChild('shrink-private');
    assert.is(r.signal, null, r.stderr);
    assert.is(r.status, 0, r.stderr);
    const o = r.report!;
    assert.is(o.before, String(patternU64(5 * OS_PAGE)));
    assert.is(o.page0, String(patternU64(0)));
    assert.is(o.page1, String(patternU64(OS_PAGE + 8)));
    assert.is(o.page1written, '153', 'a private copy inside the new end keeps its contents');
    assert.is(o.page2head, patternByte(2 * OS_PAGE + 99));
    assert.is(o.page2tail, 0);
    assert.is(o.page3, '0');
    assert.is(o.page5, '0');
    assert.is(o.page6, '0', 'the kernel discards private copies beyond the new end too (truncate unmaps COW pages)');
    assert.is(o.page7sum, '0');
    assert.equal(o.jsPage4, [0, 0, 0, 0], 'JS reads of detached pages read zero');
    assert.is(o.page3After, '42');
    assert.is(o.fileSize, 2 * OS_PAGE + 100, 'stores to detached pages never reach the file');
    assert.is(o.detached, 5, 'pages 3..7 detached');
    assert.is(o.afterUnmap, '0');
  });

  test('file shrinking under a shared mapping: no crash, pages beyond the new end read zero (child process)', () => {
    const r = runChild('shrink-shared');
    assert.is(r.signal, null, r.stderr);
    assert.is(r.status, 0, r.stderr);
    const o = r.report!;
    assert.is(o.page0, String(patternU64(0)));
    assert.is(o.page2head, patternByte(2 * OS_PAGE + 99));
    assert.is(o.page2tail, 0);
    assert.is(o.page3, '0');
    assert.is(o.page6, '0', 'shared: what was written beyond the new end went with the file');
    assert.is(o.page7sum, '0');
    assert.equal(o.jsPage4, [0, 0, 0, 0]);
    assert.is(o.page3After, '42');
    assert.is(o.fileSize, 2 * OS_PAGE + 100);
    assert.is(o.detached, 5, 'pages 3..7 detached');
  });

  test('file truncated to 0 then regrown: touched pages stay detached (zero), untouched ones track the file (child)', () => {
    const r = runChild('shrink-to-zero-then-regrow');
    assert.is(r.status, 0, r.stderr);
    const o = r.report!;
    assert.is(o.zero, '0');
    assert.is(o.detachedStaysZero, '0');
    assert.is(o.untouchedTracksFile, 0xab);
    assert.is(o.detached, 1);
  });

  test('guards of several threads chain: a worker and the main thread both survive shrinking files (child)', () => {
    const r = runChild('worker-chain');
    assert.is(r.status, 0, r.stderr);
    const o = r.report!;
    assert.equal(o.fromWorker, { before: 0x33, after: 0, inside: 0x33 });
    assert.is(o.mainInside, patternByte(5));
    assert.is(o.mainBeyond, '0');
    assert.is(o.detached, 1);
  });

  test('the SIGBUS guard leaves other SIGBUS faults alone: the default action still applies (child)', () => {
    const r = runChild('foreign-sigbus');
    assert.is(r.report?.guard, true, 'the guard was installed');
    assert.is(r.report?.survived, undefined, 'the process must not survive a SIGBUS outside Quickbeam mappings');
    assert.is(r.signal, 'SIGBUS', `died with ${r.signal}, status ${r.status}: ${r.stderr}`);
  });

  test('the same file mapped shared into two memories (i32 and i64): stores through one are seen by the other', () => {
    const file = patternFile(4 * OS_PAGE);
    const a = mem64(2);
    const b = new Memory({ initial: 1 });
    const pa = probe(a), pb = probe(b);
    a.mapFile(file, { at: PAGE, shared: true });
    b.mapFile(file, { at: 0, shared: true });
    pa.store64(PAGE + 4096, 0xabcdef0123456789n);
    assert.is(pb.load64(4096), 0xabcdef0123456789n);
    pb.store32(8, 0x7a7a7a7a);
    assert.is(pa.load32(PAGE + 8), 0x7a7a7a7a);
    // a private mapping of the same file sees neither the other's private stores nor leaks its own
    const c = mem64(1);
    const pc = probe(c);
    c.mapFile(file, { at: 0 });
    assert.is(pc.load64(4096), 0xabcdef0123456789n);
    pc.store64(4096, 1n);
    assert.is(pa.load64(PAGE + 4096), 0xabcdef0123456789n);
  });

  test('shareRange / SharedRegion (memfd): two memories share a range, across grow, i32 and i64', () => {
    const a = mem64(2, 10);
    const b = new Memory({ initial: 2, maximum: 10 });
    const pa = probe(a), pb = probe(b);
    pa.fill(PAGE, 16, 100n); // a's current bytes become the shared contents
    pb.store64(OS_PAGE * 3, 999n); // b's previous bytes there are discarded
    const region = a.shareRange(b, { at: PAGE, otherAt: OS_PAGE * 2, length: 2 * OS_PAGE });
    assert.ok(region instanceof SharedRegion);
    assert.is(region.byteLength, 2 * OS_PAGE);
    assert.is(pb.load64(OS_PAGE * 2), 100n);
    assert.is(pb.load64(OS_PAGE * 2 + 8 * 15), 115n);
    assert.is(pb.load64(OS_PAGE * 3), 0n);
    pb.store64(OS_PAGE * 3 + 8, 31337n);
    assert.is(pa.load64(PAGE + OS_PAGE + 8), 31337n);
    assert.is(a.grow(3), 2n);
    assert.is(pb.grow(4), 2);
    pa.store64(PAGE + 16, 5n);
    assert.is(pb.load64(OS_PAGE * 2 + 16), 5n, 'after grow');
    assert.equal(Array.from(b.read(OS_PAGE * 2 + 16, 1)), [5], 'JS sees it too');
    // a third memory maps the same region
    const c = mem64(1);
    const pc = probe(c);
    c.mapShared(region, { at: 0 });
    assert.is(pc.load64(16), 5n);
    pc.store64(24, 6n);
    assert.is(pa.load64(PAGE + 24), 6n);
    assert.is(c.mappings()[0]!.source, 'region');
    // unmapping one side leaves the others sharing
    b.unmap(OS_PAGE * 2);
    assert.is(pb.load64(OS_PAGE * 2 + 16), 0n);
    pa.store64(PAGE + 32, 7n);
    assert.is(pc.load64(32), 7n);
    region.close();
    pa.store64(PAGE + 40, 8n);
    assert.is(pc.load64(40), 8n, 'mappings outlive the descriptor');
    throwsMatching(() => c.mapShared(region, { at: 8 * OS_PAGE }), Error, /SharedRegion is closed/, 'closed region');
    // explicit region creation
    const r2 = new Memory.SharedRegion(OS_PAGE);
    r2.write(0, new Uint8Array([1, 2, 3]));
    b.mapShared(r2, { at: 0 });
    assert.is(pb.load8(2), 3);
    // misuse
    throwsMatching(() => a.shareRange(b, { at: 100, length: OS_PAGE }), RangeError, /not a multiple/, 'unaligned');
    throwsMatching(() => a.shareRange(b, { at: 0, length: 0 }), RangeError, /length must be positive/, 'empty');
    throwsMatching(() => a.shareRange(b, { at: 0, otherAt: 100 * PAGE, length: OS_PAGE }), RangeError, /outside the memory's current size/, 'outside b');
    throwsMatching(() => a.shareRange(b, { at: PAGE, otherAt: 8 * OS_PAGE, length: OS_PAGE }), RangeError, /overlaps/, 'overlap in a');
    throwsMatching(() => a.shareRange(a, { at: 0, otherAt: OS_PAGE, length: 2 * OS_PAGE }), RangeError, /overlap/, 'self overlap');
    throwsMatching(() => a.shareRange({} as Memory, { at: 0, length: OS_PAGE }), TypeError, /not a WebAssembly.Memory/, 'not a memory');
    throwsMatching(() => new Memory.SharedRegion(100), RangeError, /not a multiple/, 'region size');
    throwsMatching(() => c.mapShared({} as SharedRegion, { at: 0 }), TypeError, /expected a SharedRegion/, 'not a region');
    throwsMatching(() => c.mapShared(r2, { at: 0, length: 2 * OS_PAGE }), RangeError, /outside the region/, 'beyond region');
  });

  test('one Memory imported by several instances of different modules (i32 and i64): writes, reads, grow', () => {
    for (const index64 of [false, true]) {
      const A = (a: number): number | bigint => (index64 ? BigInt(a) : a);
      const mem = new Memory({ initial: 1, maximum: 20, index: index64 ? 'i64' : 'i32' });
      const a = probe(mem);
      const b = probe(mem); // a second instance of the same module
      // a different module that imports a grow function (b's) and stores after calling it
      const T = index64 ? I64 : I32;
      const callerBytes = buildModule(index64, 1, [{
        name: 'growThenStore', params: [T, T, I64], results: [I64],
        body: [GET, 0, CALL, 0, DROP, GET, 1, GET, 2, I64_STORE, ...memarg(3, 0), GET, 1, I64_LOAD, ...memarg(3, 0)],
      }, {
        name: 'sumFrom', params: [T, T], results: [I64], locals: [I64],
        body: [
          BLOCK, VOID, LOOP, VOID,
          GET, 1, index64 ? I64_EQZ : I32_EQZ, BR_IF, 1,
          GET, 2, GET, 0, I32_LOAD8_U, ...memarg(0, 0), I64_EXTEND_I32_U, I64_ADD, SET, 2,
          GET, 0, index64 ? I64_CONST : I32_CONST, 1, index64 ? I64_ADD : I32_ADD, SET, 0,
          GET, 1, index64 ? I64_CONST : I32_CONST, 1, index64 ? I64_SUB : I32_SUB, SET, 1,
          BR, 0, END, END, GET, 2,
        ],
      }], [['grow', [T], [T]]]);
      const bInst = new Instance(probeModule(index64), { env: { mem } });
      const caller = new Instance(new Module(callerBytes), { env: { mem, grow: (bInst.exports as Record<string, unknown>).grow } });
      const ce = caller.exports as Record<string, (...x: unknown[]) => unknown>;
      a.store64(64, 0x55n);
      assert.is(b.load64(64), 0x55n, 'A writes, B reads');
      assert.is(b.grow(2), 1);
      assert.is(a.size(), 3, 'A sees B\'s grow');
      a.store64(2 * PAGE + 8, 0x66n);
      assert.is(b.load64(2 * PAGE + 8), 0x66n, 'after grow');
      // the caller grows through an import, then stores into the new page: its cached length must be fresh
      assert.is(ce.growThenStore!(A(1), A(3 * PAGE + 16), 0x77n), 0x77n); // small: no sign issue
      assert.is(a.size(), 4);
      assert.is(a.load64(3 * PAGE + 16), 0x77n);
      mem.write(3 * PAGE + 100, new Uint8Array([1, 2, 3, 4]));
      assert.is(ce.sumFrom!(A(3 * PAGE + 100), A(4)), 10n);
      assert.equal(Array.from(mem.read(3 * PAGE + 16, 1)), [0x77]);
      assert.throws(() => a.load64(4 * PAGE), /memory access out of bounds/);
    }
  });

  test('trusted mode { boundsChecks: false } computes the same results on in-bounds programs (i32 and i64)', () => {
    for (const index64 of [false, true]) {
      const results: unknown[][] = [];
      for (const boundsChecks of [true, false]) {
        const mem = new Memory({ initial: 2, maximum: 4, index: index64 ? 'i64' : 'i32' });
        const p = probe(mem, { boundsChecks });
        const out: unknown[] = [];
        p.fill(0, 4096, 0x0123456789n);
        out.push(p.sum64(0, 4096), p.hash64(8, 4000), p.load64off(PAGE - 32), p.load8(PAGE * 2 - 1), p.load32(12345));
        p.store8(PAGE * 2 - 1, 0xfe);
        p.store32(PAGE * 2 - 4, 0x10203040);
        out.push(p.load64(PAGE * 2 - 8), p.grow(1), p.size());
        p.store64(PAGE * 3 - 8, -2n);
        out.push(p.load64(PAGE * 3 - 8), p.hash64(PAGE, (2 * PAGE) / 8));
        // file mapping under trusted code too
        const file = patternFile(2 * OS_PAGE, 3);
        mem.mapFile(file, { at: PAGE });
        out.push(p.sum64(PAGE, OS_PAGE / 4), p.load8(PAGE + 77));
        out.push(Buffer.from(mem.read(0, 3 * PAGE)).toString('base64').length);
        results.push(out);
      }
      assert.equal(results[1], results[0], `index64=${index64}`);
    }
    // and the unchecked module really is compiled without checks: the checked one traps, as it must
    const mem = new Memory({ initial: 1, index: 'i64' });
    assert.throws(() => probe(mem).load64(PAGE), /memory access out of bounds/);
  });

  test('memories with mappings that become garbage release their descriptors and guard entries', async () => {
    const file = patternFile(OS_PAGE);
    const fds = (): number => fs.readdirSync('/proc/self/fd').length;
    const before = liveFileMappings();
    const fdsBefore = fds();
    (() => {
      for (let i = 0; i < 5; i++) mem64(1).mapFile(file, { at: 0 });
    })();
    assert.is(liveFileMappings(), before + 5);
    assert.is(fds(), fdsBefore + 5);
    for (let k = 0; k < 50 && liveFileMappings() > before; k++) {
      forceGc();
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(liveFileMappings() <= before, `${liveFileMappings()} mappings left, ${before} before`);
    assert.ok(fds() <= fdsBefore, 'descriptors closed');
  });

  test('--map-file HOST_PATH@GUEST_ADDR[:ro|rw]: parsing, growing the memory, errors', () => {
    assert.equal(parseMapFileOption('a.bin@0x100000'), { option: 'a.bin@0x100000', path: 'a.bin', at: 0x100000, mode: 'ro' });
    assert.equal(parseMapFileOption('/x@y/b:c.bin@4G:rw'), { option: '/x@y/b:c.bin@4G:rw', path: '/x@y/b:c.bin', at: 4 * GiB, mode: 'rw' });
    assert.is(parseMapFileOption('f@64k:RO').at, 65536);
    assert.is(parseMapFileOption('f@8192').mode, 'ro');
    for (const [v, re] of [
      ['a.bin', /missing @GUEST_ADDR/], ['a.bin@', /missing GUEST_ADDR/], ['@4096', /missing HOST_PATH/],
      ['a.bin@100', /not a multiple of 4096/], ['a.bin@zz', /bad guest address "zz"/], ['a.bin@4096:rx', /bad guest address "4096:rx"/],
    ] as Array<[string, RegExp]>) {
      throwsMatching(() => parseMapFileOption(v), Error, re, v);
      try { parseMapFileOption(v); } catch (e) { assert.is((e as { exitCode?: number }).exitCode, 2); }
    }
    const file = patternFile(3 * OS_PAGE + 1);
    const mem = mem64(1);
    const infos = applyMapFiles(mem, [parseMapFileOption(`${file}@64K`)]);
    assert.is(mem.type().minimum, 2n, 'grown to fit');
    assert.is(infos[0]!.at, PAGE);
    assert.is(probe(mem).load8(PAGE + 3 * OS_PAGE), patternByte(3 * OS_PAGE));
    const small = new Memory({ initial: 1, maximum: 1 });
    throwsMatching(() => applyMapFiles(small, [parseMapFileOption(`${file}@0x10000`)]), Error, /cannot grow to 2 pages \(its maximum is 1\)/, 'max');
    throwsMatching(() => applyMapFiles(small, [parseMapFileOption(`${file}@0x1000:rw`), parseMapFileOption(`${file}@0x2000`)]), Error,
      /--map-file .*@0x2000: mapFile: range .* overlaps/, 'overlap');
    throwsMatching(() => applyMapFiles(small, [parseMapFileOption(`${tmp}/nope@0`)]), Error, /--map-file .*nope@0: ENOENT/, 'missing');
    assert.is(memoryForMapFiles({ memory: mem, other: 1 }), mem);
    assert.is(memoryForMapFiles({ m: mem }), mem);
    assert.is(memoryForMapFiles({ a: mem, b: small }), null);
    // a module importing its memory gets one sized for the mappings
    const info = moduleInternals(probeModule(true)).info;
    const imp = importedMemoryForMapFiles(info, [parseMapFileOption(`${file}@1M`)])!;
    assert.is(imp.module, 'env');
    assert.is(imp.name, 'mem');
    assert.equal(imp.memory.type(), { minimum: 17n, shared: false, index: 'i64' });
    assert.is(importedMemoryForMapFiles(info, []), null);
  });

  test('Memory.read/write/window beyond 4 GiB over a mapping (windowed JS access)', () => {
    const file = path.join(tmp, 'win.bin');
    const fd = fs.openSync(file, 'w+');
    fs.ftruncateSync(fd, 2 * OS_PAGE);
    fs.writeSync(fd, Buffer.from('hello, mapped world'), 0, 19, 100);
    fs.closeSync(fd);
    const at = 4 * GiB + 2 * PAGE;
    const mem = mem64(at / PAGE + 1);
    mem.mapFile(file, { at: BigInt(at) });
    assert.is(Buffer.from(mem.read(BigInt(at + 100), 19)).toString(), 'hello, mapped world');
    const w = mem.window(at, 2 * OS_PAGE);
    assert.is(w[100], 'h'.charCodeAt(0));
    w[100] = 'j'.charCodeAt(0);
    assert.is(probe(mem).load8(at + 100), 'j'.charCodeAt(0));
    mem.write(at + 4095, new Uint8Array([1, 2]));
    assert.equal(Array.from(mem.read(at + 4095, 2)), [1, 2]);
    assert.throws(() => mem.buffer, RangeError);
    assert.is(getLinearMemory(mem).mappings()[0]!.at, at);
  });
}
