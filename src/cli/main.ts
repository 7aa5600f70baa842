// The `quickbeam` command line: subcommand dispatch and help. Subcommands live in the COMMANDS table below and
// are loaded lazily, so `quickbeam --help` works even when a command's module (or the engine) is broken.
//
// Conventions for commands: `run(args)` resolves to the exit status; throw CliError(message, status) for a
// one-line error (status 2 = usage error). Any other exception is printed as one line, never a stack dump
// (set QUICKBEAM_DEBUG=1 to see the stack).

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startupMark } from '../startup-trace.js';
import { isCompilerNeeded } from './compiler-presence.js';

/** An error shown to the user as one line on stderr; `exitCode` is the process exit status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface CommandEntry {
  name: string;
  /** One line for `quickbeam --help`. */
  summary: string;
  /** The full help text (`quickbeam help NAME`, `quickbeam NAME --help`). */
  help: () => Promise<string>;
  run: (args: string[]) => Promise<number>;
}

function notImplemented(name: string, summary: string, usage: string): CommandEntry {
  return {
    name,
    summary,
    help: async () => `Usage: quickbeam ${usage}\n\n${summary} (not implemented yet)`,
    run: async () => {
      process.stderr.write(`quickbeam ${name}: not implemented yet\n`);
      return 2;
    },
  };
}

export const COMMANDS: CommandEntry[] = [
  {
    name: 'run',
    summary: 'Run a WebAssembly module (WASI command, or --invoke an exported function)',
    help: async () => (await import('./run.js')).runHelp(),
    run: async (args) => (await import('./run.js')).runCommand(args),
  },
  {
    name: 'compile',
    summary: 'Compile a module and report or dump the generated code',
    help: async () => (await import('./compile-cmd.js')).compileHelp(),
    run: async (args) => (await import('./compile-cmd.js')).compileCommand(args),
  },
  {
    name: 'compare',
    summary: 'Run a module on Quickbeam and on V8 (Liftoff, TurboFan) and compare results and times',
    help: async () => (await import('./compare.js')).compareHelp(),
    run: async (args) => (await import('./compare.js')).compareCommand(args),
  },
  {
    name: 'spectest',
    summary: 'Run wast2json spec tests (.json) against Quickbeam or V8',
    help: async () => (await import('./spectest.js')).spectestHelp(),
    run: async (args) => (await import('./spectest.js')).spectestCommand(args),
  },
];

function findCommand(name: string): CommandEntry {
  const c = COMMANDS.find((x) => x.name === name);
  if (!c) throw new CliError(`unknown command ${JSON.stringify(name)} (see quickbeam --help)`, 2);
  return c;
}

function version(): string {
  try {
    const pkgUrl = new URL('../../../package.json', import.meta.url); // dist/src/cli -> project root
    return (JSON.parse(readFileSync(pkgUrl, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: quickbeam COMMAND [options] [args]

Quickbeam: a single-pass WebAssembly baseline JIT for x86-64.

Commands:
${lines.join('\n')}

  quickbeam help COMMAND, quickbeam COMMAND --help   help for one command
  quickbeam --version                               print the version`;
}

function isHelpFlag(a: string): boolean {
  return a === '--help' || a === '-h';
}

async function dispatch(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(generalHelp() + '\n');
    return 2;
  }
  if (isHelpFlag(first)) {
    console.log(generalHelp());
    return 0;
  }
  if (first === '--version' || first === '-V') {
    console.log(version());
    return 0;
  }
  if (first === 'help') {
    if (rest.length === 0) {
      console.log(generalHelp());
      return 0;
    }
    console.log(await findCommand(rest[0]!).help());
    return 0;
  }
  if (first.startsWith('-')) throw new CliError(`unknown option ${first} (see quickbeam --help)`, 2);
  const cmd = findCommand(first);
  // `COMMAND --help` (before any `--` that ends the options)
  const end = rest.indexOf('--');
  if ((end < 0 ? rest : rest.slice(0, end)).some(isHelpFlag)) {
    console.log(await cmd.help());
    return 0;
  }
  startupMark(`cli: ${cmd.name}`);
  const status = await cmd.run(rest);
  startupMark(`cli: ${cmd.name} finished`);
  return status;
}

/** Runs the CLI with the given arguments (without `node` and the script) and resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (e) {
    if (isCompilerNeeded(e)) throw e; // (bin/quickbeam.js runs the command again with the full CLI)
    const code = typeof (e as { exitCode?: unknown })?.exitCode === 'number' ? (e as { exitCode: number }).exitCode : 1;
    // By name too: in the bundled CLI (dist/quickbeam.cjs) the compile/compare/spectest commands are separate
    // modules with their own copy of this one, hence of CliError.
    const isCliError = e instanceof CliError || (e instanceof Error && e.name === 'CliError');
    const msg = e instanceof Error ? (isCliError ? e.message : `${e.name}: ${e.message}`) : String(e);
    process.stderr.write(`quickbeam: ${msg.split('\n')[0]}\n`);
    if (process.env['QUICKBEAM_DEBUG'] && e instanceof Error && e.stack) process.stderr.write(e.stack + '\n');
    return code;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    // realpathSync.native: one realpath(3) each instead of an lstat per path component (0.3 ms at start-up).
    return realpathSync.native(script) === realpathSync.native(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

// No top-level await here: spectest.ts imports CliError from this module, and a pending top-level await would
// make its dynamic import wait for this module forever.
if (isEntryPoint()) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
