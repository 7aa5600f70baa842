// Guest path resolution confined to a preopened directory.
//
// Every directory the guest can name is a *location*: the real path of a preopened host directory (`root`,
// canonicalised with realpath when the WASI object is created) plus a list of components below it (`parts`)
// that are known to contain no symlinks, no '.' and no '..'. A guest path is resolved against a location one
// component at a time, like the kernel does:
//
// - absolute guest paths are refused (ENOTCAPABLE): wasi-libc maps absolute paths onto preopens itself, so an
//   absolute path reaching the host is an attempt to name a host path;
// - '.' and empty components are skipped; '..' pops one component and is refused (ENOTCAPABLE) when there is
//   nothing left to pop, i.e. when it would climb above the preopen;
// - every component that has to be looked through (all but the last; the last too when following) is lstat'ed:
//   a symlink is read and its target spliced into the remaining components, so the target is resolved with the
//   same rules (a relative target from the link's directory, so '..' in it cannot climb above the preopen
//   either); an absolute target is accepted only when it names a path inside the preopen's real path;
//   after 40 links the lookup fails with ELOOP;
// - a component that is looked through must be a directory (ENOTDIR otherwise).
//
// The result is a host path with no symlink in any component except possibly the last one (when not following),
// so callers open it with O_NOFOLLOW and operate on it with lstat-style calls. (A host process racing the guest
// by swapping directories for symlinks between the check and the use is outside this model.)

import { lstatSync, readlinkSync } from 'node:fs';
import { Errno } from './constants.js';
import { WasiError, hostError } from './errors.js';

export const MAX_SYMLINK_FOLLOWS = 40;

/** A directory inside a preopen: `root` is the preopen's real host path; `parts` are resolved components. */
export interface Location {
  readonly root: string;
  readonly parts: readonly string[];
}

export interface Resolved extends Location {
  /** The host path of the resolved location. */
  readonly host: string;
}

export interface ResolvedParent {
  /** The directory that contains the final component. */
  readonly dir: Resolved;
  /** The final component: never empty, '.' or '..'. */
  readonly name: string;
  /** The host path of the final component (not resolved: it may be a symlink, or not exist). */
  readonly host: string;
  /** The guest path ended with '/' (the final component must then be a directory). */
  readonly trailingSlash: boolean;
}

export function hostPathOf(root: string, parts: readonly string[]): string {
  if (parts.length === 0) return root;
  return (root.endsWith('/') ? root : root + '/') + parts.join('/');
}

function splitGuestPath(path: string): string[] {
  if (path.length === 0) throw new WasiError(Errno.NOENT, 'empty path');
  if (path.includes('\0')) throw new WasiError(Errno.INVAL, 'path contains NUL');
  if (path.startsWith('/')) throw new WasiError(Errno.NOTCAPABLE, `absolute path "${path}" is outside the sandbox`);
  return path.split('/');
}

/** Splices a symlink's target into the component queue, or refuses it. Returns true when the target is
 * absolute (inside the root): resolution then restarts from the root. */
function linkTarget(root: string, target: string): { comps: string[]; fromRoot: boolean } {
  if (target.length === 0) throw new WasiError(Errno.NOENT, 'empty symlink target');
  if (!target.startsWith('/')) return { comps: target.split('/'), fromRoot: false };
  const prefix = root.endsWith('/') ? root : root + '/';
  if (target === root || target === prefix) return { comps: [], fromRoot: true };
  if (target.startsWith(prefix)) return { comps: target.slice(prefix.length).split('/'), fromRoot: true };
  throw new WasiError(Errno.NOTCAPABLE, `symlink to "${target}" leads outside the sandbox`);
}

/**
 * Walks `comps` from `start`. Returns the resolved components. The final component is looked through (and must
 * exist unless `allowMissingLast`) only when `followLast`; otherwise it is appended as is.
 */
function walk(root: string, start: readonly string[], comps: string[], followLast: boolean): string[] {
  const stack = start.slice();
  // Process from the end of `queue` (reversed) so splicing a link target is a push.
  const queue = comps.reverse();
  let links = 0;
  while (queue.length > 0) {
    const c = queue.pop()!;
    const isLast = queue.length === 0;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      if (stack.length === 0) throw new WasiError(Errno.NOTCAPABLE, "'..' leads outside the sandbox");
      stack.pop();
      continue;
    }
    if (isLast && !followLast) {
      stack.push(c);
      break;
    }
    const host = hostPathOf(root, [...stack, c]);
    let st;
    try {
      st = lstatSync(host);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (isLast && code === 'ENOENT') {
        stack.push(c);
        break;
      }
      throw hostError(e);
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_SYMLINK_FOLLOWS) throw new WasiError(Errno.LOOP, 'too many levels of symbolic links');
      let target: string;
      try {
        target = readlinkSync(host);
      } catch (e) {
        throw hostError(e);
      }
      const t = linkTarget(root, target);
      if (t.fromRoot) stack.length = 0;
      for (let i = t.comps.length - 1; i >= 0; i--) queue.push(t.comps[i]!);
      continue;
    }
    if (!isLast && !st.isDirectory()) throw new WasiError(Errno.NOTDIR, `"${c}" is not a directory`);
    stack.push(c);
  }
  return stack;
}

/** Resolves `path` relative to `dir`. With `followLast`, a symlink in the final position is followed too (the
 * result then names a non-symlink or a missing entry). */
export function resolvePath(dir: Location, path: string, followLast: boolean): Resolved {
  const parts = walk(dir.root, dir.parts, splitGuestPath(path), followLast);
  return { root: dir.root, parts, host: hostPathOf(dir.root, parts) };
}

/**
 * Resolves everything but the final component of `path` (for operations that create, remove or rename the
 * entry itself). A final component of '.' or '..' is refused with `dotErrno`.
 */
export function resolveParent(dir: Location, path: string, dotErrno: number = Errno.INVAL): ResolvedParent {
  const comps = splitGuestPath(path);
  let trailingSlash = false;
  while (comps.length > 1 && comps[comps.length - 1] === '') {
    comps.pop();
    trailingSlash = true;
  }
  const name = comps.pop()!;
  if (name === '.' || name === '..' || name === '') throw new WasiError(dotErrno, `invalid final path component "${name}"`);
  const parts = comps.length === 0 ? dir.parts.slice() : walk(dir.root, dir.parts, [...comps, '.'], true);
  const parent: Resolved = { root: dir.root, parts, host: hostPathOf(dir.root, parts) };
  return { dir: parent, name, host: hostPathOf(dir.root, [...parts, name]), trailingSlash };
}
