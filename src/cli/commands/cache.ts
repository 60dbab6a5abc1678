// `pscl cache build|verify`: the training cache headless (docs/cache-format.md).
import path from 'node:path';
import { CliError, parseOptions, required, type Command } from '../command';
import { buildCache, CacheError, clipEncoders, defaultCacheDir, formatCacheProgress, verifyCache, type CacheProgress } from '../../core/cache';
import { ClipModel } from '../../core/clip/model';
import { PROVIDER_CHOICES, type ProviderChoice } from '../../core/clip/runtime';
import { VARIANT_NAMES } from '../../core/clip/graph/variants';
import { parseProject } from '../../core/taxonomy/project';
import { promises as fs } from 'node:fs';

const help = `pscl cache <subcommand> [options]

  build   --project FILE [--out DIR] [--model DIR] [--mask-size N] [--input-size N]
          [--variant V] [--batch N] [--force] [--json]
          part label maps for every image, prototypes and the manifest; only what is stale
          is recomputed, and a killed or cancelled (Ctrl-C) build resumes where it stopped
          --out         default <project dir>/.pscl-cache/<project name>-<model hash>
          --model       a Hugging Face CLIP folder (default $PSCL_CLIP_MODEL)
          --mask-size   long side of the masks in pixels (default 224)
          --input-size  long side of the image as the model sees it (default: the model's size)
          --variant     ${VARIANT_NAMES.join(', ')} (default clearclip)
          --json        print the summary as one JSON object on stdout
  verify  DIR [--json]
          checks every file against the manifest; exit 1 with the list of problems

common: --provider auto|cpu|cuda (default auto), --threads N`;

const modelOptions = {
  model: { type: 'string' },
  provider: { type: 'string' },
  threads: { type: 'string' },
} as const;

function positiveInt(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${command}: --${name} must be a positive integer (got '${value}')`);
  return n;
}

/** Loads the CLIP folder of --model (or $PSCL_CLIP_MODEL) with the provider options. */
export async function openClipModel(command: string, v: { model?: string; provider?: string; threads?: string }): Promise<ClipModel> {
  const dir = required(command, 'model', v.model ?? process.env.PSCL_CLIP_MODEL);
  const provider = (v.provider ?? 'auto') as ProviderChoice;
  if (!PROVIDER_CHOICES.includes(provider)) throw new CliError(`${command}: --provider must be one of ${PROVIDER_CHOICES.join(', ')}`);
  try {
    return await ClipModel.load(path.resolve(dir), { provider, threads: positiveInt(command, 'threads', v.threads), log: (m) => process.stderr.write(`clip: ${m}\n`) });
  } catch (err) {
    throw new CliError(`${command}: ${(err as Error).message}`);
  }
}

/** One progress line on stderr: rewritten in place on a terminal, at most one a second otherwise. */
function progressPrinter(): (p: CacheProgress) => void {
  const tty = process.stderr.isTTY;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (p.phase !== 'masks' && p.phase !== 'finish') return;
    if (!tty && now - last < 1000 && p.phase === 'masks' && p.done < p.total) return;
    last = now;
    const line = formatCacheProgress(p);
    process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
  };
}

async function build(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('cache build', argv, {
    ...modelOptions,
    project: { type: 'string' },
    out: { type: 'string' },
    'mask-size': { type: 'string' },
    'input-size': { type: 'string' },
    variant: { type: 'string' },
    batch: { type: 'string' },
    force: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const projectFile = path.resolve(required('cache build', 'project', v.project));
  const text = await fs.readFile(projectFile, 'utf8').catch((err: Error) => {
    throw new CliError(`cache build: cannot read ${projectFile}: ${err.message}`);
  });
  const name = parseProject(text, projectFile).project?.name ?? path.basename(projectFile, '.pscl.json');
  const settings = {
    maskSize: positiveInt('cache build', 'mask-size', v['mask-size']),
    inputSize: positiveInt('cache build', 'input-size', v['input-size']),
    variant: v.variant,
  };
  const batchSize = positiveInt('cache build', 'batch', v.batch);
  const model = await openClipModel('cache build', v);
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write('\ncancelling (Ctrl-C again to quit at once)...\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const encoders = clipEncoders(model, { batchSize });
    const outDir = path.resolve(v.out ?? defaultCacheDir(projectFile, name, encoders.model.hash));
    const r = await buildCache({
      projectFile,
      outDir,
      encoders,
      settings: Object.fromEntries(Object.entries(settings).filter(([, x]) => x !== undefined)),
      batchSize,
      force: v.force,
      signal: controller.signal,
      onProgress: progressPrinter(),
      log: (m) => process.stderr.write(`cache: ${m}\n`),
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    const summary = {
      dir: r.dir,
      images: r.images,
      prototypes: r.prototypes,
      partEmbeddings: r.partEmbeddings,
      seconds: +r.seconds.toFixed(3),
      imagesPerSecond: +r.imagesPerSecond.toFixed(2),
      inferenceShare: r.maskPhaseSeconds > 0 ? +(r.inferenceSeconds / r.maskPhaseSeconds).toFixed(3) : 0,
    };
    if (v.json) process.stdout.write(JSON.stringify(summary) + '\n');
    else {
      const i = r.images;
      process.stdout.write(
        `cache ${r.dir}\n` +
          `images: ${i.total} (${i.computed} computed, ${i.reused} reused, ${i.errors} errors)\n` +
          `prototypes ${r.prototypes}, part embeddings ${r.partEmbeddings}\n` +
          (i.computed > 0 ? `masks: ${r.imagesPerSecond.toFixed(1)} images/s, model busy ${(summary.inferenceShare * 100).toFixed(0)}% of the mask phase\n` : '') +
          `done in ${r.seconds.toFixed(1)}s\n`,
      );
      for (const img of r.manifest.images.filter((x) => x.status === 'error').slice(0, 10)) process.stdout.write(`  skipped ${img.path}: ${img.error}\n`);
    }
    return 0;
  } catch (err) {
    if ((err as Error).name === 'AbortError') {
      process.stderr.write(`pscl: ${(err as Error).message}\n`);
      return 130;
    }
    if (err instanceof CacheError) throw new CliError(`cache build: ${err.message}`);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
    await model.dispose();
  }
}

async function verify(argv: string[]): Promise<number> {
  const { values: v, positionals } = parseOptions('cache verify', argv, { json: { type: 'boolean', default: false } }, true);
  if (positionals.length !== 1) throw new CliError("cache verify: name one cache folder\nrun 'pscl cache --help' for its options");
  const dir = path.resolve(positionals[0]);
  const r = await verifyCache(dir);
  if (v.json) {
    process.stdout.write(JSON.stringify({ dir, ok: r.problems.length === 0, problems: r.problems, notes: r.notes, checked: r.checked }) + '\n');
  } else {
    for (const p of r.problems) process.stdout.write(`problem: ${p}\n`);
    for (const n of r.notes) process.stdout.write(`note: ${n}\n`);
    const n = r.problems.length;
    process.stdout.write(n === 0 ? `${dir}: ok (${r.checked.masks} masks, ${r.checked.tensors} tensors checked)\n` : `${dir}: ${n} problem${n === 1 ? '' : 's'}\n`);
  }
  return r.problems.length === 0 ? 0 : 1;
}

export const command: Command = {
  help,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'build') return build(rest);
    if (sub === 'verify') return verify(rest);
    throw new CliError(`cache: unknown subcommand '${sub ?? ''}'; use build or verify\nrun 'pscl cache --help' for the options`);
  },
};
