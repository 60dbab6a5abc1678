// The parts legend: a keyboard-accessible on/off toggle, colour swatch, name and figures per
// part. Hovering or focusing a row highlights its part on the canvas.
import type { Rgb } from '../../src/core/masks/palette';
import type { PreviewPart } from '../../src/core/masks/wire';
import { h } from '../kit/dom';

export interface LegendCallbacks {
  toggle(label: number, visible: boolean): void;
  hover(label: number): void;
  setAll(visible: boolean): void;
}

export interface LegendFigures {
  /** Main figure, e.g. the area share. */
  primary: string;
  /** Secondary figure, e.g. the number of regions. */
  secondary: string;
  /** Marks a part that looks wrong (missing, or missing in some grid images). */
  warn?: boolean;
}

export class Legend {
  readonly element: HTMLElement;
  private readonly list: HTMLUListElement;
  private readonly header: HTMLElement;
  private rows = new Map<number, HTMLLIElement>();

  constructor(private readonly cb: LegendCallbacks) {
    this.list = h('ul', { class: 'legend', id: 'legend', 'aria-label': 'Parts' });
    this.header = h('div', { class: 'legend-head', 'aria-hidden': 'true' }, h('span', {}, 'Part'), h('span', {}, 'Area'), h('span', {}, 'Regions'));
    const showAll = h('button', { type: 'button', class: 'link', id: 'show-all' }, 'Show all');
    const hideAll = h('button', { type: 'button', class: 'link', id: 'hide-all' }, 'Hide all');
    showAll.addEventListener('click', () => cb.setAll(true));
    hideAll.addEventListener('click', () => cb.setAll(false));
    this.element = h(
      'section',
      { class: 'panel', 'aria-labelledby': 'legend-heading' },
      h('div', { class: 'panel-title' }, h('h2', { id: 'legend-heading' }, 'Parts'), h('span', { class: 'actions' }, showAll, hideAll)),
      this.header,
      this.list,
    );
    this.list.addEventListener('mouseleave', () => cb.hover(0));
  }

  setColumns(primary: string, secondary: string): void {
    this.header.replaceChildren(h('span', {}, 'Part'), h('span', {}, primary), h('span', {}, secondary));
  }

  show(parts: PreviewPart[], colours: Rgb[], hidden: ReadonlySet<number>, figures: Map<number, LegendFigures>): void {
    this.rows.clear();
    this.list.replaceChildren(
      ...parts.map((p) => {
        const f = figures.get(p.label) ?? { primary: '–', secondary: '–' };
        const input = h('input', { type: 'checkbox', id: `part-${p.label}`, 'data-label': p.label });
        input.checked = !hidden.has(p.label);
        input.addEventListener('change', () => this.cb.toggle(p.label, input.checked));
        // Space toggles a checkbox natively; Enter does too here, as on the other toggles.
        input.addEventListener('keydown', (e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            input.click();
          }
        });
        const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
        const c = colours[p.label] ?? [255, 255, 255];
        swatch.style.backgroundColor = `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
        const row = h(
          'li',
          { class: f.warn ? 'part warn' : 'part', 'data-label': p.label, title: `Prompts: ${p.prompts.join(' · ')}` },
          h('label', { for: `part-${p.label}`, class: 'part-name' }, input, swatch, h('span', { class: 'name' }, p.name)),
          h('span', { class: 'fig' }, f.primary),
          h('span', { class: 'fig dim' }, f.secondary),
        );
        row.addEventListener('mouseenter', () => this.cb.hover(p.label));
        input.addEventListener('focus', () => this.cb.hover(p.label));
        input.addEventListener('blur', () => this.cb.hover(0));
        this.rows.set(p.label, row);
        return row;
      }),
    );
  }

  /** Marks the row of the highlighted part (0: none). */
  highlight(label: number): void {
    for (const [l, row] of this.rows) row.classList.toggle('is-hovered', l === label);
  }
}
