// The taxonomy as a tree for views: nested levels form the tree (coarse at the roots, classes
// at the leaves); facet levels are separate groupings across it.
import type { Project } from './model';

export interface TreeNode {
  level: string;
  levelIndex: number;
  /** The value at this level ('' when a class has none: shown as missing). */
  value: string;
  /** Set on class (fine-level) nodes. */
  classId?: string;
  children: TreeNode[];
  /** Classes below (1 for a class node). */
  classCount: number;
  /** Images below, when image counts were given. */
  imageCount: number;
}

export interface FacetGroup {
  value: string;
  classIds: string[];
  classCount: number;
  imageCount: number;
}

export interface FacetGrouping {
  level: string;
  levelIndex: number;
  groups: FacetGroup[];
}

export interface TaxonomyTree {
  roots: TreeNode[];
  facets: FacetGrouping[];
}

/** Builds the tree in dataset order (first appearance). `imageCounts` maps class id -> images. */
export function taxonomyTree(project: Project, imageCounts?: ReadonlyMap<string, number> | Record<string, number>): TaxonomyTree {
  const count = (id: string): number =>
    imageCounts instanceof Map ? imageCounts.get(id) ?? 0 : imageCounts ? (imageCounts as Record<string, number>)[id] ?? 0 : 0;
  const { levels } = project;
  const fine = levels.length - 1;
  const nested = levels.map((l, i) => i).filter((i) => i < fine && levels[i].kind !== 'facet');
  const roots: TreeNode[] = [];
  const index = new Map<TreeNode[] | TreeNode, Map<string, TreeNode>>();
  const childFor = (parent: TreeNode | undefined, levelIndex: number, value: string): TreeNode => {
    const list = parent ? parent.children : roots;
    const key = parent ?? roots;
    let m = index.get(key);
    if (!m) index.set(key, (m = new Map()));
    let n = m.get(value);
    if (!n) {
      n = { level: levels[levelIndex].name, levelIndex, value, children: [], classCount: 0, imageCount: 0 };
      m.set(value, n);
      list.push(n);
    }
    return n;
  };
  const facets: FacetGrouping[] = levels
    .map((l, i) => ({ l, i }))
    .filter(({ l, i }) => l.kind === 'facet' && i < fine)
    .map(({ l, i }) => ({ level: l.name, levelIndex: i, groups: [] }));
  const facetIndex = facets.map(() => new Map<string, FacetGroup>());

  for (const cls of project.classes) {
    const images = count(cls.id);
    let parent: TreeNode | undefined;
    const chain: TreeNode[] = [];
    for (const i of nested) {
      parent = childFor(parent, i, cls.path[levels[i].name] ?? '');
      chain.push(parent);
    }
    const leaf: TreeNode = { level: levels[fine]?.name ?? '', levelIndex: fine, value: cls.name, classId: cls.id, children: [], classCount: 1, imageCount: images };
    (parent ? parent.children : roots).push(leaf);
    for (const n of chain) {
      n.classCount++;
      n.imageCount += images;
    }
    facets.forEach((f, k) => {
      const value = cls.path[f.level] ?? '';
      let g = facetIndex[k].get(value);
      if (!g) {
        g = { value, classIds: [], classCount: 0, imageCount: 0 };
        facetIndex[k].set(value, g);
        f.groups.push(g);
      }
      g.classIds.push(cls.id);
      g.classCount++;
      g.imageCount += images;
    });
  }
  return { roots, facets };
}

/** Distinct values per level, in first-appearance order (for `pscl info` and pickers). */
export function levelValues(project: Project): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const fine = project.levels.length - 1;
  project.levels.forEach((level, i) => {
    const seen = new Set<string>();
    for (const cls of project.classes) {
      const v = i === fine ? cls.name : cls.path[level.name];
      if (v !== undefined) seen.add(v);
    }
    out.set(level.name, [...seen]);
  });
  return out;
}

/** Images per class id, for taxonomyTree's counts. */
export function imageCountsByClass(images: ReadonlyArray<{ classId: string }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const img of images) counts.set(img.classId, (counts.get(img.classId) ?? 0) + 1);
  return counts;
}
