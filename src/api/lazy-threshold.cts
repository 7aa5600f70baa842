// Measured: on sqlite (1 MB) lazy compilation reaches the first instruction sooner (140 vs 317 ms CPU) but
// runs the whole program slower (compiling ~half the functions one by one costs more than one eager pass);
// on 12-22 MB modules (esbuild, swc from npm) lazy wins outright, as most functions never run.
// (CommonJS, in a module of its own: bin/quickbeam.js reads it through cli/run-prescan.cts before any bundle.)

/** Modules at least this big compile lazily by default. */
export const LAZY_THRESHOLD = 4 * 1024 * 1024;
