// What the extension's long-lived parts are built on: the extension context, settings,
// remembered state, the project files, the log, the backend and the trust gate. Ctx (ctx.ts) adds
// the views and panels built on these; those parts take Services, so none of them depends on
// the object that holds them.
import type * as vscode from 'vscode';
import type { Backend } from './backend';
import type { Config } from './config';
import type { ProjectStore } from './project/store';
import type { PersistentState } from './state';

export interface Services {
  readonly extension: vscode.ExtensionContext;
  readonly config: Config;
  readonly state: PersistentState;
  readonly projects: ProjectStore;
  readonly log: vscode.LogOutputChannel;
  readonly backend: Backend;
  /** False (after saying why) in Restricted Mode: for anything that starts a process. */
  requireTrust(what: string): boolean;
}
