// The open Dataset views: one per project file (reused), restored after a reload from the
// project file the page remembers.
import path from 'node:path';
import * as vscode from 'vscode';
import type { DatasetViewState } from '../../core/curation/datasetProtocol';
import { datasetRoot } from '../../core/taxonomy/importers';
import type { Services } from '../services';
import { PanelSet } from '../webviewPanel';
import { DATASET_VIEW_TYPE, DatasetPanel, type DatasetActions, type DatasetTarget } from './panel';

export class DatasetViews implements vscode.Disposable {
  private readonly panels = new PanelSet<DatasetPanel>(() => undefined);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly services: Services,
    private readonly actions: DatasetActions,
  ) {
    this.disposables.push(
      vscode.window.registerWebviewPanelSerializer(DATASET_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, state: DatasetViewState | undefined) => {
          if (!state?.projectFile) return panel.dispose();
          await this.adopt(panel, { projectFile: state.projectFile });
        },
      }),
    );
  }

  async open(target: DatasetTarget): Promise<DatasetPanel | undefined> {
    const existing = this.panels.find((p) => p.target.projectFile === target.projectFile);
    if (existing && !target.focus) {
      existing.panel.reveal();
      return existing;
    }
    existing?.dispose();
    const panel = vscode.window.createWebviewPanel(DATASET_VIEW_TYPE, `Dataset: ${path.basename(target.projectFile)}`, vscode.ViewColumn.Active, { enableScripts: true, retainContextWhenHidden: true });
    return this.adopt(panel, target);
  }

  private async adopt(panel: vscode.WebviewPanel, target: DatasetTarget): Promise<DatasetPanel | undefined> {
    const snapshot = await this.services.projects.load(vscode.Uri.file(target.projectFile));
    const project = snapshot?.parsed.project;
    if (!project) {
      panel.dispose();
      void vscode.window.showErrorMessage(`${target.projectFile} does not parse: fix it before opening its Dataset view.`);
      return undefined;
    }
    return this.panels.add(new DatasetPanel(this.services, panel, target, this.actions, datasetRoot(project, target.projectFile)));
  }

  dispose(): void {
    this.panels.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}
