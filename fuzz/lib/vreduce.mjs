// A reducer for validation findings (binaryen's wasm-reduce only works on modules binaryen accepts):
// greedily removes sections, then single instructions, then trailing bytes of function bodies, keeping
// `interesting(bytes)` true (e.g. "V8 rejects it and Quickbeam accepts it"). Sizes are fixed up.

import { readSections, parseModule, instructions, concat, Reader, encodeU, section } from './wasm.mjs';

/** The module without defined function k (function and code section entries; indices are not renumbered). */
function withoutFunction(bytes, k) {
  const secs = readSections(bytes);
  const fs = secs.find((s) => s.id === 3), cs = secs.find((s) => s.id === 10);
  if (!fs || !cs) return null;
  const rebuild = (s, skipEntry) => {
    const r = new Reader(bytes, s.payloadStart, s.end);
    const n = r.u32();
    const parts = [];
    for (let i = 0; i < n; i++) {
      const at = r.pos;
      if (s.id === 10) { const size = r.u32(); r.pos += size; } else r.u32();
      if (i !== skipEntry) parts.push(bytes.subarray(at, r.pos));
    }
    return section(s.id, concat([encodeU(n - 1), ...parts]));
  };
  const out = [];
  let last = 0;
  for (const s of [fs, cs]) {
    out.push(bytes.subarray(last, s.start), rebuild(s, k));
    last = s.end;
  }
  out.push(bytes.subarray(last));
  return concat(out);
}
import { spliceFixed } from './mutate.mjs';

export async function reduceValidation(bytes, interesting, { maxSteps = 3000 } = {}) {
  let cur = bytes;
  let steps = 0;
  const tryIt = async (cand) => {
    if (!cand || cand.length >= cur.length || steps++ > maxSteps) return false;
    if (await interesting(cand)) {
      cur = cand;
      return true;
    }
    return false;
  };
  for (let progress = true; progress && steps <= maxSteps;) {
    progress = false;
    // 1. whole sections
    let sections = [];
    try { sections = readSections(cur); } catch { sections = []; }
    for (let i = sections.length - 1; i >= 0; i--) {
      const s = sections[i];
      if (await tryIt(concat([cur.subarray(0, s.start), cur.subarray(s.end)]))) { progress = true; break; }
    }
    if (progress) continue;
    // 2. whole functions
    let nf = 0;
    try { nf = parseModule(cur).code.length; } catch { nf = 0; }
    for (let k = nf - 1; k >= 0; k--) {
      let cand = null;
      try { cand = withoutFunction(cur, k); } catch { cand = null; }
      if (await tryIt(cand)) { progress = true; break; }
    }
    if (progress) continue;
    // 3. single instructions (last function first, last instruction first)
    let m = null;
    try { m = parseModule(cur); } catch { m = null; }
    if (m) {
      outer: for (let f = m.code.length - 1; f >= 0; f--) {
        let ins = [];
        try { ins = [...instructions(cur, m.code[f])]; } catch { ins = []; }
        for (let k = ins.length - 1; k >= 0; k--) {
          if (await tryIt(spliceFixed(cur, ins[k].at, ins[k].end, new Uint8Array(0)))) { progress = true; break outer; }
        }
      }
    }
    if (progress) continue;
    // 4. single bytes anywhere (slow; only for small modules)
    if (cur.length <= 400) {
      for (let p = cur.length - 1; p >= 8; p--) {
        if (await tryIt(concat([cur.subarray(0, p), cur.subarray(p + 1)]))) { progress = true; break; }
      }
    }
  }
  return cur;
}
