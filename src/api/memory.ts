// WebAssembly.Memory, backed by a runtime LinearMemory.
//
// Memories up to 4 GiB (every memory32, and memory64 with a maximum of at most 65536 pages) are V8's own
// WebAssembly.Memory: the Memory object *is* V8's memory object, with this class's prototype (so node:wasi
// and anything else that checks for a real WebAssembly.Memory in native code accepts it; V8's own methods
// are not on its prototype chain, so every grow goes through Quickbeam), and `buffer` is V8's: it is detached by every grow (from JS or from wasm,
// also by a grow of 0 pages) and a new one is returned, exactly as in V8. Larger memory64 memories are
// reservations of Quickbeam's own: their `buffer` (while they are at most 4 GiB) is a view that is never
// detached and keeps its first `oldLength` bytes valid; above 4 GiB there is none (RangeError): use the
// read/write windows. A shared memory (`{ shared: true }`, maximum at most 65536 pages) is V8's own shared
// memory: its `buffer` is a SharedArrayBuffer, which grow does not detach (threads, issue 15).
//
// `[Symbol.dispose]()` (explicit resource management) releases the memory once no instance holds it any
// more; the Memory object then throws a TypeError on every use.
//
// Quickbeam extras (non-standard): `read`/`write`/`window` (JS access beyond 4 GiB), file mappings
// (`mapFile`, `unmap`, `mappings`) and shared ranges between memories (`mapShared`, `shareRange`,
// `Memory.SharedRegion`). See src/runtime/file-mapping.ts for the exact semantics.

import { LinearMemory } from '../runtime/linear-memory.js';
import { engineSharedMemory } from '../runtime/v8-memory.js';
import { SharedRegion, type MapFileOptions, type MapRegionOptions, type MappingInfo } from '../runtime/file-mapping.js';
import { MEMORY32_MAX_PAGES, MEMORY64_MAX_PAGES } from '../runtime/layout.js';
import { addressValueToU64, toDOMString, u64ToAddressValue } from '../runtime/js-values.js';
import { DISPOSE } from '../runtime/lifetime.js';
import { webIdlInterface } from './webidl.js';

const CTX = 'WebAssembly.Memory()';

export { SharedRegion };
export type { MapFileOptions, MapRegionOptions, MappingInfo };

/** A non-negative safe integer from a Number or BigInt argument. */
function byteOffset(v: unknown, what: string): number {
  if (typeof v === 'bigint') {
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} ${v} is out of range`);
    return Number(v);
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${what} must be an integer (Number or BigInt)`);
  if (v < 0 || !Number.isSafeInteger(v)) throw new RangeError(`${what} ${v} is out of range`);
  return v;
}

/** Passed as the descriptor to build a Memory around an existing LinearMemory. */
const INTERNAL: unique symbol = Symbol('internal');


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

/**
 * The object a Memory constructor initialises: V8's own WebAssembly.Memory object when V8 backs the memory
 * (given Memory's prototype), so that the engine's own consumers accept it (node:wasi checks for a real
 * WebAssembly.Memory in native code), else a plain object.
 */
function presentedObject(mem: LinearMemory, proto: object): object {
  const v8 = mem.v8Object;
  if (v8 === null) return Object.create(proto) as object;
  Object.setPrototypeOf(v8, proto);
  return v8;
}

/** A base class whose constructor returns its argument: Memory's fields are then installed on that object. */
class Presented {
  constructor(target: object) {
    return target;
  }
}

let pendingRuntime: LinearMemory | null = null;

// Set by the class's static block (private-field access for this module's functions).
let brand: (v: unknown) => boolean;
let memOf: (m: Memory) => LinearMemory;
let disposed: (m: Memory) => boolean;

export class Memory extends Presented {
  readonly #mem: LinearMemory;
  /** Whether this object created the memory (then it is one of its holders until disposed). */
  #holds = false;
  #disposed = false;

  constructor(descriptor: unknown) {
    if (new.target === undefined) throw new TypeError(`${CTX} must be invoked with 'new'`);
    const mem = (descriptor as unknown) === INTERNAL && pendingRuntime !== null ? pendingRuntime : null;
    if (mem !== null) {
      pendingRuntime = null;
      super(presentedObject(mem, new.target.prototype));
      this.#mem = mem;
      mem.jsObject = this;
      return;
    }
    const created = Memory.#create(descriptor);
    super(presentedObject(created, new.target.prototype));
    this.#mem = created;
    this.#holds = true;
    created.jsObject = this;
  }

  /** The LinearMemory for a descriptor (the constructor's steps, before the object exists). */
  static #create(descriptor: unknown): LinearMemory {
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
    }
    try {
      return new LinearMemory({ initial, maximum, index64, shared });
    } catch (e) {
      if (e instanceof RangeError) throw new RangeError(`${CTX}: could not allocate memory`);
      throw e;
    }
  }

  /** The LinearMemory, unless this object or the memory has been disposed (TypeError). */
  #live(): LinearMemory {
    const mem = this.#mem;
    if (this.#disposed || mem.released) throw new TypeError('WebAssembly.Memory: this memory has been disposed');
    return mem;
  }

  /**
   * The ArrayBuffer over the memory: detached by the next grow, which gives a new one (as in V8). RangeError
   * above 4 GiB.
   */
  get buffer(): ArrayBuffer {
    return this.#live().buffer;
  }

  /**
   * Deterministic release (explicit resource management: `using memory = new WebAssembly.Memory(...)`).
   * This object throws a TypeError on every later use. The memory itself is released once no instance that
   * defined or imported it is left undisposed (while one is, it keeps working for it); buffers and windows
   * obtained before stay safe to touch. Idempotent.
   */
  [DISPOSE](): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#holds) {
      this.#holds = false;
      this.#mem.dropHolder();
    }
  }

  /** Grow by `delta` pages; returns the old size in pages (a BigInt for memory64). */
  grow(delta: unknown): number | bigint {
    const mem = this.#live();
    const d = addressValueToU64(delta, mem.index64, 'WebAssembly.Memory.grow(): Argument 0');
    const r = mem.grow(d);
    if (r < 0) throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    return u64ToAddressValue(r, mem.index64);
  }

  /** The current buffer (already fixed-length). */
  toFixedLengthBuffer(): ArrayBuffer {
    return this.#live().buffer;
  }

  /** Type reflection: { minimum, maximum?, shared, index }. */
  type(): { minimum: number | bigint; maximum?: number | bigint; shared: boolean; index: 'i32' | 'i64' } {
    const mem = this.#live();
    const t: { minimum: number | bigint; maximum?: number | bigint; shared: boolean; index: 'i32' | 'i64' } = {
      minimum: u64ToAddressValue(mem.pages, mem.index64),
      shared: mem.shared,
      index: mem.index64 ? 'i64' : 'i32',
    };
    if (mem.maximum !== null) t.maximum = u64ToAddressValue(mem.maximum, mem.index64);
    return t;
  }

  // ---------------------------------------------------------------------------------------------
  // Quickbeam extras

  /** Copy `length` bytes out of the memory at `offset` (Number or BigInt; works beyond 4 GiB). */
  read(offset: number | bigint, length: number | bigint): Uint8Array {
    return this.#live().read(byteOffset(offset, 'Memory.read(): offset'), byteOffset(length, 'Memory.read(): length'));
  }

  /** Copy `bytes` into the memory at `offset` (works beyond 4 GiB). */
  write(offset: number | bigint, bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('Memory.write(): bytes must be a Uint8Array');
    this.#live().write(byteOffset(offset, 'Memory.write(): offset'), bytes);
  }

  /**
   * A zero-copy Uint8Array over [offset, offset + length), length <= 4 GiB (works beyond 4 GiB). It keeps
   * the memory alive and does not follow later growth.
   */
  window(offset: number | bigint, length: number | bigint): Uint8Array {
    return this.#live().window(byteOffset(offset, 'Memory.window(): offset'), byteOffset(length, 'Memory.window(): length'));
  }

  /**
   * Map a host file into this memory with no copy: the guest reads it with plain loads.
   *
   *   memory.mapFile(path, { at, offset = 0, length = fileSize - offset, shared = false, writable = shared })
   *
   * - `at` (guest address) and `offset` (in the file) must be multiples of 4096 (the OS page size); `length`
   *   too, unless the range ends at the end of the file (the rest of the last page then reads as zeros).
   * - The range [at, at + length rounded up to 4096) must lie inside the memory's current size (grow first)
   *   and must not overlap another mapping. Its previous contents are discarded. Later growth never disturbs
   *   a mapping.
   * - `shared: false` (default): private copy-on-write. The file is opened read-only and is NEVER modified;
   *   stores (guest or JS) succeed and stay private to this memory. This is the "read-only" mode: there is no
   *   mode with read-only pages, because a guest store to one would crash the process.
   * - `shared: true` (then `writable` must be true, its default): stores reach the file, and other shared
   *   mappings of the file see them.
   * - If the file shrinks while mapped, pages wholly beyond its new end read as zeros from then on (they are
   *   detached from the file) instead of killing the process with SIGBUS; see `mappings()[i].detachedPages`.
   *
   * Misuse throws a TypeError (bad types, a directory or other non-regular file, a mode combination that is
   * not supported), a RangeError (alignment, outside the memory, overlap, a file shorter than the range), or
   * an Error carrying the OS error `code` (missing file, permission denied). The memory is then unchanged.
   * Returns a description of the mapping.
   */
  mapFile(path: string | URL | Buffer, options: MapFileOptions): MappingInfo {
    return this.#live().mapFile(path, options);
  }

  /** Map (part of) a SharedRegion into this memory (MAP_SHARED): { at, offset = 0, length = rest of the region }. */
  mapShared(region: SharedRegion, options: MapRegionOptions): MappingInfo {
    return this.#live().mapRegion(region, options);
  }

  /**
   * Share [at, at + length) of this memory with [otherAt, otherAt + length) of `other` (default otherAt = at):
   * both then show the same bytes (this memory's current ones) and every later store through one is seen by
   * the other. Multiples of 4096; both ranges inside their memory's current size. Returns the SharedRegion.
   */
  shareRange(other: Memory, options: { at: number | bigint; otherAt?: number | bigint; length: number | bigint }): SharedRegion {
    const o = getLinearMemory(other);
    if (isMemoryDisposed(other)) throw new TypeError('Memory.shareRange(): the other memory has been disposed');
    if (options === null || typeof options !== 'object') throw new TypeError('Memory.shareRange(): options { at, length } are required');
    const at = byteOffset(options.at, 'Memory.shareRange(): at');
    const otherAt = options.otherAt === undefined ? at : byteOffset(options.otherAt, 'Memory.shareRange(): otherAt');
    const length = byteOffset(options.length, 'Memory.shareRange(): length');
    return this.#live().shareRange(o, at, otherAt, length);
  }

  /** Replace the file or region mapping that starts at `at` with zeroed pages. */
  unmap(at: number | bigint): void {
    this.#live().unmap(byteOffset(at, 'Memory.unmap(): at'));
  }

  /** The file and region mappings of this memory, by address. */
  mappings(): MappingInfo[] {
    return this.#live().mappings();
  }

  /** `new Memory.SharedRegion(byteLength)`: shareable memory (a sealed memfd) to map into several memories. */
  static readonly SharedRegion = SharedRegion;

  // Internals for this module's functions below (not members: V8's Memory has no such statics or symbols).
  static {
    brand = (v) => typeof v === 'object' && v !== null && #mem in v;
    memOf = (m) => m.#mem;
    disposed = (m) => m.#disposed || m.#mem.released;
  }

}

Object.defineProperty(Memory.prototype, Symbol.toStringTag, { value: 'WebAssembly.Memory', configurable: true });
webIdlInterface(Memory, 1, ['grow', 'buffer', 'toFixedLengthBuffer']);
// Instances' prototype chain as V8's (Memory.prototype -> Object.prototype); `Presented` only serves the
// constructor's return override.
Object.setPrototypeOf(Memory.prototype, Object.prototype);


/** Whether `v` is a Memory object (a private brand check: no user code runs). */
export function isMemory(v: unknown): v is Memory {
  return brand(v);
}

/** Whether a Memory object was disposed, or its memory released. */
export function isMemoryDisposed(m: Memory): boolean {
  return disposed(m);
}

/** The LinearMemory of a Memory object (TypeError if `m` is not one). */
export function getLinearMemory(m: unknown): LinearMemory {
  if (!isMemory(m)) throw new TypeError('not a WebAssembly.Memory');
  return memOf(m);
}

/**
 * A Memory for an import value: `v` itself when it is one, else a Memory over an engine (V8) shared memory
 * (one that reached this thread by postMessage: worker threads), which becomes that Memory object (it gets
 * Memory's prototype, as every V8-backed Memory has), else null.
 */
export function adoptMemory(v: unknown): Memory | null {
  if (isMemory(v)) return v;
  const v8 = engineSharedMemory(v);
  return v8 === null ? null : memoryFromRuntime(LinearMemory.adopt(v8));
}

/** The unique Memory object of a LinearMemory (created on first use). */
export function memoryFromRuntime(mem: LinearMemory): Memory {
  const existing = mem.jsObject as Memory | null;
  if (existing !== null) return existing;
  pendingRuntime = mem;
  try {
    return new Memory(INTERNAL);
  } finally {
    pendingRuntime = null;
  }
}
