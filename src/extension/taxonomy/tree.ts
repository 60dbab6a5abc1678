// The Taxonomy view: a TreeDataProvider over TaxonomyModel (which holds what is shown), plus
// drag and drop of classes onto branches (moves them in the project file).
import * as vscode from 'vscode';
import { moveClass } from '../../core/taxonomy/edits';
import type { Config } from '../config';
import { combined, editProject } from '../project/edits';
import type { ProjectStore } from '../project/store';
import type { PromptScores } from '../../core/quality/score';
import { dropTarget, TaxonomyModel, type ClassNode, type TaxonomyNode } from './model';

const MIME = 'application/vnd.code.tree.pscl.taxonomy';

export class TaxonomyProvider implements vscode.TreeDataProvider<TaxonomyNode> {
  private readonly changed = new vscode.EventEmitter<TaxonomyNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(readonly model: TaxonomyModel) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getChildren(node?: TaxonomyNode): TaxonomyNode[] {
    return this.model.getChildren(node) as TaxonomyNode[];
  }

  getParent(node: TaxonomyNode): TaxonomyNode | undefined {
    return node.parent;
  }

  getTreeItem(node: TaxonomyNode): vscode.TreeItem {
    const v = this.model.view(node);
    const item = new vscode.TreeItem(
      v.highlights ? { label: v.label, highlights: v.highlights } : v.label,
      v.collapsible === 'none' ? vscode.TreeItemCollapsibleState.None : v.collapsible === 'expanded' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed,
    );
    item.id = node.id;
    item.description = v.description;
    const tooltip = new vscode.MarkdownString(v.tooltip);
    tooltip.supportThemeIcons = true;
    item.tooltip = tooltip;
    item.iconPath = new vscode.ThemeIcon(v.icon.id, v.icon.color ? new vscode.ThemeColor(v.icon.color) : undefined);
    item.contextValue = v.contextValue;
    if (node.kind === 'class' || node.kind === 'project') {
      item.command = { command: 'pscl.taxonomy.revealInFile', title: 'Reveal in File', arguments: [node, { preserveFocus: true }] };
    }
    return item;
  }
}

class TaxonomyDragAndDrop implements vscode.TreeDragAndDropController<TaxonomyNode> {
  readonly dragMimeTypes = [MIME];
  readonly dropMimeTypes = [MIME];
  private dragged: ClassNode[] = [];

  constructor(private readonly config: Config) {}

  handleDrag(source: readonly TaxonomyNode[], data: vscode.DataTransfer): void {
    this.dragged = source.filter((n): n is ClassNode => n.kind === 'class');
    if (this.dragged.length > 0) data.set(MIME, new vscode.DataTransferItem(this.dragged.map((n) => n.classId)));
  }

  async handleDrop(target: TaxonomyNode | undefined, data: vscode.DataTransfer): Promise<void> {
    if (!data.get(MIME)) return;
    const to = dropTarget(target);
    const moving = this.dragged.filter((n) => n.snapshot.key === target?.snapshot.key);
    this.dragged = [];
    if (!to || moving.length === 0) return;
    const uri = vscode.Uri.parse(moving[0].snapshot.key);
    await editProject(this.config, uri, 'Move', (text) => combined(text, moving.map((n) => (t: string) => moveClass(t, n.classId, to.level, to.value))));
  }
}

/** The view, its provider and model, kept in step with the project store. */
export class TaxonomyView implements vscode.Disposable {
  readonly model = new TaxonomyModel();
  readonly provider = new TaxonomyProvider(this.model);
  readonly tree: vscode.TreeView<TaxonomyNode>;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly projects: ProjectStore,
    config: Config,
    filter: string,
  ) {
    this.tree = vscode.window.createTreeView('pscl.taxonomy', {
      treeDataProvider: this.provider,
      dragAndDropController: new TaxonomyDragAndDrop(config),
      showCollapseAll: true,
      canSelectMany: true,
    });
    this.disposables.push(this.tree, projects.onDidChange(() => this.update()));
    this.model.setFilter(filter);
    this.update();
  }

  /** The zero-shot accuracy rows from the prompt scores, redrawn when they change. */
  showScores(source: { get(key: string): { result: { scores: PromptScores } } | undefined; onDidChange: vscode.Event<string> }): void {
    const scoresOf = (key: string) => source.get(key)?.result.scores;
    let last = new Map<string, unknown>();
    this.disposables.push(
      source.onDidChange((key) => {
        // progress of a run fires too: rebuild only when the scores themselves changed
        const now = scoresOf(key);
        if (last.get(key) === now) return;
        last = new Map(last).set(key, now);
        this.model.setScores(scoresOf);
        this.provider.refresh();
      }),
    );
    this.model.setScores(scoresOf);
  }

  /** Takes the store's current snapshots (cheap: unchanged files keep their nodes). */
  update(): void {
    this.model.setSnapshots(this.projects.snapshots());
    this.updateMessage();
    this.provider.refresh();
  }

  setFilter(query: string): void {
    this.model.setFilter(query);
    void vscode.commands.executeCommand('setContext', 'pscl.taxonomyFiltered', this.model.filter.active);
    this.updateMessage();
    this.provider.refresh();
  }

  private updateMessage(): void {
    const f = this.model.filter;
    this.tree.message = f.active ? `Filtered by '${f.query}'` : undefined;
    let classes = 0;
    for (const s of this.model.getRoots()) classes += s.snapshot.parsed.project?.classes.length ?? 0;
    this.tree.description = this.model.getRoots().length > 0 ? `${classes} classes` : undefined;
  }

  /**
   * What a command acts on: the node a context menu passes (with the multi-selection), the tree's
   * selection for a keybinding in the view (it passes 'selection'), nothing from the palette.
   */
  targets(node?: TaxonomyNode | 'selection', selected?: readonly TaxonomyNode[]): TaxonomyNode[] {
    if (node === 'selection') return [...this.tree.selection];
    if (selected && selected.length > 0) return [...selected];
    return node && typeof node === 'object' ? [node] : [];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
