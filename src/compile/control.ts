// Control frames of the function compiler: one per open block/loop/if (and the function itself).
// Frames are pooled and reused across functions so that entering a block never allocates.

export const F_FUNC = 0;
export const F_BLOCK = 1;
export const F_LOOP = 2;
export const F_IF = 3;
export const F_ELSE = 4;

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
