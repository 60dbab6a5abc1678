import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DATASET_FORMATS, type DatasetFormat } from '../../core/taxonomy/model';
import { importDataset, ImportError } from '../../core/taxonomy/importers';
import { serializeProject } from '../../core/taxonomy/project';
import { formatSummary, summarizeProject } from '../../core/taxonomy/summary';
import { writeFileAtomic } from '../../core/util/atomicWrite';
import { CliError, parseOptions, required, type Command } from '../command';

const help = `usage: pscl import --format FORMAT --root DIR --out FILE.pscl.json [options]

Builds a project file from a dataset's own files (the dataset is only read).

  --format F          ${DATASET_FORMATS.join(' | ')}
  --root DIR          the dataset folder
  --out FILE          the project file to write (dataset.root is stored relative to it)
  --hierarchy FILE    cub: a '<parent> <child>' hierarchy (or an indented tree file)
  --hierarchy-names F cub: '<id> <name>' names of the hierarchy's nodes (default: next to it)
  --coarse VALUE      the coarse category (default: bird, aircraft, car, dog, object)
  --name NAME         project name
  --force             overwrite FILE if it exists`;

export const command: Command = {
  help,
  async run(argv) {
    const { values } = parseOptions('import', argv, {
      format: { type: 'string' },
      root: { type: 'string' },
      out: { type: 'string' },
      hierarchy: { type: 'string' },
      'hierarchy-names': { type: 'string' },
      coarse: { type: 'string' },
      name: { type: 'string' },
      force: { type: 'boolean', default: false },
    });
    const format = required('import', 'format', values.format);
    if (!(DATASET_FORMATS as readonly string[]).includes(format)) throw new CliError(`import: unknown --format '${format}'; use one of ${DATASET_FORMATS.join(', ')}`);
    const root = path.resolve(required('import', 'root', values.root));
    const out = path.resolve(required('import', 'out', values.out));
    if (!out.endsWith('.pscl.json')) process.stderr.write(`pscl: note: ${out} does not end in .pscl.json, so the editor will not recognise it as a project file\n`);
    if (!values.force && (await fs.stat(out).catch(() => undefined))) {
      throw new CliError(`import: ${out} exists; pass --force to overwrite it`);
    }
    const started = Date.now();
    let result;
    try {
      result = await importDataset(format as DatasetFormat, root, {
        hierarchy: values.hierarchy && path.resolve(values.hierarchy),
        hierarchyNames: values['hierarchy-names'] && path.resolve(values['hierarchy-names']),
        coarse: values.coarse,
        name: values.name,
        projectFile: out,
      });
    } catch (err) {
      if (err instanceof ImportError) throw new CliError(`import: ${err.message}`, 1);
      throw err;
    }
    await fs.mkdir(path.dirname(out), { recursive: true });
    await writeFileAtomic(out, serializeProject(result.project));
    const lines = [`imported ${format} from ${root} in ${Date.now() - started} ms -> ${out}`, ...formatSummary(summarizeProject(result.project, result.images)).map((l) => `  ${l}`)];
    for (const w of result.warnings) lines.push(`  warning: ${w}`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
