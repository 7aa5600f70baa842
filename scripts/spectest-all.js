#!/usr/bin/env node
// `npm run test:spec`: runs the built CLI's `spectest` over the conformance corpus, one group at a time,
// each with the features of its era, then prints every group's final line and a total.
//
//   node scripts/spectest-all.js [extra spectest options, e.g. --engine v8 --jobs 4]
//
// The corpus is $QUICKBEAM_TESTSUITE, default ../shared/wasm-testsuite/json relative to the project root.
// Exits 0 (after saying so) when the corpus is missing; non-zero when any group fails.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const suite = path.resolve(root, process.env.QUICKBEAM_TESTSUITE || '../shared/wasm-testsuite/json');
const cli = process.env.QUICKBEAM_CLI || path.join(root, 'bin', 'quickbeam.js');
const extra = process.argv.slice(2);

const PARALLEL = ['--eager', '--compile-threads', '2', '--batch-bytes', '1'];

// The Wasm 3.0 suite's files that Quickbeam runs (an explicit list: a file joins when its feature family is
// implemented, and then must pass eagerly and lazily). Everything that is Wasm 2.0 + SIMD + memory64/table64 +
// multi-memory + extended-const in its 3.0 version, each run with the 3.0 era rule (--memory-u64-leb).
// (Every file of the suite is listed: `quickbeam spectest --memory-u64-leb ../shared/wasm-testsuite/json/wasm3` runs
// them all.)
const WASM3_FILES = [
  'address', 'address0', 'address1', 'address64', 'align', 'align0', 'align64', 'annotations', 'binary',
  'binary-leb128', 'binary0', 'binary_leb128_64', 'block', 'br', 'br_if', 'br_on_non_null', 'br_on_null', 'br_table',
  'bulk', 'bulk64', 'call', 'call_indirect', 'call_indirect64', 'call_ref', 'comments', 'const', 'conversions',
  'custom', 'data', 'data0', 'data1', 'data_drop0', 'elem', 'endianness', 'endianness64', 'exports', 'exports0',
  'f32', 'f32_bitwise', 'f32_cmp', 'f64', 'f64_bitwise', 'f64_cmp', 'fac', 'float_exprs', 'float_exprs0',
  'float_exprs1', 'float_literals', 'float_memory', 'float_memory0', 'float_memory64', 'float_misc', 'forward',
  'func', 'func_ptrs', 'global', 'i32', 'i64', 'id', 'if', 'imports', 'imports0', 'imports1', 'imports2', 'imports3',
  'imports4', 'inline-module', 'instance', 'int_exprs', 'int_literals', 'labels', 'left-to-right', 'linking',
  'linking0', 'linking1', 'linking2', 'linking3', 'load', 'load0', 'load1', 'load2', 'load64', 'local_get',
  'local_init', 'local_set', 'local_tee', 'loop', 'memory', 'memory-multi', 'memory64', 'memory64-imports',
  'memory_copy', 'memory_copy0', 'memory_copy1', 'memory_copy64', 'memory_fill', 'memory_fill0', 'memory_fill64',
  'memory_grow', 'memory_grow64', 'memory_init', 'memory_init0', 'memory_init64', 'memory_redundancy',
  'memory_redundancy64', 'memory_size', 'memory_size0', 'memory_size1', 'memory_size2', 'memory_size3',
  'memory_size_import', 'memory_trap', 'memory_trap0', 'memory_trap1', 'memory_trap64', 'names', 'nop',
  'obsolete-keywords', 'ref', 'ref_as_non_null', 'ref_func', 'ref_is_null', 'ref_null', 'return', 'select',
  'simd_address', 'simd_align', 'simd_bit_shift', 'simd_bitwise', 'simd_boolean', 'simd_const', 'simd_conversions',
  'simd_f32x4', 'simd_f32x4_arith', 'simd_f32x4_cmp', 'simd_f32x4_pmin_pmax', 'simd_f32x4_rounding', 'simd_f64x2',
  'simd_f64x2_arith', 'simd_f64x2_cmp', 'simd_f64x2_pmin_pmax', 'simd_f64x2_rounding', 'simd_i16x8_arith',
  'simd_i16x8_arith2', 'simd_i16x8_cmp', 'simd_i16x8_extadd_pairwise_i8x16', 'simd_i16x8_extmul_i8x16',
  'simd_i16x8_q15mulr_sat_s', 'simd_i16x8_sat_arith', 'simd_i32x4_arith', 'simd_i32x4_arith2', 'simd_i32x4_cmp',
  'simd_i32x4_dot_i16x8', 'simd_i32x4_extadd_pairwise_i16x8', 'simd_i32x4_extmul_i16x8',
  'simd_i32x4_trunc_sat_f32x4', 'simd_i32x4_trunc_sat_f64x2', 'simd_i64x2_arith', 'simd_i64x2_arith2',
  'simd_i64x2_cmp', 'simd_i64x2_extmul_i32x4', 'simd_i8x16_arith', 'simd_i8x16_arith2', 'simd_i8x16_cmp',
  'simd_i8x16_sat_arith', 'simd_int_to_int_extend', 'simd_lane', 'simd_linking', 'simd_load', 'simd_load16_lane',
  'simd_load32_lane', 'simd_load64_lane', 'simd_load8_lane', 'simd_load_extend', 'simd_load_splat', 'simd_load_zero',
  'simd_memory-multi', 'simd_select', 'simd_splat', 'simd_store', 'simd_store16_lane', 'simd_store32_lane',
  'simd_store64_lane', 'simd_store8_lane', 'skip-stack-guard-page', 'stack', 'start', 'start0', 'store', 'store0',
  'store1', 'store2', 'switch', 'table', 'table-sub', 'table64', 'table_copy', 'table_copy64', 'table_copy_mixed',
  'table_fill', 'table_fill64', 'table_get', 'table_get64', 'table_grow', 'table_grow64', 'table_set', 'table_set64',
  'table_size', 'table_size64', 'token', 'traps', 'traps0', 'type', 'unreachable', 'unreached-invalid',
  'unreached-valid', 'unwind', 'utf8-custom-section-id', 'utf8-import-field', 'utf8-import-module',
  'utf8-invalid-encoding',
];
// Tail calls and relaxed SIMD (issue 14).
WASM3_FILES.push(
  'return_call', 'return_call_indirect', 'return_call_ref',
  'i16x8_relaxed_q15mulr_s', 'i32x4_relaxed_trunc', 'i8x16_relaxed_swizzle', 'relaxed_dot_product',
  'relaxed_laneselect', 'relaxed_madd_nmadd', 'relaxed_min_max',
);

// Exception handling (issue 14).
WASM3_FILES.push('throw', 'throw_ref', 'try_table');

// GC (issue 17): types (recursion groups, subtyping, iso-recursive canonicalisation), struct/array/i31 operators,
// casts, the extern/any conversions; tag links tags by canonical type, table_init uses a GC array.
WASM3_FILES.push(
  'array', 'array_copy', 'array_fill', 'array_init_data', 'array_init_elem', 'array_new_data', 'array_new_elem',
  'binary-gc', 'br_on_cast', 'br_on_cast_fail', 'extern', 'i31', 'ref_cast', 'ref_eq', 'ref_test', 'struct',
  'table_init', 'table_init64', 'tag', 'type-canon', 'type-equivalence', 'type-rec', 'type-subtyping',
);

const WASM3 = ['--memory-u64-leb'];
const WASM2 = ['--no-multi-memory', '--no-typed-function-references'];
const THREADS = ['--no-multi-memory', '--no-reference-types'];

const GROUPS = [
  // Wasm 2.0: one memory per module (its binary/imports/memory tests assert that a second one is invalid) and
  // constant expressions that read only imported globals (no typed function references)
  { name: 'core', flags: WASM2 },
  // the 2022 memory64 proposal suite: its memory64.wast asserts that a second memory is invalid
  { name: 'memory64', flags: ['--no-multi-memory'] },
  // memory64 as in Wasm 3.0 (with table64; multi-memory allowed)
  { name: 'memory64-wasm3', flags: [] },
  // the SIMD (128-bit vector) instructions of Wasm 2.0
  { name: 'simd', flags: [] },
  // The same suites again with every function compiled lazily (on first call): results must not change.
  { name: 'core (lazy)', dir: 'core', flags: [...WASM2, '--lazy'] },
  { name: 'memory64 (lazy)', dir: 'memory64', flags: ['--no-multi-memory', '--lazy'] },
  { name: 'memory64-wasm3 (lazy)', dir: 'memory64-wasm3', flags: ['--lazy'] },
  { name: 'simd (lazy)', dir: 'simd', flags: ['--lazy'] },
  // Wasm 3.0 (the files above); not in parallel too, to keep the suite's time in check
  { name: 'wasm3', dir: 'wasm3', files: WASM3_FILES, flags: [...WASM3] },
  { name: 'wasm3 (lazy)', dir: 'wasm3', files: WASM3_FILES, flags: [...WASM3, '--lazy'] },
  // legacy exception handling (try/catch/catch_all/rethrow/delegate), in all three modes: it is small
  { name: 'wasm3-legacy-exceptions', flags: [] },
  { name: 'wasm3-legacy-exceptions (lazy)', dir: 'wasm3-legacy-exceptions', flags: ['--lazy'] },
  { name: 'wasm3-legacy-exceptions (parallel)', dir: 'wasm3-legacy-exceptions', flags: [...PARALLEL] },
  // threads (shared memories, atomics, wait/notify), in all three modes: it is small. Its era has neither
  // multi-memory nor reference types (imports.wast and memory.wast assert a second memory or table invalid).
  { name: 'threads', flags: THREADS },
  { name: 'threads (lazy)', dir: 'threads', flags: [...THREADS, '--lazy'] },
  { name: 'threads (parallel)', dir: 'threads', flags: [...THREADS, ...PARALLEL] },
  // And compiled on two threads with every function in its own batch, so every call between functions is
  // linked across batches compiled by different threads: results must not change either.
  { name: 'core (parallel)', dir: 'core', flags: [...WASM2, ...PARALLEL] },
  { name: 'memory64 (parallel)', dir: 'memory64', flags: ['--no-multi-memory', ...PARALLEL] },
  { name: 'memory64-wasm3 (parallel)', dir: 'memory64-wasm3', flags: [...PARALLEL] },
  { name: 'simd (parallel)', dir: 'simd', flags: [...PARALLEL] },
];

const FINAL = /^(\d+) passed, (\d+) failed, (\d+) skipped$/;

function runGroup(group) {
  return new Promise((resolve) => {
    const dir = path.join(suite, group.dir ?? group.name);
    const targets = group.files ? group.files.map((f) => path.join(dir, f)) : [dir];
    const args = [cli, 'spectest', ...group.flags, ...extra, ...targets];
    const shown = [...group.flags, ...extra, path.relative(process.cwd(), dir) || '.'].join(' ');
    console.log(`== ${group.name}: quickbeam spectest ${shown}${group.files ? ` (${group.files.length} files of it)` : ''}`);
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let last = null;
    let pending = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      pending += d.toString();
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const l of lines) if (FINAL.test(l)) last = l;
    });
    child.on('close', (code, signal) => {
      if (pending && FINAL.test(pending)) last = pending;
      resolve({ name: group.name, code: code ?? 1, signal, last });
    });
    child.on('error', (e) => {
      console.error(`spectest-all: cannot start ${cli}: ${e.message}`);
      resolve({ name: group.name, code: 1, signal: null, last: null });
    });
  });
}

async function main() {
  if (!existsSync(suite)) {
    console.log(`spectest-all: skipped (no test suite at ${suite}; set QUICKBEAM_TESTSUITE)`);
    return 0;
  }
  const results = [];
  for (const g of GROUPS) {
    if (!existsSync(path.join(suite, g.dir ?? g.name))) {
      console.log(`== ${g.name}: skipped (no folder ${path.join(suite, g.dir ?? g.name)})`);
      continue;
    }
    results.push(await runGroup(g));
  }
  console.log('\n== summary');
  const total = { passed: 0, failed: 0, skipped: 0 };
  let ok = true;
  const width = Math.max(...results.map((r) => r.name.length), 5);
  for (const r of results) {
    const m = r.last && FINAL.exec(r.last);
    if (m) {
      total.passed += Number(m[1]);
      total.failed += Number(m[2]);
      total.skipped += Number(m[3]);
    }
    const status = r.code === 0 ? '' : r.signal ? `  (spectest killed by ${r.signal})` : `  (exit status ${r.code})`;
    console.log(`${r.name.padEnd(width)}  ${r.last ?? 'no result line'}${status}`);
    if (r.code !== 0 || !m) ok = false;
  }
  console.log(`${'total'.padEnd(width)}  ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped (Node ${process.versions.node})`);
  return ok ? 0 : 1;
}

process.exitCode = await main();
