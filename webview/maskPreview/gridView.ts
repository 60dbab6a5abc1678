// Grid mode: the same prompts over a sample of images from several classes of one coarse
// category, each thumbnail with its overlay (same toggles and opacity) and the chosen part's
// area, so a prompt that fails on some classes stands out.
import { decodeLabelMap, type GridItem, type GridPayload } from '../../src/core/masks/wire';
import type { LabelMap } from '../../src/core/masks/labels';
import { h, pct } from '../kit/dom';
import { composite, labelLut, loadImage, offscreen, paintLabels, type OverlayStyle } from './paint';

const THUMB_SIDE = 240;

/** How the chosen part fares on one image. */
export type PartVerdict = 'ok' | 'low' | 'missing';

/**
 * Missing: no pixel. Low: under a quarter of the median area over the images where the part
 * was found (a prompt that mostly works but not here).
 */
export function partVerdicts(areas: number[]): PartVerdict[] {
  const found = areas.filter((a) => a > 0).sort((a, b) => a - b);
  const median = found.length ? found[Math.floor((found.length - 1) / 2)] : 0;
  return areas.map((a) => (a === 0 ? 'missing' : a < 0.25 * median ? 'low' : 'ok'));
}

interface Thumb {
  item: GridItem;
  labels: LabelMap;
  canvas: HTMLCanvasElement;
  figure: HTMLElement;
  caption: HTMLElement;
  image?: HTMLImageElement;
}

export class GridView {
  readonly element: HTMLElement;
  private readonly summary: HTMLElement;
  private readonly partSelect: HTMLSelectElement;
  private readonly list: HTMLElement;
  private thumbs: Thumb[] = [];
  private payload: GridPayload | undefined;

  constructor(
    private readonly style: () => OverlayStyle,
    private readonly selectedPart: () => number,
    private readonly onSelectPart: (label: number) => void,
    private readonly onOpen: (key: string) => void,
  ) {
    this.summary = h('p', { class: 'grid-summary', id: 'grid-summary', role: 'status' });
    this.partSelect = h('select', { id: 'grid-part' });
    this.partSelect.addEventListener('change', () => this.onSelectPart(Number(this.partSelect.value)));
    this.list = h('div', { class: 'grid', id: 'grid', role: 'list' });
    this.element = h(
      'div',
      { class: 'grid-view' },
      h('div', { class: 'grid-head' }, this.summary, h('label', { class: 'inline', for: 'grid-part' }, 'Area of', this.partSelect)),
      this.list,
    );
  }

  show(payload: GridPayload): void {
    this.payload = payload;
    this.partSelect.replaceChildren(...payload.parts.map((p) => h('option', { value: p.label }, p.name)));
    this.thumbs = payload.items.map((item) => {
      const labels = decodeLabelMap(item.labelMap);
      const scale = Math.min(1, THUMB_SIDE / Math.max(item.imageWidth, item.imageHeight));
      const canvas = h('canvas', { class: 'thumb-canvas', 'aria-hidden': 'true' });
      canvas.width = Math.max(1, Math.round(item.imageWidth * scale));
      canvas.height = Math.max(1, Math.round(item.imageHeight * scale));
      const caption = h('figcaption', {});
      const figure = h('figure', { class: 'thumb', role: 'listitem', tabindex: 0, 'data-key': item.key }, canvas, caption);
      figure.addEventListener('click', () => this.onOpen(item.key));
      figure.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          this.onOpen(item.key);
        }
      });
      const thumb: Thumb = { item, labels, canvas, figure, caption };
      loadImage(item.imageUri).then(
        (img) => {
          thumb.image = img;
          this.drawThumb(thumb);
        },
        () => figure.classList.add('broken'),
      );
      return thumb;
    });
    this.list.replaceChildren(...this.thumbs.map((t) => t.figure));
    this.redraw();
  }

  /** Redraws every thumbnail and caption (toggles, opacity, highlight or the chosen part changed). */
  redraw(): void {
    if (!this.payload) return;
    const label = this.selectedPart();
    this.partSelect.value = String(label);
    const part = this.payload.parts.find((p) => p.label === label);
    const areas = this.thumbs.map((t) => t.item.stats.find((s) => s.label === label)?.areaFraction ?? 0);
    const verdicts = partVerdicts(areas);
    this.thumbs.forEach((t, i) => {
      t.figure.dataset.verdict = verdicts[i];
      const badge = verdicts[i] === 'ok' ? undefined : h('span', { class: `badge ${verdicts[i]}` }, verdicts[i]);
      t.caption.replaceChildren(
        h('span', { class: 'cls', title: t.item.className }, t.item.className),
        h('span', { class: 'area' }, part ? `${part.name} ${pct(areas[i])}` : ''),
        ...(badge ? [badge] : []),
      );
      t.figure.setAttribute('aria-label', `${t.item.className}: ${part?.name ?? 'part'} ${pct(areas[i])}${verdicts[i] === 'ok' ? '' : `, ${verdicts[i]}`}. Enter opens it.`);
      this.drawThumb(t);
    });
    const missing = verdicts.filter((v) => v === 'missing').length;
    const low = verdicts.filter((v) => v === 'low').length;
    const classes = new Set(this.payload.items.map((it) => it.className)).size;
    this.summary.textContent =
      `${this.payload.category}: ${this.payload.items.length} images from ${classes} classes` +
      (part ? ` · ${part.name} missing in ${missing}, low in ${low}` : '');
  }

  private drawThumb(t: Thumb): void {
    const ctx = t.canvas.getContext('2d');
    if (!ctx) return;
    const pixels = new ImageData(t.labels.width, t.labels.height);
    paintLabels(pixels, t.labels.data, labelLut(t.labels.numParts, this.style()));
    composite(ctx, t.image, offscreen(pixels));
  }
}
