import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectedTensors } from '../../../src/core/clip/checkpoint';
import { parseClipConfig } from '../../../src/core/clip/config';

// the shape of openai/clip-vit-base-patch16's config.json (trimmed: transformers fills the rest)
const vitB16 = {
  architectures: ['CLIPModel'],
  model_type: 'clip',
  projection_dim: 512,
  text_config: { hidden_size: 512, intermediate_size: 2048, num_attention_heads: 8, num_hidden_layers: 12, projection_dim: 512, vocab_size: 49408 },
  vision_config: { hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12, patch_size: 16, projection_dim: 512 },
};

test('a Hugging Face ViT-B/16 config: explicit fields and transformers defaults', () => {
  const c = parseClipConfig(vitB16);
  assert.deepEqual(c.vision, { hiddenSize: 768, intermediateSize: 3072, numHeads: 12, numLayers: 12, activation: 'quick_gelu', layerNormEps: 1e-5, imageSize: 224, patchSize: 16 });
  assert.deepEqual(c.text, { hiddenSize: 512, intermediateSize: 2048, numHeads: 8, numLayers: 12, activation: 'quick_gelu', layerNormEps: 1e-5, vocabSize: 49408, maxPositions: 77 });
  assert.equal(c.projectionDim, 512);
  const byName = new Map(expectedTensors(c).map((t) => [t.name, t.shape]));
  assert.equal(byName.size, 2 + 12 * 16 + 2 + 1 + 3 + 2 + 12 * 16 + 2 + 1 + 1);
  assert.deepEqual(byName.get('vision_model.embeddings.position_embedding.weight'), [197, 768]);
  assert.deepEqual(byName.get('vision_model.embeddings.patch_embedding.weight'), [768, 3, 16, 16]);
  assert.deepEqual(byName.get('text_projection.weight'), [512, 512]);
  assert.deepEqual(byName.get('logit_scale'), []);
});

test('older configs with *_config_dict and bad values', () => {
  const { text_config, vision_config, ...rest } = vitB16;
  assert.equal(parseClipConfig({ ...rest, text_config_dict: text_config, vision_config_dict: vision_config }).vision.patchSize, 16);
  assert.throws(() => parseClipConfig({ ...rest, vision_config }), /no 'text_config': is this a Hugging Face CLIPModel config\?/);
  assert.throws(() => parseClipConfig({ ...vitB16, vision_config: { ...vision_config, num_attention_heads: 7 } }), /hidden_size 768 is not a multiple of num_attention_heads 7/);
  assert.throws(() => parseClipConfig({ ...vitB16, vision_config: { ...vision_config, image_size: 200 } }), /image_size 200 is not a multiple of patch_size 16/);
  assert.throws(() => parseClipConfig({ ...vitB16, text_config: { ...text_config, hidden_size: '512' } }), /text_config\.hidden_size must be a positive integer/);
});
