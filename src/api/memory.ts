// WebAssembly.Memory, backed by a runtime LinearMemory.
//
// Differences from V8: old ArrayBuffers are not detached by grow (koffi views cannot be detached); they keep
// viewing the first `oldLength` bytes, which stay valid because the memory never moves. Shared memories are
// not supported. Memories above 4 GiB (memory64) have no `buffer` (RangeError): use the LinearMemory's
// read/write windows.

import { LinearMemory } from '../runtime/linear-memory.js';
import { MEMORY32_MAX_PAGES, MEMORY64_MAX_PAGES } from '../runtime/layout.js';
import { RUNTIME, addressValueToU64, toDOMString, u64ToAddressValue } from '../runtime/js-values.js';

const CTX = 'WebAssembly.Memory()';

/** Passed as the descriptor to build a Memory around an existing LinearMemory. */
const INTERNAL: unique symbol = Symbol('internal');
let pendingRuntime: LinearMemory | null = null;

const cache = new WeakMap<LinearMemory, Memory>();

function descriptorObject(d: unknown, ctx: string, what: string): Record<string, unknown> {
  if (d === undefined || d === null) return {};
  if (typeof d !== 'object' && typeof d !== 'function') throw new TypeError(`${ctx}: Argument 0 must be a ${what} descriptor`);
  return d as Record<string, unknown>;
}

/** Read `address` (or the older `index`) of a memory/table descriptor. */
export function readAddressType(d: Record<string, unknown>, ctx: string): boolean {
  let v = d.address;
  if (v === undefined) v = d.index;
  if (v === undefined) return false;
  const s = toDOMString(v);
  if (s === 'i32') return false;
  if (s === 'i64') return true;
  throw new TypeError(`${ctx}: invalid address type '${s}' (expected 'i32' or 'i64')`);
}

export class Memory {
  readonly #mem: LinearMemory;

  constructor(descriptor: unknown) {
    if (new.target === undefined) throw new TypeError(`${CTX} must be invoked with 'new'`);
    if ((descriptor as unknown) === INTERNAL && pendingRuntime !== null) {
      this.#mem = pendingRuntime;
      pendingRuntime = null;
      cache.set(this.#mem, this);
      return;
    }
    const d = descriptorObject(descriptor, CTX, 'memory');
    // Dictionary conversion (members in lexicographic order), then the constructor steps.
    const index64 = readAddressType(d, CTX);
    const initialRaw = d.initial;
    if (initialRaw === undefined) throw new TypeError(`${CTX}: Property 'initial' is required`);
    const maximumRaw = d.maximum;
    const shared = Boolean(d.shared);
    const limit = index64 ? MEMORY64_MAX_PAGES : MEMORY32_MAX_PAGES;
    const initial = addressValueToU64(initialRaw, index64, `${CTX}: Property 'initial'`);
    let maximum: number | null = null;
    if (maximumRaw !== undefined) maximum = addressValueToU64(maximumRaw, index64, `${CTX}: Property 'maximum'`);
    if (initial > limit) throw new RangeError(`${CTX}: Property 'initial': value ${initial} is above the upper bound ${limit}`);
    if (maximum !== null) {
      if (maximum > limit) throw new RangeError(`${CTX}: Property 'maximum': value ${maximum} is above the upper bound ${limit}`);
      if (maximum < initial) throw new RangeError(`${CTX}: Property 'maximum': value ${maximum} is below the lower bound ${initial}`);
    }
    if (shared) {
      if (maximum === null) throw new TypeError(`${CTX}: If shared is true, maximum property should be defined.`);
      throw new TypeError(`${CTX}: shared memories are not supported by quickbeam`);
    }
    let mem: LinearMemory;
    try {
      mem = new LinearMemory({ initial, maximum, index64 });
    } catch (e) {
      if (e instanceof RangeError) throw new RangeError(`${CTX}: could not allocate memory`);
      throw e;
    }
    this.#mem = mem;
    cache.set(mem, this);
  }

  /** The ArrayBuffer over the memory (replaced after each grow). RangeError above 4 GiB. */
  get buffer(): ArrayBuffer {
    return this.#mem.buffer;
  }

  /** Grow by `delta` pages; returns the old size in pages (a BigInt for memory64). */
  grow(delta: unknown): number | bigint {
    const mem = this.#mem;
    const d = addressValueToU64(delta, mem.index64, 'WebAssembly.Memory.grow(): Argument 0');
    const r = mem.grow(d);
    if (r < 0) throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    return u64ToAddressValue(r, mem.index64);
  }

  /** The current buffer (already fixed-length). */
  toFixedLengthBuffer(): ArrayBuffer {
    return this.#mem.buffer;
  }

  /** Type reflection: { minimum, maximum?, shared, index }. */
  type(): { minimum: number | bigint; maximum?: number | bigint; shared: boolean; index: 'i32' | 'i64' } {
    const mem = this.#mem;
    const t: { minimum: number | bigint; maximum?: number | bigint; shared: boolean; index: 'i32' | 'i64' } = {
      minimum: u64ToAddressValue(mem.pages, mem.index64),
      shared: false,
      index: mem.index64 ? 'i64' : 'i32',
    };
    if (mem.maximum !== null) t.maximum = u64ToAddressValue(mem.maximum, mem.index64);
    return t;
  }

  /** Internal: the LinearMemory behind this object. */
  get [RUNTIME](): LinearMemory {
    return this.#mem;
  }

  static isMemory(v: unknown): v is Memory {
    return typeof v === 'object' && v !== null && #mem in v;
  }

}

Object.defineProperty(Memory.prototype, Symbol.toStringTag, { value: 'WebAssembly.Memory', configurable: true });

/** The LinearMemory of a Memory object (TypeError if `m` is not one). */
export function getLinearMemory(m: unknown): LinearMemory {
  if (!Memory.isMemory(m)) throw new TypeError('not a WebAssembly.Memory');
  return m[RUNTIME];
}

/** The unique Memory object of a LinearMemory (created on first use). */
export function memoryFromRuntime(mem: LinearMemory): Memory {
  const existing = cache.get(mem);
  if (existing !== undefined) return existing;
  pendingRuntime = mem;
  try {
    return new Memory(INTERNAL);
  } finally {
    pendingRuntime = null;
  }
}
