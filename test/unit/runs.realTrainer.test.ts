// The launcher and the run model against the real trainer (trainer/pscl_trainer) on a generated
// tiny cache, on CPU: stop (checkpoint, "stopped"), resume to the end, and eval.json read back
// with per-level accuracies recomputed here from the confusion matrix.
import { test, after } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { DashboardFeed } from '../../src/core/runs/dashboardFeed';
import { ORIGIN, SHOTS, canvasColorCount, openWebview, useBrowser } from './webview/harness';
import os from 'node:os';
import path from 'node:path';
import { TrainerProcess, trainArgs } from '../../src/core/runs/launch';
import { readEvaluation, readRun } from '../../src/core/runs/folder';
import { levelAccuracies } from '../../src/core/runs/confusion';
import { groupAlive } from '../../src/core/runs/lock';
import type { RunEvent } from '../../src/core/runs/events';

const ROOT = path.resolve(__dirname, '../..');
const PYTHON = process.env.PSCL_PYTHON || '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision, numpy, PIL'], { stdio: 'ignore' }).status === 0;
const skip = hasTorch ? false : `${PYTHON} has no torch/torchvision`;
const { skip: noBrowser, browser } = useBrowser();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pscl-real-trainer-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('real trainer: stop after the first epoch -> stopped with a checkpoint; resume -> finished; eval.json read back', { skip, timeout: 150_000 }, async () => {
  const cache = execFileSync(PYTHON, [path.join(ROOT, 'trainer/tests/fixtures.py'), tmp], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const runDir = path.join(tmp, 'runs', 'tiny');
  const base = { python: PYTHON, trainerPath: path.join(ROOT, 'trainer'), runDir, env: { OMP_NUM_THREADS: '1' } };
  const settings = { epochs: 2, log_every: 1 };
  const events: RunEvent[] = [];
  const t1 = await TrainerProcess.start({ ...base, args: trainArgs({ cache, runDir, config: 'tiny', device: 'cpu', set: settings }) }, { onEvent: (e) => events.push(e) });
  while (!events.some((e) => e.type === 'checkpoint')) {
    if (events.some((e) => e.type === 'end')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const first = await t1.stop(60_000);
  assert.equal(first.status, 'stopped', `stopped, not ${first.status}: ${first.reason}`);
  assert.equal(groupAlive(t1.pid), false);
  let run = await readRun(runDir);
  assert.equal(run.status.status, 'stopped');
  assert.equal(run.hasCheckpoint, true);
  const stoppedAt = run.progress.step!;
  assert.ok(stoppedAt >= 6 && stoppedAt < 12, `stopped mid-run at step ${stoppedAt}`);

  const t2 = await TrainerProcess.start({ ...base, args: trainArgs({ runDir, config: 'tiny', device: 'cpu', set: settings, resume: true }) });
  const second = await t2.exited;
  assert.equal(second.status, 'finished', second.reason);
  run = await readRun(runDir);
  assert.equal(run.status.status, 'finished');
  assert.equal(run.progress.starts, 2);
  assert.equal(run.progress.step, 12);
  assert.equal(run.corrupt.length, 0);
  assert.equal(typeof run.progress.bestTop1, 'number');

  const { report, taxonomy, taxonomySource } = await readEvaluation(runDir);
  assert.equal(taxonomySource, 'run-config');
  assert.deepEqual(taxonomy.levels, ['coarse', 'tone', 'fine']);
  assert.equal(report.numImages, 32);
  const mine = levelAccuracies(report.confusion, taxonomy);
  for (const level of taxonomy.levels) assert.ok(Math.abs(mine[level] - report.perLevel[level]) < 1e-9, `${level}: ${mine[level]} vs ${report.perLevel[level]}`);
  assert.ok(Math.abs(mine.fine - report.top1) < 1e-9);
  assert.ok(report.wrong.every((w, i) => i === 0 || report.wrong[i - 1].confidence >= w.confidence));
  if (noBrowser) return;

  // the dashboard of this real run, as a reopened panel gets it: curves drawn, progress complete
  const dash = await openWebview(browser(), 'dashboard', { theme: 'dark' });
  await dash.send(await new DashboardFeed(runDir).snapshot());
  await dash.page.waitForSelector('#chart-loss canvas');
  assert.equal(await dash.page.textContent('#progress-text'), 'step 12 / 12 · epoch 2 / 2');
  assert.ok((await canvasColorCount(dash.page, '#chart-loss canvas', [0x37, 0x94, 0xff])) > 50);
  assert.equal(await dash.page.textContent('#status'), 'finished');
  assert.deepEqual(dash.errors, []);
  await dash.page.screenshot({ path: path.join(SHOTS, 'real-dashboard-dark.png'), fullPage: true });
  await dash.page.close();

  // its evaluation, with the dataset's images and the cache's part masks
  const manifest = JSON.parse(readFileSync(path.join(cache, 'manifest.json'), 'utf8')) as { datasetRoot: string; images: Array<{ key: string; mask?: string }> };
  const files: Record<string, [string, Buffer]> = {};
  const images: Record<string, { image?: string; mask?: string }> = {};
  for (const w of report.wrong) {
    const mask = manifest.images.find((im) => im.key === w.key)?.mask;
    files[`/data/${w.key}.png`] = ['image/png', readFileSync(path.join(manifest.datasetRoot, w.path))];
    if (mask && existsSync(path.join(cache, mask))) files[`/masks/${w.key}.png`] = ['image/png', readFileSync(path.join(cache, mask))];
    images[w.key] = { image: `${ORIGIN}/data/${w.key}.png`, mask: files[`/masks/${w.key}.png`] ? `${ORIGIN}/masks/${w.key}.png` : undefined };
  }
  const ev = await openWebview(browser(), 'evalReport', { theme: 'light', files });
  await ev.send({ type: 'report', run: { name: 'tiny', dir: runDir }, report, taxonomy, images });
  await ev.page.waitForSelector('#confusion');
  assert.equal(await ev.page.inputValue('#level'), 'tone');
  assert.equal(await ev.page.getAttribute('#confusion', 'data-k'), '2');
  assert.equal(await ev.page.$$eval('#class-rows tr', (r) => r.length), report.classes.length);
  const withMask = Object.values(images).filter((i) => i.mask).length;
  assert.ok(withMask > 0);
  await ev.page.waitForFunction((n) => document.querySelectorAll('#gallery canvas.mask').length === n, withMask);
  assert.equal(await ev.page.$$eval('th button[data-key="top5"]', (b) => b.length), 0, 'no Top-5 column when eval.json has no per-class top-5');
  assert.deepEqual(ev.errors, []);
  await ev.page.screenshot({ path: path.join(SHOTS, 'real-eval-light.png'), fullPage: true });
  await ev.page.close();
});
