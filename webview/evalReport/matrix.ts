// Draws a (rolled-up) confusion matrix on a canvas: rows = true, columns = predicted; diagonal
// cells in one theme colour, errors in another, opacity by count (square root, so rare confusions
// stay visible). Geometry goes into data-* attributes for hit testing (and tests).
import type { LevelMatrix } from '../../src/core/runs/confusion';
import { parseColor, themeColor } from '../kit/theme';

export interface MatrixGeometry {
  left: number;
  top: number;
  cell: number;
  k: number;
}

export interface DrawOptions {
  normalize: boolean;
  /** Cell with the keyboard cursor, outlined. */
  focus?: { row: number; col: number };
  maxSize: number;
}

const LABEL_FONT = 11;

export function cellValue(m: LevelMatrix, row: number, col: number, normalize: boolean): number {
  const c = m.counts[row][col];
  if (!normalize) return c;
  const total = m.counts[row].reduce((a, b) => a + b, 0);
  return total > 0 ? c / total : 0;
}

export function drawMatrix(canvas: HTMLCanvasElement, m: LevelMatrix, o: DrawOptions): MatrixGeometry {
  const k = m.labels.length;
  const showLabels = k <= 60;
  const ctx0 = canvas.getContext('2d')!;
  ctx0.font = `${LABEL_FONT}px ${themeColor('--vscode-font-family', 'sans-serif')}`;
  const longest = showLabels ? Math.min(170, Math.max(...m.labels.map((l) => ctx0.measureText(l).width)) + 10) : 8;
  const left = Math.ceil(longest) + 18;
  const top = Math.ceil(longest) + 18;
  const cell = Math.max(2, Math.min(44, Math.floor((o.maxSize - left) / k)));
  const width = left + cell * k + 1;
  const height = top + cell * k + 1;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(height * dpr);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const bg = themeColor('--vscode-editor-background', '#1e1e1e');
  const fg = themeColor('--vscode-foreground', '#cccccc');
  const muted = themeColor('--vscode-descriptionForeground', '#999999');
  const grid = themeColor('--vscode-charts-lines', 'rgba(128,128,128,0.3)');
  const [dr, dg, db] = parseColor(themeColor('--vscode-charts-blue', '#3794ff'));
  const [er, eg, eb] = parseColor(themeColor('--vscode-charts-red', '#f14c4c'));
  ctx.fillStyle = bg;
  ctx.fillRect(0, 0, width, height);

  let maxDiag = 0, maxOff = 0;
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < k; c++) {
      const v = cellValue(m, r, c, o.normalize);
      if (r === c) maxDiag = Math.max(maxDiag, v);
      else maxOff = Math.max(maxOff, v);
    }
  }
  // errors share the diagonal's scale when normalised (fractions of a row), else their own
  const offScale = o.normalize ? Math.max(maxDiag, maxOff) : maxOff;
  for (let r = 0; r < k; r++) {
    for (let c = 0; c < k; c++) {
      const v = cellValue(m, r, c, o.normalize);
      if (v <= 0) continue;
      const diag = r === c;
      const a = Math.sqrt(v / (diag ? maxDiag : offScale));
      ctx.fillStyle = diag ? `rgba(${dr},${dg},${db},${0.15 + 0.85 * a})` : `rgba(${er},${eg},${eb},${0.15 + 0.85 * a})`;
      ctx.fillRect(left + c * cell, top + r * cell, cell, cell);
    }
  }
  if (cell >= 6) {
    ctx.strokeStyle = grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (let i = 0; i <= k; i++) {
      ctx.moveTo(left + i * cell + 0.5, top);
      ctx.lineTo(left + i * cell + 0.5, top + k * cell);
      ctx.moveTo(left, top + i * cell + 0.5);
      ctx.lineTo(left + k * cell, top + i * cell + 0.5);
    }
    ctx.stroke();
  } else {
    ctx.strokeStyle = grid;
    ctx.strokeRect(left + 0.5, top + 0.5, k * cell, k * cell);
  }
  // counts inside cells that are large enough to read
  if (cell >= 26) {
    ctx.font = `${cell >= 36 ? 12 : 10}px ${themeColor('--vscode-font-family', 'sans-serif')}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < k; c++) {
        const n = m.counts[r][c];
        if (n === 0) continue;
        const v = cellValue(m, r, c, o.normalize);
        const strong = Math.sqrt(v / (r === c ? maxDiag : offScale)) > 0.55;
        ctx.fillStyle = strong ? '#ffffff' : fg;
        ctx.fillText(o.normalize ? `${Math.round(v * 100)}` : String(n), left + c * cell + cell / 2, top + r * cell + cell / 2 + 0.5);
      }
    }
  }
  ctx.font = `${LABEL_FONT}px ${themeColor('--vscode-font-family', 'sans-serif')}`;
  ctx.fillStyle = fg;
  if (showLabels) {
    const clip = (s: string) => {
      if (ctx.measureText(s).width <= longest - 6) return s;
      let t = s;
      while (t.length > 1 && ctx.measureText(`${t}…`).width > longest - 6) t = t.slice(0, -1);
      return `${t}…`;
    };
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    m.labels.forEach((l, i) => ctx.fillText(clip(l), left - 6, top + i * cell + cell / 2));
    ctx.save();
    ctx.translate(left, top - 6);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    m.labels.forEach((l, i) => ctx.fillText(clip(l), 0, i * cell + cell / 2));
    ctx.restore();
  }
  // axis titles
  ctx.fillStyle = muted;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.fillText('predicted →', left + (k * cell) / 2, 2);
  ctx.save();
  ctx.translate(2, top + (k * cell) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('← true', 0, 0);
  ctx.restore();

  if (o.focus) {
    ctx.strokeStyle = themeColor('--vscode-focusBorder', '#0078d4');
    ctx.lineWidth = 2;
    ctx.strokeRect(left + o.focus.col * cell + 1, top + o.focus.row * cell + 1, cell - 1, cell - 1);
  }
  const g = { left, top, cell, k };
  canvas.dataset.left = String(left);
  canvas.dataset.top = String(top);
  canvas.dataset.cell = String(cell);
  canvas.dataset.k = String(k);
  return g;
}

/** The cell under a point in CSS pixels of the canvas, or undefined outside the grid. */
export function hitCell(g: MatrixGeometry, x: number, y: number): { row: number; col: number } | undefined {
  const col = Math.floor((x - g.left) / g.cell);
  const row = Math.floor((y - g.top) / g.cell);
  if (col < 0 || row < 0 || col >= g.k || row >= g.k) return undefined;
  return { row, col };
}
