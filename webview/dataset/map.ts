// The embedding map: one point per image on a canvas, drawn into an ImageData buffer (50k points
// in a couple of milliseconds), coloured by a taxonomy level; a lasso picks points; hover finds
// the nearest point through a coarse bucket grid.
import { insidePolygon } from './model';

export interface MapPoints {
  /** x, y interleaved in data units; NaN for an image without coordinates. */
  xy: Float32Array;
  /** Colour per point, [r, g, b] interleaved. */
  rgb: Uint8Array;
  /** Points drawn dimmed (filtered out of the grid). */
  dim?: Uint8Array;
}

export class MapView {
  private bounds = { x0: 0, y0: 0, x1: 1, y1: 1 };
  private px = new Float32Array(0);
  private buckets = new Map<number, number[]>();
  private lasso: Array<[number, number]> = [];
  private image?: ImageData;
  private points?: MapPoints;
  private readonly ctx: CanvasRenderingContext2D;
  /** Milliseconds of the last draw (for the benchmark). */
  lastDrawMs = 0;

  constructor(
    readonly canvas: HTMLCanvasElement,
    private readonly onLasso: (picked: Set<number>) => void,
    private readonly onHover: (index: number | undefined, x: number, y: number) => void,
  ) {
    this.ctx = canvas.getContext('2d')!;
    canvas.addEventListener('pointerdown', (e) => {
      canvas.setPointerCapture(e.pointerId);
      this.lasso = [this.local(e)];
    });
    canvas.addEventListener('pointermove', (e) => {
      const p = this.local(e);
      if (this.lasso.length > 0 && e.buttons) {
        this.lasso.push(p);
        this.draw();
      } else this.onHover(this.nearest(p[0], p[1]), e.offsetX, e.offsetY);
    });
    canvas.addEventListener('pointerup', () => {
      if (this.lasso.length > 2) this.onLasso(this.pick(this.lasso));
      this.lasso = [];
      this.draw();
    });
    canvas.addEventListener('pointerleave', () => this.onHover(undefined, 0, 0));
  }

  private local(e: PointerEvent): [number, number] {
    const r = this.canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * this.canvas.width) / r.width, ((e.clientY - r.top) * this.canvas.height) / r.height];
  }

  setPoints(points: MapPoints): void {
    this.points = points;
    const { xy } = points;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let i = 0; i < xy.length; i += 2) {
      const x = xy[i]!, y = xy[i + 1]!;
      if (Number.isNaN(x) || Number.isNaN(y)) continue;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
    }
    this.bounds = Number.isFinite(x0) ? { x0, y0, x1: x1 === x0 ? x0 + 1 : x1, y1: y1 === y0 ? y0 + 1 : y1 } : { x0: 0, y0: 0, x1: 1, y1: 1 };
    this.layout();
  }

  /** Pixel positions and the hover buckets for the canvas size. */
  layout(): void {
    const pts = this.points;
    if (!pts) return;
    const { width: w, height: h } = this.canvas;
    const pad = 8;
    const { x0, y0, x1, y1 } = this.bounds;
    const n = pts.xy.length / 2;
    this.px = new Float32Array(n * 2);
    this.buckets.clear();
    for (let i = 0; i < n; i++) {
      const x = pts.xy[i * 2]!, y = pts.xy[i * 2 + 1]!;
      if (Number.isNaN(x)) {
        this.px[i * 2] = NaN;
        continue;
      }
      const X = pad + ((x - x0) / (x1 - x0)) * (w - 2 * pad);
      const Y = pad + ((y - y0) / (y1 - y0)) * (h - 2 * pad);
      this.px[i * 2] = X;
      this.px[i * 2 + 1] = Y;
      const key = Math.floor(X / 16) * 65536 + Math.floor(Y / 16);
      const b = this.buckets.get(key);
      if (b) b.push(i);
      else this.buckets.set(key, [i]);
    }
    this.image = this.ctx.createImageData(w, h);
  }

  nearest(x: number, y: number, radius = 8): number | undefined {
    let best: number | undefined;
    let bestD = radius * radius;
    const bx = Math.floor(x / 16), by = Math.floor(y / 16);
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const i of this.buckets.get((bx + dx) * 65536 + by + dy) ?? []) {
          const d = (this.px[i * 2]! - x) ** 2 + (this.px[i * 2 + 1]! - y) ** 2;
          if (d <= bestD) [best, bestD] = [i, d];
        }
      }
    }
    return best;
  }

  pick(poly: ReadonlyArray<[number, number]>): Set<number> {
    const out = new Set<number>();
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (const [x, y] of poly) {
      minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
    }
    for (let i = 0; i < this.px.length / 2; i++) {
      const x = this.px[i * 2]!, y = this.px[i * 2 + 1]!;
      if (x < minX || x > maxX || y < minY || y > maxY) continue;
      if (insidePolygon(x, y, poly)) out.add(i);
    }
    return out;
  }

  draw(background: [number, number, number] = [30, 30, 30]): void {
    const t0 = performance.now();
    const pts = this.points;
    const img = this.image;
    if (!pts || !img) return;
    const { width: w, height: h } = this.canvas;
    const d = img.data;
    for (let i = 0; i < d.length; i += 4) {
      d[i] = background[0]; d[i + 1] = background[1]; d[i + 2] = background[2]; d[i + 3] = 255;
    }
    const n = this.px.length / 2;
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < n; i++) {
        const dimmed = pts.dim?.[i] === 1;
        if ((pass === 0) !== dimmed) continue; // dimmed points first, kept points on top
        const X = this.px[i * 2]!;
        if (Number.isNaN(X)) continue;
        const x = X | 0, y = this.px[i * 2 + 1]! | 0;
        const r = dimmed ? (pts.rgb[i * 3]! + 2 * background[0]) / 3 : pts.rgb[i * 3]!;
        const g = dimmed ? (pts.rgb[i * 3 + 1]! + 2 * background[1]) / 3 : pts.rgb[i * 3 + 1]!;
        const b = dimmed ? (pts.rgb[i * 3 + 2]! + 2 * background[2]) / 3 : pts.rgb[i * 3 + 2]!;
        for (let oy = 0; oy < 2; oy++) {
          const yy = y + oy;
          if (yy < 0 || yy >= h) continue;
          for (let ox = 0; ox < 2; ox++) {
            const xx = x + ox;
            if (xx < 0 || xx >= w) continue;
            const o = (yy * w + xx) * 4;
            d[o] = r; d[o + 1] = g; d[o + 2] = b;
          }
        }
      }
    }
    this.ctx.putImageData(img, 0, 0);
    if (this.lasso.length > 1) {
      this.ctx.beginPath();
      this.ctx.moveTo(this.lasso[0]![0], this.lasso[0]![1]);
      for (const [x, y] of this.lasso) this.ctx.lineTo(x, y);
      this.ctx.closePath();
      this.ctx.strokeStyle = '#ffffff';
      this.ctx.setLineDash([4, 3]);
      this.ctx.stroke();
      this.ctx.setLineDash([]);
    }
    this.lastDrawMs = performance.now() - t0;
  }
}
