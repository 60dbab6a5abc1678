// HTML of the runs webviews (dashboard, evaluation report). Strict CSP: scripts and styles only
// with the per-load nonce or from the webview's own resource origin, no inline handlers; the page
// script injects its bundled CSS into a <style> carrying the same nonce.
import { randomBytes } from 'node:crypto';

export interface WebviewHtmlOptions {
  /** webview.cspSource */
  cspSource: string;
  /** A fresh value per load: makeNonce(). */
  nonce: string;
  /** asWebviewUri of dist/webview/<name>.js */
  scriptUri: string;
  /** Optional extra stylesheet (asWebviewUri); the bundle carries its own CSS. */
  styleUri?: string;
  /** Shown while the script starts, and as the document title. */
  title?: string;
}

export function makeNonce(): string {
  return randomBytes(18).toString('base64').replace(/[^A-Za-z0-9]/g, '');
}

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

function checkNonce(nonce: string): void {
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(nonce)) throw new Error('webview nonce must be at least 16 base64 characters (use makeNonce())');
}

export function contentSecurityPolicy(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data: blob:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

function page(kind: 'dashboard' | 'evalReport', defaultTitle: string, o: WebviewHtmlOptions): string {
  checkNonce(o.nonce);
  const title = escapeHtml(o.title ?? defaultTitle);
  const attr = (s: string) => escapeHtml(s);
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${attr(contentSecurityPolicy(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${o.styleUri ? `<link rel="stylesheet" href="${attr(o.styleUri)}" nonce="${attr(o.nonce)}">\n` : ''}<title>${title}</title>
</head>
<body data-view="${kind}">
<main id="app" aria-busy="true"><p class="loading">${title}: loading…</p></main>
<script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}

export function dashboardHtml(o: WebviewHtmlOptions): string {
  return page('dashboard', 'Training dashboard', o);
}

export function evalReportHtml(o: WebviewHtmlOptions): string {
  return page('evalReport', 'Evaluation report', o);
}
