// All open mask previews: opening (one panel per image, reused), restoring them after a
// reload (WebviewPanelSerializer), and re-rendering them when a project's text changes.
import * as vscode from 'vscode';
import type { Ctx } from '../ctx';
import { PREVIEW_VIEW_TYPE, PreviewPanel, type PreviewTarget } from './panel';

const RESTORE_KEY = 'pscl.preview.open';

export class Previews implements vscode.Disposable {
  private readonly panels = new Set<PreviewPanel>();
  private readonly disposables: vscode.Disposable[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private readonly pending = new Map<string, vscode.Uri>();

  constructor(private readonly ctx: Ctx) {
    this.disposables.push(
      ctx.projects.onDidChange((uris) => this.projectsChanged(uris)),
      vscode.window.registerWebviewPanelSerializer(PREVIEW_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => this.restore(panel),
      }),
    );
  }

  /** Opens (or reuses) the preview of one image. */
  open(target: PreviewTarget): PreviewPanel | undefined {
    if (!this.ctx.backend.get('The mask preview')) return undefined;
    const existing = [...this.panels].find((p) => p.state.image === target.image && p.state.project === target.project);
    if (existing) {
      existing.show({ ...existing.state, ...target, settings: existing.state.settings });
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(PREVIEW_VIEW_TYPE, 'Part masks', vscode.ViewColumn.Beside, { enableScripts: true });
    return this.adopt(panel, target);
  }

  private adopt(webviewPanel: vscode.WebviewPanel, target: PreviewTarget): PreviewPanel {
    const panel = new PreviewPanel(this.ctx, webviewPanel, target);
    this.panels.add(panel);
    panel.onDidDispose(() => {
      this.panels.delete(panel);
      this.remember();
    });
    this.remember();
    return panel;
  }

  /** After a reload: the panels restored in the order they were saved. */
  private restore(panel: vscode.WebviewPanel): void {
    const saved = this.ctx.extension.workspaceState.get<PreviewTarget[]>(RESTORE_KEY, []);
    const taken = new Set([...this.panels].map((p) => p.state.image));
    const target = saved.find((t) => !taken.has(t.image));
    if (!target || !vscode.workspace.isTrusted) {
      panel.dispose();
      return;
    }
    this.adopt(panel, target);
  }

  private remember(): void {
    void this.ctx.extension.workspaceState.update(RESTORE_KEY, [...this.panels].map((p) => p.state));
  }

  /** Typing in a project file: one re-render per panel after the user pauses. */
  private projectsChanged(uris: vscode.Uri[]): void {
    if (this.panels.size === 0) return;
    for (const u of uris) this.pending.set(u.toString(), u);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const changed = [...this.pending.values()];
      this.pending.clear();
      for (const panel of this.panels) for (const u of changed) panel.projectChanged(u);
      this.remember();
    }, this.ctx.config.previewDelayMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    for (const p of [...this.panels]) p.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
