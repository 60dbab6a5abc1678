// Positional embeddings for input sizes other than the trained one: the patch-grid rows are
// resized bicubically, exactly as PyTorch's F.interpolate(mode='bicubic', align_corners=False)
// does it (Keys kernel with A = -0.75, source index clamped at the borders, no antialiasing),
// so the graph matches the PyTorch reference. The class-token row is kept as is.

const A = -0.75;
const near = (x: number) => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| <= 1
const far = (x: number) => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2

/** For each output index: the 4 source indices (clamped) and their weights. */
function taps(inSize: number, outSize: number): { idx: Int32Array; w: Float64Array } {
  const scale = inSize / outSize;
  const idx = new Int32Array(outSize * 4);
  const w = new Float64Array(outSize * 4);
  for (let o = 0; o < outSize; o++) {
    const real = scale * (o + 0.5) - 0.5; // not clamped at 0 for cubic, as in PyTorch
    const i0 = Math.floor(real);
    const t = real - i0;
    const ws = [far(t + 1), near(t), near(1 - t), far(2 - t)];
    for (let k = 0; k < 4; k++) {
      idx[o * 4 + k] = Math.min(Math.max(i0 - 1 + k, 0), inSize - 1);
      w[o * 4 + k] = ws[k]!;
    }
  }
  return { idx, w };
}

/**
 * Resizes a [gh*gw, C] grid (row-major, channels last) to [oh*ow, C].
 */
export function bicubicResize(grid: Float32Array, gh: number, gw: number, oh: number, ow: number, channels: number): Float32Array {
  const tx = taps(gw, ow);
  const ty = taps(gh, oh);
  // along x first (like PyTorch, which sums 4 interpolated rows)
  const rows = new Float64Array(gh * ow * channels);
  for (let y = 0; y < gh; y++) {
    for (let x = 0; x < ow; x++) {
      const dst = (y * ow + x) * channels;
      for (let k = 0; k < 4; k++) {
        const src = (y * gw + tx.idx[x * 4 + k]!) * channels;
        const wk = tx.w[x * 4 + k]!;
        for (let c = 0; c < channels; c++) rows[dst + c]! += wk * grid[src + c]!;
      }
    }
  }
  const out = new Float32Array(oh * ow * channels);
  for (let y = 0; y < oh; y++) {
    for (let k = 0; k < 4; k++) {
      const sy = ty.idx[y * 4 + k]!;
      const wk = ty.w[y * 4 + k]!;
      for (let x = 0; x < ow; x++) {
        const dst = (y * ow + x) * channels;
        const src = (sy * ow + x) * channels;
        for (let c = 0; c < channels; c++) out[dst + c]! += wk * rows[src + c]!;
      }
    }
  }
  return out;
}

/** [1 + g*g, C] -> [1 + gh*gw, C]; identity at the trained grid. */
export function resizePositionEmbedding(pos: Float32Array, grid: number, gh: number, gw: number, channels: number): Float32Array {
  if (gh === grid && gw === grid) return pos;
  const out = new Float32Array((1 + gh * gw) * channels);
  out.set(pos.subarray(0, channels));
  out.set(bicubicResize(pos.subarray(channels), grid, grid, gh, gw, channels), channels);
  return out;
}
