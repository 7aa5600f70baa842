// The engine under test as seen by the spectest worker: either Quickbeam's JS API (dist/src/index.js) or the
// host's own `WebAssembly` (V8). Also builds the `spectest` host module and the call wrappers.

import type { Features } from '../decode/features.js';
import {
  ByteWriter,
  ExternKind,
  ModuleBuilder,
  Op,
  type Sig,
  type ValTypeName,
  call,
  globalGet,
  localGet,
  localSet,
  sigKey,
  v128Const,
} from './spectest-wasm.js';
import {
  HarnessError,
  NON_NULL_SEEN,
  NULL_SEEN,
  type Raw,
  rawToJS,
  rawToWrapperArgs,
  wrapperResultsToRaw,
} from './spectest-values.js';

export type EngineName = 'quickbeam' | 'v8';

type Ctor<T> = new (...args: any[]) => T;

export interface WasmInstance {
  exports: Record<string, unknown>;
}

/** The part of the WebAssembly JS API the runner uses. */
export interface EngineApi {
  Module: Ctor<object>;
  Instance: Ctor<WasmInstance>;
  Memory: Ctor<object>;
  Table: Ctor<object>;
  Global: Ctor<{ value: unknown }>;
  CompileError: Ctor<Error>;
  LinkError: Ctor<Error>;
  RuntimeError: Ctor<Error>;
}

const REQUIRED: (keyof EngineApi)[] = [
  'Module',
  'Instance',
  'Memory',
  'Table',
  'Global',
  'CompileError',
  'LinkError',
  'RuntimeError',
];

/** Where the Quickbeam engine's JS API is, relative to this file (both in dist/src/...). */
export const QUICKBEAM_INDEX_URL = new URL('../index.js', import.meta.url);

export async function loadEngineApi(name: EngineName): Promise<EngineApi> {
  let ns: Record<string, unknown>;
  if (name === 'v8') {
    ns = (globalThis as unknown as { WebAssembly: Record<string, unknown> }).WebAssembly;
  } else {
    // A computed specifier: the engine is built by others and may not exist yet when this compiles.
    const spec: string = QUICKBEAM_INDEX_URL.href;
    ns = (await import(spec)) as Record<string, unknown>;
  }
  const missing = REQUIRED.filter((k) => typeof ns[k] !== 'function');
  if (missing.length > 0) throw new Error(`the ${name} engine does not export ${missing.join(', ')}`);
  return ns as unknown as EngineApi;
}

export class Engine {
  private wrapperModules = new Map<string, object>();
  private invokeWrappers = new WeakMap<object, Map<string, (...args: unknown[]) => unknown>>();
  private getWrappers = new WeakMap<object, (...args: unknown[]) => unknown>();

  constructor(
    readonly name: EngineName,
    readonly api: EngineApi,
    /** Feature overrides given on the command line (passed to `new Module(bytes, { features })`). */
    readonly features: Partial<Features>,
    /** Compile options for every module (quickbeam): lazy, threads, batchBytes; undefined = default. */
    readonly compileOptions: { lazy?: boolean; threads?: number; batchBytes?: number } = {},
  ) {}

  compile(bytes: Uint8Array): object {
    if (this.name === 'v8') return new this.api.Module(bytes);
    const options: Record<string, unknown> = { features: this.features };
    for (const [k, v] of Object.entries(this.compileOptions)) if (v !== undefined) options[k] = v;
    return new this.api.Module(bytes, options);
  }

  instantiate(module: object, imports: object): WasmInstance {
    return new this.api.Instance(module, imports);
  }

  isCompileError(e: unknown): boolean {
    return e instanceof this.api.CompileError;
  }
  isLinkError(e: unknown): boolean {
    return e instanceof this.api.LinkError;
  }
  isRuntimeError(e: unknown): boolean {
    return e instanceof this.api.RuntimeError;
  }

  private cachedModule(key: string, build: () => Uint8Array): object {
    let m = this.wrapperModules.get(key);
    if (!m) {
      try {
        m = this.compile(build());
      } catch (e) {
        throw new HarnessError(`cannot compile the call wrapper (${key}): ${errorText(e)}`);
      }
      this.wrapperModules.set(key, m);
    }
    return m;
  }

  /**
   * Calls `fn` (an exported function of signature params -> results) from a small wasm module that takes the
   * arguments as integer bit patterns and returns the results the same way, so that NaN payloads and v128
   * values never pass through a JS Number.
   */
  invokeWrapped(fn: object, sig: Sig, args: Raw[]): Raw[] {
    return this.invokeWrappedIf(fn, sig, args, false)!;
  }

  /** invokeWrapped, or null (instead of an error) when `fn` does not have the type `sig` if `orNull`. */
  invokeWrappedIf(fn: object, sig: Sig, args: Raw[], orNull: boolean): Raw[] | null {
    const key = 'invoke ' + sigKey(sig);
    let perFn = this.invokeWrappers.get(fn);
    if (!perFn) {
      perFn = new Map();
      this.invokeWrappers.set(fn, perFn);
    }
    let run = perFn.get(key);
    if (!run) {
      const module = this.cachedModule(key, () => buildInvokeWrapper(sig));
      let inst: WasmInstance;
      try {
        inst = this.instantiate(module, { t: { f: fn } });
      } catch (e) {
        if (orNull && this.isLinkError(e)) return null;
        throw new HarnessError(`cannot link the call wrapper (${sigKey(sig)}): ${errorText(e)}`);
      }
      run = inst.exports['run'] as (...a: unknown[]) => unknown;
      perFn.set(key, run);
    }
    const jsArgs: unknown[] = [];
    for (const a of args) rawToWrapperArgs(a, jsArgs);
    const r = run(...jsArgs); // engine exceptions (traps) propagate
    return wrapperResultsToRaw(sig.results, resultList(r, mappedTypes(sig.results).length));
  }

  /**
   * Calls `fn` (params -> results, every result a reference type) from a wasm wrapper that returns
   * ref.is_null of each result as an i32: for references that cannot reach JS (exnref). The results are
   * NULL_SEEN / NON_NULL_SEEN. Throws a LinkError (engine) when `fn` does not have exactly this type.
   */
  invokeNullTest(fn: object, sig: Sig, args: Raw[]): Raw[] {
    const key = 'nulltest ' + sigKey(sig);
    const module = this.cachedModule(key, () => buildNullTestWrapper(sig));
    const run = this.instantiate(module, { t: { f: fn } }).exports['run'] as (...a: unknown[]) => unknown;
    const r = run(...args.map(rawToJS));
    return resultList(r, sig.results.length).map((x, i) => ({
      t: sig.results[i] as Raw['t'],
      v: x === 1 ? NULL_SEEN : NON_NULL_SEEN,
    })) as Raw[];
  }

  /** Reads a global's value through a wasm wrapper (exact bits for floats, v128 possible). */
  getWrapped(global: object, type: ValTypeName): Raw {
    let run = this.getWrappers.get(global);
    if (!run) {
      let lastError: unknown = null;
      for (const mutable of [false, true]) {
        const module = this.cachedModule(`get ${type} ${mutable ? 'mut' : 'const'}`, () =>
          buildGetWrapper(type, mutable),
        );
        try {
          run = this.instantiate(module, { t: { g: global } }).exports['run'] as (...a: unknown[]) => unknown;
          break;
        } catch (e) {
          lastError = e;
        }
      }
      if (!run) throw new HarnessError(`cannot link the global wrapper (${type}): ${errorText(lastError)}`);
      this.getWrappers.set(global, run);
    }
    return wrapperResultsToRaw([type], resultList(run(), mappedTypes([type]).length))[0]!;
  }
}

function resultList(r: unknown, n: number): unknown[] {
  if (n === 0) return [];
  if (n === 1) return [r];
  if (!Array.isArray(r)) throw new HarnessError(`the call wrapper returned a non-array for ${n} results`);
  return r;
}

/** The types a wrapper uses at the JS boundary for values of the given types. */
function mappedTypes(types: ValTypeName[]): ValTypeName[] {
  const out: ValTypeName[] = [];
  for (const t of types) {
    if (t === 'f32') out.push('i32');
    else if (t === 'f64') out.push('i64');
    else if (t === 'v128') out.push('i64', 'i64');
    else out.push(t);
  }
  return out;
}

function simd(sub: number, lane?: number): number[] {
  const w = new ByteWriter().u8(Op.simdPrefix).u32(sub);
  if (lane !== undefined) w.u8(lane);
  return w.toArray();
}

/** Pushes the wrapper-boundary form of local `idx` (of wasm type t): floats reinterpreted, v128 as two i64. */
function emitOut(body: number[], t: ValTypeName, idx: number): void {
  if (t === 'v128') {
    body.push(...localGet(idx), ...simd(Op.i64x2ExtractLane, 0), ...localGet(idx), ...simd(Op.i64x2ExtractLane, 1));
    return;
  }
  body.push(...localGet(idx));
  if (t === 'f32') body.push(Op.i32ReinterpretF32);
  else if (t === 'f64') body.push(Op.i64ReinterpretF64);
}

export function buildInvokeWrapper(sig: Sig): Uint8Array {
  const b = new ModuleBuilder();
  const target = b.importFunc('t', 'f', sig);
  const body: number[] = [];
  let p = 0;
  for (const t of sig.params) {
    if (t === 'v128') {
      body.push(...v128Const(new Uint8Array(16)));
      body.push(...localGet(p), ...simd(Op.i64x2ReplaceLane, 0), ...localGet(p + 1), ...simd(Op.i64x2ReplaceLane, 1));
      p += 2;
      continue;
    }
    body.push(...localGet(p));
    if (t === 'f32') body.push(Op.f32ReinterpretI32);
    else if (t === 'f64') body.push(Op.f64ReinterpretI64);
    p += 1;
  }
  body.push(...call(target));
  const base = p;
  for (let i = sig.results.length - 1; i >= 0; i--) body.push(...localSet(base + i));
  sig.results.forEach((t, i) => emitOut(body, t, base + i));
  const run = b.func({ params: mappedTypes(sig.params), results: mappedTypes(sig.results) }, sig.results, body);
  b.export('run', ExternKind.Func, run);
  return b.build();
}

export function buildNullTestWrapper(sig: Sig): Uint8Array {
  const b = new ModuleBuilder();
  const target = b.importFunc('t', 'f', sig);
  const body: number[] = [];
  for (let p = 0; p < sig.params.length; p++) body.push(...localGet(p));
  body.push(...call(target));
  const base = sig.params.length;
  for (let i = sig.results.length - 1; i >= 0; i--) body.push(...localSet(base + i));
  for (let i = 0; i < sig.results.length; i++) body.push(...localGet(base + i), Op.refIsNull);
  const run = b.func({ params: sig.params, results: sig.results.map(() => 'i32' as const) }, sig.results, body);
  b.export('run', ExternKind.Func, run);
  return b.build();
}

export function buildGetWrapper(type: ValTypeName, mutable: boolean): Uint8Array {
  const b = new ModuleBuilder();
  const g = b.importGlobal('t', 'g', type, mutable);
  const body = [...globalGet(g), ...localSet(0)];
  emitOut(body, type, 0);
  const run = b.func({ params: [], results: mappedTypes([type]) }, [type], body);
  b.export('run', ExternKind.Func, run);
  return b.build();
}

// ---- the spectest host module ----

export interface SpectestModule {
  exports: Record<string, unknown>;
  /** Exports that could not be built, with the reason (modules importing them will fail to link). */
  problems: string[];
}

function makeTable(api: EngineApi, descs: object[]): object {
  let last: unknown = null;
  for (const d of descs) {
    try {
      return new api.Table(d);
    } catch (e) {
      last = e;
    }
  }
  throw last;
}

export function makeSpectest(engine: Engine, table64: boolean): SpectestModule {
  const api = engine.api;
  const exports: Record<string, unknown> = {};
  const problems: string[] = [];
  const noop = (): void => {};
  for (const name of ['print', 'print_i32', 'print_i64', 'print_f32', 'print_f64', 'print_i32_f32', 'print_f64_f64']) {
    exports[name] = noop;
  }
  const entries: [string, () => unknown][] = [
    ['global_i32', () => new api.Global({ value: 'i32', mutable: false }, 666)],
    ['global_i64', () => new api.Global({ value: 'i64', mutable: false }, 666n)],
    ['global_f32', () => new api.Global({ value: 'f32', mutable: false }, 666.6)],
    ['global_f64', () => new api.Global({ value: 'f64', mutable: false }, 666.6)],
    [
      'table',
      () =>
        makeTable(api, [
          { element: 'anyfunc', initial: 10, maximum: 20 },
          { element: 'anyfunc', initial: 10, maximum: 20 },
        ]),
    ],
    ['memory', () => new api.Memory({ initial: 1, maximum: 2 })],
    // threads
    ['shared_memory', () => new api.Memory({ initial: 1, maximum: 2, shared: true })],
  ];
  if (table64) {
    entries.push([
      'table64',
      () =>
        makeTable(api, [
          { element: 'anyfunc', address: 'i64', initial: 10n, maximum: 20n },
          { element: 'anyfunc', address: 'i64', initial: 10, maximum: 20 },
          { element: 'anyfunc', index: 'i64', initial: 10n, maximum: 20n },
          { element: 'anyfunc', index: 'i64', initial: 10, maximum: 20 },
        ]),
    ]);
  }
  for (const [name, make] of entries) {
    try {
      exports[name] = make();
    } catch (e) {
      problems.push(`${name}: ${errorText(e)}`);
    }
  }
  return { exports, problems };
}

/** "Name: message" of a thrown value, on one line. */
export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const msg = String(e.message).split('\n')[0];
    return `${e.name || 'Error'}: ${msg}`;
  }
  return `thrown ${typeof e === 'string' ? JSON.stringify(e) : String(e)}`;
}

