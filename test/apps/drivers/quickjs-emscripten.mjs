// quickjs-emscripten (QuickJS, Emscripten): evaluate JS in a QuickJS context, host functions, errors.
import { getQuickJS } from 'quickjs-emscripten';
const QuickJS = await getQuickJS();
const vm = QuickJS.newContext();
const log = vm.newFunction('hostTwice', (h) => vm.newNumber(vm.getNumber(h) * 2));
vm.setProp(vm.global, 'hostTwice', log);
log.dispose();
for (const code of [
  'let s = 0; for (let i = 0; i < 200000; i++) s = (s + i * i) % 1000003; s',
  'JSON.stringify([1, 2, 3].map((x) => hostTwice(x)).concat(Object.keys({ a: 1, b: 2 })))',
  '[...new Set("mississippi")].sort().join("")',
  'class A { #x = 41; get x() { return this.#x + 1 } }; new A().x',
  'throw new RangeError("boom")',
]) {
  const r = vm.evalCode(code);
  if (r.error) {
    console.log('error', JSON.stringify(vm.dump(r.error)));
    r.error.dispose();
  } else {
    console.log(JSON.stringify(vm.dump(r.value)));
    r.value.dispose();
  }
}
vm.dispose();
