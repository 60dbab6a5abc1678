// A PromptScorer over a project's training cache with a loaded CLIP model, building the cache
// first when it cannot serve the scores (none yet, another model, no image embeddings, or no
// keypoint features for a dataset that has keypoints). A cache whose masks are merely stale after
// a prompt edit is used as it is: the scores need its embeddings and keypoint features, which no
// prompt changes; rebuilding every mask on each edit would make the measurement loop slow.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ortMatrixProduct, type MatrixProduct } from '../clip/matmul';
import type { ClipModel } from '../clip/model';
import { buildCache, type CacheBuildResult, type CacheProgress } from '../cache/build';
import { clipEncoders } from '../cache/encoders';
import { defaultCacheDir } from '../cache/location';
import { readManifest } from '../cache/manifest';
import type { MaskSession } from '../masks/session';
import { datasetRoot } from '../taxonomy/importers';
import { KEYPOINT_FORMATS, PART_LOCS_FILE, readKeypoints } from '../taxonomy/importers/keypoints';
import type { Project } from '../taxonomy/model';
import { loadQualityData } from './data';
import { PromptScorer } from './score';
import { TextEmbeddings } from './texts';

export type BuildChoice = 'auto' | 'always' | 'never';

export interface OpenScorerOptions {
  projectFile: string;
  project: Project;
  model: ClipModel;
  /** The model's MaskSession when the caller holds one (the backend's): its image features are shared. */
  session?: MaskSession;
  /** Default: the project's default cache folder for this model. */
  cacheDir?: string;
  build?: BuildChoice;
  /** Text embeddings to reuse (kept across scorers of the same model). */
  texts?: TextEmbeddings;
  /** Default: ONNX Runtime's (ortMatrixProduct). */
  product?: MatrixProduct;
  signal?: AbortSignal;
  onCacheProgress?: (p: CacheProgress) => void;
  log?: (message: string) => void;
}

/** Why the cache must be built before it can be scored, or undefined when it can be used as it is. */
export async function whyBuild(dir: string, modelHash: string, project: Project, projectFile: string): Promise<string | undefined> {
  const m = await readManifest(dir).catch(() => undefined);
  if (!m) return 'there is no cache yet';
  if (m.model.hash !== modelHash) return `the cache was built with another model (${m.model.id})`;
  if (!m.embeddings) return 'the cache has no image embeddings yet';
  if (!m.keypointFeatures && (await keypointProblem(project, projectFile)) === null) return 'the cache has no keypoint features yet';
  return undefined;
}

/**
 * Whether the dataset's part keypoints can be read: undefined when it has none, null when they
 * read, else why not (a malformed part_locs.txt: the scores go on without hit rates and say why).
 */
async function keypointProblem(project: Project, projectFile: string): Promise<string | null | undefined> {
  const root = datasetRoot(project, projectFile);
  if (!KEYPOINT_FORMATS.includes(project.dataset.format) || !existsSync(path.join(root, PART_LOCS_FILE))) return undefined;
  return readKeypoints(project.dataset.format, root).then(
    () => null,
    (err: Error) => err.message,
  );
}

export async function openPromptScorer(o: OpenScorerOptions): Promise<{ scorer: PromptScorer; cacheDir: string; built?: CacheBuildResult }> {
  const encoders = clipEncoders(o.model, { session: o.session });
  const cacheDir = path.resolve(o.cacheDir ?? defaultCacheDir(o.projectFile, o.project.name, encoders.model.hash));
  const why = o.build === 'always' ? 'asked to' : o.build === 'never' ? undefined : await whyBuild(cacheDir, encoders.model.hash, o.project, o.projectFile);
  let built: CacheBuildResult | undefined;
  if (why) {
    o.log?.(`building the training cache ${cacheDir}: ${why}`);
    // the settings it was built with before (the embeddings depend on the input size)
    const previous = await readManifest(cacheDir).catch(() => undefined);
    built = await buildCache({ projectFile: o.projectFile, project: o.project, outDir: cacheDir, encoders, settings: previous?.settings, signal: o.signal, onProgress: o.onCacheProgress, log: o.log });
  }
  const data = await loadQualityData(cacheDir);
  const texts = o.texts ?? new TextEmbeddings(async (t, signal) => (await o.model.embedTexts(t, { signal })).data, o.model.embedDim);
  const scorer = new PromptScorer(data, texts, o.product ?? (await ortMatrixProduct()));
  const problem = data.keypoints ? undefined : await keypointProblem(o.project, o.projectFile);
  if (problem) scorer.notes.push(`the dataset's part keypoints cannot be read, so there are no hit rates: ${problem}`);
  return { scorer, cacheDir, built };
}
