// Engine worker processes: one long-lived child per engine, restarted after a crash, a hang (killed at the
// case's deadline) or every `recycle` requests. A request resolves to
//   { status: 'ok', result } | { status: 'crash', signal, code, stderr } | { status: 'hang', ms }
//   | { status: 'error', error }   (a harness failure inside the worker)

import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.mjs');

export class EngineProcess {
  /**
   * engine: 'qb' | 'v8'. opts: { execPath, execArgv, env, recycle, label }
   */
  constructor(engine, opts = {}) {
    this.engine = engine;
    this.execPath = opts.execPath ?? process.execPath;
    this.execArgv = opts.execArgv ?? [];
    this.env = opts.env ?? process.env;
    this.recycle = opts.recycle ?? 400;
    this.label = opts.label ?? engine;
    this.child = null;
    this.ready = null;
    this.nextId = 1;
    this.pending = null;
    this.served = 0;
    this.stderr = '';
    this.restarts = 0;
  }

  start() {
    this.stderr = '';
    this.served = 0;
    const child = fork(WORKER, [this.engine], {
      execPath: this.execPath,
      execArgv: this.execArgv,
      env: this.env,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      serialization: 'json',
    });
    this.child = child;
    child.stderr.on('data', (d) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.ready = new Promise((resolve) => {
      const onMsg = (m) => {
        if (m && m.id === 0) {
          child.off('message', onMsg);
          resolve(true);
        }
      };
      child.on('message', onMsg);
      child.once('exit', () => resolve(false));
    });
    child.on('message', (m) => {
      const p = this.pending;
      if (p && m && m.id === p.id) {
        this.pending = null;
        clearTimeout(p.timer);
        p.resolve(m.ok ? { status: 'ok', result: m.result } : { status: 'error', error: m.error });
      }
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      const p = this.pending;
      if (p && p.child === child) {
        this.pending = null;
        clearTimeout(p.timer);
        if (p.killedForHang) p.resolve({ status: 'hang', ms: Date.now() - p.t0 });
        else {
          // Let the stderr pipe drain so the crash report has the last words.
          setTimeout(() => p.resolve({ status: 'crash', signal, code, stderr: this.stderr }), 20);
        }
      }
    });
    child.on('error', () => { /* reported through exit */ });
  }

  /** Send one request; timeoutMs bounds the time until the reply (the worker is killed at the deadline). */
  async request(msg, timeoutMs = 10000) {
    if (this.child && this.served >= this.recycle) await this.stop();
    for (let attempt = 0; ; attempt++) {
      if (!this.child) {
        this.start();
        this.restarts++;
      }
      const ok = await this.ready;
      if (ok && this.child) break;
      this.child = null;
      if (attempt >= 2) return { status: 'error', error: `${this.label} worker does not start: ${this.stderr}` };
    }
    const child = this.child;
    this.served++;
    const id = this.nextId++;
    return new Promise((resolve) => {
      const p = { id, resolve, child, t0: Date.now(), killedForHang: false, timer: null };
      p.timer = setTimeout(() => {
        p.killedForHang = true;
        try { child.kill('SIGKILL'); } catch { /* gone */ }
      }, timeoutMs);
      this.pending = p;
      try {
        child.send({ ...msg, id });
      } catch (e) {
        this.pending = null;
        clearTimeout(p.timer);
        resolve({ status: 'crash', signal: null, code: null, stderr: `send failed: ${e.message}\n${this.stderr}` });
      }
    });
  }

  async stop() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise((resolve) => {
      const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } resolve(); }, 2000);
      child.once('exit', () => { clearTimeout(t); resolve(); });
      try { child.disconnect(); } catch { try { child.kill('SIGKILL'); } catch { /* gone */ } }
    });
  }
}

export function isCrash(r) {
  return r.status === 'crash';
}
