// A/B of two prompt sets on the same images: the difference of every score (project minus the one
// it is compared against) with a paired bootstrap confidence interval. Images are the resampled
// unit (with replacement, the same draw for both sides): zero-shot hits are per image, and an
// image's keypoints go with it, so keypoints of one image are never treated as independent.
import { mulberry32 } from '../util/random';
import type { PromptScores, ScoreDetail } from './score';

export interface Delta {
  /** Project minus baseline. */
  delta: number;
  /** Percentile interval of the bootstrap deltas. */
  ci: [number, number];
}

export interface Comparison {
  /** The project's scores and the baseline's. */
  a: PromptScores;
  b: PromptScores;
  delta: {
    levels: Record<string, { top1: Delta; top5: Delta }>;
    control: Record<string, { top1: Delta; top5: Delta }>;
    parts: Record<string, { hitRate: Delta | null }>;
  };
  bootstrap: { samples: number; confidence: number; seed: number; images: number };
  notes: string[];
}

export interface CompareOptions {
  samples?: number;
  confidence?: number;
  seed?: number;
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

function percentile(sorted: Float64Array, q: number): number {
  // linear interpolation between order statistics (numpy's default)
  const at = q * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

interface Draws {
  n: number;
  samples: number;
  seed: number;
}

/**
 * Paired bootstrap of `stat(weights)`, a difference of the two sides: `weights[i]` is how often
 * image i was drawn. The draws come from the seed again for every statistic, so every delta is
 * paired over the very same resamples. Returns the observed difference and the interval.
 */
function pairedBootstrap(d: Draws, stat: (w: Int32Array | undefined) => number, confidence: number): Delta {
  const observed = stat(undefined);
  const deltas = new Float64Array(d.samples);
  const random = mulberry32(d.seed);
  const w = new Int32Array(d.n);
  for (let s = 0; s < d.samples; s++) {
    w.fill(0);
    for (let i = 0; i < d.n; i++) w[Math.floor(random() * d.n)]++;
    deltas[s] = stat(w);
  }
  deltas.sort();
  const tail = (1 - confidence) / 2;
  return { delta: round(observed), ci: [round(percentile(deltas, tail)), round(percentile(deltas, 1 - tail))] };
}

/** Compares the scores of the same images (the detail's image lists must match). */
export function compareScores(a: { scores: PromptScores; detail: ScoreDetail }, b: { scores: PromptScores; detail: ScoreDetail }, options: CompareOptions = {}): Comparison {
  const samples = options.samples ?? 1000;
  const confidence = options.confidence ?? 0.95;
  const seed = options.seed ?? 0;
  const notes: string[] = [];
  const images = a.detail.images;
  const same = images.length === b.detail.images.length && images.every((v, i) => v === b.detail.images[i]);
  if (!same) throw new Error('the two prompt sets were scored on different images (their classes differ); compare projects of the same classes');
  const n = images.length;
  const draws: Draws = { n, samples, seed };
  const mean = (hits: Uint8Array, w?: Int32Array) => {
    let s = 0;
    let c = 0;
    for (let i = 0; i < n; i++) {
      const k = w ? w[i] : 1;
      s += k * hits[i];
      c += k;
    }
    return c > 0 ? s / c : 0;
  };
  const levelDeltas = (variant: 'flat' | 'control') => {
    const out: Record<string, { top1: Delta; top5: Delta }> = {};
    const za = a.detail.zeroShot.get(variant);
    const zb = b.detail.zeroShot.get(variant);
    for (const [level, ra] of za ?? []) {
      const rb = zb?.get(level);
      if (!rb) continue;
      out[level] = {
        top1: pairedBootstrap(draws, (w) => mean(ra.hit1, w) - mean(rb.hit1, w), confidence),
        top5: pairedBootstrap(draws, (w) => mean(ra.hit5, w) - mean(rb.hit5, w), confidence),
      };
    }
    return out;
  };
  // keypoints: per image [keypoints, hits] of each part, on each side
  const position = new Map<number, number>();
  images.forEach((img, i) => position.set(img, i));
  const perImage = (detail: ScoreDetail, key: string) => {
    const h = detail.parts.find((p) => `${p.coarse}/${p.part}` === key);
    const kp = new Int32Array(n);
    const hits = new Int32Array(n);
    if (h) {
      for (let o = 0; o < h.perImage.length; o += h.perImageStride) {
        const i = position.get(h.perImage[o]);
        if (i === undefined) continue;
        kp[i] += h.perImage[o + 1];
        hits[i] += h.perImage[o + 2];
      }
    }
    return { kp, hits };
  };
  const rate = (x: { kp: Int32Array; hits: Int32Array }, w?: Int32Array) => {
    let k = 0;
    let h = 0;
    for (let i = 0; i < n; i++) {
      const m = w ? w[i] : 1;
      k += m * x.kp[i];
      h += m * x.hits[i];
    }
    return k > 0 ? h / k : 0;
  };
  const parts: Record<string, { hitRate: Delta | null }> = {};
  for (const key of Object.keys(a.scores.parts)) {
    if (!(key in b.scores.parts)) {
      notes.push(`part ${key} is not in the baseline`);
      continue;
    }
    if (a.scores.parts[key].keypoints === 0 || b.scores.parts[key].keypoints === 0) {
      parts[key] = { hitRate: null };
      continue;
    }
    const pa = perImage(a.detail, key);
    const pb = perImage(b.detail, key);
    parts[key] = { hitRate: pairedBootstrap(draws, (w) => rate(pa, w) - rate(pb, w), confidence) };
  }
  for (const key of Object.keys(b.scores.parts)) if (!(key in a.scores.parts)) notes.push(`part ${key} is only in the baseline`);
  return {
    a: a.scores,
    b: b.scores,
    delta: { levels: levelDeltas('flat'), control: levelDeltas('control'), parts },
    bootstrap: { samples, confidence, seed, images: n },
    notes,
  };
}
