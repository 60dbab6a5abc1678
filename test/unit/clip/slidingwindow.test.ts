import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cropPixels, FeatureGrid, slidingWindows } from '../../../src/core/clip/slidingwindow';

test('windows step by the stride and the last one is flush with the edge', () => {
  const wins = slidingWindows(64, 80, 32, 24, 8);
  assert.deepEqual([...new Set(wins.map((w) => w.top))], [0, 24, 32]);
  assert.deepEqual([...new Set(wins.map((w) => w.left))], [0, 24, 48]);
  assert.ok(wins.every((w) => w.height === 32 && w.width === 32));
  // a side smaller than the window is taken whole
  assert.deepEqual(slidingWindows(16, 64, 32, 32, 8), [
    { top: 0, left: 0, height: 16, width: 32 },
    { top: 0, left: 32, height: 16, width: 32 },
  ]);
  assert.throws(() => slidingWindows(64, 64, 32, 20, 8), /multiples of the patch size 8/);
});

test('crops copy the window of every channel', () => {
  const img = { data: new Float32Array(3 * 4 * 4).map((_, i) => i), height: 4, width: 4 };
  const c = cropPixels(img, { top: 1, left: 2, height: 2, width: 2 });
  assert.deepEqual(Array.from(c), [6, 7, 10, 11, 22, 23, 26, 27, 38, 39, 42, 43]);
});

test('overlapping features are averaged then renormalised', () => {
  const g = new FeatureGrid(1, 3, 2);
  g.add(0, 0, 1, 2, new Float32Array([1, 0, 1, 0]));
  g.add(0, 1, 1, 2, new Float32Array([0, 1, 0, 1]));
  const r = Array.from(g.result()).map((v) => +v.toFixed(6));
  assert.deepEqual(r, [1, 0, +Math.SQRT1_2.toFixed(6), +Math.SQRT1_2.toFixed(6), 0, 1]);
  assert.throws(() => new FeatureGrid(1, 2, 1).result(), /uncovered/);
});
