// Modules across threads (worker_threads). Every thread runs its own copy of Quickbeam (one per isolate),
// with its own exec state, trap state, stack limit and interrupt block, so a Module object cannot be shared;
// what crosses is a descriptor, a plain object that postMessage can clone:
//
//   const d = Module.transferable(module);   worker.postMessage(d);   // then, in the worker:
//   const module = Module.fromTransferable(d);
//
// For an eagerly compiled module the descriptor carries the machine code itself (it is position independent
// and holds no process- or thread-specific constant: signature ids, runtime entry points and memories are
// all read from the instance's vmctx), the module's declarations as the code cache snapshots them
// (info-snapshot.ts) and the bytes an instance reads (data segments): the receiving thread copies the code into
// its own code memory and compiles nothing. Each thread owning its copy keeps lifetimes simple (no thread can
// free code another runs). A lazily compiled module carries its bytes and options instead, and the receiver
// makes the same lazy module (validation again, compilation on first call, as in the sender).

import { moduleInternals, moduleFromCode, Module, type ModuleOptions } from './module.js';
import { allocateCode } from '../runtime/code-memory.js';
import { bytesAt } from '../runtime/native.js';
import { snapshotInfo } from '../compile/info-snapshot.js';
import { restoreDeclarations, restoredEagerModule } from '../compile/restored-module.js';
import type { CompiledModule } from '../compile/module-compiler.js';

const TAG = 'quickbeam.Module';
const VERSION = 1;

/** What `Module.transferable` returns: structured-cloneable (typed arrays over SharedArrayBuffers). */
export interface ModuleDescriptor {
  kind: typeof TAG;
  version: number;
  /** Eager: the machine code, the declarations snapshot, the kept bytes' range; lazy: the module's bytes. */
  code: Uint8Array | null;
  snapshot: Uint8Array | null;
  keep: [number, number] | null;
  bytes: Uint8Array;
  funcOffsets: Int32Array | null;
  regEntryOffsets: Int32Array | null;
  entryStubOffsets: Int32Array | null;
  pcOffsets: Int32Array | null;
  wasmOffsets: Int32Array | null;
  flags: { boundsChecks: boolean; interruptible: boolean; fuel: boolean; lazy: boolean };
  features: CompiledModule['features'];
  timeoutMs: number | undefined;
}

/** Copy into a SharedArrayBuffer: cloned by reference to every thread it is posted to. */
function shared<T extends Uint8Array | Int32Array>(a: T): T {
  const b = new SharedArrayBuffer(a.byteLength);
  // (plain Uint8Array/Int32Array: `a` may be a Buffer, whose constructor must not be called)
  const out = a instanceof Int32Array ? new Int32Array(b) : new Uint8Array(b);
  out.set(a);
  return out as T;
}

export function moduleToDescriptor(module: Module): ModuleDescriptor {
  const m = moduleInternals(module, 'WebAssembly.Module.transferable()');
  const c = m.compiled;
  const flags = { boundsChecks: c.boundsChecks, interruptible: c.interruptible, fuel: c.fuel, lazy: c.lazy };
  const base = { kind: TAG, version: VERSION, flags, features: c.features, timeoutMs: m.timeoutMs } as const;
  if (c.lazy) {
    return {
      ...base, code: null, snapshot: null, keep: null, bytes: shared(c.bytes), funcOffsets: null, regEntryOffsets: null, entryStubOffsets: null,
      pcOffsets: null, wasmOffsets: null,
    };
  }
  const { snapshot, keep } = snapshotInfo(c.info, c.bytes);
  return {
    ...base,
    code: shared(bytesAt(m.code.addr, c.codeSize)),
    snapshot: shared(snapshot),
    keep,
    bytes: shared(c.bytes),
    funcOffsets: shared(c.funcOffsets),
    regEntryOffsets: shared(c.regEntryOffsets),
    entryStubOffsets: shared(c.entryStubOffsets),
    pcOffsets: shared(c.pcOffsets),
    wasmOffsets: shared(c.wasmOffsets),
  };
}

/** Whether `x` is a module descriptor (made by moduleToDescriptor, possibly in another thread and cloned). */
export function isModuleDescriptor(x: unknown): boolean {
  return x !== null && typeof x === 'object' && (x as { kind?: unknown }).kind === TAG;
}

export function moduleFromDescriptor(d: unknown): Module {
  const x = d as ModuleDescriptor;
  if (x === null || typeof x !== 'object' || x.kind !== TAG) throw new TypeError('WebAssembly.Module.fromTransferable(): not a module descriptor');
  if (x.version !== VERSION) throw new TypeError(`WebAssembly.Module.fromTransferable(): descriptor version ${x.version}, expected ${VERSION}`);
  const options: ModuleOptions = {
    features: x.features, boundsChecks: x.flags.boundsChecks, interruptible: x.flags.interruptible, fuel: x.flags.fuel,
    timeoutMs: x.timeoutMs,
  };
  if (x.flags.lazy) return new Module(x.bytes, { ...options, lazy: true });
  // (keptBytes copies: instances do not share the sender's buffer, which is only read here)
  const { info, bytes } = restoreDeclarations(x.bytes, x.snapshot!, x.keep!);
  const compiled = restoredEagerModule(info, bytes, { features: x.features, boundsChecks: x.flags.boundsChecks, interruptible: x.flags.interruptible, fuel: x.flags.fuel }, {
    codeSize: x.code!.length,
    funcOffsets: new Int32Array(x.funcOffsets!),
    regEntryOffsets: new Int32Array(x.regEntryOffsets!),
    entryStubOffsets: new Int32Array(x.entryStubOffsets!),
    pcOffsets: new Int32Array(x.pcOffsets!),
    wasmOffsets: new Int32Array(x.wasmOffsets!),
  });
  const code = allocateCode(new Uint8Array(x.code!));
  return moduleFromCode(compiled, code, options);
}
