// The extension's side of every webview page (mask preview, training dashboard, evaluation
// report): a PagePanel puts the page into the one shell (src/core/util/webviewHtml.ts) with a
// fresh nonce and its bundle, limits localResourceRoots to the bundle and what the page shows,
// checks messages before its handler sees them, and cleans up. A PanelSet keeps a feature's open
// panels and tells its owner when the set changes (to remember them for a reload).
import * as vscode from 'vscode';
import { makeNonce, webviewPage, type WebviewPage } from '../core/util/webviewHtml';

export interface PagePanelOptions<In> {
  extensionUri: vscode.Uri;
  page: WebviewPage;
  title: string;
  /** Folders the page may load from besides the bundle (the images it shows). */
  roots?: vscode.Uri[];
  /** What a message from the page must look like to be handled (a page may send anything). */
  accepts(m: unknown): m is In;
  /** Where a failing handler is reported. */
  log: vscode.LogOutputChannel;
}

export abstract class PagePanel<In, Out> implements vscode.Disposable {
  protected readonly disposables: vscode.Disposable[] = [];
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;

  constructor(
    readonly panel: vscode.WebviewPanel,
    o: PagePanelOptions<In>,
  ) {
    const bundle = vscode.Uri.joinPath(o.extensionUri, 'dist', 'webview');
    panel.webview.options = { enableScripts: true, localResourceRoots: [bundle, ...(o.roots ?? [])] };
    panel.iconPath = vscode.Uri.joinPath(o.extensionUri, 'media', 'pscl.svg');
    panel.title = o.title;
    const asUri = (file: string) => panel.webview.asWebviewUri(vscode.Uri.joinPath(bundle, file)).toString();
    panel.webview.html = webviewPage(o.page, {
      cspSource: panel.webview.cspSource,
      nonce: makeNonce(),
      scriptUri: asUri(`${o.page}.js`),
      styleUri: asUri(`${o.page}.css`),
      title: o.title,
    });
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => {
        if (!o.accepts(m)) return;
        void Promise.resolve()
          .then(() => this.handle(m))
          .catch((err: Error) => o.log.warn(`${panel.title}: ${err.message}`));
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  protected abstract handle(message: In): Promise<void> | void;

  protected post(message: Out): void {
    void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
    this.disposed.fire();
    this.disposed.dispose();
  }
}

/** The open panels of one feature; `changed` runs after one is added or closed. */
export class PanelSet<P extends PagePanel<unknown, unknown>> implements vscode.Disposable {
  private readonly panels = new Set<P>();

  constructor(private readonly changed: (open: P[]) => void) {}

  add(panel: P): P {
    this.panels.add(panel);
    panel.onDidDispose(() => {
      this.panels.delete(panel);
      this.changed(this.all());
    });
    this.changed(this.all());
    return panel;
  }

  all(): P[] {
    return [...this.panels];
  }

  find(test: (panel: P) => boolean): P | undefined {
    return this.all().find(test);
  }

  get size(): number {
    return this.panels.size;
  }

  dispose(): void {
    for (const p of this.all()) p.dispose();
  }
}
