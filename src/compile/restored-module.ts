// A compiled module rebuilt from its parts instead of compiled: a code-cache hit (code-cache.ts) and a module
// posted to another thread (api/module-transfer.ts) both restore the declarations from a snapshot and the
// machine code from elsewhere.

import type { Features } from '../decode/features.js';
import type { ModuleInfo } from '../decode/types.js';
import { moduleVmctxLayout } from '../runtime/layout.js';
import { keptBytes, restoreInfo, type RawArrays } from './info-snapshot.js';
import type { CompiledModule } from './module-compiler.js';
import { signatureId } from './signatures.js';

/**
 * The declarations of module bytes `src` from their snapshot, and the copy of `src` an instance reads: only
 * `keep` (the data segments) and the custom sections (Module.customSections reads them at their own offsets).
 * `raw`, when given, receives the body offsets as the snapshot holds them; `kept`, when given, is that copy already
 * made (the code cache reads it from its entry).
 */
export function restoreDeclarations(
  src: Uint8Array, snapshot: Uint8Array, keep: [number, number], raw?: RawArrays, kept?: Uint8Array,
): { info: ModuleInfo; bytes: Uint8Array } {
  const bytes = kept ?? keptBytes(src, keep);
  const info = restoreInfo(snapshot, bytes, raw);
  for (const s of info.customSections) bytes.set(src.subarray(s.start, s.end), s.start);
  return { info, bytes };
}

/** How the restored code was compiled (it must run under the same settings). */
export interface RestoredFlags {
  features: Features;
  boundsChecks: boolean;
  interruptible: boolean;
  fuel: boolean;
}

/** Where the functions are in the restored code (source maps: empty when they come separately). */
export interface RestoredCode {
  codeSize: number;
  funcOffsets: Int32Array;
  regEntryOffsets: Int32Array;
  entryStubOffsets: Int32Array;
  pcOffsets?: Int32Array;
  wasmOffsets?: Int32Array;
}

/** An eagerly compiled module over restored declarations and code. */
export function restoredEagerModule(info: ModuleInfo, bytes: Uint8Array, flags: RestoredFlags, code: RestoredCode): CompiledModule {
  return {
    info,
    features: flags.features,
    boundsChecks: flags.boundsChecks,
    interruptible: flags.interruptible,
    fuel: flags.fuel,
    lazy: false,
    lazyThunkOffsets: new Int32Array(0),
    bodyStarts: new Int32Array(0),
    bodyEnds: new Int32Array(0),
    bytes,
    layout: moduleVmctxLayout(info),
    code: new Uint8Array(0),
    codeSize: code.codeSize,
    funcOffsets: code.funcOffsets,
    regEntryOffsets: code.regEntryOffsets,
    entryStubOffsets: code.entryStubOffsets,
    sigIds: info.types.map((ty) => signatureId(ty)),
    pcOffsets: code.pcOffsets ?? new Int32Array(0),
    wasmOffsets: code.wasmOffsets ?? new Int32Array(0),
    compileMs: 0,
  };
}
