// Weight layout changes done once at build time, so the graphs use plain MatMuls:
// PyTorch Linear weights are [out, in]; the graphs multiply by [in, out].
import type { ClipCheckpoint } from '../checkpoint';

export function transpose(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c]!;
  return out;
}

export interface LinearT {
  /** [in, out] */
  w: Float32Array;
  b: Float32Array;
  inDim: number;
  outDim: number;
}

export function linear(ckpt: ClipCheckpoint, prefix: string, inDim: number, outDim: number): LinearT {
  return { w: transpose(ckpt.tensor(`${prefix}.weight`), outDim, inDim), b: ckpt.tensor(`${prefix}.bias`), inDim, outDim };
}

/**
 * q, k and v projections as one [W, 3W] matrix (one MatMul instead of three). `qScale`
 * multiplies the q columns: the standard blocks fold 1/sqrt(d_head) in there.
 */
export function fusedQkv(ckpt: ClipCheckpoint, prefix: string, width: number, qScale: number): LinearT {
  const parts = ['q_proj', 'k_proj', 'v_proj'].map((p) => ({ w: ckpt.tensor(`${prefix}.${p}.weight`), b: ckpt.tensor(`${prefix}.${p}.bias`) }));
  const w = new Float32Array(width * 3 * width);
  const b = new Float32Array(3 * width);
  parts.forEach((p, j) => {
    const s = j === 0 ? qScale : 1;
    for (let o = 0; o < width; o++) {
      b[j * width + o] = p.b[o]! * s;
      for (let i = 0; i < width; i++) w[i * 3 * width + j * width + o] = p.w[o * width + i]! * s;
    }
  });
  return { w, b, inDim: width, outDim: 3 * width };
}
