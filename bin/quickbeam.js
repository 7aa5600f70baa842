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
// machine-code cache: only a file owned by this user, in a directory private to this user, is ever used
// (dist/src/bundle-cache.cjs loads a bundle this way; the package entry loads the library's bundle with it too).
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
const { pathToFileURL } = require('node:url');
const { statSync } = require('node:fs');

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

function mtimeMs(file) {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * Loads a bundle through its V8 code cache (dist/src/bundle-cache.cjs): `{ exports, saveCache }`, or null to fall
 * back to dist/src (no bundle, a stale one, or a dist/ built before the loader existed).
 */
function loadBundle(file) {
  if (process.env.QUICKBEAM_NO_BUNDLE && process.env.QUICKBEAM_NO_BUNDLE !== '0') return null;
  const bundleTime = mtimeMs(file);
  if (bundleTime < 0 || bundleTime < mtimeMs(dist + 'src/cli/main.js')) return null; // absent or stale
  const [prefix, label] = file === runBundleFile ? ['quickbeam-run-', 'run bundle'] : ['quickbeam-cli-', 'bundle'];
  const loaded = require(dist + 'src/bundle-cache.cjs').loadBundle(file, dist.slice(0, -1), prefix, label, (m) => mark(`bin: ${m}`));
  if (loaded !== null) mark('bin: bundle evaluated');
  return loaded;
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
  // Only a `run` that succeeded saves: that is the start-up that matters, and a cache made by `--help` or by a run
  // that stopped at a missing file would hold little of it.
  if (status !== 0 || loaded === null || argv[0] !== 'run') return;
  try {
    const kind = loaded.saveCache();
    if (kind !== null) mark(`bin: code cache saved (${kind})`);
  } catch {
    /* the cache is an optimisation only */
  }
}

void start();
