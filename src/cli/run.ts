// `quickbeam run`: run a WASI command (or reactor), or invoke one export and print its results.

import { setGcHeapMax } from '../runtime/gc-heap.js';
import { Module, ModuleOptions, LAZY_THRESHOLD } from '../api/module.js';
import { Instance } from '../api/instance.js';
import { moduleInternals } from '../api/module.js';
import { CompileError, LinkError, RuntimeError } from '../errors.js';
import { Features } from '../decode/features.js';
import { ExternKind, ValType } from '../decode/types.js';
import { WASI } from '../wasi/index.js';
import { CliError } from './main.js';
import { setFuel } from '../runtime/interrupts.js';
import { parseFeatureFlag, readModuleBytes } from './load-module.js';
import { formatResultValue, parseArgValue, parseDirOption, parseEnvOption } from './values.js';
import { MAP_FILE_HELP, MapFileSpec, applyMapFiles, importedMemoryForMapFiles, memoryForMapFiles, parseMapFileOption } from './map-file-option.js';
import { startupFact, startupMark } from '../startup-trace.js';
import { compilerBundled, compilerNeeded } from './compiler-presence.js';
import { defaultCacheDir, leaveRunHint } from '../run-prescan.cjs';
import { usesWasiThreads, wasiThreadsImports, wasiThreadsSetup, type WasiThreadsContext } from './wasi-threads.js';

startupMark('run: command and engine modules evaluated');

export function runHelp(): string {
  return `Usage: quickbeam run [options] FILE [ARGS...]

Compile FILE (.wasm, or .wat text) and run it. A WASI command (exporting _start) runs with ARGS as its
argv (argv[0] is FILE); its exit code becomes quickbeam's. A reactor (_initialize) is initialised first.
A wasi-threads module (importing wasi thread-spawn and a shared memory) runs each thread in a Worker.

Options:
  --invoke NAME          call export NAME with ARGS (parsed as its i32/i64/f32/f64 parameters) and print
                         each result on its own line, instead of running _start
  --dir HOST[::GUEST]    give the guest access to host directory HOST, as GUEST (default: same path)
  --env NAME=VALUE       set a guest environment variable (repeatable)
  --no-FEATURE           disable a WebAssembly feature: memory64, multi-memory, table64, bulk-memory,
                         reference-types, multi-value, sign-ext, sat-float-to-int, extended-const
  --cache DIR            cache compiled code in DIR (default: $QUICKBEAM_CACHE_DIR, else
                         $XDG_CACHE_HOME/quickbeam or ~/.cache/quickbeam). A module compiled eagerly is
                         stored whole; one compiled lazily stores the functions it compiled when the
                         process exits, and each later run starts with those (and adds any new ones).
                         Entries are checksummed; a corrupt one is ignored and rewritten. DIR is kept
                         under $QUICKBEAM_CACHE_MAX_MB MiB (default 1024): the least recently used
                         entries go. Only entries no one else can have written are used: DIR must be
                         the user's and not writable by group or others (created 0700), and so must
                         each entry; otherwise the cache is ignored, with a message
  --no-cache             compile every time
  --lazy, --eager        compile functions on first call, or all up front (default: lazy for modules of
                         4 MiB or more)
  --compile-threads N    threads for compiling (default: every core, from 4 cores up, for eager compiles
                         of modules with 1 MiB of code or more, else 1; the code is the same for any N)
  --timeout MS           stop the guest with a trap after MS milliseconds (interrupt checks are compiled
                         into loop headers and function entries)
  --fuel N               stop the guest with a trap after N units of fuel (one per loop iteration and
                         function entry): a deterministic limit
  --gc-heap-max BYTES    most memory for GC objects (structs, arrays; default 1 GiB): beyond, a trap
${MAP_FILE_HELP}
  --unsafe-no-bounds-checks
                         TRUSTED CODE ONLY: compile loads/stores without bounds checks; a bad access
                         corrupts or crashes the host process
  --                     end of options (the rest is FILE and its arguments)

Exit status: the guest's exit code; 134 after a trap (the error and wasm backtrace go to stderr);
1 for a module that fails to load, compile or link; 2 for a bad command line.`;
}

interface RunOptions {
  invoke: string | null;
  dirs: Array<[host: string, guest: string]>;
  env: Record<string, string>;
  features: Partial<Features>;
  boundsChecks: boolean;
  timeoutMs: number | undefined;
  fuel: bigint | undefined;
  cache: string | undefined;
  noCache: boolean;
  lazy: boolean | undefined;
  threads: number | undefined;
  mapFiles: MapFileSpec[];
  file: string;
  args: string[];
}

function needValue(args: string[], i: number, opt: string): string {
  const v = args[i + 1];
  if (v === undefined) throw new CliError(`${opt} needs a value (see quickbeam run --help)`, 2);
  return v;
}

export function parseRunArgs(args: string[]): RunOptions {
  const o: RunOptions = { invoke: null, dirs: [], env: {}, features: {}, boundsChecks: true, timeoutMs: undefined, fuel: undefined, cache: undefined, noCache: false, lazy: undefined, threads: undefined, mapFiles: [], file: '', args: [] };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const eq = a.indexOf('=');
    const [name, inline] = a.startsWith('--') && eq > 0 ? [a.slice(0, eq), a.slice(eq + 1)] : [a, undefined];
    const value = (): string => (inline !== undefined ? inline : needValue(args, i++, name));
    switch (name) {
      case '--invoke':
        o.invoke = value();
        break;
      case '--dir':
        o.dirs.push(parseDirOption(value()));
        break;
      case '--env': {
        const v = value();
        const kv = parseEnvOption(v);
        if (kv === null) throw new CliError(`--env expects NAME=VALUE, got ${JSON.stringify(v)}`, 2);
        o.env[kv[0]] = kv[1];
        break;
      }
      case '--unsafe-no-bounds-checks':
        o.boundsChecks = false;
        break;
      case '--cache':
        o.cache = value();
        break;
      case '--no-cache':
        o.noCache = true;
        break;
      case '--lazy':
      case '--eager':
        o.lazy = name === '--lazy';
        break;
      case '--compile-threads': {
        const v = value();
        if (!/^[1-9]\d*$/.test(v)) throw new CliError(`--compile-threads expects a positive integer, got ${JSON.stringify(v)}`, 2);
        o.threads = Number(v);
        break;
      }
      case '--map-file':
        o.mapFiles.push(parseMapFileOption(value()));
        break;
      case '--timeout': {
        const v = value();
        if (!/^\d+$/.test(v)) throw new CliError(`--timeout expects milliseconds, got ${JSON.stringify(v)}`, 2);
        o.timeoutMs = Number(v);
        break;
      }
      case '--fuel': {
        const v = value();
        if (!/^\d+$/.test(v)) throw new CliError(`--fuel expects a non-negative integer, got ${JSON.stringify(v)}`, 2);
        o.fuel = BigInt(v);
        break;
      }
      case '--gc-heap-max': {
        const v = value();
        if (!/^[1-9]\d*$/.test(v)) throw new CliError(`--gc-heap-max expects a positive number of bytes, got ${JSON.stringify(v)}`, 2);
        setGcHeapMax(Number(v));
        break;
      }
      default:
        if (!parseFeatureFlag(a, o.features)) throw new CliError(`unknown option ${a} (see quickbeam run --help)`, 2);
    }
  }
  if (i >= args.length) throw new CliError('missing FILE (see quickbeam run --help)', 2);
  o.file = args[i];
  o.args = args.slice(i + 1);
  return o;
}

let warnedUntrustedCache = false;

/** Once per process: the code cache was not used (nor written) because someone else could have written it. */
function warnUntrustedCache(dir: string, reason: string | undefined): void {
  if (warnedUntrustedCache) return;
  warnedUntrustedCache = true;
  process.stderr.write(`quickbeam: ignoring code cache ${dir}: ${reason ?? 'not private to this user'}\n`);
}

/** A trap, printed like wasmtime: what failed, then the error with its wasm backtrace. */
function reportTrap(file: string, e: Error): number {
  const stack = typeof e.stack === 'string' ? e.stack : `${e.name}: ${e.message}`;
  // Keep the error line and the wasm frames; drop JS frames of the engine itself.
  const lines = stack.split('\n').filter((l, k) => k === 0 || /wasm-function\[/.test(l));
  process.stderr.write(`Error: failed to run ${file}\n\nCaused by:\n    ${lines.join('\n    ')}\n`);
  return 134;
}

export async function runCommand(argv: string[]): Promise<number> {
  const o = parseRunArgs(argv);
  const bytes = await readModuleBytes(o.file);
  startupMark(`run: read ${o.file} (${bytes.length} bytes)`);
  // The code cache is on by default: a second run skips compilation. Modules of LAZY_THRESHOLD or more compile
  // lazily, and their entry holds the functions compiled so far (written at exit): measured on yosys (31 MB),
  // compiling it all up front on 2 threads and storing it makes the first run ~1.9x the CPU of a lazy one,
  // while a run from the lazy entry is as fast as one from a full entry (see docs/ARCHITECTURE.md).
  const cache = o.noCache ? undefined : (o.cache ?? defaultCacheDir());
  const lazy = o.lazy ?? (cache !== undefined && bytes.length >= LAZY_THRESHOLD ? true : undefined);
  const options: ModuleOptions = { features: o.features, boundsChecks: o.boundsChecks, timeoutMs: o.timeoutMs, fuel: o.fuel !== undefined, cache, lazy, threads: o.threads };
  // The run bundle (compiler-presence.ts) hands over before doing anything visible when it will need the compiler
  // (bin/quickbeam.js does not start it for such runs, but another caller might).
  if (!compilerBundled && (cache === undefined || lazy === true)) throw compilerNeeded(cache === undefined ? 'no code cache' : 'lazy');
  if (o.fuel !== undefined) setFuel(o.fuel);
  let module: Module;
  try {
    module = new Module(bytes, options);
  } catch (e) {
    if (e instanceof CompileError) throw new CliError(`${o.file}: CompileError: ${e.message}`);
    throw e;
  }
  const { info, cacheStatus, cacheReason, native } = moduleInternals(module);
  if (!compilerBundled && native.lazy !== null) throw compilerNeeded('a lazily compiled entry');
  if (cacheStatus === 'untrusted') warnUntrustedCache(cache!, cacheReason);
  const compiled = cacheStatus !== 'hit';
  // The module's code is in the cache now: the next run may start from the run bundle (not a lazily compiled
  // one: it may compile at run time, so it always starts from the full bundle).
  const stored = cacheStatus === 'hit' || cacheStatus === 'absent' || cacheStatus === 'stale' || cacheStatus === 'corrupt';
  if (cache !== undefined && stored && native.lazy === null) leaveRunHint(cache, o.file);
  startupFact('compiled', compiled);
  startupMark(`run: ${compiled ? 'compiled' : 'loaded from the code cache'} (${info.funcTypes.length - info.numImportedFuncs} functions)`);
  const preopens: Record<string, string> = {};
  for (const [host, guest] of o.dirs) preopens[guest] = host;
  let wasi: WASI;
  try {
    wasi = new WASI({ args: [o.file, ...o.args], env: o.env, preopens, returnOnExit: true });
  } catch (e) {
    throw new CliError(`cannot set up WASI: ${(e as Error).message}`);
  }
  const imports: Record<string, unknown> = { ...wasi.getImportObject() };
  // wasi-threads: the shared memory the module imports, and thread-spawn (wasi-threads.ts)
  let threadsMemory: unknown = null;
  if (usesWasiThreads(info)) {
    let ctx: WasiThreadsContext;
    try {
      ctx = wasiThreadsSetup(module, info, { args: [o.file, ...o.args], env: o.env, preopens });
    } catch (e) {
      throw new CliError(`${o.file}: ${(e as Error).message}`);
    }
    threadsMemory = ctx.memory;
    imports.wasi = wasiThreadsImports(ctx);
    imports[ctx.memoryModule] = { ...(imports[ctx.memoryModule] as object), [ctx.memoryName]: ctx.memory };
  }
  startupMark('run: WASI set up');
  // --map-file: a memory the module imports is created here, sized for the mappings.
  const imported = o.mapFiles.length > 0 ? importedMemoryForMapFiles(info, o.mapFiles) : null;
  if (imported !== null) imports[imported.module] = { ...(imports[imported.module] as object), [imported.name]: imported.memory };
  for (const imp of info.imports) {
    if (!(imp.module in imports)) {
      throw new CliError(`${o.file}: unknown import "${imp.module}" "${imp.name}" (quickbeam run provides only wasi_snapshot_preview1)`);
    }
  }
  let instance: Instance;
  try {
    instance = new Instance(module, imports);
  } catch (e) {
    if (e instanceof LinkError || e instanceof TypeError) throw new CliError(`${o.file}: ${e.name}: ${e.message}`);
    if (e instanceof RuntimeError || e instanceof RangeError) return reportTrap(o.file, e);
    throw e;
  }
  const exports = instance.exports as Record<string, unknown>;
  startupMark('run: instantiated');
  if (o.mapFiles.length > 0) {
    const mem = imported?.memory ?? memoryForMapFiles(exports);
    if (mem === null) throw new CliError(`${o.file}: --map-file needs a module that exports or imports a memory`);
    applyMapFiles(mem, o.mapFiles);
  }
  try {
    if (o.invoke === null) {
      const usesWasi = info.imports.some((i) => i.module === 'wasi_snapshot_preview1');
      if (typeof exports['_start'] === 'function') {
        // (a wasi-threads module may import its memory without exporting it)
        if (usesWasi && threadsMemory !== null && exports['memory'] === undefined) {
          return wasi.start({ exports: { _start: exports['_start'], memory: threadsMemory } });
        }
        if (usesWasi) return wasi.start(instance);
        (exports['_start'] as () => void)();
        return 0;
      }
      if (typeof exports['_initialize'] === 'function') {
        wasi.initialize(instance);
        return 0;
      }
      throw new CliError(`${o.file}: the module exports no _start function; use --invoke NAME to call an export`);
    }
    if (typeof exports['_initialize'] === 'function') wasi.initialize(instance);
    const exp = info.exports.find((x) => x.name === o.invoke);
    if (exp === undefined || exp.kind !== ExternKind.Func) throw new CliError(`${o.file}: no exported function named ${JSON.stringify(o.invoke)}`);
    const type = info.types[info.funcTypes[exp.index]];
    if (o.args.length !== type.params.length) {
      throw new CliError(`--invoke ${o.invoke}: expects ${type.params.length} argument(s), got ${o.args.length}`, 2);
    }
    const callArgs = type.params.map((t, k) => {
      try {
        return parseArgValue(o.args[k], t);
      } catch (e) {
        throw new CliError(`--invoke ${o.invoke}: ${(e as Error).message}`, 2);
      }
    });
    const result = (exports[o.invoke] as (...a: unknown[]) => unknown)(...callArgs);
    const values = type.results.length === 1 ? [result] : type.results.length === 0 ? [] : (result as unknown[]);
    values.forEach((v, k) => console.log(formatResultValue(v, type.results[k])));
    return 0;
  } catch (e) {
    if (e instanceof CliError) throw e;
    if (e instanceof RuntimeError || (e instanceof RangeError && /call stack/.test(e.message))) return reportTrap(o.file, e);
    throw e;
  }
}
