// One entry point over the per-format importers, and re-reading the images of an existing project.
import path from 'node:path';
import type { DatasetFormat, ImageEntry, Project } from '../model';
import { importAircraft } from './aircraft';
import { importCars } from './cars';
import { ImportError, imagePathProblem, type ImportOptions, type ImportResult } from './common';
import { importCub } from './cub';
import { importDogs } from './dogs';
import { importImageFolder } from './imagefolder';
import { importNabirds } from './nabirds';

export { datasetFile, ImportError, type ImportOptions, type ImportResult } from './common';
export { importAircraft, importCars, importCub, importDogs, importImageFolder, importNabirds };
export { parseCarName } from './cars';

const IMPORTERS: Record<DatasetFormat, (root: string, options?: ImportOptions) => Promise<ImportResult>> = {
  cub: importCub,
  aircraft: importAircraft,
  cars: importCars,
  nabirds: importNabirds,
  dogs: importDogs,
  imagefolder: importImageFolder,
};

export async function importDataset(format: DatasetFormat, root: string, options: ImportOptions = {}): Promise<ImportResult> {
  const result = await IMPORTERS[format](root, options);
  // Every importer's list entries become paths below the root: none may leave it.
  for (const img of result.images) {
    const why = imagePathProblem(img.path);
    if (why) throw new ImportError(`${root}: the image list names '${img.path}' (image ${img.key}), which ${why}; fix that entry in the dataset's list files`);
  }
  return result;
}

/** The dataset folder of a project, resolved against the project file's folder. */
export function datasetRoot(project: Project, projectFile: string): string {
  return path.resolve(path.dirname(projectFile), project.dataset.root);
}

/** Re-reads the image list of an existing project from its dataset's own files. */
export async function loadImages(project: Project, projectFile: string, signal?: AbortSignal): Promise<{ images: ImageEntry[]; warnings: string[] }> {
  const { images, warnings } = await importDataset(project.dataset.format, datasetRoot(project, projectFile), { signal });
  return { images, warnings };
}

/** The class ids the dataset itself defines (for validateProject's dataset checks). */
export async function datasetClassIds(project: Project, projectFile: string, signal?: AbortSignal): Promise<string[]> {
  const { project: fromDataset } = await importDataset(project.dataset.format, datasetRoot(project, projectFile), { skipImages: true, signal });
  return fromDataset.classes.map((c) => c.id);
}
