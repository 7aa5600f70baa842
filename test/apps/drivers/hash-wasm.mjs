// hash-wasm (hand-written C compiled to wasm): digests of 4 MB, streaming SHA-512, argon2id, bcrypt.
import { md5, sha1, sha256, sha3, blake2b, blake3, xxhash64, crc32, createSHA512, argon2id, bcrypt } from 'hash-wasm';
const data = new Uint8Array(4 << 20);
for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
for (const [name, f] of [['md5', md5], ['sha1', sha1], ['sha256', sha256], ['sha3', sha3], ['blake2b', blake2b], ['blake3', blake3], ['xxhash64', xxhash64], ['crc32', crc32]]) {
  console.log(name, await f(data));
}
const h = await createSHA512();
h.init();
for (let k = 0; k < 16; k++) h.update(data.subarray(k * 1000, k * 1000 + 999));
console.log('sha512 streamed', h.digest());
const salt = new Uint8Array(16).fill(7);
console.log('argon2id', await argon2id({ password: 'pw', salt, parallelism: 1, iterations: 2, memorySize: 4096, hashLength: 32, outputType: 'hex' }));
console.log('bcrypt', await bcrypt({ password: 'pw', salt, costFactor: 6, outputType: 'encoded' }));
