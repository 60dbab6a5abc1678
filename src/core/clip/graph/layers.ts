// Transformer pieces shared by the text and image graphs (the layout of transformers' CLIP:
// pre-norm blocks, LN -> attention -> residual, LN -> MLP -> residual).
import type { ClipCheckpoint } from '../checkpoint';
import type { TowerConfig } from '../config';
import type { GraphBuilder } from './builder';
import type { AttentionKind } from './variants';
import { fusedQkv, linear, type LinearT } from './weights';

export function layerNorm(g: GraphBuilder, ckpt: ClipCheckpoint, x: string, prefix: string, eps: number): string {
  const wData = ckpt.tensor(`${prefix}.weight`);
  const bData = ckpt.tensor(`${prefix}.bias`);
  const w = g.weight(`${prefix}.weight`, wData, [wData.length]);
  const b = g.weight(`${prefix}.bias`, bData, [bData.length]);
  return g.op('LayerNormalization', [x, w, b], { axis: -1, epsilon: { f: eps } }, 'ln');
}

export function matmulAdd(g: GraphBuilder, x: string, lin: LinearT, name: string): string {
  const w = g.weight(`${name}.wT`, lin.w, [lin.inDim, lin.outDim]);
  const b = g.weight(`${name}.b`, lin.b, [lin.outDim]);
  return g.op('Add', [g.op('MatMul', [x, w]), b]);
}

function activation(g: GraphBuilder, h: string, t: TowerConfig): string {
  if (t.activation === 'quick_gelu') {
    return g.op('Mul', [h, g.op('Sigmoid', [g.op('Mul', [h, g.scalar('quick_gelu_k', 1.702)])])], {}, 'quick_gelu');
  }
  // exact gelu written as ORT's Gelu fusion pattern: 0.5 * x * (1 + erf(x / sqrt 2))
  const erf = g.op('Erf', [g.op('Div', [h, g.scalar('sqrt2', Math.SQRT2)])]);
  return g.op('Mul', [g.op('Mul', [h, g.op('Add', [erf, g.scalar('one', 1)])]), g.scalar('half', 0.5)], {}, 'gelu');
}

export function mlp(g: GraphBuilder, ckpt: ClipCheckpoint, x: string, prefix: string, t: TowerConfig): string {
  const h = activation(g, matmulAdd(g, x, linear(ckpt, `${prefix}.mlp.fc1`, t.hiddenSize, t.intermediateSize), `${prefix}.mlp.fc1`), t);
  return matmulAdd(g, h, linear(ckpt, `${prefix}.mlp.fc2`, t.intermediateSize, t.hiddenSize), `${prefix}.mlp.fc2`);
}

/** [B,T,W] -> q, k, v as [B,H,T,d] through one fused projection. */
function splitHeads(g: GraphBuilder, ckpt: ClipCheckpoint, y: string, prefix: string, t: TowerConfig, qScale: number): [string, string, string] {
  const heads = t.numHeads;
  const d = t.hiddenSize / heads;
  const qkv = matmulAdd(g, y, fusedQkv(ckpt, `${prefix}.self_attn`, t.hiddenSize, qScale), `${prefix}.self_attn.qkv`);
  const r = g.op('Reshape', [qkv, g.ints('shape_qkv', [0, 0, 3, heads, d])]);
  const tr = g.op('Transpose', [r], { perm: [2, 0, 3, 1, 4] }); // [3,B,H,T,d]
  const pick = (i: number, n: string) => g.op('Gather', [tr, g.ints(`idx_${n}`, [i], [])], { axis: 0 }, n);
  return [pick(0, 'q'), pick(1, 'k'), pick(2, 'v')];
}

/** [B,H,T,d] -> [B,T,W] -> out_proj */
function mergeHeads(g: GraphBuilder, ckpt: ClipCheckpoint, o: string, prefix: string, t: TowerConfig): string {
  const merged = g.op('Reshape', [g.op('Transpose', [o], { perm: [0, 2, 1, 3] }), g.ints('shape_merge', [0, 0, t.hiddenSize])]);
  return matmulAdd(g, merged, linear(ckpt, `${prefix}.self_attn.out_proj`, t.hiddenSize, t.hiddenSize), `${prefix}.self_attn.out_proj`);
}

/** softmax(a b^T + mask), with a already scaled. */
function attentionWeights(g: GraphBuilder, a: string, b: string, mask?: string): string {
  let s = g.op('MatMul', [a, g.op('Transpose', [b], { perm: [0, 1, 3, 2] })], {}, 'scores');
  if (mask) s = g.op('Add', [s, mask]);
  return g.op('Softmax', [s], { axis: -1 });
}

/** A standard block; `mask` is an additive [T,T] attention mask (the text encoder's causal mask). */
export function standardBlock(g: GraphBuilder, ckpt: ClipCheckpoint, x: string, prefix: string, t: TowerConfig, mask?: string): string {
  const scale = 1 / Math.sqrt(t.hiddenSize / t.numHeads);
  const [q, k, v] = splitHeads(g, ckpt, layerNorm(g, ckpt, x, `${prefix}.layer_norm1`, t.layerNormEps), prefix, t, scale);
  const a = mergeHeads(g, ckpt, g.op('MatMul', [attentionWeights(g, q, k, mask), v]), prefix, t);
  const h = g.op('Add', [x, a], {}, 'resid');
  return g.op('Add', [h, mlp(g, ckpt, layerNorm(g, ckpt, h, `${prefix}.layer_norm2`, t.layerNormEps), prefix, t)], {}, 'resid');
}

/**
 * The class token's output of a standard block ([B,T,W] -> [B,1,W]): only its attention row and
 * its MLP are computed, which is all the CLS path of the image encoder needs from the last block.
 */
export function classTokenBlock(g: GraphBuilder, ckpt: ClipCheckpoint, x: string, prefix: string, t: TowerConfig): string {
  const scale = 1 / Math.sqrt(t.hiddenSize / t.numHeads);
  const [q, k, v] = splitHeads(g, ckpt, layerNorm(g, ckpt, x, `${prefix}.layer_norm1`, t.layerNormEps), prefix, t, scale);
  const first = (value: string, axis: number, hint: string) => g.op('Slice', [value, g.ints(`${hint}_start`, [0]), g.ints(`${hint}_end`, [1]), g.ints(`${hint}_axis`, [axis])], {}, hint);
  const qCls = first(q, 2, 'q_cls'); // [B,H,1,d]
  const a = mergeHeads(g, ckpt, g.op('MatMul', [attentionWeights(g, qCls, k), v]), prefix, t); // [B,1,W]
  const h = g.op('Add', [first(x, 1, 'x_cls'), a], {}, 'resid');
  return g.op('Add', [h, mlp(g, ckpt, layerNorm(g, ckpt, h, `${prefix}.layer_norm2`, t.layerNormEps), prefix, t)], {}, 'resid');
}

/** The last block's attention output out_proj(o) for any attention kind (see variants.ts). */
export function variantAttention(g: GraphBuilder, ckpt: ClipCheckpoint, y: string, prefix: string, t: TowerConfig, kind: AttentionKind): string {
  const scale = 1 / Math.sqrt(t.hiddenSize / t.numHeads);
  const [q, k, v] = splitHeads(g, ckpt, y, prefix, t, 1);
  const self = (a: string) => attentionWeights(g, g.op('Mul', [a, g.scalar('attn_scale', scale)]), a);
  let o: string;
  switch (kind) {
    case 'identity':
      o = v;
      break;
    case 'qk':
      o = g.op('MatMul', [attentionWeights(g, g.op('Mul', [q, g.scalar('attn_scale', scale)]), k), v]);
      break;
    case 'qq':
      o = g.op('MatMul', [self(q), v]);
      break;
    case 'kk':
      o = g.op('MatMul', [self(k), v]);
      break;
    case 'vv':
      o = g.op('MatMul', [self(v), v]);
      break;
    case 'qq+kk':
      o = g.op('MatMul', [g.op('Add', [self(q), self(k)]), v]);
      break;
  }
  return mergeHeads(g, ckpt, o, prefix, t);
}

/** The L2-normalised rows of x along its last axis. */
export function l2Normalize(g: GraphBuilder, x: string): string {
  return g.op('Div', [x, g.op('ReduceL2', [x], { axes: [-1], keepdims: 1 })], {}, 'normalized');
}
