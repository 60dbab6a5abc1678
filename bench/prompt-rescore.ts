// Rescoring prompt quality after one phrasing edit, on 10,000 cached images (CUB-sized: 200
// classes in 4 levels, 12 visible keypoints per image, 512-d embeddings and keypoint features),
// with the ViT-B/16-shaped text tower (12 layers, width 512; random weights: timing only). Each
// edit changes one phrasing of one part; the rescoring encodes the changed texts, recomputes the
// similarities they touch, and returns every score (zero-shot per level and variant, hit rates
// per part and phrasing). Target: p95 < 300 ms.
// Similarities on ONNX Runtime (ortMatrixProduct), as the CLI and the backend compute them.
// Baseline in the same run: the same edits scored from scratch (a new scorer each time, sharing
// only the text embeddings), i.e. without the kept similarities.
//
//   node --import tsx bench/prompt-rescore.ts [--images 10000] [--edits 30] [--baseline-edits 5]
//                                             [--text-encoder vit-b|none]  (none: random vectors, to profile the rest)
//
// One JSON object on stdout.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { CacheManifest, ImageEmbeddings } from '../src/core/cache';
import { ClipModel } from '../src/core/clip';
import { makeTinyClip } from '../src/core/clip/tiny';
import { ortMatrixProduct, PromptScorer, TextEmbeddings, type QualityData } from '../src/core/quality';
import type { Project } from '../src/core/taxonomy/model';
import { mulberry32 } from '../src/core/util/random';

const { values } = parseArgs({
  options: { images: { type: 'string', default: '10000' }, edits: { type: 'string', default: '30' }, 'baseline-edits': { type: 'string', default: '5' }, 'text-encoder': { type: 'string', default: 'vit-b' } },
});
const N = Number(values.images);
const EDITS = Number(values.edits);
const BASELINE_EDITS = Number(values['baseline-edits']);
const DIM = 512;
const KEYPOINTS = ['back', 'beak', 'belly', 'breast', 'crown', 'forehead', 'left_eye', 'left_leg', 'left_wing', 'nape', 'tail', 'throat'];
const TARGET_P95_MS = 300;

function unitRows(rows: number, r: () => number): Float32Array {
  const out = new Float32Array(rows * DIM);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < DIM; j++) {
      const v = r() - 0.5;
      out[i * DIM + j] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < DIM; j++) out[i * DIM + j] *= inv;
  }
  return out;
}

/** A CUB-shaped project: 200 species in 40 genera, 20 families, 8 orders; 12 parts with keypoints. */
function project(): Project {
  const classes = Array.from({ length: 200 }, (_, i) => ({
    id: String(i + 1),
    name: `Species ${i + 1}`,
    path: { coarse: 'bird', order: `Order ${i % 8}`, family: `Family ${i % 20}`, genus: `Genus ${i % 40}` },
  }));
  const parts = KEYPOINTS.map((k) => ({ name: k.replace('left_', ''), prompts: [k.replace('left_', ''), `the ${k.replace('left_', '')} of the bird`], keypoints: [k] }));
  return {
    version: 1,
    name: 'bench',
    dataset: { format: 'cub', root: '.' },
    levels: ['coarse', 'order', 'family', 'genus', 'species'].map((name) => ({ name, kind: 'nested' as const })),
    classes,
    parts: { bird: parts },
    templates: { class: ['a photo of a {name}, a type of {coarse}.'], part: ['a photo of the {part} of a {coarse}.'] },
  };
}

/** The cache a 10k-image build would leave, in memory. */
function data(p: Project): QualityData {
  const r = mulberry32(1);
  const images = Array.from({ length: N }, (_, i) => ({ key: String(i + 1), path: `images/${i}.jpg`, split: (i % 3 === 0 ? 'test' : 'train') as 'test' | 'train', label: i % 200, status: 'ok' as const, embedding: i }));
  const manifest = { images, classes: p.classes.map((c, index) => ({ index, id: c.id, name: c.name, levelIndex: [] })), model: { id: 'vit-b-16-text-shaped' }, hashes: {} } as unknown as CacheManifest;
  const emb = unitRows(N, r);
  const embeddings: ImageEmbeddings = { dir: '', manifest, keys: images.map((i) => i.key), paths: images.map((i) => i.path), split: images.map((i) => i.split), label: Int32Array.from(images, (i) => i.label), data: emb, rows: N, dim: DIM, missing: 0 };
  const rows = N * KEYPOINTS.length;
  return {
    dir: '',
    manifest,
    embeddings,
    embeddingImage: Int32Array.from({ length: N }, (_, i) => i),
    keypoints: {
      names: KEYPOINTS,
      image: Int32Array.from({ length: rows }, (_, i) => Math.floor(i / KEYPOINTS.length)),
      part: Int32Array.from({ length: rows }, (_, i) => i % KEYPOINTS.length),
      position: new Float32Array(rows * 2),
      features: unitRows(rows, r),
      rows,
      dim: DIM,
    },
    classId: images.map((i) => String(i.label + 1)),
  };
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function main(): Promise<void> {
  const dir = path.resolve(__dirname, '..', '.cache', 'bench', 'vit-b-16-text-random');
  if (!existsSync(path.join(dir, 'model.safetensors'))) {
    makeTinyClip(dir, { width: 64, layers: 1, heads: 2, patch: 16, imageSize: 224, textWidth: 512, textLayers: 12, textHeads: 8, embedDim: 512, seed: 0, vocab: 'small' });
  }
  const model = await ClipModel.load(dir, { provider: 'cpu', threads: 2, cacheDir: path.resolve(__dirname, '..', '.cache', 'bench', 'graphs') });
  try {
    let textMs = 0;
    const random = mulberry32(7);
    const texts = new TextEmbeddings(async (t, signal) => {
      const t0 = performance.now();
      const e = values['text-encoder'] === 'none' ? unitRows(t.length, random) : (await model.embedTexts(t, { signal })).data;
      textMs += performance.now() - t0;
      return e;
    }, DIM);
    const p = project();
    const d = data(p);
    const product = await ortMatrixProduct({ threads: 2 });
    const scorer = new PromptScorer(d, texts, product);
    const t0 = performance.now();
    await scorer.score(p, { masks: false });
    const firstMs = performance.now() - t0;
    const firstTexts = texts.encoded;
    const times: number[] = [];
    const textTimes: number[] = [];
    const steps: Record<string, number[]> = {};
    for (let e = 0; e < EDITS; e++) {
      const part = p.parts.bird[e % KEYPOINTS.length];
      part.prompts[1] = `the ${part.name} of the bird, edit ${e}`;
      textMs = 0;
      const s0 = performance.now();
      const r = await scorer.score(p, { masks: false });
      times.push(performance.now() - s0);
      textTimes.push(textMs);
      for (const [k, v] of Object.entries(r.detail.timing)) (steps[k] ??= []).push(v);
      if (!(part.prompts[1] in r.scores.parts[`bird/${part.name}`].phrasings)) throw new Error('the edit was not scored');
    }
    // baseline: the same kind of edit scored from scratch (texts already encoded)
    const baseline: number[] = [];
    for (let e = 0; e < BASELINE_EDITS; e++) {
      const part = p.parts.bird[e % KEYPOINTS.length];
      part.prompts[1] = `the ${part.name} of the bird, baseline ${e}`;
      await texts.prepare([`a photo of the ${part.prompts[1]} of a bird.`]);
      const s0 = performance.now();
      await new PromptScorer(d, texts, product).score(p, { masks: false });
      baseline.push(performance.now() - s0);
    }
    times.sort((a, b) => a - b);
    textTimes.sort((a, b) => a - b);
    baseline.sort((a, b) => a - b);
    const p95 = quantile(times, 0.95);
    console.log(
      JSON.stringify({
        bench: 'prompt-rescore',
        images: N,
        keypoints: N * KEYPOINTS.length,
        classes: 200,
        dim: DIM,
        textTower: 'vit-b-16-shaped (12 layers, width 512)',
        edits: EDITS,
        first_score_ms: +firstMs.toFixed(0),
        first_score_texts: firstTexts,
        p50_ms: +quantile(times, 0.5).toFixed(2),
        p95_ms: +p95.toFixed(2),
        text_encoder_p50_ms: +quantile(textTimes, 0.5).toFixed(2),
        text_encoder_p95_ms: +quantile(textTimes, 0.95).toFixed(2),
        steps_p50_ms: Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, +quantile(v.sort((a, b) => a - b), 0.5).toFixed(2)])),
        baseline: 'the same edit scored from scratch (text embeddings cached)',
        baseline_p50_ms: +quantile(baseline, 0.5).toFixed(2),
        ratio_p50_vs_baseline: +(quantile(baseline, 0.5) / quantile(times, 0.5)).toFixed(2),
        target_p95_ms: TARGET_P95_MS,
        meets_target: p95 < TARGET_P95_MS,
      }),
    );
  } finally {
    await model.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
