// The spectest worker: runs the commands of ONE wast2json .json file against one engine, in its own process
// (started by spectest.ts), so that a crash or a hang only takes this file down.
//
// Protocol: JSON lines written synchronously to fd 3 (so nothing is lost if the process aborts right after):
//   {t:'at', line, type}      before each command (the parent learns where a crash happened)
//   {t:'fail', line, msg}     the current command failed
//   {t:'skip', line}          the current command was skipped (text-format module)
//   {t:'note', line, msg}     extra information (printed with --verbose)
//   {t:'fatal', msg}          the file could not be run at all
//   {t:'done'}                finished
// A command with neither 'fail' nor 'skip' before the next 'at' / 'done' passed.

import { readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { Features } from '../decode/features.js';
import { Engine, type EngineName, type SpectestModule, type WasmInstance, errorText, loadEngineApi, makeSpectest } from './spectest-engine.js';
import {
  HarnessError,
  type Raw,
  type WastValue,
  formatActual,
  formatExpected,
  formatValues,
  isNaNSensitive,
  isRefKind,
  jsToRaw,
  makeHostRefs,
  matches,
  parseArg,
  rawToJS,
  resultType,
} from './spectest-values.js';
import { type ValTypeName, isValTypeName } from './spectest-wasm.js';

export interface WorkerOptions {
  file: string;
  engine: EngineName;
  features: Partial<Features>;
  lazy?: boolean;
  threads?: number;
  batchBytes?: number;
  /** Provide the spectest `table64` export. */
  table64: boolean;
  /** Call exports from JS even for NaN / v128 values (no wasm call wrappers). */
  directCalls: boolean;
  /** Testing the runner: abort / hang at the first assertion of a file whose path contains this. */
  debugAbortOn?: string;
  debugHangOn?: string;
}

interface Action {
  type: string;
  module?: string;
  field: string;
  args?: WastValue[];
}

interface Command {
  type: string;
  line: number;
  filename?: string;
  /** Wasm 3.0 groups: the binary of a quoted (text) module, when the text encodes. */
  binary_filename?: string;
  name?: string;
  /** module_instance: the instance's name and the module definition it instantiates. */
  instance?: string;
  module?: string;
  as?: string;
  text?: string;
  module_type?: string;
  action?: Action;
  expected?: WastValue[];
}

interface Slot {
  line: number;
  instance: WasmInstance | null;
  error: string | null;
}

function send(msg: object): void {
  const data = Buffer.from(JSON.stringify(msg) + '\n');
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(3, data, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

class FileRun {
  private current: Slot | null = null;
  private named = new Map<string, Slot>();
  /** Compiled `module definition`s by name, for `module instance`. */
  private definitions = new Map<string, { module: object | null; error: string | null }>();
  private registered = new Map<string, Record<string, unknown>>();
  private hostRefs = makeHostRefs();
  private spectest: SpectestModule;
  private dir: string;
  private line = 0;
  private failedThis = false;

  constructor(
    private opts: WorkerOptions,
    private engine: Engine,
  ) {
    this.dir = path.dirname(opts.file);
    this.spectest = makeSpectest(engine, opts.table64);
    if (this.spectest.problems.length > 0) {
      this.note(`spectest host module incomplete: ${this.spectest.problems.join('; ')}`);
    }
  }

  private fail(msg: string): void {
    if (this.failedThis) return; // one failure per command
    this.failedThis = true;
    send({ t: 'fail', line: this.line, msg: oneLine(msg) });
  }
  private note(msg: string): void {
    send({ t: 'note', line: this.line, msg: oneLine(msg) });
  }

  run(commands: Command[]): void {
    for (const c of commands) {
      this.line = typeof c.line === 'number' ? c.line : 0;
      this.failedThis = false;
      send({ t: 'at', line: this.line, type: c.type });
      this.debugHooks(c);
      try {
        this.command(c);
      } catch (e) {
        this.fail(`${c.type}: ${e instanceof HarnessError ? e.message : 'runner error: ' + errorText(e)}`);
      }
    }
  }

  private debugHooks(c: Command): void {
    if (!c.type.startsWith('assert_')) return;
    if (this.opts.debugAbortOn !== undefined && this.opts.file.includes(this.opts.debugAbortOn)) process.abort();
    if (this.opts.debugHangOn !== undefined && this.opts.file.includes(this.opts.debugHangOn)) {
      for (;;) {
        /* hang on purpose */
      }
    }
  }

  private command(c: Command): void {
    switch (c.type) {
      case 'module':
        return this.module(c);
      case 'module_definition':
        return this.moduleDefinition(c);
      case 'module_instance':
        return this.moduleInstance(c);
      case 'register':
        return this.register(c);
      case 'action':
        return this.action(c);
      case 'assert_return':
        return this.assertReturn(c);
      case 'assert_trap':
      case 'assert_exhaustion':
        return this.assertTrap(c);
      case 'assert_exception':
        return this.assertException(c);
      case 'assert_invalid':
      case 'assert_malformed':
        return this.assertNoCompile(c);
      case 'assert_unlinkable':
      case 'assert_uninstantiable':
        return this.assertNoInstance(c);
      case 'assert_malformed_custom':
      case 'assert_invalid_custom':
        // custom-section annotations are a text-format matter: the binary has no such sections to check
        send({ t: 'skip', line: this.line });
        return;
      default:
        return this.fail(`unsupported command type ${JSON.stringify(c.type)}`);
    }
  }

  // ---- modules ----

  /** A text module without a binary: a binary-only runner skips it. */
  private isText(c: Command): boolean {
    if (c.binary_filename) return false;
    return c.module_type === 'text' || (c.filename ?? '').endsWith('.wat');
  }

  private binaryName(c: Command): string | undefined {
    return c.binary_filename ?? c.filename;
  }

  private bytes(c: Command): Uint8Array {
    const file = this.binaryName(c);
    if (!file) throw new HarnessError('command has no filename');
    try {
      return readFileSync(path.join(this.dir, file));
    } catch (e) {
      throw new HarnessError(`cannot read ${file}: ${(e as Error).message}`);
    }
  }

  private imports(): Record<string, unknown> {
    const imp: Record<string, unknown> = { spectest: this.spectest.exports };
    for (const [k, v] of this.registered) imp[k] = v;
    return imp;
  }

  private linkHint(e: unknown): string {
    if (!this.engine.isLinkError(e) || this.spectest.problems.length === 0) return '';
    return ` [spectest exports not available: ${this.spectest.problems.map((p) => p.split(':')[0]).join(', ')}]`;
  }

  private module(c: Command): void {
    const slot: Slot = { line: this.line, instance: null, error: null };
    this.current = slot;
    if (c.name) this.named.set(c.name, slot);
    if (this.isText(c)) {
      slot.error = `text-format module at line ${this.line} was skipped`;
      send({ t: 'skip', line: this.line });
      return;
    }
    let stage = 'compile';
    try {
      const bytes = this.bytes(c);
      const m = this.engine.compile(bytes);
      stage = 'instantiate';
      slot.instance = this.engine.instantiate(m, this.imports());
    } catch (e) {
      const what = e instanceof HarnessError ? e.message : errorText(e);
      slot.error = `module ${c.filename ?? ''} (line ${this.line}) failed to ${stage}: ${what}`;
      this.fail(`module ${c.filename ?? ''}: failed to ${stage}: ${what}${this.linkHint(e)}`);
    }
  }

  /** `(module definition $M ...)`: compiled, not instantiated (`module_instance` does that). */
  private moduleDefinition(c: Command): void {
    const def: { module: object | null; error: string | null } = { module: null, error: null };
    if (c.name) this.definitions.set(c.name, def);
    if (this.isText(c)) {
      def.error = `text-format module definition at line ${this.line} was skipped`;
      send({ t: 'skip', line: this.line });
      return;
    }
    try {
      def.module = this.engine.compile(this.bytes(c));
    } catch (e) {
      const what = e instanceof HarnessError ? e.message : errorText(e);
      def.error = `module definition ${this.binaryName(c) ?? ''} (line ${this.line}) failed to compile: ${what}`;
      this.fail(`module definition ${this.binaryName(c) ?? ''}: failed to compile: ${what}`);
    }
  }

  /** `(module instance $I $M)`: a new instance of a definition; it becomes the current module. */
  private moduleInstance(c: Command): void {
    const slot: Slot = { line: this.line, instance: null, error: null };
    this.current = slot;
    if (c.instance) this.named.set(c.instance, slot);
    const def = c.module === undefined ? undefined : this.definitions.get(c.module);
    if (!def) throw new HarnessError(`no module definition named ${c.module}`);
    if (!def.module) {
      slot.error = def.error;
      throw new HarnessError(def.error ?? `module definition ${c.module} is not available`);
    }
    try {
      slot.instance = this.engine.instantiate(def.module, this.imports());
    } catch (e) {
      slot.error = `module instance ${c.instance ?? ''} (line ${this.line}) failed to instantiate: ${errorText(e)}`;
      this.fail(`module instance ${c.instance ?? ''} of ${c.module}: failed to instantiate: ${errorText(e)}${this.linkHint(e)}`);
    }
  }

  private slotFor(name: string | undefined): WasmInstance {
    const slot = name === undefined ? this.current : this.named.get(name);
    if (!slot) throw new HarnessError(name === undefined ? 'no module defined yet' : `no module named ${name}`);
    if (!slot.instance) throw new HarnessError(slot.error ?? `module at line ${slot.line} is not available`);
    return slot.instance;
  }

  private register(c: Command): void {
    if (!c.as) throw new HarnessError('register without "as"');
    this.registered.set(c.as, this.slotFor(c.name).exports);
  }

  private assertNoCompile(c: Command): void {
    if (this.isText(c)) {
      send({ t: 'skip', line: this.line });
      return;
    }
    const bytes = this.bytes(c);
    const file = this.binaryName(c);
    try {
      this.engine.compile(bytes);
    } catch (e) {
      if (this.engine.isCompileError(e)) return; // passed
      return this.fail(`${c.type} ${file}: expected CompileError (${JSON.stringify(c.text)}), got ${errorText(e)}`);
    }
    this.fail(`${c.type} ${file}: expected CompileError (${JSON.stringify(c.text)}), but the module compiled`);
  }

  private assertNoInstance(c: Command): void {
    if (this.isText(c)) {
      send({ t: 'skip', line: this.line });
      return;
    }
    const linkError = c.type === 'assert_unlinkable';
    const want = linkError ? 'LinkError' : 'RuntimeError';
    const head = `${c.type} ${c.filename}: expected ${want} (${JSON.stringify(c.text)})`;
    let m: object;
    try {
      m = this.engine.compile(this.bytes(c));
    } catch (e) {
      if (e instanceof HarnessError) throw e;
      return this.fail(`${head}, but the module failed to compile: ${errorText(e)}`);
    }
    try {
      this.engine.instantiate(m, this.imports());
    } catch (e) {
      const ok = linkError ? this.engine.isLinkError(e) : this.engine.isRuntimeError(e);
      if (ok) {
        this.noteMessage(e as Error, c.text);
        return;
      }
      return this.fail(`${head}, got ${errorText(e)}`);
    }
    this.fail(`${head}, but the module instantiated`);
  }

  // ---- actions ----

  private describeAction(a: Action | undefined): string {
    if (!a) return '(no action)';
    const mod = a.module ? `${a.module} ` : '';
    if (a.type === 'get') return `get ${mod}${JSON.stringify(a.field)}`;
    const args = (a.args ?? []).map(formatExpected).join(', ');
    return `${a.type} ${mod}${JSON.stringify(a.field)}(${args})`;
  }

  /**
   * Performs the action. Returns the results as Raws when `expected` (the result types) is given, else null.
   * Engine exceptions propagate; harness problems throw HarnessError.
   */
  private perform(a: Action | undefined, expected: WastValue[] | undefined, wantResults: boolean): Raw[] | null {
    if (!a) throw new HarnessError('command has no action');
    const inst = this.slotFor(a.module);
    const target = inst.exports[a.field];
    if (a.type === 'get') {
      if (typeof target !== 'object' || target === null || !('value' in target)) {
        throw new HarnessError(`no exported global ${JSON.stringify(a.field)}`);
      }
      const type = expected?.[0]?.type;
      if (!wantResults || type === undefined) {
        void (target as { value: unknown }).value;
        return null;
      }
      if (!this.opts.directCalls && isNaNSensitive(expected![0]!) && isValTypeName(type)) {
        return [this.engine.getWrapped(target, type)];
      }
      return [jsToRaw(type, (target as { value: unknown }).value)];
    }
    if (a.type !== 'invoke') throw new HarnessError(`unsupported action type ${JSON.stringify(a.type)}`);
    if (typeof target !== 'function') throw new HarnessError(`no exported function ${JSON.stringify(a.field)}`);
    const argVals = a.args ?? [];
    const args = argVals.map((v) => parseArg(v, this.hostRefs.get));
    if (wantResults && expected !== undefined && expected.some((v) => v.type === 'exnref' || v.type === 'nullexnref')) {
      // the expectation's kind need not be the result's type ((ref.null noexn) from an exnref function)
      if (expected.length !== 1) return this.invokeNullTest(target, argVals, expected, args, expected.map((v) => v.type));
      return this.invokeNullTestAny(target, argVals, expected, args);
    }
    const sensitive = argVals.some(isNaNSensitive) || (expected ?? []).some(isNaNSensitive);
    if (!this.opts.directCalls && sensitive && expected !== undefined) {
      const params = argVals.map((v) => v.type);
      const results = expected.map(resultType);
      const all = [...params, ...results];
      if (all.every(isValTypeName)) {
        const raws = this.engine.invokeWrapped(
          target,
          { params: params as ValTypeName[], results: results as ValTypeName[] },
          args,
        );
        return wantResults ? raws : null;
      }
    }
    if (expected === undefined && !this.opts.directCalls && argVals.some((v) => v.type === 'v128')) {
      this.invokeUntyped(target, argVals, args);
      return null;
    }
    let r: unknown;
    try {
      r = (target as (...x: unknown[]) => unknown)(...args.map(rawToJS));
    } catch (e) {
      // The Wasm 3.0 groups do not give the result types of actions and assert_trap: a TypeError is the JS API
      // refusing a v128 or exnref result, so call through a wrapper instead
      if (expected === undefined && e instanceof TypeError && !this.opts.directCalls) {
        this.invokeUntyped(target, argVals, args);
        return null;
      }
      // `(ref.null)` of a type that cannot reach JS (exnref, nullexnref): see whether wasm sees a null
      const retry = wantResults && expected?.length === 1 && expected[0]!.type === 'refnull' && e instanceof TypeError;
      if (!retry) throw e;
      return this.invokeNullTestAny(target, argVals, expected!, args);
    }
    if (!wantResults || expected === undefined) return null;
    const n = expected.length;
    let list: unknown[];
    if (n === 0) {
      if (r !== undefined) throw new HarnessError(`expected no result, got ${formatJS(r)}`);
      list = [];
    } else if (n === 1) {
      list = [r];
    } else {
      if (!Array.isArray(r)) throw new HarnessError(`expected ${n} results (an array), got ${formatJS(r)}`);
      list = r;
      if (list.length !== n) throw new HarnessError(`expected ${n} results, got ${list.length}`);
    }
    return list.map((x, i) => jsToRaw(expected[i]!.type, x));
  }

  /**
   * Calls an export whose result types are not known (an action, assert_trap) through the first wrapper whose
   * type links: no result, one numeric or v128 result, one exnref.
   */
  private invokeUntyped(target: object, argVals: WastValue[], args: Raw[]): void {
    const params = argVals.map((v) => v.type);
    if (!params.every(isValTypeName)) throw new HarnessError(`cannot pass ${params.join(', ')} through a call wrapper`);
    for (const results of UNTYPED_RESULT_CANDIDATES) {
      const sig = { params: params as ValTypeName[], results };
      if (results[0] === 'exnref') {
        try {
          this.engine.invokeNullTest(target, sig, args);
          return;
        } catch (e) {
          if (this.engine.isLinkError(e)) continue;
          throw e;
        }
      }
      if (this.engine.invokeWrappedIf(target, sig, args, true) !== null) return;
    }
    throw new HarnessError('the export cannot be called from JS, and no call wrapper type matches it');
  }

  /** One result that cannot reach JS, of type exnref or nullexnref: the wrapper whose type links. */
  private invokeNullTestAny(target: object, argVals: WastValue[], expected: WastValue[], args: Raw[]): Raw[] {
    let last: unknown = null;
    for (const t of ['exnref', 'nullexnref']) {
      try {
        return this.invokeNullTest(target, argVals, expected, args, [t]);
      } catch (e) {
        if (!this.engine.isLinkError(e)) throw e;
        last = e;
      }
    }
    throw last;
  }

  /** Results that cannot reach JS: read through a wasm wrapper that tests them for null. */
  private invokeNullTest(target: object, argVals: WastValue[], expected: WastValue[], args: Raw[], results: string[]): Raw[] {
    const params = argVals.map((v) => v.type);
    const all = [...params, ...results];
    if (!all.every(isValTypeName) || !results.every(isRefKind)) {
      throw new HarnessError(`cannot call an export with results ${expected.map((v) => v.type).join(', ')} from JS or a wrapper`);
    }
    const raws = this.engine.invokeNullTest(target, { params: params as ValTypeName[], results: results as ValTypeName[] }, args);
    return raws.map((r, i) => ({ t: expected[i]!.type, v: r.v }) as Raw);
  }

  private action(c: Command): void {
    try {
      this.perform(c.action, c.expected, false);
    } catch (e) {
      if (e instanceof HarnessError) throw e;
      this.fail(`action ${this.describeAction(c.action)}: threw ${errorText(e)}`);
    }
  }

  private assertReturn(c: Command): void {
    const head = `assert_return ${this.describeAction(c.action)}`;
    const expected = c.expected ?? [];
    let results: Raw[];
    try {
      results = this.perform(c.action, expected, true)!;
    } catch (e) {
      if (e instanceof HarnessError) return this.fail(`${head}: ${e.message}`);
      return this.fail(`${head}: expected ${formatValues(expected) || 'no result'}, got ${errorText(e)}`);
    }
    const describe = this.hostRefs.describe;
    const ok = results.length === expected.length && expected.every((ev, i) => matches(ev, results[i]!, this.hostRefs.get));
    if (!ok) {
      const got = results.map((r, i) => formatActual(r, expected[i], describe)).join(', ');
      this.fail(`${head}: expected ${formatValues(expected) || 'no result'}, got ${got || 'no result'}`);
    }
  }

  private assertTrap(c: Command): void {
    const exhaustion = c.type === 'assert_exhaustion';
    const head = `${c.type} ${this.describeAction(c.action)}`;
    const want = `${exhaustion ? 'stack exhaustion' : 'a trap'} (${JSON.stringify(c.text)})`;
    let results: Raw[] | null;
    try {
      results = this.perform(c.action, c.expected, false);
    } catch (e) {
      if (e instanceof HarnessError) return this.fail(`${head}: ${e.message}`);
      if (this.engine.isRuntimeError(e)) {
        this.noteMessage(e as Error, c.text);
        return;
      }
      if (exhaustion && e instanceof RangeError && /call stack/i.test(e.message)) return;
      return this.fail(`${head}: expected ${want}, got ${errorText(e)}`);
    }
    void results;
    this.fail(`${head}: expected ${want}, but it returned`);
  }

  /** assert_exception: the action must end in an uncaught wasm exception (a WebAssembly.Exception in JS). */
  private assertException(c: Command): void {
    const head = `${c.type} ${this.describeAction(c.action)}`;
    try {
      this.perform(c.action, c.expected, false);
    } catch (e) {
      if (e instanceof HarnessError) return this.fail(`${head}: ${e.message}`);
      if (Object.prototype.toString.call(e) === '[object WebAssembly.Exception]') return;
      return this.fail(`${head}: expected a wasm exception, got ${errorText(e)}`);
    }
    this.fail(`${head}: expected a wasm exception, but it returned`);
  }

  /** With --verbose, says when an error's wording differs from the expected text (not a failure). */
  private noteMessage(e: Error, text: string | undefined): void {
    if (!text) return;
    const got = String(e.message).toLowerCase();
    if (!got.includes(text.toLowerCase())) this.note(`message ${JSON.stringify(e.message)}, expected ${JSON.stringify(text)}`);
  }
}

const UNTYPED_RESULT_CANDIDATES: ValTypeName[][] = [[], ['i32'], ['i64'], ['f32'], ['f64'], ['v128'], ['exnref']];

function formatJS(x: unknown): string {
  if (typeof x === 'bigint') return `${x}n`;
  if (typeof x === 'function') return 'a function';
  if (Array.isArray(x)) return `[${x.map(formatJS).join(', ')}]`;
  return String(x);
}

async function main(): Promise<void> {
  let opts: WorkerOptions;
  try {
    opts = JSON.parse(process.argv[2] ?? '') as WorkerOptions;
  } catch {
    send({ t: 'fatal', msg: 'spectest worker: bad options (this file is started by `quickbeam spectest`)' });
    process.exit(2);
  }
  try {
    let data: { commands?: unknown };
    try {
      data = JSON.parse(readFileSync(opts.file, 'utf8')) as { commands?: unknown };
    } catch (e) {
      throw new HarnessError(`cannot read ${opts.file}: ${(e as Error).message}`);
    }
    if (!Array.isArray(data.commands)) throw new HarnessError(`${opts.file} is not a wast2json file (no "commands")`);
    let api;
    try {
      api = await loadEngineApi(opts.engine);
    } catch (e) {
      throw new HarnessError(`cannot load the ${opts.engine} engine: ${errorText(e)}`);
    }
    const engine = new Engine(opts.engine, api, opts.features, { lazy: opts.lazy, threads: opts.threads, batchBytes: opts.batchBytes });
    new FileRun(opts, engine).run(data.commands as Command[]);
  } catch (e) {
    send({ t: 'fatal', msg: oneLine(e instanceof HarnessError ? e.message : errorText(e)) });
    process.exit(1);
  }
  send({ t: 'done' });
  process.exit(0);
}

await main();
