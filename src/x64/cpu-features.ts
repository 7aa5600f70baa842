// CPU feature detection for optional instructions (lzcnt, tzcnt, popcnt, roundss/sd, ...).
//
// Read once from the `flags` line of /proc/cpuinfo and cached. The environment variable
// QUICKBEAM_CPU_NO (comma-separated feature names, e.g. `lzcnt,popcnt`) masks features off so that the
// fallback code paths can be exercised on any machine. When /proc/cpuinfo is unavailable every optional
// feature is reported absent (the baseline x86-64 code paths always work).

import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

export interface CpuFeatures {
  /** lzcnt (Linux flag `abm` or `lzcnt`). */
  readonly lzcnt: boolean;
  /** BMI1, which includes tzcnt (flag `bmi1`). */
  readonly bmi1: boolean;
  /** popcnt (flag `popcnt`). */
  readonly popcnt: boolean;
  /** SSE4.1, which includes roundss/roundsd (flag `sse4_1`). */
  readonly sse41: boolean;
  /** AVX (flag `avx`). */
  readonly avx: boolean;
  /** SSE4.2, which includes crc32 (flag `sse4_2`): the code cache's checksum (src/runtime/checksum.ts). */
  readonly sse42: boolean;
  /** FMA3, fused multiply-add (flag `fma`): relaxed SIMD's madd/nmadd (emit-simd-relaxed.ts). */
  readonly fma: boolean;
}

const FEATURE_NAMES = ['lzcnt', 'bmi1', 'popcnt', 'sse41', 'avx', 'sse42', 'fma'] as const;
type FeatureName = typeof FEATURE_NAMES[number];

// Accepted spellings in QUICKBEAM_CPU_NO besides the property names.
const ALIASES: Record<string, FeatureName> = {
  abm: 'lzcnt',
  tzcnt: 'bmi1',
  bmi: 'bmi1',
  sse4_1: 'sse41',
  'sse4.1': 'sse41',
  sse4_2: 'sse42',
  'sse4.2': 'sse42',
  crc32: 'sse42',
};

/**
 * Compute the feature set from the text of /proc/cpuinfo (or null when unavailable) and the value of
 * QUICKBEAM_CPU_NO (or undefined). Pure; exported for tests. Throws on unknown names in `mask`.
 */
export function parseCpuFeatures(cpuinfo: string | null, mask: string | undefined): CpuFeatures {
  const flags = new Set<string>();
  const line = cpuinfo === null ? null : flagsLine(cpuinfo);
  if (line !== null) for (const f of line.trim().split(/\s+/)) flags.add(f);
  const f: Record<FeatureName, boolean> = {
    lzcnt: flags.has('abm') || flags.has('lzcnt'),
    bmi1: flags.has('bmi1'),
    popcnt: flags.has('popcnt'),
    sse41: flags.has('sse4_1'),
    avx: flags.has('avx'),
    sse42: flags.has('sse4_2'),
    fma: flags.has('fma'),
  };
  if (mask) {
    for (const raw of mask.split(',')) {
      const name = raw.trim().toLowerCase();
      if (name === '') continue;
      if (name === 'all') {
        for (const k of FEATURE_NAMES) f[k] = false;
        continue;
      }
      const key = (FEATURE_NAMES as readonly string[]).includes(name) ? name as FeatureName : ALIASES[name];
      if (key === undefined) {
        throw new Error(`QUICKBEAM_CPU_NO: unknown CPU feature '${raw.trim()}' ` +
          `(known: ${FEATURE_NAMES.join(', ')}, all)`);
      }
      f[key] = false;
    }
  }
  return Object.freeze({ ...f });
}

/**
 * What follows the colon of the first `flags` line, or null. By indexOf, not a multi-line regular expression:
 * this runs once per process, cold, and the expression cost ~0.5 ms of a cached `quickbeam run`.
 */
function flagsLine(cpuinfo: string): string | null {
  for (let at = cpuinfo.startsWith('flags') ? 0 : cpuinfo.indexOf('\nflags'); at >= 0; at = cpuinfo.indexOf('\nflags', at + 1)) {
    const start = cpuinfo.charCodeAt(at) === 10 ? at + 1 : at;
    const end = cpuinfo.indexOf('\n', start);
    const line = cpuinfo.slice(start, end < 0 ? cpuinfo.length : end);
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(5, colon).trim() === '') return line.slice(colon + 1);
  }
  return null;
}

let cached: CpuFeatures | null = null;

/**
 * The start of /proc/cpuinfo, up to the end of the first `flags` line. The kernel generates the file one
 * processor at a time as it is read, sampling each one's clock (0.2 ms per processor measured on a 2-CPU VM):
 * reading all of it costs time in proportion to the number of processors, and the first one's flags suffice.
 */
function readCpuinfoHead(): string {
  const fd = openSync('/proc/cpuinfo', 'r');
  try {
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, null);
    const text = buf.toString('latin1', 0, n);
    // No complete flags line in it (a short read, an unusual layout): read the whole file.
    const at = text.indexOf('\nflags');
    return at >= 0 && text.indexOf('\n', at + 1) >= 0 ? text : readFileSync('/proc/cpuinfo', 'latin1');
  } finally {
    closeSync(fd);
  }
}

/** The host CPU's optional features (cached after the first call), minus those in QUICKBEAM_CPU_NO. */
export function cpuFeatures(): CpuFeatures {
  if (cached === null) {
    let text: string | null = null;
    try {
      text = readCpuinfoHead();
    } catch {
      text = null;
    }
    cached = parseCpuFeatures(text, process.env.QUICKBEAM_CPU_NO);
  }
  return cached;
}

/** Drop the cached result so the next cpuFeatures() re-reads (for tests that change QUICKBEAM_CPU_NO). */
export function resetCpuFeaturesCache(): void {
  cached = null;
}
