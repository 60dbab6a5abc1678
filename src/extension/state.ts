// Values remembered between sessions, behind typed accessors; nobody else touches raw keys.
import type * as vscode from 'vscode';
import type { DatasetFormat } from '../core/taxonomy/model';

export class PersistentState {
  constructor(
    private readonly workspace: vscode.Memento,
    private readonly global: vscode.Memento,
  ) {}

  /** The Taxonomy view's filter, per workspace. */
  get taxonomyFilter(): string {
    return this.workspace.get<string>('taxonomy.filter', '');
  }
  setTaxonomyFilter(value: string): Thenable<void> {
    return this.workspace.update('taxonomy.filter', value || undefined);
  }

  /** The dataset format last chosen in the import wizard. */
  get lastImportFormat(): DatasetFormat | undefined {
    return this.global.get<DatasetFormat>('import.lastFormat');
  }
  setLastImportFormat(value: DatasetFormat): Thenable<void> {
    return this.global.update('import.lastFormat', value);
  }

  /** Whether the Get Started walkthrough was opened once on this profile (first run). */
  get walkthroughShown(): boolean {
    return this.global.get<boolean>('walkthrough.shown', false);
  }
  setWalkthroughShown(): Thenable<void> {
    return this.global.update('walkthrough.shown', true);
  }

  /** Folders that Open Sample copied the sample into (its walkthrough step completes there). */
  get sampleFolders(): string[] {
    return this.global.get<string[]>('sample.folders', []);
  }
  addSampleFolder(fsPath: string): Thenable<void> {
    return this.global.update('sample.folders', [...new Set([...this.sampleFolders, fsPath])].slice(-20));
  }
}
