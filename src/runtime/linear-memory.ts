// Linear memories: a reserved virtual range (PROT_NONE, MAP_NORESERVE) that never moves. Growing commits
// pages (mprotect RW; fresh anonymous pages read as zero). Growing past the reservation fails (-1), which
// the spec allows.
//
// memory32 reserves min(max, 65536) pages (at most 4 GiB); memory64 reserves min(max, cap) where the cap
// (default 16 GiB) is configurable with `setMemory64ReservationCap`.
//
// A native MemoryDesc (+0 base, +8 byte length, +16 reserved bytes) is shared by every instance using the
// memory; generated code reads the current length from it.
//
// Lifetime: the reservation is released when the LinearMemory becomes unreachable. Every ArrayBuffer handed
// out holds a strong reference to its LinearMemory, so a live view never outlives the mapping. Instances
// must hold a strong reference to every LinearMemory their vmctx points at.

import {
  DEFAULT_MEMORY64_RESERVATION, MEMDESC_BASE, MEMDESC_LENGTH, MEMDESC_RESERVED, MEMDESC_SIZE, MEMORY32_MAX_PAGES,
  MEMORY64_MAX_PAGES, WASM_PAGE_SIZE,
} from './layout.js';
import {
  MAX_VIEW_BYTES, PROT_NONE, PROT_READ, PROT_WRITE, forceGc, mprotect, munmap, nativeAlloc, nativeFree, nativeMove, tryMmapAnon, view,
  writePtr, writeU64,
} from './native.js';
import {
  MAPPING_ALIGN, MemoryMappings, SharedRegion, copyFromRegion, copyIntoRegion, type MappingInfo, type MapFileOptions, type MapRegionOptions,
} from './file-mapping.js';

let memory64Cap = DEFAULT_MEMORY64_RESERVATION;

/** Set the largest reservation (bytes, a multiple of 64 KiB) made for a memory64. Default 16 GiB. */
export function setMemory64ReservationCap(bytes: number): void {
  if (!(bytes >= WASM_PAGE_SIZE && Number.isSafeInteger(bytes))) throw new RangeError(`bad memory64 cap ${bytes}`);
  memory64Cap = Math.floor(bytes / WASM_PAGE_SIZE) * WASM_PAGE_SIZE;
}

export function getMemory64ReservationCap(): number {
  return memory64Cap;
}

/** Property key under which every ArrayBuffer view keeps its LinearMemory alive. */
const KEEPALIVE: unique symbol = Symbol('quickbeam.linearMemory');

interface Held {
  base: number;
  reserved: number;
  desc: number;
  /** File / shared-region mappings (created on first use; see file-mapping.ts). */
  maps?: MemoryMappings;
}

const registry = new FinalizationRegistry<Held>((h) => {
  h.maps?.releaseAll(); // before the addresses can be reused
  munmap(h.base, h.reserved);
  nativeFree(h.desc);
  liveCount--;
  liveBytes -= h.reserved;
});

// Reservations are invisible to V8's heap accounting: a program creating many short-lived memories would run
// out of address space (or of mappings, vm.max_map_count) long before V8 decides to collect. So force a GC
// after every PRESSURE_COUNT new memories or PRESSURE_BYTES of new reservations (the finalizers then release
// the dead ones), and once more when a reservation fails.
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

/** Live linear memories and their reserved bytes (diagnostics). */
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
}

export class LinearMemory {
  /** Base address of the reservation (constant). */
  readonly base: number;
  /** Reserved bytes (constant): the size can never exceed this. */
  readonly reservedBytes: number;
  /** Address of the native MemoryDesc. */
  readonly desc: number;
  readonly index64: boolean;
  /** Declared maximum in pages (null when absent). */
  readonly maximum: number | null;
  /** The declared minimum (pages), for type reflection / import matching. */
  readonly initial: number;

  private _pages: number;
  private readonly held: Held;
  private _buffer: ArrayBuffer | null = null;
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
    let desc: number;
    try {
      desc = nativeAlloc(MEMDESC_SIZE);
    } catch (e) {
      munmap(base, reserved);
      throw e;
    }
    writePtr(desc + MEMDESC_BASE, base);
    writeU64(desc + MEMDESC_LENGTH, initialBytes);
    writeU64(desc + MEMDESC_RESERVED, reserved);
    this.base = base;
    this.reservedBytes = reserved;
    this.desc = desc;
    this.index64 = index64;
    this.maximum = maximum;
    this.initial = initial;
    this._pages = initial;
    this.held = { base, reserved, desc };
    registry.register(this, this.held);
    notePressure(reserved);
  }

  /** Current size in pages. */
  get pages(): number {
    return this._pages;
  }

  /** Current size in bytes. */
  get byteLength(): number {
    return this._pages * WASM_PAGE_SIZE;
  }

  /** The largest size (pages) grow can reach: the declared maximum capped by the reservation. */
  get maxPages(): number {
    return Math.min(this.maximum ?? Infinity, this.reservedBytes / WASM_PAGE_SIZE);
  }

  /**
   * Grow by `delta` pages (a Number or BigInt). Returns the old size in pages, or -1 on failure (beyond the
   * maximum or the reservation, or commit failure). The cached buffer is replaced after a successful grow.
   */
  grow(delta: number | bigint): number {
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
    if (d === 0) return old;
    const next = old + d;
    if (next > this.maxPages) return -1;
    const oldBytes = old * WASM_PAGE_SIZE;
    if (!mprotect(this.base + oldBytes, d * WASM_PAGE_SIZE, PROT_READ | PROT_WRITE)) return -1;
    this._pages = next;
    writeU64(this.desc + MEMDESC_LENGTH, next * WASM_PAGE_SIZE);
    this._buffer = null;
    for (const f of this.growListeners) f(old, next);
    return old;
  }

  /** Called after every successful non-zero grow (from JS or from wasm through a builtin). */
  onGrow(listener: (oldPages: number, newPages: number) => void): void {
    this.growListeners.push(listener);
  }

  /**
   * An ArrayBuffer over the whole memory, cached until the next grow. Throws a RangeError when the memory is
   * larger than 4 GiB (use read/write/window instead).
   */
  get buffer(): ArrayBuffer {
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

  private keep(b: ArrayBuffer): ArrayBuffer {
    Object.defineProperty(b, KEEPALIVE, { value: this });
    return b;
  }

  private check(offset: number, length: number): void {
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 &&
      offset + length <= this.byteLength)) {
      throw new RangeError(`memory access [${offset}, +${length}) out of bounds (size ${this.byteLength})`);
    }
  }

  /**
   * A zero-copy Uint8Array over [offset, offset + length) (length <= 4 GiB). Valid until the memory is freed
   * (it keeps the memory alive); it does not follow later growth.
   */
  window(offset: number, length: number): Uint8Array {
    this.check(offset, length);
    const b = this._buffer;
    if (b !== null && offset + length <= b.byteLength) return new Uint8Array(b, offset, length);
    if (offset + length <= MAX_VIEW_BYTES && this.byteLength <= MAX_VIEW_BYTES) {
      return new Uint8Array(this.buffer, offset, length);
    }
    if (length > MAX_VIEW_BYTES) throw new RangeError(`window of ${length} bytes is larger than 4 GiB`);
    return new Uint8Array(this.keep(view(this.base + offset, length)));
  }

  /** The cached buffer when the whole memory can be viewed (<= 4 GiB), else null. */
  private smallBuffer(): ArrayBuffer | null {
    return this.byteLength <= MAX_VIEW_BYTES ? this.buffer : null;
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
    let m = this.held.maps;
    if (m === undefined) {
      m = new MemoryMappings(this.base);
      this.held.maps = m;
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
