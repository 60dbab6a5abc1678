// E2E checks of training runs (issue 9) in the trusted run, on the sample workspace: Start
// Training from the palette (tiny config, CPU; the preflight estimate shown, the run learns the
// sample well above chance), the dashboard's loss curve fills (canvas pixels
// read back inside the webview), the evaluation report's confusion matrix, Classify Image, Stop
// from the dashboard and Resume, a SIGKILLed trainer marks its run failed with the reason, and a
// window reload restores the Runs view (and the dashboard) from disk.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PYTHON = process.env.PSCL_PYTHON || '/usr/bin/python3';

/** The page's frame inside the newest visible webview (two nested iframes). */
async function webviewFrame(page) {
  const outer = page.locator('iframe.webview.ready').last();
  await outer.waitFor({ timeout: 30000 });
  return (await outer.contentFrame()).frameLocator('iframe#active-frame');
}

/** Non-transparent pixels of a canvas, read inside the webview. */
async function inkedPixels(view, selector) {
  return view.locator(selector).first().evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
}

async function canvasData(view, selector) {
  return view.locator(selector).first().evaluate((c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data));
}

function differing(a, b) {
  if (a.length !== b.length) return Math.max(a.length, b.length) / 4;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2] || a[i + 3] !== b[i + 3]) n++;
  return n;
}

async function until(what, fn, timeout = 60000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn().catch((e) => e);
    if (last === true) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what}: not within ${timeout / 1000} s (last: ${last instanceof Error ? last.message : last})`);
}

function runsPane(page) {
  return page.locator('.pane', { has: page.locator('.pane-header', { hasText: /^\s*runs/i }) }).first();
}

async function runsText(page) {
  return (await runsPane(page).locator('.monaco-list').first().innerText().catch(() => '')).replace(/\s+/g, ' ');
}

async function focusRuns(page) {
  // retried: right after a reload the palette may not list view commands yet
  for (let attempt = 0; ; attempt++) {
    try {
      await page.keyboard.press('F1');
      const input = page.locator('.quick-input-widget input');
      await input.fill('>Focus on Runs View');
      await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Focus on Runs View' }).first().waitFor({ timeout: 10000 });
      await page.keyboard.press('Enter');
      await runsPane(page).waitFor({ timeout: 10000 });
      return;
    } catch (err) {
      await page.keyboard.press('Escape');
      if (attempt === 3) throw err;
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

async function readEvents(runDir) {
  const file = path.join(runDir, 'events.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l); } catch { return {}; } });
}

/**
 * @param {{ page: import('playwright-core').Page, workspace: string, root: string, shots: string,
 *   check: (name: string, fn: () => Promise<void>) => Promise<void>, runCommand: Function, pick: Function, log: Function }} t
 */
export async function runsChecks({ page, workspace, shots, check, runCommand, pick, log }) {
  // The trainer's interpreter: a workspace setting (read when a command runs); keep the others.
  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  mkdirSync(path.dirname(settingsFile), { recursive: true });
  const settings = existsSync(settingsFile) ? JSON.parse(readFileSync(settingsFile, 'utf8')) : {};
  writeFileSync(settingsFile, JSON.stringify({ ...settings, 'pscl.python': PYTHON, 'pscl.clip.model': 'demo' }, null, 2));
  const runsDir = path.join(workspace, 'runs');
  const runA = path.join(runsDir, 'e2e-a');
  const runB = path.join(runsDir, 'e2e-b');
  const input = page.locator('.quick-input-widget input');

  async function startTraining(name, epochs, where = 'CPU') {
    // several project files by now (the import check adds one): the active editor's is trained
    // (F1 rather than Ctrl+P: an image preview with focus keeps Ctrl+P to itself)
    await runCommand(page, 'Go to File...');
    await input.fill('tiny-birds.pscl.json');
    await page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: /^\s*tiny-birds\.pscl\.json\s*$/ }) }).first().click();
    await page.locator('.tab.active', { hasText: 'tiny-birds.pscl.json' }).first().waitFor({ timeout: 10000 });
    await runCommand(page, 'PSCL: Start Training...');
    const first = page.locator('.quick-input-widget', { hasText: 'Start Training (1/4)' });
    await first.waitFor({ timeout: 15000 });
    await input.fill('tiny');
    await page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: /^\s*tiny\s*$/ }) }).first().click();
    await page.locator('.quick-input-widget', { hasText: 'Start Training (2/4)' }).waitFor({ timeout: 10000 });
    if (epochs !== undefined) await input.fill(String(epochs)); // else the preset's own
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget', { hasText: 'Start Training (3/4)' }).waitFor({ timeout: 10000 });
    await input.fill(name);
    await page.keyboard.press('Enter');
    // after the Python check: this machine (CPU here) or a SLURM script
    await page.locator('.quick-input-widget', { hasText: 'Start Training: where' }).waitFor({ timeout: 60000 });
    await input.fill(where);
    await page.locator('.quick-input-list .monaco-list-row', { has: page.locator('.label-name', { hasText: where }) }).first().click();
    if (where !== 'CPU') return; // the SLURM export asks its own questions and starts nothing
    // after the Python check and the cache: the preflight estimate, shown before anything starts
    const estimate = page.locator('.quick-input-widget', { hasText: 'Start Training (4/4)' });
    await estimate.waitFor({ timeout: 180000 });
    const text = (await estimate.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /tiny_rn at \d+ px, batch \d+ on CPU: peak \d+ MB of [\d.]+ GB free RAM, [\d.]+ s\/step, \d+ steps, ETA/, `the estimate is shown: ${text}`);
    assert.match(text, /trains from scratch/, `the from-scratch warning is shown: ${text}`);
    if (name === 'e2e-a') await page.screenshot({ path: path.join(shots, 'runs-estimate.png') });
    // the mouse rests where the previous step's row was: the long estimate row under it opens a
    // hover that takes the click (seen), so move it off the list first
    await page.mouse.move(5, 5);
    await page.waitForTimeout(300);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Start training' }).first().click();
  }

  await runCommand(page, 'View: Hide Panel').catch(() => page.keyboard.press('Escape'));

  await check('Start Training from the palette (tiny preset as it is, CPU): cache, estimate, trainer, dashboard with the loss curve; the run learns the sample and finishes with model.onnx', async () => {
    await startTraining('e2e-a');
    // env check + cache build (demo CLIP, 72 images) + training: the dashboard opens on start
    await until('run.lock or events of e2e-a', async () => existsSync(path.join(runA, 'events.jsonl')), 180000);
    const view = await webviewFrame(page);
    await view.locator('#status').waitFor({ timeout: 30000 });
    await until('e2e-a finished on the dashboard', async () => (await view.locator('#status').textContent()) === 'finished', 420000);
    // it learned: 6 classes told apart by the head colour, chance is 16.7 %
    const evalJson = JSON.parse(readFileSync(path.join(runA, 'eval.json'), 'utf8'));
    log(`e2e-a: test top-1 ${(evalJson.top1 * 100).toFixed(1)}% (${evalJson.num_images} images)`);
    assert.ok(evalJson.top1 >= 0.6, `the tiny preset learns the sample: test top-1 ${evalJson.top1} (chance 0.167)`);
    assert.ok(await view.locator('#weights-note').isVisible(), 'the dashboard says the tiny backbone trains from scratch');
    await view.locator('#chart-loss canvas').first().waitFor({ timeout: 20000 });
    const ink = await inkedPixels(view, '#chart-loss canvas');
    assert.ok(ink > 100, `the loss chart is drawn (${ink} pixels)`);
    await until('model.onnx exported after the finish', async () => existsSync(path.join(runA, 'model.onnx')), 120000);
    await focusRuns(page);
    await until('the Runs view shows e2e-a finished', async () => /e2e-a\s*finished · (\d+h \d+m|(\d+m )?\d+s) · best \d+\.\d%/.test(await runsText(page)), 30000);
    await page.screenshot({ path: path.join(shots, 'runs-dashboard-finished.png') });
  });

  await check('the evaluation report of e2e-a shows the confusion matrix (canvas pixels) and accuracy per level', async () => {
    await runCommand(page, 'PSCL: Open Evaluation Report');
    await pick(page, 'e2e-a');
    const view = await webviewFrame(page);
    await view.locator('#confusion').waitFor({ timeout: 30000 });
    await until('the matrix is drawn', async () => (await inkedPixels(view, '#confusion')) > 100, 20000);
    const levels = (await view.locator('#levels').innerText()).replace(/\s+/g, ' ');
    for (const l of ['coarse', 'order', 'family', 'genus', 'species']) assert.ok(levels.includes(l), `accuracy per level lists ${l}: ${levels}`);
    await page.screenshot({ path: path.join(shots, 'runs-eval-report.png') });
  });

  await check('Classify Image on an open dataset image: top-5 classes with taxonomy paths', async () => {
    await runCommand(page, 'Go to File...');
    await input.fill('Red_crowned_Finch_0001.jpg');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Red_crowned_Finch_0001.jpg' }).first().click();
    await page.locator('.tab', { hasText: 'Red_crowned_Finch_0001.jpg' }).first().waitFor({ timeout: 10000 });
    await runCommand(page, 'PSCL: Classify Image');
    await pick(page, 'e2e-a');
    await page.locator('.quick-input-widget', { hasText: 'Red_crowned_Finch_0001.jpg: top 5' }).waitFor({ timeout: 60000 });
    const rows = await page.locator('.quick-input-list .monaco-list-row').allInnerTexts();
    assert.equal(rows.length, 5, `five predictions: ${rows.join(' | ')}`);
    for (const [i, r] of rows.entries()) assert.match(r.replace(/\s+/g, ' '), new RegExp(`^${i + 1}\\. [A-Z][a-z]+ crowned \\w+ ?\\d+\\.\\d% · bird › \\w+iformes › \\w+ › \\w+ › [A-Z]`), `row ${i + 1} has a probability and the taxonomy path: ${r}`);
    await page.screenshot({ path: path.join(shots, 'runs-classify.png') });
    await page.keyboard.press('Escape');
  });

  await check('Start Training offers Export as SLURM job: the sbatch script (nodes, GPUs, cache, run folder) is written into the run folder and opened; nothing starts', async () => {
    await startTraining('e2e-slurm', 3, 'Export as SLURM job');
    const runDir = path.join(runsDir, 'e2e-slurm');
    await page.locator('.quick-input-widget', { hasText: 'Export as SLURM job (1/2)' }).waitFor({ timeout: 10000 });
    await input.fill('3');
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget', { hasText: 'Export as SLURM job (2/2)' }).waitFor({ timeout: 10000 });
    await input.fill('2');
    await page.keyboard.press('Enter');
    const file = path.join(runDir, 'slurm-train.sbatch');
    await until('slurm-train.sbatch written', async () => existsSync(file), 120000);
    const script = readFileSync(file, 'utf8');
    assert.match(script, /^#SBATCH --nodes=3$/m);
    assert.match(script, /^#SBATCH --gpus-per-node=2$/m);
    assert.match(script, /--nnodes=3 --nproc_per_node=2 --rdzv_backend=c10d/);
    assert.ok(script.includes(`\nRUN_DIR=${runDir}\n`), 'the run folder');
    assert.match(script, /\nCACHE=\S+\.pscl-cache\S+\n/, 'the cache the extension built');
    assert.ok(script.includes(`--config ${path.join(runDir, 'train-config.json')}`), 'the run\'s config');
    await page.locator('.tab.active', { hasText: 'slurm-train.sbatch' }).first().waitFor({ timeout: 10000 });
    assert.ok(!existsSync(path.join(runDir, 'events.jsonl')) && !existsSync(path.join(runDir, 'run.lock')), 'no trainer was started');
    await page.screenshot({ path: path.join(shots, 'runs-slurm-export.png') });
  });

  await check('a longer run: the dashboard curve fills as it trains; Stop (dashboard) checkpoints, Resume (palette) continues', async () => {
    await startTraining('e2e-b', 400);
    await until('e2e-b started', async () => (await readEvents(runB)).some((e) => e.type === 'progress'), 180000);
    const view = await webviewFrame(page);
    await view.locator('#chart-loss canvas').first().waitFor({ timeout: 30000 });
    const stepOf = async () => Math.max(0, ...(await readEvents(runB)).filter((e) => e.type === 'progress').map((e) => e.step));
    const first = await canvasData(view, '#chart-loss canvas');
    const s0 = await stepOf();
    await until('more steps', async () => (await stepOf()) >= s0 + 10, 120000);
    await until('the loss chart changes as steps arrive', async () => differing(first, await canvasData(view, '#chart-loss canvas')) > 0, 20000);
    log(`e2e-b: the loss chart changed between step ${s0} and ${await stepOf()}`);
    await page.screenshot({ path: path.join(shots, 'runs-dashboard-running.png') });
    await until('Stop enabled', async () => !(await view.locator('#stop').isDisabled()), 20000);
    await view.locator('#stop').click();
    await until('e2e-b stopped', async () => (await readEvents(runB)).filter((e) => e.type === 'end').pop()?.status === 'stopped' && !existsSync(path.join(runB, 'run.lock')), 60000);
    assert.ok(existsSync(path.join(runB, 'checkpoints', 'last.json')), 'a checkpoint was saved on stop');
    await until('the dashboard says stopped', async () => (await view.locator('#status').textContent()) === 'stopped', 20000);
    await focusRuns(page);
    await until('the Runs view shows e2e-b stopped', async () => /e2e-b\s*stopped/.test(await runsText(page)), 30000);
    await page.screenshot({ path: path.join(shots, 'runs-stopped.png') });
    const stoppedAt = await stepOf();
    await runCommand(page, 'PSCL: Resume Run');
    await pick(page, 'e2e-b');
    await until('e2e-b running again past its stop', async () => (await readEvents(runB)).filter((e) => e.type === 'start').length === 2 && (await stepOf()) > stoppedAt, 120000);
    await until('the Runs view shows e2e-b running', async () => /e2e-b\s*running/.test(await runsText(page)), 30000);
  });

  await check('SIGKILL of the trainer marks the run failed with the reason (view, dashboard, events)', async () => {
    const lock = JSON.parse(readFileSync(path.join(runB, 'run.lock'), 'utf8'));
    process.kill(lock.pid, 'SIGKILL');
    await until('e2e-b failed in events.jsonl', async () => (await readEvents(runB)).filter((e) => e.type === 'end').pop()?.status === 'failed', 30000);
    const err = (await readEvents(runB)).filter((e) => e.type === 'error').pop();
    assert.match(err.message, /killed by SIGKILL/, `the reason names the signal: ${err.message}`);
    await until('the Runs view shows e2e-b failed', async () => /e2e-b\s*failed/.test(await runsText(page)), 30000);
    const view = await webviewFrame(page);
    await until('the dashboard shows the reason', async () => /SIGKILL/.test((await view.locator('#error').textContent()) ?? ''), 20000);
    await page.screenshot({ path: path.join(shots, 'runs-failed.png') });
  });

  await check('reloading the window restores the Runs view from disk (and the dashboard panel)', async () => {
    await page.reload();
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    await page.locator('.activitybar').getByRole('tab', { name: /PSCL Studio/ }).first().click().catch(() => {});
    await focusRuns(page);
    await until('both runs listed with their status', async () => {
      const t = await runsText(page);
      return /e2e-a\s*finished/.test(t) && /e2e-b\s*failed/.test(t) ? true : t;
    }, 60000);
    await page.locator('.tab', { hasText: /Training: e2e-b|Evaluation: e2e-a/ }).first().waitFor({ timeout: 30000 });
    await page.screenshot({ path: path.join(shots, 'runs-reloaded.png') });
  });
}
