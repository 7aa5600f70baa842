// Scalar float constants as rip-relative literals after the function's code: `movsd xmm, [rip + c]` (or an
// operator reading it directly, `addsd xmm, [rip + c]`) instead of `movabs r11, imm64; movq xmm, r11`, which takes
// two instructions, a GPR and a GPR-to-XMM transfer at every use.
//
// A function has few distinct float constants, so they are deduplicated by a linear search over flat arrays
// (no keys, nothing allocated per constant). Literals are 8 bytes, 8-byte aligned (an f32 uses the low 4).

import { Assembler } from '../x64/assembler.js';

let entries = new Int32Array(96); // label, low word, high word per literal
let length = 0;

/** Before each function (a failed compile may leave entries behind). */
export function resetFloatConsts(): void {
  length = 0;
}

/** The label of an 8-byte literal with these words (an f32: hi = 0), added if new. */
export function floatConstLabel(asm: Assembler, lo: number, hi: number): number {
  for (let k = 0; k < length; k += 3) {
    if (entries[k + 1] === lo && entries[k + 2] === hi) return entries[k];
  }
  if (length + 3 > entries.length) {
    const grown = new Int32Array(2 * entries.length);
    grown.set(entries.subarray(0, length));
    entries = grown;
  }
  const label = asm.newLabel();
  entries[length] = label;
  entries[length + 1] = lo;
  entries[length + 2] = hi;
  length += 3;
  return label;
}

/** After the function's code: the literals. */
export function flushFloatConsts(asm: Assembler): void {
  if (length === 0) return;
  asm.align(8);
  for (let k = 0; k < length; k += 3) {
    asm.bind(entries[k]);
    asm.int32(entries[k + 1]);
    asm.int32(entries[k + 2]);
  }
  length = 0;
}
