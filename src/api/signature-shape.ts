// The shape of a plain-number signature ('iF>i': params, '>', result; i32 i, i64 I, f32 f, f64 F), the key of
// the per-signature JS code generated for exported functions (export-wrappers.ts) and import callers
// (import-callers.ts).

import { FuncType, ValType } from '../decode/types.js';

/** Most params a specialised wrapper or caller takes (more use the generic path). */
const MAX_PARAMS = 16;

function letter(t: ValType): string | null {
  switch (t) {
    case ValType.I32: return 'i';
    case ValType.I64: return 'I';
    case ValType.F32: return 'f';
    case ValType.F64: return 'F';
  }
  return null;
}

/** The signature's shape, or null when it has no specialised code (another type, too many params or results). */
export function signatureShape(type: FuncType): string | null {
  if (type.params.length > MAX_PARAMS || type.results.length > 1) return null;
  let s = '';
  for (const t of type.params) {
    const l = letter(t);
    if (l === null) return null;
    s += l;
  }
  s += '>';
  for (const t of type.results) {
    const l = letter(t);
    if (l === null) return null;
    s += l;
  }
  return s;
}

/**
 * The maker of `type`'s specialised code, built by `build` once per shape and kept in `makers`, or null when
 * the signature has no shape.
 */
export function makerForSignature<M>(makers: Map<string, M>, type: FuncType, build: (shape: string) => M): M | null {
  const shape = signatureShape(type);
  if (shape === null) return null;
  let make = makers.get(shape);
  if (make === undefined) {
    make = build(shape);
    makers.set(shape, make);
  }
  return make;
}
