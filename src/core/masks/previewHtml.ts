// The mask-preview webview's HTML: a static shell with a strict CSP; the page script
// (dist/webview/maskPreview.js) builds everything else. No 'vscode' import: the host passes
// `webview.cspSource`, a fresh nonce and the asWebviewUri of the script and style.

export interface PreviewHtmlOptions {
  /** `webview.cspSource` */
  cspSource: string;
  /** A fresh random nonce per load (base64 or hex, no quotes). */
  nonce: string;
  /** asWebviewUri(dist/webview/maskPreview.js) */
  scriptUri: string;
  /** asWebviewUri(dist/webview/maskPreview.css) */
  styleUri: string;
  /** Panel title shown until the first render. */
  title?: string;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** A fresh nonce for the CSP, from the platform's crypto (Node >= 19 and browsers have it). */
export function makeNonce(): string {
  const bytes = new Uint8Array(18);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function previewCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data: blob:`,
    `script-src 'nonce-${nonce}'`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
  ].join('; ');
}

export function previewHtml(o: PreviewHtmlOptions): string {
  if (!/^[A-Za-z0-9+/=_-]+$/.test(o.nonce)) throw new Error('the CSP nonce must be base64 or hex characters');
  const title = escapeHtml(o.title ?? 'Part masks');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(previewCsp(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${o.nonce}" href="${escapeHtml(o.styleUri)}">
<title>${title}</title>
</head>
<body>
<div id="app" data-title="${title}"><p class="placeholder">Loading the mask preview…</p></div>
<script nonce="${o.nonce}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>
`;
}
