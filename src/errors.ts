// The error classes of the JS API. Shared by every layer so that `instanceof` works across them.

export class CompileError extends Error {
  /** Byte offset in the module where the problem was found (-1 when unknown). */
  readonly offset: number;
  constructor(message: string, offset = -1) {
    super(offset >= 0 ? `${message} (at byte offset ${offset})` : message);
    this.name = 'CompileError';
    this.offset = offset;
  }
}

export class LinkError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkError';
  }
}

export class RuntimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeError';
  }
}
