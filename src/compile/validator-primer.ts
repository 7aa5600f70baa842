// Type feedback for the fast validator before its first real body. V8 optimises the validator's loop while a
// big module is being validated, and every path the loop first takes after that (a long immediate, a block
// with a type index, a pop in unreachable code) meets an operation without type feedback and throws the
// optimised code away ("insufficient type feedback"), 4-6 times per cold start, each followed by tens of ms in
// slower tiers while TurboFan compiles it again. One small body that takes every path of the loop once, run
// in the interpreter before the first module (~0.1 ms), gives every operation its feedback up front.

import { decodeModule } from '../decode/module-decoder.js';
import type { Features } from '../decode/features.js';
import { BodyValidator } from './validate-body.js';

// Section helpers for a hand-assembled module (sizes below 128 bytes are one LEB byte, except the code section).
function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const I32 = 0x7f, I64 = 0x7e, F32 = 0x7d, F64 = 0x7c, EMPTY = 0x40;

/** The primer's body: every case of the validator's hot loop, with short and long immediates, live and dead. */
const BODY = [
  6, 1, I32, 1, I64, 1, F32, 1, F64, 1, 0x70, 1, 0x6f, // locals 0..5 (funcref, externref: every plain type's test)
  // numeric: binary, unary, sign extension; i32.const short and long (slow LEB path)
  0x41, 1, 0x41, 0xac, 0x02, 0x6a, 0x45, 0xc0, 0x21, 0x00,
  0x20, 0x80, 0x00, 0x22, 0x00, 0x1a, // local.get (padded index), local.tee, drop
  0x42, 5, 0x42, 0xd4, 0x7d, 0x7c, 0x21, 0x01, // i64.const short and long, i64.add
  0x43, 0, 0, 0, 0, 0x21, 0x02, 0x44, 0, 0, 0, 0, 0, 0, 0, 0, 0x21, 0x03,
  0x23, 0x00, 0x24, 0x80, 0x00, // global.get, global.set (padded)
  // loads and stores: one-byte memarg, and a long offset (the memarg method)
  0x41, 0, 0x28, 0x02, 0x00, 0x1a,
  0x41, 0, 0x29, 0x03, 0xc8, 0x01, 0x1a,
  0x41, 0, 0x20, 0x00, 0x36, 0x02, 0x00,
  0x41, 0, 0x20, 0x01, 0x37, 0x03, 0xc8, 0x01,
  // blocks: empty, value type, type index with a param; loop with br_if (short and padded label)
  0x02, EMPTY, 0x0b,
  0x02, I32, 0x41, 1, 0x0b, 0x1a,
  0x41, 7, 0x02, 0x01, 0x41, 1, 0x0d, 0x00, 0x0b, 0x1a,
  0x03, EMPTY, 0x20, 0x00, 0x0d, 0x00, 0x20, 0x00, 0x0d, 0x80, 0x00, 0x0b,
  // if / else, and an if without else whose params are its results
  0x20, 0x00, 0x04, EMPTY, 0x01, 0x05, 0x01, 0x0b,
  0x41, 1, 0x20, 0x00, 0x04, 0x01, 0x0b, 0x1a,
  // dead code: pops from an empty unreachable frame after br, unreachable, return
  0x02, EMPTY, 0x0c, 0x00, 0x6a, 0x1a, 0x1a, 0x0b,
  0x02, I32, 0x00, 0x0b, 0x1a,
  0x20, 0x00, 0x04, EMPTY, 0x0f, 0x0b,
  // calls (short and padded index), call_indirect, select, br_table, memory.size / grow, 0xfc operators
  0x41, 1, 0x10, 0x01, 0x10, 0x81, 0x00, 0x1a,
  0x41, 1, 0x41, 0, 0x11, 0x01, 0x00, 0x1a,
  0x41, 1, 0x41, 2, 0x20, 0x00, 0x1b, 0x1a,
  0x02, EMPTY, 0x02, EMPTY, 0x20, 0x00, 0x0e, 0x01, 0x00, 0x01, 0x0b, 0x0b,
  0x3f, 0x00, 0x40, 0x00, 0x1a,
  0x43, 0, 0, 0, 0, 0xfc, 0x00, 0x1a,
  0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 0x0b, 0x00,
  0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 0x0a, 0x00, 0x00,
  0x0b,
];

/** The primer as a module (exported for tests). */
export function primerModule(): Uint8Array {
  const types = section(1, [2, 0x60, 0, 0, 0x60, 1, I32, 1, I32]); // 0: [] -> [], 1: [i32] -> [i32]
  const funcs = section(3, [2, 0, 1]);
  const table = section(4, [1, 0x70, 0x00, 1]);
  const memory = section(5, [1, 0x00, 1]);
  const global = section(6, [1, I32, 1, 0x41, 0, 0x0b]);
  const callee = [0, 0x20, 0x00, 0x0f, 0x0b]; // (return with a result)
  const code = section(10, [2, ...uleb(BODY.length), ...BODY, callee.length, ...callee]);
  return Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...types, ...funcs, ...table, ...memory, ...global, ...code]);
}

const PRIMER_RUNS = 8;
let primed = false;
let attempts = 0;

/**
 * Run the fast validator once over the primer (once per thread; afterwards a no-op). Returns whether the primer
 * validated, which it does with the default features: tests check it, so that it keeps covering the loop. With
 * features turned off it may not (nothing depends on it; a later module with other features tries again).
 */
export function primeBodyValidator(features: Features): boolean {
  if (primed || attempts >= 3) return primed;
  attempts++;
  try {
    const bytes = primerModule();
    const starts = [0, 0], ends = [0, 0];
    const info = decodeModule(bytes, features, (f, s, e) => {
      starts[f] = s;
      ends[f] = e;
    });
    // (Several times: V8 allocates a function's feedback vector only after it has run for a while, and records
    // nothing before that.)
    const v = new BodyValidator(info, features);
    let ok = true;
    for (let i = 0; i < PRIMER_RUNS; i++) for (let f = 0; f < 2; f++) ok = v.validate(f, bytes, starts[f], ends[f]) && ok;
    primed = ok;
  } catch {
    // (a feature the primer uses is off: no priming)
  }
  return primed;
}
