// `--map-file HOST_PATH@GUEST_ADDR[:ro|rw]` for `quickbeam run`: map a host file into the guest's memory
// (Memory.mapFile, see src/runtime/file-mapping.ts) before the guest starts.
//
//   --map-file data.bin@0x100000          private (the default, same as :ro): the guest reads the file with
//                                         plain loads; its stores stay private, the file is never modified
//   --map-file data.bin@4G:rw             shared: guest stores reach the file
//
// GUEST_ADDR: decimal or 0x hex, with an optional K/M/G/T suffix (binary units: 4G = 4 GiB); a multiple of
// 4096. The path is everything before the last '@' (so it may itself contain '@' or ':').
//
// The memory is the module's exported "memory" (else its only exported memory); a module that imports its
// memory gets one created by `importedMemoryForMapFiles`. When a mapping reaches beyond the memory's current
// size, the memory is grown first (up to its maximum).

import * as fs from 'node:fs';
import { Memory, type MappingInfo } from '../api/memory.js';
import { ExternKind, type ModuleInfo } from '../decode/types.js';
import { MAPPING_ALIGN } from '../runtime/file-mapping.js';
import { CliError } from './main.js';

const WASM_PAGE = 65536;

export const MAP_FILE_HELP = `  --map-file HOST_PATH@GUEST_ADDR[:ro|rw]
                         map a host file into the guest's memory at GUEST_ADDR (decimal or 0x hex, K/M/G
                         suffixes; a multiple of 4096), with no copy; the memory grows to fit. :ro (default)
                         is copy-on-write: the file is never modified. :rw is shared: guest stores reach
                         the file. Repeatable. A file that shrinks while mapped reads as zeros past its end`;

export interface MapFileSpec {
  /** The option's value, as given (for messages). */
  option: string;
  path: string;
  at: number;
  mode: 'ro' | 'rw';
}

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** Parse a guest address: decimal or 0x hex, optional K/M/G/T suffix. Returns null when malformed. */
export function parseGuestAddress(s: string): number | null {
  const m = /^(0x[0-9a-f]+|\d+)([kmgt]?)$/i.exec(s.trim());
  if (!m) return null;
  const v = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  return Number.isSafeInteger(v) ? v : null;
}

/** Parse one `--map-file` value. Throws CliError (exit status 2) when malformed. */
export function parseMapFileOption(value: string): MapFileSpec {
  const bad = (why: string): never => {
    throw new CliError(`--map-file ${JSON.stringify(value)}: ${why} (expected HOST_PATH@GUEST_ADDR[:ro|rw])`, 2);
  };
  let rest = value;
  let mode: 'ro' | 'rw' = 'ro';
  const suffix = /:(ro|rw)$/i.exec(rest);
  if (suffix) {
    mode = suffix[1]!.toLowerCase() as 'ro' | 'rw';
    rest = rest.slice(0, -suffix[0].length);
  }
  const atSign = rest.lastIndexOf('@');
  if (atSign < 0) bad('missing @GUEST_ADDR');
  const path = rest.slice(0, atSign);
  const addrText = rest.slice(atSign + 1);
  if (path === '') bad('missing HOST_PATH');
  if (addrText === '') bad('missing GUEST_ADDR');
  const at = parseGuestAddress(addrText);
  if (at === null) bad(`bad guest address ${JSON.stringify(addrText)}`);
  if (at! % MAPPING_ALIGN !== 0) bad(`guest address ${addrText} is not a multiple of ${MAPPING_ALIGN}`);
  return { option: value, path, at: at!, mode };
}

/** Bytes of memory the mappings need (the end of the furthest one, page-rounded). Files must exist. */
function bytesNeeded(specs: readonly MapFileSpec[]): number {
  let need = 0;
  for (const s of specs) {
    let size: number;
    try {
      size = fs.statSync(s.path).size;
    } catch (e) {
      throw new CliError(`--map-file ${s.option}: ${(e as Error).message}`);
    }
    need = Math.max(need, s.at + Math.ceil(size / MAPPING_ALIGN) * MAPPING_ALIGN);
  }
  return need;
}

/**
 * A memory to satisfy the module's memory import (if it imports one and mappings are requested), sized for
 * the mappings: returns { module, name, memory } for the caller to put into the import object, or null.
 */
export function importedMemoryForMapFiles(info: ModuleInfo, specs: readonly MapFileSpec[]): { module: string; name: string; memory: Memory } | null {
  if (specs.length === 0) return null;
  const imp = info.imports.find((i) => i.kind === ExternKind.Memory);
  if (imp === undefined || imp.memory === null) return null;
  const t = imp.memory;
  const pages = Math.max(t.min, Math.ceil(bytesNeeded(specs) / WASM_PAGE));
  if (t.max !== null && pages > t.max) {
    throw new CliError(`--map-file: the mappings need ${pages} pages but the imported memory allows at most ${t.max}`);
  }
  const desc: Record<string, unknown> = { initial: pages, index: t.index64 ? 'i64' : 'i32' };
  if (t.max !== null) desc.maximum = t.max;
  let memory: Memory;
  try {
    memory = new Memory(desc);
  } catch (e) {
    throw new CliError(`--map-file: cannot create a memory of ${pages} pages: ${(e as Error).message}`);
  }
  return { module: imp.module, name: imp.name, memory };
}

/** The memory to map into: the export "memory", else the only exported memory; null when none. */
export function memoryForMapFiles(exports: Record<string, unknown>): Memory | null {
  const m = exports['memory'];
  if (m instanceof Memory) return m;
  const all = Object.values(exports).filter((v): v is Memory => v instanceof Memory);
  return all.length === 1 ? all[0]! : null;
}

/**
 * Apply the mappings to `memory`, growing it first when they reach beyond its current size. Throws CliError
 * (exit status 1) with the option and the reason when a mapping is impossible.
 */
export function applyMapFiles(memory: Memory, specs: readonly MapFileSpec[]): MappingInfo[] {
  if (specs.length === 0) return [];
  const index64 = memory.type().index === 'i64';
  const need = bytesNeeded(specs);
  const current = Number(memory.type().minimum) * WASM_PAGE;
  if (need > current) {
    const delta = Math.ceil((need - current) / WASM_PAGE);
    try {
      memory.grow(index64 ? BigInt(delta) : delta);
    } catch {
      const max = memory.type().maximum;
      throw new CliError(`--map-file: the memory cannot grow to ${Math.ceil(need / WASM_PAGE)} pages` +
        (max !== undefined ? ` (its maximum is ${max})` : index64 ? '' : ' (an i32 memory holds at most 4 GiB)'));
    }
  }
  const out: MappingInfo[] = [];
  for (const s of specs) {
    try {
      out.push(memory.mapFile(s.path, { at: s.at, shared: s.mode === 'rw' }));
    } catch (e) {
      throw new CliError(`--map-file ${s.option}: ${(e as Error).message}`);
    }
  }
  return out;
}
