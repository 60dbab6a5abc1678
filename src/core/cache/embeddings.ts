// Image embeddings of the training cache (docs/cache-format.md): one CLIP image embedding per image
// (the class token through the standard last block, from the same trunk pass as the image's mask),
// stored as one float32 [rows, D] tensor in `embeddings-<h>.safetensors`; the manifest names the file
// and gives each image its row. The file name carries a hash of its content, so a new build writes
// a new file beside the old one and the old manifest stays valid until the new one replaces it.
//
// Incremental like the masks: an embedding is reused when its image file (path, size, mtime) and the
// embeddings hash (model + input size; not the prompts) are unchanged. Resumable: each computed
// embedding is journaled in progress-embeddings.jsonl (base64 float32) until the manifest is written.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { SafetensorsFile, encodeSafetensors } from '../clip/safetensors';
import { Journal, readJsonLines } from './journal';
import { CacheError, MANIFEST_FILE, PREVIOUS_MANIFEST_FILE, readManifest, type CacheManifest, type ManifestEmbeddings, type SourceStamp } from './manifest';
import type { Split } from '../taxonomy/model';
import { floatsFromBase64, floatsToBase64, isContentNamed, journalFiles, removeContentNamed, shardJournalName, writeContentNamed } from './rowsFile';

export const EMBEDDINGS_JOURNAL_FILE = 'progress-embeddings.jsonl';

/** The embeddings journal of shard K of N (build.ts, buildCacheShard). */
export function shardEmbeddingsJournalFile(index: number, count: number): string {
  return shardJournalName(EMBEDDINGS_JOURNAL_FILE, index, count);
}


export const EMBEDDINGS_TENSOR = 'image';
export const EMBEDDINGS_FORMAT = 'pscl-image-embeddings';

/** An embedding made by an earlier build (or an unfinished one), with what it was made from. */
export interface EmbeddingRecord {
  key: string;
  path: string;
  source: SourceStamp;
  /** The cache's embeddings hash when it was made. */
  embeddingsHash: string;
  vector: Float32Array;
}

interface EmbeddingsJournalEntry {
  key: string;
  path: string;
  source: SourceStamp;
  embeddingsHash: string;
  /** Base64 of the float32 little-endian vector. */
  embedding: string;
}

const PREFIX = 'embeddings';

/** Whether a manifest's embeddings file entry names a file of this shape in the cache folder (and nothing else). */
export function isEmbeddingsPath(name: string): boolean {
  return isContentNamed(PREFIX, name);
}

/** The safetensors bytes of an embeddings file: tensor `image` [rows, dim], the hash in the metadata. */
export function encodeEmbeddings(data: Float32Array, rows: number, dim: number, embeddingsHash: string): Buffer {
  return Buffer.concat(encodeSafetensors([{ name: EMBEDDINGS_TENSOR, shape: [rows, dim], data }], { format: EMBEDDINGS_FORMAT, embeddingsHash }));
}

/** The float32 rows of a manifest's embeddings file; throws a CacheError naming the file when it does not fit the manifest. */
export function readEmbeddingsTensor(dir: string, m: Pick<CacheManifest, 'embeddings' | 'hashes'>): Float32Array {
  const e = m.embeddings;
  if (!e) throw new CacheError(`${path.join(dir, MANIFEST_FILE)}: the cache has no image embeddings; run \`pscl cache build\` to add them`);
  if (typeof e.file !== 'string' || !isEmbeddingsPath(e.file)) throw new CacheError(`${path.join(dir, MANIFEST_FILE)}: embeddings file ${JSON.stringify(e.file)} is not an embeddings-<hash>.safetensors name; build the cache again`);
  const file = path.join(dir, e.file);
  if (!existsSync(file)) throw new CacheError(`${file} is missing; build the cache again`);
  const f = SafetensorsFile.open(file);
  try {
    const info = f.tensors.get(EMBEDDINGS_TENSOR);
    if (!info) throw new CacheError(`${file}: tensor '${EMBEDDINGS_TENSOR}' is missing`);
    if (info.dtype !== 'F32') throw new CacheError(`${file}: tensor '${EMBEDDINGS_TENSOR}' is ${info.dtype}, expected F32`);
    if (info.shape.join() !== [e.rows, e.dim].join()) throw new CacheError(`${file}: tensor '${EMBEDDINGS_TENSOR}' has shape [${info.shape}], the manifest says [${e.rows},${e.dim}]`);
    if (f.metadata.embeddingsHash !== m.hashes.embeddings) throw new CacheError(`${file}: made for embeddings hash ${f.metadata.embeddingsHash}, the manifest says ${m.hashes.embeddings}`);
    return f.readFloat32(EMBEDDINGS_TENSOR);
  } finally {
    f.close();
  }
}

/**
 * Embeddings earlier builds made: those of the last manifest (or the one set aside) whose file is
 * intact, then the journal of an unfinished build. Anything unreadable is simply not reused.
 */
export async function priorEmbeddings(dir: string, dim: number): Promise<Map<string, EmbeddingRecord>> {
  const out = new Map<string, EmbeddingRecord>();
  const m = (await readManifest(dir).catch(() => undefined)) ?? (await readManifest(dir, PREVIOUS_MANIFEST_FILE).catch(() => undefined));
  if (m?.embeddings && m.embeddings.dim === dim && m.hashes.embeddings) {
    let data: Float32Array | undefined;
    try {
      data = readEmbeddingsTensor(dir, m);
    } catch {
      data = undefined;
    }
    if (data) {
      for (const img of m.images) {
        const row = img.embedding;
        if (img.status !== 'ok' || !img.source || typeof row !== 'number' || !Number.isInteger(row) || row < 0 || row >= m.embeddings.rows) continue;
        out.set(img.key, { key: img.key, path: img.path, source: img.source, embeddingsHash: m.hashes.embeddings, vector: data.slice(row * dim, (row + 1) * dim) });
      }
    }
  }
  for (const file of await journalFiles(dir, EMBEDDINGS_JOURNAL_FILE)) {
    for (const e of await readJsonLines<EmbeddingsJournalEntry>(path.join(dir, file))) {
      if (typeof e.key !== 'string' || typeof e.embeddingsHash !== 'string' || !e.source || typeof e.embedding !== 'string') continue;
      const vector = floatsFromBase64(e.embedding, dim);
      if (vector) out.set(e.key, { key: e.key, path: e.path, source: e.source, embeddingsHash: e.embeddingsHash, vector });
    }
  }
  return out;
}

/** progress-embeddings.jsonl: one line per computed embedding. */
export class EmbeddingsJournal {
  private readonly journal: Journal<EmbeddingsJournalEntry>;

  constructor(dir: string, file = EMBEDDINGS_JOURNAL_FILE) {
    this.journal = new Journal(path.join(dir, file));
  }

  append(r: EmbeddingRecord): void {
    this.journal.append({ key: r.key, path: r.path, source: r.source, embeddingsHash: r.embeddingsHash, embedding: floatsToBase64(r.vector) });
  }
}

/**
 * Writes the embeddings of the manifest's images (in manifest order, rows given to the images that
 * have one) as a content-named file, and returns the manifest entry and each image's row.
 */
export async function writeEmbeddingsFile(
  dir: string,
  keys: readonly string[],
  vectors: ReadonlyMap<string, Float32Array>,
  dim: number,
  embeddingsHash: string,
): Promise<{ entry: ManifestEmbeddings; rows: Map<string, number> }> {
  const rows = new Map<string, number>();
  for (const k of keys) if (vectors.has(k) && !rows.has(k)) rows.set(k, rows.size);
  const data = new Float32Array(rows.size * dim);
  for (const [k, r] of rows) data.set(vectors.get(k)!, r * dim);
  const { file, sha256 } = await writeContentNamed(dir, PREFIX, encodeEmbeddings(data, rows.size, dim, embeddingsHash));
  return { entry: { file, sha256, rows: rows.size, dim }, rows };
}

/** Embeddings files and the journal the manifest no longer needs. */
export function removeOldEmbeddings(dir: string, keep: string | undefined): Promise<void> {
  return removeContentNamed(dir, PREFIX, keep, EMBEDDINGS_JOURNAL_FILE);
}

/** The image embeddings of a cache, for curation and prompt quality. */
export interface ImageEmbeddings {
  dir: string;
  manifest: CacheManifest;
  /** One entry per row of `data`, in manifest order (images with status ok and an embedding). */
  keys: string[];
  /** Relative to manifest.datasetRoot. */
  paths: string[];
  split: Split[];
  /** Index into manifest.classes. */
  label: Int32Array;
  /** [rows, dim] row-major, L2-normalised rows. */
  data: Float32Array;
  rows: number;
  dim: number;
  /** Images with status ok that have no embedding (0 in a complete cache). */
  missing: number;
}

/**
 * Reads a cache's image embeddings with the images they belong to. Throws a CacheError naming the
 * file when the cache has none (built by an older version: `pscl cache build` adds them) or when the
 * file does not match the manifest. `read`: the cache's manifest when the caller has read it already.
 */
export async function readImageEmbeddings(cacheDir: string, read?: CacheManifest): Promise<ImageEmbeddings> {
  const dir = path.resolve(cacheDir);
  const manifest = read ?? (await readManifest(dir));
  if (!manifest) throw new CacheError(`${path.join(dir, MANIFEST_FILE)} is missing: build the cache first (\`pscl cache build\`)`);
  const all = readEmbeddingsTensor(dir, manifest);
  const dim = manifest.embeddings!.dim;
  const rows = manifest.embeddings!.rows;
  const picked = manifest.images.filter((i) => i.status === 'ok' && typeof i.embedding === 'number' && i.embedding >= 0 && i.embedding < rows);
  const data = new Float32Array(picked.length * dim);
  picked.forEach((img, r) => data.set(all.subarray(img.embedding! * dim, (img.embedding! + 1) * dim), r * dim));
  return {
    dir,
    manifest,
    keys: picked.map((i) => i.key),
    paths: picked.map((i) => i.path),
    split: picked.map((i) => i.split),
    label: Int32Array.from(picked.map((i) => i.label)),
    data,
    rows: picked.length,
    dim,
    missing: manifest.images.filter((i) => i.status === 'ok').length - picked.length,
  };
}
