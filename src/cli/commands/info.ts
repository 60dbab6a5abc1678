import { promises as fs } from 'node:fs';
import path from 'node:path';
import { loadImages } from '../../core/taxonomy/importers';
import { parseProject } from '../../core/taxonomy/project';
import { formatSummary, summarizeProject } from '../../core/taxonomy/summary';
import { CliError, parseOptions, type Command } from '../command';

const help = `usage: pscl info FILE.pscl.json [--json]

Prints the levels (kind, number of distinct values), classes, parts and images per split.
--json prints one JSON object instead.`;

export const command: Command = {
  help,
  async run(argv) {
    const { values, positionals } = parseOptions('info', argv, { json: { type: 'boolean', default: false } }, true);
    if (positionals.length !== 1) throw new CliError("info: name one project file\nrun 'pscl info --help' for its options");
    const file = path.resolve(positionals[0]);
    const text = await fs.readFile(file, 'utf8').catch((err: Error) => {
      throw new CliError(`info: cannot read ${positionals[0]}: ${err.message}`, 1);
    });
    const parsed = parseProject(text, file);
    const fatal = parsed.diagnostics.find((d) => d.severity === 'error');
    if (!parsed.project || fatal) {
      const where = fatal ? `${positionals[0]}:${fatal.range.start.line + 1}:${fatal.range.start.character + 1}: ${fatal.message}` : positionals[0];
      throw new CliError(`info: ${where}\nrun 'pscl validate ${positionals[0]}' for every problem`, 1);
    }
    let imagesError: string | undefined;
    const loaded = await loadImages(parsed.project, file).catch((err: Error) => {
      imagesError = err.message;
      return undefined;
    });
    const summary = summarizeProject(parsed.project, loaded?.images);
    if (values.json) {
      process.stdout.write(JSON.stringify({ file, ...summary, imagesError, warnings: loaded?.warnings ?? [] }) + '\n');
    } else {
      const lines = formatSummary(summary);
      if (imagesError) lines.push(`images: not available (${imagesError})`);
      for (const w of loaded?.warnings ?? []) lines.push(`warning: ${w}`);
      process.stdout.write(lines.join('\n') + '\n');
    }
    return 0;
  },
};
