// Runs test cases that execute generated machine code in child processes, so that a crash (a bounds check
// that lets an access through into the guard region, a bad jump) fails one test with its signal instead of
// killing the whole test runner.
//
//   const t = isolated(import.meta.url);
//   t('name', () => { ... uvu asserts ... });
//   t.run();
//
// The cases form their own uvu suite, so a file can mix them with ordinary tests; such a file must not run
// its ordinary tests in a child: `if (!inIsolatedChild) test.run();`.
//
// In the parent (the uvu run) every case becomes a uvu test that awaits its child; children are started
// eagerly, a few at a time, when the suite starts. In a child (QB_ISOLATED_CASE set) only the named case
// runs; its outcome is reported on stdout.

import { suite as uvuSuite } from 'uvu';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

type Body = () => unknown | Promise<unknown>;

const ENV = 'QB_ISOLATED_CASE';
const MARK = '@@ISOLATED ';

export interface IsolatedSuite {
  (name: string, body: Body): void;
  run(): void;
}

interface ChildResult {
  ok: boolean;
  message: string;
  detail: string;
}

/** Whether this process is a child running one isolated case. */
export const inIsolatedChild = process.env[ENV] !== undefined;

export function isolated(selfUrl: string, opts: { concurrency?: number; timeoutMs?: number; name?: string } = {}): IsolatedSuite {
  const self = fileURLToPath(selfUrl);
  const cases: Array<[string, Body]> = [];
  const wanted = process.env[ENV];

  const suite = ((name: string, body: Body): void => {
    if (cases.some(([n]) => n === name)) throw new Error(`duplicate isolated case ${name}`);
    cases.push([name, body]);
  }) as IsolatedSuite;

  suite.run = (): void => {
    if (wanted !== undefined) {
      const c = cases.find(([n]) => n === wanted);
      if (c === undefined) {
        process.stdout.write(`${MARK}${JSON.stringify({ ok: false, message: `unknown case ${wanted}`, detail: '' })}\n`);
        process.exit(3);
      }
      Promise.resolve()
        .then(() => c[1]())
        .then(
          () => {
            process.stdout.write(`${MARK}${JSON.stringify({ ok: true, message: '', detail: '' })}\n`);
            process.exit(0);
          },
          (e: unknown) => {
            const err = e as { message?: string; stack?: string; details?: string };
            const r: ChildResult = { ok: false, message: String(err?.message ?? e), detail: `${err?.details ?? ''}\n${err?.stack ?? ''}` };
            process.stdout.write(`${MARK}${JSON.stringify(r)}\n`);
            process.exit(1);
          },
        );
      return;
    }
    const concurrency = opts.concurrency ?? Math.max(1, Math.min(4, os.cpus().length));
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const results = new Map<string, Promise<ChildResult>>();
    const queue: Array<() => void> = [];
    let running = 0;
    const pump = (): void => {
      while (running < concurrency && queue.length) {
        running++;
        queue.shift()!();
      }
    };
    const start = (): void => {
      for (const [name] of cases) {
        results.set(name, new Promise<ChildResult>((resolve) => {
          queue.push(() => {
            const child = spawn(process.execPath, [self], {
              env: { ...process.env, [ENV]: name },
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            let out = '';
            let err = '';
            child.stdout.on('data', (d) => (out += d));
            child.stderr.on('data', (d) => (err += d));
            const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
            child.on('close', (code, signal) => {
              clearTimeout(timer);
              running--;
              pump();
              const at = out.lastIndexOf(MARK);
              if (at >= 0) {
                const line = out.slice(at + MARK.length).split('\n')[0];
                try {
                  resolve(JSON.parse(line) as ChildResult);
                  return;
                } catch {
                  /* fall through */
                }
              }
              resolve({
                ok: false,
                message: `child for "${name}" died: exit ${code} signal ${signal}`,
                detail: `stdout:\n${out.slice(-4000)}\nstderr:\n${err.slice(-4000)}`,
              });
            });
          });
        }));
      }
      pump();
    };
    let started = false;
    const test = uvuSuite(opts.name ?? 'isolated');
    for (const [name] of cases) {
      test(name, async () => {
        if (!started) {
          started = true;
          start();
        }
        const r = await results.get(name)!;
        if (!r.ok) {
          const e = new Error(r.message);
          (e as { details?: string }).details = r.detail;
          e.stack = `${r.message}\n${r.detail}`;
          throw e;
        }
      });
    }
    test.run();
  };
  return suite;
}
