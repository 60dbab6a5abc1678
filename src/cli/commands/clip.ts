// `pscl clip text|dense|image|make-tiny`: the CLIP runtime headless, for scripting and parity checks.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { CliError, parseOptions, required, type Command } from '../command';
import { ClipModel, type ClipModelOptions } from '../../core/clip/model';
import { loadImagePixels, type PixelImage } from '../../core/clip/preprocess';
import { PROVIDER_CHOICES, type ProviderChoice } from '../../core/clip/runtime';
import { makeTinyClip, sharedMergesFile, TINY_DEFAULTS } from '../../core/clip/tiny';
import { DEFAULT_VARIANT, VARIANT_NAMES } from '../../core/clip/graph/variants';
import { readNpy, writeNpy } from '../../core/util/npy';

const help = `pscl clip <subcommand> [options]

  text       --model DIR --text "..." [--text ...] --out FILE.npy
             L2-normalised text embeddings [N, D], one row per text (no templates)
  dense      --model DIR (--image IMG --size S | --pixels PIX.npy) [--variant V] --out FILE.npy
             dense patch features [H/p, W/p, D], L2-normalised per patch
             --pixels: an already normalised float32 [3,H,W] array (no image preprocessing)
             --size S: the image is resized to SxS (--fit S: long side S, aspect kept)
             --window N [--stride N]: sliding windows of N pixels over larger inputs
             --variant: ${VARIANT_NAMES.join(', ')} (default ${DEFAULT_VARIANT}),
                        or 'attn=qk|qq|kk|vv|qq+kk|identity,residual=on|off,ffn=on|off'
  image      --model DIR (--image IMG [--size S | --fit S] | --pixels PIX.npy) --out FILE.npy
             CLIP's image embedding [1, D] (class token through the standard last block,
             L2-normalised); the input as for dense (default --size: the model's image size)
  make-tiny  --out DIR [--width 32 --layers 2 --heads 4 --patch 8 --image-size 32
             --text-width 32 --text-layers 2 --text-heads 4 --embed-dim 16 --seed 0
             --vocab small|real [--merges FILE] --act quick_gelu|gelu --dtype F32|F16|BF16]
             a deterministic random CLIP folder in the Hugging Face layout

common (text, dense, image): --provider auto|cpu|cuda (default auto), --threads N, --cache-dir DIR`;

const modelOptions = {
  model: { type: 'string' },
  provider: { type: 'string' },
  threads: { type: 'string' },
  'cache-dir': { type: 'string' },
  out: { type: 'string' },
} as const;

function int(command: string, name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${command}: --${name} must be a non-negative integer (got '${value}')`);
  return n;
}

async function openModel(command: string, v: { model?: string; provider?: string; threads?: string; 'cache-dir'?: string }): Promise<ClipModel> {
  const dir = required(command, 'model', v.model);
  const provider = (v.provider ?? 'auto') as ProviderChoice;
  if (!PROVIDER_CHOICES.includes(provider)) throw new CliError(`${command}: --provider must be one of ${PROVIDER_CHOICES.join(', ')}`);
  const opts: ClipModelOptions = { provider, cacheDir: v['cache-dir'], log: (m) => process.stderr.write(`clip: ${m}\n`) };
  if (v.threads !== undefined) opts.threads = int(command, 'threads', v.threads, 0) || undefined;
  try {
    return await ClipModel.load(dir, opts);
  } catch (err) {
    throw new CliError(`${command}: ${(err as Error).message}`);
  }
}

async function text(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('clip text', argv, { ...modelOptions, text: { type: 'string', multiple: true } });
  const texts = v.text ?? [];
  if (texts.length === 0) throw new CliError('clip text: give at least one --text');
  const out = required('clip text', 'out', v.out);
  const model = await openModel('clip text', v);
  try {
    const e = await model.embedTexts(texts);
    writeNpy(out, { shape: [e.rows, e.dim], data: e.data });
  } finally {
    await model.dispose();
  }
  return 0;
}

interface ImageInputOptions {
  image?: string;
  pixels?: string;
  size?: string;
  fit?: string;
}

function checkImageInput(command: string, v: ImageInputOptions): void {
  if ((v.image === undefined) === (v.pixels === undefined)) throw new CliError(`${command}: give exactly one of --image IMG or --pixels PIX.npy`);
}

/** The model input of --pixels (already normalised) or --image (resized to --size S x S, or long side --fit S). */
async function inputImage(command: string, model: ClipModel, v: ImageInputOptions): Promise<PixelImage> {
  if (v.pixels !== undefined) {
    let a;
    try {
      a = readNpy(v.pixels);
    } catch (err) {
      throw new CliError(`${command}: ${(err as Error).message}`);
    }
    if (a.shape.length !== 3 || a.shape[0] !== 3) throw new CliError(`${command}: ${v.pixels} has shape [${a.shape}]; --pixels needs a normalised float32 [3,H,W] array`);
    return { data: a.data, height: a.shape[1]!, width: a.shape[2]! };
  }
  const image = v.image!;
  try {
    if (v.fit !== undefined) return await loadImagePixels(image, { mode: 'fit', size: int(command, 'fit', v.fit, 0), multipleOf: model.patchSize });
    const size = int(command, 'size', v.size, model.imageSize);
    return await loadImagePixels(image, { mode: 'resize', width: size, height: size });
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${command}: ${(err as Error).message}`);
  }
}

async function dense(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('clip dense', argv, {
    ...modelOptions,
    image: { type: 'string' },
    pixels: { type: 'string' },
    size: { type: 'string' },
    fit: { type: 'string' },
    variant: { type: 'string' },
    window: { type: 'string' },
    stride: { type: 'string' },
  });
  const out = required('clip dense', 'out', v.out);
  checkImageInput('clip dense', v);
  const model = await openModel('clip dense', v);
  try {
    const img = await inputImage('clip dense', model, v);
    const window = v.window !== undefined ? int('clip dense', 'window', v.window, 0) : undefined;
    const stride = v.stride !== undefined ? int('clip dense', 'stride', v.stride, 0) : undefined;
    let maps;
    try {
      const onProgress = process.stderr.isTTY ? (done: number, total: number) => process.stderr.write(`\rclip: ${done}/${total} inputs${done === total ? '\n' : ''}`) : undefined;
      maps = await model.denseFeatures([img], { variant: v.variant, slidingWindow: window !== undefined ? { window, stride } : false, onProgress });
    } catch (err) {
      throw new CliError(`clip dense: ${(err as Error).message}`);
    }
    const m = maps[0]!;
    writeNpy(out, { shape: [m.height, m.width, m.dim], data: m.data });
  } finally {
    await model.dispose();
  }
  return 0;
}

async function image(argv: string[]): Promise<number> {
  const { values: v } = parseOptions('clip image', argv, { ...modelOptions, image: { type: 'string' }, pixels: { type: 'string' }, size: { type: 'string' }, fit: { type: 'string' } });
  const out = required('clip image', 'out', v.out);
  checkImageInput('clip image', v);
  const model = await openModel('clip image', v);
  try {
    const img = await inputImage('clip image', model, v);
    let e;
    try {
      e = await model.imageEmbeddings([img]);
    } catch (err) {
      throw new CliError(`clip image: ${(err as Error).message}`);
    }
    writeNpy(out, { shape: [e.rows, e.dim], data: e.data });
  } finally {
    await model.dispose();
  }
  return 0;
}

/** The repository root (the folder with package.json above this file or its bundle). */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json')) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  return dir;
}

function makeTiny(argv: string[]): number {
  const names = ['width', 'layers', 'heads', 'patch', 'image-size', 'text-width', 'text-layers', 'text-heads', 'embed-dim', 'seed'] as const;
  const { values: v } = parseOptions('clip make-tiny', argv, {
    out: { type: 'string' },
    vocab: { type: 'string' },
    merges: { type: 'string' },
    act: { type: 'string' },
    dtype: { type: 'string' },
    ...Object.fromEntries(names.map((n) => [n, { type: 'string' }])),
  } as Record<string, { type: 'string' }>);
  const out = required('clip make-tiny', 'out', v.out as string | undefined);
  const get = (n: (typeof names)[number], d: number) => int('clip make-tiny', n, v[n] as string | undefined, d);
  const vocab = (v.vocab ?? 'small') as string;
  if (vocab !== 'small' && vocab !== 'real') throw new CliError(`clip make-tiny: --vocab must be small or real`);
  const act = (v.act ?? 'quick_gelu') as string;
  if (act !== 'quick_gelu' && act !== 'gelu') throw new CliError(`clip make-tiny: --act must be quick_gelu or gelu`);
  const dtype = (v.dtype ?? 'F32') as string;
  if (dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') throw new CliError(`clip make-tiny: --dtype must be F32, F16 or BF16`);
  const heads = get('heads', TINY_DEFAULTS.heads);
  try {
    const config = makeTinyClip(out, {
      width: get('width', TINY_DEFAULTS.width),
      layers: get('layers', TINY_DEFAULTS.layers),
      heads,
      patch: get('patch', TINY_DEFAULTS.patch),
      imageSize: get('image-size', TINY_DEFAULTS.imageSize),
      textWidth: get('text-width', TINY_DEFAULTS.textWidth),
      textLayers: get('text-layers', TINY_DEFAULTS.textLayers),
      textHeads: get('text-heads', heads),
      embedDim: get('embed-dim', TINY_DEFAULTS.embedDim),
      seed: get('seed', TINY_DEFAULTS.seed),
      vocab,
      mergesFile: (v.merges as string | undefined) ?? sharedMergesFile(repoRoot()),
      activation: act,
      dtype,
    });
    process.stderr.write(`clip: wrote ${out} (vision ${config.vision.hiddenSize}x${config.vision.numLayers}, patch ${config.vision.patchSize}, image ${config.vision.imageSize}; text ${config.text.hiddenSize}x${config.text.numLayers}, vocab ${config.text.vocabSize}; embed ${config.projectionDim})\n`);
  } catch (err) {
    throw new CliError(`clip make-tiny: ${(err as Error).message}`);
  }
  return 0;
}

export const command: Command = {
  help,
  subcommands: ['text', 'dense', 'image', 'make-tiny'],
  async run(argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'text':
        return text(rest);
      case 'dense':
        return dense(rest);
      case 'image':
        return image(rest);
      case 'make-tiny':
        return makeTiny(rest);
      default:
        throw new CliError(`clip: unknown subcommand '${sub ?? ''}'\n\n${help}`);
    }
  },
};
