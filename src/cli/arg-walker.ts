// The argument loop the subcommands share: operands (and everything after `--`) and `--name[=value]` options.

import { CliError } from './main.js';

/** An option as a subcommand's switch sees it. */
export interface CliOption {
  /** `--name` (without any `=value`). */
  readonly name: string;
  /** The option's value: `--name=value`, or else the next argument (a usage error when there is none). */
  value(): string;
  /** A usage error when the option was given a value (`--flag=x`). */
  noValue(): void;
}

/**
 * Walk `args` for subcommand `command`: each operand goes to `operand`, each option to `option` (which
 * throws for an unknown one). `-` is an operand (stdin).
 */
export function walkArgs(command: string, args: readonly string[], operand: (arg: string) => void, option: (o: CliOption) => void): void {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      for (const a of args.slice(i + 1)) operand(a);
      return;
    }
    if (!arg.startsWith('-') || arg === '-') {
      operand(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
    option({
      name,
      value: () => {
        if (inline !== undefined) return inline;
        const v = args[++i];
        if (v === undefined) throw new CliError(`${command}: ${name} needs a value`, 2);
        return v;
      },
      noValue: () => {
        if (inline !== undefined) throw new CliError(`${command}: ${name} takes no value`, 2);
      },
    });
  }
}
