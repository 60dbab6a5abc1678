// What produced each part of the cache, as hashes: a part of the cache is stale exactly when the
// hash of its inputs changed. Masks: model + part prompts/templates + mask settings. Class
// prototypes: model + levels/class names/class templates. Part embeddings: model + part prompts.
// Image embeddings: model + the model input (long side); no prompt changes them.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { parseVariant, variantKey } from '../clip/graph/variants';
import { canonicalJson, classPromptsHash, partPromptsHash, sha256 } from '../parts/prompts';
import { decisionsHash } from '../taxonomy/decisions';
import type { Project } from '../taxonomy/model';

/** Bump when the way masks or prototypes are computed changes, so old caches read as stale. */
export const CACHE_COMPUTE_VERSION = 3; // 3: the decode contract (ICC ignored, CMYK and 16-bit as the trainer reads them; images over 4096 px shrunk while read)

export interface MaskBuildSettings {
  /** Long side of every mask in pixels (the aspect ratio of the image is kept). */
  maskSize: number;
  /** Long side of the image as the model sees it (sides rounded to the patch size). */
  inputSize: number;
  /** Last-block variant of the image encoder ('clearclip', ...). */
  variant: string;
  /** Odd closing kernel; 1 disables the closing. */
  kernel: number;
  /** Best-part probability below which a pixel is background; 0 disables. */
  threshold: number;
  logitScale: number;
}

export interface CacheHashes {
  model: string;
  partPrompts: string;
  classPrompts: string;
  /** Every mask: model + part prompts + mask settings. */
  masks: string;
  /** `parts.*` tensors: model + part prompts. */
  parts: string;
  /** `level.*` and `fine` tensors: model + class prompts. */
  prototypes: string;
  /** Image embeddings: model + input size. Absent in caches built before embeddings. */
  embeddings: string;
  /** Keypoint features: model + variant + input size + the dataset's keypoint files (datasets with keypoints only). */
  keypoints?: string;
  /** The project's image decisions (exclusions, relabels) the labels and statuses follow. */
  decisions?: string;
}

/** Settings with the variant in its canonical spelling, so equivalent spellings hash the same. */
export function canonicalSettings(s: MaskBuildSettings): MaskBuildSettings {
  return { ...s, variant: variantKey(parseVariant(s.variant)) };
}

export function cacheHashes(project: Project, modelHash: string, settings: MaskBuildSettings): CacheHashes {
  const partPrompts = partPromptsHash(project);
  const classPrompts = classPromptsHash(project);
  const v = CACHE_COMPUTE_VERSION;
  return {
    model: modelHash,
    partPrompts,
    classPrompts,
    masks: sha256(canonicalJson({ v, kind: 'masks', model: modelHash, partPrompts, settings: canonicalSettings(settings) })),
    parts: sha256(canonicalJson({ v, kind: 'part-embeddings', model: modelHash, partPrompts })),
    prototypes: sha256(canonicalJson({ v, kind: 'prototypes', model: modelHash, classPrompts })),
    embeddings: sha256(canonicalJson({ v, kind: 'image-embeddings', model: modelHash, inputSize: settings.inputSize })),
    decisions: decisionsHash(project),
  };
}

/** The hash of the keypoint features: what the dense features depend on, and where the keypoints are. */
export function keypointFeaturesHash(modelHash: string, settings: MaskBuildSettings, keypointFilesSha256: string): string {
  const { variant, inputSize } = canonicalSettings(settings);
  return sha256(canonicalJson({ v: CACHE_COMPUTE_VERSION, kind: 'keypoint-features', model: modelHash, variant, inputSize, keypoints: keypointFilesSha256 }));
}

export function bytesSha256(data: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

export function fileSha256(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => h.update(chunk))
      .on('error', reject)
      .on('end', () => resolve('sha256:' + h.digest('hex')));
  });
}

/** The 8 hex digits of a hash that go into file names. */
export function shortHash(hash: string): string {
  return hash.replace(/^sha256:/, '').slice(0, 8);
}
