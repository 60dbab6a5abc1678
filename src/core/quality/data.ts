// What the prompt-quality scores read from a training cache: the manifest, the image embeddings
// (for zero-shot accuracy) and the keypoint features (for the part hit rate), read once and kept
// while prompts change.
import path from 'node:path';
import { readImageEmbeddings, type ImageEmbeddings } from '../cache/embeddings';
import { readKeypointFeatures, type CachedKeypoints } from '../cache/keypointFeatures';
import { CacheError, type CacheManifest } from '../cache/manifest';

export interface QualityData {
  dir: string;
  manifest: CacheManifest;
  embeddings: ImageEmbeddings;
  /** Per embedding row: its index in manifest.images. */
  embeddingImage: Int32Array;
  /** Undefined when the dataset has no part keypoints (or the cache predates them). */
  keypoints?: CachedKeypoints;
  /** Per manifest image: its class id ('' when its class is not in the cache's project). */
  classId: string[];
}

export async function loadQualityData(cacheDir: string): Promise<QualityData> {
  const dir = path.resolve(cacheDir);
  const embeddings = await readImageEmbeddings(dir);
  const manifest = embeddings.manifest;
  const index = new Map(manifest.images.map((img, i) => [img.key, i]));
  const embeddingImage = Int32Array.from(embeddings.keys, (k) => index.get(k)!);
  let keypoints: CachedKeypoints | undefined;
  if (manifest.keypointFeatures) keypoints = readKeypointFeatures(dir, manifest);
  const classId = manifest.images.map((img) => manifest.classes[img.label]?.id ?? '');
  if (embeddings.rows === 0) throw new CacheError(`${dir}: the cache has no image with an embedding; build it again`);
  return { dir, manifest, embeddings, embeddingImage, keypoints, classId };
}
