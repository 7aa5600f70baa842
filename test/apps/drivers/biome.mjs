// @biomejs/wasm-nodejs (Rust, wasm-bindgen): format and lint files through the Workspace API.
import { createRequire } from 'node:module';
const biome = createRequire(import.meta.url)('@biomejs/wasm-nodejs');
const ws = new biome.Workspace();
const { projectKey } = ws.openProject({ path: '/', openUninitialized: true });
const files = {
  '/a.ts': 'export interface Point{x:number;y:number}\nexport class Vec<T extends Point>{constructor(private items:T[]=[]){}\nadd(p:T):this{this.items.push(p);return this}}\n',
  '/b.js': 'const a = [1,2,3].map(x=>x*2)\nif(a.length==3){console.log("three")}\nfunction unused(){ debugger }\n',
  '/c.json': '{"a":1,"b":[1,2,{"c":null}]}',
};
for (const [path, content] of Object.entries(files)) {
  ws.openFile({ projectKey, path, content: { type: 'fromClient', content, version: 0 } });
  console.log(path, JSON.stringify(ws.formatFile({ projectKey, path }).code));
}
const d = ws.pullDiagnostics({ projectKey, path: '/b.js', categories: ['lint'], maxDiagnostics: 20, only: [], skip: [], pullCodeActions: false });
console.log('diagnostics', d.diagnostics.map((x) => x.category).sort().join(' '));
