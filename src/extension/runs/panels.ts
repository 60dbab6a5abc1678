// The dashboard and evaluation report panels of runs: one panel per run and kind, reused; fed by
// the core (DashboardFeed polls events.jsonl and train.log; readEvaluation + galleryFiles); and
// restored after a reload by WebviewPanelSerializers from the run folder they showed.
import path from 'node:path';
import * as vscode from 'vscode';
import {
  DashboardFeed,
  galleryFiles,
  honourDecisions,
  readEvaluation,
  type DashboardFromWebview,
  type DashboardState,
  type DashboardToWebview,
  type EvalFromWebview,
  type EvalToWebview,
} from '../../core/runs';
import type { Services } from '../services';
import type { SavedRunPanel } from '../state';
import { PagePanel, PanelSet } from '../webviewPanel';

export const DASHBOARD_VIEW_TYPE = 'pscl.dashboard';
export const EVAL_VIEW_TYPE = 'pscl.evalReport';
const POLL_MS = 1000;

type Kind = SavedRunPanel['kind'];

/** What a panel asks its owner to do (Stop / Resume / Open Evaluation from the dashboard). */
export interface PanelActions {
  stop(runDir: string): unknown;
  resume(runDir: string): unknown;
  canStop(runDir: string): boolean;
}

const hasType = (m: unknown): m is { type: string } => !!m && typeof m === 'object' && typeof (m as { type?: unknown }).type === 'string';

abstract class RunPanel<In extends { type: string }, Out> extends PagePanel<In, Out> {
  constructor(
    services: Services,
    panel: vscode.WebviewPanel,
    readonly runDir: string,
    readonly kind: Kind,
    extraRoots: string[],
  ) {
    const name = path.basename(runDir);
    super(panel, {
      extensionUri: services.extension.extensionUri,
      page: kind === 'dashboard' ? 'dashboard' : 'evalReport',
      title: kind === 'dashboard' ? `Training: ${name}` : `Evaluation: ${name}`,
      roots: [runDir, ...extraRoots].map((r) => vscode.Uri.file(r)),
      accepts: hasType as (m: unknown) => m is In,
      log: services.log,
    });
  }
}

class DashboardPanel extends RunPanel<DashboardFromWebview, DashboardToWebview> {
  private readonly feed: DashboardFeed;
  private timer?: ReturnType<typeof setInterval>;
  private polling = false;
  private ready = false;

  constructor(services: Services, panel: vscode.WebviewPanel, runDir: string, private readonly actions: PanelActions) {
    super(services, panel, runDir, 'dashboard', []);
    this.feed = new DashboardFeed(runDir, { canStop: (run) => run.status.status === 'running' && (actions.canStop(runDir) || run.lock.state === 'alive') });
    this.timer = setInterval(() => void this.poll(), POLL_MS);
  }

  /** Appended events and log lines; nothing while hidden (the snapshot on `ready` catches up). */
  private async poll(): Promise<void> {
    if (!this.ready || this.polling || !this.panel.visible) return;
    this.polling = true;
    try {
      for (const m of await this.feed.poll()) this.post(m);
    } finally {
      this.polling = false;
    }
  }

  protected async handle(m: DashboardFromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        // also after the panel was hidden and shown again: the page starts over from a snapshot
        this.ready = true;
        this.post(await this.feed.snapshot());
        return;
      case 'stop':
        await this.actions.stop(this.runDir);
        return;
      case 'resume':
        await this.actions.resume(this.runDir);
        return;
      case 'openEvaluation':
        await vscode.commands.executeCommand('pscl.runs.openEvaluation', this.runDir);
        return;
      case 'openLog':
        await vscode.window.showTextDocument(vscode.Uri.file(path.join(this.runDir, 'train.log')), { viewColumn: vscode.ViewColumn.Beside });
        return;
    }
  }

  override dispose(): void {
    clearInterval(this.timer);
    super.dispose();
  }
}

class EvalPanel extends RunPanel<EvalFromWebview, EvalToWebview> {
  static async create(services: Services, panel: vscode.WebviewPanel, runDir: string): Promise<EvalPanel> {
    // the gallery's folders must be known before the HTML loads (localResourceRoots)
    const evaluation = await readEvaluation(runDir).catch((err: Error) => err);
    const gallery = evaluation instanceof Error ? { roots: [], files: {} } : await galleryFiles(runDir, evaluation.report);
    // images the project excluded or relabelled since the evaluation: as the project sees them now
    const decided = evaluation instanceof Error ? evaluation : { ...evaluation, report: honourDecisions(evaluation.report, 'decisions' in gallery ? gallery.decisions : undefined) };
    return new EvalPanel(services, panel, runDir, gallery.roots, decided, gallery.files);
  }

  private constructor(
    services: Services,
    panel: vscode.WebviewPanel,
    runDir: string,
    roots: string[],
    private readonly evaluation: Awaited<ReturnType<typeof readEvaluation>> | Error,
    private readonly files: Awaited<ReturnType<typeof galleryFiles>>['files'],
  ) {
    super(services, panel, runDir, 'eval', roots);
  }

  protected async handle(m: EvalFromWebview): Promise<void> {
    if (m.type === 'ready') {
      const e = this.evaluation;
      let msg: EvalToWebview;
      if (e instanceof Error) msg = { type: 'error', message: e.message };
      else {
        const uri = (f?: string) => (f ? this.panel.webview.asWebviewUri(vscode.Uri.file(f)).toString() : undefined);
        const images = Object.fromEntries(Object.entries(this.files).map(([k, f]) => [k, { image: uri(f.image), mask: uri(f.mask), parts: f.parts }]));
        msg = { type: 'report', run: { name: path.basename(this.runDir), dir: this.runDir }, report: e.report, taxonomy: e.taxonomy, images };
      }
      this.post(msg);
    } else if (m.type === 'openImage') {
      const f = this.files[m.key]?.image;
      if (f) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(f), { viewColumn: vscode.ViewColumn.Beside });
    }
  }
}

export class RunPanels implements vscode.Disposable {
  private readonly panels = new PanelSet<DashboardPanel | EvalPanel>((open) => void this.services.state.setOpenRunPanels(open.map((p) => ({ kind: p.kind, runDir: p.runDir }))));
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly services: Services,
    private readonly actions: PanelActions,
  ) {
    this.disposables.push(
      vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: DashboardState | undefined) => this.restore(panel, 'dashboard', state?.runDir),
      }),
      vscode.window.registerWebviewPanelSerializer(EVAL_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => this.restore(panel, 'eval'),
      }),
    );
  }

  async openDashboard(runDir: string): Promise<void> {
    await this.open(runDir, 'dashboard');
  }

  async openEvaluation(runDir: string): Promise<void> {
    await this.open(runDir, 'eval');
  }

  private async open(runDir: string, kind: Kind): Promise<void> {
    const existing = this.panels.find((p) => p.runDir === runDir && p.kind === kind);
    if (existing && kind === 'dashboard') return existing.panel.reveal();
    existing?.dispose(); // an evaluation may have been redone: read it again
    const type = kind === 'dashboard' ? DASHBOARD_VIEW_TYPE : EVAL_VIEW_TYPE;
    const panel = vscode.window.createWebviewPanel(type, path.basename(runDir), { viewColumn: vscode.ViewColumn.Active }, { enableScripts: true, retainContextWhenHidden: false });
    await this.adopt(panel, kind, runDir);
  }

  private async adopt(panel: vscode.WebviewPanel, kind: Kind, runDir: string): Promise<void> {
    this.panels.add(kind === 'dashboard' ? new DashboardPanel(this.services, panel, runDir, this.actions) : await EvalPanel.create(this.services, panel, runDir));
  }

  /** After a reload: the run from the page's state (dashboard) or the list saved here. */
  private async restore(panel: vscode.WebviewPanel, kind: Kind, fromState?: string): Promise<void> {
    const taken = new Set(this.panels.all().filter((p) => p.kind === kind).map((p) => p.runDir));
    const runDir = fromState ?? this.services.state.openRunPanels.find((s) => s.kind === kind && !taken.has(s.runDir))?.runDir;
    if (!runDir) return panel.dispose();
    await this.adopt(panel, kind, runDir);
  }

  dispose(): void {
    this.panels.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
