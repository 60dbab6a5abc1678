// Prompt scores of the workspace's project files, computed in the backend (quality/score): on
// save (when the project's training cache exists: a save never starts a cache build), from
// PSCL: Score Prompts and from the Prompt Report (which builds the cache when it must). One run
// per file at a time: a new one cancels the one before. A status bar item shows the progress;
// clicking it cancels. The views, Problems and the report listen to `onDidChange`.
import * as vscode from 'vscode';
import { QualityRequests, type QualityScoreResult } from '../../core/rpc/quality';
import type { Services } from '../services';
import { isProjectUri } from '../project/store';
import { lowHitRateDiagnostics } from './model';
import { toVscodeDiagnostic } from '../project/diagnostics';

export interface ScoredProject {
  result: QualityScoreResult;
  /** When the scores were computed. */
  at: Date;
}

export interface RunState {
  message: string;
  fraction?: number;
}

export class PromptScores implements vscode.Disposable {
  private readonly scores = new Map<string, ScoredProject>();
  private readonly runs = new Map<string, { controller: AbortController; state: RunState }>();
  private readonly changed = new vscode.EventEmitter<string>();
  /** Fires with the project file's key when its scores (or its run's state) changed. */
  readonly onDidChange = this.changed.event;
  private readonly status = vscode.window.createStatusBarItem('pscl.quality', vscode.StatusBarAlignment.Left, 40);
  private readonly problems = vscode.languages.createDiagnosticCollection('pscl-quality');
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly services: Services) {
    this.status.name = 'PSCL prompt scores';
    this.disposables.push(
      this.changed,
      this.status,
      this.problems,
      vscode.workspace.onDidSaveTextDocument((doc) => {
        if (isProjectUri(doc.uri) && services.config.qualityScoreOnSave && vscode.workspace.isTrusted) void this.score(doc.uri, { build: 'never', quiet: true });
      }),
      services.projects.onDidChange((uris) => uris.forEach((u) => this.updateProblems(u.toString()))),
      services.config.onDidChange(() => [...this.scores.keys()].forEach((k) => this.updateProblems(k))),
    );
  }

  get(key: string): ScoredProject | undefined {
    return this.scores.get(key);
  }

  running(key: string): RunState | undefined {
    return this.runs.get(key)?.state;
  }

  /**
   * Scores a project file as saved. `build: 'auto'` builds the training cache first when it
   * cannot serve the scores; `quiet` (on save) only logs failures instead of showing them.
   */
  async score(uri: vscode.Uri, o: { build: 'auto' | 'never'; quiet?: boolean; token?: vscode.CancellationToken; onProgress?: (s: RunState) => void }): Promise<ScoredProject | undefined> {
    const key = uri.toString();
    const backend = o.quiet && !vscode.workspace.isTrusted ? undefined : this.services.backend.get('Scoring prompts');
    if (!backend) return undefined;
    this.runs.get(key)?.controller.abort();
    const controller = new AbortController();
    const run = { controller, state: { message: 'starting' } as RunState };
    this.runs.set(key, run);
    o.token?.onCancellationRequested(() => controller.abort());
    const name = vscode.workspace.asRelativePath(uri);
    const show = () => {
      const active = [...this.runs.values()];
      if (active.length === 0) return this.status.hide();
      const s = active[active.length - 1].state;
      this.status.text = `$(sync~spin) PSCL prompt scores: ${s.message}`;
      this.status.tooltip = `Scoring the prompts of ${name} on its training cache. Click to cancel.`;
      this.status.command = 'pscl.quality.cancel';
      this.status.show();
    };
    show();
    this.changed.fire(key);
    const cfg = this.services.config;
    try {
      const result = await backend.request(
        QualityRequests.score,
        { projectFile: uri.fsPath, model: cfg.clipModel, device: cfg.clipDevice, build: o.build, split: cfg.qualitySplit, perClass: cfg.qualityPerClass },
        {
          token: controller.signal,
          onProgress: (p) => {
            run.state = { message: (p.message ?? '').replace(/^prompt quality: /, ''), fraction: p.total ? p.done / p.total : undefined };
            o.onProgress?.(run.state);
            show();
            this.changed.fire(key);
          },
        },
      );
      const scored = { result, at: new Date() };
      this.scores.set(key, scored);
      this.services.log.info(`prompt scores of ${name}: ${result.scores.images} images in ${result.seconds.toFixed(2)}s${result.cacheBuilt ? ' (training cache built first)' : ''}`);
      this.updateProblems(key);
      return scored;
    } catch (err) {
      const message = (err as Error).message;
      if (controller.signal.aborted || /cancel/i.test(message)) return undefined;
      if (o.quiet) {
        // on save without a cache: nothing to measure yet, say so where it does not interrupt
        this.services.log.info(`prompt scores of ${name} not computed: ${message}`);
        if (/build the cache first|no image embeddings|no keypoint features/.test(message)) {
          this.status.text = '$(info) PSCL prompt scores: open the Prompt Report to build the cache';
          this.status.command = 'pscl.quality.openReport';
          this.status.tooltip = message;
          this.status.show();
          setTimeout(() => this.runs.size === 0 && this.status.hide(), 15000);
        }
        return undefined;
      }
      throw err;
    } finally {
      if (this.runs.get(key) === run) this.runs.delete(key);
      if (this.runs.size === 0 && this.status.command === 'pscl.quality.cancel') this.status.hide();
      else show();
      this.changed.fire(key);
    }
  }

  /** Cancels every run. */
  cancel(): void {
    for (const r of this.runs.values()) r.controller.abort();
  }

  private updateProblems(key: string): void {
    const scored = this.scores.get(key);
    const snapshot = this.services.projects.snapshot(vscode.Uri.parse(key));
    if (!scored || !snapshot) return this.problems.delete(vscode.Uri.parse(key));
    const diags = lowHitRateDiagnostics(snapshot.parsed, scored.result.scores, this.services.config.qualityMinHitRate).map((d) => {
      const v = toVscodeDiagnostic(d);
      v.source = 'pscl prompts';
      return v;
    });
    this.problems.set(vscode.Uri.parse(key), diags);
    this.changed.fire(key);
  }

  dispose(): void {
    this.cancel();
    for (const d of this.disposables) d.dispose();
  }
}
