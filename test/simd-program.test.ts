// End-to-end check of the SIMD benchmark program (bench/programs/simd/simd.c, built by
// scripts/build-bench-simd.sh): run once under Quickbeam for wasm32 and wasm64, and its output checksum
// must equal the one Node's own V8 computes for the same module (run in a child process, which needs
// --experimental-wasm-memory64 for the wasm64 build on Node 20).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import quickbeam from '../src/index.js';

// dist/test/ -> project root
const BUILD = fileURLToPath(new URL('../../bench/programs/build/', import.meta.url));

function fnv1a64(bytes: ArrayLike<number>): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < bytes.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(bytes[i]!)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

/** Output checksum and run() result under V8, from a child process. */
function v8Checksum(file: string): { sum: string; ret: string } {
  const script = `
    const fs = require('node:fs');
    let h = 0xcbf29ce484222325n;
    const env = {
      putchar: (c) => { h = BigInt.asUintN(64, (h ^ BigInt(c & 255)) * 0x100000001b3n); },
      print_i64: () => {},
    };
    const inst = new WebAssembly.Instance(new WebAssembly.Module(fs.readFileSync(${JSON.stringify(file)})), { env });
    const ret = BigInt.asUintN(64, BigInt(inst.exports.run()));
    console.log(h.toString(16).padStart(16, '0') + ' ' + ret.toString(16).padStart(16, '0'));`;
  const memory64Flag = Number(process.versions.node.split('.')[0]) < 24 ? ['--experimental-wasm-memory64'] : []; // (on from Node 24, which refuses the flag)
  const out = execFileSync(process.execPath, [...memory64Flag, '-e', script], { encoding: 'utf8' }).trim();
  const [sum, ret] = out.split(' ');
  return { sum: sum!, ret: ret! };
}

for (const bits of ['wasm32', 'wasm64']) {
  test(`simd.${bits}: same checksum as V8`, async () => {
    const file = `${BUILD}simd.${bits}.wasm`;
    const output: number[] = [];
    let printed: bigint | null = null;
    const env = {
      putchar: (c: number) => void output.push(c & 255),
      print_i64: (v: bigint) => void (printed = BigInt.asUintN(64, BigInt(v))),
    };
    const { instance } = await quickbeam.instantiate(readFileSync(file), { env });
    const ret = BigInt.asUintN(64, BigInt((instance.exports as { run: () => bigint }).run()));
    const want = v8Checksum(file);
    assert.is(want.sum, want.ret, 'V8: run() returns the output checksum');
    assert.is(fnv1a64(output), want.sum, `output checksum (${output.length} bytes)`);
    assert.is(ret.toString(16).padStart(16, '0'), want.sum, 'run() result');
    assert.is(printed!.toString(16).padStart(16, '0'), want.sum, 'print_i64 argument');
    assert.match(String.fromCharCode(...output), /^simd: 512x512 image, \d+ repetitions\n/);
  });
}

test.run();
