// Text-format modules for tests, assembled by wabt (the npm package, a dependency).

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** wabt's module, for tests that need more than `wat` (e.g. to assemble something invalid). */
export const wabt = await (require('wabt') as () => Promise<any>)();

/**
 * The binary of a text-format module, with wabt's `features` (e.g. `{ exceptions: true }`): names resolved and
 * the module validated by wabt first unless `validate` is false, the name section written when `names` is.
 */
export function wat(source: string, features: Record<string, boolean> = {}, { validate = true, names = false } = {}): Uint8Array {
  const m = wabt.parseWat('test.wat', source, features);
  try {
    if (validate) {
      m.resolveNames();
      m.validate();
    }
    return m.toBinary({ write_debug_names: names }).buffer as Uint8Array;
  } finally {
    m.destroy();
  }
}
