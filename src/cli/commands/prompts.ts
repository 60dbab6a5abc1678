// `pscl prompts score`: prompt quality on the training cache (src/core/quality,
// docs/prompt-quality.md): zero-shot accuracy per level, part keypoint hit rates, mask statistics,
// and with --against an A/B against another project file or a git revision of the same one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CliError, parseOptions, required, type Command } from '../command';
import { cancelOnInterrupt } from '../interrupt';
import { loadModel, resolveModel } from '../model';
import { loadProjectOrFail } from '../project';
import { CacheError, formatCacheProgress, type CacheProgress } from '../../core/cache';
import { PsclError } from '../../core/errors';
import { loadProject, ProjectLoadError } from '../../core/project';
import { compareScores, fileAtRevision, openPromptScorer, type Accuracy, type BuildChoice, type Comparison, type Delta, type PromptScores, type ScoreOptions, type SplitChoice } from '../../core/quality';
import type { Project } from '../../core/taxonomy/model';

const help = `pscl prompts score --project FILE [options]

  Measures the project's prompts on its training cache (built first when it has no image
  embeddings or keypoint features yet; stale masks are used as they are):
  zero-shot top-1/top-5 per taxonomy level (flat, hierarchical and description prompts, and a
  WaffleCLIP random-descriptor control), the part keypoint hit rate per part and per phrasing
  (datasets with parts/part_locs.txt), and statistics of the cached masks.

  --model DIR|REPO     CLIP model (default $PSCL_CLIP_MODEL, else the demo model)
  --cache DIR          the training cache (default <project dir>/.pscl-cache/<name>-<model hash>)
  --build auto|always|never   build the cache first: when it cannot serve the scores (default auto)
  --split all|train|test|val  the images scored (default all)
  --per-class N        at most N images per class (a seeded sample)
  --top-k K            a keypoint is a top-k hit when its part ranks among the K most similar (default 3)
  --descriptors N      random descriptors of the control (default 8); --seed S for them and the sample
  --no-masks           skip the statistics of the stored masks (they read every mask)
  --against FILE|REV   A/B: another project file, or a git revision of FILE (e.g. HEAD~1); prints
                       FILE minus it per level and part, with a paired bootstrap interval
  --bootstrap N        bootstrap resamples (default 1000); --confidence C (default 0.95)
  --json               one JSON object on stdout (docs/prompt-quality.md)`;

function count(command: string, name: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${command}: --${name} must be an integer of at least ${min} (got '${value}')`);
  return n;
}

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '   -  ' : `${(100 * x).toFixed(1).padStart(5)}%`);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}`;
const delta = (d: Delta) => `${signed(d.delta).padStart(6)} [${signed(d.ci[0])}, ${signed(d.ci[1])}]`;

function levelsTable(s: PromptScores): string[] {
  const lines = [`zero-shot accuracy, ${s.images} images (split ${s.split}), top-1 / top-5 (control: each template with ${s.control.descriptors} random descriptors):`];
  const variants: [string, Record<string, Accuracy> | undefined][] = [
    ['flat', s.variants.flat.levels],
    ['hierarchical', s.variants.hierarchical.levels],
    ['descriptions', s.variants.descriptions?.levels],
    ['control', s.control.levels],
  ];
  const names = Object.keys(s.levels);
  const width = Math.max(...names.map((n) => n.length), 5);
  lines.push(`  ${'level'.padEnd(width)}  ${variants.map(([v]) => v.slice(0, 13).padEnd(15)).join('')}`);
  for (const level of names) {
    lines.push(`  ${level.padEnd(width)}  ${variants.map(([, t]) => (t?.[level] ? `${pct(t[level].top1)} ${pct(t[level].top5)}`.padEnd(15) : '-'.padEnd(15))).join('')}`);
  }
  return lines;
}

function partsTable(s: PromptScores): string[] {
  const keys = Object.keys(s.parts);
  if (keys.length === 0) return [];
  const lines = [`part keypoint hit rate (top-${s.topK} in brackets), each phrasing alone:`];
  for (const key of keys) {
    const p = s.parts[key];
    const phr = Object.entries(p.phrasings).map(([t, r]) => `"${t}" ${pct(r).trim()}`).join(', ');
    lines.push(`  ${key.padEnd(24)} ${pct(p.hitRate)} ${`(${pct(p.topKRate).trim()})`.padStart(8)}  ${String(p.keypoints).padStart(6)} keypoints   ${phr}`);
  }
  if (s.masks) {
    lines.push(`stored masks (${s.masks.images} images${s.masks.stale ? ', STALE: made with other part prompts' : ''}): coverage mean/p50, empty rate, argmax share, hit rate in the mask`);
    for (const [key, m] of Object.entries(s.masks.parts)) {
      lines.push(`  ${key.padEnd(24)} ${pct(m.coverage.mean)} ${pct(m.coverage.p50)}  empty ${pct(m.emptyRate)}  share ${pct(m.argmaxShare)}  hit ${pct(m.hitRate)}`);
    }
  }
  return lines;
}

function comparisonText(c: Comparison, against: string): string[] {
  const lines = [`${c.a.project} minus ${against}: difference in points [${(c.bootstrap.confidence * 100).toFixed(0)}% paired bootstrap interval, ${c.bootstrap.samples} resamples of ${c.bootstrap.images} images]`];
  for (const [level, d] of Object.entries(c.delta.levels)) lines.push(`  ${level.padEnd(16)} top-1 ${delta(d.top1)}   top-5 ${delta(d.top5)}`);
  for (const [key, d] of Object.entries(c.delta.parts)) if (d.hitRate) lines.push(`  ${key.padEnd(16)} hit rate ${delta(d.hitRate)}`);
  lines.push(`  (an interval that does not contain 0 is a difference the resampling does not explain away)`);
  return [...lines, ...c.notes.map((n) => `note: ${n}`)];
}

async function baselineProject(projectFile: string, against: string): Promise<{ project: Project; label: string }> {
  try {
    if (existsSync(against)) return { project: (await loadProject(against, { require: 'valid' })).project, label: path.basename(against) };
    const text = fileAtRevision(projectFile, against);
    return { project: (await loadProject(projectFile, { require: 'valid', text, displayName: `${path.basename(projectFile)}@${against}` })).project, label: `${path.basename(projectFile)}@${against}` };
  } catch (err) {
    if (err instanceof ProjectLoadError || err instanceof PsclError) throw new CliError(`prompts score: --against ${against}: ${(err as Error).message}`);
    throw err;
  }
}

async function score(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('prompts score', argv, {
    project: { type: 'string' },
    model: { type: 'string' },
    cache: { type: 'string' },
    build: { type: 'string' },
    split: { type: 'string' },
    'per-class': { type: 'string' },
    'top-k': { type: 'string' },
    descriptors: { type: 'string' },
    seed: { type: 'string' },
    'no-masks': { type: 'boolean', default: false },
    against: { type: 'string' },
    bootstrap: { type: 'string' },
    confidence: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const cmd = 'prompts score';
  const projectArg = required(cmd, 'project', v.project);
  const split = (v.split ?? 'all') as SplitChoice;
  if (!['all', 'train', 'test', 'val'].includes(split)) throw new CliError(`${cmd}: --split must be all, train, test or val (got '${v.split}')`);
  const build = (v.build ?? 'auto') as BuildChoice;
  if (!['auto', 'always', 'never'].includes(build)) throw new CliError(`${cmd}: --build must be auto, always or never (got '${v.build}')`);
  const confidence = v.confidence === undefined ? 0.95 : Number(v.confidence);
  if (!(confidence > 0 && confidence < 1)) throw new CliError(`${cmd}: --confidence must be between 0 and 1 (got '${v.confidence}')`);
  const options: ScoreOptions = {
    split,
    perClass: count(cmd, 'per-class', v['per-class']),
    topK: count(cmd, 'top-k', v['top-k']),
    control: { descriptors: count(cmd, 'descriptors', v.descriptors) ?? 8, seed: count(cmd, 'seed', v.seed, 0) ?? 0 },
    seed: count(cmd, 'seed', v.seed, 0),
    masks: !v['no-masks'],
  };
  const samples = count(cmd, 'bootstrap', v.bootstrap) ?? 1000;
  const { file: projectFile, project } = await loadProjectOrFail(cmd, projectArg, 'valid');
  const baseline = v.against !== undefined ? await baselineProject(projectFile, v.against) : undefined;
  const model = await loadModel(cmd, await resolveModel(cmd, v.model), (m) => process.stderr.write(`clip: ${m}\n`));
  const sigint = cancelOnInterrupt();
  const controller = { signal: sigint.signal };
  try {
    let last = 0;
    const { scorer, cacheDir } = await openPromptScorer({
      projectFile,
      project,
      model,
      cacheDir: v.cache,
      build,
      signal: controller.signal,
      onCacheProgress: (p: CacheProgress) => {
        if (Date.now() - last < 1000 && p.done < p.total) return;
        last = Date.now();
        process.stderr.write(`cache: ${formatCacheProgress(p)}\n`);
      },
      log: (m) => process.stderr.write(`cache: ${m}\n`),
    });
    const onProgress = (message: string) => process.stderr.write(`prompts: ${message}\n`);
    const a = await scorer.score(project, { ...options, signal: controller.signal, onProgress });
    if (!baseline) {
      if (v.json) process.stdout.write(JSON.stringify(a.scores) + '\n');
      else process.stdout.write([`${project.name} on ${cacheDir} (model ${a.scores.model})`, ...levelsTable(a.scores), ...partsTable(a.scores), ...a.scores.notes.map((n) => `note: ${n}`)].join('\n') + '\n');
      return 0;
    }
    const b = await scorer.score(baseline.project, { ...options, signal: controller.signal });
    let c: Comparison;
    try {
      c = compareScores(a, b, { samples, confidence, seed: options.seed });
    } catch (err) {
      throw new CliError(`${cmd}: ${(err as Error).message}`);
    }
    if (v.json) process.stdout.write(JSON.stringify({ ...c, against: baseline.label }) + '\n');
    else process.stdout.write([...levelsTable(a.scores), ...partsTable(a.scores), '', ...comparisonText(c, baseline.label)].join('\n') + '\n');
    return 0;
  } catch (err) {
    if ((err as Error).name === 'AbortError') {
      process.stderr.write(`pscl: ${cmd} cancelled\n`);
      return 130;
    }
    if (err instanceof CacheError || err instanceof PsclError) throw new CliError(`${cmd}: ${(err as Error).message}`);
    throw err;
  } finally {
    sigint.dispose();
    await model.dispose();
  }
}

export const command: Command = {
  help,
  subcommands: ['score'],
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'score') return score(rest);
    throw new CliError(`prompts: unknown subcommand '${sub ?? ''}'; use score\nrun 'pscl prompts --help' for the options`);
  },
};
