// The WebAssembly feature set the decoder and compiler accept. Everything in Wasm 2.0 (SIMD included) plus
// memory64, multi-memory, table64 and extended-const is on by default.

export interface Features {
  memory64: boolean;
  multiMemory: boolean;
  table64: boolean;
  bulkMemory: boolean;
  referenceTypes: boolean;
  multiValue: boolean;
  signExt: boolean;
  satFloatToInt: boolean;
  simd: boolean;
  extendedConst: boolean;
  /** Typed function references: (ref null? ht) types, call_ref, ref.as_non_null, br_on_null/non_null. */
  typedFunctionReferences: boolean;
  /** Exception handling: tags (section 13, import/export kind 4), throw, throw_ref, try_table, legacy try. */
  exceptions: boolean;
  /**
   * The Wasm 3.0 encoding of memory limits and memarg offsets: u64 LEBs for every memory. Off by default (as
   * V8: u32 LEBs for i32 memories), because Wasm 2.0's binary tests expect a 6-byte u32 LEB to be malformed
   * and 3.0's accept up to 10 bytes; the spec runner turns it on for the Wasm 3.0 suite.
   */
  memoryU64Leb: boolean;
  /** Threads: shared memories (limits flags 0x03 / 0x07), the 0xfe atomic operators, wait and notify. */
  threads: boolean;
}

export const DEFAULT_FEATURES: Features = Object.freeze({
  memory64: true,
  multiMemory: true,
  table64: true,
  bulkMemory: true,
  referenceTypes: true,
  multiValue: true,
  signExt: true,
  satFloatToInt: true,
  simd: true,
  extendedConst: true,
  typedFunctionReferences: true,
  exceptions: true,
  memoryU64Leb: false,
  threads: true,
});

/** DEFAULT_FEATURES overridden by the given fields (undefined fields keep their default). A fresh object. */
export function resolveFeatures(partial?: Partial<Features>): Features {
  const f: Features = { ...DEFAULT_FEATURES };
  if (partial) {
    for (const k of Object.keys(f) as (keyof Features)[]) {
      const v = partial[k];
      if (v !== undefined) f[k] = !!v;
    }
  }
  return f;
}
