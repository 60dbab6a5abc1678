import path from 'node:path';
import { formatDiagnostic, type Diagnostic } from '../../core/taxonomy/diagnostics';
import { datasetClassIds, datasetRoot } from '../../core/taxonomy/importers';
import { parseProject } from '../../core/taxonomy/project';
import { validateProject } from '../../core/taxonomy/validate';
import { readUtf8File, TextEncodingError } from '../../core/util/textFile';
import { CliError, parseOptions, type Command } from '../command';

const help = `usage: pscl validate FILE.pscl.json... [--no-dataset]

Checks project files: syntax, structure, levels and nesting, parts, templates, and (unless
--no-dataset) that the classes match the dataset's own class list. Prints one line per problem:
FILE:LINE:COL: severity: message [code]. Exits 1 when any file has an error.`;

export const command: Command = {
  help,
  async run(argv) {
    const { values, positionals } = parseOptions('validate', argv, { 'no-dataset': { type: 'boolean', default: false } }, true);
    if (positionals.length === 0) throw new CliError('validate: name at least one project file\nrun \'pscl validate --help\' for its options');
    let errors = 0;
    let warnings = 0;
    for (const file of positionals) {
      const diags = await check(file, !values['no-dataset']);
      for (const d of diags) {
        if (d.severity === 'error') errors++;
        else if (d.severity === 'warning') warnings++;
        process.stdout.write(formatDiagnostic(file, d) + '\n');
      }
    }
    const files = positionals.length === 1 ? '1 file' : `${positionals.length} files`;
    process.stdout.write(`${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'} in ${files}\n`);
    return errors > 0 ? 1 : 0;
  },
};

const START = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

async function check(file: string, withDataset: boolean): Promise<Diagnostic[]> {
  let text: string;
  try {
    text = await readUtf8File(file);
  } catch (err) {
    if (err instanceof TextEncodingError) {
      const at = { line: err.line, character: err.character };
      return [{ severity: 'error', code: 'not-utf8', range: { start: at, end: at }, message: err.message.slice(file.length + 1).replace(/^\d+:\d+: /, '') }];
    }
    return [{ severity: 'error', code: 'unreadable', range: START, message: `cannot read the file: ${(err as Error).message}` }];
  }
  const parsed = parseProject(text, file);
  let datasetIds: string[] | undefined;
  const notes: Diagnostic[] = [];
  if (withDataset && parsed.project && !parsed.diagnostics.some((d) => d.severity === 'error')) {
    const abs = path.resolve(file);
    try {
      datasetIds = await datasetClassIds(parsed.project, abs);
    } catch (err) {
      notes.push({
        severity: 'warning',
        code: 'dataset-unreadable',
        range: START,
        message: `classes not checked against the dataset at ${datasetRoot(parsed.project, abs)}: ${(err as Error).message}`,
      });
    }
  }
  return [...notes, ...validateProject(parsed, { datasetClassIds: datasetIds })];
}
