// The evaluation report: overall and per-level accuracy, a confusion matrix at any level of the
// taxonomy (canvas, hover and keyboard readout), a sortable per-class table and a gallery of the
// most confidently wrong images. Fed by the host (src/core/runs/evalProtocol.ts).
import { connect, onHostMessage } from '../kit/host';
import { clear, h, pct } from '../kit/dom';
import { chartPalette, parseColor } from '../kit/theme';
import { drawMatrix, hitCell, type MatrixGeometry } from './matrix';
import { classRows, levelAccuracies, mostConfidentlyWrong, rollUp, sortClassRows, type ClassRow, type ClassSortKey, type ClassTaxonomy, type LevelMatrix } from '../../src/core/runs/confusion';
import type { EvalReport } from '../../src/core/runs/evalReport';
import type { EvalFromWebview, EvalImageUris, EvalReportState, EvalToWebview } from '../../src/core/runs/evalProtocol';

const vscode = connect<EvalFromWebview, EvalReportState>();
const state: EvalReportState = vscode.getState() ?? {};
const save = () => vscode.setState(state);

let report: EvalReport | undefined;
let taxonomy: ClassTaxonomy | undefined;
let images: Record<string, EvalImageUris> = {};
let rows: ClassRow[] = [];
let matrix: LevelMatrix | undefined;
let geometry: MatrixGeometry | undefined;
let focusCell: { row: number; col: number } | undefined;

const app = document.getElementById('app')!;

function showError(message: string): void {
  clear(app);
  app.removeAttribute('aria-busy');
  app.append(h('div', { class: 'alert', role: 'alert', id: 'error' }, message));
}

// ---------- summary ----------
function summary(r: EvalReport, tax: ClassTaxonomy): HTMLElement {
  const perLevel = Object.keys(r.perLevel).length > 0 ? r.perLevel : levelAccuracies(r.confusion, tax);
  const levels = tax.levels.filter((l) => perLevel[l] !== undefined);
  const tiles = h('div', { class: 'tiles' },
    h('div', { class: 'tile', id: 'tile-top1' }, h('div', { class: 'label' }, 'Top-1'), h('div', { class: 'value' }, pct(r.top1))),
    h('div', { class: 'tile', id: 'tile-top5' }, h('div', { class: 'label' }, 'Top-5'), h('div', { class: 'value' }, pct(r.top5))),
    h('div', { class: 'tile' }, h('div', { class: 'label' }, 'Images'), h('div', { class: 'value' }, r.numImages.toLocaleString('en'))),
    h('div', { class: 'tile' }, h('div', { class: 'label' }, 'Classes'), h('div', { class: 'value' }, r.classes.length.toLocaleString('en'))),
  );
  const levelGrid = h('div', { class: 'levels', id: 'levels', role: 'table', 'aria-label': 'Accuracy per level' });
  for (const l of levels) {
    const v = perLevel[l];
    const fill = h('div', {});
    fill.style.width = `${(v * 100).toFixed(1)}%`;
    levelGrid.append(
      h('span', { class: 'name', role: 'rowheader' }, l),
      h('div', { class: 'meter', 'aria-hidden': 'true' }, fill),
      h('span', { class: 'num', role: 'cell', 'data-level': l }, pct(v)),
    );
  }
  return h('div', { class: 'summary' },
    h('section', { class: 'card', 'aria-label': 'Overall accuracy' }, h('h2', {}, 'Overall'), tiles),
    h('section', { class: 'card', 'aria-label': 'Accuracy per level' }, h('h2', {}, 'Accuracy per level of the taxonomy'), levels.length ? levelGrid : h('p', { class: 'empty-note' }, 'No level information.')),
  );
}

// ---------- confusion matrix ----------
const levelSelect = h('select', { id: 'level', 'aria-label': 'Taxonomy level of the confusion matrix' });
const normalizeBox = h('input', { type: 'checkbox', id: 'normalize' });
const canvas = h('canvas', { id: 'confusion', tabindex: 0, role: 'img', 'aria-describedby': 'readout' });
const tooltip = h('div', { class: 'tooltip', id: 'tooltip', hidden: true });
const readout = h('div', { class: 'readout', id: 'readout', 'aria-live': 'polite' }, 'Hover a cell, or focus the matrix and use the arrow keys.');
const matrixWrap = h('div', { class: 'matrix-wrap' }, canvas, tooltip);

function defaultLevel(tax: ClassTaxonomy, r: EvalReport): string {
  if (state.level && tax.levels.includes(state.level)) return state.level;
  // the coarsest level that still has a few values to confuse, else the fine level
  for (const l of tax.levels) {
    const k = rollUp(r.confusion, tax, l).labels.length;
    if (k >= 2 && k <= 60) return l;
  }
  return tax.levels[tax.levels.length - 1];
}

function cellText(row: number, col: number): string {
  const m = matrix!;
  const n = m.counts[row][col];
  const rowTotal = m.counts[row].reduce((a, b) => a + b, 0);
  return `True: ${m.labels[row]} · Predicted: ${m.labels[col]} · Count: ${n}${rowTotal ? ` (${pct(n / rowTotal)} of ${m.labels[row]})` : ''}`;
}

function redrawMatrix(): void {
  if (!report || !taxonomy) return;
  matrix = rollUp(report.confusion, taxonomy, levelSelect.value);
  const maxSize = Math.max(320, Math.min(860, matrixWrap.clientWidth || 860));
  geometry = drawMatrix(canvas, matrix, { normalize: normalizeBox.checked, focus: focusCell, maxSize });
  canvas.setAttribute('aria-label', `Confusion matrix at the ${matrix.level} level: ${matrix.labels.length} values, ${pct(matrix.total ? matrix.correct / matrix.total : 0)} on the diagonal`);
}

function setFocusCell(c: { row: number; col: number } | undefined): void {
  focusCell = c;
  redrawMatrix();
  if (c) readout.textContent = cellText(c.row, c.col);
}

canvas.addEventListener('mousemove', (ev) => {
  if (!geometry || !matrix) return;
  const rect = canvas.getBoundingClientRect();
  const c = hitCell(geometry, ev.clientX - rect.left, ev.clientY - rect.top);
  if (!c) {
    tooltip.hidden = true;
    return;
  }
  tooltip.textContent = cellText(c.row, c.col);
  tooltip.hidden = false;
  const wrapRect = matrixWrap.getBoundingClientRect();
  const x = ev.clientX - wrapRect.left + matrixWrap.scrollLeft + 14;
  const y = ev.clientY - wrapRect.top + matrixWrap.scrollTop + 14;
  tooltip.style.left = `${Math.min(x, matrixWrap.scrollLeft + matrixWrap.clientWidth - tooltip.offsetWidth - 4)}px`;
  tooltip.style.top = `${y}px`;
  readout.textContent = cellText(c.row, c.col);
});
canvas.addEventListener('mouseleave', () => (tooltip.hidden = true));
canvas.addEventListener('keydown', (ev) => {
  if (!matrix) return;
  const k = matrix.labels.length;
  const c = focusCell ?? { row: 0, col: 0 };
  const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  let next: { row: number; col: number } | undefined;
  if (moves[ev.key]) {
    const [dr, dc] = moves[ev.key];
    next = focusCell ? { row: Math.min(k - 1, Math.max(0, c.row + dr)), col: Math.min(k - 1, Math.max(0, c.col + dc)) } : c;
  } else if (ev.key === 'Home') next = { row: c.row, col: 0 };
  else if (ev.key === 'End') next = { row: c.row, col: k - 1 };
  else if (ev.key === 'Escape') {
    setFocusCell(undefined);
    return;
  }
  if (next) {
    ev.preventDefault();
    setFocusCell(next);
  }
});
levelSelect.addEventListener('change', () => {
  state.level = levelSelect.value;
  save();
  focusCell = undefined;
  redrawMatrix();
  readout.textContent = `${matrix!.labels.length} values at the ${matrix!.level} level; ${pct(matrix!.total ? matrix!.correct / matrix!.total : 0)} of images on the diagonal.`;
});
normalizeBox.addEventListener('change', () => {
  state.normalize = normalizeBox.checked;
  save();
  redrawMatrix();
});

function matrixSection(tax: ClassTaxonomy, r: EvalReport): HTMLElement {
  clear(levelSelect);
  for (const l of tax.levels) {
    const k = rollUp(r.confusion, tax, l).labels.length;
    levelSelect.append(h('option', { value: l }, `${l} (${k})`));
  }
  levelSelect.value = defaultLevel(tax, r);
  normalizeBox.checked = state.normalize ?? false;
  return h('section', { class: 'card', 'aria-label': 'Confusion matrix' },
    h('h2', {}, 'Confusion matrix'),
    h('div', { class: 'toolbar' },
      h('label', {}, 'Level', levelSelect),
      h('label', {}, normalizeBox, 'Row percentages'),
      h('span', { class: 'muted' }, 'rows: true · columns: predicted · blue: correct · red: confused'),
    ),
    matrixWrap,
    readout,
  );
}

// ---------- per-class table ----------
const COLUMNS: Array<{ key: ClassSortKey | 'path'; label: string; num?: boolean; firstDescending?: boolean }> = [
  { key: 'name', label: 'Class' },
  { key: 'path', label: 'Taxonomy path' },
  { key: 'count', label: 'Images', num: true, firstDescending: true },
  { key: 'top1', label: 'Top-1', num: true },
  { key: 'top5', label: 'Top-5', num: true },
  { key: 'confusion', label: 'Most confused with', firstDescending: true },
];
const tbody = h('tbody', { id: 'class-rows' });
const thead = h('thead');
const filter = h('input', { type: 'search', id: 'class-filter', placeholder: 'Filter classes', 'aria-label': 'Filter classes by name or path' });
const tableCount = h('span', { class: 'muted', id: 'class-count' });

function accCell(v: number | undefined): HTMLElement {
  if (v === undefined) return h('td', { class: 'num' }, '–');
  const bar = h('div', {});
  bar.style.width = `${(v * 100).toFixed(1)}%`;
  return h('td', { class: 'num' }, h('div', { class: 'acc' }, h('span', {}, pct(v)), h('div', { class: 'acc-bar', 'aria-hidden': 'true' }, bar)));
}

/** Columns with data: Top-5 only when eval.json has per-class top-5. */
const columns = () => COLUMNS.filter((c) => c.key !== 'top5' || rows.some((r) => r.top5 !== undefined));

function renderHead(): void {
  clear(thead);
  const sort = state.sort ?? { key: 'top1', descending: false };
  const tr = h('tr');
  for (const col of columns()) {
    if (col.key === 'path') {
      tr.append(h('th', { scope: 'col', class: 'plain' }, col.label));
      continue;
    }
    const active = sort.key === col.key;
    const th = h('th', { scope: 'col', class: col.num ? 'num' : undefined, 'aria-sort': active ? (sort.descending ? 'descending' : 'ascending') : 'none' },
      h('button', {
        type: 'button',
        'data-key': col.key,
        title: `Sort by ${col.label.toLowerCase()}`,
        onclick: () => {
          const key = col.key as ClassSortKey;
          state.sort = active ? { key, descending: !sort.descending } : { key, descending: col.firstDescending ?? false };
          save();
          renderHead();
          renderRows();
          (thead.querySelector(`button[data-key="${key}"]`) as HTMLButtonElement | null)?.focus();
        },
      }, col.label, h('span', { class: 'arrow', 'aria-hidden': 'true' }, active ? (sort.descending ? '▼' : '▲') : '')),
    );
    tr.append(th);
  }
  thead.append(tr);
}

function renderRows(): void {
  const sort = state.sort ?? { key: 'top1', descending: false };
  const q = filter.value.trim().toLowerCase();
  const hasTop5 = columns().some((c) => c.key === 'top5');
  const shown = sortClassRows(rows, sort.key as ClassSortKey, sort.descending).filter((r) => !q || r.name.toLowerCase().includes(q) || r.path.some((p) => p.toLowerCase().includes(q)));
  clear(tbody);
  for (const r of shown) {
    tbody.append(h('tr', { 'data-index': r.index },
      h('td', { class: 'name' }, r.name),
      h('td', { class: 'path' }, r.path.join(' › ')),
      h('td', { class: 'num' }, r.count),
      accCell(r.top1),
      hasTop5 ? accCell(r.top5) : null,
      h('td', {}, r.topConfusion ? `${r.topConfusion.name} (${r.topConfusion.count})` : '–'),
    ));
  }
  tableCount.textContent = `${shown.length} of ${rows.length} classes`;
}
filter.addEventListener('input', renderRows);

function tableSection(): HTMLElement {
  renderHead();
  renderRows();
  return h('section', { class: 'card', 'aria-label': 'Per-class accuracy' },
    h('div', { class: 'toolbar' }, h('h2', {}, 'Per class'), filter, tableCount),
    h('div', { class: 'table-wrap' }, h('table', { class: 'classes', id: 'classes' }, thead, tbody)),
  );
}

// ---------- gallery ----------
const masksBox = h('input', { type: 'checkbox', id: 'show-masks' });

/** Paints a part label map (values 0..N) in the chart palette over the image. */
function overlayMask(frame: HTMLElement, uri: string): void {
  const img = new Image();
  img.crossOrigin = 'anonymous';
  img.onload = () => {
    const c = document.createElement('canvas');
    c.className = 'mask';
    c.width = img.naturalWidth;
    c.height = img.naturalHeight;
    const ctx = c.getContext('2d')!;
    ctx.drawImage(img, 0, 0);
    try {
      const data = ctx.getImageData(0, 0, c.width, c.height);
      const palette = chartPalette().map(parseColor);
      for (let i = 0; i < data.data.length; i += 4) {
        const v = data.data[i];
        if (v === 0) {
          data.data[i + 3] = 0;
          continue;
        }
        const [r, g, b] = palette[(v - 1) % palette.length];
        data.data.set([r, g, b, 120], i);
      }
      ctx.putImageData(data, 0, 0);
      frame.append(c);
    } catch {
      // a resource the page may not read back: show the raw map brightened instead
      const raw = h('img', { class: 'mask-raw', src: uri, alt: '' });
      frame.append(raw);
    }
  };
  img.src = uri;
}

function gallerySection(r: EvalReport, tax: ClassTaxonomy): HTMLElement {
  const wrong = mostConfidentlyWrong(r, 24, tax);
  const grid = h('div', { class: 'gallery', id: 'gallery' });
  const anyMask = wrong.some((w) => images[w.key]?.mask);
  for (const w of wrong) {
    const uris = images[w.key] ?? {};
    const frame = h('div', { class: 'frame' }, uris.image ? h('img', { src: uris.image, alt: `${w.trueName} predicted as ${w.predName}`, loading: 'lazy' }) : null);
    if (uris.mask && masksBox.checked) overlayMask(frame, uris.mask);
    const open = () => vscode.postMessage({ type: 'openImage', key: w.key });
    const fig = h('figure', { tabindex: 0, role: 'button', 'data-key': w.key, 'aria-label': `${w.trueName} predicted as ${w.predName} with ${pct(w.confidence)} confidence; open the image`, onclick: open },
      frame,
      h('figcaption', {},
        h('span', { class: 'conf' }, pct(w.confidence, 0)),
        h('div', { class: 'true' }, w.trueName),
        h('div', { class: 'pred' }, `→ ${w.predName}`),
        w.sharedLevel ? h('div', { class: 'near' }, `same ${w.sharedLevel}`) : null,
      ),
    );
    fig.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        open();
      }
    });
    grid.append(fig);
  }
  masksBox.checked = state.showMasks ?? true;
  return h('section', { class: 'card', 'aria-label': 'Most confidently wrong images' },
    h('div', { class: 'toolbar' }, h('h2', {}, 'Most confidently wrong'), anyMask ? h('label', {}, masksBox, 'Part masks') : null),
    wrong.length ? grid : h('p', { class: 'empty-note' }, 'No misclassified images.'),
  );
}
masksBox.addEventListener('change', () => {
  state.showMasks = masksBox.checked;
  save();
  render();
});

// ---------- page ----------
function render(): void {
  if (!report || !taxonomy) return;
  const r = report, tax = taxonomy;
  masksBox.checked = state.showMasks ?? true;
  clear(app);
  app.removeAttribute('aria-busy');
  app.append(
    h('header', { class: 'bar' }, h('h1', {}, `Evaluation · ${runName}`), h('span', { class: 'muted', id: 'meta' }, [`${r.split} split`, r.epoch !== undefined ? `epoch ${r.epoch + 1}` : '', `${r.numImages.toLocaleString('en')} images`, r.checkpoint ?? ''].filter(Boolean).join(' · '))),
    summary(r, tax),
    matrixSection(tax, r),
    tableSection(),
    gallerySection(r, tax),
  );
  redrawMatrix();
}

let runName = '';
onHostMessage<EvalToWebview>((m) => {
  if (m.type === 'error') return showError(m.message);
  report = m.report;
  taxonomy = m.taxonomy;
  images = m.images;
  runName = m.run.name;
  rows = classRows(m.report, m.taxonomy);
  state.runDir = m.run.dir;
  save();
  render();
});

new ResizeObserver(() => {
  if (matrix) redrawMatrix();
}).observe(app);

vscode.postMessage({ type: 'ready' });
