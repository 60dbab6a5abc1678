// The HTML of every webview page (mask preview, training dashboard, evaluation report): one
// static shell with one strict CSP (scripts only with the per-load nonce; styles from the
// extension's resources or with the nonce; images from resources, data: and blob:), the page's
// bundle (dist/webview/<page>.js and .css). Pages build their DOM themselves; nothing inline runs.

export interface WebviewShellOptions {
  /** `webview.cspSource` */
  cspSource: string;
  /** A fresh nonce per load (makeNonce()). */
  nonce: string;
  /** asWebviewUri(dist/webview/<name>.js) */
  scriptUri: string;
  /** asWebviewUri(dist/webview/<name>.css) */
  styleUri: string;
  /** Document title, shown in the placeholder until the page renders. */
  title: string;
  /** Extra attributes on <body>, e.g. {'data-view': 'dashboard'}. */
  bodyAttributes?: Record<string, string>;
}

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** 18 random bytes as hex, from the platform's crypto (Node >= 19 and browsers have it). */
export function makeNonce(): string {
  const bytes = new Uint8Array(18);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function webviewCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data: blob:`,
    `style-src ${cspSource} 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
}

export function webviewShell(o: WebviewShellOptions): string {
  if (!/^[A-Za-z0-9+/=_-]{16,}$/.test(o.nonce)) throw new Error('webview nonce must be at least 16 base64 or hex characters (use makeNonce())');
  const title = escapeHtml(o.title);
  const body = Object.entries(o.bodyAttributes ?? {}).map(([k, v]) => ` ${escapeHtml(k)}="${escapeHtml(v)}"`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(webviewCsp(o.cspSource, o.nonce))}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" nonce="${escapeHtml(o.nonce)}" href="${escapeHtml(o.styleUri)}">
<title>${title}</title>
</head>
<body${body}>
<main id="app" aria-busy="true"><p class="loading">${title}: loading…</p></main>
<script nonce="${escapeHtml(o.nonce)}" src="${escapeHtml(o.scriptUri)}"></script>
</body>
</html>
`;
}

/** The webview pages (webview/<page>/main.ts), with the title each shows until it renders. */
export const WEBVIEW_PAGES = { maskPreview: 'Part masks', dashboard: 'Training dashboard', evalReport: 'Evaluation report', promptReport: 'Prompt report', dataset: 'Dataset' } as const;
export type WebviewPage = keyof typeof WEBVIEW_PAGES;

/** One page in the shell; `data-view` on <body> names it. */
export function webviewPage(page: WebviewPage, o: Omit<WebviewShellOptions, 'title' | 'bodyAttributes'> & { title?: string }): string {
  return webviewShell({ ...o, title: o.title ?? WEBVIEW_PAGES[page], bodyAttributes: { 'data-view': page } });
}
