// A project's shape in numbers: what `pscl info` prints and the sidebar can show.
import { applyImageDecisions } from './decisions';
import type { ImageEntry, Project, Split } from './model';
import { levelValues } from './tree';

export interface LevelSummary {
  name: string;
  kind: 'nested' | 'facet';
  values: number;
}

export interface ProjectSummary {
  name: string;
  format: string;
  root: string;
  levels: LevelSummary[];
  classes: number;
  parts: Record<string, number>;
  /** Undefined when the images could not be read. The project's decisions are applied: excluded
   *  images are not counted, relabelled ones count for their new class. */
  images?: {
    total: number;
    bySplit: Partial<Record<Split, number>>;
    classesWithoutImages: number;
    /** The project's image decisions (`images` in the file) as applied to the dataset. */
    decisions: { excluded: number; relabeled: number; stale: number };
  };
}

export function summarizeProject(project: Project, images?: readonly ImageEntry[]): ProjectSummary {
  const values = levelValues(project);
  const summary: ProjectSummary = {
    name: project.name,
    format: project.dataset.format,
    root: project.dataset.root,
    levels: project.levels.map((l) => ({ name: l.name, kind: l.kind, values: values.get(l.name)?.length ?? 0 })),
    classes: project.classes.length,
    parts: Object.fromEntries(Object.entries(project.parts).map(([k, v]) => [k, v.length])),
  };
  if (images) {
    const applied = applyImageDecisions(images, project.images);
    const bySplit: Partial<Record<Split, number>> = {};
    const withImages = new Set<string>();
    for (const img of applied.images) {
      bySplit[img.split] = (bySplit[img.split] ?? 0) + 1;
      withImages.add(img.classId);
    }
    summary.images = {
      total: applied.images.length,
      bySplit,
      classesWithoutImages: project.classes.filter((c) => !withImages.has(c.id)).length,
      decisions: { excluded: applied.excluded.length, relabeled: applied.relabeled.length, stale: applied.stale.exclude.length + applied.stale.relabel.length },
    };
  }
  return summary;
}

/** Human-readable lines (no trailing newline). */
export function formatSummary(s: ProjectSummary): string[] {
  const out = [
    `${s.name} (${s.format}, dataset ${s.root})`,
    `levels: ${s.levels.map((l) => `${l.name}${l.kind === 'facet' ? ' [facet]' : ''} (${l.values})`).join(' > ')}`,
    `classes: ${s.classes}`,
    `parts: ${Object.entries(s.parts).map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}`,
  ];
  if (s.images) {
    const splits = Object.entries(s.images.bySplit).map(([k, n]) => `${k} ${n}`).join(', ');
    out.push(`images: ${s.images.total}${splits ? ` (${splits})` : ''}${s.images.classesWithoutImages ? `, ${s.images.classesWithoutImages} classes without images` : ''}`);
    const d = s.images.decisions;
    if (d.excluded || d.relabeled || d.stale) {
      const stale = d.stale ? `, ${d.stale} stale (about images the dataset does not have: see pscl validate)` : '';
      out.push(`decisions: ${d.excluded} image${d.excluded === 1 ? '' : 's'} excluded, ${d.relabeled} relabelled${stale}`);
    }
  }
  return out;
}
