// Image counts and class ids read from a project's dataset with the core importers. Reading only:
// nothing is executed, so it also runs in Restricted Mode. Loaded in the background once per
// (format, dataset folder); the store redraws when a result arrives.
import * as vscode from 'vscode';
import { readDatasetInfo, type DatasetResult } from '../../core/project';
import { datasetRoot } from '../../core/taxonomy/importers';
import type { Project } from '../../core/taxonomy/model';

export class DatasetInfoCache implements vscode.Disposable {
  private readonly results = new Map<string, DatasetResult>();
  private readonly pending = new Map<string, AbortController>();
  private readonly loaded = new vscode.EventEmitter<void>();
  readonly onDidLoad = this.loaded.event;

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly enabled: () => boolean,
  ) {}

  /** The result for a project's dataset, or undefined while it loads (or when turned off). */
  get(project: Project, projectFile: string): DatasetResult | undefined {
    if (!this.enabled()) return undefined;
    const root = datasetRoot(project, projectFile);
    const key = `${project.dataset.format}\u0000${root}`;
    const hit = this.results.get(key);
    if (hit || this.pending.has(key)) return hit;
    const abort = new AbortController();
    this.pending.set(key, abort);
    const started = Date.now();
    readDatasetInfo(project, projectFile, { images: true, signal: abort.signal }).then(
      (result) => {
        this.settle(key, abort, result);
        if (result.ok) {
          const images = [...(result.info.imageCounts?.values() ?? [])].reduce((a, b) => a + b, 0);
          this.log.info(`read ${project.dataset.format} dataset ${root}: ${result.info.classIds.length} classes, ${images} images in ${Date.now() - started} ms`);
        } else this.log.warn(`cannot read the ${project.dataset.format} dataset at ${root}: ${result.error}`);
      },
      () => undefined, // aborted: a newer read replaced this one
    );
    return undefined;
  }

  private settle(key: string, abort: AbortController, result: DatasetResult): void {
    if (this.pending.get(key) !== abort) return;
    this.pending.delete(key);
    this.results.set(key, result);
    this.loaded.fire();
  }

  /** Forgets every result (Refresh); running reads are abandoned. */
  clear(): void {
    for (const a of this.pending.values()) a.abort();
    this.pending.clear();
    this.results.clear();
  }

  dispose(): void {
    this.clear();
    this.loaded.dispose();
  }
}
