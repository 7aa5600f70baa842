// Shared helpers for tests that run modules on Quickbeam and, for comparison, on Node's own WebAssembly.

import qb from '../../src/index.js';

export { qb };

export type Exports = Record<string, any>;

/** Instantiate on Quickbeam (synchronously). */
export function qbInstance(bytes: Uint8Array, imports: Record<string, any> = {}, features?: Record<string, boolean>): Exports {
  const m = new qb.Module(bytes, features ? { features } : undefined);
  return new qb.Instance(m, imports).exports;
}

/** Instantiate on V8. */
export function v8Instance(bytes: Uint8Array, imports: Record<string, any> = {}): Exports {
  const m = new WebAssembly.Module(bytes as BufferSource);
  return new WebAssembly.Instance(m, imports).exports as Exports;
}

export interface Outcome {
  /** 'value' or the error's class name. */
  kind: string;
  value?: unknown;
  message?: string;
  error?: unknown;
}

/** Run f and describe what happened: a value, or the thrown error's class name and message. */
export function outcome(f: () => unknown): Outcome {
  try {
    return { kind: 'value', value: f() };
  } catch (e) {
    const err = e as Error;
    return { kind: err?.constructor?.name ?? typeof e, message: err?.message, error: e };
  }
}

/** Render a value for assertion messages (BigInts and -0 visible). */
export function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (Object.is(v, -0)) return '-0';
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

export function showOutcome(o: Outcome): string {
  return o.kind === 'value' ? `value ${show(o.value)}` : `${o.kind}: ${o.message}`;
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
