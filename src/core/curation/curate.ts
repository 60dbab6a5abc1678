// `pscl curate` and the Dataset view's findings: one call over a project. The images counted are
// the project's (its exclusions left out, its relabels applied); model-free checks always run,
// the embedding checks when the cache has image embeddings, confident learning with a run.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { readManifest } from '../cache/manifest';
import { PsclError } from '../errors';
import { loadProject } from '../project/load';
import { applyImageDecisions } from '../taxonomy/decisions';
import { datasetRoot, loadImages } from '../taxonomy/importers';
import type { ImageEntry, Project } from '../taxonomy/model';
import { readClassPrototypes, readImageEmbeddings, type ClassPrototypeTable, type ImageEmbeddingTable } from './embeddings';
import { duplicateFindings, fileFindings, knnEvidence, mislabelFindings, outlierFindings, probabilityEvidence, sortFindings, type Finding, type MislabelEvidence } from './findings';
import { nearestNeighbours, type Neighbours } from './knn';
import { runPredictions, type RunPredictions } from './predictions';
import { defaultScanFile, scanImages, type ImageScan } from './scan';
import { curationSettings, type CurationSettings } from './settings';

export interface CurationProgress {
  phase: 'images' | 'scan' | 'neighbours' | 'run' | 'findings';
  /** 0..1 within the phase. */
  fraction: number;
  message: string;
}

export interface CurateOptions {
  projectFile: string;
  /** The project as loaded by the caller (e.g. an editor's unsaved text); else read from the file. */
  project?: Project;
  settings?: Partial<CurationSettings>;
  /** A built training cache: its image embeddings and class prototypes feed the embedding checks. */
  cacheDir?: string;
  /** Image embeddings given directly (instead of the cache's). */
  embeddings?: ImageEmbeddingTable;
  /** Zero-shot class prototypes given directly (instead of the cache's). */
  prototypes?: ClassPrototypeTable;
  /** A trained run folder with model.onnx: its predictions give confident-learning margins. */
  runDir?: string;
  /** Predictions given directly (instead of running the run's model). */
  predictions?: RunPredictions;
  /** Where the image scan is kept between runs (default next to the project's cache; null: not kept). */
  scanFile?: string | null;
  signal?: AbortSignal;
  onProgress?: (p: CurationProgress) => void;
}

export interface CurationReport {
  findings: Finding[];
  /** Images checked (the project's decisions applied) and the ones its exclusions left out. */
  images: number;
  excluded: number;
  /** Which checks ran. */
  checks: { files: boolean; duplicates: boolean; embeddings: boolean; zeroShot: boolean; run: boolean };
  /** What could not be checked, and why. */
  notes: string[];
  /** Every image checked, with its scan (the Dataset view shows sizes and hashes). */
  scans: Map<string, ImageScan>;
  /** The images checked. */
  entries: ImageEntry[];
  /** Embedding neighbours of the checked images (rows: `embeddingRows`), when embeddings were read. */
  neighbours?: Neighbours;
  embeddingRows?: number[];
}

function cancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new PsclError('curation cancelled', 'cancelled');
}

export async function curateProject(o: CurateOptions): Promise<CurationReport> {
  const settings = curationSettings(o.settings);
  const projectFile = path.resolve(o.projectFile);
  const project = o.project ?? (await loadProject(projectFile, { require: 'structure' })).project;
  const progress = (phase: CurationProgress['phase'], fraction: number, message: string) => o.onProgress?.({ phase, fraction, message });
  const root = datasetRoot(project, projectFile);

  progress('images', 0, `reading the image lists of ${root}`);
  const listed = await loadImages(project, projectFile, o.signal).catch((err: Error) => {
    if (o.signal?.aborted) throw new PsclError('curation cancelled', 'cancelled');
    // the dataset's lists are the user's input: their message names the file and line
    throw new PsclError(`cannot list the images of ${root}: ${err.message}`);
  });
  const applied = applyImageDecisions(listed.images, project.images);
  const images = applied.images;
  const notes: string[] = [...listed.warnings];
  cancelled(o.signal);

  const scanFile = o.scanFile === null ? undefined : (o.scanFile ?? defaultScanFile(projectFile, project.name));
  const scans = await scanImages(root, images, {
    scanFile,
    signal: o.signal,
    onProgress: (p) => progress('scan', p.total ? p.done / p.total : 1, `scanning images ${p.done}/${p.total}${p.reused ? ` (${p.reused} unchanged)` : ''}`),
  });
  cancelled(o.signal);

  // embeddings and prototypes: given, or from the cache
  let embeddings = o.embeddings;
  let prototypes = o.prototypes;
  if (o.cacheDir && (!embeddings || !prototypes)) {
    const manifest = await readManifest(o.cacheDir);
    if (!manifest) notes.push(`${o.cacheDir} holds no cache manifest: the embedding checks are skipped (build the cache first)`);
    else {
      embeddings ??= await readImageEmbeddings(o.cacheDir, manifest);
      prototypes ??= readClassPrototypes(o.cacheDir, manifest);
    }
  }
  if (!embeddings) notes.push('no image embeddings: near-duplicates by embedding, k-NN and zero-shot mislabels and outliers are not checked');

  let neighbours: Neighbours | undefined;
  let rows: number[] | undefined;
  let vectors: Float32Array | undefined;
  if (embeddings) {
    rows = [];
    images.forEach((img, i) => {
      if (embeddings!.rows.has(img.path)) rows!.push(i);
    });
    if (rows.length < images.length) notes.push(`${images.length - rows.length} image(s) have no embedding (unreadable, or not in the cache): left out of the embedding checks`);
    const dim = embeddings.dim;
    vectors = new Float32Array(rows.length * dim);
    rows.forEach((i, r) => {
      const at = embeddings!.rows.get(images[i]!.path)!;
      vectors!.set(embeddings!.data.subarray(at * dim, (at + 1) * dim), r * dim);
    });
    progress('neighbours', 0, `nearest neighbours of ${rows.length} images`);
    neighbours = await nearestNeighbours(vectors, rows.length, dim, settings.k, { signal: o.signal, onProgress: (f) => progress('neighbours', f, `nearest neighbours ${Math.round(f * 100)}%`) });
  }

  let predictions = o.predictions;
  if (o.runDir && !predictions) {
    predictions = await runPredictions(o.runDir, root, images, { signal: o.signal, onProgress: (f) => progress('run', f, `the run's predictions ${Math.round(f * 100)}%`) });
  }

  progress('findings', 0, 'collecting findings');
  const names = new Map(project.classes.map((c) => [c.id, c.name]));
  const findings: Finding[] = [...fileFindings(images, scans, settings), ...duplicateFindings(images, scans, settings, neighbours && rows ? { rows, knn: neighbours } : undefined)];
  const evidence = new Map<number, MislabelEvidence[]>();
  if (neighbours && rows) {
    knnEvidence(images, rows, neighbours, evidence, names);
    findings.push(...outlierFindings(images, rows, classDensity(images, rows, neighbours, vectors!, embeddings!.dim, settings.k), settings.outlierDeviations, names));
  }
  if (prototypes && vectors && rows && embeddings && prototypes.dim === embeddings.dim) {
    // zero-shot: cosine to each class prototype, softmax at CLIP's logit scale
    const c = prototypes.classIds.length;
    const probs = new Float32Array(rows.length * c);
    const logits = new Float64Array(c);
    for (let r = 0; r < rows.length; r++) {
      let max = -Infinity;
      for (let j = 0; j < c; j++) {
        let s = 0;
        for (let d = 0; d < embeddings.dim; d++) s += vectors[r * embeddings.dim + d]! * prototypes.data[j * embeddings.dim + d]!;
        logits[j] = 100 * s;
        max = Math.max(max, logits[j]!);
      }
      let sum = 0;
      for (let j = 0; j < c; j++) sum += logits[j] = Math.exp(logits[j]! - max);
      for (let j = 0; j < c; j++) probs[r * c + j] = logits[j]! / sum;
    }
    probabilityEvidence('zero-shot', images, rows, probs, prototypes.classIds, evidence, names);
  } else if (prototypes && embeddings && prototypes.dim !== embeddings.dim) notes.push(`the class prototypes have ${prototypes.dim} dimensions and the image embeddings ${embeddings.dim}: zero-shot is not checked`);
  if (predictions) {
    const predRows: number[] = [];
    images.forEach((img, i) => {
      if (predictions!.rows.has(img.path)) predRows.push(i);
    });
    const c = predictions.classIds.length;
    const probs = new Float32Array(predRows.length * c);
    predRows.forEach((i, r) => {
      const at = predictions!.rows.get(images[i]!.path)!;
      probs.set(predictions!.probs.subarray(at * c, (at + 1) * c), r * c);
    });
    probabilityEvidence('run', images, predRows, probs, predictions.classIds, evidence, names);
  }
  findings.push(...mislabelFindings(project, images, evidence, settings.minMislabelScore));
  progress('findings', 1, `${findings.length} findings`);
  return {
    findings: sortFindings(findings),
    images: images.length,
    excluded: applied.excluded.length,
    checks: { files: true, duplicates: true, embeddings: !!embeddings, zeroShot: !!(prototypes && embeddings), run: !!predictions },
    notes,
    scans,
    entries: images,
    neighbours,
    embeddingRows: rows,
  };
}

/** Mean similarity of each image to its nearest same-class images among its neighbours (its own
 *  class's density around it); images with no classmate among them get the class's lowest. */
function classDensity(images: readonly ImageEntry[], rows: readonly number[], knn: Neighbours, _vectors: Float32Array, _dim: number, k: number): Float64Array {
  const out = new Float64Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const own = images[rows[r]!]!.classId;
    let s = 0;
    let n = 0;
    for (let j = 0; j < knn.k && n < k; j++) {
      const o = knn.indices[r * knn.k + j]!;
      if (o < 0) break;
      if (images[rows[o]!]!.classId !== own) continue;
      s += knn.sims[r * knn.k + j]!;
      n++;
    }
    // classmates missing from the neighbourhood count as dissimilar (similarity 0)
    out[r] = s / Math.max(1, Math.min(k, knn.k));
  }
  return out;
}

/** The `--json` shape: `{"findings":[{"kind","images","score","reason", ...}]}` plus what was checked. */
export function findingsJson(report: CurationReport): Record<string, unknown> {
  return {
    findings: report.findings.map((f) => ({ ...f, score: Math.round(f.score * 1e4) / 1e4 })),
    images: report.images,
    excluded: report.excluded,
    checks: report.checks,
    notes: report.notes,
  };
}

/** The newest training cache built next to a project file (`.pscl-cache/<name>-<model>/`), if any. */
export function newestCacheDir(projectFile: string): string | undefined {
  const dir = path.join(path.dirname(path.resolve(projectFile)), '.pscl-cache');
  if (!existsSync(dir)) return undefined;
  let best: { dir: string; mtime: number } | undefined;
  for (const name of readdirSync(dir)) {
    const manifest = path.join(dir, name, 'manifest.json');
    if (!existsSync(manifest)) continue;
    const mtime = statSync(manifest).mtimeMs;
    if (!best || mtime > best.mtime) best = { dir: path.join(dir, name), mtime };
  }
  return best?.dir;
}
