// Builds the training cache (docs/cache-format.md): part label maps for every image through the
// shared mask pipeline, the VLCL-MG prototypes and part embeddings, and the manifest, written last.
//
// Incremental: a mask is reused when its image file (size, mtime), its coarse category and the masks
// hash are unchanged and the mask file still has its recorded content hash (a corrupt or swapped
// mask that `cache verify` flags is recomputed); the class prototypes and the part embeddings are
// reused when their own hashes are. One build writes a folder at a time (lock.ts). Resumable: every finished mask is journaled (journal.ts), and mask files carry the masks hash
// in their names, so a killed build leaves the previous manifest and its files valid.
// Pipelined: images decode (sharp's thread pool) ahead of the model, and the masks of one batch are
// computed and encoded while the model runs the next.
// Image embeddings (embeddings.ts) come from the same decode and the same trunk pass as the masks,
// with their own staleness: a cache without them gets them without recomputing its masks.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { DenseMap } from '../clip/model';
import { ImageFile, type PixelImage } from '../clip/preprocess';
import { encodeLabelMapPng } from '../masks/export';
import type { LabelMap } from '../masks/labels';
import { MASK_DEFAULTS, maskSettingProblem, maskSettings, type MaskSettings } from '../masks/settings';
import { buildClassPrototypes, buildPartEmbeddings, levelTable } from '../prototypes/build';
import { loadProject } from '../project';
import { applyImageDecisions } from '../taxonomy/decisions';
import { datasetFile, datasetRoot, loadImages } from '../taxonomy/importers';
import type { ImageEntry, Project } from '../taxonomy/model';
import { writeFileAtomic } from '../util/atomicWrite';
import type { CacheEncoders } from './encoders';
import { KEYPOINTS_JOURNAL_FILE, KeypointsJournal, priorKeypointFeatures, removeOldKeypointFeatures, sampleKeypointFeatures, shardKeypointsJournalFile, writeKeypointFeaturesFile, type KeypointRecord } from './keypointFeatures';
import { PART_LOCS_FILE, PARTS_FILE, readKeypoints, type Keypoint } from '../taxonomy/importers/keypoints';
import { EMBEDDINGS_JOURNAL_FILE, EmbeddingsJournal, priorEmbeddings, removeOldEmbeddings, shardEmbeddingsJournalFile, writeEmbeddingsFile, type EmbeddingRecord } from './embeddings';
import { bytesSha256, cacheHashes, canonicalSettings, fileSha256, keypointFeaturesHash, shortHash, type CacheHashes, type MaskBuildSettings } from './hashes';
import { Journal, readJournal, type JournalEntry } from './journal';
import { CacheBuildLock, CacheLockedError, describeHolder, heldShardLocks, LOCK_TEMP_PREFIX, readCacheLock, shardLockFile, sleep } from './lock';
import {
  CacheError,
  isMaskPath,
  JOURNAL_FILE,
  MANIFEST_FILE,
  MASKS_DIR,
  PREVIOUS_MANIFEST_FILE,
  PROTOTYPES_FILE,
  readManifest,
  type CacheManifest,
  type ManifestEmbeddings,
  type ManifestImage,
  type ManifestKeypoints,
  type SourceStamp,
} from './manifest';
import { classTensors, encodePrototypes, FINE_TENSOR, levelTensor, partTensors, partsTensor, readPrototypes, type StoredTensor } from './prototypesFile';

export const CREATED_BY = 'pscl-studio 0.1.0';
export const DEFAULT_MASK_SIZE = 224;

export interface CacheProgress {
  phase: 'prepare' | 'prototypes' | 'masks' | 'finish';
  /** Images settled so far (mask and embedding reused, computed or failed) out of `total`. */
  done: number;
  total: number;
  /** Masks computed, reused and failed images so far. */
  computed: number;
  reused: number;
  errors: number;
  /** Image embeddings computed so far in this build. */
  embeddings?: number;
  /** Images computed (mask and/or embedding) per second in this build (0 before the first batch). */
  imagesPerSecond: number;
  /** Seconds left at the current rate; undefined before the first batch. */
  etaSeconds?: number;
}

export interface BuildCacheOptions {
  projectFile: string;
  /** The project as already loaded (and validated) by the caller; else read from projectFile and validated here. */
  project?: Project;
  outDir: string;
  encoders: CacheEncoders;
  settings?: Partial<MaskBuildSettings>;
  /** Images per model call (default 8). */
  batchSize?: number;
  /** Recompute everything. */
  force?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: CacheProgress) => void;
  log?: (message: string) => void;
  /** When another process is building the same folder: wait for it (default) or refuse (CacheLockedError). */
  waitForLock?: boolean;
  /** Who builds, as the build lock names it to a second build (default 'pscl cache build'). */
  lockHolder?: string;
  /** Called once when the folder's lock is held by another build and this one waits. */
  onWait?: (message: string) => void;
  /**
   * Join what shard builds computed (buildCacheShard) into the manifest, computing nothing: a
   * CacheError names the shards whose images are still missing.
   */
  merge?: boolean;
}

/** Shard `index` (1-based) of `count`: image i of the dataset (in its own order) belongs to shard (i mod count) + 1. */
export interface CacheShard {
  index: number;
  count: number;
}

/** `K/N` as given to `--shard`; a CacheError says what is wrong. */
export function parseShard(text: string): CacheShard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index < 1 || index > count) throw new CacheError(`--shard must be K/N with 1 <= K <= N (e.g. 2/8 for the second of 8 shards), got '${text}'`);
  return { index, count };
}

/** The images shard K of N computes (when stale): every N-th image of the dataset, starting at the K-th. */
export function shardImages<T>(images: readonly T[], shard: CacheShard): T[] {
  return images.filter((_, i) => i % shard.count === shard.index - 1);
}

export const SHARD_JOURNAL_RE = /^progress-shard-\d+-of-\d+\.jsonl$/;
const SHARD_DONE_RE = /^shard-(\d+)-of-(\d+)\.done\.json$/;
/** Mask journal and completion record of a shard build. */
export function shardJournalFile(shard: CacheShard): string {
  return `progress-shard-${shard.index}-of-${shard.count}.jsonl`;
}
export function shardDoneFile(shard: CacheShard): string {
  return `shard-${shard.index}-of-${shard.count}.done.json`;
}

export interface ShardBuildResult {
  dir: string;
  shard: CacheShard;
  /** The images of this shard: computed here, reused (up to date before), errors. */
  images: { total: number; computed: number; reused: number; errors: number };
  embeddings: { computed: number; reused: number };
  seconds: number;
  /** Shards of the same count that have not finished yet (empty when this one was the last). */
  pending: number[];
  /** The merge this shard ran as the last to finish (when asked to). */
  merged?: CacheBuildResult;
}

export interface CacheBuildResult {
  dir: string;
  manifest: CacheManifest;
  images: { total: number; computed: number; reused: number; errors: number };
  /** Images the project excludes (`images.exclude`): listed with status excluded, not computed. */
  excluded: number;
  prototypes: 'computed' | 'reused';
  partEmbeddings: 'computed' | 'reused';
  /** Image embeddings: computed in this build, reused, and ok images left without one (should be 0). */
  embeddings: { computed: number; reused: number; missing: number };
  seconds: number;
  /** Computed masks per second over the mask phase. */
  imagesPerSecond: number;
  /** Wall time of the mask phase and the part of it the model was busy (dense features). */
  maskPhaseSeconds: number;
  inferenceSeconds: number;
  /** Main-thread work on the masks (pipeline, PNG, writes; overlaps the model) and waits for image decoding. */
  postprocessSeconds: number;
  loadWaitSeconds: number;
}

/** Settings left out are the mask defaults (src/core/masks/settings.ts), so the cache holds what the preview shows. */
export function defaultSettings(s: Partial<MaskBuildSettings> = {}): MaskBuildSettings {
  const out: MaskBuildSettings = {
    maskSize: s.maskSize ?? DEFAULT_MASK_SIZE,
    inputSize: s.inputSize ?? MASK_DEFAULTS.size,
    variant: s.variant ?? MASK_DEFAULTS.variant,
    kernel: s.kernel ?? MASK_DEFAULTS.kernel,
    threshold: s.threshold ?? MASK_DEFAULTS.threshold,
    logitScale: s.logitScale ?? MASK_DEFAULTS.logitScale,
  };
  for (const [k, limit] of [['maskSize', 'maskSize'], ['inputSize', 'size'], ['kernel', 'kernel'], ['threshold', 'threshold']] as const) {
    const problem = maskSettingProblem(limit, out[k]);
    if (problem) throw new CacheError(`${k} ${problem} (got ${out[k]})`);
  }
  return canonicalSettings(out);
}

/** The mask settings a cache build runs the mask steps with (no sliding windows: one input per image). */
export function maskSettingsOf(s: MaskBuildSettings): MaskSettings {
  return maskSettings({ variant: s.variant, size: s.inputSize, kernel: s.kernel, threshold: s.threshold, logitScale: s.logitScale, slidingWindow: false });
}

class Cancelled extends Error {
  constructor() {
    super('cache build cancelled; run it again to resume where it stopped');
    this.name = 'AbortError';
  }
}

function checkCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new Cancelled();
}

/** A file name for an image key: safe characters only, unique per key. */
export function maskFileName(key: string, masksHash: string): string {
  const safe = key.replace(/[^A-Za-z0-9._-]/g, '_');
  const unique = safe === key ? safe : `${safe}-${bytesSha256(Buffer.from(key)).slice(7, 13)}`;
  return `${MASKS_DIR}/${unique}-${shortHash(masksHash)}.png`;
}

/** Records of masks made by earlier builds: the last manifest (or the one set aside), then the journal. */
async function priorRecords(dir: string): Promise<Map<string, JournalEntry>> {
  const out = new Map<string, JournalEntry>();
  const m = (await readManifest(dir).catch(() => undefined)) ?? (await readManifest(dir, PREVIOUS_MANIFEST_FILE).catch(() => undefined));
  if (m) {
    const coarseValues = m.levelValues[m.levels[0]] ?? [];
    for (const img of m.images) {
      // an excluded image's record is its mask, when the build that excluded it kept one
      if (!img.source || (img.status === 'excluded' && !img.mask)) continue;
      const cls = m.classes[img.label];
      out.set(img.key, {
        key: img.key,
        path: img.path,
        coarse: cls ? coarseValues[cls.levelIndex[0]] : '',
        masksHash: m.hashes.masks,
        source: img.source,
        status: img.status === 'excluded' ? 'ok' : img.status,
        mask: img.mask,
        maskWidth: img.maskWidth,
        maskHeight: img.maskHeight,
        maskSha256: img.maskSha256,
        error: img.error,
      });
    }
  }
  // the whole build's journal, then the shards' (each shard journals its own images)
  const shards = (await fs.readdir(dir).catch(() => [] as string[])).filter((n) => SHARD_JOURNAL_RE.test(n)).sort();
  for (const file of [JOURNAL_FILE, ...shards]) for (const e of await readJournal(path.join(dir, file))) out.set(e.key, e);
  return out;
}

/** Temp files of writes a kill interrupted. */
async function removeTempFiles(dir: string): Promise<void> {
  for (const d of [dir, path.join(dir, MASKS_DIR)]) {
    for (const name of await fs.readdir(d).catch(() => [] as string[])) {
      // .build.lock.*.tmp belong to builds waiting for the lock (lock.ts), not to a killed write
      if (name.startsWith('.') && name.endsWith('.tmp') && !name.startsWith(LOCK_TEMP_PREFIX)) await fs.rm(path.join(d, name), { force: true });
    }
  }
}

/**
 * Whether a mask file still holds what was written (its SHA-256 as recorded): a corrupt, edited or
 * swapped mask is recomputed rather than reused. Masks are small (a few KB), so this costs a read.
 */
async function maskIntact(dir: string, p: JournalEntry): Promise<boolean> {
  if (!p.mask || !p.maskSha256) return false;
  const bytes = await fs.readFile(path.join(dir, p.mask)).catch(() => undefined);
  return !!bytes && bytesSha256(bytes) === p.maskSha256;
}

function sameSource(a: SourceStamp | undefined, b: SourceStamp): boolean {
  return !!a && a.bytes === b.bytes && a.mtimeMs === b.mtimeMs;
}

function maskDims(width: number, height: number, maskSize: number): { width: number; height: number } {
  const scale = maskSize / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** What the steps of one build share. */
interface Build {
  dir: string;
  projectFile: string;
  project: Project;
  /** The dataset's folder. */
  root: string;
  encoders: CacheEncoders;
  settings: MaskBuildSettings;
  /** The settings as the mask steps take them. */
  masks: MaskSettings;
  hashes: CacheHashes;
  /** Every level's values and each class's index at every level. */
  table: ReturnType<typeof levelTable>;
  /** Part names of each coarse category that has parts. */
  partNames: Map<string, string[]>;
  signal?: AbortSignal;
  log: (message: string) => void;
  progress: (p: Omit<CacheProgress, 'imagesPerSecond'> & { imagesPerSecond?: number }) => void;
  /** The manifest entry of every image settled so far. */
  entries: Map<string, ManifestImage>;
  counts: { computed: number; reused: number; errors: number; excluded: number };
  /** The image embedding of every image that has one so far. */
  embeddings: Map<string, Float32Array>;
  embeddingCounts: { computed: number; reused: number };
  /** The dataset's part keypoints (CUB, NABirds), and the keypoint features of every image that has them so far. */
  keypoints?: { names: string[]; index: Map<string, number>; byImage: Map<string, Keypoint[]>; records: Map<string, KeypointRecord> };
  /** The project's decisions: excluded image keys with their reason, relabelled keys with the dataset's class id. */
  decisions: { excluded: Map<string, string>; relabeledFrom: Map<string, string> };
  /** Where computed masks and embeddings are journaled (a shard has its own). */
  journalFile: string;
  embeddingsJournalFile: string;
  keypointsJournalFile: string;
}

/** An image whose mask or embedding (or both) is stale. */
interface Todo {
  image: ImageEntry;
  label: number;
  coarse: string;
  file: string;
  source: SourceStamp;
  /** Compute the mask (false: the mask is up to date, only the embedding is stale). */
  mask: boolean;
  /** Compute the image embedding. */
  embed: boolean;
}

/** An image ready for the model, with its size as displayed (EXIF orientation applied). */
interface LoadedImage {
  pixels: PixelImage;
  width: number;
  height: number;
}

type Loaded = { todo: Todo; image?: LoadedImage; error?: string };

interface PrototypeTensors {
  classT: Map<string, StoredTensor>;
  partT: Map<string, StoredTensor>;
  reuseClass: boolean;
  reuseParts: boolean;
}

interface MaskPhase {
  seconds: number;
  inferenceMs: number;
  postprocessMs: number;
  loadWaitMs: number;
}

export async function buildCache(options: BuildCacheOptions): Promise<CacheBuildResult> {
  const started = performance.now();
  const b = await startBuild(options);
  const lock = await lockFolder(b, options);
  let images: ImageEntry[], prototypes: PrototypeTensors, phase: MaskPhase, manifest: CacheManifest;
  try {
    const prior = await prepareFolder(b.dir, options.force ?? false);
    images = imageDecisions(b, await listImages(b));
    prototypes = await prototypeTensors(b, images.length, options.force ?? false);
    const kept = settleExcluded(b, images, prior);
    const todo = await staleImages(b, kept, prior);
    todo.push(...(await staleKeypointFeatures(b, kept, options.force ?? false)));
    todo.push(...(await staleEmbeddings(b, kept, todo, options.force ?? false)));
    if (options.merge) await checkMergeable(b, images, todo);
    phase = await computeMasks(b, todo, prototypes, images.length, Math.max(1, options.batchSize ?? 8));
    manifest = await writeManifest(b, images, prototypes, phase);
  } finally {
    await lock.release();
  }
  const { computed, reused, errors, excluded } = b.counts;
  return {
    dir: b.dir,
    manifest,
    images: { total: images.length, computed, reused, errors },
    excluded,
    prototypes: prototypes.reuseClass ? 'reused' : 'computed',
    partEmbeddings: prototypes.reuseParts ? 'reused' : 'computed',
    embeddings: { ...b.embeddingCounts, missing: manifest.images.filter((i) => i.status === 'ok' && i.embedding === undefined).length },
    seconds: (performance.now() - started) / 1000,
    imagesPerSecond: computed / Math.max(phase.seconds, 1e-9),
    maskPhaseSeconds: phase.seconds,
    inferenceSeconds: phase.inferenceMs / 1000,
    postprocessSeconds: phase.postprocessMs / 1000,
    loadWaitSeconds: phase.loadWaitMs / 1000,
  };
}

/** The project (validated), the settings and the hashes they give. */
async function startBuild(options: BuildCacheOptions): Promise<Build> {
  const projectFile = path.resolve(options.projectFile);
  const project = options.project ?? (await loadProject(projectFile, { require: 'valid' })).project;
  const settings = defaultSettings(options.settings);
  const table = levelTable(project);
  const coarseValues = table.values.get(project.levels[0].name)!;
  return {
    dir: path.resolve(options.outDir),
    projectFile,
    project,
    root: datasetRoot(project, projectFile),
    encoders: options.encoders,
    settings,
    masks: maskSettingsOf(settings),
    hashes: cacheHashes(project, options.encoders.model.hash, settings),
    table,
    partNames: new Map(coarseValues.filter((c) => (project.parts[c] ?? []).length > 0).map((c) => [c, project.parts[c].map((p) => p.name)])),
    signal: options.signal,
    log: options.log ?? (() => {}),
    progress: (p) => options.onProgress?.({ imagesPerSecond: 0, ...p }),
    entries: new Map(),
    counts: { computed: 0, reused: 0, errors: 0, excluded: 0 },
    embeddings: new Map(),
    embeddingCounts: { computed: 0, reused: 0 },
    decisions: { excluded: new Map(), relabeledFrom: new Map() },
    journalFile: JOURNAL_FILE,
    embeddingsJournalFile: EMBEDDINGS_JOURNAL_FILE,
    keypointsJournalFile: KEYPOINTS_JOURNAL_FILE,
  };
}

/** The cache folder made and its build lock taken (docs/cache-format.md, "Locking"): one build writes a folder at a time. */
async function lockFolder(b: Build, options: BuildCacheOptions): Promise<CacheBuildLock> {
  await fs.mkdir(path.join(b.dir, MASKS_DIR), { recursive: true }).catch((err: Error) => {
    throw new CacheError(`cannot create the cache folder ${b.dir}: ${err.message}; choose another --out`);
  });
  return CacheBuildLock.acquire(b.dir, {
    command: options.lockHolder ?? 'pscl cache build',
    wait: options.waitForLock ?? true,
    signal: b.signal,
    onWait: (message) => (options.onWait ?? b.log)(message),
    onTakeover: (message) => b.log(message),
  })
    .then(async (lock) => {
      try {
        await waitForShards(b, options);
      } catch (err) {
        await lock.release();
        throw err;
      }
      return lock;
    })
    .catch((err: Error) => {
      throw err.name === 'AbortError' ? new Cancelled() : err;
    });
}

/** A whole build or merge holds .build.lock, then waits until no shard build of the folder is running. */
async function waitForShards(b: Build, options: BuildCacheOptions): Promise<void> {
  let said = false;
  for (;;) {
    const held = await heldShardLocks(b.dir);
    if (held.length === 0) return;
    const { lock, file } = held[0];
    if (options.waitForLock === false) throw new CacheLockedError(b.dir, lock);
    if (!said) (options.onWait ?? b.log)(`cache ${b.dir} has ${held.length} shard build(s) running (${file.slice('.build.lock.'.length)}: pid ${lock.pid}${lock.host ? ` on ${lock.host}` : ''}); waiting for them to finish`);
    said = true;
    await sleep(250, b.signal); // an AbortError: the callers' catch makes it Cancelled
  }
}

/** A merge computes nothing: every image must be settled by the shards (or earlier builds). */
async function checkMergeable(b: Build, images: ImageEntry[], todo: Todo[]): Promise<void> {
  const done = await finishedShards(b.dir);
  const count = Math.max(0, ...done.map((d) => d.count));
  if (count === 0 && todo.length > 0) {
    throw new CacheError(`cannot merge ${b.dir}: no shard build has finished there, and ${todo.length} image(s) are not computed; run \`pscl cache build --shard K/N\` for every K first`);
  }
  if (todo.length === 0) {
    b.log(`merging ${done.length} shard(s): every image is computed`);
    return;
  }
  const index = new Map(images.map((img, i) => [img.key, i]));
  const missing = [...new Set(todo.map((t) => (index.get(t.image.key)! % count) + 1))].sort((x, y) => x - y);
  const unfinished = missing.filter((k) => !done.some((d) => d.index === k && d.count === count));
  throw new CacheError(
    `cannot merge ${b.dir}: ${todo.length} image(s) are not computed yet, of shard(s) ${missing.map((k) => `${k}/${count}`).join(', ')}` +
      (unfinished.length > 0 ? ` (not finished: ${unfinished.map((k) => `${k}/${count}`).join(', ')})` : ' (their images changed since they ran)') +
      `; run \`pscl cache build --shard K/${count}\` for them, or \`pscl cache build\` to compute the rest here`,
  );
}

/** The shards whose completion record is in DIR. */
async function finishedShards(dir: string): Promise<CacheShard[]> {
  const out: CacheShard[] = [];
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = SHARD_DONE_RE.exec(name);
    if (m) out.push({ index: Number(m[1]), count: Number(m[2]) });
  }
  return out;
}

/**
 * One shard of a build (docs/cache-format.md, "Sharded builds"): the stale images among every N-th
 * image into the same folder, masks as files and both journals of its own, beside the other shards
 * (each holds its own lock; none runs while a whole build or a merge holds the folder). It writes
 * no manifest; the last shard to finish merges when `merge` is true (buildCache with merge).
 */
export async function buildCacheShard(options: Omit<BuildCacheOptions, 'merge'> & { shard: CacheShard; merge?: boolean }): Promise<ShardBuildResult> {
  const started = performance.now();
  const { shard } = options;
  if (!Number.isInteger(shard.index) || !Number.isInteger(shard.count) || shard.index < 1 || shard.index > shard.count) throw new CacheError(`shard ${shard.index}/${shard.count}: K/N needs 1 <= K <= N`);
  if (options.force) throw new CacheError('a shard build cannot be forced (--force): it would redo only its own images; delete the cache folder, or run a forced whole build');
  const b = await startBuild(options);
  b.journalFile = shardJournalFile(shard);
  b.embeddingsJournalFile = shardEmbeddingsJournalFile(shard.index, shard.count);
  b.keypointsJournalFile = shardKeypointsJournalFile(shard.index, shard.count);
  const lock = await lockShard(b, options);
  let owned: ImageEntry[];
  try {
    // no clean-up of temp files here: the other shards' writes are in flight
    const prior = await priorRecords(b.dir);
    owned = shardImages(await listImages(b), shard);
    const prototypes = await prototypeTensors(b, owned.length, false); // read, never written by a shard
    const kept = settleExcluded(b, owned, prior);
    const todo = await staleImages(b, kept, prior);
    todo.push(...(await staleKeypointFeatures(b, kept, false)));
    todo.push(...(await staleEmbeddings(b, kept, todo, false)));
    await computeMasks(b, todo, prototypes, owned.length, Math.max(1, options.batchSize ?? 8));
    checkCancelled(b.signal);
    const record = { format: 'pscl-cache-shard', shard: shard.index, of: shard.count, masksHash: b.hashes.masks, embeddingsHash: b.hashes.embeddings, images: owned.length, ...b.counts };
    await writeFileAtomic(path.join(b.dir, shardDoneFile(shard)), JSON.stringify(record) + '\n');
  } finally {
    await lock.release();
  }
  const finished = await finishedShards(b.dir);
  const pending = Array.from({ length: shard.count }, (_, i) => i + 1).filter((k) => !finished.some((d) => d.index === k && d.count === shard.count));
  const result: ShardBuildResult = {
    dir: b.dir,
    shard,
    images: { total: owned.length, ...b.counts },
    embeddings: { ...b.embeddingCounts },
    seconds: 0,
    pending,
  };
  if (pending.length === 0 && options.merge) {
    b.log(`shard ${shard.index}/${shard.count} is the last to finish: merging`);
    result.merged = await buildCache({ ...options, merge: true, shard: undefined } as BuildCacheOptions);
  } else if (pending.length > 0) b.log(`shard ${shard.index}/${shard.count} done; waiting for shard(s) ${pending.map((k) => `${k}/${shard.count}`).join(', ')}`);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** A shard's own lock, taken while no whole build or merge holds the folder (see lock.ts). */
async function lockShard(b: Build, options: BuildCacheOptions & { shard: CacheShard }): Promise<CacheBuildLock> {
  await fs.mkdir(path.join(b.dir, MASKS_DIR), { recursive: true }).catch((err: Error) => {
    throw new CacheError(`cannot create the cache folder ${b.dir}: ${err.message}; choose another --out`);
  });
  let said = false;
  try {
    for (;;) {
      const lock = await CacheBuildLock.acquire(b.dir, {
        file: shardLockFile(options.shard.index, options.shard.count),
        command: `${options.lockHolder ?? 'pscl cache build'} --shard ${options.shard.index}/${options.shard.count}`,
        wait: options.waitForLock ?? true,
        signal: b.signal,
        onWait: (message) => (options.onWait ?? b.log)(message),
        onTakeover: (message) => b.log(message),
      });
      const main = await readCacheLock(b.dir);
      if (main.state !== 'held') return lock;
      await lock.release();
      if (options.waitForLock === false) throw new CacheLockedError(b.dir, main.lock);
      if (!said) (options.onWait ?? b.log)(`${describeHolder(b.dir, main.lock)}; waiting for it to finish`);
      said = true;
      await sleep(250, b.signal);
    }
  } catch (err) {
    throw (err as Error).name === 'AbortError' ? new Cancelled() : err;
  }
}

/** The cache folder made, writes a kill interrupted removed; what earlier builds made (none when forced). */
async function prepareFolder(dir: string, force: boolean): Promise<Map<string, JournalEntry>> {
  await fs.mkdir(path.join(dir, MASKS_DIR), { recursive: true }).catch((err: Error) => {
    throw new CacheError(`cannot create the cache folder ${dir}: ${err.message}; choose another --out`);
  });
  await removeTempFiles(dir);
  if (!force) return priorRecords(dir);
  await fs.rm(path.join(dir, JOURNAL_FILE), { force: true });
  return new Map();
}

/** The dataset's images, read from its own files. */
async function listImages(b: Build): Promise<ImageEntry[]> {
  b.progress({ phase: 'prepare', done: 0, total: 0, computed: 0, reused: 0, errors: 0 });
  const { images, warnings } = await loadImages(b.project, b.projectFile, b.signal).catch((err: Error) => {
    if (err.name === 'AbortError') throw new Cancelled();
    throw new CacheError(`cannot list the images of ${b.root}: ${err.message}`);
  });
  for (const w of warnings) b.log(`warning: ${w}`);
  return images;
}

/**
 * The project's image decisions (docs/project-file.md): relabels give an image the project's class
 * (its mask follows the new coarse category), exclusions are settled by settleExcluded. Every image
 * stays listed, so the manifest says what was left out and why.
 */
function imageDecisions(b: Build, images: ImageEntry[]): ImageEntry[] {
  if (!b.project.images) return images;
  const applied = applyImageDecisions(images, b.project.images);
  for (const e of applied.excluded) b.decisions.excluded.set(e.key, e.reason);
  for (const r of applied.relabeled) b.decisions.relabeledFrom.set(r.key, r.datasetClassId);
  const relabeled = new Map(applied.relabeled.map((r) => [r.key, r.classId]));
  if (applied.excluded.length + relabeled.size > 0) b.log(`project decisions: ${applied.excluded.length} image(s) excluded, ${relabeled.size} relabelled`);
  return relabeled.size === 0 ? images : images.map((i) => (relabeled.has(i.key) ? { ...i, classId: relabeled.get(i.key)! } : i));
}

/**
 * Excluded images get status `excluded` (skipped by the trainer like errors, never computed); a
 * mask an earlier build made is kept in the entry while it is still valid, so taking the image
 * back in costs nothing. Returns the images still to settle.
 */
function settleExcluded(b: Build, images: ImageEntry[], prior: Map<string, JournalEntry>): ImageEntry[] {
  if (b.decisions.excluded.size === 0) return images;
  const classIndex = new Map(b.project.classes.map((c, i) => [c.id, i]));
  const rest: ImageEntry[] = [];
  for (const image of images) {
    const reason = b.decisions.excluded.get(image.key);
    if (reason === undefined) {
      rest.push(image);
      continue;
    }
    const p = prior.get(image.key);
    const keep = p && p.status === 'ok' && p.path === image.path && p.masksHash === b.hashes.masks && p.mask && isMaskPath(p.mask) && existsSync(path.join(b.dir, p.mask));
    b.entries.set(image.key, {
      key: image.key,
      path: image.path,
      split: image.split,
      label: classIndex.get(image.classId) ?? -1,
      status: 'excluded',
      reason,
      ...(keep ? { mask: p.mask, maskWidth: p.maskWidth, maskHeight: p.maskHeight, maskSha256: p.maskSha256, source: p.source } : {}),
    });
    b.counts.excluded++;
  }
  return rest;
}

/** Class prototypes and part embeddings: what the stored file holds under the same hashes and shapes, else computed. */
async function prototypeTensors(b: Build, total: number, force: boolean): Promise<PrototypeTensors> {
  const { project, hashes } = b;
  const dim = b.encoders.model.embedDim;
  b.progress({ phase: 'prototypes', done: 0, total, computed: 0, reused: 0, errors: 0 });
  const stored = force ? undefined : readPrototypes(path.join(b.dir, PROTOTYPES_FILE));
  const expectClass = new Map<string, number[]>(project.levels.map((l) => [levelTensor(l.name), [b.table.values.get(l.name)!.length, dim]]));
  expectClass.set(FINE_TENSOR, [project.classes.length, dim]);
  const expectParts = new Map([...b.partNames].map(([c, names]) => [partsTensor(c), [names.length, dim]]));
  const fits = (have: Map<string, StoredTensor> | undefined, want: Map<string, number[]>) =>
    !!have && have.size === want.size && [...want].every(([n, shape]) => have.get(n)?.shape.join() === shape.join());
  const reuseClass = stored?.prototypesHash === hashes.prototypes && fits(stored.classTensors, expectClass);
  const reuseParts = stored?.partsHash === hashes.parts && fits(stored.partTensors, expectParts);
  const embed = (texts: string[], signal?: AbortSignal) => b.encoders.session.embedTexts(texts, signal);
  const classT = reuseClass ? stored!.classTensors : classTensors(await buildClassPrototypes(project, embed, dim, b.signal));
  const partT = reuseParts ? stored!.partTensors : partTensors(await buildPartEmbeddings(project, embed, dim, b.signal));
  b.log(`prototypes ${reuseClass ? 'reused' : 'computed'}, part embeddings ${reuseParts ? 'reused' : 'computed'}`);
  return { classT, partT, reuseClass, reuseParts };
}

/** Settles the images whose masks are up to date (or that cannot have one) and returns the rest. */
async function staleImages(b: Build, images: ImageEntry[], prior: Map<string, JournalEntry>): Promise<Todo[]> {
  const classIndex = new Map(b.project.classes.map((c, i) => [c.id, i]));
  const coarseValues = b.table.values.get(b.project.levels[0].name)!;
  const todo: Todo[] = [];
  let damaged = 0;
  for (const image of images) {
    const label = classIndex.get(image.classId);
    const base = { key: image.key, path: image.path, split: image.split, label: label ?? -1 };
    if (label === undefined) {
      b.entries.set(image.key, { ...base, status: 'error', error: `class id '${image.classId}' is not in the project` });
      b.counts.errors++;
      continue;
    }
    const coarse = coarseValues[b.table.levelIndex[label][0]];
    let file: string;
    try {
      file = datasetFile(b.root, image.path);
    } catch (err) {
      b.entries.set(image.key, { ...base, status: 'error', error: (err as Error).message });
      b.counts.errors++;
      continue;
    }
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) {
      b.entries.set(image.key, { ...base, status: 'error', error: `image not found: ${file}` });
      b.counts.errors++;
      continue;
    }
    const source = { bytes: st.size, mtimeMs: st.mtimeMs };
    const p = prior.get(image.key);
    const samePlace = p && p.path === image.path && sameSource(p.source, source);
    if (samePlace && p.status === 'error') {
      b.entries.set(image.key, { ...base, status: 'error', error: p.error, source });
      b.counts.errors++;
      continue;
    }
    const current = samePlace && p.status === 'ok' && p.masksHash === b.hashes.masks && p.coarse === coarse && !!p.mask && isMaskPath(p.mask);
    if (current && (await maskIntact(b.dir, p))) {
      b.entries.set(image.key, { ...base, status: 'ok', mask: p.mask, maskWidth: p.maskWidth, maskHeight: p.maskHeight, maskSha256: p.maskSha256, source });
      b.counts.reused++;
    } else {
      if (current && existsSync(path.join(b.dir, p.mask!))) damaged++;
      todo.push({ image, label, coarse, file, source, mask: true, embed: true });
    }
  }
  if (damaged > 0) b.log(`${damaged} mask file(s) changed or corrupt since they were written (their content hash differs): recomputing them`);
  b.log(`${images.length} images: ${b.counts.reused} up to date, ${todo.length} to compute`);
  return todo;
}

/**
 * Reads the dataset's part keypoints (when it has them) and settles the keypoint features of the
 * images whose masks are up to date; an image whose features are missing or stale gets its mask
 * recomputed, since both come from the same model pass.
 */
async function staleKeypointFeatures(b: Build, images: ImageEntry[], force: boolean): Promise<Todo[]> {
  const dataset = await readKeypoints(b.project.dataset.format, b.root, b.signal).catch((err: Error) => {
    if (err.name === 'AbortError') throw new Cancelled();
    b.log(`warning: part keypoints not read, no keypoint features: ${err.message}`);
    return undefined;
  });
  if (!dataset) return [];
  const files = [path.join(b.root, PARTS_FILE), path.join(b.root, PART_LOCS_FILE)];
  const filesHash = bytesSha256(Buffer.concat(await Promise.all(files.map((f) => fs.readFile(f)))));
  b.hashes.keypoints = keypointFeaturesHash(b.hashes.model, b.settings, filesHash);
  const records = new Map<string, KeypointRecord>();
  b.keypoints = { names: dataset.names, index: new Map(dataset.names.map((n, i) => [n, i])), byImage: dataset.byImage, records };
  if (force) await fs.rm(path.join(b.dir, KEYPOINTS_JOURNAL_FILE), { force: true });
  const prior = force ? new Map<string, KeypointRecord>() : await priorKeypointFeatures(b.dir, b.encoders.model.embedDim, dataset.names);
  const again: Todo[] = [];
  const classIndex = new Map(b.project.classes.map((c, i) => [c.id, i]));
  const coarseValues = b.table.values.get(b.project.levels[0].name)!;
  for (const image of images) {
    const e = b.entries.get(image.key);
    if (!e || e.status !== 'ok' || !e.source || !dataset.byImage.has(image.key)) continue;
    const label = classIndex.get(image.classId)!;
    const coarse = coarseValues[b.table.levelIndex[label][0]];
    if (!b.partNames.has(coarse)) continue; // no parts, no masks from the model, nothing to test
    const p = prior.get(image.key);
    if (p && p.path === image.path && sameSource(p.source, e.source) && p.keypointsHash === b.hashes.keypoints) {
      records.set(image.key, p);
      continue;
    }
    b.entries.delete(image.key);
    b.counts.reused--;
    again.push({ image, label, coarse, file: datasetFile(b.root, image.path), source: e.source, mask: true, embed: true });
  }
  b.log(`keypoint features: ${records.size} up to date${again.length > 0 ? `, ${again.length} images computed again for them` : ''}`);
  return again;
}

/**
 * Settles the embeddings that are up to date (same image file, same embeddings hash) and marks the
 * rest: on the mask todos, and as embedding-only todos for images whose mask is up to date.
 */
async function staleEmbeddings(b: Build, images: ImageEntry[], maskTodo: Todo[], force: boolean): Promise<Todo[]> {
  const dim = b.encoders.model.embedDim;
  if (force) await fs.rm(path.join(b.dir, EMBEDDINGS_JOURNAL_FILE), { force: true });
  const prior = force ? new Map<string, EmbeddingRecord>() : await priorEmbeddings(b.dir, dim);
  const fresh = (key: string, imagePath: string, source: SourceStamp | undefined): boolean => {
    const p = prior.get(key);
    if (!p || !source || p.path !== imagePath || !sameSource(p.source, source) || p.embeddingsHash !== b.hashes.embeddings) return false;
    b.embeddings.set(key, p.vector);
    b.embeddingCounts.reused++;
    return true;
  };
  for (const t of maskTodo) t.embed = !fresh(t.image.key, t.image.path, t.source);
  const classIndex = new Map(b.project.classes.map((c, i) => [c.id, i]));
  const coarseValues = b.table.values.get(b.project.levels[0].name)!;
  const extra: Todo[] = [];
  for (const image of images) {
    const e = b.entries.get(image.key);
    if (!e || e.status !== 'ok' || fresh(image.key, image.path, e.source)) continue;
    const label = classIndex.get(image.classId)!;
    extra.push({ image, label, coarse: coarseValues[b.table.levelIndex[label][0]], file: datasetFile(b.root, image.path), source: e.source!, mask: false, embed: true });
  }
  const needed = maskTodo.filter((t) => t.embed).length + extra.length;
  b.log(`image embeddings: ${b.embeddingCounts.reused} up to date, ${needed} to compute${extra.length > 0 ? ` (${extra.length} of them for images whose mask is up to date)` : ''}`);
  return extra;
}

/**
 * The masks of the stale images with the MaskSession's steps, pipelined: images decode ahead,
 * the model runs batch i while batch i-1 is post-processed (labels, PNG, write, journal).
 */
async function computeMasks(b: Build, todo: Todo[], prototypes: PrototypeTensors, total: number, batchSize: number): Promise<MaskPhase> {
  const { session } = b.encoders;
  const dim = b.encoders.model.embedDim;
  const journal = new Journal(path.join(b.dir, b.journalFile));
  const embeddingsJournal = new EmbeddingsJournal(b.dir, b.embeddingsJournalFile);
  const keypointsJournal = b.keypoints ? new KeypointsJournal(b.dir, b.keypointsJournalFile) : undefined;
  const prompts = new Map([...prototypes.partT].map(([name, t]) => [name.slice('parts.'.length), { data: t.data, n: t.shape[0], dim }]));
  const counts = b.counts;
  const start = performance.now();
  const phase: MaskPhase = { seconds: 0, inferenceMs: 0, postprocessMs: 0, loadWaitMs: 0 };
  let settled = 0;
  const report = () => {
    const secs = (performance.now() - start) / 1000;
    const rate = settled > 0 && secs > 0 ? settled / secs : 0;
    const left = todo.length - settled;
    b.progress({ phase: 'masks', done: total - left, total, ...counts, embeddings: b.embeddingCounts.computed, imagesPerSecond: rate, etaSeconds: rate > 0 ? left / rate : undefined });
  };
  const record = (t: Todo, result: Pick<JournalEntry, 'status' | 'error' | 'mask' | 'maskWidth' | 'maskHeight' | 'maskSha256'>) => {
    b.entries.set(t.image.key, { key: t.image.key, path: t.image.path, split: t.image.split, label: t.label, ...result, source: t.source });
    journal.append({ key: t.image.key, path: t.image.path, coarse: t.coarse, masksHash: b.hashes.masks, source: t.source, ...result });
  };
  const finishBatch = async (loaded: Loaded[], feats: Map<Loaded, DenseMap>, globals: Map<Loaded, Float32Array>) => {
    const t0 = performance.now();
    await Promise.all(
      loaded.map(async (l) => {
        settled++;
        const vector = globals.get(l);
        if (vector) {
          const r = { key: l.todo.image.key, path: l.todo.image.path, source: l.todo.source, embeddingsHash: b.hashes.embeddings, vector };
          embeddingsJournal.append(r);
          b.embeddings.set(r.key, vector);
          b.embeddingCounts.computed++;
        }
        if (!l.todo.mask) {
          if (!vector) b.log(`warning: no image embedding for ${l.todo.image.path}: ${l.error ?? 'not computed'}`);
          return;
        }
        if (l.error || !l.image) {
          record(l.todo, { status: 'error', error: l.error ?? 'not loaded' });
          counts.errors++;
          return;
        }
        const size = maskDims(l.image.width, l.image.height, b.settings.maskSize);
        const pe = prompts.get(l.todo.coarse);
        const labels: LabelMap = pe
          ? session.labels(feats.get(l)!, pe, pe.n, size, b.masks).labels
          : { data: new Uint8Array(size.width * size.height), width: size.width, height: size.height, numParts: 0 };
        const points = b.keypoints?.byImage.get(l.todo.image.key);
        if (pe && points && keypointsJournal) {
          const k = sampleKeypointFeatures(feats.get(l)!, points, l.image.width, l.image.height, b.keypoints!.index);
          const r = { key: l.todo.image.key, path: l.todo.image.path, source: l.todo.source, keypointsHash: b.hashes.keypoints!, ...k };
          keypointsJournal.append(r);
          b.keypoints!.records.set(r.key, r);
        }
        const png = await encodeLabelMapPng(labels);
        const mask = maskFileName(l.todo.image.key, b.hashes.masks);
        await writeFileAtomic(path.join(b.dir, mask), png);
        record(l.todo, { status: 'ok', mask, maskWidth: size.width, maskHeight: size.height, maskSha256: bytesSha256(png) });
        counts.computed++;
      }),
    );
    phase.postprocessMs += performance.now() - t0;
    report();
  };
  // the model's input from the working decode (bounded memory); the mask keeps the full image's aspect
  const load = async (t: Todo): Promise<Loaded> => {
    try {
      const image = new ImageFile(t.file);
      const pixels = await session.inputPixels(image, b.masks);
      const { width, height } = await image.size();
      return { todo: t, image: { pixels, width, height } };
    } catch (err) {
      return { todo: t, error: `unreadable image: ${(err as Error).message}` };
    }
  };
  const loads = new Map<number, Promise<Loaded>>();
  let pending: Promise<void> | undefined;
  try {
    for (let first = 0; first < todo.length; first += batchSize) {
      checkCancelled(b.signal);
      for (let i = first; i < Math.min(first + 2 * batchSize, todo.length); i++) if (!loads.has(i)) loads.set(i, load(todo[i]));
      const batch: Loaded[] = [];
      const waitStart = performance.now();
      for (let i = first; i < Math.min(first + batchSize, todo.length); i++) {
        batch.push(await loads.get(i)!);
        loads.delete(i);
      }
      phase.loadWaitMs += performance.now() - waitStart;
      const t0 = performance.now();
      const encoded = encodeBatch(b, batch, prompts);
      encoded.then(() => (phase.inferenceMs += performance.now() - t0), () => {});
      if (pending) await pending;
      const { feats, globals } = await encoded;
      pending = finishBatch(batch, feats, globals);
    }
  } finally {
    // what was computed is journaled even when cancelled or failing
    if (pending) await pending.catch(() => {});
  }
  if (pending) await pending;
  phase.seconds = (performance.now() - start) / 1000;
  return phase;
}

/**
 * One model pass over a batch: per image, the dense features its mask needs (a stale mask of a
 * category with parts) and/or its embedding, in at most one call per kind of request.
 */
async function encodeBatch(b: Build, batch: Loaded[], prompts: Map<string, unknown>): Promise<{ feats: Map<Loaded, DenseMap>; globals: Map<Loaded, Float32Array> }> {
  const feats = new Map<Loaded, DenseMap>();
  const globals = new Map<Loaded, Float32Array>();
  const groups = new Map<string, Loaded[]>();
  for (const l of batch) {
    if (!l.image) continue;
    const dense = l.todo.mask && prompts.has(l.todo.coarse);
    if (!dense && !l.todo.embed) continue;
    const k = `${dense}|${l.todo.embed}`;
    groups.set(k, [...(groups.get(k) ?? []), l]);
  }
  for (const [k, group] of groups) {
    const [dense, global] = k.split('|').map((x) => x === 'true');
    const pixels = group.map((l) => l.image!.pixels);
    const out = await b.encoders.session.encodeImages(pixels, b.masks, { dense, global, signal: b.signal, batchSize: b.encoders.batchSize ?? pixels.length });
    const dim = out.global?.dim ?? 0;
    group.forEach((l, i) => {
      if (out.dense) feats.set(l, out.dense[i]);
      if (out.global) globals.set(l, out.global.data.slice(i * dim, (i + 1) * dim));
    });
  }
  return { feats, globals };
}

/** The prototypes file (when it changed) and the manifest, written last; then what no longer belongs is removed. */
async function writeManifest(b: Build, images: ImageEntry[], prototypes: PrototypeTensors, phase: MaskPhase): Promise<CacheManifest> {
  const { computed, reused, errors } = b.counts;
  b.progress({ phase: 'finish', done: images.length, total: images.length, computed, reused, errors, imagesPerSecond: computed / Math.max(phase.seconds, 1e-9) });
  checkCancelled(b.signal);
  const protoFile = path.join(b.dir, PROTOTYPES_FILE);
  const manifestFile = path.join(b.dir, MANIFEST_FILE);
  const previousFile = path.join(b.dir, PREVIOUS_MANIFEST_FILE);
  // set the old manifest aside while the prototypes file changes under it
  if (!(prototypes.reuseClass && prototypes.reuseParts && existsSync(protoFile))) {
    if (existsSync(manifestFile)) await fs.rename(manifestFile, previousFile);
    await writeFileAtomic(protoFile, Buffer.concat(encodePrototypes({ classTensors: prototypes.classT, partTensors: prototypes.partT, prototypesHash: b.hashes.prototypes, partsHash: b.hashes.parts })));
  }
  // the embeddings of ok images, in manifest order; a new file beside the old one (content-named)
  const okKeys = images.map((i) => b.entries.get(i.key)!).filter((e) => e.status === 'ok').map((e) => e.key);
  const embeddings = await writeEmbeddingsFile(b.dir, okKeys, b.embeddings, b.encoders.model.embedDim, b.hashes.embeddings);
  const keypoints = b.keypoints ? await writeKeypointFeaturesFile(b.dir, okKeys, b.keypoints.records, b.encoders.model.embedDim, b.hashes.keypoints!, b.keypoints.names) : undefined;
  const manifest = makeManifest({
    project: b.project,
    projectFile: b.projectFile,
    root: b.root,
    encoders: b.encoders,
    hashes: b.hashes,
    settings: b.settings,
    values: b.table.values,
    levelIndex: b.table.levelIndex,
    partNames: b.partNames,
    images: images.map((i) => {
      const e = withRelabel(b, { ...b.entries.get(i.key)! });
      const row = embeddings.rows.get(i.key);
      if (row !== undefined) e.embedding = row;
      const range = keypoints?.ranges.get(i.key);
      if (range) e.keypoints = range;
      return e;
    }),
    prototypesSha256: await fileSha256(protoFile),
    embeddings: embeddings.entry,
    keypointFeatures: keypoints?.entry,
  });
  await writeFileAtomic(manifestFile, JSON.stringify(manifest, null, 1) + '\n');
  await fs.rm(previousFile, { force: true });
  await fs.rm(path.join(b.dir, JOURNAL_FILE), { force: true });
  // the shards' journals and completion records are in the manifest now
  for (const name of await fs.readdir(b.dir)) if (SHARD_JOURNAL_RE.test(name) || SHARD_DONE_RE.test(name)) await fs.rm(path.join(b.dir, name), { force: true });
  await removeUnreferencedMasks(b.dir, manifest);
  await removeOldEmbeddings(b.dir, manifest.embeddings?.file);
  await removeOldKeypointFeatures(b.dir, manifest.keypointFeatures?.file);
  return manifest;
}

/** The dataset's own class id on the entry of a relabelled image. */
function withRelabel(b: Build, entry: ManifestImage): ManifestImage {
  const from = b.decisions.relabeledFrom.get(entry.key);
  return from === undefined ? entry : { ...entry, relabeledFrom: from };
}

function makeManifest(o: {
  project: Project;
  projectFile: string;
  root: string;
  encoders: CacheEncoders;
  hashes: CacheHashes;
  settings: MaskBuildSettings;
  values: Map<string, string[]>;
  levelIndex: number[][];
  partNames: Map<string, string[]>;
  images: ManifestImage[];
  prototypesSha256: string;
  embeddings: ManifestEmbeddings;
  keypointFeatures?: ManifestKeypoints;
}): CacheManifest {
  const { project } = o;
  const ok = o.images.filter((i) => i.status === 'ok').length;
  const excluded = o.images.filter((i) => i.status === 'excluded').length;
  return {
    format: 'pscl-cache',
    version: 1,
    createdBy: CREATED_BY,
    createdAt: buildTime(),
    project: o.projectFile,
    datasetRoot: o.root,
    model: { ...o.encoders.model },
    hashes: o.hashes,
    settings: o.settings,
    levels: project.levels.map((l) => l.name),
    levelValues: Object.fromEntries(project.levels.map((l) => [l.name, o.values.get(l.name)!])),
    classes: project.classes.map((c, index) => ({ index, id: c.id, name: c.name, levelIndex: o.levelIndex[index] })),
    parts: Object.fromEntries(o.partNames),
    numPartSlots: Math.max(0, ...[...o.partNames.values()].map((p) => p.length)),
    maskSize: o.settings.maskSize,
    files: { prototypes: o.prototypesSha256 },
    embeddings: o.embeddings,
    ...(o.keypointFeatures ? { keypointFeatures: o.keypointFeatures } : {}),
    counts: { images: o.images.length, ok, error: o.images.length - ok - excluded, ...(excluded > 0 ? { excluded } : {}) },
    images: o.images,
  };
}

/**
 * The manifest's creation time: SOURCE_DATE_EPOCH (seconds, the reproducible-builds convention) when
 * set, so two builds of the same inputs give the same bytes; else now.
 */
export function buildTime(): string {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch !== undefined && /^\d+$/.test(epoch.trim())) return new Date(Number(epoch) * 1000).toISOString();
  return new Date().toISOString();
}

/** Masks of earlier settings or deleted images, once the new manifest no longer names them. */
async function removeUnreferencedMasks(dir: string, manifest: CacheManifest): Promise<void> {
  const keep = new Set(manifest.images.map((i) => i.mask).filter((m): m is string => !!m));
  for (const name of await fs.readdir(path.join(dir, MASKS_DIR))) {
    if (name.endsWith('.png') && !keep.has(`${MASKS_DIR}/${name}`)) await fs.rm(path.join(dir, MASKS_DIR, name), { force: true });
  }
}
