import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  promptProbabilities,
  labelsFromProbabilities,
  bilinearAxis,
  close,
  dilate,
  erode,
  closeLabelMap,
  closedPartMasks,
  partStatistics,
  computePartMasks,
  upsampleChannel,
  type LabelMap,
} from '../../src/core/masks';

const grid = (rows: string[]): Uint8Array => Uint8Array.from(rows.join('').split('').map(Number));
const show = (a: Uint8Array, w: number): string[] => {
  const rows: string[] = [];
  for (let i = 0; i < a.length; i += w) rows.push(Array.from(a.subarray(i, i + w)).join(''));
  return rows;
};

test('softmax of scaled cosine similarity matches a hand-computed case', () => {
  // one patch (1, 0), prompts (1, 0) and (0, 1): logits 50 and 0
  const probs = promptProbabilities({ data: Float32Array.of(1, 0), h: 1, w: 1, dim: 2 }, { data: Float32Array.of(1, 0, 0, 1), n: 2, dim: 2 });
  const e = Math.exp(-50);
  assert.ok(Math.abs(probs[0] - 1 / (1 + e)) < 1e-7);
  assert.ok(Math.abs(probs[1] - e / (1 + e)) < 1e-7);
  // with scale 1 and cosine 0.6 vs 0.8: softmax(0.6, 0.8)
  const p2 = promptProbabilities({ data: Float32Array.of(0.6, 0.8), h: 1, w: 1, dim: 2 }, { data: Float32Array.of(1, 0, 0, 1), n: 2, dim: 2 }, 1);
  const z = Math.exp(0.6) + Math.exp(0.8);
  assert.ok(Math.abs(p2[0] - Math.exp(0.6) / z) < 1e-6);
  assert.ok(Math.abs(p2[1] - Math.exp(0.8) / z) < 1e-6);
});

test('mismatched embedding dimensions are refused with a clear message', () => {
  assert.throws(
    () => promptProbabilities({ data: new Float32Array(4), h: 1, w: 1, dim: 4 }, { data: new Float32Array(3), n: 1, dim: 3 }),
    /different models/,
  );
});

test('bilinear sampling follows align_corners=false', () => {
  // 2 -> 4: source coordinates -0.25 (clamped to 0), 0.25, 0.75, 1.25 (-> 1, 1 with weight .25)
  const { i0, i1, w1 } = bilinearAxis(4, 2);
  assert.deepEqual(Array.from(i0), [0, 0, 0, 1]);
  assert.deepEqual(Array.from(i1), [1, 1, 1, 1]);
  assert.deepEqual(Array.from(w1), [0, 0.25, 0.75, 0.25]);
  // a 1x2 grid of probabilities for one prompt, upsampled to 1x4
  const up = upsampleChannel(Float32Array.of(0, 1), 1, 2, 1, 0, 1, 4);
  assert.deepEqual(Array.from(up), [0, 0.25, 0.75, 1]);
});

test('argmax ties go to the lower part index', () => {
  const probs = Float32Array.of(0.5, 0.5, 0.25, 0.75);
  const map = labelsFromProbabilities(probs, 1, 2, 2, { height: 1, width: 2, numParts: 2 });
  assert.deepEqual(Array.from(map.data), [1, 2]);
});

test('upsampled argmax switches label where the interpolated probabilities cross', () => {
  // 1x2 grid: left patch part 1 (0.9/0.1), right patch part 2 (0.2/0.8); upsampled to width 4
  const probs = Float32Array.of(0.9, 0.1, 0.2, 0.8);
  const map = labelsFromProbabilities(probs, 1, 2, 2, { height: 1, width: 4, numParts: 2 });
  // x=1: 0.75*0.9+0.25*0.2 = 0.725 vs 0.275 -> 1; x=2: 0.25*0.9+0.75*0.2=0.375 vs 0.625 -> 2
  assert.deepEqual(Array.from(map.data), [1, 1, 2, 2]);
});

test('background threshold and background prompts map to 0', () => {
  // three patches, two parts + one background prompt
  const probs = Float32Array.of(0.5, 0.3, 0.2, 0.2, 0.2, 0.6, 0.4, 0.35, 0.25);
  const noThreshold = labelsFromProbabilities(probs, 1, 3, 3, { height: 1, width: 3, numParts: 2 });
  assert.deepEqual(Array.from(noThreshold.data), [1, 0, 1]);
  const withThreshold = labelsFromProbabilities(probs, 1, 3, 3, { height: 1, width: 3, numParts: 2, threshold: 0.45 });
  assert.deepEqual(Array.from(withThreshold.data), [1, 0, 0]);
});

test('dilation, erosion and closing on a known pattern', () => {
  const m = grid(['00000', '01010', '00000', '01010', '00000']);
  assert.deepEqual(show(dilate(m, 5, 5, 3), 5), ['11111', '11111', '11111', '11111', '11111']);
  assert.deepEqual(show(erode(grid(['11111', '11111', '11011', '11111', '11111']), 5, 5, 3), 5), ['11111', '10001', '10001', '10001', '11111']);
  // a ring with a one-pixel hole and a missing corner: closing fills the hole, not the corner
  const ring = grid(['000000', '011100', '010100', '011000', '000000', '000000']);
  assert.deepEqual(show(close(ring, 6, 6, 3), 6), ['000000', '011100', '011100', '011000', '000000', '000000']);
  // a part touching the border does not grow along it; a single pixel survives closing
  assert.deepEqual(show(close(grid(['100', '000', '000']), 3, 3, 3), 3), ['100', '000', '000']);
  assert.deepEqual(show(close(grid(['110', '100', '000']), 3, 3, 3), 3), ['110', '100', '000']);
  // kernel 1 is the identity
  assert.deepEqual(show(close(ring, 6, 6, 1), 6), show(ring, 6));
  assert.throws(() => close(ring, 6, 6, 2), /odd/);
});

test('closing a label map fills background holes inside a part and keeps labelled pixels', () => {
  const labels: LabelMap = {
    data: grid(['1110022', '1010022', '1110022', '0000000']),
    height: 4,
    width: 7,
    numParts: 2,
  };
  const closed = closeLabelMap(labels, 3);
  assert.deepEqual(show(closed.data, 7), ['1110022', '1110022', '1110022', '0000000']);
  // per-part closed masks: the hole belongs to part 1's mask
  const masks = closedPartMasks(labels, 3);
  assert.equal(masks[0][1 * 7 + 1], 1);
  assert.equal(masks[1][1 * 7 + 1], 0);
});

test('a background gap between two parts stays background; a hole next to another part fills', () => {
  // neither part's closing reaches across a one-pixel column between them
  const gap: LabelMap = { data: grid(['11022', '11022', '11022']), height: 3, width: 5, numParts: 2 };
  assert.deepEqual(show(closeLabelMap(gap, 3).data, 5), ['11022', '11022', '11022']);
  // the hole at (1,1) lies inside part 1's closing only, although part 2 touches it
  const hole: LabelMap = { data: grid(['11222', '10222', '11222']), height: 3, width: 5, numParts: 2 };
  assert.deepEqual(show(closeLabelMap(hole, 3).data, 5), ['11222', '11222', '11222']);
});

test('statistics count area and 8-connected components', () => {
  const labels: LabelMap = { data: grid(['1100', '1002', '0012', '2000']), height: 4, width: 4, numParts: 2 };
  const stats = partStatistics(labels);
  assert.deepEqual(stats.map((s) => [s.label, s.pixels, s.components]), [[1, 4, 2], [2, 3, 2]]);
  assert.equal(stats[0].areaFraction, 4 / 16);
});

test('the pipeline turns features and prompts into a closed label map with statistics', () => {
  // 2x2 grid of 2-d features: left column points at part 1, right column at part 2
  const features = { data: Float32Array.of(1, 0, 0, 1, 1, 0, 0, 1), h: 2, w: 2, dim: 2 };
  const prompts = { data: Float32Array.of(1, 0, 0, 1), n: 2, dim: 2 };
  const r = computePartMasks(features, prompts, 2, { height: 4, width: 4 });
  assert.deepEqual(show(r.labels.data, 4), ['1122', '1122', '1122', '1122']);
  assert.deepEqual(r.stats.map((s) => s.areaFraction), [0.5, 0.5]);
  assert.equal(r.probabilities.length, 2 * 2 * 2);
});
