// What the views show of a project's prompt scores, without the vscode module (unit tests run it):
// badges of parts and phrasings in the Parts view, rows of levels in the Taxonomy view, and the
// Problems warning for a part whose keypoint hit rate is below the setting.
import type { PromptScores } from '../../core/quality/score';
import type { Diagnostic } from '../../core/taxonomy/diagnostics';
import { rangeOf, type ParsedProject } from '../../core/taxonomy/project';

/** Where the views read a project's latest scores (by the project file's key). */
export type ScoresOf = (key: string) => PromptScores | undefined;

const pct = (x: number) => `${(100 * x).toFixed(Math.abs(x) < 0.1 ? 1 : 0)}%`;

/** "hit 62%" for a part of the scores, undefined when it has none (no keypoints, or not scored). */
export function partBadge(scores: PromptScores | undefined, coarse: string, part: string): string | undefined {
  const p = scores?.parts[`${coarse}/${part}`];
  if (!p || p.hitRate === null) return undefined;
  return `hit ${pct(p.hitRate)}`;
}

/** "hit 40%" for a phrasing scored alone; undefined for a phrasing the scores do not know (edited since). */
export function phrasingBadge(scores: PromptScores | undefined, coarse: string, part: string, phrasing: string): string | undefined {
  const r = scores?.parts[`${coarse}/${part}`]?.phrasings[phrasing];
  return r === undefined || r === null ? undefined : `hit ${pct(r)}`;
}

/** The tooltip lines about a part's scores (markdown). */
export function partScoreTooltip(scores: PromptScores | undefined, coarse: string, part: string): string | undefined {
  const p = scores?.parts[`${coarse}/${part}`];
  if (!p) return undefined;
  if (p.hitRate === null) return 'No keypoint hit rate: map the part to the dataset\'s keypoints ("keypoints" in the project file).';
  const phrasings = Object.entries(p.phrasings).map(([t, r]) => `"${t}" ${r === null ? '-' : pct(r)}`);
  const mask = scores?.masks?.parts[`${coarse}/${part}`];
  return [
    `Keypoint hit rate **${pct(p.hitRate)}** (top-${scores!.topK}: ${pct(p.topKRate ?? 0)}) over ${p.keypoints} visible keypoints.`,
    `Each phrasing alone: ${phrasings.join(', ')}.`,
    mask ? `Stored masks${scores!.masks!.stale ? ' (stale)' : ''}: coverage ${pct(mask.coverage.mean)}, empty in ${pct(mask.emptyRate)} of images.` : '',
  ]
    .filter(Boolean)
    .join('\n\n');
}

export interface LevelRow {
  level: string;
  description: string;
  tooltip: string;
}

/** One row per taxonomy level: flat top-1/top-5, and the variants beside them. */
export function levelRows(scores: PromptScores): LevelRow[] {
  return Object.entries(scores.levels).map(([level, a]) => {
    const h = scores.variants.hierarchical.levels[level];
    const d = scores.variants.descriptions?.levels[level];
    const c = scores.control.levels[level];
    return {
      level,
      description: `top-1 ${pct(a.top1)} · top-5 ${pct(a.top5)}${c ? ` · control ${pct(c.top1)}` : ''}`,
      tooltip: [
        `Zero-shot accuracy at **${level}** over ${a.images} images (split ${scores.split}):`,
        `- flat prompts: top-1 ${pct(a.top1)}, top-5 ${pct(a.top5)}`,
        h ? `- hierarchical (ancestors in the prompt): top-1 ${pct(h.top1)}, top-5 ${pct(h.top5)}` : '',
        d ? `- with class descriptions: top-1 ${pct(d.top1)}, top-5 ${pct(d.top5)}` : '',
        c ? `- control (${scores.control.descriptors} random descriptors): top-1 ${pct(c.top1)}, top-5 ${pct(c.top5)}` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    };
  });
}

/** A warning on each part whose hit rate is below `min`, at the part's name in the file. */
export function lowHitRateDiagnostics(parsed: ParsedProject, scores: PromptScores, min: number): Diagnostic[] {
  const project = parsed.project;
  if (!project || !(min > 0)) return [];
  const out: Diagnostic[] = [];
  for (const [coarse, parts] of Object.entries(project.parts)) {
    parts.forEach((part, i) => {
      const s = scores.parts[`${coarse}/${part.name}`];
      if (!s || s.hitRate === null || s.hitRate >= min) return;
      const best = Object.entries(s.phrasings)
        .filter((e): e is [string, number] => e[1] !== null)
        .sort((a, b) => b[1] - a[1])[0];
      const hint = best && best[1] > s.hitRate ? `; the phrasing "${best[0]}" alone does better (${pct(best[1])})` : '; try other phrasings';
      out.push({
        severity: 'warning',
        code: 'low-hit-rate',
        message: `part '${part.name}' of ${coarse}: its mask covers ${pct(s.hitRate)} of its ${s.keypoints} visible keypoints, below pscl.quality.minHitRate (${pct(min)})${hint}`,
        range: rangeOf(parsed, ['parts', coarse, i, 'name']),
        data: { coarse, part: part.name, hitRate: s.hitRate },
      });
    });
  }
  return out;
}
