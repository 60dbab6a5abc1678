// The backend process as the extension sees it: a BackendClient started on first use (never at
// activation), caching into the extension's global storage, logging to the PSCL channel,
// refused in Restricted Mode and stopped (with its process) when the extension deactivates.
import path from 'node:path';
import * as vscode from 'vscode';
import { BackendClient } from '../core/rpc/client';

const running = new Set<Backend>();

/** For deactivate: stops every backend and waits for the processes to exit. */
export async function stopBackends(): Promise<void> {
  await Promise.all([...running].map((b) => b.stop()));
}

export class Backend implements vscode.Disposable {
  private client?: BackendClient;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly requireTrust: (what: string) => boolean,
    /** Settings the backend reads from its environment (read when it starts). */
    private readonly settingsEnv: () => Record<string, string> = () => ({}),
  ) {}

  /** The client, started lazily; undefined (after telling the user why) in Restricted Mode. */
  get(what = 'The mask preview'): BackendClient | undefined {
    if (!this.requireTrust(what)) return undefined;
    running.add(this);
    this.client ??= new BackendClient({
      backendPath: path.join(this.context.extensionPath, 'dist', 'backend.js'),
      env: { ...process.env, ...this.settingsEnv(), PSCL_CACHE_DIR: path.join(this.context.globalStorageUri.fsPath, 'cache') },
      onLog: (line) => {
        if (line.trim()) this.log.info(`[backend] ${line}`);
      },
    });
    return this.client;
  }

  /** Stops the backend process; awaited by deactivate so no process outlives the extension. */
  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    running.delete(this);
    await c?.dispose();
  }

  dispose(): void {
    void this.stop();
  }
}
