// CUB-200-2011: classes.txt (`<id> <NNN.Name_With_Underscores>`), images.txt,
// image_class_labels.txt, train_test_split.txt, parts/parts.txt; optionally a class hierarchy
// (--hierarchy) whose levels become the intermediate levels.
import path from 'node:path';
import { defaultParts, defaultTemplates } from '../defaultParts';
import type { Level, Project, TaxonomyClass } from '../model';
import { checkCancelled, datasetRootFor, eachPair, humanize, ImportError, readOptional, readText, type ImportOptions, type ImportResult } from './common';
import { readImageLists } from './imageLists';
import { rankFromSuffix, readHierarchy, type ClassLineage, type Hierarchy } from './hierarchy';

export async function importCub(root: string, options: ImportOptions = {}): Promise<ImportResult> {
  const warnings: string[] = [];
  const coarse = options.coarse ?? 'bird';
  const classesFile = path.join(root, 'classes.txt');
  const classesText = await readText(classesFile, 'is --root the CUB_200_2011 folder (the one holding classes.txt and images/)?');
  const classes: TaxonomyClass[] = [];
  eachPair(classesText, classesFile, (id, label) => {
    classes.push({ id, name: humanize(label.replace(/^\d+\./, '')), path: { coarse }, source: label });
  });
  if (classes.length === 0) throw new ImportError(`${classesFile} lists no classes`);
  checkCancelled(options.signal);

  let levels: Level[] = [
    { name: 'coarse', kind: 'nested' },
    { name: 'species', kind: 'nested' },
  ];
  if (options.hierarchy) {
    const h = await readHierarchy(options.hierarchy, classes.map((c) => c.id), options.hierarchyNames);
    warnings.push(...h.warnings);
    levels = applyHierarchy(classes, h);
  }

  const partsText = await readOptional(path.join(root, 'parts', 'parts.txt'));
  if (partsText === undefined) warnings.push(`${path.join(root, 'parts', 'parts.txt')} not found: using the built-in bird parts`);
  const project: Project = {
    version: 1,
    name: options.name ?? 'CUB-200-2011',
    dataset: { format: 'cub', root: datasetRootFor(root, options.projectFile) },
    levels,
    classes,
    parts: { [coarse]: defaultParts('bird', partsText) },
    templates: defaultTemplates(),
  };
  const images = options.skipImages ? [] : await readImageLists(root, new Set(classes.map((c) => c.id)), warnings, options.signal, options.onProgress);
  return { project, images, warnings };
}

const RANK_ORDER = ['superorder', 'order', 'suborder', 'infraorder', 'superfamily', 'family', 'subfamily', 'tribe', 'genus'];

/**
 * Sets each class's path from its lineage and returns the levels. When every ancestor has a
 * recognisable rank (Latin suffix, a "(subfam)" comment, or genus for a species' parent), the
 * levels are the ranks in biological order, so variable-depth trees line up; a class lacking a
 * rank takes the value above it, or its own name below its deepest ancestor (CUB has a few
 * genus-level classes). Otherwise levels follow depth, aligned from the top.
 */
function applyHierarchy(classes: TaxonomyClass[], h: Hierarchy): Level[] {
  const rankOf = (name: string, isParentOfLeaf: boolean) => h.ranks.get(name) ?? rankFromSuffix(name) ?? (isParentOfLeaf ? 'genus' : undefined);
  const lineages = [...h.lineage.values()];
  // Depth first: a flat tree whose every depth has one rank (the published "flat" one) keeps
  // its depths even where a stray node has another rank.
  const depth = Math.max(0, ...lineages.map((l) => l.ancestors.length));
  const valuesAt: string[][] = Array.from({ length: depth }, () => []);
  for (const l of lineages) l.ancestors.forEach((a, d) => valuesAt[d].push(a));
  const depthNames = valuesAt.map((values, d) => depthLevelName(values, d === depth - 1, h.ranks));
  const depthsAgree = depthNames.every((n) => n !== '') && new Set(depthNames).size === depthNames.length;
  const ranked = lineages.every((l) => l.ancestors.every((a, i) => RANK_ORDER.includes(rankOf(a, i === l.ancestors.length - 1) ?? '')));
  let levelNames: string[];
  let valuesFor: (l: ClassLineage, own: string) => string[];
  if (!depthsAgree && ranked) {
    const present = new Set(lineages.flatMap((l) => l.ancestors.map((a, i) => rankOf(a, i === l.ancestors.length - 1)!)));
    levelNames = RANK_ORDER.filter((r) => present.has(r));
    valuesFor = (l, own) => {
      const byRank = new Map(l.ancestors.map((a, i) => [rankOf(a, i === l.ancestors.length - 1)!, a]));
      const deepest = Math.max(...[...byRank.keys()].map((r) => levelNames.indexOf(r)));
      const out: string[] = [];
      levelNames.forEach((r, i) => out.push(byRank.get(r) ?? (i > deepest ? own : out[i - 1] ?? own)));
      return out;
    };
  } else {
    const used = new Set(['coarse', 'species']);
    levelNames = depthNames.map((n, d) => {
      const name = n === '' || used.has(n) ? `level${d + 1}` : n;
      used.add(name);
      return name;
    });
    valuesFor = (l, own) => levelNames.map((_, d) => l.ancestors[d] ?? own);
  }
  for (const cls of classes) {
    const lineage = h.lineage.get(cls.id);
    if (!lineage) continue; // keeps only the coarse value: validation reports the missing levels
    const own = lineage.ownName ?? cls.name;
    valuesFor(lineage, own).forEach((v, i) => (cls.path[levelNames[i]] = v));
    if (lineage.ownName && lineage.ownName !== cls.name) cls.aliases = [lineage.ownName];
  }
  return [{ name: 'coarse', kind: 'nested' }, ...levelNames.map((name) => ({ name, kind: 'nested' as const })), { name: 'species', kind: 'nested' }];
}

/** The rank most values at a depth share (at least 80 %), genus for the last depth, else levelN. */
function depthLevelName(values: string[], last: boolean, ranks: Map<string, string>): string {
  const counts = new Map<string, number>();
  for (const v of values) {
    const r = ranks.get(v) ?? rankFromSuffix(v);
    if (r) counts.set(r, (counts.get(r) ?? 0) + 1);
  }
  const [best, n] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
  if (n >= 0.8 * values.length) return best;
  return last && n < 0.2 * values.length ? 'genus' : '';
}
