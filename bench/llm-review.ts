// Benchmarks the local work around an LLM suggestion on NABirds (555 classes): validating a
// suggested level for every class and turning its acceptance into one checked edit
// (review.toEdits), and expanding every class and part prompt with both hashes. Baseline in the
// same run: parseProject + validateProject of the same text (what any checked edit must do at
// least twice). One JSON object per line; medians.
//   node --import tsx bench/llm-review.ts
import { performance } from 'node:perf_hooks';
import { SuggestionReview } from '../src/core/llm/review';
import { validateIntermediate } from '../src/core/llm/validate';
import { classPromptsHash, expandClassPrompts, expandPartPrompts, partPromptsHash } from '../src/core/parts/prompts';
import { importNabirds } from '../src/core/taxonomy/importers';
import { parseProject, serializeProject } from '../src/core/taxonomy/project';
import { validateProject } from '../src/core/taxonomy/validate';
import { nabirdsForBench } from '../test/fixtures/nabirds';

const RUNS = Number(process.env.BENCH_RUNS ?? 7);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn: () => unknown): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

async function main() {
  const { root, data } = nabirdsForBench();
  const { project } = await importNabirds(root);
  const text = serializeProject(project);
  const levels = project.levels;
  // A facet below the coarse level: ten groups by class index, every class assigned.
  const groups = new Map<string, string[]>();
  project.classes.forEach((c, i) => {
    const name = `group ${i % 10}`;
    groups.set(name, [...(groups.get(name) ?? []), c.id]);
  });
  const reply = { levels: [{ name: 'size class', kind: 'facet' as const, after: levels[0].name, values: [...groups].map(([name, members]) => ({ name, parent: '', members })) }] };

  const reviewMs: number[] = [];
  const baseMs: number[] = [];
  let applied = 0;
  for (let i = 0; i < RUNS; i++) {
    baseMs.push(time(() => validateProject(parseProject(text))));
    reviewMs.push(
      time(() => {
        const v = validateIntermediate({ project, requested: project.classes }, reply);
        const review = new SuggestionReview({ kind: 'intermediate', classIds: project.classes.map((c) => c.id), ...v });
        review.acceptAll();
        const out = review.toEdits(text);
        if (!out.ok) throw new Error(out.reasons.join('\n'));
        applied = out.applied.length;
      }),
    );
  }
  console.log(
    JSON.stringify({
      data,
      bench: 'llm-review-nabirds',
      ms: +median(reviewMs).toFixed(1),
      baseline: 'parseProject+validateProject of the same text',
      baselineMs: +median(baseMs).toFixed(1),
      ratio: +(median(reviewMs) / median(baseMs)).toFixed(1),
      classes: project.classes.length,
      applied,
      runs: RUNS,
    }),
  );

  const expandMs: number[] = [];
  let texts = 0;
  for (let i = 0; i < RUNS; i++) {
    expandMs.push(
      time(() => {
        texts = 0;
        for (const cls of project.classes) for (const l of levels) texts += expandClassPrompts(project, cls, l.name).length;
        for (const coarse of Object.keys(project.parts)) texts += expandPartPrompts(project, coarse).reduce((n, p) => n + p.texts.length, 0);
        classPromptsHash(project);
        partPromptsHash(project);
      }),
    );
  }
  console.log(
    JSON.stringify({
      data,
      bench: 'prompt-expansion-nabirds',
      ms: +median(expandMs).toFixed(1),
      baseline: 'parseProject+validateProject of the same text',
      baselineMs: +median(baseMs).toFixed(1),
      ratio: +(median(expandMs) / median(baseMs)).toFixed(2),
      texts,
      runs: RUNS,
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
