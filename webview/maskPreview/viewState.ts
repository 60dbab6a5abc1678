// What the page remembers while the panel is hidden (the kit's getState/setState): display
// choices only; the host owns the mask settings and sends them with every render.

export type DisplayMode = 'overlay' | 'heatmap';
export type ViewKind = 'single' | 'grid';

export interface ViewState {
  version: 1;
  /** Hidden parts by name (names survive a reordering of the parts). */
  hidden: string[];
  /** 0..1 */
  opacity: number;
  mode: DisplayMode;
  /** Part shown in heatmap mode, by name. */
  heatmapPart?: string;
  view: ViewKind;
  /** Part whose area is shown under each grid thumbnail, by name. */
  gridPart?: string;
}

export const DEFAULT_VIEW_STATE: ViewState = { version: 1, hidden: [], opacity: 0.55, mode: 'overlay', view: 'single' };

/** Whatever getState returns (it may be from an older page) -> a valid state. */
export function sanitizeViewState(raw: unknown): ViewState {
  const s = { ...DEFAULT_VIEW_STATE, hidden: [] as string[] };
  if (typeof raw !== 'object' || raw === null) return s;
  const r = raw as Record<string, unknown>;
  if (Array.isArray(r.hidden)) s.hidden = r.hidden.filter((x): x is string => typeof x === 'string');
  if (typeof r.opacity === 'number' && r.opacity >= 0 && r.opacity <= 1) s.opacity = r.opacity;
  if (r.mode === 'overlay' || r.mode === 'heatmap') s.mode = r.mode;
  if (typeof r.heatmapPart === 'string') s.heatmapPart = r.heatmapPart;
  if (r.view === 'single' || r.view === 'grid') s.view = r.view;
  if (typeof r.gridPart === 'string') s.gridPart = r.gridPart;
  return s;
}
