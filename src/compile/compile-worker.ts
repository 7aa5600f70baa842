// A compile worker (see compile-pool.ts): for each job, re-derives the module's declarations from the shared
// bytes, then claims batches from the job's control block until none are left, posting each batch's code.

import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { decodeModuleHeaders } from '../decode/module-decoder.js';
import { BatchCompiler } from './batch-compiler.js';
import { CTL_DELIVERED, CTL_NEXT, WorkerJob, WorkerResult } from './compile-pool.js';

const port = (workerData as { port: MessagePort }).port;
/** Testing: a worker dies (exits its thread) as it claims its Nth batch (1 = its first), holding that batch. */
const exitAtClaim = Number(process.env.QUICKBEAM_TEST_COMPILE_WORKER_EXIT_AT ?? 0);
let claims = 0;

port.postMessage({ ready: true });

port.on('message', (job: WorkerJob) => {
  const ctl = new Int32Array(job.control);
  const numBatches = job.plan.length - 1;
  const bytes = new Uint8Array(job.bytes, 0, job.byteLength);
  let compiler: BatchCompiler | null = null;
  for (let k = Atomics.add(ctl, CTL_NEXT, 1); k < numBatches; k = Atomics.add(ctl, CTL_NEXT, 1)) {
    if (++claims === exitAtClaim) process.exit(1);
    const out: WorkerResult = { jobId: job.jobId, batch: k };
    const transfer: ArrayBuffer[] = [];
    try {
      compiler ??= new BatchCompiler(decodeModuleHeaders(bytes, job.features), job.features, job.codegen, bytes, job.validateOnly);
      const r = compiler.tryCompile(job.plan[k], job.plan[k + 1], job.bodyStarts, job.bodyEnds);
      out.result = r;
      if ('code' in r && r.code.length > 0) transfer.push(r.code.buffer as ArrayBuffer, r.entries.buffer as ArrayBuffer, r.pcOffsets.buffer as ArrayBuffer, r.wasmOffsets.buffer as ArrayBuffer, r.callRelocs.buffer as ArrayBuffer);
    } catch (e) {
      out.crashed = String((e as Error)?.stack ?? e);
    }
    port.postMessage(out, transfer);
    Atomics.add(ctl, CTL_DELIVERED, 1);
    Atomics.notify(ctl, CTL_DELIVERED);
  }
});
