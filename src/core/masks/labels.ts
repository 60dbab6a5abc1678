// Patch probabilities -> per-pixel part labels: bilinear upsampling (align_corners=false, like
// PyTorch's F.interpolate) fused with the argmax so the full-resolution probability volume is
// never materialised.

export interface LabelOptions {
  /** Output size in pixels. */
  height: number;
  width: number;
  /** The first `numParts` prompts are parts; any further prompts are background prompts. */
  numParts: number;
  /** A pixel whose best part probability is below this becomes background (0). 0 disables. */
  threshold?: number;
}

/** Part label map: 0 = background, k = part k (1-based), row-major [height, width]. */
export interface LabelMap {
  data: Uint8Array;
  height: number;
  width: number;
  numParts: number;
}

/** Source coordinate and weights of bilinear sampling along one axis (align_corners=false). */
export function bilinearAxis(outSize: number, inSize: number): { i0: Int32Array; i1: Int32Array; w1: Float32Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    let src = (o + 0.5) * scale - 0.5;
    if (src < 0) src = 0;
    const lo = Math.min(Math.floor(src), inSize - 1);
    const hi = Math.min(lo + 1, inSize - 1);
    i0[o] = lo;
    i1[o] = hi;
    w1[o] = src - lo;
  }
  return { i0, i1, w1 };
}

/**
 * Argmax over prompts of the bilinearly upsampled probabilities [h, w, n]. Ties go to the
 * lower prompt index. Background prompts and the threshold map to 0.
 *
 * Shortcut: a pixel whose four source patches share their argmax k takes k without
 * interpolating (a convex combination of vectors whose argmax is k has argmax k, ties included),
 * so only pixels near a label boundary pay for the n-way interpolation.
 */
export function labelsFromProbabilities(probs: Float32Array, h: number, w: number, n: number, opts: LabelOptions): LabelMap {
  const { height, width, numParts } = opts;
  const threshold = opts.threshold ?? 0;
  if (probs.length !== h * w * n) throw new Error(`probabilities have ${probs.length} values, expected ${h}x${w}x${n}`);
  if (numParts < 1 || numParts > n) throw new Error(`numParts ${numParts} must be between 1 and the number of prompts (${n})`);
  if (numParts > 255) throw new Error(`${numParts} parts: a label map holds at most 255`);
  const ys = bilinearAxis(height, h);
  const xs = bilinearAxis(width, w);
  // per patch: its argmax prompt and that prompt's probability
  const patchBest = new Int32Array(h * w);
  const patchVal = new Float32Array(h * w);
  for (let p = 0; p < h * w; p++) {
    let best = 0;
    let bestVal = -Infinity;
    for (let k = 0; k < n; k++) {
      const v = probs[p * n + k];
      if (v > bestVal) {
        bestVal = v;
        best = k;
      }
    }
    patchBest[p] = best;
    patchVal[p] = bestVal;
  }
  // runs of output columns that sample the same pair of source columns
  const spanStart: number[] = [];
  for (let x = 0; x < width; x++) if (x === 0 || xs.i0[x] !== xs.i0[x - 1] || xs.i1[x] !== xs.i1[x - 1]) spanStart.push(x);
  spanStart.push(width);
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y] * w;
    const r1 = ys.i1[y] * w;
    const wy = ys.w1[y];
    const row = y * width;
    for (let s = 0; s + 1 < spanStart.length; s++) {
      const x0 = spanStart[s];
      const x1 = spanStart[s + 1];
      const c0 = xs.i0[x0];
      const c1 = xs.i1[x0];
      const pa = r0 + c0;
      const pb = r0 + c1;
      const pc = r1 + c0;
      const pd = r1 + c1;
      const k = patchBest[pa];
      // the interpolated best value is at least the smallest corner's, so the threshold is decided too
      if (
        k === patchBest[pb] &&
        k === patchBest[pc] &&
        k === patchBest[pd] &&
        Math.min(patchVal[pa], patchVal[pb], patchVal[pc], patchVal[pd]) >= threshold
      ) {
        out.fill(k < numParts ? k + 1 : 0, row + x0, row + x1);
        continue;
      }
      const a = pa * n;
      const b = pb * n;
      const c = pc * n;
      const d = pd * n;
      for (let x = x0; x < x1; x++) {
        const wx = xs.w1[x];
        const wa = (1 - wy) * (1 - wx);
        const wb = (1 - wy) * wx;
        const wc = wy * (1 - wx);
        const wd = wy * wx;
        let best = 0;
        let bestVal = -Infinity;
        for (let k = 0; k < n; k++) {
          const v = wa * probs[a + k] + wb * probs[b + k] + wc * probs[c + k] + wd * probs[d + k];
          if (v > bestVal) {
            bestVal = v;
            best = k;
          }
        }
        let label = best < numParts ? best + 1 : 0;
        if (label !== 0 && bestVal < threshold) label = 0;
        out[row + x] = label;
      }
    }
  }
  return { data: out, height, width, numParts };
}

/** Bilinearly upsampled probability of one prompt, [height, width] (for the heatmap view). */
export function upsampleChannel(probs: Float32Array, h: number, w: number, n: number, channel: number, height: number, width: number): Float32Array {
  const ys = bilinearAxis(height, h);
  const xs = bilinearAxis(width, w);
  const out = new Float32Array(height * width);
  for (let y = 0; y < height; y++) {
    const r0 = ys.i0[y] * w;
    const r1 = ys.i1[y] * w;
    const wy = ys.w1[y];
    for (let x = 0; x < width; x++) {
      const wx = xs.w1[x];
      const p00 = probs[(r0 + xs.i0[x]) * n + channel];
      const p01 = probs[(r0 + xs.i1[x]) * n + channel];
      const p10 = probs[(r1 + xs.i0[x]) * n + channel];
      const p11 = probs[(r1 + xs.i1[x]) * n + channel];
      out[y * width + x] = (1 - wy) * ((1 - wx) * p00 + wx * p01) + wy * ((1 - wx) * p10 + wx * p11);
    }
  }
  return out;
}
