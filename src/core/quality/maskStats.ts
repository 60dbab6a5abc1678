// Statistics of the cache's part masks across the dataset (the masks as built: with the part
// prompts of the build, `stale` when the project's prompts have changed since): per part, the
// distribution of its coverage (share of the image's pixels), how often it is empty, its share of
// the pixels that won the argmax, and the keypoint hit rate read off the stored masks themselves
// (closing included), beside the keypoint-feature one.
import path from 'node:path';
import { readLabelMapPng } from '../masks/export';
import type { CacheManifest } from '../cache/manifest';
import type { CachedKeypoints } from '../cache/keypointFeatures';

export interface PartMaskStats {
  images: number;
  coverage: { mean: number; p10: number; p50: number; p90: number };
  emptyRate: number;
  /** Share of all the category's mask pixels labelled with this part. */
  argmaxShare: number;
  /** Visible keypoints mapped to this part, and how many lie inside its stored mask. */
  keypoints: number;
  hitRate: number | null;
}

export interface MaskStatistics {
  /** The masks were made with other part prompts than the project's: run `pscl cache build`. */
  stale: boolean;
  images: number;
  /** Share of all mask pixels that are background (label 0). */
  background: number;
  /** By "<coarse>/<part>" (the parts of the build). */
  parts: Record<string, PartMaskStats>;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/**
 * Reads the masks of the images `use(i)` selects (index into manifest.images). `keypointParts`
 * maps "<coarse>/<part>" to the dataset keypoint names of that part (the project's mapping).
 */
export async function maskStatistics(
  dir: string,
  manifest: CacheManifest,
  use: (image: number) => boolean,
  options: { stale: boolean; keypoints?: CachedKeypoints; keypointParts?: ReadonlyMap<string, readonly string[]>; signal?: AbortSignal },
): Promise<MaskStatistics> {
  const coarseValues = manifest.levelValues[manifest.levels[0]] ?? [];
  const coverage = new Map<string, number[]>();
  const pixelsOf = new Map<string, number>();
  const hits = new Map<string, [number, number]>();
  let total = 0;
  let background = 0;
  let images = 0;
  // the keypoint rows of each image
  const rowsOf = new Map<number, number[]>();
  const kp = options.keypoints;
  if (kp) for (let r = 0; r < kp.rows; r++) if (kp.image[r] >= 0) (rowsOf.get(kp.image[r]) ?? rowsOf.set(kp.image[r], []).get(kp.image[r])!).push(r);
  for (let i = 0; i < manifest.images.length; i++) {
    if (i % 64 === 0 && options.signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
    const img = manifest.images[i];
    if (img.status !== 'ok' || !img.mask || !use(i)) continue;
    const cls = manifest.classes[img.label];
    const coarse = cls ? coarseValues[cls.levelIndex[0]] : undefined;
    const parts = coarse !== undefined ? manifest.parts[coarse] : undefined;
    if (!parts || parts.length === 0) continue;
    const labels = await readLabelMapPng(path.join(dir, img.mask), parts.length);
    images++;
    const counts = new Int32Array(parts.length + 1);
    for (const v of labels.data) counts[v]++;
    const n = labels.data.length;
    total += n;
    background += counts[0];
    parts.forEach((p, k) => {
      const key = `${coarse}/${p}`;
      (coverage.get(key) ?? coverage.set(key, []).get(key)!).push(counts[k + 1] / n);
      pixelsOf.set(key, (pixelsOf.get(key) ?? 0) + counts[k + 1]);
    });
    for (const r of rowsOf.get(i) ?? []) {
      const name = kp!.names[kp!.part[r]];
      const k = parts.findIndex((p) => options.keypointParts?.get(`${coarse}/${p}`)?.includes(name));
      if (k < 0) continue;
      const x = Math.min(labels.width - 1, Math.floor(kp!.position[2 * r] * labels.width));
      const y = Math.min(labels.height - 1, Math.floor(kp!.position[2 * r + 1] * labels.height));
      const key = `${coarse}/${parts[k]}`;
      const h = hits.get(key) ?? [0, 0];
      h[0]++;
      if (labels.data[y * labels.width + x] === k + 1) h[1]++;
      hits.set(key, h);
    }
  }
  const out: Record<string, PartMaskStats> = {};
  for (const [key, list] of coverage) {
    const sorted = Float64Array.from(list).sort();
    const coarse = key.slice(0, key.indexOf('/'));
    const coarseTotal = [...coverage.keys()].filter((k) => k.startsWith(`${coarse}/`)).reduce((s, k) => s + (pixelsOf.get(k) ?? 0), 0);
    const h = hits.get(key);
    out[key] = {
      images: list.length,
      coverage: { mean: list.reduce((s, v) => s + v, 0) / list.length, p10: quantile(sorted, 0.1), p50: quantile(sorted, 0.5), p90: quantile(sorted, 0.9) },
      emptyRate: list.filter((v) => v === 0).length / list.length,
      argmaxShare: coarseTotal > 0 ? (pixelsOf.get(key) ?? 0) / coarseTotal : 0,
      keypoints: h?.[0] ?? 0,
      hitRate: h && h[0] > 0 ? h[1] / h[0] : null,
    };
  }
  return { stale: options.stale, images, background: total > 0 ? background / total : 0, parts: out };
}
