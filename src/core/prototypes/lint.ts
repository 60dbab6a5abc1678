// Taxonomy lint from the text prototypes: what the text encoder cannot tell apart, or places under
// the wrong coarse category, weakens VLCL-MG's targets. Diagnostics carry ranges in the project
// file, like validateProject's, so the extension shows them in Problems.
import { parentLevelIndex } from '../taxonomy/validate';
import { rangeOf, pathOf, type JSONPath, type ParsedProject } from '../taxonomy/project';
import type { Diagnostic } from '../taxonomy/diagnostics';
import type { Project, TaxonomyClass } from '../taxonomy/model';
import { buildClassPrototypes, type ClassPrototypes, type EmbedTexts } from './build';
import { cosine, row } from './vlcl';

export interface LintOptions {
  /** Sibling prototypes with a cosine above this are reported. Default 0.95. */
  siblingThreshold?: number;
}

export const DEFAULT_SIBLING_THRESHOLD = 0.95;

export const LINT_CODES = {
  nearDuplicate: 'prototype-near-duplicate',
  singleChild: 'single-child',
  closerToOtherCoarse: 'closer-to-other-coarse',
} as const;

export function lintTaxonomy(parsed: ParsedProject, protos: ClassPrototypes, options: LintOptions = {}): Diagnostic[] {
  const project = parsed.project;
  if (!project) return [];
  const threshold = options.siblingThreshold ?? DEFAULT_SIBLING_THRESHOLD;
  const out: Diagnostic[] = [];
  const levels = project.levels;
  const fineIndex = levels.length - 1;
  // the first class carrying each value of each level: where a diagnostic about the value points
  const carrier = levels.map(() => new Map<number, number>());
  protos.levelIndex.forEach((li, c) => li.forEach((v, l) => carrier[l].has(v) || carrier[l].set(v, c)));
  const where = (l: number, value: number): JSONPath => {
    const c = l === fineIndex ? value : carrier[l].get(value)!;
    const cls = project.classes[c];
    const base = pathOf(parsed, cls) ?? ['classes', c];
    return l === fineIndex ? [...base, 'name'] : [...base, 'path', levels[l].name];
  };
  const add = (severity: Diagnostic['severity'], code: string, path: JSONPath, message: string, data?: unknown) =>
    out.push({ severity, code, message, range: rangeOf(parsed, path), data });

  // siblings (same value at the nearest nested level above) whose prototypes nearly coincide;
  // the fine level is compared through its VLCL-MG prototypes, the others through raw embeddings
  for (let l = 1; l < levels.length; l++) {
    const parent = parentLevelIndex(levels, l) ?? 0;
    const groups = new Map<number, Set<number>>();
    protos.levelIndex.forEach((li, c) => {
      const key = li[parent];
      const own = l === fineIndex ? c : li[l];
      if (!groups.has(key)) groups.set(key, new Set());
      groups.get(key)!.add(own);
    });
    const vectors = l === fineIndex ? protos.fine : protos.levels[l].embeddings;
    const name = (v: number) => (l === fineIndex ? project.classes[v].name : protos.levels[l].values[v]);
    for (const [p, members] of groups) {
      const list = [...members];
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const cos = cosine(row(vectors, list[i]), row(vectors, list[j]));
          if (cos > threshold) {
            add(
              'warning',
              LINT_CODES.nearDuplicate,
              where(l, list[j]),
              `${levels[l].name} '${name(list[j])}' and '${name(list[i])}' (both under ${levels[parent].name} '${protos.levels[parent].values[p]}') have nearly the same text prototype (cosine ${cos.toFixed(3)} > ${threshold}): the model can hardly tell them apart by text; rename one or add a distinguishing word`,
              { level: levels[l].name, values: [name(list[i]), name(list[j])], cosine: cos },
            );
          }
        }
      }
    }
  }

  // nested intermediate values with a single child value: a level that distinguishes nothing there
  for (let l = 1; l < fineIndex; l++) {
    if (levels[l].kind === 'facet') continue;
    let child = l + 1;
    while (child < fineIndex && levels[child].kind === 'facet') child++;
    const children = new Map<number, Set<number>>();
    protos.levelIndex.forEach((li, c) => {
      if (!children.has(li[l])) children.set(li[l], new Set());
      children.get(li[l])!.add(child === fineIndex ? c : li[child]);
    });
    for (const [v, kids] of children) {
      if (kids.size !== 1) continue;
      const only = [...kids][0];
      const childName = child === fineIndex ? project.classes[only].name : protos.levels[child].values[only];
      add(
        'info',
        LINT_CODES.singleChild,
        where(l, v),
        `${levels[l].name} '${protos.levels[l].values[v]}' has a single ${levels[child].name} ('${childName}'): it adds no distinction between classes there`,
        { level: levels[l].name, value: protos.levels[l].values[v], child: childName },
      );
    }
  }

  // classes whose own embedding is closer to another coarse category than to their own
  const coarse = protos.levels[0];
  if (coarse.values.length > 1) {
    project.classes.forEach((cls: TaxonomyClass, c) => {
      const own = protos.coarseIndex[c];
      const sims = coarse.values.map((_, k) => cosine(row(protos.classEmbeddings, c), row(coarse.embeddings, k)));
      let best = own;
      sims.forEach((s, k) => {
        if (s > sims[best]) best = k;
      });
      if (best !== own) {
        add(
          'warning',
          LINT_CODES.closerToOtherCoarse,
          where(fineIndex, c),
          `class '${cls.name}' reads closer to ${levels[0].name} '${coarse.values[best]}' (cosine ${sims[best].toFixed(3)}) than to its own '${coarse.values[own]}' (cosine ${sims[own].toFixed(3)}): check its coarse category or its name`,
          { classId: cls.id, own: coarse.values[own], closer: coarse.values[best] },
        );
      }
    });
  }
  return out;
}

/** Prototypes of the parsed project through `embed`, then the lint. */
export async function lintProject(parsed: ParsedProject, embed: EmbedTexts, dim: number, options: LintOptions & { signal?: AbortSignal } = {}): Promise<Diagnostic[]> {
  if (!parsed.project) return [];
  const protos = await buildClassPrototypes(parsed.project as Project, embed, dim, options.signal);
  return lintTaxonomy(parsed, protos, options);
}
