// The Dataset view's data, without the DOM: filters (taxonomy node at any level, split, finding
// kind, a lasso), the order (dataset or finding score, duplicates kept next to each other) and
// the visible window of a virtual grid. Plain loops over columns: 48k images filter in a few ms.
import type { DatasetFinding, DatasetSnapshot } from '../../src/core/curation/datasetProtocol';

export interface Filter {
  level?: string;
  value?: string;
  split?: string;
  /** '' all images; 'any' images with a finding; a finding kind; 'mislabel@LEVEL' mislabels that agree down to LEVEL at most. */
  kind?: string;
  /** 'excluded' shows only excluded images; otherwise they show, marked. */
  decided?: '' | 'excluded' | 'relabeled';
  /** Images picked on the map; undefined: no lasso. */
  lasso?: ReadonlySet<number>;
  sort?: 'dataset' | 'score';
}

export class DatasetModel {
  /** Per image, the findings it is in (indices into findings). */
  private byImage: number[][] = [];
  findings: DatasetFinding[] = [];

  constructor(readonly data: DatasetSnapshot) {
    this.byImage = data.images.path.map(() => []);
  }

  get size(): number {
    return this.data.images.path.length;
  }

  setFindings(findings: DatasetFinding[]): void {
    this.findings = findings;
    this.byImage = this.data.images.path.map(() => []);
    findings.forEach((f, k) => f.images.forEach((i) => this.byImage[i]?.push(k)));
  }

  findingsOf(i: number): DatasetFinding[] {
    return (this.byImage[i] ?? []).map((k) => this.findings[k]!);
  }

  /** The class's value at a level (index into levels). */
  valueOf(i: number, levelIndex: number): string | undefined {
    const c = this.data.images.cls[i]!;
    return c >= 0 ? this.data.classes[c]!.values[levelIndex] : undefined;
  }

  /** The distinct values of a level, in class order. */
  values(level: string): string[] {
    const li = this.data.levels.indexOf(level);
    return li < 0 ? [] : [...new Set(this.data.classes.map((c) => c.values[li]!))];
  }

  private findingMatches(f: DatasetFinding, kind: string): boolean {
    if (kind === 'any') return true;
    if (kind.startsWith('mislabel@')) {
      if (f.kind !== 'mislabel') return false;
      const limit = this.data.levels.indexOf(kind.slice('mislabel@'.length));
      const at = f.agreeAt === undefined ? -1 : this.data.levels.indexOf(f.agreeAt);
      return at <= limit;
    }
    return f.kind === kind;
  }

  /** The images the filter keeps, in display order. */
  apply(filter: Filter): Int32Array {
    const { images, levels } = this.data;
    const li = filter.level ? levels.indexOf(filter.level) : -1;
    const keep = (i: number): boolean => {
      if (li >= 0 && filter.value !== undefined && filter.value !== '' && this.valueOf(i, li) !== filter.value) return false;
      if (filter.split && images.split[i] !== filter.split) return false;
      if (filter.decided === 'excluded' && images.excluded[i] === null) return false;
      if (filter.decided === 'relabeled' && images.relabeledFrom[i]! < 0) return false;
      if (filter.lasso && !filter.lasso.has(i)) return false;
      return true;
    };
    const out: number[] = [];
    const kind = filter.kind ?? '';
    if (kind === '' && filter.sort !== 'score') {
      for (let i = 0; i < images.path.length; i++) if (keep(i)) out.push(i);
      return Int32Array.from(out);
    }
    // finding order (the core sorts them: leaks first, gross mislabels first), members together
    const seen = new Uint8Array(images.path.length);
    const ordered = this.findings.map((f, k) => k).filter((k) => kind === '' || this.findingMatches(this.findings[k]!, kind));
    if (filter.sort === 'score' && kind !== '') ordered.sort((a, b) => this.findings[b]!.score - this.findings[a]!.score || a - b);
    for (const k of ordered) {
      for (const i of this.findings[k]!.images) {
        if (seen[i] || !keep(i)) continue;
        seen[i] = 1;
        out.push(i);
      }
    }
    if (kind === '') for (let i = 0; i < images.path.length; i++) if (!seen[i] && keep(i)) out.push(i);
    return Int32Array.from(out);
  }
}

/** Geometry of a virtual grid: which rows and items are on screen. */
export interface GridWindow {
  columns: number;
  rows: number;
  firstRow: number;
  lastRow: number;
  /** Positions in the filtered list to draw, [from, to). */
  from: number;
  to: number;
}

export function gridWindow(count: number, width: number, height: number, scrollTop: number, tile: number, rowHeight: number, overscan = 2): GridWindow {
  const columns = Math.max(1, Math.floor(width / tile));
  const rows = Math.ceil(count / columns);
  const firstRow = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const lastRow = Math.min(rows, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  return { columns, rows, firstRow, lastRow, from: firstRow * columns, to: Math.min(count, lastRow * columns) };
}

/** Whether a point is inside a polygon (even-odd rule). */
export function insidePolygon(x: number, y: number, poly: ReadonlyArray<[number, number]>): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
