// The Prompt Report: a project's prompt quality on its training cache (src/core/quality):
// zero-shot accuracy per level for each prompt variant and the random-descriptor control, a bar
// chart of the part keypoint hit rates with each phrasing alone, the statistics of the stored
// masks, the accuracy of each class, and the confusion at any level (the evaluation report's
// matrix). Redrawn whenever the host sends new scores (after every save of the project file).
import { connect, onHostMessage } from '../kit/host';
import { clear, h, pct } from '../kit/dom';
import { drawMatrix, hitCell, type MatrixGeometry } from '../evalReport/matrix';
import type { LevelMatrix } from '../../src/core/runs/confusion';
import type { PromptScores } from '../../src/core/quality/score';
import type { LevelConfusion, QualityScoreResult } from '../../src/core/rpc/quality';
import type { PromptReportFromWebview, PromptReportState, PromptReportToWebview } from '../../src/core/quality/reportProtocol';

const vscode = connect<PromptReportFromWebview, PromptReportState>();
const state: PromptReportState = vscode.getState() ?? {};
const save = () => vscode.setState(state);
const app = document.getElementById('app')!;

let current: { project: { name: string; file: string }; result: QualityScoreResult; at: string } | undefined;
let running: { message: string; fraction?: number } | null = null;
let geometry: MatrixGeometry | undefined;

// ---------- header ----------
const statusLine = h('span', { id: 'status', 'aria-live': 'polite' });
const progress = h('progress', { id: 'progress', max: 1, hidden: true });
const rescore = h('button', { id: 'rescore', onclick: () => vscode.postMessage({ type: 'rescore' }) }, 'Score again');
const cancel = h('button', { id: 'cancel', class: 'secondary', hidden: true, onclick: () => vscode.postMessage({ type: 'cancel' }) }, 'Cancel');

function showStatus(): void {
  if (running) {
    statusLine.textContent = `Scoring: ${running.message}…`;
    progress.hidden = running.fraction === undefined;
    if (running.fraction !== undefined) progress.value = running.fraction;
    cancel.hidden = false;
    rescore.disabled = true;
  } else {
    const at = current ? new Date(current.at) : undefined;
    statusLine.textContent = at ? `Scored at ${at.toLocaleTimeString()} (${current!.result.seconds.toFixed(1)} s${current!.result.cacheBuilt ? ', training cache built first' : ''}); saved edits are scored again.` : '';
    progress.hidden = true;
    cancel.hidden = true;
    rescore.disabled = false;
  }
}

// ---------- zero-shot table ----------
function levelsTable(s: PromptScores): HTMLElement {
  const variants: [string, string, Record<string, { top1: number; top5: number }> | undefined][] = [
    ['flat', 'Flat', s.variants.flat.levels],
    ['hierarchical', 'Hierarchical', s.variants.hierarchical.levels],
    ['descriptions', 'Descriptions', s.variants.descriptions?.levels],
    ['control', `Control (${s.control.descriptors} random descriptors)`, s.control.levels],
  ];
  const head = h('tr', {}, h('th', { class: 'plain' }, 'Level'), ...variants.map(([, label]) => h('th', { class: 'plain num', colspan: 2 }, label)));
  const sub = h('tr', {}, h('th', { class: 'plain' }, ''), ...variants.flatMap(() => [h('th', { class: 'plain num' }, 'top-1'), h('th', { class: 'plain num' }, 'top-5')]));
  const rows = Object.keys(s.levels).map((level) =>
    h('tr', { 'data-level': level },
      h('td', {}, level),
      ...variants.flatMap(([key, , t]) => {
        const a = t?.[level];
        return [h('td', { class: 'num', 'data-variant': key, 'data-k': 'top1' }, a ? pct(a.top1) : '–'), h('td', { class: 'num', 'data-variant': key, 'data-k': 'top5' }, a ? pct(a.top5) : '–')];
      }),
    ),
  );
  return h('section', { class: 'card', 'aria-label': 'Zero-shot accuracy per level' },
    h('h2', {}, `Zero-shot accuracy per level (${s.images} images, split ${s.split})`),
    h('p', { class: 'note' }, 'Flat: the class templates as they are. Hierarchical: with the ancestors in the name. Descriptions: with the class descriptions. Control: each template with the same random words for every class (WaffleCLIP) — a prompt set that does no better than this gains nothing from its words.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'levels' }, h('thead', {}, head, sub), h('tbody', {}, ...rows))),
  );
}

// ---------- parts ----------
function bar(value: number | null, cls: string): HTMLElement {
  const fill = h('div', { class: cls });
  fill.style.width = `${((value ?? 0) * 100).toFixed(1)}%`;
  return h('div', { class: 'bar', 'aria-hidden': 'true' }, fill);
}

function partsChart(s: PromptScores): HTMLElement {
  const keys = Object.keys(s.parts);
  const list = h('div', { class: 'parts', id: 'parts', role: 'table', 'aria-label': 'Keypoint hit rate per part and phrasing' });
  for (const key of keys) {
    const p = s.parts[key];
    const [coarse, part] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    const name = h('button', { class: 'link', title: 'Show this part in the project file', onclick: () => vscode.postMessage({ type: 'revealPart', coarse, part }) }, key);
    list.append(
      h('div', { class: 'part-row', role: 'row', 'data-part': key },
        h('span', { class: 'name', role: 'rowheader' }, name),
        bar(p.hitRate, 'hit'),
        h('span', { class: 'num', role: 'cell', 'data-k': 'hitRate' }, p.hitRate === null ? 'no keypoints' : pct(p.hitRate)),
        h('span', { class: 'num muted', role: 'cell', title: `top-${s.topK}` }, p.topKRate === null ? '' : `top-${s.topK} ${pct(p.topKRate)}`),
        h('span', { class: 'num muted', role: 'cell' }, p.keypoints ? `${p.keypoints} kp` : ''),
      ),
    );
    for (const [text, r] of Object.entries(p.phrasings)) {
      list.append(
        h('div', { class: 'part-row phrasing', role: 'row', 'data-part': key, 'data-phrasing': text },
          h('span', { class: 'name', role: 'rowheader' }, `“${text}”`),
          bar(r, 'phr'),
          h('span', { class: 'num', role: 'cell', 'data-k': 'phrasing' }, r === null ? '–' : pct(r)),
          h('span', {}),
          h('span', {}),
        ),
      );
    }
  }
  return h('section', { class: 'card', 'aria-label': 'Part keypoint hit rate' },
    h('h2', {}, 'Part keypoint hit rate'),
    h('p', { class: 'note' }, `The share of a part's visible keypoints (the dataset's part locations) where its prompt wins the argmax; indented, each phrasing alone. top-${s.topK}: the part ranks among the ${s.topK} most similar.`),
    keys.length > 0 ? list : h('p', { class: 'empty-note' }, 'No parts.'),
  );
}

function masksTable(s: PromptScores): HTMLElement | undefined {
  const m = s.masks;
  if (!m) return undefined;
  const rows = Object.entries(m.parts).map(([key, p]) =>
    h('tr', { 'data-part': key },
      h('td', {}, key),
      h('td', { class: 'num' }, pct(p.coverage.mean)),
      h('td', { class: 'num' }, `${pct(p.coverage.p10)} / ${pct(p.coverage.p50)} / ${pct(p.coverage.p90)}`),
      h('td', { class: 'num' }, pct(p.emptyRate)),
      h('td', { class: 'num' }, pct(p.argmaxShare)),
      h('td', { class: 'num' }, p.hitRate === null ? '–' : pct(p.hitRate)),
    ),
  );
  return h('section', { class: 'card', 'aria-label': 'Stored masks' },
    h('h2', {}, `Stored masks (${m.images} images${m.stale ? ' — stale: made with other part prompts' : ''})`),
    h('div', { class: 'table-wrap' },
      h('table', { class: 'grid', id: 'masks' },
        h('thead', {}, h('tr', {}, ...['Part', 'Coverage', 'p10 / p50 / p90', 'Empty', 'Argmax share', 'Hit in mask'].map((t, i) => h('th', { class: i ? 'plain num' : 'plain' }, t)))),
        h('tbody', {}, ...rows),
      ),
    ),
  );
}

function classesTable(s: PromptScores): HTMLElement {
  const rows = Object.entries(s.classes)
    .sort((a, b) => a[1].top1 - b[1].top1)
    .map(([name, a]) => h('tr', {}, h('td', {}, name), h('td', { class: 'num' }, pct(a.top1)), h('td', { class: 'num' }, pct(a.top5)), h('td', { class: 'num' }, String(a.images))));
  return h('section', { class: 'card', 'aria-label': 'Accuracy per class' },
    h('h2', {}, 'Fine level: accuracy per class (flat prompts, hardest first)'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'grid', id: 'classes' }, h('thead', {}, h('tr', {}, ...['Class', 'top-1', 'top-5', 'images'].map((t, i) => h('th', { class: i ? 'plain num' : 'plain' }, t)))), h('tbody', {}, ...rows))),
  );
}

// ---------- confusion ----------
const levelSelect = h('select', { id: 'level', 'aria-label': 'Taxonomy level of the confusion matrix' });
const normalizeBox = h('input', { type: 'checkbox', id: 'normalize' });
const canvas = h('canvas', { id: 'confusion', role: 'img', 'aria-describedby': 'readout' });
const readout = h('div', { class: 'readout', id: 'readout', 'aria-live': 'polite' }, 'Hover a cell.');

function matrixOf(level: string, c: LevelConfusion): LevelMatrix {
  const k = c.names.length;
  const counts = Array.from({ length: k }, (_, r) => c.counts.slice(r * k, (r + 1) * k));
  let correct = 0;
  let maxOff = 0;
  counts.forEach((row, r) => row.forEach((v, col) => (r === col ? (correct += v) : (maxOff = Math.max(maxOff, v)))));
  return { level, labels: c.names, counts, total: c.counts.reduce((a, b) => a + b, 0), correct, maxOff, max: Math.max(0, ...c.counts) };
}

function drawConfusion(): void {
  const confusion = current?.result.confusion ?? {};
  const level = state.level && confusion[state.level] ? state.level : Object.keys(confusion).find((l) => confusion[l].names.length >= 2) ?? Object.keys(confusion)[0];
  if (!level) return;
  levelSelect.value = level;
  geometry = drawMatrix(canvas, matrixOf(level, confusion[level]), { normalize: !!state.normalize, maxSize: Math.max(320, Math.min(820, app.clientWidth - 40)) });
}

canvas.addEventListener('mousemove', (ev) => {
  const level = levelSelect.value;
  const c = current?.result.confusion[level];
  if (!geometry || !c) return;
  const r = canvas.getBoundingClientRect();
  const cell = hitCell(geometry, ev.clientX - r.left, ev.clientY - r.top);
  if (!cell) return;
  const k = c.names.length;
  const n = c.counts[cell.row * k + cell.col];
  const total = c.counts.slice(cell.row * k, (cell.row + 1) * k).reduce((a, b) => a + b, 0);
  readout.textContent = `${c.names[cell.row]} → ${c.names[cell.col]}: ${n} of ${total} (${pct(total ? n / total : 0)})`;
});
levelSelect.addEventListener('change', () => {
  state.level = levelSelect.value;
  save();
  drawConfusion();
});
normalizeBox.addEventListener('change', () => {
  state.normalize = normalizeBox.checked;
  save();
  drawConfusion();
});

function confusionCard(result: QualityScoreResult): HTMLElement {
  clear(levelSelect);
  for (const level of Object.keys(result.confusion)) levelSelect.append(h('option', { value: level }, level));
  normalizeBox.checked = !!state.normalize;
  return h('section', { class: 'card', 'aria-label': 'Confusion' },
    h('h2', {}, 'Zero-shot confusion (flat prompts)'),
    h('div', { class: 'toolbar' }, h('label', {}, 'Level ', levelSelect), h('label', {}, normalizeBox, ' per row')),
    h('div', { class: 'matrix-wrap' }, canvas),
    readout,
  );
}

// ---------- page ----------
function render(): void {
  clear(app);
  app.removeAttribute('aria-busy');
  const header = h('header', { class: 'head' },
    h('h1', {}, current ? `Prompt report — ${current.project.name}` : 'Prompt report'),
    h('div', { class: 'toolbar' }, rescore, cancel, progress, statusLine),
  );
  app.append(header);
  if (!current) {
    app.append(h('p', { class: 'empty-note', id: 'empty' }, running ? 'Computing the first scores…' : 'No scores yet.'));
    showStatus();
    return;
  }
  const s = current.result.scores;
  app.append(
    h('p', { class: 'note' }, `Model ${s.model} · cache ${s.cache}`),
    levelsTable(s),
    partsChart(s),
    ...[masksTable(s)].filter((x): x is HTMLElement => !!x),
    classesTable(s),
    confusionCard(current.result),
    ...(s.notes.length ? [h('section', { class: 'card notes', 'aria-label': 'Notes' }, h('h2', {}, 'Notes'), h('ul', {}, ...s.notes.map((n) => h('li', {}, n))))] : []),
  );
  showStatus();
  drawConfusion();
}

onHostMessage<PromptReportToWebview>((m) => {
  if (m.type === 'scores') {
    current = { project: m.project, result: m.result, at: m.at };
    state.projectFile = m.project.file;
    save();
    render();
    document.body.dataset.scoredAt = m.at;
  } else if (m.type === 'running') {
    running = m.state;
    if (!current) render();
    else showStatus();
  } else if (m.type === 'error') {
    running = null;
    render();
    app.append(h('div', { class: 'alert', role: 'alert', id: 'error' }, m.message));
  }
});
render();
vscode.postMessage({ type: 'ready' });
