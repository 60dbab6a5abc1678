// The mask-preview page: receives renders from the extension host (src/core/masks/wire.ts) and draws
// them; display choices (toggles, opacity, mode) survive the panel being hidden via setState.
import { partColour, type Rgb } from '../../src/core/masks/palette';
import {
  decodeLabelMap,
  decodeProbabilities,
  isHostMessage,
  type GridPayload,
  type HostMessage,
  type PageMessage,
  type PreviewPart,
  type RenderPayload,
} from '../../src/core/masks/wire';
import { viridisCss } from './colormap';
import { h, pct } from '../kit/dom';
import { GridView } from './gridView';
import { Legend, type LegendFigures } from './legend';
import type { OverlayStyle } from './paint';
import { SettingsPanel } from './settingsPanel';
import { SingleView } from './singleView';
import { connect, onHostMessage } from '../kit/host';
import { sanitizeViewState, type DisplayMode, type ViewKind, type ViewState } from './viewState';

class App {
  private readonly host = connect<PageMessage, ViewState>();
  private state: ViewState = sanitizeViewState(this.host.getState());
  private render: RenderPayload | undefined;
  private grid: GridPayload | undefined;
  private highlight = 0;

  private readonly single: SingleView;
  private readonly gridView: GridView;
  private readonly legend: Legend;
  private readonly settings: SettingsPanel;
  private readonly title = h('h1', { id: 'title', class: 'title' }, 'Part masks');
  private readonly status = h('span', { id: 'status', class: 'status', role: 'status', 'aria-live': 'polite' });
  private readonly errorBox = h('div', { id: 'error', class: 'error', role: 'alert', hidden: true });
  private readonly empty = h('div', { class: 'empty', id: 'empty' });
  private readonly stage = h('section', { class: 'stage', 'aria-label': 'Preview' });
  private readonly singleButton = h('button', { type: 'button', id: 'view-single', 'aria-pressed': 'true' }, 'Image');
  private readonly gridButton = h('button', { type: 'button', id: 'view-grid', 'aria-pressed': 'false' }, 'Grid');
  private readonly opacity = h('input', { type: 'range', id: 'opacity', min: 0, max: 100, step: 5 });
  private readonly opacityValue = h('output', { id: 'opacity-value', for: 'opacity' });
  private readonly modeInputs = new Map<DisplayMode, HTMLInputElement>();
  private readonly heatmapPart = h('select', { id: 'heatmap-part', disabled: true });
  private readonly heatScale = h('div', { class: 'heat-scale', id: 'heat-scale' });

  constructor(root: HTMLElement) {
    this.single = new SingleView(
      () => ({ style: this.style(), mode: this.state.mode, heatmapLabel: this.labelOf(this.render?.parts, this.state.heatmapPart) ?? 1 }),
      (label) => this.setHighlight(label),
    );
    this.gridView = new GridView(
      () => this.style(),
      () => this.labelOf(this.grid?.parts, this.state.gridPart) ?? 1,
      (label) => {
        this.state.gridPart = this.grid?.parts.find((p) => p.label === label)?.name;
        this.save();
        this.gridView.redraw();
        this.showLegend();
      },
      (key) => this.host.postMessage({ type: 'openGridItem', key }),
    );
    this.legend = new Legend({
      toggle: (label, visible) => this.setVisible([label], visible),
      hover: (label) => this.setHighlight(label),
      setAll: (visible) => this.setVisible(this.parts().map((p) => p.label), visible),
    });
    this.settings = new SettingsPanel((s) => this.host.postMessage({ type: 'settingsChanged', settings: s }));

    const openButton = h('button', { type: 'button', id: 'open-image', class: 'secondary' }, 'Open image…');
    const exportButton = h('button', { type: 'button', id: 'export' }, 'Export masks');
    openButton.addEventListener('click', () => this.host.postMessage({ type: 'openImage' }));
    exportButton.addEventListener('click', () => this.host.postMessage({ type: 'exportMasks' }));
    this.singleButton.addEventListener('click', () => this.switchView('single'));
    this.gridButton.addEventListener('click', () => this.switchView('grid'));

    const emptyOpen = h('button', { type: 'button', class: 'secondary', id: 'empty-open' }, 'Open image…');
    emptyOpen.addEventListener('click', () => this.host.postMessage({ type: 'openImage' }));
    this.empty.append(h('p', {}, 'Waiting for an image. Open one to preview its part masks.'), emptyOpen);

    root.replaceChildren(
      h(
        'header',
        { class: 'toolbar' },
        this.title,
        h('div', { class: 'segmented', role: 'group', 'aria-label': 'View' }, this.singleButton, this.gridButton),
        this.status,
        h('span', { class: 'spacer' }),
        openButton,
        exportButton,
      ),
      this.errorBox,
      h('main', { class: 'layout' }, this.stage, h('aside', { class: 'sidebar' }, this.displayPanel(), this.legend.element, this.settings.element)),
    );
    this.stage.append(this.empty);
    this.applyStateToControls();
    new ResizeObserver(() => this.single.fit(this.stage)).observe(this.stage);
    onHostMessage((m) => this.receive(m), isHostMessage);
    this.host.postMessage({ type: 'ready' });
  }

  private displayPanel(): HTMLElement {
    const modes = (['overlay', 'heatmap'] as const).map((m) => {
      const input = h('input', { type: 'radio', name: 'mode', id: `mode-${m}`, value: m });
      input.addEventListener('change', () => {
        if (input.checked) this.setMode(m);
      });
      this.modeInputs.set(m, input);
      return h('label', { class: 'check' }, input, m === 'overlay' ? 'Part overlay' : 'Probability heatmap');
    });
    this.opacity.addEventListener('input', () => {
      this.state.opacity = Number(this.opacity.value) / 100;
      this.opacityValue.textContent = `${this.opacity.value}%`;
      this.save();
      this.redraw();
    });
    this.heatmapPart.addEventListener('change', () => {
      this.state.heatmapPart = this.render?.parts.find((p) => String(p.label) === this.heatmapPart.value)?.name;
      this.save();
      this.redraw();
    });
    const bar = h('div', { class: 'colorbar', 'aria-hidden': 'true' });
    bar.style.backgroundImage = viridisCss();
    this.heatScale.append(h('span', {}, '0'), bar, h('span', {}, '1'));
    return h(
      'section',
      { class: 'panel', 'aria-labelledby': 'display-heading' },
      h('h2', { id: 'display-heading' }, 'Display'),
      h('fieldset', { class: 'modes' }, h('legend', { class: 'visually-hidden' }, 'Mode'), ...modes),
      h('div', { class: 'field' }, h('label', { for: 'heatmap-part' }, 'Heatmap of'), this.heatmapPart),
      this.heatScale,
      h('div', { class: 'field slider' }, h('label', { for: 'opacity' }, 'Opacity'), this.opacity, this.opacityValue),
    );
  }

  private applyStateToControls(): void {
    this.opacity.value = String(Math.round(this.state.opacity * 100));
    this.opacityValue.textContent = `${this.opacity.value}%`;
    for (const [m, input] of this.modeInputs) input.checked = m === this.state.mode;
    this.heatmapPart.disabled = this.state.mode !== 'heatmap';
    this.heatScale.classList.toggle('off', this.state.mode !== 'heatmap');
    this.singleButton.setAttribute('aria-pressed', String(this.state.view === 'single'));
    this.gridButton.setAttribute('aria-pressed', String(this.state.view === 'grid'));
  }

  private receive(m: HostMessage): void {
    switch (m.type) {
      case 'render':
        this.showRender(m.payload);
        break;
      case 'grid':
        this.showGrid(m.payload);
        break;
      case 'busy':
        document.body.classList.toggle('busy', m.busy);
        this.stage.setAttribute('aria-busy', String(m.busy));
        if (m.busy) this.status.textContent = m.message ?? 'Computing masks…';
        else this.showTiming();
        break;
      case 'error':
        this.errorBox.textContent = m.message;
        this.errorBox.hidden = false;
        document.body.classList.remove('busy');
        this.status.textContent = '';
        break;
    }
  }

  private showRender(p: RenderPayload): void {
    let labels;
    let probabilities;
    try {
      labels = decodeLabelMap(p.labelMap);
      probabilities = decodeProbabilities(p.probabilities);
    } catch (e) {
      this.receive({ type: 'error', message: `Malformed render from the extension: ${(e as Error).message}` });
      return;
    }
    this.render = p;
    this.errorBox.hidden = true;
    this.state.view = 'single';
    this.save();
    this.title.textContent = p.title ?? 'Part masks';
    this.title.title = p.title ?? '';
    this.heatmapPart.replaceChildren(...p.parts.map((part) => h('option', { value: part.label }, part.name)));
    this.heatmapPart.value = String(this.labelOf(p.parts, this.state.heatmapPart) ?? p.parts[0]?.label ?? 1);
    this.settings.show(p.settings);
    this.stage.replaceChildren(this.single.element);
    this.applyStateToControls();
    this.showLegend();
    this.showTiming();
    this.single
      .show({
        imageUri: p.imageUri,
        imageWidth: p.imageWidth,
        imageHeight: p.imageHeight,
        labels,
        probabilities,
        gridH: p.probabilities.gridH,
        gridW: p.probabilities.gridW,
        n: p.probabilities.n,
        parts: p.parts,
      })
      .finally(() => this.single.fit(this.stage))
      .catch((e: Error) => this.receive({ type: 'error', message: `${e.message}. The masks are drawn without it.` }));
  }

  private showGrid(p: GridPayload): void {
    this.grid = p;
    this.errorBox.hidden = true;
    this.state.view = 'grid';
    this.save();
    this.title.textContent = `${p.category}: grid`;
    this.settings.show(p.settings);
    this.stage.replaceChildren(this.gridView.element);
    this.applyStateToControls();
    this.gridView.show(p);
    this.showLegend();
    this.showTiming();
  }

  private switchView(view: ViewKind): void {
    if (view === 'grid') {
      // The host draws the sample; a grid already here is shown meanwhile.
      if (this.grid) this.showGrid(this.grid);
      this.host.postMessage({ type: 'requestGrid' });
    } else if (this.render) {
      this.showRender(this.render);
    } else {
      this.host.postMessage({ type: 'requestSingle' });
    }
  }

  private showTiming(): void {
    const t = this.state.view === 'grid' ? this.grid?.timing : this.render?.timing;
    this.status.textContent = t ? `masks in ${Math.round(t.ms)} ms` : '';
  }

  private parts(): PreviewPart[] {
    return (this.state.view === 'grid' ? this.grid?.parts : this.render?.parts) ?? [];
  }

  private colours(): Rgb[] {
    const c: Rgb[] = [];
    for (const p of this.parts()) c[p.label] = partColour(p);
    return c;
  }

  private hiddenLabels(): Set<number> {
    const names = new Set(this.state.hidden);
    return new Set(this.parts().filter((p) => names.has(p.name)).map((p) => p.label));
  }

  private style(): OverlayStyle {
    return { colours: this.colours(), hidden: this.hiddenLabels(), opacity: this.state.opacity, highlight: this.highlight };
  }

  private labelOf(parts: PreviewPart[] | undefined, name: string | undefined): number | undefined {
    return parts?.find((p) => p.name === name)?.label ?? parts?.[0]?.label;
  }

  private showLegend(): void {
    const figures = new Map<number, LegendFigures>();
    if (this.state.view === 'grid' && this.grid) {
      this.legend.setColumns('Found', 'Mean');
      const items = this.grid.items;
      for (const p of this.grid.parts) {
        const areas = items.map((it) => it.stats.find((s) => s.label === p.label)?.areaFraction ?? 0);
        const found = areas.filter((a) => a > 0).length;
        const mean = areas.reduce((a, b) => a + b, 0) / Math.max(1, areas.length);
        figures.set(p.label, { primary: `${found}/${items.length}`, secondary: pct(mean), warn: found < items.length });
      }
    } else if (this.render) {
      this.legend.setColumns('Area', 'Regions');
      for (const s of this.render.stats) {
        figures.set(s.label, { primary: pct(s.areaFraction), secondary: String(s.components), warn: s.pixels === 0 });
      }
    }
    this.legend.show(this.parts(), this.colours(), this.hiddenLabels(), figures);
    this.legend.highlight(this.highlight);
  }

  private setVisible(labels: number[], visible: boolean): void {
    const names = new Set(this.state.hidden);
    for (const l of labels) {
      const name = this.parts().find((p) => p.label === l)?.name;
      if (name === undefined) continue;
      if (visible) names.delete(name);
      else names.add(name);
    }
    this.state.hidden = [...names];
    this.save();
    if (labels.length > 1) this.showLegend();
    this.redraw();
  }

  private setMode(mode: DisplayMode): void {
    this.state.mode = mode;
    this.save();
    this.applyStateToControls();
    this.redraw();
  }

  private setHighlight(label: number): void {
    if (label === this.highlight) return;
    this.highlight = label;
    this.legend.highlight(label);
    this.redraw();
  }

  private redraw(): void {
    if (this.state.view === 'grid') this.gridView.redraw();
    else this.single.draw();
  }

  private save(): void {
    this.host.setState(this.state);
  }
}

new App(document.getElementById('app') ?? document.body);
