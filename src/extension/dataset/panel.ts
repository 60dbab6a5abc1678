// The Dataset view of one project: the page (webview/dataset) gets the project's images in
// columns, the findings from the backend (src/core/curation, as `pscl curate`), thumbnails made
// by the backend into the extension's global storage, and records each decision the user takes
// (Exclude, Include, Relabel, Clear Relabel) as one WorkspaceEdit on the project file.
import path from 'node:path';
import * as vscode from 'vscode';
import { excludeImages, includeImages, relabelImages, clearRelabels } from '../../core/curation/edits';
import { imageUri, type DatasetFinding, type DatasetFromWebview, type DatasetImages, type DatasetSnapshot, type DatasetToWebview } from '../../core/curation/datasetProtocol';
import { CurationRequests } from '../../core/rpc/curation';
import { exclusionsOf } from '../../core/taxonomy/decisions';
import { datasetRoot, loadImages } from '../../core/taxonomy/importers';
import { valueAt, type ImageEntry, type Project } from '../../core/taxonomy/model';
import { editProject } from '../project/edits';
import type { Services } from '../services';
import { PagePanel } from '../webviewPanel';

export const DATASET_VIEW_TYPE = 'pscl.dataset';
const THUMB_SIZE = 160;
/** Edits show the project file beside the grid, not over it. */
const BESIDE = { viewColumn: vscode.ViewColumn.Beside };

const accepts = (m: unknown): m is DatasetFromWebview => !!m && typeof m === 'object' && typeof (m as { type?: unknown }).type === 'string';
const indices = (v: unknown): number[] => (Array.isArray(v) ? v.filter((i): i is number => Number.isInteger(i) && i >= 0) : []);

export interface DatasetTarget {
  projectFile: string;
  focus?: { level: string; value: string };
}

export interface DatasetActions {
  openMaskPreview(projectUri: vscode.Uri, image: string, coarse?: string): void;
}

export class DatasetPanel extends PagePanel<DatasetFromWebview, DatasetToWebview> {
  private images: ImageEntry[] = [];
  private project?: Project;
  private root = '';
  private findingsAbort?: AbortController;
  private readonly thumbsDir: string;

  constructor(
    private readonly services: Services,
    panel: vscode.WebviewPanel,
    readonly target: DatasetTarget,
    private readonly actions: DatasetActions,
    root: string,
  ) {
    const thumbsDir = path.join(services.extension.globalStorageUri.fsPath, 'thumbnails');
    super(panel, {
      extensionUri: services.extension.extensionUri,
      page: 'dataset',
      title: `Dataset: ${path.basename(target.projectFile).replace(/\.pscl\.json$/, '')}`,
      roots: [vscode.Uri.file(root), vscode.Uri.file(thumbsDir)],
      accepts,
      log: services.log,
    });
    this.thumbsDir = thumbsDir;
    this.disposables.push(services.projects.onDidChange((uris) => {
      if (uris.some((u) => u.toString() === this.uri.toString())) this.decisionsChanged();
    }));
  }

  get uri(): vscode.Uri {
    return vscode.Uri.file(this.target.projectFile);
  }

  private currentProject(): Project | undefined {
    return this.services.projects.snapshot(this.uri)?.parsed.project;
  }

  protected async handle(m: DatasetFromWebview): Promise<void> {
    switch (m.type) {
      case 'ready':
        await this.sendSnapshot();
        void this.runFindings();
        return;
      case 'findings':
        void this.runFindings();
        return;
      case 'thumbs':
        await this.sendThumbs(indices(m.indices).slice(0, 400));
        return;
      case 'exclude':
        await this.exclude(indices(m.indices), typeof m.reason === 'string' ? m.reason : undefined);
        return;
      case 'include':
        await editProject(this.services.config, this.uri, 'Include', (t) => includeImages(t, this.paths(m.indices)), BESIDE);
        return;
      case 'relabel':
        await this.relabel(indices(m.indices));
        return;
      case 'clearRelabel':
        await editProject(this.services.config, this.uri, 'Clear Relabel', (t) => clearRelabels(t, this.paths(m.indices)), BESIDE);
        return;
      case 'openMaskPreview': {
        const img = this.images[m.index];
        const project = this.project;
        if (!img || !project) return;
        const cls = project.classes.find((c) => c.id === this.classOf(img));
        this.actions.openMaskPreview(this.uri, this.file(img), cls && valueAt(project, cls, project.levels[0]!.name));
        return;
      }
      case 'openImage': {
        const img = this.images[m.index];
        if (img) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(this.file(img)), { viewColumn: vscode.ViewColumn.Beside });
        return;
      }
      case 'map':
        await this.sendMap();
        return;
    }
  }

  private paths(raw: unknown): string[] {
    return indices(raw).map((i) => this.images[i]?.path).filter((p): p is string => !!p);
  }

  private file(img: ImageEntry): string {
    return path.join(this.root, ...img.path.split('/'));
  }

  /** The project's class for an image now (relabels applied). */
  private classOf(img: ImageEntry): string {
    return this.currentProject()?.images?.relabel[img.path] ?? img.classId;
  }

  private async sendSnapshot(): Promise<void> {
    const snapshot = await this.services.projects.load(this.uri);
    const project = snapshot?.parsed.project;
    if (!project) {
      this.post({ type: 'error', message: `${this.target.projectFile} does not parse: fix it (the Problems view lists why) and reopen the Dataset view.` });
      return;
    }
    this.project = project;
    this.root = datasetRoot(project, this.target.projectFile);
    try {
      this.images = (await loadImages(project, this.target.projectFile)).images;
    } catch (err) {
      this.post({ type: 'error', message: `cannot read the images of ${this.root}: ${(err as Error).message}` });
      return;
    }
    const levels = project.levels.map((l) => l.name);
    const msg: DatasetSnapshot = {
      type: 'dataset',
      project: { name: project.name, file: this.target.projectFile },
      levels,
      classes: project.classes.map((c) => ({ id: c.id, name: c.name, values: levels.map((l) => valueAt(project, c, l) ?? '') })),
      images: { path: this.images.map((i) => i.path), split: this.images.map((i) => i.split), ...this.decisionColumns(project) },
      imageRoot: this.panel.webview.asWebviewUri(vscode.Uri.file(this.root)).toString(),
      thumbnails: vscode.workspace.isTrusted,
      focus: this.target.focus,
    };
    this.post(msg);
  }

  private decisionColumns(project: Project): Pick<DatasetImages, 'cls' | 'excluded' | 'relabeledFrom'> {
    const index = new Map(project.classes.map((c, i) => [c.id, i]));
    const excluded = exclusionsOf(project.images);
    const relabel = project.images?.relabel;
    return {
      cls: this.images.map((i) => index.get(relabel?.[i.path] ?? i.classId) ?? -1),
      excluded: this.images.map((i) => excluded.get(i.path) ?? null),
      relabeledFrom: this.images.map((i) => (relabel?.[i.path] !== undefined && relabel[i.path] !== i.classId ? index.get(i.classId) ?? -1 : -1)),
    };
  }

  private decisionsChanged(): void {
    const project = this.currentProject();
    if (!project || this.images.length === 0) return;
    this.project = project;
    this.post({ type: 'decisions', ...this.decisionColumns(project) });
  }

  private async runFindings(): Promise<void> {
    const backend = this.services.backend.get('Finding problems in the images');
    if (!backend) {
      this.post({ type: 'findings', findings: [], notes: ['Restricted Mode: findings need the backend process; trust the workspace to see them.'], running: false });
      return;
    }
    this.findingsAbort?.abort();
    const abort = new AbortController();
    this.findingsAbort = abort;
    const source = new vscode.CancellationTokenSource();
    abort.signal.addEventListener('abort', () => source.cancel());
    this.disposables.push(source);
    this.post({ type: 'findings', findings: [], notes: [], running: true, message: 'looking for problems…' });
    try {
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.uri.toString());
      const r = await backend.request(CurationRequests.findings, { projectFile: this.target.projectFile, text: doc?.isDirty ? doc.getText() : undefined }, {
        token: source.token,
        onProgress: (p) => {
          if (!abort.signal.aborted) this.post({ type: 'findings', findings: [], notes: [], running: true, message: p.message });
        },
      });
      if (abort.signal.aborted) return;
      const byPath = new Map(this.images.map((img, i) => [img.path, i]));
      const classIndex = new Map((this.project?.classes ?? []).map((c, i) => [c.id, i]));
      const findings: DatasetFinding[] = r.findings.map((f) => ({
        kind: f.kind,
        images: f.images.map((p) => byPath.get(p)).filter((i): i is number => i !== undefined),
        score: f.score,
        reason: f.reason,
        match: f.match,
        suggested: f.suggested !== undefined ? classIndex.get(f.suggested) : undefined,
        agreeAt: f.agreeAt,
      }));
      this.post({ type: 'findings', findings, notes: r.notes, running: false });
      this.services.log.info(`dataset ${this.target.projectFile}: ${findings.length} findings over ${r.images} images`);
    } catch (err) {
      if (abort.signal.aborted) return;
      this.post({ type: 'findings', findings: [], notes: [`finding problems failed: ${(err as Error).message}`], running: false });
    }
  }

  private async sendMap(): Promise<void> {
    const backend = this.services.backend.get('The embedding map');
    if (!backend) {
      this.post({ type: 'map', xy: [], message: 'Restricted Mode: the map needs the backend process.' });
      return;
    }
    try {
      const r = await backend.request(CurationRequests.map, { projectFile: this.target.projectFile }, { onProgress: (p) => this.post({ type: 'map', xy: [], message: p.message }) });
      if (r.paths.length === 0) {
        this.post({ type: 'map', xy: [], message: r.message });
        return;
      }
      const at = new Map(r.paths.map((p, k) => [p, k]));
      const xy: number[] = [];
      for (const img of this.images) {
        const k = at.get(img.path);
        xy.push(k === undefined ? NaN : r.xy[k * 2]!, k === undefined ? NaN : r.xy[k * 2 + 1]!);
      }
      this.post({ type: 'map', xy: xy.map((v) => (Number.isNaN(v) ? (null as unknown as number) : v)), message: `${r.paths.length} images with embeddings; drag a lasso to pick images for the grid` });
    } catch (err) {
      this.post({ type: 'map', xy: [], message: `the map failed: ${(err as Error).message}` });
    }
  }

  private async sendThumbs(which: number[]): Promise<void> {
    const files = which.map((i) => this.images[i]).filter((i): i is ImageEntry => !!i).map((i) => this.file(i));
    const backend = vscode.workspace.isTrusted ? this.services.backend.get('Thumbnails') : undefined;
    const uris: Record<number, string> = {};
    if (backend) {
      try {
        const r = await backend.request(CurationRequests.thumbnails, { files, dir: this.thumbsDir, size: THUMB_SIZE });
        r.thumbnails.forEach((t, k) => {
          if (t) uris[which[k]!] = this.panel.webview.asWebviewUri(vscode.Uri.file(t)).toString();
        });
      } catch (err) {
        this.services.log.warn(`thumbnails: ${(err as Error).message}`);
      }
    }
    this.post({ type: 'thumbs', uris });
  }

  private async exclude(which: number[], given?: string): Promise<void> {
    const imgs = which.map((i) => this.images[i]).filter((i): i is ImageEntry => !!i);
    if (imgs.length === 0) return;
    const reason = given ?? (await vscode.window.showInputBox({
      title: `Exclude ${imgs.length} image${imgs.length === 1 ? '' : 's'}`,
      prompt: 'Why (kept in the project file next to the path)',
      value: 'excluded in the Dataset view',
    }));
    if (reason === undefined) return;
    await editProject(this.services.config, this.uri, 'Exclude', (t) => excludeImages(t, imgs.map((i) => ({ path: i.path, reason }))), BESIDE);
  }

  private async relabel(which: number[]): Promise<void> {
    const project = this.currentProject();
    const imgs = which.map((i) => this.images[i]).filter((i): i is ImageEntry => !!i);
    if (!project || imgs.length === 0) return;
    const parent = project.levels.length >= 2 ? project.levels[project.levels.length - 2]!.name : undefined;
    const items: (vscode.QuickPickItem & { id?: string })[] = [];
    const groups = new Map<string, typeof project.classes>();
    for (const c of project.classes) {
      const g = parent ? (c.path[parent] ?? '') : '';
      groups.set(g, [...(groups.get(g) ?? []), c]);
    }
    for (const [g, list] of groups) {
      if (parent) items.push({ label: `${parent} ${g}`, kind: vscode.QuickPickItemKind.Separator });
      for (const c of list) items.push({ label: c.name, description: project.levels.slice(0, -1).map((l) => c.path[l.name]).filter(Boolean).join(' › '), detail: `class id ${c.id}`, id: c.id });
    }
    const picked = await vscode.window.showQuickPick(items, { title: `Relabel ${imgs.length} image${imgs.length === 1 ? '' : 's'}`, placeHolder: 'The class these images really show', matchOnDescription: true });
    if (!picked?.id) return;
    const datasetClass = new Map(imgs.map((i) => [i.path, i.classId]));
    await editProject(this.services.config, this.uri, 'Relabel', (t) => relabelImages(t, imgs.map((i) => i.path), picked.id!, (p) => datasetClass.get(p)), BESIDE);
  }

  override dispose(): void {
    this.findingsAbort?.abort();
    super.dispose();
  }
}
