// The "name" custom section, parsed on first use. Names are only read for backtraces, perf maps and the
// disassembler, and a big module's name section is large (Rust and C++ symbols: 175 ms of a 44 MB module's
// cold `new Module`), so decoding records the section's byte range and this parses it when a name is asked for.

import { ByteReader, decodeUtf8 } from './reader.js';
import type { CustomSection } from './types.js';

export class FunctionNames {
  private names: Map<number, string> | null = null;
  private module: string | null = null;

  /** `bytes[start, end)` is the payload of the module's first "name" section (start === end: none). */
  constructor(private readonly bytes: Uint8Array, private readonly start: number, private readonly end: number) {}

  /** The names of the first "name" section in `sections` (the spec's rule), read from `bytes`. */
  static fromSections(bytes: Uint8Array, sections: readonly CustomSection[]): FunctionNames {
    for (const s of sections) if (s.name === 'name') return new FunctionNames(bytes, s.start, s.end);
    return new FunctionNames(bytes, 0, 0);
  }

  /** The name of function f (index space, imports first), if the section gives one. */
  get(f: number): string | undefined {
    return this.parsed().get(f);
  }

  get size(): number {
    return this.parsed().size;
  }

  /** Every (function index, name) pair, in the section's order. */
  entries(): Array<[number, string]> {
    return [...this.parsed()];
  }

  /** The module name subsection's value, or null. */
  get moduleName(): string | null {
    this.parsed();
    return this.module;
  }

  private parsed(): Map<number, string> {
    if (this.names === null) this.names = this.parse();
    return this.names;
  }

  /** Lenient: anything malformed stops the parse and keeps the names read before it (the module stays valid). */
  private parse(): Map<number, string> {
    const names = new Map<number, string>();
    const { bytes, start, end } = this;
    if (start >= end) return names;
    const nr = new ByteReader(bytes, start, end);
    try {
      let lastId = -1;
      while (nr.pos < end) {
        const id = nr.u8();
        const size = nr.u32();
        const subStart = nr.pos;
        if (size > end - subStart) break;
        const subEnd = subStart + size;
        if (id <= lastId) break; // subsections must be ordered and unique
        lastId = id;
        if (id === 0) {
          nr.end = subEnd;
          this.module = nr.name();
        } else if (id === 1) {
          nr.end = subEnd;
          const n = nr.u32();
          for (let i = 0; i < n; i++) {
            const idx = nr.u32();
            const lenPos = nr.pos;
            const len = nr.u32();
            const p = nr.pos;
            if (len > subEnd - p) nr.error('length out of bounds', lenPos);
            nr.pos = p + len;
            names.set(idx, decodeUtf8(nr, bytes, p, p + len));
          }
        }
        nr.end = end;
        nr.pos = subEnd;
      }
    } catch {
      // Malformed name section: keep whatever was parsed before the problem.
    }
    return names;
  }
}
