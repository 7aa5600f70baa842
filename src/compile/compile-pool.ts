// Parallel compilation: a pool of worker threads (started on first use, reused, never keeping the process
// alive) that compile batches of function bodies (batch-compiler.ts) next to the calling thread.
//
// new WebAssembly.Module is synchronous, so the calling thread never yields: the module bytes and a control
// block live in SharedArrayBuffers, every thread (the caller included) claims the next batch with an atomic
// increment, workers send their batch's code over a MessagePort that the caller drains with
// receiveMessageOnPort, and the caller sleeps in Atomics.wait while it has nothing to do. Batches compile
// to the same bytes wherever they run, so when a worker is slow to deliver (or died holding a batch) the
// caller compiles that batch itself: a compile never hangs and never links half a module.

import type { MessagePort, Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import os from 'node:os';
import { Features } from '../decode/features.js';
import { ModuleInfo } from '../decode/types.js';
import { BatchCode, BatchCompiler, BatchFailure, CodegenOptions } from './batch-compiler.js';

/** At most this many threads compile one module (the caller included). */
export const PARALLEL_MAX_THREADS = 8;
/** Bodies of fewer bytes compile on the calling thread by default: waking workers would cost more. */
export const PARALLEL_MIN_BYTES = 1024 * 1024;
/** A batch a worker claimed but has not delivered after this long is compiled by the caller too. */
const STEAL_AFTER_MS = 250;

// Control block (Int32Array over a SharedArrayBuffer).
const CTL_NEXT = 0; // next batch to claim
const CTL_DELIVERED = 1; // batches posted by workers (the caller waits on it)
const CTL_WORDS = 2;

/** Threads to compile `numBatches` batches with: `requested` if given, else by the size of the bodies. */
export function parallelThreads(
  requested: number | undefined, numBatches: number, bodyEnds: Int32Array, bodyStarts: Int32Array, first: number, end: number,
): number {
  let threads: number;
  if (requested !== undefined) {
    if (!Number.isInteger(requested) || requested < 1) throw new RangeError(`threads must be a positive integer (got ${requested})`);
    threads = requested;
  } else {
    let bytes = 0;
    for (let f = first; f < end; f++) bytes += bodyEnds[f] - bodyStarts[f];
    threads = bytes < PARALLEL_MIN_BYTES ? 1 : defaultThreads();
  }
  return Math.max(1, Math.min(threads, PARALLEL_MAX_THREADS, numBatches));
}

/**
 * Default threads for a big eager compile: every core (at most PARALLEL_MAX_THREADS) from 4 cores up; 1 below.
 * On 2 cores a worker loses: V8's own background threads (TurboFan compiling our compiler, GC) already take the
 * second core, and each worker warms up its own cold JIT. Measured on 2 cores, idle, fresh processes, medians
 * of 5, eager new Module: sqlite (1 MB) 345 ms wall on 1 thread vs 535 on 2; esbuild (14 MB) 1102 vs 1213.
 */
function defaultThreads(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  if (n < MIN_CORES_FOR_WORKERS) return 1;
  return Math.max(1, Math.min(n, PARALLEL_MAX_THREADS));
}
const MIN_CORES_FOR_WORKERS = 4;

export interface ParallelJob {
  info: ModuleInfo;
  bytes: Uint8Array;
  features: Features;
  codegen: CodegenOptions;
  /** Batch boundaries (planBatches). */
  plan: Int32Array;
  bodyStarts: Int32Array;
  bodyEnds: Int32Array;
  threads: number;
  validateOnly: boolean;
}

/** The message a worker gets per module. */
export interface WorkerJob {
  jobId: number;
  bytes: SharedArrayBuffer;
  byteLength: number;
  features: Features;
  codegen: CodegenOptions;
  plan: Int32Array;
  bodyStarts: Int32Array;
  bodyEnds: Int32Array;
  validateOnly: boolean;
  control: SharedArrayBuffer;
}

/** What a worker posts per batch. */
export interface WorkerResult {
  jobId: number;
  batch: number;
  result?: BatchCode | BatchFailure;
  /** An unexpected exception (a compiler bug): the caller recompiles the batch to raise it itself. */
  crashed?: string;
}

interface PoolWorker {
  worker: Worker;
  port: MessagePort;
  /** Settles when the worker can take jobs (or has exited). */
  ready: Promise<void> | null;
}

const pool: PoolWorker[] = [];
let nextJobId = 1;
let workerThreads: typeof import('node:worker_threads') | undefined;

let script: URL | undefined;

/** The worker's code: the one-file bundle scripts/bundle.mjs makes, unless dist/src was rebuilt since. */
function workerScript(): URL {
  if (script !== undefined) return script;
  const own = new URL('./compile-worker.js', import.meta.url);
  const bundle = new URL('../../quickbeam-compile-worker.mjs', import.meta.url);
  const { statSync } = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
  const mtime = (u: URL): number => {
    try {
      return statSync(u).mtimeMs;
    } catch {
      return -1;
    }
  };
  script = mtime(bundle) >= mtime(own) ? bundle : own;
  return script;
}

function startWorker(): PoolWorker {
  workerThreads ??= createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
  const { port1, port2 } = new workerThreads.MessageChannel();
  const worker = new workerThreads.Worker(workerScript(), {
    // (quickbeamCompileWorker: quickbeam/register, run in every worker, leaves these alone.)
    workerData: { port: port2, quickbeamCompileWorker: true },
    transferList: [port2],
    // Compilation needs no more than the default heap; keep workers from inheriting --inspect etc.
    execArgv: [],
  });
  const pw: PoolWorker = { worker, port: port1, ready: null };
  // The worker says 'ready' once its modules are loaded; everything else on the port is taken synchronously
  // by a compile, or is a late copy of a batch someone else finished (dropped here).
  pw.ready = new Promise<void>((resolve) => {
    port1.on('message', (m: { ready?: boolean }) => {
      if (m.ready === true) resolve();
    });
    worker.once('exit', () => resolve());
  });
  worker.unref();
  port1.unref();
  const forget = (): void => {
    const i = pool.indexOf(pw);
    if (i >= 0) pool.splice(i, 1);
    port1.close();
  };
  worker.on('exit', forget);
  worker.on('error', forget); // an 'exit' follows; the caller steals whatever it held
  pool.push(pw);
  return pw;
}

/** How the last parallel compile went (diagnostics and tests). */
export interface ParallelStats {
  threads: number;
  batches: number;
  /** Batches whose code came from workers. */
  fromWorkers: number;
  /** Batches a worker claimed (or crashed on) that the caller compiled itself. */
  takenOver: number;
}
let lastStats: ParallelStats = { threads: 0, batches: 0, fromWorkers: 0, takenOver: 0 };
export function lastParallelStats(): ParallelStats {
  return lastStats;
}

/**
 * Start workers (without waiting) for a compile that will probably be parallel: a module of `moduleBytes`
 * with `requested` threads (undefined: the default). Called before decoding, so that the workers' own
 * start-up overlaps it.
 */
export function startCompileWorkersFor(moduleBytes: number, requested: number | undefined): void {
  const threads = requested ?? (moduleBytes >= PARALLEL_MIN_BYTES ? defaultThreads() : 1);
  while (pool.length < Math.min(threads, PARALLEL_MAX_THREADS) - 1) startWorker();
}

/**
 * Start compile workers ahead of a big compile (so that their start-up overlaps other work), resolving once
 * `threads - 1` of them are ready. Default: as many as a default parallel compile uses.
 */
export async function prewarmCompileWorkers(threads = defaultThreads()): Promise<number> {
  while (pool.length < Math.min(threads, PARALLEL_MAX_THREADS) - 1) startWorker();
  const waiting = pool.slice();
  for (const w of waiting) w.port.ref(); // the workers are unref'd: keep the process up while we wait
  try {
    await Promise.all(waiting.map((w) => w.ready));
  } finally {
    for (const w of waiting) w.port.unref();
  }
  return pool.length;
}

/** Number of live compile workers (diagnostics and tests). */
export function compileWorkerCount(): number {
  return pool.length;
}

/** Stop every compile worker (tests; the pool restarts on the next parallel compile). */
export async function stopCompileWorkers(): Promise<void> {
  const ws = pool.splice(0, pool.length);
  await Promise.all(ws.map((w) => w.worker.terminate()));
}

/**
 * Compile every batch of the plan on `threads` threads (the caller and threads - 1 workers). Returns one
 * result per batch, in order.
 */
export function compileBatchesInParallel(job: ParallelJob): Array<BatchCode | BatchFailure> {
  const numBatches = job.plan.length - 1;
  while (pool.length < job.threads - 1) startWorker();
  const helpers = pool.slice(0, job.threads - 1);

  let shared: SharedArrayBuffer;
  if (job.bytes.buffer instanceof SharedArrayBuffer && job.bytes.byteOffset === 0) shared = job.bytes.buffer;
  else {
    shared = new SharedArrayBuffer(job.bytes.length);
    new Uint8Array(shared).set(job.bytes);
  }
  const control = new SharedArrayBuffer(4 * CTL_WORDS);
  const ctl = new Int32Array(control);
  const jobId = nextJobId++;
  const msg: WorkerJob = {
    jobId, bytes: shared, byteLength: job.bytes.length, features: job.features, codegen: job.codegen, plan: job.plan,
    bodyStarts: job.bodyStarts, bodyEnds: job.bodyEnds, validateOnly: job.validateOnly, control,
  };
  for (const h of helpers) h.port.postMessage(msg);

  const results: Array<BatchCode | BatchFailure | undefined> = new Array(numBatches).fill(undefined);
  let missing = numBatches;
  const stats: ParallelStats = { threads: job.threads, batches: numBatches, fromWorkers: 0, takenOver: 0 };
  const compiler = new BatchCompiler(job.info, job.features, job.codegen, job.bytes, job.validateOnly);
  const compileHere = (k: number): void => {
    if (results[k] !== undefined) return;
    results[k] = compiler.tryCompile(job.plan[k], job.plan[k + 1], job.bodyStarts, job.bodyEnds);
    missing--;
  };
  const drain = (): void => {
    for (const h of helpers) {
      for (;;) {
        const m = workerThreads!.receiveMessageOnPort(h.port)?.message as WorkerResult | undefined;
        if (m === undefined) break;
        if (m.jobId !== jobId || results[m.batch] !== undefined) continue; // 'ready', or late
        if (m.result !== undefined) {
          results[m.batch] = m.result;
          missing--;
          stats.fromWorkers++;
        } else {
          stats.takenOver++;
          compileHere(m.batch); // a crash: compile it here, where the exception surfaces
        }
      }
    }
  };

  // Claim batches like the workers do, collecting their results in between.
  for (let k = Atomics.add(ctl, CTL_NEXT, 1); k < numBatches; k = Atomics.add(ctl, CTL_NEXT, 1)) {
    compileHere(k);
    drain();
  }
  // Wait for the rest; compile what a worker is too slow to deliver.
  let lastProgress = Date.now();
  while (missing > 0) {
    const seen = Atomics.load(ctl, CTL_DELIVERED);
    const before = missing;
    drain();
    if (missing === 0) break;
    if (missing < before) lastProgress = Date.now();
    else if (Date.now() - lastProgress >= STEAL_AFTER_MS) {
      compileHere(results.findIndex((r) => r === undefined));
      stats.takenOver++;
      lastProgress = Date.now();
      continue;
    }
    Atomics.wait(ctl, CTL_DELIVERED, seen, 20);
  }
  // Workers still busy with this job (batches the caller took over) skip what is left.
  Atomics.store(ctl, CTL_NEXT, numBatches);
  lastStats = stats;
  return results as Array<BatchCode | BatchFailure>;
}

export { CTL_NEXT, CTL_DELIVERED };
