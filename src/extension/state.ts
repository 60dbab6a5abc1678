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
}
