// One place that turns (project, coarse category, image, settings) into part masks with a CLIP
// model: used by the preview host (backend), `pscl masks` and the cache builder. Image features
// are cached per (image, variant, size, sliding window) and prompt embeddings per text, so a
// prompt edit recomputes only the edited text and the similarities.
import { statSync } from 'node:fs';
import type { ClipModel, DenseMap, RunControl } from '../clip';
import { loadImagePixels } from '../clip/preprocess';
import { expandPartPrompts } from '../parts/prompts';
import { groupEmbeddings } from '../prototypes/build';
import type { Project } from '../taxonomy/model';
import { computePartMasks, type MaskSettings, type PartMaskResult } from './pipeline';

export interface ImageMaskSettings extends MaskSettings {
  /** A variant name or spec understood by the CLIP core (default 'clearclip'). */
  variant?: string;
  /** Long side of the encoder input in pixels (rounded to the patch size). Default 448. */
  size?: number;
  slidingWindow?: boolean;
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
  /** Encoder input size (the label map's default size). */
  input: { height: number; width: number };
  timing: { features: number; text: number; masks: number; ms: number; featuresCached: boolean };
}

interface CachedFeatures {
  dense: DenseMap;
  input: { height: number; width: number };
}

const MAX_CACHED_IMAGES = 64;
const MAX_CACHED_TEXTS = 4096;

export class MaskSession {
  private readonly features = new Map<string, Promise<CachedFeatures>>();
  private readonly texts = new Map<string, Float32Array>();

  constructor(readonly model: ClipModel) {}

  /** Dense features of an image, cached by file identity (path, size, mtime) and settings. */
  async imageFeatures(file: string, settings: ImageMaskSettings = {}, control: RunControl = {}): Promise<CachedFeatures & { cached: boolean }> {
    const size = settings.size ?? 448;
    const variant = settings.variant ?? 'clearclip';
    let identity = file;
    try {
      const st = statSync(file);
      identity = `${file}|${st.size}|${st.mtimeMs}`;
    } catch {
      // loadImagePixels reports the missing file
    }
    const key = `${identity}|${variant}|${size}|${settings.slidingWindow ? 'sw' : 'full'}`;
    const hit = this.features.get(key);
    if (hit) {
      this.features.delete(key); // refresh its place in the LRU order
      this.features.set(key, hit);
      return { ...(await hit), cached: true };
    }
    const job = (async () => {
      const pixels = await loadImagePixels(file, { mode: 'fit', size, multipleOf: this.model.patchSize });
      const [dense] = await this.model.denseFeatures([pixels], { variant, slidingWindow: settings.slidingWindow ?? false, signal: control.signal });
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

  async compute(project: Project, coarse: string, imageFile: string, settings: ImageMaskSettings = {}, control: RunControl = {}): Promise<ImageMasks> {
    const t0 = performance.now();
    const parts = this.partPrompts(project, coarse);
    if (parts.length === 0) throw new Error(`coarse category '${coarse}' has no parts: add parts to the project file first`);
    const feats = await this.imageFeatures(imageFile, settings, control);
    const t1 = performance.now();
    const background = (settings.backgroundPrompts ?? []).filter((t) => t.trim() !== '');
    const groups = [...parts.map((p) => p.texts), ...background.map((t) => [t])];
    const prompts = await this.groupEmbeddings(groups, control);
    const t2 = performance.now();
    const { dense } = feats;
    const result = computePartMasks(
      { data: dense.data, h: dense.height, w: dense.width, dim: dense.dim },
      { data: prompts, n: groups.length, dim: this.model.embedDim },
      parts.length,
      settings.output ?? feats.input,
      { kernel: settings.kernel, threshold: settings.threshold, logitScale: settings.logitScale },
    );
    const t3 = performance.now();
    return {
      ...result,
      parts,
      coarse,
      input: feats.input,
      timing: { features: t1 - t0, text: t2 - t1, masks: t3 - t2, ms: t3 - t0, featuresCached: feats.cached },
    };
  }
}
