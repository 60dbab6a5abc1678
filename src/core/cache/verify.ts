// Checks a cache folder against its manifest: every file present, every hash matching, masks of
// the recorded size and label range, prototype tensors of the recorded shapes with unit rows, and
// (when the project file is still there) whether its prompts changed since the build.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { SafetensorsFile } from '../clip/safetensors';
import { decodeLabelMapPng } from '../masks/export';
import { classPromptsHash, partPromptsHash } from '../parts/prompts';
import { loadProject } from '../project';
import { decisionsHash } from '../taxonomy/decisions';
import type { Project } from '../taxonomy/model';
import { bytesSha256, fileSha256 } from './hashes';
import { imagePathProblem } from '../taxonomy/importers/common';
import { CacheError, isMaskPath, PROTOTYPES_FILE, readManifest, type CacheManifest } from './manifest';
import { describeHolder, readCacheLock } from './lock';
import { FINE_TENSOR, levelTensor, partsTensor } from './prototypesFile';
import { isEmbeddingsPath, readEmbeddingsTensor } from './embeddings';
import { readKeypointTensors } from './keypointFeatures';

export interface VerifyReport {
  manifest?: CacheManifest;
  problems: string[];
  /** Not wrong, worth knowing (e.g. the project changed since the build). */
  notes: string[];
  checked: { masks: number; tensors: number; embeddings: number; keypoints: number };
}

const UNIT_TOLERANCE = 1e-3;

export async function verifyCache(dir: string, options: { signal?: AbortSignal } = {}): Promise<VerifyReport> {
  const report: VerifyReport = { problems: [], notes: [], checked: { masks: 0, tensors: 0, embeddings: 0, keypoints: 0 } };
  const problem = (m: string) => report.problems.push(m);
  const lock = await readCacheLock(dir).catch(() => undefined);
  if (lock?.state === 'held') report.notes.push(`${describeHolder(dir, lock.lock)}: what is checked may change under it`);
  let manifest: CacheManifest | undefined;
  try {
    manifest = await readManifest(dir);
  } catch (err) {
    problem((err as CacheError).message);
    return report;
  }
  if (!manifest) {
    problem(`${path.join(dir, 'manifest.json')} is missing: the cache was never completed; run \`pscl cache build\``);
    return report;
  }
  report.manifest = manifest;
  checkPrototypes(dir, manifest, report, problem);
  await checkMasks(dir, manifest, report, problem, options.signal);
  await checkEmbeddings(dir, manifest, report, problem);
  await checkKeypointFeatures(dir, manifest, report, problem);
  await checkStale(manifest, report);
  return report;
}

function checkPrototypes(dir: string, m: CacheManifest, report: VerifyReport, problem: (s: string) => void): void {
  const file = path.join(dir, PROTOTYPES_FILE);
  if (!existsSync(file)) return problem(`${PROTOTYPES_FILE} is missing`);
  let f: SafetensorsFile;
  try {
    f = SafetensorsFile.open(file);
  } catch (err) {
    return problem(`${PROTOTYPES_FILE}: ${(err as Error).message}`);
  }
  try {
    if (f.metadata.prototypesHash !== m.hashes.prototypes) problem(`${PROTOTYPES_FILE}: made for prototypes hash ${f.metadata.prototypesHash}, the manifest says ${m.hashes.prototypes}`);
    if (f.metadata.partsHash !== m.hashes.parts) problem(`${PROTOTYPES_FILE}: made for parts hash ${f.metadata.partsHash}, the manifest says ${m.hashes.parts}`);
    const d = m.model.embedDim;
    const want = new Map<string, number[]>();
    for (const l of m.levels) want.set(levelTensor(l), [m.levelValues[l]?.length ?? -1, d]);
    want.set(FINE_TENSOR, [m.classes.length, d]);
    for (const [c, parts] of Object.entries(m.parts)) want.set(partsTensor(c), [parts.length, d]);
    for (const [name, shape] of want) {
      const info = f.tensors.get(name);
      if (!info) {
        problem(`${PROTOTYPES_FILE}: tensor '${name}' is missing`);
        continue;
      }
      if (info.dtype !== 'F32') problem(`${PROTOTYPES_FILE}: tensor '${name}' is ${info.dtype}, expected F32`);
      if (info.shape.join() !== shape.join()) {
        problem(`${PROTOTYPES_FILE}: tensor '${name}' has shape [${info.shape}], expected [${shape}]`);
        continue;
      }
      const data = f.readFloat32(name);
      for (let r = 0; r < shape[0]; r++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += data[r * d + j] ** 2;
        if (Math.abs(Math.sqrt(s) - 1) > UNIT_TOLERANCE) {
          problem(`${PROTOTYPES_FILE}: row ${r} of '${name}' has norm ${Math.sqrt(s).toFixed(4)}, expected 1`);
          break;
        }
      }
      report.checked.tensors++;
    }
    for (const name of f.tensors.keys()) if (!want.has(name)) problem(`${PROTOTYPES_FILE}: unexpected tensor '${name}'`);
  } finally {
    f.close();
  }
}

async function checkMasks(dir: string, m: CacheManifest, report: VerifyReport, problem: (s: string) => void, signal?: AbortSignal): Promise<void> {
  const coarse = m.levelValues[m.levels[0]] ?? [];
  const seen = new Set<string>();
  for (const img of m.images) {
    if (signal?.aborted) throw new CacheError('verification cancelled');
    const who = `image ${img.key} (${img.path})`;
    if (seen.has(img.key)) problem(`${who}: key listed twice`);
    seen.add(img.key);
    const pathWhy = typeof img.path === 'string' ? imagePathProblem(img.path) : 'is not a string';
    if (pathWhy) problem(`${who}: the image path ${pathWhy}`);
    if (img.status === 'error') {
      if (!img.error) problem(`${who}: status error without a message`);
      continue;
    }
    if (img.status === 'excluded') continue; // left out by the project; a mask it keeps is checked by name only

    if (img.status !== 'ok') {
      problem(`${who}: unknown status '${img.status}'`);
      continue;
    }
    const cls = m.classes[img.label];
    if (!cls) {
      problem(`${who}: label ${img.label} outside 0..${m.classes.length - 1}`);
      continue;
    }
    if (!img.mask) {
      if (m.numPartSlots > 0) problem(`${who}: status ok but no mask`);
      continue;
    }
    if (typeof img.mask !== 'string' || !isMaskPath(img.mask)) {
      // never followed: a crafted manifest could name any file ('../../etc/passwd')
      problem(`${who}: mask ${JSON.stringify(img.mask)} is not a file name inside ${path.join(dir, 'masks')}; build the cache again`);
      continue;
    }
    const file = path.join(dir, img.mask);
    let png: Buffer;
    try {
      png = await fs.readFile(file);
    } catch {
      problem(`${who}: mask ${img.mask} is missing`);
      continue;
    }
    if (img.maskSha256 && bytesSha256(png) !== img.maskSha256) problem(`${who}: mask ${img.mask} does not match its hash in the manifest (changed or corrupt)`);
    const numParts = m.parts[coarse[cls.levelIndex[0]]]?.length ?? 0;
    try {
      const labels = await decodeLabelMapPng(png, img.mask, numParts);
      if (labels.width !== img.maskWidth || labels.height !== img.maskHeight) {
        problem(`${who}: mask is ${labels.width}x${labels.height}, the manifest says ${img.maskWidth}x${img.maskHeight}`);
      }
      if (Math.max(labels.width, labels.height) !== m.maskSize) problem(`${who}: mask long side is ${Math.max(labels.width, labels.height)}, expected maskSize ${m.maskSize}`);
    } catch (err) {
      problem(`${who}: ${(err as Error).message}`);
    }
    report.checked.masks++;
  }
  const protoHash = await fileSha256(path.join(dir, PROTOTYPES_FILE)).catch(() => undefined);
  if (protoHash && protoHash !== m.files?.prototypes) problem(`${PROTOTYPES_FILE} does not match its hash in the manifest (changed or corrupt)`);
}

/** The embeddings file: named as the manifest says, its hash, shape, unit rows, and each image's row. */
async function checkEmbeddings(dir: string, m: CacheManifest, report: VerifyReport, problem: (s: string) => void): Promise<void> {
  const e = m.embeddings;
  const rowsUsed = m.images.filter((i) => i.embedding !== undefined);
  if (!e) {
    if (rowsUsed.length > 0) problem(`${rowsUsed.length} images have an embedding row but the manifest names no embeddings file`);
    else report.notes.push('no image embeddings (a cache built before they existed): `pscl cache build` adds them without recomputing the masks');
    return;
  }
  if (typeof e.file !== 'string' || !isEmbeddingsPath(e.file)) return problem(`embeddings file ${JSON.stringify(e.file)} is not an embeddings-<hash>.safetensors name inside ${dir}; build the cache again`);
  let data: Float32Array;
  try {
    data = readEmbeddingsTensor(dir, m);
  } catch (err) {
    return problem((err as Error).message);
  }
  const hash = await fileSha256(path.join(dir, e.file)).catch(() => undefined);
  if (hash !== e.sha256) problem(`${e.file} does not match its hash in the manifest (changed or corrupt)`);
  for (let r = 0; r < e.rows; r++) {
    let s = 0;
    for (let j = 0; j < e.dim; j++) s += data[r * e.dim + j] ** 2;
    if (!(Math.abs(Math.sqrt(s) - 1) <= UNIT_TOLERANCE)) {
      problem(`${e.file}: row ${r} has norm ${Math.sqrt(s).toFixed(4)}, expected 1`);
      break;
    }
  }
  const owner = new Map<number, string>();
  let without = 0;
  for (const img of m.images) {
    const row = img.embedding;
    if (row === undefined) {
      if (img.status === 'ok') without++;
      continue;
    }
    const who = `image ${img.key} (${img.path})`;
    if (img.status !== 'ok') problem(`${who}: status ${img.status} but an embedding row`);
    if (!Number.isInteger(row) || row < 0 || row >= e.rows) problem(`${who}: embedding row ${row} outside 0..${e.rows - 1}`);
    else if (owner.has(row)) problem(`${who}: embedding row ${row} is also image ${owner.get(row)}'s`);
    else owner.set(row, img.key);
  }
  if (owner.size < e.rows) problem(`${e.file}: ${e.rows} rows, but only ${owner.size} images point at one`);
  if (without > 0) report.notes.push(`${without} images have no embedding (not computed): run \`pscl cache build\` again`);
  report.checked.embeddings = owner.size;
}

/** The keypoint features file: name, hash, shapes, unit rows, part indices, positions, and each image's rows. */
async function checkKeypointFeatures(dir: string, m: CacheManifest, report: VerifyReport, problem: (s: string) => void): Promise<void> {
  const e = m.keypointFeatures;
  if (!e) {
    if (m.images.some((i) => i.keypoints !== undefined)) problem('images have keypoint rows but the manifest names no keypoint features file');
    return;
  }
  let t: ReturnType<typeof readKeypointTensors>;
  try {
    t = readKeypointTensors(dir, m);
  } catch (err) {
    return problem((err as Error).message);
  }
  if ((await fileSha256(path.join(dir, e.file)).catch(() => undefined)) !== e.sha256) problem(`${e.file} does not match its hash in the manifest (changed or corrupt)`);
  for (let r = 0; r < e.rows; r++) {
    let s = 0;
    for (let j = 0; j < e.dim; j++) s += t.features[r * e.dim + j] ** 2;
    const part = t.part[r];
    const [x, y] = [t.position[2 * r], t.position[2 * r + 1]];
    // stored as float16: unit rows to its precision
    const why = Math.abs(Math.sqrt(s) - 1) > 1e-2 ? `has norm ${Math.sqrt(s).toFixed(4)}, expected 1` : !Number.isInteger(part) || part < 0 || part >= e.parts.length ? `has part index ${part}, outside 0..${e.parts.length - 1}` : !(x >= 0 && x <= 1 && y >= 0 && y <= 1) ? `has position (${x}, ${y}) outside the image` : undefined;
    if (why) {
      problem(`${e.file}: keypoint row ${r} ${why}`);
      break;
    }
  }
  let covered = 0;
  let next = 0;
  for (const img of m.images) {
    if (img.keypoints === undefined) continue;
    const [start, count] = img.keypoints;
    if (img.status !== 'ok' || start !== next || !(count > 0) || start + count > e.rows) {
      problem(`image ${img.key} (${img.path}): keypoint rows [${img.keypoints}] do not follow the previous image's within 0..${e.rows}`);
      return;
    }
    next = start + count;
    covered += count;
  }
  if (covered !== e.rows) problem(`${e.file}: ${e.rows} keypoint rows, but images point at ${covered}`);
  report.checked.keypoints = covered;
}

/** Prompts changed since the build: the cache is consistent but no longer what the project says. */
async function checkStale(m: CacheManifest, report: VerifyReport): Promise<void> {
  let project: Project;
  try {
    project = (await loadProject(m.project, { require: 'syntax' })).project;
  } catch (err) {
    report.notes.push(`${(err as Error).message}: staleness not checked`);
    return;
  }
  if (partPromptsHash(project) !== m.hashes.partPrompts) report.notes.push(`part prompts or templates changed since the build: the masks are stale (run \`pscl cache build\`)`);
  if (classPromptsHash(project) !== m.hashes.classPrompts) report.notes.push(`class names, levels or class templates changed since the build: the prototypes are stale (run \`pscl cache build\`)`);
  if (m.hashes.decisions !== undefined && decisionsHash(project) !== m.hashes.decisions) report.notes.push(`the project's image decisions (exclusions, relabels) changed since the build: labels and exclusions are stale (run \`pscl cache build\`)`);
}
