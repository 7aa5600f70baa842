#!/usr/bin/env node
// The `quickbeam` command. The CLI itself is TypeScript compiled into dist/ (see src/cli/main.ts).
//
// Start-up: `npm run build` also bundles the CLI into one file, dist/quickbeam.cjs (scripts/bundle.mjs), which
// loads much faster than the ~50 ES modules of dist/src. It is used when it is at least as new as
// dist/src/cli/main.js (so a plain `tsc` rebuild after it falls back to dist/src), and it is compiled through
// V8's code cache: the first successful `quickbeam run` saves the bytecode of every function it ran into
// dist/v8-code-cache/ (or, when dist/ is not writable, a private directory in the system's temp dir), and later
// runs start from it (a cache saved by a run that compiled nothing is replaced by the first run that compiles).
// The cache is deserialised into V8, so it is read and written through dist/src/trusted-file.cjs, like run's
// machine-code cache: only a file owned by this user, in a directory private to this user, is ever used.
// Commands start from a second bundle, dist/quickbeam-run.cjs: the same CLI without the compiler, about half the
// JavaScript to deserialise and evaluate, which is all a run whose module comes from run's code cache needs (and
// all `--version`, `--help` and the commands kept in dist/src need). A run that will compile (--no-cache, --lazy,
// a module of >= 4 MiB, one not cached yet) or whose module is not a regular file starts from the full bundle
// (dist/src/run-prescan.cjs says which); a cache miss the prescan did not foresee reaches the compiler's stub in
// the run bundle before the run has done anything visible, and is handed over to the full bundle
// (src/cli/compiler-presence.ts). Each bundle has its own V8 code cache.
// QUICKBEAM_NO_BUNDLE=1 uses dist/src; QUICKBEAM_CODE_CACHE=0 turns the cache off.
//
// This file is CommonJS (bin/package.json says so): an ES module as the entry point makes Node set up its ES
// module loader first, about 3.5 ms of CPU that the bundle does not need.
'use strict';
const { createRequire } = require('node:module');
const { pathToFileURL } = require('node:url');
const { readFileSync, readdirSync, statSync, unlinkSync } = require('node:fs');

const MARKS = Symbol.for('quickbeam.startupMarks');
const tracing = !!process.env.QUICKBEAM_TRACE_STARTUP && process.env.QUICKBEAM_TRACE_STARTUP !== '0';
const marks = tracing ? (globalThis[MARKS] ??= []) : null;
const mark = (label) => marks?.push([label, performance.now()]);
mark('bin: start (node bootstrap before this)');

const argv = process.argv.slice(2);
const dist = require('node:path').join(__dirname, '..', 'dist') + '/';
const bundleFile = dist + 'quickbeam.cjs';
const runBundleFile = dist + 'quickbeam-run.cjs';
const NEEDS_COMPILER = Symbol.for('quickbeam.needsCompiler');
const BUNDLE_HEADER = '// quickbeam-bundle 1 ';

function mtimeMs(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/** Loads a bundle and returns its exports, or null to fall back to dist/src. */
function loadBundle(file) {
  if (process.env.QUICKBEAM_NO_BUNDLE && process.env.QUICKBEAM_NO_BUNDLE !== '0') return null;
  const bundleTime = mtimeMs(file);
  if (bundleTime < 0 || bundleTime < mtimeMs(dist + 'src/cli/main.js')) return null; // absent or stale
  const source = readFileSync(file, 'utf8');
  if (!source.startsWith(BUNDLE_HEADER)) return null;
  const id = source.slice(BUNDLE_HEADER.length, source.indexOf('\n')).trim();
  return runBundle(file, source, id);
}

// -------------------------------------------------------------------------------------------------
// V8 code cache for the bundle

/** The checks for files that become code (src/trusted-file.cts), loaded on first use. */
let trustedFile;
const trusted = () => (trustedFile ??= require(dist + 'src/trusted-file.cjs'));

/**
 * Directories that may hold the code cache, preferred first. Either is used only when it passes trustedDir().
 * A generator: node:os is loaded only when the first place does not do.
 */
function* cacheDirs() {
  yield dist + 'v8-code-cache/';
  let tmp;
  try {
    tmp = require('node:os').tmpdir();
  } catch {
    return;
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  yield `${tmp}/quickbeam-${uid}/v8-code-cache/`;
}

/** 32-bit FNV-1a of a string, as 8 hex digits. */
function fnv1a(s) {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The cache is valid for one bundle (its id is a hash of its contents, written by scripts/bundle.mjs), one
 * Node/V8 build and one set of V8 flags (V8 rejects data made under other flags anyway: they get their own file).
 * `kind` is 'full' for a cache saved by a run that compiled a module, so that holds the compiler's bytecode, and
 * 'partial' for one saved by a run that loaded its module from run's code cache.
 */
function cacheName(bundle, id, kind) {
  const flags = `${process.execArgv.join(' ')}\0${process.env.NODE_OPTIONS ?? ''}`;
  return `${bundlePrefix(bundle)}${id}-node${process.version}-${process.arch}-${flags === '\0' ? 'default' : fnv1a(flags)}.${kind}.bin`;
}

/** Caches of the CLI bundle are named quickbeam-cli-ID-..., of the run bundle quickbeam-run-ID-... */
function bundlePrefix(bundle) {
  return bundle === runBundleFile ? 'quickbeam-run-' : 'quickbeam-cli-';
}

/** The best cache there is: `{ data, kind, file }`, or null. A file or directory that fails the checks is skipped. */
function readCache(bundle, id) {
  if (process.env.QUICKBEAM_CODE_CACHE === '0') return null;
  let trustedDir, readTrusted;
  try {
    ({ trustedDir, readTrusted } = trusted());
  } catch {
    return null; // a dist/ built before the helper existed: no cache rather than no bundle
  }
  for (const dir of cacheDirs()) {
    const d = trustedDir(dir);
    if (!d.ok) {
      if (!d.missing) mark(`bin: code cache directory ${dir} ignored: ${d.reason}`);
      continue;
    }
    for (const kind of ['full', 'partial']) {
      const name = cacheName(bundle, id, kind);
      const r = readTrusted(d, name);
      if (r.ok) return { data: r.data, kind, file: `${d.path}/${name}` };
      if (!r.missing) mark(`bin: code cache ignored: ${r.reason}`);
    }
  }
  return null;
}

function writeCache(bundle, id, kind, data) {
  const name = cacheName(bundle, id, kind);
  const prefix = bundlePrefix(bundle);
  const { trustedDir, writeTrusted } = trusted();
  for (const dir of cacheDirs()) {
    try {
      const d = trustedDir(dir, true); // created 0700
      if (!d.ok) continue;
      writeTrusted(d, name, data);
      // Caches of older bundles are of no use any more, nor is a partial one next to a full one.
      // (Names without a bundle prefix are from builds before the run bundle.)
      const partial = cacheName(bundle, id, 'partial');
      for (const f of readdirSync(d.path)) {
        if (!f.endsWith('.bin') || !(f.startsWith(prefix) || /^quickbeam-[0-9a-f]{16}-/.test(f))) continue;
        if (!f.startsWith(`${prefix}${id}-`) || (kind === 'full' && f === partial)) unlinkSync(`${d.path}/${f}`);
      }
      return true;
    } catch {
      /* try the next place */
    }
  }
  return false;
}

function runBundle(file, source, id) {
  const vm = require('node:vm');
  const cache = readCache(file, id);
  const cachedData = cache?.data;
  // The same wrapper as a CommonJS module, plus __qbLoaderImport for the bundle's dynamic imports (a vm.Script
  // has no import() of its own without an experimental option).
  const wrapper = `(function (exports, require, module, __filename, __dirname, __qbLoaderImport) {${source}\n})`;
  const script = new vm.Script(wrapper, { filename: file, cachedData });
  mark(`bin: ${file === runBundleFile ? 'run bundle' : 'bundle'} compiled (code cache ${cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'used'})`);
  const module = { exports: {} };
  const load = (spec) => import(new URL(spec, pathToFileURL(dist)).href);
  script.runInThisContext()(module.exports, createRequire(file), module, file, dist.slice(0, -1), load);
  mark('bin: bundle evaluated');
  // Saved after the command has run, so that the cache holds every function compiled on the way. Only a `run`
  // that succeeded saves: that is the start-up that matters, and a cache made by `--help` or by a run that
  // stopped at a missing file would hold little of it. A partial cache is replaced by the first run that
  // compiles a module.
  const saveCache = () => {
    if (argv[0] !== 'run' || process.env.QUICKBEAM_CODE_CACHE === '0') return;
    const facts = globalThis[Symbol.for('quickbeam.startupFacts')];
    const kind = facts?.compiled === true ? 'full' : 'partial';
    const have = cache === null || script.cachedDataRejected ? null : cache.kind;
    if (have === 'full' || (have === 'partial' && kind === 'partial')) return;
    if (cache !== null && script.cachedDataRejected) {
      try {
        unlinkSync(cache.file); // or it would be read, and rejected, first every time
      } catch {
        /* gone already, or not ours to remove */
      }
    }
    if (writeCache(file, id, kind, script.createCachedData())) mark(`bin: code cache saved (${kind})`);
  };
  return { exports: module.exports, saveCache };
}

// -------------------------------------------------------------------------------------------------

/** Whether this `run` starts from the full bundle (src/run-prescan.cts: fullBundleReason). */
function runNeedsFullBundle() {
  try {
    const why = require(dist + 'src/run-prescan.cjs').fullBundleReason(argv.slice(1));
    if (why !== null) mark(`bin: the full bundle for this run (${why})`);
    return why !== null;
  } catch {
    return false; // (an older dist/ without it: the run bundle hands the run over if it must)
  }
}

function tryLoadBundle(file) {
  try {
    return loadBundle(file);
  } catch (e) {
    if (process.env.QUICKBEAM_DEBUG) process.stderr.write(`quickbeam: not using ${file}: ${e?.stack ?? e}\n`);
    return null;
  }
}

async function start() {
  // (Every command but a compiling run starts from the run bundle: the others are modules of dist/src, loaded
  // when used, and `--version` or `--help` need none of the engine.)
  let loaded = argv[0] === 'run' && runNeedsFullBundle() ? null : tryLoadBundle(runBundleFile);
  if (loaded !== null) {
    try {
      return await runMain(loaded.exports.main, loaded);
    } catch (e) {
      if (e?.[NEEDS_COMPILER] !== true) throw e;
      mark(`bin: handed over to the full bundle (${e.message.replace(/^.*\((.*)\)$/, '$1')})`);
    }
  }
  loaded = tryLoadBundle(bundleFile);
  let main;
  if (loaded !== null) {
    main = loaded.exports.main;
  } else {
    const mainFile = dist + 'src/cli/main.js';
    if (mtimeMs(mainFile) < 0) {
      const root = require('node:path').join(__dirname, '..');
      process.stderr.write(`quickbeam: not built yet (dist/ is missing): run \`npm install\` in ${root}\n`);
      process.exit(1);
    }
    ({ main } = await import(pathToFileURL(mainFile).href));
    mark('bin: dist/src/cli/main.js imported');
  }
  await runMain(main, loaded);
}

/** Runs the CLI's main; a bundle's V8 code cache is saved after a command that succeeded (see runBundle). */
async function runMain(main, loaded) {
  const status = await main(argv);
  process.exitCode = status;
  if (status !== 0 || loaded === null) return;
  try {
    loaded.saveCache();
  } catch {
    /* the cache is an optimisation only */
  }
}

void start();
