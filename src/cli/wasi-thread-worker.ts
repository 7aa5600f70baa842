// One wasi-threads thread of `quickbeam run` (see wasi-threads.ts): this worker's own Quickbeam makes the
// module from its descriptor, instantiates it over the shared memory and calls wasi_thread_start(tid, arg).
// proc_exit or a trap here ends the whole process (a Worker's process.exit would end only this thread, so
// the exit goes through libc).

import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { Instance } from '../api/instance.js';
import { moduleFromDescriptor } from '../api/module-transfer.js';
import { WASI, wasiExitCode } from '../wasi/index.js';
import { wasiThreadsImports, type WasiThreadsContext } from './wasi-threads.js';
import { cExit } from '../runtime/native.js';

const { ctx, tid, arg } = workerData as { ctx: WasiThreadsContext; tid: number; arg: number };
const module = moduleFromDescriptor(ctx.descriptor);
const wasi = new WASI({ ...ctx.wasi, returnOnExit: true });
const imports: Record<string, Record<string, unknown>> = { ...wasi.getImportObject(), wasi: wasiThreadsImports(ctx) };
imports[ctx.memoryModule] = { ...imports[ctx.memoryModule], [ctx.memoryName]: ctx.memory };
try {
  const instance = new Instance(module, imports);
  const exports = instance.exports as Record<string, unknown>;
  // (WASI reads guest memory through the memory it is given: the shared one)
  wasi.initialize({ exports: { memory: ctx.memory } });
  (exports['wasi_thread_start'] as (tid: number, arg: number) => void)(tid, arg);
} catch (e) {
  const exit = wasiExitCode(e);
  // (synchronously: a Worker's process.stderr goes through the main thread, which _exit does not wait for)
  if (exit === undefined) writeSync(2, `quickbeam: thread ${tid}: ${(e as Error).name}: ${(e as Error).message}\n`);
  cExit(exit ?? 134); // proc_exit or a trap on any thread ends the process (134: as a trap on the main thread)
}
