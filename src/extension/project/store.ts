// The project files of the workspace and their parsed, validated snapshots. Follows the files:
// open documents as the user types (debounced), the file system for everything else (external
// edits, git checkouts, deletions). Snapshots are immutable and cached per text version.
import * as vscode from 'vscode';
import { checkProject, decidedImageCounts, declaresDataset, type DatasetResult } from '../../core/project';
import type { Diagnostic } from '../../core/taxonomy/diagnostics';
import { parseProject, type ParsedProject } from '../../core/taxonomy/project';
import { decodeUtf8Strict, TextEncodingError } from '../../core/util/textFile';
import type { Config } from '../config';
import { DatasetInfoCache } from './datasetInfo';

/** One project file as the store holds it: immutable, rebuilt when the file's text (or its dataset) changes. */
export interface ProjectSnapshot {
  /** The file's URI as a string: unique and stable across versions. */
  key: string;
  /** Shown in descriptions: the path relative to the workspace. */
  relativePath: string;
  parsed: ParsedProject;
  diagnostics: readonly Diagnostic[];
  /** Images per class id (exclusions and relabels applied), when the dataset could be read. */
  imageCounts?: ReadonlyMap<string, number>;
}

export const PROJECT_GLOB = '**/*.pscl.json';
const EXCLUDE_GLOB = '{**/node_modules/**,**/.git/**}';

/** A project file of the workspace's own file system (not a diff side, git version, output). */
export function isProjectUri(uri: vscode.Uri): boolean {
  const scheme = vscode.workspace.workspaceFolders?.[0]?.uri.scheme ?? 'file';
  return (uri.scheme === scheme || uri.scheme === 'file') && uri.path.endsWith('.pscl.json') && !uri.path.includes('/node_modules/');
}

interface Entry {
  uri: vscode.Uri;
  text: string;
  snapshot?: ProjectSnapshot;
  /** Read from disk with bytes that are not UTF-8 (an edit would change them). */
  encodingProblem?: Diagnostic;
}

export class ProjectStore implements vscode.Disposable {
  private readonly entries = new Map<string, Entry>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri[]>();
  /** Fires with the files whose snapshot changed (added, edited, deleted). */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly datasets: DatasetInfoCache;
  private scanned: Promise<void> | undefined;

  constructor(
    private readonly config: Config,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.datasets = new DatasetInfoCache(log, () => this.config.showImageCounts);
    this.disposables.push(this.changed, this.datasets);
  }

  /** Finds the project files and starts following them. */
  start(): Promise<void> {
    if (this.scanned) return this.scanned;
    const watcher = vscode.workspace.createFileSystemWatcher(PROJECT_GLOB);
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => this.reloadFromDisk(uri)),
      watcher.onDidChange((uri) => this.reloadFromDisk(uri)),
      watcher.onDidDelete((uri) => this.remove(uri)),
      vscode.workspace.onDidOpenTextDocument((doc) => this.fromDocument(doc, 0)),
      vscode.workspace.onDidChangeTextDocument((e) => this.fromDocument(e.document, this.config.validationDelayMs)),
      vscode.workspace.onDidCloseTextDocument((doc) => {
        // Unsaved changes are gone with the document: show what is on disk again.
        if (isProjectUri(doc.uri) && this.entries.has(doc.uri.toString())) void this.reloadFromDisk(doc.uri);
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.rescan()),
      this.config.onDidChange(() => this.invalidateAll()),
      this.datasets.onDidLoad(() => this.invalidateAll()),
    );
    for (const doc of vscode.workspace.textDocuments) this.fromDocument(doc, 0);
    this.scanned = this.rescan();
    return this.scanned;
  }

  /** Re-reads every project file (the Refresh command; also after workspace folder changes). */
  async rescan(): Promise<void> {
    const uris = await vscode.workspace.findFiles(PROJECT_GLOB, EXCLUDE_GLOB);
    const found = new Set(uris.map((u) => u.toString()));
    for (const [key, entry] of this.entries) {
      if (!found.has(key) && !this.openDocument(entry.uri)) this.entries.delete(key);
    }
    this.datasets.clear();
    await Promise.all(uris.map((uri) => this.reloadFromDisk(uri, false)));
    this.fire([...this.entries.values()].map((e) => e.uri));
  }

  snapshots(): ProjectSnapshot[] {
    return [...this.entries.values()].map((e) => this.snapshotOf(e));
  }

  snapshot(uri: vscode.Uri): ProjectSnapshot | undefined {
    const entry = this.entries.get(uri.toString());
    return entry && this.snapshotOf(entry);
  }

  uris(): vscode.Uri[] {
    return [...this.entries.values()].map((e) => e.uri);
  }

  /** The snapshot of a project file, reading it when the store does not know it yet. */
  async load(uri: vscode.Uri): Promise<ProjectSnapshot | undefined> {
    if (!this.entries.has(uri.toString())) await this.reloadFromDisk(uri, false);
    return this.snapshot(uri);
  }

  private snapshotOf(entry: Entry): ProjectSnapshot {
    if (entry.snapshot) return entry.snapshot;
    try {
      return (entry.snapshot = this.read(entry));
    } catch (err) {
      // One file the reader cannot handle must not break the views: it shows as one error.
      this.log.error(`reading ${entry.uri.toString(true)} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      const parsed = parseProject('', undefined);
      const diagnostics: Diagnostic[] = [
        {
          severity: 'error',
          code: 'internal',
          message: `PSCL Studio could not read this file (${err instanceof Error ? err.message : String(err)}); this is a bug, the details are in the PSCL output`,
          range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
        },
      ];
      return (entry.snapshot = { key: entry.uri.toString(), relativePath: vscode.workspace.asRelativePath(entry.uri), parsed: { ...parsed, text: entry.text, diagnostics }, diagnostics });
    }
  }

  private read(entry: Entry): ProjectSnapshot {
    const file = entry.uri.scheme === 'file' ? entry.uri.fsPath : undefined;
    const parsed = parseProject(entry.text, file);
    const dataset: DatasetResult | undefined = file && declaresDataset(parsed) ? this.datasets.get(parsed.project!, file) : undefined;
    const diagnostics = checkProject(parsed, dataset);
    return {
      key: entry.uri.toString(),
      relativePath: vscode.workspace.asRelativePath(entry.uri, (vscode.workspace.workspaceFolders?.length ?? 0) > 1),
      parsed,
      diagnostics: entry.encodingProblem ? [entry.encodingProblem, ...diagnostics] : diagnostics,
      imageCounts: dataset?.ok && parsed.project ? decidedImageCounts(parsed.project, dataset.info) : undefined,
    };
  }

  private openDocument(uri: vscode.Uri): vscode.TextDocument | undefined {
    const key = uri.toString();
    return vscode.workspace.textDocuments.find((d) => d.uri.toString() === key && !d.isClosed);
  }

  private fromDocument(doc: vscode.TextDocument, delayMs: number): void {
    if (!isProjectUri(doc.uri)) return;
    const key = doc.uri.toString();
    const text = doc.getText();
    const entry = this.entries.get(key);
    if (entry && entry.text === text) return;
    this.entries.set(key, { uri: doc.uri, text });
    this.fire([doc.uri], delayMs);
  }

  private async reloadFromDisk(uri: vscode.Uri, notify = true): Promise<void> {
    if (!isProjectUri(uri)) return;
    const doc = this.openDocument(uri);
    let text: string;
    let encodingProblem: Diagnostic | undefined;
    if (doc) text = doc.getText();
    else {
      try {
        const bytes = await vscode.workspace.fs.readFile(uri);
        text = new TextDecoder().decode(bytes); // the BOM, if any, is dropped (VS Code's documents do the same)
        try {
          decodeUtf8Strict(bytes, uri.fsPath);
        } catch (err) {
          if (!(err instanceof TextEncodingError)) throw err;
          const at = { line: err.line, character: err.character };
          encodingProblem = { severity: 'error', code: 'not-utf8', message: err.message.replace(/^.*?:\d+:\d+: /, ''), range: { start: at, end: at } };
        }
      } catch (err) {
        if (err instanceof vscode.FileSystemError && err.code === 'FileNotFound') this.remove(uri);
        else this.log.warn(`cannot read ${uri.fsPath}: ${(err as Error).message}`);
        return;
      }
    }
    const key = uri.toString();
    if (this.entries.get(key)?.text === text) return;
    this.entries.set(key, { uri, text, encodingProblem });
    if (notify) this.fire([uri]);
  }

  private remove(uri: vscode.Uri): void {
    if (this.entries.delete(uri.toString())) this.fire([uri]);
  }

  private invalidateAll(): void {
    for (const e of this.entries.values()) e.snapshot = undefined;
    this.fire([...this.entries.values()].map((e) => e.uri));
  }

  private fire(uris: vscode.Uri[], delayMs = 0): void {
    if (delayMs <= 0) {
      for (const u of uris) this.cancelTimer(u.toString());
      this.changed.fire(uris);
      return;
    }
    for (const u of uris) {
      const key = u.toString();
      this.cancelTimer(key);
      this.timers.set(
        key,
        setTimeout(() => {
          this.timers.delete(key);
          this.changed.fire([u]);
        }, delayMs),
      );
    }
  }

  private cancelTimer(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }
}
