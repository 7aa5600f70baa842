// Typed function references at the JS boundary: a value passed for (ref null? $t) must be a wasm function of
// type $t (a TypeError otherwise, as V8), and any function-family reference keeps its instance alive like a
// funcref. Types here are the module's own (type indices into its type section).

import { isCanonSubtype } from '../decode/gc-types.js';
import { Heap, concreteIndex, isRefType, refTop } from '../decode/ref-types.js';
import { toWebAssemblyValue, type RawValue } from '../runtime/js-values.js';
import { readU32 } from '../runtime/native.js';
import { FUNCREC_SIG } from '../runtime/layout.js';

/** Whether values of type t are FuncRecord addresses (funcref, (ref func), (ref $t), nullfuncref). */
export function isFuncFamily(t: number): boolean {
  return isRefType(t) && refTop(t) === Heap.Func;
}

/**
 * ToWebAssemblyValue for a runtime object's (global cell's, table's) type, a process-wide type number (see
 * compile/signatures.ts canonicalType): a concrete function type's index is the signature id itself.
 */
export function toCanonicalValue(v: unknown, t: number): RawValue {
  const raw = toWebAssemblyValue(v, t);
  const sig = concreteIndex(t);
  if (sig >= 0 && raw !== 0 && readU32((raw as number) + FUNCREC_SIG) !== sig) {
    throw new TypeError('type incompatibility when transforming from/to JS');
  }
  return raw;
}

/**
 * For a concrete function reference type: throws a TypeError when `raw` (a FuncRecord address, 0 for null) is
 * a function of another signature. `sigIds` are the module's process-wide signature ids by type index.
 */
export function checkFuncSignature(raw: number, t: number, sigIds: ArrayLike<number>, signatureOf: (rec: number) => number): void {
  const idx = concreteIndex(t);
  if (idx < 0 || raw === 0) return;
  if (!isCanonSubtype(signatureOf(raw), sigIds[idx])) throw new TypeError('type incompatibility when transforming from/to JS'); // (V8's words)
}
