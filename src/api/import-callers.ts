// Per-signature specialised callers of imported JS functions: for an import whose params and result are plain
// numbers (i32, i64, f32, f64; at most one result), a caller generated once per signature shape (new Function)
// that reads the arguments straight out of the args buffer, calls the function with them as named arguments and
// writes a primitive result straight back. Anything else (a result that is not a primitive of the right kind, a
// Suspending import's suspension) goes to the generic path in builtins.ts, which converts as the JS API
// specifies.
//
// Why: the generic path (an arguments array, a switch per value, Reflect.apply) was a third of a host call's
// cost once koffi's callback was out of the way; see BENCHMARKS.md section 4.

import { FuncType } from '../decode/types.js';
import { argsF32, argsF64, argsI32, argsI64 } from '../runtime/exec-state.js';
import { makerForSignature } from './signature-shape.js';

/** A host call to an import: returns 0, a trap code or SUSPENDED_CODE (and may throw). */
export type ImportCaller = () => number;
/** The generic handling of a result the caller does not take itself (it converts, checks and writes it). */
export type SlowResult = (result: unknown) => number;
type Make = (fn: Function, slow: SlowResult) => ImportCaller;

const makers = new Map<string, Make>();

function makerFor(shape: string): Make {
  const [params, result] = shape.split('>');
  const args: string[] = [];
  for (let k = 0; k < params.length; k++) {
    switch (params[k]) {
      case 'i': args.push(`I32[${2 * k}]`); break;
      case 'f': args.push(`F32[${2 * k}]`); break;
      case 'F': args.push(`F64[${k}]`); break;
      case 'I': args.push(`I64[${k}]`); break;
    }
  }
  // A result of the expected primitive kind is written as the args buffer's typed array converts it (ToInt32,
  // Math.fround, ToBigInt64: what ToWebAssemblyValue does for a primitive); anything else, including the
  // Suspending marker, takes the generic path.
  let write: string;
  switch (result) {
    case 'i': write = `if (typeof r !== 'number') return slow(r); I32[0] = r; I32[1] = 0; return 0;`; break;
    case 'f': write = `if (typeof r !== 'number') return slow(r); F32[0] = r; I32[1] = 0; return 0;`; break;
    case 'F': write = `if (typeof r !== 'number') return slow(r); F64[0] = r; return 0;`; break;
    case 'I': write = `if (typeof r !== 'bigint') return slow(r); I64[0] = r; return 0;`; break;
    default: write = `return typeof r === 'symbol' ? slow(r) : 0;`;
  }
  const body =
    `return function make(fn, slow) {\n` +
    `  return function hostImport() {\n` +
    `    const r = fn(${args.join(', ')});\n` +
    `    ${write}\n` +
    `  };\n` +
    `};`;
  return new Function('I32', 'I64', 'F32', 'F64', body)(argsI32, argsI64, argsF32, argsF64) as Make;
}

/** A specialised caller of import `fn` of type `type`, or null when the signature has none. */
export function specialisedImportCaller(fn: Function, type: FuncType, slow: SlowResult): ImportCaller | null {
  const make = makerForSignature(makers, type, makerFor);
  return make === null ? null : make(fn, slow);
}
