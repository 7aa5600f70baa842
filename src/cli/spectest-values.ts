// Values of the wast2json format for the spectest runner: parsing, conversion to and from JS, comparison
// (exact bits for floats, NaN classes), and formatting for failure messages.
//
// wast2json writes i32/i64 as unsigned decimal strings, f32/f64 as the decimal string of their bit pattern
// (or "nan:canonical" / "nan:arithmetic" in expectations), v128 as `lane_type` plus an array of lane strings,
// and references as "null" or a number (ref.extern N); a funcref/externref expectation without a value means
// "any non-null reference" (ref.func / ref.extern). The Wasm 3.0 groups add more reference kinds (REF_KINDS).

export interface WastValue {
  type: string;
  value?: string | string[];
  lane_type?: string;
  /** `either` (relaxed SIMD results): the allowed values, any of which matches. */
  values?: WastValue[];
}

/** A value in canonical form: integers unsigned, floats as their bit patterns, v128 as 16 bytes. */
export type Raw =
  | { t: 'i32'; v: number }
  | { t: 'i64'; v: bigint }
  | { t: 'f32'; v: number }
  | { t: 'f64'; v: bigint }
  | { t: 'v128'; v: Uint8Array }
  | { t: RefKind; v: unknown };

/**
 * The reference value kinds of the test files. `funcref`, `externref`, `anyref`, `exnref`: "null", a number
 * (ref.extern N / ref.host N: a host object) or no value (any non-null reference); `eqref`, `structref`,
 * `arrayref`, `i31ref`: no value (a non-null reference of that kind) or "null"; `nullref`, `nullfuncref`,
 * `nullexternref`, `nullexnref`: the null of that bottom type; `refnull`: a null of any type (results only).
 */
export type RefKind =
  | 'funcref'
  | 'externref'
  | 'anyref'
  | 'exnref'
  | 'eqref'
  | 'structref'
  | 'arrayref'
  | 'i31ref'
  | 'nullref'
  | 'nullfuncref'
  | 'nullexternref'
  | 'nullexnref'
  | 'refnull';

const REF_KINDS: ReadonlySet<string> = new Set<RefKind>([
  'funcref',
  'externref',
  'anyref',
  'exnref',
  'eqref',
  'structref',
  'arrayref',
  'i31ref',
  'nullref',
  'nullfuncref',
  'nullexternref',
  'nullexnref',
  'refnull',
]);

export function isRefKind(s: string): s is RefKind {
  return REF_KINDS.has(s);
}

/** Kinds whose every value is a null. */
function alwaysNull(k: RefKind): boolean {
  return k === 'nullref' || k === 'nullfuncref' || k === 'nullexternref' || k === 'nullexnref' || k === 'refnull';
}

/** A problem of the harness or the test data (not an engine result): reported as a failure with its message. */
export class HarnessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HarnessError';
  }
}

const scratch = new DataView(new ArrayBuffer(16));

export function f32FromBits(bits: number): number {
  scratch.setUint32(0, bits >>> 0, true);
  return scratch.getFloat32(0, true);
}
export function f64FromBits(bits: bigint): number {
  scratch.setBigUint64(0, BigInt.asUintN(64, bits), true);
  return scratch.getFloat64(0, true);
}
export function f32Bits(x: number): number {
  scratch.setFloat32(0, x, true);
  return scratch.getUint32(0, true);
}
export function f64Bits(x: number): bigint {
  scratch.setFloat64(0, x, true);
  return scratch.getBigUint64(0, true);
}

export function isNaNBits32(bits: number): boolean {
  return (bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0;
}
export function isNaNBits64(bits: bigint): boolean {
  return (bits & 0x7ff0000000000000n) === 0x7ff0000000000000n && (bits & 0x000fffffffffffffn) !== 0n;
}
/** nan:canonical: sign any, exponent all ones, only the quiet bit set in the payload. */
export function isCanonicalNaN32(bits: number): boolean {
  return (bits & 0x7fffffff) === 0x7fc00000;
}
/** nan:arithmetic: sign any, exponent all ones, quiet bit set, any other payload. */
export function isArithmeticNaN32(bits: number): boolean {
  return (bits & 0x7fc00000) === 0x7fc00000;
}
export function isCanonicalNaN64(bits: bigint): boolean {
  return (bits & 0x7fffffffffffffffn) === 0x7ff8000000000000n;
}
export function isArithmeticNaN64(bits: bigint): boolean {
  return (bits & 0x7ff8000000000000n) === 0x7ff8000000000000n;
}

function parseBig(s: string, what: string): bigint {
  try {
    return BigInt(s);
  } catch {
    throw new HarnessError(`bad ${what} value ${JSON.stringify(s)} in the test file`);
  }
}

function scalarString(v: WastValue): string {
  if (typeof v.value !== 'string') throw new HarnessError(`missing ${v.type} value in the test file`);
  return v.value;
}

const LANES: Readonly<Record<string, { bytes: number; float: boolean }>> = {
  i8: { bytes: 1, float: false },
  i16: { bytes: 2, float: false },
  i32: { bytes: 4, float: false },
  i64: { bytes: 8, float: false },
  f32: { bytes: 4, float: true },
  f64: { bytes: 8, float: true },
};

function laneInfo(v: WastValue): { bytes: number; float: boolean; lanes: string[] } {
  const info = LANES[v.lane_type ?? ''];
  if (!info || !Array.isArray(v.value) || v.value.length * info.bytes !== 16) {
    throw new HarnessError(`bad v128 value ${JSON.stringify(v)} in the test file`);
  }
  return { ...info, lanes: v.value };
}

function readLane(bytes: Uint8Array, i: number, width: number): bigint {
  let x = 0n;
  for (let k = width - 1; k >= 0; k--) x = (x << 8n) | BigInt(bytes[i * width + k]!);
  return x;
}

/** The host object that stands for `ref.extern N` (the same object for the same N). */
export type HostRefs = (n: string) => object;

export function makeHostRefs(): { get: HostRefs; describe: (x: unknown) => string | null } {
  const byId = new Map<string, object>();
  const ids = new WeakMap<object, string>();
  return {
    get(n: string) {
      let o = byId.get(n);
      if (!o) {
        o = { externref: n };
        byId.set(n, o);
        ids.set(o, n);
      }
      return o;
    },
    describe(x: unknown) {
      return typeof x === 'object' && x !== null ? (ids.get(x) ?? null) : null;
    },
  };
}

/** Parses an argument (a concrete value, no NaN classes). */
export function parseArg(v: WastValue, hostRef: HostRefs): Raw {
  switch (v.type) {
    case 'i32':
      return { t: 'i32', v: Number(BigInt.asUintN(32, parseBig(scalarString(v), 'i32'))) };
    case 'i64':
      return { t: 'i64', v: BigInt.asUintN(64, parseBig(scalarString(v), 'i64')) };
    case 'f32':
      return { t: 'f32', v: Number(BigInt.asUintN(32, parseBig(scalarString(v), 'f32'))) };
    case 'f64':
      return { t: 'f64', v: BigInt.asUintN(64, parseBig(scalarString(v), 'f64')) };
    case 'v128': {
      const { bytes, lanes } = laneInfo(v);
      const out = new Uint8Array(16);
      lanes.forEach((s, i) => {
        let x = BigInt.asUintN(bytes * 8, parseBig(s, 'v128 lane'));
        for (let k = 0; k < bytes; k++) {
          out[i * bytes + k] = Number(x & 0xffn);
          x >>= 8n;
        }
      });
      return { t: 'v128', v: out };
    }
    case 'externref':
    case 'anyref': // ref.host N: the same host object as ref.extern N (JS passes it unchanged)
      if (v.value === 'null') return { t: v.type, v: null };
      return { t: v.type, v: hostRef(scalarString(v)) };
    default:
      if (!isRefKind(v.type)) throw new HarnessError(`unsupported value type ${JSON.stringify(v.type)}`);
      if (v.value === 'null' || alwaysNull(v.type)) return { t: v.type, v: null };
      throw new HarnessError(`a non-null ${v.type} argument cannot be built from the test file`);
  }
}

/** The wasm type of an expected result (an `either`'s alternatives all have the type of the first). */
export function resultType(v: WastValue): string {
  return v.type === 'either' ? (v.values?.[0]?.type ?? 'either') : v.type;
}

/** True when the value is (or may be) a NaN, whose exact bits do not reliably survive a trip through JS. */
export function isNaNSensitive(v: WastValue): boolean {
  if (v.type === 'v128') return true;
  if (v.type === 'either') return (v.values ?? []).some(isNaNSensitive);
  if (v.type !== 'f32' && v.type !== 'f64') return false;
  const s = v.value;
  if (typeof s !== 'string') return false;
  if (s.startsWith('nan:')) return true;
  try {
    return v.type === 'f32' ? isNaNBits32(Number(BigInt.asUintN(32, BigInt(s)))) : isNaNBits64(BigInt.asUintN(64, BigInt(s)));
  } catch {
    return false;
  }
}

// ---- direct JS calls ----

/** The JS value passed for an argument when calling an export directly. */
export function rawToJS(r: Raw): unknown {
  switch (r.t) {
    case 'i32':
      return r.v | 0;
    case 'i64':
      return BigInt.asIntN(64, r.v);
    case 'f32':
      return f32FromBits(r.v);
    case 'f64':
      return f64FromBits(r.v);
    case 'v128':
      throw new HarnessError('v128 values cannot be passed through JS');
    default:
      return r.v;
  }
}

/** Converts a JS result of a direct call to a Raw of the expected type. */
export function jsToRaw(type: string, x: unknown): Raw {
  switch (type) {
    case 'i32':
      if (typeof x !== 'number') throw new HarnessError(`expected a Number for an i32 result, got ${describeJS(x)}`);
      return { t: 'i32', v: x >>> 0 };
    case 'i64':
      if (typeof x !== 'bigint') throw new HarnessError(`expected a BigInt for an i64 result, got ${describeJS(x)}`);
      return { t: 'i64', v: BigInt.asUintN(64, x) };
    case 'f32':
      if (typeof x !== 'number') throw new HarnessError(`expected a Number for an f32 result, got ${describeJS(x)}`);
      return { t: 'f32', v: f32Bits(x) };
    case 'f64':
      if (typeof x !== 'number') throw new HarnessError(`expected a Number for an f64 result, got ${describeJS(x)}`);
      return { t: 'f64', v: f64Bits(x) };
    default:
      if (!isRefKind(type)) throw new HarnessError(`cannot read a ${type} result from JS`);
      if (x === undefined) throw new HarnessError(`expected a ${type} result, got undefined`);
      return { t: type, v: x };
  }
}

// ---- wrapper calls (values cross JS as integer bit patterns) ----

/** The JS arguments for a wrapper's `run` (see spectest-wrap.ts): floats as bits, v128 as two i64 halves. */
export function rawToWrapperArgs(r: Raw, out: unknown[]): void {
  switch (r.t) {
    case 'i32':
    case 'f32':
      out.push(r.v | 0);
      return;
    case 'i64':
    case 'f64':
      out.push(BigInt.asIntN(64, r.v));
      return;
    case 'v128': {
      const lo = readLane(r.v, 0, 8);
      const hi = readLane(r.v, 1, 8);
      out.push(BigInt.asIntN(64, lo), BigInt.asIntN(64, hi));
      return;
    }
    default:
      out.push(r.v);
  }
}

/** Reads wrapper results (values of the mapped types, in order) into Raws of the given types. */
export function wrapperResultsToRaw(types: string[], values: unknown[]): Raw[] {
  const out: Raw[] = [];
  let k = 0;
  const next = (): unknown => {
    if (k >= values.length) throw new HarnessError('the call wrapper returned too few values');
    return values[k++];
  };
  const big = (x: unknown): bigint => {
    if (typeof x !== 'bigint') throw new HarnessError(`the call wrapper returned ${describeJS(x)} for an i64`);
    return BigInt.asUintN(64, x);
  };
  const num = (x: unknown): number => {
    if (typeof x !== 'number') throw new HarnessError(`the call wrapper returned ${describeJS(x)} for an i32`);
    return x >>> 0;
  };
  for (const t of types) {
    switch (t) {
      case 'i32':
        out.push({ t: 'i32', v: num(next()) });
        break;
      case 'f32':
        out.push({ t: 'f32', v: num(next()) });
        break;
      case 'i64':
        out.push({ t: 'i64', v: big(next()) });
        break;
      case 'f64':
        out.push({ t: 'f64', v: big(next()) });
        break;
      case 'v128': {
        const lo = big(next());
        const hi = big(next());
        const bytes = new Uint8Array(16);
        const dv = new DataView(bytes.buffer);
        dv.setBigUint64(0, lo, true);
        dv.setBigUint64(8, hi, true);
        out.push({ t: 'v128', v: bytes });
        break;
      }
      default:
        if (!isRefKind(t)) throw new HarnessError(`unsupported result type ${t}`);
        out.push({ t, v: next() });
    }
  }
  return out;
}

// ---- comparison ----

function matchFloatLane32(expected: string, bits: number): boolean {
  if (expected === 'nan:canonical') return isCanonicalNaN32(bits);
  if (expected === 'nan:arithmetic') return isArithmeticNaN32(bits);
  return (bits >>> 0) === Number(BigInt.asUintN(32, parseBig(expected, 'f32')));
}
function matchFloatLane64(expected: string, bits: bigint): boolean {
  if (expected === 'nan:canonical') return isCanonicalNaN64(bits);
  if (expected === 'nan:arithmetic') return isArithmeticNaN64(bits);
  return bits === BigInt.asUintN(64, parseBig(expected, 'f64'));
}

/** Does `actual` match the expectation? */
export function matches(expected: WastValue, actual: Raw, hostRef: HostRefs): boolean {
  if (expected.type === 'either') return (expected.values ?? []).some((e) => matches(e, actual, hostRef));
  if (expected.type !== actual.t) return false;
  switch (actual.t) {
    case 'i32':
      return actual.v === Number(BigInt.asUintN(32, parseBig(scalarString(expected), 'i32')));
    case 'i64':
      return actual.v === BigInt.asUintN(64, parseBig(scalarString(expected), 'i64'));
    case 'f32':
      return matchFloatLane32(scalarString(expected), actual.v);
    case 'f64':
      return matchFloatLane64(scalarString(expected), actual.v);
    case 'v128': {
      const { bytes, float, lanes } = laneInfo(expected);
      return lanes.every((s, i) => {
        const lane = readLane(actual.v, i, bytes);
        if (float && bytes === 4) return matchFloatLane32(s, Number(lane));
        if (float) return matchFloatLane64(s, lane);
        return lane === BigInt.asUintN(bytes * 8, parseBig(s, 'v128 lane'));
      });
    }
    default:
      return matchesRef(actual.t, expected.value, actual.v, hostRef);
  }
}

/**
 * A reference result against its expectation. A wrapper-read reference (exnref: cannot reach JS) arrives as
 * NULL_SEEN / NON_NULL_SEEN, which only null-ness expectations can match.
 */
function matchesRef(kind: RefKind, ev: string | string[] | undefined, v: unknown, hostRef: HostRefs): boolean {
  const isNull = v === null || v === NULL_SEEN;
  if (ev === 'null' || alwaysNull(kind)) return isNull;
  if (isNull || v === undefined) return false;
  if (typeof ev === 'string') return (kind === 'externref' || kind === 'anyref') && v === hostRef(ev);
  switch (kind) {
    case 'funcref':
      return typeof v === 'function';
    case 'i31ref':
      return typeof v === 'number'; // an i31 reaches JS as a Number
    case 'externref':
    case 'anyref':
    case 'exnref':
      return true;
    default: // eqref, structref, arrayref: a GC object (JS cannot tell which kind)
      return typeof v === 'object';
  }
}

/** What a wrapper that could only test ref.is_null saw (see Engine.invokeNullTest). */
export const NULL_SEEN: unique symbol = Symbol('null reference (seen in wasm)');
export const NON_NULL_SEEN: unique symbol = Symbol('non-null reference (seen in wasm)');

// ---- formatting ----

function hex(x: number | bigint, digits: number): string {
  return '0x' + x.toString(16).padStart(digits, '0');
}

function signedSuffix(u: bigint, bits: number): string {
  const s = BigInt.asIntN(bits, u);
  return s < 0n ? ` (${s})` : '';
}

function floatText(x: number, bits: bigint, width: 32 | 64): string {
  if (Number.isNaN(x)) {
    const mantBits = width === 32 ? 23n : 52n;
    const payload = bits & ((1n << mantBits) - 1n);
    const neg = (bits >> BigInt(width - 1)) & 1n;
    return `${neg ? '-' : ''}nan:${hex(payload, 1)}`;
  }
  if (Object.is(x, -0)) return '-0';
  return String(x);
}

function formatF32Bits(bits: number): string {
  return `${floatText(f32FromBits(bits), BigInt(bits >>> 0), 32)} (${hex(bits >>> 0, 8)})`;
}
function formatF64Bits(bits: bigint): string {
  return `${floatText(f64FromBits(bits), bits, 64)} (${hex(bits, 16)})`;
}

function formatRef(t: RefKind, v: unknown, describe: (x: unknown) => string | null): string {
  if (v === null || v === NULL_SEEN) return `${t} null`;
  if (v === NON_NULL_SEEN) return `a non-null ${t}`;
  if (t === 'funcref') return typeof v === 'function' ? 'ref.func' : `funcref ${describeJS(v)}`;
  const id = describe(v);
  return id !== null ? `ref.${t === 'anyref' ? 'host' : 'extern'} ${id}` : `${t} ${describeJS(v)}`;
}

function laneName(lane: string): string {
  return `${lane}x${16 / LANES[lane]!.bytes}`;
}

export function formatRaw(r: Raw, describe: (x: unknown) => string | null = () => null): string {
  switch (r.t) {
    case 'i32':
      return `i32 ${r.v >>> 0}${signedSuffix(BigInt(r.v >>> 0), 32)}`;
    case 'i64':
      return `i64 ${r.v}${signedSuffix(r.v, 64)}`;
    case 'f32':
      return `f32 ${formatF32Bits(r.v)}`;
    case 'f64':
      return `f64 ${formatF64Bits(r.v)}`;
    case 'v128': {
      const parts: string[] = [];
      for (let i = 0; i < 4; i++) parts.push(hex(readLane(r.v, i, 4), 8));
      return `v128 i32x4 [${parts.join(' ')}]`;
    }
    default:
      return formatRef(r.t, r.v, describe);
  }
}

/** Formats an actual v128 in the lane shape of an expectation, so the two can be compared by eye. */
function formatV128As(bytes: Uint8Array, laneType: string): string {
  const info = LANES[laneType];
  if (!info) return formatRaw({ t: 'v128', v: bytes });
  const parts: string[] = [];
  for (let i = 0; i < 16 / info.bytes; i++) {
    const lane = readLane(bytes, i, info.bytes);
    if (info.float) parts.push(info.bytes === 4 ? formatF32Bits(Number(lane)) : formatF64Bits(lane));
    else parts.push(String(lane));
  }
  return `v128 ${laneName(laneType)} [${parts.join(' ')}]`;
}

export function formatActual(r: Raw, expected: WastValue | undefined, describe: (x: unknown) => string | null): string {
  if (r.t === 'v128' && expected?.type === 'v128' && expected.lane_type) return formatV128As(r.v, expected.lane_type);
  return formatRaw(r, describe);
}

export function formatExpected(v: WastValue): string {
  const s = v.value;
  switch (v.type) {
    case 'either':
      return `either(${(v.values ?? []).map(formatExpected).join(' | ')})`;
    case 'i32':
    case 'i64':
      if (typeof s !== 'string') return v.type;
      try {
        const bits = v.type === 'i32' ? 32 : 64;
        return `${v.type} ${BigInt.asUintN(bits, BigInt(s))}${signedSuffix(BigInt.asUintN(bits, BigInt(s)), bits)}`;
      } catch {
        return `${v.type} ${s}`;
      }
    case 'f32':
    case 'f64':
      if (typeof s !== 'string') return v.type;
      if (s.startsWith('nan:')) return `${v.type} ${s}`;
      try {
        return v.type === 'f32'
          ? `f32 ${formatF32Bits(Number(BigInt.asUintN(32, BigInt(s))))}`
          : `f64 ${formatF64Bits(BigInt.asUintN(64, BigInt(s)))}`;
      } catch {
        return `${v.type} ${s}`;
      }
    case 'v128': {
      const info = LANES[v.lane_type ?? ''];
      if (!info || !Array.isArray(s)) return 'v128';
      const parts = s.map((lane) => {
        if (!info.float || lane.startsWith('nan:')) return lane;
        try {
          return info.bytes === 4 ? formatF32Bits(Number(BigInt(lane))) : formatF64Bits(BigInt(lane));
        } catch {
          return lane;
        }
      });
      return `v128 ${laneName(v.lane_type!)} [${parts.join(' ')}]`;
    }
    case 'funcref':
      return s === 'null' ? 'ref.null func' : 'ref.func';
    case 'externref':
      return s === 'null' ? 'ref.null extern' : typeof s === 'string' ? `ref.extern ${s}` : 'ref.extern';
    case 'anyref':
      return s === 'null' ? 'ref.null any' : typeof s === 'string' ? `ref.host ${s}` : 'ref.any';
    case 'refnull':
      return 'ref.null';
    default:
      if (isRefKind(v.type)) {
        const heap = v.type.replace(/ref$/, '');
        if (heap.startsWith('null')) return `ref.null ${{ null: 'none', nullfunc: 'nofunc', nullextern: 'noextern', nullexn: 'noexn' }[heap] ?? heap}`;
        return s === 'null' ? `ref.null ${heap}` : `ref.${heap}`;
      }
      return `${v.type} ${JSON.stringify(s)}`;
  }
}

export function formatValues(vs: WastValue[]): string {
  return vs.map(formatExpected).join(', ');
}

export function describeJS(x: unknown): string {
  if (x === null) return 'null';
  switch (typeof x) {
    case 'undefined':
      return 'undefined';
    case 'number':
      return `Number ${x}`;
    case 'bigint':
      return `BigInt ${x}n`;
    case 'string':
      return `String ${JSON.stringify(x.length > 40 ? x.slice(0, 40) + '...' : x)}`;
    case 'function':
      return 'a function';
    default:
      return Array.isArray(x) ? `an array of ${x.length}` : `an ${typeof x}`;
  }
}
