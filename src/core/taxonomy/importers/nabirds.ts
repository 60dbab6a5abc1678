// NABirds: classes.txt (`<id> <name>`, every node of the tree), hierarchy.txt (`<child> <parent>`),
// images.txt (`<uuid> <path>`), image_class_labels.txt, train_test_split.txt, parts/parts.txt.
//
// Levels: the leaves (555 visual categories, sparse ids) are the fine level "category". Their
// ancestors below the root ("Birds") are 2 or 3 nodes: group -> [family] -> species. Only the
// perching birds have the family node, so the levels are coarse, group, family, species,
// category, and a class without a family node takes its group's name as family (a one-child
// family keeps the tree strict). A species without plumage variants is its own leaf, so its
// category and species share a name.
import path from 'node:path';
import { defaultParts, defaultTemplates } from '../defaultParts';
import type { Level, Project, TaxonomyClass } from '../model';
import { checkAcyclic, checkCancelled, datasetRootFor, eachPair, ImportError, readOptional, readText, type ImportOptions, type ImportResult } from './common';
import { readImageLists } from './imageLists';

export async function importNabirds(root: string, options: ImportOptions = {}): Promise<ImportResult> {
  const warnings: string[] = [];
  const coarse = options.coarse ?? 'bird';
  const classesFile = path.join(root, 'classes.txt');
  const hierarchyFile = path.join(root, 'hierarchy.txt');
  const names = new Map<string, string>();
  eachPair(await readText(classesFile, 'is --root the nabirds folder (the one holding classes.txt and hierarchy.txt)?'), classesFile, (id, name) => names.set(id, name));
  const parent = new Map<string, string>();
  const hasChildren = new Set<string>();
  const lineOf = new Map<string, number>();
  eachPair(await readText(hierarchyFile, 'NABirds needs hierarchy.txt (<child> <parent>)'), hierarchyFile, (child, p, line) => {
    if (!names.has(child) || !names.has(p)) throw new ImportError(`${hierarchyFile}:${line}: node ${names.has(child) ? p : child} is not in ${classesFile}`);
    if (parent.has(child) && parent.get(child) !== p) throw new ImportError(`${hierarchyFile}:${line}: node ${child} has two parents (${parent.get(child)} and ${p})`);
    parent.set(child, p);
    lineOf.set(child, line);
    hasChildren.add(p);
  });
  checkAcyclic(parent, lineOf, hierarchyFile);
  checkCancelled(options.signal);

  const leaves = [...names.keys()].filter((id) => !hasChildren.has(id) && parent.has(id));
  if (leaves.length === 0) throw new ImportError(`${hierarchyFile}: no leaf category (a node with a parent and no children): the hierarchy lists no class to import`);
  const chains = new Map<string, string[]>();
  let depth = 0;
  for (const id of leaves) {
    const chain: string[] = [];
    const seen = new Set<string>([id]);
    for (let p = parent.get(id); p !== undefined && parent.has(p); p = parent.get(p)) {
      if (seen.has(p)) throw new ImportError(`${hierarchyFile}: the hierarchy has a cycle through node ${p}`);
      seen.add(p);
      chain.unshift(p);
    }
    chains.set(id, chain);
    depth = Math.max(depth, chain.length);
  }
  const levelNames = intermediateNames(depth);
  const classes: TaxonomyClass[] = leaves.map((id) => {
    const chain = chains.get(id)!;
    const p: Record<string, string> = { coarse };
    // Top-aligned except that the last ancestor (the species) always fills the last level;
    // levels in between that a short chain lacks repeat the value above them.
    levelNames.forEach((level, d) => {
      const node = d === levelNames.length - 1 ? chain[chain.length - 1] : d < chain.length - 1 ? chain[d] : undefined;
      p[level] = node !== undefined ? names.get(node)! : p[levelNames[d - 1]] ?? coarse;
    });
    return { id, name: names.get(id)!, path: p };
  });
  const levels: Level[] = [{ name: 'coarse', kind: 'nested' }, ...levelNames.map((name) => ({ name, kind: 'nested' as const })), { name: 'category', kind: 'nested' }];

  const partsFile = path.join(root, 'parts', 'parts.txt');
  const partsText = await readOptional(partsFile);
  if (partsText === undefined) warnings.push(`${partsFile} not found: using the built-in bird parts`);
  const project: Project = {
    version: 1,
    name: options.name ?? 'NABirds',
    dataset: { format: 'nabirds', root: datasetRootFor(root, options.projectFile) },
    levels,
    classes,
    parts: { [coarse]: defaultParts('bird', partsText) },
    templates: defaultTemplates(),
  };
  const images = options.skipImages ? [] : await readImageLists(root, new Set(leaves), warnings, options.signal, options.onProgress);
  return { project, images, warnings };
}

function intermediateNames(depth: number): string[] {
  if (depth <= 1) return depth === 1 ? ['species'] : [];
  if (depth === 2) return ['group', 'species'];
  if (depth === 3) return ['group', 'family', 'species'];
  return ['group', ...Array.from({ length: depth - 2 }, (_, i) => `level${i + 2}`), 'species'];
}
