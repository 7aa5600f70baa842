// stdin/stdout/stderr backends: a host file descriptor (the default: the process's own 0/1/2), an in-memory
// buffer (stdin), or a user object with read()/write() (to feed or capture a guest's streams in tests).

import { fstatSync, readSync, writeSync } from 'node:fs';
import { Filetype } from './constants.js';

/** A user-supplied input: read() returns up to maxBytes bytes, or null/empty at end of input. */
export interface StreamReader {
  read(maxBytes: number): Uint8Array | null | undefined;
}

/** A user-supplied output (a Node Writable works): write() receives a copy of the bytes. */
export interface StreamWriter {
  write(chunk: Uint8Array): unknown;
}

/** stdin: a host fd, the whole input as a string/bytes, or a reader. */
export type WasiInput = number | string | Uint8Array | StreamReader;
/** stdout/stderr: a host fd, or a writer. */
export type WasiOutput = number | StreamWriter;

export interface Input {
  /** The host fd behind this input, if any. */
  readonly hostFd: number | undefined;
  /** Reads into `dst`; returns the byte count, 0 at end of input. Blocks until some input is there. */
  read(dst: Uint8Array): number;
  /** Bytes known to be readable without blocking, or undefined when that cannot be told. `0` means EOF. */
  available(): number | undefined;
}

export interface Output {
  readonly hostFd: number | undefined;
  /** Writes all of `src` (which is only valid during the call). */
  write(src: Uint8Array): void;
}

let sleepCell: Int32Array | undefined;
/** Blocks the thread for `ms` milliseconds (Atomics.wait works on Node's main thread). */
export function sleepMs(ms: number): void {
  if (!(ms > 0)) return;
  sleepCell ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleepCell, 0, 0, ms);
}

function isAgain(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK';
}

class FdInput implements Input {
  constructor(readonly hostFd: number) {}
  read(dst: Uint8Array): number {
    if (dst.length === 0) return 0;
    for (;;) {
      try {
        return readSync(this.hostFd, dst, 0, dst.length, null);
      } catch (e) {
        // A non-blocking descriptor (a pipe or tty libuv has touched): wait for data like a blocking read.
        if (isAgain(e)) {
          sleepMs(2);
          continue;
        }
        if ((e as NodeJS.ErrnoException).code === 'EOF') return 0;
        throw e;
      }
    }
  }
  available(): number | undefined {
    return undefined;
  }
}

class BufferInput implements Input {
  readonly hostFd = undefined;
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}
  read(dst: Uint8Array): number {
    const n = Math.min(dst.length, this.data.length - this.pos);
    dst.set(this.data.subarray(this.pos, this.pos + n));
    this.pos += n;
    return n;
  }
  available(): number {
    return this.data.length - this.pos;
  }
}

class ReaderInput implements Input {
  readonly hostFd = undefined;
  private pending: Uint8Array = new Uint8Array(0);
  private eof = false;
  constructor(private readonly reader: StreamReader) {}
  read(dst: Uint8Array): number {
    if (dst.length === 0) return 0;
    if (this.pending.length === 0 && !this.eof) {
      const chunk = this.reader.read(dst.length);
      if (chunk == null || chunk.length === 0) this.eof = true;
      else this.pending = chunk;
    }
    const n = Math.min(dst.length, this.pending.length);
    dst.set(this.pending.subarray(0, n));
    this.pending = this.pending.subarray(n);
    return n;
  }
  available(): number | undefined {
    if (this.pending.length > 0) return this.pending.length;
    return this.eof ? 0 : undefined;
  }
}

class FdOutput implements Output {
  constructor(readonly hostFd: number) {}
  write(src: Uint8Array): void {
    let off = 0;
    while (off < src.length) {
      try {
        off += writeSync(this.hostFd, src, off, src.length - off);
      } catch (e) {
        if (isAgain(e)) {
          sleepMs(1);
          continue;
        }
        throw e;
      }
    }
  }
}

class WriterOutput implements Output {
  readonly hostFd = undefined;
  constructor(private readonly writer: StreamWriter) {}
  write(src: Uint8Array): void {
    this.writer.write(src.slice());
  }
}

export function makeInput(spec: WasiInput): Input {
  if (typeof spec === 'number') return new FdInput(spec);
  if (typeof spec === 'string') return new BufferInput(new TextEncoder().encode(spec));
  if (spec instanceof Uint8Array) return new BufferInput(spec.slice());
  if (spec && typeof spec.read === 'function') return new ReaderInput(spec);
  throw new TypeError('WASI stdin must be a file descriptor, a string, a Uint8Array or an object with read()');
}

export function makeOutput(spec: WasiOutput, name: string): Output {
  if (typeof spec === 'number') return new FdOutput(spec);
  if (spec && typeof spec.write === 'function') return new WriterOutput(spec);
  throw new TypeError(`WASI ${name} must be a file descriptor or an object with write()`);
}

/** The WASI file type of a host fd (tty -> character device, which makes the guest's isatty() true). */
export function hostFdFiletype(fd: number | undefined): number {
  if (fd === undefined) return Filetype.UNKNOWN;
  try {
    const st = fstatSync(fd);
    if (st.isCharacterDevice()) return Filetype.CHARACTER_DEVICE;
    if (st.isFile()) return Filetype.REGULAR_FILE;
    if (st.isSocket()) return Filetype.SOCKET_STREAM;
    if (st.isBlockDevice()) return Filetype.BLOCK_DEVICE;
    return Filetype.UNKNOWN;
  } catch {
    return Filetype.UNKNOWN;
  }
}
