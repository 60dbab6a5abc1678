// One mask-preview panel: owns its target (project file, image, coarse category) and settings,
// asks the backend for masks (cancelling a superseded request), posts them to the page, and
// re-renders when the project's text changes (typing included: ProjectStore debounces it).
import path from 'node:path';
import * as vscode from 'vscode';
import { exportPartMasks } from '../../core/masks/export';
import {
  decodeLabelMap,
  DEFAULT_PREVIEW_SETTINGS,
  isPageMessage,
  PREVIEW_VARIANTS,
  presetSwitches,
  type HostMessage,
  type PageMessage,
  type PreviewSettings,
  type PreviewVariant,
} from '../../core/masks/previewProtocol';
import { makeNonce, previewHtml } from '../../core/masks/previewHtml';
import { DEMO_MODEL_SPEC, MaskRequests, type MasksComputeResult } from '../../core/rpc/masks';
import { Requests } from '../../core/rpc/protocol';
import type { Ctx } from '../ctx';

export const PREVIEW_VIEW_TYPE = 'pscl.maskPreview';
export const IMAGE_FILTERS = { Images: ['jpg', 'jpeg', 'png', 'webp'] };

/** What a panel shows; also what is kept to restore it after a reload. */
export interface PreviewTarget {
  /** The project file's URI (string). */
  project: string;
  /** Absolute image path. */
  image: string;
  coarse?: string;
  settings?: PreviewSettings;
}

export function defaultSettings(ctx: Ctx): PreviewSettings {
  const d = ctx.config.previewDefaults;
  const variant = (PREVIEW_VARIANTS as readonly string[]).includes(d.variant) ? (d.variant as PreviewVariant) : 'clearclip';
  const kernel = Number.isInteger(d.kernel) && d.kernel >= 1 && d.kernel % 2 === 1 ? d.kernel : 3;
  return {
    ...DEFAULT_PREVIEW_SETTINGS,
    variant,
    switches: presetSwitches(variant) ?? DEFAULT_PREVIEW_SETTINGS.switches,
    kernel,
    size: d.size >= 32 && d.size <= 2048 ? d.size : 448,
    threshold: d.threshold >= 0 && d.threshold <= 1 ? d.threshold : 0,
  };
}

/** The model spec the backend gets: a resolved folder, or 'demo'. Hub ids download once, with progress. */
async function resolvedModel(ctx: Ctx): Promise<string> {
  const spec = ctx.config.clipModel;
  if (spec === '' || spec === DEMO_MODEL_SPEC) return DEMO_MODEL_SPEC;
  const backend = ctx.backend.get();
  if (!backend) throw new vscode.CancellationError();
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `PSCL: CLIP model ${spec}`, cancellable: true },
    async (progress, token) => {
      let last = 0;
      const r = await backend.request(Requests.modelResolve, { model: spec }, {
        token,
        onProgress: (p) => {
          const pct = p.total ? (100 * p.done) / p.total : 0;
          progress.report({ message: p.message, increment: Math.max(0, pct - last) });
          last = Math.max(last, pct);
        },
      });
      return r.dir;
    },
  );
}

export class PreviewPanel implements vscode.Disposable {
  private settings: PreviewSettings;
  private inflight?: vscode.CancellationTokenSource;
  private last?: MasksComputeResult;
  private view: 'single' | 'grid' = 'single';
  /** The images of the grid last posted: the only ones an `openGridItem` message may name. */
  private offered = new Set<string>();
  private readonly disposables: vscode.Disposable[] = [];
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;

  constructor(
    private readonly ctx: Ctx,
    readonly panel: vscode.WebviewPanel,
    private target: PreviewTarget,
  ) {
    this.settings = target.settings ?? defaultSettings(ctx);
    const ext = ctx.extension.extensionUri;
    panel.webview.options = { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(ext, 'dist', 'webview'), vscode.Uri.file(path.dirname(target.image))] };
    panel.iconPath = vscode.Uri.joinPath(ext, 'media', 'pscl.svg');
    const asUri = (p: string) => panel.webview.asWebviewUri(vscode.Uri.joinPath(ext, p)).toString();
    panel.webview.html = previewHtml({
      cspSource: panel.webview.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri('dist/webview/maskPreview.js'),
      styleUri: asUri('dist/webview/maskPreview.css'),
      title: this.title(),
    });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (isPageMessage(m)) void this.handle(m);
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    this.updateTitle();
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

  private title(): string {
    return `Part masks: ${path.basename(this.target.image)}`;
  }

  private updateTitle(): void {
    this.panel.title = this.title();
  }

  private post(m: HostMessage): void {
    void this.panel.webview.postMessage(m);
  }

  private async handle(m: PageMessage): Promise<void> {
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
          this.ctx.log.warn(`mask preview: ignored a request to open ${JSON.stringify(m.key.slice(0, 200))}, which is not an image of the grid`);
          return;
        }
        this.show({ ...this.target, image: m.key });
        return;
    }
  }

  /** The project's current text, unsaved edits included. */
  private projectText(): { file: string; text?: string } {
    const uri = vscode.Uri.parse(this.target.project);
    return { file: uri.fsPath, text: this.ctx.projects.snapshot(uri)?.parsed.text };
  }

  /** Starts a request, cancelling the one before it (a slider moved again, a key typed). */
  private async run<T>(what: string, work: (token: vscode.CancellationToken, model: string) => Promise<T>): Promise<T | undefined> {
    this.inflight?.cancel();
    const source = (this.inflight = new vscode.CancellationTokenSource());
    this.post({ type: 'busy', busy: true, message: what });
    try {
      const model = await resolvedModel(this.ctx);
      const backend = this.ctx.backend.get();
      if (!backend) throw new vscode.CancellationError();
      const first = !backend.info;
      const result = await (first
        ? vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'PSCL: loading the CLIP model' }, () => work(source.token, model))
        : work(source.token, model));
      return source.token.isCancellationRequested ? undefined : result;
    } catch (err) {
      if (source.token.isCancellationRequested || err instanceof vscode.CancellationError) return undefined;
      const message = err instanceof Error ? err.message : String(err);
      this.ctx.log.warn(`mask preview: ${message}`);
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
      this.ctx.backend.get()!.request(
        MaskRequests.compute,
        { model, device: this.ctx.config.clipDevice, projectFile: file, projectText: text, coarse: this.target.coarse, image: this.target.image, settings: this.settings },
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
      this.ctx.backend.get()!.request(
        MaskRequests.grid,
        { model, device: this.ctx.config.clipDevice, projectFile: file, projectText: text, coarse: this.target.coarse, settings: this.settings },
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

  dispose(): void {
    this.inflight?.cancel();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.disposed.fire();
    this.disposed.dispose();
  }
}
