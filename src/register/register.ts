// quickbeam/register: run an unmodified application on Quickbeam.
//
//   node --import quickbeam/register app.js
//   NODE_OPTIONS="--import quickbeam/register" npm start
//
// Installs Quickbeam as `globalThis.WebAssembly` before the application's first module runs, in the main
// thread, in every worker_threads Worker and in every child Node process the application starts:
// - Workers: Node runs `--import` modules in workers started from a file when they inherit execArgv (the
//   default) or NODE_OPTIONS; a Worker given its own `execArgv` gets `--import <this file>` added, and a
//   Worker of eval code gets its code run after this module (Node runs no `--import` for those).
// - Child processes: `--import <this file>` is added to process.env.NODE_OPTIONS (inherited by children
//   started with the default environment or a copy of process.env), and a bare `quickbeam/register` in
//   process.execArgv (which fork() passes on) becomes this file's URL, which resolves from any directory.
// Module options come from environment variables (env-options.ts); QUICKBEAM_REGISTER=0 turns all of this
// off (e.g. for one child). Quickbeam's own compile workers are left alone.

import { createRequire, syncBuiltinESMExports } from 'node:module';
import { isMainThread, workerData } from 'node:worker_threads';
import { moduleOptionsFromEnv } from './env-options.js';

const SELF = import.meta.url;
const ENTRY = new URL('../../quickbeam-entry.mjs', SELF).href;
const INSTALLED = Symbol.for('quickbeam.register');
const SPECIFIER = 'quickbeam/register';
/** `kind` of a module descriptor (api/module-transfer.ts). */
const MODULE_DESCRIPTOR = 'quickbeam.Module';

type Quickbeam = typeof import('../index.js');

const require = createRequire(SELF);
const isCompileWorker = !isMainThread && (workerData as { quickbeamCompileWorker?: unknown } | null)?.quickbeamCompileWorker === true;
const g = globalThis as Record<symbol, unknown>;

if (!isCompileWorker && g[INSTALLED] === undefined) await register();

async function register(): Promise<void> {
  if (process.env.QUICKBEAM_REGISTER === '0') {
    // Off, but children may turn it on: keep the specifier resolvable from wherever they start.
    passToChildProcesses();
    return;
  }
  g[INSTALLED] = true;
  let options;
  try {
    options = moduleOptionsFromEnv(process.env);
  } catch (e) {
    process.stderr.write(`quickbeam/register: ${(e as Error).message}\n`);
    process.exit(9); // (as Node does for bad options)
  }
  const qb = (await import(ENTRY)) as Quickbeam;
  qb.setModuleDefaults(options);
  qb.install();
  passToChildProcesses();
  passToWorkers(qb);
  if (!isMainThread) receiveModules(qb);
}

/** NODE_OPTIONS and execArgv for child Node processes. */
function passToChildProcesses(): void {
  // A bare specifier resolves from the child's working directory, which may be outside this package.
  const current = (process.env.NODE_OPTIONS ?? '').replace(/--import(=|\s+)(["']?)quickbeam\/register\2(?=\s|$)/g, `--import=${SELF}`);
  process.env.NODE_OPTIONS = current.includes(SELF) ? current : `${current === '' ? '' : `${current} `}--import=${SELF}`;
  const argv = process.execArgv;
  for (let k = 0; k < argv.length; k++) {
    if (argv[k] === SPECIFIER && k > 0 && argv[k - 1] === '--import') argv[k] = SELF;
    else if (argv[k] === `--import=${SPECIFIER}`) argv[k] = `--import=${SELF}`;
  }
}

/** Whether an execArgv list already imports this module. */
function importsSelf(execArgv: readonly string[]): boolean {
  return execArgv.some((a) => a.includes(SELF) || a.includes(SPECIFIER));
}

/** Eval code that runs after this module (static import/export syntax cannot be wrapped: left alone). */
function wrapEval(code: string): string {
  if (/^\s*(import\s*[\w{*'"]|export\s)/m.test(code)) return code;
  return `import(${JSON.stringify(SELF)}).then(() => {\n${code}\n});`;
}

/**
 * A message for a Worker with every Quickbeam Module in it (the value itself, or a property of it or of an object
 * or array in it, two levels deep) replaced by its transferable descriptor: a Module is a JS object the
 * structured clone would empty, and Emscripten's pthread glue posts the Module to each worker, which instantiates
 * it there (Instance and instantiate take descriptors). Anything else is posted as it is.
 */
function withModuleDescriptors(qb: Quickbeam, value: unknown, depth = 0): unknown {
  if (value instanceof qb.Module) return qb.transferableModule(value);
  if (depth >= 2 || value === null || typeof value !== 'object') return value;
  const proto = Object.getPrototypeOf(value);
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = withModuleDescriptors(qb, value[i], depth + 1);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | null = null;
  for (const k of Object.keys(value)) {
    const x = (value as Record<string, unknown>)[k];
    const v = withModuleDescriptors(qb, x, depth + 1);
    if (v !== x) (out ??= { ...(value as Record<string, unknown>) })[k] = v;
  }
  return out ?? value;
}

/** The inverse of withModuleDescriptors: descriptors (of modules posted by the parent thread) become Modules. */
function withModules(qb: Quickbeam, value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object') return value;
  if ((value as { kind?: unknown }).kind === MODULE_DESCRIPTOR) return qb.moduleFromTransferable(value);
  if (depth >= 2) return value;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = withModules(qb, value[i], depth + 1);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | null = null;
  for (const k of Object.keys(value)) {
    const x = (value as Record<string, unknown>)[k];
    const v = withModules(qb, x, depth + 1);
    if (v !== x) (out ??= { ...(value as Record<string, unknown>) })[k] = v;
  }
  return out ?? value;
}

/**
 * In a Worker: messages from the parent reach 'message' listeners of parentPort with the Modules in them as
 * Modules again (Emscripten keeps the Module it receives and later reads its dylink.0 custom section). Listeners
 * registered through on/addListener/once/prepend*Listener get the revived message, and off/removeListener
 * given the same listener remove it.
 */
function receiveModules(qb: Quickbeam): void {
  const port = require('node:worker_threads').parentPort as unknown as Record<string, unknown> | null;
  if (port === null) return;
  const wrapped = new WeakMap<Function, (...args: unknown[]) => unknown>();
  const wrapperOf = (listener: (...args: unknown[]) => void): ((...args: unknown[]) => unknown) => {
    let w = wrapped.get(listener);
    if (w === undefined) {
      w = function (this: unknown, message: unknown, ...rest: unknown[]) {
        return listener.call(this, withModules(qb, message), ...rest);
      };
      wrapped.set(listener, w);
    }
    return w;
  };
  const patch = (name: string, adds: boolean): void => {
    const original = port[name] as ((this: unknown, ...args: unknown[]) => unknown) | undefined;
    if (typeof original !== 'function') return;
    Object.defineProperty(port, name, {
      configurable: true,
      writable: true,
      value(this: unknown, event: string | symbol, listener: (...args: unknown[]) => void) {
        if (event !== 'message' || typeof listener !== 'function') return original.call(this, event, listener);
        if (adds) return original.call(this, event, wrapperOf(listener));
        const w = wrapped.get(listener);
        return original.call(this, event, w ?? listener);
      },
    });
  };
  for (const name of ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener']) patch(name, true);
  for (const name of ['off', 'removeListener']) patch(name, false);
}

function passToWorkers(qb: Quickbeam): void {
  const wt = require('node:worker_threads') as typeof import('node:worker_threads');
  const Original = wt.Worker;
  if ((Original as unknown as Record<symbol, unknown>)[INSTALLED] === true) return;
  class Worker extends Original {
    override postMessage(value: unknown, transferList?: readonly (import('node:worker_threads').TransferListItem)[]): void {
      super.postMessage(withModuleDescriptors(qb, value), transferList);
    }

    constructor(filename: string | URL, options?: import('node:worker_threads').WorkerOptions) {
      const data = options?.workerData as { quickbeamCompileWorker?: unknown } | undefined;
      if (data?.quickbeamCompileWorker !== true && process.env.QUICKBEAM_REGISTER !== '0') {
        if (options?.eval === true && typeof filename === 'string') filename = wrapEval(filename);
        else if (options?.execArgv !== undefined && !importsSelf(options.execArgv)) {
          options = { ...options, execArgv: ['--import', SELF, ...options.execArgv] };
        }
      }
      super(filename, options);
    }
  }
  Object.defineProperty(Worker, INSTALLED, { value: true });
  wt.Worker = Worker;
  syncBuiltinESMExports(); // `import { Worker } from 'node:worker_threads'` sees it too
}
