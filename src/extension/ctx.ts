// The one object that owns the extension's long-lived parts; commands receive it. The parts
// themselves are built on its Services (services.ts), never on Ctx.
import * as vscode from 'vscode';
import type { Backend } from './backend';
import type { Config } from './config';
import type { DatasetViews } from './dataset/views';
import type { ProjectStore } from './project/store';
import type { Previews } from './preview/previews';
import type { RunPanels } from './runs/panels';
import type { RunsView } from './runs/runsView';
import type { Trainers } from './runs/trainers';
import type { Services } from './services';
import type { PersistentState } from './state';
import type { PartsView } from './parts/tree';
import type { TaxonomyView } from './taxonomy/tree';
import type { PromptReports } from './quality/report';
import type { PromptScores } from './quality/scores';

export class Ctx implements Services {
  taxonomy!: TaxonomyView;
  parts!: PartsView;
  backend!: Backend;
  previews!: Previews;
  runs!: RunsView;
  trainers!: Trainers;
  runPanels!: RunPanels;
  promptScores!: PromptScores;
  promptReports!: PromptReports;
  datasets!: DatasetViews;

  constructor(
    readonly extension: vscode.ExtensionContext,
    readonly config: Config,
    readonly state: PersistentState,
    readonly projects: ProjectStore,
    readonly log: vscode.LogOutputChannel,
  ) {}

  get subscriptions(): vscode.Disposable[] {
    return this.extension.subscriptions;
  }

  /**
   * Gate for anything that starts a process (backend, trainer): in Restricted Mode it says why
   * not and returns false. Such commands also carry `when: isWorkspaceTrusted` in the manifest.
   */
  requireTrust(what: string): boolean {
    if (vscode.workspace.isTrusted) return true;
    void vscode.window.showWarningMessage(`${what} starts a process, which Restricted Mode does not allow. Trust this workspace to use it.`, 'Manage Workspace Trust').then((pick) => {
      if (pick) void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return false;
  }
}

/** A command is a factory: given the context, it returns the handler. */
export type CommandFactory = (ctx: Ctx) => (...args: any[]) => unknown;
