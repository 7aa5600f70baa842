// Reading a module for the CLI: .wasm bytes, or .wat text assembled with the npm `wabt` package
// (loaded only when a text module is given), with every failure turned into a one-line CliError.

import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { MAP_POPULATE, MAP_PRIVATE, PROT_READ, bytesAt, tryMmapFile } from '../runtime/native.js';
import { createRequire } from 'node:module';
import { CliError } from './main.js';
import { Features, resolveFeatures } from '../decode/features.js';

/** Whether the bytes look like text rather than a binary module (no `\0asm` magic). */
function isText(bytes: Uint8Array, file: string): boolean {
  if (file.endsWith('.wat') || file.endsWith('.wast')) return true;
  if (file.endsWith('.wasm')) return false;
  return !(bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d);
}

/**
 * A big binary module is mapped read-only rather than read: reading 30 MB costs ~25 ms of page faults and copying
 * (the pages of a fresh buffer), mapping the page cache's own pages ~2 ms, and a code-cache hit then reads only
 * the key's hash and the data segments. The mapping is never unmapped: the CLI runs one module per process, and
 * Module copies whatever it keeps. (Truncating the file while it is being read would make the process fault.)
 */
function mapModuleFile(file: string): Uint8Array | null {
  if (file.endsWith('.wat') || file.endsWith('.wast')) return null;
  let fd = -1;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    if (size < 1024 * 1024 || size > 2 ** 32) return null;
    const addr = tryMmapFile(size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    return addr === 0 ? null : bytesAt(addr, size);
  } catch {
    return null;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

export async function readModuleBytes(file: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = mapModuleFile(file) ?? readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (e as Error).message}`);
  }
  if (!isText(bytes, file)) return bytes;
  return assembleWat(file, new TextDecoder().decode(bytes));
}

async function assembleWat(file: string, text: string): Promise<Uint8Array> {
  const require = createRequire(import.meta.url);
  let wabtFactory: () => Promise<{ parseWat: (name: string, text: string, features: object) => WatModule }>;
  try {
    wabtFactory = require('wabt');
  } catch {
    throw new CliError(`${file}: text modules need the npm package "wabt" (npm install wabt)`);
  }
  const wabt = await wabtFactory();
  let mod: WatModule | undefined;
  try {
    mod = wabt.parseWat(file, text, {
      memory64: true, multi_memory: true, bulk_memory: true, reference_types: true, sign_extension: true,
      sat_float_to_int: true, mutable_globals: true, multi_value: true, simd: true,
    });
    mod.resolveNames();
    mod.validate();
    return mod.toBinary({ write_debug_names: true }).buffer;
  } catch (e) {
    const lines = String((e as Error).message).split('\n').map((l) => l.trim()).filter((l) => l !== '' && l !== 'parseWat failed:');
    const first = lines[0] ?? 'invalid text module';
    throw new CliError(`${file}: ${first.trim()}`);
  } finally {
    mod?.destroy();
  }
}

interface WatModule {
  resolveNames(): void;
  validate(): void;
  toBinary(opts: object): { buffer: Uint8Array };
  destroy(): void;
}

/** Parse `--no-FEATURE` / `--FEATURE` flags (kebab-case of the Features names). Returns true if consumed. */
export function parseFeatureFlag(arg: string, into: Partial<Features>): boolean {
  const m = /^--(no-)?([a-z0-9-]+)$/.exec(arg);
  if (!m) return false;
  const name = m[2].replace(/-([a-z0-9])/g, (_, ch: string) => ch.toUpperCase());
  if (!(name in resolveFeatures())) return false;
  (into as Record<string, boolean>)[name] = m[1] === undefined;
  return true;
}
