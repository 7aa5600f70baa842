// The hand-over between a Suspending import that got a promise (api/jspi.ts), the host-call handler that
// called it (api/builtins.ts), and the promising call whose stack suspends (api/exported-function.ts). One
// suspension at a time: the handler returns SUSPENDED_CODE, the stack switches back to JS, and the promising
// call takes the suspension before anything else runs.

/** What a Suspending import's wrapper returns instead of a value when it got a promise. */
export const SUSPEND: unique symbol = Symbol('quickbeam.suspend');

let promise: Promise<unknown> | null = null;
let writer: ((value: unknown) => void) | null = null;

/** The Suspending wrapper: suspend on `p`. */
export function suspendOn(p: Promise<unknown>): typeof SUSPEND {
  promise = p;
  return SUSPEND;
}

/** The host-call handler: how to deliver the promise's value as the import's result (into the args buffer). */
export function setSuspensionWriter(w: (value: unknown) => void): void {
  writer = w;
}

/** The promising call, after its stack suspended: the promise and the writer of its value. */
export function takeSuspension(): { promise: Promise<unknown>; write: (value: unknown) => void } {
  const p = promise, w = writer;
  promise = null;
  writer = null;
  if (p === null || w === null) throw new Error('quickbeam: a stack suspended without a pending promise');
  return { promise: p, write: w };
}

let onStacks = 0;

/** Promising calls whose stacks are running now (entered or resumed, not returned): +1 / -1. */
export function stackRunning(delta: number): void {
  onStacks += delta;
}

/** The SuspendError message for a Suspending import called where it cannot suspend (as V8 words it). */
export function suspendErrorMessage(): string {
  return onStacks > 0 ? 'trying to suspend JS frames' : 'trying to suspend without WebAssembly.promising';
}
