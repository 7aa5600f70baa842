// Text-format modules with GC types for tests: wabt has no GC syntax, binaryen (a dev dependency, as for
// fuzz-diff) parses it.

// binaryen is an ES module with top-level await.
const binaryen = (await import('binaryen')).default as any;

/** The binary of a text-format module with every binaryen feature on (GC, exceptions, ...), validated first. */
export function gcWat(source: string): Uint8Array {
  const m = binaryen.parseText(source);
  try {
    m.setFeatures(binaryen.Features.All);
    if (!m.validate()) throw new Error('binaryen: invalid test module');
    return m.emitBinary();
  } finally {
    m.dispose();
  }
}
