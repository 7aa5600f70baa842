// lightningcss-wasm (Rust, napi-wasm): minify, transpile for old browsers, CSS modules.
import init, { transform, browserslistToTargets } from 'lightningcss-wasm';
await init();
const css = `.a { color: rgba(255, 0, 0, 0.5); display: flex; & .b { inset: 0 } }
@media (width >= 400px) { .c { margin-inline: 1px 2px; background: lab(50% 20 30) } }
.d { user-select: none; transition: transform .3s ease }`;
const dec = (b) => new TextDecoder().decode(b);
console.log(dec(transform({ filename: 'a.css', code: new TextEncoder().encode(css), minify: true }).code));
console.log(dec(transform({ filename: 'a.css', code: new TextEncoder().encode(css), targets: { chrome: 60 << 16, safari: 10 << 16 } }).code));
const m = transform({ filename: 'm.css', code: new TextEncoder().encode('.title { color: red } .title:hover { color: blue }'), cssModules: true });
console.log(dec(m.code), JSON.stringify(m.exports));
void browserslistToTargets;
