// The CLIP model as the rest of the project uses it: load a folder, embed texts, compute dense
// patch features of images in any last-block variant. Graphs are built from the weights on first
// use and cached on disk (graphcache.ts); sessions are kept for the life of the model.
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { ClipCheckpoint, TOKENIZER_FILE } from './checkpoint';
import type { ClipConfig } from './config';
import { defaultCacheDir, GraphCache } from './graphcache';
import { buildImageGlobalGraph, buildImageHeadGraph, buildImageTrunkGraph } from './graph/image';
import { buildTextGraph } from './graph/text';
import { resizePositionEmbedding } from './graph/posembed';
import { DEFAULT_VARIANT, parseVariant, variantKey, type LastBlockVariant } from './graph/variants';
import type { PixelImage } from './preprocess';
import { OrtRuntime, type ProviderChoice, type ProviderReport } from './runtime';
import { cropPixels, FeatureGrid, slidingWindows } from './slidingwindow';
import { checkTokenizerFiles, ClipTokenizer, TokenizerError } from './tokenizer';

export interface ClipModelOptions {
  /** 'auto' (CUDA when it works, else CPU), 'cpu' or 'cuda'. */
  provider?: ProviderChoice;
  /** Where built graphs are kept; default `graphs/` in the user cache folder (src/core/util/cacheDir.ts). */
  cacheDir?: string;
  /** CPU threads per operator. */
  threads?: number;
  /** Progress messages (graph builds, provider choice). */
  log?: (message: string) => void;
}

/** Row-major [rows, dim] L2-normalised embeddings. */
export interface Embeddings {
  data: Float32Array;
  rows: number;
  dim: number;
}

/** Dense patch features [height, width, dim] (patch grid), L2-normalised per patch. */
export interface DenseMap {
  data: Float32Array;
  height: number;
  width: number;
  dim: number;
}

export interface RunControl {
  signal?: AbortSignal;
  /** Called after each batch (or window batch) with work done and total. */
  onProgress?: (done: number, total: number) => void;
}

export interface DenseOptions extends RunControl {
  /** A variant name ('clearclip', 'vanilla', ...), a spec string, or a variant object. Default DEFAULT_VARIANT. */
  variant?: string | LastBlockVariant;
  /** Tile images larger than `window` (default: the trained size) with `stride` (default window/2). */
  slidingWindow?: boolean | { window?: number; stride?: number };
  batchSize?: number;
}

export interface EncodeImagesOptions extends DenseOptions {
  /** Dense patch features through the variant (default true). */
  dense?: boolean;
  /** CLIP's image embedding: the class token through the standard last block (default false). Not with sliding windows. */
  global?: boolean;
}

/** What `encodeImages` computed: each requested output, in image order. */
export interface ImageEncodings {
  dense?: DenseMap[];
  /** [images, D], L2-normalised rows. */
  global?: Embeddings;
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'AbortError';
  }
}

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}

export class ClipModel {
  private tokenizer: Promise<ClipTokenizer> | undefined;
  private readonly sessions = new Map<string, Promise<InferenceSession>>();
  /** Positional embeddings per patch grid ('GHxGW'), resized from the trained table. */
  private readonly positions = new Map<string, Float32Array>();

  private constructor(
    readonly dir: string,
    private readonly checkpoint: ClipCheckpoint,
    private readonly runtime: OrtRuntime,
    private readonly cache: GraphCache,
    /** sha256 of config.json + model.safetensors. */
    readonly hash: string,
    private readonly log: (message: string) => void,
  ) {}

  /** Opens and checks the folder (names, shapes, dtypes, tokenizer files) and picks the provider. */
  static async load(dir: string, options: ClipModelOptions = {}): Promise<ClipModel> {
    const checkpoint = ClipCheckpoint.open(dir);
    try {
      checkTokenizerFiles(dir);
      const runtime = await OrtRuntime.create({ provider: options.provider, threads: options.threads });
      const log = options.log ?? (() => {});
      log(runtime.describe());
      const cache = new GraphCache(options.cacheDir ?? defaultCacheDir());
      const hash = cache.hashFiles(checkpoint.sourceFiles);
      return new ClipModel(dir, checkpoint, runtime, cache, hash, log);
    } catch (err) {
      checkpoint.close();
      throw err;
    }
  }

  get config(): ClipConfig {
    return this.checkpoint.config;
  }
  get provider(): ProviderReport {
    return this.runtime.report;
  }
  get patchSize(): number {
    return this.config.vision.patchSize;
  }
  get imageSize(): number {
    return this.config.vision.imageSize;
  }
  get embedDim(): number {
    return this.config.projectionDim;
  }
  get logitScale(): number {
    return Math.exp(this.checkpoint.tensor('logit_scale')[0]!);
  }

  private session(key: Record<string, unknown> & { kind: string }, build: () => Uint8Array): Promise<InferenceSession> {
    const id = JSON.stringify(key);
    let s = this.sessions.get(id);
    if (!s) {
      s = (async () => {
        const got = this.cache.getOrBuild({ ...key, weights: this.hash }, () => {
          this.log(`building the ${key.kind} graph (${JSON.stringify(key)})`);
          return build();
        });
        if (!got.built) this.log(`using the cached ${key.kind} graph ${got.file}`);
        if (got.bytes) {
          this.log(`cannot cache the ${key.kind} graph (${got.unwritable}); it will be rebuilt next time`);
          return this.runtime.session(got.bytes);
        }
        return this.runtime.session(got.file);
      })();
      s.catch(() => this.sessions.delete(id));
      this.sessions.set(id, s);
    }
    return s;
  }

  tokenize(texts: string[]) {
    this.tokenizer ??= ClipTokenizer.load(this.dir, this.config.text.maxPositions);
    return this.tokenizer.then((t) => t.encode(texts));
  }

  /**
   * L2-normalised text embeddings, one row per text (no templates). Each text runs only up to its
   * <|endoftext|> token: texts are sorted by length and each batch is padded to its longest, which
   * gives the 77-token result (the causal mask hides what follows the pooled token) at a fraction
   * of the work. `padToContext` runs the full context instead (the reference for tests).
   */
  async embedTexts(texts: string[], options: RunControl & { batchSize?: number; padToContext?: boolean } = {}): Promise<Embeddings> {
    const dim = this.embedDim;
    const out = new Float32Array(texts.length * dim);
    const session = await this.session({ kind: 'text', tokens: 'any' }, () => buildTextGraph(this.checkpoint));
    const batch = options.batchSize ?? 64;
    checkCancelled(options.signal);
    if (texts.length === 0) return { data: out, rows: 0, dim };
    const tokens = await this.tokenize(texts);
    const n = tokens.contextLength;
    const top = tokens.ids.reduce((a, b) => Math.max(a, b), 0);
    if (top >= this.config.text.vocabSize) {
      throw new TokenizerError(`${path.join(this.dir, TOKENIZER_FILE)}: gives token id ${top}, but config.json has text_config.vocab_size ${this.config.text.vocabSize}; the tokenizer does not belong to this model`);
    }
    // the pooled token is the first largest id (<|endoftext|>), as the graph picks it
    const lengths = texts.map((_, r) => {
      let best = 0;
      for (let j = 1; j < n; j++) if (tokens.ids[r * n + j] > tokens.ids[r * n + best]) best = j;
      return options.padToContext ? n : best + 1;
    });
    const order = texts.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
    for (let i = 0; i < order.length; i += batch) {
      checkCancelled(options.signal);
      const rows = order.slice(i, i + batch);
      const len = Math.max(...rows.map((r) => lengths[r]));
      const ids = new Array<number>(rows.length * len);
      rows.forEach((r, b) => {
        for (let j = 0; j < len; j++) ids[b * len + j] = tokens.ids[r * n + j];
      });
      const result = await session.run({ input_ids: this.runtime.int64Tensor(ids, [rows.length, len]) });
      const emb = result.text_embeds!.data as Float32Array;
      rows.forEach((r, b) => out.set(emb.subarray(b * dim, (b + 1) * dim), r * dim));
      options.onProgress?.(Math.min(i + batch, texts.length), texts.length);
    }
    return { data: out, rows: texts.length, dim };
  }

  private positionEmbedding(gh: number, gw: number): Float32Array {
    const key = `${gh}x${gw}`;
    let pos = this.positions.get(key);
    if (!pos) {
      const v = this.config.vision;
      const grid = v.imageSize / v.patchSize;
      pos = resizePositionEmbedding(this.checkpoint.tensor('vision_model.embeddings.position_embedding.weight'), grid, gh, gw, v.hiddenSize);
      this.positions.set(key, pos);
    }
    return pos;
  }

  /**
   * A batch of same-size images through the trunk, then the variant's head (patch tokens,
   * [B, gh*gw*D] concatenated) and/or the global graph ([B, D]) on the same tokens.
   */
  private async runImages(pixels: Float32Array, count: number, height: number, width: number, want: { variant?: LastBlockVariant; global: boolean }): Promise<{ patches?: Float32Array; global?: Float32Array }> {
    const trunk = await this.session({ kind: 'image-trunk' }, () => buildImageTrunkGraph(this.checkpoint));
    const variant = want.variant;
    const head = variant ? await this.session({ kind: 'image-head', variant: variantKey(variant) }, () => buildImageHeadGraph(this.checkpoint, variant)) : undefined;
    const global = want.global ? await this.session({ kind: 'image-global' }, () => buildImageGlobalGraph(this.checkpoint)) : undefined;
    const pos = this.positionEmbedding(height / this.patchSize, width / this.patchSize);
    const feeds = {
      pixels: this.runtime.floatTensor(pixels, [count, 3, height, width]),
      position_embedding: this.runtime.floatTensor(pos, [1, pos.length / this.config.vision.hiddenSize, this.config.vision.hiddenSize]),
    };
    const tokens = (await trunk.run(feeds)).tokens!;
    return {
      patches: head ? ((await head.run({ tokens })).patch_embeds!.data as Float32Array) : undefined,
      global: global ? ((await global.run({ tokens })).image_embeds!.data as Float32Array) : undefined,
    };
  }

  /**
   * Dense patch features of each image ([3,H,W] normalised pixels, H and W multiples of the patch
   * size). Without sliding windows the whole image is one input (positional embeddings resized).
   */
  async denseFeatures(images: PixelImage[], options: DenseOptions = {}): Promise<DenseMap[]> {
    return (await this.encodeImages(images, { ...options, dense: true, global: false })).dense!;
  }

  /** CLIP's image embedding of each image ([3,H,W] normalised pixels, any size of whole patches): [images, D]. */
  async imageEmbeddings(images: PixelImage[], options: RunControl & { batchSize?: number } = {}): Promise<Embeddings> {
    return (await this.encodeImages(images, { ...options, dense: false, global: true })).global!;
  }

  /**
   * Dense features and/or image embeddings from one trunk pass per input. Dense features of an
   * image larger than the window with sliding windows are assembled from its windows; the
   * embedding is always of the whole image, so it cannot be asked for together with windows.
   */
  async encodeImages(images: PixelImage[], options: EncodeImagesOptions = {}): Promise<ImageEncodings> {
    const wantDense = options.dense ?? true;
    const wantGlobal = options.global ?? false;
    const variant = wantDense ? (typeof options.variant === 'object' ? options.variant : parseVariant(options.variant ?? DEFAULT_VARIANT)) : undefined;
    const p = this.patchSize;
    for (const img of images) {
      if (img.height % p !== 0 || img.width % p !== 0 || img.data.length !== 3 * img.height * img.width) {
        throw new Error(`dense features: an image of ${img.width}x${img.height} (${img.data.length} values) is not a [3,H,W] array with H and W multiples of the patch size ${p}`);
      }
    }
    const slide = wantDense ? options.slidingWindow : false;
    const window = typeof slide === 'object' && slide.window ? slide.window : this.imageSize;
    const stride = typeof slide === 'object' && slide.stride ? slide.stride : Math.max(p, Math.floor(window / 2 / p) * p);
    const batchSize = options.batchSize ?? 8;
    const d = this.embedDim;
    // every unit of work: one input of the model (an image or a window of one)
    type Job = { image: number; top: number; left: number; height: number; width: number };
    const jobs: Job[] = [];
    images.forEach((img, image) => {
      const wins = slide && (img.height > window || img.width > window) ? slidingWindows(img.height, img.width, window, stride, p) : [{ top: 0, left: 0, height: img.height, width: img.width }];
      if (wantGlobal && wins.length > 1) throw new Error(`image embeddings are computed on the whole image: turn sliding windows off (image ${image} is ${img.width}x${img.height}, window ${window})`);
      for (const w of wins) jobs.push({ image, ...w });
    });
    const grids = wantDense ? images.map((img) => new FeatureGrid(img.height / p, img.width / p, d)) : [];
    const global = wantGlobal ? new Float32Array(images.length * d) : undefined;
    // batch jobs of the same input size
    const bySize = new Map<string, Job[]>();
    for (const j of jobs) {
      const k = `${j.height}x${j.width}`;
      bySize.set(k, [...(bySize.get(k) ?? []), j]);
    }
    let done = 0;
    for (const group of bySize.values()) {
      for (let i = 0; i < group.length; i += batchSize) {
        checkCancelled(options.signal);
        const batch = group.slice(i, i + batchSize);
        const { height, width } = batch[0]!;
        const pixels = new Float32Array(batch.length * 3 * height * width);
        batch.forEach((j, b) => {
          const img = images[j.image]!;
          pixels.set(j.height === img.height && j.width === img.width ? img.data : cropPixels(img, j), b * 3 * height * width);
        });
        const out = await this.runImages(pixels, batch.length, height, width, { variant, global: wantGlobal });
        const per = (height / p) * (width / p) * d;
        batch.forEach((j, b) => {
          if (out.patches) grids[j.image]!.add(j.top / p, j.left / p, height / p, width / p, out.patches.subarray(b * per, (b + 1) * per));
          if (out.global) global!.set(out.global.subarray(b * d, (b + 1) * d), j.image * d);
        });
        done += batch.length;
        options.onProgress?.(done, jobs.length);
      }
    }
    return {
      dense: wantDense ? grids.map((g) => ({ data: g.result(), height: g.height, width: g.width, dim: d })) : undefined,
      global: global ? { data: global, rows: images.length, dim: d } : undefined,
    };
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.values()) await (await s.catch(() => undefined))?.release();
    this.sessions.clear();
    this.checkpoint.close();
  }
}
