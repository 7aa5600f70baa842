// Runs a WASI command under Node's own WebAssembly, for comparison with `quickbeam run`.
//
//   node examples/node-wasi.mjs [--qb-wasi] [--dir HOST::GUEST]... [--env NAME=VALUE]... FILE.wasm [ARGS...]
//
// By default it uses node:wasi; with --qb-wasi it uses Quickbeam's WASI implementation (dist/src/wasi, run
// `npx tsc -p .` first) on Node's engine. Exits with the program's exit code. Unmodified, it runs on Quickbeam
// with `node --import quickbeam/register examples/node-wasi.mjs FILE.wasm` (node:wasi takes Quickbeam's instance).

import { readFileSync } from 'node:fs';

const argv = process.argv.slice(2);
const preopens = {};
const env = {};
let qbWasi = false;
while (argv.length > 0 && argv[0].startsWith('--')) {
  const opt = argv.shift();
  if (opt === '--qb-wasi') qbWasi = true;
  else if (opt === '--dir') {
    const [host, guest] = argv.shift().split('::');
    preopens[guest ?? host] = host;
  } else if (opt === '--env') {
    const kv = argv.shift();
    const eq = kv.indexOf('=');
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  } else {
    console.error(`unknown option ${opt}`);
    process.exit(2);
  }
}
if (argv.length === 0) {
  console.error('usage: node examples/node-wasi.mjs [--qb-wasi] [--dir HOST::GUEST]... [--env K=V]... FILE.wasm [ARGS...]');
  process.exit(2);
}
const [file, ...args] = argv;
const { WASI } = qbWasi ? await import('../dist/src/wasi/index.js') : await import('node:wasi');
const wasi = new WASI({ version: 'preview1', args: [file, ...args], env, preopens, returnOnExit: true });
const module = new WebAssembly.Module(readFileSync(file));
const instance = new WebAssembly.Instance(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
