// Compile cost in instructions of the main thread (callgrind), cold and warm: steadier than CPU time on a shared
// machine, and it separates a fresh process's first compile (our compiler still cold JavaScript) from a warm one.
//
//   node bench/compile-instructions.mjs [--node PATH]... [--lib PATH] [--module FILE] [--counts 0,1,4,8]
//
// For each node (default: this one), runs `valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes
// --smc-check=all-non-file node --perf-basic-prof THIS --child LIB FILE N` for each N (processes compiling FILE
// eagerly N times, `{ lazy: false, threads: 1 }`) and prints the main thread's instructions:
//   first = N=1 - N=0 (a fresh process's first compile), warm = (N=8 - N=4) / 4.
// --fair-sched=yes matters: with valgrind's default scheduling the main thread and V8's background compile threads
// interleave differently from run to run (N=1 varied by 35%); with it, repeated runs agree within ~0.2%.
// NODE_EXTRA_CA_CERTS is removed (node would parse the certificates first). Defaults: --lib dist/quickbeam.mjs,
// --module ../shared/workloads/sqlite/sqlite.wasm32.wasm. Needs valgrind.
//
// Child mode: node bench/compile-instructions.mjs --child LIB FILE N

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const argv = process.argv.slice(2);

if (argv[0] === '--child') {
  const W = (await import(pathToFileURL(argv[1]).href)).default;
  const bytes = new Uint8Array(fs.readFileSync(argv[2]));
  const n = Number(argv[3]);
  for (let i = 0; i < n; i++) new W.Module(bytes, { lazy: false, threads: 1 });
  console.log(`pid ${process.pid}`); // (the parent removes this process's perf map)
} else {
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const nodes = argv.flatMap((a, i) => (a === '--node' ? [argv[i + 1]] : []));
  if (nodes.length === 0) nodes.push(process.execPath);
  const lib = path.resolve(opt('--lib', path.join(root, 'dist/quickbeam.mjs')));
  const file = path.resolve(opt('--module', path.join(root, '../shared/workloads/sqlite/sqlite.wasm32.wasm')));
  const counts = opt('--counts', '0,1,4,8').split(',').map(Number);
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;

  const mainThreadInstructions = (node, n) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qb-callgrind-'));
    try {
      const out = path.join(dir, 'cg.out');
      const r = spawnSync('valgrind', [
        '--tool=callgrind', '--fair-sched=yes', '--separate-threads=yes', '--smc-check=all-non-file', '--dump-instr=no',
        `--callgrind-out-file=${out}`, node, '--perf-basic-prof', fileURLToPath(import.meta.url), '--child', lib, file, String(n),
      ], { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`valgrind failed: ${r.stderr.slice(-2000)}`);
      // (the perf map names the JIT code in callgrind's listing; the counts do not need it: remove it)
      const pid = /^pid (\d+)$/m.exec(r.stdout)?.[1];
      if (pid !== undefined) fs.rmSync(`/tmp/perf-${pid}.map`, { force: true });
      const text = fs.readFileSync(`${out}-01`, 'utf8');
      return Number(/^(?:summary|totals): (\d+)/m.exec(text)[1]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  for (const node of nodes) {
    const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
    const ir = {};
    for (const n of counts) ir[n] = mainThreadInstructions(node, n);
    const m = (x) => `${(x / 1e6).toFixed(0)} M`;
    const parts = counts.map((n) => `N=${n} ${m(ir[n])}`);
    if (ir[0] !== undefined && ir[1] !== undefined) parts.push(`first ${m(ir[1] - ir[0])}`);
    if (ir[4] !== undefined && ir[8] !== undefined) parts.push(`warm ${m((ir[8] - ir[4]) / 4)}`);
    console.log(`${version} ${path.basename(file)}: ${parts.join(', ')}`);
  }
}
