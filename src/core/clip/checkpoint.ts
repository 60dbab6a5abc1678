// A Hugging Face CLIP folder: config.json + model.safetensors (+ the tokenizer files, read by
// tokenizer.ts). Opening checks every tensor the graphs use — name, shape, float dtype — against
// the config, so a wrong or damaged file fails at once with the tensor named, not deep in ONNX Runtime.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { readClipConfig, type ClipConfig, type TowerConfig } from './config';
import { isFloatDtype, SafetensorsFile } from './safetensors';
import { PsclError } from '../errors';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const TOKENIZER_FILE = 'tokenizer.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

export interface ExpectedTensor {
  name: string;
  shape: number[];
}

/** Bad input the user can fix (kind 'input' for the backend's error mapping). */
export class CheckpointError extends PsclError {
  override name = 'CheckpointError';
}

function layerTensors(prefix: string, t: TowerConfig): ExpectedTensor[] {
  const w = t.hiddenSize;
  const out: ExpectedTensor[] = [];
  for (let i = 0; i < t.numLayers; i++) {
    const p = `${prefix}.encoder.layers.${i}`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) {
      out.push({ name: `${p}.self_attn.${proj}.weight`, shape: [w, w] }, { name: `${p}.self_attn.${proj}.bias`, shape: [w] });
    }
    for (const ln of ['layer_norm1', 'layer_norm2']) out.push({ name: `${p}.${ln}.weight`, shape: [w] }, { name: `${p}.${ln}.bias`, shape: [w] });
    out.push(
      { name: `${p}.mlp.fc1.weight`, shape: [t.intermediateSize, w] },
      { name: `${p}.mlp.fc1.bias`, shape: [t.intermediateSize] },
      { name: `${p}.mlp.fc2.weight`, shape: [w, t.intermediateSize] },
      { name: `${p}.mlp.fc2.bias`, shape: [w] },
    );
  }
  return out;
}

const layerNorm = (name: string, w: number): ExpectedTensor[] => [
  { name: `${name}.weight`, shape: [w] },
  { name: `${name}.bias`, shape: [w] },
];

/** Every tensor of a transformers CLIPModel that the text and image graphs read. */
export function expectedTensors(c: ClipConfig): ExpectedTensor[] {
  const t = c.text;
  const v = c.vision;
  const grid = v.imageSize / v.patchSize;
  return [
    { name: 'text_model.embeddings.token_embedding.weight', shape: [t.vocabSize, t.hiddenSize] },
    { name: 'text_model.embeddings.position_embedding.weight', shape: [t.maxPositions, t.hiddenSize] },
    ...layerTensors('text_model', t),
    ...layerNorm('text_model.final_layer_norm', t.hiddenSize),
    { name: 'text_projection.weight', shape: [c.projectionDim, t.hiddenSize] },
    { name: 'vision_model.embeddings.class_embedding', shape: [v.hiddenSize] },
    { name: 'vision_model.embeddings.patch_embedding.weight', shape: [v.hiddenSize, 3, v.patchSize, v.patchSize] },
    { name: 'vision_model.embeddings.position_embedding.weight', shape: [grid * grid + 1, v.hiddenSize] },
    ...layerNorm('vision_model.pre_layrnorm', v.hiddenSize), // sic: transformers' spelling
    ...layerTensors('vision_model', v),
    ...layerNorm('vision_model.post_layernorm', v.hiddenSize),
    { name: 'visual_projection.weight', shape: [c.projectionDim, v.hiddenSize] },
    { name: 'logit_scale', shape: [] },
  ];
}

const fmt = (s: number[]) => `[${s.join(', ')}]`;

export class ClipCheckpoint {
  private constructor(
    readonly dir: string,
    readonly config: ClipConfig,
    private readonly weights: SafetensorsFile,
  ) {}

  get weightsFile(): string {
    return path.join(this.dir, WEIGHTS_FILE);
  }

  /** Opens a CLIP folder and checks it fully (header only: tensor data is read when a graph is built). */
  static open(dir: string): ClipCheckpoint {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new CheckpointError(`${dir}: not a folder; a CLIP model is a folder with ${CONFIG_FILE}, ${WEIGHTS_FILE}, ${TOKENIZER_FILE} and ${TOKENIZER_CONFIG_FILE}`);
    }
    for (const f of [CONFIG_FILE, WEIGHTS_FILE]) {
      if (!existsSync(path.join(dir, f))) {
        throw new CheckpointError(`${dir}: missing ${f}; a CLIP model folder needs ${CONFIG_FILE}, ${WEIGHTS_FILE}, ${TOKENIZER_FILE} and ${TOKENIZER_CONFIG_FILE} (pytorch_model.bin is not read: convert it to safetensors)`);
      }
    }
    const config = readClipConfig(path.join(dir, CONFIG_FILE));
    const weights = SafetensorsFile.open(path.join(dir, WEIGHTS_FILE));
    try {
      checkTensors(weights, config);
    } catch (err) {
      weights.close();
      throw err;
    }
    return new ClipCheckpoint(dir, config, weights);
  }

  /** A tensor as float32, in its stored (PyTorch) layout. */
  tensor(name: string): Float32Array {
    return this.weights.readFloat32(name);
  }

  /** The files every built graph depends on (their hash keys the graph cache). */
  get sourceFiles(): string[] {
    return [path.join(this.dir, CONFIG_FILE), this.weightsFile];
  }

  close(): void {
    this.weights.close();
  }
}

function checkTensors(weights: SafetensorsFile, config: ClipConfig): void {
  const file = weights.file;
  for (const e of expectedTensors(config)) {
    const t = weights.tensors.get(e.name);
    if (!t) {
      throw new CheckpointError(`${file}: missing tensor '${e.name}' (config.json expects shape ${fmt(e.shape)}); is this a CLIPModel checkpoint matching its config.json?`);
    }
    if (t.shape.length !== e.shape.length || t.shape.some((d, i) => d !== e.shape[i])) {
      throw new CheckpointError(`${file}: tensor '${e.name}' has shape ${fmt(t.shape)}, but config.json expects ${fmt(e.shape)}`);
    }
    if (!isFloatDtype(t.dtype)) {
      throw new CheckpointError(`${file}: tensor '${e.name}' has unsupported dtype '${t.dtype}' (expected F32, F16 or BF16)`);
    }
  }
}

/** Streams the files through sha256 (weights can be gigabytes). */
export function hashFiles(files: string[]): string {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1 << 22);
  for (const f of files) {
    const fd = openSync(f, 'r');
    try {
      for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
  }
  return h.digest('hex');
}
