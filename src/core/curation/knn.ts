// Exact k nearest neighbours (cosine) of every row of an L2-normalised matrix, for near-duplicates,
// k-NN label votes and in-class density. Brute force through ONNX Runtime (MatMul + TopK, the
// runtime the extension already ships: no extra native module per platform), in blocks of queries;
// a plain TypeScript loop when the runtime is not available. bench/curation-knn.ts measures both
// against HNSW (hnswlib-node) on 50k x 512.
import { GraphBuilder } from '../clip/graph/builder';
import { loadOrt } from '../clip/runtime';
import { PsclError } from '../errors';

export interface Neighbours {
  n: number;
  k: number;
  /** Row i's neighbours (self left out), most similar first: indices[i * k + j]. */
  indices: Int32Array;
  /** Their cosine similarities. */
  sims: Float32Array;
}

export interface KnnOptions {
  signal?: AbortSignal;
  /** Fraction of the queries done. */
  onProgress?: (fraction: number) => void;
  /** Queries per block (default 256). */
  blockSize?: number;
}

function cancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new PsclError('nearest-neighbour search cancelled', 'cancelled');
}

/** Keeps the k best (self left out) of one query's scored candidates. */
function keepBest(out: Neighbours, row: number, candidates: ArrayLike<number>, scores: ArrayLike<number>): void {
  const { k } = out;
  let j = 0;
  for (let c = 0; c < candidates.length && j < k; c++) {
    const idx = Number(candidates[c]);
    if (idx === row) continue;
    out.indices[row * k + j] = idx;
    out.sims[row * k + j] = scores[c]!;
    j++;
  }
  for (; j < k; j++) {
    out.indices[row * k + j] = -1;
    out.sims[row * k + j] = -Infinity;
  }
}

/** The plain loop: exact, O(n^2 d); fine up to a few thousand rows. */
export function knnBruteForce(vectors: Float32Array, n: number, dim: number, k: number, options: KnnOptions = {}): Neighbours {
  const kk = Math.min(k, Math.max(0, n - 1));
  const out: Neighbours = { n, k: kk, indices: new Int32Array(n * kk), sims: new Float32Array(n * kk) };
  const bestIdx = new Int32Array(kk + 1);
  const bestSim = new Float64Array(kk + 1);
  for (let i = 0; i < n; i++) {
    if ((i & 255) === 0) {
      cancelled(options.signal);
      options.onProgress?.(i / n);
    }
    let count = 0;
    const qi = i * dim;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      const xj = j * dim;
      for (let d = 0; d < dim; d++) s += vectors[qi + d]! * vectors[xj + d]!;
      if (count < kk || s > bestSim[count - 1]!) {
        let p = count < kk ? count++ : count - 1;
        while (p > 0 && bestSim[p - 1]! < s) {
          bestSim[p] = bestSim[p - 1]!;
          bestIdx[p] = bestIdx[p - 1]!;
          p--;
        }
        bestSim[p] = s;
        bestIdx[p] = j;
      }
    }
    keepBest(out, i, bestIdx.subarray(0, count), bestSim.subarray(0, count));
  }
  options.onProgress?.(1);
  return out;
}

/** MatMul of a block of queries with the transposed matrix, then TopK: one graph, any sizes. */
function knnGraph(): Uint8Array {
  const g = new GraphBuilder('pscl-knn');
  const q = g.input('queries', 'float32', ['m', 'd']);
  const xt = g.input('matrix_t', 'float32', ['d', 'n']);
  const k = g.input('k', 'int64', [1]);
  const scores = g.op('MatMul', [q, xt]);
  const [values, indices] = g.ops('TopK', [scores, k], { axis: 1, largest: 1, sorted: 1 }, 2, 'topk');
  g.output(values!, 'values', 'float32', ['m', 'kk']);
  g.output(indices!, 'indices', 'int64', ['m', 'kk']);
  return g.encode();
}

/** Exact neighbours through ONNX Runtime (CPU). */
export async function knnOnnx(vectors: Float32Array, n: number, dim: number, k: number, options: KnnOptions = {}): Promise<Neighbours> {
  const ort = await loadOrt();
  const kk = Math.min(k, Math.max(0, n - 1));
  const out: Neighbours = { n, k: kk, indices: new Int32Array(n * kk), sims: new Float32Array(n * kk) };
  if (kk === 0) return out;
  const transposed = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) for (let d = 0; d < dim; d++) transposed[d * n + i] = vectors[i * dim + d]!;
  const session = await ort.InferenceSession.create(knnGraph(), { graphOptimizationLevel: 'all' });
  try {
    const matrix = new ort.Tensor('float32', transposed, [dim, n]);
    const kt = new ort.Tensor('int64', BigInt64Array.from([BigInt(Math.min(n, kk + 1))]), [1]);
    const block = Math.max(1, options.blockSize ?? 256);
    for (let first = 0; first < n; first += block) {
      cancelled(options.signal);
      const m = Math.min(block, n - first);
      const q = new ort.Tensor('float32', vectors.subarray(first * dim, (first + m) * dim), [m, dim]);
      const r = await session.run({ queries: q, matrix_t: matrix, k: kt });
      const values = r.values!.data as Float32Array;
      const indices = r.indices!.data as BigInt64Array;
      const w = values.length / m;
      for (let i = 0; i < m; i++) keepBest(out, first + i, Array.from(indices.subarray(i * w, (i + 1) * w), Number), values.subarray(i * w, (i + 1) * w));
      options.onProgress?.((first + m) / n);
    }
  } finally {
    await session.release();
  }
  return out;
}

/** Exact neighbours: ONNX Runtime when it loads, else the plain loop. */
export async function nearestNeighbours(vectors: Float32Array, n: number, dim: number, k: number, options: KnnOptions = {}): Promise<Neighbours> {
  try {
    return await knnOnnx(vectors, n, dim, k, options);
  } catch (err) {
    if (err instanceof PsclError && err.kind === 'cancelled') throw err;
    return knnBruteForce(vectors, n, dim, k, options);
  }
}
