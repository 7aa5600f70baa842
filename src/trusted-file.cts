// Files that become code or are deserialised into the engine: the compiled-code cache (src/compile/code-cache.ts,
// whose entries are executed as machine code) and the V8 bytecode cache of the CLI bundle (bin/quickbeam.js).
// Their checksums catch corruption, not a file written on purpose, so such a file is only ever read when no one
// but the current user (and root) can have written it:
//
// - its directory: every ancestor (of its real path) is owned by root or the user and is not writable by group
//   or others unless it is sticky (like /tmp: there, others cannot rename or delete what they do not own), so no
//   one else can redirect the path (the rule of OpenSSH's safe_path, checked top down); the directory itself,
//   opened with O_NOFOLLOW|O_DIRECTORY and checked on its descriptor, is owned by the user and not writable by
//   group or others (0700 when we create it);
// - the file: opened with O_NOFOLLOW (a symbolic link is refused, not followed) and checked on its descriptor
//   (fstat: a regular file owned by the user, not writable by group or others), then read from that same
//   descriptor, never reopened.
// Files are written 0600 (O_CREAT|O_EXCL|O_NOFOLLOW) under a temporary name and renamed into place.
//
// The checks are on owners and mode bits, never access(): root may write anything, but ownership still tells
// who wrote a file. The file is opened by path, not relative to the checked directory's descriptor (Node has no
// openat); the ancestor rule is what keeps that path from being swapped between the checks and the open.
//
// Anything else that turns a file into code must go through these checks too, and use the bytes or the descriptor
// that was checked, never the path again: the code cache maps its entries as code from openTrusted's descriptor.
//
// CommonJS (compiled to dist/src/trusted-file.cjs) because bin/quickbeam.js, which is CommonJS and must start
// fast, requires it before any bundle is loaded; ES modules load it with createRequire, so the CLI process
// loads it once.

import fs = require('node:fs');
import path = require('node:path');

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY, O_NONBLOCK } = fs.constants;

/** A directory that passed the checks: its real path. */
export interface TrustedDir {
  ok: true;
  path: string;
}

/** Why a directory or file is not used. `missing`: it does not exist (nothing to report). */
export interface Refusal {
  ok: false;
  missing: boolean;
  reason: string;
}

export type FileRead = { ok: true; data: Buffer } | Refusal;

const refuse = (reason: string): Refusal => ({ ok: false, missing: false, reason });
const missing = (reason: string): Refusal => ({ ok: false, missing: true, reason });
const errno = (e: unknown): string => String((e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message ?? e);

function modeText(mode: number): string {
  return `mode ${(mode & 0o7777).toString(8).padStart(4, '0')}`;
}

function writers(mode: number): string {
  const g = (mode & 0o020) !== 0;
  const o = (mode & 0o002) !== 0;
  return g && o ? 'group and others' : g ? 'group' : 'others';
}

/** Why the owner or mode of `st` lets someone other than user `uid` write it: null when it does not. */
function notPrivate(what: string, st: fs.Stats, uid: number): string | null {
  if (st.uid !== uid) return `${what} is owned by uid ${st.uid}, not by this user (uid ${uid})`;
  if ((st.mode & 0o022) !== 0) return `${what} is writable by ${writers(st.mode)} (${modeText(st.mode)})`;
  return null;
}

/**
 * Checks directory `dir` (see above); with `create`, first creates it (and missing parents) 0700. Refused when
 * it does not exist or fails a check. Errors of mkdir are thrown.
 */
export function trustedDir(dir: string, create = false): TrustedDir | Refusal {
  if (typeof process.getuid !== 'function') return refuse('file ownership cannot be checked on this platform');
  const uid = process.getuid();
  if (create) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let real: string;
  try {
    real = fs.realpathSync.native(dir);
  } catch (e) {
    return errno(e) === 'ENOENT' ? missing('directory does not exist') : refuse(`directory cannot be resolved (${errno(e)})`);
  }
  // The ancestors, from the root down: each one's entries can only be changed by root or the user.
  const ancestors: string[] = [];
  for (let p = real; path.dirname(p) !== p; ) ancestors.push((p = path.dirname(p)));
  for (let k = ancestors.length - 1; k >= 0; k--) {
    const a = ancestors[k];
    let st: fs.Stats;
    try {
      st = fs.lstatSync(a);
    } catch (e) {
      return refuse(`${a} cannot be checked (${errno(e)})`);
    }
    if (!st.isDirectory()) return refuse(`${a} is not a directory`);
    if (st.uid !== 0 && st.uid !== uid) return refuse(`${a} is owned by uid ${st.uid}, neither this user (uid ${uid}) nor root`);
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
      return refuse(`${a} is writable by ${writers(st.mode)} (${modeText(st.mode)}) and not sticky`);
    }
  }
  let fd: number;
  try {
    fd = fs.openSync(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  } catch (e) {
    const code = errno(e);
    if (code === 'ENOENT') return missing('directory does not exist');
    return refuse(code === 'ELOOP' ? 'directory is a symbolic link' : code === 'ENOTDIR' ? 'not a directory' : `directory cannot be opened (${code})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isDirectory()) return refuse('not a directory');
    const why = notPrivate('directory', st, uid);
    if (why !== null) return refuse(why);
  } finally {
    fs.closeSync(fd);
  }
  return { ok: true, path: real };
}

/** A file name inside the directory, not a path (so that no unchecked directory is traversed). */
function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new Error(`internal: ${JSON.stringify(name)} is not a file name`);
}

/** A file that passed the checks, open for reading: its descriptor (the caller closes it) and size. */
export interface TrustedFd {
  ok: true;
  fd: number;
  size: number;
}

export type FileOpen = TrustedFd | Refusal;

/**
 * Opens file `name` of a checked directory when it passes the checks (see above), for reading or mapping
 * from the returned descriptor, which is the one that was checked. The caller must close it.
 */
export function openTrusted(dir: TrustedDir, name: string): FileOpen {
  checkName(name);
  if (typeof process.getuid !== 'function') return refuse('file ownership cannot be checked on this platform');
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO in its place must not block the open (no effect on a regular file).
    fd = fs.openSync(path.join(dir.path, name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    const code = errno(e);
    if (code === 'ENOENT') return missing(`${name} does not exist`);
    return refuse(code === 'ELOOP' ? `${name} is a symbolic link` : `${name} cannot be opened (${code})`);
  }
  let ok = false;
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return refuse(`${name} is not a regular file`);
    const why = notPrivate(name, st, process.getuid());
    if (why !== null) return refuse(why);
    ok = true;
    return { ok: true, fd, size: st.size };
  } catch (e) {
    return refuse(`${name} cannot be checked (${errno(e)})`);
  } finally {
    if (!ok) fs.closeSync(fd);
  }
}

/** Reads file `name` of a checked directory, when it passes the checks (see above). */
export function readTrusted(dir: TrustedDir, name: string): FileRead {
  const f = openTrusted(dir, name);
  if (!f.ok) return f;
  try {
    return { ok: true, data: fs.readFileSync(f.fd) };
  } catch (e) {
    return refuse(`${name} cannot be read (${errno(e)})`);
  } finally {
    fs.closeSync(f.fd);
  }
}

let tmpCounter = 0;

/**
 * Writes file `name` of a checked directory atomically, mode 0600: `data`, or the concatenation of its parts.
 * Errors are thrown.
 */
export function writeTrusted(dir: TrustedDir, name: string, data: Uint8Array | Uint8Array[]): void {
  checkName(name);
  const file = path.join(dir.path, name);
  const tmp = `${file}.${process.pid}-${Date.now().toString(36)}-${++tmpCounter}.tmp`;
  const fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    try {
      if (!Array.isArray(data)) fs.writeFileSync(fd, data);
      else for (const part of data) for (let done = 0; done < part.length; ) done += fs.writeSync(fd, part, done);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {
      /* renamed already, or gone */
    }
    throw e;
  }
}
