// Label maps and probabilities -> RGBA pixels at label-map resolution. The canvas then scales
// them onto the image with smoothing off, so every label-map cell stays one crisp colour.
import type { Rgb } from '../../src/core/masks/palette';
import { viridisLut } from './colormap';

export interface OverlayStyle {
  /** Colour of label k at index k (index 0, background, is unused). */
  colours: Rgb[];
  /** Labels not drawn. */
  hidden: ReadonlySet<number>;
  /** 0..1 */
  opacity: number;
  /** Label drawn stronger (others dimmed); 0 for none. */
  highlight: number;
}

/** Alpha of a part: the opacity, raised for the highlighted part and lowered for the others. */
export function partAlpha(style: OverlayStyle, label: number): number {
  if (label === 0 || style.hidden.has(label)) return 0;
  if (style.highlight === 0 || style.hidden.has(style.highlight)) return style.opacity;
  if (label === style.highlight) return Math.max(0.6, Math.min(1, style.opacity + 0.3));
  return style.opacity * 0.5;
}

/** RGBA per label, flat, for labels 0..numParts. */
export function labelLut(numParts: number, style: OverlayStyle): Uint8ClampedArray {
  const lut = new Uint8ClampedArray((numParts + 1) * 4);
  for (let k = 1; k <= numParts; k++) {
    const c = style.colours[k] ?? [255, 255, 255];
    lut.set([c[0], c[1], c[2], Math.round(255 * partAlpha(style, k))], k * 4);
  }
  return lut;
}

export function paintLabels(out: ImageData, labels: Uint8Array, lut: Uint8ClampedArray): void {
  const px = out.data;
  const maxLabel = lut.length / 4 - 1;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] > maxLabel ? 0 : labels[i];
    const o = i * 4;
    const s = l * 4;
    px[o] = lut[s];
    px[o + 1] = lut[s + 1];
    px[o + 2] = lut[s + 2];
    px[o + 3] = lut[s + 3];
  }
}

let viridis: Uint8ClampedArray | undefined;

/** Probability map (0..1 per pixel) -> viridis RGBA with a constant alpha. */
export function paintHeatmap(out: ImageData, probs: Float32Array, opacity: number): void {
  viridis ??= viridisLut();
  const px = out.data;
  const a = Math.round(255 * opacity);
  for (let i = 0; i < probs.length; i++) {
    const v = Math.max(0, Math.min(255, Math.round(probs[i] * 255))) * 3;
    const o = i * 4;
    px[o] = viridis[v];
    px[o + 1] = viridis[v + 1];
    px[o + 2] = viridis[v + 2];
    px[o + 3] = a;
  }
}

/** An offscreen canvas of the given size holding `pixels`. */
export function offscreen(pixels: ImageData): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = pixels.width;
  c.height = pixels.height;
  c.getContext('2d')!.putImageData(pixels, 0, 0);
  return c;
}

/** The image (smoothed) with a layer scaled on top (not smoothed). */
export function composite(ctx: CanvasRenderingContext2D, image: CanvasImageSource | undefined, layer: HTMLCanvasElement | undefined): void {
  const { width, height } = ctx.canvas;
  ctx.clearRect(0, 0, width, height);
  if (image) {
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(image, 0, 0, width, height);
  }
  if (layer) {
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(layer, 0, 0, width, height);
  }
}

const images = new Map<string, Promise<HTMLImageElement>>();

function loadOnce(uri: string, cors: boolean): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    if (cors) img.crossOrigin = 'anonymous';
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error(`cannot load the image ${uri.startsWith('data:') ? '(inline data)' : uri}`));
    img.src = uri;
  });
}

/**
 * Loads (and caches) an image. CORS first so the canvas stays readable; a resource served
 * without CORS headers is loaded again without it (it then taints the canvas, which only
 * matters to pixel read-back, not to drawing).
 */
export function loadImage(uri: string): Promise<HTMLImageElement> {
  let p = images.get(uri);
  if (!p) {
    const inline = uri.startsWith('data:') || uri.startsWith('blob:');
    p = inline ? loadOnce(uri, false) : loadOnce(uri, true).catch(() => loadOnce(uri, false));
    p.catch(() => images.delete(uri));
    images.set(uri, p);
    if (images.size > 64) images.delete(images.keys().next().value as string);
  }
  return p;
}
