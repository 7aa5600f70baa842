// Process-wide canonical ids for function types, so that call_indirect checks a signature with one
// 32-bit compare, across modules.

import { FuncType } from '../decode/types.js';

const ids = new Map<string, number>();

export function signatureId(type: FuncType): number {
  let id = ids.get(type.key);
  if (id === undefined) {
    id = ids.size + 1;
    ids.set(type.key, id);
  }
  return id;
}
