// Browser tests of the dashboard webview in headless Chromium (see webview/harness.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SHOTS, canvasColorCount, canvasColorRight, useBrowser, openWebview } from './webview/harness';
import { runInfo, startEvent, trainingEvents } from './webview/fixtures';
import type { RunEvent } from '../../src/core/runs';

const { skip, browser: getBrowser } = useBrowser();

const BLUE_DARK: [number, number, number] = [0x37, 0x94, 0xff];

test('feeding events draws the loss curve (canvas pixels change) and updates progress, ETA and the log', { skip }, async () => {
  const v = await openWebview(getBrowser(), 'dashboard', { theme: 'dark' });
  const { page } = v;
  await v.send({ type: 'snapshot', run: runInfo('running'), events: [startEvent(), ...trainingEvents(0, 40)], log: ['[pscl-trainer] loading cache', '[pscl-trainer] epoch 1'], corruptLines: 0 });
  const lossCanvas = '#chart-loss canvas';
  await page.waitForSelector(lossCanvas);
  const before = await canvasColorCount(page, lossCanvas, BLUE_DARK);
  assert.ok(before > 50, `the train loss line is drawn (${before} px)`);
  const width = await page.$eval(lossCanvas, (c) => (c as HTMLCanvasElement).width);
  const rightBefore = await canvasColorRight(page, lossCanvas, BLUE_DARK);
  assert.equal(await page.textContent('#progress-text'), 'step 40 / 200 · epoch 1 / 4');
  assert.equal(await page.getAttribute('[role=progressbar]', 'aria-valuenow'), '20');
  assert.match((await page.textContent('#tile-eta')) ?? '', /4m 00s/);

  await v.send({ type: 'events', events: trainingEvents(40, 160) });
  await v.send({ type: 'log', lines: ['[pscl-trainer] epoch 2', '[pscl-trainer] epoch 3'] });
  // the x axis spans the 200 steps: the curve reaches about 1/5 of the plot, then about 4/5
  const rightAfter = await canvasColorRight(page, lossCanvas, BLUE_DARK);
  assert.ok(rightBefore > 0 && rightBefore < width * 0.35, `curve ends early at 40/200 steps (${rightBefore} of ${width})`);
  assert.ok(rightAfter > width * 0.65, `the curve grew to the right (${rightBefore} -> ${rightAfter} of ${width})`);
  assert.ok((await canvasColorCount(page, lossCanvas, BLUE_DARK)) > before, 'more of the curve is drawn');
  assert.equal(await page.textContent('#progress-text'), 'step 160 / 200 · epoch 4 / 4');
  // val accuracy appeared at each epoch end: the accuracy chart exists with its series
  const accLegend = await page.$$eval('#chart-accuracy .u-legend .u-series .u-label', (els) => els.map((e) => e.textContent));
  assert.deepEqual(accLegend.slice(1), ['train top-1', 'train stage 4', 'val top-1', 'val top-5']);
  assert.match((await page.textContent('#tile-best')) ?? '', /^Best top-1\d+\.\d%$/);
  assert.match((await page.textContent('#log')) ?? '', /epoch 3$/);
  assert.equal(await page.isVisible('#chart-resources'), true, 'GPU/CPU use is shown when events carry it');
  assert.equal(await page.isVisible('#weights-note'), false, 'no from-scratch warning for a run whose config names no "none" weights');
  assert.deepEqual(v.errors, [], 'no console errors or CSP violations');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-dark.png'), fullPage: true });
  await page.close();
});

test('a run whose backbone starts from scratch shows the warning; the preflight estimate is the device tooltip', { skip }, async () => {
  const v = await openWebview(getBrowser(), 'dashboard', { theme: 'light' });
  const { page } = v;
  const start = { ...startEvent(), config: { backbone: 'tiny_rn', backbone_weights: 'none' }, pretrained: { source: 'none', pretrained: false }, preflight: { summary: 'tiny_rn at 32 px, batch 16 on CPU: peak 330 MB of 19.8 GB free RAM, 0.45 s/step, 180 steps, ETA 1 min 21 s' } } as RunEvent;
  await v.send({ type: 'snapshot', run: runInfo('running'), events: [start, ...trainingEvents(0, 10)], log: [], corruptLines: 0 });
  await page.waitForSelector('#weights-note', { state: 'visible' });
  assert.match((await page.textContent('#weights-note')) ?? '', /^From scratch: backbone_weights is "none"/);
  assert.match((await page.getAttribute('#meta', 'title')) ?? '', /^Preflight: tiny_rn at 32 px, batch 16 on CPU: peak 330 MB/);
  // resumed with pretrained weights recorded: no warning
  await v.send({ type: 'events', events: [{ ...startEvent(), time: start.time + 100, pretrained: { source: 'imagenet', pretrained: true } } as RunEvent] });
  await page.waitForSelector('#weights-note', { state: 'hidden' });
  assert.deepEqual(v.errors, []);
  await page.close();
});

test('a panel reopened mid-run restores everything from the snapshot; buttons post messages; state is saved', { skip }, async () => {
  const events = [startEvent(), ...trainingEvents(0, 120)];
  const v = await openWebview(getBrowser(), 'dashboard', { theme: 'light', initialState: { runDir: '/work/runs/cub-rn50', hidden: ['loss:val loss'] } });
  const { page } = v;
  await v.send({ type: 'snapshot', run: runInfo('running'), events, log: ['line 1'], corruptLines: 0 });
  await page.waitForSelector('#chart-loss canvas');
  assert.equal(await page.textContent('#progress-text'), 'step 120 / 200 · epoch 3 / 4');
  // the series hidden before the reload stays hidden
  const off = await page.$$eval('#chart-loss .u-legend .u-series.u-off .u-label', (els) => els.map((e) => e.textContent));
  assert.deepEqual(off, ['val loss']);
  // the legend toggles by keyboard too, and the choice is kept in the webview state
  await page.focus('#chart-loss .u-legend .u-series:nth-child(2) th');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#chart-loss .u-legend .u-series:nth-child(2) th', 'aria-pressed'), 'false');
  assert.deepEqual(((await v.state()) as { hidden: string[] }).hidden.sort(), ['loss:train loss', 'loss:val loss']);
  await page.keyboard.press('Enter');
  await page.click('#stop');
  assert.equal(await page.isDisabled('#resume'), true);
  assert.deepEqual((await v.posted()).map((m) => m.type), ['ready', 'stop']);
  assert.equal((await v.state() as { runDir: string }).runDir, '/work/runs/cub-rn50');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-light.png'), fullPage: true });
  // a narrow panel beside an editor: charts stack and shrink, nothing overflows sideways
  await page.setViewportSize({ width: 520, height: 900 });
  await page.waitForFunction(() => (document.querySelector('#chart-loss canvas') as HTMLCanvasElement).getBoundingClientRect().width < 480);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 520), 'no horizontal scrolling');
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-narrow-light.png'), fullPage: false });
  await page.setViewportSize({ width: 1100, height: 900 });

  // the run then fails: the reason is shown as an alert
  await v.send({ type: 'events', events: [{ type: 'error', time: 2e9, kind: 'oom', message: 'CUDA out of memory at batch 16: lower batch_size in config.json' }, { type: 'end', time: 2e9, status: 'failed' }] });
  await v.send({ type: 'run', run: runInfo('failed', { status: { status: 'failed', elapsedS: 300, reason: 'CUDA out of memory at batch 16: lower batch_size in config.json' }, canResume: true }) });
  assert.equal(await page.textContent('#status'), 'failed');
  assert.match((await page.textContent('[role=alert]')) ?? '', /^Failed: CUDA out of memory/);
  assert.equal(await page.isDisabled('#stop'), true);
  assert.deepEqual(v.errors, []);
  await page.close();
});
