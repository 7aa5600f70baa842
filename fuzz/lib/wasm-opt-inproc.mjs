// npm's binaryen ships wasm-opt as an Emscripten build (a 11 MB script with its wasm inside). Started as a
// command, each run pays ~0.4 s of startup (compiling that wasm), more than generating a module takes. This
// loads the script once into this process and calls its main() per run (synchronously; the file system is
// the real one, NODERAWFS), so a -ttf generation costs 10-70 ms. The script is evaluated with its own
// `process` (so a fatal error's exit code does not become ours) and an `fs` whose writes to stdout/stderr
// are captured instead of printed. A fresh copy is loaded after RELOAD_AFTER runs (its heap only grows).

import { readFileSync } from 'node:fs';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const RELOAD_AFTER = 2000;

/** Whether `file` is a JS build of a binaryen tool (npm package `binaryen`) rather than a native binary. */
export function isJsTool(file) {
  try {
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(20);
    fs.readSync(fd, buf, 0, 20, 0);
    fs.closeSync(fd);
    return buf.toString('latin1').startsWith('#!/usr/bin/env node');
  } catch {
    return false;
  }
}

export class InProcessTool {
  constructor(file) {
    this.file = file;
    this.main = null;
    this.runs = 0;
    this.output = '';
  }

  /** Load (or reload) the tool; resolves when its runtime is initialised. */
  async load() {
    let src = readFileSync(this.file, 'utf8');
    if (src.startsWith('#!')) src = '//' + src.slice(2);
    const self = this;
    // Writes to fds 1 and 2 (the tool's stdout/stderr) are kept for error reports, not printed.
    const quietFs = Object.create(fs);
    quietFs.writeSync = (fd, buf, ...rest) => {
      if (fd === 1 || fd === 2) {
        const s = typeof buf === 'string' ? buf : Buffer.from(buf.buffer ?? buf, buf.byteOffset ?? 0, rest[1] ?? buf.length).toString();
        self.output = (self.output + s).slice(-4000);
        return typeof buf === 'string' ? Buffer.byteLength(buf) : (rest[1] ?? buf.length);
      }
      return fs.writeSync(fd, buf, ...rest);
    };
    const realRequire = createRequire(this.file);
    const req = (id) => (id === 'fs' || id === 'node:fs' ? quietFs : realRequire(id));
    const fakeProcess = Object.create(process);
    Object.defineProperty(fakeProcess, 'argv', { value: [process.execPath, this.file] });
    let ready;
    const initialised = new Promise((r) => { ready = r; });
    const Module = {
      noInitialRun: true,
      noExitRuntime: true,
      onRuntimeInitialized: () => ready(),
      print: (s) => { self.output = (self.output + s + '\n').slice(-4000); },
      printErr: (s) => { self.output = (self.output + s + '\n').slice(-4000); },
    };
    // eslint-disable-next-line no-new-func
    const factory = new Function('Module', 'require', '__filename', '__dirname', 'module', 'process', `${src}\n;return (args) => callMain(args);`);
    this.main = factory(Module, req, this.file, path.dirname(this.file), undefined, fakeProcess);
    await initialised;
    this.runs = 0;
    this.broken = false;
  }

  /** Run the tool with `args`; returns { status, output }. Never throws for tool failures. */
  run(args) {
    this.output = '';
    let status;
    try {
      status = this.main(args);
    } catch (e) {
      // exit(n) inside the tool throws an ExitStatus; anything else (an abort) leaves it unusable.
      if (e?.name !== 'ExitStatus') this.broken = true;
      status = typeof e?.status === 'number' ? e.status : 1;
      this.output += String(e?.message ?? e);
    }
    this.runs++;
    return { status: status ?? 0, output: this.output };
  }

  get stale() {
    return this.broken || this.runs >= RELOAD_AFTER;
  }
}
