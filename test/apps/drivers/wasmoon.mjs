// wasmoon (Lua 5.4, Emscripten): Lua code, JS values both ways, a JS function called from Lua, coroutines.
import { LuaFactory } from 'wasmoon';
const lua = await new LuaFactory().createEngine();
try {
  lua.global.set('jsAdd', (a, b) => a + b);
  lua.global.set('data', { list: [3, 1, 2], name: 'x' });
  await lua.doString(`
    function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
    local t = {}
    for i = 1, 2000 do t[i] = string.format("%05d", (i * 7919) % 10007) end
    table.sort(t)
    result = fib(24) .. " " .. t[1] .. " " .. t[#t] .. " " .. jsAdd(40, 2) .. " " .. data.name .. " " .. #data.list
    co = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i * i) end end)
  `);
  console.log(lua.global.get('result'));
  console.log(await lua.doString('return co() + co() + co()'));
  console.log(await lua.doString('return string.rep("ab", 3) .. math.floor(2^40)'));
} finally {
  lua.global.close();
}
