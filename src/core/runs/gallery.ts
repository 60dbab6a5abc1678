// Files behind the evaluation report's gallery: each wrongly classified image and its part label
// map, resolved through the run's cache manifest (dataset root, mask file, the coarse category's
// part names). The extension turns these paths into webview URIs.
import path from 'node:path';
import { readManifest, type CacheManifest } from '../cache/manifest';
import { loadProject } from '../project/load';
import { exclusionsOf, relabelsOf } from '../taxonomy/decisions';
import type { ImageDecisions } from '../taxonomy/model';
import type { EvalReport } from './evalReport';
import { readRunConfig } from './folder';

export interface GalleryFiles {
  /** The folders the files live in (the webview's localResourceRoots). */
  roots: string[];
  files: Record<string, { image?: string; mask?: string; parts?: string[] }>;
  /** The project's image decisions now (the project file the cache was built from), when readable. */
  decisions?: ImageDecisions;
}

/**
 * The report as the project's decisions now see it: wrongly classified images the project has
 * excluded since are left out of the gallery, relabelled ones are judged by their new class (and
 * left out when the model predicted it).
 */
export function honourDecisions(report: EvalReport, decisions: ImageDecisions | undefined): EvalReport {
  const excluded = exclusionsOf(decisions);
  const relabel = relabelsOf(decisions);
  if (excluded.size === 0 && relabel.size === 0) return report;
  const indexOf = new Map(report.classes.map((c) => [c.id, c.index]));
  const wrong = report.wrong.flatMap((w) => {
    if (excluded.has(w.path)) return [];
    const to = relabel.get(w.path);
    const label = to === undefined ? undefined : indexOf.get(to);
    if (label === undefined) return [w];
    return label === w.pred ? [] : [{ ...w, label }];
  });
  return { ...report, wrong };
}

function partsOf(manifest: CacheManifest, label: number): string[] | undefined {
  const cls = manifest.classes[label];
  const coarseLevel = manifest.levels[0];
  if (!cls || !coarseLevel) return undefined;
  const coarse = manifest.levelValues[coarseLevel]?.[cls.levelIndex[0]!];
  return coarse !== undefined ? manifest.parts[coarse] : undefined;
}

/** The gallery's files; empty when the run's cache (config.json "cache") is gone. */
export async function galleryFiles(runDir: string, report: EvalReport): Promise<GalleryFiles> {
  let cache: string | undefined;
  try {
    const c = (await readRunConfig(runDir)).cache;
    // relative to the run folder (older runs: absolute)
    cache = typeof c === 'string' ? path.resolve(runDir, c) : undefined;
  } catch {
    cache = undefined;
  }
  const manifest = cache ? await readManifest(cache).catch(() => undefined) : undefined;
  if (!cache || !manifest) return { roots: [], files: {} };
  const root = path.resolve(cache, manifest.datasetRoot);
  const byKey = new Map(manifest.images.map((i) => [i.key, i]));
  const files: GalleryFiles['files'] = {};
  for (const w of report.wrong) {
    const entry = byKey.get(w.key);
    const rel = w.path || entry?.path;
    const mask = w.mask ?? entry?.mask;
    files[w.key] = {
      image: rel ? path.join(root, ...rel.split('/')) : undefined,
      mask: mask ? path.join(cache, ...mask.split('/')) : undefined,
      parts: partsOf(manifest, w.label),
    };
  }
  const decisions = await loadProject(manifest.project, { require: 'syntax' }).then((p) => p.project.images, () => undefined);
  return { roots: [root, cache], files, decisions };
}
