// Prompt quality of a project, measured on its training cache (docs/prompt-quality.md):
// zero-shot accuracy per taxonomy level from the cached image embeddings (flat, hierarchical and
// description prompts, and WaffleCLIP's random-descriptor control), the part keypoint hit rate
// from the cached keypoint features (per part and per phrasing), and statistics of the cached
// masks. One PromptScorer keeps the cache data, the text embeddings and the similarities it has
// computed, so scoring again after an edit recomputes only what the edit changed.
import { expandPartPrompts, partPromptsHash } from '../parts/prompts';
import type { Project } from '../taxonomy/model';
import type { QualityData } from './data';
import { KeypointScorer, type PartHits, type PartPrompts } from './hitRate';
import { maskStatistics, type MaskStatistics } from './maskStats';
import { CONTROL_DEFAULTS, levelClasses, levelPrompts, randomDescriptors, VARIANTS, type ControlOptions, type Variant } from './prompts';
import type { TextEmbeddings } from './texts';
import { mulberry32 } from '../util/random';
import type { MatrixProduct } from '../clip/matmul';
import { jsProduct, zeroShot, type ZeroShotResult } from './zeroShot';

export type SplitChoice = 'train' | 'test' | 'val' | 'all';

export interface ScoreOptions {
  /** Images of this split only (default all: zero-shot learns nothing from any). */
  split?: SplitChoice;
  /** At most this many images per class (a seeded sample), for quick scores on large datasets. */
  perClass?: number;
  /** A part keypoint is a top-k hit when the part ranks among the k most similar parts (default 3). */
  topK?: number;
  control?: Partial<ControlOptions>;
  /** Read the stored masks for their statistics (default true; the backend skips it on quick rescoring). */
  masks?: boolean;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (message: string, done: number, total: number) => void;
}

export interface Accuracy {
  top1: number;
  top5: number;
  images: number;
}

export interface PartScore {
  /** Share of the part's visible keypoints where it wins the argmax; null without keypoints. */
  hitRate: number | null;
  /** Share where it ranks among the topK most similar parts. */
  topKRate: number | null;
  keypoints: number;
  /** Each phrasing alone: its hit rate. */
  phrasings: Record<string, number | null>;
}

/** The --json shape of `pscl prompts score` (docs/prompt-quality.md). */
export interface PromptScores {
  project: string;
  cache: string;
  model: string;
  split: SplitChoice;
  images: number;
  /** Flat prompts (the project's templates as they are), per level. */
  levels: Record<string, Accuracy>;
  /** Fine level, flat prompts, per class (by class name). */
  classes: Record<string, Accuracy>;
  variants: {
    flat: { levels: Record<string, Accuracy> };
    hierarchical: { levels: Record<string, Accuracy> };
    /** Null when no class has a description. */
    descriptions: { levels: Record<string, Accuracy>; describedClasses: number } | null;
  };
  /** The random descriptors appended to every template of every class, and the accuracies they give. */
  control: { kind: 'waffle'; descriptors: number; seed: number; phrases: string[]; levels: Record<string, Accuracy> };
  /** By "<coarse>/<part>". */
  parts: Record<string, PartScore>;
  topK: number;
  masks?: MaskStatistics;
  notes: string[];
}

/** Per-image detail behind the scores: what an A/B comparison pairs and the report draws. */
export interface ScoreDetail {
  /** The manifest image indices scored, in order. */
  images: Int32Array;
  /** zero-shot per variant and level (over `images`, in order). */
  zeroShot: Map<Variant, Map<string, ZeroShotResult>>;
  /** Class names per level (the confusion's rows and columns). */
  levelNames: Map<string, string[]>;
  parts: PartHits[];
  /** Milliseconds of each step: preparing prompts, text encoding, zero-shot, keypoints, masks. */
  timing: { prompts: number; texts: number; zeroShot: number; keypoints: number; masks: number };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

function accuracy(r: ZeroShotResult): Accuracy {
  return { top1: round(r.top1), top5: round(r.top5), images: r.images };
}

/** Seeded shuffle (mulberry32) of 0..n-1. */
function shuffled(n: number, seed: number): number[] {
  const next = mulberry32(seed);
  const out = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

export class PromptScorer {
  private readonly zeroShotMemo = new Map<string, ZeroShotResult>();
  private keypointScorer?: { key: string; scorer: KeypointScorer };
  private subset?: { key: string; images: Float32Array };
  private masksMemo?: { key: string; stats: MaskStatistics };
  /** Said with every score (e.g. why the dataset's keypoints could not be read). */
  readonly notes: string[] = [];

  constructor(
    readonly data: QualityData,
    readonly texts: TextEmbeddings,
    /** How similarities are computed: ONNX Runtime in the CLI and the backend (ortMatrixProduct), plain JS by default. */
    private readonly product: MatrixProduct = jsProduct,
  ) {}

  /** The embedding rows scored: split, class in the project, sampled per class. */
  private selectRows(project: Project, split: SplitChoice, perClass: number | undefined, seed: number): { rows: number[]; classOfRow: number[] } {
    const classIndex = new Map(project.classes.map((c, i) => [c.id, i]));
    const byClass = new Map<number, number[]>();
    const { embeddingImage } = this.data;
    for (let r = 0; r < embeddingImage.length; r++) {
      const img = this.data.manifest.images[embeddingImage[r]];
      if (split !== 'all' && img.split !== split) continue;
      const c = classIndex.get(this.data.classId[embeddingImage[r]]);
      if (c === undefined) continue;
      (byClass.get(c) ?? byClass.set(c, []).get(c)!).push(r);
    }
    const rows: number[] = [];
    const classOfRow: number[] = [];
    for (const [c, list] of [...byClass].sort((a, b) => a[0] - b[0])) {
      const chosen = perClass !== undefined && list.length > perClass ? shuffled(list.length, seed + c).slice(0, perClass).sort((a, b) => a - b).map((i) => list[i]) : list;
      for (const r of chosen) {
        rows.push(r);
        classOfRow.push(c);
      }
    }
    return { rows, classOfRow };
  }

  async score(project: Project, options: ScoreOptions = {}): Promise<{ scores: PromptScores; detail: ScoreDetail }> {
    const split = options.split ?? 'all';
    const topK = Math.max(1, options.topK ?? 3);
    const seed = options.seed ?? 0;
    const control: ControlOptions = { ...CONTROL_DEFAULTS, ...options.control };
    const signal = options.signal;
    const progress = options.onProgress ?? (() => {});
    const notes: string[] = [...this.notes];
    const { manifest } = this.data;
    const dim = this.data.embeddings.dim;
    if (dim !== this.texts.dim) throw new Error(`the cache's embeddings have dimension ${dim}, the text encoder ${this.texts.dim}: the cache was built with another model`);

    // -- the images and the prompts --------------------------------------------------------------
    const timing = { prompts: 0, texts: 0, zeroShot: 0, keypoints: 0, masks: 0 };
    let t0 = performance.now();
    const lap = (k: keyof typeof timing) => {
      const now = performance.now();
      timing[k] += now - t0;
      t0 = now;
    };
    const { rows, classOfRow } = this.selectRows(project, split, options.perClass, seed);
    if (rows.length === 0) notes.push(`no image of split '${split}' has a class of the project: nothing to score`);
    const levels = levelClasses(project);
    const prompts = new Map<Variant, Map<string, string[][]>>();
    for (const v of VARIANTS) {
      const byLevel = new Map<string, string[][]>();
      for (const lc of levels) {
        const p = levelPrompts(project, lc, v, control);
        if (p) byLevel.set(lc.level, p);
      }
      if (byLevel.size > 0) prompts.set(v, byLevel);
    }
    const partPrompts = this.partPromptTexts(project);
    const allTexts = new Set<string>();
    for (const byLevel of prompts.values()) for (const groups of byLevel.values()) for (const g of groups) for (const t of g) allTexts.add(t);
    for (const c of partPrompts) for (const p of c.parts) for (const t of [...p.texts, ...p.phrasings.flatMap((f) => f.texts)]) allTexts.add(t);
    progress('text prompts', 0, 3);
    lap('prompts');
    await this.texts.prepare(allTexts, signal);
    lap('texts');

    // -- zero-shot per level and variant ---------------------------------------------------------
    progress('zero-shot accuracy', 1, 3);
    const subsetKey = `${split}|${options.perClass ?? ''}|${seed}|${rows.length}|${rows[0]}|${rows[rows.length - 1]}|${project.classes.map((c) => c.id).join('\u0001')}`;
    const images = this.subsetEmbeddings(subsetKey, rows);
    const zs = new Map<Variant, Map<string, ZeroShotResult>>();
    for (const [variant, byLevel] of prompts) {
      const out = new Map<string, ZeroShotResult>();
      for (const lc of levels) {
        const groups = byLevel.get(lc.level);
        if (!groups) continue;
        if (signal?.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' });
        const key = `${lc.level}\u0000${subsetKey}\u0000${JSON.stringify(groups)}\u0000${lc.ofClass.join()}`;
        let r = this.zeroShotMemo.get(key);
        if (!r) {
          const truth = Int32Array.from(classOfRow, (c) => lc.ofClass[c]);
          r = await zeroShot(images, truth, this.texts.groups(groups), groups.length, dim, this.product);
          this.zeroShotMemo.set(key, r);
          while (this.zeroShotMemo.size > 128) this.zeroShotMemo.delete(this.zeroShotMemo.keys().next().value!);
        }
        out.set(lc.level, r);
      }
      zs.set(variant, out);
    }
    lap('zeroShot');
    const levelTable = (v: Variant) => Object.fromEntries([...(zs.get(v) ?? new Map<string, ZeroShotResult>())].map(([l, r]) => [l, accuracy(r)]));
    const fineLevel = levels[levels.length - 1];
    const fine = zs.get('flat')!.get(fineLevel.level)!;
    const classes: Record<string, Accuracy> = {};
    project.classes.forEach((c, i) => {
      const n = fine.perClass.images[i];
      if (n > 0) classes[c.name] = { top1: round(fine.perClass.hit1[i] / n), top5: round(fine.perClass.hit5[i] / n), images: n };
    });

    // -- part keypoints --------------------------------------------------------------------------
    progress('part keypoints', 2, 3);
    const parts: Record<string, PartScore> = {};
    let partHits: PartHits[] = [];
    if (!this.data.keypoints) {
      if (this.notes.length === 0) notes.push('no keypoint features in the cache (the dataset has no parts/part_locs.txt, or the cache predates them): no part hit rates');
    } else {
      const scorer = this.keypoints(project, rows);
      const categories: PartPrompts[] = partPrompts.map((c) => ({
        coarse: c.coarse,
        parts: c.parts.map((p) => ({
          name: p.name,
          keypoints: p.keypoints,
          prompt: { key: JSON.stringify(p.texts), embedding: this.texts.groups([p.texts]) },
          phrasings: p.phrasings.map((f) => ({ text: f.text, prompt: { key: JSON.stringify(f.texts), embedding: this.texts.groups([f.texts]) } })),
        })),
      }));
      partHits = await scorer.score(categories, topK);
      if (partPrompts.some((c) => c.parts.every((p) => p.keypoints.length === 0))) notes.push('parts without "keypoints" in the project file have no hit rate: map them to the dataset\'s keypoints');
    }
    for (const c of partPrompts) {
      for (const p of c.parts) {
        const h = partHits.find((x) => x.coarse === c.coarse && x.part === p.name);
        const rate = (k: number) => (h && h.keypoints > 0 ? round(k / h.keypoints) : null);
        parts[`${c.coarse}/${p.name}`] = {
          hitRate: rate(h?.hits ?? 0),
          topKRate: rate(h?.topKHits ?? 0),
          keypoints: h?.keypoints ?? 0,
          phrasings: Object.fromEntries(p.phrasings.map((f, i) => [f.text, rate(h?.phrasings[i]?.hits ?? 0)])),
        };
      }
    }

    lap('keypoints');
    // -- the stored masks ------------------------------------------------------------------------
    let masks: MaskStatistics | undefined;
    if (options.masks !== false) {
      const stale = partPromptsHash(project) !== manifest.hashes.partPrompts;
      const keypointParts = new Map(partPrompts.flatMap((c) => c.parts.map((p) => [`${c.coarse}/${p.name}`, p.keypoints] as const)));
      const chosen = new Set(rows.map((r) => this.data.embeddingImage[r]));
      const key = `${manifest.hashes.masks}|${subsetKey}|${stale}|${JSON.stringify([...keypointParts])}`;
      if (this.masksMemo?.key !== key) this.masksMemo = { key, stats: await maskStatistics(this.data.dir, manifest, (i) => chosen.has(i), { stale, keypoints: this.data.keypoints, keypointParts, signal }) };
      masks = this.masksMemo.stats;
      if (stale) notes.push('the cached masks were made with other part prompts: mask statistics describe those (run `pscl cache build` to refresh them); hit rates and accuracies use the project as it is');
    }
    progress('done', 3, 3);
    lap('masks');

    const describedClasses = project.classes.filter((c) => c.description?.trim()).length;
    const scores: PromptScores = {
      project: project.name,
      cache: this.data.dir,
      model: manifest.model.id,
      split,
      images: rows.length,
      levels: levelTable('flat'),
      classes,
      variants: {
        flat: { levels: levelTable('flat') },
        hierarchical: { levels: levelTable('hierarchical') },
        descriptions: zs.has('descriptions') ? { levels: levelTable('descriptions'), describedClasses } : null,
      },
      control: { kind: 'waffle', descriptors: control.descriptors, seed: control.seed, phrases: randomDescriptors(control), levels: levelTable('control') },
      parts,
      topK,
      ...(masks ? { masks } : {}),
      notes,
    };
    return {
      scores,
      detail: { images: Int32Array.from(rows, (r) => this.data.embeddingImage[r]), zeroShot: zs, levelNames: new Map(levels.map((l) => [l.level, l.names])), parts: partHits, timing },
    };
  }

  /** The embeddings of the scored rows, [rows, dim] (kept while the subset holds). */
  private subsetEmbeddings(key: string, rows: number[]): Float32Array {
    if (this.subset?.key === key) return this.subset.images;
    const dim = this.data.embeddings.dim;
    const images = new Float32Array(rows.length * dim);
    rows.forEach((r, i) => images.set(this.data.embeddings.data.subarray(r * dim, (r + 1) * dim), i * dim));
    this.subset = { key, images };
    return images;
  }

  /** The keypoint scorer for this image subset and class -> coarse assignment (kept while they hold). */
  private keypoints(project: Project, rows: number[]): KeypointScorer {
    const coarseLevel = project.levels[0].name;
    const classCoarse = new Map(project.classes.map((c) => [c.id, c.path[coarseLevel] ?? (project.levels.length === 1 ? c.name : undefined)]));
    const chosen = new Set(rows.map((r) => this.data.embeddingImage[r]));
    const coarseOfImage = (i: number) => (chosen.has(i) ? classCoarse.get(this.data.classId[i]) : undefined);
    const key = JSON.stringify([rows.length, rows[0], rows[rows.length - 1], [...classCoarse]]);
    if (this.keypointScorer?.key !== key) this.keypointScorer = { key, scorer: new KeypointScorer(this.data.keypoints!, coarseOfImage, this.product) };
    return this.keypointScorer.scorer;
  }

  /** Every part's texts (phrasings x templates) and each phrasing's own, per coarse category with parts. */
  private partPromptTexts(project: Project) {
    const templates = (project.templates?.part?.length ?? 0) > 0 ? project.templates.part.length : 1;
    return Object.keys(project.parts)
      .filter((c) => project.parts[c].length > 0)
      .map((coarse) => ({
        coarse,
        parts: expandPartPrompts(project, coarse).map((p, i) => {
          const part = project.parts[coarse][i];
          return {
            name: p.part,
            keypoints: part.keypoints ?? [],
            texts: p.texts,
            phrasings: part.prompts.map((text, f) => ({ text, texts: p.texts.slice(f * templates, (f + 1) * templates) })),
          };
        }),
      }));
  }
}
