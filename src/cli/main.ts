// `pscl`: the command line over the same core as the extension. Each command family lives in
// src/cli/commands/<name>.ts and is registered in the table below.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errorKind } from '../core/errors';
import { psclCacheRoot } from '../core/util/cacheDir';
import { CliError, type Command } from './command';

const commands: Record<string, () => Promise<Command>> = {
  cache: () => import('./commands/cache').then((m) => m.command),
  classify: () => import('./commands/classify').then((m) => m.command),
  clip: () => import('./commands/clip').then((m) => m.command),
  eval: () => import('./commands/eval').then((m) => m.command),
  import: () => import('./commands/import').then((m) => m.command),
  info: () => import('./commands/info').then((m) => m.command),
  lint: () => import('./commands/lint').then((m) => m.command),
  masks: () => import('./commands/masks').then((m) => m.command),
  model: () => import('./commands/model').then((m) => m.command),
  runs: () => import('./commands/runs').then((m) => m.command),
  suggest: () => import('./commands/suggest').then((m) => m.command),
  train: () => import('./commands/train').then((m) => m.command),
  validate: () => import('./commands/validate').then((m) => m.command),
};

function usage(): string {
  const names = Object.keys(commands).sort();
  return [
    'usage: pscl <command> [options]',
    '',
    'commands:',
    ...names.map((n) => `  ${n}`),
    '',
    "run 'pscl <command> --help' for a command's options",
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`pscl: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  const command = await load();
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
