// manifest.json of a training cache (docs/cache-format.md): the types, reading with clear errors,
// and the file names inside a cache folder.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { PsclError } from '../errors';
import type { Split } from '../taxonomy/model';
import type { CacheHashes, MaskBuildSettings } from './hashes';

export const MANIFEST_FILE = 'manifest.json';
/** Where the manifest of the last complete build waits while a new prototypes file replaces the old. */
export const PREVIOUS_MANIFEST_FILE = '.manifest.previous.json';
export const PROTOTYPES_FILE = 'prototypes.safetensors';
export const JOURNAL_FILE = 'progress.jsonl';
export const MASKS_DIR = 'masks';

export interface ManifestClass {
  index: number;
  id: string;
  name: string;
  /** Index into levelValues[level] for every level, fine last. */
  levelIndex: number[];
}

/** The image file as it was when its mask was made: a changed file makes the mask stale. */
export interface SourceStamp {
  bytes: number;
  mtimeMs: number;
}

export interface ManifestImage {
  key: string;
  /** Relative to datasetRoot, '/'-separated. */
  path: string;
  split: Split;
  /** Index into classes (the project's `images.relabel` applied); -1 when the image's class is not in the project (status error). */
  label: number;
  /** ok: trained on; error: unusable (see `error`); excluded: left out by the project (`images.exclude`, see `reason`). */
  status: 'ok' | 'error' | 'excluded';
  /** Status excluded: the reason the project gives. */
  reason?: string;
  /** The dataset's own class id when the project relabelled the image. */
  relabeledFrom?: string;
  /** Relative to the cache folder (status ok). */
  mask?: string;
  maskWidth?: number;
  maskHeight?: number;
  maskSha256?: string;
  source?: SourceStamp;
  error?: string;
  /** Row of this image in the embeddings file (status ok; absent in caches built before embeddings). */
  embedding?: number;
  /** [first row, count] of this image's keypoint features (datasets with part keypoints). */
  keypoints?: [number, number];
}

/** What the manifest says about the embeddings file. */
export interface ManifestEmbeddings {
  /** File name inside the cache folder: `embeddings-<8 hex digits of its sha256>.safetensors`. */
  file: string;
  sha256: string;
  rows: number;
  dim: number;
}

/** What the manifest says about the keypoint features file. */
export interface ManifestKeypoints {
  /** `keypoints-<8 hex digits of its sha256>.safetensors`. */
  file: string;
  sha256: string;
  rows: number;
  dim: number;
  /** The dataset's part names; tensor `part` holds indices into this list. */
  parts: string[];
}

export interface CacheManifest {
  format: 'pscl-cache';
  version: 1;
  createdBy: string;
  createdAt: string;
  project: string;
  datasetRoot: string;
  model: { id: string; hash: string; embedDim: number; imageSize: number; patchSize: number };
  hashes: CacheHashes;
  settings: MaskBuildSettings;
  levels: string[];
  levelValues: Record<string, string[]>;
  classes: ManifestClass[];
  parts: Record<string, string[]>;
  numPartSlots: number;
  maskSize: number;
  files: { prototypes: string };
  /** The image embeddings file (absent in caches built before embeddings: the next build adds it). */
  embeddings?: ManifestEmbeddings;
  /** The keypoint features file (datasets with part keypoints only). */
  keypointFeatures?: ManifestKeypoints;
  counts: { images: number; ok: number; error: number; excluded?: number };
  images: ManifestImage[];
}

/** A cache that cannot be used or built as asked: the message names the file and what to do. */
export class CacheError extends PsclError {
  override name = 'CacheError';
}

/** Whether a manifest's mask entry names a file of this cache's masks/ folder (and nothing else). */
export function isMaskPath(mask: string): boolean {
  return /^masks\/[A-Za-z0-9._-]+\.png$/.test(mask) && !mask.includes('..');
}

/** The manifest in `dir` (or `file` inside it), undefined when there is none; throws on a malformed one. */
export async function readManifest(dir: string, file = MANIFEST_FILE): Promise<CacheManifest | undefined> {
  const p = path.join(dir, file);
  let text: string;
  try {
    text = await fs.readFile(p, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CacheError(`${p}: cannot read the manifest (${(err as Error).message})`);
  }
  let m: CacheManifest;
  try {
    m = JSON.parse(text) as CacheManifest;
  } catch (err) {
    throw new CacheError(`${p}: not JSON (${(err as Error).message}); delete the cache folder and build it again`);
  }
  if (m?.format !== 'pscl-cache') throw new CacheError(`${p}: not a PSCL cache manifest (format ${JSON.stringify(m?.format)})`);
  if (m.version !== 1) throw new CacheError(`${p}: cache version ${m.version}; this version of PSCL Studio reads version 1: build the cache again`);
  if (!Array.isArray(m.images) || !Array.isArray(m.classes) || !m.hashes) throw new CacheError(`${p}: images, classes or hashes missing; build the cache again`);
  return m;
}
