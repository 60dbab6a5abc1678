// Values remembered between sessions, behind typed accessors; nobody else touches raw keys.
import type * as vscode from 'vscode';
import type { DatasetFormat } from '../core/taxonomy/model';

/** An open mask preview, as kept for a reload. */
export interface SavedPreview {
  /** The project file's URI (string). */
  project: string;
  /** Absolute image path. */
  image: string;
  coarse?: string;
  settings?: unknown;
}

/** An open runs panel, as kept for a reload. */
export interface SavedRunPanel {
  kind: 'dashboard' | 'eval';
  runDir: string;
}

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

  /** The mask previews open in this workspace, oldest first. */
  get openPreviews(): SavedPreview[] {
    return this.workspace.get<SavedPreview[]>('pscl.preview.open', []);
  }
  setOpenPreviews(value: SavedPreview[]): Thenable<void> {
    return this.workspace.update('pscl.preview.open', value);
  }

  /** The dashboard and evaluation panels open in this workspace. */
  get openRunPanels(): SavedRunPanel[] {
    return this.workspace.get<SavedRunPanel[]>('pscl.runs.panels', []);
  }
  setOpenRunPanels(value: SavedRunPanel[]): Thenable<void> {
    return this.workspace.update('pscl.runs.panels', value);
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
