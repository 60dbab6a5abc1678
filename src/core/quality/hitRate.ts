// Part keypoint hit rate from the cache's keypoint features (docs/prompt-quality.md): a visible
// keypoint mapped to part p of its image's coarse category is a hit when p wins the argmax of the
// part prompts' similarities there (the label p's mask has at that point, before the closing), and
// a top-k hit when p ranks among the k most similar parts. A phrasing alone: the same with p's
// prompt replaced by that phrasing (through every part template), the other parts unchanged.
//
// Incremental: similarities are kept per (coarse category, prompt texts), so after a phrasing edit
// only the edited part's column and the new phrasing's column are computed again.
import { dot } from './zeroShot';

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
  /** Per image with keypoints of this part: [image, keypoints, hits, top-k hits, ...phrasing hits]. */
  perImage: Int32Array[];
}

const MAX_COLUMNS = 512;

export class KeypointScorer {
  /** Rows of each coarse category's images. */
  private readonly rowsOf = new Map<string, Int32Array>();
  private readonly columns = new Map<string, Float32Array>();

  /** `coarseOfImage(image)`: the image's coarse category, undefined to leave its keypoints out. */
  constructor(
    private readonly set: KeypointRows,
    coarseOfImage: (image: number) => string | undefined,
  ) {
    const lists = new Map<string, number[]>();
    for (let r = 0; r < set.image.length; r++) {
      const c = coarseOfImage(set.image[r]);
      if (c === undefined) continue;
      let l = lists.get(c);
      if (!l) lists.set(c, (l = []));
      l.push(r);
    }
    for (const [c, l] of lists) this.rowsOf.set(c, Int32Array.from(l));
  }

  /** Similarity of every row of `coarse` with a prompt, cached by the prompt's texts. */
  private column(coarse: string, prompt: ScoredPrompt): Float32Array {
    const id = `${coarse}\u0000${prompt.key}`;
    const hit = this.columns.get(id);
    if (hit) {
      this.columns.delete(id);
      this.columns.set(id, hit);
      return hit;
    }
    const rows = this.rowsOf.get(coarse) ?? new Int32Array(0);
    const { features, dim } = this.set;
    const out = new Float32Array(rows.length);
    for (let i = 0; i < rows.length; i++) out[i] = dot(features, rows[i] * dim, prompt.embedding, 0, dim);
    this.columns.set(id, out);
    while (this.columns.size > MAX_COLUMNS) this.columns.delete(this.columns.keys().next().value!);
    return out;
  }

  /** Hits of every part of every category; `topK` >= 1. */
  score(categories: readonly PartPrompts[], topK: number): PartHits[] {
    const out: PartHits[] = [];
    for (const cat of categories) {
      const rows = this.rowsOf.get(cat.coarse) ?? new Int32Array(0);
      const cols = cat.parts.map((p) => this.column(cat.coarse, p.prompt));
      // dataset part index -> project part index (a keypoint counts for the first part naming it)
      const owner = new Int32Array(this.set.names.length).fill(-1);
      cat.parts.forEach((p, pi) => {
        for (const k of p.keypoints) {
          const d = this.set.names.indexOf(k);
          if (d >= 0 && owner[d] < 0) owner[d] = pi;
        }
      });
      cat.parts.forEach((p, pi) => {
        const phr = p.phrasings.map((f) => this.column(cat.coarse, f.prompt));
        const perImage = new Map<number, Int32Array>();
        const hits: PartHits = { coarse: cat.coarse, part: p.name, keypoints: 0, hits: 0, topKHits: 0, phrasings: p.phrasings.map((f) => ({ text: f.text, hits: 0 })), perImage: [] };
        for (let i = 0; i < rows.length; i++) {
          if (owner[this.set.part[rows[i]]] !== pi) continue;
          // the best other part (ties to the lower index, as the masks' argmax) and p's rank
          let bestOther = -Infinity;
          let bestOtherIndex = -1;
          let above = 0;
          const s = cols[pi][i];
          for (let q = 0; q < cols.length; q++) {
            if (q === pi) continue;
            const v = cols[q][i];
            if (v > bestOther) {
              bestOther = v;
              bestOtherIndex = q;
            }
            if (v > s || (v === s && q < pi)) above++;
          }
          const wins = (score: number) => bestOtherIndex < 0 || score > bestOther || (score === bestOther && pi < bestOtherIndex);
          const image = this.set.image[rows[i]];
          let acc = perImage.get(image);
          if (!acc) perImage.set(image, (acc = Int32Array.from([image, 0, 0, 0, ...p.phrasings.map(() => 0)])));
          hits.keypoints++;
          acc[1]++;
          if (wins(s)) {
            hits.hits++;
            acc[2]++;
          }
          if (above < topK) {
            hits.topKHits++;
            acc[3]++;
          }
          phr.forEach((col, f) => {
            if (wins(col[i])) {
              hits.phrasings[f].hits++;
              acc[4 + f]++;
            }
          });
        }
        hits.perImage = [...perImage.values()];
        out.push(hits);
      });
    }
    return out;
  }
}
