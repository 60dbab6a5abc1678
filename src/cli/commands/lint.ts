// `pscl lint`: the taxonomy lint from text prototypes (src/core/prototypes/lint.ts), printed like
// `pscl validate`.
import { CliError, parseOptions, required, type Command } from '../command';
import { loadModel, resolveModel } from '../model';
import { loadProjectOrFail } from '../project';
import { formatDiagnostic, sortDiagnostics } from '../../core/taxonomy/diagnostics';
import { DEFAULT_SIBLING_THRESHOLD, lintProject } from '../../core/prototypes/lint';

const help = `usage: pscl lint --project FILE --model DIR [--threshold ${DEFAULT_SIBLING_THRESHOLD}]

Taxonomy lint from the CLIP text prototypes: sibling categories whose prototypes nearly coincide
(cosine above --threshold), intermediate values with a single child, classes that read closer to
another coarse category than to their own. One FILE:LINE:COL: severity: message [code] line each.
--model defaults to $PSCL_CLIP_MODEL, else the demo model.`;

export const command: Command = {
  help,
  async run(argv) {
    const { values: v } = parseOptions('lint', argv, {
      project: { type: 'string' },
      model: { type: 'string' },
      threshold: { type: 'string' },
    });
    const file = required('lint', 'project', v.project);
    const threshold = v.threshold === undefined ? DEFAULT_SIBLING_THRESHOLD : Number(v.threshold);
    if (!(threshold > -1 && threshold <= 1)) throw new CliError(`lint: --threshold must be a cosine in (-1, 1] (got '${v.threshold}')`);
    const { parsed } = await loadProjectOrFail('lint', file);
    const model = await loadModel('lint', await resolveModel('lint', v.model));
    try {
      const embed = async (texts: string[]) => (await model.embedTexts(texts)).data;
      const diags = sortDiagnostics(await lintProject(parsed, embed, model.embedDim, { siblingThreshold: threshold }));
      for (const d of diags) process.stdout.write(formatDiagnostic(file, d) + '\n');
      const warnings = diags.filter((d) => d.severity === 'warning').length;
      process.stdout.write(`${warnings} warning${warnings === 1 ? '' : 's'}, ${diags.length - warnings} note${diags.length - warnings === 1 ? '' : 's'}\n`);
      return 0;
    } finally {
      await model.dispose();
    }
  },
};
