// Part colours shared by the preview canvas and the exported overlay PNG, so both show a part in
// the same colour. Deterministic: colour k depends only on k (and on an explicit override).

/** RGB, 0..255 each. */
export type Rgb = readonly [number, number, number];

// Hand-picked, well separated on dark and light backgrounds; first entries are the most distinct.
const BASE: readonly Rgb[] = [
  [230, 57, 70], // red
  [42, 157, 143], // teal
  [244, 162, 97], // orange
  [69, 123, 232], // blue
  [233, 196, 56], // yellow
  [155, 89, 182], // purple
  [120, 200, 80], // green
  [240, 110, 170], // pink
  [80, 200, 220], // cyan
  [160, 110, 60], // brown
  [180, 180, 60], // olive
  [100, 100, 200], // indigo
];

function hslToRgb(h: number, s: number, l: number): Rgb {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number): number => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/** Default colour of 1-based part label k (k >= 1); beyond the base list, golden-angle hues. */
export function defaultPartColour(label: number): Rgb {
  if (!Number.isInteger(label) || label < 1) throw new Error(`part labels start at 1, got ${label}`);
  if (label <= BASE.length) return BASE[label - 1];
  const hue = ((label - BASE.length) * 137.508) % 360;
  return hslToRgb(hue, 0.65, 0.55);
}

/** '#rrggbb' (or '#rgb') -> RGB; undefined when it is not a hex colour. */
export function parseHexColour(text: string): Rgb | undefined {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(text.trim());
  if (!m) return undefined;
  let hex = m[1];
  if (hex.length === 3) hex = hex.split('').map((c) => c + c).join('');
  const v = parseInt(hex, 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

export function toHexColour([r, g, b]: Rgb): string {
  return '#' + [r, g, b].map((c) => c.toString(16).padStart(2, '0')).join('');
}

/** Colour of a part: its own valid '#rrggbb' override, else the default for its label. */
export function partColour(part: { label: number; colour?: string }): Rgb {
  return (part.colour !== undefined ? parseHexColour(part.colour) : undefined) ?? defaultPartColour(part.label);
}
