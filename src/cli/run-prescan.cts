// Before `quickbeam run` loads any bundle: will this run compile whatever the code cache holds? bin/quickbeam.js
// then starts the full CLI bundle rather than the run bundle, which has no compiler (cli/compiler-presence.ts).
// A wrong guess costs time, never correctness: the run bundle hands a run over when it finds it must compile.
// CommonJS and light on purpose (node:fs and a constant): bin requires it before any bundle.

import { statSync } from 'node:fs';

import { LAZY_THRESHOLD } from '../api/lazy-threshold.cjs';

/** Options of `quickbeam run` that take a value (test/cli-run-prescan.test.ts checks this against its help). */
export const RUN_VALUE_OPTIONS: ReadonlySet<string> = new Set([
  '--invoke', '--dir', '--env', '--cache', '--compile-threads', '--map-file', '--timeout', '--fuel', '--gc-heap-max',
]);

/**
 * Why a run with these arguments will need the compiler whatever the code cache holds ('no code cache', 'lazy'),
 * or null when a cache hit could serve it.
 */
export function runWillCompile(args: readonly string[]): string | null {
  let lazy: boolean | undefined;
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      file = args[i + 1];
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      file = a;
      break;
    }
    if (a === '--no-cache') return 'no code cache';
    if (a === '--lazy' || a === '--eager') lazy = a === '--lazy';
    else if (RUN_VALUE_OPTIONS.has(a)) i++;
  }
  if (lazy === true) return 'lazy';
  if (lazy === false || file === undefined || file === '-') return null;
  try {
    return statSync(file).size >= LAZY_THRESHOLD ? 'lazy' : null;
  } catch {
    return null; // (runCommand reports it)
  }
}
