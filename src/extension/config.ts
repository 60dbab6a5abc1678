// Every setting the extension reads, typed, in one place; nobody else calls getConfiguration.
import * as vscode from 'vscode';
import type { LlmSettings } from '../core/llm';

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

  /** Defaults of a new mask preview (the page keeps its own settings afterwards). */
  get previewDefaults(): { variant: string; kernel: number; size: number; threshold: number } {
    return {
      variant: this.cfg.get<string>('preview.variant', 'clearclip'),
      kernel: this.cfg.get<number>('preview.kernel', 3),
      size: this.cfg.get<number>('preview.inputSize', 448),
      threshold: this.cfg.get<number>('preview.threshold', 0),
    };
  }

  /** Delay after the last keystroke in a project file before open previews are re-rendered. */
  get previewDelayMs(): number {
    return Math.max(0, this.cfg.get<number>('preview.delayMs', 150));
  }

  /**
   * `pscl.llm.*` as the core takes them. In Restricted Mode the base URL and model come from the
   * user settings only: a workspace's own settings could send the API key to a server of its choosing.
   */
  llmSettings(trusted: boolean): Partial<LlmSettings> {
    const userOnly = <T>(key: string): T | undefined => {
      if (trusted) return this.cfg.get<T>(key);
      const i = this.cfg.inspect<T>(key);
      return i?.globalValue ?? i?.defaultValue;
    };
    const text = (key: string) => (userOnly<string>(key) ?? '').trim() || undefined;
    const num = (key: string) => {
      const v = this.cfg.get<number>(key);
      return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
    };
    const timeout = num('llm.timeoutSeconds');
    const retries = num('llm.maxRetries');
    return {
      baseUrl: text('llm.baseUrl'),
      model: text('llm.model'),
      temperature: num('llm.temperature'),
      timeoutMs: timeout !== undefined && timeout > 0 ? timeout * 1000 : undefined,
      maxRetries: retries !== undefined && retries >= 0 ? Math.floor(retries) : undefined,
    };
  }

  dispose(): void {
    this.listener.dispose();
    this.changed.dispose();
  }
}
