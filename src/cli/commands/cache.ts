// `pscl cache build|verify`: the training cache headless (docs/cache-format.md).
import path from 'node:path';
import { CliError, parseOptions, required, type Command } from '../command';
import { cancelOnInterrupt } from '../interrupt';
import { loadModel, resolveModel } from '../model';
import { loadProjectOrFail } from '../project';
import { buildCache, CacheError, CacheLockedError, clipEncoders, defaultCacheDir, defaultSettings, DEFAULT_MASK_SIZE, formatCacheProgress, verifyCache, type CacheBuildResult, type CacheProgress, type MaskBuildSettings } from '../../core/cache';
import { VARIANT_NAMES } from '../../core/clip';
import { MASK_DEFAULTS, MASK_LIMITS } from '../../core/masks/settings';

const help = `pscl cache <subcommand> [options]

  build   --project FILE [--out DIR] [--model DIR] [--mask-size N] [--input-size N]
          [--variant V] [--batch N] [--force] [--no-wait] [--json]
          part label maps and image embeddings for every image, prototypes and the manifest; only what is stale
          is recomputed, and a killed or cancelled (Ctrl-C) build resumes where it stopped.
          One build writes a folder at a time: a second one waits for the first to finish
          --out         default <project dir>/.pscl-cache/<project name>-<model hash>
          --model       a Hugging Face CLIP folder (default $PSCL_CLIP_MODEL, else the demo model)
          --mask-size   long side of the masks in pixels (default ${DEFAULT_MASK_SIZE})
          --input-size  long side of the image as the model sees it (default ${MASK_DEFAULTS.size}, as the preview;
                        ${MASK_LIMITS.size.min} to ${MASK_LIMITS.size.max})
          --variant     ${VARIANT_NAMES.join(', ')} (default ${MASK_DEFAULTS.variant})
          --kernel K    odd closing kernel, 1 = none (default ${MASK_DEFAULTS.kernel})
          --threshold P background below this part probability (default ${MASK_DEFAULTS.threshold} = off)
          --no-wait     refuse (exit 1) instead of waiting when another build holds the folder
          --json        print the summary as one JSON object on stdout
  verify  DIR [--json]
          checks every file against the manifest; exit 1 with the list of problems`;

function positiveInt(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`${command}: --${name} must be a positive integer (got '${value}')`);
  return n;
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

export interface ProjectCacheOptions {
  model?: string;
  out?: string;
  settings?: Partial<MaskBuildSettings>;
  batchSize?: number;
  force?: boolean;
  /** Refuse rather than wait when another build holds the folder. */
  noWait?: boolean;
}

/**
 * Builds (or brings up to date: only stale images are recomputed) the training cache of a project,
 * with progress on stderr and Ctrl-C cancelling. Shared by `pscl cache build` and `pscl train --project`.
 */
export async function buildProjectCache(command: string, projectArg: string, o: ProjectCacheOptions = {}): Promise<CacheBuildResult> {
  const { file: projectFile, project } = await loadProjectOrFail(command, projectArg, 'valid');
  // bad settings fail before the model loads
  const given = Object.fromEntries(Object.entries(o.settings ?? {}).filter(([, x]) => x !== undefined));
  let settings: MaskBuildSettings;
  try {
    settings = defaultSettings(given);
  } catch (err) {
    throw err instanceof CacheError ? new CliError(`${command}: ${err.message}`) : err;
  }
  const model = await loadModel(command, await resolveModel(command, o.model), (m) => process.stderr.write(`clip: ${m}\n`));
  const controller = cancelOnInterrupt();
  try {
    const encoders = clipEncoders(model, { batchSize: o.batchSize });
    const outDir = path.resolve(o.out ?? defaultCacheDir(projectFile, project.name, encoders.model.hash));
    const r = await buildCache({
      projectFile,
      project,
      outDir,
      encoders,
      settings,
      batchSize: o.batchSize,
      force: o.force,
      signal: controller.signal,
      onProgress: progressPrinter(),
      log: (m) => process.stderr.write(`cache: ${m}\n`),
      waitForLock: !o.noWait,
      lockHolder: `pscl ${command}`,
      onWait: (m) => process.stderr.write(`cache: ${m} (Ctrl-C to stop waiting)\n`),
    });
    if (process.stderr.isTTY) process.stderr.write('\n');
    return r;
  } catch (err) {
    if (err instanceof CacheError) throw new CliError(`${command}: ${err.message}`, err instanceof CacheLockedError ? 1 : 2);
    throw err;
  } finally {
    controller.dispose();
    await model.dispose();
  }
}

async function build(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('cache build', argv, {
    model: { type: 'string' },
    project: { type: 'string' },
    out: { type: 'string' },
    'mask-size': { type: 'string' },
    'input-size': { type: 'string' },
    variant: { type: 'string' },
    kernel: { type: 'string' },
    threshold: { type: 'string' },
    batch: { type: 'string' },
    force: { type: 'boolean', default: false },
    'no-wait': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  const projectArg = required('cache build', 'project', v.project);
  const threshold = v.threshold === undefined ? undefined : Number(v.threshold);
  const settings = {
    maskSize: positiveInt('cache build', 'mask-size', v['mask-size']),
    inputSize: positiveInt('cache build', 'input-size', v['input-size']),
    kernel: positiveInt('cache build', 'kernel', v.kernel),
    threshold,
    variant: v.variant,
  };
  let r: CacheBuildResult;
  try {
    r = await buildProjectCache('cache build', projectArg, { model: v.model, out: v.out, settings, batchSize: positiveInt('cache build', 'batch', v.batch), force: v.force, noWait: v['no-wait'] });
  } catch (err) {
    if ((err as Error).name === 'AbortError') {
      process.stderr.write(`pscl: ${(err as Error).message}\n`);
      return 130;
    }
    throw err;
  }
  const summary = {
    dir: r.dir,
    images: r.images,
    prototypes: r.prototypes,
    partEmbeddings: r.partEmbeddings,
    imageEmbeddings: r.embeddings,
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
        `image embeddings: ${r.embeddings.computed} computed, ${r.embeddings.reused} reused${r.embeddings.missing > 0 ? `, ${r.embeddings.missing} missing` : ''}\n` +
        (i.computed > 0 ? `masks: ${r.imagesPerSecond.toFixed(1)} images/s, model busy ${(summary.inferenceShare * 100).toFixed(0)}% of the mask phase\n` : '') +
        `done in ${r.seconds.toFixed(1)}s\n`,
    );
    for (const img of r.manifest.images.filter((x) => x.status === 'error').slice(0, 10)) process.stdout.write(`  skipped ${img.path}: ${img.error}\n`);
  }
  return 0;
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
    process.stdout.write(n === 0 ? `${dir}: ok (${r.checked.masks} masks, ${r.checked.tensors} tensors, ${r.checked.embeddings} image embeddings${r.checked.keypoints > 0 ? `, ${r.checked.keypoints} keypoint features` : ''} checked)\n` : `${dir}: ${n} problem${n === 1 ? '' : 's'}\n`);
  }
  return r.problems.length === 0 ? 0 : 1;
}

export const command: Command = {
  help,
  subcommands: ['build', 'verify'],
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'build') return build(rest);
    if (sub === 'verify') return verify(rest);
    throw new CliError(`cache: unknown subcommand '${sub ?? ''}'; use build or verify\nrun 'pscl cache --help' for the options`);
  },
};
