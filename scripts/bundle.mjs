#!/usr/bin/env node
// Second step of `npm run build` (after tsc): one-file bundles of dist/src, which load much faster than its
// ~50 ES modules (Node resolves, reads and compiles each module separately):
//   dist/quickbeam.cjs        the CLI, with the `run` command and the whole engine it needs: bin/quickbeam.js
//                             loads it through V8's code cache (see there)
//   dist/quickbeam-lib.cjs    the library (dist/src/index.js) as one CommonJS file, which the package entry loads
//                             through V8's code cache (src/bundle-cache.cts), as bin does the CLI's
//   dist/quickbeam.mjs        the library as an ES module (the entry's fallback)
//   dist/quickbeam-entry.mjs  the package entry: re-exports dist/quickbeam-lib.cjs, else dist/quickbeam.mjs, or
//                             dist/src/index.js when the bundles are older than it (a plain `tsc` rebuild since)
//   dist/quickbeam-compile-worker.mjs
//                             the compile worker (src/compile/compile-worker.ts): a worker starts faster
//                             from one file (compile-pool.ts falls back to dist/src when it is older)
//
//   node scripts/bundle.mjs          (needs the `esbuild` dev dependency; without it this says so and exits 0:
//                                     bin/quickbeam.js then runs dist/src as before)
//
// What the CLI bundle does differently from dist/src, and how this keeps behaviour identical:
// - Modules are evaluated lazily, when first imported, as in ESM: `quickbeam --version` evaluates none of the
//   engine. External modules (node:*, koffi, wabt) become require() calls inside those lazy initialisers.
// - `import.meta.url` of each module is replaced by that module's own URL in dist/src (computed at run time
//   from the bundle's location), so every path computed from it is unchanged.
// - The other subcommands (compile, compare, spectest) stay separate modules, loaded from dist/src/cli when
//   used: compare and spectest start child processes and workers from their own files.
// - Dynamic import() calls go through __qbLoaderImport when bin/quickbeam.js provides it (a vm.Script has no
//   import() of its own), else through import() (a plain require() of the bundle).

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const entry = path.join(dist, 'src', 'cli', 'main.js');
const outFile = path.join(dist, 'quickbeam.cjs');
const runFile = path.join(dist, 'quickbeam-run.cjs');
const libEntry = path.join(dist, 'src', 'index.js');
const libFile = path.join(dist, 'quickbeam.mjs');
const libEntryFile = path.join(dist, 'quickbeam-entry.mjs');
const workerEntry = path.join(dist, 'src', 'compile', 'compile-worker.js');
const workerFile = path.join(dist, 'quickbeam-compile-worker.mjs');
/** The bundles' first line, before their id: the loader's own constant (tsc has built it by now). */
const HEADER = createRequire(import.meta.url)('../dist/src/bundle-cache.cjs').BUNDLE_HEADER;
/** Dynamic imports of main.js that are bundled; the others (commands) stay separate modules. */
const BUNDLED_COMMANDS = new Set(['./run.js']);

let esbuild;
try {
  esbuild = await import('esbuild');
} catch {
  console.log('bundle: esbuild is not installed; skipping dist/quickbeam.cjs (bin/quickbeam.js uses dist/src)');
  process.exit(0);
}
for (const f of [entry, libEntry]) {
  try {
    statSync(f);
  } catch {
    console.error(`bundle: ${path.relative(root, f)} is missing: run tsc first`);
    process.exit(1);
  }
}

const toPosix = (p) => p.split(path.sep).join('/');

// dist/build-id: a hash of every compiled source, part of the machine-code cache's key (src/compile/code-cache.ts),
// so that entries made by another build of the compiler are never taken for this one's.
{
  const h = createHash('sha256');
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js') || e.name.endsWith('.cjs')) h.update(toPosix(path.relative(dist, p))).update('\0').update(readFileSync(p)).update('\0');
    }
  };
  walk(path.join(dist, 'src'));
  writeFileSync(path.join(dist, 'build-id'), `${h.digest('hex').slice(0, 16)}\n`);
}

const plugin = {
  name: 'quickbeam',
  setup(b) {
    // Commands other than `run`: external, imported from dist/src/cli at run time.
    b.onResolve({ filter: /^\.\/[\w-]+\.js$/ }, (args) => {
      if (args.kind !== 'dynamic-import' || args.importer !== entry || BUNDLED_COMMANDS.has(args.path)) return undefined;
      return { path: `./src/cli/${args.path.slice(2)}`, external: true };
    });
    // import.meta.url -> the module's own URL under dist/.
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(dist + path.sep)) return undefined;
      let contents = readFileSync(args.path, 'utf8');
      const rel = toPosix(path.relative(dist, args.path));
      contents = contents.replace(/\bimport\.meta\.url\b/g, `__qbModuleUrl(${JSON.stringify(rel)})`);
      if (/\bimport\.meta\b/.test(contents)) throw new Error(`${rel}: import.meta other than import.meta.url is not supported by the bundle`);
      return { contents, loader: 'js' };
    });
  },
};

/** Write `text` to `file` atomically (readers never see a partial file). */
function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
const kib = (s) => `${(s.length / 1024).toFixed(0)} KiB`;

/**
 * esbuild declares an ES bundle's top-level bindings with `var` (its `const`, `let` and `class` too: that spares
 * the interpreter TDZ checks), and V8's optimising compiler reloads and rechecks a `var` from the module context
 * at every use, while it folds a `const` into the code: the compiler's hot paths use hundreds of them (registers,
 * value kinds, opcode tables, classes). This declares `const` again every top-level `var` whose name is assigned
 * nowhere else (any other assignment to the name, shadowing locals included, keeps its `var`). Measured: warm
 * sqlite.wasm32 compile 532 -> 509 M instructions (bench/compile-instructions.mjs).
 */
function constTopLevel(code) {
  const writes = new Map();
  const count = (name) => writes.set(name, (writes.get(name) ?? 0) + 1);
  for (const m of code.matchAll(/(?:^|[^\w$.])([A-Za-z_$][\w$]*)\s*(?:[-+*/%&|^]|<<|>>>?|\*\*|&&|\|\||\?\?)?=(?![=>])/gm)) count(m[1]);
  for (const m of code.matchAll(/(?:^|[^\w$.])([A-Za-z_$][\w$]*)\s*(?:\+\+|--)|(?:\+\+|--)\s*([A-Za-z_$][\w$]*)/gm)) count(m[1] ?? m[2]);
  let converted = 0;
  let out = code.replace(/^var ([A-Za-z_$][\w$]*) = /gm, (whole, name) => {
    if (writes.get(name) !== 1) return whole; // (1: the declaration itself)
    converted++;
    return `const ${name} = `;
  });
  // Top-level functions likewise (a call of a `function` declaration reloads it and checks it is still the same
  // function), but only those declared before any mention of their name, so that nothing can reach one before its
  // declaration has run (a function declaration is hoisted, a const is not), assigned nowhere, and whose body ends
  // at the first line that is a lone `}` (esbuild indents everything inside; that line gets the const's `;`).
  const lines = out.split('\n');
  let offset = 0;
  const lineStart = lines.map((l) => { const o = offset; offset += l.length + 1; return o; });
  for (let i = 0; i < lines.length; i++) {
    const m = /^function ([A-Za-z_$][\w$]*)\(/.exec(lines[i]);
    if (m === null || writes.has(m[1]) || lines[i].endsWith('}')) continue;
    let j = i + 1;
    while (j < lines.length && lines[j] !== '}' && !/^\S/.test(lines[j])) j++;
    if (j >= lines.length || lines[j] !== '}') continue;
    const first = new RegExp(`(?<![\\w$.])${m[1].replace(/\$/g, '\\$')}(?![\\w$])`).exec(out);
    if (first === null || first.index !== lineStart[i] + 'function '.length) continue;
    lines[i] = `const ${m[1]} = ${lines[i]}`;
    lines[j] = '};';
    converted++;
  }
  out = lines.join('\n');
  return { code: out, converted };
}

// ------------------------------------------------------------------------------------------------- the CLI
const cliBanner = [
  '"use strict";', // the sources are ES modules: strict mode (esbuild's own "use strict" comes after this)
  'var __qbDistUrl = require("node:url").pathToFileURL(__dirname + "/").href;',
  'function __qbModuleUrl(p) { return __qbDistUrl + p; }',
  'var __qbImport = typeof __qbLoaderImport === "function" ? __qbLoaderImport : (s) => import(s);',
].join('\n');

/**
 * Bundles `from` (the CLI's main, or the library's index) into `file` as CommonJS (plugins first: the run
 * bundle's stubs), rewrites its dynamic imports to __qbImport (checking that none bypasses it) and writes it
 * with its header and id, once `check(metafile)` (if any) has not thrown. Returns the metafile.
 */
async function writeCjsBundle(file, from, plugins, check) {
  const built = await esbuild.build({
    entryPoints: [from],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    outfile: file,
    metafile: true,
    external: ['koffi', 'wabt'],
    plugins: [...plugins, plugin],
    logLevel: 'warning',
    legalComments: 'none',
    banner: { js: cliBanner },
  });
  check?.(built.metafile);
  let code = built.outputFiles[0].text;
  // Every dynamic import must go through __qbImport: count them, rewrite them, and check that none is left.
  const externals = code.match(/\bimport\("\.\/src\/cli\/[\w-]+\.js"\)/g) ?? [];
  code = code.replace(/\bimport\(("\.\/src\/cli\/[\w-]+\.js")\)/g, '__qbImport($1)');
  const leftover = [...code.matchAll(/\bimport\s*\(/g)].filter((m) => !code.startsWith('import(s)', m.index));
  if (leftover.length > 0) {
    const at = leftover[0].index;
    throw new Error(`bundle: an import() that bypasses __qbImport is left in ${path.basename(file)}: ${code.slice(at, at + 60)}`);
  }
  if (from === entry && externals.length === 0) throw new Error('bundle: found none of the external command imports (main.js changed?)');
  // (The library's top-level bindings, as in its ES bundle; the CLI's are assigned inside esbuild's lazy module
  // initialisers, which constTopLevel leaves alone.)
  if (from === libEntry) code = constTopLevel(code).code;
  const id = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const out = `${HEADER}${id}\n// Generated by scripts/bundle.mjs from dist/src (do not edit; \`npm run build\` rebuilds it).\n${code}`;
  writeAtomic(file, out);
  console.log(`bundle: ${path.relative(root, file)} (${kib(out)}, id ${id})`);
  return built.metafile;
}

await writeCjsBundle(outFile, entry, []);

// ------------------------------------------------------------------------------------- the run bundle
// dist/quickbeam-run.cjs: the CLI without the compiler, where every command but a compiling run starts
// (src/cli/compiler-presence.ts). The
// compiler's entry points become stubs that throw compilerNeeded(); esbuild then leaves out everything only they
// reach. A stub is generated from the module's declarations, so a new export cannot be missed: an import of a
// name the stub lacks fails this build.
const COMPILER_ENTRIES = ['compile/module-compiler.js', 'compile/lazy-compiler.js', 'api/native-validator.js'];
const presence = path.join(dist, 'src', 'cli', 'compiler-presence.js');
const runtimeExports = (jsFile) => {
  const dts = readFileSync(jsFile.replace(/\.js$/, '.d.ts'), 'utf8');
  return [...dts.matchAll(/^export declare (?:function|class|const|let) ([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
};
const stubSource = (rel) => {
  const file = path.join(dist, 'src', rel);
  const lines = [`import { compilerNeeded } from ${JSON.stringify(presence)};`];
  for (const name of runtimeExports(file)) {
    // Works as a function and as a class: both are called or constructed only to compile.
    lines.push(`export function ${name}() { throw compilerNeeded(${JSON.stringify(`${rel.split('/').pop()}: ${name}`)}); }`);
  }
  return lines.join('\n');
};
const runPlugin = {
  name: 'quickbeam-run',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      const rel = toPosix(path.relative(path.join(dist, 'src'), args.path));
      if (COMPILER_ENTRIES.includes(rel)) return { contents: stubSource(rel), loader: 'js', resolveDir: path.dirname(args.path) };
      if (args.path === presence) {
        const real = readFileSync(presence, 'utf8');
        if (!/export const compilerBundled = true;/.test(real)) throw new Error('bundle: compiler-presence.js changed: update scripts/bundle.mjs');
        return { contents: real.replace('export const compilerBundled = true;', 'export const compilerBundled = false;'), loader: 'js' };
      }
      return undefined;
    });
  },
};
await writeCjsBundle(runFile, entry, [runPlugin], (meta) => {
  const leaked = Object.keys(Object.values(meta.outputs)[0].inputs).filter((f) => /compile\/(function-compiler|validate-body|value-stack|batch-compiler)\.js$/.test(f));
  if (leaked.length > 0) throw new Error(`bundle: the run bundle reaches the compiler through ${leaked.join(', ')}`);
});

// --------------------------------------------------------------------------------------------- the library
const lib = await esbuild.build({
  entryPoints: [libEntry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  write: false,
  outfile: libFile,
  metafile: true,
  external: ['koffi', 'wabt'],
  plugins: [plugin],
  logLevel: 'warning',
  legalComments: 'none',
  banner: {
    js: [
      'const __qbDistUrl = new URL("./", import.meta.url).href;',
      'function __qbModuleUrl(p) { return __qbDistUrl + p; }',
      // CommonJS sources (src/*.cts) require Node built-ins; esbuild's ES output calls the `require` in scope.
      'import { createRequire as __qbCreateRequire } from "node:module";',
      'const require = __qbCreateRequire(import.meta.url);',
    ].join('\n'),
  },
});
const libConsts = constTopLevel(lib.outputFiles[0].text);
const libCode = `// Generated by scripts/bundle.mjs from dist/src (do not edit; \`npm run build\` rebuilds it).\n${libConsts.code}`;
const names = Object.values(lib.metafile.outputs)[0].exports.filter((n) => n !== 'default').sort();
if (names.some((n) => !/^[A-Za-z_$][\w$]*$/.test(n))) throw new Error(`bundle: unexpected export names ${names.join(', ')}`);
const libCjsFile = path.join(dist, 'quickbeam-lib.cjs');
const libCjsMeta = await writeCjsBundle(libCjsFile, libEntry, []);
const cjsNames = Object.values(libCjsMeta.outputs)[0].exports;
if (cjsNames.length > 0) throw new Error(`bundle: quickbeam-lib.cjs should export through module.exports, not ${cjsNames.join(', ')}`);
const entryCode = `// Generated by scripts/bundle.mjs (do not edit): the package entry. It loads the library from the one-file
// bundle ./quickbeam-lib.cjs through V8's code cache (./src/bundle-cache.cjs: bytecode instead of parsing ~0.7 MB
// of source; the cache is saved when the process exits, by a process that had none or only one made without
// compiling), else from ./quickbeam.mjs (about 20 ms faster to import than the ES modules of ./src), or from
// ./src/index.js when the bundles are older (dist/src rebuilt by a plain tsc since).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { statSync } = require('node:fs');
const here = new URL('./', import.meta.url);
const mtime = (file) => {
  try {
    return statSync(new URL(file, here)).mtimeMs;
  } catch {
    return -1;
  }
};
const srcTime = mtime('./src/index.js');
const marks = process.env.QUICKBEAM_TRACE_STARTUP && process.env.QUICKBEAM_TRACE_STARTUP !== '0' ? (globalThis[Symbol.for('quickbeam.startupMarks')] ??= []) : null;
const mark = (label) => marks?.push([\`entry: \${label}\`, performance.now()]);
let m = null;
if (mtime('./quickbeam-lib.cjs') >= srcTime && mtime('./src/bundle-cache.cjs') >= 0 && !(process.env.QUICKBEAM_NO_BUNDLE && process.env.QUICKBEAM_NO_BUNDLE !== '0')) {
  let loaded = null;
  // (Registered before the bundle runs, so that it runs before the startup trace is printed at exit. Workers use
  // the main thread's cache, and node:worker_threads is loaded only to ask that at exit: it costs ~3 ms to load.
  // A failure to save costs only the next process's time.)
  process.once('exit', () => {
    try {
      if (loaded === null || loaded.cacheUsed === 'full' || !require('node:worker_threads').isMainThread) return;
      const kind = loaded.saveCache();
      if (kind !== null) mark(\`code cache saved (\${kind})\`);
    } catch {}
  });
  try {
    const dir = decodeURIComponent(here.pathname).replace(/\\/$/, '');
    loaded = require('./src/bundle-cache.cjs').loadBundle(\`\${dir}/quickbeam-lib.cjs\`, dir, 'quickbeam-lib-', 'library bundle', mark);
    m = loaded?.exports ?? null;
  } catch (e) {
    if (process.env.QUICKBEAM_DEBUG) process.stderr.write(\`quickbeam: not using quickbeam-lib.cjs: \${e?.stack ?? e}\\n\`);
    m = null;
  }
}
m ??= await import(mtime('./quickbeam.mjs') >= srcTime ? './quickbeam.mjs' : './src/index.js');
export default m.default;
export const { ${names.join(', ')} } = m;
`;
writeAtomic(libFile, libCode);
writeAtomic(libEntryFile, entryCode);
console.log(`bundle: ${path.relative(root, libFile)} (${kib(libCode)}) and ${path.relative(root, libEntryFile)}`);

// --------------------------------------------------------------------------------------- the compile worker
const worker = await esbuild.build({
  entryPoints: [workerEntry],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  write: false,
  outfile: workerFile,
  plugins: [plugin],
  logLevel: 'warning',
  legalComments: 'none',
  banner: {
    js: [
      'const __qbDistUrl = new URL("./", import.meta.url).href;',
      'function __qbModuleUrl(p) { return __qbDistUrl + p; }',
    ].join('\n'),
  },
});
const workerCode = `// Generated by scripts/bundle.mjs from dist/src (do not edit; \`npm run build\` rebuilds it).\n${constTopLevel(worker.outputFiles[0].text).code}`;
if (/\bkoffi\b/.test(workerCode)) throw new Error('bundle: the compile worker must not load the native layer (koffi)');
writeAtomic(workerFile, workerCode);
console.log(`bundle: ${path.relative(root, workerFile)} (${kib(workerCode)})`);
