// A Dataset view snapshot of any size with a NABirds-like taxonomy (coarse > order > family >
// genus > species), for the page test and bench/dataset-view.ts; plus map coordinates in
// clusters by genus. Deterministic.
import type { DatasetFinding, DatasetSnapshot } from '../../../src/core/curation/datasetProtocol';

export function datasetSnapshot(n: number, o: { classes?: number; imageRoot?: string; thumbnails?: boolean } = {}): DatasetSnapshot {
  const nc = o.classes ?? 555;
  const levels = ['coarse', 'order', 'family', 'genus', 'species'];
  const classes = Array.from({ length: nc }, (_, c) => ({
    id: String(c + 1),
    name: `Species ${c + 1}`,
    values: ['bird', `Order ${c % 13}`, `Family ${c % 61}`, `Genus ${c % 211}`, `Species ${c + 1}`],
  }));
  // keep the tree strict: family and genus follow the order of their first class
  for (const c of classes) {
    const g = Number(c.values[3]!.split(' ')[1]);
    c.values[2] = `Family ${g % 61}`;
    c.values[1] = `Order ${(g % 61) % 13}`;
  }
  const path: string[] = [], cls: number[] = [], split: string[] = [], excluded: (string | null)[] = [], relabeledFrom: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = (i * 7919) % nc;
    path.push(`images/${String(c + 1).padStart(4, '0')}/${i.toString(16).padStart(8, '0')}.jpg`);
    cls.push(c);
    split.push(i % 3 === 0 ? 'test' : 'train');
    excluded.push(null);
    relabeledFrom.push(-1);
  }
  return {
    type: 'dataset',
    project: { name: `Synthetic ${n}`, file: '/work/synthetic.pscl.json' },
    levels,
    classes,
    images: { path, cls, split, excluded, relabeledFrom },
    imageRoot: o.imageRoot ?? 'http://webview.test/img',
    thumbnails: o.thumbnails ?? true,
  };
}

/** Map coordinates: one Gaussian-ish cluster per genus. */
export function clusteredXY(snapshot: DatasetSnapshot): number[] {
  let s = 12345;
  const r = () => ((s = (s * 48271) % 2147483647) / 2147483647 - 0.5);
  return snapshot.images.cls.flatMap((c) => {
    const g = Number(snapshot.classes[c]!.values[3]!.split(' ')[1]);
    return [Math.cos(g) * 10 * (1 + (g % 7)) + 2 * (r() + r()), Math.sin(g) * 10 * (1 + (g % 7)) + 2 * (r() + r())];
  });
}

export function duplicateFindings(pairs: Array<[number, number]>): DatasetFinding[] {
  return pairs.map(([a, b]) => ({ kind: 'duplicate', images: [a, b], score: 1, reason: '2 images are identical files, all in the train split', match: 'exact' }));
}

/** A small SVG as a data URI (the CSP allows data: images), coloured by index. */
export function svgThumb(i: number): string {
  const hue = (i * 47) % 360;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="hsl(${hue},60%,55%)"/><circle cx="32" cy="30" r="14" fill="hsl(${(hue + 180) % 360},50%,35%)"/></svg>`;
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}
