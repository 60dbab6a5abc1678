// `pscl cache build|verify`: the training cache headless (docs/cache-format.md).
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { CliError, parseOptions, required, type Command } from '../command';
import { cancelOnInterrupt } from '../interrupt';
import { loadModel, resolveModel } from '../model';
import { loadProjectOrFail } from '../project';
import { buildCache, buildCacheShard, CacheError, CacheLockedError, clipEncoders, defaultCacheDir, defaultSettings, DEFAULT_MASK_SIZE, formatCacheProgress, parseShard, verifyCache, type BuildCacheOptions, type CacheBuildResult, type CacheProgress, type CacheShard, type MaskBuildSettings, type ShardBuildResult } from '../../core/cache';
import { slurmCacheScript, slurmJobName, slurmResourcesProblem } from '../../core/runs/slurm';
import { writeFileAtomic } from '../../core/util/atomicWrite';
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
          --shard K/N   compute only the stale images among every N-th image (from the K-th) into
                        --out, beside the other shards (machines of a cluster on shared storage);
                        the last shard to finish writes the manifest (--no-merge: leave it to merge)
          --emit-slurm FILE  write an sbatch array job of N shards (--shards N, default 8) that runs
                        this build on a cluster instead of building here; [--partition P]
                        [--account A] [--time T] [--cpus-per-node C] [--job-name J] [--sbatch=--OPT=V]...
  merge   --project FILE [--out DIR] [--model DIR] [mask options as build]
          joins what the shards computed into the manifest, computing nothing; exit 2 naming the
          shards whose images are missing
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
  /** Join the shards' work, computing nothing (pscl cache merge). */
  merge?: boolean;
}

/**
 * Builds (or brings up to date: only stale images are recomputed) the training cache of a project,
 * with progress on stderr and Ctrl-C cancelling. Shared by `pscl cache build` and `pscl train --project`.
 */
export async function buildProjectCache(command: string, projectArg: string, o: ProjectCacheOptions = {}): Promise<CacheBuildResult> {
  return withProjectCache(command, projectArg, o, (options) => buildCache({ ...options, merge: o.merge }));
}

/** `pscl cache build --shard K/N`: this shard, then the merge when it is the last to finish (unless noMerge). */
export function buildProjectCacheShard(command: string, projectArg: string, shard: CacheShard, o: ProjectCacheOptions & { noMerge?: boolean } = {}): Promise<ShardBuildResult> {
  return withProjectCache(command, projectArg, o, (options) => buildCacheShard({ ...options, shard, merge: !o.noMerge }));
}

/** The project and model loaded, progress and Ctrl-C wired, CacheErrors made CLI errors, around one build. */
async function withProjectCache<T>(command: string, projectArg: string, o: ProjectCacheOptions, run: (options: BuildCacheOptions) => Promise<T>): Promise<T> {
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
    const r = await run({
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

async function build(argv: string[], command: 'cache build' | 'cache merge' = 'cache build'): Promise<number> {
  const { values: v } = parseOptions(command, argv, {
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
    ...(command === 'cache build'
      ? {
          shard: { type: 'string' },
          'no-merge': { type: 'boolean', default: false },
          'emit-slurm': { type: 'string' },
          shards: { type: 'string' },
          partition: { type: 'string' },
          account: { type: 'string' },
          time: { type: 'string' },
          'cpus-per-node': { type: 'string' },
          'job-name': { type: 'string' },
          sbatch: { type: 'string', multiple: true },
        }
      : {}),
  } as const) as { values: Record<string, string | boolean | string[] | undefined> };
  const projectArg = required(command, 'project', v.project as string | undefined);
  const threshold = v.threshold === undefined ? undefined : Number(v.threshold);
  if (v['no-merge'] && v.shard === undefined) throw new CliError(`${command}: --no-merge is for --shard K/N`);
  if (command === 'cache merge' && v.force) throw new CliError('cache merge: --force would discard what the shards computed; a forced build is `pscl cache build --force`');
  const settings = {
    maskSize: positiveInt(command, 'mask-size', v['mask-size'] as string | undefined),
    inputSize: positiveInt(command, 'input-size', v['input-size'] as string | undefined),
    kernel: positiveInt(command, 'kernel', v.kernel as string | undefined),
    threshold,
    variant: v.variant as string | undefined,
  };
  if (v['emit-slurm'] !== undefined) return emitCacheSlurm(v);
  const common: ProjectCacheOptions = { model: v.model as string | undefined, out: v.out as string | undefined, settings, batchSize: positiveInt(command, 'batch', v.batch as string | undefined), force: v.force as boolean, noWait: v['no-wait'] as boolean, merge: command === 'cache merge' };
  if (v.shards !== undefined) throw new CliError(`${command}: --shards is for --emit-slurm; a single shard is --shard K/N`);
  let r: CacheBuildResult;
  try {
    if (v.shard !== undefined) {
      let shard: CacheShard;
      try {
        shard = parseShard(v.shard as string);
      } catch (err) {
        throw new CliError(`${command}: ${(err as Error).message}`);
      }
      const sr = await buildProjectCacheShard(command, projectArg, shard, { ...common, noMerge: v['no-merge'] as boolean });
      if (!sr.merged) return printShard(sr, v.json as boolean);
      r = sr.merged;
    } else r = await buildProjectCache(command, projectArg, common);
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
  subcommands: ['build', 'merge', 'verify'],
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'build') return build(rest);
    if (sub === 'merge') return build(rest, 'cache merge');
    if (sub === 'verify') return verify(rest);
    throw new CliError(`cache: unknown subcommand '${sub ?? ''}'; use build, merge or verify\nrun 'pscl cache --help' for the options`);
  },
};

function printShard(r: ShardBuildResult, json: boolean): number {
  const { index, count } = r.shard;
  if (json) process.stdout.write(JSON.stringify({ dir: r.dir, shard: `${index}/${count}`, images: r.images, imageEmbeddings: r.embeddings, pending: r.pending, merged: false, seconds: +r.seconds.toFixed(3) }) + '\n');
  else {
    const i = r.images;
    process.stdout.write(
      `cache ${r.dir}, shard ${index}/${count}\n` +
        `images of this shard: ${i.total} (${i.computed} computed, ${i.reused} reused, ${i.errors} errors)\n` +
        (r.pending.length > 0 ? `shards still to finish: ${r.pending.map((k) => `${k}/${count}`).join(', ')} (the last one writes the manifest)\n` : 'every shard has finished: join them with pscl cache merge\n') +
        `done in ${r.seconds.toFixed(1)}s\n`,
    );
  }
  return 0;
}

/** `cache build --emit-slurm FILE`: the same build as an array job of shards, written and not run. */
async function emitCacheSlurm(v: Record<string, string | boolean | string[] | undefined>): Promise<number> {
  const file = path.resolve(v['emit-slurm'] as string);
  if (v.shard !== undefined) throw new CliError('cache build: --emit-slurm writes every shard (--shards N); leave out --shard');
  if (v.force) throw new CliError('cache build: shards cannot be forced; delete the cache folder first, or run a forced build without --emit-slurm');
  const shards = positiveInt('cache build', 'shards', v.shards as string | undefined) ?? 8;
  const project = path.resolve(v.project as string);
  const { file: projectFile, project: p } = await loadProjectOrFail('cache build', project, 'valid');
  let out = v.out as string | undefined;
  if (!out) {
    // the default folder is named by the model's hash: load it once here
    const model = await loadModel('cache build', await resolveModel('cache build', v.model as string | undefined), () => {});
    try {
      out = defaultCacheDir(projectFile, p.name, clipEncoders(model).model.hash);
    } finally {
      await model.dispose();
    }
  }
  // the build's own options go to every shard as given (mask settings, batch, no-wait)
  const pass = ['mask-size', 'input-size', 'variant', 'kernel', 'threshold', 'batch'].flatMap((k) => (v[k] !== undefined ? [`--${k}`, String(v[k])] : []));
  if (v['no-wait']) pass.push('--no-wait');
  const job = {
    jobName: (v['job-name'] as string | undefined) ?? slurmJobName('pscl-cache', out),
    cpusPerNode: positiveInt('cache build', 'cpus-per-node', v['cpus-per-node'] as string | undefined),
    time: v.time as string | undefined,
    partition: v.partition as string | undefined,
    account: v.account as string | undefined,
    extra: (v.sbatch as string[] | undefined) ?? [],
  };
  const problem = slurmResourcesProblem(job);
  if (problem) throw new CliError(`cache build: ${problem}`);
  // a model folder as an absolute path (the nodes start elsewhere); a Hub name as it is
  const model = v.model === undefined ? undefined : existsSync(v.model as string) ? path.resolve(v.model as string) : (v.model as string);
  const script = slurmCacheScript({ ...job, project: projectFile, out: path.resolve(out), model, shards, buildArgs: pass });
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, script);
  } catch (err) {
    throw new CliError(`cache build: cannot write ${file}: ${(err as Error).message}`, 1);
  }
  process.stdout.write(`${file}: ${shards} shard(s) of ${projectFile} into ${path.resolve(out)}\nsubmit it with: sbatch ${file}\n`);
  return 0;
}
