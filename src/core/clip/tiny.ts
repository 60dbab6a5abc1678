// A deterministic CLIP folder in the real Hugging Face layout (config.json, model.safetensors,
// tokenizer.json, tokenizer_config.json) with seeded random weights: the fixture for tests and the
// demo, and, at ViT-B/16 sizes, the checkpoint for benchmarks. Same options + seed -> same bytes.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { expectedTensors, CONFIG_FILE, TOKENIZER_CONFIG_FILE, TOKENIZER_FILE, WEIGHTS_FILE } from './checkpoint';
import { clipConfigToJson, type Activation, type ClipConfig } from './config';
import { encodeSafetensors, type TensorToWrite } from './safetensors';
import { buildTokenizerConfig, buildTokenizerJson, buildVocab, readClipMerges } from './vocab';
import { writeFileAtomicSync as writeFileAtomic } from '../util/atomicWrite';

export interface TinyClipOptions {
  width: number;
  layers: number;
  heads: number;
  patch: number;
  imageSize: number;
  textWidth: number;
  textLayers: number;
  textHeads: number;
  embedDim: number;
  seed: number;
  /** 'real': CLIP's 49408-token BPE (needs `mergesFile`); 'small': the 256 bytes only (514 tokens). */
  vocab: 'real' | 'small';
  mergesFile?: string;
  activation: Activation;
  dtype: 'F32' | 'F16' | 'BF16';
}

export const TINY_DEFAULTS: TinyClipOptions = {
  width: 32,
  layers: 2,
  heads: 4,
  patch: 8,
  imageSize: 32,
  textWidth: 32,
  textLayers: 2,
  textHeads: 4,
  embedDim: 16,
  seed: 0,
  vocab: 'small',
  activation: 'quick_gelu',
  dtype: 'F32',
};

/**
 * The real CLIP merges: under PSCL_SHARED_DATA when set, else the repository's copy in test/data,
 * else `<repo>/../shared/data` (an installed extension has neither and uses the small vocabulary).
 */
export function sharedMergesFile(repoRoot: string): string {
  const file = (data: string) => path.join(data, 'clip', 'bpe_simple_vocab_16e6.txt.gz');
  if (process.env.PSCL_SHARED_DATA) return file(process.env.PSCL_SHARED_DATA);
  const inRepo = file(path.join(repoRoot, 'test', 'data'));
  return existsSync(inRepo) ? inRepo : file(path.join(repoRoot, '..', 'shared', 'data'));
}

/** mulberry32 uniform [0,1) + Box-Muller normals: small, fast, and the same on every platform. */
export class SeededRandom {
  private state: number;
  private spare: number | undefined;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }
}

/** How a tensor is initialised: mean + std * N(0, 1). Stds keep activations O(1) and attention peaked. */
function init(name: string, shape: number[]): { mean: number; std: number } {
  const fanIn = shape.length >= 2 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  if (name === 'logit_scale') return { mean: Math.log(1 / 0.07), std: 0 };
  if (/(layer_norm\d|layrnorm|layernorm|final_layer_norm)\.weight$/.test(name)) return { mean: 1, std: 0.1 };
  if (name.endsWith('.bias')) return { mean: 0, std: 0.05 };
  if (/embeddings\.(token_embedding|position_embedding|class_embedding)/.test(name)) return { mean: 0, std: 0.5 };
  if (/\.(q_proj|k_proj)\.weight$/.test(name)) return { mean: 0, std: 1.5 / Math.sqrt(fanIn) };
  return { mean: 0, std: 1 / Math.sqrt(fanIn) };
}

export function tinyClipConfig(o: TinyClipOptions, vocabSize: number): ClipConfig {
  if (o.imageSize % o.patch !== 0) throw new Error(`--image-size ${o.imageSize} must be a multiple of --patch ${o.patch}`);
  if (o.width % o.heads !== 0) throw new Error(`--width ${o.width} must be a multiple of --heads ${o.heads}`);
  if (o.textWidth % o.textHeads !== 0) throw new Error(`--text-width ${o.textWidth} must be a multiple of --text-heads ${o.textHeads}`);
  const tower = (w: number, layers: number, heads: number) => ({
    hiddenSize: w,
    intermediateSize: 4 * w,
    numHeads: heads,
    numLayers: layers,
    activation: o.activation,
    layerNormEps: 1e-5,
  });
  return {
    text: { ...tower(o.textWidth, o.textLayers, o.textHeads), vocabSize, maxPositions: 77 },
    vision: { ...tower(o.width, o.layers, o.heads), imageSize: o.imageSize, patchSize: o.patch },
    projectionDim: o.embedDim,
  };
}

/** Writes the four files into `dir` (created if needed; each file atomically). */
export function makeTinyClip(dir: string, options: Partial<TinyClipOptions> = {}): ClipConfig {
  const o = { ...TINY_DEFAULTS, ...options };
  let merges: [string, string][] = [];
  if (o.vocab === 'real') {
    if (!o.mergesFile || !existsSync(o.mergesFile)) {
      throw new Error(`the real CLIP vocabulary needs bpe_simple_vocab_16e6.txt.gz (looked for ${o.mergesFile ?? 'nothing'}); pass --merges FILE or use --vocab small`);
    }
    merges = readClipMerges(o.mergesFile);
  }
  const config = tinyClipConfig(o, buildVocab(merges).length);
  const rng = new SeededRandom(o.seed);
  const tensors: TensorToWrite[] = expectedTensors(config).map(({ name, shape }) => {
    const { mean, std } = init(name, shape);
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = mean + std * rng.normal();
    return { name, shape, data, dtype: o.dtype };
  });
  writeFileAtomic(path.join(dir, WEIGHTS_FILE), encodeSafetensors(tensors, { format: 'pt', generator: 'pscl clip make-tiny', seed: String(o.seed) }));
  writeFileAtomic(path.join(dir, CONFIG_FILE), JSON.stringify(clipConfigToJson(config), null, 2) + '\n');
  writeFileAtomic(path.join(dir, TOKENIZER_FILE), JSON.stringify(buildTokenizerJson(merges)));
  writeFileAtomic(path.join(dir, TOKENIZER_CONFIG_FILE), JSON.stringify(buildTokenizerConfig(config.text.maxPositions), null, 2) + '\n');
  return config;
}
