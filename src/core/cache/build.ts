// Builds the training cache (docs/cache-format.md): part label maps for every image through the
// shared mask pipeline, the VLCL-MG prototypes and part embeddings, and the manifest, written last.
//
// Incremental: a mask is reused when its image file (size, mtime), its coarse category and the masks
// hash are unchanged; the class prototypes and the part embeddings are reused when their own hashes
// are. Resumable: every finished mask is journaled (journal.ts), and mask files carry the masks hash
// in their names, so a killed build leaves the previous manifest and its files valid.
// Pipelined: images decode (sharp's thread pool) ahead of the model, and the masks of one batch are
// computed and encoded while the model runs the next.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { encodeLabelMapPng } from '../masks/export';
import type { LabelMap } from '../masks/labels';
import { computePartMasks } from '../masks/pipeline';
import { DEFAULT_PREVIEW_SETTINGS } from '../masks/previewProtocol';
import { CLIP_LOGIT_SCALE, type DenseFeatures } from '../masks/similarity';
import { buildClassPrototypes, buildPartEmbeddings, levelTable } from '../prototypes/build';
import { datasetFile, datasetRoot, loadImages } from '../taxonomy/importers';
import type { ImageEntry, Project } from '../taxonomy/model';
import { parseProject } from '../taxonomy/project';
import { validateProject } from '../taxonomy/validate';
import { writeFileAtomic } from '../util/atomicWrite';
import type { CacheEncoders, LoadedImage } from './encoders';
import { bytesSha256, cacheHashes, canonicalSettings, fileSha256, shortHash, type CacheHashes, type MaskBuildSettings } from './hashes';
import { Journal, readJournal, type JournalEntry } from './journal';
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
  type ManifestImage,
  type SourceStamp,
} from './manifest';
import { classTensors, encodePrototypes, FINE_TENSOR, levelTensor, partTensors, partsTensor, readPrototypes, type StoredTensor } from './prototypesFile';

export const CREATED_BY = 'pscl-studio 0.1.0';
export const DEFAULT_MASK_SIZE = 224;

export interface CacheProgress {
  phase: 'prepare' | 'prototypes' | 'masks' | 'finish';
  /** Images settled so far (reused, computed or failed) out of `total`. */
  done: number;
  total: number;
  computed: number;
  reused: number;
  errors: number;
  /** Masks computed per second in this build (0 before the first batch). */
  imagesPerSecond: number;
  /** Seconds left at the current rate; undefined before the first batch. */
  etaSeconds?: number;
}

export interface BuildCacheOptions {
  projectFile: string;
  /** The project as already parsed (the backend's copy); read from projectFile otherwise. */
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
}

export interface CacheBuildResult {
  dir: string;
  manifest: CacheManifest;
  images: { total: number; computed: number; reused: number; errors: number };
  prototypes: 'computed' | 'reused';
  partEmbeddings: 'computed' | 'reused';
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

/** Settings left out are the mask preview's defaults, so the cache holds what the preview shows. */
export function defaultSettings(s: Partial<MaskBuildSettings> = {}): MaskBuildSettings {
  const out: MaskBuildSettings = {
    maskSize: s.maskSize ?? DEFAULT_MASK_SIZE,
    inputSize: s.inputSize ?? DEFAULT_PREVIEW_SETTINGS.size,
    variant: s.variant ?? DEFAULT_PREVIEW_SETTINGS.variant,
    kernel: s.kernel ?? DEFAULT_PREVIEW_SETTINGS.kernel,
    threshold: s.threshold ?? DEFAULT_PREVIEW_SETTINGS.threshold,
    logitScale: s.logitScale ?? CLIP_LOGIT_SCALE,
  };
  for (const k of ['maskSize', 'inputSize', 'kernel'] as const) {
    if (!Number.isInteger(out[k]) || out[k] < 1 || out[k] > 8192) throw new CacheError(`${k} must be an integer from 1 to 8192 (got ${out[k]})`);
  }
  if (out.kernel % 2 === 0) throw new CacheError(`kernel must be odd (got ${out.kernel})`);
  if (!(out.threshold >= 0 && out.threshold <= 1)) throw new CacheError(`threshold must be a probability from 0 to 1 (got ${out.threshold})`);
  return canonicalSettings(out);
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

async function readProjectFile(file: string): Promise<Project> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new CacheError(`cannot read the project file ${file}: ${(err as Error).message}`);
  }
  const parsed = parseProject(text, file);
  const errors = [...parsed.diagnostics, ...(parsed.project ? validateProject(parsed) : [])].filter((d) => d.severity === 'error');
  if (!parsed.project || errors.length > 0) {
    const first = errors.slice(0, 3).map((d) => `  ${d.range.start.line + 1}:${d.range.start.character + 1} ${d.message}`).join('\n');
    throw new CacheError(`${file} has ${errors.length} error(s); fix them first (\`pscl validate ${file}\`):\n${first}`);
  }
  return parsed.project;
}

/** Records of masks made by earlier builds: the last manifest (or the one set aside), then the journal. */
async function priorRecords(dir: string): Promise<Map<string, JournalEntry>> {
  const out = new Map<string, JournalEntry>();
  const m = (await readManifest(dir).catch(() => undefined)) ?? (await readManifest(dir, PREVIOUS_MANIFEST_FILE).catch(() => undefined));
  if (m) {
    const coarseValues = m.levelValues[m.levels[0]] ?? [];
    for (const img of m.images) {
      if (!img.source) continue;
      const cls = m.classes[img.label];
      out.set(img.key, {
        key: img.key,
        path: img.path,
        coarse: cls ? coarseValues[cls.levelIndex[0]] : '',
        masksHash: m.hashes.masks,
        source: img.source,
        status: img.status,
        mask: img.mask,
        maskWidth: img.maskWidth,
        maskHeight: img.maskHeight,
        maskSha256: img.maskSha256,
        error: img.error,
      });
    }
  }
  for (const e of await readJournal(path.join(dir, JOURNAL_FILE))) out.set(e.key, e);
  return out;
}

/** Temp files of writes a kill interrupted. */
async function removeTempFiles(dir: string): Promise<void> {
  for (const d of [dir, path.join(dir, MASKS_DIR)]) {
    for (const name of await fs.readdir(d).catch(() => [] as string[])) {
      if (name.startsWith('.') && name.endsWith('.tmp')) await fs.rm(path.join(d, name), { force: true });
    }
  }
}

function sameSource(a: SourceStamp | undefined, b: SourceStamp): boolean {
  return !!a && a.bytes === b.bytes && a.mtimeMs === b.mtimeMs;
}

function maskDims(width: number, height: number, maskSize: number): { width: number; height: number } {
  const scale = maskSize / Math.max(width, height);
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

interface Todo {
  image: ImageEntry;
  label: number;
  coarse: string;
  file: string;
  source: SourceStamp;
}

type Loaded = { todo: Todo; image?: LoadedImage; error?: string };

export async function buildCache(options: BuildCacheOptions): Promise<CacheBuildResult> {
  const started = performance.now();
  const { encoders, signal } = options;
  const log = options.log ?? (() => {});
  const projectFile = path.resolve(options.projectFile);
  const project = options.project ?? (await readProjectFile(projectFile));
  const settings = defaultSettings(options.settings);
  const batchSize = Math.max(1, options.batchSize ?? 8);
  const dim = encoders.model.embedDim;
  const hashes = cacheHashes(project, encoders.model.hash, settings);
  const dir = path.resolve(options.outDir);
  await fs.mkdir(path.join(dir, MASKS_DIR), { recursive: true }).catch((err: Error) => {
    throw new CacheError(`cannot create the cache folder ${dir}: ${err.message}; choose another --out`);
  });
  await removeTempFiles(dir);
  const journalFile = path.join(dir, JOURNAL_FILE);
  if (options.force) await fs.rm(journalFile, { force: true });
  const prior = options.force ? new Map<string, JournalEntry>() : await priorRecords(dir);

  const progress = (p: Omit<CacheProgress, 'imagesPerSecond'> & { imagesPerSecond?: number }) => options.onProgress?.({ imagesPerSecond: 0, ...p });
  progress({ phase: 'prepare', done: 0, total: 0, computed: 0, reused: 0, errors: 0 });
  const { images, warnings } = await loadImages(project, projectFile, signal).catch((err: Error) => {
    if (err.name === 'AbortError') throw new Cancelled();
    throw new CacheError(`cannot list the images of ${datasetRoot(project, projectFile)}: ${err.message}`);
  });
  for (const w of warnings) log(`warning: ${w}`);
  const root = datasetRoot(project, projectFile);
  const { values, levelIndex } = levelTable(project);
  const coarseName = project.levels[0].name;
  const classIndex = new Map(project.classes.map((c, i) => [c.id, i]));

  // prototypes and part embeddings: reuse what the stored file holds under the same hashes
  progress({ phase: 'prototypes', done: 0, total: images.length, computed: 0, reused: 0, errors: 0 });
  const protoFile = path.join(dir, PROTOTYPES_FILE);
  const stored = options.force ? undefined : readPrototypes(protoFile);
  const expectClass = new Map<string, number[]>(project.levels.map((l) => [levelTensor(l.name), [values.get(l.name)!.length, dim]]));
  expectClass.set(FINE_TENSOR, [project.classes.length, dim]);
  const coarseValues = values.get(coarseName)!;
  const partNames = new Map(coarseValues.filter((c) => (project.parts[c] ?? []).length > 0).map((c) => [c, project.parts[c].map((p) => p.name)]));
  const expectParts = new Map([...partNames].map(([c, names]) => [partsTensor(c), [names.length, dim]]));
  const fits = (have: Map<string, StoredTensor> | undefined, want: Map<string, number[]>) =>
    !!have && have.size === want.size && [...want].every(([n, shape]) => have.get(n)?.shape.join() === shape.join());
  const reuseClass = stored?.prototypesHash === hashes.prototypes && fits(stored.classTensors, expectClass);
  const reuseParts = stored?.partsHash === hashes.parts && fits(stored.partTensors, expectParts);
  const embed = (texts: string[], s?: AbortSignal) => encoders.embedTexts(texts, s);
  const classT = reuseClass ? stored!.classTensors : classTensors(await buildClassPrototypes(project, embed, dim, signal));
  const partT = reuseParts ? stored!.partTensors : partTensors(await buildPartEmbeddings(project, embed, dim, signal));
  log(`prototypes ${reuseClass ? 'reused' : 'computed'}, part embeddings ${reuseParts ? 'reused' : 'computed'}`);

  // which masks are stale
  const entries = new Map<string, ManifestImage>();
  const todo: Todo[] = [];
  let reused = 0;
  let errors = 0;
  for (const image of images) {
    const label = classIndex.get(image.classId);
    const base = { key: image.key, path: image.path, split: image.split, label: label ?? -1 };
    if (label === undefined) {
      entries.set(image.key, { ...base, status: 'error', error: `class id '${image.classId}' is not in the project` });
      errors++;
      continue;
    }
    const coarse = coarseValues[levelIndex[label][0]];
    let file: string;
    try {
      file = datasetFile(root, image.path);
    } catch (err) {
      entries.set(image.key, { ...base, status: 'error', error: (err as Error).message });
      errors++;
      continue;
    }
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) {
      entries.set(image.key, { ...base, status: 'error', error: `image not found: ${file}` });
      errors++;
      continue;
    }
    const source = { bytes: st.size, mtimeMs: st.mtimeMs };
    const p = prior.get(image.key);
    const samePlace = p && p.path === image.path && sameSource(p.source, source);
    if (samePlace && p.status === 'error') {
      entries.set(image.key, { ...base, status: 'error', error: p.error, source });
      errors++;
    } else if (samePlace && p.status === 'ok' && p.masksHash === hashes.masks && p.coarse === coarse && p.mask && isMaskPath(p.mask) && existsSync(path.join(dir, p.mask))) {
      entries.set(image.key, { ...base, status: 'ok', mask: p.mask, maskWidth: p.maskWidth, maskHeight: p.maskHeight, maskSha256: p.maskSha256, source });
      reused++;
    } else {
      todo.push({ image, label, coarse, file, source });
    }
  }
  log(`${images.length} images: ${reused} up to date, ${todo.length} to compute`);

  // masks, pipelined: load ahead, run the model on batch i while batch i-1 is post-processed
  const journal = new Journal(journalFile);
  const prompts = new Map([...partT].map(([name, t]) => [name.slice('parts.'.length), { data: t.data, n: t.shape[0], dim }]));
  const maskStart = performance.now();
  let inferenceMs = 0;
  let postprocessMs = 0;
  let loadWaitMs = 0;
  let computed = 0;
  const total = images.length;
  const report = () => {
    const secs = (performance.now() - maskStart) / 1000;
    const rate = computed > 0 && secs > 0 ? computed / secs : 0;
    const left = todo.length - computed - todoErrors;
    progress({ phase: 'masks', done: reused + computed + errors, total, computed, reused, errors, imagesPerSecond: rate, etaSeconds: rate > 0 ? left / rate : undefined });
  };
  let todoErrors = 0;
  const fail = (t: Todo, error: string) => {
    entries.set(t.image.key, { key: t.image.key, path: t.image.path, split: t.image.split, label: t.label, status: 'error', error, source: t.source });
    journal.append({ key: t.image.key, path: t.image.path, coarse: t.coarse, masksHash: hashes.masks, source: t.source, status: 'error', error });
    errors++;
    todoErrors++;
  };
  const finishBatch = async (loaded: Loaded[], feats: Map<Loaded, DenseFeatures>) => {
    const t0 = performance.now();
    await Promise.all(
      loaded.map(async (l) => {
        if (l.error || !l.image) return fail(l.todo, l.error ?? 'not loaded');
        const { todo: t, image } = l;
        const size = maskDims(image.width, image.height, settings.maskSize);
        const pe = prompts.get(t.coarse);
        const labels: LabelMap = pe
          ? computePartMasks(feats.get(l)!, pe, pe.n, size, settings).labels
          : { data: new Uint8Array(size.width * size.height), width: size.width, height: size.height, numParts: 0 };
        const png = await encodeLabelMapPng(labels);
        const mask = maskFileName(t.image.key, hashes.masks);
        await writeFileAtomic(path.join(dir, mask), png);
        const rec = { maskWidth: size.width, maskHeight: size.height, maskSha256: bytesSha256(png) };
        entries.set(t.image.key, { key: t.image.key, path: t.image.path, split: t.image.split, label: t.label, status: 'ok', mask, ...rec, source: t.source });
        journal.append({ key: t.image.key, path: t.image.path, coarse: t.coarse, masksHash: hashes.masks, source: t.source, status: 'ok', mask, ...rec });
        computed++;
      }),
    );
    postprocessMs += performance.now() - t0;
    report();
  };
  const load = (t: Todo): Promise<Loaded> =>
    encoders.loadImage(t.file, settings.inputSize).then(
      (image) => ({ todo: t, image }),
      (err: Error) => ({ todo: t, error: `unreadable image: ${err.message}` }),
    );
  const loads = new Map<number, Promise<Loaded>>();
  let pending: Promise<void> | undefined;
  try {
    for (let b = 0; b < todo.length; b += batchSize) {
      checkCancelled(signal);
      for (let i = b; i < Math.min(b + 2 * batchSize, todo.length); i++) if (!loads.has(i)) loads.set(i, load(todo[i]));
      const batch: Loaded[] = [];
      const waitStart = performance.now();
      for (let i = b; i < Math.min(b + batchSize, todo.length); i++) {
        batch.push(await loads.get(i)!);
        loads.delete(i);
      }
      loadWaitMs += performance.now() - waitStart;
      const withParts = batch.filter((l) => l.image && prompts.has(l.todo.coarse));
      const t0 = performance.now();
      const dense = withParts.length > 0 ? encoders.denseFeatures(withParts.map((l) => l.image!.pixels), { variant: settings.variant, signal }) : Promise.resolve([]);
      dense.then(() => (inferenceMs += performance.now() - t0), () => {});
      if (pending) await pending;
      const feats = await dense;
      pending = finishBatch(batch, new Map(withParts.map((l, i) => [l, feats[i]])));
    }
  } finally {
    // what was computed is journaled even when cancelled or failing
    if (pending) await pending.catch(() => {});
  }
  if (pending) await pending;
  const maskPhaseSeconds = (performance.now() - maskStart) / 1000;

  // manifest last: set the old one aside while the prototypes file changes under it
  progress({ phase: 'finish', done: total, total, computed, reused, errors, imagesPerSecond: computed / Math.max(maskPhaseSeconds, 1e-9) });
  checkCancelled(signal);
  const manifestFile = path.join(dir, MANIFEST_FILE);
  const previousFile = path.join(dir, PREVIOUS_MANIFEST_FILE);
  if (!(reuseClass && reuseParts && existsSync(protoFile))) {
    if (existsSync(manifestFile)) await fs.rename(manifestFile, previousFile);
    await writeFileAtomic(protoFile, Buffer.concat(encodePrototypes({ classTensors: classT, partTensors: partT, prototypesHash: hashes.prototypes, partsHash: hashes.parts })));
  }
  const manifest = makeManifest({
    project,
    projectFile,
    root,
    encoders,
    hashes,
    settings,
    values,
    levelIndex,
    partNames,
    images: images.map((i) => entries.get(i.key)!),
    prototypesSha256: await fileSha256(protoFile),
  });
  await writeFileAtomic(manifestFile, JSON.stringify(manifest, null, 1) + '\n');
  await fs.rm(previousFile, { force: true });
  await fs.rm(journalFile, { force: true });
  await removeUnreferencedMasks(dir, manifest);
  const seconds = (performance.now() - started) / 1000;
  return {
    dir,
    manifest,
    images: { total, computed, reused, errors },
    prototypes: reuseClass ? 'reused' : 'computed',
    partEmbeddings: reuseParts ? 'reused' : 'computed',
    seconds,
    imagesPerSecond: computed / Math.max(maskPhaseSeconds, 1e-9),
    maskPhaseSeconds,
    inferenceSeconds: inferenceMs / 1000,
    postprocessSeconds: postprocessMs / 1000,
    loadWaitSeconds: loadWaitMs / 1000,
  };
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
}): CacheManifest {
  const { project } = o;
  const ok = o.images.filter((i) => i.status === 'ok').length;
  return {
    format: 'pscl-cache',
    version: 1,
    createdBy: CREATED_BY,
    createdAt: new Date().toISOString(),
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
    counts: { images: o.images.length, ok, error: o.images.length - ok },
    images: o.images,
  };
}

/** Masks of earlier settings or deleted images, once the new manifest no longer names them. */
async function removeUnreferencedMasks(dir: string, manifest: CacheManifest): Promise<void> {
  const keep = new Set(manifest.images.map((i) => i.mask).filter((m): m is string => !!m));
  for (const name of await fs.readdir(path.join(dir, MASKS_DIR))) {
    if (name.endsWith('.png') && !keep.has(`${MASKS_DIR}/${name}`)) await fs.rm(path.join(dir, MASKS_DIR, name), { force: true });
  }
}
