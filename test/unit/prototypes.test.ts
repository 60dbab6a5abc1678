import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vlclPrototypes, stackRows, normalizeRows, cosine, row } from '../../src/core/prototypes/vlcl';

test('VLCL-MG prototypes subtract the coarse embedding and renormalise (hand-computed)', () => {
  const s = Math.SQRT1_2;
  // two classes sharing a coarse direction (1, 0, 0)
  const fine = stackRows([[s, s, 0], [s, 0, s]]);
  const coarse = stackRows([[1, 0, 0]]);
  const t = vlclPrototypes(fine, coarse, [0, 0]);
  // (s - 1, s, 0) normalised
  const n0 = Math.hypot(s - 1, s);
  assert.deepEqual(Array.from(row(t, 0)).map((v) => +v.toFixed(6)), [(s - 1) / n0, s / n0, 0].map((v) => +v.toFixed(6)));
  // the shared direction is removed: the two prototypes are further apart than the raw embeddings
  assert.ok(cosine(row(t, 0), row(t, 1)) < cosine(row(fine, 0), row(fine, 1)));
});

test('a class whose fine embedding equals its coarse one gets a zero prototype, not NaN', () => {
  const t = vlclPrototypes(stackRows([[0, 1]]), stackRows([[0, 1]]), [0]);
  assert.deepEqual(Array.from(t.data), [0, 0]);
});

test('bad coarse indices and dimensions are refused', () => {
  assert.throws(() => vlclPrototypes(stackRows([[1, 0]]), stackRows([[1, 0]]), [1]), /outside/);
  assert.throws(() => vlclPrototypes(stackRows([[1, 0]]), stackRows([[1, 0, 0]]), [0]), /dimension/);
  assert.throws(() => stackRows([[1, 0], [1]]), /row 1/);
});

test('normalizeRows gives unit rows', () => {
  const m = normalizeRows(stackRows([[3, 4], [0, 2]]));
  assert.deepEqual(Array.from(m.data).map((v) => +v.toFixed(6)), [0.6, 0.8, 0, 1]);
});
