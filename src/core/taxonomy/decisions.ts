// The project's curation decisions (`images.exclude`, `images.relabel`, docs/project-file.md)
// applied to a dataset's image list: the one place that says what an image's class is and whether
// it counts, for `pscl info`, the Taxonomy view's counts, the training cache and the reports.
import { createHash } from 'node:crypto';
import type { ImageDecisions, ImageEntry, Project } from './model';

export interface ExcludedImage extends ImageEntry {
  reason: string;
}

export interface RelabeledImage extends ImageEntry {
  /** The dataset's own class id (ImageEntry.classId is the project's decision). */
  datasetClassId: string;
}

export interface AppliedDecisions {
  /** The images that count, in dataset order, each with the class the project gives it. */
  images: ImageEntry[];
  /** Images left out, with the reason given. */
  excluded: ExcludedImage[];
  /** Kept images whose class the project changed (also in `images`). */
  relabeled: RelabeledImage[];
  /** Decisions about images the dataset does not have (nothing to apply them to). */
  stale: { exclude: string[]; relabel: string[] };
}

/** Exclusions by path (the last reason given for a path wins). */
export function exclusionsOf(decisions: ImageDecisions | undefined): Map<string, string> {
  return new Map((decisions?.exclude ?? []).map((e) => [e.path, e.reason]));
}

/** Relabels by path. */
export function relabelsOf(decisions: ImageDecisions | undefined): Map<string, string> {
  return new Map(Object.entries(decisions?.relabel ?? {}));
}

/** Applies exclusions and relabels. An excluded image is left out whatever its relabel says. */
export function applyImageDecisions(images: readonly ImageEntry[], decisions: ImageDecisions | undefined): AppliedDecisions {
  const exclude = exclusionsOf(decisions);
  const relabel = relabelsOf(decisions);
  const out: AppliedDecisions = { images: [], excluded: [], relabeled: [], stale: { exclude: [], relabel: [] } };
  if (exclude.size === 0 && relabel.size === 0) {
    out.images = [...images];
    return out;
  }
  const seen = new Set<string>();
  for (const img of images) {
    seen.add(img.path);
    const reason = exclude.get(img.path);
    if (reason !== undefined) {
      out.excluded.push({ ...img, reason });
      continue;
    }
    const to = relabel.get(img.path);
    if (to !== undefined && to !== img.classId) {
      const moved = { ...img, classId: to };
      out.images.push(moved);
      out.relabeled.push({ ...moved, datasetClassId: img.classId });
    } else out.images.push(img);
  }
  out.stale.exclude = [...exclude.keys()].filter((p) => !seen.has(p));
  out.stale.relabel = [...relabel.keys()].filter((p) => !seen.has(p));
  return out;
}

/** Images per class id after the decisions. */
export function imagesPerClass(images: readonly ImageEntry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const img of images) counts.set(img.classId, (counts.get(img.classId) ?? 0) + 1);
  return counts;
}

/** What the decisions are, as a hash (the cache records it; a change makes its labels stale). */
export function decisionsHash(project: Pick<Project, 'images'>): string {
  const d = project.images;
  const exclude = [...exclusionsOf(d).keys()].sort();
  const relabel = [...relabelsOf(d)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return 'sha256:' + createHash('sha256').update(JSON.stringify({ exclude, relabel })).digest('hex');
}

/** Counts for a summary line. */
export function decisionCounts(applied: AppliedDecisions): { excluded: number; relabeled: number; stale: number } {
  return { excluded: applied.excluded.length, relabeled: applied.relabeled.length, stale: applied.stale.exclude.length + applied.stale.relabel.length };
}
