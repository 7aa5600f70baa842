// wasm-vips (libvips, Emscripten with pthreads): build an image, process it, encode PNG.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
const Vips = createRequire(import.meta.url)('wasm-vips');
const vips = await Vips();
const im = vips.Image.black(64, 48).add(100).gaussblur(1.5);
console.log(im.width, im.height, im.bands, im.avg().toFixed(3));
const png = im.writeToBuffer('.png');
console.log('png', png.length, createHash('sha256').update(png).digest('hex').slice(0, 16));
vips.shutdown?.();
