// Sliding-window inference for images larger than the model's window: windows of `window` pixels
// (the model's trained size by default) every `stride` pixels, the last one flush with the far
// edge (mmseg's "slide" mode). Each window's dense features land on the image's patch grid; where
// windows overlap the features are averaged, then every patch is L2-normalised again. Averaging
// unit vectors and renormalising gives, per patch, the same argmax over prompts as averaging the
// windows' cosine logits, which is what ClearCLIP's slide inference does.
import type { PixelImage } from './preprocess';

export interface Window {
  top: number;
  left: number;
  height: number;
  width: number;
}

function starts(size: number, window: number, stride: number): number[] {
  const count = Math.max(size - window + stride - 1, 0) / stride;
  const out: number[] = [];
  for (let i = 0; i <= Math.floor(count); i++) out.push(Math.min(i * stride, size - window));
  return [...new Set(out)];
}

/** Windows covering an image; sides smaller than the window are taken whole. */
export function slidingWindows(height: number, width: number, window: number, stride: number, patch: number): Window[] {
  if (window % patch !== 0 || stride % patch !== 0 || height % patch !== 0 || width % patch !== 0) {
    throw new Error(`sliding windows: window ${window}, stride ${stride} and the image ${width}x${height} must be multiples of the patch size ${patch}`);
  }
  if (stride <= 0) throw new Error(`sliding windows: stride must be positive (got ${stride})`);
  const wh = Math.min(window, height);
  const ww = Math.min(window, width);
  const out: Window[] = [];
  for (const top of starts(height, wh, stride)) for (const left of starts(width, ww, stride)) out.push({ top, left, height: wh, width: ww });
  return out;
}

export function cropPixels(img: PixelImage, w: Window): Float32Array {
  const out = new Float32Array(3 * w.height * w.width);
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < w.height; y++) {
      const src = c * img.height * img.width + (w.top + y) * img.width + w.left;
      out.set(img.data.subarray(src, src + w.width), (c * w.height + y) * w.width);
    }
  }
  return out;
}

/** Accumulates windows' [gh, gw, D] features on the whole grid, then averages and renormalises. */
export class FeatureGrid {
  private readonly sum: Float32Array;
  private readonly count: Uint16Array;
  constructor(readonly height: number, readonly width: number, readonly dim: number) {
    this.sum = new Float32Array(height * width * dim);
    this.count = new Uint16Array(height * width);
  }

  add(top: number, left: number, gh: number, gw: number, features: Float32Array): void {
    const d = this.dim;
    for (let y = 0; y < gh; y++) {
      for (let x = 0; x < gw; x++) {
        const cell = (top + y) * this.width + left + x;
        this.count[cell]!++;
        const src = (y * gw + x) * d;
        for (let k = 0; k < d; k++) this.sum[cell * d + k]! += features[src + k]!;
      }
    }
  }

  result(): Float32Array {
    const d = this.dim;
    const out = new Float32Array(this.sum.length);
    for (let cell = 0; cell < this.count.length; cell++) {
      if (this.count[cell] === 0) throw new Error(`sliding windows left patch ${cell} uncovered`);
      let norm = 0;
      for (let k = 0; k < d; k++) norm += this.sum[cell * d + k]! ** 2;
      const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
      for (let k = 0; k < d; k++) out[cell * d + k] = this.sum[cell * d + k]! * inv;
    }
    return out;
  }
}
