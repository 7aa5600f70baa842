// wasi-threads for `quickbeam run`: a module that imports `wasi` `thread-spawn` gets real threads. Each
// spawn starts a worker_threads Worker (wasi-thread-worker.ts) that makes the same module from a descriptor
// (its machine code: not recompiled), instantiates it over the same shared memory with a WASI of its own (same
// arguments, environment and preopens; descriptors the guest opens are per thread) and calls
// `wasi_thread_start(tid, arg)`. Thread ids come from an atomic counter shared by every thread (spawns from
// spawned threads too). proc_exit on any thread, or a trap on a spawned thread, ends the whole process, as
// wasi-threads specifies; the process also ends when `_start` returns, whatever threads still run.

import { createRequire } from 'node:module';
import { Memory } from '../api/memory.js';
import type { Module } from '../api/module.js';
import { moduleToDescriptor, type ModuleDescriptor } from '../api/module-transfer.js';
import type { ModuleInfo } from '../decode/types.js';
import { ExternKind } from '../decode/types.js';

/** What every thread needs to make one more (cloned into each Worker). */
export interface WasiThreadsContext {
  descriptor: ModuleDescriptor;
  memory: unknown;
  /** Where the module imports its memory. */
  memoryModule: string;
  memoryName: string;
  wasi: { args: string[]; env: Record<string, string>; preopens: Record<string, string> };
  /** Int32Array words: 0 the last thread id given out. */
  control: SharedArrayBuffer;
}

const MAX_TID = 0x1fffffff;
const workerUrl = new URL('./wasi-thread-worker.js', import.meta.url);

/** Whether the module uses wasi-threads (imports `wasi` `thread-spawn`). */
export function usesWasiThreads(info: ModuleInfo): boolean {
  return info.imports.some((i) => i.module === 'wasi' && i.name === 'thread-spawn' && i.kind === ExternKind.Func);
}

/** The shared memory the module imports, created for it, and the context of its threads. */
export function wasiThreadsSetup(module: Module, info: ModuleInfo, wasi: WasiThreadsContext['wasi']): WasiThreadsContext {
  const imp = info.imports.find((i) => i.kind === ExternKind.Memory);
  if (imp === undefined || !imp.memory!.shared) throw new Error('a wasi-threads module must import a shared memory');
  const mt = imp.memory!;
  const memory = new Memory({ initial: mt.min, maximum: mt.max!, shared: true, address: mt.index64 ? 'i64' : 'i32' } as never);
  return {
    descriptor: moduleToDescriptor(module), memory, memoryModule: imp.module, memoryName: imp.name, wasi,
    control: new SharedArrayBuffer(4),
  };
}

// node:worker_threads is loaded by the first spawn, not by every `quickbeam run` (~3 ms of a cached start).
let workerThreads: typeof import('node:worker_threads') | undefined;

/** The `wasi` import namespace: thread-spawn(start_arg) -> tid, or a negative value when no thread started. */
export function wasiThreadsImports(ctx: WasiThreadsContext): Record<string, (...a: number[]) => number> {
  const control = new Int32Array(ctx.control);
  return {
    'thread-spawn': (arg: number): number => {
      const tid = Atomics.add(control, 0, 1) + 1;
      if (tid > MAX_TID) return -1;
      try {
        workerThreads ??= createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads');
        const w = new workerThreads.Worker(workerUrl, { workerData: { ctx, tid, arg } });
        w.unref(); // the process ends when _start returns
        w.on('error', (e) => {
          process.stderr.write(`quickbeam: thread ${tid}: ${(e as Error).message}\n`);
          process.exitCode = 1;
        });
      } catch {
        return -1;
      }
      return tid;
    },
  };
}
