// WASI preview1 (`wasi_snapshot_preview1`) constants: errno values, rights, flags, file types and the byte
// layouts of the structures the host writes into guest memory. Values are those of the preview1 witx
// definitions (the same numbers wasi-libc's <wasi/api.h> uses).

/** errno values. wasi-libc's `errno` constants are exactly these numbers. */
export const Errno = {
  SUCCESS: 0, '2BIG': 1, ACCES: 2, ADDRINUSE: 3, ADDRNOTAVAIL: 4, AFNOSUPPORT: 5, AGAIN: 6, ALREADY: 7,
  BADF: 8, BADMSG: 9, BUSY: 10, CANCELED: 11, CHILD: 12, CONNABORTED: 13, CONNREFUSED: 14, CONNRESET: 15,
  DEADLK: 16, DESTADDRREQ: 17, DOM: 18, DQUOT: 19, EXIST: 20, FAULT: 21, FBIG: 22, HOSTUNREACH: 23,
  IDRM: 24, ILSEQ: 25, INPROGRESS: 26, INTR: 27, INVAL: 28, IO: 29, ISCONN: 30, ISDIR: 31, LOOP: 32,
  MFILE: 33, MLINK: 34, MSGSIZE: 35, MULTIHOP: 36, NAMETOOLONG: 37, NETDOWN: 38, NETRESET: 39,
  NETUNREACH: 40, NFILE: 41, NOBUFS: 42, NODEV: 43, NOENT: 44, NOEXEC: 45, NOLCK: 46, NOLINK: 47,
  NOMEM: 48, NOMSG: 49, NOPROTOOPT: 50, NOSPC: 51, NOSYS: 52, NOTCONN: 53, NOTDIR: 54, NOTEMPTY: 55,
  NOTRECOVERABLE: 56, NOTSOCK: 57, NOTSUP: 58, NOTTY: 59, NXIO: 60, OVERFLOW: 61, OWNERDEAD: 62, PERM: 63,
  PIPE: 64, PROTO: 65, PROTONOSUPPORT: 66, PROTOTYPE: 67, RANGE: 68, ROFS: 69, SPIPE: 70, SRCH: 71,
  STALE: 72, TIMEDOUT: 73, TXTBSY: 74, XDEV: 75, NOTCAPABLE: 76,
} as const;
export type ErrnoName = keyof typeof Errno;

/** Maps a host error code (`err.code` of Node's fs errors, e.g. 'ENOENT') to a WASI errno. */
export function errnoFromHostCode(code: string): number | undefined {
  if (code === 'EWOULDBLOCK') return Errno.AGAIN;
  if (code === 'EOPNOTSUPP') return Errno.NOTSUP;
  if (code === 'EDEADLOCK') return Errno.DEADLK;
  if (!code.startsWith('E')) return undefined;
  const v = (Errno as Record<string, number>)[code.slice(1)];
  return v === undefined || v === 0 ? undefined : v;
}

export const ClockId = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME_ID: 2, THREAD_CPUTIME_ID: 3 } as const;

export const Whence = { SET: 0, CUR: 1, END: 2 } as const;

export const Filetype = {
  UNKNOWN: 0, BLOCK_DEVICE: 1, CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4, SOCKET_DGRAM: 5,
  SOCKET_STREAM: 6, SYMBOLIC_LINK: 7,
} as const;

export const Advice = { NORMAL: 0, SEQUENTIAL: 1, RANDOM: 2, WILLNEED: 3, DONTNEED: 4, NOREUSE: 5 } as const;

export const FdFlags = { APPEND: 1, DSYNC: 2, NONBLOCK: 4, RSYNC: 8, SYNC: 16 } as const;

export const FstFlags = { ATIM: 1, ATIM_NOW: 2, MTIM: 4, MTIM_NOW: 8 } as const;

export const LookupFlags = { SYMLINK_FOLLOW: 1 } as const;

export const OFlags = { CREAT: 1, DIRECTORY: 2, EXCL: 4, TRUNC: 8 } as const;

export const EventType = { CLOCK: 0, FD_READ: 1, FD_WRITE: 2 } as const;

export const EventRwFlags = { FD_READWRITE_HANGUP: 1 } as const;

export const SubclockFlags = { ABSTIME: 1 } as const;

export const PreopenType = { DIR: 0 } as const;

/** Rights bits (`rights` is a u64 bit set). */
export const Rights = {
  FD_DATASYNC: 1n << 0n,
  FD_READ: 1n << 1n,
  FD_SEEK: 1n << 2n,
  FD_FDSTAT_SET_FLAGS: 1n << 3n,
  FD_SYNC: 1n << 4n,
  FD_TELL: 1n << 5n,
  FD_WRITE: 1n << 6n,
  FD_ADVISE: 1n << 7n,
  FD_ALLOCATE: 1n << 8n,
  PATH_CREATE_DIRECTORY: 1n << 9n,
  PATH_CREATE_FILE: 1n << 10n,
  PATH_LINK_SOURCE: 1n << 11n,
  PATH_LINK_TARGET: 1n << 12n,
  PATH_OPEN: 1n << 13n,
  FD_READDIR: 1n << 14n,
  PATH_READLINK: 1n << 15n,
  PATH_RENAME_SOURCE: 1n << 16n,
  PATH_RENAME_TARGET: 1n << 17n,
  PATH_FILESTAT_GET: 1n << 18n,
  PATH_FILESTAT_SET_SIZE: 1n << 19n,
  PATH_FILESTAT_SET_TIMES: 1n << 20n,
  FD_FILESTAT_GET: 1n << 21n,
  FD_FILESTAT_SET_SIZE: 1n << 22n,
  FD_FILESTAT_SET_TIMES: 1n << 23n,
  PATH_SYMLINK: 1n << 24n,
  PATH_REMOVE_DIRECTORY: 1n << 25n,
  PATH_UNLINK_FILE: 1n << 26n,
  POLL_FD_READWRITE: 1n << 27n,
  SOCK_SHUTDOWN: 1n << 28n,
  SOCK_ACCEPT: 1n << 29n,
} as const;

const R = Rights;

/** Every right defined by preview1. */
export const RIGHTS_ALL: bigint = (1n << 30n) - 1n;

/** Rights that make sense on a regular file (all of them are granted; read/write are then masked by the
 * access mode the file was opened with). */
export const RIGHTS_FILE: bigint =
  R.FD_DATASYNC | R.FD_READ | R.FD_SEEK | R.FD_FDSTAT_SET_FLAGS | R.FD_SYNC | R.FD_TELL | R.FD_WRITE |
  R.FD_ADVISE | R.FD_ALLOCATE | R.FD_FILESTAT_GET | R.FD_FILESTAT_SET_SIZE | R.FD_FILESTAT_SET_TIMES |
  R.POLL_FD_READWRITE;

/** Rights of a directory (base). Files and directories opened under it inherit RIGHTS_ALL. */
export const RIGHTS_DIRECTORY: bigint =
  R.FD_FDSTAT_SET_FLAGS | R.FD_SYNC | R.FD_ADVISE | R.PATH_CREATE_DIRECTORY | R.PATH_CREATE_FILE |
  R.PATH_LINK_SOURCE | R.PATH_LINK_TARGET | R.PATH_OPEN | R.FD_READDIR | R.PATH_READLINK |
  R.PATH_RENAME_SOURCE | R.PATH_RENAME_TARGET | R.PATH_FILESTAT_GET | R.PATH_FILESTAT_SET_SIZE |
  R.PATH_FILESTAT_SET_TIMES | R.FD_FILESTAT_GET | R.FD_FILESTAT_SET_TIMES | R.PATH_SYMLINK |
  R.PATH_REMOVE_DIRECTORY | R.PATH_UNLINK_FILE | R.POLL_FD_READWRITE;

/** Rights of stdin/stdout/stderr: a stream, so no seek/tell (wasi-libc's isatty() relies on that). */
export const RIGHTS_STREAM: bigint =
  R.FD_READ | R.FD_WRITE | R.FD_FDSTAT_SET_FLAGS | R.FD_SYNC | R.FD_DATASYNC | R.FD_FILESTAT_GET |
  R.POLL_FD_READWRITE;

/** Rights that need the file to be open for reading / for writing. */
export const RIGHTS_NEED_READ: bigint = R.FD_READ | R.FD_READDIR;
export const RIGHTS_NEED_WRITE: bigint = R.FD_WRITE | R.FD_DATASYNC | R.FD_ALLOCATE | R.FD_FILESTAT_SET_SIZE;

/** Signals (`proc_raise`). */
export const Signal = {
  NONE: 0, HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10, SEGV: 11,
  USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, CHLD: 16, CONT: 17, STOP: 18, TSTP: 19, TTIN: 20, TTOU: 21,
  URG: 22, XCPU: 23, XFSZ: 24, VTALRM: 25, PROF: 26, WINCH: 27, POLL: 28, PWR: 29, SYS: 30,
} as const;

/** Byte sizes and field offsets of the structures exchanged with the guest. */
export const Layout = {
  IOVEC_SIZE: 8, // { buf: u32 @0, buf_len: u32 @4 }
  FDSTAT_SIZE: 24, // filetype u8 @0, flags u16 @2, rights_base u64 @8, rights_inheriting u64 @16
  FILESTAT_SIZE: 64, // dev @0, ino @8, filetype u8 @16, nlink @24, size @32, atim @40, mtim @48, ctim @56
  DIRENT_SIZE: 24, // d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20 (name follows)
  PRESTAT_SIZE: 8, // tag u8 @0, pr_name_len u32 @4
  SUBSCRIPTION_SIZE: 48, // userdata u64 @0, tag u8 @8, clock {id u32 @16, timeout u64 @24, precision @32, flags u16 @40} | fd u32 @16
  EVENT_SIZE: 32, // userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24
} as const;
