// k nearest neighbours of every row of 50,000 x 512 unit vectors (k = 10, cosine), as the
// curation checks need them:
//  - ours: exact brute force through ONNX Runtime (MatMul + TopK in blocks; src/core/curation/knn.ts),
//  - baseline: HNSW (hnswlib-node, the C++ library, installed only for this run), its index
//    build plus one query per row, and its recall@10 against the exact answer,
//  - check: the plain TypeScript loop on a sample of rows, which must agree with ours exactly.
// Data: 500 clusters (like classes) of noisy unit vectors, deterministic.
//
//   npm install --no-save hnswlib-node   # the HNSW baseline (native, built here; not shipped)
//   node --import tsx bench/curation-knn.ts [--n 50000] [--dim 512] [--k 10] [--sample 200]
import { parseArgs } from 'node:util';
import { knnBruteForce, knnOnnx } from '../src/core/curation/knn';

const { values } = parseArgs({ options: { n: { type: 'string', default: '50000' }, dim: { type: 'string', default: '512' }, k: { type: 'string', default: '10' }, sample: { type: 'string', default: '200' }, ef: { type: 'string', default: '100' } } });
const n = Number(values.n), dim = Number(values.dim), k = Number(values.k), sample = Number(values.sample), ef = Number(values.ef);

async function main(): Promise<void> {
  let s = 2026;
  const rand = () => ((s = (Math.imul(s, 48271) >>> 0) % 2147483647) / 2147483647 - 0.5);
  const clusters = 500;
  const centres = Float32Array.from({ length: clusters * dim }, rand);
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = i % clusters;
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const v = centres[c * dim + d]! + 0.6 * rand();
      data[i * dim + d] = v;
      norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let d = 0; d < dim; d++) data[i * dim + d]! /= norm;
  }

  const t0 = performance.now();
  const exact = await knnOnnx(data, n, dim, k);
  const oursSeconds = (performance.now() - t0) / 1000;

  // the plain loop on a sample of rows (its cost is linear in the rows asked)
  const rows = Array.from({ length: Math.min(sample, n) }, (_, i) => Math.floor((i * n) / Math.min(sample, n)));
  const t1 = performance.now();
  let agree = 0;
  for (const r of rows) {
    // one row against all: the loop over a two-row matrix would not do, so score directly
    const best: Array<[number, number]> = [];
    for (let j = 0; j < n; j++) {
      if (j === r) continue;
      let d = 0;
      for (let x = 0; x < dim; x++) d += data[r * dim + x]! * data[j * dim + x]!;
      if (best.length < k || d > best[best.length - 1]![1]) {
        best.push([j, d]);
        best.sort((a, b) => b[1] - a[1]);
        if (best.length > k) best.pop();
      }
    }
    const ours = new Set(exact.indices.subarray(r * k, (r + 1) * k));
    agree += best.filter(([j]) => ours.has(j)).length;
  }
  const loopSecondsAll = (((performance.now() - t1) / 1000) * n) / rows.length;
  void knnBruteForce; // the same loop, exported for small inputs

  let hnsw: Record<string, unknown> = { skipped: 'hnswlib-node is not installed (npm install --no-save hnswlib-node)' };
  try {
    // not a dependency of the project: `npm install --no-save hnswlib-node` for this comparison
    const name = 'hnswlib-node';
    interface Hnsw {
      initIndex(max: number, m: number, efConstruction: number, seed: number): void;
      addPoint(v: number[], label: number): void;
      setEf(ef: number): void;
      searchKnn(v: number[], k: number): { neighbors: number[] };
    }
    type HnswModule = { HierarchicalNSW: new (space: string, dim: number) => Hnsw };
    const mod = (await import(name)) as HnswModule & { default?: HnswModule };
    const { HierarchicalNSW } = mod.default ?? mod;
    const t2 = performance.now();
    const index = new HierarchicalNSW('cosine', dim);
    index.initIndex(n, 16, 200, 100);
    for (let i = 0; i < n; i++) index.addPoint(Array.from(data.subarray(i * dim, (i + 1) * dim)), i);
    const buildSeconds = (performance.now() - t2) / 1000;
    index.setEf(ef);
    const t3 = performance.now();
    let hits = 0;
    for (let i = 0; i < n; i++) {
      const r = index.searchKnn(Array.from(data.subarray(i * dim, (i + 1) * dim)), k + 1);
      const truth = new Set(exact.indices.subarray(i * k, (i + 1) * k));
      hits += r.neighbors.filter((j) => j !== i).slice(0, k).filter((j) => truth.has(j)).length;
    }
    const querySeconds = (performance.now() - t3) / 1000;
    hnsw = { buildSeconds: +buildSeconds.toFixed(2), querySeconds: +querySeconds.toFixed(2), seconds: +(buildSeconds + querySeconds).toFixed(2), recallAt10: +(hits / (n * k)).toFixed(4), M: 16, efConstruction: 200, ef };
  } catch (err) {
    if (!/Cannot find (module|package)|ERR_MODULE_NOT_FOUND/.test(String(err))) throw err;
  }

  console.log(JSON.stringify({
    bench: 'curation-knn',
    n, dim, k,
    oursSeconds: +oursSeconds.toFixed(2),
    oursRecall: 1,
    plainLoopSecondsAllRows: +loopSecondsAll.toFixed(1),
    plainLoopAgreement: +(agree / (rows.length * k)).toFixed(4),
    hnsw,
    ratioOursToHnsw: typeof hnsw.seconds === 'number' ? +(oursSeconds / hnsw.seconds).toFixed(2) : undefined,
  }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
