// wa-sqlite's JSPI build (SQLite, Emscripten -sJSPI) with its asynchronous in-memory VFS: every file operation
// the database makes is a WebAssembly.Suspending import whose promise suspends the wasm stack (JS Promise
// Integration). Needs a V8 with JSPI as the oracle (Node 24+): run.mjs uses --oracle-node on older nodes.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
const require = createRequire(import.meta.url);
const base = path.dirname(require.resolve('@journeyapps/wa-sqlite/package.json'));
const { default: SQLiteESMFactory } = await import(path.join(base, 'dist/wa-sqlite-jspi.mjs'));
const SQLite = await import(path.join(base, 'src/sqlite-api.js'));
const { MemoryAsyncVFS } = await import(path.join(base, 'src/examples/MemoryAsyncVFS.js'));
const module = await SQLiteESMFactory({ wasmBinary: fs.readFileSync(path.join(base, 'dist/wa-sqlite-jspi.wasm')) });
const sqlite3 = SQLite.Factory(module);
sqlite3.vfs_register(await MemoryAsyncVFS.create('mem-async', module), true);
const db = await sqlite3.open_v2('app.db');
const rows = [];
const collect = (row) => rows.push(JSON.stringify(row));
await sqlite3.exec(db, 'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL); CREATE INDEX t_name ON t(name)');
await sqlite3.exec(db, 'BEGIN');
for (let i = 0; i < 2000; i++) await sqlite3.exec(db, `INSERT INTO t (name, score) VALUES ('name${i % 97}', ${((i * 7919) % 1000) / 10})`);
await sqlite3.exec(db, 'COMMIT');
await sqlite3.exec(db, 'SELECT count(*), round(sum(score), 2), min(name), max(name) FROM t', collect);
await sqlite3.exec(db, "SELECT name, count(*), round(avg(score), 3) FROM t WHERE name LIKE 'name9%' GROUP BY name ORDER BY name", collect);
await sqlite3.exec(db, 'DELETE FROM t WHERE id % 3 = 0; VACUUM', collect);
await sqlite3.exec(db, 'SELECT count(*), max(id) FROM t', collect);
await sqlite3.close(db);
console.log(rows.join('\n'));
