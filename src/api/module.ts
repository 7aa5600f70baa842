// WebAssembly.Module: compile once (validation + machine code in one pass), instantiate many times.
// The module's machine code is position independent and shared by all its instances.

import { compileModule, CompiledModule, CompileOptions } from '../compile/module-compiler.js';
import { LazyCode } from './lazy-code.js';
import { copyBytes } from '../runtime/native.js';
import { allocBlock, lastBlockAddress } from '../runtime/small-blocks.js';
import { cacheKey, LazyFunctions, loadCached, storeCached, storeLazyCached } from '../compile/code-cache.js';
import { Features, resolveFeatures } from '../decode/features.js';
import { ExternKind, ModuleInfo, ValType } from '../decode/types.js';
import { CompileError } from '../errors.js';
import { allocateCode, CodeBlock, CodeReservation, reserveCode } from '../runtime/code-memory.js';
import { perfMapAdd, perfMapEnabled } from '../runtime/perf-map.js';
import { DISPOSE, releaseWhenIdle } from '../runtime/lifetime.js';
import { startupFact, startupMark } from '../startup-trace.js';
import { webIdlInterface } from './webidl.js';
import { prepareNativeValidator } from './native-validator.js';

export interface ModuleOptions {
  features?: Partial<Features>;
  /**
   * UNSAFE trusted mode when false: memory accesses are not bounds-checked, so a buggy or hostile module can
   * read and write the host process. Default true.
   */
  boundsChecks?: boolean;
  /** Compile interrupt checks into loop headers and prologues, so `interrupt()` and timeouts can stop it. */
  interruptible?: boolean;
  /** Stop any call into this module's exports after this many milliseconds ("execution interrupted"). */
  timeoutMs?: number;
  /** Compile fuel metering: each loop iteration and function entry costs one unit of `setFuel()`. */
  fuel?: boolean;
  /**
   * A directory for the compiled-code cache: a module compiled before (same bytes, options, Quickbeam
   * version and CPU) is loaded from there instead of compiled. Corrupt or stale entries are ignored, and so
   * is a directory or entry that someone other than this user could have written (see trusted-file.cts).
   * A lazily compiled module's entry holds the functions compiled so far, written when the process exits (and
   * again by each later process that compiles more of them). The directory is kept under a size limit (least
   * recently used entries go: compile/cache-prune.ts).
   */
  cache?: string;
  /**
   * Use `cache` only for modules of at least this many bytes: smaller ones compile as without it (for them a
   * compile costs little more than an entry, and an application that makes many small modules does not fill
   * the cache). Default 0: every module. (quickbeam/register's default cache uses 1 MiB.)
   */
  cacheMinBytes?: number;
  /**
   * Compile each function on its first call (validation stays eager and exact). Default: lazy for modules
   * of LAZY_THRESHOLD bytes or more, with or without `cache`, as `quickbeam run` does (most of a big module's
   * functions never run; an entry holds those that did).
   */
  lazy?: boolean;
  /**
   * Threads for an eager compile (the calling thread included): 1 compiles on the calling thread only.
   * Default: every available core (from 4 cores up) for eager compiles of modules with at least
   * PARALLEL_MIN_BYTES of code, else 1 (also for a lazy module's validation). The
   * machine code is the same whatever the count.
   */
  threads?: number;
  /** Testing: wasm bytes per compile batch (small values make the linker join more pieces). */
  batchBytes?: number;
}

export { LAZY_THRESHOLD } from '../run-prescan.cjs';
import { LAZY_THRESHOLD } from '../run-prescan.cjs';

const INTERNAL = Symbol('quickbeam.module');
/** `new Module(FROM_CODE, options)` with `pendingCode` set: a Module over code that exists already. */
const FROM_CODE = Symbol('quickbeam.module.fromCode');
let pendingCode: { compiled: CompiledModule; code: CodeBlock } | null = null;

/** A Module over compiled code and its CodeBlock (module-transfer.ts: code received from another thread). */
export function moduleFromCode(compiled: CompiledModule, code: CodeBlock, options: ModuleOptions | undefined): Module {
  pendingCode = { compiled, code };
  try {
    return new Module(FROM_CODE, options);
  } finally {
    pendingCode = null;
  }
}
const DISPOSED = Symbol('quickbeam.module.disposed');

/** Options every Module gets unless it passes its own (quickbeam/register sets them from the environment). */
let moduleDefaults: ModuleOptions | null = null;

/**
 * Default options for every Module created from now on (fields given to `new Module(bytes, options)` win;
 * `features` merge field by field). null or {} clears them.
 */
export function setModuleDefaults(options: ModuleOptions | null): void {
  moduleDefaults = options === null || Object.keys(options).length === 0 ? null : { ...options, features: options.features && { ...options.features } };
}

export function getModuleDefaults(): ModuleOptions {
  return { ...moduleDefaults };
}

/** `options` over the defaults. */
export function withModuleDefaults(options: ModuleOptions | undefined): ModuleOptions | undefined {
  const d = moduleDefaults;
  if (d === null) return options;
  if (options === undefined || options === null) return d;
  const features = d.features === undefined ? options.features : { ...d.features, ...options.features };
  return { ...d, ...options, features };
}

export interface ModuleInternals {
  /** Deadline for every outermost call into the module's exports (undefined: none). */
  timeoutMs: number | undefined;
  /**
   * What the code cache did for this module: 'hit', a miss reason, 'unwritable', or 'off'. 'untrusted': the
   * entry or the cache directory could have been written by someone other than this user, so it was not used
   * (and an untrusted directory is not written either): see cacheReason.
   */
  cacheStatus: 'off' | 'hit' | 'absent' | 'corrupt' | 'stale' | 'untrusted' | 'unwritable';
  /** Why the cache was not trusted, e.g. "directory is writable by group and others (mode 0777)". */
  cacheReason?: string;
  compiled: CompiledModule;
  code: CodeBlock;
  /** Lazy modules: address of the code-slot table (else 0). */
  codeSlots: number;
  /** Which defined memories the module exports (instance.ts: exportedMemories; computed on first use). */
  exportedMemories?: number;
  /** Whether its struct or array types have fields in the func hierarchy (instance.ts: such instances are pinned). */
  gcFuncRefFields?: boolean;
  /** The module's code and code slots (see moduleRegistry for the few that need a finalizer). */
  native: NativeParts;
  info: ModuleInfo;
  /**
   * Holds on the code: the Module object until it is disposed, and each instance until it is. The code is
   * released when the last one goes (dropModuleHold); a holder merely dropped keeps it until the GC.
   */
  holds: number;
}

/** A module's native resources: the code, the lazily compiled code, the slot table. */
interface NativeParts {
  code: CodeBlock;
  /** Lazy modules: the code-slot table (GC-owned memory; every instance's vmctx points at it). */
  slots: Uint32Array | null;
  lazy: LazyCode | null;
  /** A lazily compiled module with a code cache: where its entry goes (see storeLazyModules). */
  cache?: { dir: string; key: string; compiled: CompiledModule; snapshot?: Uint8Array };
}

// The owner of a module's native resources is its ModuleInternals, not the Module object: every instance
// holds the internals (its code runs from them and its vmctx points at the slot table), while the Module
// object may be dropped as soon as instantiate() returns (Go's wasm_exec keeps only the instance).
// Compiled code, lazily compiled code and the slot table are GC-owned memory (code-memory.ts): the GC frees
// them with the internals, whatever the embedder's loop; so is a code-cache hit's code, read into code memory
// or mapped from the entry over a GC-owned reservation (runtime/mapped-code.ts). Only a lazily compiled module
// with a cache needs a finalizer (it writes its entry first), and a mapped hit where resizable ArrayBuffers
// are missing. Nothing held by the finalizer may refer back to the internals.
const moduleRegistry = new FinalizationRegistry<NativeParts>((p) => {
  if (p.cache !== undefined) {
    storeLazyModule(p);
    lazyCached.delete(p);
  }
  p.code.free();
});

// Lazily compiled modules with a code cache write their entry (the functions compiled by this process and by
// those before it) when the process exits, or before their code is freed if they are collected first, so that
// the next process starts with those functions. (These native parts are held by moduleRegistry until then
// anyway.) And once the process has compiled nothing for LAZY_STORE_IDLE_MS (an unref'd timer: it keeps no
// process alive), so that a process that never exits normally stores them too (esbuild-wasm's service process
// is stopped with a signal), and a long-running one does not leave the write to its exit.
const lazyCached = new Set<NativeParts>();
let lazyExitHook = false;
const LAZY_STORE_IDLE_MS = 1000;
let lazyStoreTimer: ReturnType<typeof setTimeout> | null = null;

function scheduleLazyStore(): void {
  if (lazyStoreTimer !== null) {
    lazyStoreTimer.refresh();
    return;
  }
  lazyStoreTimer = setTimeout(() => {
    lazyStoreTimer = null;
    storeLazyModules();
  }, LAZY_STORE_IDLE_MS);
  lazyStoreTimer.unref();
}

function storeLazyModule(p: NativeParts): void {
  const lazy = p.lazy;
  if (p.cache === undefined || lazy === null || lazy.compiledCount === 0) return;
  try {
    const c = p.cache.compiled;
    const stubs = c.code.length > 0 ? c.code : { addr: p.code.addr, length: c.codeSize };
    storeLazyCached(p.cache.dir, p.cache.key, c, stubs, lazy.functions(), p.cache.snapshot);
    lazy.compiledCount = 0; // (stored)
  } catch {
    // A cache that cannot be written is only a cache.
  }
}

/** Write the cache entries of the lazily compiled modules still alive (at exit, or when idle; never throws). */
export function storeLazyModules(): void {
  for (const p of lazyCached) storeLazyModule(p);
}

/**
 * Compile function f of a lazily compiled module now (called from generated code through the LazyCompile
 * builtin, or ahead of time). Idempotent: a compiled function's slot is left alone.
 */
export function compileLazy(m: ModuleInternals, f: number): void {
  m.native.lazy!.compile(f);
  if (m.native.cache !== undefined) scheduleLazyStore();
}

/** perf map entries for an eagerly compiled module's functions (a function ends where the next starts). */
function perfMapModule(m: ModuleInternals): void {
  const c = m.compiled;
  const info = c.info;
  const entries: Array<[number, number, string]> = [];
  const n = c.funcOffsets.length;
  for (let f = info.numImportedFuncs; f < n; f++) {
    const start = c.funcOffsets[f];
    const end = f + 1 < n ? c.funcOffsets[f + 1] : c.entryStubOffsets.length > 0 ? c.entryStubOffsets[0] : c.codeSize;
    entries.push([m.code.addr + start, Math.max(0, end - start), `wasm:${info.funcNames.get(f) ?? `f${f}`}`]);
  }
  if (c.entryStubOffsets.length > 0) entries.push([m.code.addr + c.entryStubOffsets[0], Math.max(0, c.codeSize - c.entryStubOffsets[0]), 'wasm:stubs']);
  perfMapAdd(entries);
}

function toBytes(source: unknown): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (source instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && source instanceof SharedArrayBuffer)) {
    return new Uint8Array(source);
  }
  throw new TypeError('WebAssembly.Module(): Argument 0 must be a buffer source');
}

/** The kind names of Module.imports/exports, by extern kind byte (4: a tag, exception handling). */
const KIND_NAMES = ['function', 'table', 'memory', 'global', 'tag'] as const;

function kindName(k: ExternKind): string {
  return KIND_NAMES[k] ?? 'unknown';
}

/** (One empty array for all: V8 makes a zero-length typed array slowly, ~0.2 us.) */
const NO_CODE = new Uint8Array(0);

/** The features of a module that asks for none (shared: never modified). */
let defaultFeatures: Features | null = null;

export class Module {
  [INTERNAL]: ModuleInternals;

  constructor(bytes: unknown, options?: ModuleOptions) {
    if (!new.target) throw new TypeError("WebAssembly.Module must be invoked with 'new'");
    // a module made from another thread's code (module-transfer.ts): nothing to compile
    const pre = bytes === FROM_CODE ? pendingCode : null;
    pendingCode = null;
    const src = pre !== null ? new Uint8Array(0) : toBytes(bytes);
    options = withModuleDefaults(options);
    const features = options?.features === undefined ? (defaultFeatures ??= resolveFeatures()) : resolveFeatures(options.features);
    const compileOptions: CompileOptions = {
      boundsChecks: options?.boundsChecks,
      interruptible: options?.interruptible === true || options?.timeoutMs !== undefined,
      fuel: options?.fuel === true,
      lazy: options?.lazy ?? src.length >= LAZY_THRESHOLD,
      threads: options?.threads,
      batchBytes: options?.batchBytes,
    };
    let compiled: CompiledModule | null = null;
    let code: CodeBlock | null = null;
    let cacheStatus: ModuleInternals['cacheStatus'] = 'off';
    let cacheReason: string | undefined;
    let cacheKeyOfCode = '';
    const cacheDir = options?.cache !== undefined && src.length >= (options.cacheMinBytes ?? 0) ? options.cache : undefined;
    let lazyFunctions: LazyFunctions | undefined;
    let reservation: CodeReservation | null = null;
    let gcOwned = true;
    if (pre !== null) {
      compiled = pre.compiled;
      code = pre.code;
    } else if (cacheDir !== undefined) {
      // A hit keeps only the parts of the bytes an instance reads (data segments), copied from the caller's
      // bytes by loadCached: no copy of the whole module.
      const key = cacheKey(src, features, compileOptions);
      startupMark('module: cache key (fingerprint of the module)');
      const hit = loadCached(cacheDir, key, src, features);
      if ('compiled' in hit) {
        compiled = hit.compiled;
        code = hit.code;
        gcOwned = hit.code.gcOwned === true;
        lazyFunctions = hit.lazyFunctions;
        cacheKeyOfCode = key;
        cacheStatus = 'hit';
      } else {
        cacheStatus = hit.miss;
        if (hit.miss === 'untrusted') cacheReason = hit.reason;
      }
    }
    if (compiled === null) {
      // Copy: the caller may mutate its buffer later.
      const copy = copyBytes(src);
      startupMark('module: bytes copied');
      try {
        // Linked straight into code memory (cacheKey below ignores codeBuffer); for the code cache into a
        // page-padded buffer of its own, which the entry stores as it is.
        if (cacheDir === undefined) compileOptions.codeBuffer = (size) => (reservation = reserveCode(size)).view;
        if (compileOptions.lazy === true) prepareNativeValidator(copy.length);
        compiled = compileModule(copy, features, compileOptions);
        startupFact('compiled', true); // (the V8 code cache saved at exit then holds the compiler: bundle-cache.cts)
      } catch (e) {
        if (e instanceof CompileError) throw e;
        if (e instanceof RangeError && /Maximum call stack/.test(String(e.message))) throw new CompileError('module too deeply nested');
        throw e;
      }
      if (cacheDir !== undefined) {
        // Keyed by exactly the bytes compiled (the caller's could have changed since the lookup, e.g. a
        // SharedArrayBuffer another thread writes, or a mapped file).
        cacheKeyOfCode = cacheKey(copy, features, compileOptions);
        // (A lazy module's entry is written when the process exits: see storeLazyModules.)
        if (!compiled.lazy) {
          try {
            const refused = storeCached(cacheDir, cacheKeyOfCode, compiled);
            if (refused !== null) [cacheStatus, cacheReason] = ['untrusted', refused];
          } catch (e) {
            if (cacheStatus !== 'untrusted') cacheStatus = 'unwritable';
          }
        }
      }
    }
    const c = compiled;
    if (code === null) {
      // (TypeScript cannot see the assignment in codeBuffer.)
      const r = reservation as CodeReservation | null;
      code = r !== null ? r.commit() : allocateCode(c.code);
      // (c.code was the block's writable alias, or a copy: not kept. The code is read from code memory from now on.)
      c.code = NO_CODE;
    }
    let codeSlots = 0;
    let slots: Uint32Array | null = null;
    if (compiled.lazy) {
      // The code-slot table: every function starts at its compile-on-first-call thunk.
      const n = compiled.info.funcTypes.length;
      slots = allocBlock(8 * Math.max(1, n));
      codeSlots = lastBlockAddress();
      for (let f = compiled.info.numImportedFuncs; f < n; f++) {
        const addr = code.addr + compiled.lazyThunkOffsets[f];
        slots[2 * f] = addr % 4294967296;
        slots[2 * f + 1] = Math.floor(addr / 4294967296);
      }
    }
    const lazy = c.lazy ? new LazyCode(c, slots!, code.addr) : null;
    if (lazy !== null && lazyFunctions !== undefined) lazy.preinstall(lazyFunctions.fns);
    const native: NativeParts = { code, slots, lazy };
    const internals: ModuleInternals = {
      compiled, code, info: compiled.info, timeoutMs: options?.timeoutMs, cacheStatus, cacheReason, codeSlots, native, holds: 1,
    };
    this[INTERNAL] = internals;
    const lazyCacheDir = lazy !== null ? cacheDir : undefined;
    if (!gcOwned || lazyCacheDir !== undefined) moduleRegistry.register(internals, native);
    if (lazyCacheDir !== undefined) {
      native.cache = { dir: lazyCacheDir, key: cacheKeyOfCode, compiled: c, snapshot: lazyFunctions?.snapshot };
      lazyCached.add(native);
      if (!lazyExitHook) {
        lazyExitHook = true;
        process.once('exit', storeLazyModules);
      }
    }
    if (perfMapEnabled()) perfMapModule(internals);
    startupMark('module: created');
  }

  /**
   * Deterministic release (explicit resource management: `using module = ...`): the Module can no longer be
   * instantiated or inspected (TypeError), and its code is released as soon as every instance made from it
   * has been disposed too (until then they keep it, and keep working). Idempotent.
   */
  [DISPOSE](): void {
    const self = this as unknown as { [DISPOSED]?: boolean };
    if (self[DISPOSED] === true) return;
    self[DISPOSED] = true;
    dropModuleHold(this[INTERNAL]);
  }

  static imports(module: Module): Array<{ module: string; name: string; kind: string }> {
    const info = moduleInternals(module, 'WebAssembly.Module.imports()').info;
    return info.imports.map((i) => ({ module: i.module, name: i.name, kind: kindName(i.kind) }));
  }

  static exports(module: Module): Array<{ name: string; kind: string }> {
    const info = moduleInternals(module, 'WebAssembly.Module.exports()').info;
    return info.exports.map((e) => ({ name: e.name, kind: kindName(e.kind) }));
  }

  static customSections(module: Module, name: string): ArrayBuffer[] {
    const m = moduleInternals(module, 'WebAssembly.Module.customSections()');
    if (arguments.length < 2 || name === undefined) throw new TypeError('WebAssembly.Module.customSections(): Argument 1 is required');
    const wanted = `${name}`; // (ToString: a Symbol throws, as in V8)
    const bytes = m.compiled.bytes;
    const out: ArrayBuffer[] = [];
    // A fresh ArrayBuffer per section and call, as in V8 (callers may detach or write them).
    for (const s of m.info.customSections) if (s.name === wanted) out.push(bytes.slice(s.start, s.end).buffer);
    return out;
  }
}

// V8's static reflection functions are enumerable (class statics are not).
for (const key of ['imports', 'exports', 'customSections'] as const) Object.defineProperty(Module, key, { enumerable: true });
Object.defineProperty(Module.prototype, Symbol.toStringTag, { value: 'WebAssembly.Module', configurable: true });
webIdlInterface(Module, 1);

export function moduleInternals(m: unknown, caller?: string): ModuleInternals {
  const i = (m as Module | null)?.[INTERNAL];
  if (i === undefined) throw new TypeError(`${caller === undefined ? '' : `${caller}: `}Argument 0 must be a WebAssembly.Module`);
  if ((m as { [DISPOSED]?: boolean })[DISPOSED] === true) {
    throw new TypeError(`${caller === undefined ? '' : `${caller}: `}the WebAssembly.Module has been disposed`);
  }
  return i;
}

/** An instance made from the module holds its code until disposed (see ModuleInternals.holds). */
export function holdModule(m: ModuleInternals): void {
  m.holds++;
}

/**
 * A holder lets go of the module's code; the last one releases it, once no wasm code runs: no instance can
 * reach it any more (a disposed instance's FuncRecords all lead to the runtime's stub, and the Module
 * cannot be instantiated), so its pages can go now rather than when the GC gets to them.
 */
export function dropModuleHold(m: ModuleInternals): void {
  if (m.holds <= 0 || --m.holds > 0) return;
  releaseWhenIdle(() => {
    const p = m.native;
    if (p.cache !== undefined) {
      // (A lazily compiled module's cache entry is copied from its code: written first.)
      storeLazyModule(p);
      lazyCached.delete(p);
      p.cache = undefined;
    }
    p.lazy?.free();
    p.code.free();
  });
}

/**
 * The name of the frame whose return address (or trap site) is `pc`, if `pc` is in the module's code:
 * `name (wasm-function[N]:0xOFFSET)`, null where there is no source position (stubs), undefined when `pc`
 * is not the module's.
 */
export function symbolizeModulePc(m: ModuleInternals, pc: number): string | null | undefined {
  const lazy = m.native.lazy;
  if (lazy !== null) {
    const s = lazy.symbolize(pc);
    if (s !== undefined) return s;
  }
  const base = m.code.addr;
  return pc >= base && pc < base + m.code.size ? symbolize(m.compiled, pc - base) : undefined;
}

/** `name (wasm-function[N]:0xOFFSET)` for a code offset inside the module, or null outside functions. */
function symbolize(c: CompiledModule, codeOffset: number): string | null {
  const info = c.info;
  // The defined function containing the offset: the last entry at or before it.
  let lo = info.numImportedFuncs, hi = c.funcOffsets.length - 1, f = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c.funcOffsets[mid] < codeOffset) { // a return address is never a function's first byte
      f = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (f < 0) return null;
  // Stubs follow the last function: only offsets with a source position belong to functions.
  let wasmOffset = -1;
  let a = 0, b = c.pcOffsets.length - 1;
  while (a <= b) {
    const mid = (a + b) >> 1;
    if (c.pcOffsets[mid] === codeOffset) {
      wasmOffset = c.wasmOffsets[mid];
      break;
    }
    if (c.pcOffsets[mid] < codeOffset) a = mid + 1;
    else b = mid - 1;
  }
  if (wasmOffset < 0) return null;
  const name = info.funcNames.get(f);
  const where = `wasm-function[${f}]:0x${wasmOffset.toString(16)}`;
  return name !== undefined ? `${name} (${where})` : where;
}

export function valTypeFromByte(t: number): ValType {
  return t as ValType;
}
