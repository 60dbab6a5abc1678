// Loads a runs webview into headless Chromium the way VS Code would: the page from the real HTML
// builder (strict CSP with a nonce), the real bundle, theme variables on <html>, and a fake
// acquireVsCodeApi that records posted messages and state. Served from a fake origin by routing.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { after, before } from 'node:test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { makeNonce, webviewPage } from '../../../src/core/util/webviewHtml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const ORIGIN = 'http://webview.test';
export const CHROMIUM = process.env.PSCL_CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'out', 'runs');

export type Theme = 'dark' | 'light';

// a subset of VS Code's Dark Modern / Light Modern colours, as the workbench sets them
const THEMES: Record<Theme, Record<string, string>> = {
  dark: {
    'editor-background': '#1f1f1f', foreground: '#cccccc', descriptionForeground: '#9d9d9d',
    'editorWidget-background': '#202020', 'widget-border': '#313131', 'panel-border': '#2b2b2b',
    'button-background': '#0078d4', 'button-foreground': '#ffffff', 'button-hoverBackground': '#026ec1',
    'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc', 'button-secondaryHoverBackground': '#3c3c3c',
    'badge-background': '#616161', 'badge-foreground': '#f8f8f8', focusBorder: '#0078d4',
    'charts-foreground': '#cccccc', 'charts-lines': 'rgba(204, 204, 204, 0.18)', 'charts-red': '#f14c4c', 'charts-blue': '#3794ff',
    'charts-yellow': '#cca700', 'charts-orange': '#d18616', 'charts-green': '#89d185', 'charts-purple': '#b180d7',
    'progressBar-background': '#0078d4', 'input-background': '#313131', 'input-border': '#3c3c3c', 'input-foreground': '#cccccc',
    'dropdown-background': '#313131', 'dropdown-border': '#3c3c3c', 'dropdown-foreground': '#cccccc',
    'textCodeBlock-background': '#2b2b2b', 'textBlockQuote-background': '#2b2b2b', 'list-hoverBackground': '#2a2d2e',
    'testing-iconPassed': '#2e7d32', 'testing-iconFailed': '#c72e0f', 'editorWidget-border': '#454545',
    'font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif', 'font-size': '13px', 'editor-font-family': '"Droid Sans Mono", monospace',
  },
  light: {
    'editor-background': '#ffffff', foreground: '#3b3b3b', descriptionForeground: '#717171',
    'editorWidget-background': '#f8f8f8', 'widget-border': '#e5e5e5', 'panel-border': '#e5e5e5',
    'button-background': '#005fb8', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0258a8',
    'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b', 'button-secondaryHoverBackground': '#cccccc',
    'badge-background': '#cccccc', 'badge-foreground': '#3b3b3b', focusBorder: '#005fb8',
    'charts-foreground': '#3b3b3b', 'charts-lines': 'rgba(59, 59, 59, 0.15)', 'charts-red': '#e51400', 'charts-blue': '#1a85ff',
    'charts-yellow': '#bf8803', 'charts-orange': '#d18616', 'charts-green': '#388a34', 'charts-purple': '#652d90',
    'progressBar-background': '#005fb8', 'input-background': '#ffffff', 'input-border': '#cecece', 'input-foreground': '#3b3b3b',
    'dropdown-background': '#ffffff', 'dropdown-border': '#cecece', 'dropdown-foreground': '#3b3b3b',
    'textCodeBlock-background': '#f0f0f0', 'textBlockQuote-background': '#f2f2f2', 'list-hoverBackground': '#f2f2f2',
    'testing-iconPassed': '#2e7d32', 'testing-iconFailed': '#c72e0f', 'editorWidget-border': '#c8c8c8',
    'font-family': 'system-ui, "Ubuntu", "Droid Sans", sans-serif', 'font-size': '13px', 'editor-font-family': '"Droid Sans Mono", monospace',
  },
};

let built = false;
/** Builds the bundles once per test process (scripts/build.mjs, as `npm run build`). */
export function buildBundles(): void {
  if (built) return;
  const r = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build failed:\n${r.stdout}\n${r.stderr}`);
  built = true;
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM);
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface WebviewPage {
  page: Page;
  /** Messages the page posted to the host. */
  posted(): Promise<Array<{ type: string; [k: string]: unknown }>>;
  state(): Promise<unknown>;
  send(message: unknown): Promise<void>;
  /** Console errors and CSP violations seen so far. */
  errors: string[];
}

export interface OpenOptions {
  theme?: Theme;
  width?: number;
  height?: number;
  /** State the page finds with getState() (a restored panel). */
  initialState?: unknown;
  /** Extra files served under ORIGIN: path -> [content type, body]. */
  files?: Record<string, [string, Buffer | string]>;
}

export async function openWebview(browser: Browser, kind: 'dashboard' | 'evalReport' | 'promptReport' | 'dataset', o: OpenOptions = {}): Promise<WebviewPage> {
  buildBundles();
  const theme = o.theme ?? 'dark';
  const page = await browser.newPage({ viewport: { width: o.width ?? 1100, height: o.height ?? 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content Security Policy/.test(m.text())) errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  if (process.env.PSCL_WEBVIEW_DEBUG) page.on('console', (m) => console.error('[page]', m.text()));
  if (process.env.PSCL_WEBVIEW_DEBUG) page.on('pageerror', (e) => console.error('[page error]', e));
  const nonce = makeNonce();
  const opts = { cspSource: ORIGIN, nonce, scriptUri: `${ORIGIN}/dist/webview/${kind}.js`, styleUri: `${ORIGIN}/dist/webview/${kind}.css` };
  const html = webviewPage(kind, opts);
  await page.route(`${ORIGIN}/**`, async (route) => {
    const url = new URL(route.request().url());
    if (url.pathname === '/index.html') return route.fulfill({ contentType: 'text/html', body: html });
    const extra = o.files?.[url.pathname];
    if (extra) return route.fulfill({ contentType: extra[0], body: extra[1] });
    const file = path.join(ROOT, url.pathname);
    if (url.pathname.startsWith('/dist/') && existsSync(file)) return route.fulfill({ contentType: file.endsWith('.css') ? 'text/css' : 'text/javascript', body: readFileSync(file) });
    return route.fulfill({ status: 404, body: 'not found' });
  });
  // a string, not a function: tsx's transform would add helpers the page does not have
  await page.addInitScript(`(() => {
    const vars = ${JSON.stringify(THEMES[theme])};
    const cls = ${JSON.stringify(theme === 'dark' ? 'vscode-dark' : 'vscode-light')};
    window.__posted = [];
    window.__state = ${JSON.stringify(o.initialState ?? null)} ?? undefined;
    window.acquireVsCodeApi = () => ({
      postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
      getState: () => window.__state,
      setState: (s) => { window.__state = JSON.parse(JSON.stringify(s)); },
    });
    const theme = () => {
      for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty('--vscode-' + k, v);
      document.body.classList.add(cls);
    };
    document.addEventListener('readystatechange', () => { if (document.body && !document.body.classList.contains(cls)) theme(); });
    new MutationObserver((_m, obs) => { if (document.body) { theme(); obs.disconnect(); } }).observe(document, { childList: true, subtree: true });
  })();`);
  await page.goto(`${ORIGIN}/index.html`);
  await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'ready'));
  return {
    page,
    errors,
    posted: () => page.evaluate(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted),
    state: () => page.evaluate(() => (window as unknown as { __state: unknown }).__state),
    send: async (message) => {
      await page.evaluate((m) => window.postMessage(m, '*'), message as object);
      // two frames: the message handler, then the scheduled render
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    },
  };
}

/** Counts pixels of a canvas that differ from its most common colour (the background). */
export async function canvasInk(page: Page, selector: string): Promise<number> {
  return page.evaluate((sel) => {
    const c = document.querySelector(sel) as HTMLCanvasElement | null;
    if (!c) throw new Error(`no canvas ${sel}`);
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const counts = new Map<number, number>();
    for (let i = 0; i < d.length; i += 4) {
      const k = (d[i] << 24) | (d[i + 1] << 16) | (d[i + 2] << 8) | d[i + 3];
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    let max = 0;
    for (const v of counts.values()) max = Math.max(max, v);
    return d.length / 4 - max;
  }, selector);
}

/** Counts canvas pixels within `tolerance` (per channel) of a CSS colour, ignoring transparent ones. */
export async function canvasColorCount(page: Page, selector: string, rgb: [number, number, number], tolerance = 40): Promise<number> {
  return page.evaluate(
    ({ sel, rgb, tolerance }) => {
      const c = document.querySelector(sel) as HTMLCanvasElement | null;
      if (!c) throw new Error(`no canvas ${sel}`);
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] < 128) continue;
        if (Math.abs(d[i] - rgb[0]) <= tolerance && Math.abs(d[i + 1] - rgb[1]) <= tolerance && Math.abs(d[i + 2] - rgb[2]) <= tolerance) n++;
      }
      return n;
    },
    { sel: selector, rgb, tolerance },
  );
}

/** The rightmost column (in canvas pixels) holding a pixel near a colour, or -1. */
export async function canvasColorRight(page: Page, selector: string, rgb: [number, number, number], tolerance = 40): Promise<number> {
  return page.evaluate(
    ({ sel, rgb, tolerance }) => {
      const c = document.querySelector(sel) as HTMLCanvasElement;
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let right = -1;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i + 3] < 128) continue;
        if (Math.abs(d[i] - rgb[0]) <= tolerance && Math.abs(d[i + 1] - rgb[1]) <= tolerance && Math.abs(d[i + 2] - rgb[2]) <= tolerance) right = Math.max(right, (i / 4) % c.width);
      }
      return right;
    },
    { sel: selector, rgb, tolerance },
  );
}

/**
 * Registers before/after hooks that start one Chromium for the calling test file. `skip` is the
 * reason to skip when there is no Chromium here.
 */
export function useBrowser(): { skip: string | false; browser: () => Browser } {
  const skip = chromiumAvailable() ? false : `chromium not found at ${CHROMIUM} (set PSCL_CHROMIUM)`;
  let browser: Browser | undefined;
  before(async () => {
    if (skip) return;
    mkdirSync(SHOTS, { recursive: true });
    browser = await launchBrowser();
  });
  after(async () => browser?.close());
  return { skip, browser: () => browser as Browser };
}
