// Quickbeam's embedding API: a drop-in for the `WebAssembly` namespace, backed by the single-pass JIT.
//   import quickbeam from 'quickbeam';            // namespace, same shape as WebAssembly
//   import { instantiate } from 'quickbeam';      // or named functions

import { Module, ModuleOptions, setModuleDefaults, getModuleDefaults, withModuleDefaults } from './api/module.js';
import { Instance } from './api/instance.js';
import { Memory } from './api/memory.js';
import { isModuleDescriptor, moduleFromDescriptor, moduleToDescriptor, type ModuleDescriptor } from './api/module-transfer.js';
import { Table } from './api/table.js';
import { Global } from './api/global.js';
import { Tag, JSTag } from './api/tag.js';
import { Exception } from './api/exception.js';
import {
  CompileError as CompileErrorClass, LinkError as LinkErrorClass, RuntimeError as RuntimeErrorClass,
  SuspendError as SuspendErrorClass, callableErrorClass,
} from './errors.js';

// The error classes as the JS API has them: callable without `new` (see callableErrorClass).
const CompileError = callableErrorClass(CompileErrorClass);
const LinkError = callableErrorClass(LinkErrorClass);
const RuntimeError = callableErrorClass(RuntimeErrorClass);
const SuspendError = callableErrorClass(SuspendErrorClass);
type CompileError = CompileErrorClass;
type LinkError = LinkErrorClass;
type RuntimeError = RuntimeErrorClass;
type SuspendError = SuspendErrorClass;
import { Suspending, promising } from './api/jspi.js';
import { validateModule } from './compile/module-compiler.js';
import { resolveFeatures, Features } from './decode/features.js';
import { webIdlOperation } from './api/webidl.js';
import { prepareNativeValidator } from './api/native-validator.js';

export { Module, Instance, Memory, Table, Global, CompileError, LinkError, RuntimeError, setModuleDefaults, getModuleDefaults };
export { Tag, JSTag, Exception, Suspending, promisingOperation as promising, SuspendError };
export { WASI } from './wasi/index.js';
import { WASI } from './wasi/index.js';
export { interrupt, interruptHandle, setFuel, getFuel } from './runtime/interrupts.js';
import { interrupt, interruptHandle, setFuel, getFuel } from './runtime/interrupts.js';
/** GC (issue 17): the most bytes of native memory for GC objects (this thread; default 1 GiB). */
export { setGcHeapMax, gcHeapMax, gcHeapStats, gcCollect } from './runtime/gc-heap.js';
export type { Features, ModuleOptions, ModuleDescriptor };

/**
 * Threads: a structured-cloneable descriptor of a module (postMessage it to a worker_threads Worker), which
 * `moduleFromTransferable` turns back into a Module in that thread; an eagerly compiled module crosses as its
 * machine code, not recompiled (src/api/module-transfer.ts). A shared Memory crosses by postMessage as it is.
 */
export function transferableModule(module: Module): ModuleDescriptor {
  return moduleToDescriptor(module);
}

/** The Module of a descriptor made by `transferableModule` (in any thread of this process). */
export function moduleFromTransferable(descriptor: unknown): Module {
  return moduleFromDescriptor(descriptor);
}

function bytesOf(source: unknown): Uint8Array {
  if (source instanceof Uint8Array) return source;
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  throw new TypeError('WebAssembly.validate(): Argument 0 must be a buffer source');
}

function validateModuleBytes(bytes: unknown, options?: ModuleOptions): boolean {
  const b = bytesOf(bytes);
  try {
    const o = withModuleDefaults(options);
    prepareNativeValidator(b.length);
    validateModule(b, resolveFeatures(o?.features), { threads: o?.threads });
    return true;
  } catch (e) {
    if (e instanceof CompileErrorClass) return false;
    throw e;
  }
}

async function compileModule(bytes: unknown, options?: ModuleOptions): Promise<Module> {
  return new Module(bytes, options);
}

export interface WebAssemblyInstantiatedSource {
  module: Module;
  instance: Instance;
}

function instantiateModule(module: Module, imports?: unknown): Promise<Instance>;
function instantiateModule(bytes: unknown, imports?: unknown, options?: ModuleOptions): Promise<WebAssemblyInstantiatedSource>;
async function instantiateModule(source: unknown, imports?: unknown, options?: ModuleOptions): Promise<Instance | WebAssemblyInstantiatedSource> {
  if (source instanceof Module || isModuleDescriptor(source)) return new Instance(source as Module, imports);
  const module = new Module(source, options);
  return { module, instance: new Instance(module, imports) };
}

/** A fetch Response (or a promise of one), as WebAssembly.compileStreaming takes. */
type ResponseLike = { arrayBuffer(): Promise<ArrayBuffer>; ok?: boolean; status?: number; url?: string };

async function responseBytes(source: ResponseLike | Promise<ResponseLike>): Promise<ArrayBuffer> {
  const r = await source;
  if (r === null || typeof r !== 'object' || typeof (r as ResponseLike).arrayBuffer !== 'function') {
    throw new TypeError('WebAssembly.compileStreaming(): Argument 0 must be a Response or a promise of one');
  }
  if (r.ok === false) throw new TypeError(`WebAssembly.compileStreaming(): HTTP status ${r.status} for ${r.url ?? 'the response'}`);
  return r.arrayBuffer();
}

async function compileModuleStreaming(source: ResponseLike | Promise<ResponseLike>, options?: ModuleOptions): Promise<Module> {
  return new Module(await responseBytes(source), options);
}

async function instantiateModuleStreaming(
  source: ResponseLike | Promise<ResponseLike>,
  imports?: unknown,
  options?: ModuleOptions,
): Promise<WebAssemblyInstantiatedSource> {
  const module = new Module(await responseBytes(source), options);
  return { module, instance: new Instance(module, imports) };
}

// The namespace operations, as V8's are: not constructors, `length` 1 (webidl.ts).
/** Whether the bytes are a valid module (decoded and validated, as a lazy compile does: nothing is compiled). */
export const validate = webIdlOperation('validate', 1, validateModuleBytes);
export const compile = webIdlOperation('compile', 1, compileModule);
export const instantiate = webIdlOperation('instantiate', 1, instantiateModule);
export const compileStreaming = webIdlOperation('compileStreaming', 1, compileModuleStreaming);
export const instantiateStreaming = webIdlOperation('instantiateStreaming', 1, instantiateModuleStreaming);
const promisingOperation = webIdlOperation('promising', 1, promising);

/** The members of V8's `WebAssembly` namespace, in V8's order (those Quickbeam has go into install()'s namespace). */
const WEBASSEMBLY_MEMBERS = [
  'compile', 'validate', 'instantiate', 'compileStreaming', 'instantiateStreaming', 'Module', 'Instance', 'Table',
  'Memory', 'Global', 'Tag', 'JSTag', 'Exception', 'CompileError', 'LinkError', 'RuntimeError', 'promising',
  'Suspending', 'SuspendError',
] as const;

/** The engine's own WebAssembly namespace, as it was when Quickbeam loaded (null if there was none). */
export const engineWebAssembly: typeof WebAssembly | null = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly ?? null;

/**
 * A namespace object shaped like V8's `WebAssembly` (same members where Quickbeam has them, non-enumerable,
 * toStringTag "WebAssembly"), backed by Quickbeam.
 */
export function webAssemblyNamespace(): typeof WebAssembly {
  const ns: Record<string | symbol, unknown> = {};
  const source = quickbeam as unknown as Record<string, unknown>;
  for (const k of WEBASSEMBLY_MEMBERS) {
    const v = source[k];
    if (v === undefined) continue;
    // As V8's: operations enumerable, interfaces not, JSTag read-only.
    const operation = typeof v === 'function' && /^[a-z]/.test(k);
    Object.defineProperty(ns, k, { value: v, writable: k !== 'JSTag', enumerable: operation, configurable: true });
  }
  Object.defineProperty(ns, Symbol.toStringTag, { value: 'WebAssembly', configurable: true });
  return ns as unknown as typeof WebAssembly;
}

/**
 * Install Quickbeam as `globalThis.WebAssembly` in this thread (a property like the engine's: writable,
 * configurable, not enumerable); returns the namespace installed. quickbeam/register does this in every
 * thread and child process (see README.md).
 */
export function install(): typeof WebAssembly {
  const ns = webAssemblyNamespace();
  Object.defineProperty(globalThis, 'WebAssembly', { value: ns, writable: true, enumerable: false, configurable: true });
  return ns;
}

const quickbeam = {
  Module, Instance, Memory, Table, Global, CompileError, LinkError, RuntimeError, validate, compile, instantiate,
  compileStreaming, instantiateStreaming, interrupt, interruptHandle, setFuel, getFuel, WASI, install,
  setModuleDefaults, getModuleDefaults, Tag, JSTag, Exception, Suspending, promising: promisingOperation, SuspendError,
  transferableModule, moduleFromTransferable,
};
export default quickbeam;
