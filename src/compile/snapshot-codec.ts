// A compact binary encoding of plain data (the code cache's ModuleInfo snapshots; modules posted to workers).
//
// Why not node:v8's Serializer/Deserializer: a Deserializer holds every object it made (its id map) until its
// own wrapper is collected, so a restore's objects survive the next scavenges and are promoted; a loop of
// code-cache hits then grew Node 24's old space by ~200 MB between collections. This codec keeps nothing: what
// it decodes is garbage as soon as the caller drops it.
//
// Values: undefined, null, booleans, numbers (int32s as varints, the rest as raw f64 bits, so NaN payloads and
// -0 survive), bigints, strings, arrays, plain objects (restored with Object.prototype), Maps, Sets, typed arrays
// (copied), and views into the module's bytes (written as offset + length, restored as views into the bytes of
// the module being loaded). Shared and cyclic references are preserved. Anything else (functions, symbols,
// class instances with private state) is an error.

const enum Tag {
  Undefined = 0, Null, False, True, Int, F64, BigInt, Latin1, Utf16, Array, Object, Ref, Typed, ModuleView, Map, Set,
}

const TYPED: Array<new (n: number) => ArrayBufferView & { length: number }> = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array,
  BigInt64Array, BigUint64Array,
];

class Writer {
  buf = new Uint8Array(1024);
  view = new DataView(this.buf.buffer);
  at = 0;
  private readonly ids = new Map<object, number>();

  constructor(private readonly moduleBytes: Uint8Array, private readonly cover: (at: number, len: number) => void) {}

  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.at++] = b;
  }

  varint(v: number): void {
    this.room(10);
    while (v >= 0x80) {
      this.buf[this.at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.at++] = v;
  }

  string(s: string): void {
    let oneByte = true;
    for (let k = 0; k < s.length && oneByte; k++) oneByte = s.charCodeAt(k) < 256;
    this.byte(oneByte ? Tag.Latin1 : Tag.Utf16);
    this.varint(s.length);
    if (oneByte) {
      this.room(s.length);
      for (let k = 0; k < s.length; k++) this.buf[this.at++] = s.charCodeAt(k);
    } else {
      this.room(2 * s.length);
      for (let k = 0; k < s.length; k++, this.at += 2) this.view.setUint16(this.at, s.charCodeAt(k), true);
    }
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'undefined': return this.byte(Tag.Undefined);
      case 'boolean': return this.byte(v ? Tag.True : Tag.False);
      case 'number':
        if ((v | 0) === v && !Object.is(v, -0)) {
          this.byte(Tag.Int);
          this.varint(v >= 0 ? 2 * v : -2 * v - 1); // zigzag
        } else {
          this.byte(Tag.F64);
          this.room(8);
          this.view.setFloat64(this.at, v, true);
          this.at += 8;
        }
        return;
      case 'bigint':
        this.byte(Tag.BigInt);
        return this.string(v.toString());
      case 'string': return this.string(v);
      case 'object':
        if (v === null) return this.byte(Tag.Null);
        return this.object(v);
      default:
        throw new TypeError(`snapshot: cannot encode a ${typeof v}`);
    }
  }

  private object(o: object): void {
    const seen = this.ids.get(o);
    if (seen !== undefined) {
      this.byte(Tag.Ref);
      return this.varint(seen);
    }
    this.ids.set(o, this.ids.size);
    if (ArrayBuffer.isView(o)) return this.typed(o);
    if (Array.isArray(o)) {
      this.byte(Tag.Array);
      this.varint(o.length);
      for (let k = 0; k < o.length; k++) this.value(o[k]);
      return;
    }
    if (o instanceof Map) {
      this.byte(Tag.Map);
      this.varint(o.size);
      for (const [k, v] of o) {
        this.value(k);
        this.value(v);
      }
      return;
    }
    if (o instanceof Set) {
      this.byte(Tag.Set);
      this.varint(o.size);
      for (const v of o) this.value(v);
      return;
    }
    const keys = Object.keys(o);
    this.byte(Tag.Object);
    this.varint(keys.length);
    for (const key of keys) {
      this.string(key);
      this.value((o as Record<string, unknown>)[key]);
    }
  }

  private typed(v: ArrayBufferView): void {
    const bytes = this.moduleBytes;
    if (v.buffer === bytes.buffer && v instanceof Uint8Array) {
      const offset = v.byteOffset - bytes.byteOffset;
      this.byte(Tag.ModuleView);
      this.varint(offset);
      this.varint(v.byteLength);
      if (v.byteLength !== bytes.length) this.cover(offset, v.byteLength);
      return;
    }
    const kind = TYPED.findIndex((C) => v instanceof C);
    if (kind < 0) throw new TypeError(`snapshot: cannot encode a ${v.constructor.name}`);
    this.byte(Tag.Typed);
    this.byte(kind);
    this.varint((v as unknown as { length: number }).length);
    this.room(v.byteLength);
    this.buf.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), this.at);
    this.at += v.byteLength;
  }
}

/**
 * Encode `value`. Uint8Array views of `moduleBytes`' buffer are written as (offset, length), and each one
 * that is not the whole module is reported to `cover` (the caller keeps those bytes).
 */
export function encodeSnapshot(value: unknown, moduleBytes: Uint8Array, cover: (at: number, len: number) => void): Uint8Array {
  const w = new Writer(moduleBytes, cover);
  w.value(value);
  return w.buf.slice(0, w.at);
}

class Reader {
  at = 0;
  private readonly objects: unknown[] = [];
  private readonly view: DataView;
  /** The same bytes as a Buffer, for its native latin1/utf16le string decoding. */
  private readonly text: Buffer;

  constructor(private readonly buf: Uint8Array, private readonly moduleBytes: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  private fail(): never {
    throw new Error('module info snapshot is damaged');
  }

  private byte(): number {
    if (this.at >= this.buf.length) this.fail();
    return this.buf[this.at++];
  }

  private varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
      if (scale > 2 ** 56) this.fail();
    }
  }

  private stringBody(tag: number): string {
    const n = this.varint();
    const size = tag === Tag.Latin1 ? n : 2 * n;
    if (this.at + size > this.buf.length) this.fail();
    const s = this.text.toString(tag === Tag.Latin1 ? 'latin1' : 'utf16le', this.at, this.at + size);
    this.at += size;
    return s;
  }

  private string(): string {
    const tag = this.byte();
    if (tag !== Tag.Latin1 && tag !== Tag.Utf16) this.fail();
    return this.stringBody(tag);
  }

  value(): unknown {
    const tag = this.byte();
    switch (tag) {
      case Tag.Undefined: return undefined;
      case Tag.Null: return null;
      case Tag.False: return false;
      case Tag.True: return true;
      case Tag.Int: {
        const z = this.varint();
        return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
      }
      case Tag.F64: {
        if (this.at + 8 > this.buf.length) this.fail();
        const v = this.view.getFloat64(this.at, true);
        this.at += 8;
        return v;
      }
      case Tag.BigInt: return BigInt(this.string());
      case Tag.Latin1:
      case Tag.Utf16: return this.stringBody(tag);
      case Tag.Ref: {
        const id = this.varint();
        if (id >= this.objects.length) this.fail();
        return this.objects[id];
      }
      case Tag.Array: {
        const n = this.varint();
        const a = new Array<unknown>(n);
        this.objects.push(a);
        for (let k = 0; k < n; k++) a[k] = this.value();
        return a;
      }
      case Tag.Object: {
        const n = this.varint();
        const o: Record<string, unknown> = {};
        this.objects.push(o);
        for (let k = 0; k < n; k++) {
          const key = this.string();
          o[key] = this.value();
        }
        return o;
      }
      case Tag.Map: {
        const n = this.varint();
        const m = new Map<unknown, unknown>();
        this.objects.push(m);
        for (let k = 0; k < n; k++) {
          const key = this.value();
          m.set(key, this.value());
        }
        return m;
      }
      case Tag.Set: {
        const n = this.varint();
        const s = new Set<unknown>();
        this.objects.push(s);
        for (let k = 0; k < n; k++) s.add(this.value());
        return s;
      }
      case Tag.ModuleView: {
        const offset = this.varint();
        const length = this.varint();
        if (offset + length > this.moduleBytes.length) throw new Error('module info snapshot does not match the module');
        const v = this.moduleBytes.subarray(offset, offset + length);
        this.objects.push(v);
        return v;
      }
      case Tag.Typed: {
        const C = TYPED[this.byte()] ?? this.fail();
        const n = this.varint();
        const out = new C(n);
        const size = out.byteLength;
        if (this.at + size > this.buf.length) this.fail();
        new Uint8Array(out.buffer).set(this.buf.subarray(this.at, this.at + size));
        this.at += size;
        this.objects.push(out);
        return out;
      }
      default:
        return this.fail();
    }
  }
}

/** Decode a snapshot made by encodeSnapshot; module views become views of `moduleBytes`. */
export function decodeSnapshot(snapshot: Uint8Array, moduleBytes: Uint8Array): unknown {
  const r = new Reader(snapshot, moduleBytes);
  const v = r.value();
  if (r.at !== snapshot.length) throw new Error('module info snapshot is damaged');
  return v;
}
