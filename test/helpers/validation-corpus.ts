// What the fast validators' tests share (validate-body.test.ts, validator-wasm.test.ts): the spec suites' modules
// as a corpus, decoding one into its bodies, the function compiler's own verdict on a body, a PRNG for mutations.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeModule } from '../../src/decode/module-decoder.js';
import type { Features } from '../../src/decode/features.js';
import type { ModuleInfo } from '../../src/decode/types.js';
import { BatchCompiler } from '../../src/compile/batch-compiler.js';
import { CompileError } from '../../src/errors.js';
import { uleb as ulebInto } from './wasm-builder.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const suite = path.resolve(root, process.env.QUICKBEAM_TESTSUITE || '../shared/wasm-testsuite/json');
const OPTIONS = { boundsChecks: true, interruptible: false, fuel: false };

/** The unsigned LEB128 bytes of n. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  ulebInto(out, n);
  return out;
}

/** examples/hello.wasm and the .wasm files of these spec suite groups (none without ../shared). */
export function wasmFiles(groups: readonly string[]): string[] {
  const out: string[] = [path.join(root, 'examples/hello.wasm')];
  for (const group of groups) {
    const dir = path.join(suite, group);
    if (!fs.existsSync(dir)) continue;
    for (const sub of fs.readdirSync(dir).sort()) {
      const d = path.join(dir, sub);
      if (!fs.statSync(d).isDirectory()) continue;
      for (const f of fs.readdirSync(d).sort()) if (f.endsWith('.wasm')) out.push(path.join(d, f));
    }
  }
  return out;
}

/** A decoded module: its bytes, declarations, and each function's body at bytes[starts[f], ends[f]). */
export interface Decoded {
  bytes: Uint8Array;
  info: ModuleInfo;
  starts: Int32Array;
  ends: Int32Array;
}

/** Decode a module (null when the decoder rejects it). */
export function decode(bytes: Uint8Array, features: Features): Decoded | null {
  const starts: number[] = [], ends: number[] = [];
  try {
    const info = decodeModule(bytes, features, (f, s, e) => {
      starts[f] = s;
      ends[f] = e;
    });
    return { bytes, info, starts: Int32Array.from(starts, (x) => x ?? 0), ends: Int32Array.from(ends, (x) => x ?? 0) };
  } catch (e) {
    if (e instanceof CompileError) return null;
    throw e;
  }
}

/** Whether the function compiler (validating only, without the fast validators) accepts body f. */
export function compilerAccepts(d: Decoded, features: Features, f: number): boolean {
  try {
    new BatchCompiler(d.info, features, OPTIONS, d.bytes, true, false).compile(f, f + 1, d.starts, d.ends);
    return true;
  } catch (e) {
    if (e instanceof CompileError) return false;
    throw e;
  }
}

/** A deterministic PRNG (xorshift32). */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/**
 * A copy of d with one byte of a random body among [first, n) changed: a random byte, an opcode from `likely`,
 * two bytes swapped, and with `kinds` 4 also a LEB continuation bit set. Null when the chosen body is too short.
 */
export function mutateBody(
  d: Decoded, first: number, n: number, next: () => number, likely: readonly number[], kinds: 3 | 4,
): { f: number; at: number; m: Decoded } | null {
  const f = first + (next() % (n - first));
  const s = d.starts[f], e = d.ends[f];
  if (e - s < 2) return null;
  const copy = d.bytes.slice();
  const at = s + (next() % (e - s));
  const kind = next() % kinds;
  if (kind === 0) copy[at] = next() & 0xff;
  else if (kind === 1) copy[at] = likely[next() % likely.length];
  else if (kind === 2 && kinds === 4) copy[at] |= 0x80; // a LEB that goes on (or an opcode out of range)
  else if (at + 1 < e) [copy[at], copy[at + 1]] = [copy[at + 1], copy[at]];
  return { f, at, m: { ...d, bytes: copy } };
}
