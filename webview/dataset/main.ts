// The Dataset view: a virtual thumbnail grid of a project's images with filters (taxonomy node
// at any level, split, finding kind), sort by finding score, multi-select, the decisions
// (Exclude, Include, Relabel, Clear Relabel: each one edit of the project file, by the host),
// Open Mask Preview, a side-by-side comparison of two images, and the embedding map with lasso.
// Fed by the host (src/core/curation/datasetProtocol.ts).
import { append, clear, h } from '../kit/dom';
import { connect, onHostMessage } from '../kit/host';
import { chartPalette, parseColor, themeColor } from '../kit/theme';
import { imageUri, type DatasetFinding, type DatasetFromWebview, type DatasetSnapshot, type DatasetToWebview, type DatasetViewState } from '../../src/core/curation/datasetProtocol';
import { DatasetModel, gridWindow, type Filter } from './model';
import { MapView } from './map';

const vscode = connect<DatasetFromWebview, DatasetViewState>();
const state: DatasetViewState = vscode.getState() ?? {};
const save = () => vscode.setState(state);
const app = document.getElementById('app')!;

const TILE = 158;
const ROW = 190;
const KIND_LABELS: Record<string, string> = {
  leak: 'train/test leaks', duplicate: 'duplicates', mislabel: 'suspected mislabels', unreadable: 'unreadable files',
  outlier: 'outliers', small: 'small images', greyscale: 'greyscale images', aspect: 'extreme aspect ratios',
};

let model: DatasetModel | undefined;
let shown: Int32Array = new Int32Array(0);
const selected = new Set<number>();
let anchor: number | undefined;
let lasso: Set<number> | undefined;
const thumbs = new Map<number, string>();
const asked = new Set<number>();
let notes: string[] = [];
let findingsRunning = false;
let findingsMessage = '';

// ---------------------------------------------------------------- controls
const levelSelect = h('select', { id: 'level', 'aria-label': 'Taxonomy level to filter by' });
const valueSelect = h('select', { id: 'value', 'aria-label': 'Value at that level' });
const splitSelect = h('select', { id: 'split', 'aria-label': 'Split' });
const kindSelect = h('select', { id: 'kind', 'aria-label': 'Finding kind' });
const decidedSelect = h('select', { id: 'decided', 'aria-label': 'Decisions' });
const sortSelect = h('select', { id: 'sort', 'aria-label': 'Order' });
const countText = h('span', { id: 'count', class: 'muted', 'aria-live': 'polite' });
const status = h('span', { id: 'findings-status', class: 'muted' });
const lassoChip = h('button', { id: 'lasso-chip', class: 'secondary', hidden: true, title: 'Show every image again' });
const tabGrid = h('button', { id: 'tab-grid', role: 'tab', class: 'tab' }, 'Grid');
const tabMap = h('button', { id: 'tab-map', role: 'tab', class: 'tab' }, 'Map');

const actions = {
  exclude: h('button', { id: 'exclude', title: 'Leave the selected images out (recorded in the project file)' }, 'Exclude'),
  include: h('button', { id: 'include', class: 'secondary' }, 'Include'),
  relabel: h('button', { id: 'relabel', class: 'secondary', title: 'Give the selected images another class' }, 'Relabel…'),
  clearRelabel: h('button', { id: 'clear-relabel', class: 'secondary' }, 'Clear Relabel'),
  preview: h('button', { id: 'mask-preview', class: 'secondary' }, 'Open Mask Preview'),
  compare: h('button', { id: 'compare', class: 'secondary', title: 'Two images side by side' }, 'Compare'),
};
const selectionText = h('span', { id: 'selection', class: 'muted' });
const details = h('div', { id: 'details', class: 'details', 'aria-live': 'polite' });

const grid = h('div', { id: 'grid', class: 'grid', tabindex: 0, role: 'listbox', 'aria-multiselectable': 'true', 'aria-label': 'Images' });
const gridInner = h('div', { class: 'grid-inner' });
grid.append(gridInner);
const mapCanvas = h('canvas', { id: 'map', class: 'map', 'aria-label': 'Embedding map: drag to draw a lasso around images' });
const mapTip = h('div', { id: 'map-tip', class: 'map-tip', hidden: true });
const colourSelect = h('select', { id: 'colour-level', 'aria-label': 'Colour the map by level' });
const mapMessage = h('p', { id: 'map-message', class: 'muted' });
const mapPane = h('div', { id: 'map-pane', class: 'map-pane', hidden: true }, h('div', { class: 'toolbar' }, h('label', {}, 'Colour by', colourSelect), mapMessage), h('div', { class: 'map-wrap' }, mapCanvas, mapTip));
const compareView = h('div', { id: 'compare-view', class: 'compare', hidden: true, role: 'dialog', 'aria-label': 'Compare two images' });

let mapXY: Float32Array | undefined;
const map = new MapView(
  mapCanvas,
  (picked) => {
    lasso = picked;
    refilter();
    showTab('grid');
  },
  (i, x, y) => {
    if (i === undefined || !model) {
      mapTip.hidden = true;
      return;
    }
    requestThumbs([i]);
    clear(mapTip);
    mapTip.append(h('img', { src: thumbOf(i), alt: '' }), h('div', {}, className(i)), h('div', { class: 'muted' }, model.data.images.path[i]!));
    mapTip.style.left = `${x + 14}px`;
    mapTip.style.top = `${y + 14}px`;
    mapTip.hidden = false;
  },
);

// ---------------------------------------------------------------- helpers
const send = (m: DatasetFromWebview) => vscode.postMessage(m);
const sel = () => [...selected].sort((a, b) => a - b);

function className(i: number): string {
  const c = model!.data.images.cls[i]!;
  return c >= 0 ? model!.data.classes[c]!.name : '(not a project class)';
}

function thumbOf(i: number): string {
  const t = thumbs.get(i);
  if (t) return t;
  if (!model!.data.thumbnails) return imageUri(model!.data.imageRoot, model!.data.images.path[i]!);
  return '';
}

let thumbTimer: ReturnType<typeof setTimeout> | undefined;
const wanted = new Set<number>();
function requestThumbs(indices: Iterable<number>): void {
  if (!model?.data.thumbnails) return;
  for (const i of indices) if (!thumbs.has(i) && !asked.has(i)) wanted.add(i);
  if (wanted.size === 0 || thumbTimer) return;
  thumbTimer = setTimeout(() => {
    thumbTimer = undefined;
    const batch = [...wanted].slice(0, 200);
    for (const i of batch) {
      wanted.delete(i);
      asked.add(i);
    }
    send({ type: 'thumbs', indices: batch });
    if (wanted.size > 0) requestThumbs([]);
  }, 40);
}

function option(value: string, label: string): HTMLOptionElement {
  return h('option', { value }, label);
}

function fillValues(): void {
  clear(valueSelect);
  valueSelect.append(option('', 'all'));
  if (state.level) for (const v of model!.values(state.level)) valueSelect.append(option(v, v));
  valueSelect.value = state.value ?? '';
  valueSelect.disabled = !state.level;
}

function fillKinds(): void {
  const kinds = new Map<string, number>();
  for (const f of model!.findings) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  clear(kindSelect);
  kindSelect.append(option('', 'all images'), option('any', `with any finding (${model!.findings.length})`));
  for (const [k, label] of Object.entries(KIND_LABELS)) if (kinds.has(k)) kindSelect.append(option(k, `${label} (${kinds.get(k)})`));
  if (kinds.has('mislabel')) {
    for (const l of model!.data.levels.slice(0, -1)) kindSelect.append(option(`mislabel@${l}`, `mislabels agreeing only down to ${l}`));
  }
  kindSelect.value = state.kind ?? '';
  if (kindSelect.value !== (state.kind ?? '')) kindSelect.append(option(state.kind!, KIND_LABELS[state.kind!] ?? state.kind!)), (kindSelect.value = state.kind!);
}

function filter(): Filter {
  return { level: state.level, value: state.value, split: state.split, kind: state.kind, decided: (decidedSelect.value || '') as Filter['decided'], lasso, sort: state.sort };
}

function refilter(): void {
  if (!model) return;
  shown = model.apply(filter());
  for (const i of [...selected]) if (!shown.includes(i)) selected.delete(i);
  countText.textContent = `${shown.length.toLocaleString('en')} of ${model.size.toLocaleString('en')} images`;
  lassoChip.hidden = !lasso;
  lassoChip.textContent = lasso ? `map selection: ${lasso.size} × ` : '';
  gridInner.style.height = `${Math.ceil(shown.length / Math.max(1, Math.floor(grid.clientWidth / TILE))) * ROW}px`;
  grid.scrollTop = 0;
  renderGrid();
  updateSelection();
  if (mapXY) drawMap();
}

// ---------------------------------------------------------------- the virtual grid
const pool: HTMLElement[] = [];
function tileFor(k: number): HTMLElement {
  let t = pool[k];
  if (!t) {
    t = h('div', { class: 'tile', role: 'option' }, h('img', { alt: '', draggable: 'false', decoding: 'async' }), h('div', { class: 'caption' }), h('div', { class: 'badges' }));
    pool[k] = t;
    gridInner.append(t);
  }
  return t;
}

// While the grid moves by more than a screen per frame (the scrollbar dragged), tiles show their
// caption and badges only; images come once it settles, so every frame stays cheap.
let lastTop = 0;
let fast = false;
let settle: ReturnType<typeof setTimeout> | undefined;
/** Milliseconds of the last renderGrid (for the benchmark). */
let lastRenderMs = 0;

function renderGrid(): void {
  if (!model) return;
  const t0 = performance.now();
  fast = Math.abs(grid.scrollTop - lastTop) > grid.clientHeight;
  lastTop = grid.scrollTop;
  if (fast) {
    clearTimeout(settle);
    settle = setTimeout(() => {
      fast = false;
      renderGrid();
    }, 120);
  }
  const w = gridWindow(shown.length, grid.clientWidth, grid.clientHeight, grid.scrollTop, TILE, ROW);
  gridInner.style.height = `${w.rows * ROW}px`;
  const need: number[] = [];
  let k = 0;
  for (let p = w.from; p < w.to; p++, k++) {
    const i = shown[p]!;
    const t = tileFor(k);
    t.hidden = false;
    t.style.transform = `translate(${(p % w.columns) * TILE}px, ${Math.floor(p / w.columns) * ROW}px)`;
    if (t.dataset.index !== String(i)) {
      t.dataset.index = String(i);
      t.setAttribute('aria-label', `${className(i)}, ${model.data.images.path[i]}`);
      t.title = `${model.data.images.path[i]}\n${className(i)} · ${model.data.images.split[i]}`;
      (t.children[1] as HTMLElement).textContent = className(i);
    }
    const img = t.children[0] as HTMLImageElement;
    const src = fast ? '' : thumbOf(i);
    if (img.getAttribute('src') !== src) {
      if (src) img.setAttribute('src', src);
      else img.removeAttribute('src');
    }
    if (!thumbs.has(i) && !fast) need.push(i);
    t.classList.toggle('selected', selected.has(i));
    t.setAttribute('aria-selected', String(selected.has(i)));
    const excluded = model.data.images.excluded[i] !== null;
    t.classList.toggle('excluded', excluded);
    const badges = t.children[2] as HTMLElement;
    const kinds = [...new Set(model.findingsOf(i).map((f) => f.kind))];
    const key = `${kinds.join()}|${excluded}|${model.data.images.relabeledFrom[i]}|${model.data.images.split[i]}`;
    if (badges.dataset.key !== key) {
      badges.dataset.key = key;
      clear(badges);
      badges.append(h('span', { class: `badge split-${model.data.images.split[i]}` }, model.data.images.split[i]!));
      for (const kind of kinds) badges.append(h('span', { class: `badge kind-${kind}` }, kind));
      if (excluded) badges.append(h('span', { class: 'badge decided' }, 'excluded'));
      if (model.data.images.relabeledFrom[i]! >= 0) badges.append(h('span', { class: 'badge decided' }, 'relabelled'));
    }
  }
  for (; k < pool.length; k++) pool[k]!.hidden = true;
  requestThumbs(need);
  lastRenderMs = performance.now() - t0;
}

grid.addEventListener('scroll', () => requestAnimationFrame(renderGrid), { passive: true });
new ResizeObserver(() => renderGrid()).observe(grid);
grid.addEventListener('click', (e) => {
  const t = (e.target as HTMLElement).closest('.tile') as HTMLElement | null;
  if (!t?.dataset.index) return;
  const i = Number(t.dataset.index);
  if (e.shiftKey && anchor !== undefined) {
    const a = shown.indexOf(anchor), b = shown.indexOf(i);
    for (let p = Math.min(a, b); p <= Math.max(a, b); p++) selected.add(shown[p]!);
  } else if (e.ctrlKey || e.metaKey) {
    if (selected.has(i)) selected.delete(i);
    else selected.add(i);
    anchor = i;
  } else {
    selected.clear();
    selected.add(i);
    anchor = i;
  }
  renderGrid();
  updateSelection();
});
grid.addEventListener('dblclick', (e) => {
  const t = (e.target as HTMLElement).closest('.tile') as HTMLElement | null;
  if (t?.dataset.index) send({ type: 'openImage', index: Number(t.dataset.index) });
});
grid.addEventListener('keydown', (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === 'a') {
    e.preventDefault();
    shown.forEach((i) => selected.add(i));
    renderGrid();
    updateSelection();
  } else if (e.key === 'Escape') {
    selected.clear();
    renderGrid();
    updateSelection();
  }
});

function findingText(f: DatasetFinding): HTMLElement {
  return h('li', { class: `finding kind-${f.kind}` }, h('span', { class: `badge kind-${f.kind}` }, f.kind), ` ${f.score.toFixed(2)} `, f.reason);
}

function updateSelection(): void {
  const s = sel();
  selectionText.textContent = s.length ? `${s.length} selected` : 'click an image to select it (Ctrl/Shift for more)';
  const anyExcluded = s.some((i) => model!.data.images.excluded[i] !== null);
  const anyRelabeled = s.some((i) => model!.data.images.relabeledFrom[i]! >= 0);
  actions.exclude.disabled = s.length === 0 || s.every((i) => model!.data.images.excluded[i] !== null);
  actions.include.disabled = !anyExcluded;
  actions.relabel.disabled = s.length === 0;
  actions.clearRelabel.disabled = !anyRelabeled;
  actions.preview.disabled = s.length !== 1;
  actions.compare.disabled = s.length !== 2;
  clear(details);
  if (s.length === 1) {
    const i = s[0]!;
    const d = model!.data;
    append(
      details,
      h('div', {}, h('strong', {}, className(i)), ` · ${d.images.split[i]} · `, d.images.path[i]!),
      d.images.excluded[i] !== null ? h('div', { class: 'decided-note' }, `excluded: ${d.images.excluded[i]}`) : null,
      d.images.relabeledFrom[i]! >= 0 ? h('div', { class: 'decided-note' }, `relabelled from ${d.classes[d.images.relabeledFrom[i]!]!.name}`) : null,
      h('ul', { class: 'findings' }, ...model!.findingsOf(i).map(findingText)),
    );
  } else if (s.length > 1) {
    const common = model!.findings.filter((f) => s.every((i) => f.images.includes(i)));
    if (common.length) details.append(h('ul', { class: 'findings' }, ...common.map(findingText)));
  }
}

// ---------------------------------------------------------------- compare two images
function showCompare(): void {
  const s = sel();
  if (s.length !== 2 || !model) return;
  const d = model.data;
  clear(compareView);
  const side = (i: number) =>
    h('figure', { class: 'side', 'data-index': i },
      h('img', { src: imageUri(d.imageRoot, d.images.path[i]!), alt: d.images.path[i]! }),
      h('figcaption', {}, h('strong', {}, className(i)), h('div', { class: 'muted' }, `${d.images.split[i]} · ${d.images.path[i]}`),
        d.images.excluded[i] !== null ? h('div', { class: 'decided-note' }, `excluded: ${d.images.excluded[i]}`) : null,
        h('button', { class: 'exclude-one', onclick: () => send({ type: 'exclude', indices: [i], reason: `duplicate of ${d.images.path[s.find((x) => x !== i)!]}` }) }, 'Exclude this one')));
  const common = model.findings.filter((f) => s.every((i) => f.images.includes(i)));
  append(
    compareView,
    h('div', { class: 'compare-bar' }, h('strong', {}, 'Compare'), h('span', { class: 'spacer' }), h('button', { id: 'compare-close', class: 'secondary', onclick: () => (compareView.hidden = true) }, 'Close')),
    common.length ? h('ul', { class: 'findings' }, ...common.map(findingText)) : null,
    h('div', { class: 'sides' }, side(s[0]!), side(s[1]!)),
  );
  compareView.hidden = false;
}

// ---------------------------------------------------------------- the map
function drawMap(): void {
  if (!model || !mapXY) return;
  const li = Math.max(0, model.data.levels.indexOf(state.colourLevel ?? model.data.levels[Math.min(1, model.data.levels.length - 1)]!));
  const values = model.values(model.data.levels[li]!);
  const palette = chartPalette().map(parseColor);
  const colourOf = new Map(values.map((v, k) => [v, palette[k % palette.length]!]));
  const n = model.size;
  const rgb = new Uint8Array(n * 3);
  const dim = new Uint8Array(n).fill(1);
  for (const i of shown) dim[i] = 0;
  for (let i = 0; i < n; i++) {
    const c = colourOf.get(model.valueOf(i, li) ?? '') ?? [128, 128, 128];
    rgb.set(c, i * 3);
  }
  const rect = mapCanvas.parentElement!.getBoundingClientRect();
  const w = Math.max(200, Math.floor(rect.width)), hgt = Math.max(200, Math.floor(Math.min(rect.width * 0.7, window.innerHeight - 180)));
  if (mapCanvas.width !== w || mapCanvas.height !== hgt) {
    mapCanvas.width = w;
    mapCanvas.height = hgt;
  }
  map.setPoints({ xy: mapXY, rgb, dim });
  map.draw(parseColor(themeColor('--vscode-editor-background', '#1e1e1e')));
}

function showTab(tab: 'grid' | 'map'): void {
  state.tab = tab;
  save();
  grid.hidden = tab !== 'grid';
  mapPane.hidden = tab !== 'map';
  tabGrid.setAttribute('aria-selected', String(tab === 'grid'));
  tabMap.setAttribute('aria-selected', String(tab === 'map'));
  if (tab === 'map') {
    if (mapXY) drawMap();
    else {
      mapMessage.textContent = 'computing the map…';
      send({ type: 'map' });
    }
  } else renderGrid();
}

// ---------------------------------------------------------------- wiring
function build(data: DatasetSnapshot): void {
  model = new DatasetModel(data);
  if (state.projectFile !== data.project.file) {
    // another project: its own filters
    for (const k of Object.keys(state) as (keyof DatasetViewState)[]) delete state[k];
    state.projectFile = data.project.file;
  }
  if (data.focus) Object.assign(state, { level: data.focus.level, value: data.focus.value });
  save();
  clear(app);
  app.removeAttribute('aria-busy');
  levelSelect.append(option('', 'every level'), ...data.levels.map((l) => option(l, l)));
  levelSelect.value = state.level ?? '';
  splitSelect.append(option('', 'all splits'), ...[...new Set(data.images.split)].map((s) => option(s, s)));
  splitSelect.value = state.split ?? '';
  decidedSelect.append(option('', 'all decisions'), option('excluded', 'excluded only'), option('relabeled', 'relabelled only'));
  sortSelect.append(option('dataset', 'dataset order'), option('score', 'finding score'));
  sortSelect.value = state.sort ?? 'dataset';
  colourSelect.append(...data.levels.map((l) => option(l, l)));
  colourSelect.value = state.colourLevel ?? data.levels[Math.min(1, data.levels.length - 1)]!;
  fillValues();
  fillKinds();
  app.append(
    h('header', { class: 'bar' }, h('h1', {}, data.project.name), h('span', { class: 'muted' }, `${data.images.path.length.toLocaleString('en')} images`), h('span', { class: 'spacer' }), status, h('div', { class: 'tabs', role: 'tablist' }, tabGrid, tabMap)),
    h('div', { class: 'toolbar' },
      h('label', {}, 'Level', levelSelect), h('label', {}, 'Value', valueSelect), h('label', {}, 'Split', splitSelect),
      h('label', {}, 'Findings', kindSelect), h('label', {}, 'Decisions', decidedSelect), h('label', {}, 'Order', sortSelect), lassoChip, countText),
    h('div', { class: 'toolbar actions' }, ...Object.values(actions), selectionText),
    details,
    grid,
    mapPane,
    compareView,
  );
  refilter();
  showTab(state.tab ?? 'grid');
}

levelSelect.addEventListener('change', () => {
  state.level = levelSelect.value || undefined;
  state.value = undefined;
  fillValues();
  save();
  refilter();
});
valueSelect.addEventListener('change', () => {
  state.value = valueSelect.value || undefined;
  save();
  refilter();
});
splitSelect.addEventListener('change', () => {
  state.split = splitSelect.value || undefined;
  save();
  refilter();
});
kindSelect.addEventListener('change', () => {
  state.kind = kindSelect.value || undefined;
  save();
  refilter();
});
decidedSelect.addEventListener('change', refilter);
sortSelect.addEventListener('change', () => {
  state.sort = sortSelect.value as DatasetViewState['sort'];
  save();
  refilter();
});
colourSelect.addEventListener('change', () => {
  state.colourLevel = colourSelect.value;
  save();
  drawMap();
});
lassoChip.addEventListener('click', () => {
  lasso = undefined;
  refilter();
});
tabGrid.addEventListener('click', () => showTab('grid'));
tabMap.addEventListener('click', () => showTab('map'));
actions.exclude.addEventListener('click', () => send({ type: 'exclude', indices: sel() }));
actions.include.addEventListener('click', () => send({ type: 'include', indices: sel() }));
actions.relabel.addEventListener('click', () => send({ type: 'relabel', indices: sel() }));
actions.clearRelabel.addEventListener('click', () => send({ type: 'clearRelabel', indices: sel() }));
actions.preview.addEventListener('click', () => send({ type: 'openMaskPreview', index: sel()[0]! }));
actions.compare.addEventListener('click', showCompare);
window.addEventListener('resize', () => {
  if (state.tab === 'map') drawMap();
});

onHostMessage<DatasetToWebview>((m) => {
  switch (m.type) {
    case 'dataset':
      build(m);
      return;
    case 'decisions':
      if (!model) return;
      Object.assign(model.data.images, { excluded: m.excluded, cls: m.cls, relabeledFrom: m.relabeledFrom });
      for (const t of pool) t.dataset.index = ''; // captions may change
      refilter();
      if (!compareView.hidden) showCompare();
      return;
    case 'findings':
      if (!model) return;
      findingsRunning = m.running;
      findingsMessage = m.message ?? '';
      if (!m.running) {
        model.setFindings(m.findings);
        notes = m.notes;
        fillKinds();
        refilter();
      }
      status.textContent = findingsRunning ? findingsMessage : `${model.findings.length} finding${model.findings.length === 1 ? '' : 's'}${notes.length ? ` · ${notes.join(' · ')}` : ''}`;
      status.dataset.state = findingsRunning ? 'running' : 'done';
      return;
    case 'thumbs':
      for (const [k, v] of Object.entries(m.uris)) thumbs.set(Number(k), v);
      renderGrid();
      return;
    case 'map':
      mapMessage.textContent = m.message ?? '';
      if (m.xy.length > 0) {
        mapXY = Float32Array.from(m.xy, (v) => (v === null ? NaN : v));
        drawMap();
      }
      return;
    case 'error':
      clear(app);
      app.removeAttribute('aria-busy');
      app.append(h('div', { class: 'alert', role: 'alert', id: 'error' }, m.message));
      return;
  }
});
send({ type: 'ready' });

/** For the benchmark and tests in a plain browser page. */
(window as unknown as { __dataset: unknown }).__dataset = { renderGrid, grid, map, drawMap, renderMs: () => lastRenderMs };
