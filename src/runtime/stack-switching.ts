// Secondary stacks for JSPI promising calls (the machine code is in stack-switching-code.ts). Each running or
// suspended promising call owns one: a private anonymous mapping of a guard page, the stack (as much as an
// outermost ordinary call may use: the same stack budget, so a promising call recurses as deep as a plain
// one), and a page at the top holding the suspender record. Pages are committed only as the stack is used;
// a finished call's stack goes back to a small pool with its used pages dropped.

import { trackStack, untrackStack, type ParkableStack } from './gc-roots.js';
import { MADV_DONTNEED, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE, alignUp, madvise, mmapAnon, mprotect, munmap, writePtr } from './native.js';
import { SUSPENDER_PARKED_TOP, SUSPENDER_S_TOP } from './stack-switching-code.js';
import { bitsOf } from './exec-state.js';
import { setPromisingStack } from './host-calls.js';
import { stackBudget } from './trampolines.js';
import { setSuspendedCalls } from './lifetime.js';

const GUARD = PAGE_SIZE;
/** Room below the budget for what runs on the stack besides wasm frames (shim frames, the trap handler). */
const STACK_SIZE = alignUp(stackBudget + 128 * 1024, PAGE_SIZE);
const MAPPING_SIZE = GUARD + STACK_SIZE + PAGE_SIZE;
const POOL_MAX = 8;

/** One secondary stack: `record` is the suspender record's address (the top page), also the stack's top. */
export interface SecondaryStack extends ParkableStack {
  readonly mapping: number;
  /** `record` as an exec-state double (exec-state.ts bitsOf), for the zero-argument entries. */
  readonly recordBits: number;
}

function mapStack(): SecondaryStack {
  const mapping = mmapAnon(MAPPING_SIZE, PROT_READ | PROT_WRITE, true);
  mprotect(mapping, GUARD, PROT_NONE);
  const record = mapping + GUARD + STACK_SIZE;
  writePtr(record + SUSPENDER_S_TOP, record); // the stack grows down from its record page
  const s: SecondaryStack = { mapping, record, recordBits: bitsOf(record) };
  trackStack(s);
  return s;
}

/**
 * The stack of ordinary (not promising) calls from JS at nesting depth `depth`: wasm runs on a secondary stack
 * so that its host calls can return to JS (stack-switching-code.ts). Made on first use and kept: at most one per
 * level of JS -> wasm -> JS -> wasm nesting, with pages committed only as deep as wasm recursed.
 */
export function callStack(depth: number): SecondaryStack {
  return (callStacks[depth] ??= mapStack());
}
const callStacks: SecondaryStack[] = [];

const pool: SecondaryStack[] = [];
let live = 0;

/** Number of secondary stacks in use (running or suspended promising calls). */
export function liveStacks(): number {
  return live;
}

/** A stack for a promising call (its host calls may suspend). */
export function acquireStack(): SecondaryStack {
  setSuspendedCalls(++live);
  let s = pool.pop();
  if (s === undefined) {
    try {
      s = mapStack();
    } catch (e) {
      setSuspendedCalls(--live);
      throw e;
    }
  }
  setPromisingStack(s.record, true);
  return s;
}

/** Give a stack back once no frame on it can run again (its call returned, trapped, or was abandoned). */
export function releaseStack(s: SecondaryStack): void {
  writePtr(s.record + SUSPENDER_PARKED_TOP, 0); // (an abandoned call's stack was parked in its Suspending import)
  setSuspendedCalls(--live);
  setPromisingStack(s.record, false);
  if (pool.length < POOL_MAX) {
    madvise(s.mapping + GUARD, STACK_SIZE, MADV_DONTNEED);
    pool.push(s);
  } else {
    untrackStack(s);
    munmap(s.mapping, MAPPING_SIZE);
  }
}
