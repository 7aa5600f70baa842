// Whether this copy of the CLI carries the compiler. `quickbeam run` starts from dist/quickbeam-run.cjs, a bundle
// without it (scripts/bundle.mjs replaces this module and the compiler's entry points there): a run whose module
// comes from the code cache never needs the compiler, and V8 then deserialises and evaluates about half the
// JavaScript. When a run does need it (a cache miss, --no-cache, a lazily compiled module), that bundle throws
// compilerNeeded() before the run has done anything visible, and bin/quickbeam.js runs the same command again
// with the full CLI bundle.

/** True here; false in the run bundle. */
export const compilerBundled = true;

const NEEDS_COMPILER = Symbol.for('quickbeam.needsCompiler');

/** The error that hands a run over to the full CLI (marked, so that bin/quickbeam.js and main() recognise it). */
export function compilerNeeded(why: string): Error {
  const e = new Error(`internal: the run bundle has no compiler (${why})`);
  (e as Error & { [NEEDS_COMPILER]?: boolean })[NEEDS_COMPILER] = true;
  return e;
}

export function isCompilerNeeded(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { [NEEDS_COMPILER]?: unknown })[NEEDS_COMPILER] === true;
}
