// Morphological closing (dilate, then erode) with a k x k square kernel, as PSCL's PLM refines
// its one-hot part masks. Closing treats the outside of the image as empty: it is computed on a
// canvas padded by the kernel radius and cropped, so it never grows a part along the border
// (clipped windows would). The trainer does the same with zero padding and max-pooling.
// `close`/`dilate`/`erode` are the plain byte versions; the label-map closing packs each part's
// mask 32 pixels to a word (448x448 with 6 parts: ~3 ms instead of ~50 ms).
import type { LabelMap } from './labels';

function checkKernel(kernel: number): number {
  if (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 === 0) {
    throw new Error(`kernel size must be a positive odd integer, got ${kernel}`);
  }
  return (kernel - 1) / 2;
}

/** Max (dilate) or min (erode) over a square window, separable: rows then columns. */
function windowFilter(src: Uint8Array, height: number, width: number, kernel: number, max: boolean): Uint8Array {
  const r = checkKernel(kernel);
  if (r === 0) return src.slice();
  const tmp = new Uint8Array(src.length);
  const out = new Uint8Array(src.length);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(width - 1, x + r);
      let v = max ? 0 : 1;
      for (let i = x0; i <= x1; i++) {
        const s = src[row + i];
        if (max ? s > v : s < v) v = s;
      }
      tmp[row + x] = v;
    }
  }
  for (let y = 0; y < height; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(height - 1, y + r);
    for (let x = 0; x < width; x++) {
      let v = max ? 0 : 1;
      for (let j = y0; j <= y1; j++) {
        const s = tmp[j * width + x];
        if (max ? s > v : s < v) v = s;
      }
      out[y * width + x] = v;
    }
  }
  return out;
}

/** Binary dilation of a 0/1 mask (pixels outside the image are empty). */
export function dilate(mask: Uint8Array, height: number, width: number, kernel: number): Uint8Array {
  return windowFilter(mask, height, width, kernel, true);
}

/** Binary erosion of a 0/1 mask (windows clipped at the border: outside pixels are ignored). */
export function erode(mask: Uint8Array, height: number, width: number, kernel: number): Uint8Array {
  return windowFilter(mask, height, width, kernel, false);
}

/** Binary closing: dilate, then erode, with empty space around the image. */
export function close(mask: Uint8Array, height: number, width: number, kernel: number): Uint8Array {
  const r = checkKernel(kernel);
  if (r === 0) return mask.slice();
  const ph = height + 2 * r;
  const pw = width + 2 * r;
  const padded = new Uint8Array(ph * pw);
  for (let y = 0; y < height; y++) padded.set(mask.subarray(y * width, (y + 1) * width), (y + r) * pw + r);
  const closed = windowFilter(windowFilter(padded, ph, pw, kernel, true), ph, pw, kernel, false);
  const out = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) out.set(closed.subarray((y + r) * pw + r, (y + r) * pw + r + width), y * width);
  return out;
}

/** The 0/1 mask of one label. */
export function labelMask(labels: LabelMap, label: number): Uint8Array {
  const out = new Uint8Array(labels.data.length);
  for (let i = 0; i < out.length; i++) out[i] = labels.data[i] === label ? 1 : 0;
  return out;
}

/**
 * Binary masks packed 32 pixels to a word, on a canvas that extends `pad` pixels past every
 * side of the image (bit x + pad of row y + pad holds image pixel (x, y)); outside is empty.
 */
interface BitCanvas {
  words: number;
  rows: number;
  pad: number;
}

function canvasFor(labels: LabelMap, pad: number): BitCanvas {
  return { words: Math.ceil((labels.width + 2 * pad) / 32), rows: labels.height + 2 * pad, pad };
}

/** One 3x3 dilation (max) or erosion (min) step; the square (2r+1) is r such steps. */
function step3(src: Int32Array, c: BitCanvas, dilate: boolean): Int32Array {
  const { words, rows } = c;
  const horiz = new Int32Array(src.length);
  for (let y = 0; y < rows; y++) {
    const o = y * words;
    for (let i = 0; i < words; i++) {
      const v = src[o + i];
      const fromLeft = (v << 1) | (i > 0 ? src[o + i - 1] >>> 31 : 0);
      const fromRight = (v >>> 1) | (i < words - 1 ? src[o + i + 1] << 31 : 0);
      horiz[o + i] = dilate ? v | fromLeft | fromRight : v & fromLeft & fromRight;
    }
  }
  const out = new Int32Array(src.length);
  for (let y = 0; y < rows; y++) {
    const o = y * words;
    const up = y > 0 ? o - words : -1;
    const down = y < rows - 1 ? o + words : -1;
    for (let i = 0; i < words; i++) {
      const a = up < 0 ? 0 : horiz[up + i];
      const b = down < 0 ? 0 : horiz[down + i];
      out[o + i] = dilate ? a | horiz[o + i] | b : a & horiz[o + i] & b;
    }
  }
  return out;
}

/**
 * Every part's closing on the zero-extended plane, bit-packed. The canvas pad is the kernel
 * radius: r dilation steps reach at most r pixels past the image, so nothing is cut off.
 */
function closedPartBits(labels: LabelMap, r: number): { canvas: BitCanvas; parts: Array<Int32Array | undefined> } {
  const { data, height, width, numParts } = labels;
  const canvas = canvasFor(labels, r);
  const parts: Array<Int32Array | undefined> = new Array(numParts + 1);
  for (let y = 0; y < height; y++) {
    const row = (y + r) * canvas.words;
    for (let x = 0; x < width; x++) {
      const l = data[y * width + x];
      if (l === 0 || l > numParts) continue;
      const bits = (parts[l] ??= new Int32Array(canvas.rows * canvas.words));
      const b = x + r;
      bits[row + (b >>> 5)] |= 1 << (b & 31);
    }
  }
  for (let k = 1; k <= numParts; k++) {
    let m = parts[k];
    if (!m) continue;
    for (let i = 0; i < r; i++) m = step3(m, canvas, true);
    for (let i = 0; i < r; i++) m = step3(m, canvas, false);
    parts[k] = m;
  }
  return { canvas, parts };
}

function bitAt(bits: Int32Array | undefined, c: BitCanvas, x: number, y: number): number {
  if (!bits) return 0;
  const b = x + c.pad;
  return (bits[(y + c.pad) * c.words + (b >>> 5)] >>> (b & 31)) & 1;
}

/**
 * The per-part masks PSCL trains with: each part's one-hot mask closed on its own. They may
 * overlap along borders and over specks of another part; that is the paper's M = (S+K)-K.
 */
export function closedPartMasks(labels: LabelMap, kernel: number): Uint8Array[] {
  const r = checkKernel(kernel);
  const { height, width, numParts } = labels;
  if (r === 0) return Array.from({ length: numParts }, (_, k) => labelMask(labels, k + 1));
  const { canvas, parts } = closedPartBits(labels, r);
  return Array.from({ length: numParts }, (_, k) => {
    const m = new Uint8Array(height * width);
    const bits = parts[k + 1];
    if (bits) for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) m[y * width + x] = bitAt(bits, canvas, x, y);
    return m;
  });
}

/**
 * Closing applied to a label map: background pixels that a part's closed mask covers join that
 * part (holes and gaps in a part are filled). Where several parts cover a background pixel, the
 * one with most pixels in the pixel's window wins (then the lower index). Labelled pixels keep
 * their label: closing is extensive, so every part's closed mask still contains its pixels.
 */
export function closeLabelMap(labels: LabelMap, kernel: number): LabelMap {
  const r = checkKernel(kernel);
  const { height, width, numParts } = labels;
  const src = labels.data;
  const out = src.slice();
  if (r === 0) return { ...labels, data: out };
  let hasBackground = false;
  for (let i = 0; i < src.length; i++) if (src[i] === 0) { hasBackground = true; break; }
  if (!hasBackground) return { ...labels, data: out };
  const { canvas, parts } = closedPartBits(labels, r);
  // how many parts cover each background pixel; `out` holds the last one that did
  const covering = new Uint8Array(src.length);
  for (let k = 1; k <= numParts; k++) {
    const bits = parts[k];
    if (!bits) continue;
    for (let y = 0; y < height; y++) {
      const row = (y + r) * canvas.words;
      for (let x = 0; x < width; x++) {
        const b = x + r;
        const word = bits[row + (b >>> 5)];
        if (word === 0) {
          x += 31 - (b & 31); // the rest of this word is empty
          continue;
        }
        const i = y * width + x;
        if ((word >>> (b & 31)) & 1 && src[i] === 0) {
          covering[i]++;
          out[i] = k;
        }
      }
    }
  }
  const counts = new Int32Array(numParts + 1);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (covering[i] < 2) continue;
      counts.fill(0);
      for (let j = Math.max(0, y - r); j <= Math.min(height - 1, y + r); j++) {
        for (let c = Math.max(0, x - r); c <= Math.min(width - 1, x + r); c++) counts[src[j * width + c]]++;
      }
      let best = 0;
      for (let k = 1; k <= numParts; k++) if (bitAt(parts[k], canvas, x, y) && (best === 0 || counts[k] > counts[best])) best = k;
      out[i] = best;
    }
  }
  return { data: out, height, width, numParts };
}
