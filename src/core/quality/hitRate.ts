// Part keypoint hit rate from the cache's keypoint features (docs/prompt-quality.md): a visible
// keypoint mapped to part p of its image's coarse category is a hit when p wins the argmax of the
// part prompts' similarities there (the label p's mask has at that point, before the closing), and
// a top-k hit when p ranks among the k most similar parts. A phrasing alone: the same with p's
// prompt replaced by that phrasing (through every part template), the other parts unchanged.
//
// Incremental: similarities are kept per (coarse category, prompt texts), so after a phrasing edit
// only the edited part's column and the new phrasing's column are computed again.
import type { MatrixProduct } from '../clip/matmul';
import { jsProduct } from './zeroShot';

/** The keypoint rows a score runs over (a view of the cache's keypoint features). */
export interface KeypointRows {
  /** [rows, dim] unit rows. */
  features: Float32Array;
  dim: number;
  /** Per row: the image (an index the caller defines, e.g. into the manifest's images). */
  image: Int32Array;
  /** Per row: index into `names`. */
  part: Int32Array;
  /** The dataset's part names. */
  names: readonly string[];
}

/** A part prompt as scored: its embedding and its phrasings', with keys naming their texts. */
export interface ScoredPrompt {
  /** The texts the embedding averages (a stable key for the similarity cache). */
  key: string;
  embedding: Float32Array;
}

export interface PartPrompts {
  coarse: string;
  parts: { name: string; keypoints: readonly string[]; prompt: ScoredPrompt; phrasings: { text: string; prompt: ScoredPrompt }[] }[];
}

export interface PartHits {
  coarse: string;
  part: string;
  /** Visible keypoints scored. */
  keypoints: number;
  hits: number;
  topKHits: number;
  /** Per phrasing (in the part's order): hits with that phrasing alone. */
  phrasings: { text: string; hits: number }[];
  /**
   * Per image with keypoints of this part, `perImageStride` values each: image, keypoints, hits,
   * top-k hits, then the hits of each phrasing.
   */
  perImage: Int32Array;
  perImageStride: number;
}

const MAX_COLUMNS = 512;

export class KeypointScorer {
  /** Rows of each coarse category's images. */
  private readonly rowsOf = new Map<string, Int32Array>();
  /** Their features, contiguous. */
  private readonly featuresOf = new Map<string, Float32Array>();
  private readonly columns = new Map<string, Float32Array>();
  private owned?: { key: string; lists: Int32Array[] };

  /** `coarseOfImage(image)`: the image's coarse category, undefined to leave its keypoints out. */
  constructor(
    private readonly set: KeypointRows,
    coarseOfImage: (image: number) => string | undefined,
    private readonly product: MatrixProduct = jsProduct,
  ) {
    const lists = new Map<string, number[]>();
    for (let r = 0; r < set.image.length; r++) {
      const c = coarseOfImage(set.image[r]);
      if (c === undefined) continue;
      let l = lists.get(c);
      if (!l) lists.set(c, (l = []));
      l.push(r);
    }
    const { features, dim } = set;
    for (const [c, l] of lists) {
      const rows = Int32Array.from(l);
      this.rowsOf.set(c, rows);
      // every row in order (one category, nothing left out): the features as they are
      const whole = rows.length === set.image.length && rows.every((r, i) => r === i);
      let own = features;
      if (!whole) {
        own = new Float32Array(rows.length * dim);
        rows.forEach((r, i) => own.set(features.subarray(r * dim, (r + 1) * dim), i * dim));
      }
      this.featuresOf.set(c, own);
    }
  }

  /** Similarities of every row of `coarse` with each prompt: cached by the prompts' texts, the missing ones in one product. */
  private async columnsFor(coarse: string, prompts: readonly ScoredPrompt[]): Promise<Float32Array[]> {
    const rows = this.rowsOf.get(coarse) ?? new Int32Array(0);
    const id = (p: ScoredPrompt) => `${coarse}\u0000${p.key}`;
    const missing = [...new Map(prompts.filter((p) => !this.columns.has(id(p))).map((p) => [p.key, p])).values()];
    if (missing.length > 0) {
      const { dim } = this.set;
      const b = new Float32Array(missing.length * dim);
      missing.forEach((p, i) => b.set(p.embedding, i * dim));
      const all = await this.product(this.featuresOf.get(coarse) ?? new Float32Array(0), rows.length, b, missing.length, dim);
      const m = missing.length;
      missing.forEach((p, k) => {
        const col = new Float32Array(rows.length);
        for (let i = 0; i < rows.length; i++) col[i] = all[i * m + k];
        this.columns.set(id(p), col);
      });
    }
    const out = prompts.map((p) => {
      const c = this.columns.get(id(p))!;
      this.columns.delete(id(p)); // most recently used last
      this.columns.set(id(p), c);
      return c;
    });
    while (this.columns.size > MAX_COLUMNS) this.columns.delete(this.columns.keys().next().value!);
    return out;
  }

  /** Positions (into the category's rows) of each part's keypoints, kept while the mapping holds. */
  private keypointsOfParts(coarse: string, rows: Int32Array, owner: Int32Array, parts: number): Int32Array[] {
    const key = `${coarse}\u0000${owner.join()}\u0000${parts}`;
    if (this.owned?.key === key) return this.owned.lists;
    const mine: number[][] = Array.from({ length: parts }, () => []);
    for (let i = 0; i < rows.length; i++) {
      const o = owner[this.set.part[rows[i]]];
      if (o >= 0) mine[o].push(i);
    }
    this.owned = { key, lists: mine.map((l) => Int32Array.from(l)) };
    return this.owned.lists;
  }

  /** Hits of every part of every category; `topK` >= 1. */
  async score(categories: readonly PartPrompts[], topK: number): Promise<PartHits[]> {
    const out: PartHits[] = [];
    for (const cat of categories) {
      const rows = this.rowsOf.get(cat.coarse) ?? new Int32Array(0);
      // every part's and phrasing's similarity at every keypoint of the category (the argmax needs them all)
      const all = await this.columnsFor(cat.coarse, cat.parts.flatMap((p) => [p.prompt, ...p.phrasings.map((f) => f.prompt)]));
      let next = 0;
      const cols: Float32Array[] = [];
      const phrasingCols: Float32Array[][] = [];
      for (const p of cat.parts) {
        cols.push(all[next++]);
        phrasingCols.push(p.phrasings.map(() => all[next++]));
      }
      // dataset part index -> project part index (a keypoint counts for the first part naming it)
      const owner = new Int32Array(this.set.names.length).fill(-1);
      cat.parts.forEach((p, pi) => {
        for (const k of p.keypoints) {
          const d = this.set.names.indexOf(k);
          if (d >= 0 && owner[d] < 0) owner[d] = pi;
        }
      });
      const mine = this.keypointsOfParts(cat.coarse, rows, owner, cat.parts.length);
      const parts = cols.length;
      cat.parts.forEach((p, pi) => {
        const at = mine[pi];
        const phr = phrasingCols[pi];
        const nf = phr.length;
        const stride = 4 + nf;
        const perImage = new Int32Array(at.length * stride);
        let records = 0;
        let record = -1;
        let total = 0;
        let topKHits = 0;
        const fHits = new Int32Array(nf);
        const own = cols[pi];
        for (let j = 0; j < at.length; j++) {
          const i = at[j];
          // the best other part (ties to the lower index, as the masks' argmax) and p's rank
          let best = -Infinity;
          let bestIndex = -1;
          let above = 0;
          const s = own[i];
          for (let q = 0; q < parts; q++) {
            if (q === pi) continue;
            const v = cols[q][i];
            if (v > best) {
              best = v;
              bestIndex = q;
            }
            if (v > s || (v === s && q < pi)) above++;
          }
          const image = this.set.image[rows[i]];
          if (record < 0 || perImage[record] !== image) {
            record = records++ * stride;
            perImage[record] = image;
          }
          perImage[record + 1]++;
          if (bestIndex < 0 || s > best || (s === best && pi < bestIndex)) {
            total++;
            perImage[record + 2]++;
          }
          if (above < topK) {
            topKHits++;
            perImage[record + 3]++;
          }
          for (let f = 0; f < nf; f++) {
            const v = phr[f][i];
            if (bestIndex < 0 || v > best || (v === best && pi < bestIndex)) {
              fHits[f]++;
              perImage[record + 4 + f]++;
            }
          }
        }
        out.push({
          coarse: cat.coarse,
          part: p.name,
          keypoints: at.length,
          hits: total,
          topKHits,
          phrasings: p.phrasings.map((f, k) => ({ text: f.text, hits: fHits[k] })),
          perImage: perImage.slice(0, records * stride),
          perImageStride: stride,
        });
      });
    }
    return out;
  }
}
