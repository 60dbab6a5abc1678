// The CLIP image encoder as two ONNX graphs, so that switching the last-block variant does not
// rebuild (or rerun) the expensive part:
//
//   trunk [any input size]: pixels [B,3,H,W] -> patch conv (stride p) -> [CLS, patches]
//     + position_embedding [1, 1+N, W] (an input: the trained table bicubically resized to the
//     H/p x W/p grid by posembed.ts) -> pre_layrnorm -> blocks 0 .. L-2 -> tokens [B, 1+N, W]
//     One graph and one session (one copy of the weights) serve every input size.
//   head [per variant, any size]: tokens -> last block as the variant (variants.ts)
//     -> patch tokens (CLS dropped) -> post_layernorm -> visual_projection
//     -> L2-normalised per patch: [B, N, D] (row-major over the patch grid)
//   global [any size]: tokens -> the standard last block, class token only -> post_layernorm
//     -> visual_projection -> L2-normalised: [B, D], CLIP's own image embedding. It runs on the
//     trunk's output too, so an image's masks and its embedding cost one trunk pass.
import type { ClipCheckpoint } from '../checkpoint';
import { GraphBuilder } from './builder';
import { classTokenBlock, l2Normalize, layerNorm, mlp, standardBlock, variantAttention } from './layers';
import type { LastBlockVariant } from './variants';
import { transpose } from './weights';

export function buildImageTrunkGraph(ckpt: ClipCheckpoint): Uint8Array {
  const v = ckpt.config.vision;
  const p = v.patchSize;
  const w = v.hiddenSize;
  const g = new GraphBuilder('clip_image_trunk');
  const pixels = g.input('pixels', 'float32', ['batch', 3, 'height', 'width']);
  const pos = g.input('position_embedding', 'float32', [1, 'tokens', w]);
  const kernel = g.weight('patch_embedding', ckpt.tensor('vision_model.embeddings.patch_embedding.weight'), [w, 3, p, p]);
  const conv = g.op('Conv', [pixels, kernel], { kernel_shape: [p, p], strides: [p, p] }); // [B,W,gh,gw]
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.ints('shape_patches', [0, w, -1])])], { perm: [0, 2, 1] });
  const batch = g.op('Slice', [g.op('Shape', [pixels]), g.ints('zero', [0]), g.ints('one', [1])], {}, 'batch');
  const clsShape = g.op('Concat', [batch, g.ints('cls_tail', [1, w])], { axis: 0 });
  const cls = g.op('Expand', [g.weight('class_embedding', ckpt.tensor('vision_model.embeddings.class_embedding'), [1, 1, w]), clsShape]);
  let x = g.op('Add', [g.op('Concat', [cls, patches], { axis: 1 }), pos], {}, 'embeddings');
  x = layerNorm(g, ckpt, x, 'vision_model.pre_layrnorm', v.layerNormEps);
  for (let i = 0; i < v.numLayers - 1; i++) x = standardBlock(g, ckpt, x, `vision_model.encoder.layers.${i}`, v);
  g.output(x, 'tokens', 'float32', ['batch', 'tokens', w]);
  return g.encode();
}

export function buildImageHeadGraph(ckpt: ClipCheckpoint, variant: LastBlockVariant): Uint8Array {
  const v = ckpt.config.vision;
  const w = v.hiddenSize;
  const d = ckpt.config.projectionDim;
  const prefix = `vision_model.encoder.layers.${v.numLayers - 1}`;
  const g = new GraphBuilder('clip_image_head');
  const x = g.input('tokens', 'float32', ['batch', 'tokens', w]);
  const y = layerNorm(g, ckpt, x, `${prefix}.layer_norm1`, v.layerNormEps);
  const a = variantAttention(g, ckpt, y, prefix, v, variant.attention);
  let z = variant.residual ? g.op('Add', [x, a], {}, 'resid') : a;
  if (variant.ffn) z = g.op('Add', [z, mlp(g, ckpt, layerNorm(g, ckpt, z, `${prefix}.layer_norm2`, v.layerNormEps), prefix, v)], {}, 'resid');
  const patchTokens = g.op('Slice', [z, g.ints('start', [1]), g.ints('end', [Number.MAX_SAFE_INTEGER]), g.ints('axis', [1])], {}, 'patch_tokens');
  const normed = layerNorm(g, ckpt, patchTokens, 'vision_model.post_layernorm', v.layerNormEps);
  const proj = g.weight('visual_projection', transpose(ckpt.tensor('visual_projection.weight'), d, w), [w, d]);
  g.output(l2Normalize(g, g.op('MatMul', [normed, proj])), 'patch_embeds', 'float32', ['batch', 'patches', d]);
  return g.encode();
}


export function buildImageGlobalGraph(ckpt: ClipCheckpoint): Uint8Array {
  const v = ckpt.config.vision;
  const w = v.hiddenSize;
  const d = ckpt.config.projectionDim;
  const g = new GraphBuilder('clip_image_global');
  const x = g.input('tokens', 'float32', ['batch', 'tokens', w]);
  const cls = g.op('Squeeze', [classTokenBlock(g, ckpt, x, `vision_model.encoder.layers.${v.numLayers - 1}`, v), g.ints('axis1', [1])], {}, 'cls'); // [B,W]
  const normed = layerNorm(g, ckpt, cls, 'vision_model.post_layernorm', v.layerNormEps);
  const proj = g.weight('visual_projection', transpose(ckpt.tensor('visual_projection.weight'), d, w), [w, d]);
  g.output(l2Normalize(g, g.op('MatMul', [normed, proj])), 'image_embeds', 'float32', ['batch', d]);
  return g.encode();
}
