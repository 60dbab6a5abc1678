import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bicubicResize, resizePositionEmbedding } from '../../../src/core/clip/graph/posembed';

test('bicubic resize matches a hand-computed PyTorch value', () => {
  // 2x2 grid [[0,1],[0,1]] -> 4x4. Output column 0 samples x = -0.25: taps at -2..1 clamp to
  // 0,0,0,1, so the value is the far weight at distance 1.25 with A = -0.75: -0.10546875.
  const out = bicubicResize(new Float32Array([0, 1, 0, 1]), 2, 2, 4, 4, 1);
  for (let y = 0; y < 4; y++) {
    assert.ok(Math.abs(out[y * 4]! - -0.10546875) < 1e-7, `row ${y}: ${out[y * 4]}`);
    assert.ok(Math.abs(out[y * 4 + 3]! - 1.10546875) < 1e-7); // mirror image at the far edge
  }
});

test('constants stay constant and the trained grid is left as is', () => {
  const c = bicubicResize(new Float32Array(9 * 2).fill(0.5), 3, 3, 5, 7, 2);
  assert.ok(c.every((v) => Math.abs(v - 0.5) < 1e-6));
  const pos = new Float32Array((1 + 4) * 3).map((_, i) => i);
  assert.equal(resizePositionEmbedding(pos, 2, 2, 2, 3), pos);
  const big = resizePositionEmbedding(pos, 2, 3, 4, 3);
  assert.equal(big.length, (1 + 12) * 3);
  assert.deepEqual(Array.from(big.subarray(0, 3)), [0, 1, 2]); // the class token row is kept
});
