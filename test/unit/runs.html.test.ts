import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contentSecurityPolicy, dashboardHtml, evalReportHtml, makeNonce } from '../../src/core/runs/html';

test('webview HTML: strict CSP with the nonce, the script carries it, no inline handlers, text escaped', () => {
  const nonce = makeNonce();
  assert.match(nonce, /^[0-9a-f]{36}$/);
  assert.notEqual(makeNonce(), nonce);
  const o = { cspSource: 'https://file+.vscode-resource.vscode-cdn.net', nonce, scriptUri: 'https://x/dist/webview/dashboard.js?a=1&b=2', styleUri: 'https://x/dist/webview/dashboard.css', title: 'Run <b>"x"</b>' };
  const html = dashboardHtml(o);
  const csp = contentSecurityPolicy(o.cspSource, nonce);
  assert.ok(html.includes(`content="${csp.replace(/'/g, '&#39;')}"`));
  assert.match(csp, /^default-src 'none'; /);
  assert.ok(csp.includes(`script-src 'nonce-${nonce}'`));
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'));
  assert.ok(html.includes(`<script nonce="${nonce}" src="https://x/dist/webview/dashboard.js?a=1&amp;b=2"></script>`));
  assert.ok(html.includes('<title>Run &lt;b&gt;&quot;x&quot;&lt;/b&gt;</title>'));
  assert.doesNotMatch(html, /\son[a-z]+=/i);
  assert.match(evalReportHtml({ ...o, title: undefined }), /<body data-view="evalReport">[\s\S]*Evaluation report: loading/);
  assert.ok(html.includes(`<link rel="stylesheet" nonce="${nonce}" href="https://x/dist/webview/dashboard.css">`));
  assert.throws(() => dashboardHtml({ ...o, nonce: 'abc' }), /nonce must be at least 16/);
});
