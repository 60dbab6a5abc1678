// The 2-D embedding map: UMAP (umap-js) on the exact nearest neighbours of knn.ts (cosine
// distance), so the layout shows the same neighbourhoods the findings use. Deterministic (seeded).
import { UMAP } from 'umap-js';
import { PsclError } from '../errors';
import { nearestNeighbours, type Neighbours } from './knn';

export interface MapOptions {
  /** Neighbours per point (default 15). */
  neighbours?: number;
  /** Optimisation epochs (default: 500 below 10k points, 200 above, as UMAP's own default). */
  epochs?: number;
  /** Already computed neighbours of the same rows (at least `neighbours` each). */
  knn?: Neighbours;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (fraction: number, message: string) => void;
}

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** x, y per row (interleaved). */
export async function embeddingMap(vectors: Float32Array, n: number, dim: number, o: MapOptions = {}): Promise<Float32Array> {
  const out = new Float32Array(n * 2);
  if (n <= 2) {
    for (let i = 0; i < n; i++) out[i * 2] = i;
    return out;
  }
  const k = Math.min(o.neighbours ?? 15, n - 1);
  const knn = o.knn && o.knn.k >= k ? o.knn : await nearestNeighbours(vectors, n, dim, k, { signal: o.signal, onProgress: (f) => o.onProgress?.(f * 0.3, `nearest neighbours ${Math.round(f * 100)}%`) });
  // UMAP's neighbour lists include the point itself at distance 0
  const indices: number[][] = [];
  const distances: number[][] = [];
  for (let i = 0; i < n; i++) {
    const idx = [i];
    const dist = [0];
    for (let j = 0; j < k; j++) {
      const other = knn.indices[i * knn.k + j]!;
      if (other < 0) break;
      idx.push(other);
      dist.push(Math.max(0, 1 - knn.sims[i * knn.k + j]!));
    }
    while (idx.length < k + 1) {
      idx.push(idx[idx.length - 1]!);
      dist.push(dist[dist.length - 1]!);
    }
    indices.push(idx);
    distances.push(dist);
  }
  const umap = new UMAP({ nComponents: 2, nNeighbors: k + 1, minDist: 0.1, nEpochs: o.epochs ?? (n < 10000 ? 500 : 200), random: seeded(o.seed ?? 42) });
  umap.setPrecomputedKNN(indices, distances);
  const rows = Array.from({ length: n }, (_, i) => vectors.subarray(i * dim, (i + 1) * dim) as unknown as number[]);
  const epochs = umap.initializeFit(rows);
  for (let e = 0; e < epochs; e++) {
    if (o.signal?.aborted) throw new PsclError('map cancelled', 'cancelled');
    umap.step();
    if (e % 20 === 0) {
      o.onProgress?.(0.3 + (0.7 * e) / epochs, `laying out the map ${Math.round((100 * e) / epochs)}%`);
      await new Promise((r) => setImmediate(r));
    }
  }
  umap.getEmbedding().forEach(([x, y], i) => {
    out[i * 2] = x!;
    out[i * 2 + 1] = y!;
  });
  return out;
}
