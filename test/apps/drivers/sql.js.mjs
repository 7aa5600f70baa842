// sql.js (SQLite, Emscripten): a table, a prepared insert of 2000 rows, aggregates, a join, an export.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
const initSqlJs = createRequire(import.meta.url)('sql.js');
const SQL = await initSqlJs();
const db = new SQL.Database();
db.run('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL); CREATE TABLE g (id INTEGER, tag TEXT);');
const ins = db.prepare('INSERT INTO t (name, score) VALUES (?, ?)');
for (let i = 0; i < 2000; i++) ins.run([`name${i % 97}`, (i * 7919) % 1000 / 10]);
ins.free();
db.run("INSERT INTO g SELECT id, CASE WHEN score > 50 THEN 'hi' ELSE 'lo' END FROM t WHERE id % 3 = 0");
console.log(JSON.stringify(db.exec('SELECT count(*), round(sum(score), 2), min(name), max(name) FROM t')[0].values));
console.log(JSON.stringify(db.exec('SELECT g.tag, count(*), round(avg(t.score), 3) FROM t JOIN g ON t.id = g.id GROUP BY g.tag ORDER BY g.tag')[0].values));
console.log(JSON.stringify(db.exec("SELECT name, length(name), upper(name) FROM t WHERE name LIKE 'name9%' ORDER BY id LIMIT 3")[0].values));
console.log('export', createHash('sha256').update(db.export()).digest('hex').slice(0, 16));
db.close();
