// Part masks for an image: the one way from (project, coarse category, image, settings) to a part
// label map with a CLIP model. `compute` serves one image (the preview host in the backend,
// `pscl masks`, the prompt-quality scores); the training cache runs the same steps in batches
// (`inputPixels`, `denseFeatures` or `encodeImages`, `partEmbeddings`, `labels`), so what the preview shows is what
// the cache holds. Image features are cached per (image, variant, size, sliding window) and
// prompt embeddings per text, so a prompt edit recomputes only the edited text and the labels.
import { statSync } from 'node:fs';
import type { ClipModel, DenseMap, ImageEncodings, RunControl } from '../clip';
import { ImageFile, pixelsOf, type PixelImage } from '../clip/preprocess';
import { PsclError } from '../errors';
import { expandPartPrompts } from '../parts/prompts';
import { groupEmbeddings } from '../prototypes/build';
import type { Project } from '../taxonomy/model';
import { computePartMasks, type PartMaskResult } from './pipeline';
import { maskSettings, type MaskSettings } from './settings';
import type { DenseFeatures, PromptEmbeddings } from './similarity';

export interface ImageMaskSettings extends Partial<MaskSettings> {
  /** Extra prompts that mean "background" (label 0). */
  backgroundPrompts?: string[];
  /** Size of the label map; default: the encoder input size. */
  output?: { height: number; width: number };
}

export interface PartInfo {
  /** 1-based label in the label map. */
  label: number;
  name: string;
  /** The expanded texts (phrasings x templates) whose mean embedding is the part's. */
  texts: string[];
}

export interface ImageMasks extends PartMaskResult {
  parts: PartInfo[];
  coarse: string;
  /** The settings used: the defaults with the given values on top. */
  settings: MaskSettings;
  /** Encoder input size (the label map's default size). */
  input: { height: number; width: number };
  timing: { features: number; text: number; masks: number; ms: number; featuresCached: boolean };
}

interface CachedFeatures {
  dense: DenseMap;
  input: { height: number; width: number };
}

/** The coarse category whose parts a mask uses: the one asked for, else the only (or first) one with parts. */
export function partsCategory(project: Project, requested?: string): { coarse: string; others: string[] } {
  const withParts = Object.keys(project.parts).filter((c) => project.parts[c].length > 0);
  if (requested !== undefined) {
    if (!withParts.includes(requested)) throw new PsclError(`no parts for coarse category '${requested}' (parts exist for: ${withParts.join(', ') || 'none'}): add them under "parts"`);
    return { coarse: requested, others: [] };
  }
  if (withParts.length === 0) throw new PsclError('the project has no parts: add part prompts under "parts" first');
  return { coarse: withParts[0], others: withParts.slice(1) };
}

const MAX_CACHED_IMAGES = 64;
const MAX_CACHED_TEXTS = 4096;

export class MaskSession {
  private readonly features = new Map<string, Promise<CachedFeatures>>();
  private readonly texts = new Map<string, Float32Array>();

  constructor(readonly model: ClipModel) {}

  /** Step 1: the image as the model sees it: long side `size`, each side a multiple of the patch. */
  inputPixels(image: ImageFile, settings: MaskSettings): Promise<PixelImage> {
    return image.decode().then((d) => pixelsOf(d, { mode: 'fit', size: settings.size, multipleOf: this.model.patchSize }));
  }

  /** Step 2: dense patch features of a batch of inputs through the settings' variant. */
  denseFeatures(images: PixelImage[], settings: MaskSettings, control: RunControl & { batchSize?: number } = {}): Promise<DenseMap[]> {
    return this.model.denseFeatures(images, { variant: settings.variant, slidingWindow: settings.slidingWindow, signal: control.signal, batchSize: control.batchSize });
  }

  /**
   * Step 2 with the image embedding: dense features (for the masks) and/or CLIP's image embedding
   * of each input from one trunk pass (the training cache stores both).
   */
  encodeImages(images: PixelImage[], settings: MaskSettings, want: RunControl & { dense: boolean; global: boolean; batchSize?: number }): Promise<ImageEncodings> {
    return this.model.encodeImages(images, { variant: settings.variant, slidingWindow: settings.slidingWindow, dense: want.dense, global: want.global, signal: want.signal, batchSize: want.batchSize });
  }

  /** Dense features of an image, cached by file identity (path, size, mtime) and settings. */
  async imageFeatures(image: ImageFile | string, settings: MaskSettings, control: RunControl = {}): Promise<CachedFeatures & { cached: boolean }> {
    const file = typeof image === 'string' ? new ImageFile(image) : image;
    let identity = file.path;
    try {
      const st = statSync(file.path);
      identity = `${file.path}|${st.size}|${st.mtimeMs}`;
    } catch {
      // decoding reports the missing file
    }
    const key = `${identity}|${settings.variant}|${settings.size}|${settings.slidingWindow ? 'sw' : 'full'}`;
    const hit = this.features.get(key);
    if (hit) {
      this.features.delete(key); // refresh its place in the LRU order
      this.features.set(key, hit);
      return { ...(await hit), cached: true };
    }
    const job = (async () => {
      const pixels = await this.inputPixels(file, settings);
      const [dense] = await this.denseFeatures([pixels], settings, control);
      return { dense, input: { height: pixels.height, width: pixels.width } };
    })();
    this.features.set(key, job);
    job.catch(() => this.features.delete(key));
    while (this.features.size > MAX_CACHED_IMAGES) this.features.delete(this.features.keys().next().value!);
    return { ...(await job), cached: false };
  }

  /** Embeddings of `texts` as one [n, dim] block, each text encoded once per session. */
  async embedTexts(texts: string[], signal?: AbortSignal): Promise<Float32Array> {
    const dim = this.model.embedDim;
    const missing = [...new Set(texts.filter((t) => !this.texts.has(t)))];
    if (missing.length > 0) {
      const emb = await this.model.embedTexts(missing, { signal });
      missing.forEach((t, i) => this.texts.set(t, emb.data.slice(i * dim, (i + 1) * dim)));
    }
    const out = new Float32Array(texts.length * dim);
    texts.forEach((t, i) => out.set(this.texts.get(t)!, i * dim));
    while (this.texts.size > MAX_CACHED_TEXTS) this.texts.delete(this.texts.keys().next().value!);
    return out;
  }

  /** Normalised mean embedding of each group of texts, [groups, dim]. */
  async groupEmbeddings(groups: string[][], control: RunControl = {}): Promise<Float32Array> {
    return (await groupEmbeddings(groups, (texts, signal) => this.embedTexts(texts, signal), this.model.embedDim, control.signal)).data;
  }

  /** The part prompts of `coarse` through the project's templates, in label order. */
  partPrompts(project: Project, coarse: string): PartInfo[] {
    return expandPartPrompts(project, coarse).map((p, i) => ({ label: i + 1, name: p.part, texts: p.texts }));
  }

  /** Step 3: the prompts of a coarse category as embeddings: its parts (label k = row k-1), then background prompts. */
  async partEmbeddings(project: Project, coarse: string, backgroundPrompts: readonly string[] = [], control: RunControl = {}): Promise<{ parts: PartInfo[]; prompts: PromptEmbeddings }> {
    const parts = this.partPrompts(project, coarse);
    if (parts.length === 0) throw new PsclError(`coarse category '${coarse}' has no parts: add parts to the project file first`);
    const background = backgroundPrompts.filter((t) => t.trim() !== '');
    const groups = [...parts.map((p) => p.texts), ...background.map((t) => [t])];
    return { parts, prompts: { data: await this.groupEmbeddings(groups, control), n: groups.length, dim: this.model.embedDim } };
  }

  /** Step 4: labels from features and prompts at the output size (closing, threshold, statistics). */
  labels(features: DenseMap | DenseFeatures, prompts: PromptEmbeddings, numParts: number, output: { height: number; width: number }, settings: MaskSettings): PartMaskResult {
    const f: DenseFeatures = 'h' in features ? features : { data: features.data, h: features.height, w: features.width, dim: features.dim };
    return computePartMasks(f, prompts, numParts, output, settings);
  }

  /** The masks of one image: the steps above, with the image's features cached. */
  async compute(project: Project, coarse: string, image: ImageFile | string, given: ImageMaskSettings = {}, control: RunControl = {}): Promise<ImageMasks> {
    const t0 = performance.now();
    const { backgroundPrompts, output, ...rest } = given;
    const settings = maskSettings(rest);
    const known = this.partPrompts(project, coarse);
    if (known.length === 0) throw new PsclError(`coarse category '${coarse}' has no parts: add parts to the project file first`);
    const feats = await this.imageFeatures(image, settings, control);
    const t1 = performance.now();
    const { parts, prompts } = await this.partEmbeddings(project, coarse, backgroundPrompts, control);
    const t2 = performance.now();
    const result = this.labels(feats.dense, prompts, parts.length, output ?? feats.input, settings);
    const t3 = performance.now();
    return {
      ...result,
      parts,
      coarse,
      settings,
      input: feats.input,
      timing: { features: t1 - t0, text: t2 - t1, masks: t3 - t2, ms: t3 - t0, featuresCached: feats.cached },
    };
  }
}
