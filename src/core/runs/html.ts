// HTML of the runs webviews (dashboard, evaluation report): the shared strict-CSP shell with the
// view's bundle (dist/webview/dashboard.{js,css}, dist/webview/evalReport.{js,css}).
import { webviewShell } from '../util/webviewHtml';

export { makeNonce, webviewCsp as contentSecurityPolicy } from '../util/webviewHtml';

export interface WebviewHtmlOptions {
  /** webview.cspSource */
  cspSource: string;
  /** A fresh value per load: makeNonce(). */
  nonce: string;
  /** asWebviewUri of dist/webview/<view>.js */
  scriptUri: string;
  /** asWebviewUri of dist/webview/<view>.css */
  styleUri: string;
  /** Document title (and the placeholder until the page renders). */
  title?: string;
}

export function dashboardHtml(o: WebviewHtmlOptions): string {
  return webviewShell({ ...o, title: o.title ?? 'Training dashboard', bodyAttributes: { 'data-view': 'dashboard' } });
}

export function evalReportHtml(o: WebviewHtmlOptions): string {
  return webviewShell({ ...o, title: o.title ?? 'Evaluation report', bodyAttributes: { 'data-view': 'evalReport' } });
}
