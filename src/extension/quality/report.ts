// The Prompt Report panel (webview/promptReport): one per project file, fed by PromptScores; it
// follows every new score (a save of the file scores it again in the background), can score again
// or cancel, and reveals a part in the project file.
import path from 'node:path';
import * as vscode from 'vscode';
import { isPromptReportMessage, type PromptReportFromWebview, type PromptReportToWebview } from '../../core/quality/reportProtocol';
import { rangeOf } from '../../core/taxonomy/project';
import type { Services } from '../services';
import { PagePanel, PanelSet } from '../webviewPanel';
import type { PromptScores } from './scores';

export const PROMPT_REPORT_VIEW_TYPE = 'pscl.promptReport';

class PromptReportPanel extends PagePanel<PromptReportFromWebview, PromptReportToWebview> {
  constructor(
    panel: vscode.WebviewPanel,
    private readonly services: Services,
    private readonly scores: PromptScores,
    readonly uri: vscode.Uri,
  ) {
    super(panel, { extensionUri: services.extension.extensionUri, page: 'promptReport', title: `Prompts: ${path.basename(uri.fsPath)}`, accepts: isPromptReportMessage, log: services.log });
    this.disposables.push(scores.onDidChange((key) => key === uri.toString() && this.send()));
  }

  private send(): void {
    const scored = this.scores.get(this.uri.toString());
    const project = this.services.projects.snapshot(this.uri)?.parsed.project;
    if (scored) this.post({ type: 'scores', project: { name: project?.name ?? path.basename(this.uri.fsPath), file: this.uri.fsPath }, result: scored.result, at: scored.at.toISOString() });
    this.post({ type: 'running', state: this.scores.running(this.uri.toString()) ?? null });
  }

  /** Scores the project (building its cache when it must), reporting a failure in the page. */
  async compute(): Promise<void> {
    try {
      await this.scores.score(this.uri, { build: 'auto' });
    } catch (err) {
      this.post({ type: 'error', message: (err as Error).message });
    }
  }

  protected async handle(m: PromptReportFromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.send();
        if (!this.scores.get(this.uri.toString()) && !this.scores.running(this.uri.toString())) await this.compute();
        return;
      case 'rescore':
        return this.compute();
      case 'cancel':
        return this.scores.cancel();
      case 'revealPart': {
        const snapshot = this.services.projects.snapshot(this.uri);
        const i = snapshot?.parsed.project?.parts[m.coarse]?.findIndex((p) => p.name === m.part) ?? -1;
        if (!snapshot || i < 0) return;
        const r = rangeOf(snapshot.parsed, ['parts', m.coarse, i, 'name']);
        const doc = await vscode.workspace.openTextDocument(this.uri);
        await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, selection: new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character) });
        return;
      }
    }
  }
}

export class PromptReports implements vscode.Disposable {
  private readonly panels = new PanelSet<PromptReportPanel>(() => {});

  constructor(
    private readonly services: Services,
    private readonly scores: PromptScores,
  ) {}

  /** Opens (or reveals) the report of a project file; it scores the project when it has no scores yet. */
  open(uri: vscode.Uri): void {
    const existing = this.panels.find((p) => p.uri.toString() === uri.toString());
    if (existing) return existing.panel.reveal();
    const panel = vscode.window.createWebviewPanel(PROMPT_REPORT_VIEW_TYPE, `Prompts: ${path.basename(uri.fsPath)}`, { viewColumn: vscode.ViewColumn.Active }, { enableScripts: true, retainContextWhenHidden: true });
    this.panels.add(new PromptReportPanel(panel, this.services, this.scores, uri));
  }

  dispose(): void {
    this.panels.dispose();
  }
}
