// V8's own WebAssembly.Memory as the backing store of a linear memory.
//
// A V8 memory is owned by V8's garbage collector: it is freed when the Memory object (and every ArrayBuffer
// over it) is collected, whatever the embedder's loop looks like (no finalizer, no event-loop turn), and V8
// itself collects dead memories when a new one cannot be reserved. On x86-64 V8 reserves the whole range
// (with guard regions: 10 GiB per memory) up front, so the base address never changes when the memory grows;
// `buffer` is detached on grow exactly as in V8, because it is V8's.
//
// The constructor is taken from the global `WebAssembly` when this module is first evaluated, i.e. when
// Quickbeam's runtime loads, before anyone can install Quickbeam as `globalThis.WebAssembly`. It is only used
// when it is really the engine's (native code).

import { koffi } from './native.js';

interface V8MemoryLike {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}

type V8MemoryCtor = new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => V8MemoryLike;

function captureEngineMemory(): V8MemoryCtor | null {
  const wa = (globalThis as { WebAssembly?: { Memory?: unknown } }).WebAssembly;
  const ctor = wa?.Memory;
  if (typeof ctor !== 'function') return null;
  // A replacement installed before us (e.g. Quickbeam's own class in a realm where it was registered first)
  // is not the engine's: its memories would not be V8-owned.
  if (!/\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(ctor))) return null;
  return ctor as V8MemoryCtor;
}

const V8Memory: V8MemoryCtor | null = captureEngineMemory();

// V8's own `buffer` getter and `grow`, called directly: a V8 memory object handed to JS as a Quickbeam Memory
// (api/memory.ts) has Quickbeam's prototype, whose `buffer` and `grow` lead back here.
const v8BufferGetter = V8Memory === null ? null : Object.getOwnPropertyDescriptor(V8Memory.prototype, 'buffer')!.get!;
const v8GrowMethod = V8Memory === null ? null : (V8Memory.prototype as V8MemoryLike).grow;

/** The current ArrayBuffer of a V8 memory (V8's getter, whatever the object's prototype). */
export function v8Buffer(m: V8MemoryLike): ArrayBuffer {
  return v8BufferGetter!.call(m) as ArrayBuffer;
}

/** Grow a V8 memory by `delta` pages (V8's method, whatever the object's prototype); throws as V8 does. */
export function v8Grow(m: V8MemoryLike, delta: number): number {
  return v8GrowMethod!.call(m, delta);
}

/**
 * `v` when it is an engine (V8) WebAssembly.Memory whose buffer is a SharedArrayBuffer (a shared memory that
 * reached this thread by postMessage arrives as the engine's object), else null.
 */
export function engineSharedMemory(v: unknown): V8MemoryLike | null {
  if (v8BufferGetter === null || typeof v !== 'object' || v === null) return null;
  try {
    return v8BufferGetter.call(v) instanceof SharedArrayBuffer ? (v as V8MemoryLike) : null;
  } catch {
    return null; // not a memory object
  }
}

/** Largest V8 memory in pages (memory32's limit: 4 GiB). */
export const V8_MEMORY_MAX_PAGES = 65536;

/** Whether V8 memories can back linear memories in this process. */
export const v8MemoryAvailable: boolean = V8Memory !== null;

/** The engine's WebAssembly.Memory constructor (null when unavailable). */
export function engineMemoryConstructor(): Function | null {
  return V8Memory;
}

/**
 * A new V8 memory of `initial` pages growing up to `maximum` pages (null: V8's own limit, 65536), or null
 * when V8 cannot allocate it (address space exhausted even after V8's own garbage collections).
 */
export function tryCreateV8Memory(initial: number, maximum: number | null, shared = false): V8MemoryLike | null {
  if (V8Memory === null) return null;
  try {
    // (A shared memory, whose buffer is a SharedArrayBuffer, always has a maximum.)
    return new V8Memory(shared ? { initial, maximum: maximum!, shared: true } : maximum === null ? { initial } : { initial, maximum });
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}

/**
 * Native address of the first byte of an ArrayBuffer's backing store (also for a 0-byte wasm memory). A
 * SharedArrayBuffer (a shared memory's buffer, for issue 15) is refused by koffi.address but a view of it
 * is not; its base is fixed across grow too.
 */
export function backingAddress(buffer: ArrayBuffer | SharedArrayBuffer): number {
  if (buffer instanceof SharedArrayBuffer) return Number(koffi.address(new Uint8Array(buffer)));
  return Number(koffi.address(buffer));
}

export type { V8MemoryLike };
