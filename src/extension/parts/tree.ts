// The Parts view: a TreeDataProvider over PartsModel, kept in step with the project store.
import * as vscode from 'vscode';
import type { ProjectStore } from '../project/store';
import type { PromptScores } from '../../core/quality/score';
import { PartsModel, type PartsNode } from './model';

export class PartsView implements vscode.TreeDataProvider<PartsNode>, vscode.Disposable {
  readonly model = new PartsModel();
  readonly tree: vscode.TreeView<PartsNode>;
  private readonly changed = new vscode.EventEmitter<PartsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly projects: ProjectStore) {
    this.tree = vscode.window.createTreeView('pscl.parts', { treeDataProvider: this, showCollapseAll: true });
    this.disposables.push(this.tree, this.changed, projects.onDidChange(() => this.update()));
    this.update();
  }

  /** Badges from the prompt scores, redrawn when they change. */
  showScores(source: { get(key: string): { result: { scores: PromptScores } } | undefined; onDidChange: vscode.Event<string> }): void {
    this.model.scoresOf = (key) => source.get(key)?.result.scores;
    this.disposables.push(source.onDidChange(() => this.changed.fire(undefined)));
    this.changed.fire(undefined);
  }

  update(): void {
    this.model.setSnapshots(this.projects.snapshots());
    this.changed.fire(undefined);
  }

  getChildren(node?: PartsNode): PartsNode[] {
    return [...this.model.getChildren(node)];
  }

  getParent(node: PartsNode): PartsNode | undefined {
    return node.parent;
  }

  getTreeItem(node: PartsNode): vscode.TreeItem {
    const v = this.model.view(node);
    const state = { none: vscode.TreeItemCollapsibleState.None, collapsed: vscode.TreeItemCollapsibleState.Collapsed, expanded: vscode.TreeItemCollapsibleState.Expanded }[v.collapsible];
    const item = new vscode.TreeItem(v.label, state);
    item.id = node.id;
    item.description = v.description;
    item.tooltip = new vscode.MarkdownString(v.tooltip);
    item.iconPath = new vscode.ThemeIcon(v.icon.id, v.icon.color ? new vscode.ThemeColor(v.icon.color) : undefined);
    item.contextValue = v.contextValue;
    return item;
  }

  /** The node a context menu passes, else the selection (keybindings pass 'selection'). */
  target(node?: PartsNode | 'selection'): PartsNode | undefined {
    if (node && typeof node === 'object') return node;
    return node === 'selection' ? this.tree.selection[0] : undefined;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
