// Process-wide canonical ids for function types, so that call_indirect checks a signature with one
// 32-bit compare, across modules.

import { FuncType } from '../decode/types.js';
import { CONCRETE_SHIFT, REF_CONCRETE, REF_NON_NULL } from '../decode/ref-types.js';

const ids = new Map<string, number>();

export function signatureId(type: FuncType): number {
  let id = ids.get(type.key);
  if (id === undefined) {
    id = ids.size + 1;
    ids.set(type.key, id);
  }
  return id;
}

/**
 * A value type in process-wide terms, for runtime objects shared between modules (global cells, tables): a
 * concrete reference (ref null? $t) becomes REF_CONCRETE | signatureId($t) << 10, so that equal types from
 * different modules are the same number (compare with isSubtype(a, b, null)). Other types are unchanged.
 */
export function canonicalType(t: number, types: readonly FuncType[]): number {
  if (!(t & REF_CONCRETE)) return t;
  return REF_CONCRETE | (signatureId(types[t >>> CONCRETE_SHIFT]) << CONCRETE_SHIFT) | (t & REF_NON_NULL);
}
