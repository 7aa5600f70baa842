// ByteReader: the low-level cursor over a WebAssembly binary. Hot path of the whole compiler: every read is
// allocation-free (64-bit results land in `lo`/`hi`), and the common one-byte LEB case is inlined first.

import { CompileError } from '../errors.js';

const MSG_TOO_LONG = 'integer representation too long';
const MSG_TOO_LARGE = 'integer too large';
const MSG_END = 'unexpected end';
const MSG_END_SECTION = 'unexpected end of section or function';
const MSG_UTF8 = 'malformed UTF-8 encoding';

let utf8Decoder: TextDecoder | null = null;

export class ByteReader {
  bytes: Uint8Array;
  pos: number;
  end: number;
  // (lo and hi start as -0, a double: a uint32 above 2^31 is no small integer, and the first one stored into a
  // field that had only held small integers changed every reader's hidden class, deoptimising the functions that
  // had seen the old one (u8, u32, s32, ... "wrong map"), late in a big module. The constructor stores 0 over
  // them, so that they are not 'constant' fields either.)
  /** Low 32 bits (as a uint32 number) of the last 64-bit read. */
  lo = -0;
  /** High 32 bits (as a uint32 number) of the last 64-bit read. */
  hi = -0;
  /**
   * Message used when a read runs past `end`. A reader over a whole module says "unexpected end"; a reader over
   * a section or a function body (or one whose owner narrows `end` to a section) says
   * "unexpected end of section or function". The module decoder switches it as it enters and leaves sections.
   */
  eofMessage: string;

  constructor(bytes: Uint8Array, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
    this.eofMessage = pos === 0 && end === bytes.length ? MSG_END : MSG_END_SECTION;
    // (A second, different value: V8 treats a field that has held one value only as constant; see lo/hi.)
    this.lo = 0;
    this.hi = 0;
  }

  eof(): boolean {
    return this.pos >= this.end;
  }

  /** Throws CompileError(message, offset). */
  error(message: string, offset: number = this.pos): never {
    throw new CompileError(message, offset);
  }

  /** Throws the "unexpected end" error of this reader at `offset` (default: the reader's end). */
  eofError(offset: number = this.end): never {
    throw new CompileError(this.eofMessage, offset);
  }

  u8(): number {
    const p = this.pos;
    if (p >= this.end) this.eofError();
    this.pos = p + 1;
    return this.bytes[p]!;
  }

  /** Peeks the next byte without consuming it (-1 at the end). */
  peek(): number {
    return this.pos < this.end ? this.bytes[this.pos]! : -1;
  }

  skip(n: number): void {
    if (n > this.end - this.pos) this.eofError();
    this.pos += n;
  }

  // ---------------------------------------------------------------------------------------------------------
  // LEB128

  u32(): number {
    const p = this.pos;
    if (p < this.end) {
      const b = this.bytes[p]!;
      if (b < 0x80) {
        this.pos = p + 1;
        return b;
      }
    }
    return this.u32Slow();
  }

  // The slow paths decode against the whole buffer and only then check the reader's `end`: a LEB that runs past
  // the end of its section but is malformed anyway reports the LEB problem (as the reference interpreter does);
  // a well-formed one that crosses `end` reports "unexpected end".

  private u32Slow(): number {
    const bytes = this.bytes;
    const limit = bytes.length;
    let p = this.pos;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 4; i++) {
      if (p >= limit) this.eofError();
      const b = bytes[p++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        if (p > this.end) this.eofError();
        this.pos = p;
        return result >>> 0;
      }
      shift += 7;
    }
    if (p >= limit) this.eofError();
    const b = bytes[p++]!;
    if (b & 0x80) this.error(MSG_TOO_LONG, p - 1);
    if (b & 0x70) this.error(MSG_TOO_LARGE, p - 1);
    if (p > this.end) this.eofError();
    this.pos = p;
    return (result | (b << 28)) >>> 0;
  }

  s32(): number {
    const p = this.pos;
    if (p < this.end) {
      const b = this.bytes[p]!;
      if (b < 0x80) {
        this.pos = p + 1;
        return (b << 25) >> 25;
      }
    }
    return this.s32Slow();
  }

  private s32Slow(): number {
    const bytes = this.bytes;
    const limit = bytes.length;
    let p = this.pos;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 4; i++) {
      if (p >= limit) this.eofError();
      const b = bytes[p++]!;
      result |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) {
        if (p > this.end) this.eofError();
        this.pos = p;
        const unused = 32 - shift;
        return (result << unused) >> unused;
      }
    }
    if (p >= limit) this.eofError();
    const b = bytes[p++]!;
    if (b & 0x80) this.error(MSG_TOO_LONG, p - 1);
    // Bits 0..3 are value bits 28..31; bits 4..6 must replicate bit 3 (the sign).
    const top = b & 0x78;
    if (top !== 0 && top !== 0x78) this.error(MSG_TOO_LARGE, p - 1);
    if (p > this.end) this.eofError();
    this.pos = p;
    return result | (b << 28);
  }

  /** Signed 33-bit LEB (block types). Returns a Number in [-2^32, 2^32). */
  s33(): number {
    const p = this.pos;
    if (p < this.end) {
      const b = this.bytes[p]!;
      if (b < 0x80) {
        this.pos = p + 1;
        return (b << 25) >> 25;
      }
    }
    return this.s33Slow();
  }

  private s33Slow(): number {
    const bytes = this.bytes;
    const limit = bytes.length;
    let p = this.pos;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 4; i++) {
      if (p >= limit) this.eofError();
      const b = bytes[p++]!;
      result |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) {
        if (p > this.end) this.eofError();
        this.pos = p;
        const unused = 32 - shift;
        return (result << unused) >> unused; // at most 28 bits: fits int32
      }
    }
    if (p >= limit) this.eofError();
    const b = bytes[p++]!;
    if (b & 0x80) this.error(MSG_TOO_LONG, p - 1);
    // Bits 0..4 are value bits 28..32; bits 5..6 must replicate bit 4 (the sign).
    const top = b & 0x70;
    if (top !== 0 && top !== 0x70) this.error(MSG_TOO_LARGE, p - 1);
    if (p > this.end) this.eofError();
    this.pos = p;
    const low28 = result & 0x0fffffff;
    const high = ((b & 0x1f) << 27) >> 27; // signed value bits 28..32, in [-16, 15]
    return high * 0x10000000 + low28;
  }

  /** Signed 64-bit LEB; the result is in lo/hi (uint32 halves of the two's complement value). */
  s64(): void {
    const p = this.pos;
    if (p < this.end) {
      const b = this.bytes[p]!;
      if (b < 0x80) {
        this.pos = p + 1;
        if (b & 0x40) {
          this.lo = (b | 0xffffff80) >>> 0;
          this.hi = 0xffffffff;
        } else {
          this.lo = b;
          this.hi = 0;
        }
        return;
      }
    }
    this.leb64(true);
  }

  /** Unsigned 64-bit LEB; the result is in lo/hi. */
  u64(): void {
    const p = this.pos;
    if (p < this.end) {
      const b = this.bytes[p]!;
      if (b < 0x80) {
        this.pos = p + 1;
        this.lo = b;
        this.hi = 0;
        return;
      }
    }
    this.leb64(false);
  }

  private leb64(signed: boolean): void {
    const bytes = this.bytes;
    const limit = bytes.length;
    let p = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    let shift = 0;
    let done = false;
    // Bytes 0..3: value bits 0..27, all in lo.
    for (let i = 0; i < 4; i++) {
      if (p >= limit) this.eofError();
      b = bytes[p++]!;
      lo |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) {
        if (signed && b & 0x40) {
          lo |= -1 << shift;
          hi = -1;
        }
        done = true;
        break;
      }
    }
    if (!done) {
      // Byte 4: value bits 28..34 (4 into lo, 3 into hi).
      if (p >= limit) this.eofError();
      b = bytes[p++]!;
      lo |= (b & 0x0f) << 28;
      hi = (b & 0x7f) >>> 4;
      shift = 3; // next bit position inside hi
      if (b < 0x80) {
        if (signed && b & 0x40) hi |= -1 << shift;
        done = true;
      }
    }
    if (!done) {
      // Bytes 5..8: value bits 35..62.
      for (let i = 0; i < 4; i++) {
        if (p >= limit) this.eofError();
        b = bytes[p++]!;
        hi |= (b & 0x7f) << shift;
        shift += 7;
        if (b < 0x80) {
          if (signed && b & 0x40 && shift < 32) hi |= -1 << shift;
          done = true;
          break;
        }
      }
    }
    if (!done) {
      // Byte 9: value bit 63; the other 6 payload bits must be 0 (unsigned) or a sign extension (signed).
      if (p >= limit) this.eofError();
      b = bytes[p++]!;
      if (b & 0x80) this.error(MSG_TOO_LONG, p - 1);
      if (signed) {
        if (b !== 0 && b !== 0x7f) this.error(MSG_TOO_LARGE, p - 1);
      } else if (b > 1) {
        this.error(MSG_TOO_LARGE, p - 1);
      }
      hi |= (b & 1) << 31;
    }
    if (p > this.end) this.eofError();
    this.pos = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** u64 LEB as a Number when it is <= 2^53, else Infinity. lo/hi hold the exact value as well. */
  u64AsNumber(): number {
    this.u64();
    const hi = this.hi;
    if (hi > 0x200000 || (hi === 0x200000 && this.lo !== 0)) return Infinity;
    return hi * 4294967296 + this.lo;
  }

  // ---------------------------------------------------------------------------------------------------------
  // Fixed-width

  /** 4 raw little-endian bytes (f32 bits) as a uint32. */
  u32Fixed(): number {
    const p = this.pos;
    if (p + 4 > this.end) this.eofError();
    const b = this.bytes;
    this.pos = p + 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
  }

  /** 8 raw little-endian bytes (f64 bits) into lo/hi. */
  u64Fixed(): void {
    const p = this.pos;
    if (p + 8 > this.end) this.eofError();
    const b = this.bytes;
    this.pos = p + 8;
    this.lo = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
    this.hi = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
  }

  /** A view of the next n bytes (no copy). */
  bytesView(n: number): Uint8Array {
    const p = this.pos;
    if (n > this.end - p) this.eofError();
    this.pos = p + n;
    return this.bytes.subarray(p, p + n);
  }

  // ---------------------------------------------------------------------------------------------------------
  // Names

  /**
   * A name: u32 byte length, then that many bytes of valid UTF-8. A length that runs past the end of the whole
   * module is "length out of bounds"; one that only runs past this reader's end is "unexpected end ...".
   */
  name(): string {
    const lenPos = this.pos;
    const saved = this.end;
    this.end = this.bytes.length; // read the length itself against the module: the message is about the length
    let n: number;
    try {
      n = this.u32();
    } finally {
      this.end = saved;
    }
    const p = this.pos;
    if (n > this.bytes.length - p) this.error('length out of bounds', lenPos);
    if (p > saved || n > saved - p) this.eofError();
    this.pos = p + n;
    return decodeUtf8(this, this.bytes, p, p + n);
  }
}

/** Decodes bytes[start, end) as strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
export function decodeUtf8(reader: ByteReader | null, bytes: Uint8Array, start: number, end: number): string {
  // Fast path: short ASCII.
  if (end - start <= 64) {
    let s = '';
    let i = start;
    for (; i < end; i++) {
      const c = bytes[i]!;
      if (c >= 0x80) break;
      s += String.fromCharCode(c);
    }
    if (i === end) return s;
  }
  const bad = validateUtf8(bytes, start, end);
  if (bad >= 0) {
    if (reader) reader.error(MSG_UTF8, bad);
    throw new CompileError(MSG_UTF8, bad);
  }
  if (utf8Decoder === null) utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  return utf8Decoder.decode(bytes.subarray(start, end));
}

/** Returns -1 when bytes[start, end) is valid UTF-8, else the offset of the first bad sequence. */
export function validateUtf8(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    let cp: number;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      min = 0x80;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      min = 0x800;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      min = 0x10000;
      cp = c & 0x07;
    } else {
      return i;
    }
    if (i + need >= end) return i;
    for (let k = 1; k <= need; k++) {
      const d = bytes[i + k]!;
      if ((d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}
