// Runs one test plan against one engine (Quickbeam's namespace or V8's WebAssembly) and records a trace.
// The same code runs in both engines' worker processes, so any difference in the traces is the engines'.
//
// A plan (built by the parent, JSON):
//   { imports: [ImportDesc], calls: [{ name, params, results, args }], reset: exportName|null,
//     features?: {...Quickbeam features}, dumpAfter?: callIndex }
// ImportDesc: { module, name, kind: 'func', params, results } | { kind: 'memory', index64, min, max }
//           | { kind: 'global', type, mutable } | { kind: 'table', elemType, index64, min, max }
// Values in plans and traces: i32 as Number; i64 as decimal string; f32/f64 as strings ('nan', '-0',
// 'Infinity', or the shortest round-trip decimal); references as null / 'func:<name>' / 'ext:<n>'.
//
// A trace: [{ ev: 'instantiate', ok, error? }, { ev: 'call', name }, { ev: 'import', name, args },
//           { ev: 'result', values } | { ev: 'trap', kind, msg } | { ev: 'throw', name, msg },
//           { ev: 'state', memories: [{ name, pages, hash }], globals: [{ name, value }], tables: [...] }]

import { createHash } from 'node:crypto';

const MAX_IMPORT_EVENTS = 4000;
const MAX_HASH_BYTES = 256 * 1024 * 1024;

/** Trap kinds, as the spec groups them (V8 and Quickbeam word a few of them differently). */
export function trapKind(message) {
  const m = String(message);
  if (/unreachable/.test(m)) return 'unreachable';
  if (/memory access out of bounds|data segment (is )?out of bounds|out of bounds memory access|offset is out of bounds|data segment.*out of bounds/.test(m)) return 'memory-oob';
  if (/invalid index into function table|table index is out of bounds|element segment (is )?out of bounds|table access|out of bounds table|element segment has been dropped|table (initializer )?(is )?out of bounds|elem.*out of bounds/i.test(m)) return 'table-oob';
  if (/null function or function signature mismatch|signature mismatch|uninitialized element|indirect call/.test(m)) return 'indirect-call';
  if (/divide by zero|remainder by zero/.test(m)) return 'div-by-zero';
  if (/divide result unrepresentable|integer overflow/.test(m)) return 'int-overflow';
  if (/float unrepresentable|invalid conversion/.test(m)) return 'float-conversion';
  if (/Maximum call stack|call stack exhausted|stack overflow/i.test(m)) return 'stack-overflow';
  if (/null pointer|null reference|dereferencing a null/.test(m)) return 'null-reference';
  if (/rethrowing null value|null exnref/.test(m)) return 'null-exnref';
  return 'other:' + m;
}

// ---------------------------------------------------------------------------------------------------
// Values

const f32buf = new Float32Array(1);

export function encodeValue(v, type) {
  switch (type) {
    case 'i32': return typeof v === 'number' ? v | 0 : String(v);
    case 'i64': return typeof v === 'bigint' ? BigInt.asIntN(64, v).toString() : 'bad:' + String(v);
    case 'f32': case 'f64': {
      if (typeof v !== 'number') return 'bad:' + String(v);
      if (Number.isNaN(v)) return 'nan';
      if (Object.is(v, -0)) return '-0';
      return String(v);
    }
    default: return encodeRef(v);
  }
}

const extObjects = [];
function externObject(n) {
  while (extObjects.length <= n) extObjects.push({ externTag: extObjects.length });
  return extObjects[n];
}

export function encodeRef(v) {
  if (v === null) return null;
  if (v === undefined) return 'undefined';
  if (typeof v === 'function') return 'func:' + v.name;
  if (typeof v === 'object' && typeof v.externTag === 'number') return 'ext:' + v.externTag;
  // a GC object (struct or array) reaches JS as an opaque object that cannot be converted to a string
  if (typeof v === 'object' && Object.getPrototypeOf(v) === null) return 'gc-object';
  return typeof v + ':' + String(v);
}

export function decodeValue(s, type) {
  switch (type) {
    case 'i32': return Number(s) | 0;
    case 'i64': return BigInt(s);
    case 'f32': { const x = s === 'nan' ? NaN : Number(s); f32buf[0] = x; return f32buf[0]; }
    case 'f64': return s === 'nan' ? NaN : Number(s);
    case 'externref': {
      if (s === null) return null;
      if (typeof s === 'string' && s.startsWith('ext:')) return externObject(Number(s.slice(4)));
      return s;
    }
    default: return null; // funcref and others: null
  }
}

export function defaultValue(type) {
  switch (type) {
    case 'i32': return 0;
    case 'i64': return 0n;
    case 'f32': case 'f64': return 0;
    default: return null;
  }
}

// ---------------------------------------------------------------------------------------------------

export function hashBytes(u8) {
  return createHash('sha1').update(u8).digest('hex').slice(0, 20);
}

/**
 * Hash of a memory image with every byte that is part of an f32 NaN (any alignment, 4 bytes) or f64 NaN
 * (8 bytes) zeroed: two images whose only differences are NaN payloads/signs in the same places have the same
 * masked hash (the spec lets NaN results differ between engines).
 */
export function maskedHash(u8) {
  let copy = null;
  const n = u8.length;
  for (let p = 3; p < n; p++) {
    const e = u8[p];
    if ((e & 0x7f) !== 0x7f) continue;
    const m = u8[p - 1];
    // f32 NaN with sign/exponent byte at p: exponent bits need m & 0x80, and a non-zero mantissa.
    if ((m & 0x80) && ((m & 0x7f) | u8[p - 2] | u8[p - 3]) !== 0) {
      copy ??= Uint8Array.from(u8);
      copy.fill(0, p - 3, p + 1);
    }
    // f64 NaN with sign/exponent byte at p: exponent continues in the high nibble of p-1.
    if (p >= 7 && (m & 0xf0) === 0xf0 && ((m & 0x0f) | u8[p - 2] | u8[p - 3] | u8[p - 4] | u8[p - 5] | u8[p - 6] | u8[p - 7]) !== 0) {
      copy ??= Uint8Array.from(u8);
      copy.fill(0, p - 7, p + 1);
    }
  }
  return hashBytes(copy ?? u8);
}

function elementName(t) {
  return t === 'funcref' ? 'anyfunc' : t;
}

/**
 * Descriptor variants for i64 memories/tables, in order: the current JS API (`address: 'i64'`, BigInt
 * sizes: Node 24, Quickbeam), then the 2022 proposal's (`index: 'i64'`, Numbers: Node 20). An engine that
 * ignores the key would silently make an i32 one, so the BigInt form must come first.
 */
function descriptorVariants(base, d) {
  if (!d.index64) return [base(null, false)];
  return [base('address', true), base('index', false), base('address', false), base('index', true)];
}

export function makeMemory(E, d) {
  const base = (key, asBig) => {
    const o = { initial: asBig ? BigInt(d.min) : d.min };
    if (d.max !== null && d.max !== undefined) o.maximum = asBig ? BigInt(d.max) : d.max;
    if (key) o[key] = 'i64';
    return o;
  };
  let last;
  for (const t of descriptorVariants(base, d)) {
    try { return new E.Memory(t); } catch (e) { last = e; }
  }
  throw last;
}

export function makeTable(E, d) {
  const base = (key, asBig) => {
    const o = { element: elementName(d.elemType), initial: asBig ? BigInt(d.min) : d.min };
    if (d.max !== null && d.max !== undefined) o.maximum = asBig ? BigInt(d.max) : d.max;
    if (key) o[key] = 'i64';
    return o;
  };
  let last;
  for (const t of descriptorVariants(base, d)) {
    try { return new E.Table(t); } catch (e) { last = e; }
  }
  throw last;
}

/** The JS exception binaryen's `fuzzing-support.throw(0)` throws (one object, so identity can be checked). */
const JS_ERROR = new Error('fuzzing-support js exception');

function buildImports(E, plan, trace, counters) {
  const obj = {};
  // binaryen's fuzzer imports a tag "wasmtag" (i32 payload) and "jstag" (WebAssembly.JSTag); its "throw"
  // import throws a wasm exception of wasmtag (argument non-zero) or a JS exception (zero), as its harness does.
  let wasmTag = null;
  const tagFor = (d) => {
    if (d.name === 'jstag' && E.JSTag) return E.JSTag;
    if (d.name === 'wasmtag') return (wasmTag ??= new E.Tag({ parameters: d.params }));
    return new E.Tag({ parameters: d.params ?? [] });
  };
  for (const d of plan.imports) if (d.kind === 'tag' && d.name === 'wasmtag') wasmTag = tagFor(d);
  wasmTag ??= E.Tag ? new E.Tag({ parameters: ['i32'] }) : null;
  counters.wasmTag = wasmTag;
  for (const d of plan.imports) {
    const ns = (obj[d.module] ??= {});
    switch (d.kind) {
      case 'tag': ns[d.name] = tagFor(d); break;
      case 'func': {
        const name = d.name;
        const params = d.params, results = d.results;
        const throws = d.module === 'fuzzing-support' && name === 'throw' && wasmTag;
        const fn = (...args) => {
          counters.imports++;
          if (counters.imports <= MAX_IMPORT_EVENTS) trace.push({ ev: 'import', name, args: params.map((t, k) => encodeValue(args[k], t)) });
          if (throws) {
            if (args[0]) throw new E.Exception(wasmTag, [args[0] | 0]);
            throw JS_ERROR;
          }
          if (results.length === 0) return undefined;
          if (results.length === 1) return defaultValue(results[0]);
          return results.map(defaultValue);
        };
        // JSPI plans: this import suspends the wasm stack on a promise of its result (or of its exception).
        const k = plan.imports.indexOf(d);
        // (The promise is also marked handled: where the call cannot suspend, e.g. from a start function, the
        // engine throws a SuspendError and drops it, and its rejection must not end the worker.)
        const later = (...args) => {
          const p = (async () => { await null; return fn(...args); })();
          p.catch(() => {});
          return p;
        };
        ns[name] = plan.jspi?.suspend?.[k] ? new E.Suspending(later) : fn;
        break;
      }
      case 'memory': ns[d.name] = makeMemory(E, d); break;
      case 'table': ns[d.name] = makeTable(E, d); break;
      case 'global': {
        const ref = d.type === 'funcref' || d.type === 'externref' || d.type === 'anyref';
        const v = d.type === 'i64' ? 0n : ref ? (d.nonNull && d.type !== 'funcref' ? externObject(0) : null) : 0;
        // (a non-null immutable global imports a plain value: no JS Global can have a non-null type)
        if (d.nonNull && !d.mutable) ns[d.name] = v;
        else ns[d.name] = d.type === 'v128' ? null : new E.Global({ value: d.type === 'funcref' ? 'anyfunc' : d.type, mutable: !!d.mutable }, v);
        break;
      }
      default: ns[d.name] = undefined;
    }
  }
  return obj;
}

export function errorEvent(E, e, ctx = null) {
  if (e instanceof E.RuntimeError) return { ev: 'trap', kind: trapKind(e.message), msg: String(e.message).slice(0, 200) };
  if (e instanceof RangeError && /call stack/i.test(e.message)) return { ev: 'trap', kind: 'stack-overflow', msg: e.message };
  if (e === JS_ERROR) return { ev: 'throw', name: 'js-exception (the same object)', msg: e.message };
  if (E.Exception && e instanceof E.Exception) return { ev: 'throw', name: `WebAssembly.Exception ${describeException(e, ctx)}`, msg: '' };
  return { ev: 'throw', name: e?.name ?? typeof e, msg: String(e?.message ?? e).slice(0, 200) };
}

/** Which tag a wasm exception reaching JS has (wasmtag or an exported one) and its payload. */
function describeException(e, ctx) {
  const candidates = [];
  if (ctx?.wasmTag) candidates.push({ name: 'wasmtag', tag: ctx.wasmTag, params: ['i32'] });
  for (const t of ctx?.plan?.tags ?? []) candidates.push({ name: t.name, tag: ctx.exports?.[t.name], params: t.params });
  for (const c of candidates) {
    try {
      if (!c.tag || !e.is(c.tag)) continue;
      return `${c.name}(${c.params.map((t, i) => { try { return encodeValue(e.getArg(c.tag, i), t); } catch (x) { return 'err:' + x?.name; } }).join(', ')})`;
    } catch { /* not a tag */ }
  }
  return 'of another tag';
}

export function observe(exportsObj, plan, dump) {
  const memories = [], globals = [], tables = [];
  for (const [name, v] of Object.entries(exportsObj)) {
    if (typeof v === 'function' || v === null || typeof v !== 'object') continue;
    const tag = Object.prototype.toString.call(v);
    if (tag === '[object WebAssembly.Memory]') {
      let buf;
      try { buf = v.buffer; } catch (e) {
        // Larger than an ArrayBuffer can view (memory64 above 4 GiB in Quickbeam): size only.
        let pages = 'unknown';
        try { pages = Number(v.grow(typeof v.type === 'function' && v.type().index === 'i64' ? 0n : 0)); } catch {
          try { pages = Number(v.grow(0n)); } catch { /* unknown */ }
        }
        memories.push({ name, pages, hash: 'too-big' });
        continue;
      }
      const bytes = buf.byteLength;
      const pages = bytes / 65536;
      if (bytes > MAX_HASH_BYTES) { memories.push({ name, pages, hash: 'too-big' }); continue; }
      const u8 = new Uint8Array(buf);
      const m = { name, pages, hash: hashBytes(u8) };
      if (plan.nanMask) m.masked = maskedHash(u8);
      if (dump) m.dump = Buffer.from(u8).toString('base64');
      memories.push(m);
    } else if (tag === '[object WebAssembly.Global]') {
      let value;
      try {
        const x = v.value;
        value = typeof x === 'bigint' ? 'i64:' + BigInt.asIntN(64, x).toString()
          : typeof x === 'number' ? 'num:' + encodeValue(x, 'f64') : encodeRef(x);
      } catch (e) { value = 'unreadable:' + e.name; }
      globals.push({ name, value });
    } else if (tag === '[object WebAssembly.Table]') {
      const length = Number(v.length);
      const parts = [];
      for (let i = 0; i < Math.min(length, 4096); i++) {
        try { parts.push(encodeRef(v.get(typeof v.length === 'bigint' ? BigInt(i) : i))); } catch (e) { parts.push('err'); }
      }
      tables.push({ name, length, hash: hashBytes(Buffer.from(JSON.stringify(parts))) });
    }
  }
  void plan;
  return { ev: 'state', memories, globals, tables };
}

/**
 * Compile, instantiate and run a plan in engine E. Returns the trace (never throws for wasm-level
 * failures; a compile error is an `instantiate` event with ok false).
 */
export function runPlan(E, bytes, plan, options = {}) {
  const trace = [];
  const counters = { imports: 0 };
  let module, instance;
  try {
    module = options.moduleOptions ? new E.Module(bytes, options.moduleOptions) : new E.Module(bytes);
  } catch (e) {
    trace.push({ ev: 'compile', ok: false, name: e?.name, msg: String(e?.message).slice(0, 300) });
    return trace;
  }
  try {
    const imports = buildImports(E, plan, trace, counters);
    instance = new E.Instance(module, imports);
    if (options.retain) options.retain.push(instance);
    trace.push({ ev: 'instantiate', ok: true });
  } catch (e) {
    const ev = errorEvent(E, e);
    trace.push({ ev: 'instantiate', ok: false, error: ev.ev === 'trap' ? 'trap:' + ev.kind : ev.name, msg: ev.msg });
    return trace;
  }
  const ex = instance.exports;
  const reset = plan.reset && typeof ex[plan.reset] === 'function' ? ex[plan.reset] : null;
  // One call: its arguments, or null when the export is missing (recorded).
  const begin = (k) => {
    const c = plan.calls[k];
    trace.push({ ev: 'call', name: c.name });
    counters.imports = 0;
    if (typeof ex[c.name] !== 'function') {
      trace.push({ ev: 'throw', name: 'missing', msg: c.name });
      return null;
    }
    if (reset) reset();
    return c.params.map((t, i) => decodeValue(c.args[i], t));
  };
  const result = (k, r) => {
    const c = plan.calls[k];
    const values = c.results.length === 0 ? [] : c.results.length === 1 ? [encodeValue(r, c.results[0])]
      : Array.from(r, (x, i) => encodeValue(x, c.results[i]));
    trace.push({ ev: 'result', values });
  };
  const failure = (e) => trace.push(errorEvent(E, e, { wasmTag: counters.wasmTag, plan, exports: ex }));
  const end = (k) => {
    if (counters.imports > MAX_IMPORT_EVENTS) trace.push({ ev: 'imports-truncated', count: counters.imports });
    trace.push(observe(ex, plan, Array.isArray(plan.dumpAfter) ? plan.dumpAfter.includes(k) : plan.dumpAfter === k));
  };
  if (plan.jspi) {
    // JSPI plans: every export is called through WebAssembly.promising and awaited, one after another; the
    // imports marked in plan.jspi.suspend suspend the wasm stack at each of their calls (buildImports).
    return (async () => {
      for (let k = 0; k < plan.calls.length; k++) {
        try {
          const args = begin(k);
          if (args === null) continue;
          result(k, await E.promising(ex[plan.calls[k].name])(...args));
        } catch (e) {
          failure(e);
        }
        end(k);
      }
      return trace;
    })();
  }
  for (let k = 0; k < plan.calls.length; k++) {
    try {
      const args = begin(k);
      if (args === null) continue;
      result(k, ex[plan.calls[k].name](...args));
    } catch (e) {
      failure(e);
    }
    end(k);
  }
  return trace;
}
