// `pscl`: the command line over the same core as the extension. Each command family lives in
// src/cli/commands/<name>.ts and is registered, by topic, in registry.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorKind } from '../core/errors';
import { psclCacheRoot } from '../core/util/cacheDir';
import { CliError } from './command';
import { COMMANDS, TOPICS, version } from './registry';

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length)) + 2;
  return [
    `pscl ${version()}: datasets, prompts, part masks and training for PSCL fine-grained classification`,
    '',
    'usage: pscl <command> [options]',
    ...TOPICS.flatMap(([topic, entries]) => ['', `${topic}:`, ...Object.entries(entries).map(([name, e]) => `  ${name.padEnd(width)}${e.summary}`)]),
    '',
    "'pscl <command> --help' shows a command's options; 'pscl --version' the version.",
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    process.stderr.write(`pscl: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help + '\n');
    return 0;
  }
  return command.run(rest);
}

/** The stack trace of an internal error, for a bug report; undefined when it cannot be written. */
function writeCrashLog(err: unknown): string | undefined {
  try {
    const dir = path.join(psclCacheRoot(), 'logs');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `pscl-${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}.log`);
    const detail = err instanceof Error ? err.stack ?? err.message : String(err);
    writeFileSync(file, `pscl ${process.argv.slice(2).join(' ')}\nnode ${process.version}, ${process.platform}\n\n${detail}\n`);
    return file;
  } catch {
    return undefined;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`pscl: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else if (errorKind(err) !== 'internal') {
      // an expected failure from the core (bad input, auth, network, cancelled): its message says it all
      process.stderr.write(`pscl: ${(err as Error).message}\n`);
      process.exitCode = errorKind(err) === 'cancelled' ? 130 : 1;
    } else {
      const message = err instanceof Error ? err.message : String(err);
      const log = writeCrashLog(err);
      process.stderr.write(
        log
          ? `pscl: internal error: ${message.split('\n')[0]}\nthis is a bug in pscl, not a problem with your files; the details are in ${log}\n`
          : `pscl: internal error: ${err instanceof Error ? err.stack ?? message : message}\n`,
      );
      process.exitCode = 70;
    }
  },
);
