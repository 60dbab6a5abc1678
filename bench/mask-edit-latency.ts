// Latency from a part-prompt edit to new label maps for one 448x448 image whose dense features
// are cached: the edited prompt's embedding changes, everything after it is recomputed
// (similarity + softmax, upsample + argmax to 448x448, closing, statistics).
//
//   node --import tsx bench/mask-edit-latency.ts [--edits 50] [--parts 6] [--background 1] [--size 448]
//
// Prints one JSON object per line: p50/p95 of the whole edit for a tiny-CLIP-shaped and a
// ViT-B/16-shaped feature grid, with the similarity step alone as the baseline of the same run.
// `embedPrompt` is the hook for the text encoder: pass the ONNX text encoder there and its time
// for the edited prompt is included in every edit.
import { performance } from 'node:perf_hooks';
import {
  closeLabelMap,
  computePartMasks,
  labelsFromProbabilities,
  partStatistics,
  promptProbabilities,
  type DenseFeatures,
  type PromptEmbeddings,
} from '../src/core/masks';
import { mulberry32 } from '../src/core/util/random';

export interface EditLatencyOptions {
  name: string;
  grid: number;
  dim: number;
  parts: number;
  /** Background prompts after the parts (their pixels become label 0, so the closing has work). */
  background: number;
  size: number;
  edits: number;
  /** 'structured': parts as smooth blobs (like real images); 'noise': i.i.d. features (worst case). */
  features: 'structured' | 'noise';
  targetP95Ms: number;
  /** Text encoder of the edited prompt; its time counts in each edit when given. */
  embedPrompt?: (prompt: string) => Promise<Float32Array> | Float32Array;
  seed?: number;
}

// the project's seeded PRNG, so runs are comparable
const rng = mulberry32;

function gaussian(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

function normaliseRows(a: Float32Array, dim: number): Float32Array {
  for (let o = 0; o < a.length; o += dim) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += a[o + d] * a[o + d];
    const inv = 1 / Math.sqrt(s || 1);
    for (let d = 0; d < dim; d++) a[o + d] *= inv;
  }
  return a;
}

function randomRows(n: number, dim: number, r: () => number): Float32Array {
  const a = new Float32Array(n * dim);
  for (let i = 0; i < a.length; i++) a[i] = gaussian(r);
  return normaliseRows(a, dim);
}

/** Dense features: each patch leans to the part whose blob covers it, plus noise. */
function denseFeatures(o: EditLatencyOptions, parts: Float32Array, r: () => number): DenseFeatures {
  const { grid, dim } = o;
  const data = new Float32Array(grid * grid * dim);
  const blobs = Array.from({ length: o.parts }, () => ({ y: r() * grid, x: r() * grid, s: grid * (0.08 + 0.12 * r()) }));
  for (let y = 0; y < grid; y++) {
    for (let x = 0; x < grid; x++) {
      const off = (y * grid + x) * dim;
      for (let d = 0; d < dim; d++) data[off + d] = gaussian(r) * (o.features === 'noise' ? 1 : 0.6 / Math.sqrt(dim));
      if (o.features === 'noise') continue;
      blobs.forEach((b, k) => {
        const w = Math.exp(-((y - b.y) ** 2 + (x - b.x) ** 2) / (2 * b.s * b.s));
        for (let d = 0; d < dim; d++) data[off + d] += 0.5 * w * parts[k * dim + d];
      });
    }
  }
  return { data: normaliseRows(data, dim), h: grid, w: grid, dim };
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
const round = (v: number): number => Math.round(v * 1000) / 1000;

export async function measureEditLatency(o: EditLatencyOptions): Promise<Record<string, unknown>> {
  const r = rng(o.seed ?? 1234);
  const n = o.parts + o.background;
  const base = randomRows(n, o.dim, r);
  const features = denseFeatures(o, base, r);
  const size = { height: o.size, width: o.size };
  const total: number[] = [];
  const similarity: number[] = [];
  const stages = { similarity: [] as number[], labels: [] as number[], closing: [] as number[], stats: [] as number[] };
  const warmup = 5;
  for (let e = 0; e < warmup + o.edits; e++) {
    // The edited part's new embedding: a perturbed copy of the old one (or the text encoder's).
    const edited = e % o.parts;
    const prompt = `a photo of the part ${edited} (edit ${e}) of a bird.`;
    const t0 = performance.now();
    let row: Float32Array;
    if (o.embedPrompt) {
      row = await o.embedPrompt(prompt);
      if (row.length !== o.dim) throw new Error(`embedPrompt returned ${row.length} values, expected ${o.dim}`);
    } else {
      row = new Float32Array(o.dim);
      for (let d = 0; d < o.dim; d++) row[d] = base[edited * o.dim + d] + 0.3 * gaussian(r) / Math.sqrt(o.dim);
      normaliseRows(row, o.dim);
    }
    const data = base.slice();
    data.set(row, edited * o.dim);
    const prompts: PromptEmbeddings = { data, n, dim: o.dim };
    const result = computePartMasks(features, prompts, o.parts, size);
    const t1 = performance.now();
    if (result.labels.data.length !== o.size * o.size) throw new Error('unexpected label map size');

    // Baseline of the same run: the similarity step alone, then each later stage on its own.
    const s0 = performance.now();
    const probs = promptProbabilities(features, prompts);
    const s1 = performance.now();
    const raw = labelsFromProbabilities(probs, features.h, features.w, n, { ...size, numParts: o.parts });
    const s2 = performance.now();
    const closed = closeLabelMap(raw, 3);
    const s3 = performance.now();
    partStatistics(closed);
    const s4 = performance.now();
    if (e < warmup) continue;
    total.push(t1 - t0);
    similarity.push(s1 - s0);
    stages.similarity.push(s1 - s0);
    stages.labels.push(s2 - s1);
    stages.closing.push(s3 - s2);
    stages.stats.push(s4 - s3);
  }
  const sorted = (a: number[]): number[] => [...a].sort((x, y) => x - y);
  const t = sorted(total);
  const s = sorted(similarity);
  const p95 = quantile(t, 0.95);
  return {
    bench: 'mask-edit-latency',
    model: o.name,
    grid: o.grid,
    dim: o.dim,
    parts: o.parts,
    backgroundPrompts: o.background,
    size: o.size,
    features: o.features,
    edits: o.edits,
    textEncoder: o.embedPrompt ? 'included' : 'not included (no embedPrompt)',
    p50_ms: round(quantile(t, 0.5)),
    p95_ms: round(p95),
    baseline: 'similarity + softmax only',
    baseline_p50_ms: round(quantile(s, 0.5)),
    ratio_p50_vs_baseline: round(quantile(t, 0.5) / quantile(s, 0.5)),
    stages_p50_ms: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, round(quantile(sorted(v), 0.5))])),
    target_p95_ms: o.targetP95Ms,
    meets_target: p95 < o.targetP95Ms,
  };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const edits = arg('edits', 50);
  const parts = arg('parts', 6);
  const background = arg('background', 1);
  const size = arg('size', 448);
  const grid = Math.round(size / 16);
  const models = [
    { name: 'tiny-clip', dim: 64, targetP95Ms: 50 },
    { name: 'vit-b-16-shaped', dim: 512, targetP95Ms: 150 },
  ];
  for (const features of ['structured', 'noise'] as const) {
    for (const m of models) {
      console.log(JSON.stringify(await measureEditLatency({ ...m, grid, parts, background, size, edits, features })));
    }
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
