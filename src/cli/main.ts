// `pscl`: the command line over the same core as the extension. Each command family lives in
// src/cli/commands/<name>.ts and is registered, by topic, in registry.ts.
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
