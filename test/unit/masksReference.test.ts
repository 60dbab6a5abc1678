// The optimised mask stages (shortcut argmax, bit-packed closing, run-based components)
// against plain reference implementations written here, on random inputs of awkward sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bilinearAxis,
  close,
  closeLabelMap,
  closedPartMasks,
  labelMask,
  labelsFromProbabilities,
  partStatistics,
  type LabelMap,
} from '../../src/core/masks';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Random label maps: blobs with holes and specks (like real masks), or pure noise. */
function randomLabels(width: number, height: number, numParts: number, r: () => number, noise: boolean): LabelMap {
  const data = new Uint8Array(width * height);
  if (noise) {
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * (numParts + 1));
  } else {
    for (let b = 0; b < numParts * 2; b++) {
      const cx = r() * width;
      const cy = r() * height;
      const rad = 1 + r() * Math.min(width, height) * 0.3;
      const l = 1 + Math.floor(r() * numParts);
      for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) if ((x - cx) ** 2 + (y - cy) ** 2 < rad * rad && r() > 0.1) data[y * width + x] = l;
    }
  }
  return { data, width, height, numParts };
}

/** Reference closing of a label map: full-size closed masks from `close`, then the tie rule. */
function referenceCloseLabelMap(labels: LabelMap, kernel: number): Uint8Array {
  const { data, width, height, numParts } = labels;
  const r = (kernel - 1) / 2;
  const masks = Array.from({ length: numParts }, (_, k) => close(labelMask(labels, k + 1), height, width, kernel));
  const out = data.slice();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (data[i] !== 0) continue;
      const covering = masks.map((m, k) => (m[i] ? k + 1 : 0)).filter((k) => k > 0);
      if (covering.length === 0) continue;
      const counts = new Array(numParts + 1).fill(0);
      for (let j = Math.max(0, y - r); j <= Math.min(height - 1, y + r); j++) {
        for (let c = Math.max(0, x - r); c <= Math.min(width - 1, x + r); c++) counts[data[j * width + c]]++;
      }
      out[i] = covering.reduce((best, k) => (counts[k] > counts[best] ? k : best));
    }
  }
  return out;
}

/** Reference components: breadth-first flood fill over 8 neighbours. */
function referenceStats(labels: LabelMap): Array<[number, number]> {
  const { data, width, height, numParts } = labels;
  const seen = new Uint8Array(data.length);
  const out: Array<[number, number]> = Array.from({ length: numParts }, () => [0, 0]);
  for (let i = 0; i < data.length; i++) {
    const l = data[i];
    if (l === 0) continue;
    out[l - 1][0]++;
    if (seen[i]) continue;
    out[l - 1][1]++;
    const queue = [i];
    seen[i] = 1;
    while (queue.length) {
      const p = queue.pop()!;
      const py = Math.floor(p / width);
      const px = p % width;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const ny = py + dy;
          const nx = px + dx;
          if (ny < 0 || nx < 0 || ny >= height || nx >= width) continue;
          const q = ny * width + nx;
          if (!seen[q] && data[q] === l) {
            seen[q] = 1;
            queue.push(q);
          }
        }
      }
    }
  }
  return out;
}

/** Reference labels: interpolate every prompt at every pixel, then argmax (lower index on ties). */
function referenceLabels(probs: Float32Array, h: number, w: number, n: number, height: number, width: number, numParts: number, threshold: number): Uint8Array {
  const ys = bilinearAxis(height, h);
  const xs = bilinearAxis(width, w);
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const wy = ys.w1[y];
      const wx = xs.w1[x];
      let best = 0;
      let bestVal = -Infinity;
      for (let k = 0; k < n; k++) {
        const at = (gy: number, gx: number): number => probs[(gy * w + gx) * n + k];
        const v =
          (1 - wy) * (1 - wx) * at(ys.i0[y], xs.i0[x]) +
          (1 - wy) * wx * at(ys.i0[y], xs.i1[x]) +
          wy * (1 - wx) * at(ys.i1[y], xs.i0[x]) +
          wy * wx * at(ys.i1[y], xs.i1[x]);
        if (v > bestVal) {
          bestVal = v;
          best = k;
        }
      }
      out[y * width + x] = best < numParts && bestVal >= threshold ? best + 1 : 0;
    }
  }
  return out;
}

const SIZES: Array<[number, number]> = [[37, 23], [64, 40], [100, 7], [1, 9], [33, 33]];

test('closing a label map matches the reference on random maps, kernels 1 to 7', () => {
  const r = rng(7);
  for (const [w, h] of SIZES) {
    for (const noise of [false, true]) {
      const labels = randomLabels(w, h, 4, r, noise);
      for (const kernel of [1, 3, 5, 7]) {
        const got = closeLabelMap(labels, kernel).data;
        assert.deepEqual(Array.from(got), Array.from(referenceCloseLabelMap(labels, kernel)), `${w}x${h} noise=${noise} kernel=${kernel}`);
        const masks = closedPartMasks(labels, kernel);
        for (let k = 1; k <= 4; k++) {
          assert.deepEqual(Array.from(masks[k - 1]), Array.from(close(labelMask(labels, k), h, w, kernel)), `part ${k} ${w}x${h} kernel=${kernel}`);
        }
      }
    }
  }
});

test('component counts match a flood fill on random maps', () => {
  const r = rng(11);
  for (const [w, h] of SIZES) {
    for (const noise of [false, true]) {
      const labels = randomLabels(w, h, 5, r, noise);
      const got = partStatistics(labels).map((s) => [s.pixels, s.components]);
      assert.deepEqual(got, referenceStats(labels), `${w}x${h} noise=${noise}`);
    }
  }
  // diagonal touching joins, a gap of one pixel does not; a snake folds back into one component
  const snake: LabelMap = { data: Uint8Array.from('1110000111000000101111011'.split('').map(Number)), width: 5, height: 5, numParts: 1 };
  assert.deepEqual(partStatistics(snake).map((s) => s.components), referenceStats(snake).map((s) => s[1]));
});

test('argmax labels match full interpolation, with background prompts, threshold and ties', () => {
  const r = rng(3);
  for (const [gh, gw, n, numParts, height, width, threshold] of [
    [4, 5, 3, 3, 37, 41, 0],
    [7, 7, 5, 4, 64, 64, 0.3],
    [3, 2, 2, 1, 10, 9, 0.55],
    [28, 28, 7, 6, 112, 112, 0],
  ] as const) {
    const probs = new Float32Array(gh * gw * n);
    for (let p = 0; p < gh * gw; p++) {
      // neighbouring patches often agree (the shortcut's case), some are exact ties
      const favourite = r() < 0.6 && p > 0 ? probs.subarray((p - 1) * n, p * n).indexOf(Math.max(...probs.subarray((p - 1) * n, p * n))) : Math.floor(r() * n);
      let sum = 0;
      for (let k = 0; k < n; k++) sum += probs[p * n + k] = (k === favourite ? 2 * r() : 0) + r();
      for (let k = 0; k < n; k++) probs[p * n + k] /= sum;
      if (r() < 0.1) probs[p * n + ((favourite + 1) % n)] = probs[p * n + favourite];
    }
    const got = labelsFromProbabilities(probs, gh, gw, n, { height, width, numParts, threshold });
    assert.deepEqual(Array.from(got.data), Array.from(referenceLabels(probs, gh, gw, n, height, width, numParts, threshold)), `${gh}x${gw}x${n} -> ${height}x${width}`);
  }
});
