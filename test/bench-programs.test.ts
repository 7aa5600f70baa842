// End-to-end checks with Quickbeam's own benchmark programs (bench/programs): each is compiled and run once
// under Quickbeam, for wasm32 and for wasm64, and its output checksum must equal the one V8 computed
// (bench/programs/expected.json). The whole file takes a few seconds.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import quickbeam from '../src/index.js';

// dist/test/ -> project root
const PROGRAMS = fileURLToPath(new URL('../../bench/programs/', import.meta.url));
const expected = JSON.parse(readFileSync(PROGRAMS + 'expected.json', 'utf8')) as Record<string, Record<string, string>>;

/** FNV-1a 64 of the bytes, as 16 hex digits: the workloads' checksum. */
function fnv1a64(bytes: ArrayLike<number>): string {
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < bytes.length; i++) h = BigInt.asUintN(64, (h ^ BigInt(bytes[i]!)) * 0x100000001b3n);
  return h.toString(16).padStart(16, '0');
}

async function runWorkload(file: string): Promise<{ output: number[]; printed: bigint | null; returned: bigint }> {
  const output: number[] = [];
  let printed: bigint | null = null;
  const env = {
    putchar: (c: number) => void output.push(c & 255),
    print_i64: (v: bigint) => void (printed = BigInt.asUintN(64, BigInt(v))),
  };
  const { instance } = await quickbeam.instantiate(readFileSync(file), { env });
  const ret = (instance.exports as { run: () => bigint }).run();
  return { output, printed, returned: BigInt.asUintN(64, BigInt(ret)) };
}

test('expected.json lists the programs, for wasm32 and wasm64', () => {
  assert.ok(Object.keys(expected).length >= 6, 'at least six programs');
  for (const [name, sums] of Object.entries(expected)) {
    for (const bits of ['wasm32', 'wasm64']) {
      assert.match(sums[bits] ?? '', /^[0-9a-f]{16}$/, `${name} ${bits}`);
      assert.ok(existsSync(`${PROGRAMS}build/${name}.${bits}.wasm`), `${name}.${bits}.wasm is built`);
    }
  }
});

for (const [name, sums] of Object.entries(expected)) {
  for (const bits of ['wasm32', 'wasm64']) {
    test(`${name}.${bits}: same checksum as V8`, async () => {
      const r = await runWorkload(`${PROGRAMS}build/${name}.${bits}.wasm`);
      const want = sums[bits]!;
      const got = fnv1a64(r.output);
      assert.is(got, want, `output checksum (${r.output.length} bytes of output)`);
      assert.is(r.returned.toString(16).padStart(16, '0'), want, 'run() result');
      assert.is(r.printed?.toString(16).padStart(16, '0'), want, 'print_i64 argument');
    });
  }
}

test.run();
