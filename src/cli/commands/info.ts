import { loadImages } from '../../core/taxonomy/importers';
import { formatSummary, summarizeProject } from '../../core/taxonomy/summary';
import { CliError, parseOptions, type Command } from '../command';
import { loadProjectOrFail } from '../project';

const help = `usage: pscl info FILE.pscl.json [--json]

Prints the levels (kind, number of distinct values), classes, parts and images per split.
--json prints one JSON object instead.`;

export const command: Command = {
  help,
  async run(argv) {
    const { values, positionals } = parseOptions('info', argv, { json: { type: 'boolean', default: false } }, true);
    if (positionals.length !== 1) throw new CliError("info: name one project file\nrun 'pscl info --help' for its options");
    const { file, project } = await loadProjectOrFail('info', positionals[0]);
    let imagesError: string | undefined;
    const loaded = await loadImages(project, file).catch((err: Error) => {
      imagesError = err.message;
      return undefined;
    });
    const summary = summarizeProject(project, loaded?.images);
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
