// One HTML shell and one CSP for every webview page (the mask preview had its own before).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeNonce, WEBVIEW_PAGES, webviewCsp, webviewPage, type WebviewPage } from '../../src/core/util/webviewHtml';

test('every page: strict CSP with the nonce, the script carries it, no inline code, text escaped', () => {
  const nonce = makeNonce();
  assert.match(nonce, /^[0-9a-f]{36}$/);
  assert.notEqual(makeNonce(), nonce);
  for (const page of Object.keys(WEBVIEW_PAGES) as WebviewPage[]) {
    const o = { cspSource: 'https://file+.vscode-resource.vscode-cdn.net', nonce, scriptUri: `https://x/dist/webview/${page}.js?a=1&b="2"`, styleUri: `https://x/dist/webview/${page}.css`, title: 'Run <b>"x"</b>' };
    const html = webviewPage(page, o);
    const csp = webviewCsp(o.cspSource, nonce);
    assert.equal(csp, `default-src 'none'; img-src ${o.cspSource} data: blob:; style-src ${o.cspSource} 'nonce-${nonce}'; font-src ${o.cspSource}; script-src 'nonce-${nonce}'`);
    assert.ok(html.includes(`content="${csp.replace(/'/g, '&#39;')}"`));
    assert.ok(html.includes(`<script nonce="${nonce}" src="https://x/dist/webview/${page}.js?a=1&amp;b=&quot;2&quot;"></script>`));
    assert.ok(html.includes(`<link rel="stylesheet" nonce="${nonce}" href="https://x/dist/webview/${page}.css">`));
    assert.ok(html.includes('<title>Run &lt;b&gt;&quot;x&quot;&lt;/b&gt;</title>'));
    assert.ok(html.includes(`<body data-view="${page}">`));
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline handlers');
    assert.doesNotMatch(html, /\sstyle=/i, 'no inline styles');
    assert.match(webviewPage(page, { ...o, title: undefined }), new RegExp(`${WEBVIEW_PAGES[page]}: loading`));
    assert.throws(() => webviewPage(page, { ...o, nonce: 'abc' }), /nonce must be at least 16/);
    assert.throws(() => webviewPage(page, { ...o, nonce: "a' 'unsafe-inline'aaaaaaaaaaaaaaaa" }), /nonce/);
  }
});
