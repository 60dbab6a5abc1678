// What the embedding checks read: one L2-normalised vector per image (the cache's global CLIP
// image embeddings) and the zero-shot class prototypes (the cache's `level.<fine>` text
// embeddings, one per class). Both come from a built training cache.
import path from 'node:path';
import { readImageEmbeddings as readCacheEmbeddings } from '../cache/embeddings';
import type { CacheManifest } from '../cache/manifest';
import { levelTensor, readPrototypes } from '../cache/prototypesFile';
import { PROTOTYPES_FILE } from '../cache/manifest';

export interface ImageEmbeddingTable {
  dim: number;
  /** Image path (relative to the dataset root) -> row of `data`. */
  rows: ReadonlyMap<string, number>;
  /** [rows, dim] float32, each row of unit length. */
  data: Float32Array;
}

export interface ClassPrototypeTable {
  dim: number;
  /** Class ids in row order. */
  classIds: string[];
  data: Float32Array;
}

/** Normalises every row in place (zero rows stay zero). */
export function normalizeRows(data: Float32Array, dim: number): Float32Array {
  for (let r = 0; r * dim < data.length; r++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += data[r * dim + d]! ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dim; d++) data[r * dim + d]! *= inv;
  }
  return data;
}

/** The class text embeddings of a cache (zero-shot prototypes), undefined when it has none. */
export function readClassPrototypes(cacheDir: string, manifest: CacheManifest): ClassPrototypeTable | undefined {
  const stored = readPrototypes(path.join(cacheDir, PROTOTYPES_FILE));
  const fine = manifest.levels.at(-1);
  const t = fine ? stored?.classTensors.get(levelTensor(fine)) : undefined;
  if (!t || t.shape.length !== 2) return undefined;
  const dim = t.shape[1]!;
  const data = new Float32Array(manifest.classes.length * dim);
  manifest.classes.forEach((c, i) => data.set(t.data.subarray(c.levelIndex.at(-1)! * dim, (c.levelIndex.at(-1)! + 1) * dim), i * dim));
  return { dim, classIds: manifest.classes.map((c) => c.id), data: normalizeRows(data, dim) };
}

/** The image embeddings a cache holds by image path, undefined when it has none (built by an older version). */
export async function readImageEmbeddings(cacheDir: string, manifest: CacheManifest): Promise<ImageEmbeddingTable | undefined> {
  if (!manifest.embeddings) return undefined;
  const e = await readCacheEmbeddings(cacheDir, manifest);
  return { dim: e.dim, rows: new Map(e.paths.map((p, i) => [p, i])), data: e.data };
}
