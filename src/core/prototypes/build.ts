// Multi-granularity text prototypes (VLCL-MG): every value of every level through the class
// templates, the fine prototypes T = norm(t_fine - t_coarse), and the part text embeddings the
// mask pipeline compares patches with. Embeddings of one prompt set are averaged over its texts
// (templates, phrasings) and renormalised, as CLIP's zero-shot recipe does.
import { expandClassPrompts, expandPartPrompts } from '../parts/prompts';
import { coarseLevel, valueAt, type Project, type TaxonomyClass } from '../taxonomy/model';
import { levelValues } from '../taxonomy/tree';
import { matrix, normalizeRows, vlclPrototypes, type Matrix } from './vlcl';

/** Normalised embeddings of texts, row-major [texts.length, dim]. */
export type EmbedTexts = (texts: string[], signal?: AbortSignal) => Promise<Float32Array>;

export interface LevelEmbeddings {
  level: string;
  /** Row order of `embeddings` (first appearance in class order). */
  values: string[];
  embeddings: Matrix;
}

export interface ClassPrototypes {
  levels: LevelEmbeddings[];
  /** Row of each class's coarse value in `levels[0]`, class order. */
  coarseIndex: Int32Array;
  /** Index into `levels[l].values` for every class (class-major, one entry per level). */
  levelIndex: number[][];
  /** Templated fine-level embedding of each class, class order. */
  classEmbeddings: Matrix;
  /** VLCL-MG prototypes T [classes, dim]. */
  fine: Matrix;
}

export interface PartEmbeddings {
  coarse: string;
  parts: string[];
  /** [parts.length, dim]; row k is mask label k+1. */
  embeddings: Matrix;
}

/** Averages the embeddings of each group of texts and normalises; every distinct text is embedded once. */
export async function groupEmbeddings(groups: string[][], embed: EmbedTexts, dim: number, signal?: AbortSignal): Promise<Matrix> {
  const unique = [...new Set(groups.flat())];
  const rowOf = new Map(unique.map((t, i) => [t, i]));
  const all = unique.length > 0 ? await embed(unique, signal) : new Float32Array(0);
  if (all.length !== unique.length * dim) throw new Error(`the text encoder returned ${all.length} values for ${unique.length} texts of dimension ${dim}`);
  const out = matrix(groups.length, dim);
  groups.forEach((texts, g) => {
    if (texts.length === 0) throw new Error(`prompt group ${g} has no texts`);
    const o = g * dim;
    for (const t of texts) {
      const r = rowOf.get(t)! * dim;
      for (let j = 0; j < dim; j++) out.data[o + j] += all[r + j];
    }
  });
  return normalizeRows(out);
}

/** Every level's values (first appearance in class order) and each class's index at every level. */
export function levelTable(project: Project): { values: Map<string, string[]>; levelIndex: number[][] } {
  const values = levelValues(project);
  const index = project.levels.map((l) => new Map((values.get(l.name) ?? []).map((v, i) => [v, i])));
  const levelIndex = project.classes.map((c) =>
    project.levels.map((l, li) => {
      const v = valueAt(project, c, l.name);
      const i = v === undefined ? undefined : index[li].get(v);
      if (i === undefined) throw new Error(`class '${c.name}' (id ${c.id}) has no value at level '${l.name}'`);
      return i;
    }),
  );
  return { values, levelIndex };
}

export async function buildClassPrototypes(project: Project, embed: EmbedTexts, dim: number, signal?: AbortSignal): Promise<ClassPrototypes> {
  if (project.classes.length === 0) throw new Error(`project '${project.name}' has no classes`);
  const { values, levelIndex } = levelTable(project);
  const groups: string[][] = [];
  const offsets: number[] = [];
  for (const level of project.levels) {
    offsets.push(groups.length);
    // a value's prompts come from the first class carrying it ({coarse} and {level:..} of that class)
    const representative = new Map<string, TaxonomyClass>();
    for (const c of project.classes) {
      const v = valueAt(project, c, level.name);
      if (v !== undefined && !representative.has(v)) representative.set(v, c);
    }
    for (const v of values.get(level.name)!) groups.push(expandClassPrompts(project, representative.get(v)!, level.name));
  }
  const all = await groupEmbeddings(groups, embed, dim, signal);
  const levels: LevelEmbeddings[] = project.levels.map((level, li) => {
    const vals = values.get(level.name)!;
    return { level: level.name, values: vals, embeddings: matrix(vals.length, dim, all.data.slice(offsets[li] * dim, (offsets[li] + vals.length) * dim)) };
  });
  const fineLevel = levels[levels.length - 1];
  const classEmbeddings = matrix(project.classes.length, dim);
  levelIndex.forEach((li, c) => {
    const r = li[li.length - 1];
    classEmbeddings.data.set(fineLevel.embeddings.data.subarray(r * dim, (r + 1) * dim), c * dim);
  });
  const coarseIndex = Int32Array.from(levelIndex.map((li) => li[0]));
  const fine = vlclPrototypes(classEmbeddings, levels[0].embeddings, coarseIndex);
  return { levels, coarseIndex, levelIndex, classEmbeddings, fine };
}

/** Part text embeddings of every coarse category that has parts, in project order. */
export async function buildPartEmbeddings(project: Project, embed: EmbedTexts, dim: number, signal?: AbortSignal): Promise<PartEmbeddings[]> {
  const coarseValues = new Set(levelValues(project).get(coarseLevel(project).name) ?? []);
  const entries = Object.keys(project.parts).filter((c) => coarseValues.has(c) && project.parts[c].length > 0);
  const perCoarse = entries.map((c) => expandPartPrompts(project, c));
  const groups = perCoarse.flatMap((ps) => ps.map((p) => p.texts));
  const all = await groupEmbeddings(groups, embed, dim, signal);
  let row = 0;
  return entries.map((coarse, i) => {
    const parts = perCoarse[i].map((p) => p.part);
    const embeddings = matrix(parts.length, dim, all.data.slice(row * dim, (row + parts.length) * dim));
    row += parts.length;
    return { coarse, parts, embeddings };
  });
}
