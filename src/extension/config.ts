// Every setting the extension reads, typed, in one place; nobody else calls getConfiguration.
import * as vscode from 'vscode';

const SECTION = 'pscl';

export class Config implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires when any `pscl.*` setting changes. */
  readonly onDidChange = this.changed.event;
  private readonly listener: vscode.Disposable;

  constructor() {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(SECTION)) this.changed.fire();
    });
  }

  private get cfg(): vscode.WorkspaceConfiguration {
    return vscode.workspace.getConfiguration(SECTION);
  }

  /** Delay after the last keystroke before a project file is validated and the tree redrawn. */
  get validationDelayMs(): number {
    return Math.max(0, this.cfg.get<number>('validation.delayMs', 250));
  }

  /** Read the dataset's files to count images per class (and check class ids against it). */
  get showImageCounts(): boolean {
    return this.cfg.get<boolean>('taxonomy.showImageCounts', true);
  }

  /** Show the edited lines of the project file after an edit made from the tree. */
  get revealEditsInEditor(): boolean {
    return this.cfg.get<boolean>('edits.revealInEditor', true);
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }
}
