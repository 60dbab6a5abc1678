// The real CUB-200 class hierarchy (order > family > genus > species, from test/data) as a
// ClassTaxonomy, and a deterministic confusion matrix over it: most errors go to a sibling in the
// same genus or family, a few anywhere.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ClassTaxonomy } from '../../../src/core/runs/confusion';

export function cubTaxonomy(dataDir: string): { taxonomy: ClassTaxonomy; names: string[] } {
  const h = path.join(dataDir, 'cub-hierarchy');
  const names = new Map<number, string>();
  for (const line of readFileSync(path.join(h, 'classes_flat.txt'), 'utf8').split('\n')) {
    const m = /^(\d+) (.+)$/.exec(line.trim());
    if (m) names.set(Number(m[1]), m[2]);
  }
  const parent = new Map<number, number>();
  for (const line of readFileSync(path.join(h, 'cub_flat.parent-child.txt'), 'utf8').split('\n')) {
    const [p, c] = line.trim().split(/\s+/).map(Number);
    if (p && c) parent.set(c, p);
  }
  const english = readFileSync(path.join(dataDir, 'cub', 'classes.txt'), 'utf8').split('\n').filter((l) => l.trim()).map((l) => l.trim().split(' ')[1].slice(4).replace(/_/g, ' '));
  const classLevels: string[][] = [];
  for (let id = 1; id <= 200; id++) {
    const chain: string[] = [];
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) chain.unshift(names.get(n) ?? String(n));
    // chain: Aves, order, family, genus, species; four classes stop at the genus (no species node)
    const [order, family, genus] = chain.slice(1);
    classLevels.push([order, family, genus, english[id - 1]]);
  }
  return { taxonomy: { levels: ['order', 'family', 'genus', 'species'], classLevels }, names: english };
}

export function cubConfusion(t: ClassTaxonomy, perClass = 30): number[][] {
  const n = t.classLevels.length;
  const m = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    const sib = (level: number) => t.classLevels.findIndex((c, j) => j !== i && c[level] === t.classLevels[i][level]);
    const near = sib(2) >= 0 ? sib(2) : sib(1);
    const wrongNear = near >= 0 ? 2 + (i % 5) : 0;
    const far = (i * 37 + 11) % n;
    const wrongFar = far !== i && i % 3 === 0 ? 2 : 0;
    if (near >= 0) m[i][near] += wrongNear;
    if (wrongFar) m[i][far] += wrongFar;
    m[i][i] = perClass - wrongNear - wrongFar;
  }
  return m;
}
