// Patch-text similarity: cosine x logit scale, softmax over prompts (DESIGN.md, ClearCLIP).

/** Dense patch features, row-major [h, w, dim], each patch L2-normalised. */
export interface DenseFeatures {
  data: Float32Array;
  h: number;
  w: number;
  dim: number;
}

/** Prompt embeddings, row-major [n, dim], each row L2-normalised. */
export interface PromptEmbeddings {
  data: Float32Array;
  n: number;
  dim: number;
}

export const CLIP_LOGIT_SCALE = 50;

/**
 * Softmax over prompts of `scale * <patch, prompt>` for every patch: [h, w, n] row-major.
 * Both inputs are expected to be normalised, so the dot product is the cosine.
 */
export function promptProbabilities(features: DenseFeatures, prompts: PromptEmbeddings, scale = CLIP_LOGIT_SCALE): Float32Array {
  const { h, w, dim } = features;
  const n = prompts.n;
  if (prompts.dim !== dim) {
    throw new Error(`prompt embeddings have dimension ${prompts.dim} but the image features have ${dim}: they come from different models`);
  }
  if (n === 0) throw new Error('no prompts: add at least one part prompt');
  const out = new Float32Array(h * w * n);
  const f = features.data;
  const t = prompts.data;
  const logits = new Float64Array(n);
  for (let p = 0; p < h * w; p++) {
    const fo = p * dim;
    let max = -Infinity;
    for (let k = 0; k < n; k++) {
      const to = k * dim;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += f[fo + d] * t[to + d];
      const l = scale * dot;
      logits[k] = l;
      if (l > max) max = l;
    }
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const e = Math.exp(logits[k] - max);
      logits[k] = e;
      sum += e;
    }
    const oo = p * n;
    for (let k = 0; k < n; k++) out[oo + k] = logits[k] / sum;
  }
  return out;
}
