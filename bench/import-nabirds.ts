// Benchmarks importing NABirds (555 classes, 48,562 images) and validating the resulting project
// file. Baselines in the same run: reading and splitting the same files (import) and JSON.parse
// of the same text (validation). One JSON object per line; medians of several runs.
//   node --import tsx bench/import-nabirds.ts        (npm run bench)
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { importNabirds } from '../src/core/taxonomy/importers';
import { parseProject, serializeProject } from '../src/core/taxonomy/project';
import { validateProject } from '../src/core/taxonomy/validate';
import { nabirdsForBench } from '../test/fixtures/nabirds';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Validation is cheap and runs on every keystroke: measure it warm, like an editor session. */
const VALIDATE_RUNS = RUNS * 4;
const { root, data } = nabirdsForBench();
const FILES = ['classes.txt', 'hierarchy.txt', 'images.txt', 'image_class_labels.txt', 'train_test_split.txt', 'parts/parts.txt'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function time<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

/** Read every file and split it into fields: the least any importer must do. */
async function rawReadSplit(): Promise<number> {
  let fields = 0;
  for (const f of FILES) {
    const text = await fs.readFile(path.join(root, f), 'utf8');
    for (const line of text.split('\n')) fields += line.split(' ').length;
  }
  return fields;
}

async function main() {
  const importMs: number[] = [];
  const rawMs: number[] = [];
  let result: Awaited<ReturnType<typeof importNabirds>> | undefined;
  for (let i = 0; i < RUNS; i++) {
    rawMs.push((await time(rawReadSplit)).ms);
    const r = await time(() => importNabirds(root));
    importMs.push(r.ms);
    result = r.value;
  }
  const ms = median(importMs);
  const baselineMs = median(rawMs);
  console.log(
    JSON.stringify({
      data,
      bench: 'import-nabirds',
      ms: +ms.toFixed(1),
      firstRunMs: +importMs[0].toFixed(1),
      baseline: 'read+split the same files',
      baselineMs: +baselineMs.toFixed(1),
      ratio: +(ms / baselineMs).toFixed(2),
      classes: result!.project.classes.length,
      images: result!.images.length,
      targetMs: 2000,
      runs: RUNS,
    }),
  );

  const text = serializeProject(result!.project);
  const ids = result!.project.classes.map((c) => c.id);
  const validateMs: number[] = [];
  const jsonMs: number[] = [];
  for (let i = 0; i < VALIDATE_RUNS; i++) {
    jsonMs.push((await time(() => JSON.parse(text))).ms);
    validateMs.push((await time(() => validateProject(parseProject(text), { datasetClassIds: ids }))).ms);
  }
  console.log(
    JSON.stringify({
      data,
      bench: 'parse-validate-nabirds',
      ms: +median(validateMs).toFixed(2),
      firstRunMs: +validateMs[0].toFixed(2),
      baseline: 'JSON.parse of the same text',
      baselineMs: +median(jsonMs).toFixed(2),
      ratio: +(median(validateMs) / median(jsonMs)).toFixed(1),
      bytes: text.length,
      classes: ids.length,
      targetMs: 100,
      runs: VALIDATE_RUNS,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
