// Per-signature specialised Exported Functions: for a signature whose params and result are plain numbers
// (i32, i64, f32, f64; at most one result), a wrapper generated once per signature shape (new Function) with one
// named parameter per wasm param, which writes primitive arguments straight into the args buffer and reads the
// result straight out of it. Anything else (a non-primitive argument whose valueOf may run code, a disposed
// instance) takes the generic caller, which converts as the JS API specifies.
//
// Why: the generic wrapper (rest parameters, a loop over the param types, a switch per value) cost about 40 ns
// per call on top of koffi's 14 ns; see BENCHMARKS.md section 4.

import { FuncType } from '../decode/types.js';
import { argsF32, argsF64, argsI32, argsI64 } from '../runtime/exec-state.js';
import { makerForSignature } from './signature-shape.js';

/** What a specialised wrapper calls: `enter` runs the function with the args buffer filled in. */
export type Enter = () => void;
export type SlowCall = (args: ArrayLike<unknown>) => unknown;
type Make = (key: string, state: { disposed: boolean }, enter: Enter, slow: SlowCall) => Function;

const makers = new Map<string, Make>();

function makerFor(shape: string): Make {
  const [params, result] = shape.split('>');
  const names = Array.from(params, (_, k) => `a${k}`);
  const checks: string[] = [];
  const writes: string[] = [];
  for (let k = 0; k < params.length; k++) {
    const a = names[k];
    switch (params[k]) {
      case 'i': checks.push(`typeof ${a} !== 'number'`); writes.push(`I32[${2 * k}] = ${a}; I32[${2 * k + 1}] = 0;`); break;
      case 'f': checks.push(`typeof ${a} !== 'number'`); writes.push(`F32[${2 * k}] = ${a}; I32[${2 * k + 1}] = 0;`); break;
      case 'F': checks.push(`typeof ${a} !== 'number'`); writes.push(`F64[${k}] = ${a};`); break;
      case 'I': checks.push(`typeof ${a} !== 'bigint'`); writes.push(`I64[${k}] = ${a};`); break;
    }
  }
  checks.push('state.disposed');
  const read = result === 'i' ? 'return I32[0];' : result === 'f' ? 'return F32[0];' : result === 'F' ? 'return F64[0];' : result === 'I' ? 'return I64[0];' : '';
  const body =
    `return function make(key, state, enter, slow) {\n` +
    `  return { [key](${names.join(', ')}) {\n` +
    `    if (${checks.join(' || ')}) return slow([${names.join(', ')}]);\n` +
    `    ${writes.join(' ')}\n` +
    `    enter();\n` +
    `    ${read}\n` +
    `  } }[key];\n` +
    `};`;
  return new Function('I32', 'I64', 'F32', 'F64', body)(argsI32, argsI64, argsF32, argsF64) as Make;
}

/**
 * A specialised Exported Function named `key` (a method: no prototype, not a constructor; its length is the
 * param count), or null when the signature has none.
 */
export function specialisedWrapper(key: string, type: FuncType, state: { disposed: boolean }, enter: Enter, slow: SlowCall): Function | null {
  const make = makerForSignature(makers, type, makerFor);
  return make === null ? null : make(key, state, enter, slow);
}
