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

/** Area and 8-connected component count of every part (label 1..numParts). */
export function partStatistics(labels: LabelMap): PartStats[] {
  const { data, height, width, numParts } = labels;
  const pixels = new Int32Array(numParts + 1);
  const components = new Int32Array(numParts + 1);
  const seen = new Uint8Array(data.length);
  const stack = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const label = data[i];
    pixels[label]++;
    if (label === 0 || seen[i]) continue;
    components[label]++;
    let top = 0;
    stack[top++] = i;
    seen[i] = 1;
    while (top > 0) {
      const p = stack[--top];
      const y = (p / width) | 0;
      const x = p - y * width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if ((dx === 0 && dy === 0) || nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (!seen[q] && data[q] === label) {
            seen[q] = 1;
            stack[top++] = q;
          }
        }
      }
    }
  }
  const total = data.length || 1;
  const out: PartStats[] = [];
  for (let k = 1; k <= numParts; k++) out.push({ label: k, pixels: pixels[k], areaFraction: pixels[k] / total, components: components[k] });
  return out;
}
