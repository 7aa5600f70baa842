// A worker_threads Worker for test/threads.test.ts: turns the module descriptor it is given back into a
// Module (its own Quickbeam: own exec state), instantiates it over the shared memory it receives by
// postMessage, then runs the calls each message asks for and answers with their results (or the trap).

import { parentPort, workerData } from 'node:worker_threads';
import qb from '../../src/index.js';

const { descriptor, memory } = workerData as { descriptor: unknown; memory: WebAssembly.Memory };
const module = qb.moduleFromTransferable(descriptor);
const exports = new qb.Instance(module, { env: { mem: memory } }).exports as Record<string, (...a: unknown[]) => unknown>;

parentPort!.on('message', (calls: Array<[string, unknown[]]>) => {
  const results: unknown[] = [];
  try {
    for (const [name, args] of calls) results.push(exports[name](...args));
    parentPort!.postMessage({ results });
  } catch (e) {
    parentPort!.postMessage({ results, error: `${(e as Error).constructor.name}: ${(e as Error).message}` });
  }
});
parentPort!.postMessage({ ready: true, results: [] });
