// Instructions executed by a program's run() in Quickbeam's generated code (callgrind: deterministic, so a loaded
// machine does not matter), and how many of them are stores to frame slots.
//
//   node bench/run-instructions.mjs [--lib DIST/src/index.js] [--top N] [--annotate PREFIX] FILE.wasm...
//
// For each FILE (a freestanding bench program: env.putchar, env.print_i64, export run), runs
// `valgrind --tool=callgrind --dump-instr=yes --separate-threads=yes --smc-check=all-non-file node THIS --child LIB
// FILE LAYOUT` (compiled eagerly on the main thread, `{ lazy: false, threads: 1 }`, then run() once), sums the main
// thread's instruction counts at the addresses of the module's code block, and maps them onto the machine code
// (the same bytes compiled again by compileModule, disassembled with objdump: code is deterministic) to count
// executed `mov [rbp-d], reg` (stores to locals and value-stack slots). Prints one line per file; --top N adds the
// N functions executing the most instructions; --annotate PREFIX writes PREFIX.FILE.txt, every executed instruction
// with its count, in address order. Needs valgrind and objdump.

import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);

if (argv[0] === '--child') {
  const [, lib, file, layoutOut] = argv;
  const W = (await import(pathToFileURL(lib).href)).default;
  const { moduleInternals } = await import(pathToFileURL(path.join(path.dirname(lib), 'api/module.js')).href);
  const mod = new W.Module(fs.readFileSync(file), { lazy: false, threads: 1 });
  const m = moduleInternals(mod);
  fs.writeFileSync(layoutOut, JSON.stringify({ addr: Number(m.code.addr), size: m.code.size }));
  const inst = new W.Instance(mod, { env: { putchar() {}, print_i64() {} } });
  inst.exports.run();
  process.exit(0);
}

let lib = path.resolve(here, '../dist/src/index.js'), top = 0, annotate = null;
const files = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--lib') lib = path.resolve(argv[++i]);
  else if (argv[i] === '--top') top = Number(argv[++i]);
  else if (argv[i] === '--annotate') annotate = argv[++i];
  else files.push(argv[i]);
}

/** Per-address instruction counts of the main thread inside [lo, hi) from a callgrind file (--dump-instr=yes). */
function countsIn(text, lo, hi) {
  const counts = new Map();
  let last = 0, skipNext = false;
  for (const line of text.split('\n')) {
    const c = line.charCodeAt(0);
    if (line.startsWith('calls=')) {
      skipNext = true; // the next cost line is the call's inclusive cost
      continue;
    }
    if (!(c === 43 || c === 45 || c === 42 || (c >= 48 && c <= 57))) continue; // +, -, *, digit
    const parts = line.split(' ');
    const p = parts[0];
    let addr;
    if (p === '*') addr = last;
    else if (p[0] === '+') addr = last + parseInt(p.slice(1), p.startsWith('+0x') ? 16 : 10);
    else if (p[0] === '-') addr = last - parseInt(p.slice(1), p.startsWith('-0x') ? 16 : 10);
    else addr = p.startsWith('0x') ? parseInt(p, 16) : parseInt(p, 10);
    last = addr;
    if (skipNext) {
      skipNext = false;
      continue;
    }
    const ir = Number(parts[2] ?? 0);
    if (addr >= lo && addr < hi && ir > 0) counts.set(addr - lo, (counts.get(addr - lo) ?? 0) + ir);
  }
  return counts;
}

const { compileModule } = await import(pathToFileURL(path.join(path.dirname(lib), 'compile/module-compiler.js')).href);
const { DEFAULT_FEATURES } = await import(pathToFileURL(path.join(path.dirname(lib), 'decode/features.js')).href);
const { functionRanges } = await import(pathToFileURL(path.join(path.dirname(lib), 'cli/compile-cmd.js')).href);

for (const file of files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qb-runinstr-'));
  try {
    const out = path.join(dir, 'cg.out'), layoutFile = path.join(dir, 'layout.json');
    const r = spawnSync('valgrind', ['--tool=callgrind', '--dump-instr=yes', '--separate-threads=yes',
      '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, fileURLToPath(import.meta.url),
      '--child', lib, path.resolve(file), layoutFile], { encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`valgrind failed: ${r.stderr.slice(-2000)}`);
    const layout = JSON.parse(fs.readFileSync(layoutFile, 'utf8'));
    const counts = countsIn(fs.readFileSync(`${out}-01`, 'utf8'), layout.addr, layout.addr + layout.size);
    // The same code, disassembled: which executed instructions are stores to frame slots.
    const c = compileModule(new Uint8Array(fs.readFileSync(file)), DEFAULT_FEATURES);
    const bin = path.join(dir, 'code.bin');
    fs.writeFileSync(bin, c.code);
    const listing = execFileSync('objdump', ['-D', '-b', 'binary', '-mi386:x86-64', '-M', 'intel', bin],
      { encoding: 'utf8', maxBuffer: 1 << 28 });
    const isStore = new Set();
    for (const line of listing.split('\n')) {
      const m = /^\s*([0-9a-f]+):\t[0-9a-f ]+\t(.*)$/.exec(line);
      if (m && /^mov\s+(DWORD|QWORD) PTR \[rbp-0x[0-9a-f]+\],[a-z]/.test(m[2]) && !/,0x/.test(m[2])) isStore.add(parseInt(m[1], 16));
    }
    if (annotate !== null) {
      // The executed instructions, in address order, with their counts (FILE.NAME.txt per program).
      const lines = [];
      for (const line of listing.split('\n')) {
        const m = /^\s*([0-9a-f]+):\t[0-9a-f ]+\t(.*)$/.exec(line);
        const n = m ? counts.get(parseInt(m[1], 16)) ?? 0 : 0;
        if (n > 0) lines.push(`${String(n).padStart(12)}  ${m[1]}  ${m[2]}`);
      }
      fs.writeFileSync(`${annotate}.${path.basename(file)}.txt`, lines.join('\n') + '\n');
    }
    let total = 0, stores = 0;
    for (const [off, n] of counts) {
      total += n;
      if (isStore.has(off)) stores += n;
    }
    const M = (x) => (x / 1e6).toFixed(1);
    console.log(`${path.basename(file)}: ${M(total)} M instructions in wasm code, ${M(stores)} M frame-slot stores (${(100 * stores / total).toFixed(1)}%)`);
    if (top > 0) {
      const ranges = functionRanges({ ...c });
      const per = ranges.map((f) => {
        let n = 0, s = 0;
        for (const [off, k] of counts) if (off >= f.start && off < f.end) { n += k; if (isStore.has(off)) s += k; }
        return { name: f.name ?? `#${f.index}`, n, s };
      }).sort((a, b) => b.n - a.n).slice(0, top);
      for (const f of per) console.log(`    ${f.name}: ${M(f.n)} M, stores ${M(f.s)} M (${(100 * f.s / Math.max(f.n, 1)).toFixed(1)}%)`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
