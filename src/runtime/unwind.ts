// Exception handling: the unwinder. Zero cost until something is thrown.
//
// Every throw reaches the runtime's trap handler as a HostException (the `throw`/`throw_ref` builtins, or a JS
// exception from an imported function), with [rsp] = a return address in the innermost wasm frame and rbp = that
// frame. Before unwinding to the entry, the trap handler calls `findCatch(rbp, pc)` (a koffi callback). It walks
// the rbp chain of the frames of the innermost entry (each wasm frame: [rbp] caller's rbp, [rbp+8] return
// address, [rbp-8] the frame's vmctx) and, for each return address in a registered code range, looks at the
// handler table of the function containing it (compile/emit-exceptions.ts writes it after the function's code;
// the 4 bytes before the function's entry give its offset). The innermost handler whose code range holds the
// return address is tried first, then its parents (or, for a legacy `delegate`, its delegation target). On a
// match the payload (and the exnref id) go to the args buffer, the frame's rbp and the landing pad's address to
// the exec state, and the trap handler jumps to the pad with that rbp; the pad restores rsp, r14, r15 and r13.
// Without a match the trap handler unwinds to the entry as before and the exception reaches JS.
// A wasm `throw`/`throw_ref`/`rethrow` saves the callback: its code stores the frame's rbp and a pc of the throw
// in the exec state, the builtin searches at once (searchFromThrow) and returns CAUGHT_CODE when a handler takes
// the exception, on which the trap handler jumps straight to the pad.

import { koffi, mappingContaining, readI32, view } from './native.js';
import { readExec64, savedRsp, writeExec64 } from './exec-state.js';
import { EXEC_CATCH_PC, EXEC_CATCH_RBP, EXEC_THROW_PC, EXEC_THROW_RBP, HANDLER_CLAUSE_REF as HF_REF, HANDLER_TABLE_MAGIC } from './layout.js';
import { hostCallFramesTop, peekCatchable, takePendingException } from './host-calls.js';

/** One handler (a try / try_table / legacy try ... delegate), with code offsets relative to its function's entry. */
interface Handler {
  start: number;
  end: number;
  /** The enclosing handler (index), -1 when none. */
  parent: number;
  /** Legacy `delegate`: the handler that receives the exception instead (-1: the caller). Else -2. */
  delegate: number;
  /** Clauses: tag index (-1 = catch_all), flags (HF_*), landing pad offset; three numbers each. */
  clauses: number[];
}


/** Handler tables of one code range, by function entry address (null: the function has none). */
export type HandlerCache = Map<number, Handler[] | null>;

/** What the code-range registry tells about a return address: its function's entry and the range's cache. */
export interface CodeLocation {
  entry: number;
  /** The code region holding the function (the table must lie inside it). */
  start: number;
  end: number;
  cache: HandlerCache;
}


/** Matches thrown values against tags and delivers payloads (installed by the JS API: api/exception.ts). */
export interface CatchMatcher {
  /**
   * The function holding return address `pc` of a frame whose [rbp-8] is `vmctx` (a wasm frame's instance; any
   * word for other frames), or null when `pc` is not in that instance's module code.
   */
  locate(vmctx: number, pc: number): CodeLocation | null;
  /** Whether `value` is caught by tag `tagIndex` of the instance whose vmctx is `vmctx`. */
  matches(value: unknown, vmctx: number, tagIndex: number): boolean;
  /**
   * Write the payload of `value` (for tag `tagIndex`, -1 for catch_all: none) to the args buffer, then, when
   * `wantRef`, the exnref id in the next slot.
   */
  deliver(value: unknown, vmctx: number, tagIndex: number, wantRef: boolean): void;
}

let matcher: CatchMatcher | null = null;

/** The matcher's `locate` (null before the JS API installed it): the collector finds frames' functions with it. */
export function codeLocator(): ((vmctx: number, pc: number) => CodeLocation | null) | null {
  const m = matcher;
  return m === null ? null : (vmctx, pc) => m.locate(vmctx, pc);
}

/** Install the tag matcher (api/exception.ts). */
export function setCatchMatcher(m: CatchMatcher): void {
  matcher = m;
}

/** Parse the handler table of the function entered at `entry` (see emit-exceptions.ts for the layout). */
// Checked against the function's code region and the magic word, so that code without a table (or damaged)
// can never make the unwinder read outside the code or jump anywhere.
function readHandlers(loc: CodeLocation): Handler[] | null {
  const entry = loc.entry;
  if (entry - 4 < loc.start || entry > loc.end) return null;
  const rel = readI32(entry - 4);
  if (rel <= 0 || entry + rel + 12 > loc.end) return null;
  const at = entry + rel;
  if (readI32(at) !== HANDLER_TABLE_MAGIC) return null;
  const count = readI32(at + 4);
  const nwords = readI32(at + 8);
  if (count < 0 || nwords < 5 * count || at + 12 + 4 * nwords > loc.end) return null;
  const words = new Int32Array(view(at + 8, 4 * nwords + 4).slice(0));
  // words[0] = number of words that follow
  const out: Handler[] = [];
  let p = 1;
  for (let i = 0; i < count; i++) {
    const h: Handler = { start: words[p], end: words[p + 1], parent: words[p + 2], delegate: words[p + 3], clauses: [] };
    const n = words[p + 4];
    p += 5;
    for (let k = 0; k < 3 * n; k++) h.clauses.push(words[p + k]);
    p += 3 * n;
    out.push(h);
  }
  return out;
}

function handlersOf(loc: CodeLocation): Handler[] | null {
  let t = loc.cache.get(loc.entry);
  if (t === undefined) {
    t = readHandlers(loc);
    loc.cache.set(loc.entry, t);
  }
  return t;
}

/** The landing pad (code offset) that catches `value` at return-address offset `off`, or -1. */
function findInFunction(hs: Handler[], off: number, value: unknown, vmctx: number): number {
  // Innermost handler holding the offset: the latest opened one (handlers are numbered in opening order).
  let i = -1;
  for (let k = hs.length - 1; k >= 0; k--) {
    if (hs[k].start < off && off <= hs[k].end) {
      i = k;
      break;
    }
  }
  const m = matcher!;
  while (i >= 0) {
    const h = hs[i];
    if (h.delegate !== -2) {
      i = h.delegate;
      continue;
    }
    const c = h.clauses;
    for (let k = 0; k < c.length; k += 3) {
      const tag = c[k];
      if (tag < 0 || m.matches(value, vmctx, tag)) {
        m.deliver(value, vmctx, tag, (c[k + 1] & HF_REF) !== 0);
        return c[k + 2];
      }
    }
    i = h.parent;
  }
  return -1;
}

const TWO32 = 4294967296;

// One view over the whole stack mapping the frames are on (koffi's stack: made once; a view per throw would
// cost more than the rest of the search).
let stackBase = 0;
let stackEnd = 0;
let stackView: Uint32Array | null = null;

/**
 * The stack memory to view for frames in [lo, hi): the whole mapping holding them (so that one view serves many
 * searches), or just [lo, hi) rounded to 8 bytes when the mapping is unknown, does not hold all of it, or is
 * bigger than 256 MB (the kernel merges adjacent mappings: a promising call's secondary stack can be part of one).
 */
export function stackViewRange(lo: number, hi: number, m: { start: number; end: number } | null): [number, number] {
  if (m !== null && lo >= m.start && hi <= m.end && m.end - m.start <= 256 * 1024 * 1024) return [m.start, m.end];
  // (Not `lo & ~7`: bitwise operators truncate to 32 bits, and a stack address has 47: that view started near 0,
  // terabytes long, and the search failed, so the exception went uncaught.)
  return [lo - (lo % 8), hi];
}

/** u32 words of native memory covering [lo, hi) of the stack; index = (address - stackBase) / 4. */
function stackWords(lo: number, hi: number): Uint32Array {
  if (stackView === null || lo < stackBase || hi > stackEnd) {
    [stackBase, stackEnd] = stackViewRange(lo, hi, mappingContaining(lo));
    stackView = new Uint32Array(view(stackBase, stackEnd - stackBase));
  }
  return stackView;
}

/**
 * The callback: search the frames of the innermost entry for a handler of the pending exception, starting at
 * frame `rbp` with return address `pc`. Returns 1 (catch rbp and pad in the exec state, payload in the args
 * buffer, the exception taken) or 0 (no handler: the exception stays pending and unwinds to JS).
 */
function findCatch(rbpIn: number | bigint, pcIn: number | bigint): number {
  if (searchedFor !== NOT_SEARCHED) {
    // The throw builtin searched these frames already, in vain, for this very exception. (Compared by identity:
    // a flag left by a search whose exception never came here must not stop the search of another one.)
    const same = peekCatchable()?.value === searchedFor;
    searchedFor = NOT_SEARCHED;
    if (same) return 0;
  }
  return search(rbpIn, pcIn, savedRsp());
}

const NOT_SEARCHED = Symbol('not searched');

/** QUICKBEAM_DEBUG_UNWIND=1: say on stderr why a search for a handler found none (for chasing unwinder bugs). */
const debugUnwind = process.env.QUICKBEAM_DEBUG_UNWIND === '1';
function debugLog(text: string): void {
  process.stderr.write(`quickbeam unwind: ${text}\n`);
}
/** The pending exception the throw builtin searched for in vain (its trap-handler search is then skipped). */
let searchedFor: unknown = NOT_SEARCHED;

/**
 * For the throw builtins: search from the throwing frame they were given (EXEC_THROW_RBP/PC) while still in
 * the builtin, which saves the trap handler's callback. True when a handler takes the exception (catch rbp and
 * pad set: the builtin returns CAUGHT_CODE); false leaves it pending and marks these frames searched.
 */
export function searchFromThrow(): boolean {
  if (search(readExec64(EXEC_THROW_RBP), readExec64(EXEC_THROW_PC), hostCallFramesTop()) === 1) return true;
  const pending = peekCatchable();
  searchedFor = pending === null ? NOT_SEARCHED : pending.value;
  return false;
}

function search(rbpIn: number | bigint, pcIn: number | bigint, top: number): number {
  try {
    const pending = peekCatchable();
    const m = matcher;
    if (pending === null || m === null) return 0;
    let fp = Number(rbpIn);
    let pc = Number(pcIn);
    if (!(fp > 0 && fp < top) || (fp & 7) !== 0) {
      if (debugUnwind) debugLog(`search: frame 0x${fp.toString(16)} outside the entry's frames (top 0x${top.toString(16)})`);
      return 0;
    }
    const words = stackWords(fp - 8, top + 24);
    const base = stackBase;
    const rd = (addr: number): number => {
      const i = (addr - base) >>> 2;
      return words[i] + words[i + 1] * TWO32;
    };
    let prev = 0;
    while (fp < top && fp > prev && (fp & 7) === 0) {
      const vmctx = rd(fp - 8);
      const loc = m.locate(vmctx, pc);
      if (loc !== null) {
        const hs = handlersOf(loc);
        if (hs !== null) {
          const pad = findInFunction(hs, pc - loc.entry, pending.value, vmctx);
          if (pad >= 0) {
            takePendingException();
            writeExec64(EXEC_CATCH_RBP, fp);
            writeExec64(EXEC_CATCH_PC, loc.entry + pad);
            return 1;
          }
        }
      }
      prev = fp;
      pc = rd(fp + 8);
      fp = rd(fp);
    }
    if (debugUnwind) debugLog(`search: no handler in the frames from 0x${Number(rbpIn).toString(16)} up to 0x${top.toString(16)}`);
    return 0;
  } catch (e) {
    if (debugUnwind) debugLog(`search failed: ${(e as Error)?.stack ?? e}`);
    return 0; // never throw into koffi (it would swallow the error): the exception unwinds to JS instead
  }
}

const findCatchProto = koffi.proto('int32_t (int64_t, int64_t)');
/** Native address of `int32 findCatch(int64 rbp, int64 pc)` (called by the trap handler). */
export const findCatchAddr: number = Number(koffi.register(findCatch, koffi.pointer(findCatchProto)));
