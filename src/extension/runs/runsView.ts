// The Runs view: the run folders under pscl.runs.folder with status, progress, elapsed time and
// best accuracy (core RunsIndex + runRow). It only reads files, so it works in Restricted Mode;
// file watchers refresh it at once and a slow poll keeps elapsed times and dead locks current.
import path from 'node:path';
import * as vscode from 'vscode';
import { runRow, RunsIndex, type RunSummary } from '../../core/runs';
import type { Config } from '../config';

const POLL_MS = 5000;

/** The runs folder: pscl.runs.folder under the first workspace folder (or absolute). */
export function runsFolder(config: Config): string | undefined {
  const setting = config.runsFolder;
  if (path.isAbsolute(setting)) return setting;
  const ws = vscode.workspace.workspaceFolders?.[0];
  return ws && ws.uri.scheme === 'file' ? path.join(ws.uri.fsPath, setting) : undefined;
}

export class RunsView implements vscode.TreeDataProvider<RunSummary>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunSummary | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private index?: RunsIndex;
  private runs: RunSummary[] = [];
  private watcher?: vscode.FileSystemWatcher;
  private readonly disposables: vscode.Disposable[] = [];
  private timer?: ReturnType<typeof setInterval>;
  private pending?: ReturnType<typeof setTimeout>;
  private listing: Promise<void> = Promise.resolve();
  readonly view: vscode.TreeView<RunSummary>;

  constructor(private readonly config: Config) {
    this.view = vscode.window.createTreeView('pscl.runs', { treeDataProvider: this, showCollapseAll: false });
    this.disposables.push(this.view, config.onDidChange(() => this.watch()));
    this.watch();
    this.timer = setInterval(() => this.refresh(), POLL_MS);
  }

  get folder(): string | undefined {
    return this.index?.runsDir;
  }

  /** The runs as last listed (newest first). */
  get all(): readonly RunSummary[] {
    return this.runs;
  }

  private watch(): void {
    const dir = runsFolder(this.config);
    if (dir === this.index?.runsDir) return;
    this.watcher?.dispose();
    this.index = dir ? new RunsIndex(dir) : undefined;
    if (dir) {
      this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), '**/{events.jsonl,run.lock,eval.json,model.onnx,config.json}'));
      const soon = () => this.refreshSoon();
      this.watcher.onDidCreate(soon);
      this.watcher.onDidChange(soon);
      this.watcher.onDidDelete(soon);
    }
    this.refresh();
  }

  /** Coalesces bursts of file events (a trainer appends often). */
  refreshSoon(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.refresh();
    }, 300);
  }

  /** Lists again and redraws; returns when the new list is in. */
  refresh(): Promise<void> {
    this.listing = this.listing.then(async () => {
      try {
        this.runs = this.index ? await this.index.list() : [];
      } catch (err) {
        this.runs = [];
        this.view.message = `Cannot read ${this.index?.runsDir}: ${(err as Error).message}`;
        this.changed.fire(undefined);
        return;
      }
      this.view.message = undefined;
      this.changed.fire(undefined);
    });
    return this.listing;
  }

  find(runDir: string): RunSummary | undefined {
    return this.runs.find((r) => r.dir === runDir);
  }

  getChildren(node?: RunSummary): RunSummary[] {
    return node ? [] : this.runs;
  }

  getTreeItem(run: RunSummary): vscode.TreeItem {
    const row = runRow(run);
    const item = new vscode.TreeItem(row.label, vscode.TreeItemCollapsibleState.None);
    item.id = run.dir;
    item.description = row.description;
    item.tooltip = row.tooltip;
    const color = run.status.status === 'failed' ? new vscode.ThemeColor('errorForeground') : run.status.status === 'finished' ? new vscode.ThemeColor('testing.iconPassed') : undefined;
    item.iconPath = new vscode.ThemeIcon(row.icon, color);
    item.contextValue = `${row.contextValue}${run.hasModel ? '.model' : ''}`;
    item.command = { command: 'pscl.runs.openDashboard', title: 'Open Dashboard', arguments: [run] };
    return item;
  }

  dispose(): void {
    clearInterval(this.timer);
    clearTimeout(this.pending);
    this.watcher?.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
    this.changed.dispose();
  }
}
