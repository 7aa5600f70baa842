// The frame every runtime entry point builds (enter, enterStack, resumeStack, the host-call shim on a
// secondary stack): rbp chained, then the SysV callee-saved registers, which generated code also uses
// (r14 vmctx, r15 memory base, r13 its length).

import { Assembler } from '../x64/assembler.js';
import { LoadKind, R12, R13, R14, R15, RBP, RBX, RCX, RSP } from '../x64/registers.js';

/** push rbp; mov rbp, rsp; push rbx, r12, r13, r14, r15 (rsp goes from 8 to 0 mod 16). */
export function saveCalleeSaved(a: Assembler): void {
  a.push(RBP);
  a.movRR(true, RBP, RSP);
  a.push(RBX);
  a.push(R12);
  a.push(R13);
  a.push(R14);
  a.push(R15);
}

/** pop r15, r14, r13, r12, rbx, rbp: the reverse of saveCalleeSaved. */
export function restoreCalleeSaved(a: Assembler): void {
  a.pop(R15);
  a.pop(R14);
  a.pop(R13);
  a.pop(R12);
  a.pop(RBX);
  a.pop(RBP);
}

/** Push the exec state's fields at `offsets` (base register `exec`), in order, through `scratch`. */
export function pushExecFields(a: Assembler, exec: number, scratch: number, offsets: readonly number[]): void {
  for (const off of offsets) {
    a.load(LoadKind.I64, scratch, exec, -1, 1, off);
    a.push(scratch);
  }
}

/** Pop into the exec state's fields at `offsets` (base register `exec`), in order, through rcx. */
export function popExecFields(a: Assembler, exec: number, offsets: readonly number[]): void {
  for (const off of offsets) {
    a.pop(RCX);
    a.store(8, RCX, exec, -1, 1, off);
  }
}
