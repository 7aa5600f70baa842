// Every concrete example command in README.md's shell blocks runs as written (issue 13): from the repository
// root, exit status 0. Left out: placeholders (FILE.wasm, ARGS..., [options]), npm (install/test/bench: the
// test run itself), long benchmarks and fuzzers (bench/, scripts/fuzz-*), and commands on files the README
// names as the reader's own (app.js). /tmp/qb-cache is replaced by a fresh private directory.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function readmeCommands(): string[] {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  return [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1].split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l !== '');
}

const SKIP = [/\bFILE\b|ARGS|PATH\.\.\.|\[/, /^npm /, /\bnpm start\b/, /\bbench\//, /^scripts\/fuzz-/, /\bapp\.js\b/];

test('README.md example commands run as written', () => {
  const all = readmeCommands();
  const runnable = all.filter((c) => !SKIP.some((re) => re.test(c)));
  assert.ok(runnable.length >= 6, `only ${runnable.length} runnable commands found in README.md`);
  const dir = mkdtempSync(path.join(tmpdir(), 'qb-readme-'));
  try {
    for (const command of runnable) {
      const text = command.replaceAll('/tmp/qb-cache', path.join(dir, 'cache'));
      const env = { ...process.env, NODE_OPTIONS: '', FORCE_COLOR: '', QUICKBEAM_CACHE_DIR: path.join(dir, 'cli-cache') };
      const r = spawnSync('sh', ['-c', text], { cwd: root, encoding: 'utf8', env, timeout: 300_000 });
      assert.is(r.status, 0, `\`${command}\` exited with ${r.status}: ${r.stderr.slice(-600)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
