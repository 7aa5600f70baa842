// Boundary-call costs, layer by layer (BENCHMARKS.md section 4 and docs/ARCHITECTURE.md "Native boundaries").
//
//   node bench/calls.mjs                 tinybench CPU time, ns per call, Quickbeam vs V8 plus the raw koffi floors
//   node bench/calls.mjs --only NAME...  only the cases whose name contains NAME
//   node bench/calls.mjs --count CASE N  run CASE N times after a warm-up, for instruction counts:
//     valgrind --tool=callgrind --smc-check=all-non-file --callgrind-out-file=/tmp/cg.%p node bench/calls.mjs --count import 200000
//     (instructions per call = (Ir at N2 - Ir at N1) / (N2 - N1); callgrind_annotate --inclusive=yes for the layers)
//     or, with --dump-before='node::CPUUsage*' added, the loop's own profile part (the second of three): its Ir / N
//
// Needs `npm run build` first (it imports ../dist/src). --bundle (first argument): Quickbeam as applications load
// it, through the package entry (the library bundle), not the ES modules of dist/src; the koffi floors are then
// left out (they use dist/src's internals).

import { Bench } from 'tinybench';

// QB_DIST=/path/to/dist measures another build (e.g. a baseline checkout's).
const dist = process.env.QB_DIST ?? new URL('../dist', import.meta.url).pathname;
const bundle = process.argv[2] === '--bundle';
if (bundle) process.argv.splice(2, 1);
const quickbeam = (await import(bundle ? `${dist}/quickbeam-entry.mjs` : `${dist}/src/index.js`)).default;

// Same module as bench/run.mjs's call-overhead section.
const CALLS_WASM = Uint8Array.from([0,97,115,109,1,0,0,0,1,37,6,96,1,127,0,96,0,1,127,96,2,127,127,1,127,96,4,127,127,127,127,1,127,96,2,126,126,1,126,96,4,126,126,126,126,1,126,2,9,1,3,101,110,118,1,102,0,0,3,7,6,1,2,3,4,5,0,7,55,6,4,110,111,112,48,0,1,4,97,100,100,50,0,2,4,97,100,100,52,0,3,7,97,100,100,50,95,54,52,0,4,7,97,100,100,52,95,54,52,0,5,10,99,97,108,108,105,109,112,111,114,116,0,6,10,81,6,4,0,65,42,11,7,0,32,0,32,1,106,11,13,0,32,0,32,1,106,32,2,32,3,106,106,11,7,0,32,0,32,1,124,11,13,0,32,0,32,1,124,32,2,32,3,124,124,11,30,1,1,127,2,64,3,64,32,1,32,0,79,13,1,32,1,16,0,32,1,65,1,106,33,1,12,0,11,11,11]);

let acc = 0;
const env = { f: (x) => { acc ^= x; } };
const qb = (await quickbeam.instantiate(CALLS_WASM, { env })).instance.exports;
const v8 = (await WebAssembly.instantiate(CALLS_WASM, { env })).instance.exports;

// The koffi floors: a decoded 0-argument function (`mov eax, 42; ret`), and machine code that calls a
// registered callback n times (the cheapest wasm -> JS path koffi offers).
let koffiRet0 = null, koffiVoid0 = null, koffiRet2 = null, koffiCallbacks = null;
if (!bundle) {
const { koffi } = await import(`${dist}/src/runtime/native.js`);
const { allocatePermanentCode } = await import(`${dist}/src/runtime/code-memory.js`);
const retCode = allocatePermanentCode(Uint8Array.from([0xb8, 42, 0, 0, 0, 0xc3]));
koffiRet0 = koffi.decode(retCode.addr, koffi.proto('int32_t ()'));
// (Quickbeam's entry and resume calls are void, their result in the exec state: N-API's int32 result costs more.)
koffiVoid0 = koffi.decode(retCode.addr, koffi.proto('void ()'));
koffiRet2 = koffi.decode(retCode.addr, koffi.proto('int32_t (int32_t, int32_t)'));
const cbProto = koffi.proto('int32_t (int64_t, int32_t)');
const cb = koffi.register((a, b) => { acc ^= b; return 0; }, koffi.pointer(cbProto));
// loop: push rbx; push r12; push r13; mov ebx, edi; mov r12, imm64(cb); L: test ebx,ebx; jz out; mov edi, 0;
// mov esi, ebx; call r12; dec ebx; jmp L; out: pop r13; pop r12; pop rbx; ret
const cbAddr = BigInt(cb);
const loopBytes = [0x53, 0x41, 0x54, 0x41, 0x55, 0x89, 0xfb, 0x49, 0xbc];
for (let k = 0n; k < 8n; k++) loopBytes.push(Number((cbAddr >> (8n * k)) & 0xffn));
loopBytes.push(0x85, 0xdb, 0x74, 0x0e, 0xbf, 0, 0, 0, 0, 0x89, 0xde, 0x41, 0xff, 0xd4, 0xff, 0xcb, 0xeb, 0xee, 0x41, 0x5d, 0x41, 0x5c, 0x5b, 0xc3);
const loopCode = allocatePermanentCode(Uint8Array.from(loopBytes));
koffiCallbacks = koffi.decode(loopCode.addr, koffi.proto('int32_t (int32_t)'));
}

const BATCH = 10_000;
const cases = [
  ['JS -> wasm, 0 args, i32 result', (x) => () => { for (let i = 0; i < BATCH; i++) acc ^= x.nop0(); }, true],
  ['JS -> wasm, 2 x i32', (x) => () => { for (let i = 0; i < BATCH; i++) acc ^= x.add2(i, 7); }, true],
  ['JS -> wasm, 4 x i32', (x) => () => { for (let i = 0; i < BATCH; i++) acc ^= x.add4(i, 7, 8, 9); }, true],
  ['JS -> wasm, 2 x i64 (BigInt)', (x) => () => { for (let i = 0; i < BATCH; i++) x.add2_64(123n, 456n); }, true],
  ['JS -> wasm, 4 x i64 (BigInt)', (x) => () => { for (let i = 0; i < BATCH; i++) x.add4_64(1n, 2n, 3n, 4n); }, true],
  ['wasm -> JS import, 1 x i32', (x) => () => { x.callimport(BATCH); }, true],
  ['koffi floor: JS -> native, 0 args', () => () => { for (let i = 0; i < BATCH; i++) acc ^= koffiRet0(); }, false],
  ['koffi floor: JS -> native, 0 args, void', () => () => { for (let i = 0; i < BATCH; i++) koffiVoid0(); }, false],
  ['koffi floor: JS -> native, 2 x int32', () => () => { for (let i = 0; i < BATCH; i++) acc ^= koffiRet2(i, 7); }, false],
  ['koffi floor: native -> JS callback', () => () => { koffiCallbacks(BATCH); }, false],
];

const argv = process.argv.slice(2);
if (argv[0] === '--count') {
  const key = argv[1] ?? 'import';
  const n = Number(argv[2] ?? 100000);
  const names = { nop0: 0, add2: 1, add4: 2, add2_64: 3, add4_64: 4, import: 5, koffi0: 6, koffiVoid0: 7, koffi2: 8, koffiCallback: 9 };
  const c = cases[names[key]];
  if (c === undefined) throw new Error(`unknown case ${key} (one of ${Object.keys(names).join(', ')})`);
  const engine = argv[3] === 'v8' ? v8 : qb;
  const run = c[1](engine);
  for (let w = 0; w < 30; w++) run(); // warm-up: 30 batches (optimised by then)
  // (process.cpuUsage() marks the measured loop: callgrind's --dump-before='node::CPUUsage*' writes one profile
  // part for the start-up and warm-up, one for the loop alone.)
  process.cpuUsage();
  for (let r = 0; r < Math.floor(n / BATCH); r++) run();
  process.cpuUsage();
  console.log(`${c[0]}: ${n} calls after ${30 * BATCH} warm-up (acc ${acc})`);
} else {
  const only = argv[0] === '--only' ? argv.slice(1) : [];
  const cpuNow = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
  const bench = new Bench({ time: 500, iterations: 10, warmupTime: 200, now: cpuNow });
  const picked = cases.filter(([name, , both]) => (only.length === 0 || only.some((o) => name.includes(o))) && (both || !bundle));
  for (const [name, mk, both] of picked) {
    bench.add(`qb|${name}`, mk(qb));
    if (both) bench.add(`v8|${name}`, mk(v8));
  }
  await bench.run();
  const ns = (n) => (bench.tasks.find((t) => t.name === n)?.result?.latency?.p50 ?? NaN) * 1e6 / BATCH;
  console.log('| call | Quickbeam ns | V8 ns |');
  console.log('|---|---:|---:|');
  for (const [name, , both] of picked) console.log(`| ${name} | ${ns(`qb|${name}`).toFixed(1)} | ${both ? ns(`v8|${name}`).toFixed(1) : ''} |`);
}
