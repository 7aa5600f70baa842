// What an instance owns or keeps alive: the generated code holds raw pointers into all of it. A class with a
// private brand, so that telling a state from any other value (`InstanceState.is`) never runs user code
// (a property read or `instanceof` would run a Proxy's traps).

import type { FuncType } from '../decode/types.js';
import type { LinearMemory } from '../runtime/linear-memory.js';
import type { TableStorage } from '../runtime/table-storage.js';
import type { GlobalCell } from '../runtime/global-cell.js';
import type { ModuleInternals } from './module.js';
import type { SegmentState } from './builtins.js';
import type { Tag } from './tag.js';

/**
 * Instances kept for the life of the thread because GC objects may hold references to their functions (see
 * instance.ts), by vmctx address.
 */
export const gcPinnedStates = new Map<number, InstanceState>();

export class InstanceState {
  readonly #brand = true;

  /** Whether `o` is an InstanceState (a private brand check: no user code can run). */
  static is(o: unknown): o is InstanceState {
    return typeof o === 'object' && o !== null && #brand in o;
  }

  memories: LinearMemory[] = [];
  tables: TableStorage[] = [];
  globals: GlobalCell[] = [];
  /** Exception handling: the instance's tags (imported ones first), compared by identity when catching. */
  tags: Tag[] = [];
  /** FuncRecord address per function index. */
  funcRecords: number[] = [];
  /** JS functions of imported host functions, by import index (undefined for wasm imports). */
  hostFuncs: Array<Function | undefined> = [];
  /** Imported wasm functions (Exported Functions of other instances), by function index. */
  importedFuncs: Array<Function | undefined> = [];
  /** Types of imported functions, by function index. */
  importTypes: FuncType[] = [];
  /** Objects passed as imports (kept alive for the vmctx pointers into them). */
  keepAlive: unknown[] = [];
  /** Funcrefs of other instances received from JS (arguments, import results): its code may keep them. */
  refs: Set<Function> | null = null;
  /** The Exported Function of each function whose FuncRecord is in this vmctx (made on first use). */
  wrappers: Array<Function | undefined> = [];
  /** The host-call handler: imports and builtins. */
  hostHandler: ((id: number) => number) | null = null;
  /** The caller of each imported function, by import index (builtins.ts newImportCaller, made on first call). */
  importCallers: Array<(() => number) | undefined> = [];
  /** Set by `[Symbol.dispose]()`: calls into the instance throw before running. */
  disposed = false;

  constructor(
    readonly module: ModuleInternals,
    /** Address of the vmctx. */
    readonly vmctx: number,
    /** The vmctx as an exec-state double (runtime/exec-state.ts bitsOf), which host calls are told apart by. */
    readonly vmctxBits: number,
    /**
     * The vmctx's storage as 32-bit words (written from JS through these, not through koffi): GC-owned memory
     * (small-blocks.ts), off-heap, never moved, freed by the GC with this state.
     */
    readonly vmctxWords: Uint32Array,
    readonly segments: SegmentState,
  ) {
    void this.#brand;
  }
}
