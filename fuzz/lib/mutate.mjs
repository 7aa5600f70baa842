// Mutations of wasm binaries for the malformed-input fuzzer. Byte-level mutations work on anything;
// structural ones (LEB widening, section reordering/duplication/removal/transplant, index bumps, opcode
// swaps, memarg and limits changes) use our decoder and fix up the enclosing section and function-body
// sizes, so that the damage lands where intended instead of only breaking a size field.

import { readSections, parseModule, instructions, encodeU, concat, Reader, lebSize } from './wasm.mjs';

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x40, 0x41, 0x0b, 0x60, 0x70, 0x6f, 0x7b, 0xfc, 0xfd, 0x05, 0x04, 0x10, 0x11];

function replaceRange(bytes, start, end, insert) {
  return concat([bytes.subarray(0, start), insert, bytes.subarray(end)]);
}

/** Length in bytes of the LEB at pos (capped at 10). */
function lebLength(bytes, pos) {
  let n = 0;
  while (pos + n < bytes.length && n < 10) {
    if ((bytes[pos + n] & 0x80) === 0) return n + 1;
    n++;
  }
  return n;
}

function readLebValue(bytes, pos) {
  try {
    return new Reader(bytes, pos).leb(false, 10);
  } catch {
    return null;
  }
}

/**
 * Replace bytes [start, end) inside the module with `insert`, then fix the size of the enclosing section
 * and (for the code section) of the enclosing function body. Falls back to a plain splice when the module
 * cannot be decoded.
 */
export function spliceFixed(bytes, start, end, insert) {
  let sections;
  try {
    sections = readSections(bytes);
  } catch {
    return replaceRange(bytes, start, end, insert);
  }
  const s = sections.find((x) => start >= x.payloadStart && end <= x.end);
  if (!s) return replaceRange(bytes, start, end, insert);
  let payload = replaceRange(bytes.subarray(s.payloadStart, s.end), start - s.payloadStart, end - s.payloadStart, insert);
  if (s.id === 10) {
    // Re-encode the body size of the function containing the change.
    try {
      const m = parseModule(bytes);
      const body = m.code.find((b) => start >= b.start && end <= b.end);
      if (body) {
        const delta = insert.length - (end - start);
        const oldSizeLen = body.start - body.sizeAt;
        const newSize = encodeU(body.end - body.start + delta);
        const relAt = body.sizeAt - s.payloadStart;
        payload = replaceRange(payload, relAt, relAt + oldSizeLen, newSize);
      }
    } catch { /* leave the body size alone */ }
  }
  return concat([bytes.subarray(0, s.start), Uint8Array.of(s.id), encodeU(payload.length), payload, bytes.subarray(s.end)]);
}

/** A wider (non-minimal) encoding of the unsigned LEB at pos; `overlong` may exceed the maximum length. */
function widenLeb(bytes, pos, rng, maxLen) {
  const n = lebLength(bytes, pos);
  const v = readLebValue(bytes, pos);
  if (v === null) return null;
  let target;
  const mode = rng.int(4);
  if (mode === 0) target = maxLen + 1 + rng.int(2); // too long: malformed
  else if (mode === 1) target = maxLen; // maximal length: valid
  else target = Math.min(maxLen, n + 1 + rng.int(2));
  if (target <= n) target = n + 1;
  const enc = Array.from(encodeU(v, target));
  if (mode === 3 && enc.length === maxLen && maxLen === 5) enc[4] |= 0x10 << rng.int(3) & 0x70; // unused high bits set: malformed
  return { start: pos, end: pos + n, insert: Uint8Array.from(enc) };
}

/** Candidate LEB positions: [{ pos, max, fix }] (fix: whether the enclosing sizes must be fixed). */
function lebSites(bytes, m) {
  const sites = [];
  for (const s of m.sections) {
    sites.push({ pos: s.start + 1, max: 5, fix: false });
    if (s.id !== 0 && s.id !== 8 && s.payloadStart < s.end) sites.push({ pos: s.payloadStart, max: 5, fix: true });
  }
  for (const b of m.code) {
    sites.push({ pos: b.sizeAt, max: 5, fix: true });
    let k = 0;
    try {
      for (const ins of instructions(bytes, b)) {
        if (ins.idxAt >= 0) sites.push({ pos: ins.idxAt, max: 5, fix: true });
        if (ins.memarg) {
          sites.push({ pos: ins.memarg.alignAt, max: 5, fix: true });
          sites.push({ pos: ins.memarg.offsetAt, max: 10, fix: true });
        }
        if (++k > 2000) break;
      }
    } catch { /* partial */ }
  }
  return sites;
}

function allInstructions(bytes, m, limit = 20000) {
  const out = [];
  for (const b of m.code) {
    try {
      for (const ins of instructions(bytes, b)) {
        out.push(ins);
        if (out.length >= limit) return out;
      }
    } catch { /* partial */ }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

const BYTE_MUTATIONS = {
  bitflip(bytes, rng) {
    const b = Uint8Array.from(bytes);
    const pos = rng.bool(0.03) ? rng.int(Math.min(8, b.length)) : 8 + rng.int(Math.max(1, b.length - 8));
    if (pos < b.length) b[pos] ^= 1 << rng.int(8);
    return b;
  },
  byte(bytes, rng) {
    const b = Uint8Array.from(bytes);
    const pos = 8 + rng.int(Math.max(1, b.length - 8));
    if (pos < b.length) b[pos] = rng.bool(0.7) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
    return b;
  },
  truncate(bytes, rng) {
    return bytes.slice(0, rng.int(bytes.length));
  },
  insert(bytes, rng) {
    const pos = rng.int(bytes.length + 1);
    const n = 1 + rng.int(8);
    const ins = new Uint8Array(n);
    for (let i = 0; i < n; i++) ins[i] = rng.bool(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
    return replaceRange(bytes, pos, pos, ins);
  },
  delete(bytes, rng) {
    const pos = rng.int(bytes.length);
    return replaceRange(bytes, pos, Math.min(bytes.length, pos + 1 + rng.int(8)), new Uint8Array(0));
  },
};

const STRUCT_MUTATIONS = {
  lebWiden(bytes, rng, m) {
    const sites = lebSites(bytes, m);
    if (!sites.length) return null;
    const site = rng.pick(sites);
    const w = widenLeb(bytes, site.pos, rng, site.max);
    if (!w) return null;
    return site.fix ? spliceFixed(bytes, w.start, w.end, w.insert) : replaceRange(bytes, w.start, w.end, w.insert);
  },
  sectionSwap(bytes, rng, m) {
    const s = m.sections;
    if (s.length < 2) return null;
    const i = rng.int(s.length - 1);
    const a = bytes.subarray(s[i].start, s[i].end), b = bytes.subarray(s[i + 1].start, s[i + 1].end);
    return concat([bytes.subarray(0, s[i].start), b, a, bytes.subarray(s[i + 1].end)]);
  },
  sectionDup(bytes, rng, m) {
    if (!m.sections.length) return null;
    const s = rng.pick(m.sections);
    const copy = bytes.subarray(s.start, s.end);
    const at = rng.bool(0.5) ? s.end : rng.pick([8, ...m.sections.map((x) => x.end)]);
    return concat([bytes.subarray(0, at), copy, bytes.subarray(at)]);
  },
  sectionDrop(bytes, rng, m) {
    if (!m.sections.length) return null;
    const s = rng.pick(m.sections);
    return concat([bytes.subarray(0, s.start), bytes.subarray(s.end)]);
  },
  sectionId(bytes, rng, m) {
    if (!m.sections.length) return null;
    const s = rng.pick(m.sections);
    const b = Uint8Array.from(bytes);
    b[s.start] = rng.bool(0.8) ? rng.int(14) : rng.int(256);
    return b;
  },
  sectionTransplant(bytes, rng, m, other) {
    if (!other) return null;
    let om;
    try { om = readSections(other); } catch { return null; }
    if (!om.length) return null;
    const donor = rng.pick(om);
    const chunk = other.subarray(donor.start, donor.end);
    const same = m.sections.find((s) => s.id === donor.id);
    if (same && rng.bool(0.7)) return concat([bytes.subarray(0, same.start), chunk, bytes.subarray(same.end)]);
    const at = rng.pick([8, ...m.sections.map((x) => x.end)]);
    return concat([bytes.subarray(0, at), chunk, bytes.subarray(at)]);
  },
  indexBump(bytes, rng, m) {
    const ins = allInstructions(bytes, m).filter((x) => x.idxAt >= 0 && x.op !== 0x02 && x.op !== 0x03 && x.op !== 0x04);
    if (!ins.length) return null;
    const x = rng.pick(ins);
    const v = readLebValue(bytes, x.idxAt);
    if (v === null) return null;
    const choices = [v + 1n, v > 0n ? v - 1n : v + 2n, 0n, BigInt(rng.int(64)), 0xffffffffn, 0x100000000n, BigInt(m.funcs.length), BigInt(m.globals.length)];
    const nv = rng.pick(choices);
    return spliceFixed(bytes, x.idxAt, x.idxAt + lebLength(bytes, x.idxAt), encodeU(nv));
  },
  opcodeSwap(bytes, rng, m, other, opts) {
    const ins = allInstructions(bytes, m);
    if (!ins.length) return null;
    if (opts?.wasm3 && rng.bool(0.25)) {
      // An instruction with one index immediate becomes another such (throw <-> call_ref <-> br_on_null ...):
      // the immediate now names something of another kind.
      const one = ins.filter((x) => ONE_INDEX_OPS.includes(x.op) && x.end - x.at >= 2);
      if (one.length) {
        const b = Uint8Array.from(bytes);
        b[rng.pick(one).at] = rng.pick(ONE_INDEX_OPS);
        return b;
      }
    }
    const plain = ins.filter((x) => (x.op >= 0x45 && x.op <= 0xc4) || x.op === 0x1a || x.op === 0x1b || x.op === 0x00 || x.op === 0x01 || x.op === 0x0f || x.op === 0xd1);
    const mem = ins.filter((x) => x.op >= 0x28 && x.op <= 0x3e);
    const b = Uint8Array.from(bytes);
    if (mem.length && rng.bool(0.3)) {
      const x = rng.pick(mem);
      b[x.at] = 0x28 + rng.int(0x3e - 0x28 + 1);
      return b;
    }
    if (!plain.length) return null;
    const x = rng.pick(plain);
    b[x.at] = rng.bool(0.9) ? 0x45 + rng.int(0xc4 - 0x45 + 1) : rng.pick([0x00, 0x01, 0x0f, 0x1a, 0x1b, 0xd1, 0x05, 0x0b, 0xc5, 0xd3, 0xfc, 0xfd, 0xfe, 0xff]);
    return b;
  },
  // try_table's catch clauses (Wasm 3.0 exceptions): a kind out of range or another kind (changing whether
  // a tag index follows), a tag or label index bumped, the clause count off by one.
  tryTable(bytes, rng, m, other, opts) {
    if (!opts?.wasm3) return null;
    const tts = allInstructions(bytes, m).filter((x) => x.op === 0x1f);
    if (!tts.length) return null;
    const x = rng.pick(tts);
    const n = x.catches.length;
    const c = n ? rng.pick(x.catches) : null;
    switch (c ? rng.int(4) : 3) {
      case 0: { const b = Uint8Array.from(bytes); b[c.kindAt] = rng.bool(0.8) ? rng.int(4) : 4 + rng.int(252); return b; }
      case 1: if (c.tagAt >= 0) return spliceFixed(bytes, c.tagAt, c.tagAt + lebLength(bytes, c.tagAt), encodeU(BigInt(rng.pick([0, 1, 2, m.tags, m.tags + 1, 0xffffffff]))));
      // fall through (a catch_all has no tag)
      case 2: return spliceFixed(bytes, c.labelAt, c.labelAt + lebLength(bytes, c.labelAt), encodeU(BigInt(rng.int(6))));
      default: return spliceFixed(bytes, x.countAt, x.countAt + lebLength(bytes, x.countAt), encodeU(BigInt(rng.bool(0.5) ? n + 1 : Math.max(0, n - 1))));
    }
  },
  memarg(bytes, rng, m) {
    const ins = allInstructions(bytes, m).filter((x) => x.memarg && x.op >= 0x28 && x.op <= 0x3e);
    if (!ins.length) return null;
    const x = rng.pick(ins);
    const a = x.memarg;
    const mode = rng.int(4);
    if (mode === 0) {
      // alignment one above natural (invalid), or far above
      const align = rng.bool(0.5) ? a.align + 1 : rng.pick([3, 4, 31, 32, 63, 64, 0x3f]);
      return spliceFixed(bytes, a.alignAt, a.offsetAt, encodeU(align));
    }
    if (mode === 1) {
      // a memory index (multi-memory encoding)
      return spliceFixed(bytes, a.alignAt, a.offsetAt, concat([encodeU(a.align | 0x40), encodeU(rng.pick([0, 1, 2, 0xffffffff]))]));
    }
    // a large offset (beyond 2^32 for i32 memories: invalid; around 2^32/2^64 for i64)
    const off = rng.pick([0xffffffffn, 0x100000000n, 0xfffffffffffffff8n, 0xffffffffffffffffn, 0x7fffffffn, 0x10000n, 0xfffen, 1n << 63n]);
    return spliceFixed(bytes, a.offsetAt, a.end, encodeU(off));
  },
  limits(bytes, rng, m) {
    const memSec = m.sections.find((s) => s.id === 5);
    const tabSec = m.sections.find((s) => s.id === 4);
    const s = memSec && (!tabSec || rng.bool(0.6)) ? memSec : tabSec;
    if (!s) return null;
    const r = new Reader(bytes, s.payloadStart, s.end);
    let n;
    try { n = r.u32(); } catch { return null; }
    if (n === 0) return null;
    try {
      if (s.id === 4) r.u8(); // element type of the first table
      const at = r.pos;
      const flags = r.u8();
      const index64 = (flags & 4) !== 0;
      const min = index64 ? r.u64() : BigInt(r.u32());
      const max = flags & 1 ? (index64 ? r.u64() : BigInt(r.u32())) : null;
      const end = r.pos;
      let nf = flags, nmin = min, nmax = max;
      switch (rng.int(6)) {
        case 0: nf = flags ^ (1 << rng.int(4)); if ((nf & 1) && nmax === null) nmax = nmin; break;
        case 1: nmin = rng.pick([0n, 1n, 65535n, 65536n, 65537n, 0xffffffffn, 1n << 48n, (1n << 48n) + 1n, 10000001n]); break;
        case 2: nf |= 1; nmax = rng.pick([0n, nmin, nmin > 0n ? nmin - 1n : 0n, 65536n, 65537n, 0xffffffffn, 1n << 48n]); break;
        case 3: nf = (flags | 4); break;
        case 4: nf = (flags & ~4); break;
        default: nf = flags | 2; if (nmax === null) { nf |= 1; nmax = nmin; } break;
      }
      const enc = [Uint8Array.of(nf), encodeU(nmin)];
      if (nf & 1) enc.push(encodeU(nmax ?? nmin));
      return spliceFixed(bytes, at, end, concat(enc));
    } catch {
      return null;
    }
  },
};

// Instructions to insert: stack and control-flow shapes that stress the validator's operand and control
// stacks (as raw bytes; indices small so they often resolve).
const INSERTS = [
  [0x1a], [0x01], [0x00], [0x0f], [0x0b], [0x05], [0x41, 0x00], [0x42, 0x7f], [0x43, 0, 0, 0xc0, 0x7f], [0x44, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f],
  [0x20, 0x00], [0x21, 0x00], [0x22, 0x01], [0x23, 0x00], [0x24, 0x00], [0x0c, 0x00], [0x0d, 0x01], [0x0e, 0x01, 0x00, 0x01],
  [0x02, 0x40], [0x03, 0x40], [0x04, 0x40], [0x02, 0x7f], [0x04, 0x7e], [0x1b], [0x1c, 0x01, 0x7f], [0x1c, 0x01, 0x70],
  [0x3f, 0x00], [0x40, 0x00], [0x10, 0x00], [0x11, 0x00, 0x00], [0xd0, 0x70], [0xd0, 0x6f], [0xd1], [0xd2, 0x00], [0x25, 0x00], [0x26, 0x00],
  [0x28, 0x02, 0x00], [0x29, 0x03, 0x80, 0x80, 0x04], [0x36, 0x02, 0x00], [0xfc, 0x0b, 0x00], [0xfc, 0x0a, 0x00, 0x00], [0xfc, 0x10, 0x00],
  [0x6a], [0x7c], [0x92], [0xa0], [0xa7], [0xac], [0xad], [0xbc], [0xbf], [0xc0], [0xc4], [0xfc, 0x00], [0xfc, 0x07],
];

// Wasm 3.0 shapes (--node24 only, see mutate()): exceptions (try_table with each catch kind, throw, throw_ref,
// the legacy try/catch/catch_all/rethrow/delegate), tail calls, typed function references, exnref and
// typed-reference block/select/null types.
const INSERTS_WASM3 = [
  [0x1f, 0x40, 0x00], [0x1f, 0x40, 0x01, 0x00, 0x00, 0x00], [0x1f, 0x40, 0x01, 0x01, 0x00, 0x00], [0x1f, 0x40, 0x01, 0x02, 0x00],
  [0x1f, 0x40, 0x01, 0x03, 0x00], [0x1f, 0x7f, 0x02, 0x02, 0x00, 0x03, 0x01], [0x1f, 0x00, 0x00], [0x08, 0x00], [0x08, 0x01], [0x0a],
  [0x06, 0x40], [0x07, 0x00], [0x19], [0x09, 0x00], [0x18, 0x00], [0x12, 0x00], [0x13, 0x00, 0x00], [0x14, 0x00], [0x15, 0x00],
  [0xd4], [0xd5, 0x00], [0xd6, 0x00], [0xd0, 0x69], [0xd0, 0x74], [0xd0, 0x00], [0xd0, 0x73], [0xd2, 0x00, 0xd4],
  [0x02, 0x64, 0x00], [0x02, 0x63, 0x00], [0x02, 0x69], [0x1c, 0x01, 0x69], [0x1c, 0x01, 0x64, 0x00], [0x1c, 0x01, 0x63, 0x70],
];
const ONE_INDEX_OPS = [0x08, 0x09, 0x0c, 0x0d, 0x10, 0x12, 0x14, 0x15, 0x18, 0xd2, 0xd5, 0xd6];

function insBoundary(bytes, m, rng) {
  const ins = allInstructions(bytes, m, 5000);
  return ins.length ? rng.pick(ins) : null;
}

Object.assign(STRUCT_MUTATIONS, {
  insInsert(bytes, rng, m, other, opts) {
    const x = insBoundary(bytes, m, rng);
    if (!x) return null;
    const n = 1 + rng.int(3);
    const parts = [];
    for (let i = 0; i < n; i++) parts.push(Uint8Array.from(opts?.wasm3 && rng.bool(0.5) ? rng.pick(INSERTS_WASM3) : rng.pick(INSERTS)));
    return spliceFixed(bytes, x.at, x.at, concat(parts));
  },
  insDelete(bytes, rng, m) {
    const x = insBoundary(bytes, m, rng);
    if (!x) return null;
    return spliceFixed(bytes, x.at, x.end, new Uint8Array(0));
  },
  insDup(bytes, rng, m) {
    const x = insBoundary(bytes, m, rng);
    if (!x) return null;
    return spliceFixed(bytes, x.end, x.end, bytes.slice(x.at, x.end));
  },
  insMove(bytes, rng, m) {
    const a = insBoundary(bytes, m, rng), b = insBoundary(bytes, m, rng);
    if (!a || !b || a.at === b.at) return null;
    // swap two instructions of the same function (equal-length swap keeps all sizes)
    if (a.end - a.at !== b.end - b.at) return null;
    const out = Uint8Array.from(bytes);
    out.set(bytes.subarray(b.at, b.end), a.at);
    out.set(bytes.subarray(a.at, a.end), b.at);
    return out;
  },
});

const MUTATORS = [
  ['bitflip', 3], ['byte', 2], ['truncate', 1], ['insert', 1], ['delete', 1],
  ['lebWiden', 2], ['sectionSwap', 1], ['sectionDup', 1], ['sectionDrop', 0.7], ['sectionId', 0.3], ['sectionTransplant', 1],
  ['indexBump', 3], ['opcodeSwap', 3], ['memarg', 1.5], ['limits', 1],
  ['insInsert', 3], ['insDelete', 2], ['insDup', 1.5], ['insMove', 1],
];
const TOTAL = MUTATORS.reduce((a, [, w]) => a + w, 0);
const MUTATORS_WASM3 = [...MUTATORS, ['tryTable', 2]];
const TOTAL_WASM3 = MUTATORS_WASM3.reduce((a, [, w]) => a + w, 0);

function pickMutator(rng, wasm3 = false) {
  let x = rng.float() * (wasm3 ? TOTAL_WASM3 : TOTAL);
  for (const [name, w] of wasm3 ? MUTATORS_WASM3 : MUTATORS) {
    if ((x -= w) < 0) return name;
  }
  return 'bitflip';
}

/**
 * Apply 1..maxMutations mutations. `other` is a second module for transplants. Returns
 * { bytes, ops: [names] }.
 */
export function mutate(bytes, rng, other = null, maxMutations = 3, opts = {}) {
  const wasm3 = !!opts.wasm3;
  const n = 1 + rng.int(maxMutations);
  let cur = bytes;
  const ops = [];
  for (let k = 0; k < n; k++) {
    const name = pickMutator(rng, wasm3);
    let next = null;
    let used = name;
    if (name in BYTE_MUTATIONS) next = BYTE_MUTATIONS[name](cur, rng);
    else {
      let m = null;
      try { m = parseModule(cur); } catch { m = null; }
      // A structural mutator may not apply (no code, no memory...): try a few others before a bit flip.
      for (let attempt = 0; m && !next && attempt < 4; attempt++) {
        if (attempt > 0) {
          used = pickMutator(rng, wasm3);
          if (used in BYTE_MUTATIONS) { used = 'indexBump'; }
        }
        try { next = STRUCT_MUTATIONS[used](cur, rng, m, other, opts); } catch { next = null; }
      }
    }
    if (!next) {
      next = BYTE_MUTATIONS.bitflip(cur, rng);
      ops.push(name + '->bitflip');
    } else ops.push(used);
    cur = next;
  }
  return { bytes: cur, ops };
}

void lebSize;
