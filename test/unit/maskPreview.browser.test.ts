// The mask-preview page in headless Chromium: the real bundle under the real CSP (webviewPage),
// a fake acquireVsCodeApi recording posted messages, a synthetic scene with a known label map.
// Every visual claim is checked by reading canvas pixels back.
import { buildDist } from '../helpers/build';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { chromium, type Browser, type Page } from 'playwright-core';
import { partStatistics, type LabelMap } from '../../src/core/masks';
import { defaultPartColour, type Rgb } from '../../src/core/masks/palette';
import { DEFAULT_PREVIEW_SETTINGS, type PreviewSettings } from '../../src/core/masks/settings';
import { encodeLabelMap, encodeProbabilities, type GridPayload, type HostMessage } from '../../src/core/masks/wire';
import { makeNonce, webviewPage } from '../../src/core/util/webviewHtml';
import { SCENE_PARTS, SCENE_SCALE, sceneLabels, scenePng, sceneProbabilities } from '../fixtures/maskScene';

const root = path.resolve(__dirname, '..', '..');
const chromiumPath = process.env.PSCL_CHROMIUM ?? '/usr/bin/chromium';
const shotDir = path.join(root, 'out', 'preview');

// VS Code injects its theme as CSS variables on <html>; the harness does the same.
const THEMES: Record<string, Record<string, string>> = {
  dark: {
    '--vscode-editor-background': '#1f1f1f',
    '--vscode-foreground': '#cccccc',
    '--vscode-descriptionForeground': '#9d9d9d',
    '--vscode-sideBar-background': '#181818',
    '--vscode-panel-border': '#2b2b2b',
    '--vscode-focusBorder': '#0078d4',
    '--vscode-button-background': '#0078d4',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-hoverBackground': '#026ec1',
    '--vscode-button-secondaryBackground': '#313131',
    '--vscode-button-secondaryForeground': '#cccccc',
    '--vscode-dropdown-background': '#313131',
    '--vscode-dropdown-foreground': '#cccccc',
    '--vscode-dropdown-border': '#3c3c3c',
    '--vscode-list-hoverBackground': '#2a2d2e',
    '--vscode-textLink-foreground': '#4daafc',
    '--vscode-font-family': 'system-ui, sans-serif',
    '--vscode-font-size': '13px',
  },
  light: {
    '--vscode-editor-background': '#ffffff',
    '--vscode-foreground': '#3b3b3b',
    '--vscode-descriptionForeground': '#717171',
    '--vscode-sideBar-background': '#f8f8f8',
    '--vscode-panel-border': '#e5e5e5',
    '--vscode-focusBorder': '#005fb8',
    '--vscode-button-background': '#005fb8',
    '--vscode-button-foreground': '#ffffff',
    '--vscode-button-hoverBackground': '#0258a8',
    '--vscode-button-secondaryBackground': '#e5e5e5',
    '--vscode-button-secondaryForeground': '#3b3b3b',
    '--vscode-dropdown-background': '#ffffff',
    '--vscode-dropdown-foreground': '#3b3b3b',
    '--vscode-dropdown-border': '#cecece',
    '--vscode-list-hoverBackground': '#f2f2f2',
    '--vscode-textLink-foreground': '#005fb8',
    '--vscode-editorHoverWidget-background': '#f8f8f8',
    '--vscode-editorHoverWidget-foreground': '#3b3b3b',
    '--vscode-editorHoverWidget-border': '#c8c8c8',
    '--vscode-font-family': 'system-ui, sans-serif',
    '--vscode-font-size': '13px',
  },
};

// The fake host API: messages recorded in window.__posted, state kept in sessionStorage so a
// reload (the panel hidden and shown again) finds it, CSP violations recorded.
const FAKE_VSCODE = `
window.__posted = [];
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
const theme = new URLSearchParams(location.search).get('theme') || 'dark';
const vars = ${JSON.stringify(THEMES)}[theme];
for (const [k, v] of Object.entries(vars)) document.documentElement.style.setProperty(k, v);
document.addEventListener('DOMContentLoaded', () => document.body.classList.add('vscode-' + theme));
let acquired = false;
window.acquireVsCodeApi = () => {
  if (acquired) throw new Error('acquireVsCodeApi called twice');
  acquired = true;
  return {
    postMessage: (m) => window.__posted.push(JSON.parse(JSON.stringify(m))),
    getState: () => JSON.parse(sessionStorage.getItem('vscode-state') || 'null'),
    setState: (s) => sessionStorage.setItem('vscode-state', JSON.stringify(s)),
  };
};
`;

interface Scene {
  png: Buffer;
  raw: { data: Buffer; width: number; channels: number };
  labels: LabelMap;
}

let server: http.Server;
let origin = '';
let browser: Browser | undefined;
let scene: Scene;

function harness(): string {
  const nonce = makeNonce();
  const html = webviewPage('maskPreview', { cspSource: origin, nonce, scriptUri: `${origin}/maskPreview.js`, styleUri: `${origin}/maskPreview.css`, title: 'test' });
  const main = `<script nonce="${nonce}" src="${origin}/maskPreview.js">`;
  assert.ok(html.includes(main));
  return html.replace(main, `<script nonce="${nonce}" src="${origin}/fake-vscode.js"></script>\n${main}`);
}

function renderMessage(labels: LabelMap, settings: PreviewSettings = DEFAULT_PREVIEW_SETTINGS): HostMessage {
  const probs = sceneProbabilities(labels);
  return {
    type: 'render',
    payload: {
      imageUri: `${origin}/scene.png`,
      imageWidth: labels.width * SCENE_SCALE,
      imageHeight: labels.height * SCENE_SCALE,
      title: 'images/012.Yellow_headed_Blackbird/scene.png',
      labelMap: encodeLabelMap(labels),
      probabilities: encodeProbabilities(probs.data, probs.gridH, probs.gridW, probs.n),
      parts: SCENE_PARTS,
      stats: partStatistics(labels),
      settings,
      timing: { ms: 23.4 },
      modelId: 'tiny-clip',
    },
  };
}

async function open(page: Page, theme = 'dark'): Promise<void> {
  await page.goto(`${origin}/?theme=${theme}`);
  await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
}

async function post(page: Page, message: HostMessage): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), message);
}

async function render(page: Page, labels = scene.labels): Promise<void> {
  await post(page, renderMessage(labels));
  await page.waitForFunction(() => document.getElementById('view')?.dataset.imageLoaded === 'true');
}

/** RGBA of canvas pixel (x, y). */
async function pixel(page: Page, x: number, y: number): Promise<number[]> {
  return page.evaluate(([px, py]) => {
    const c = document.getElementById('view') as HTMLCanvasElement;
    return Array.from(c.getContext('2d')!.getImageData(px, py, 1, 1).data);
  }, [x, y]);
}

/** Canvas pixel at the centre of label-map cell (cx, cy). */
const cellPixel = (page: Page, cx: number, cy: number): Promise<number[]> => pixel(page, cx * SCENE_SCALE + 2, cy * SCENE_SCALE + 2);

function photo(cx: number, cy: number): number[] {
  const { data, width, channels } = scene.raw;
  const o = ((cy * SCENE_SCALE + 2) * width + cx * SCENE_SCALE + 2) * channels;
  return [data[o], data[o + 1], data[o + 2]];
}

function near(actual: number[], expected: readonly number[], tol: number, what: string): void {
  const ok = expected.every((e, i) => Math.abs(actual[i] - e) <= tol);
  assert.ok(ok, `${what}: got rgb(${actual.slice(0, 3).join(', ')}), expected about rgb(${expected.join(', ')})`);
}

const blend = (under: number[], over: Rgb, a: number): number[] => under.map((u, i) => u * (1 - a) + over[i] * a);

async function posted(page: Page): Promise<Array<{ type: string; [k: string]: unknown }>> {
  return page.evaluate(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted);
}

async function newPage(): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 1180, height: 720 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}

const pageErrors: string[] = [];

/** Closes a page after checking it raised no script error and no CSP violation. */
async function done(page: Page): Promise<void> {
  assert.deepEqual(await cspViolations(page), [], 'CSP violations');
  await page.close();
  assert.deepEqual(pageErrors.splice(0), [], 'script errors in the page');
}

async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __csp: string[] }).__csp);
}

// Cells of the scene (label-map coordinates) used below; their labels are asserted first.
const HEAD = [55, 26] as const;
const WING = [36, 30] as const;
const BODY = [42, 38] as const;
const SKY = [5, 5] as const;

describe('mask preview webview', { skip: existsSync(chromiumPath) ? false : `no Chromium at ${chromiumPath} (set PSCL_CHROMIUM)` }, () => {
  before(async () => {
    buildDist();
    const png = await scenePng();
    const raw = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    scene = { png, raw: { data: raw.data, width: raw.info.width, channels: raw.info.channels }, labels: sceneLabels() };
    const files: Record<string, [string, () => Buffer | string]> = {
      '/maskPreview.js': ['text/javascript', () => readFileSync(path.join(root, 'dist/webview/maskPreview.js'))],
      '/maskPreview.css': ['text/css', () => readFileSync(path.join(root, 'dist/webview/maskPreview.css'))],
      '/fake-vscode.js': ['text/javascript', () => FAKE_VSCODE],
      '/scene.png': ['image/png', () => scene.png],
      '/': ['text/html', harness],
    };
    server = http.createServer((req, res) => {
      const f = files[new URL(req.url ?? '/', 'http://x').pathname];
      if (!f) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': f[0], 'access-control-allow-origin': '*' }).end(f[1]());
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    mkdirSync(shotDir, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await new Promise((r) => server?.close(r));
  });

  test('the overlay follows the label map; opacity, toggles, hover and heatmap change the pixels', async () => {
    const lm = scene.labels;
    const at = ([x, y]: readonly [number, number]): number => lm.data[y * lm.width + x];
    assert.deepEqual([at(HEAD), at(WING), at(BODY), at(SKY)], [1, 3, 4, 0]);
    const page = await newPage();
    await open(page);
    await render(page);

    // legend: one row per part, with area and regions from the stats
    const rows = await page.locator('#legend li').allTextContents();
    assert.equal(rows.length, 6);
    const stats = partStatistics(lm);
    assert.match(rows[2], new RegExp(`wing${(stats[2].areaFraction * 100).toFixed(1)}%1`));
    assert.match(rows[5], /legs0\.0%0/);
    assert.equal(await page.locator('#status').textContent(), 'masks in 23 ms');

    // opacity 0: the photo itself
    await page.locator('#opacity').fill('0');
    for (const c of [HEAD, WING, BODY, SKY]) near(await cellPixel(page, c[0], c[1]), photo(c[0], c[1]), 2, `opacity 0 at cell ${c}`);
    // opacity 1: the part colour exactly where the label map has the part, the photo elsewhere
    await page.locator('#opacity').fill('100');
    near(await cellPixel(page, ...HEAD), defaultPartColour(1), 1, 'head at opacity 1');
    near(await cellPixel(page, ...WING), defaultPartColour(3), 1, 'wing at opacity 1');
    near(await cellPixel(page, ...BODY), defaultPartColour(4), 1, 'body at opacity 1');
    near(await cellPixel(page, ...SKY), photo(...SKY), 2, 'background at opacity 1');
    // every cell of the label map shows its label's colour (crisp, no smoothing across cells)
    const mismatches = await page.evaluate(
      ({ data, w, h, scale, colours }) => {
        const c = document.getElementById('view') as HTMLCanvasElement;
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let bad = 0;
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const l = data[y * w + x];
            if (l === 0) continue;
            for (const [dx, dy] of [[0, 0], [scale - 1, scale - 1]]) {
              const o = ((y * scale + dy) * c.width + x * scale + dx) * 4;
              if (colours[l].some((v: number, i: number) => Math.abs(px[o + i] - v) > 1)) bad++;
            }
          }
        }
        return bad;
      },
      { data: Array.from(lm.data), w: lm.width, h: lm.height, scale: SCENE_SCALE, colours: [[0, 0, 0], ...SCENE_PARTS.map((p) => defaultPartColour(p.label))] },
    );
    assert.equal(mismatches, 0, 'cells whose corner pixels are not their part colour');

    // opacity 0.5 by keyboard: ArrowLeft steps the slider by 5 (100 -> 50 in ten presses)
    await page.locator('#opacity').focus();
    for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowLeft');
    assert.equal(await page.locator('#opacity').inputValue(), '50');
    near(await cellPixel(page, ...WING), blend(photo(...WING), defaultPartColour(3), 0.5), 3, 'wing at opacity 0.5');

    // toggle the wing off (Enter on its checkbox): the photo shows there, the body keeps its colour
    await page.locator('#part-3').focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('#part-3').isChecked(), false);
    near(await cellPixel(page, ...WING), photo(...WING), 2, 'wing toggled off');
    near(await cellPixel(page, ...BODY), blend(photo(...BODY), defaultPartColour(4), 0.5), 3, 'body still drawn');
    await page.locator('#part-3').press('Space');
    assert.equal(await page.locator('#part-3').isChecked(), true);
    // keyboard focus on a legend toggle highlights that part, as hovering its row does
    near(await cellPixel(page, ...WING), blend(photo(...WING), defaultPartColour(3), 0.8), 3, 'wing back on, focused');
    near(await cellPixel(page, ...BODY), blend(photo(...BODY), defaultPartColour(4), 0.25), 3, 'body dimmed meanwhile');
    await page.locator('#opacity').blur();
    await page.locator('#part-3').blur();

    // hover over the head: it is drawn stronger (0.8), other parts dimmed (0.25), legend row marked
    const box = (await page.locator('#view').boundingBox())!;
    const scale = box.width / (lm.width * SCENE_SCALE);
    await page.mouse.move(box.x + (HEAD[0] * SCENE_SCALE + 2) * scale, box.y + (HEAD[1] * SCENE_SCALE + 2) * scale);
    near(await cellPixel(page, ...HEAD), blend(photo(...HEAD), defaultPartColour(1), 0.8), 3, 'hovered head');
    near(await cellPixel(page, ...BODY), blend(photo(...BODY), defaultPartColour(4), 0.25), 3, 'body while the head is hovered');
    assert.equal(await page.locator('#legend li.is-hovered').getAttribute('data-label'), '1');
    assert.match((await page.locator('#tooltip').textContent()) ?? '', /^head: p = 0\.\d\d$/);
    await page.screenshot({ path: path.join(shotDir, 'mask-preview-dark.png') });
    await page.mouse.move(box.x + box.width + 200, box.y + 10);
    assert.equal(await page.locator('#legend li.is-hovered').count(), 0);

    // heatmap of the wing: viridis of the upsampled probability; low and high spots differ
    await page.locator('#mode-heatmap').check();
    await page.locator('#heatmap-part').selectOption('3');
    await page.locator('#opacity').fill('100');
    const wingHeat = await cellPixel(page, ...WING);
    const skyHeat = await cellPixel(page, ...SKY);
    assert.notDeepEqual(wingHeat.slice(0, 3), defaultPartColour(3), 'heatmap is not the overlay colour');
    // sky: uniform probabilities 1/6 -> dark viridis; wing centre: high probability -> green/yellow
    assert.ok(skyHeat[2] > skyHeat[1] && skyHeat[0] < 90, `sky heat rgb(${skyHeat.slice(0, 3)}) should be dark blue-purple`);
    assert.ok(wingHeat[1] > skyHeat[1] + 60, `wing heat rgb(${wingHeat.slice(0, 3)}) should be brighter than the sky's`);
    near(await cellPixel(page, ...SKY), skyHeat, 0, 'heatmap is stable');
    await page.locator('#opacity').fill('70');
    await page.screenshot({ path: path.join(shotDir, 'mask-preview-heatmap.png') });
    await page.locator('#mode-overlay').check();
    near(await cellPixel(page, ...WING), blend(photo(...WING), defaultPartColour(3), 0.7), 3, 'back to the overlay');
    await done(page);
  });

  test('toggles, opacity and mode survive a reload through setState/getState', async () => {
    const page = await newPage();
    await open(page);
    await render(page);
    await page.locator('#part-4').uncheck();
    await page.locator('#opacity').fill('30');
    await page.reload();
    await page.waitForFunction(() => (window as unknown as { __posted: { type: string }[] }).__posted.some((m) => m.type === 'ready'));
    assert.equal(await page.locator('#opacity').inputValue(), '30');
    await render(page);
    assert.equal(await page.locator('#part-4').isChecked(), false);
    assert.equal(await page.locator('#part-3').isChecked(), true);
    near(await cellPixel(page, ...BODY), photo(...BODY), 2, 'body hidden after reload');
    near(await cellPixel(page, ...WING), blend(photo(...WING), defaultPartColour(3), 0.3), 3, 'wing at 0.3 after reload');
    await done(page);
  });

  test('changing a setting posts settingsChanged with the whole settings', async () => {
    const page = await newPage();
    await open(page);
    await render(page);
    await page.locator('#kernel').selectOption('5');
    await page.locator('#switch-qqAttention').uncheck();
    await page.locator('#variant').selectOption('vanilla');
    await page.locator('#switch-noFfn').check();
    await page.locator('#threshold').fill('0.3');
    await page.locator('#sliding-window').check();
    await page.locator('#export').click();
    const changes = (await posted(page)).filter((m) => m.type === 'settingsChanged').map((m) => m.settings as PreviewSettings);
    assert.deepEqual(changes[0], { ...DEFAULT_PREVIEW_SETTINGS, kernel: 5 });
    assert.equal(changes[1].variant, 'custom');
    assert.deepEqual(changes[1].switches, { noResidual: true, noFfn: true, qqAttention: false });
    assert.deepEqual(changes[2].switches, { noResidual: false, noFfn: false, qqAttention: false });
    assert.equal(changes[2].variant, 'vanilla');
    assert.equal(changes[3].variant, 'custom');
    assert.deepEqual(changes[3].switches, { noResidual: false, noFfn: true, qqAttention: false });
    assert.equal(changes[4].threshold, 0.3);
    assert.deepEqual(changes[5], { ...changes[4], slidingWindow: true });
    assert.equal(changes.length, 6);
    assert.equal((await posted(page)).at(-1)?.type, 'exportMasks');
    // a host error is shown, and cleared by the next render
    await post(page, { type: 'error', message: 'model file tiny.onnx is not a CLIP image encoder' });
    // The page handles the message asynchronously: wait for it before reading.
    await page.waitForFunction(() => (document.querySelector('#error')?.textContent ?? '') !== '', null, { timeout: 10000 });
    assert.equal(await page.locator('#error').textContent(), 'model file tiny.onnx is not a CLIP image encoder');
    await render(page);
    assert.equal(await page.locator('#error').isHidden(), true);
    // the CSP is enforced: an inline style attribute is refused (and reported)
    await page.evaluate(() => {
      const d = document.createElement('div');
      d.setAttribute('style', 'color: red');
      document.body.append(d);
    });
    await page.waitForFunction(() => (window as unknown as { __csp: string[] }).__csp.length > 0);
    assert.match((await cspViolations(page))[0], /^style-src/);
    await page.evaluate(() => ((window as unknown as { __csp: string[] }).__csp = []));
    await done(page);
  });

  test('grid mode flags the images where the chosen part is missing or small', async () => {
    const page = await newPage();
    await open(page, 'light');
    await render(page);
    await page.screenshot({ path: path.join(shotDir, 'mask-preview-light.png') });
    await page.locator('#view-grid').click();
    assert.equal((await posted(page)).at(-1)?.type, 'requestGrid');
    // six images of one category: the wing is lost on one class and shrunk on another
    const classes = ['Brewer Blackbird', 'Red-winged Blackbird', 'Rusty Blackbird', 'Yellow-headed Blackbird', 'Bobolink', 'Bronzed Cowbird'];
    const items = classes.map((className, i) => {
      const data = scene.labels.data.slice();
      if (i === 2) for (let k = 0; k < data.length; k++) if (data[k] === 3) data[k] = 4;
      if (i === 4) {
        let kept = 0;
        for (let k = 0; k < data.length; k++) if (data[k] === 3 && kept++ > 12) data[k] = 4;
      }
      const labels: LabelMap = { ...scene.labels, data };
      return { key: `img${i}`, imageUri: `${origin}/scene.png`, imageWidth: 320, imageHeight: 240, className, labelMap: encodeLabelMap(labels), stats: partStatistics(labels) };
    });
    const grid: GridPayload = { category: 'bird', items, parts: SCENE_PARTS, settings: DEFAULT_PREVIEW_SETTINGS, timing: { ms: 140 } };
    await post(page, { type: 'grid', payload: grid });
    await page.locator('#grid-part').selectOption('3');
    assert.equal(await page.locator('.thumb').count(), 6);
    const verdicts = await page.locator('.thumb').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.verdict));
    assert.deepEqual(verdicts, ['ok', 'ok', 'missing', 'ok', 'low', 'ok']);
    assert.match((await page.locator('#grid-summary').textContent()) ?? '', /bird: 6 images from 6 classes · wing missing in 1, low in 1/);
    assert.match((await page.locator('#legend li[data-label="3"]').textContent()) ?? '', /5\/6/);
    // thumbnails carry the overlay and follow the toggles
    await page.waitForFunction(() => {
      const c = document.querySelector('.thumb-canvas') as HTMLCanvasElement;
      return c.getContext('2d')!.getImageData(2, 2, 1, 1).data[3] === 255;
    });
    const thumbAt = (x: number, y: number): Promise<number[]> =>
      page.evaluate(([px, py]) => Array.from((document.querySelector('.thumb-canvas') as HTMLCanvasElement).getContext('2d')!.getImageData(px, py, 1, 1).data), [x, y]);
    await page.locator('#opacity').fill('100');
    // thumbnails are 240 wide: scale 0.75 of the 320 image, i.e. 3 px per label cell
    near(await thumbAt(BODY[0] * 3 + 1, BODY[1] * 3 + 1), defaultPartColour(4), 1, 'thumbnail body at opacity 1');
    await page.locator('#part-4').uncheck();
    near(await thumbAt(BODY[0] * 3 + 1, BODY[1] * 3 + 1), photo(...BODY), 8, 'thumbnail body hidden');
    await page.locator('#part-4').check();
    await page.locator('#opacity').fill('55');
    await page.locator('#part-4').blur();
    await page.mouse.move(1, 1);
    await page.screenshot({ path: path.join(shotDir, 'mask-preview-grid.png') });
    await page.locator('.thumb').nth(2).focus();
    await page.keyboard.press('Enter');
    assert.deepEqual((await posted(page)).at(-1), { type: 'openGridItem', key: 'img2' });
    await done(page);
  });
});
