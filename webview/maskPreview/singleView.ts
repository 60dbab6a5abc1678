// One image with its part overlay (or one part's probability heatmap) on a canvas, and the
// part under the pointer with its probability.
import { bilinearAxis, upsampleChannel, type LabelMap } from '../../src/core/masks/labels';
import type { PreviewPart } from '../../src/core/masks/wire';
import { h } from '../kit/dom';
import { composite, labelLut, loadImage, offscreen, paintHeatmap, paintLabels, type OverlayStyle } from './paint';
import type { DisplayMode } from './viewState';

/** Largest canvas side: the overlay is crisp at any size, the photo needs no more here. */
const MAX_CANVAS_SIDE = 1600;

export interface SingleImage {
  imageUri: string;
  imageWidth: number;
  imageHeight: number;
  labels: LabelMap;
  /** Patch probabilities [gridH, gridW, n]. */
  probabilities: Float32Array;
  gridH: number;
  gridW: number;
  n: number;
  parts: PreviewPart[];
}

export interface SingleDisplay {
  style: OverlayStyle;
  mode: DisplayMode;
  /** Label whose probability the heatmap shows. */
  heatmapLabel: number;
}

export class SingleView {
  readonly element: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private readonly tooltip: HTMLElement;
  private current: SingleImage | undefined;
  private image: HTMLImageElement | undefined;
  private axes: { y: ReturnType<typeof bilinearAxis>; x: ReturnType<typeof bilinearAxis> } | undefined;
  private heat = new Map<number, Float32Array>();
  private draws = 0;
  private loadToken = 0;

  constructor(
    private readonly display: () => SingleDisplay,
    private readonly hover: (label: number) => void,
  ) {
    this.canvas = h('canvas', { id: 'view', class: 'view', role: 'img', 'aria-label': 'Image with part masks' });
    this.tooltip = h('div', { id: 'tooltip', class: 'tooltip', role: 'status', 'aria-live': 'polite', hidden: true });
    this.element = h('div', { class: 'canvas-wrap' }, this.canvas, this.tooltip);
    this.canvas.addEventListener('pointermove', (e) => this.pointer(e));
    this.canvas.addEventListener('pointerleave', () => {
      this.tooltip.hidden = true;
      this.hover(0);
    });
  }

  async show(img: SingleImage): Promise<void> {
    const token = ++this.loadToken;
    const sameImage = this.current?.imageUri === img.imageUri;
    this.current = img;
    this.heat.clear();
    this.axes = { y: bilinearAxis(img.labels.height, img.gridH), x: bilinearAxis(img.labels.width, img.gridW) };
    const scale = Math.min(1, MAX_CANVAS_SIDE / Math.max(img.imageWidth, img.imageHeight));
    this.canvas.width = Math.max(1, Math.round(img.imageWidth * scale));
    this.canvas.height = Math.max(1, Math.round(img.imageHeight * scale));
    if (!sameImage) this.image = undefined;
    // Draw the masks at once; the photo joins when it has loaded (a prompt edit keeps it).
    this.draw();
    if (!this.image) {
      try {
        const loaded = await loadImage(img.imageUri);
        if (token !== this.loadToken) return;
        this.image = loaded;
      } catch (e) {
        if (token === this.loadToken) this.canvas.dataset.imageError = (e as Error).message;
        throw e;
      }
      this.draw();
    }
  }

  /** Sizes the canvas on screen to fit `box` (content box), enlarging small images up to 3x. */
  fit(box: HTMLElement): void {
    if (!this.current || !box.isConnected) return;
    const cs = getComputedStyle(box);
    const w = box.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
    const h = box.clientHeight - parseFloat(cs.paddingTop) - parseFloat(cs.paddingBottom);
    if (w <= 0 || h <= 0) return;
    const scale = Math.min(w / this.canvas.width, h / this.canvas.height, 3);
    this.canvas.style.width = `${Math.floor(this.canvas.width * scale)}px`;
    this.canvas.style.height = `${Math.floor(this.canvas.height * scale)}px`;
  }

  draw(): void {
    const img = this.current;
    const ctx = this.canvas.getContext('2d');
    if (!img || !ctx) return;
    const d = this.display();
    const { labels } = img;
    const pixels = new ImageData(labels.width, labels.height);
    if (d.mode === 'heatmap' && d.heatmapLabel >= 1 && d.heatmapLabel <= img.n) {
      paintHeatmap(pixels, this.heatmap(d.heatmapLabel), d.style.opacity);
    } else {
      paintLabels(pixels, labels.data, labelLut(labels.numParts, d.style));
    }
    composite(ctx, this.image, offscreen(pixels));
    this.canvas.dataset.draws = String(++this.draws);
    this.canvas.dataset.imageLoaded = String(!!this.image);
  }

  /** The probability of `label` upsampled to the label map (cached per render). */
  private heatmap(label: number): Float32Array {
    const img = this.current!;
    let p = this.heat.get(label);
    if (!p) {
      p = upsampleChannel(img.probabilities, img.gridH, img.gridW, img.n, label - 1, img.labels.height, img.labels.width);
      this.heat.set(label, p);
    }
    return p;
  }

  /** Bilinear probability of `label` at label-map pixel (x, y), as the label map computed it. */
  probabilityAt(label: number, x: number, y: number): number {
    const img = this.current!;
    const { y: ay, x: ax } = this.axes!;
    const { gridW: w, n } = img;
    const c = label - 1;
    const p = img.probabilities;
    const wy = ay.w1[y];
    const wx = ax.w1[x];
    const r0 = ay.i0[y] * w;
    const r1 = ay.i1[y] * w;
    return (
      (1 - wy) * ((1 - wx) * p[(r0 + ax.i0[x]) * n + c] + wx * p[(r0 + ax.i1[x]) * n + c]) +
      wy * ((1 - wx) * p[(r1 + ax.i0[x]) * n + c] + wx * p[(r1 + ax.i1[x]) * n + c])
    );
  }

  private pointer(e: PointerEvent): void {
    const img = this.current;
    if (!img) return;
    const rect = this.canvas.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) return;
    const fx = (e.clientX - rect.left) / rect.width;
    const fy = (e.clientY - rect.top) / rect.height;
    const x = Math.min(img.labels.width - 1, Math.max(0, Math.floor(fx * img.labels.width)));
    const y = Math.min(img.labels.height - 1, Math.max(0, Math.floor(fy * img.labels.height)));
    const label = img.labels.data[y * img.labels.width + x];
    const d = this.display();
    const part = img.parts.find((p) => p.label === label);
    let text: string;
    if (d.mode === 'heatmap' && d.heatmapLabel >= 1) {
      const name = img.parts.find((p) => p.label === d.heatmapLabel)?.name ?? `part ${d.heatmapLabel}`;
      text = `${name}: p = ${this.probabilityAt(d.heatmapLabel, x, y).toFixed(2)}${part ? ` · label ${part.name}` : ' · background'}`;
    } else if (part) {
      text = `${part.name}: p = ${this.probabilityAt(label, x, y).toFixed(2)}`;
    } else {
      // Background: say which part came closest.
      let best = 1;
      let bestP = -1;
      for (const p of img.parts) {
        const v = this.probabilityAt(p.label, x, y);
        if (v > bestP) {
          bestP = v;
          best = p.label;
        }
      }
      const name = img.parts.find((p) => p.label === best)?.name ?? '';
      text = img.parts.length ? `background (best: ${name}, p = ${bestP.toFixed(2)})` : 'background';
    }
    this.tooltip.textContent = text;
    this.tooltip.hidden = false;
    const wrap = this.element.getBoundingClientRect();
    const left = Math.min(e.clientX - wrap.left + 14, wrap.width - this.tooltip.offsetWidth - 4);
    this.tooltip.style.left = `${Math.max(4, left)}px`;
    this.tooltip.style.top = `${Math.max(4, e.clientY - wrap.top + 16)}px`;
    this.hover(label === 0 || d.style.hidden.has(label) ? 0 : label);
  }
}
