// @ruby/3.4-wasm-wasi through @ruby/wasm-wasi's DefaultRubyVM, which runs CRuby on node:wasi.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { DefaultRubyVM } from '@ruby/wasm-wasi/dist/node';
const require = createRequire(import.meta.url);
const binary = readFileSync(require.resolve('@ruby/3.4-wasm-wasi/dist/ruby+stdlib.wasm'));
const module = await WebAssembly.compile(binary);
const { vm } = await DefaultRubyVM(module);
console.log(vm.eval('RUBY_VERSION[0, 3]').toString());
console.log(vm.eval('require "json"; JSON.generate({ squares: (1..8).map { |i| i * i }, s: "héllo".upcase })').toString());
console.log(vm.eval('(1..20).reduce(:*).to_s + " " + [3, 1, 2].sort.inspect + " " + "%.3f" % Math.sqrt(2)').toString());
console.log(vm.eval('begin; raise ArgumentError, "bad"; rescue => e; e.class.name + ": " + e.message; end').toString());
