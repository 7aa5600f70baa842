// WASI preview1 for Quickbeam (and any engine with the standard WebAssembly JS API).

export { WASI, wasiExitCode } from './wasi.js';
export type { WasiOptions, WasiInstanceLike, WasiFunction, WasiImportNamespace } from './wasi.js';
export type { WasiMemoryLike } from './memory.js';
export type { WasiInput, WasiOutput, StreamReader, StreamWriter } from './streams.js';
export {
  Errno, Rights, Filetype, ClockId, FdFlags, OFlags, LookupFlags, FstFlags, Whence, EventType, Signal,
} from './constants.js';
export { MAX_SYMLINK_FOLLOWS } from './sandbox.js';
