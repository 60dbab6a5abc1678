// Browser tests of the evaluation report webview in headless Chromium (see webview/harness.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ORIGIN, SHOTS, useBrowser, openWebview, type Theme } from './webview/harness';
import { cubConfusion, cubTaxonomy } from './webview/cubFixture';
import { testData } from '../helpers/paths';
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

/**
 * Reads every cell of the drawn matrix back from the canvas (a pixel near the top of each cell,
 * clear of the count text) and returns the cells whose colour does not match the expected counts:
 * empty cells show the background, the diagonal is blue, confusions are red.
 */
async function matrixMismatches(page: Page, counts: number[][], background: number[]): Promise<string[]> {
  return page.$eval('#confusion', (el, { counts, background }) => {
    const c = el as HTMLCanvasElement;
    const s = c.width / parseFloat(c.style.width);
    const { left, top, cell } = c.dataset as Record<string, string>;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const bad: string[] = [];
    counts.forEach((row, r) => row.forEach((n, col) => {
      const x = Math.floor((+left + (col + 0.5) * +cell) * s), y = Math.floor((+top + r * +cell + Math.max(1, +cell * 0.2)) * s);
      const i = (y * c.width + x) * 4;
      const px = [data[i], data[i + 1], data[i + 2]];
      const isBg = px.every((v, k) => Math.abs(v - background[k]) <= 6);
      const ok = n === 0 ? isBg : r === col ? px[2] > px[0] + 40 : px[0] > px[2] + 30;
      if (!ok) bad.push(`${r},${col} n=${n} rgb=${px}`);
    }));
    return bad;
  }, { counts, background });
}

const BG_DARK = [0x1f, 0x1f, 0x1f];

test('the confusion matrix at a chosen level shows the expected cells; hover and keys read them out', { skip }, async () => {
  const v = await open('dark');
  const { page } = v;
  // default: the coarsest level with something to confuse
  assert.equal(await page.inputValue('#level'), 'manufacturer');
  await page.selectOption('#level', 'family');
  const expected = rollUp(report.confusion, taxonomy, 'family');
  assert.equal(await page.getAttribute('#confusion', 'data-k'), String(expected.labels.length));
  assert.deepEqual(await matrixMismatches(page, expected.counts, BG_DARK), []);
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
  assert.deepEqual(await matrixMismatches(page, [[report.numImages]], BG_DARK), []);
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

test('the real CUB-200 hierarchy: the matrix rolled up to order, family and species shows exactly the non-empty cells', { skip }, async () => {
  const { taxonomy: cub, names } = cubTaxonomy(testData);
  const confusion = cubConfusion(cub);
  const correct = confusion.reduce((a, row, i) => a + row[i], 0);
  const total = confusion.length * 30;
  const cubReport = parseEvalReport(JSON.stringify({ split: 'test', num_images: total, top1: correct / total, classes: names, confusion, levels: cub.levels }));
  const v = await openWebview(getBrowser(), 'evalReport', { theme: 'dark', height: 1200 });
  await v.send({ type: 'report', run: { name: 'cub-rn50', dir: '/runs/cub-rn50' }, report: cubReport, taxonomy: cub, images: {} });
  const { page } = v;
  await page.waitForSelector('#confusion');
  assert.equal(await page.inputValue('#level'), 'order');
  for (const level of ['order', 'family', 'species']) {
    await page.selectOption('#level', level);
    const m = rollUp(cubReport.confusion, cub, level);
    assert.equal(await page.getAttribute('#confusion', 'data-k'), String(m.labels.length));
    assert.deepEqual(await matrixMismatches(page, m.counts, BG_DARK), [], level);
    // per-level accuracy computed in the page from the matrix (eval.json had none)
    assert.equal(await page.textContent(`#levels [data-level="${level}"]`), `${((m.correct / m.total) * 100).toFixed(1)}%`);
    if (level === 'family') {
      // the read-back tells matrices apart: the transposed matrix (errors mirrored) does not match
      const transposed = m.counts.map((row, r) => row.map((_n, c) => m.counts[c][r]));
      assert.ok((await matrixMismatches(page, transposed, BG_DARK)).length > 10);
    }
    if (level === 'family') await page.screenshot({ path: path.join(SHOTS, 'eval-cub-family-dark.png'), fullPage: false });
  }
  assert.deepEqual(v.errors, []);
  await page.close();
});
