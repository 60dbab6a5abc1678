// Heatmap colours: viridis (perceptually uniform, readable on dark and light themes), as
// piecewise-linear interpolation between its values at 0, 1/8, ..., 1.
const STOPS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** 256-entry RGB lookup table, flat [r, g, b, r, g, b, ...]. */
export function viridisLut(): Uint8ClampedArray {
  const lut = new Uint8ClampedArray(256 * 3);
  const segments = STOPS.length - 1;
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * segments;
    const s = Math.min(segments - 1, Math.floor(t));
    const f = t - s;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(STOPS[s][c] * (1 - f) + STOPS[s + 1][c] * f);
  }
  return lut;
}

/** CSS gradient stops for the heatmap legend bar. */
export function viridisCss(): string {
  return `linear-gradient(to right, ${STOPS.map((c, i) => `rgb(${c.join(',')}) ${(i / (STOPS.length - 1)) * 100}%`).join(', ')})`;
}
