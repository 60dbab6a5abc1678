// `pscl curate`: what is wrong with a project's images (src/core/curation), as text or JSON.
import { existsSync } from 'node:fs';
import { newestCacheDir } from '../../core/curation/curate';
import { curateProject, CURATION_DEFAULTS, FINDING_KINDS, findingsJson, type CurationSettings, type Finding } from '../../core/curation';
import { CliError, parseOptions, required, type Command } from '../command';
import { loadProjectOrFail } from '../project';

const d = CURATION_DEFAULTS;
const help = `usage: pscl curate --project FILE [--run DIR] [--cache DIR] [--json] [options]

Finds what is wrong with a project's images: train/test leaks (duplicates across splits, listed
first), suspected mislabels (gross errors first), exact and near-duplicates, unreadable, small,
greyscale and extreme-aspect images, and outliers. The project's decisions (images.exclude,
images.relabel) are applied first: excluded images are not checked.

  --run DIR        a trained run (with model.onnx): its predictions give confident-learning
                   margins for mislabels
  --cache DIR      a training cache: its image embeddings feed near-duplicates by cosine, k-NN and
                   zero-shot mislabels and outliers (default: this project's newest cache under
                   .pscl-cache next to the project file, when there is one)
  --json           {"findings":[{"kind","images","score","reason",...}], ...} on stdout
  --kind K,...     only these kinds (${FINDING_KINDS.join(', ')})
  --near-cosine X  embedding near-duplicate threshold (default ${d.nearCosine})
  --hash-distance N  perceptual-hash near-duplicates: differing bits of 64 (default ${d.hashDistance})
  --k N            neighbours for k-NN votes and density (default ${d.k})
  --min-side N     smaller images are reported (default ${d.minSide} px)
  --max-aspect X   longer/shorter side above this is reported (default ${d.maxAspect})
  --no-scan-cache  do not keep the image scan (default: .pscl-cache/<project>-images.json)

Image paths are relative to the dataset root, as in the project file's images.exclude.`;

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new CliError(`curate: --${name} must be a number (got '${v}')`);
  return n;
}

function line(f: Finding): string {
  return `${f.kind.padEnd(10)} ${f.score.toFixed(3)}  ${f.images.join('  ')}\n           ${f.reason}`;
}

export const command: Command = {
  help,
  async run(argv) {
    const { values } = parseOptions('curate', argv, {
      project: { type: 'string' },
      run: { type: 'string' },
      cache: { type: 'string' },
      json: { type: 'boolean', default: false },
      kind: { type: 'string' },
      'near-cosine': { type: 'string' },
      'hash-distance': { type: 'string' },
      k: { type: 'string' },
      'min-side': { type: 'string' },
      'max-aspect': { type: 'string' },
      'no-scan-cache': { type: 'boolean', default: false },
    });
    const { file, project } = await loadProjectOrFail('curate', required('curate', 'project', values.project));
    const kinds = values.kind?.split(',').map((k) => k.trim()).filter(Boolean);
    for (const k of kinds ?? []) if (!(FINDING_KINDS as readonly string[]).includes(k)) throw new CliError(`curate: unknown kind '${k}'; the kinds are ${FINDING_KINDS.join(', ')}`);
    if (values.run && !existsSync(values.run)) throw new CliError(`curate: run folder ${values.run} not found`);
    if (values.cache && !existsSync(values.cache)) throw new CliError(`curate: cache folder ${values.cache} not found`);
    const settings: Partial<CurationSettings> = {
      nearCosine: num('near-cosine', values['near-cosine']),
      hashDistance: num('hash-distance', values['hash-distance']),
      k: num('k', values.k),
      minSide: num('min-side', values['min-side']),
      maxAspect: num('max-aspect', values['max-aspect']),
    };
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write('\ncancelling (Ctrl-C again to quit at once)...\n');
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    const tty = process.stderr.isTTY;
    let last = 0;
    try {
      const report = await curateProject({
        projectFile: file,
        project,
        settings,
        cacheDir: values.cache ?? newestCacheDir(file),
        runDir: values.run,
        scanFile: values['no-scan-cache'] ? null : undefined,
        signal: controller.signal,
        onProgress: (p) => {
          const now = Date.now();
          if (now - last < (tty ? 100 : 2000) && p.fraction < 1) return;
          last = now;
          process.stderr.write(tty ? `\r${p.message}\x1b[K` : `${p.message}\n`);
        },
      }).catch((err: Error) => {
        if (err instanceof RangeError) throw new CliError(`curate: ${err.message}`);
        throw err;
      });
      if (tty) process.stderr.write('\r\x1b[K');
      if (kinds) report.findings = report.findings.filter((f) => kinds.includes(f.kind));
      if (values.json) {
        process.stdout.write(JSON.stringify(findingsJson(report)) + '\n');
        return 0;
      }
      const counts = FINDING_KINDS.map((k) => [k, report.findings.filter((f) => f.kind === k).length] as const).filter(([, n]) => n > 0);
      const out = [`${report.images} images checked${report.excluded ? ` (${report.excluded} excluded by the project)` : ''}: ${report.findings.length} finding${report.findings.length === 1 ? '' : 's'}${counts.length ? ` (${counts.map(([k, n]) => `${n} ${k}`).join(', ')})` : ''}`];
      for (const f of report.findings) out.push(line(f));
      for (const n of report.notes) out.push(`note: ${n}`);
      process.stdout.write(out.join('\n') + '\n');
      return 0;
    } finally {
      process.off('SIGINT', onSigint);
    }
  },
};
