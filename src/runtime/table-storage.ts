// Table storage: a TableDesc (+0 elements pointer, +8 length, +16 max) and an array of 8-byte entries
// (funcref: FuncRecord address; externref: handle id from refs.ts; 0 = null).
//
// Growing reallocates the entries (the desc is updated; generated code always reloads the pointer from the
// desc). Entries are raw numbers here; conversions to JS values live in refs.ts / api/table.ts.
//
// Lifetime: the desc and the entries are GC-owned blocks (small-blocks.ts: off-heap, never moved) that the
// TableStorage holds, freed by the GC with it, with no finalizer; instances must hold a strong reference to
// every TableStorage their vmctx points at.

import { TABLEDESC_ELEMENTS, TABLEDESC_LENGTH, TABLEDESC_MAX, TABLEDESC_SIZE, TABLE_MAX_ELEMENTS } from './layout.js';
import { allocBlock, lastBlockAddress, putU64 } from './small-blocks.js';
import { registerRootWords, type RootWords } from './gc-roots.js';
import { mayHoldGcObject } from '../decode/gc-types.js';

export const enum TableElem {
  FuncRef = 0x70,
  ExternRef = 0x6f,
}

/** A zeroed block of `bytes` bytes as words (its address: lastBlockAddress()), or null when out of memory. */
function tryBlock(bytes: number): Uint32Array | null {
  try {
    return allocBlock(bytes);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}

const TWO32 = 4294967296;

export interface TableStorageOptions {
  elemType: TableElem | number;
  /** Initial length. */
  initial: number;
  /** Maximum length, or null. */
  maximum: number | null;
  index64: boolean;
  /** Raw value of the initial entries (default 0 = null). */
  init?: number;
}

export class TableStorage {
  /**
   * The JS API object presenting this (api/table.ts), once one was made: a plain field, not a WeakMap from
   * this to it. (The two point at each other, which a WeakMap made an ephemeron cycle that only a full
   * collection breaks: every instance's objects were promoted, and a loop making instances grew Node 24's old
   * space by ~200 MB between full collections.)
   */
  jsObject: object | null = null;
  /** Address of the native TableDesc. */
  readonly desc: number;
  readonly elemType: number;
  readonly index64: boolean;
  readonly maximum: number | null;
  readonly initial: number;

  private _length: number;
  /**
   * Objects that must live as long as this table: the instances using it (their code can store their
   * funcrefs here) and the functions stored from JS. A FuncRecord lives inside its instance's vmctx, so the
   * instance must outlive every table that may hold one of its records.
   */
  private readonly keepAlive = new Set<object>();
  private capacity: number;
  private readonly descWords: Uint32Array;
  private elements: number;
  /** The entries (two words each); holding it keeps their block alive. */
  private u32: Uint32Array;
  /** GC: the entries as roots of the collector while this lives (element types that may hold GC objects). */
  private readonly gcRoots: RootWords | null = null;

  /** Throws a RangeError when the table cannot be allocated. */
  constructor(opts: TableStorageOptions) {
    const { initial, maximum, index64 } = opts;
    if (!(Number.isSafeInteger(initial) && initial >= 0)) throw new RangeError(`invalid table size ${initial}`);
    if (initial > TABLE_MAX_ELEMENTS) {
      throw new RangeError(`table size ${initial} exceeds the implementation limit (${TABLE_MAX_ELEMENTS})`);
    }
    if (maximum !== null && !(maximum >= initial)) throw new RangeError(`table maximum ${maximum} below size ${initial}`);
    this.elemType = opts.elemType;
    this.index64 = index64;
    this.maximum = maximum;
    this.initial = initial;
    this._length = initial;
    this.capacity = Math.max(1, initial);
    this.descWords = allocBlock(TABLEDESC_SIZE);
    this.desc = lastBlockAddress();
    const entries = tryBlock(this.capacity * 8);
    if (entries === null) throw new RangeError(`out of memory for a table of ${initial} entries`);
    this.elements = lastBlockAddress();
    this.u32 = entries;
    this.setDesc(TABLEDESC_ELEMENTS, this.elements);
    this.setDesc(TABLEDESC_LENGTH, initial);
    // The declared maximum (u64; absent: the index type's largest value).
    const max = maximum === null ? (index64 ? 2 ** 64 : 2 ** 32) : maximum;
    if (max >= 2 ** 64) {
      this.descWords[TABLEDESC_MAX >>> 2] = 0xffffffff;
      this.descWords[(TABLEDESC_MAX >>> 2) + 1] = 0xffffffff;
    } else if (maximum === null) {
      this.setDesc(TABLEDESC_MAX, 2 ** 32 - 1);
    } else {
      this.setDesc(TABLEDESC_MAX, Math.floor(max));
    }
    if (mayHoldGcObject(this.elemType)) {
      this.gcRoots = { u32: entries, count: initial, lists: null };
      registerRootWords(this, this.gcRoots);
    }
    const init = opts.init ?? 0;
    if (init !== 0) this.fill(0, init, initial);
  }

  /** Keep `o` alive as long as this table. */
  keep(o: unknown): void {
    if ((typeof o === 'object' || typeof o === 'function') && o !== null) this.keepAlive.add(o);
  }

  /** The objects kept alive by this table (instances using it, values stored from JS). */
  kept(): Iterable<object> {
    return this.keepAlive;
  }

  /** Write a u64 field of the desc (a Number below 2^53). */
  private setDesc(offset: number, v: number): void {
    putU64(this.descWords, offset, v);
  }

  /** Current number of entries. */
  get length(): number {
    return this._length;
  }

  /** Address of the entries (changes on grow). */
  get elementsAddr(): number {
    return this.elements;
  }

  /** The largest length grow can reach. */
  get maxLength(): number {
    return Math.min(this.maximum ?? Infinity, TABLE_MAX_ELEMENTS);
  }

  /** Raw entry i (no bounds check beyond the typed array). */
  get(i: number): number {
    if (!(i >= 0 && i < this._length)) throw new RangeError(`table index ${i} out of bounds (length ${this._length})`);
    const u = this.u32;
    return u[2 * i] + u[2 * i + 1] * TWO32;
  }

  /** Set raw entry i. */
  set(i: number, raw: number): void {
    if (!(i >= 0 && i < this._length)) throw new RangeError(`table index ${i} out of bounds (length ${this._length})`);
    const u = this.u32;
    u[2 * i] = raw >>> 0;
    u[2 * i + 1] = Math.floor(raw / TWO32) >>> 0;
  }

  /** Fill [start, start + count) with a raw value. Throws a RangeError when out of bounds. */
  fill(start: number, raw: number, count: number): void {
    if (!(start >= 0 && count >= 0 && start + count <= this._length)) {
      throw new RangeError(`table fill [${start}, +${count}) out of bounds (length ${this._length})`);
    }
    const u = this.u32;
    const lo = raw >>> 0;
    const hi = Math.floor(raw / TWO32) >>> 0;
    if (lo === hi) {
      u.fill(lo, 2 * start, 2 * (start + count));
      return;
    }
    for (let i = start, end = start + count; i < end; i++) {
      u[2 * i] = lo;
      u[2 * i + 1] = hi;
    }
  }

  /**
   * Copy `count` entries from `src` (default: this table) at `srcIndex` to this table at `dstIndex`
   * (overlap-safe). Throws a RangeError when either range is out of bounds.
   */
  copy(dstIndex: number, srcIndex: number, count: number, src: TableStorage = this): void {
    if (!(dstIndex >= 0 && srcIndex >= 0 && count >= 0 && dstIndex + count <= this._length && srcIndex + count <= src._length)) {
      throw new RangeError('table copy out of bounds');
    }
    if (count === 0) return;
    if (src === this) this.u32.copyWithin(2 * dstIndex, 2 * srcIndex, 2 * (srcIndex + count));
    else this.u32.set(src.u32.subarray(2 * srcIndex, 2 * (srcIndex + count)), 2 * dstIndex);
  }

  /** Write raw values starting at `dstIndex`. Throws a RangeError when out of bounds. */
  setMany(dstIndex: number, raws: ArrayLike<number>): void {
    const n = raws.length;
    if (!(dstIndex >= 0 && dstIndex + n <= this._length)) throw new RangeError('table init out of bounds');
    const u = this.u32;
    for (let k = 0; k < n; k++) {
      const raw = raws[k];
      u[2 * (dstIndex + k)] = raw >>> 0;
      u[2 * (dstIndex + k) + 1] = Math.floor(raw / TWO32) >>> 0;
    }
  }

  /**
   * Grow by `delta` entries initialised to `raw`. Returns the old length, or -1 (beyond the maximum or the
   * implementation limit, or out of memory).
   */
  grow(delta: number | bigint, raw = 0): number {
    const old = this._length;
    let d: number;
    if (typeof delta === 'bigint') {
      if (delta < 0n || delta > BigInt(TABLE_MAX_ELEMENTS)) return -1;
      d = Number(delta);
    } else {
      if (!(delta >= 0 && Number.isSafeInteger(delta))) return -1;
      d = delta;
    }
    if (d === 0) return old;
    const next = old + d;
    if (next > this.maxLength) return -1;
    if (next > this.capacity) {
      const cap = Math.min(Math.max(next, this.capacity * 2), this.maxLength);
      const u = tryBlock(cap * 8);
      if (u === null) return -1;
      u.set(this.u32.subarray(0, 2 * old));
      // The old entries are freed by the GC: generated code reloads the pointer from the desc after a grow.
      this.elements = lastBlockAddress();
      this.u32 = u;
      this.capacity = cap;
      this.setDesc(TABLEDESC_ELEMENTS, this.elements);
      if (this.gcRoots !== null) this.gcRoots.u32 = u;
    }
    this._length = next;
    if (this.gcRoots !== null) this.gcRoots.count = next;
    if (raw !== 0) this.fill(old, raw, d);
    else this.u32.fill(0, 2 * old, 2 * next);
    this.setDesc(TABLEDESC_LENGTH, next);
    return old;
  }
}
