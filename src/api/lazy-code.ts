// The lazily compiled code of one module: compiles a function on its first call (LazyCompiler), installs it
// in the module's code arena, points the function's code slot at it, and symbolizes its frames. Functions
// loaded from a code-cache entry (compiled by an earlier process) are installed up front (`preinstall`), and
// `functions()` gives every installed function's code back, for the next entry.
//
// Owned by the module's native parts (its code blocks are GC-owned memory, freed when this is collected):
// it must not refer back to the internals.

import { CompiledModule } from '../compile/module-compiler.js';
import { LazyCompiler } from '../compile/lazy-compiler.js';
import { CodeArena } from '../runtime/code-arena.js';
import { perfMapAdd, perfMapEnabled } from '../runtime/perf-map.js';
import { lazyCompileTotals, lazyCompileTraced, threadCpuMs } from '../startup-trace.js';

/**
 * One installed function: its address, index, code length, entry offset and source map: (code offset, wasm
 * offset) pairs at [mapStart, mapStart + mapCount) of pcOffsets and wasmOffsets (its own arrays, or arrays
 * shared by the functions of a cache entry).
 */
interface Installed {
  addr: number;
  f: number;
  length: number;
  entry: number;
  pcOffsets: Int32Array;
  wasmOffsets: Int32Array;
  mapStart: number;
  mapCount: number;
}

/** A function already in memory (a mapped cache entry): at `addr`, `length` bytes, entered at addr + entry. */
export type PlacedFunction = Installed;

export class LazyCode {
  private compiler: LazyCompiler | null = null;
  private readonly arena = new CodeArena();
  /** Every installed function (compiled here or preinstalled). */
  private readonly installed: Installed[] = [];
  /** `installed` in address order, for symbolizing (rebuilt when functions were added since). */
  private byAddress: Installed[] = [];
  /** Functions compiled so far (in this process: preinstalled ones do not count). */
  compiledCount = 0;

  /**
   * @param slots the code-slot table (two u32 per function: an address), GC-owned memory the module holds
   */
  constructor(private readonly c: CompiledModule, private readonly slots: Uint32Array, private readonly thunkBase: number) {}

  private slot(f: number): number {
    return this.slots[2 * f] + this.slots[2 * f + 1] * 4294967296;
  }

  private setSlot(f: number, addr: number): void {
    this.slots[2 * f] = addr % 4294967296;
    this.slots[2 * f + 1] = Math.floor(addr / 4294967296);
  }

  /** Compile function f now, unless its slot already points at compiled code. */
  compile(f: number): void {
    if (this.slot(f) !== this.thunkBase + this.c.lazyThunkOffsets[f]) return;
    this.compiler ??= new LazyCompiler(this.c);
    const t0 = lazyCompileTraced ? performance.now() : 0;
    const c0 = lazyCompileTraced ? threadCpuMs() : 0;
    const out = this.compiler.compile(f);
    const addr = this.arena.add(out.code);
    const fn: Installed = {
      addr, f, length: out.code.length, entry: out.entry, pcOffsets: out.pcOffsets, wasmOffsets: out.wasmOffsets,
      mapStart: 0, mapCount: out.pcOffsets.length,
    };
    this.installed.push(fn);
    this.setSlot(f, addr + out.entry);
    this.compiledCount++;
    if (lazyCompileTraced) {
      lazyCompileTotals.functions++;
      lazyCompileTotals.bytes += this.c.bodyEnds[f] - this.c.bodyStarts[f];
      lazyCompileTotals.ms += performance.now() - t0;
      lazyCompileTotals.cpuMs += threadCpuMs() - c0;
    }
    if (perfMapEnabled()) perfMapAdd([[addr, out.code.length, `wasm:${this.c.info.funcNames.get(f) ?? `f${f}`}`]]);
  }

  /**
   * Install functions whose code is already in executable memory (a mapped cache entry, owned by the module's
   * code block): their slots point at them from now on.
   */
  preinstall(fns: PlacedFunction[]): void {
    for (const fn of fns) {
      this.setSlot(fn.f, fn.addr + fn.entry);
      this.installed.push(fn);
    }
    const names = this.c.info.funcNames;
    if (perfMapEnabled()) perfMapAdd(fns.map((fn) => [fn.addr, fn.length, `wasm:${names.get(fn.f) ?? `f${fn.f}`}`]));
  }

  /**
   * Every installed function, in function index order: what a code-cache entry stores. Their code is read from
   * where it is installed (valid until the module's code is freed).
   */
  functions(): PlacedFunction[] {
    return [...this.installed].sort((a, b) => a.f - b.f);
  }

  /** Bytes of executable memory holding lazily compiled code. */
  get mappedBytes(): number {
    return this.arena.mappedBytes;
  }

  /** Release the code now (explicit disposal). No lazily compiled code may run afterwards. */
  free(): void {
    this.arena.free();
  }

  /** A frame's name if `pc` is in this module's lazily compiled code: null where it has no source position, undefined when not ours. */
  symbolize(pc: number): string | null | undefined {
    const fn = this.functionAt(pc);
    return fn === undefined ? undefined : symbolizeInstalled(fn, this.c.info.funcNames, pc);
  }

  /**
   * The installed function whose code contains `pc` (a return address or trap site: never a function's first
   * byte), or undefined when none does.
   */
  functionAt(pc: number): Installed | undefined {
    let list = this.byAddress;
    if (list.length !== this.installed.length) {
      list = this.byAddress = this.installed.slice().sort((a, b) => a.addr - b.addr);
    }
    let lo = 0, hi = list.length - 1, k = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].addr < pc) {
        k = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return k >= 0 && pc <= list[k].addr + list[k].length ? list[k] : undefined;
  }
}

/** `name (wasm-function[N]:0xOFFSET)` for a pc inside an installed function, or null where it has no source position. */
function symbolizeInstalled(fn: Installed, names: { get(f: number): string | undefined }, pc: number): string | null {
  const i = binarySearch(fn.pcOffsets, pc - fn.addr, fn.mapStart, fn.mapStart + fn.mapCount - 1);
  if (i < 0) return null;
  const where = `wasm-function[${fn.f}]:0x${fn.wasmOffsets[i].toString(16)}`;
  const name = names.get(fn.f);
  return name !== undefined ? `${name} (${where})` : where;
}

export function binarySearch(a: Int32Array, v: number, lo = 0, hi = a.length - 1): number {
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] === v) return mid;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
