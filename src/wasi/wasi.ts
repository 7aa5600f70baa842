// WASI preview1 (`wasi_snapshot_preview1`) on Node's synchronous fs API, engine-agnostic: it needs only the
// instance's exported `memory` (anything with `.buffer`), so it runs under Node's own WebAssembly and under
// Quickbeam alike.
//
//   const wasi = new WASI({ args: ['prog', 'x'], env: { HOME: '/guest' }, preopens: { '/guest': hostDir } });
//   const instance = new WebAssembly.Instance(module, wasi.getImportObject());
//   const exitCode = wasi.start(instance);
//
// Descriptors: 0/1/2 are stdin/stdout/stderr (the process's own fds unless told otherwise), then one directory
// per preopen from 3 on, in the order given. Files and directories the guest opens get the lowest free number.
// Files are host fds opened by path_open; their offset is kept here (Node has no lseek) and every read/write
// is positional. Directories are not held open: they are locations (see sandbox.ts), so every path lookup goes
// through the sandbox's resolver.
//
// Rights: every descriptor reports the full rights of its kind (files: every fd_* right; directories: every
// path_* right, inheriting all); a file's read/write rights are dropped when it was not opened for reading /
// writing, and reads/writes are checked against how the file was opened (EBADF), like POSIX.

import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import {
  Advice, ClockId, Errno, EventRwFlags, EventType, FdFlags, Filetype, FstFlags, LookupFlags, OFlags,
  PreopenType, Rights, RIGHTS_ALL, RIGHTS_DIRECTORY, RIGHTS_FILE, RIGHTS_NEED_READ, RIGHTS_NEED_WRITE,
  RIGHTS_STREAM, Signal, SubclockFlags, Whence, Layout,
} from './constants.js';
import { ExitStatus, WasiError, hostError } from './errors.js';
import { GuestMemory, encoder, type WasiMemoryLike } from './memory.js';
import { hostPathOf, resolveParent, resolvePath, type Location } from './sandbox.js';
import {
  hostFdFiletype, makeInput, makeOutput, sleepMs, type Input, type Output, type WasiInput, type WasiOutput,
} from './streams.js';

export interface WasiOptions {
  /** argv, including argv[0]. Default []. */
  args?: readonly string[];
  /** The environment. Default {} (the host's environment is not passed through). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Guest directory name -> host directory, e.g. { '/guest': '/tmp/x' }. Preopens get fds 3, 4, ... */
  preopens?: Readonly<Record<string, string>>;
  /** Default: the process's fd 0. */
  stdin?: WasiInput;
  /** Default: the process's fd 1. */
  stdout?: WasiOutput;
  /** Default: the process's fd 2. */
  stderr?: WasiOutput;
  /** When true (the default), proc_exit ends start() with the exit code; when false it exits the process. */
  returnOnExit?: boolean;
  /** Accepted for node:wasi compatibility; only 'preview1' exists. */
  version?: 'preview1';
}

/** The exports a WASI instance is expected to have. */
export interface WasiInstanceLike {
  readonly exports: object;
}

export type WasiFunction = (...args: any[]) => number;
export type WasiImportNamespace = Record<string, WasiFunction>;

// node:crypto is loaded by the first random_get, not at start-up (it costs about 3 ms of process start).
// (`performance` is Node's global one.)
let nodeCrypto: typeof import('node:crypto') | undefined;
function randomFillSync(buf: Uint8Array): void {
  nodeCrypto ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto');
  nodeCrypto.randomFillSync(buf);
}

// -------------------------------------------------------------------------------------------------
// Descriptor table entries

interface EntryBase {
  rightsBase: bigint;
  rightsInheriting: bigint;
  fdflags: number;
}

interface StreamEntry extends EntryBase {
  kind: 'stream';
  filetype: number;
  input?: Input;
  output?: Output;
}

interface FileEntry extends EntryBase {
  kind: 'file';
  filetype: number;
  hostFd: number;
  position: number;
  readable: boolean;
  writable: boolean;
  /** DSYNC/RSYNC/SYNC flags the host fd was opened with (they cannot change later). */
  syncFlags: number;
}

interface DirListingEntry {
  name: Uint8Array;
  type: number;
  ino?: bigint;
  hostPath: string;
}

interface DirEntry extends EntryBase {
  kind: 'dir';
  loc: Location;
  /** The guest name of a preopen (for fd_prestat_*), UTF-8. */
  preopenName?: Uint8Array;
  listing?: DirListingEntry[];
}

type Entry = StreamEntry | FileEntry | DirEntry;

const SYNC_FLAGS = FdFlags.DSYNC | FdFlags.RSYNC | FdFlags.SYNC;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function big(x: bigint | number): bigint {
  return typeof x === 'bigint' ? x : BigInt(x);
}

/** A u64 argument as a safe JS number (EINVAL/EFBIG beyond 2^53). */
function u64Number(x: bigint | number, errno: number = Errno.INVAL): number {
  const v = BigInt.asUintN(64, big(x));
  if (v > MAX_SAFE) throw new WasiError(errno);
  return Number(v);
}

function filetypeOf(st: fs.Stats | fs.BigIntStats | fs.Dirent): number {
  if (st.isFile()) return Filetype.REGULAR_FILE;
  if (st.isDirectory()) return Filetype.DIRECTORY;
  if (st.isSymbolicLink()) return Filetype.SYMBOLIC_LINK;
  if (st.isCharacterDevice()) return Filetype.CHARACTER_DEVICE;
  if (st.isBlockDevice()) return Filetype.BLOCK_DEVICE;
  if (st.isSocket()) return Filetype.SOCKET_STREAM;
  return Filetype.UNKNOWN;
}

function writeFilestat(m: GuestMemory, ptr: number, st: fs.BigIntStats): void {
  m.check(ptr, Layout.FILESTAT_SIZE);
  m.u8.fill(0, ptr, ptr + Layout.FILESTAT_SIZE);
  m.setU64(ptr + 0, st.dev);
  m.setU64(ptr + 8, st.ino);
  m.setU8(ptr + 16, filetypeOf(st));
  m.setU64(ptr + 24, st.nlink);
  m.setU64(ptr + 32, st.size);
  m.setU64(ptr + 40, st.atimeNs);
  m.setU64(ptr + 48, st.mtimeNs);
  m.setU64(ptr + 56, st.ctimeNs);
}

function nsToSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6;
}

/** atime/mtime (in seconds, as fs.utimes wants) for fd/path_filestat_set_times. */
function pickTimes(atim: bigint | number, mtim: bigint | number, flags: number, current: () => fs.BigIntStats): [number, number] {
  if (flags & ~0xf) throw new WasiError(Errno.INVAL);
  if ((flags & FstFlags.ATIM && flags & FstFlags.ATIM_NOW) || (flags & FstFlags.MTIM && flags & FstFlags.MTIM_NOW)) {
    throw new WasiError(Errno.INVAL);
  }
  const now = Date.now() / 1000;
  let cur: fs.BigIntStats | undefined;
  const a = flags & FstFlags.ATIM_NOW ? now
    : flags & FstFlags.ATIM ? nsToSeconds(BigInt.asUintN(64, big(atim)))
    : nsToSeconds((cur ??= current()).atimeNs);
  const mt = flags & FstFlags.MTIM_NOW ? now
    : flags & FstFlags.MTIM ? nsToSeconds(BigInt.asUintN(64, big(mtim)))
    : nsToSeconds((cur ??= current()).mtimeNs);
  return [a, mt];
}

function lstatOrUndefined(path: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw hostError(e);
  }
}

/** True for names that look like a WASI function (for the ENOSYS fallback of unknown imports). */
function looksLikeWasiName(name: string | symbol): name is string {
  return typeof name === 'string' && /^[a-z][a-z0-9]*(_[a-z0-9]+)+$/.test(name);
}

// -------------------------------------------------------------------------------------------------

export class WASI {
  /** The system calls, by name (like node:wasi's `wasiImport`). */
  readonly wasiImport: WasiImportNamespace;

  private readonly args: Uint8Array[];
  private readonly env: Uint8Array[];
  private readonly returnOnExit: boolean;
  private readonly fds = new Map<number, Entry>();
  private memory: WasiMemoryLike | undefined;
  private cachedBuffer: ArrayBufferLike | undefined;
  private cachedMem: GuestMemory | undefined;
  private started = false;

  constructor(options: WasiOptions = {}) {
    if (options.version !== undefined && options.version !== 'preview1') {
      throw new TypeError(`unsupported WASI version "${String(options.version)}"`);
    }
    this.args = (options.args ?? []).map((a) => encoder.encode(String(a)));
    this.env = Object.entries(options.env ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => encoder.encode(`${k}=${v}`));
    this.returnOnExit = options.returnOnExit ?? true;

    const stdin = makeInput(options.stdin ?? 0);
    const stdout = makeOutput(options.stdout ?? 1, 'stdout');
    const stderr = makeOutput(options.stderr ?? 2, 'stderr');
    const stream = (input: Input | undefined, output: Output | undefined): StreamEntry => ({
      kind: 'stream',
      filetype: hostFdFiletype(input?.hostFd ?? output?.hostFd),
      input,
      output,
      rightsBase: RIGHTS_STREAM & ~(input ? Rights.FD_WRITE : Rights.FD_READ),
      rightsInheriting: 0n,
      fdflags: 0,
    });
    this.fds.set(0, stream(stdin, undefined));
    this.fds.set(1, stream(undefined, stdout));
    this.fds.set(2, stream(undefined, stderr));

    let fd = 3;
    for (const [guestName, hostDir] of Object.entries(options.preopens ?? {})) {
      const root = fs.realpathSync(hostDir);
      if (!fs.statSync(root).isDirectory()) throw new TypeError(`WASI preopen "${hostDir}" is not a directory`);
      this.fds.set(fd++, {
        kind: 'dir',
        loc: { root, parts: [] },
        preopenName: encoder.encode(guestName),
        rightsBase: RIGHTS_DIRECTORY,
        rightsInheriting: RIGHTS_ALL,
        fdflags: 0,
      });
    }

    this.wasiImport = this.buildImports();
  }

  /** `{ wasi_snapshot_preview1: {...} }`. Any other function a module imports from that namespace returns
   * ENOSYS. */
  getImportObject(): { wasi_snapshot_preview1: WasiImportNamespace } {
    const table = this.wasiImport;
    const enosys: WasiFunction = () => Errno.NOSYS;
    const ns = new Proxy(table, {
      get: (target, prop) => (prop in target ? target[prop as string] : looksLikeWasiName(prop) ? enosys : undefined),
      has: (target, prop) => prop in target || looksLikeWasiName(prop),
    });
    return { wasi_snapshot_preview1: ns };
  }

  /** Runs a command: calls `_start` and returns its exit code (0 when `_start` returns). Descriptors the guest
   * left open are closed afterwards. */
  start(instance: WasiInstanceLike): number {
    const exports = instance.exports as Record<string, unknown>;
    const startFn = exports['_start'];
    if (typeof startFn !== 'function') throw new TypeError('instance.exports._start is not a function');
    if (exports['_initialize'] !== undefined) throw new TypeError('instance.exports._initialize must not be present for a command');
    this.bindMemory(exports['memory']);
    this.started = true;
    try {
      startFn();
      return 0;
    } catch (e) {
      if (e instanceof ExitStatus) return e.code;
      throw e;
    } finally {
      this.close();
    }
  }

  /** Prepares a reactor: calls `_initialize` when exported. The instance's exports can be called afterwards;
   * a proc_exit inside them throws an error that `wasiExitCode()` recognises. */
  initialize(instance: WasiInstanceLike): void {
    const exports = instance.exports as Record<string, unknown>;
    const init = exports['_initialize'];
    if (exports['_start'] !== undefined) throw new TypeError('instance.exports._start must not be present for a reactor');
    if (init !== undefined && typeof init !== 'function') throw new TypeError('instance.exports._initialize is not a function');
    this.bindMemory(exports['memory']);
    this.started = true;
    if (typeof init === 'function') init();
  }

  /** Closes every host file the guest has open (start() does this when the program ends). */
  close(): void {
    for (const [fd, e] of this.fds) {
      if (e.kind === 'file') {
        this.fds.delete(fd);
        try {
          fs.closeSync(e.hostFd);
        } catch {
          /* already gone */
        }
      }
    }
  }

  private bindMemory(memory: unknown): void {
    if (this.started) throw new Error('WASI: start() or initialize() has already been called');
    if (memory === null || typeof memory !== 'object' || !('buffer' in memory)) {
      throw new TypeError('instance.exports.memory is not a memory');
    }
    this.memory = memory as WasiMemoryLike;
  }

  private mem(): GuestMemory {
    if (this.memory === undefined) throw new Error('WASI: no memory; call start() or initialize() first');
    const buffer = this.memory.buffer;
    if (buffer !== this.cachedBuffer || this.cachedMem === undefined || this.cachedMem.u8.byteLength !== buffer.byteLength) {
      this.cachedBuffer = buffer;
      this.cachedMem = new GuestMemory(buffer);
    }
    return this.cachedMem;
  }

  // -----------------------------------------------------------------------------------------------
  // Descriptor helpers

  private entry(fd: number): Entry {
    const e = this.fds.get(fd >>> 0);
    if (e === undefined) throw new WasiError(Errno.BADF);
    return e;
  }

  private dirEntry(fd: number): DirEntry {
    const e = this.entry(fd);
    if (e.kind !== 'dir') throw new WasiError(Errno.NOTDIR);
    return e;
  }

  private allocateFd(e: Entry): number {
    let fd = 0;
    while (this.fds.has(fd)) fd++;
    this.fds.set(fd, e);
    return fd;
  }

  private release(e: Entry): void {
    if (e.kind === 'file') fs.closeSync(e.hostFd);
  }

  private fileSize(e: FileEntry): number {
    return Number(fs.fstatSync(e.hostFd, { bigint: true }).size);
  }

  // -----------------------------------------------------------------------------------------------
  // Clocks

  private clockNow(id: number): bigint {
    switch (id) {
      case ClockId.REALTIME:
        return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
      case ClockId.MONOTONIC:
        return process.hrtime.bigint();
      case ClockId.PROCESS_CPUTIME_ID:
      case ClockId.THREAD_CPUTIME_ID: {
        const u = process.cpuUsage();
        return BigInt(u.user + u.system) * 1000n;
      }
      default:
        throw new WasiError(Errno.INVAL);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // The system calls

  private buildImports(): WasiImportNamespace {
    const self = this;
    const m = (): GuestMemory => self.mem();

    const calls: Record<string, WasiFunction> = {
      // --- args / environ -------------------------------------------------------------------
      args_sizes_get(argcPtr: number, bufSizePtr: number): number {
        const mem = m();
        mem.setU32(argcPtr >>> 0, self.args.length);
        mem.setU32(bufSizePtr >>> 0, self.args.reduce((n, a) => n + a.length + 1, 0));
        return Errno.SUCCESS;
      },
      args_get(argvPtr: number, bufPtr: number): number {
        writeStringList(m(), self.args, argvPtr >>> 0, bufPtr >>> 0);
        return Errno.SUCCESS;
      },
      environ_sizes_get(countPtr: number, bufSizePtr: number): number {
        const mem = m();
        mem.setU32(countPtr >>> 0, self.env.length);
        mem.setU32(bufSizePtr >>> 0, self.env.reduce((n, a) => n + a.length + 1, 0));
        return Errno.SUCCESS;
      },
      environ_get(environPtr: number, bufPtr: number): number {
        writeStringList(m(), self.env, environPtr >>> 0, bufPtr >>> 0);
        return Errno.SUCCESS;
      },

      // --- clocks, random, scheduling ----------------------------------------------------------
      clock_res_get(id: number, resPtr: number): number {
        let res: bigint;
        switch (id >>> 0) {
          case ClockId.REALTIME: res = 1000n; break;
          case ClockId.MONOTONIC: res = 1n; break;
          case ClockId.PROCESS_CPUTIME_ID:
          case ClockId.THREAD_CPUTIME_ID: res = 1000n; break;
          default: return Errno.INVAL;
        }
        m().setU64(resPtr >>> 0, res);
        return Errno.SUCCESS;
      },
      clock_time_get(id: number, _precision: bigint, timePtr: number): number {
        const t = self.clockNow(id >>> 0);
        m().setU64(timePtr >>> 0, t);
        return Errno.SUCCESS;
      },
      random_get(bufPtr: number, len: number): number {
        const view = m().bytes(bufPtr >>> 0, len >>> 0);
        for (let off = 0; off < view.length; off += 65536) randomFillSync(view.subarray(off, Math.min(view.length, off + 65536)));
        return Errno.SUCCESS;
      },
      sched_yield(): number {
        return Errno.SUCCESS;
      },

      // --- process -------------------------------------------------------------------------------
      proc_exit(code: number): number {
        const c = code >>> 0;
        if (!self.returnOnExit) process.exit(c);
        throw new ExitStatus(c);
      },
      proc_raise(sig: number): number {
        const s = sig >>> 0;
        if (s > Signal.SYS) return Errno.INVAL;
        switch (s) {
          case Signal.NONE:
          case Signal.CHLD:
          case Signal.CONT:
          case Signal.URG:
          case Signal.WINCH:
            return Errno.SUCCESS; // default action: ignore
          case Signal.STOP:
          case Signal.TSTP:
          case Signal.TTIN:
          case Signal.TTOU:
            return Errno.SUCCESS; // job control has no meaning here
          default: {
            // Default action: terminate. Report it like a shell does: 128 + signal number.
            const c = 128 + s;
            if (!self.returnOnExit) process.exit(c);
            throw new ExitStatus(c);
          }
        }
      },

      // --- descriptors ---------------------------------------------------------------------------
      fd_read(fd: number, iovs: number, iovsLen: number, nreadPtr: number): number {
        const mem = m();
        const e = self.entry(fd);
        const bufs = mem.iovecs(iovs >>> 0, iovsLen >>> 0);
        let total = 0;
        if (e.kind === 'stream') {
          if (!e.input) return Errno.BADF;
          // One read for the whole vector, so a terminal or pipe is not asked twice (that could block).
          const size = bufs.reduce((n, b) => n + b.length, 0);
          if (bufs.length === 1) total = e.input.read(bufs[0]!);
          else if (size > 0) {
            const tmp = new Uint8Array(size);
            const n = e.input.read(tmp);
            let off = 0;
            for (const b of bufs) {
              if (off >= n) break;
              const k = Math.min(b.length, n - off);
              b.set(tmp.subarray(off, off + k));
              off += k;
            }
            total = n;
          }
        } else if (e.kind === 'file') {
          if (!e.readable) return Errno.BADF;
          if (!(e.rightsBase & Rights.FD_READ)) return Errno.NOTCAPABLE;
          for (const b of bufs) {
            if (b.length === 0) continue;
            const n = fs.readSync(e.hostFd, b, 0, b.length, e.position);
            e.position += n;
            total += n;
            if (n < b.length) break;
          }
        } else {
          return Errno.ISDIR;
        }
        mem.setU32(nreadPtr >>> 0, total);
        return Errno.SUCCESS;
      },

      fd_write(fd: number, iovs: number, iovsLen: number, nwrittenPtr: number): number {
        const mem = m();
        const e = self.entry(fd);
        const bufs = mem.iovecs(iovs >>> 0, iovsLen >>> 0);
        let total = 0;
        if (e.kind === 'stream') {
          if (!e.output) return Errno.BADF;
          // One write for the whole vector keeps a line together on a shared terminal.
          const size = bufs.reduce((n, b) => n + b.length, 0);
          if (bufs.length === 1) e.output.write(bufs[0]!);
          else if (size > 0) {
            const tmp = new Uint8Array(size);
            let off = 0;
            for (const b of bufs) {
              tmp.set(b, off);
              off += b.length;
            }
            e.output.write(tmp);
          }
          total = size;
        } else if (e.kind === 'file') {
          if (!e.writable) return Errno.BADF;
          if (!(e.rightsBase & Rights.FD_WRITE)) return Errno.NOTCAPABLE;
          if (e.fdflags & FdFlags.APPEND) e.position = self.fileSize(e);
          for (const b of bufs) {
            let off = 0;
            while (off < b.length) {
              const n = fs.writeSync(e.hostFd, b, off, b.length - off, e.position);
              if (n === 0) break;
              off += n;
              e.position += n;
            }
            total += off;
            if (off < b.length) break;
          }
        } else {
          return Errno.BADF;
        }
        mem.setU32(nwrittenPtr >>> 0, total);
        return Errno.SUCCESS;
      },

      fd_pread(fd: number, iovs: number, iovsLen: number, offset: bigint, nreadPtr: number): number {
        const mem = m();
        const e = self.entry(fd);
        if (e.kind === 'stream') return Errno.SPIPE;
        if (e.kind === 'dir') return Errno.ISDIR;
        if (!e.readable) return Errno.BADF;
        if (!(e.rightsBase & Rights.FD_READ)) return Errno.NOTCAPABLE;
        let pos = u64Number(offset);
        const bufs = mem.iovecs(iovs >>> 0, iovsLen >>> 0);
        let total = 0;
        for (const b of bufs) {
          if (b.length === 0) continue;
          const n = fs.readSync(e.hostFd, b, 0, b.length, pos);
          pos += n;
          total += n;
          if (n < b.length) break;
        }
        mem.setU32(nreadPtr >>> 0, total);
        return Errno.SUCCESS;
      },

      fd_pwrite(fd: number, iovs: number, iovsLen: number, offset: bigint, nwrittenPtr: number): number {
        const mem = m();
        const e = self.entry(fd);
        if (e.kind === 'stream') return Errno.SPIPE;
        if (e.kind === 'dir') return Errno.BADF;
        if (!e.writable) return Errno.BADF;
        if (!(e.rightsBase & Rights.FD_WRITE)) return Errno.NOTCAPABLE;
        let pos = u64Number(offset, Errno.FBIG);
        const bufs = mem.iovecs(iovs >>> 0, iovsLen >>> 0);
        let total = 0;
        for (const b of bufs) {
          let off = 0;
          while (off < b.length) {
            const n = fs.writeSync(e.hostFd, b, off, b.length - off, pos);
            if (n === 0) break;
            off += n;
            pos += n;
          }
          total += off;
          if (off < b.length) break;
        }
        mem.setU32(nwrittenPtr >>> 0, total);
        return Errno.SUCCESS;
      },

      fd_seek(fd: number, offset: bigint, whence: number, newOffsetPtr: number): number {
        const mem = m();
        const e = self.entry(fd);
        if (e.kind === 'stream') return Errno.SPIPE;
        if (e.kind === 'dir') return Errno.BADF;
        const delta = BigInt.asIntN(64, big(offset));
        let base: bigint;
        switch (whence >>> 0) {
          case Whence.SET: base = 0n; break;
          case Whence.CUR: base = BigInt(e.position); break;
          case Whence.END: base = BigInt(self.fileSize(e)); break;
          default: return Errno.INVAL;
        }
        const pos = base + delta;
        if (pos < 0n) return Errno.INVAL;
        if (pos > MAX_SAFE) return Errno.OVERFLOW;
        mem.check(newOffsetPtr >>> 0, 8);
        e.position = Number(pos);
        mem.setU64(newOffsetPtr >>> 0, pos);
        return Errno.SUCCESS;
      },

      fd_tell(fd: number, offsetPtr: number): number {
        const mem = m();
        const e = self.entry(fd);
        if (e.kind === 'stream') return Errno.SPIPE;
        if (e.kind === 'dir') return Errno.BADF;
        mem.setU64(offsetPtr >>> 0, e.position);
        return Errno.SUCCESS;
      },

      fd_close(fd: number): number {
        const e = self.entry(fd);
        self.fds.delete(fd >>> 0);
        self.release(e);
        return Errno.SUCCESS;
      },

      fd_sync(fd: number): number {
        const e = self.entry(fd);
        if (e.kind === 'file') fs.fsyncSync(e.hostFd);
        else if (e.kind === 'stream') {
          const hostFd = e.input?.hostFd ?? e.output?.hostFd;
          if (hostFd !== undefined) fs.fsyncSync(hostFd);
        }
        return Errno.SUCCESS;
      },

      fd_datasync(fd: number): number {
        const e = self.entry(fd);
        if (e.kind === 'file') fs.fdatasyncSync(e.hostFd);
        else if (e.kind === 'stream') {
          const hostFd = e.input?.hostFd ?? e.output?.hostFd;
          if (hostFd !== undefined) fs.fdatasyncSync(hostFd);
        }
        return Errno.SUCCESS;
      },

      fd_fdstat_get(fd: number, statPtr: number): number {
        const mem = m();
        const e = self.entry(fd);
        const p = statPtr >>> 0;
        mem.check(p, Layout.FDSTAT_SIZE);
        mem.u8.fill(0, p, p + Layout.FDSTAT_SIZE);
        mem.setU8(p, e.kind === 'dir' ? Filetype.DIRECTORY : e.filetype);
        mem.setU16(p + 2, e.fdflags);
        mem.setU64(p + 8, e.rightsBase);
        mem.setU64(p + 16, e.rightsInheriting);
        return Errno.SUCCESS;
      },

      fd_fdstat_set_flags(fd: number, flags: number): number {
        const e = self.entry(fd);
        const f = flags & 0xffff;
        if (f & ~(FdFlags.APPEND | FdFlags.DSYNC | FdFlags.NONBLOCK | FdFlags.RSYNC | FdFlags.SYNC)) return Errno.INVAL;
        if (e.kind === 'file') {
          // APPEND is emulated here (writes go to the end); the sync flags were fixed when the file was opened.
          if ((f & SYNC_FLAGS) !== e.syncFlags) return Errno.NOTSUP;
        } else if (f & SYNC_FLAGS) {
          return Errno.NOTSUP;
        }
        e.fdflags = f;
        return Errno.SUCCESS;
      },

      fd_fdstat_set_rights(fd: number, base: bigint, inheriting: bigint): number {
        const e = self.entry(fd);
        const b = BigInt.asUintN(64, big(base));
        const i = BigInt.asUintN(64, big(inheriting));
        if ((b & ~e.rightsBase) !== 0n || (i & ~e.rightsInheriting) !== 0n) return Errno.NOTCAPABLE;
        e.rightsBase = b;
        e.rightsInheriting = i;
        return Errno.SUCCESS;
      },

      fd_filestat_get(fd: number, bufPtr: number): number {
        const mem = m();
        const e = self.entry(fd);
        const p = bufPtr >>> 0;
        if (e.kind === 'file') writeFilestat(mem, p, fs.fstatSync(e.hostFd, { bigint: true }));
        else if (e.kind === 'dir') writeFilestat(mem, p, fs.statSync(hostPathOf(e.loc.root, e.loc.parts), { bigint: true }));
        else {
          const hostFd = e.input?.hostFd ?? e.output?.hostFd;
          if (hostFd !== undefined) {
            writeFilestat(mem, p, fs.fstatSync(hostFd, { bigint: true }));
          } else {
            mem.check(p, Layout.FILESTAT_SIZE);
            mem.u8.fill(0, p, p + Layout.FILESTAT_SIZE);
            mem.setU8(p + 16, e.filetype);
            mem.setU64(p + 24, 1);
          }
        }
        return Errno.SUCCESS;
      },

      fd_filestat_set_size(fd: number, size: bigint): number {
        const e = self.entry(fd);
        if (e.kind === 'dir') return Errno.ISDIR;
        if (e.kind === 'stream') return Errno.INVAL;
        if (!e.writable) return Errno.BADF;
        if (!(e.rightsBase & Rights.FD_FILESTAT_SET_SIZE)) return Errno.NOTCAPABLE;
        fs.ftruncateSync(e.hostFd, u64Number(size, Errno.FBIG));
        return Errno.SUCCESS;
      },

      fd_filestat_set_times(fd: number, atim: bigint, mtim: bigint, fstFlags: number): number {
        const e = self.entry(fd);
        if (e.kind === 'file') {
          const [a, mt] = pickTimes(atim, mtim, fstFlags, () => fs.fstatSync(e.hostFd, { bigint: true }));
          fs.futimesSync(e.hostFd, a, mt);
        } else if (e.kind === 'dir') {
          const host = hostPathOf(e.loc.root, e.loc.parts);
          const [a, mt] = pickTimes(atim, mtim, fstFlags, () => fs.statSync(host, { bigint: true }));
          fs.utimesSync(host, a, mt);
        } else {
          const hostFd = e.input?.hostFd ?? e.output?.hostFd;
          if (hostFd === undefined) return Errno.BADF;
          const [a, mt] = pickTimes(atim, mtim, fstFlags, () => fs.fstatSync(hostFd, { bigint: true }));
          fs.futimesSync(hostFd, a, mt);
        }
        return Errno.SUCCESS;
      },

      fd_advise(fd: number, offset: bigint, len: bigint, advice: number): number {
        const e = self.entry(fd);
        if ((advice >>> 0) > Advice.NOREUSE) return Errno.INVAL;
        if (BigInt.asIntN(64, big(offset)) < 0n || BigInt.asIntN(64, big(len)) < 0n) return Errno.INVAL;
        if (e.kind === 'stream') return Errno.SPIPE;
        return Errno.SUCCESS; // advisory only
      },

      fd_allocate(fd: number, offset: bigint, len: bigint): number {
        const e = self.entry(fd);
        if (e.kind === 'stream') return Errno.SPIPE;
        if (e.kind === 'dir') return Errno.BADF;
        if (!e.writable) return Errno.BADF;
        if (!(e.rightsBase & Rights.FD_ALLOCATE)) return Errno.NOTCAPABLE;
        const o = BigInt.asIntN(64, big(offset));
        const l = BigInt.asIntN(64, big(len));
        if (o < 0n || l <= 0n) return Errno.INVAL;
        const end = o + l;
        if (end > MAX_SAFE) return Errno.FBIG;
        if (Number(end) > self.fileSize(e)) fs.ftruncateSync(e.hostFd, Number(end));
        return Errno.SUCCESS;
      },

      fd_prestat_get(fd: number, bufPtr: number): number {
        const mem = m();
        const e = self.entry(fd);
        if (e.kind !== 'dir' || e.preopenName === undefined) return Errno.BADF;
        const p = bufPtr >>> 0;
        mem.check(p, Layout.PRESTAT_SIZE);
        mem.u8.fill(0, p, p + Layout.PRESTAT_SIZE);
        mem.setU8(p, PreopenType.DIR);
        mem.setU32(p + 4, e.preopenName.length);
        return Errno.SUCCESS;
      },

      fd_prestat_dir_name(fd: number, pathPtr: number, pathLen: number): number {
        const mem = m();
        const e = self.entry(fd);
        if (e.kind !== 'dir' || e.preopenName === undefined) return Errno.BADF;
        if ((pathLen >>> 0) < e.preopenName.length) return Errno.NAMETOOLONG;
        mem.write(pathPtr >>> 0, e.preopenName);
        return Errno.SUCCESS;
      },

      fd_readdir(fd: number, bufPtr: number, bufLen: number, cookie: bigint, bufusedPtr: number): number {
        const mem = m();
        const e = self.entry(fd);
        if (e.kind !== 'dir') return Errno.NOTDIR;
        const start = BigInt.asUintN(64, big(cookie));
        if (start === 0n || e.listing === undefined) e.listing = listDirectory(e.loc);
        const list = e.listing;
        const buf = bufPtr >>> 0;
        const len = bufLen >>> 0;
        const out = mem.bytes(buf, len);
        const header = new Uint8Array(Layout.DIRENT_SIZE);
        const hv = new DataView(header.buffer);
        let used = 0;
        for (let i = start > BigInt(list.length) ? list.length : Number(start); i < list.length && used < len; i++) {
          const ent = list[i]!;
          if (ent.ino === undefined) {
            try {
              ent.ino = fs.lstatSync(ent.hostPath, { bigint: true }).ino;
            } catch {
              ent.ino = 0n;
            }
          }
          hv.setBigUint64(0, BigInt(i + 1), true);
          hv.setBigUint64(8, ent.ino, true);
          hv.setUint32(16, ent.name.length, true);
          hv.setUint32(20, ent.type, true); // d_type (u8) + 3 bytes of padding
          const h = Math.min(header.length, len - used);
          out.set(header.subarray(0, h), used);
          used += h;
          const n = Math.min(ent.name.length, len - used);
          out.set(ent.name.subarray(0, n), used);
          used += n;
        }
        mem.setU32(bufusedPtr >>> 0, used);
        return Errno.SUCCESS;
      },

      fd_renumber(from: number, to: number): number {
        const src = self.entry(from);
        const dst = self.entry(to);
        if ((from >>> 0) === (to >>> 0)) return Errno.SUCCESS;
        self.release(dst);
        self.fds.set(to >>> 0, src);
        self.fds.delete(from >>> 0);
        return Errno.SUCCESS;
      },

      // --- paths ---------------------------------------------------------------------------------
      path_create_directory(fd: number, pathPtr: number, pathLen: number): number {
        const dir = self.dirEntry(fd);
        const path = m().string(pathPtr >>> 0, pathLen >>> 0);
        const r = resolveParent(dir.loc, path, Errno.EXIST);
        fs.mkdirSync(r.host);
        return Errno.SUCCESS;
      },

      path_filestat_get(fd: number, flags: number, pathPtr: number, pathLen: number, bufPtr: number): number {
        const mem = m();
        const dir = self.dirEntry(fd);
        const path = mem.string(pathPtr >>> 0, pathLen >>> 0);
        const r = resolvePath(dir.loc, path, (flags & LookupFlags.SYMLINK_FOLLOW) !== 0);
        writeFilestat(mem, bufPtr >>> 0, fs.lstatSync(r.host, { bigint: true }));
        return Errno.SUCCESS;
      },

      path_filestat_set_times(fd: number, flags: number, pathPtr: number, pathLen: number, atim: bigint, mtim: bigint, fstFlags: number): number {
        const dir = self.dirEntry(fd);
        const path = m().string(pathPtr >>> 0, pathLen >>> 0);
        const follow = (flags & LookupFlags.SYMLINK_FOLLOW) !== 0;
        const r = resolvePath(dir.loc, path, follow);
        const [a, mt] = pickTimes(atim, mtim, fstFlags, () => fs.lstatSync(r.host, { bigint: true }));
        // The resolved path has no symlink left in it when following, so lutimes is right in both cases.
        fs.lutimesSync(r.host, a, mt);
        return Errno.SUCCESS;
      },

      path_link(oldFd: number, oldFlags: number, oldPathPtr: number, oldPathLen: number, newFd: number, newPathPtr: number, newPathLen: number): number {
        const mem = m();
        const oldDir = self.dirEntry(oldFd);
        const newDir = self.dirEntry(newFd);
        const oldPath = mem.string(oldPathPtr >>> 0, oldPathLen >>> 0);
        const newPath = mem.string(newPathPtr >>> 0, newPathLen >>> 0);
        const src = resolvePath(oldDir.loc, oldPath, (oldFlags & LookupFlags.SYMLINK_FOLLOW) !== 0);
        const dst = resolveParent(newDir.loc, newPath, Errno.EXIST);
        const st = fs.lstatSync(src.host);
        if (st.isDirectory()) return Errno.PERM;
        fs.linkSync(src.host, dst.host);
        return Errno.SUCCESS;
      },

      path_open(
        dirFd: number, dirFlags: number, pathPtr: number, pathLen: number, oflags: number,
        rightsBase: bigint, _rightsInheriting: bigint, fdflags: number, fdPtr: number,
      ): number {
        const mem = m();
        const dir = self.dirEntry(dirFd);
        const path = mem.string(pathPtr >>> 0, pathLen >>> 0);
        mem.check(fdPtr >>> 0, 4);
        const of = oflags & 0xffff;
        const ff = fdflags & 0xffff;
        if (of & ~(OFlags.CREAT | OFlags.DIRECTORY | OFlags.EXCL | OFlags.TRUNC)) return Errno.INVAL;
        const creat = (of & OFlags.CREAT) !== 0;
        const excl = (of & OFlags.EXCL) !== 0;
        const trunc = (of & OFlags.TRUNC) !== 0;
        const last = path.slice(path.lastIndexOf('/') + 1);
        const mustBeDir = (of & OFlags.DIRECTORY) !== 0 || last === '' || last === '.' || last === '..';
        const follow = (dirFlags & LookupFlags.SYMLINK_FOLLOW) !== 0 && !(creat && excl);
        const rights = BigInt.asUintN(64, big(rightsBase));
        const wantRead = (rights & RIGHTS_NEED_READ) !== 0n;
        const wantWrite = (rights & RIGHTS_NEED_WRITE) !== 0n || (ff & FdFlags.APPEND) !== 0;

        const r = resolvePath(dir.loc, path, follow);
        const st = lstatOrUndefined(r.host);
        if (st?.isSymbolicLink()) return mustBeDir ? Errno.NOTDIR : Errno.LOOP; // only when not following
        if (st?.isDirectory()) {
          if (creat && excl) return Errno.EXIST;
          if (creat || trunc || wantWrite) return Errno.ISDIR;
          const fd = self.allocateFd({
            kind: 'dir',
            loc: { root: r.root, parts: r.parts },
            rightsBase: RIGHTS_DIRECTORY,
            rightsInheriting: RIGHTS_ALL,
            fdflags: ff,
          });
          mem.setU32(fdPtr >>> 0, fd);
          return Errno.SUCCESS;
        }
        if (st !== undefined && mustBeDir) return Errno.NOTDIR;
        if (st === undefined) {
          if (!creat) return Errno.NOENT;
          if (mustBeDir) return (of & OFlags.DIRECTORY) !== 0 ? Errno.INVAL : Errno.ISDIR;
        }

        const C = fs.constants;
        let hostFlags = wantRead && wantWrite ? C.O_RDWR : wantWrite ? C.O_WRONLY : C.O_RDONLY;
        if (creat) hostFlags |= C.O_CREAT;
        if (excl) hostFlags |= C.O_EXCL;
        if (trunc) hostFlags |= C.O_TRUNC;
        hostFlags |= C.O_NOFOLLOW ?? 0;
        if (ff & FdFlags.DSYNC) hostFlags |= C.O_DSYNC ?? 0;
        if (ff & (FdFlags.SYNC | FdFlags.RSYNC)) hostFlags |= C.O_SYNC ?? 0;
        if (ff & FdFlags.NONBLOCK) hostFlags |= C.O_NONBLOCK ?? 0;
        const hostFd = fs.openSync(r.host, hostFlags, 0o666);
        let filetype: number;
        try {
          filetype = filetypeOf(fs.fstatSync(hostFd));
        } catch (e) {
          fs.closeSync(hostFd);
          throw e;
        }
        let base = RIGHTS_FILE;
        if (!wantRead) base &= ~(Rights.FD_READ | Rights.FD_READDIR);
        if (!wantWrite) base &= ~(Rights.FD_WRITE | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE);
        const fd = self.allocateFd({
          kind: 'file',
          filetype,
          hostFd,
          position: 0,
          readable: wantRead,
          writable: wantWrite,
          syncFlags: ff & SYNC_FLAGS,
          rightsBase: base,
          rightsInheriting: 0n,
          fdflags: ff,
        });
        mem.setU32(fdPtr >>> 0, fd);
        return Errno.SUCCESS;
      },

      path_readlink(fd: number, pathPtr: number, pathLen: number, bufPtr: number, bufLen: number, bufusedPtr: number): number {
        const mem = m();
        const dir = self.dirEntry(fd);
        const path = mem.string(pathPtr >>> 0, pathLen >>> 0);
        const r = resolvePath(dir.loc, path, false);
        const target = fs.readlinkSync(r.host, { encoding: 'buffer' });
        const n = Math.min(target.length, bufLen >>> 0);
        mem.write(bufPtr >>> 0, target.subarray(0, n));
        mem.setU32(bufusedPtr >>> 0, n);
        return Errno.SUCCESS;
      },

      path_remove_directory(fd: number, pathPtr: number, pathLen: number): number {
        const dir = self.dirEntry(fd);
        const path = m().string(pathPtr >>> 0, pathLen >>> 0);
        const r = resolveParent(dir.loc, path, Errno.INVAL);
        fs.rmdirSync(r.host);
        return Errno.SUCCESS;
      },

      path_rename(fd: number, oldPathPtr: number, oldPathLen: number, newFd: number, newPathPtr: number, newPathLen: number): number {
        const mem = m();
        const oldDir = self.dirEntry(fd);
        const newDir = self.dirEntry(newFd);
        const oldPath = mem.string(oldPathPtr >>> 0, oldPathLen >>> 0);
        const newPath = mem.string(newPathPtr >>> 0, newPathLen >>> 0);
        const src = resolveParent(oldDir.loc, oldPath, Errno.INVAL);
        const dst = resolveParent(newDir.loc, newPath, Errno.INVAL);
        if (src.trailingSlash || dst.trailingSlash) {
          const st = fs.lstatSync(src.host);
          if (!st.isDirectory()) return Errno.NOTDIR;
        }
        fs.renameSync(src.host, dst.host);
        return Errno.SUCCESS;
      },

      path_symlink(oldPathPtr: number, oldPathLen: number, fd: number, newPathPtr: number, newPathLen: number): number {
        const mem = m();
        const target = mem.string(oldPathPtr >>> 0, oldPathLen >>> 0);
        const dir = self.dirEntry(fd);
        const newPath = mem.string(newPathPtr >>> 0, newPathLen >>> 0);
        if (target.length === 0) return Errno.NOENT;
        if (target.includes('\0')) return Errno.INVAL;
        // Absolute targets would name host paths: refused. Relative ones are stored as given; following them is
        // confined by the resolver.
        if (target.startsWith('/')) return Errno.NOTCAPABLE;
        const r = resolveParent(dir.loc, newPath, Errno.EXIST);
        fs.symlinkSync(target, r.host);
        return Errno.SUCCESS;
      },

      path_unlink_file(fd: number, pathPtr: number, pathLen: number): number {
        const dir = self.dirEntry(fd);
        const path = m().string(pathPtr >>> 0, pathLen >>> 0);
        const r = resolveParent(dir.loc, path, Errno.ISDIR);
        const st = fs.lstatSync(r.host);
        if (st.isDirectory()) return Errno.ISDIR;
        if (r.trailingSlash) return Errno.NOTDIR;
        fs.unlinkSync(r.host);
        return Errno.SUCCESS;
      },

      // --- polling -------------------------------------------------------------------------------
      poll_oneoff(inPtr: number, outPtr: number, nsubscriptions: number, neventsPtr: number): number {
        return self.pollOneoff(inPtr >>> 0, outPtr >>> 0, nsubscriptions >>> 0, neventsPtr >>> 0);
      },

      // --- sockets -------------------------------------------------------------------------------
      sock_accept(fd: number): number {
        self.entry(fd);
        return Errno.NOTSUP;
      },
      sock_recv(fd: number): number {
        self.entry(fd);
        return Errno.NOTSUP;
      },
      sock_send(fd: number): number {
        self.entry(fd);
        return Errno.NOTSUP;
      },
      sock_shutdown(fd: number): number {
        self.entry(fd);
        return Errno.NOTSUP;
      },
    };

    const wrapped: WasiImportNamespace = {};
    for (const [name, fn] of Object.entries(calls)) {
      wrapped[name] = function (...args: unknown[]): number {
        try {
          return fn(...args);
        } catch (e) {
          return errnoOf(e);
        }
      };
      Object.defineProperty(wrapped[name], 'name', { value: name });
    }
    return wrapped;
  }

  private pollOneoff(inPtr: number, outPtr: number, nsubs: number, neventsPtr: number): number {
    const mem = this.mem();
    if (nsubs === 0) return Errno.INVAL;
    mem.check(inPtr, nsubs * Layout.SUBSCRIPTION_SIZE);
    mem.check(outPtr, nsubs * Layout.EVENT_SIZE);
    mem.check(neventsPtr, 4);

    interface Ev { userdata: bigint; error: number; type: number; nbytes: bigint; flags: number }
    const ready: Ev[] = [];
    const clocks: { userdata: bigint; deadline: bigint }[] = [];
    const nowMono = process.hrtime.bigint();

    for (let i = 0; i < nsubs; i++) {
      const p = inPtr + i * Layout.SUBSCRIPTION_SIZE;
      const userdata = mem.u64(p);
      const tag = mem.u8At(p + 8);
      if (tag === EventType.CLOCK) {
        const id = mem.u32(p + 16);
        const timeout = mem.u64(p + 24);
        const flags = mem.u16(p + 40);
        let deadline: bigint;
        if (id > ClockId.THREAD_CPUTIME_ID) {
          ready.push({ userdata, error: Errno.INVAL, type: EventType.CLOCK, nbytes: 0n, flags: 0 });
          continue;
        }
        if (flags & SubclockFlags.ABSTIME) {
          deadline = id === ClockId.MONOTONIC ? timeout : nowMono + (timeout - this.clockNow(id));
        } else {
          deadline = nowMono + timeout;
        }
        clocks.push({ userdata, deadline });
      } else if (tag === EventType.FD_READ || tag === EventType.FD_WRITE) {
        const fd = mem.u32(p + 16);
        const e = this.fds.get(fd);
        const ev: Ev = { userdata, error: Errno.SUCCESS, type: tag, nbytes: 0n, flags: 0 };
        if (e === undefined) ev.error = Errno.BADF;
        else if (tag === EventType.FD_READ) {
          if (e.kind === 'file') {
            if (!e.readable) ev.error = Errno.BADF;
            else {
              try {
                ev.nbytes = BigInt(Math.max(0, this.fileSize(e) - e.position));
              } catch (err) {
                ev.error = errnoOf(err);
              }
            }
          } else if (e.kind === 'stream') {
            if (!e.input) ev.error = Errno.BADF;
            else {
              // Without a synchronous poll in Node, a host stream is reported readable; the read then blocks.
              const avail = e.input.available();
              if (avail === 0) ev.flags = EventRwFlags.FD_READWRITE_HANGUP;
              ev.nbytes = BigInt(avail ?? 1);
            }
          } else {
            ev.error = Errno.BADF;
          }
        } else {
          if (e.kind === 'file' ? !e.writable : e.kind === 'stream' ? !e.output : true) ev.error = Errno.BADF;
        }
        ready.push(ev);
      } else {
        return Errno.INVAL;
      }
    }

    if (ready.length === 0 && clocks.length > 0) {
      let earliest = clocks[0]!.deadline;
      for (const c of clocks) if (c.deadline < earliest) earliest = c.deadline;
      for (;;) {
        const now = process.hrtime.bigint();
        if (now >= earliest) break;
        sleepMs(Number(earliest - now) / 1e6);
      }
    }
    const now = process.hrtime.bigint();
    for (const c of clocks) {
      if (c.deadline <= now) ready.push({ userdata: c.userdata, error: Errno.SUCCESS, type: EventType.CLOCK, nbytes: 0n, flags: 0 });
    }

    for (let i = 0; i < ready.length; i++) {
      const ev = ready[i]!;
      const q = outPtr + i * Layout.EVENT_SIZE;
      mem.u8.fill(0, q, q + Layout.EVENT_SIZE);
      mem.setU64(q, ev.userdata);
      mem.setU16(q + 8, ev.error);
      mem.setU8(q + 10, ev.type);
      mem.setU64(q + 16, ev.nbytes);
      mem.setU16(q + 24, ev.flags);
    }
    mem.setU32(neventsPtr, ready.length);
    return Errno.SUCCESS;
  }
}

// -------------------------------------------------------------------------------------------------

function writeStringList(mem: GuestMemory, list: readonly Uint8Array[], ptrsPtr: number, bufPtr: number): void {
  mem.check(ptrsPtr, list.length * 4);
  let off = bufPtr;
  for (let i = 0; i < list.length; i++) {
    const s = list[i]!;
    mem.setU32(ptrsPtr + 4 * i, off);
    mem.write(off, s);
    mem.setU8(off + s.length, 0);
    off += s.length + 1;
  }
}

function listDirectory(loc: Location): DirListingEntry[] {
  const host = hostPathOf(loc.root, loc.parts);
  const parentHost = loc.parts.length > 0 ? hostPathOf(loc.root, loc.parts.slice(0, -1)) : host;
  const out: DirListingEntry[] = [
    { name: encoder.encode('.'), type: Filetype.DIRECTORY, hostPath: host },
    // '..' of a preopen is the preopen itself: the guest sees nothing above it.
    { name: encoder.encode('..'), type: Filetype.DIRECTORY, hostPath: parentHost },
  ];
  for (const d of fs.readdirSync(host, { withFileTypes: true })) {
    out.push({ name: encoder.encode(d.name), type: filetypeOf(d), hostPath: host + '/' + d.name });
  }
  return out;
}

/** The errno a failed call returns. ExitStatus and programming errors propagate. */
function errnoOf(e: unknown): number {
  if (e instanceof WasiError) return e.errno;
  if (e instanceof ExitStatus) throw e;
  if (e instanceof RangeError) return Errno.FAULT;
  const mapped = hostError(e);
  if (mapped instanceof WasiError) return mapped.errno;
  throw e;
}

/** The exit code carried by an error that a reactor's proc_exit threw, or undefined. */
export function wasiExitCode(e: unknown): number | undefined {
  return e instanceof ExitStatus ? e.code : undefined;
}
