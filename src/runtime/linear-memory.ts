// Linear memories. Three kinds of backing, chosen at creation (generated code cannot tell them apart: it only
// needs the base address and the MemoryDesc):
//
// - Private (a memory no JS can reach: defined by an instance, not exported; at most 65536 pages): the
//   backing store of a resizable ArrayBuffer (`new ArrayBuffer(bytes, { maxByteLength })`), which V8 reserves
//   whole with its page allocator (the base never changes; resize commits pages in place) and unmaps when
//   the GC collects it, no finalizer. About a quarter cheaper to create than a WebAssembly.Memory (no 10 GiB
//   guard reservation, no memory object): what instantiating such a module costs is mostly its memory.
//   The buffer never leaves this file (nothing could shrink it under the code); JS never sees the memory.
//
// - V8-owned (every memory32, and memory64 whose declared maximum fits 65536 pages): a WebAssembly.Memory of
//   the engine (v8-memory.ts). V8 reserves its whole range up front, so the base never changes; `buffer` is
//   V8's own, detached on every grow exactly as in V8; and the GC frees it when nothing refers to it any more,
//   with no finalizer and no event-loop turn.
// - Own reservation (memory64 without a maximum or with one above 65536 pages, which may exceed 4 GiB): a
//   reserved virtual range (PROT_NONE, MAP_NORESERVE) that never moves; growing commits pages (mprotect RW;
//   fresh anonymous pages read as zero). It reserves min(max, cap) where the cap (default 16 GiB) is
//   configurable with `setMemory64ReservationCap`, and is unmapped by a FinalizationRegistry callback (or by
//   an explicit release). Such memories also serve as the fallback when V8 cannot allocate one.
//
// Growing past the maximum or the reservation fails (-1), which the spec allows.
//
// A MemoryDesc (+0 base, +8 byte length, +16 reserved bytes) is shared by every instance using the memory;
// generated code reads the current length from it. It is a GC-owned block (small-blocks.ts) that the
// LinearMemory holds (never moved, freed by the GC).
//
// Lifetime: instances hold a strong reference to every LinearMemory their vmctx points at; every ArrayBuffer
// handed out holds a strong reference to what backs it (V8's own buffers hold their backing store, the
// views made here hold the LinearMemory and the V8 memory), so a live view never outlives the memory.
// Deterministic release (`release()`, used by `[Symbol.dispose]()`) happens once the last holder lets go:
// the JS Memory object that created it, the instance that defined it, each instance that imported it.

import {
  DEFAULT_MEMORY64_RESERVATION, MEMDESC_BASE, MEMDESC_FAST_LIMIT, MEMDESC_LENGTH, MEMDESC_RESERVED, MEMDESC_SIZE, MEMORY32_MAX_PAGES,
  MEMORY64_MAX_PAGES, WASM_PAGE_SIZE, memoryFastLimit,
} from './layout.js';
import {
  MADV_DONTNEED, MAX_VIEW_BYTES, PAGE_SIZE, PROT_NONE, addressOf, PROT_READ, PROT_WRITE, forceGc, madvise, mprotect, munmap, nativeMove, tryMmapAnon, view,
} from './native.js';
import {
  MAPPING_ALIGN, MemoryMappings, SharedRegion, copyFromRegion, copyIntoRegion, type MappingInfo, type MapFileOptions, type MapRegionOptions,
} from './file-mapping.js';
import { V8_MEMORY_MAX_PAGES, backingAddress, tryCreateV8Memory, v8Buffer, v8Grow, type V8MemoryLike } from './v8-memory.js';
import { releaseWhenIdle } from './lifetime.js';
import { growthDeferrable, noteDeferredGrowth } from './deferred-growth.js';
import { allocBlock, lastBlockAddress, putU64 } from './small-blocks.js';
import { dropSharedDesc, findSharedDesc, raiseSharedLength, registerSharedDesc, type SharedDesc } from './shared-memory-registry.js';

let memory64Cap = DEFAULT_MEMORY64_RESERVATION;

/** Set the largest reservation (bytes, a multiple of 64 KiB) made for a memory64. Default 16 GiB. */
export function setMemory64ReservationCap(bytes: number): void {
  if (!(bytes >= WASM_PAGE_SIZE && Number.isSafeInteger(bytes))) throw new RangeError(`bad memory64 cap ${bytes}`);
  memory64Cap = Math.floor(bytes / WASM_PAGE_SIZE) * WASM_PAGE_SIZE;
}

export function getMemory64ReservationCap(): number {
  return memory64Cap;
}

let v8Backing = true;

/**
 * Testing: whether new memories that V8 could hold are V8-owned (default true). False makes every memory an
 * own reservation, as before V8 backing existed.
 */
export function setV8MemoryBacking(on: boolean): void {
  v8Backing = on;
}

/** Property key under which every ArrayBuffer view made here keeps its backing alive. */
const KEEPALIVE: unique symbol = Symbol('quickbeam.linearMemory');

/** What the finalizer of a memory needs (never the LinearMemory itself). */
interface Held {
  /** An own reservation to unmap ([base, base + reserved)); false for a V8 memory. */
  own: boolean;
  base: number;
  reserved: number;
  /** File / shared-region mappings (created on first use; see file-mapping.ts). */
  maps?: MemoryMappings;
  /**
   * A V8 memory with file mappings: its current buffer, which keeps V8's backing store (the address range)
   * alive until the finalizer has forgotten the mappings, so that their addresses cannot be reused (by another
   * memory) while the SIGBUS guard still knows them. A buffer and not the memory object: the object is the
   * JS Memory (api/memory.ts), which refers to this LinearMemory, so holding it here would keep the
   * LinearMemory alive forever. Replaced after every grow (which detaches the old one).
   */
  backing: ArrayBuffer | null;
  /** A shared memory's process-wide desc, whose live count this memory holds one of (0: none). */
  sharedDesc?: number;
  sharedGen?: number;
}

// Own reservations are unmapped by this finalizer; V8 memories have none unless they carry file mappings.
const registry = new FinalizationRegistry<Held>((h) => {
  h.maps?.releaseAll(); // before the addresses can be reused
  h.backing = null;
  if (h.sharedDesc) dropSharedDesc(h.sharedDesc, h.sharedGen!);
  if (h.own) {
    munmap(h.base, h.reserved);
    liveCount--;
    liveBytes -= h.reserved;
  }
});

// Own reservations are invisible to V8's heap accounting: a program creating many short-lived ones would run
// out of address space (or of mappings, vm.max_map_count) long before V8 decides to collect. So force a GC
// after every PRESSURE_COUNT new reservations or PRESSURE_BYTES of them (the finalizers then release the dead
// ones), and once more when a reservation fails. (V8 memories need none of this: V8 accounts for them.)
let liveCount = 0;
let liveBytes = 0;
let countSinceGc = 0;
let bytesSinceGc = 0;
const PRESSURE_COUNT = 4096;
const PRESSURE_BYTES = 16 * 2 ** 40;

function notePressure(reserved: number): void {
  liveCount++;
  liveBytes += reserved;
  countSinceGc++;
  bytesSinceGc += reserved;
  if (countSinceGc >= PRESSURE_COUNT || bytesSinceGc >= PRESSURE_BYTES) {
    countSinceGc = 0;
    bytesSinceGc = 0;
    forceGc();
  }
}

function onAllocationFailure(): void {
  countSinceGc = 0;
  bytesSinceGc = 0;
  forceGc();
}

/** Live own reservations (not V8 memories) and their reserved bytes (diagnostics). */
export function linearMemoryStats(): { count: number; reservedBytes: number } {
  return { count: liveCount, reservedBytes: liveBytes };
}

/** Largest window used by read/write when the request is not inside the cached buffer. */
const WINDOW = 256 * 1024 * 1024;


export interface LinearMemoryOptions {
  /** Initial size in pages. */
  initial: number;
  /** Maximum size in pages, or null. */
  maximum: number | null;
  /** memory64. */
  index64: boolean;
  /** Holders the memory starts with (default 1: its creator). See `addHolder`. */
  holders?: number;
  /**
   * A shared memory (threads): V8's own, its buffer a SharedArrayBuffer (growable, never detached); it
   * needs a maximum of at most 65536 pages (memory32 or memory64).
   */
  shared?: boolean;
  /**
   * No JS can ever reach the memory (an instance's own memory that it does not export): it may be a
   * resizable ArrayBuffer (see the file comment).
   */
  private?: boolean;
  /**
   * Adopt this engine (V8) shared memory instead of creating one: a shared memory that reached this thread
   * by postMessage (see `LinearMemory.adopt`).
   */
  adopt?: V8MemoryLike;
  /** Adopted: the V8 object does not tell its maximum (`maximum` is then V8's limit; see `maximumKnown`). */
  maximumUnknown?: boolean;
  /** Adopted: its live process-wide desc (found by `adopt`, which counted this memory as a user). */
  adoptDesc?: SharedDesc;
}

/** Resizable ArrayBuffer constructor (Node 20+), or null where resizable buffers are missing. */
type ResizableCtor = new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void; resizable?: boolean };
let privateBacking: boolean | null = (ArrayBuffer.prototype as { resize?: unknown }).resize === undefined ? false : null;

/**
 * A resizable ArrayBuffer of `bytes` growing in place up to `maxBytes`, and its (fixed) base address; null
 * when unavailable (no resizable buffers, a base that is not page-aligned: not V8's page allocator) or when
 * V8 cannot reserve it (the caller then tries the other kinds).
 */
function tryResizable(bytes: number, maxBytes: number): { buf: ArrayBuffer & { resize(n: number): void }; addr: number } | null {
  let buf: ArrayBuffer & { resize(n: number): void; resizable?: boolean };
  try {
    buf = new (ArrayBuffer as unknown as ResizableCtor)(bytes, { maxByteLength: Math.max(maxBytes, PAGE_SIZE) });
  } catch {
    return null;
  }
  const addr = addressOf(buf);
  if (privateBacking === null) privateBacking = buf.resizable === true && addr !== 0 && addr % PAGE_SIZE === 0;
  return privateBacking ? { buf, addr } : null;
}

/** The error for any use of a released memory. */
function releasedError(): TypeError {
  return new TypeError('WebAssembly.Memory: this memory has been disposed');
}

export class LinearMemory {
  /**
   * The JS API object presenting this (api/memory.ts), once one was made: a plain field, not a WeakMap from
   * this to it. (The two point at each other, which a WeakMap made an ephemeron cycle that only a full
   * collection breaks: every instance's objects were promoted, and a loop making instances grew Node 24's old
   * space by ~200 MB between full collections.)
   */
  jsObject: object | null = null;
  /** Base address of the memory (constant). */
  readonly base: number;
  /** Reserved bytes (constant): the size can never exceed this. */
  readonly reservedBytes: number;
  /** Address of the MemoryDesc. */
  readonly desc: number;
  readonly index64: boolean;
  /** Declared maximum in pages (null when absent). */
  readonly maximum: number | null;
  /** The declared minimum (pages), for type reflection / import matching. */
  readonly initial: number;
  /** A shared memory (see LinearMemoryOptions.shared). */
  readonly shared: boolean;
  /**
   * False for a shared memory V8 created whose maximum cannot be read (Node 20's shared buffers are not
   * growable SharedArrayBuffers, and V8 has no type reflection): import matching then trusts the import's
   * maximum, and V8 itself refuses to grow past the real one.
   */
  readonly maximumKnown: boolean = true;

  private _pages: number;
  /** A shared memory's process-wide desc (shared-memory-registry.ts); null: the desc is this thread's. */
  private readonly sharedDesc: SharedDesc | null = null;
  /** The V8 memory behind this one (null for an own reservation, and once released). */
  private v8: V8MemoryLike | null;
  /**
   * The V8 memory's size in pages: behind `_pages` while wasm's grows are not told to V8 yet (deferred-growth.ts;
   * `growthPending`), or for good if V8 refused them (`v8Refused`).
   */
  private v8Pages: number;
  private growthPending = false;
  private v8Refused = false;
  /** A private memory's resizable ArrayBuffer (null otherwise, and once released). */
  private rab: (ArrayBuffer & { resize(n: number): void }) | null = null;
  private readonly held: Held;
  /** The MemoryDesc's storage (its address is `desc`). */
  private readonly descWords: Uint32Array;
  /** Own reservations: cached view over the whole memory (replaced after each grow). */
  private _buffer: ArrayBuffer | null = null;
  /** Own reservations: whether a view over the mapping was ever handed to JS (it must then never be unmapped early). */
  private viewsHandedOut = false;
  private registered = false;
  private holders: number;
  private _released = false;
  private readonly growListeners: Array<(oldPages: number, newPages: number) => void> = [];

  /** Throws a RangeError when the memory cannot be allocated. */
  constructor(opts: LinearMemoryOptions) {
    const { initial, maximum, index64 } = opts;
    const limit = index64 ? MEMORY64_MAX_PAGES : MEMORY32_MAX_PAGES;
    if (!(Number.isSafeInteger(initial) && initial >= 0 && initial <= limit)) {
      throw new RangeError(`invalid initial memory size ${initial} pages`);
    }
    if (maximum !== null && !(Number.isSafeInteger(maximum) && maximum >= initial && maximum <= limit)) {
      throw new RangeError(`invalid maximum memory size ${maximum} pages`);
    }
    this.descWords = allocBlock(MEMDESC_SIZE);
    this.desc = lastBlockAddress();
    this.index64 = index64;
    this.maximum = maximum;
    this.initial = initial;
    this._pages = initial;
    this.v8Pages = initial;
    this.holders = opts.holders ?? 1;
    this.shared = opts.shared === true;
    this.maximumKnown = opts.maximumUnknown !== true;
    // A shared memory is V8's own (a SharedArrayBuffer that every thread can map): at most 65536 pages.
    if (this.shared && (maximum === null || maximum > V8_MEMORY_MAX_PAGES)) {
      throw new RangeError('a shared memory needs a maximum of at most 65536 pages (4 GiB) in quickbeam');
    }

    // V8-owned when V8 can hold it: every memory32, and memory64 whose maximum fits a memory32.
    const v8Pages = !index64 ? (maximum ?? V8_MEMORY_MAX_PAGES) : maximum !== null && maximum <= V8_MEMORY_MAX_PAGES ? maximum : -1;
    const rab = opts.private === true && v8Backing && !this.shared && v8Pages >= 0 && privateBacking !== false
      ? tryResizable(initial * WASM_PAGE_SIZE, v8Pages * WASM_PAGE_SIZE) : null;
    const v8 = opts.adopt ?? (rab === null && (v8Backing || this.shared) && v8Pages >= 0 ? tryCreateV8Memory(initial, maximum, this.shared) : null);
    if (v8 === null && this.shared) throw new RangeError(`could not allocate a shared memory of ${initial} pages`);
    if (rab !== null) {
      this.v8 = null;
      this.rab = rab.buf;
      this.base = rab.addr;
      this.reservedBytes = v8Pages * WASM_PAGE_SIZE;
      this.held = { own: false, base: this.base, reserved: 0, backing: null };
    } else if (v8 !== null) {
      this.v8 = v8;
      this.base = backingAddress(v8Buffer(v8));
      this.reservedBytes = v8Pages * WASM_PAGE_SIZE;
      this.held = { own: false, base: this.base, reserved: 0, backing: null };
    } else {
      // An own reservation (also the fallback when V8 could not allocate the memory).
      this.v8 = null;
      const capPages = index64 ? memory64Cap / WASM_PAGE_SIZE : MEMORY32_MAX_PAGES;
      const reservePages = Math.max(1, Math.min(maximum ?? capPages, capPages));
      if (initial > reservePages) {
        throw new RangeError(`could not allocate memory: ${initial} pages exceed the ${reservePages}-page reservation limit`);
      }
      const reserved = reservePages * WASM_PAGE_SIZE;
      const base = tryMmapAnon(reserved, PROT_NONE, true);
      if (base === 0) {
        onAllocationFailure();
        throw new RangeError(`could not reserve ${reserved} bytes for a linear memory`);
      }
      const initialBytes = initial * WASM_PAGE_SIZE;
      if (initialBytes > 0 && !mprotect(base, initialBytes, PROT_READ | PROT_WRITE)) {
        munmap(base, reserved);
        onAllocationFailure();
        throw new RangeError(`could not allocate ${initialBytes} bytes of linear memory`);
      }
      this.base = base;
      this.reservedBytes = reserved;
      this.held = { own: true, base, reserved, backing: null };
      registry.register(this, this.held, this);
      this.registered = true;
      notePressure(reserved);
    }
    this.setDesc(MEMDESC_BASE, this.base);
    this.setLength(initial * WASM_PAGE_SIZE);
    this.setDesc(MEMDESC_RESERVED, this.reservedBytes);
    if (this.shared) {
      // one desc for every thread: the one registered by whoever created the memory, else a new entry
      const sd = opts.adoptDesc ?? registerSharedDesc(this.base, initial * WASM_PAGE_SIZE, this.reservedBytes, maximum!, index64, opts.maximumUnknown === true);
      if (sd !== null) {
        this.sharedDesc = sd;
        this.desc = sd.desc;
        // (its live count goes back when this memory is released or collected)
        this.held.sharedDesc = sd.desc;
        this.held.sharedGen = sd.gen;
        if (!this.registered) {
          registry.register(this, this.held, this);
          this.registered = true;
        }
      }
    }
  }

  /**
   * A LinearMemory over an engine (V8) shared WebAssembly.Memory, e.g. one that reached this thread by
   * postMessage. Its type comes from the process-wide registry when a Quickbeam created it (any thread),
   * else from the buffer (a growable SharedArrayBuffer: its maxByteLength is the maximum; an i32 index), or
   * the maximum stays unknown (Node 20: see `maximumKnown`).
   */
  static adopt(v8: V8MemoryLike): LinearMemory {
    const buf = v8Buffer(v8) as unknown as SharedArrayBuffer;
    const pages = buf.byteLength / WASM_PAGE_SIZE;
    let sd = findSharedDesc(backingAddress(buf));
    // A live entry's length never exceeds the memory's (V8 grows first, then the entry is raised), so a longer
    // one is the stale entry of a dead memory whose finalizer has not run yet: code must never trust it
    if (sd !== null && Number(Atomics.load(sd.length, 0)) > v8Buffer(v8).byteLength) {
      dropSharedDesc(sd.desc, sd.gen);
      sd = null;
    }
    if (sd !== null) {
      return new LinearMemory({
        initial: pages, maximum: sd.maxPages, index64: sd.index64, shared: true, adopt: v8, maximumUnknown: sd.maxUnknown, adoptDesc: sd,
      });
    }
    const growable = (buf as { growable?: boolean }).growable === true;
    const maximum = growable ? (buf as { maxByteLength?: number }).maxByteLength! / WASM_PAGE_SIZE : V8_MEMORY_MAX_PAGES;
    return new LinearMemory({ initial: pages, maximum, index64: false, shared: true, adopt: v8, maximumUnknown: !growable });
  }

  /** A shared memory's current length from the process-wide desc (another thread may have grown it). */
  private syncShared(): void {
    const sd = this.sharedDesc;
    if (sd !== null && !this._released) this._pages = Number(Atomics.load(sd.length, 0)) / WASM_PAGE_SIZE;
  }

  private setDesc(offset: number, v: number): void {
    putU64(this.descWords, offset, v);
  }

  /** The length in the desc, with the fast bounds-check limit derived from it (layout.ts). */
  private setLength(bytes: number): void {
    putU64(this.descWords, MEMDESC_FAST_LIMIT, memoryFastLimit(bytes));
    putU64(this.descWords, MEMDESC_LENGTH, bytes);
  }

  /** The V8 memory object behind this memory (null for an own reservation, and once released). */
  get v8Object(): object | null {
    return this.v8;
  }

  /** Whether the memory is V8-owned (false: an own reservation). */
  get v8Backed(): boolean {
    return this.held.own === false;
  }

  /** The kind of backing (tests, diagnostics): V8 memory, private resizable buffer, own reservation. */
  get kind(): 'v8' | 'private' | 'own' {
    return this.held.own ? 'own' : this.rab !== null ? 'private' : 'v8';
  }

  /** Whether the memory has been released (every use then throws a TypeError). */
  get released(): boolean {
    return this._released;
  }

  /** One more holder: an instance that defines or imports the memory (see `dropHolder`). */
  addHolder(): void {
    this.holders++;
  }

  /**
   * One holder lets go (an instance disposed, the JS Memory object that created it disposed). The last one
   * releases the memory, at once or, while wasm code runs, when the outermost call returns.
   */
  dropHolder(): void {
    if (this.holders <= 0) return;
    if (--this.holders === 0) releaseWhenIdle(() => this.release());
  }

  /**
   * Release the memory now (no wasm code may be running against it). A V8 memory is let go (the GC frees it
   * once no ArrayBuffer over it is left); an own reservation is unmapped, or, when views over it were handed
   * to JS, has its pages discarded (they read as zeros) and is unmapped by its finalizer. File mappings are
   * undone first. Idempotent.
   */
  release(): void {
    if (this._released) return;
    this._released = true;
    this.growthPending = false;
    if (this.held.sharedDesc) {
      dropSharedDesc(this.held.sharedDesc, this.held.sharedGen!);
      this.held.sharedDesc = 0;
    }
    // defensive: any access that could still happen traps (not for a shared memory: other threads use its desc)
    if (this.sharedDesc === null) this.setLength(0);
    const maps = this.held.maps;
    if (maps !== undefined) {
      for (const m of maps.list()) {
        try { maps.unmap(m.at); } catch { /* the finalizer forgets it */ }
      }
    }
    this._buffer = null;
    if (this.held.own) {
      const committed = this._pages * WASM_PAGE_SIZE;
      if (!this.viewsHandedOut) {
        if (this.registered) registry.unregister(this);
        this.registered = false;
        maps?.releaseAll();
        munmap(this.base, this.reservedBytes);
        liveCount--;
        liveBytes -= this.reservedBytes;
      } else if (committed > 0) {
        madvise(this.base, committed, MADV_DONTNEED);
      }
    } else {
      if (this.registered) registry.unregister(this);
      this.registered = false;
      maps?.releaseAll();
      this.held.backing = null;
      this.v8 = null;
      this.rab = null;
    }
    this._pages = 0;
  }

  private live(): void {
    if (this._released) throw releasedError();
  }

  /** Current size in pages. */
  get pages(): number {
    this.syncShared();
    return this._pages;
  }

  /** Current size in bytes. */
  get byteLength(): number {
    return this.pages * WASM_PAGE_SIZE;
  }

  /** The largest size (pages) grow can reach: the declared maximum capped by the reservation. */
  get maxPages(): number {
    return Math.min(this.maximum ?? Infinity, this.reservedBytes / WASM_PAGE_SIZE);
  }

  /**
   * Grow by `delta` pages (a Number or BigInt). Returns the old size in pages, or -1 on failure (beyond the
   * maximum or the reservation, or commit failure). A V8 memory's buffer is detached by every grow (also by
   * 0 pages, as in V8); an own reservation's cached buffer is replaced after a non-zero grow.
   */
  grow(delta: number | bigint, fromWasm = false): number {
    this.live();
    this.syncShared();
    const old = this._pages;
    let d: number;
    if (typeof delta === 'bigint') {
      if (delta < 0n) return -1;
      if (delta > BigInt(Number.MAX_SAFE_INTEGER)) return -1;
      d = Number(delta);
    } else {
      if (!(delta >= 0 && Number.isSafeInteger(delta))) return -1;
      d = delta;
    }
    const next = old + d;
    if (next > this.maxPages) return -1;
    const v8 = this.v8;
    if (v8 !== null && fromWasm && !this.shared && !this.v8Refused && this.held.maps === undefined && growthDeferrable()) {
      // Wasm's grow: V8 is told when JS can next see the memory (deferred-growth.ts). The pages are V8's
      // reservation of this memory (fresh, so zero); V8's own grow will find them committed already.
      if (d !== 0 && !mprotect(this.base + old * WASM_PAGE_SIZE, d * WASM_PAGE_SIZE, PROT_READ | PROT_WRITE)) return -1;
      if (!this.growthPending) {
        this.growthPending = true;
        noteDeferredGrowth(this);
      }
      if (d === 0) return old;
    } else if (v8 !== null) {
      if (this.growthPending) this.syncV8Growth();
      let was: number;
      try {
        was = v8Grow(v8, d);
      } catch {
        return -1;
      }
      this.checkNotMoved(v8);
      if (this.held.backing !== null) this.held.backing = v8Buffer(v8);
      this.v8Pages = was + d;
      if (d === 0) return old;
      const sd = this.sharedDesc;
      if (sd !== null) {
        // V8 grows a shared memory atomically, and another thread may have grown it since we looked: V8's
        // answer counts, and the length only ever rises
        raiseSharedLength(sd, (was + d) * WASM_PAGE_SIZE);
        this.syncShared();
        for (const f of this.growListeners) f(was, was + d);
        return was;
      }
    } else if (this.rab !== null) {
      if (d === 0) return old;
      try {
        this.rab.resize(next * WASM_PAGE_SIZE); // in place: V8 commits the pages of its reservation
      } catch {
        return -1;
      }
      if (addressOf(this.rab) !== this.base) {
        // (Never seen: resizable buffers grow in place. As for a V8 memory, nothing may touch a freed range.)
        this.setLength(0);
        this._pages = 0;
        this._released = true;
        throw new RangeError('memory.grow: the memory moved while growing; it is no longer usable');
      }
    } else {
      if (d === 0) return old;
      const oldBytes = old * WASM_PAGE_SIZE;
      if (!mprotect(this.base + oldBytes, d * WASM_PAGE_SIZE, PROT_READ | PROT_WRITE)) return -1;
      this._buffer = null;
    }
    this._pages = next;
    this.setLength(next * WASM_PAGE_SIZE);
    for (const f of this.growListeners) f(old, next);
    return old;
  }

  /**
   * V8 reserves the whole range up front, so the memory never moves. Should it ever (V8 copies a memory whose
   * reservation was cut short under address-space pressure), the code of every instance using it would still
   * point at the old range: make the memory unusable (every access traps) rather than let anything touch
   * freed memory.
   */
  private checkNotMoved(v8: V8MemoryLike): void {
    if (backingAddress(v8Buffer(v8)) !== this.base) {
      this.setLength(0);
      this._pages = 0;
      this._released = true;
      throw new RangeError('WebAssembly.Memory.grow(): V8 moved the memory while growing it; the memory is no longer usable');
    }
  }

  /**
   * Grow the V8 memory by what wasm grew this memory since V8 last heard (one V8 grow, which detaches the
   * buffer also when that is 0 pages, as each of wasm's grows would have). Called by deferred-growth.ts when JS
   * is about to run, and before anything here reads V8's buffer.
   */
  syncV8Growth(): void {
    if (!this.growthPending) return;
    this.growthPending = false;
    const v8 = this.v8;
    if (v8 === null || this._released) return;
    try {
      v8Grow(v8, this._pages - this.v8Pages);
    } catch {
      // V8 refused pages that its maximum allows (a lowered engine limit): wasm keeps them, V8's buffer stays
      // at V8's size, and this memory's later grows go to V8 first.
      this.v8Refused = true;
      return;
    }
    this.v8Pages = this._pages;
    this.checkNotMoved(v8);
    if (this.held.backing !== null) this.held.backing = v8Buffer(v8);
  }

  /** Called after every successful non-zero grow (from JS or from wasm through a builtin). */
  onGrow(listener: (oldPages: number, newPages: number) => void): void {
    this.growListeners.push(listener);
  }

  /**
   * An ArrayBuffer over the whole memory: V8's own buffer for a V8 memory (detached by the next grow), else a
   * view cached until the next grow. Throws a RangeError when the memory is larger than 4 GiB (use
   * read/write/window instead), a TypeError once the memory has been released.
   */
  get buffer(): ArrayBuffer {
    this.live();
    // (A private memory's own buffer is resizable: JS gets a view instead. Unreachable from JS anyway.)
    if (this.rab !== null) return this.keep(view(this.base, this.byteLength));
    const b = this.wholeBuffer();
    if (this.v8 === null) this.viewsHandedOut = true;
    return b;
  }

  /** The buffer over the whole memory without marking it as handed out (internal copies). */
  private wholeBuffer(): ArrayBuffer {
    const v8 = this.v8;
    if (v8 !== null) {
      if (this.growthPending) this.syncV8Growth();
      return v8Buffer(v8);
    }
    if (this.rab !== null) return this.rab;
    let b = this._buffer;
    if (b === null) {
      const len = this.byteLength;
      if (len > MAX_VIEW_BYTES) {
        throw new RangeError(`memory of ${len} bytes is larger than 4 GiB: no ArrayBuffer can view it (use windows)`);
      }
      b = this.keep(view(this.base, len));
      this._buffer = b;
    }
    return b;
  }

  /** True when `buffer` can be created (size <= 4 GiB). */
  get hasBuffer(): boolean {
    return this.byteLength <= MAX_VIEW_BYTES;
  }

  /** Tie a view over the memory to what backs it (this object, and the V8 memory if any). */
  private keep(b: ArrayBuffer): ArrayBuffer {
    Object.defineProperty(b, KEEPALIVE, { value: this.v8 !== null ? [this, this.v8] : this.rab !== null ? [this, this.rab] : this });
    return b;
  }

  private check(offset: number, length: number): void {
    this.live();
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 &&
      offset + length <= this.byteLength)) {
      throw new RangeError(`memory access [${offset}, +${length}) out of bounds (size ${this.byteLength})`);
    }
  }

  /**
   * A zero-copy Uint8Array over [offset, offset + length) (length <= 4 GiB). Valid as long as it is referenced
   * (it keeps the memory alive, and is never detached: it does not follow later growth).
   */
  window(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    if (length > MAX_VIEW_BYTES) throw new RangeError(`window of ${length} bytes is larger than 4 GiB`);
    if (this.v8 === null && this.rab === null) {
      this.viewsHandedOut = true;
      const b = this._buffer;
      if (b !== null && offset + length <= b.byteLength) return new Uint8Array(b, offset, length);
      if (offset + length <= MAX_VIEW_BYTES && this.byteLength <= MAX_VIEW_BYTES) {
        return new Uint8Array(this.wholeBuffer(), offset, length);
      }
    }
    // A V8 memory's own buffer is detached by grow, so a window is a view of its own.
    return new Uint8Array(this.keep(view(this.base + offset, length)));
  }

  /** The buffer over the whole memory when it can be viewed (<= 4 GiB), else null. */
  private smallBuffer(): ArrayBuffer | null {
    return this.byteLength <= MAX_VIEW_BYTES ? this.wholeBuffer() : null;
  }

  /** Copy `length` bytes out of the memory, starting at `offset` (works beyond 4 GiB). */
  read(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    const b = this.smallBuffer();
    if (b !== null) return new Uint8Array(b, offset, length).slice();
    const out = new Uint8Array(length);
    for (let done = 0; done < length;) {
      const n = Math.min(WINDOW, length - done);
      out.set(new Uint8Array(view(this.base + offset + done, n)), done);
      done += n;
    }
    return out;
  }

  /** Copy `bytes` into the memory at `offset` (works beyond 4 GiB). */
  write(offset: number, bytes: Uint8Array): void {
    const length = bytes.length;
    this.check(offset, length);
    if (length === 0) return;
    const b = this.smallBuffer();
    if (b !== null) {
      new Uint8Array(b, offset, length).set(bytes);
      return;
    }
    for (let done = 0; done < length;) {
      const n = Math.min(WINDOW, length - done);
      new Uint8Array(view(this.base + offset + done, n)).set(bytes.subarray(done, done + n));
      done += n;
    }
  }

  /**
   * Copy src[start, start + length) to `offset`, for many small pieces in a row (active data segments: Go
   * modules have ~100,000): `target` is what the previous call returned (null the first time), a view over the
   * whole memory that the next call reuses, valid until the memory grows. Bounds are the caller's to check.
   */
  writePiece(target: Uint8Array | null, offset: number, src: Uint8Array, start: number, length: number): Uint8Array | null {
    if (target === null) {
      const b = this.smallBuffer();
      if (b === null) {
        this.write(offset, src.subarray(start, start + length));
        return null;
      }
      target = new Uint8Array(b);
    }
    if (length <= 64) {
      // (TypedArray set goes through the runtime: ~200 ns a call, more than a short loop takes)
      for (let k = 0; k < length; k++) target[offset + k] = src[start + k];
    } else {
      target.set(src.subarray(start, start + length), offset);
    }
    return target;
  }

  /** Fill [offset, offset + length) with `value` (works beyond 4 GiB). */
  fill(offset: number, value: number, length: number): void {
    this.check(offset, length);
    if (length === 0) return;
    const b = this.smallBuffer();
    if (b !== null) {
      new Uint8Array(b, offset, length).fill(value);
      return;
    }
    for (let done = 0; done < length;) {
      const n = Math.min(WINDOW, length - done);
      new Uint8Array(view(this.base + offset + done, n)).fill(value);
      done += n;
    }
  }

  /** Copy within the memory (memmove semantics; works beyond 4 GiB). */
  copyWithin(dst: number, src: number, length: number): void {
    this.check(dst, length);
    this.check(src, length);
    if (length === 0 || dst === src) return;
    const b = this.smallBuffer();
    if (b !== null) {
      new Uint8Array(b).copyWithin(dst, src, src + length);
      return;
    }
    nativeMove(this.base + dst, this.base + src, length);
  }

  // -----------------------------------------------------------------------------------------------
  // File and shared mappings (see file-mapping.ts for the full semantics)

  private maps(): MemoryMappings {
    this.live();
    let m = this.held.maps;
    if (m === undefined) {
      m = new MemoryMappings(this.base);
      this.held.maps = m;
    }
    if (!this.registered) {
      // A V8 memory with mappings: the finalizer forgets them before the V8 memory (kept by `held`) can go.
      if (this.growthPending) this.syncV8Growth();
      if (this.v8 !== null) this.held.backing = v8Buffer(this.v8);
      else if (this.rab !== null) this.held.backing = this.rab;
      registry.register(this, this.held, this);
      this.registered = true;
    }
    return m;
  }

  /**
   * Map a host file over [at, at + length rounded up to 4 KiB) of this memory, with no copy. `at` and `offset`
   * are multiples of 4096; the range must lie inside the current size and not overlap another mapping.
   * Private (default): copy-on-write, the file is never modified. `shared: true`: stores reach the file.
   * Throws TypeError / RangeError / Error (with the OS error code) on misuse; the memory is then unchanged.
   */
  mapFile(path: string | URL | Buffer, options: MapFileOptions): MappingInfo {
    return this.maps().mapFile(path, options, this.byteLength);
  }

  /** Map (part of) a SharedRegion over [at, at + length) of this memory (MAP_SHARED). */
  mapRegion(region: SharedRegion, options: MapRegionOptions): MappingInfo {
    return this.maps().mapRegion(region, options, this.byteLength);
  }

  /** Replace the mapping starting at `at` with zeroed anonymous pages (RangeError when none starts there). */
  unmap(at: number | bigint): void {
    this.live();
    const m = this.held.maps;
    if (m === undefined) throw new RangeError(`unmap: no mapping starts at 0x${Number(at).toString(16)}`);
    m.unmap(at);
  }

  /** The current file and region mappings, by address. */
  mappings(): MappingInfo[] {
    return this.held.maps?.list() ?? [];
  }

  /**
   * Make [at, at + length) of this memory and [otherAt, otherAt + length) of `other` the same memory: a new
   * SharedRegion receives this memory's current bytes of the range and is mapped into both (the other
   * memory's previous bytes there are discarded). Returns the region (map it into more memories at will).
   */
  shareRange(other: LinearMemory, at: number, otherAt: number, length: number): SharedRegion {
    const ctx = 'shareRange';
    for (const [v, what] of [[at, 'at'], [otherAt, 'otherAt'], [length, 'length']] as const) {
      if (!(Number.isSafeInteger(v) && v >= 0)) throw new RangeError(`${ctx}: ${what} ${v} must be a non-negative integer`);
      if (v % MAPPING_ALIGN !== 0) throw new RangeError(`${ctx}: ${what} ${v} is not a multiple of the ${MAPPING_ALIGN}-byte page size`);
    }
    if (length === 0) throw new RangeError(`${ctx}: length must be positive`);
    if (other === this && at < otherAt + length && otherAt < at + length) {
      throw new RangeError(`${ctx}: the two ranges overlap`);
    }
    // Check both sides before changing anything.
    this.maps().checkRange(ctx, at, length, this.byteLength);
    other.maps().checkRange(ctx, otherAt, length, other.byteLength);
    const region = new SharedRegion(length);
    copyIntoRegion(region, 0, this.base + at, length);
    this.mapRegion(region, { at, length });
    try {
      other.mapRegion(region, { at: otherAt, length });
    } catch (e) {
      // Put this memory back as it was: plain pages holding the same bytes.
      this.unmap(at);
      copyFromRegion(region, 0, this.base + at, length);
      region.close();
      throw e;
    }
    return region;
  }
}
