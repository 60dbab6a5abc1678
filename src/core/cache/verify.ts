// Checks a cache folder against its manifest: every file present, every hash matching, masks of
// the recorded size and label range, prototype tensors of the recorded shapes with unit rows, and
// (when the project file is still there) whether its prompts changed since the build.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { SafetensorsFile } from '../clip/safetensors';
import { decodeLabelMapPng } from '../masks/export';
import { classPromptsHash, partPromptsHash } from '../parts/prompts';
import { loadProject } from '../project';
import type { Project } from '../taxonomy/model';
import { bytesSha256, fileSha256 } from './hashes';
import { imagePathProblem } from '../taxonomy/importers/common';
import { CacheError, isMaskPath, PROTOTYPES_FILE, readManifest, type CacheManifest } from './manifest';
import { describeHolder, readCacheLock } from './lock';
import { FINE_TENSOR, levelTensor, partsTensor } from './prototypesFile';

export interface VerifyReport {
  manifest?: CacheManifest;
  problems: string[];
  /** Not wrong, worth knowing (e.g. the project changed since the build). */
  notes: string[];
  checked: { masks: number; tensors: number };
}

const UNIT_TOLERANCE = 1e-3;

export async function verifyCache(dir: string, options: { signal?: AbortSignal } = {}): Promise<VerifyReport> {
  const report: VerifyReport = { problems: [], notes: [], checked: { masks: 0, tensors: 0 } };
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
}
