// The project file model (docs/project-file.md). Plain data: parsing with positions lives in
// project.ts, checks in validate.ts, edits in edits.ts.

export type DatasetFormat = 'cub' | 'aircraft' | 'cars' | 'nabirds' | 'dogs' | 'imagefolder';
export const DATASET_FORMATS: readonly DatasetFormat[] = ['cub', 'aircraft', 'cars', 'nabirds', 'dogs', 'imagefolder'];

export type LevelKind = 'nested' | 'facet';

export interface Level {
  name: string;
  kind: LevelKind;
}

export interface TaxonomyClass {
  /** The dataset's own id, stable across edits. */
  id: string;
  /** Display name; the value at the fine (last) level. */
  name: string;
  /** Value at every level except the last. */
  path: Record<string, string>;
  aliases?: string[];
  description?: string;
  /** The dataset's own label (folder name, class line) when it differs from `name`. */
  source?: string;
}

export interface Part {
  name: string;
  prompts: string[];
  /**
   * The dataset's keypoints that lie on this part, by the names of its parts file (CUB and NABirds
   * `parts/parts.txt`, e.g. ["left_eye", "right_eye"]): what the prompt-quality hit rate measures.
   */
  keypoints?: string[];
}

export interface Templates {
  class: string[];
  part: string[];
}

export interface DatasetRef {
  format: DatasetFormat;
  /** Relative to the project file. */
  root: string;
}

/** A decision to leave an image out (of the cache, training, evaluation and counts). */
export interface ImageExclusion {
  /** Relative to the dataset root, '/'-separated (as ImageEntry.path). */
  path: string;
  reason: string;
}

/** Curation decisions about single images, kept in the project file, never in the dataset's files. */
export interface ImageDecisions {
  exclude: ImageExclusion[];
  /** Image path -> the class id it really shows (a prototype-less object: paths are user data). */
  relabel: Record<string, string>;
}

export interface Project {
  version: 1;
  name: string;
  dataset: DatasetRef;
  levels: Level[];
  classes: TaxonomyClass[];
  /** Part vocabulary per coarse category value. */
  parts: Record<string, Part[]>;
  templates: Templates;
  /** Curation decisions (docs/project-file.md "images"); absent when the file has none. */
  images?: ImageDecisions;
}

export type Split = 'train' | 'test' | 'val';

/** One image of a dataset as its importer reads it. */
export interface ImageEntry {
  /** Stable key (the dataset's image id where it has one). */
  key: string;
  /** Relative to the dataset root, '/'-separated. */
  path: string;
  classId: string;
  split: Split;
}

export const DEFAULT_TEMPLATES: Templates = {
  class: ['a photo of a {name}, a type of {coarse}.'],
  part: ['a photo of the {part} of a {coarse}.'],
};

/** Names that are special as object keys in JavaScript (and Python): never a level, value or part. */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Why `name` cannot name a level, a value or a part (undefined when fine). */
export function reservedNameProblem(name: string, what = 'name'): string | undefined {
  return RESERVED_NAMES.has(name.trim()) ? `${what} '${name.trim()}' is a reserved word; choose another name` : undefined;
}

/** Why `name` cannot name a part: reserved words, and anything that reads as a file path. */
export function partNameProblem(name: string): string | undefined {
  const n = name.trim();
  if (/[\\/]/.test(n) || n.startsWith('.')) return `part name '${n}' looks like a file path (it has a slash or starts with '.'); use plain words`;
  return reservedNameProblem(n, 'part name');
}

export function coarseLevel(project: Project): Level {
  return project.levels[0];
}

export function fineLevel(project: Project): Level {
  return project.levels[project.levels.length - 1];
}

/** The class's value at a level: `path[level]`, or the name for the fine level. */
export function valueAt(project: Project, cls: TaxonomyClass, level: string): string | undefined {
  return level === fineLevel(project).name ? cls.name : cls.path[level];
}
