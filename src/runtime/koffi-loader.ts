// Loading koffi quickly. `import koffi from 'koffi'` costs 4-5 ms of process start: koffi's entry module
// works out the platform (on Linux it opens the node binary and reads its ELF program headers to tell glibc
// from musl), goes through a long chain of optional-package requires and wraps the addon's functions in
// deprecation shims, all before loading its native addon. Quickbeam targets x86-64 Linux, where that addon is
// the prebuilt file of the `@koromix/koffi-linux-x64` package (one build per libc). On glibc Linux x64 this
// loads that file directly (about 1 ms) after checking that its version is the one koffi's own package
// declares; in every other case, or when anything is unexpected, it loads koffi through its entry module.
// Both packages are found by looking in node_modules folders upwards, as Node's resolution does first:
// require.resolve('koffi') would cost 1 ms more (koffi's package "exports" load Node's ES resolver).
//
// The addon is the same module object either way (Node caches it by file name), so koffi imported by someone
// else in the same process shares its state (and its `config()`) with Quickbeam's.

import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type KoffiDefault from 'koffi';

export type Koffi = typeof KoffiDefault;

const require = createRequire(import.meta.url);

/**
 * False where this process may run on musl: wherever musl's dynamic loader is installed (a glibc system with
 * musl installed too just takes the slow path). One stat, where reading /proc/self/maps costs 0.5 ms. A musl
 * build of Node installed elsewhere cannot load the glibc addon (no libc.so.6): that error means the slow path.
 */
function mayBeGlibc(): boolean {
  return !existsSync('/lib/ld-musl-x86_64.so.1');
}

/** `<dir>/node_modules/<rel>` for the nearest such file from `from` upwards, or null. */
function findInNodeModules(from: string, rel: string): string | null {
  for (let dir = from; ; dir = dir.slice(0, dir.lastIndexOf('/'))) {
    const candidate = `${dir}/node_modules/${rel}`;
    if (!dir.endsWith('/node_modules') && existsSync(candidate)) return candidate;
    if (dir === '') return null; // `/node_modules` was the last place
  }
}

function loadAddonDirectly(): Koffi | null {
  if (process.platform !== 'linux' || process.arch !== 'x64' || process.env['QUICKBEAM_KOFFI_VIA_ENTRY']) return null;
  try {
    if (!mayBeGlibc()) return null;
    const here = fileURLToPath(import.meta.url);
    const koffiPackage = findInNodeModules(here.slice(0, here.lastIndexOf('/')), 'koffi/package.json');
    if (koffiPackage === null) return null;
    const koffiDir = koffiPackage.slice(0, -'/package.json'.length);
    const file = findInNodeModules(koffiDir, '@koromix/koffi-linux-x64/linux_x64/koffi.node');
    if (file === null) return null;
    const { version } = JSON.parse(readFileSync(koffiPackage, 'utf8')) as { version?: unknown };
    if (typeof version !== 'string') return null;
    const addon = require(file) as Koffi & { version?: unknown };
    if (addon.version !== version) return null;
    return addon;
  } catch {
    return null;
  }
}

/** The koffi module (use it through native.ts, which configures it before its first `load()`). */
export const koffi: Koffi = loadAddonDirectly() ?? (require('koffi') as Koffi);
