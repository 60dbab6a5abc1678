// Keypoint features of the training cache (docs/cache-format.md): for a dataset with part keypoints
// (CUB, NABirds `parts/part_locs.txt`), the dense patch feature of the masks' variant at every visible
// keypoint of every image that has a mask, bilinearly sampled from the patch grid and L2-normalised.
// They let the prompt-quality scores (src/core/quality) test any part prompt at the keypoints
// without running the image encoder again: a phrasing edit rescores in milliseconds.
//
// Made from the same model pass as the mask (with it, never alone), so a mask is reused only when
// its keypoint features are; their own hash (model + variant + input size + the keypoint files)
// says when a change of prompts leaves them valid (always) and when not.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DenseMap } from '../clip/model';
import { SafetensorsFile, encodeSafetensors } from '../clip/safetensors';
import type { Keypoint } from '../taxonomy/importers/keypoints';
import { Journal, readJsonLines } from './journal';
import { CacheError, MANIFEST_FILE, PREVIOUS_MANIFEST_FILE, readManifest, type CacheManifest, type ManifestKeypoints, type SourceStamp } from './manifest';
import { floatsFromBase64, floatsToBase64, isContentNamed, journalFiles, removeContentNamed, shardJournalName, writeContentNamed } from './rowsFile';

export const KEYPOINTS_JOURNAL_FILE = 'progress-keypoints.jsonl';

/** The keypoint-features journal of shard K of N (build.ts, buildCacheShard). */
export function shardKeypointsJournalFile(index: number, count: number): string {
  return shardJournalName(KEYPOINTS_JOURNAL_FILE, index, count);
}
const PREFIX = 'keypoints';
export const KEYPOINTS_FORMAT = 'pscl-keypoint-features';

/** The keypoint features of one image. */
export interface KeypointRecord {
  key: string;
  path: string;
  source: SourceStamp;
  /** The cache's keypoints hash when they were made. */
  keypointsHash: string;
  /** Index into the dataset's part names, one per keypoint. */
  parts: number[];
  /** Position in the image as a fraction of its width and height, [count, 2]. */
  position: number[];
  /** [count, dim], L2-normalised rows. */
  features: Float32Array;
}

/** A record as the journal stores it: the features as base64 text. */
type KeypointsJournalEntry = Omit<KeypointRecord, 'features'> & { features: string };

export function isKeypointsPath(name: string): boolean {
  return isContentNamed(PREFIX, name);
}

/**
 * The features at an image's keypoints: the patch grid sampled bilinearly (align_corners=false,
 * as the masks upsample it) at each keypoint, which is given in pixels of the image as decoded
 * (`width` x `height`), then normalised.
 */
export function sampleKeypointFeatures(dense: DenseMap, keypoints: readonly Keypoint[], width: number, height: number, partIndex: ReadonlyMap<string, number>): Omit<KeypointRecord, 'key' | 'path' | 'source' | 'keypointsHash'> {
  const { dim } = dense;
  const kept = keypoints.filter((k) => partIndex.has(k.part));
  const features = new Float32Array(kept.length * dim);
  const axis = (frac: number, size: number) => {
    const src = Math.min(Math.max(frac * size - 0.5, 0), size - 1);
    const lo = Math.floor(src);
    return { lo, hi: Math.min(lo + 1, size - 1), w: src - lo };
  };
  const position: number[] = [];
  kept.forEach((k, r) => {
    const fx = k.x / width;
    const fy = k.y / height;
    position.push(fx, fy);
    const x = axis(fx, dense.width);
    const y = axis(fy, dense.height);
    const o = r * dim;
    const corners: [number, number, number][] = [
      [y.lo, x.lo, (1 - y.w) * (1 - x.w)],
      [y.lo, x.hi, (1 - y.w) * x.w],
      [y.hi, x.lo, y.w * (1 - x.w)],
      [y.hi, x.hi, y.w * x.w],
    ];
    for (const [gy, gx, w] of corners) {
      if (w === 0) continue;
      const src = (gy * dense.width + gx) * dim;
      for (let j = 0; j < dim; j++) features[o + j] += w * dense.data[src + j];
    }
    let s = 0;
    for (let j = 0; j < dim; j++) s += features[o + j] * features[o + j];
    const inv = 1 / Math.sqrt(s || 1);
    for (let j = 0; j < dim; j++) features[o + j] *= inv;
  });
  return { parts: kept.map((k) => partIndex.get(k.part)!), position, features };
}

/** The safetensors bytes: `features` F16 [rows, dim], `part` F32 [rows], `position` F32 [rows, 2]. */
function encodeKeypoints(records: readonly KeypointRecord[], dim: number, keypointsHash: string, parts: readonly string[]): { bytes: Buffer; rows: number } {
  const rows = records.reduce((s, r) => s + r.parts.length, 0);
  const features = new Float32Array(rows * dim);
  const part = new Float32Array(rows);
  const position = new Float32Array(rows * 2);
  let at = 0;
  for (const r of records) {
    features.set(r.features, at * dim);
    part.set(r.parts, at);
    position.set(r.position, at * 2);
    at += r.parts.length;
  }
  const bytes = Buffer.concat(
    encodeSafetensors(
      [
        { name: 'features', shape: [rows, dim], data: features, dtype: 'F16' },
        { name: 'part', shape: [rows], data: part },
        { name: 'position', shape: [rows, 2], data: position },
      ],
      { format: KEYPOINTS_FORMAT, keypointsHash, parts: JSON.stringify(parts) },
    ),
  );
  return { bytes, rows };
}

/** The tensors of a manifest's keypoint features file; a CacheError naming the file when it does not fit. */
export function readKeypointTensors(dir: string, m: Pick<CacheManifest, 'keypointFeatures' | 'hashes'>): { features: Float32Array; part: Float32Array; position: Float32Array } {
  const e = m.keypointFeatures;
  if (!e) throw new CacheError(`${path.join(dir, MANIFEST_FILE)}: the cache has no keypoint features (the dataset has no part keypoints, or the cache was built before they existed: \`pscl cache build\` adds them)`);
  if (typeof e.file !== 'string' || !isKeypointsPath(e.file)) throw new CacheError(`${path.join(dir, MANIFEST_FILE)}: keypoint features file ${JSON.stringify(e.file)} is not a keypoints-<hash>.safetensors name; build the cache again`);
  const file = path.join(dir, e.file);
  if (!existsSync(file)) throw new CacheError(`${file} is missing; build the cache again`);
  const f = SafetensorsFile.open(file);
  try {
    const want: Record<string, number[]> = { features: [e.rows, e.dim], part: [e.rows], position: [e.rows, 2] };
    for (const [name, shape] of Object.entries(want)) {
      const info = f.tensors.get(name);
      if (!info) throw new CacheError(`${file}: tensor '${name}' is missing`);
      if (info.shape.join() !== shape.join()) throw new CacheError(`${file}: tensor '${name}' has shape [${info.shape}], the manifest says [${shape}]`);
    }
    if (f.metadata.keypointsHash !== m.hashes.keypoints) throw new CacheError(`${file}: made for keypoints hash ${f.metadata.keypointsHash}, the manifest says ${m.hashes.keypoints}`);
    return { features: f.readFloat32('features'), part: f.readFloat32('part'), position: f.readFloat32('position') };
  } finally {
    f.close();
  }
}

/** Keypoint features earlier builds made (the last manifest's file, then the journal); anything unreadable is not reused. */
export async function priorKeypointFeatures(dir: string, dim: number, parts: readonly string[]): Promise<Map<string, KeypointRecord>> {
  const out = new Map<string, KeypointRecord>();
  const m = (await readManifest(dir).catch(() => undefined)) ?? (await readManifest(dir, PREVIOUS_MANIFEST_FILE).catch(() => undefined));
  const e = m?.keypointFeatures;
  if (m && e && e.dim === dim && m.hashes.keypoints && e.parts.join('\n') === parts.join('\n')) {
    let t: ReturnType<typeof readKeypointTensors> | undefined;
    try {
      t = readKeypointTensors(dir, m);
    } catch {
      t = undefined;
    }
    for (const img of t ? m.images : []) {
      const range = img.keypoints;
      if (img.status !== 'ok' || !img.source || !Array.isArray(range) || range.length !== 2) continue;
      const [start, count] = range;
      if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > e.rows) continue;
      out.set(img.key, {
        key: img.key,
        path: img.path,
        source: img.source,
        keypointsHash: m.hashes.keypoints,
        parts: Array.from(t!.part.subarray(start, start + count)),
        position: Array.from(t!.position.subarray(start * 2, (start + count) * 2)),
        features: t!.features.slice(start * dim, (start + count) * dim),
      });
    }
  }
  for (const file of await journalFiles(dir, KEYPOINTS_JOURNAL_FILE)) {
    for (const j of await readJsonLines<KeypointsJournalEntry>(path.join(dir, file))) {
      if (typeof j.key !== 'string' || typeof j.keypointsHash !== 'string' || !j.source || !Array.isArray(j.parts) || !Array.isArray(j.position)) continue;
      const features = floatsFromBase64(j.features, j.parts.length * dim);
      if (features) out.set(j.key, { key: j.key, path: j.path, source: j.source, keypointsHash: j.keypointsHash, parts: j.parts, position: j.position, features });
    }
  }
  return out;
}

/** progress-keypoints.jsonl: one line per image whose keypoint features were computed. */
export class KeypointsJournal {
  private readonly journal: Journal<KeypointsJournalEntry>;

  constructor(dir: string, file = KEYPOINTS_JOURNAL_FILE) {
    this.journal = new Journal(path.join(dir, file));
  }

  append(r: KeypointRecord): void {
    this.journal.append({ key: r.key, path: r.path, source: r.source, keypointsHash: r.keypointsHash, parts: r.parts, position: r.position, features: floatsToBase64(r.features) });
  }
}

/** Writes the keypoint features of the images in `keys` order; returns the manifest entry and each image's [start, count]. */
export async function writeKeypointFeaturesFile(
  dir: string,
  keys: readonly string[],
  records: ReadonlyMap<string, KeypointRecord>,
  dim: number,
  keypointsHash: string,
  parts: readonly string[],
): Promise<{ entry: ManifestKeypoints; ranges: Map<string, [number, number]> }> {
  const ranges = new Map<string, [number, number]>();
  const list: KeypointRecord[] = [];
  let at = 0;
  for (const k of keys) {
    const r = records.get(k);
    if (!r || ranges.has(k)) continue;
    ranges.set(k, [at, r.parts.length]);
    list.push(r);
    at += r.parts.length;
  }
  const { bytes, rows } = encodeKeypoints(list, dim, keypointsHash, parts);
  const { file, sha256 } = await writeContentNamed(dir, PREFIX, bytes);
  return { entry: { file, sha256, rows, dim, parts: [...parts] }, ranges };
}

export function removeOldKeypointFeatures(dir: string, keep: string | undefined): Promise<void> {
  return removeContentNamed(dir, PREFIX, keep, KEYPOINTS_JOURNAL_FILE);
}

/** The keypoint features of a cache, for the prompt-quality scores. */
export interface CachedKeypoints {
  /** The dataset's part names (`part` indexes them). */
  names: string[];
  /** Per row: index into manifest.images, index into names, position as fractions [rows, 2]. */
  image: Int32Array;
  part: Int32Array;
  position: Float32Array;
  /** [rows, dim] float32 (stored as float16), unit rows. */
  features: Float32Array;
  rows: number;
  dim: number;
}

/** Reads a cache's keypoint features with the manifest images they belong to; a CacheError when it has none. */
export function readKeypointFeatures(dir: string, manifest: CacheManifest): CachedKeypoints {
  const t = readKeypointTensors(dir, manifest);
  const e = manifest.keypointFeatures!;
  const image = new Int32Array(e.rows).fill(-1);
  manifest.images.forEach((img, i) => {
    const range = img.keypoints;
    if (img.status !== 'ok' || !Array.isArray(range)) return;
    const [start, count] = range;
    for (let r = start; r < start + count && r < e.rows; r++) image[r] = i;
  });
  return { names: e.parts, image, part: Int32Array.from(t.part), position: t.position, features: t.features, rows: e.rows, dim: e.dim };
}
