// An untrained (or wrong) model puts every image at nearly the same place: a fixed cosine
// threshold then chained the whole sample into two "leak" groups of 33 and 39 images, and the
// planted duplicate pair of the E2E vanished inside them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { knnBruteForce } from '../../src/core/curation';
import { duplicateFindings } from '../../src/core/curation/findings';
import type { ImageEntry } from '../../src/core/taxonomy/model';

describe('reliability: curation on a degenerate embedding space', () => {
  it('every image within cosine 0.999 of one direction: only the planted near-exact pair is grouped', () => {
    const n = 60;
    const d = 16;
    const vectors = new Float32Array(n * d);
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5;
    for (let i = 0; i < n; i++) {
      vectors[i * d] = 1;
      for (let j = 1; j < d; j++) vectors[i * d + j] = 0.04 * rand();
    }
    for (let j = 1; j < d; j++) vectors[21 * d + j] = vectors[20 * d + j]! + 0.0004 * rand();
    for (let i = 0; i < n; i++) {
      const row = vectors.subarray(i * d, (i + 1) * d);
      const norm = Math.hypot(...row);
      row.forEach((x, j) => (row[j] = x / norm));
    }
    const knn = knnBruteForce(vectors, n, d, 10);
    assert.ok(knn.sims[knn.k - 1]! > 0.99, `the space is degenerate (k-th neighbour cosine ${knn.sims[knn.k - 1]})`);
    const images: ImageEntry[] = Array.from({ length: n }, (_, i) => ({ key: String(i + 1), path: `images/${i}.jpg`, classId: String(1 + (i % 6)), split: i % 3 === 0 ? 'test' : 'train' }));
    const dups = duplicateFindings(images, new Map(), { hashDistance: 3, nearCosine: 0.95 }, { rows: images.map((_, i) => i), knn });
    assert.deepEqual(dups.map((f) => f.images), [['images/20.jpg', 'images/21.jpg']]);
  });
});
