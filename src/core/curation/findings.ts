// What `pscl curate` and the Dataset view report: each finding names its images (paths relative
// to the dataset root), a score (higher is surer or worse, 0..1) and a reason a person can read.
// Builders here take plain data (scans, neighbours, predictions), so each check is tested alone.
import type { ImageEntry, Project, Split, TaxonomyClass } from '../taxonomy/model';
import { valueAt } from '../taxonomy/model';
import type { Neighbours } from './knn';
import { hashDistance, type ImageScan } from './scan';
import type { CurationSettings } from './settings';

export type FindingKind = 'leak' | 'duplicate' | 'mislabel' | 'unreadable' | 'outlier' | 'small' | 'greyscale' | 'aspect';
/** The order kinds are listed in: leaks first. */
export const FINDING_KINDS: readonly FindingKind[] = ['leak', 'mislabel', 'duplicate', 'unreadable', 'outlier', 'small', 'greyscale', 'aspect'];

export interface Finding {
  kind: FindingKind;
  images: string[];
  score: number;
  reason: string;
  /** Duplicates and leaks: identical files, or images that look the same. */
  match?: 'exact' | 'near';
  /** Duplicates and leaks: each image's split, in `images` order. */
  splits?: Split[];
  /** Mislabels: the class the project gives the image, and the one the evidence points to. */
  given?: string;
  suggested?: string;
  /** Mislabels: the deepest level at which given and suggested still agree (undefined: not even the coarse one). */
  agreeAt?: string;
  /** Mislabels: 0-based index of `agreeAt` in the levels (-1: none); lower is a grosser error. */
  agreeDepth?: number;
  /** Mislabels: which evidence: k-NN votes, zero-shot text prototypes, a trained run's predictions. */
  sources?: Array<'knn' | 'zero-shot' | 'run'>;
}

// ---------------------------------------------------------------------------------------------
// Duplicates and leaks

class UnionFind {
  private readonly parent: Int32Array;
  constructor(n: number) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    while (this.parent[i] !== i) i = this.parent[i] = this.parent[this.parent[i]!]!;
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** Pairs of images whose perceptual hashes differ in at most `maxDistance` bits, found through
 *  bands of the hash (pigeonhole: two hashes within d bits agree exactly on one of d+1 bands). */
export function perceptualPairs(hashes: ReadonlyArray<string | undefined>, maxDistance: number): Array<[number, number, number]> {
  const bands = Math.min(16, maxDistance + 1);
  const width = Math.floor(16 / bands); // hex digits per band (the last band takes the rest)
  const pairs = new Map<string, [number, number, number]>();
  for (let b = 0; b < bands; b++) {
    const buckets = new Map<string, number[]>();
    const from = b * width;
    const to = b === bands - 1 ? 16 : from + width;
    hashes.forEach((h, i) => {
      if (!h) return;
      const key = h.slice(from, to);
      const list = buckets.get(key);
      if (list) list.push(i);
      else buckets.set(key, [i]);
    });
    for (const list of buckets.values()) {
      for (let x = 0; x < list.length; x++) {
        for (let y = x + 1; y < list.length; y++) {
          const i = list[x]!, j = list[y]!;
          const id = `${i},${j}`;
          if (pairs.has(id)) continue;
          const d = hashDistance(hashes[i]!, hashes[j]!);
          if (d <= maxDistance) pairs.set(id, [i, j, d]);
        }
      }
    }
  }
  return [...pairs.values()];
}

/**
 * A near-duplicate by embedding must also be this many times closer than a typical image is to
 * its k-th neighbour: in an embedding space where every image looks alike (an untrained model),
 * a fixed cosine threshold alone would chain the whole dataset into one group.
 */
export const NEAR_DISTANCE_RATIO = 0.1;

/** The median over images of the cosine to the farthest of their k neighbours. */
export function typicalNeighbourCosine(knn: Neighbours): number {
  const last: number[] = [];
  for (let r = 0; r * knn.k < knn.indices.length; r++) {
    for (let j = knn.k - 1; j >= 0; j--) {
      if (knn.indices[r * knn.k + j]! >= 0) {
        last.push(knn.sims[r * knn.k + j]!);
        break;
      }
    }
  }
  if (last.length === 0) return 0;
  last.sort((a, b) => a - b);
  return last[Math.floor(last.length / 2)]!;
}

/**
 * Groups of identical files (content hash) and of images that look the same (perceptual hash,
 * and embedding cosine when neighbours are given). A group spanning splits is a leak.
 */
export function duplicateFindings(
  images: readonly ImageEntry[],
  scans: ReadonlyMap<string, ImageScan>,
  settings: Pick<CurationSettings, 'hashDistance' | 'nearCosine'>,
  neighbours?: { rows: readonly number[]; knn: Neighbours },
): Finding[] {
  const n = images.length;
  const uf = new UnionFind(n);
  const score = new Float64Array(n).fill(0); // best pair similarity per group root, settled below
  const pairSim: Array<[number, number, number]> = [];
  const bySha = new Map<string, number>();
  images.forEach((img, i) => {
    const s = scans.get(img.path);
    if (!s?.sha256) return;
    const first = bySha.get(s.sha256);
    if (first === undefined) bySha.set(s.sha256, i);
    else pairSim.push([first, i, 1]);
  });
  const hashes = images.map((img) => scans.get(img.path)?.phash);
  for (const [i, j, d] of perceptualPairs(hashes, settings.hashDistance)) pairSim.push([i, j, 1 - d / 64]);
  if (neighbours) {
    const { rows, knn } = neighbours;
    const maxDistance = (1 - typicalNeighbourCosine(knn)) * NEAR_DISTANCE_RATIO;
    for (let r = 0; r < rows.length; r++) {
      for (let j = 0; j < knn.k; j++) {
        const other = knn.indices[r * knn.k + j]!;
        const sim = knn.sims[r * knn.k + j]!;
        if (other < 0 || sim < settings.nearCosine || 1 - sim > maxDistance) break;
        pairSim.push([rows[r]!, rows[other]!, sim]);
      }
    }
  }
  for (const [i, j] of pairSim) uf.union(i, j);
  for (const [i, , s] of pairSim) {
    const root = uf.find(i);
    score[root] = Math.max(score[root]!, s);
  }
  const groups = new Map<number, number[]>();
  for (const [i, j] of pairSim) {
    for (const x of [i, j]) {
      const root = uf.find(x);
      const g = groups.get(root) ?? [];
      if (!g.includes(x)) g.push(x);
      groups.set(root, g);
    }
  }
  const out: Finding[] = [];
  for (const [root, members] of groups) {
    members.sort((a, b) => a - b);
    const shas = new Set(members.map((m) => scans.get(images[m]!.path)?.sha256));
    const exact = shas.size === 1 && !shas.has(undefined) && !shas.has('');
    const splits = members.map((m) => images[m]!.split);
    const leak = new Set(splits).size > 1;
    const paths = members.map((m) => images[m]!.path);
    const how = exact ? 'identical files' : `look the same (similarity ${score[root]!.toFixed(3)})`;
    const reason = leak
      ? `${members.length} images that are ${exact ? 'identical files' : 'near-duplicates'} sit in different splits (${splits.join(', ')}): the test set holds images the model trains on`
      : `${members.length} images are ${how}, all in the ${splits[0]} split`;
    out.push({ kind: leak ? 'leak' : 'duplicate', images: paths, score: exact ? 1 : score[root]!, reason, match: exact ? 'exact' : 'near', splits });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Files: unreadable, small, greyscale, extreme aspect

export function fileFindings(images: readonly ImageEntry[], scans: ReadonlyMap<string, ImageScan>, settings: Pick<CurationSettings, 'minSide' | 'maxAspect' | 'greyTolerance'>): Finding[] {
  const out: Finding[] = [];
  for (const img of images) {
    const s = scans.get(img.path);
    if (!s || s.error || !s.width || !s.height) {
      out.push({ kind: 'unreadable', images: [img.path], score: 1, reason: `cannot be read as an image: ${s?.error ?? 'not scanned'}` });
      continue;
    }
    const short = Math.min(s.width, s.height);
    const long = Math.max(s.width, s.height);
    if (short < settings.minSide) out.push({ kind: 'small', images: [img.path], score: 1 - short / settings.minSide, reason: `${s.width}x${s.height} pixels: the shorter side is below ${settings.minSide}` });
    if (long / short > settings.maxAspect) {
      out.push({ kind: 'aspect', images: [img.path], score: Math.min(1, (long / short - settings.maxAspect) / settings.maxAspect), reason: `${s.width}x${s.height} pixels: ${(long / short).toFixed(1)}:1, beyond ${settings.maxAspect}:1 (a centre crop loses most of it)` });
    }
    if ((s.chroma ?? 0) < settings.greyTolerance) {
      out.push({ kind: 'greyscale', images: [img.path], score: 1 - (s.chroma ?? 0) / Math.max(settings.greyTolerance, 1e-9), reason: `greyscale (mean channel spread ${(s.chroma ?? 0).toFixed(1)} of 255): colour cues are missing` });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Mislabels and outliers

/** The deepest level (of the leading nested levels) at which two classes share their value. */
export function agreement(project: Project, given: TaxonomyClass, suggested: TaxonomyClass): { level?: string; depth: number } {
  let depth = -1;
  for (let i = 0; i < project.levels.length; i++) {
    const level = project.levels[i]!;
    if (level.kind === 'facet') continue;
    const a = valueAt(project, given, level.name);
    if (a === undefined || a !== valueAt(project, suggested, level.name)) break;
    depth = i;
  }
  return { level: depth >= 0 ? project.levels[depth]!.name : undefined, depth };
}

/** One image's evidence from one source: the class it points to, and how sure (0..1). */
export interface MislabelEvidence {
  source: 'knn' | 'zero-shot' | 'run';
  suggested: string;
  score: number;
  detail: string;
}

/** One finding per image from all its evidence: the strongest source decides the suggested class. */
export function mislabelFindings(project: Project, images: readonly ImageEntry[], evidence: ReadonlyMap<number, MislabelEvidence[]>, minScore: number): Finding[] {
  const byId = new Map(project.classes.map((c) => [c.id, c]));
  const out: Finding[] = [];
  for (const [row, list] of evidence) {
    const img = images[row]!;
    const given = byId.get(img.classId);
    const kept = list.filter((e) => e.score >= minScore && e.suggested !== img.classId);
    if (!given || kept.length === 0) continue;
    kept.sort((a, b) => b.score - a.score);
    const best = kept[0]!;
    const suggested = byId.get(best.suggested);
    if (!suggested) continue;
    const agree = agreement(project, given, suggested);
    const agreeing = kept.filter((e) => e.suggested === best.suggested);
    // agreeing sources add up (capped): two independent signals are surer than one
    const score = Math.min(1, 1 - agreeing.reduce((p, e) => p * (1 - e.score), 1));
    const fine = project.levels.at(-1)!.name;
    const where = agree.level === undefined
      ? 'they differ even at the coarse level: a gross error'
      : agree.depth >= project.levels.length - 2
        ? `same ${agree.level} '${valueAt(project, given, agree.level)}': a fine-grained confusion`
        : `they agree only down to ${agree.level} '${valueAt(project, given, agree.level)}': a gross error`;
    out.push({
      kind: 'mislabel',
      images: [img.path],
      score,
      reason: `labelled ${fine} '${given.name}', looks like '${suggested.name}' (${where}); ${agreeing.map((e) => e.detail).join('; ')}`,
      given: given.id,
      suggested: suggested.id,
      agreeAt: agree.level,
      agreeDepth: agree.depth,
      sources: agreeing.map((e) => e.source),
    });
  }
  return out;
}

/** k-NN votes (similarity-weighted) against each image's label. */
export function knnEvidence(images: readonly ImageEntry[], rows: readonly number[], knn: Neighbours, out: Map<number, MislabelEvidence[]>, names: ReadonlyMap<string, string>): void {
  for (let r = 0; r < rows.length; r++) {
    const votes = new Map<string, number>();
    let total = 0;
    for (let j = 0; j < knn.k; j++) {
      const o = knn.indices[r * knn.k + j]!;
      if (o < 0) break;
      const w = Math.max(0, knn.sims[r * knn.k + j]!);
      const cls = images[rows[o]!]!.classId;
      votes.set(cls, (votes.get(cls) ?? 0) + w);
      total += w;
    }
    if (total <= 0) continue;
    const row = rows[r]!;
    const own = images[row]!.classId;
    let best = own;
    for (const [c, v] of votes) if (v > (votes.get(best) ?? 0)) best = c;
    if (best === own) continue;
    const share = votes.get(best)! / total;
    const ownShare = (votes.get(own) ?? 0) / total;
    const list = out.get(row) ?? [];
    list.push({ source: 'knn', suggested: best, score: Math.max(0, share - ownShare), detail: `${Math.round(share * 100)}% of its ${knn.k} nearest images are '${names.get(best) ?? best}', ${Math.round(ownShare * 100)}% its own class` });
    out.set(row, list);
  }
}

/** Probabilities over classes (rows of `probs`, class order of `classIds`) against each image's label:
 *  zero-shot scores, or a run's predictions read the confident-learning way (per-class thresholds). */
export function probabilityEvidence(
  source: 'zero-shot' | 'run',
  images: readonly ImageEntry[],
  rows: readonly number[],
  probs: Float32Array,
  classIds: readonly string[],
  out: Map<number, MislabelEvidence[]>,
  names: ReadonlyMap<string, string>,
): void {
  const c = classIds.length;
  const col = new Map(classIds.map((id, i) => [id, i]));
  // confident learning: class j's threshold is the mean probability of j over the images labelled j
  const sum = new Float64Array(c);
  const count = new Float64Array(c);
  rows.forEach((row, r) => {
    const y = col.get(images[row]!.classId);
    if (y === undefined) return;
    sum[y] += probs[r * c + y]!;
    count[y]++;
  });
  const threshold = Float64Array.from(sum, (s, j) => (count[j]! > 0 ? s / count[j]! : 1));
  rows.forEach((row, r) => {
    const y = col.get(images[row]!.classId);
    if (y === undefined) return;
    const p = probs.subarray(r * c, (r + 1) * c);
    let best = -1;
    for (let j = 0; j < c; j++) {
      if (j === y) continue;
      if (source === 'run' && p[j]! < threshold[j]!) continue;
      if (best < 0 || p[j]! > p[best]!) best = j;
    }
    if (best < 0 || p[best]! <= p[y]!) return;
    const margin = p[best]! - p[y]!;
    const list = out.get(row) ?? [];
    const what = source === 'run' ? 'the trained model' : 'zero-shot against the class prompts';
    list.push({ source, suggested: classIds[best]!, score: margin, detail: `${what} gives '${names.get(classIds[best]!) ?? classIds[best]}' ${(p[best]! * 100).toFixed(0)}% and its own class ${(p[y]! * 100).toFixed(0)}%` });
    out.set(row, list);
  });
}

/** Images far from their own class: mean similarity to their k nearest same-class images, against
 *  the class's median in robust deviations (median absolute deviation). */
export function outlierFindings(images: readonly ImageEntry[], rows: readonly number[], density: Float64Array, deviations: number, names: ReadonlyMap<string, string>): Finding[] {
  const byClass = new Map<string, number[]>();
  rows.forEach((row, r) => {
    const cls = images[row]!.classId;
    const list = byClass.get(cls) ?? [];
    list.push(r);
    byClass.set(cls, list);
  });
  const out: Finding[] = [];
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  for (const [cls, members] of byClass) {
    if (members.length < 5) continue;
    const values = members.map((r) => density[r]!);
    const med = median(values);
    const mad = median(values.map((v) => Math.abs(v - med))) * 1.4826 || 1e-6;
    for (const r of members) {
      const z = (med - density[r]!) / mad;
      if (z < deviations) continue;
      out.push({
        kind: 'outlier',
        images: [images[rows[r]!]!.path],
        score: Math.min(1, z / (4 * deviations)),
        reason: `far from the rest of '${names.get(cls) ?? cls}': similarity to its nearest classmates ${density[r]!.toFixed(3)} against a class median of ${med.toFixed(3)} (${z.toFixed(1)} robust deviations below)`,
      });
    }
  }
  return out;
}

/** Leaks first, then by kind; mislabels gross first (shallowest agreement), then by score. */
export function sortFindings(findings: Finding[]): Finding[] {
  const order = new Map(FINDING_KINDS.map((k, i) => [k, i]));
  return findings.sort((a, b) => order.get(a.kind)! - order.get(b.kind)! || (a.agreeDepth ?? 0) - (b.agreeDepth ?? 0) || b.score - a.score || (a.images[0]! < b.images[0]! ? -1 : 1));
}
