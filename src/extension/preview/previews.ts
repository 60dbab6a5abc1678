// All open mask previews: opening (one panel per image, reused), restoring them after a reload
// (WebviewPanelSerializer), re-rendering them when a project's text changes, and the CLIP model
// they use, resolved once per `pscl.clip.model` value (a Hub id is downloaded once, with progress).
import * as vscode from 'vscode';
import { DEMO_MODEL_SPEC } from '../../core/rpc/masks';
import { Requests } from '../../core/rpc/protocol';
import type { Services } from '../services';
import { PanelSet } from '../webviewPanel';
import { PREVIEW_VIEW_TYPE, PreviewPanel, restoredTarget, type PreviewTarget } from './panel';

export class Previews implements vscode.Disposable {
  private readonly panels = new PanelSet<PreviewPanel>((open) => void this.services.state.setOpenPreviews(open.map((p) => p.state)));
  private readonly disposables: vscode.Disposable[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private readonly pending = new Map<string, vscode.Uri>();
  private resolved?: { spec: string; dir: Promise<string> };

  constructor(private readonly services: Services) {
    this.disposables.push(
      services.projects.onDidChange((uris) => this.projectsChanged(uris)),
      services.config.onDidChange(() => (this.resolved = undefined)),
      vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => this.restore(panel),
      }),
    );
  }

  /** Opens (or reuses) the preview of one image. */
  open(target: PreviewTarget): PreviewPanel | undefined {
    if (!this.services.backend.get('The mask preview')) return undefined;
    const existing = this.panels.find((p) => p.state.image === target.image && p.state.project === target.project);
    if (existing) {
      existing.show({ ...existing.state, ...target, settings: existing.state.settings });
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(PREVIEW_VIEW_TYPE, 'Part masks', vscode.ViewColumn.Beside, { enableScripts: true });
    return this.adopt(panel, target);
  }

  private adopt(webviewPanel: vscode.WebviewPanel, target: PreviewTarget): PreviewPanel {
    return this.panels.add(new PreviewPanel(this.services, webviewPanel, target, () => this.model()));
  }

  /**
   * The model spec the backend gets: a resolved folder, or 'demo'. Resolved once per setting
   * value (the backend then only checks the folder); a failed resolution is tried again next time.
   */
  private model(): Promise<string> {
    const spec = this.services.config.clipModel;
    if (spec === '' || spec === DEMO_MODEL_SPEC) return Promise.resolve(DEMO_MODEL_SPEC);
    if (this.resolved?.spec !== spec) {
      const dir = this.resolve(spec);
      dir.catch(() => {
        if (this.resolved?.dir === dir) this.resolved = undefined;
      });
      this.resolved = { spec, dir };
    }
    return this.resolved.dir;
  }

  private async resolve(spec: string): Promise<string> {
    const backend = this.services.backend.get();
    if (!backend) throw new vscode.CancellationError();
    return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PSCL: CLIP model ${spec}`, cancellable: true }, async (progress, token) => {
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
    });
  }

  /** After a reload: the panels restored in the order they were saved. */
  private restore(panel: vscode.WebviewPanel): void {
    const taken = new Set(this.panels.all().map((p) => p.state.image));
    const saved = this.services.state.openPreviews.find((t) => !taken.has(t.image));
    if (!saved || !vscode.workspace.isTrusted) {
      panel.dispose();
      return;
    }
    this.adopt(panel, restoredTarget(saved));
  }

  /** Typing in a project file: one re-render per panel after the user pauses. */
  private projectsChanged(uris: vscode.Uri[]): void {
    if (this.panels.size === 0) return;
    for (const u of uris) this.pending.set(u.toString(), u);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const changed = [...this.pending.values()];
      this.pending.clear();
      for (const panel of this.panels.all()) for (const u of changed) panel.projectChanged(u);
      void this.services.state.setOpenPreviews(this.panels.all().map((p) => p.state));
    }, this.services.config.previewDelayMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.panels.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
