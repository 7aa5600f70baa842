// wabt (WABT, Emscripten): parse WAT, validate, write a binary, read it back.
import { createRequire } from 'node:module';
const wabt = await createRequire(import.meta.url)('wabt')();
const m = wabt.parseWat('t.wat', `(module (func (export "fac") (param i64) (result i64)
  (if (result i64) (i64.eqz (local.get 0)) (then (i64.const 1))
    (else (i64.mul (local.get 0) (call 0 (i64.sub (local.get 0) (i64.const 1))))))))`);
m.validate();
const { buffer } = m.toBinary({ write_debug_names: true });
console.log(Buffer.from(buffer).toString('hex'));
const back = wabt.readWasm(buffer, { readDebugNames: true });
back.generateNames();
console.log(back.toText({}));
