// esbuild-wasm (Go): transform and bundle through the package's Node API, which runs esbuild.wasm in a child
// Node process (so under quickbeam/register the child is Quickbeam too).
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
const esbuild = createRequire(import.meta.url)('esbuild-wasm');
const t = await esbuild.transform('export const f = (x: number): number => x * 2; enum E { A, B }; console.log(f(E.B))', { loader: 'ts', format: 'esm' });
console.log(t.code);
const dir = mkdtempSync(path.join(tmpdir(), 'qb-esbuild-'));
try {
  writeFileSync(path.join(dir, 'a.ts'), "import { b } from './b'; export default function main(): string { return b.repeat(2) }");
  writeFileSync(path.join(dir, 'b.ts'), "export const b: string = 'hello ' + [1, 2, 3].map((x) => x * x).join(',')");
  const r = await esbuild.build({ entryPoints: [path.join(dir, 'a.ts')], bundle: true, write: false, format: 'cjs', minify: true });
  console.log(r.outputFiles[0].text);
} finally {
  rmSync(dir, { recursive: true, force: true });
  esbuild.stop();
}
