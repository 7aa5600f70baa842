// Process-wide canonical ids for defined types (decode/gc-types.ts), so that call_indirect checks a signature
// with one 32-bit compare, across modules.

import { FuncType } from '../decode/types.js';
import { CONCRETE_SHIFT, REF_CONCRETE } from '../decode/ref-types.js';
import { canonOf } from '../decode/gc-types.js';

/** The canonical id of a type: equal for equal types of any module (its signature id for a function type). */
export function signatureId(type: FuncType): number {
  return canonOf(type);
}

/**
 * A value type in process-wide terms, for runtime objects shared between modules (global cells, tables): a
 * concrete reference (ref null? $t) becomes REF_CONCRETE | canonicalId($t) << 10 (kind and null-ness kept), so
 * that equal types from different modules are the same number (compare with isSubtype(a, b, null)). Other
 * types are unchanged.
 */
export function canonicalType(t: number, types: readonly FuncType[]): number {
  if (!(t & REF_CONCRETE)) return t;
  return REF_CONCRETE | (signatureId(types[t >>> CONCRETE_SHIFT]) << CONCRETE_SHIFT) | (t & 0x1ff);
}
