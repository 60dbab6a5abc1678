// Class hierarchies given as files next to a dataset (the published CUB ones): either
// `<parent> <child>` id pairs whose leaves are class ids, with node names from a `<id> <name>`
// file, or a human-readable tree whose depth is the number of leading dashes ("-- ", "---- ").
// When the names file only names the leaves, internal names come from the matching tree file:
// a tree node and an id node are the same when they cover the same set of leaves.
import path from 'node:path';
import { checkAcyclic, eachPair, ImportError, readOptional, readText } from './common';

export interface ClassLineage {
  /** Ancestor names from the top (the root excluded) down to the parent. */
  ancestors: string[];
  /** The hierarchy's own name of the class (e.g. its scientific name). */
  ownName?: string;
}

export interface Hierarchy {
  lineage: Map<string, ClassLineage>;
  /** Rank hints from tree comments such as "(subfam)". */
  ranks: Map<string, string>;
  warnings: string[];
}

interface TreeNode {
  name: string;
  depth: number;
  parent: number;
  rank?: string;
}

const COMMENT_RANKS: Record<string, string> = {
  ord: 'order',
  subord: 'suborder',
  infraord: 'infraorder',
  superfam: 'superfamily',
  fam: 'family',
  subfam: 'subfamily',
  tribe: 'tribe',
  gen: 'genus',
};

function isTreeText(text: string): boolean {
  return /^-+ \S/m.test(text);
}

function parseTree(text: string, file: string): TreeNode[] {
  const nodes: TreeNode[] = [];
  const stack: number[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (!raw.trim()) return;
    const m = /^(-*)\s*(.*?)\s*$/.exec(raw)!;
    const depth = m[1].length === 0 ? 0 : Math.ceil(m[1].length / 2);
    let name = m[2];
    let rank: string | undefined;
    const c = /^(.*?)\s*\(([^()]*)\)$/.exec(name);
    if (c && COMMENT_RANKS[c[2].toLowerCase()]) {
      name = c[1];
      rank = COMMENT_RANKS[c[2].toLowerCase()];
    }
    if (depth > stack.length) throw new ImportError(`${file}:${i + 1}: indentation skips a level`);
    stack.length = depth;
    const parent = depth === 0 ? -1 : stack[depth - 1];
    nodes.push({ name, depth, parent, rank });
    stack.push(nodes.length - 1);
  });
  return nodes;
}

/** Sibling file names used by the published CUB hierarchies: cub_X.parent-child.txt, classes_X.txt, hierarchy_X.txt. */
function siblings(file: string): { names?: string; tree?: string } {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let m = /^cub_(.+)\.parent-child\.txt$/.exec(base);
  if (m) return { names: path.join(dir, `classes_${m[1]}.txt`), tree: path.join(dir, `hierarchy_${m[1]}.txt`) };
  m = /^hierarchy_(.+)\.txt$/.exec(base);
  if (m) return { names: path.join(dir, `classes_${m[1]}.txt`) };
  return {};
}

function readNames(text: string, file: string): Map<string, string> {
  const m = new Map<string, string>();
  eachPair(text, file, (id, name) => m.set(id, name));
  return m;
}

/** Reads a hierarchy for the given class ids (the leaves). */
export async function readHierarchy(file: string, classIds: readonly string[], namesFile?: string): Promise<Hierarchy> {
  const text = await readText(file, 'the --hierarchy file');
  const sib = siblings(file);
  const namesPath = namesFile ?? sib.names;
  const namesText = namesPath ? await readOptional(namesPath) : undefined;
  if (namesFile && namesText === undefined) throw new ImportError(`${namesFile} not found: the names of the hierarchy's nodes`);
  const names = namesText !== undefined ? readNames(namesText, namesPath!) : new Map<string, string>();
  const warnings: string[] = [];
  const ranks = new Map<string, string>();

  if (isTreeText(text)) {
    const nodes = parseTree(text, file);
    const idByName = new Map([...names].map(([id, n]) => [n, id]));
    const lineage = new Map<string, ClassLineage>();
    nodes.forEach((n) => {
      if (n.rank) ranks.set(n.name, n.rank);
      const id = idByName.get(n.name);
      if (id === undefined || !classIds.includes(id)) return;
      const ancestors: string[] = [];
      for (let p = n.parent; p >= 0 && nodes[p].parent >= 0; p = nodes[p].parent) ancestors.unshift(nodes[p].name);
      lineage.set(id, { ancestors, ownName: n.name });
    });
    if (lineage.size === 0) throw new ImportError(`${file}: no class of the dataset found in the tree; the leaf names must match ${namesPath ?? 'a names file (--hierarchy-names)'}`);
    return { lineage, ranks, warnings };
  }

  // `<parent> <child>` pairs.
  const parent = new Map<string, string>();
  const children = new Map<string, string[]>();
  const lineOf = new Map<string, number>();
  eachPair(text, file, (p, c, line) => {
    if (parent.has(c) && parent.get(c) !== p) throw new ImportError(`${file}:${line}: node ${c} has two parents (${parent.get(c)} and ${p})`);
    if (parent.has(c)) return; // the same pair twice
    parent.set(c, p);
    lineOf.set(c, line);
    let list = children.get(p);
    if (!list) children.set(p, (list = []));
    list.push(c);
  });
  checkAcyclic(parent, lineOf, file);
  const internal = [...children.keys()];
  const unnamed = internal.filter((id) => !names.has(id));
  if (unnamed.length > 0 && sib.tree) {
    const treeText = await readOptional(sib.tree);
    if (treeText !== undefined) nameFromTree(parseTree(treeText, sib.tree), names, parent, children, ranks);
  }
  const lineage = new Map<string, ClassLineage>();
  let missingNames = 0;
  const nameOf = (id: string) => {
    const n = names.get(id);
    if (n === undefined) missingNames++;
    return n ?? `node ${id}`;
  };
  for (const id of classIds) {
    if (!parent.has(id)) continue;
    const ancestors: string[] = [];
    for (let p = parent.get(id); p !== undefined && parent.has(p); p = parent.get(p)) ancestors.unshift(nameOf(p));
    lineage.set(id, { ancestors, ownName: names.get(id) });
  }
  if (missingNames > 0) warnings.push(`${file}: some hierarchy nodes have no name (named 'node <id>'); pass --hierarchy-names with a '<id> <name>' file`);
  const absent = classIds.filter((id) => !lineage.has(id));
  if (absent.length > 0) warnings.push(`${file}: ${absent.length} classes are not in the hierarchy (${absent.slice(0, 5).join(', ')}${absent.length > 5 ? ', ...' : ''})`);
  return { lineage, ranks, warnings };
}

/** Names internal id nodes after the tree nodes covering the same leaves (names must hold the leaf names). */
function nameFromTree(
  tree: TreeNode[],
  names: Map<string, string>,
  parent: Map<string, string>,
  children: Map<string, string[]>,
  ranks: Map<string, string>,
): void {
  const leafIdByName = new Map<string, string>();
  for (const [id, n] of names) if (!children.has(id)) leafIdByName.set(n, id);
  // Leaf sets of tree nodes, keyed by sorted leaf ids; nodes with the same set are listed top-down.
  const treeLeaves: string[][] = tree.map(() => []);
  tree.forEach((n, i) => {
    const id = leafIdByName.get(n.name);
    if (id === undefined) return;
    for (let p = i; p >= 0; p = tree[p].parent) treeLeaves[p].push(id);
  });
  const byKey = new Map<string, number[]>();
  treeLeaves.forEach((leaves, i) => {
    if (leaves.length === 0 || leafIdByName.has(tree[i].name)) return;
    const key = leaves.sort().join(',');
    const list = byKey.get(key) ?? [];
    list.push(i);
    byKey.set(key, list);
  });
  const idLeaves = new Map<string, string[]>();
  const collect = (id: string): string[] => {
    const cached = idLeaves.get(id);
    if (cached) return cached;
    const kids = children.get(id);
    const out = kids ? kids.flatMap(collect) : [id];
    idLeaves.set(id, out);
    return out;
  };
  const depthOf = (id: string) => {
    let d = 0;
    for (let p = parent.get(id); p !== undefined; p = parent.get(p)) d++;
    return d;
  };
  const idsByKey = new Map<string, string[]>();
  for (const id of children.keys()) {
    const key = [...collect(id)].sort().join(',');
    const list = idsByKey.get(key) ?? [];
    list.push(id);
    idsByKey.set(key, list);
  }
  for (const [key, ids] of idsByKey) {
    const nodes = byKey.get(key);
    if (!nodes) continue;
    ids.sort((a, b) => depthOf(a) - depthOf(b));
    // Chains of single-child nodes share a key: pair them top-down, the lowest ones with the lowest.
    const offset = nodes.length - ids.length;
    ids.forEach((id, k) => {
      const node = tree[nodes[Math.max(0, k + offset)]];
      if (!names.has(id)) names.set(id, node.name);
      if (node.rank) ranks.set(node.name, node.rank);
    });
  }
}

/** A rank name from a Latin name's ending (zoological nomenclature), if it has one. */
export function rankFromSuffix(name: string): string | undefined {
  if (/formes$/.test(name)) return 'order';
  if (/oidea$/.test(name)) return 'superfamily';
  if (/idae$/.test(name)) return 'family';
  if (/inae$/.test(name)) return 'subfamily';
  if (/ini$/.test(name)) return 'tribe';
  return undefined;
}
