// Values and options on the command line, shared by `run` and `compare`: wasm arguments parsed by the
// export's signature, results printed, and the WASI `--dir` / `--env` option forms.

import { ValType, valTypeText } from '../decode/types.js';

/** Parse a command-line argument as a value of type t (i32/i64 decimal or 0x hex, floats incl. nan/inf). */
export function parseArgValue(s: string, t: ValType): unknown {
  const bad = (): never => {
    throw new Error(`cannot parse ${JSON.stringify(s)} as ${valTypeText(t)}`);
  };
  switch (t) {
    case ValType.I32: {
      if (!/^[+-]?(0x[0-9a-f]+|\d+)$/i.test(s)) bad();
      const neg = s.startsWith('-');
      const v = Number(s.replace(/^[+-]/, ''));
      if (!Number.isFinite(v) || v >= 2 ** 32 || (neg && v > 2 ** 31)) bad();
      return (neg ? -v : v) | 0;
    }
    case ValType.I64: {
      if (!/^[+-]?(0x[0-9a-f]+|\d+)$/i.test(s)) bad();
      const neg = s.startsWith('-');
      const v = BigInt(s.replace(/^[+-]/, ''));
      return BigInt.asIntN(64, neg ? -v : v);
    }
    case ValType.F32:
    case ValType.F64: {
      const l = s.toLowerCase();
      if (/^[+-]?nan$/.test(l)) return NaN;
      if (/^\+?inf(inity)?$/.test(l)) return Infinity;
      if (/^-inf(inity)?$/.test(l)) return -Infinity;
      const v = Number(s);
      if (Number.isNaN(v) || s.trim() === '') bad();
      return v;
    }
  }
  throw new Error(`parameters of type ${valTypeText(t)} cannot be given on the command line`);
}

/** A result as printed: integers in decimal, -0 and nan spelled out, references by kind. */
export function formatResultValue(v: unknown, t?: number): string {
  if (typeof v === 'bigint') return `${v}`;
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (Object.is(v, -0)) return '-0';
    if (t === ValType.F32) return String(Math.fround(v));
    return String(v);
  }
  if (v === null) return 'null';
  if (typeof v === 'function') return 'funcref';
  return typeof v === 'object' ? 'externref' : String(v);
}

/** `--dir HOST[::GUEST]` -> [host, guest] (guest defaults to the host path). */
export function parseDirOption(v: string): [host: string, guest: string] {
  const sep = v.indexOf('::');
  return sep >= 0 ? [v.slice(0, sep), v.slice(sep + 2)] : [v, v];
}

/** `--env NAME=VALUE` -> [name, value], or null when malformed. */
export function parseEnvOption(v: string): [name: string, value: string] | null {
  const k = v.indexOf('=');
  return k <= 0 ? null : [v.slice(0, k), v.slice(k + 1)];
}
