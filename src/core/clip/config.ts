// The parts of a Hugging Face CLIP `config.json` the graphs need. Missing fields take the same
// defaults as transformers' CLIPTextConfig / CLIPVisionConfig, so older configs load as they do there.
import { readFileSync } from 'node:fs';
import { PsclError } from '../errors';

export type Activation = 'quick_gelu' | 'gelu';

export interface TowerConfig {
  hiddenSize: number;
  intermediateSize: number;
  numHeads: number;
  numLayers: number;
  activation: Activation;
  layerNormEps: number;
}

export interface TextConfig extends TowerConfig {
  vocabSize: number;
  /** Context length: the positional embedding rows (77 for CLIP). */
  maxPositions: number;
}

export interface VisionConfig extends TowerConfig {
  imageSize: number;
  patchSize: number;
}

export interface ClipConfig {
  text: TextConfig;
  vision: VisionConfig;
  /** Output embedding width D of both projections. */
  projectionDim: number;
}

const TEXT_DEFAULTS = { hidden_size: 512, intermediate_size: 2048, num_attention_heads: 8, num_hidden_layers: 12, vocab_size: 49408, max_position_embeddings: 77 };
const VISION_DEFAULTS = { hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12, image_size: 224, patch_size: 32 };

/** Bad input the user can fix (kind 'input' for the backend's error mapping). */
export class ClipConfigError extends PsclError {
  override name = 'ClipConfigError';
}

export function readClipConfig(file: string): ClipConfig {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new ClipConfigError(`${file}: cannot read the CLIP config (${(err as Error).message})`);
  }
  return parseClipConfig(raw, file);
}

export function parseClipConfig(raw: Record<string, unknown>, file = 'config.json'): ClipConfig {
  const fail = (why: string): never => {
    throw new ClipConfigError(`${file}: ${why}`);
  };
  const section = (name: string): Record<string, unknown> => {
    const s = raw[name] ?? raw[`${name}_dict`];
    if (s === undefined || s === null || typeof s !== 'object') return fail(`no '${name}': is this a Hugging Face CLIPModel config?`);
    return s as Record<string, unknown>;
  };
  const int = (s: Record<string, unknown>, where: string, key: string, dflt: number | undefined): number => {
    const v = s[key] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) return fail(`${where}.${key} must be a positive integer (got ${JSON.stringify(v)})`);
    return v;
  };
  const tower = (s: Record<string, unknown>, where: string, d: typeof TEXT_DEFAULTS | typeof VISION_DEFAULTS): TowerConfig => {
    const act = (s.hidden_act ?? 'quick_gelu') as string;
    if (act !== 'quick_gelu' && act !== 'gelu') fail(`${where}.hidden_act '${act}' is not supported (quick_gelu or gelu)`);
    const eps = s.layer_norm_eps ?? 1e-5;
    if (typeof eps !== 'number' || !(eps > 0)) fail(`${where}.layer_norm_eps must be a positive number`);
    const t: TowerConfig = {
      hiddenSize: int(s, where, 'hidden_size', d.hidden_size),
      intermediateSize: int(s, where, 'intermediate_size', d.intermediate_size),
      numHeads: int(s, where, 'num_attention_heads', d.num_attention_heads),
      numLayers: int(s, where, 'num_hidden_layers', d.num_hidden_layers),
      activation: act as Activation,
      layerNormEps: eps as number,
    };
    if (t.hiddenSize % t.numHeads !== 0) fail(`${where}.hidden_size ${t.hiddenSize} is not a multiple of num_attention_heads ${t.numHeads}`);
    return t;
  };
  const ts = section('text_config');
  const vs = section('vision_config');
  const text: TextConfig = {
    ...tower(ts, 'text_config', TEXT_DEFAULTS),
    vocabSize: int(ts, 'text_config', 'vocab_size', TEXT_DEFAULTS.vocab_size),
    maxPositions: int(ts, 'text_config', 'max_position_embeddings', TEXT_DEFAULTS.max_position_embeddings),
  };
  const vision: VisionConfig = {
    ...tower(vs, 'vision_config', VISION_DEFAULTS),
    imageSize: int(vs, 'vision_config', 'image_size', VISION_DEFAULTS.image_size),
    patchSize: int(vs, 'vision_config', 'patch_size', VISION_DEFAULTS.patch_size),
  };
  if (vision.imageSize % vision.patchSize !== 0) fail(`vision_config.image_size ${vision.imageSize} is not a multiple of patch_size ${vision.patchSize}`);
  const projectionDim = int(raw, 'config', 'projection_dim', 512);
  return { text, vision, projectionDim };
}

/** The inverse, for the tiny-model fixture: a config.json transformers itself would accept. */
export function clipConfigToJson(c: ClipConfig): Record<string, unknown> {
  const tower = (t: TowerConfig) => ({
    hidden_size: t.hiddenSize,
    intermediate_size: t.intermediateSize,
    num_attention_heads: t.numHeads,
    num_hidden_layers: t.numLayers,
    hidden_act: t.activation,
    layer_norm_eps: t.layerNormEps,
    projection_dim: c.projectionDim,
  });
  return {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: c.projectionDim,
    logit_scale_init_value: 2.6592,
    text_config: { ...tower(c.text), vocab_size: c.text.vocabSize, max_position_embeddings: c.text.maxPositions, bos_token_id: c.text.vocabSize - 2, eos_token_id: c.text.vocabSize - 1, pad_token_id: c.text.vocabSize - 1, model_type: 'clip_text_model' },
    vision_config: { ...tower(c.vision), image_size: c.vision.imageSize, patch_size: c.vision.patchSize, num_channels: 3, model_type: 'clip_vision_model' },
    torch_dtype: 'float32',
  };
}
