// A project checked against itself and its dataset: validateProject with the class ids the
// dataset's own files define, and one diagnostic (one wording, one position: the dataset's root
// in the file) when the dataset cannot be read. `pscl validate` and the extension's Problems view
// both report through here, so they say the same thing about the same file.
import { findNodeAtLocation } from 'jsonc-parser';
import { sortDiagnostics, type Diagnostic } from '../taxonomy/diagnostics';
import { applyImageDecisions, imagesPerClass } from '../taxonomy/decisions';
import { datasetRoot, importDataset } from '../taxonomy/importers';
import { readKeypointNames } from '../taxonomy/importers/keypoints';
import { DATASET_FORMATS, type ImageEntry, type Project } from '../taxonomy/model';
import { parseProject, rangeOf, type ParsedProject } from '../taxonomy/project';
import { validateProject } from '../taxonomy/validate';
import { ProjectLoadError, readProjectText } from './load';

export interface DatasetInfo {
  /** The class ids the dataset defines. */
  classIds: string[];
  /** Images per class id as the dataset labels them; read only when asked for (it lists every image). */
  imageCounts?: Map<string, number>;
  /** The keypoint names of the dataset's parts file (CUB, NABirds), when it has one. */
  keypointNames?: string[];
  /** Every image (path -> the dataset's class id), read with the counts: the stale-decision checks use it. */
  images?: Map<string, string>;
}

/** A dataset read, or why it could not be. */
export type DatasetResult = { ok: true; info: DatasetInfo } | { ok: false; error: string };

/** Only a dataset the file really names is read (a lenient parse fills in defaults otherwise). */
export function declaresDataset(parsed: ParsedProject): boolean {
  if (!parsed.root || !parsed.project) return false;
  const format = findNodeAtLocation(parsed.root, ['dataset', 'format']);
  const root = findNodeAtLocation(parsed.root, ['dataset', 'root']);
  return format?.type === 'string' && (DATASET_FORMATS as readonly string[]).includes(format.value) && root?.type === 'string';
}

/** Reads the dataset's class list (and with `images`, the images per class). Never throws: failure is a result. */
export async function readDatasetInfo(project: Project, projectFile: string, options: { images?: boolean; signal?: AbortSignal } = {}): Promise<DatasetResult> {
  try {
    const r = await importDataset(project.dataset.format, datasetRoot(project, projectFile), { skipImages: !options.images, signal: options.signal, projectFile });
    const root = datasetRoot(project, projectFile);
    const info: DatasetInfo = { classIds: r.project.classes.map((c) => c.id) };
    // a malformed parts file only turns the keypoint check off (the hit rate reports it)
    const keypointNames = await readKeypointNames(project.dataset.format, root).catch(() => undefined);
    if (keypointNames) info.keypointNames = keypointNames;
    if (options.images) {
      info.imageCounts = imagesPerClass(r.images);
      info.images = new Map(r.images.map((img) => [img.path, img.classId]));
    }
    return { ok: true, info };
  } catch (err) {
    if (options.signal?.aborted) throw err;
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/** The warning for a dataset that could not be read, on the file's `dataset.root`. */
export function datasetProblem(parsed: ParsedProject, error: string): Diagnostic {
  const project = parsed.project!;
  const root = parsed.file ? datasetRoot(project, parsed.file) : project.dataset.root;
  return {
    severity: 'warning',
    code: 'dataset-unreadable',
    message: `cannot read the ${project.dataset.format} dataset at ${root}: ${error} (classes are not checked against the dataset, and images not counted, until it can be read)`,
    range: rangeOf(parsed, ['dataset', 'root']),
  };
}

/** Images per class id once the project's decisions (exclusions, relabels) are applied. */
export function decidedImageCounts(project: Project, info: DatasetInfo): Map<string, number> | undefined {
  if (!info.images) return info.imageCounts;
  if (!project.images) return info.imageCounts;
  const images: ImageEntry[] = [...info.images].map(([p, classId]) => ({ key: p, path: p, classId, split: 'train' }));
  return imagesPerClass(applyImageDecisions(images, project.images).images);
}

/** Every problem of a parsed project, sorted: parse, semantic and, when a dataset result is given, the dataset's. */
export function checkProject(parsed: ParsedProject, dataset?: DatasetResult): Diagnostic[] {
  const diagnostics = validateProject(parsed, dataset?.ok ? { datasetClassIds: dataset.info.classIds, datasetKeypoints: dataset.info.keypointNames, datasetImages: dataset.info.images } : {});
  if (dataset && !dataset.ok && parsed.project) diagnostics.push(datasetProblem(parsed, dataset.error));
  return sortDiagnostics(diagnostics);
}

/** `pscl validate`: reads and checks one file, its dataset too unless `dataset` is false. Never throws. */
export async function checkProjectFile(file: string, options: { dataset?: boolean } = {}): Promise<Diagnostic[]> {
  let text: string;
  try {
    text = await readProjectText(file);
  } catch (err) {
    if (err instanceof ProjectLoadError && err.diagnostics.length > 0) return [...err.diagnostics];
    const start = { line: 0, character: 0 };
    return [{ severity: 'error', code: 'unreadable', range: { start, end: start }, message: (err as Error).message }];
  }
  const parsed = parseProject(text, file);
  // the image list is read only when there are decisions to check against it
  const images = !!parsed.project?.images && (parsed.project.images.exclude.length > 0 || Object.keys(parsed.project.images.relabel).length > 0);
  const dataset = options.dataset !== false && declaresDataset(parsed) ? await readDatasetInfo(parsed.project!, file, { images }) : undefined;
  return checkProject(parsed, dataset);
}
