import { parseArgs, type ParseArgsConfig } from 'node:util';
import { choosePython } from '../core/runs/python';

export interface Command {
  /** Shown for `pscl <name> --help`. */
  help: string;
  /** The words that may follow the command name (shell completion). */
  subcommands?: readonly string[];
  /** Returns the process exit code. */
  run(argv: string[]): Promise<number>;
}

/** A command in the `pscl` table: its one-line summary, loaded when it runs. */
export interface CommandEntry {
  summary: string;
  load: () => Promise<Command>;
}

/** An expected failure: printed as `pscl: message` without a stack trace. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** node:util parseArgs with errors turned into CliErrors that name the command. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (err) {
    throw new CliError(`${command}: ${(err as Error).message}\nrun 'pscl ${command} --help' for its options`);
  }
}

/** Fails with a clear message when a required option is missing. */
export function required<T>(command: string, name: string, value: T | undefined): T {
  if (value === undefined || value === '') throw new CliError(`${command}: --${name} is required\nrun 'pscl ${command} --help' for its options`);
  return value;
}

/** The trainer's interpreter: --python, else $PSCL_PYTHON, else python3 on PATH (src/core/runs/python.ts). */
export function pythonFrom(option: string | undefined): string {
  return choosePython(option, process.env.PSCL_PYTHON);
}

