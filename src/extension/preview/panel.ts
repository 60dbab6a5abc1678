// One mask-preview panel: owns its target (project file, image, coarse category) and settings,
// asks the backend for masks (cancelling a superseded request), posts them to the page, and
// re-renders when the project's text changes (typing included: ProjectStore debounces it).
import path from 'node:path';
import * as vscode from 'vscode';
import { exportPartMasks } from '../../core/masks/export';
import { isPreviewSettings, previewSettingsFrom, type PreviewSettings } from '../../core/masks/settings';
import { decodeLabelMap, isPageMessage, type HostMessage, type PageMessage } from '../../core/masks/wire';
import { MaskRequests, type MasksComputeResult } from '../../core/rpc/masks';
import type { Services } from '../services';
import type { SavedPreview } from '../state';
import { PagePanel } from '../webviewPanel';

export const PREVIEW_VIEW_TYPE = 'pscl.maskPreview';
export const IMAGE_FILTERS = { Images: ['jpg', 'jpeg', 'png', 'webp'] };

/** What a panel shows; also what is kept to restore it after a reload. */
export interface PreviewTarget extends SavedPreview {
  settings?: PreviewSettings;
}

/** A saved target from an earlier session, its settings checked (they may be from an older version). */
export function restoredTarget(saved: SavedPreview): PreviewTarget {
  return { ...saved, settings: isPreviewSettings(saved.settings) ? saved.settings : undefined };
}

export function defaultSettings(services: Services): PreviewSettings {
  return previewSettingsFrom(services.config.previewDefaults);
}

export class PreviewPanel extends PagePanel<PageMessage, HostMessage> {
  private settings: PreviewSettings;
  private inflight?: vscode.CancellationTokenSource;
  private last?: MasksComputeResult;
  private view: 'single' | 'grid' = 'single';
  /** The images of the grid last posted: the only ones an `openGridItem` message may name. */
  private offered = new Set<string>();

  constructor(
    private readonly services: Services,
    panel: vscode.WebviewPanel,
    private target: PreviewTarget,
    /** The model the backend gets: resolved once per setting by the owner (Previews). */
    private readonly model: () => Promise<string>,
  ) {
    super(panel, {
      extensionUri: services.extension.extensionUri,
      page: 'maskPreview',
      title: `Part masks: ${path.basename(target.image)}`,
      roots: [vscode.Uri.file(path.dirname(target.image))],
      accepts: isPageMessage,
      log: services.log,
    });
    this.settings = target.settings ?? defaultSettings(services);
  }

  get state(): PreviewTarget {
    return { ...this.target, settings: this.settings };
  }

  /** Shows another image (or project) in this panel. */
  show(target: PreviewTarget): void {
    this.target = { ...target, settings: this.settings };
    this.view = 'single';
    this.updateTitle();
    this.panel.reveal();
    void this.render();
  }

  /** The project's text changed (typing or saving): draw again with the new prompts. */
  projectChanged(uri: vscode.Uri): void {
    if (uri.toString() === this.target.project) void (this.view === 'grid' ? this.renderGrid() : this.render());
  }

  private updateTitle(): void {
    this.panel.title = `Part masks: ${path.basename(this.target.image)}`;
  }

  protected async handle(m: PageMessage): Promise<void> {
    switch (m.type) {
      case 'ready':
        return this.view === 'grid' ? this.renderGrid() : this.render();
      case 'settingsChanged':
        this.settings = m.settings;
        return this.view === 'grid' ? this.renderGrid() : this.render();
      case 'exportMasks':
        return this.exportMasks();
      case 'openImage': {
        const picked = await vscode.window.showOpenDialog({ canSelectMany: false, filters: IMAGE_FILTERS, title: 'Image to preview', defaultUri: vscode.Uri.file(path.dirname(this.target.image)) });
        if (picked?.[0]) this.show({ ...this.target, image: picked[0].fsPath });
        return;
      }
      case 'requestGrid':
        this.view = 'grid';
        return this.renderGrid();
      case 'requestSingle':
        this.view = 'single';
        return this.render();
      case 'openGridItem':
        // The page is not trusted to name files: only an image this panel offered it may be opened.
        if (!this.offered.has(m.key)) {
          this.services.log.warn(`mask preview: ignored a request to open ${JSON.stringify(m.key.slice(0, 200))}, which is not an image of the grid`);
          return;
        }
        this.show({ ...this.target, image: m.key });
        return;
    }
  }

  /** The project's current text, unsaved edits included. */
  private projectText(): { file: string; text?: string } {
    const uri = vscode.Uri.parse(this.target.project);
    return { file: uri.fsPath, text: this.services.projects.snapshot(uri)?.parsed.text };
  }

  /** Starts a request, cancelling the one before it (a slider moved again, a key typed). */
  private async run<T>(what: string, work: (token: vscode.CancellationToken, model: string) => Promise<T>): Promise<T | undefined> {
    this.inflight?.cancel();
    const source = (this.inflight = new vscode.CancellationTokenSource());
    this.post({ type: 'busy', busy: true, message: what });
    try {
      const model = await this.model();
      const backend = this.services.backend.get();
      if (!backend) throw new vscode.CancellationError();
      const first = !backend.info;
      const result = await (first
        ? vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'PSCL: loading the CLIP model' }, () => work(source.token, model))
        : work(source.token, model));
      return source.token.isCancellationRequested ? undefined : result;
    } catch (err) {
      if (source.token.isCancellationRequested || err instanceof vscode.CancellationError) return undefined;
      const message = err instanceof Error ? err.message : String(err);
      this.services.log.warn(`mask preview: ${message}`);
      this.post({ type: 'error', message });
      return undefined;
    } finally {
      if (this.inflight === source) {
        this.inflight = undefined;
        this.post({ type: 'busy', busy: false });
      }
      source.dispose();
    }
  }

  async render(): Promise<void> {
    const { file, text } = this.projectText();
    const r = await this.run('computing part masks', (token, model) =>
      this.services.backend.get()!.request(
        MaskRequests.compute,
        { model, device: this.services.config.clipDevice, projectFile: file, projectText: text, coarse: this.target.coarse, image: this.target.image, settings: this.settings },
        { token },
      ),
    );
    if (!r) return;
    this.last = r;
    this.target.coarse ??= r.coarse;
    this.post({
      type: 'render',
      payload: {
        imageUri: r.image.dataUri,
        imageWidth: r.image.width,
        imageHeight: r.image.height,
        title: `${path.basename(this.target.image)} · ${r.coarse} · ${path.basename(file)}`,
        labelMap: r.labelMap,
        probabilities: r.probabilities,
        parts: r.parts,
        stats: r.stats,
        settings: this.settings,
        timing: { ms: r.timing.ms, features: r.timing.features, text: r.timing.text, masks: r.timing.masks },
        modelId: r.modelId,
      },
    });
  }

  async renderGrid(): Promise<void> {
    const { file, text } = this.projectText();
    const r = await this.run('computing the grid', (token, model) =>
      this.services.backend.get()!.request(
        MaskRequests.grid,
        { model, device: this.services.config.clipDevice, projectFile: file, projectText: text, coarse: this.target.coarse, settings: this.settings },
        { token },
      ),
    );
    if (r) this.offered = new Set(r.items.map((i) => i.key));
    if (r) this.post({ type: 'grid', payload: { category: r.coarse, items: r.items, parts: r.parts, settings: this.settings, timing: r.timing } });
  }

  private async exportMasks(): Promise<void> {
    const r = this.last;
    if (!r) return void vscode.window.showInformationMessage('No masks to export yet.');
    const base = path.basename(this.target.image).replace(/\.[^.]+$/, '');
    const where = await vscode.window.showSaveDialog({
      title: 'Export part masks (label map PNG + JSON legend)',
      defaultUri: vscode.Uri.file(path.join(path.dirname(this.projectText().file), `${base}.labels.png`)),
      filters: { 'Label map': ['png'] },
    });
    if (!where) return;
    const labels = decodeLabelMap(r.labelMap);
    const written = await exportPartMasks({
      dir: path.dirname(where.fsPath),
      base: path.basename(where.fsPath).replace(/(\.labels)?\.png$/i, ''),
      labels,
      parts: r.parts,
      stats: r.stats,
      settings: { ...this.settings, coarse: r.coarse },
      modelId: r.modelId,
      image: this.target.image,
    }).catch((err: Error) => {
      void vscode.window.showErrorMessage(`Export failed: ${err.message}`);
      return undefined;
    });
    if (written) void vscode.window.showInformationMessage(`Exported ${path.basename(written.labelMap)} and ${path.basename(written.legend)}.`);
  }

  override dispose(): void {
    this.inflight?.cancel();
    super.dispose();
  }
}
