// Disassembly of emitted machine code with GNU objdump (Intel syntax), for tests that check what the
// compiler emitted. objdump is a build-time tool of the project's test machines (binutils).

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** objdump's raw Intel-syntax listing of `code` (a clear error when objdump is missing). */
export function objdumpListing(code: Uint8Array): string {
  const dir = mkdtempSync(join(tmpdir(), 'qb-disasm-'));
  try {
    const file = join(dir, 'code.bin');
    writeFileSync(file, code);
    try {
      return execFileSync('objdump', ['-D', '-b', 'binary', '-mi386:x86-64', '-M', 'intel', file], {
        encoding: 'utf8', maxBuffer: 1 << 28,
      });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('objdump not found: these tests need GNU objdump (Debian/Ubuntu: apt-get install binutils)');
      }
      throw e;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Disassemble `code`; one normalised Intel-syntax instruction text per instruction, in order. */
export function disassemble(code: Uint8Array): string[] {
  if (code.length === 0) return [];
  const out: string[] = [];
  for (const line of objdumpListing(code).split('\n')) {
    const m = /^\s*[0-9a-f]+:\t[0-9a-f ]+\t(.*)$/.exec(line);
    if (m) out.push(m[1].replace(/\s+/g, ' ').replace(/\s*#.*$/, '').trim());
  }
  return out;
}
