// brotli-wasm (Rust, wasm-bindgen): compress at three qualities, decompress, streaming decompression.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
const brotli = await createRequire(import.meta.url)('brotli-wasm'); // (the Node build: its ESM entry fetches)
const text = new TextEncoder().encode(Array.from({ length: 20000 }, (_, i) => `line ${i} ${(i * 31) % 97} lorem ipsum`).join('\n'));
for (const quality of [1, 6, 11]) {
  const c = brotli.compress(text, { quality });
  const d = brotli.decompress(c);
  console.log(quality, c.length, createHash('sha256').update(c).digest('hex').slice(0, 16), d.length === text.length && d.every((x, i) => x === text[i]));
}
const c = brotli.compress(text);
const stream = new brotli.DecompressStream();
const out = [];
for (let at = 0; at < c.length; at += 1000) {
  const r = stream.decompress(c.subarray(at, at + 1000), 4096);
  out.push(r.buf.length);
  let more = r;
  while (more.code === brotli.BrotliStreamResultCode.NeedsMoreOutput) {
    more = stream.decompress(c.subarray(at + more.input_offset, at + 1000), 4096);
    out.push(more.buf.length);
  }
}
console.log('stream', out.reduce((a, b) => a + b, 0));
