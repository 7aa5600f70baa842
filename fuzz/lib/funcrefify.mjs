// Typed function references in binaryen modules. binaryen's fuzzer emits typed references (call_ref,
// (ref $t) locals, br_on_null, ...) only with GC enabled, and then always with struct/array types that
// Quickbeam does not implement yet. So fuzz-diff generates without GC and rewrites direct calls here:
// `call $f` (f of type $t) becomes, per site, one of
//   ref.func $f; call_ref $t
//   ref.func $f; ref.as_non_null; call_ref $t
//   ref.func $f; local.set $nn; local.get $nn; call_ref $t          ($nn a non-nullable (ref $t) local)
//   block (result (ref $t)) ref.func $f; br_on_non_null 0; unreachable end; call_ref $t
//   block (result (ref $t)) block ref.null $t|ref.func $f; local.tee $n; br_on_null 0; br 1 end;
//     local.get $n; ref.is_null; drop; ref.func $f end; call_ref $t  (br_on_null taken or not)
//   ref.null $t; call_ref $t                                         (rarely: a null-reference trap)
// and `return_call $f` sometimes `ref.func $f; return_call_ref $t`. Every rewritten function is declared in a
// declarative element segment (ref.func needs that). Both engines run the rewritten module, so the rewrite
// need not keep the original's meaning (it does, except for the trapping form).

import { parseModule, instructions, Writer, concat, section, encodeU, encodeS, SECTION } from './wasm.mjs';
import { Rng } from './util.mjs';

const REF_NULL = 0x63, REF = 0x64;

/** The rewritten module, or null when nothing was rewritten (no direct calls, or a form this cannot read). */
export function funcrefify(bytes, { seed = 1, pSite = 0.5, pTrap = 0.01 } = {}) {
  let m;
  try { m = parseModule(bytes); } catch { return null; }
  const rng = new Rng(seed);
  const declared = new Set();
  let changed = false;
  const bodies = [];
  for (let fi = 0; fi < m.code.length; fi++) {
    const body = m.code[fi];
    const type = m.types[m.funcs[m.numImportedFuncs + fi]];
    if (!type) return null;
    let nLocals = type.params.length;
    for (const l of body.locals) nLocals += l.count;
    // Two extra locals per type used here: (ref null $t) and (ref $t), allocated on first use.
    const extra = new Map(); // type index -> [nullable local, non-null local]
    const localsFor = (t) => {
      let l = extra.get(t);
      if (!l) { l = [nLocals + extra.size * 2, nLocals + extra.size * 2 + 1]; extra.set(t, l); }
      return l;
    };
    const b = new Writer();
    try {
      for (const ins of instructions(bytes, body)) {
        const raw = bytes.subarray(ins.at, ins.end);
        const isCall = ins.op === 0x10, isTail = ins.op === 0x12;
        if (!(isCall || isTail) || !rng.bool(pSite)) { b.raw(raw); continue; }
        const f = isCall ? ins.idx : readU32(bytes, ins.at + 1);
        const t = m.funcs[f];
        if (t === undefined) { b.raw(raw); continue; }
        const ht = encodeS(t);
        declared.add(f);
        changed = true;
        if (isTail) {
          b.u8(0xd2).u32(f).u8(0x15).u32(t);
          continue;
        }
        if (rng.bool(pTrap)) {
          b.u8(0xd0).raw(ht).u8(0x14).u32(t);
          continue;
        }
        switch (rng.int(5)) {
          case 0: b.u8(0xd2).u32(f); break;
          case 1: b.u8(0xd2).u32(f).u8(0xd4); break;
          case 2: { const nn = localsFor(t)[1]; b.u8(0xd2).u32(f).u8(0x21).u32(nn).u8(0x20).u32(nn); break; }
          case 3: b.u8(0x02).u8(REF).raw(ht).u8(0xd2).u32(f).u8(0xd6).u32(0).u8(0x00).u8(0x0b); break;
          default: {
            const n = localsFor(t)[0];
            b.u8(0x02).u8(REF).raw(ht).u8(0x02).u8(0x40);
            if (rng.bool(0.4)) b.u8(0xd0).raw(ht); else b.u8(0xd2).u32(f);
            b.u8(0x22).u32(n).u8(0xd5).u32(0).u8(0x0c).u32(1).u8(0x0b);
            b.u8(0x20).u32(n).u8(0xd1).u8(0x1a).u8(0xd2).u32(f).u8(0x0b);
          }
        }
        b.u8(0x14).u32(t);
      }
    } catch {
      return null; // an instruction this reader does not know
    }
    const w = new Writer();
    w.u32(body.locals.length + extra.size * 2);
    const groupTypes = localGroupTypes(bytes, body);
    body.locals.forEach((l, k) => w.u32(l.count).raw(groupTypes[k]));
    for (const t of extra.keys()) w.u32(1).u8(REF_NULL).raw(encodeS(t)).u32(1).u8(REF).raw(encodeS(t));
    w.raw(b.bytes());
    bodies.push(w.bytes());
  }
  if (!changed) return null;
  // The code section, and a declarative element segment (flags 3, funcref) naming every f used by ref.func.
  const code = new Writer().u32(bodies.length);
  for (const bb of bodies) code.u32(bb.length).raw(bb);
  const decl = new Writer().u32(3).u8(0x00).u32(declared.size);
  for (const f of declared) decl.u32(f);
  const parts = [bytes.subarray(0, 8)];
  let elemDone = false;
  for (const s of m.sections) {
    if (!elemDone && (s.id === SECTION.datacount || s.id === SECTION.code || s.id === SECTION.data)) {
      parts.push(section(SECTION.elem, concat([encodeU(1), decl.bytes()])));
      elemDone = true;
    }
    if (s.id === SECTION.elem) {
      const payload = bytes.subarray(s.payloadStart, s.end);
      const count = readU32(payload, 0);
      parts.push(section(SECTION.elem, concat([encodeU(count + 1), payload.subarray(lebLen(payload, 0)), decl.bytes()])));
      elemDone = true;
    } else if (s.id === SECTION.code) {
      parts.push(section(SECTION.code, code.bytes()));
    } else {
      parts.push(bytes.subarray(s.start, s.end));
    }
  }
  return concat(parts);
}

/** The encoded value type of each local group of a body. */
function localGroupTypes(bytes, body) {
  let p = body.start;
  const n = readU32(bytes, p); p += lebLen(bytes, p);
  const out = [];
  for (let k = 0; k < n; k++) {
    p += lebLen(bytes, p);
    const at = p;
    const t = bytes[p++];
    if (t === REF_NULL || t === REF) p += lebLen(bytes, p);
    out.push(bytes.subarray(at, p));
  }
  return out;
}

function readU32(b, p) {
  let v = 0, shift = 0;
  for (;;) {
    const x = b[p++];
    v += (x & 0x7f) * 2 ** shift;
    if (!(x & 0x80)) return v;
    shift += 7;
  }
}

function lebLen(b, p) {
  let n = 1;
  while (b[p++] & 0x80) n++;
  return n;
}
