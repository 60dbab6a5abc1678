// Every setting the extension reads, typed, in one place; nobody else calls getConfiguration.
import * as vscode from 'vscode';
import type { LlmSettings } from '../core/llm';
import { llmSettingsFrom } from './llm/model';

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

  /** `pscl.clip.model`: a CLIP folder or Hub repo id; '' or 'demo' is the embedded demo model. */
  get clipModel(): string {
    return (this.cfg.get<string>('clip.model', 'openai/clip-vit-base-patch16') ?? '').trim();
  }

  get clipDevice(): 'auto' | 'cpu' | 'cuda' {
    const d = this.cfg.get<string>('clip.device', 'auto');
    return d === 'cpu' || d === 'cuda' ? d : 'auto';
  }

  /** Score a project's prompts in the background when it is saved (when its training cache exists). */
  get qualityScoreOnSave(): boolean {
    return this.cfg.get<boolean>('quality.scoreOnSave', true);
  }

  /** A part whose keypoint hit rate is below this gets a warning in Problems (0 turns it off). */
  get qualityMinHitRate(): number {
    const v = this.cfg.get<number>('quality.minHitRate', 0.25);
    return typeof v === 'number' && v >= 0 && v <= 1 ? v : 0.25;
  }

  get qualitySplit(): 'all' | 'train' | 'test' | 'val' {
    const v = this.cfg.get<string>('quality.split', 'all');
    return v === 'train' || v === 'test' || v === 'val' ? v : 'all';
  }

  /** At most this many images per class in the scores (0: all). */
  get qualityPerClass(): number | undefined {
    const v = this.cfg.get<number>('quality.perClass', 0);
    return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
  }

  /** What the user set for a new mask preview; previewSettingsFrom (src/core/masks/settings.ts) fills in and checks. */
  get previewDefaults(): { variant?: string; kernel?: number; size?: number; threshold?: number } {
    return {
      variant: this.cfg.get<string>('preview.variant'),
      kernel: this.cfg.get<number>('preview.kernel'),
      size: this.cfg.get<number>('preview.inputSize'),
      threshold: this.cfg.get<number>('preview.threshold'),
    };
  }

  /** Delay after the last keystroke in a project file before open previews are re-rendered. */
  get previewDelayMs(): number {
    return Math.max(0, this.cfg.get<number>('preview.delayMs', 150));
  }

  /** `pscl.slurm.*`: what "Export as SLURM job" asks sbatch for besides nodes and GPUs (empty strings: not set). */
  get slurm(): { partition?: string; account?: string; time?: string; extra: string[] } {
    const text = (key: string) => (this.cfg.get<string>(key, '') ?? '').trim() || undefined;
    const extra = this.cfg.get<unknown>('slurm.extraOptions', []);
    return {
      partition: text('slurm.partition'),
      account: text('slurm.account'),
      time: text('slurm.time'),
      extra: Array.isArray(extra) ? extra.filter((x): x is string => typeof x === 'string').map((x) => x.trim()).filter(Boolean) : [],
    };
  }

  /** `pscl.llm.*`; in Restricted Mode the base URL and model from the user settings only. */
  llmSettings(trusted: boolean): Partial<LlmSettings> {
    return llmSettingsFrom(this.cfg, trusted);
  }

  /** Where the effective `pscl.llm.baseUrl` comes from (a workspace may set it). */
  get llmBaseUrlSource(): 'workspace' | 'user' | 'default' {
    const i = this.cfg.inspect<string>('llm.baseUrl');
    if (vscode.workspace.isTrusted && (i?.workspaceFolderValue !== undefined || i?.workspaceValue !== undefined)) return 'workspace';
    return i?.globalValue !== undefined ? 'user' : 'default';
  }

  /** Writes the LLM base URL (and model, when given) to the user settings. */
  async setUserLlm(baseUrl: string, model: string | undefined): Promise<void> {
    await this.cfg.update('llm.baseUrl', baseUrl, vscode.ConfigurationTarget.Global);
    if (model) await this.cfg.update('llm.model', model, vscode.ConfigurationTarget.Global);
  }

  /** `pscl.datasets.allowLinksOutside`: dataset images may be symbolic links to files outside the dataset folder. */
  get allowDatasetLinksOutside(): boolean {
    return this.cfg.get<boolean>('datasets.allowLinksOutside', false) === true;
  }

  /** What the backend process reads from its environment (it is started with these). */
  get backendEnv(): Record<string, string> {
    return this.allowDatasetLinksOutside ? { PSCL_DATASET_LINKS_OUTSIDE: '1' } : {};
  }

  /** `pscl.python`: the interpreter for the trainer ('' = the Python extension's, else python3). */
  get python(): string {
    return (this.cfg.get<string>('python', '') ?? '').trim();
  }

  /** `pscl.runs.folder`: where runs live, relative to the first workspace folder (or absolute). */
  get runsFolder(): string {
    return (this.cfg.get<string>('runs.folder', 'runs') ?? '').trim() || 'runs';
  }

  /** Seconds a stopped trainer gets to checkpoint before it is killed. */
  get stopGraceSeconds(): number {
    return Math.max(1, this.cfg.get<number>('runs.stopGraceSeconds', 30));
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }
}
