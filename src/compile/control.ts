// Control frames of the function compiler: one per open block/loop/if (and the function itself).
// Frames are pooled and reused across functions so that entering a block never allocates.

export const F_FUNC = 0;
export const F_BLOCK = 1;
export const F_LOOP = 2;
export const F_IF = 3;
export const F_ELSE = 4;
/** Legacy exception handling: a `try` body, and its `catch`/`catch_all` part (emit-exceptions.ts). */
export const F_TRY = 5;
export const F_CATCH = 6;

export class ControlFrame {
  kind = F_BLOCK;
  /** Value-stack height below the block's parameters. */
  base = 0;
  params: ArrayLike<number> = [];
  results: ArrayLike<number> = [];
  /** Branch target: the loop header for loops, the end for everything else. */
  label = -1;
  /** For `if`: where the else arm (or the implicit empty else) starts. */
  elseLabel = -1;
  /** Validation: after br/return/unreachable the operand stack is polymorphic. */
  unreachable = false;
  /** Code generation: whether the frame's start was reachable. */
  liveAtEntry = true;
  /** Whether some branch targets this frame's end label. */
  branchedTo = false;
  /** Exception handling: the handler in effect inside this frame (a try_table or legacy try body), else -1. */
  handler = -1;
  /** Legacy try: its handler (kept through the catch part), else -1. */
  tryEntry = -1;
  /** Legacy try/catch: the nesting level, whose frame slot holds the caught exception for `rethrow`. */
  exnLevel = -1;
  /** Legacy try: a catch_all was seen (no catch may follow). */
  catchAll = false;
  /**
   * Loops: the header that branches aware of the carried registers jump to (after reloading them, see
   * FunctionCompiler.carryIntoLoop); `label` is the preheader before it, which reloads them all.
   */
  headerLabel = -1;
  /** Loops: the locals held in registers at the header: register (GPR r, or 16 + XMM r) and local index. */
  loopRegs = new Int32Array(32);
  loopLocals = new Int32Array(32);
  loopCount = 0;
  /**
   * Loops: bit k set when carried local loopLocals[k] may be newer in its register than in its slot at the header
   * (a deferred local.set before the loop: back edges leave it so, see deferred-stores.ts).
   */
  loopDirty = 0;
  /**
   * Blocks and ifs entered with owed stores (deferred-stores.ts): those (register, local) pairs, in loopRegs /
   * loopLocals (loopCount of them, all in loopDirty), hold on every edge to the end, which keeps them owed;
   * pairRegs: their registers (bits as ValueStack.cacheBits).
   */
  pairRegs = 0;
  /** Live loops: the innermost live loop around this one (FunctionCompiler.keepLoop, restored at its end). */
  outerLoop: ControlFrame | null = null;
  /** Loops: ValueStack.carriedMask outside this loop (restored at its end). */
  outerCarried = 0;
  /**
   * Blocks, ifs: the label of branches that record their cached locals here (block-merge.ts), bound with
   * `label`; -1 when the frame does not merge caches. mergeRegs: per register (GPR r, 16 + XMM r) the local it
   * holds on every edge recorded so far (-1 none); mergeEdges: how many edges were recorded. entryRegs: an
   * if's cache at its entry (the else arm's, and the implicit else edge's, state).
   */
  mergeLabel = -1;
  mergeRegs = new Int32Array(32);
  /** The registers (bits as ValueStack.cacheBits) whose mergeRegs / entryRegs entries are valid. */
  mergeMask = 0;
  mergeEdges = 0;
  entryRegs = new Int32Array(32);
  entryMask = 0;
  /** Some jump to `label` does not record its cache (e.g. a try_table catch pad): the end drops the cache. */
  unknownEntry = false;

  /** Types carried by a branch to this frame. */
  branchTypes(): ArrayLike<number> {
    return this.kind === F_LOOP ? this.params : this.results;
  }
}

export class ControlStack {
  frames: ControlFrame[] = [];
  depth = 0;

  push(): ControlFrame {
    if (this.depth === this.frames.length) this.frames.push(new ControlFrame());
    const f = this.frames[this.depth++];
    f.unreachable = false;
    f.branchedTo = false;
    f.liveAtEntry = true;
    f.elseLabel = -1;
    f.label = -1;
    f.handler = -1;
    f.tryEntry = -1;
    f.exnLevel = -1;
    f.catchAll = false;
    f.headerLabel = -1;
    f.loopCount = 0;
    f.loopDirty = 0;
    f.pairRegs = 0;
    f.mergeLabel = -1;
    f.mergeEdges = 0;
    f.unknownEntry = false;
    return f;
  }

  pop(): ControlFrame {
    return this.frames[--this.depth];
  }

  top(): ControlFrame {
    return this.frames[this.depth - 1];
  }

  /** The frame a branch of relative depth `d` targets. */
  at(d: number): ControlFrame {
    return this.frames[this.depth - 1 - d];
  }

  reset(): void {
    this.depth = 0;
  }
}
