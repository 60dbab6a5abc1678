// Per-part statistics shown in the preview legend and stored with exported masks.
import type { LabelMap } from './labels';

export interface PartStats {
  /** 1-based part label. */
  label: number;
  pixels: number;
  /** Share of all pixels, 0..1. */
  areaFraction: number;
  /** 8-connected components of the part. */
  components: number;
}

function find(parent: Int32Array, i: number): number {
  while (parent[i] !== i) {
    parent[i] = parent[parent[i]];
    i = parent[i];
  }
  return i;
}

/**
 * Area and 8-connected component count of every part (label 1..numParts). Components are
 * found on runs (row segments of one label), not pixels: two runs of a label in adjacent rows
 * join when they overlap or touch diagonally. Runs are few, so this is one pass over the pixels.
 */
export function partStatistics(labels: LabelMap): PartStats[] {
  const { data, height, width, numParts } = labels;
  const pixels = new Int32Array(numParts + 1);
  // runs: start x, end x (exclusive), label; one row's runs are contiguous
  let cap = 1024;
  let start = new Int32Array(cap);
  let end = new Int32Array(cap);
  let label = new Uint8Array(cap);
  let parent = new Int32Array(cap);
  let runs = 0;
  let prevFirst = 0;
  let prevLast = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    const first = runs;
    let x = 0;
    while (x < width) {
      const l = data[row + x];
      let e = x + 1;
      while (e < width && data[row + e] === l) e++;
      if (l !== 0 && l <= numParts) {
        if (runs === cap) {
          cap *= 2;
          const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
            const b = make(cap);
            b.set(a);
            return b;
          };
          start = grow(start, (n) => new Int32Array(n));
          end = grow(end, (n) => new Int32Array(n));
          label = grow(label, (n) => new Uint8Array(n));
          parent = grow(parent, (n) => new Int32Array(n));
        }
        start[runs] = x;
        end[runs] = e;
        label[runs] = l;
        parent[runs] = runs;
        pixels[l] += e - x;
        runs++;
      }
      x = e;
    }
    // join with the previous row's runs of the same label that overlap [x - 1, e] (8-connectivity)
    if (y > 0) {
      let p = prevFirst;
      for (let c = first; c < runs; c++) {
        while (p < prevLast && end[p] < start[c]) p++;
        for (let q = p; q < prevLast && start[q] <= end[c]; q++) {
          if (label[q] !== label[c]) continue;
          const a = find(parent, q);
          const b = find(parent, c);
          if (a !== b) parent[a < b ? b : a] = a < b ? a : b;
        }
      }
    }
    prevFirst = first;
    prevLast = runs;
  }
  const components = new Int32Array(numParts + 1);
  for (let i = 0; i < runs; i++) if (find(parent, i) === i) components[label[i]]++;
  const total = data.length || 1;
  const out: PartStats[] = [];
  for (let k = 1; k <= numParts; k++) out.push({ label: k, pixels: pixels[k], areaFraction: pixels[k] / total, components: components[k] });
  return out;
}
