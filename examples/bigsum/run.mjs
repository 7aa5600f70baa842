// bigsum driver: sums a multi-GiB file in WebAssembly two ways and compares them.
//
//   mapped          Quickbeam, memory64: the file is mapped into the module's i64 memory (Memory.mapFile,
//                   private copy-on-write, no copy) and bigsum(ptr, len) reads it with plain loads.
//   mapped-trusted  the same, compiled with { boundsChecks: false } (trusted mode).
//   fdread-qb       Quickbeam + Quickbeam's WASI (src/wasi): bigsum-wasi.wasm reads the file with fd_read
//                   into a 4 MiB buffer.
//   fdread-node     V8 + node:wasi running the same bigsum-wasi.wasm, for comparison.
//
// Each variant runs in a fresh child process, which reports its result, the time of the sum itself (for the
// mapped variants the bigsum call; for the WASI ones the whole _start, which includes opening the file) and
// the child's peak RSS (getrusage maxrss). The results (bytes, sum, hash) must all agree.
//
//   node examples/bigsum/run.mjs [--size 5G] [--file PATH] [--sparse] [--keep] [--only a,b] [--repeat N]
//
// Without --file it creates $TMPDIR/quickbeam-bigsum-<size>.bin with pseudo-random data (deterministic,
// reused when --keep left it there); --sparse makes a sparse file instead (a few data blocks, holes
// elsewhere: no disk use, and the kernel serves the holes as zero pages). Needs `npx tsc -p .` first.
// Note: the first variant may pay for reading the file from disk; the others find it in the page cache.
// Run with --repeat 2 to see warm numbers for every variant.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const MAPPED_WASM = path.join(here, 'bigsum-mapped.wasm');
const WASI_WASM = path.join(here, 'bigsum-wasi.wasm');
const VARIANTS = ['mapped', 'mapped-trusted', 'fdread-qb', 'fdread-node'];
const MAP_AT = 1 << 20; // guest address of the file: 1 MiB, above the program's data and stack

function parseSize(s) {
  const m = /^(\d+(?:\.\d+)?)([kmgt]?)i?b?$/i.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  const mult = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2].toLowerCase()];
  return Math.round(Number(m[1]) * mult);
}

function fmtBytes(n) {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${n} B`;
}

function hex64(v) {
  return BigInt.asUintN(64, BigInt(v)).toString(16).padStart(16, '0');
}

function procStatus() {
  const s = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number((new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s) ?? [0, 0])[1]) * 1024;
  return { hwm: kb('VmHWM'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile'), rssShmem: kb('RssShmem') };
}

// ------------------------------------------------------------------------------------------------ child

async function child(variant, file) {
  const size = fs.statSync(file).size;
  let result;
  let ms;
  if (variant === 'mapped' || variant === 'mapped-trusted') {
    const qb = await import(path.join(root, 'dist/src/index.js'));
    const lm = await import(path.join(root, 'dist/src/runtime/linear-memory.js'));
    const pages = Math.ceil((MAP_AT + size) / 65536);
    if (pages * 65536 > lm.getMemory64ReservationCap()) lm.setMemory64ReservationCap(pages * 65536);
    const module = new qb.Module(fs.readFileSync(MAPPED_WASM), { boundsChecks: variant === 'mapped' });
    const memory = new qb.Memory({ initial: pages, index: 'i64' });
    const instance = new qb.Instance(module, { env: { memory } });
    const heapBase = Number(instance.exports.__heap_base.value);
    if (heapBase > MAP_AT) throw new Error(`__heap_base ${heapBase} is above the mapping address ${MAP_AT}`);
    memory.mapFile(file, { at: MAP_AT }); // private: the file is never modified
    const t0 = performance.now();
    const p = instance.exports.bigsum(BigInt(MAP_AT), BigInt(size));
    ms = performance.now() - t0;
    const out = Buffer.from(memory.read(BigInt.asUintN(64, BigInt(p)), 24));
    result = { bytes: Number(out.readBigUInt64LE(16)), sum: hex64(out.readBigUInt64LE(0)), hash: hex64(out.readBigUInt64LE(8)) };
  } else if (variant === 'fdread-qb' || variant === 'fdread-node') {
    const onQb = variant === 'fdread-qb';
    const { WASI } = onQb ? await import(path.join(root, 'dist/src/wasi/index.js')) : await import('node:wasi');
    const engine = onQb ? await import(path.join(root, 'dist/src/index.js')) : WebAssembly;
    // The program prints its result on stdout: capture it through a pipe-free route, a temporary file.
    const outFile = path.join(os.tmpdir(), `bigsum-out-${process.pid}.txt`);
    const outFd = fs.openSync(outFile, 'w+');
    const wasi = new WASI({
      version: 'preview1', args: ['bigsum-wasi.wasm', path.basename(file)], env: {},
      preopens: { '/data': path.dirname(file) }, returnOnExit: true, stdout: outFd,
    });
    const module = new engine.Module(fs.readFileSync(WASI_WASM));
    const instance = new engine.Instance(module, wasi.getImportObject());
    const t0 = performance.now();
    const code = wasi.start(instance);
    ms = performance.now() - t0;
    fs.closeSync(outFd);
    const text = fs.readFileSync(outFile, 'utf8');
    fs.unlinkSync(outFile);
    if (code !== 0) throw new Error(`bigsum-wasi exited with ${code}: ${text}`);
    const m = /bytes=(\d+) sum=([0-9a-f]{16}) hash=([0-9a-f]{16})/.exec(text);
    if (!m) throw new Error(`unexpected output: ${text}`);
    result = { bytes: Number(m[1]), sum: m[2], hash: m[3] };
  } else {
    throw new Error(`unknown variant ${variant}`);
  }
  const maxRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`@@RESULT ${JSON.stringify({ variant, ...result, ms, maxRss, ...procStatus() })}\n`);
}

// ------------------------------------------------------------------------------------------------ parent

function generate(file, size, sparse) {
  const fd = fs.openSync(file, 'w');
  try {
    fs.ftruncateSync(fd, size);
    if (sparse) {
      // One 64 KiB block of data every 256 MiB, plus the last bytes; holes elsewhere.
      const block = Buffer.alloc(65536);
      for (let pos = 0, k = 1; pos < size; pos += 256 * 2 ** 20, k++) {
        for (let i = 0; i < block.length; i++) block[i] = (i * 31 + k) & 255;
        fs.writeSync(fd, block, 0, Math.min(block.length, size - pos), pos);
      }
      const tail = Buffer.from('the end.');
      if (size >= tail.length) fs.writeSync(fd, tail, 0, tail.length, size - tail.length);
      return;
    }
    const CHUNK = 16 * 2 ** 20;
    const buf = new Uint32Array(CHUNK / 4);
    const bytes = new Uint8Array(buf.buffer);
    let x = 2463534242;
    for (let pos = 0; pos < size; pos += CHUNK) {
      for (let i = 0; i < buf.length; i++) {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
        buf[i] = x;
      }
      const n = Math.min(CHUNK, size - pos);
      let done = 0;
      while (done < n) done += fs.writeSync(fd, bytes, done, n - done, pos + done);
    }
  } finally {
    fs.closeSync(fd);
  }
}

function runVariant(variant, file) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', variant, file], {
    encoding: 'utf8', maxBuffer: 16 * 2 ** 20,
  });
  const wall = performance.now() - t0;
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('@@RESULT '));
  if (r.status !== 0 || !line) {
    return { variant, error: `exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}` };
  }
  return { ...JSON.parse(line.slice(9)), wall };
}

async function main() {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') return child(argv[1], argv[2]);
  let size = 5 * 2 ** 30;
  let file = null;
  let sparse = false;
  let keep = false;
  let only = VARIANTS;
  let repeat = 1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--size') size = parseSize(argv[++i]);
    else if (a === '--file') file = argv[++i];
    else if (a === '--sparse') sparse = true;
    else if (a === '--keep') keep = true;
    else if (a === '--only') only = argv[++i].split(',');
    else if (a === '--repeat') repeat = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      console.log('usage: node examples/bigsum/run.mjs [--size 5G] [--file PATH] [--sparse] [--keep] [--only a,b] [--repeat N]');
      console.log(`variants: ${VARIANTS.join(', ')}`);
      return;
    } else throw new Error(`unknown option ${a}`);
  }
  for (const v of only) if (!VARIANTS.includes(v)) throw new Error(`unknown variant ${v} (${VARIANTS.join(', ')})`);
  if (!fs.existsSync(path.join(root, 'dist/src/index.js'))) throw new Error('build first: npx tsc -p .');
  let generated = false;
  if (file === null) {
    file = path.join(os.tmpdir(), `quickbeam-bigsum-${size}${sparse ? '-sparse' : ''}.bin`);
    if (!(fs.existsSync(file) && fs.statSync(file).size === size)) {
      const t0 = performance.now();
      process.stdout.write(`generating ${file} (${fmtBytes(size)}${sparse ? ', sparse' : ''}) ... `);
      generate(file, size, sparse);
      console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    generated = !keep;
  }
  size = fs.statSync(file).size;
  console.log(`file: ${file}, ${fmtBytes(size)} (${size} bytes), ${fmtBytes(fs.statSync(file).blocks * 512)} on disk`);
  const rows = [];
  try {
    for (let k = 0; k < repeat; k++) {
      for (const v of only) {
        const r = runVariant(v, file);
        rows.push(r);
        if (r.error) {
          console.log(`${v.padEnd(15)} FAILED ${r.error}`);
          continue;
        }
        const gbps = size / 2 ** 30 / (r.ms / 1000);
        console.log(`${v.padEnd(15)} sum ${(r.ms / 1000).toFixed(2).padStart(6)} s (${gbps.toFixed(2)} GiB/s)  ` +
          `process ${(r.wall / 1000).toFixed(2).padStart(6)} s  peak RSS ${fmtBytes(r.maxRss).padStart(10)}  ` +
          `(at exit: anon ${fmtBytes(r.rssAnon)}, file-backed ${fmtBytes(r.rssFile)})  ` +
          `bytes=${r.bytes} sum=${r.sum} hash=${r.hash}`);
      }
    }
  } finally {
    if (generated) fs.rmSync(file, { force: true });
  }
  const ok = rows.filter((r) => !r.error);
  const agree = ok.length > 0 && ok.every((r) => r.bytes === size && r.sum === ok[0].sum && r.hash === ok[0].hash);
  console.log(agree ? `results agree (${ok.length} runs)` : 'RESULTS DIFFER');
  if (!agree || ok.length !== rows.length) process.exitCode = 1;
}

await main();
