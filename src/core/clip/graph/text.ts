// The CLIP text encoder as one ONNX graph:
//   input_ids [B, T] int64 (T <= 77: padding after <|endoftext|> may be left out) -> token +
//   position embeddings -> causal pre-norm blocks
//   -> the token at argmax(input_ids) (<|endoftext|>, the largest id) -> final_layer_norm
//   -> text_projection -> L2-normalised embeddings [B, D]
import type { ClipCheckpoint } from '../checkpoint';
import { GraphBuilder } from './builder';
import { l2Normalize, layerNorm, standardBlock } from './layers';
import { transpose } from './weights';

export function buildTextGraph(ckpt: ClipCheckpoint): Uint8Array {
  const t = ckpt.config.text;
  const n = t.maxPositions;
  const w = t.hiddenSize;
  const g = new GraphBuilder('clip_text');
  // any length up to the context: the causal mask makes the output at <|endoftext|> independent of
  // what follows it, so a batch needs no more tokens than its longest text
  const ids = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const zero = g.ints('zero', [0]);
  const len = g.op('Slice', [g.op('Shape', [ids]), g.ints('one', [1]), g.ints('two', [2])], {}, 'length'); // [1]
  const tok = g.weight('token_embedding', ckpt.tensor('text_model.embeddings.token_embedding.weight'), [t.vocabSize, w]);
  const posAll = g.weight('position_embedding', ckpt.tensor('text_model.embeddings.position_embedding.weight'), [n, w]);
  const pos = g.op('Slice', [posAll, zero, len, zero], {}, 'positions_used');
  let x = g.op('Add', [g.op('Gather', [tok, ids], { axis: 0 }), pos], {}, 'embeddings');
  // causal mask: token i sees tokens 0..i
  const mask = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) mask[i * n + j] = -Infinity;
  const causal = g.op('Slice', [g.weight('causal_mask', mask, [n, n]), g.ints('zeros2', [0, 0]), g.op('Concat', [len, len], { axis: 0 }), g.ints('axes01', [0, 1])], {}, 'causal');
  for (let i = 0; i < t.numLayers; i++) x = standardBlock(g, ckpt, x, `text_model.encoder.layers.${i}`, t, causal);
  // pooling: a one-hot row at the first argmax position, times the tokens
  const eos = g.op('ArgMax', [ids], { axis: 1, keepdims: 1 }, 'eos_position'); // [B,1]
  const positions = g.op('Slice', [g.ints('positions', Array.from({ length: n }, (_, i) => i)), zero, len, zero], {}, 'token_index');
  const onehot = g.op('Cast', [g.op('Equal', [positions, eos])], { to: 1 });
  const pooled = g.op('Squeeze', [g.op('MatMul', [g.op('Unsqueeze', [onehot, g.ints('axis1', [1])]), x]), g.ints('axis1b', [1])], {}, 'pooled');
  const normed = layerNorm(g, ckpt, pooled, 'text_model.final_layer_norm', t.layerNormEps);
  const proj = g.weight('text_projection', transpose(ckpt.tensor('text_projection.weight'), ckpt.config.projectionDim, w), [w, ckpt.config.projectionDim]);
  g.output(l2Normalize(g, g.op('MatMul', [normed, proj])), 'text_embeds', 'float32', ['batch', ckpt.config.projectionDim]);
  return g.encode();
}
