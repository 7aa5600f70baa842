// @swc/wasm (Rust, wasm-bindgen): TypeScript + JSX to ES5 and ES2022, minify, parse.
import { createRequire } from 'node:module';
const swc = createRequire(import.meta.url)('@swc/wasm');
const src = `
export interface Point { x: number; y: number }
export class Vec<T extends Point> { constructor(private readonly items: T[] = []) {} add(p: T): this { this.items.push(p); return this; }
  get length(): number { return this.items.length } }
export const sum = (ps: Point[]) => ps.reduce((a, { x, y }) => a + x * y, 0);
export const App = () => <div className="a">{sum([{ x: 1, y: 2 }])}</div>;
async function* gen() { for await (const x of [1, 2]) yield x ?? 0; }`;
for (const target of ['es5', 'es2022']) {
  console.log(swc.transformSync(src, { filename: 'input.tsx', jsc: { parser: { syntax: 'typescript', tsx: true }, target } }).code);
}
console.log(swc.minifySync('function add(first, second) { return first + second } console.log(add(1, 2))', { compress: true, mangle: true }).code);
console.log(swc.parseSync('let a = 1 + 2', { syntax: 'ecmascript' }).body.length);
