// Test plans: which imports to provide and which exports to call with which arguments, derived from the
// module's structure (read with our own decoder, so it works for any decodable module) and a seed.

import { parseModule, TYPE_NAME } from './wasm.mjs';
import { Rng } from './util.mjs';

const I32S = [0, 1, -1, 2, 7, 8, 16, 0x7fffffff, -0x80000000, 0xffff, 0x10000, 0xfffff, 0x100000, -8, 1024, 65535 * 16];
const I64S = ['0', '1', '-1', '2', '9223372036854775807', '-9223372036854775808', '4294967295', '4294967296', '-4294967296', '65536', '1048576', '-8'];
const F32S = ['0', '-0', '1', '-1', '0.5', '-1.5', 'Infinity', '-Infinity', 'nan', '2147483648', '-2147483904', '4294967296', '3.4028234663852886e+38', '1.401298464324817e-45', '1.1754943508222875e-38', '100.25'];
const F64S = ['0', '-0', '1', '-1', '0.5', '-1.5', 'Infinity', '-Infinity', 'nan', '2147483648', '-2147483649', '9223372036854775808', '1.7976931348623157e+308', '5e-324', '2.2250738585072014e-308', '4294967295.5', '-9007199254740993'];

const f32 = new Float32Array(1);

export function randomArg(rng, type) {
  const interesting = rng.bool(0.6);
  switch (type) {
    case 'i32': return interesting ? rng.pick(I32S) | 0 : rng.u32() | 0;
    case 'i64': return interesting ? rng.pick(I64S) : BigInt.asIntN(64, rng.u64()).toString();
    case 'f32': {
      if (interesting) return rng.pick(F32S);
      f32[0] = (rng.float() - 0.5) * 2 ** rng.range(-30, 40);
      return String(f32[0]);
    }
    case 'f64': {
      if (interesting) return rng.pick(F64S);
      return String((rng.float() - 0.5) * 2 ** rng.range(-60, 70));
    }
    case 'externref': return rng.bool(0.5) ? null : 'ext:' + rng.int(4);
    default: return null;
  }
}

export function typeName(t) {
  return TYPE_NAME[t] ?? `type0x${t.toString(16)}`;
}

/** Import descriptors for every import of a parsed module (functions log their calls in the trace). */
export function importDescs(m) {
  return m.imports.map((imp) => {
    const base = { module: imp.module, name: imp.name };
    switch (imp.kind) {
      case 0: {
        const t = m.types[imp.type] ?? { params: [], results: [] };
        return { ...base, kind: 'func', params: t.params.map(typeName), results: t.results.map(typeName) };
      }
      case 1: return { ...base, kind: 'table', elemType: typeName(imp.elemType), index64: imp.limits.index64, min: Number(imp.limits.min), max: imp.limits.max === null ? null : Number(imp.limits.max) };
      case 2: return { ...base, kind: 'memory', index64: imp.limits.index64, min: Number(imp.limits.min), max: imp.limits.max === null ? null : Number(imp.limits.max) };
      case 3: return { ...base, kind: 'global', type: typeName(imp.valType), mutable: imp.mutable, ...(imp.nonNull ? { nonNull: true } : {}) };
      case 4: {
        const t = m.types[imp.type] ?? { params: [] };
        return { ...base, kind: 'tag', params: t.params.map(typeName) };
      }
      default: return { ...base, kind: 'unknown' };
    }
  });
}

/**
 * A plan calling every exported function `rounds` times (in export order per round), with arguments drawn
 * from `seed`. Options: reset (export to call before each call, e.g. binaryen's hangLimitInitializer),
 * skip (export names not to call), maxCalls.
 */
export function buildPlan(bytes, seed, opts = {}) {
  const m = opts.parsed ?? parseModule(bytes);
  const rng = new Rng(seed);
  const rounds = opts.rounds ?? 2;
  const reset = opts.reset === undefined ? 'hangLimitInitializer' : opts.reset;
  const skip = new Set([reset, ...(opts.skip ?? [])]);
  const funcs = [];
  for (const e of m.exports) {
    if (e.kind !== 0 || skip.has(e.name)) continue;
    const ti = m.funcs[e.index];
    const t = m.types[ti];
    if (!t) continue;
    funcs.push({ name: e.name, params: t.params.map(typeName), results: t.results.map(typeName) });
  }
  const calls = [];
  const maxCalls = opts.maxCalls ?? 64;
  for (let r = 0; r < rounds; r++) {
    for (const f of funcs) {
      if (calls.length >= maxCalls) break;
      calls.push({ ...f, args: f.params.map((t) => randomArg(rng, t)) });
    }
  }
  const hasReset = reset !== null && m.exports.some((e) => e.kind === 0 && e.name === reset);
  // Exported tags: an exception reaching JS is reported with the first of them it matches and its payload.
  const tags = m.exports.filter((e) => e.kind === 4).map((e) => ({ name: e.name, params: (m.types[m.tagTypes[e.index]]?.params ?? []).map(typeName) }));
  return { imports: importDescs(m), calls, reset: hasReset ? reset : null, nanMask: true, tags };
}
