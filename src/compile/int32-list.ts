// A growable list of int32s in a typed array: what the compiler records per site (source map entries, call
// relocations). A JS number array grew by reallocating through V8's runtime (~8 M instructions of a warm
// sqlite.wasm32 compile), lost its backing store at every `length = 0`, and needed a copy into an Int32Array.

const EMPTY = new Int32Array(0);

export class Int32List {
  /** The elements are data[0 .. length). */
  data: Int32Array;
  length = 0;
  /** data.length, kept in a field (a typed array's length is a getter call before V8 optimises). */
  private cap: number;

  constructor(capacity = 256) {
    // (stored twice: V8 treats a field that has only ever held one value as constant, and the first growth would
    // throw away the optimised code that relied on it)
    this.data = new Int32Array(capacity);
    this.data = new Int32Array(capacity);
    this.cap = capacity;
  }

  clear(): void {
    this.length = 0;
  }

  push(v: number): void {
    const n = this.length;
    if (n === this.cap) this.grow();
    this.data[n] = v;
    this.length = n + 1;
  }

  push2(v: number, w: number): void {
    const n = this.length;
    if (n + 2 > this.cap) this.grow();
    const d = this.data;
    d[n] = v;
    d[n + 1] = w;
    this.length = n + 2;
  }

  /** A copy of the elements (a shared empty array when there are none: never transfer its buffer). */
  toInt32Array(): Int32Array {
    return this.length === 0 ? EMPTY : this.data.slice(0, this.length);
  }

  private grow(): void {
    const grown = new Int32Array(2 * this.cap);
    grown.set(this.data);
    this.data = grown;
    this.cap = grown.length;
  }
}
