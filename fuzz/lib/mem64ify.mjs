// Turn a module with one i32 memory into one with an i64 memory (binaryen can lower memory64 to memory32
// but not the reverse). Every address operand gets an i64 extension of the original i32 value: zero-
// extension keeps the program's meaning; sign-extension (chosen per site with probability pSigned) sends
// "negative" addresses near 2^64, exercising the 64-bit bounds checks, carries and large offsets. Both
// engines run the same rewritten module, so the rewrite need not preserve the original's meaning.
//
// Rewrites: loads `ext; load`; stores `local.set tmp; ext; local.get tmp; store`; memory.size `; i32.wrap`;
// memory.grow `ext; memory.grow; i32.wrap`; memory.fill/copy/init via two i32 temporaries; active data
// segment offsets i32.const c -> i64.const (u32)c; the memory's limits get the i64 flag.
// Returns the new bytes, or null when the module does not have exactly one defined i32 memory with simple
// segment offsets.
//
// Near-the-end addresses (rewriteMemoryOps with pNearEnd > 0, for i32 or i64 memories): at a chosen site
// the address operand a becomes `(memory.size << 16) - (a & 15)`, so the access straddles or touches the
// end of memory: what a bounds check must get exactly right (random addresses almost never land there).

import { parseModule, readSections, instructions, Writer, concat, section, encodeU, HEADER, SECTION, Reader, T } from './wasm.mjs';
import { Rng } from './util.mjs';

const STORE_TYPE = { 0x36: T.i32, 0x37: T.i64, 0x38: T.f32, 0x39: T.f64, 0x3a: T.i32, 0x3b: T.i32, 0x3c: T.i64, 0x3d: T.i64, 0x3e: T.i64 };
const EXT_U = 0xad, EXT_S = 0xac, WRAP = 0xa7;

export function mem64ify(bytes, seed = 1, pSigned = 0.1, pNearEnd = 0) {
  return rewriteMemoryOps(bytes, { to64: true, seed, pSigned, pNearEnd });
}

/**
 * The rewriter: { to64, seed, pSigned, pNearEnd }. Without to64 only the near-end rewrite is applied (the
 * memory stays i32). Returns null when the module is not suitable (or nothing would change).
 */
export function rewriteMemoryOps(bytes, { to64 = true, seed = 1, pSigned = 0.1, pNearEnd = 0 } = {}) {
  const m = parseModule(bytes);
  if (m.memories.length !== 1 || m.numImportedMemories !== 0 || m.memories[0].index64) return null;
  if (!to64 && pNearEnd <= 0) return null;
  const rng = new Rng(seed);
  const sections = readSections(bytes);
  const parts = [HEADER];
  let codeIndex = 0;
  void codeIndex;
  for (const s of sections) {
    const payload = bytes.subarray(s.payloadStart, s.end);
    if (s.id === SECTION.memory && to64) {
      const mem = m.memories[0];
      const w = new Writer().u32(1).u8(mem.flags | 4).u64(mem.min);
      if (mem.max !== null) w.u64(mem.max);
      parts.push(section(s.id, w.bytes()));
    } else if (s.id === SECTION.code) {
      const w = new Writer().u32(m.code.length);
      for (let fi = 0; fi < m.code.length; fi++) {
        const body = m.code[fi];
        const type = m.types[m.funcs[m.numImportedFuncs + fi]];
        let nLocals = type.params.length;
        for (const l of body.locals) nLocals += l.count;
        const tA = nLocals, tB = nLocals + 1, tC32 = nLocals + 2, tI64 = nLocals + 3, tC64 = nLocals + 4, tF32 = nLocals + 5, tF64 = nLocals + 6;
        const tmpFor = { [T.i32]: tA, [T.i64]: tI64, [T.f32]: tF32, [T.f64]: tF64 };
        const b = new Writer();
        b.u32(body.locals.length + 4);
        for (const l of body.locals) { b.u32(l.count).u8(l.type); }
        b.u32(3).u8(T.i32).u32(2).u8(T.i64).u32(1).u8(T.f32).u32(1).u8(T.f64);
        // The address operand (an i32 on the stack) -> the address the rewritten module uses.
        const addr = () => {
          if (rng.bool(pNearEnd)) {
            if (to64) {
              b.i32c(15).u8(0x71).u8(EXT_U).u8(0x21).u32(tC64).u8(0x3f).u8(0).u8(0x42).u8(16).u8(0x86).u8(0x20).u32(tC64).u8(0x7d);
            } else {
              b.i32c(15).u8(0x71).u8(0x21).u32(tC32).u8(0x3f).u8(0).u8(0x41).u8(16).u8(0x74).u8(0x20).u32(tC32).u8(0x6b);
            }
          } else if (to64) b.u8(rng.bool(pSigned) ? EXT_S : EXT_U);
        };
        const len = () => { if (to64) b.u8(rng.bool(pSigned) ? EXT_S : EXT_U); };
        for (const ins of instructions(bytes, body)) {
          const raw = bytes.subarray(ins.at, ins.end);
          const op = ins.op;
          if (ins.memarg && op >= 0x28 && op <= 0x35 && ins.memarg.mem === 0) {
            addr();
            b.raw(raw);
          } else if (ins.memarg && op >= 0x36 && op <= 0x3e && ins.memarg.mem === 0) {
            const t = tmpFor[STORE_TYPE[op]];
            b.u8(0x21).u32(t);
            addr();
            b.u8(0x20).u32(t).raw(raw);
          } else if (op === 0x3f && to64) {
            b.raw(raw).u8(WRAP);
          } else if (op === 0x40 && to64) {
            b.u8(EXT_U).raw(raw).u8(WRAP);
          } else if (op === 0xfc && ins.sub === 8) {
            b.u8(0x21).u32(tB).u8(0x21).u32(tA);
            addr();
            b.u8(0x20).u32(tA).u8(0x20).u32(tB).raw(raw);
          } else if (op === 0xfc && ins.sub === 10) {
            b.u8(0x21).u32(tB).u8(0x21).u32(tA);
            addr();
            b.u8(0x20).u32(tA);
            addr();
            b.u8(0x20).u32(tB);
            len();
            b.raw(raw);
          } else if (op === 0xfc && ins.sub === 11) {
            b.u8(0x21).u32(tB).u8(0x21).u32(tA);
            addr();
            b.u8(0x20).u32(tA).u8(0x20).u32(tB);
            len();
            b.raw(raw);
          } else {
            b.raw(raw);
          }
        }
        const bb = b.bytes();
        w.u32(bb.length).raw(bb);
      }
      parts.push(section(s.id, w.bytes()));
    } else if (s.id === SECTION.data && to64) {
      const w = new Writer().u32(m.datas.length);
      for (const d of m.datas) {
        const data = bytes.subarray(d.dataStart, d.dataStart + d.len);
        if (d.flags === 1) {
          w.u32(1).u32(d.len).raw(data);
          continue;
        }
        if (!d.offset || d.offset.length !== 1 || d.offset[0].op !== 0x41) return null;
        const off = BigInt.asUintN(32, d.offset[0].imm);
        if (d.flags === 0) w.u32(0);
        else w.u32(2).u32(d.memory);
        w.u8(0x42).s64(off).u8(0x0b).u32(d.len).raw(data);
      }
      parts.push(section(s.id, w.bytes()));
    } else {
      parts.push(concat([Uint8Array.of(s.id), encodeU(payload.length), payload]));
    }
  }
  return concat(parts);
}

void Reader;
