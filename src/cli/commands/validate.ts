import { checkProjectFile } from '../../core/project';
import { formatDiagnostic } from '../../core/taxonomy/diagnostics';
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
      const diags = await checkProjectFile(file, { dataset: !values['no-dataset'] });
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
