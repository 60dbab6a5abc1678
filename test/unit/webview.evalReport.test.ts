// Browser tests of the evaluation report webview in headless Chromium (see webview/harness.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ORIGIN, SHOTS, useBrowser, openWebview, type Theme } from './webview/harness';
import { evalJson, imageSvg, maskPng } from './webview/evalFixture';
import { parseEvalReport } from '../../src/core/runs/evalReport';
import { rollUp, taxonomyFromReport } from '../../src/core/runs/confusion';

const { skip, browser: getBrowser } = useBrowser();

const report = parseEvalReport(evalJson());
const taxonomy = taxonomyFromReport(report);
const files: Record<string, [string, Buffer | string]> = {};
const images: Record<string, { image: string; mask: string }> = {};
report.wrong.forEach((w, i) => {
  files[`/img/${w.key}.svg`] = ['image/svg+xml', imageSvg(i)];
  files[`/masks/${w.key}.png`] = ['image/png', maskPng()];
  images[w.key] = { image: `${ORIGIN}/img/${w.key}.svg`, mask: `${ORIGIN}/masks/${w.key}.png` };
});

async function open(theme: Theme, initialState?: unknown) {
  const v = await openWebview(getBrowser(), 'evalReport', { theme, files, initialState, height: 1000 });
  await v.send({ type: 'report', run: { name: 'aircraft-rn50', dir: '/work/runs/aircraft-rn50' }, report, taxonomy, images });
  await v.page.waitForSelector('#confusion');
  return v;
}

/** The colour at the centre of matrix cell (row, col), read back from the canvas. */
async function cellColor(page: Page, row: number, col: number): Promise<[number, number, number]> {
  return page.$eval('#confusion', (el, [row, col]) => {
    const c = el as HTMLCanvasElement;
    const s = c.width / parseFloat(c.style.width);
    const { left, top, cell } = c.dataset as Record<string, string>;
    const x = Math.round((+left + (col + 0.5) * +cell) * s), y = Math.round((+top + (row + 0.15) * +cell) * s);
    const d = c.getContext('2d')!.getImageData(x, y, 1, 1).data;
    return [d[0], d[1], d[2]] as [number, number, number];
  }, [row, col]);
}

const near = (a: number[], b: number[], tol: number) => a.every((x, i) => Math.abs(x - b[i]) <= tol);
const BG_DARK = [0x1f, 0x1f, 0x1f];
const bluish = (c: number[]) => c[2] > c[0] + 60;
const reddish = (c: number[]) => c[0] > c[2] + 30;

test('the confusion matrix at a chosen level shows the expected cells; hover and keys read them out', { skip }, async () => {
  const v = await open('dark');
  const { page } = v;
  // default: the coarsest level with something to confuse
  assert.equal(await page.inputValue('#level'), 'manufacturer');
  await page.selectOption('#level', 'family');
  const expected = rollUp(report.confusion, taxonomy, 'family');
  assert.equal(await page.getAttribute('#confusion', 'data-k'), String(expected.labels.length));
  for (let r = 0; r < expected.labels.length; r++) {
    for (let c = 0; c < expected.labels.length; c++) {
      const color = await cellColor(page, r, c);
      const n = expected.counts[r][c];
      if (n === 0) assert.ok(near(color, BG_DARK, 6), `family cell ${r},${c} is empty (${color})`);
      else if (r === c) assert.ok(bluish(color), `diagonal cell ${r},${c} is blue (${color})`);
      else assert.ok(reddish(color), `confusion ${expected.labels[r]} -> ${expected.labels[c]} (${n}) is red (${color})`);
    }
  }
  // the one cross-family confusion of the fixture: A320 family -> 777
  assert.equal(expected.counts[expected.labels.indexOf('A320')][expected.labels.indexOf('777')], 2);

  // hover a cell: the tooltip names it
  const box = (await page.$('#confusion'))!;
  const bb = (await box.boundingBox())!;
  const g = await page.$eval('#confusion', (c) => ({ ...(c as HTMLCanvasElement).dataset }));
  const row = expected.labels.indexOf('A320'), col = expected.labels.indexOf('777');
  await page.mouse.move(bb.x + +g.left! + (col + 0.5) * +g.cell!, bb.y + +g.top! + (row + 0.5) * +g.cell!);
  assert.equal(await page.textContent('#tooltip'), 'True: A320 · Predicted: 777 · Count: 2 (10.0% of A320)');

  // keyboard: focus the matrix, arrows move a cursor cell and the readout follows
  await page.focus('#confusion');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowRight');
  assert.match((await page.textContent('#readout')) ?? '', /^True: 777 · Predicted: 777 · Count: 20/);
  assert.equal((await v.state() as { level: string }).level, 'family');
  await page.screenshot({ path: path.join(SHOTS, 'eval-family-dark.png'), fullPage: true });

  // the coarse level rolls everything into one cell
  await page.selectOption('#level', 'coarse');
  assert.equal(await page.getAttribute('#confusion', 'data-k'), '1');
  assert.ok(bluish(await cellColor(page, 0, 0)));
  assert.deepEqual(v.errors, []);
  await page.close();
});

test('sorting the per-class table by clicking headers (and by keyboard) reorders the rows', { skip }, async () => {
  const v = await open('light');
  const { page } = v;
  const names = () => page.$$eval('#class-rows tr td.name', (tds) => tds.map((t) => t.textContent));
  const byTop1 = [...report.perClass].sort((a, b) => a.top1 - b.top1 || a.index - b.index).map((r) => report.classes[r.index].name);
  assert.deepEqual(await names(), byTop1, 'default: worst classes first');
  await page.click('th button[data-key="top1"]');
  assert.deepEqual(await names(), [...report.perClass].sort((a, b) => b.top1 - a.top1 || a.index - b.index).map((r) => report.classes[r.index].name));
  assert.equal(await page.getAttribute('th:has(button[data-key="top1"])', 'aria-sort'), 'descending');
  await page.click('th button[data-key="name"]');
  assert.deepEqual(await names(), report.classes.map((c) => c.name).sort((a, b) => a.localeCompare(b)));
  // keyboard: Tab to the Top-5 header and press Enter
  await page.focus('th button[data-key="name"]');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.key), 'top5');
  await page.keyboard.press('Enter');
  const top5 = await page.$$eval('#class-rows tr', (trs) => trs.map((t) => Number(t.getAttribute('data-index'))));
  const want = [...report.perClass].sort((a, b) => (a.top5 ?? 0) - (b.top5 ?? 0) || a.index - b.index).map((r) => r.index);
  assert.deepEqual(top5, want);
  assert.deepEqual((await v.state() as { sort: unknown }).sort, { key: 'top5', descending: false });
  // filter by a taxonomy value
  await page.fill('#class-filter', 'embraer');
  assert.equal((await names()).length, 4);
  await page.fill('#class-filter', '');
  await page.screenshot({ path: path.join(SHOTS, 'eval-light.png'), fullPage: true });
  assert.deepEqual(v.errors, []);
  await page.close();
});

test('the gallery shows the most confidently wrong images with masks; activating one asks the host to open it', { skip }, async () => {
  const v = await open('dark', { showMasks: true });
  const { page } = v;
  const keys = await page.$$eval('#gallery figure', (fs) => fs.map((f) => f.getAttribute('data-key')));
  assert.deepEqual(keys, report.wrong.map((w) => w.key));
  const first = await page.textContent('#gallery figure:first-child figcaption');
  assert.equal(first, `99%${report.classes[report.wrong[0].label].name}→ ${report.classes[report.wrong[0].pred].name}same family`);
  await page.waitForFunction(() => document.querySelectorAll('#gallery canvas.mask').length === 8);
  // the mask canvas holds coloured parts and transparent background
  const alpha = await page.$eval('#gallery canvas.mask', (c) => {
    const d = (c as HTMLCanvasElement).getContext('2d')!.getImageData(0, 0, 64, 48).data;
    return { bg: d[3], part: d[(25 * 64 + 30) * 4 + 3] };
  });
  assert.deepEqual(alpha, { bg: 0, part: 120 });
  await page.click('#gallery figure:nth-child(2)');
  await page.focus('#gallery figure:nth-child(3)');
  await page.keyboard.press('Enter');
  const opened = (await v.posted()).filter((m) => m.type === 'openImage').map((m) => m.key);
  assert.deepEqual(opened, [report.wrong[1].key, report.wrong[2].key]);
  await page.locator('#gallery').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, 'eval-dark.png'), fullPage: true });
  assert.deepEqual(v.errors, []);
  await page.close();
});

test('a report the host could not read shows its error', { skip }, async () => {
  const v = await openWebview(getBrowser(), 'evalReport', { theme: 'dark' });
  await v.send({ type: 'error', message: '/runs/r1/eval.json: "confusion" must be a 4x4 matrix' });
  assert.equal(await v.page.textContent('[role=alert]'), '/runs/r1/eval.json: "confusion" must be a 4x4 matrix');
  await v.page.close();
});
