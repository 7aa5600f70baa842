#!/usr/bin/env node
// Start-up on big real modules (issue 11): Quickbeam against V8 on the largest modules the npm registry has,
// each driven through its package's own JS glue to a first real result, every measurement in a fresh process.
//
//   node bench/startup-big.mjs [--runs N] [--quick] [--only NAME[,NAME]] [--no-node24] [--wait-idle]
//                              [--dist DIR] [--no-write] [--write]
//
//   --runs N      fresh processes per configuration and module, medians (default 5); --quick = --runs 1
//   --only        a subset of: esbuild, swc, biome, ruby, yosys, sqlite
//   --no-node24   skip the second pass on Node 24 (V8 13.6), whose binary is downloaded on first use
//                 (scripts/node-versions.mjs: the pinned build the tests run on)
//   --wait-idle   first wait (at most 15 min) for the 1-minute load average to drop below 0.6
//   --dist DIR    measure that Quickbeam build (a dist/ folder) instead of a snapshot of this tree's dist/,
//                 which is copied at the start so that a rebuild during the run does not mix builds
//   --no-write    do not update BENCHMARKS.md (a full run rewrites the section between the `startup-big:begin` /
//                 `startup-big:end` markers; --quick and --only do not, unless --write)
//
// Modules (pinned versions; downloaded on first use with `npm install --prefix bench/.modules/NAME`, a git-ignored
// cache folder, so nothing else in the repository depends on them):
//   esbuild  esbuild-wasm@0.28.2         Go          esbuild.wasm through Go's wasm_exec.js (as the package's
//                                                    wasm_exec_node.js does): the CLI, `--loader=ts`, with a small
//                                                    TypeScript file on its stdin; first result = its output
//   swc      @swc/wasm@1.16.21           Rust        wasm-bindgen glue; first result = one transformSync (TS)
//   biome    @biomejs/wasm-nodejs@2.5.14 Rust        wasm-bindgen glue; first result = one formatFile (TS)
//   ruby     @ruby/4.0-wasm-wasi@2.10.1  C (WASI)    CRuby 4.0 + stdlib (a reactor) through @ruby/wasm-wasi's
//                                                    RubyVM; first result = one eval that requires json
//   yosys    @yowasp/yosys@0.55.944      C++ (WASI)  yosys.core.wasm run as a WASI command (read_verilog, proc,
//                                                    opt, stat on a small counter); first result = its exit
//   sqlite   ../shared/workloads         C           sqlite.wasm32 (1 MB, freestanding): the whole workload
//
// Configurations (each a fresh process; runs alternate between them, round after round):
//   Quickbeam default options, `{ lazy: false }` (eager), a code-cache hit (`{ cache: DIR, lazy: false }`, DIR filled by
//   one run first), `{ cache: DIR }` (lazy + cache, the default of `quickbeam run` and quickbeam/register for big
//   modules: DIR filled by one such run first, whose entry holds the functions it compiled), and
//   `{ threads: 1 | N, lazy: false }` when Quickbeam's ModuleOptions have `threads`;
//   V8 `--liftoff-only --no-wasm-lazy-compilation` (Liftoff eager, background threads on), `--liftoff-only`
//   (lazy), and node's default (lazy + tier-up).
// Quickbeam replaces globalThis.WebAssembly (dist/quickbeam-entry.mjs, options forced through a wrapper); WASI
// modules use Quickbeam's own WASI (dist/src/wasi) under Quickbeam and node:wasi under V8. Both engines run
// behind the same thin timing wrapper. Reported per module: module creation wall ms (the largest module the
// glue compiles), ms from process start (performance.timeOrigin) to the first result, whole-process wall ms
// (spawn to exit, measured by the parent). NODE_EXTRA_CA_CERTS is removed from the children's environment.
//
// Internally: `node [V8 flags] bench/startup-big.mjs --child NAME ENGINE OPTIONS_JSON` is one measurement.

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureNode } from '../scripts/node-versions.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const cacheRoot = path.join(here, '.modules');
const sharedSqlite = path.resolve(root, '../shared/workloads/sqlite');
const MARK = '@@startup-big ';

const MODULES = {
  esbuild: {
    pkgs: ['esbuild-wasm@0.28.2'],
    wasm: 'node_modules/esbuild-wasm/esbuild.wasm',
    toolchain: 'Go',
    what: 'esbuild CLI, `--loader=ts`, TS on stdin',
  },
  swc: {
    pkgs: ['@swc/wasm@1.16.21'],
    wasm: 'node_modules/@swc/wasm/wasm_bg.wasm',
    toolchain: 'Rust (wasm-bindgen)',
    what: '`transformSync` of TS',
  },
  biome: {
    pkgs: ['@biomejs/wasm-nodejs@2.5.14'],
    wasm: 'node_modules/@biomejs/wasm-nodejs/biome_wasm_bg.wasm',
    toolchain: 'Rust (wasm-bindgen)',
    what: '`Workspace.formatFile` of TS',
  },
  ruby: {
    pkgs: ['@ruby/4.0-wasm-wasi@2.10.1', '@ruby/wasm-wasi@2.10.1'],
    wasm: 'node_modules/@ruby/4.0-wasm-wasi/dist/ruby+stdlib.wasm',
    toolchain: 'C (wasi-sdk), WASI reactor',
    what: 'RubyVM init + `eval` (require json)',
  },
  yosys: {
    pkgs: ['@yowasp/yosys@0.55.944'],
    wasm: 'node_modules/@yowasp/yosys/gen/yosys.core.wasm',
    toolchain: 'C++ (wasi-sdk), WASI command',
    what: '`yosys -p "read_verilog; proc; opt; stat"`',
  },
  sqlite: {
    pkgs: [],
    wasm: path.join(sharedSqlite, 'sqlite.wasm32.wasm'),
    toolchain: 'C (clang), freestanding',
    what: 'whole workload (`run()`)',
  },
};

const modDir = (name) => path.join(cacheRoot, name);
const wasmPath = (name) => (path.isAbsolute(MODULES[name].wasm) ? MODULES[name].wasm : path.join(modDir(name), MODULES[name].wasm));

// -------------------------------------------------------------------------------------------------
// Inputs of the first results

const TS_INPUT = `// a small TypeScript module
export interface Point { x: number; y: number; label?: string }
export enum Color { Red, Green = 4, Blue }
export class Path<T extends Point> {
  private points: T[] = [];
  constructor(readonly name: string) {}
  add(p: T): this { this.points.push(p); return this; }
  get length(): number {
    let d = 0;
    for (let i = 1; i < this.points.length; i++) d += Math.hypot(this.points[i].x - this.points[i - 1].x, this.points[i].y - this.points[i - 1].y);
    return d;
  }
}
type Pair<A, B> = [A, B];
export function zip<A, B>(a: readonly A[], b: readonly B[]): Pair<A, B>[] { return a.map((x, i) => [x, b[i]] as Pair<A, B>); }
export const total = new Path<Point>('p').add({ x: 0, y: 0 }).add({ x: 3, y: 4 }).length satisfies number;
`;

const VERILOG = `module counter(input clk, input rst, input en, output reg [7:0] q);
  always @(posedge clk)
    if (rst) q <= 8'd0;
    else if (en) q <= q + 8'd1;
endmodule
`;

// -------------------------------------------------------------------------------------------------
// The child: one measurement

if (process.argv[2] === '--child') {
  await child(process.argv[3], process.argv[4], JSON.parse(process.argv[5] ?? '{}'));
} else {
  await main();
}

async function child(name, engine, options) {
  // Node does not keep its event loop alive for V8's pending asynchronous wasm compilation: with
  // `--no-wasm-lazy-compilation`, `await WebAssembly.compile(...)` can find the loop empty and the process exits
  // with status 13 (unsettled top-level await; seen on Node 24). A ref'ed timer keeps it alive until we exit.
  setInterval(() => {}, 1 << 30);
  const require = createRequire(import.meta.url);
  const dist = process.env.QB_STARTUP_BIG_DIST ?? path.join(root, 'dist');
  const base = engine === 'quickbeam' ? (await import(pathToFileURL(path.join(dist, 'quickbeam-entry.mjs')).href)).default : WebAssembly;
  const qbOptions = engine === 'quickbeam' && Object.keys(options).length ? options : undefined;
  const compiles = [];
  const instances = [];
  const now = () => performance.now();
  const sizeOf = (b) => (b instanceof ArrayBuffer ? b.byteLength : ArrayBuffer.isView(b) ? b.byteLength : 0);
  // The same thin wrapper for both engines: times module creation and instantiation, forces Quickbeam's options.
  const W = Object.create(base);
  const Module = new Proxy(base.Module, {
    construct(target, args, newTarget) {
      const t0 = now();
      const m = Reflect.construct(target, qbOptions ? [args[0], qbOptions] : args, newTarget === Module ? target : newTarget);
      compiles.push({ bytes: sizeOf(args[0]), ms: now() - t0, module: m });
      return m;
    },
  });
  const Instance = new Proxy(base.Instance, {
    construct(target, args, newTarget) {
      const t0 = now();
      const i = Reflect.construct(target, args, newTarget === Instance ? target : newTarget);
      instances.push({ ms: now() - t0 });
      return i;
    },
  });
  const compile = async (bytes) => {
    const t0 = now();
    const m = await (qbOptions ? base.compile(bytes, qbOptions) : base.compile(bytes));
    compiles.push({ bytes: sizeOf(bytes), ms: now() - t0, module: m });
    return m;
  };
  Object.defineProperties(W, {
    Module: { value: Module, writable: true, configurable: true },
    Instance: { value: Instance, writable: true, configurable: true },
    compile: { value: compile, writable: true, configurable: true },
    instantiate: {
      value: async (source, imports) => {
        if (source instanceof base.Module) {
          const t0 = now();
          const i = await base.instantiate(source, imports);
          instances.push({ ms: now() - t0 });
          return i;
        }
        const module = await compile(source);
        const t0 = now();
        const instance = await base.instantiate(module, imports);
        instances.push({ ms: now() - t0 });
        return { module, instance };
      },
      writable: true,
      configurable: true,
    },
    compileStreaming: { value: async (r) => compile(await (await r).arrayBuffer()), writable: true, configurable: true },
    instantiateStreaming: { value: async (r, imports) => W.instantiate(await (await r).arrayBuffer(), imports), writable: true, configurable: true },
  });
  globalThis.WebAssembly = W;

  const newWasi = async (opts) => {
    if (engine === 'quickbeam') {
      const { WASI } = await import(pathToFileURL(path.join(dist, 'src/wasi/index.js')).href);
      return new WASI({ env: {}, returnOnExit: true, ...opts });
    }
    const { WASI } = await import('node:wasi');
    return new WASI({ version: 'preview1', env: {}, returnOnExit: true, ...opts });
  };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'qb-startup-big-'));
  let result;
  let ok;
  try {
    switch (name) {
      case 'esbuild': {
        // What esbuild-wasm's wasm_exec_node.js does, with stdin served from memory and stdout captured.
        const realFs = require('node:fs');
        const input = Buffer.from(TS_INPUT);
        let inPos = 0;
        const out = [];
        const fsShim = Object.create(realFs);
        fsShim.write = (fd, buf, off, len, pos, cb) => {
          if (fd !== 1) return realFs.write(fd, buf, off, len, pos, cb);
          out.push(Buffer.from(buf.subarray(off, off + len)));
          setImmediate(() => cb(null, len)); // asynchronous, like the real fs.write
        };
        fsShim.writeSync = (fd, buf, ...rest) => {
          if (fd !== 1) return realFs.writeSync(fd, buf, ...rest);
          out.push(Buffer.from(buf));
          return buf.length;
        };
        fsShim.read = (fd, buf, off, len, pos, cb) => {
          if (fd !== 0) return realFs.read(fd, buf, off, len, pos, cb);
          const n = Math.min(len, input.length - inPos);
          input.copy(buf, off, inPos, inPos + n);
          inPos += n;
          setImmediate(() => cb(null, n));
        };
        globalThis.require = require;
        globalThis.fs = fsShim;
        globalThis.path = path;
        require(path.join(modDir('esbuild'), 'node_modules/esbuild-wasm/wasm_exec.js'));
        const go = new globalThis.Go();
        go.argv = ['esbuild', '--loader=ts'];
        go.env = { TMPDIR: os.tmpdir() };
        let exitCode = 0;
        go.exit = (code) => { exitCode = code; };
        const { instance } = await WebAssembly.instantiate(fs.readFileSync(wasmPath('esbuild')), go.importObject);
        await go.run(instance);
        result = Buffer.concat(out).toString();
        ok = exitCode === 0 && /export var Color/.test(result) && /class Path/.test(result) && !/interface/.test(result);
        break;
      }
      case 'swc': {
        const swc = require(path.join(modDir('swc'), 'node_modules/@swc/wasm/wasm.js'));
        result = swc.transformSync(TS_INPUT, { filename: 'input.ts', jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }).code;
        ok = /Color\[Color\["Red"\]/.test(result) && /class Path/.test(result) && !/interface/.test(result);
        break;
      }
      case 'biome': {
        const biome = require(path.join(modDir('biome'), 'node_modules/@biomejs/wasm-nodejs/biome_wasm.js'));
        const ws = new biome.Workspace();
        const { projectKey } = ws.openProject({ path: '/', openUninitialized: true });
        ws.openFile({ projectKey, path: '/input.ts', content: { type: 'fromClient', content: TS_INPUT, version: 0 } });
        result = ws.formatFile({ projectKey, path: '/input.ts' }).code;
        ok = /export interface Point \{/.test(result) && /\tadd\(p: T\): this \{/.test(result);
        break;
      }
      case 'ruby': {
        const dir = path.join(modDir('ruby'), 'node_modules/@ruby/wasm-wasi/dist/esm');
        const { RubyVM } = await import(pathToFileURL(path.join(dir, 'vm.js')).href);
        const module = await WebAssembly.compile(fs.readFileSync(wasmPath('ruby')));
        const wasip1 = await newWasi({});
        const { vm } = await RubyVM.instantiateModule({ module, wasip1 });
        result = vm.eval('require "json"; JSON.generate({ version: RUBY_VERSION[0], squares: (1..5).map { |i| i * i } })').toString();
        ok = result === '{"version":"4","squares":[1,4,9,16,25]}';
        break;
      }
      case 'yosys': {
        fs.writeFileSync(path.join(tmp, 'counter.v'), VERILOG);
        const outFile = path.join(tmp, 'out.txt');
        const fd = fs.openSync(outFile, 'w+');
        const wasi = await newWasi({
          args: ['yosys', '-p', 'read_verilog /w/counter.v; proc; opt; stat'],
          preopens: { '/w': tmp },
          stdout: fd,
          stderr: fd,
        });
        const module = new WebAssembly.Module(fs.readFileSync(wasmPath('yosys')));
        const instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.wasiImport });
        const code = wasi.start(instance);
        try {
          fs.closeSync(fd); // (node:wasi closes it when the program closes its stdout)
        } catch {}
        result = fs.readFileSync(outFile, 'utf8');
        ok = code === 0 && /Number of cells/i.test(result) && /counter/.test(result);
        if (!ok) result = `exit ${code}: ${result.slice(-600)}`;
        break;
      }
      case 'sqlite': {
        const want = JSON.parse(fs.readFileSync(path.join(sharedSqlite, 'expected_checksums.json'), 'utf8')).wasm32;
        let hi = 0xcbf29ce4, lo = 0x84222325; // FNV-1a 64 on two halves, as ../shared/workloads/run-v8.mjs
        const putchar = (c) => {
          lo = (lo ^ (c & 255)) >>> 0;
          const p = lo * 0x1b3;
          hi = (hi * 0x1b3 + Math.floor(p / 4294967296) + lo * 0x100) >>> 0;
          lo = p >>> 0;
        };
        const module = new WebAssembly.Module(fs.readFileSync(wasmPath('sqlite')));
        const instance = new WebAssembly.Instance(module, { env: { putchar, print_i64: () => {} } });
        instance.exports.run();
        result = ((BigInt(hi) << 32n) | BigInt(lo)).toString(16).padStart(16, '0');
        ok = result === want;
        break;
      }
      default:
        throw new Error(`unknown module ${name}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  const firstResult = now();
  const main = compiles.reduce((a, b) => (b.bytes > a.bytes ? b : a), { bytes: 0, ms: NaN });
  let cacheStatus;
  if (engine === 'quickbeam' && main.module) {
    const sym = Object.getOwnPropertySymbols(main.module).find((s) => s.description === 'quickbeam.module');
    cacheStatus = sym ? main.module[sym]?.cacheStatus : undefined;
  }
  const report = {
    module: name, engine, options, flags: process.execArgv.join(' '), node: process.version,
    ok, compile_ms: main.ms, compile_bytes: main.bytes, compiles: compiles.length,
    instantiate_ms: instances.reduce((s, i) => s + i.ms, 0), first_result_ms: firstResult, cacheStatus,
    result: ok ? undefined : String(result).slice(0, 600),
  };
  fs.writeSync(1, `\n${MARK}${JSON.stringify(report)}\n`);
  process.exit(0);
}

// -------------------------------------------------------------------------------------------------
// The parent

async function main() {
  const argv = process.argv.slice(2);
  let runs = 5, quick = false, only = null, node24 = true, write = null, waitIdle = false, distArg = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--runs') runs = Number(argv[++i]);
    else if (a === '--quick') quick = true;
    else if (a === '--only') only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--no-node24') node24 = false;
    else if (a === '--no-write') write = false;
    else if (a === '--write') write = true;
    else if (a === '--wait-idle') waitIdle = true;
    else if (a === '--dist') distArg = path.resolve(argv[++i] ?? '');
    else if (a === '--help' || a === '-h') {
      console.log(fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 40).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
      return;
    } else {
      console.error(`startup-big: unknown argument ${a} (see --help)`);
      process.exit(2);
    }
  }
  if (quick && !argv.includes('--runs')) runs = 1;
  if (!(runs >= 1)) { console.error('startup-big: --runs needs a positive integer'); process.exit(2); }
  for (const n of only ?? []) if (!MODULES[n]) { console.error(`startup-big: unknown module ${n} (${Object.keys(MODULES).join(', ')})`); process.exit(2); }
  write ??= !quick && !only;
  const names = only ?? Object.keys(MODULES);
  const log = (s) => process.stderr.write(s + '\n');
  const tStart = performance.now();

  if (!fs.existsSync(path.join(distArg ?? path.join(root, 'dist'), 'quickbeam-entry.mjs'))) {
    console.error(`startup-big: ${distArg ?? 'dist/'} has no quickbeam-entry.mjs: run \`npm run build\` first`);
    process.exit(2);
  }
  // The Quickbeam under test: a snapshot of dist/ taken now, so that a rebuild while the bench runs (other work
  // in the same tree) changes nothing; with --dist DIR, that build instead (e.g. an older commit's, built).
  const describe = () => {
    const r = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
    if (r.status !== 0) return null;
    const dirty = spawnSync('git', ['-C', root, 'status', '--porcelain', '--untracked-files=no', '--', 'src'], { encoding: 'utf8' }).stdout.trim() !== '';
    return `${r.stdout.trim()}${dirty ? ' + uncommitted changes in src/' : ''}`;
  };
  let dist = distArg, snapshot = null, commit = distArg ? `the build in ${distArg}` : null;
  if (!dist) {
    const src = path.join(root, 'dist');
    const stamp = () => {
      let latest = 0;
      const walk = (d) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else latest = Math.max(latest, fs.statSync(p).mtimeMs);
        }
      };
      walk(src);
      return latest;
    };
    // Inside bench/.modules so that the bundle still finds koffi in the project's node_modules.
    snapshot = path.join(cacheRoot, `quickbeam-dist-${process.pid}`);
    for (const old of fs.existsSync(cacheRoot) ? fs.readdirSync(cacheRoot) : []) {
      const pid = /^quickbeam-dist-(\d+)$/.exec(old)?.[1];
      let alive = false;
      try {
        if (pid) alive = process.kill(Number(pid), 0);
      } catch {}
      if (pid && !alive) fs.rmSync(path.join(cacheRoot, old), { recursive: true, force: true });
    }
    for (let attempt = 0; ; attempt++) {
      const before = stamp();
      if (Date.now() - before < 3000 && attempt < 20) { await new Promise((r) => setTimeout(r, 3000)); continue; } // a build in progress
      fs.rmSync(snapshot, { recursive: true, force: true });
      commit = describe();
      fs.cpSync(src, path.join(snapshot, 'dist'), { recursive: true, preserveTimestamps: true }); // (the entry picks the bundle by mtime)
      if (stamp() === before) break;
    }
    dist = path.join(snapshot, 'dist');
    // Removed at exit; a run that was killed leaves its snapshot, removed by the next run. (No signal handlers:
    // the measurements run synchronously, so a handler would only run, if ever, after the whole bench.)
    process.on('exit', () => fs.rmSync(snapshot, { recursive: true, force: true }));
    log(`startup-big: measuring a snapshot of dist/ (Quickbeam at ${commit ?? 'an unknown commit'})`);
  }

  // Downloads, once, into the git-ignored bench/.modules/.
  const install = (dir, pkgs) => {
    const have = pkgs.every((p) => {
      const at = p.lastIndexOf('@');
      try {
        return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', p.slice(0, at), 'package.json'), 'utf8')).version === p.slice(at + 1);
      } catch {
        return false;
      }
    });
    if (have) return;
    log(`startup-big: downloading ${pkgs.join(' ')} from the npm registry into ${path.relative(root, dir)}/ (git-ignored; once)`);
    fs.mkdirSync(dir, { recursive: true });
    const r = spawnSync('npm', ['install', '--prefix', dir, '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error', ...pkgs], { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`npm install ${pkgs.join(' ')} failed`);
  };
  for (const n of names) if (MODULES[n].pkgs.length) install(modDir(n), MODULES[n].pkgs);
  if (!fs.existsSync(wasmPath('sqlite')) && names.includes('sqlite')) throw new Error(`missing ${wasmPath('sqlite')}`);
  const nodes = [{ label: `Node ${process.version}`, exe: process.execPath }];
  if (node24) {
    nodes.push({ label: 'Node 24', exe: ensureNode(24) }); // (the tests' pinned build: scripts/node-versions.mjs)
  }
  for (const n of nodes) {
    const v = spawnSync(n.exe, ['-p', 'process.version + " " + process.versions.v8'], { encoding: 'utf8' }).stdout.trim().split(' ');
    n.version = v[0];
    n.v8 = v[1];
    n.label = `Node ${v[0]} (V8 ${v[1].replace(/-node.*/, '')})`;
  }

  // Does this Quickbeam have a `threads` option?
  let threads = false;
  try {
    threads = /\bthreads\??:/.test(fs.readFileSync(path.join(dist, 'src/api/module.d.ts'), 'utf8'));
  } catch {}
  const nThreads = os.availableParallelism?.() ?? os.cpus().length;

  const LO_EAGER = ['--liftoff-only', '--no-wasm-lazy-compilation'];
  const configs = [
    { id: 'qb', label: 'Quickbeam default', engine: 'quickbeam', options: {} },
    { id: 'qbEager', label: 'Quickbeam `lazy: false`', engine: 'quickbeam', options: { lazy: false } },
    ...(threads ? [
      { id: 'qbT1', label: 'Quickbeam eager, 1 thread', engine: 'quickbeam', options: { lazy: false, threads: 1 } },
      { id: 'qbTN', label: `Quickbeam eager, ${nThreads} threads`, engine: 'quickbeam', options: { lazy: false, threads: nThreads } },
    ] : []),
    { id: 'qbCache', label: 'Quickbeam cache hit', engine: 'quickbeam', options: { cache: '' } },
    // The default of `quickbeam run` and quickbeam/register for big modules: lazy, with a code cache whose entry
    // holds the functions an earlier process compiled (later runs of an application).
    { id: 'qbLazyCache', label: 'Quickbeam lazy + cache, later run', engine: 'quickbeam', options: { cache: '' } },
    { id: 'loEager', label: 'V8 Liftoff eager', engine: 'v8', flags: LO_EAGER },
    { id: 'loLazy', label: 'V8 Liftoff lazy', engine: 'v8', flags: ['--liftoff-only'] },
    { id: 'v8', label: 'V8 default', engine: 'v8', flags: [] },
  ];

  if (waitIdle) {
    const until = Date.now() + 15 * 60_000;
    while (os.loadavg()[0] > 0.6 && Date.now() < until) {
      log(`startup-big: waiting for the machine to be idle (1-minute load ${os.loadavg()[0].toFixed(2)})`);
      await new Promise((r) => setTimeout(r, 30_000));
    }
  }
  const env = { ...process.env, QB_STARTUP_BIG_DIST: dist };
  delete env.NODE_EXTRA_CA_CERTS;
  const self = fileURLToPath(import.meta.url);
  const loadStart = os.loadavg()[0];
  let loadMax = loadStart;
  const once = (node, name, cfg, options, { fill = false } = {}) => {
    const args = [...(cfg.flags ?? []), self, '--child', name, cfg.engine, JSON.stringify(options ?? {})];
    const t0 = process.hrtime.bigint();
    const r = spawnSync(node.exe, args, { encoding: 'utf8', env, timeout: 300_000, maxBuffer: 64 << 20 });
    const wall = Number(process.hrtime.bigint() - t0) / 1e6;
    loadMax = Math.max(loadMax, os.loadavg()[0]);
    const line = (r.stdout ?? '').split('\n').reverse().find((l) => l.startsWith(MARK));
    if (!line || r.status !== 0) {
      const why = r.error ? String(r.error.message) : r.signal ? `killed by ${r.signal}` : `exit status ${r.status}`;
      const err = (r.stderr ?? '').trim().split('\n').filter((l) => !/ExperimentalWarning|--trace-warnings/.test(l)).slice(-8).join('\n');
      return { failed: `${why}${err ? `: ${err}` : ''}`, wall };
    }
    const rep = JSON.parse(line.slice(MARK.length));
    if ((cfg.id === 'qbCache' || cfg.id === 'qbLazyCache') && !fill && rep.cacheStatus !== undefined && rep.cacheStatus !== 'hit') return { failed: `code cache not hit (${rep.cacheStatus})`, wall };
    // A wrong result keeps its module-creation time (the compile itself finished) but no result times.
    if (!rep.ok) return { failed: `wrong result: ${JSON.stringify(rep.result)}`, compile_ms: rep.compile_ms, wall };
    return { ...rep, wall };
  };

  const median = (xs) => {
    const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
    if (!s.length) return NaN;
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };

  const results = {}; // node label -> module -> config id -> { compile, first, wall, failures[] }
  const failures = [];
  for (const node of nodes) {
    results[node.label] = {};
    for (const name of names) {
      log(`startup-big: ${node.label}: ${name} (${(fs.statSync(wasmPath(name)).size / 1e6).toFixed(1)} MB), ${runs} round(s) of ${configs.length} configurations`);
      const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qb-startup-big-cache-'));
      // (eager entries, which hold all the code: a lazy module's entry holds what the filling process compiled)
      const lazyCacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'qb-startup-big-lazy-cache-'));
      const opts = (cfg) => (cfg.id === 'qbCache' ? { cache: cacheDir, lazy: false } : cfg.id === 'qbLazyCache' ? { cache: lazyCacheDir } : cfg.options);
      const samples = Object.fromEntries(configs.map((c) => [c.id, []]));
      // Fill the code cache (not measured).
      const fill = once(node, name, configs.find((c) => c.id === 'qbCache'), { cache: cacheDir, lazy: false }, { fill: true });
      // (A wrong result still filled the cache; a crash may not have.)
      const noCache = fill.failed && !Number.isFinite(fill.compile_ms);
      if (noCache) samples.qbCache.push({ failed: `filling the cache: ${fill.failed}` });
      // ... and the lazy one: the entry a first run (default options, lazy for big modules) writes at its exit.
      const lazyFill = once(node, name, configs.find((c) => c.id === 'qbLazyCache'), { cache: lazyCacheDir }, { fill: true });
      const noLazyCache = lazyFill.failed && !Number.isFinite(lazyFill.compile_ms);
      if (noLazyCache) samples.qbLazyCache.push({ failed: `filling the cache: ${lazyFill.failed}` });
      for (let r = 0; r < runs; r++) {
        for (const cfg of configs) {
          if ((cfg.id === 'qbCache' && noCache) || (cfg.id === 'qbLazyCache' && noLazyCache)) continue;
          const s = once(node, name, cfg, opts(cfg));
          samples[cfg.id].push(s);
          log(`  ${cfg.label.padEnd(28)} ${s.failed ? `FAILED: ${s.failed.split('\n')[0].slice(0, 200)}` : `compile ${s.compile_ms.toFixed(0).padStart(5)} ms, first result ${s.first_result_ms.toFixed(0).padStart(5)} ms, process ${s.wall.toFixed(0).padStart(5)} ms`}`);
        }
      }
      fs.rmSync(cacheDir, { recursive: true, force: true });
      fs.rmSync(lazyCacheDir, { recursive: true, force: true });
      const row = (results[node.label][name] = {});
      for (const cfg of configs) {
        const ss = samples[cfg.id];
        const good = ss.filter((s) => !s.failed);
        const bad = ss.filter((s) => s.failed);
        for (const b of bad) failures.push({ node: node.label, module: name, config: cfg.label, error: b.failed });
        row[cfg.id] = {
          compile: median(ss.map((s) => s.compile_ms)),
          compiled: ss.filter((s) => Number.isFinite(s.compile_ms)).length,
          first: median(good.map((s) => s.first_result_ms)),
          wall: median(good.map((s) => s.wall)),
          failed: bad.length,
          total: ss.length,
        };
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Tables

  const secs = (performance.now() - tStart) / 1000;
  const f = (x) => (!Number.isFinite(x) ? 'FAIL' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
  const cell = (m, k) => {
    if (k === 'compile' && m.compiled > 0) return `${f(m.compile)}${m.compiled < m.total ? ` (${m.total - m.compiled}/${m.total} failed)` : ''}`;
    return m.failed === m.total ? '**FAIL**' : `${f(m[k])}${m.failed ? ` (${m.failed}/${m.total} failed)` : ''}`;
  };
  const ratio = (a, b) => (Number.isFinite(a) && Number.isFinite(b) ? `${(a / b).toFixed(2)}x` : '-');
  const sizeMB = (n) => (fs.statSync(wasmPath(n)).size / 2 ** 20).toFixed(1);
  const cmd = `node bench/startup-big.mjs${argv.length ? ' ' + argv.join(' ') : ''}`;
  const md = [];
  md.push(`Generated by \`${cmd}\` in ${(secs / 60).toFixed(1)} min on ${new Date().toISOString().slice(0, 10)}: Quickbeam ${distArg ? commit : commit ? `at commit ${commit} (dist/ as built then)` : '(commit unknown)'}; ` +
    `${os.cpus()[0]?.model?.trim() ?? 'cpu'} (${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${os.release()}); ` +
    `${nodes.map((n) => n.label).join(' and ')}. Fresh process for every measurement, configurations alternating round after round, medians of ${runs}` +
    `${runs === 1 ? ' (a single run: a smoke test, not a measurement)' : ''}. ` +
    `The machine is shared and noisy: 1-minute load average ${loadStart.toFixed(2)} at the start, at most ${loadMax.toFixed(2)} during the run (the bench keeps about one core busy, V8's compile threads more); compare figures of one run only. ` +
    `Quickbeam ${threads ? `has a \`threads\` option (columns for 1 and ${nThreads} threads)` : 'has no `threads` option yet (no thread-count columns)'}.`);
  md.push('');
  md.push('| module | from | size | first real result |');
  md.push('|---|---|---:|---|');
  for (const n of names) md.push(`| ${n} | ${MODULES[n].pkgs.join(' + ') || '../shared/workloads/sqlite/sqlite.wasm32.wasm'} (${MODULES[n].toolchain}) | ${sizeMB(n)} MiB | ${MODULES[n].what} |`);
  md.push('');
  md.push('Columns: **compile** = wall ms of module creation (`new Module` / `WebAssembly.compile` of the big module, through the glue); ' +
    '**first result** = ms from process start to the first real result (compile, instantiate, the glue\'s initialisation and the first call); ' +
    '**process** = whole-process wall ms, spawn to exit. LO = V8 `--liftoff-only --no-wasm-lazy-compilation` (eager, background threads on), ' +
    'LO lazy = `--liftoff-only`, V8 = node\'s default (lazy + tier-up). QB = Quickbeam with default options (lazy for modules >= 4 MiB), ' +
    'QB eager = `{ lazy: false }`, QB cache = `{ cache: DIR, lazy: false }` with DIR filled by one earlier process, ' +
    'QB lazy+cache = `{ cache: DIR }` (lazy, as `quickbeam run` and quickbeam/register use big modules by default) with DIR filled by one earlier ' +
    'such process (its entry holds the functions that process compiled): the figure of every run of an application after its first. ' +
    'Targets (issue 11): QB eager (all threads) compile <= 1.0x LO; QB first result <= 1.0x LO lazy and <= 0.5x V8; cache hit of a 20-40 MB module <= 60 ms.');
  md.push('');
  for (const node of nodes) {
    const R = results[node.label];
    md.push(`#### ${node.label}`);
    md.push('');
    md.push('Compile (wall ms):');
    md.push('');
    const tcols = threads ? [['qbT1', 'QB 1 thread'], ['qbTN', `QB ${nThreads} threads`]] : [];
    md.push(`| module | QB eager | ${tcols.map((t) => t[1] + ' | ').join('')}LO eager | QB eager / LO | ${tcols.map((t) => t[1] + ' / LO | ').join('')}QB cache hit | cache hit / LO | QB default | LO lazy | V8 |`);
    md.push(`|---|---:|${tcols.map(() => '---:|').join('')}---:|---:|${tcols.map(() => '---:|').join('')}---:|---:|---:|---:|---:|`);
    for (const n of names) {
      const r = R[n];
      md.push(`| ${n} | ${cell(r.qbEager, 'compile')} | ${tcols.map((t) => cell(r[t[0]], 'compile') + ' | ').join('')}${cell(r.loEager, 'compile')} | ${ratio(r.qbEager.compile, r.loEager.compile)} | ` +
        `${tcols.map((t) => ratio(r[t[0]].compile, r.loEager.compile) + ' | ').join('')}${cell(r.qbCache, 'compile')} | ${ratio(r.qbCache.compile, r.loEager.compile)} | ${cell(r.qb, 'compile')} | ${cell(r.loLazy, 'compile')} | ${cell(r.v8, 'compile')} |`);
    }
    md.push('');
    md.push('First real result (ms from process start) and whole process (ms):');
    md.push('');
    md.push('| module | QB | QB eager | QB cache | QB lazy+cache | LO eager | LO lazy | V8 | QB / LO lazy | QB / V8 | QB lazy+cache / LO lazy | process: QB | QB eager | QB cache | QB lazy+cache | LO eager | LO lazy | V8 | QB / LO lazy |');
    md.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const n of names) {
      const r = R[n];
      const ids = ['qb', 'qbEager', 'qbCache', 'qbLazyCache', 'loEager', 'loLazy', 'v8'];
      md.push(`| ${n} | ${ids.map((id) => cell(r[id], 'first')).join(' | ')} | ${ratio(r.qb.first, r.loLazy.first)} | ${ratio(r.qb.first, r.v8.first)} | ${ratio(r.qbLazyCache.first, r.loLazy.first)} | ` +
        `${ids.map((id) => cell(r[id], 'wall')).join(' | ')} | ${ratio(r.qb.wall, r.loLazy.wall)} |`);
    }
    md.push('');
  }
  if (failures.length) {
    md.push('Failures (fresh processes that crashed or gave a wrong result; left out of the medians):');
    md.push('');
    const seen = new Map();
    for (const x of failures) {
      const key = `${x.node}|${x.module}|${x.config}`;
      if (!seen.has(key)) seen.set(key, { ...x, n: 0 });
      seen.get(key).n++;
    }
    for (const x of seen.values()) md.push(`- ${x.node}, ${x.module}, ${x.config} (${x.n}x): \`${x.error.replace(/\s+/g, ' ').replace(/`/g, "'").slice(0, 400)}\``);
    md.push('');
  }
  const text = md.join('\n').trimEnd();
  process.stdout.write('\n' + text + '\n');

  if (write) {
    const file = path.join(root, 'BENCHMARKS.md');
    const BEGIN = '<!-- startup-big:begin (generated by bench/startup-big.mjs: edits between these markers are overwritten) -->';
    const END = '<!-- startup-big:end -->';
    let doc = fs.readFileSync(file, 'utf8');
    if (doc.indexOf('<!-- startup-big:begin') < 0 || doc.indexOf(END) < 0) {
      doc = doc.trimEnd() + `\n\n## Start-up on big real modules (bench/startup-big.mjs)\n\n${BEGIN}\n${END}\n`;
    }
    const a = doc.indexOf('<!-- startup-big:begin'), b = doc.indexOf(END);
    doc = doc.slice(0, a) + BEGIN + '\n' + text + '\n' + doc.slice(b);
    fs.writeFileSync(file, doc);
    log('startup-big: wrote BENCHMARKS.md');
  }
  log(`startup-big: done in ${(secs / 60).toFixed(1)} min`);
  if (failures.length) process.exitCode = 1;
}
