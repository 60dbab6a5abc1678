// The training dashboard: live loss / accuracy / throughput curves (uPlot), progress, ETA,
// resources and the log tail. Fed by the host (src/core/runs/dashboardProtocol.ts): a snapshot of
// every event so far, then appended events, so a reopened panel shows the whole run.
import uPlot from 'uplot';
import { connect, onHostMessage } from '../kit/host';
import { clear, h, pct } from '../kit/dom';
import { chartPalette, themeColor } from '../kit/theme';
import { SeriesStore, type ChartId } from './series';
import { emptyProgress, foldEvent, formatDuration, progressFraction, type RunProgress } from '../../src/core/runs/summary';
import { DASHBOARD_LOG_LINES, type DashboardFromWebview, type DashboardRun, type DashboardState, type DashboardToWebview } from '../../src/core/runs/dashboardProtocol';

const vscode = connect<DashboardFromWebview, DashboardState>();
const state: DashboardState = vscode.getState() ?? {};

let run: DashboardRun | undefined;
let runReceivedAt = 0;
let progress: RunProgress = emptyProgress();
const store = new SeriesStore();
let logLines: string[] = [];

const CHARTS: Array<{ id: ChartId; title: string; percent: boolean; hideEmpty?: boolean }> = [
  { id: 'loss', title: 'Loss', percent: false },
  { id: 'accuracy', title: 'Accuracy', percent: true },
  { id: 'throughput', title: 'Throughput (images/s)', percent: false },
  { id: 'resources', title: 'GPU / CPU use (%)', percent: false, hideEmpty: true },
];

// ---------- layout ----------
const app = document.getElementById('app')!;
const title = h('h1', {}, 'Training run');
const badge = h('span', { class: 'badge', id: 'status', role: 'status' }, '…');
const meta = h('span', { class: 'run-meta', id: 'meta' });
const send = (m: DashboardFromWebview) => () => vscode.postMessage(m);
const stopBtn = h('button', { id: 'stop', class: 'secondary', disabled: true, onclick: send({ type: 'stop' }), title: 'Stop: the trainer saves a checkpoint first' }, 'Stop');
const resumeBtn = h('button', { id: 'resume', class: 'secondary', disabled: true, onclick: send({ type: 'resume' }) }, 'Resume');
const evalBtn = h('button', { id: 'open-eval', disabled: true, onclick: send({ type: 'openEvaluation' }) }, 'Open evaluation');
const fill = h('div', { class: 'fill' });
const bar = h('div', { class: 'track', role: 'progressbar', 'aria-label': 'Training progress', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0 }, fill);
const progressLeft = h('span', { id: 'progress-text' });
const progressRight = h('span', { id: 'progress-pct' });
const tiles = h('div', { class: 'tiles', id: 'tiles' });
const alertBox = h('div', { class: 'alert', role: 'alert', id: 'error', hidden: true });
const weightsNote = h('div', { class: 'note warn', id: 'weights-note', hidden: true });
const logPre = h('pre', { id: 'log', tabindex: 0, 'aria-label': 'Trainer log (last lines)' });
const logCount = h('span', { class: 'muted' });
const chartHosts = new Map<ChartId, { card: HTMLElement; host: HTMLElement; plot?: uPlot; labels: string; version: number }>();

clear(app);
app.removeAttribute('aria-busy');
app.append(
  h('header', { class: 'bar' }, title, badge, meta, h('span', { class: 'spacer' }), stopBtn, resumeBtn, evalBtn),
  alertBox,
  weightsNote,
  h('div', { class: 'progress' }, bar, h('div', { class: 'text' }, progressLeft, progressRight)),
  h('section', { class: 'card', 'aria-label': 'Current values' }, tiles),
);
const chartGrid = h('div', { class: 'charts' });
for (const c of CHARTS) {
  const host = h('div', { class: 'chart', id: `chart-${c.id}` }, h('div', { class: 'empty' }, 'No data yet'));
  const card = h('section', { class: 'card', 'aria-label': c.title }, h('h2', {}, c.title), host);
  if (c.hideEmpty) card.hidden = true;
  chartGrid.append(card);
  chartHosts.set(c.id, { card, host, labels: '', version: -1 });
}
app.append(chartGrid, h('section', { class: 'card log chart-row' }, h('div', { class: 'head' }, h('h2', {}, 'Log'), logCount, h('span', { class: 'spacer' }), h('button', { class: 'secondary', onclick: send({ type: 'openLog' }) }, 'Open train.log')), logPre));

// ---------- rendering ----------
function tile(label: string, value: string, id: string): HTMLElement {
  return h('div', { class: 'tile', id: `tile-${id}` }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value));
}

const fmt = (v: number | undefined, digits = 3) => (v === undefined || v === null || !Number.isFinite(v) ? '–' : Number(v.toPrecision(digits)).toString());

function elapsedNow(): number | undefined {
  if (!run) return undefined;
  const extra = run.status.status === 'running' ? (Date.now() - runReceivedAt) / 1000 : 0;
  return run.status.elapsedS + extra;
}

function renderHeader(): void {
  const status = run?.status.status ?? 'unknown';
  title.textContent = run?.name ?? 'Training run';
  badge.textContent = status;
  badge.className = `badge ${status}`;
  const parts = [progress.device ? `${progress.device}${progress.worldSize && progress.worldSize > 1 ? ` × ${progress.worldSize}` : ''}` : undefined, progress.starts > 1 ? `resumed ${progress.starts - 1}×` : undefined];
  meta.textContent = parts.filter(Boolean).join(' · ');
  stopBtn.disabled = !run?.canStop;
  resumeBtn.disabled = !run?.canResume;
  evalBtn.disabled = !run?.hasEval;
  const reason = run?.status.status === 'failed' ? run.status.reason : undefined;
  const err = reason ?? (progress.lastError && status === 'running' ? progress.lastError.message : undefined);
  alertBox.hidden = !err;
  alertBox.textContent = err ? `${status === 'failed' ? 'Failed: ' : ''}${err}` : '';
  const scratch = progress.weights && !progress.weights.pretrained;
  weightsNote.hidden = !scratch;
  weightsNote.textContent = scratch ? 'From scratch: backbone_weights is "none", so the backbone starts from random weights. Fine for the tiny presets on the sample; on real fine-grained data use "imagenet" or "clip:<model>".' : '';
  meta.title = progress.preflight ? `Preflight: ${progress.preflight}` : '';
}

function renderProgress(): void {
  const f = progressFraction(progress);
  fill.style.width = `${((f ?? 0) * 100).toFixed(2)}%`;
  bar.setAttribute('aria-valuenow', String(Math.round((f ?? 0) * 100)));
  const epochs = progress.epochs ? ` / ${progress.epochs}` : '';
  progressLeft.textContent = progress.step !== undefined ? `step ${progress.step}${progress.totalSteps ? ` / ${progress.totalSteps}` : ''} · epoch ${Math.min((progress.epoch ?? 0) + 1, progress.epochs ?? Infinity)}${epochs}` : 'waiting for the first step…';
  progressRight.textContent = f === undefined ? '' : pct(f, 0);
}

function renderTiles(): void {
  const running = run?.status.status === 'running';
  const list = [
    tile('Elapsed', formatDuration(elapsedNow() ?? NaN), 'elapsed'),
    tile('ETA', running && progress.etaS !== undefined ? formatDuration(progress.etaS) : '–', 'eta'),
    tile('Throughput', progress.imagesPerS !== undefined ? `${fmt(progress.imagesPerS)} img/s` : '–', 'throughput'),
    tile('Loss', fmt(progress.loss, 4), 'loss'),
    tile('Learning rate', progress.lr !== undefined ? progress.lr.toExponential(2) : '–', 'lr'),
    tile('Best top-1', pct(progress.bestTop1), 'best'),
  ];
  const res = store.table('resources');
  for (const s of res.series) {
    const last = [...s.values].reverse().find((v) => v !== null);
    if (last !== undefined && last !== null) list.push(tile(s.label.replace(' %', ''), `${fmt(last, 3)}%`, s.label.startsWith('GPU') ? 'gpu' : 'cpu'));
  }
  if (progress.lastCheckpoint) list.push(tile('Checkpoint', `epoch ${progress.lastCheckpoint.epoch}`, 'checkpoint'));
  clear(tiles);
  tiles.append(...list);
}

function axisColors() {
  return {
    fg: themeColor('--vscode-descriptionForeground', themeColor('--vscode-foreground', '#888')),
    grid: themeColor('--vscode-charts-lines', 'rgba(128,128,128,0.25)'),
  };
}

function renderChart(id: ChartId, percent: boolean): void {
  const slot = chartHosts.get(id)!;
  if (slot.version === store.version) return;
  slot.version = store.version;
  const table = store.table(id);
  if (CHARTS.find((c) => c.id === id)?.hideEmpty) slot.card.hidden = table.x.length === 0;
  if (table.x.length === 0) return;
  const labels = table.series.map((s) => s.label).join('\n');
  const data = [table.x, ...table.series.map((s) => s.values)] as uPlot.AlignedData;
  if (slot.plot && slot.labels === labels) {
    slot.plot.setData(data);
    return;
  }
  slot.plot?.destroy();
  clear(slot.host);
  slot.labels = labels;
  const palette = chartPalette();
  const { fg, grid } = axisColors();
  const hidden = new Set(state.hidden ?? []);
  const sparse = (values: Array<number | null>) => values.filter((v) => v !== null).length < table.x.length / 2;
  const opts: uPlot.Options = {
    width: Math.max(280, slot.host.clientWidth),
    height: 220,
    // the x axis spans the whole run, so the curves fill from left to right as it trains
    scales: { x: { time: false, range: (_u, _min, max) => [0, Math.max(max, progress.totalSteps ?? max)] }, y: percent ? { range: [0, 1] } : { auto: true } },
    axes: [
      { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, label: 'step', labelSize: 18 },
      {
        stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, size: 52,
        values: percent ? (_u, vals) => vals.map((v) => `${Math.round(v * 100)}%`) : undefined,
      },
    ],
    series: [
      { label: 'step' },
      ...table.series.map((s, i) => ({
        label: s.label,
        stroke: palette[i % palette.length],
        width: 2,
        spanGaps: true,
        show: !hidden.has(`${id}:${s.label}`),
        points: { show: sparse(s.values), size: 6 },
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : percent ? pct(v) : fmt(v, 4)),
      })),
    ],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
    hooks: {
      setSeries: [
        (u, idx) => {
          if (idx === null || idx === 0) return;
          const key = `${id}:${u.series[idx].label}`;
          const set = new Set(state.hidden ?? []);
          if (u.series[idx].show) set.delete(key);
          else set.add(key);
          u.root.querySelectorAll('.u-legend .u-series')[idx]?.querySelector('th')?.setAttribute('aria-pressed', String(u.series[idx].show !== false));
          state.hidden = [...set];
          vscode.setState(state);
        },
      ],
    },
  };
  slot.plot = new uPlot(opts, data, slot.host);
  makeLegendKeyboardAccessible(slot.plot);
}

/** uPlot's legend toggles series on click only: make each entry a focusable toggle button. */
function makeLegendKeyboardAccessible(u: uPlot): void {
  u.root.querySelectorAll<HTMLElement>('.u-legend .u-series').forEach((row, i) => {
    if (i === 0) return;
    const th = row.querySelector('th');
    if (!th) return;
    th.tabIndex = 0;
    th.setAttribute('role', 'button');
    th.setAttribute('aria-pressed', String(u.series[i].show !== false));
    th.title = 'Show or hide this series (Enter)';
    th.addEventListener('keydown', (ev) => {
      if (ev.key !== 'Enter' && ev.key !== ' ') return;
      ev.preventDefault();
      th.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    });
  });
}

function renderCharts(): void {
  for (const c of CHARTS) renderChart(c.id, c.percent);
}

function renderLog(): void {
  const atBottom = logPre.scrollTop + logPre.clientHeight >= logPre.scrollHeight - 4;
  logPre.textContent = logLines.join('\n');
  logCount.textContent = logLines.length ? `last ${logLines.length} line${logLines.length === 1 ? '' : 's'}` : 'empty';
  if (atBottom) logPre.scrollTop = logPre.scrollHeight;
}

let pending = false;
function scheduleRender(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    renderHeader();
    renderProgress();
    renderTiles();
    renderCharts();
    renderLog();
  });
}

// ---------- messages ----------
onHostMessage<DashboardToWebview>((m) => {
  switch (m.type) {
    case 'snapshot':
      run = m.run;
      runReceivedAt = Date.now();
      progress = emptyProgress();
      store.clear();
      for (const e of m.events) {
        foldEvent(progress, e);
        store.add(e);
      }
      logLines = m.log.slice(-DASHBOARD_LOG_LINES);
      state.runDir = m.run.dir;
      state.runName = m.run.name;
      vscode.setState(state);
      break;
    case 'events':
      for (const e of m.events) {
        foldEvent(progress, e);
        store.add(e);
      }
      break;
    case 'log':
      logLines = logLines.concat(m.lines).slice(-DASHBOARD_LOG_LINES);
      break;
    case 'run':
      run = m.run;
      runReceivedAt = Date.now();
      break;
  }
  scheduleRender();
});

// charts follow the panel's width
const resize = new ResizeObserver(() => {
  for (const slot of chartHosts.values()) if (slot.plot) slot.plot.setSize({ width: Math.max(280, slot.host.clientWidth), height: 220 });
});
for (const slot of chartHosts.values()) resize.observe(slot.host);
// the elapsed clock ticks between host updates
setInterval(() => {
  if (run?.status.status === 'running') renderTiles();
}, 1000);

scheduleRender();
vscode.postMessage({ type: 'ready' });
