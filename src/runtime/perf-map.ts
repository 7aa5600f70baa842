// Linux `perf` support: with QUICKBEAM_PERF_MAP=1, every code range Quickbeam generates is appended to
// /tmp/perf-<pid>.map ("START SIZE NAME" in hex), so `perf record` / `perf report` name wasm functions (and the
// runtime's entry points).

import { appendFileSync } from 'node:fs';

const enabled = process.env.QUICKBEAM_PERF_MAP === '1';
// (QUICKBEAM_PERF_MAP_FILE: another file, e.g. next to node's own `--perf-basic-prof` map, whose buffered writes
// would overwrite lines appended to the same file.)
const file = process.env.QUICKBEAM_PERF_MAP_FILE ?? `/tmp/perf-${process.pid}.map`;

export function perfMapEnabled(): boolean {
  return enabled;
}

/** Record [start, start + size) as `name` (no-op unless enabled). */
export function perfMapAdd(entries: ReadonlyArray<readonly [start: number, size: number, name: string]>): void {
  if (!enabled || entries.length === 0) return;
  let text = '';
  for (const [start, size, name] of entries) if (size > 0) text += `${start.toString(16)} ${size.toString(16)} ${name.replace(/\s+/g, '_')}\n`;
  appendFileSync(file, text);
}
