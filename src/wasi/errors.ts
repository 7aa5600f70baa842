// Internal error plumbing: system-call implementations throw WasiError(errno); the import wrappers turn it
// into the returned errno. Host (Node fs) errors are mapped by their `code`.

import { Errno, errnoFromHostCode } from './constants.js';

export class WasiError extends Error {
  readonly errno: number;
  constructor(errno: number, message?: string) {
    super(message ?? `WASI errno ${errno}`);
    this.name = 'WasiError';
    this.errno = errno;
  }
}

/** Converts an exception thrown by a host call (Node's fs) into a WasiError. Errors that are not system errors
 * (programming errors) are returned unchanged so they surface. */
export function hostError(e: unknown): Error {
  if (e instanceof WasiError) return e;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  // System errors carry POSIX names (ENOENT, ...); Node's own ERR_* codes are programming errors.
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) {
    const errno = errnoFromHostCode(code);
    return new WasiError(errno ?? Errno.IO, (e as Error).message);
  }
  return e instanceof Error ? e : new Error(String(e));
}

/** Thrown by proc_exit (and proc_raise of a terminating signal) to unwind the guest; caught by WASI.start. */
export class ExitStatus extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`WASI program exited with code ${code}`);
    this.name = 'ExitStatus';
    this.code = code;
  }
}
