// Typed function references at the JS boundary: a value passed for (ref null? $t) must be a wasm function of
// type $t (a TypeError otherwise, as V8), and any function-family reference keeps its instance alive like a
// funcref. Types here are the module's own (type indices into its type section).

import { isCanonSubtype } from '../decode/gc-types.js';
import { Heap, KIND_MASK, concreteIndex, isRefType, refTop } from '../decode/ref-types.js';
import { objectCanon } from '../runtime/gc-heap.js';
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
  const id = concreteIndex(t);
  if (id >= 0 && raw !== 0 && !isCanonSubtype(canonTypeOf(raw as number, t), id)) {
    throw new TypeError('type incompatibility when transforming from/to JS');
  }
  return raw;
}

/**
 * The canonical type of a non-null reference already known to be of t's kind (toWebAssemblyValue checked it): a
 * function's signature id, or (GC) a struct's or array's type.
 */
function canonTypeOf(raw: number, t: number): number {
  return (t & KIND_MASK) === 0 ? readU32(raw + FUNCREC_SIG) : objectCanon(raw);
}

/**
 * For a concrete reference type: throws a TypeError when `raw` (a FuncRecord address, a GC object's, 0 for null)
 * is a function of another signature or (GC) an object of a type that is not $t or a subtype. `sigIds` are the module's process-wide signature ids by type index.
 */
export function checkFuncSignature(raw: number, t: number, sigIds: ArrayLike<number>, signatureOf: (rec: number) => number): void {
  const idx = concreteIndex(t);
  if (idx < 0 || raw === 0) return;
  const actual = (t & KIND_MASK) === 0 ? signatureOf(raw) : objectCanon(raw);
  if (!isCanonSubtype(actual, sigIds[idx])) throw new TypeError('type incompatibility when transforming from/to JS'); // (V8's words)
}
