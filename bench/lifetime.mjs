// Resource lifetime under the loops an embedder writes (issue 12): every loop runs N iterations in a fresh
// process per engine and prints the time and the peak RSS (maxRSS of that process), Quickbeam next to V8.
// A loop that fails (e.g. "could not allocate memory") shows the error and the iteration it reached.
//
//   node bench/lifetime.mjs [--quick] [--n N] [--only NAME,NAME] [--engines quickbeam,v8] [--rss-cap MB] [--json]
//   node bench/lifetime.mjs --from A.json,B.json     (the table of earlier --json runs, merged)
//
// N defaults to 1,000,000 for the loops (--quick: 20,000). A loop whose process passes --rss-cap (default
// 4096 MB) is stopped there and reported as such, so that a leak cannot take the machine down. Needs
// `npm run build` first (it imports ../dist/src, or $QB_DIST: another build's dist/src/index.js). Loops:
//   sync          new Module(34-byte module) + new Instance + one call, in a synchronous loop
//   async         `await instantiate(bytes)` of a module with a 1-page memory + one call (only microtasks
//                 between iterations)
//   async-yield   the same, yielding to the event loop (setTimeout) every 2,000 iterations
//   async-inst    `await instantiate(module)`: one compiled module, a new instance (1-page memory) each time
//   trap          new Instance of a 1-page-memory module whose call traps (caught), synchronous
//   cycle         two instances per iteration sharing a table, a global and funcrefs that point both ways
//   memory64      new Instance of a module with an i64 memory (1 page, maximum 16), synchronous
//   lazy          sync, with lazily compiled modules (Quickbeam `{ lazy: true }`; V8 compiles lazily anyway)
//   cached        sync, through Quickbeam's code cache (`{ cache: dir }`: every module after the first is a
//                 hit); V8: plain compile (it has no such option)
// and the microbenchmarks
//   compile       new Module(34-byte module): microseconds per compile (best of 5 rounds of N/20, at most 10,000)
//   instantiate   new Instance of a compiled module with a 1-page memory (not exported): microseconds each (same
//                 rounds)
//   instantiate-exported  the same with the memory exported (Quickbeam: a V8 memory, not a private one)
// Times are wall and CPU (of the whole process: the GC's threads too); on a loaded machine read the CPU.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);

// Modules (wat2wasm output; the WAT is next to each).
const MODULES = {
  // (module (func (export "f") (result i32) i32.const 42))
  tiny: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 7, 5, 1, 1, 102, 0, 0, 10, 6, 1, 4, 0, 65, 42, 11],
  // (module (memory 1) (func (export "f") (result i32) (i32.store (i32.const 8) (i32.const 42)) (i32.load (i32.const 8))))
  mem1: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 5, 1, 1, 102, 0, 0, 10, 16, 1, 14,
    0, 65, 8, 65, 42, 54, 2, 0, 65, 8, 40, 2, 0, 11],
  // mem1 with (export "m" (memory 0))
  mem1exp: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 9, 2, 1, 102, 0, 0, 1, 109, 2, 0,
    10, 16, 1, 14, 0, 65, 8, 65, 42, 54, 2, 0, 65, 8, 40, 2, 0, 11],
  // (module (memory 1) (func (export "f") (result i32) unreachable))
  trap: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 5, 1, 1, 102, 0, 0, 10, 5, 1, 3, 0, 0, 11],
  // (module (memory i64 1 16) (func (export "f") (result i32) (i32.store (i64.const 8) (i32.const 42)) (i32.load (i64.const 8))))
  mem64: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 5, 4, 1, 5, 1, 16, 7, 5, 1, 1, 102, 0, 0, 10, 16, 1, 14,
    0, 66, 8, 65, 42, 54, 2, 0, 66, 8, 40, 2, 0, 11],
  // (module (table (export "t") 2 funcref) (global (export "g") (mut i32) (i32.const 0))
  //   (func $f (export "f") (result i32) i32.const 42) (elem (i32.const 0) $f))
  cycleA: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 3, 2, 1, 0, 4, 4, 1, 112, 0, 2, 6, 6, 1, 127, 1, 65, 0, 11, 7, 13, 3,
    1, 116, 1, 0, 1, 103, 3, 0, 1, 102, 0, 0, 9, 7, 1, 0, 65, 0, 11, 1, 0, 10, 6, 1, 4, 0, 65, 42, 11],
  // (module (import "a" "t" (table 2 funcref)) (import "a" "f" (func $af (result i32)))
  //   (global $g (mut funcref) (ref.null func)) (type $t (func (result i32)))
  //   (func $mine (result i32) i32.const 0) (elem declare func $mine $af)
  //   (func (export "f") (result i32) (table.set 0 (i32.const 1) (ref.func $mine)) (global.set $g (ref.func $af))
  //     (call_indirect (type $t) (i32.const 0))))
  cycleB: [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 127, 2, 15, 2, 1, 97, 1, 116, 1, 112, 0, 2, 1, 97, 1, 102, 0, 0, 3, 3, 2,
    0, 0, 6, 6, 1, 112, 1, 208, 112, 11, 7, 5, 1, 1, 102, 0, 2, 9, 6, 1, 3, 0, 2, 1, 0, 10, 24, 2, 4, 0, 65, 0, 11, 17, 0, 65, 1, 210,
    1, 38, 0, 210, 0, 36, 0, 65, 0, 17, 0, 0, 11],
};

const LOOPS = ['sync', 'async', 'async-yield', 'async-inst', 'trap', 'cycle', 'memory64', 'lazy', 'cached'];
const MICRO = ['compile', 'instantiate', 'instantiate-exported'];

// ------------------------------------------------------------------------------------------------ child

async function child(engineName, loop, n, capMb) {
  const W = engineName === 'quickbeam' ? (await import(process.env.QB_DIST ?? '../dist/src/index.js')).default : WebAssembly;
  const bytes = Object.fromEntries(Object.entries(MODULES).map(([k, v]) => [k, new Uint8Array(v)]));
  let i = 0;
  let sum = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const result = (extra) => {
    const c = process.cpuUsage(c0);
    return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, maxRssKb: process.resourceUsage().maxRSS, iterations: i, ...extra };
  };
  // Checked every 1,024 iterations (the loops' `(i & 1023) === 0 && cap()`).
  const capBytes = capMb * 2 ** 20;
  const cap = () => {
    if (process.memoryUsage.rss() > capBytes) throw new Error(`stopped: RSS above the ${capMb} MB cap`);
    return false;
  };
  try {
    switch (loop) {
      case 'sync':
        for (; i < n; i++) sum += (i & 1023) === 0 && cap() ? 0 : new W.Instance(new W.Module(bytes.tiny)).exports.f();
        break;
      case 'lazy':
      case 'cached': {
        const fs = await import('node:fs');
        const os = await import('node:os');
        const options = engineName !== 'quickbeam' ? undefined
          : loop === 'lazy' ? { lazy: true } : { cache: fs.mkdtempSync(path.join(os.tmpdir(), 'qb-lifetime-cache-')) };
        for (; i < n; i++) sum += (i & 1023) === 0 && cap() ? 0 : new W.Instance(new W.Module(bytes.tiny, options)).exports.f();
        if (options?.cache !== undefined) fs.rmSync(options.cache, { recursive: true, force: true });
        break;
      }
      case 'async':
      case 'async-yield': {
        const yieldEvery = loop === 'async-yield' ? 2000 : 0;
        for (; i < n; i++) {
          if ((i & 1023) === 0) cap();
          const { instance } = await W.instantiate(bytes.mem1);
          sum += instance.exports.f();
          if (yieldEvery !== 0 && i % yieldEvery === yieldEvery - 1) await new Promise((r) => setTimeout(r, 0));
        }
        break;
      }
      case 'async-inst': {
        const m = new W.Module(bytes.mem1);
        for (; i < n; i++) sum += (i & 1023) === 0 && cap() ? 0 : (await W.instantiate(m)).exports.f();
        break;
      }
      case 'trap': {
        const m = new W.Module(bytes.trap);
        for (; i < n; i++) {
          if ((i & 1023) === 0) cap();
          try {
            new W.Instance(m).exports.f();
          } catch (e) {
            if (!(e instanceof W.RuntimeError)) throw e;
            sum += 42;
          }
        }
        break;
      }
      case 'cycle': {
        const a = new W.Module(bytes.cycleA);
        const b = new W.Module(bytes.cycleB);
        for (; i < n; i++) {
          if ((i & 1023) === 0) cap();
          const ea = new W.Instance(a).exports;
          const eb = new W.Instance(b, { a: { t: ea.t, f: ea.f } }).exports;
          sum += eb.f();
        }
        break;
      }
      case 'memory64': {
        const m = new W.Module(bytes.mem64);
        for (; i < n; i++) sum += (i & 1023) === 0 && cap() ? 0 : new W.Instance(m).exports.f();
        break;
      }
      case 'compile':
      case 'instantiate':
      case 'instantiate-exported': {
        // Best of 5 rounds, in microseconds per operation (wall, and CPU of the process).
        const per = Math.max(100, Math.min(10_000, Math.floor(n / 20)));
        const m = new W.Module(loop === 'instantiate-exported' ? bytes.mem1exp : bytes.mem1);
        let best = Infinity;
        let bestCpu = Infinity;
        for (let round = 0; round < 5; round++) {
          const s = performance.now();
          const c = process.cpuUsage();
          if (loop === 'compile') for (let k = 0; k < per; k++) new W.Module(bytes.tiny);
          else for (let k = 0; k < per; k++) new W.Instance(m);
          const cu = process.cpuUsage(c);
          best = Math.min(best, ((performance.now() - s) * 1000) / per);
          bestCpu = Math.min(bestCpu, (cu.user + cu.system) / per);
          i += per;
        }
        return result({ usPerOp: best, cpuUsPerOp: bestCpu });
      }
      default:
        throw new Error(`unknown loop ${loop}`);
    }
  } catch (e) {
    return result({ error: `${e?.name}: ${e?.message}` });
  }
  if (sum !== 42 * n) return result({ error: `wrong sum ${sum} (expected ${42 * n})` });
  return result({});
}

// ------------------------------------------------------------------------------------------------ parent

function runChild(engine, loop, n, capMb) {
  // (memory64 is on from Node 24, whose V8 refuses the old flag)
  const flags = engine === 'v8' && loop === 'memory64' && Number(process.versions.node.split('.')[0]) < 24 ? ['--experimental-wasm-memory64'] : [];
  const r = spawnSync(process.execPath, [...flags, self, '--child', engine, loop, String(n), String(capMb)], {
    encoding: 'utf8', timeout: 4 * 3600_000, maxBuffer: 1 << 20,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line);
  } catch {
    const why = r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
    return { error: `${why}: ${(r.stderr || '').trim().split('\n').slice(-3).join(' | ').slice(0, 300)}` };
  }
}

const fmtMs = (ms) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const fmtMb = (kb) => `${Math.round(kb / 1024)} MB`;

function cell(r, micro) {
  if (r === undefined) return '-';
  if (r.error !== undefined) return `**${r.error}** (after ${r.iterations ?? '?'} iterations${r.maxRssKb ? `, ${fmtMb(r.maxRssKb)}` : ''})`;
  if (micro) return `${r.usPerOp.toFixed(1)} us (CPU ${r.cpuUsPerOp?.toFixed(1) ?? '?'} us)`;
  return `${fmtMs(r.ms)} (CPU ${fmtMs(r.cpuMs)}), ${fmtMb(r.maxRssKb)}`;
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const out = await child(argv[1], argv[2], Number(argv[3]), Number(argv[4]));
    process.stdout.write(`${JSON.stringify(out)}\n`);
    process.exit(0);
  }
  const quick = argv.includes('--quick');
  const nArg = argv.indexOf('--n');
  const n = nArg >= 0 ? Number(argv[nArg + 1]) : quick ? 20_000 : 1_000_000;
  const onlyArg = argv.indexOf('--only');
  const only = onlyArg >= 0 ? argv[onlyArg + 1].split(',') : null;
  const engArg = argv.indexOf('--engines');
  const engines = engArg >= 0 ? argv[engArg + 1].split(',') : ['quickbeam', 'v8'];
  const json = argv.includes('--json');
  const capArg = argv.indexOf('--rss-cap');
  const capMb = capArg >= 0 ? Number(argv[capArg + 1]) : 4096;
  const fromArg = argv.indexOf('--from');
  if (fromArg >= 0) {
    // Print the table of earlier --json runs (e.g. loops run in two processes side by side), merged.
    const fs = await import('node:fs');
    const runs = argv[fromArg + 1].split(',').map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
    const merged = Object.assign({}, ...runs.map((r) => r.results));
    const names = [...LOOPS, ...MICRO].filter((x) => merged[x] !== undefined && (only === null || only.includes(x)));
    printTable(runs[0].n, runs[0].node, engines, names, merged);
    return;
  }
  const names = [...LOOPS, ...MICRO].filter((x) => only === null || only.includes(x));
  const results = {};
  for (const name of names) {
    results[name] = {};
    for (const e of engines) {
      results[name][e] = runChild(e, name, n, capMb);
      if (!json) process.stderr.write(`${name} ${e}: ${JSON.stringify(results[name][e])}\n`);
    }
  }
  if (json) {
    console.log(JSON.stringify({ n, node: process.version, results }, null, 2));
    return;
  }
  printTable(n, process.version, engines, names, results);
}

function printTable(n, node, engines, names, results) {
  console.log(`\nResource lifetime, ${n.toLocaleString('en-US')} iterations per loop (Node ${node}; wall time (CPU time), peak RSS of the process)\n`);
  console.log(`| loop | ${engines.map((e) => (e === 'v8' ? 'V8 (`WebAssembly`)' : 'Quickbeam')).join(' | ')} |`);
  console.log(`|---|${engines.map(() => '---').join('|')}|`);
  for (const name of names) {
    const micro = MICRO.includes(name);
    const cells = engines.map((e) => cell(results[name][e], micro));
    if (micro && engines.length === 2 && results[name].quickbeam?.usPerOp && results[name].v8?.usPerOp) {
      const q = results[name].quickbeam, v = results[name].v8;
      cells[engines.indexOf('quickbeam')] += `: ${(q.usPerOp / v.usPerOp).toFixed(2)}x V8 (CPU ${(q.cpuUsPerOp / v.cpuUsPerOp).toFixed(2)}x)`;
    }
    console.log(`| ${name} | ${cells.join(' | ')} |`);
  }
}

await main();
