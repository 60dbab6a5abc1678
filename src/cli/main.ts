// `pscl`: the command line over the same core as the extension. Each command family lives in
// src/cli/commands/<name>.ts and is registered in the table below.
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

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`pscl: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`pscl: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = 70;
    }
  },
);
