// Confusion matrices at any level of the taxonomy: the fine matrix rolled up by summing the cells
// of every (true value, predicted value) pair of a level. Pure: the evaluation webview uses it.
import type { EvalReport } from './evalReport';

/** Each fine class's value at every level, fine (the class name) last. */
export interface ClassTaxonomy {
  levels: string[];
  /** classLevels[classIndex][levelIndex] */
  classLevels: string[][];
}

export interface LevelMatrix {
  level: string;
  /** Values in first-seen class order (stable, so related values sit together). */
  labels: string[];
  /** rows = true value, columns = predicted value */
  counts: number[][];
  total: number;
  correct: number;
  /** Largest off-diagonal cell (for the colour scale of errors). */
  maxOff: number;
  max: number;
}

/** Minimal project shape (src/core/taxonomy/model.ts): levels and classes with their paths. */
export interface TaxonomySource {
  levels: Array<{ name: string }>;
  classes: Array<{ id: string; name: string; path: Record<string, string> }>;
}

/**
 * The taxonomy of the report's classes, matched to the project's classes by id (then by name).
 * A class the project no longer has keeps its name at the fine level and "(unknown)" above it.
 */
export function taxonomyFromProject(project: TaxonomySource, classes: ReadonlyArray<{ id: string; name: string }>): ClassTaxonomy {
  const levels = project.levels.map((l) => l.name);
  const fine = levels[levels.length - 1];
  const byId = new Map(project.classes.map((c) => [c.id, c]));
  const byName = new Map(project.classes.map((c) => [c.name, c]));
  const classLevels = classes.map((c) => {
    const pc = byId.get(c.id) ?? byName.get(c.name);
    return levels.map((l) => (l === fine ? (pc?.name ?? c.name) : (pc?.path[l] ?? '(unknown)')));
  });
  return { levels, classLevels };
}

/**
 * The taxonomy the trainer records in the run's config.json: `levels` and `classes` with each
 * class's value at every level (`path`, fine included), in class index order.
 */
export function taxonomyFromRunConfig(config: Record<string, unknown>): ClassTaxonomy | undefined {
  const levels = config.levels, classes = config.classes;
  if (!Array.isArray(levels) || !levels.every((l) => typeof l === 'string') || levels.length === 0 || !Array.isArray(classes)) return undefined;
  const classLevels: string[][] = [];
  for (const c of classes) {
    const p = (c as { path?: Record<string, unknown>; name?: unknown })?.path;
    if (!p || typeof p !== 'object') return undefined;
    const values = (levels as string[]).map((l) => p[l]);
    if (!values.every((x) => typeof x === 'string')) return undefined;
    classLevels.push(values as string[]);
  }
  return { levels: levels as string[], classLevels };
}

/** The taxonomy eval.json carries, else the fine level alone. */
export function taxonomyFromReport(report: EvalReport): ClassTaxonomy {
  if (report.classLevels && report.levels.length > 0) return { levels: report.levels, classLevels: report.classLevels };
  const fine = report.levels.at(-1) ?? 'class';
  return { levels: [fine], classLevels: report.classes.map((c) => [c.name]) };
}

export function rollUp(confusion: readonly (readonly number[])[], taxonomy: ClassTaxonomy, level: string): LevelMatrix {
  const li = taxonomy.levels.indexOf(level);
  if (li < 0) throw new Error(`unknown level "${level}" (levels: ${taxonomy.levels.join(', ')})`);
  if (taxonomy.classLevels.length !== confusion.length) {
    throw new Error(`the taxonomy has ${taxonomy.classLevels.length} classes but the confusion matrix ${confusion.length}`);
  }
  const labels: string[] = [];
  const indexOf = new Map<string, number>();
  const group = taxonomy.classLevels.map((values) => {
    const v = values[li];
    let g = indexOf.get(v);
    if (g === undefined) {
      g = labels.length;
      labels.push(v);
      indexOf.set(v, g);
    }
    return g;
  });
  const k = labels.length;
  const counts = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < confusion.length; i++) {
    const row = confusion[i];
    const out = counts[group[i]];
    for (let j = 0; j < row.length; j++) if (row[j] !== 0) out[group[j]] += row[j];
  }
  let total = 0, correct = 0, maxOff = 0, max = 0;
  for (let a = 0; a < k; a++) {
    for (let b = 0; b < k; b++) {
      const c = counts[a][b];
      total += c;
      if (a === b) correct += c;
      else if (c > maxOff) maxOff = c;
      if (c > max) max = c;
    }
  }
  return { level, labels, counts, total, correct, maxOff, max };
}

/** Accuracy at every level from the fine matrix (a prediction is right at a level when its value there is). */
export function levelAccuracies(confusion: readonly (readonly number[])[], taxonomy: ClassTaxonomy): Record<string, number> {
  const out: Record<string, number> = {};
  for (const level of taxonomy.levels) {
    const m = rollUp(confusion, taxonomy, level);
    out[level] = m.total > 0 ? m.correct / m.total : 0;
  }
  return out;
}

export interface ClassRow {
  index: number;
  id: string;
  name: string;
  /** Values at the levels above the fine one, coarse first. */
  path: string[];
  count: number;
  correct: number;
  top1: number;
  top5?: number;
  /** The class this one is most often mistaken for, and how often. */
  topConfusion?: { index: number; name: string; count: number };
}

export function classRows(report: EvalReport, taxonomy?: ClassTaxonomy): ClassRow[] {
  return report.perClass.map((r) => {
    const row = report.confusion[r.index];
    let best = -1;
    for (let j = 0; j < row.length; j++) if (j !== r.index && row[j] > 0 && (best < 0 || row[j] > row[best])) best = j;
    const cls = report.classes[r.index];
    return {
      index: r.index,
      id: cls.id,
      name: cls.name,
      path: taxonomy ? taxonomy.classLevels[r.index].slice(0, -1) : [],
      count: r.count,
      correct: r.correct,
      top1: r.top1,
      top5: r.top5,
      topConfusion: best >= 0 ? { index: best, name: report.classes[best].name, count: row[best] } : undefined,
    };
  });
}

export type ClassSortKey = 'name' | 'count' | 'top1' | 'top5' | 'confusion';

/** Sorts rows by a column; ties keep class order. Missing values sort last either way. */
export function sortClassRows(rows: readonly ClassRow[], key: ClassSortKey, descending: boolean): ClassRow[] {
  const val = (r: ClassRow): number | string | undefined =>
    key === 'name' ? r.name : key === 'count' ? r.count : key === 'top1' ? r.top1 : key === 'top5' ? r.top5 : r.topConfusion?.count;
  return [...rows].sort((a, b) => {
    const va = val(a), vb = val(b);
    if (va === undefined || vb === undefined) return va === vb ? a.index - b.index : va === undefined ? 1 : -1;
    const c = typeof va === 'string' ? va.localeCompare(vb as string) : va - (vb as number);
    return (descending ? -c : c) || a.index - b.index;
  });
}

export interface WrongEntry {
  key: string;
  path: string;
  mask?: string;
  trueName: string;
  predName: string;
  confidence: number;
  /** True when the prediction is right at some coarser level (a "near miss"): that level's name. */
  sharedLevel?: string;
}

/** The most confidently wrong images, most confident first. */
export function mostConfidentlyWrong(report: EvalReport, limit = 24, taxonomy?: ClassTaxonomy): WrongEntry[] {
  return report.wrong.slice(0, limit).map((w) => {
    let sharedLevel: string | undefined;
    if (taxonomy) {
      const t = taxonomy.classLevels[w.label], p = taxonomy.classLevels[w.pred];
      for (let l = taxonomy.levels.length - 2; l >= 0; l--) {
        if (t[l] === p[l]) {
          sharedLevel = taxonomy.levels[l];
          break;
        }
      }
    }
    return {
      key: w.key,
      path: w.path,
      mask: w.mask,
      trueName: report.classes[w.label].name,
      predName: report.classes[w.pred].name,
      confidence: w.confidence,
      sharedLevel,
    };
  });
}
