// Start-up timeline, for measuring where process start goes: with QUICKBEAM_TRACE_STARTUP=1 every
// `startupMark(label)` records the time since the process started (performance.timeOrigin), and at exit the
// marks are printed to stderr, one per line, with the time since the previous mark:
//
//   quickbeam startup:    ms   +delta  label
//
// bin/quickbeam.js records its own marks (before any of this code is loaded) in the same global array; the
// first copy of this module to load prints them. When the variable is not set, startupMark does nothing.

import { openSync, readSync } from 'node:fs';

type Mark = [label: string, ms: number];
type Marks = Mark[] & { printing?: boolean };

const KEY = Symbol.for('quickbeam.startupMarks');

function enabled(): boolean {
  const v = process.env['QUICKBEAM_TRACE_STARTUP'];
  return v !== undefined && v !== '' && v !== '0';
}

let marks: Marks | null = null;

if (enabled()) {
  const g = globalThis as unknown as Record<symbol, Marks | undefined>;
  const list = (marks = g[KEY] ??= []);
  if (!list.printing) {
    list.printing = true;
    process.once('exit', () => {
      list.push(['exit', performance.now()]);
      printStartupMarks(list);
      const l = lazyCompileTotals;
      if (l.functions > 0) {
        process.stderr.write(`quickbeam startup: lazily compiled ${l.functions} functions (${(l.bytes / 1024).toFixed(0)} KiB of wasm) in ${l.ms.toFixed(1)} ms (${l.cpuMs.toFixed(1)} ms on this thread's CPU)\n`);
      }
    });
  }
}

/** Lazy compilation in this thread, summed (counted only when tracing: see lazyCompileTraced). */
export const lazyCompileTotals = { functions: 0, bytes: 0, ms: 0, cpuMs: 0 };
/** Whether lazy compiles should be timed into lazyCompileTotals. */
export const lazyCompileTraced = enabled();

// The calling thread's schedstat, opened once and read again in place (this module is loaded once per thread):
// a lazy start reads it twice per compiled function, and opening it each time (~25 us) added ~70 ms of its own
// to the figure it was measuring on a module of 1,300 lazily compiled functions. (Only tracing reads it; the
// descriptor stays open for the thread's life.)
let schedstatFd = -2;
const schedstatBuf = Buffer.alloc(64);

/** CPU time of the calling thread in ms (Linux; 0 elsewhere): unlike wall time it ignores waits for a core. */
export function threadCpuMs(): number {
  try {
    if (schedstatFd === -2) schedstatFd = openSync('/proc/thread-self/schedstat', 'r');
    const n = readSync(schedstatFd, schedstatBuf, 0, schedstatBuf.length, 0);
    return Number(schedstatBuf.toString('latin1', 0, n).split(' ')[0]) / 1e6;
  } catch {
    schedstatFd = -1;
    return 0;
  }
}

/** Record a point of the start-up timeline (no-op unless QUICKBEAM_TRACE_STARTUP is set). */
export function startupMark(label: string): void {
  if (marks !== null) marks.push([label, performance.now()]);
}

/** Print marks as the timeline described above. */
export function printStartupMarks(list: readonly Mark[]): void {
  let prev = 0;
  const lines = ['quickbeam startup:    ms   +delta  (since process start)'];
  for (const [label, t] of list) {
    lines.push(`quickbeam startup: ${t.toFixed(1).padStart(6)} ${('+' + (t - prev).toFixed(1)).padStart(8)}  ${label}`);
    prev = t;
  }
  process.stderr.write(lines.join('\n') + '\n');
}

const FACTS = Symbol.for('quickbeam.startupFacts');

/**
 * Record a fact about this process's start for bin/quickbeam.js, which reads them after the command: for now
 * `compiled` (a wasm module was compiled, not loaded from the code cache), which decides whether its V8 code
 * cache holds the compiler's bytecode.
 */
export function startupFact(name: string, value: unknown): void {
  const g = globalThis as unknown as Record<symbol, Record<string, unknown> | undefined>;
  (g[FACTS] ??= {})[name] = value;
}
