// End-to-end tests in a real VS Code (code-server 4.100.3 + headless Chromium, docs/e2e.md):
// builds the VSIX, installs it, opens a copy of samples/tiny-birds, drives the UI, and saves
// screenshots to out/e2e/. Run twice: trusted, and in Restricted Mode.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  buildVsix,
  chromiumPath,
  codeServerInstalled,
  foreignExtensionHostChildren,
  root,
  sessionProcesses,
  sleep,
  startCodeServer,
} from './codeServer.mjs';
import { previewChecks } from './checks/preview.mjs';
import { llmChecks } from './checks/llm.mjs';
import { runsChecks } from './checks/runs.mjs';
import { qualityChecks } from './checks/quality.mjs';
import { walkthroughChecks } from './checks/walkthrough.mjs';
import { datasetChecks } from './checks/dataset.mjs';

const SAMPLE = path.join(root, 'samples', 'tiny-birds');
const PROJECT = 'tiny-birds.pscl.json';
const shots = path.join(root, 'out', 'e2e');
const started = Date.now();
const log = (m) => console.log(`[e2e ${((Date.now() - started) / 1000).toFixed(1)}s] ${m}`);

if (!codeServerInstalled()) {
  console.log('e2e: SKIPPED (code-server is not installed in .e2e/tools: run scripts/e2e-setup.sh)');
  process.exit(0);
}
mkdirSync(shots, { recursive: true });
for (const f of readdirSync(shots)) if (f.endsWith('.png')) rmSync(path.join(shots, f));

// PSCL_E2E_GROUPS=preview,... runs only those groups of checks after the taxonomy ones (to iterate
// on one area); unset, every group runs.
const groups = process.env.PSCL_E2E_GROUPS?.split(',').map((g) => g.trim()).filter(Boolean);
const wants = (group) => !groups || groups.includes(group);

const results = [];
let currentPage;
async function check(name, fn) {
  const t = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - t });
    log(`PASS ${name}`);
  } catch (err) {
    results.push({ name, ok: false, ms: Date.now() - t, error: String(err?.stack ?? err) });
    log(`FAIL ${name}\n${err?.stack ?? err}`);
    await currentPage?.screenshot({ path: path.join(shots, `failed-${results.length}.png`) }).catch(() => {});
    await currentPage?.keyboard.press('Escape').catch(() => {});
  }
}

// ---------------------------------------------------------------------------------------------
// UI helpers

async function openWorkbench(browser, server) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => log(`page error: ${e.message}`));
  await page.goto(server.url);
  await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
  currentPage = page;
  return page;
}

async function openTaxonomy(page) {
  await page.locator('.activitybar').getByRole('tab', { name: /PSCL Studio/ }).first().click();
  await page.getByRole('treeitem', { name: /Tiny Birds/ }).first().waitFor({ timeout: 30000 });
}

function treeRow(page, name) {
  return page.locator('.pane-body').getByRole('treeitem', { name }).first();
}

async function expand(page, name) {
  const row = treeRow(page, name);
  await row.waitFor({ timeout: 15000 });
  if ((await row.getAttribute('aria-expanded')) === 'false') await row.click();
  await page.waitForFunction((el) => el.getAttribute('aria-expanded') === 'true', await row.elementHandle(), { timeout: 10000 });
}

async function runCommand(page, title, { prefix = false } = {}) {
  const input = page.locator('.quick-input-widget input');
  await page.keyboard.press('F1');
  // A focused image preview (a webview) can swallow F1: give the workbench focus and ask again.
  if (!(await input.waitFor({ state: 'visible', timeout: 3000 }).then(() => true, () => false))) {
    await page.locator('.part.sidebar .composite.title').first().click();
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible' });
  }
  await input.fill(`>${title}`);
  // Click the row with exactly this label (Enter would take whatever ranks first).
  const exact = new RegExp(`^\\s*${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${prefix ? '' : '\\s*$'}`);
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exact }) }).first();
  await row.waitFor({ timeout: 10000 });
  await row.click();
}

/** Picks the first quick-pick row containing `text` (typing it to filter first). */
async function pick(page, text) {
  const input = page.locator('.quick-input-widget input');
  await input.fill(text);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first().waitFor({ timeout: 10000 });
  await page.keyboard.press('Enter');
}

async function treeText(page) {
  return (await page.locator('.pane-body .monaco-list').first().innerText()).replace(/\s+/g, ' ');
}

async function waitFile(file, predicate, what) {
  const until = Date.now() + 15000;
  let text = '';
  while (Date.now() < until) {
    text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (predicate(text)) return text;
    await sleep(200);
  }
  throw new Error(`${what}: ${file} did not change as expected; it holds:\n${text}`);
}

const codeServerDir = realpathSync(path.join(root, '.e2e', 'tools', 'node_modules', 'code-server'));

// ---------------------------------------------------------------------------------------------

async function trustedRun(browser, vsix) {
  const server = await startCodeServer({ vsix, sample: SAMPLE, trusted: true, log });
  try {
    const page = await openWorkbench(browser, server);
    const file = path.join(server.workspace, PROJECT);
    const original = readFileSync(file);

    await check('the PSCL Studio container shows the taxonomy with the sample\'s levels', async () => {
      await openTaxonomy(page);
      await expand(page, /^bird/);
      await expand(page, /^Passeriformes/);
      await expand(page, /^Fringillidae/);
      await expand(page, /^Pictofringilla/);
      await treeRow(page, /Red crowned Finch/).waitFor();
      const text = await treeText(page);
      for (const s of ['Tiny Birds', 'coarse', 'order', 'family', 'genus', 'Passeriformes', 'Charadriiformes', 'Red crowned Finch']) assert.ok(text.includes(s), `tree shows '${s}': ${text}`);
      assert.match(text, /order · 4 classes · \d+ images/, 'value rows show class and image counts');
      await page.screenshot({ path: path.join(shots, 'taxonomy.png') });
    });

    await check('renaming a class through the palette changes the file; undo restores it byte for byte', async () => {
      await runCommand(page, 'PSCL: Rename...');
      await pick(page, 'Red crowned Finch');
      const input = page.locator('.quick-input-widget input');
      await page.locator('.quick-input-widget', { hasText: 'Rename class 1' }).waitFor();
      await input.fill('Scarlet crowned Finch');
      await page.keyboard.press('Enter');
      await treeRow(page, /Scarlet crowned Finch/).waitFor({ timeout: 10000 });
      await page.screenshot({ path: path.join(shots, 'renamed.png') });
      await runCommand(page, 'File: Save');
      // Only the name changed: the rest of the file, formatting included, is the same. (Polled:
      // VS Code writes the file in place, so a read can catch it half written.)
      const expected = original.toString('utf8').replace('"Red crowned Finch"', '"Scarlet crowned Finch"');
      await waitFile(file, (t) => t === expected, 'save after rename: only the class name changes');
      await page.locator('.editor-group-container .monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+z');
      await runCommand(page, 'File: Save');
      await waitFile(file, (t) => t === original.toString('utf8'), 'save after undo: the original text');
      assert.ok(readFileSync(file).equals(original), 'file bytes after undo equal the original');
      await treeRow(page, /Red crowned Finch/).waitFor({ timeout: 10000 });
    });

    await check('dragging a class onto another family moves it there (with that family\'s order)', async () => {
      await expand(page, /^Charadriiformes/);
      await expand(page, /^Laridae/);
      await expand(page, /^Pictolarus/);
      // Native HTML5 drag: press, move in steps (VS Code starts the drag on movement), release.
      const from = await treeRow(page, /White crowned Gull/).boundingBox();
      const to = await treeRow(page, /^Parulidae/).boundingBox();
      await page.mouse.move(from.x + 60, from.y + from.height / 2);
      await page.mouse.down();
      await page.mouse.move(from.x + 70, from.y + from.height / 2 - 5, { steps: 5 });
      await page.mouse.move(to.x + 60, to.y + to.height / 2, { steps: 15 });
      await sleep(300);
      await page.mouse.up();
      // The drop applies a WorkspaceEdit; the tree follows the document.
      await treeRow(page, /^Parulidae.*3 classes/).waitFor({ timeout: 10000 });
      await runCommand(page, 'File: Save');
      const lines = original.toString('utf8').split('\n');
      const moved = await waitFile(file, (t) => /"White crowned Gull", "path": \{ "coarse": "bird", "order": "Passeriformes", "family": "Parulidae"/.test(t) && t.split('\n').length === lines.length, 'drag and drop');
      const changed = moved.split('\n').filter((l, i) => l !== lines[i]);
      assert.equal(changed.length, 1, `exactly the moved class's line changed: ${changed.join('\n')}`);
      await page.screenshot({ path: path.join(shots, 'dragged.png') });
      // Back to the original for the next checks.
      await page.locator('.editor-group-container .monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+z');
      await runCommand(page, 'File: Save');
      await waitFile(file, (t) => t === original.toString('utf8'), 'undo of the move');
    });

    await check('the filter narrows the tree to matches', async () => {
      await runCommand(page, 'PSCL: Filter Taxonomy...');
      await page.locator('.quick-input-widget', { hasText: 'Filter Taxonomy' }).waitFor();
      await page.locator('.quick-input-widget input').fill('gull');
      await page.keyboard.press('Enter');
      let text = '';
      for (const until = Date.now() + 10000; Date.now() < until; await sleep(200)) {
        text = await treeText(page);
        if (!text.includes('Finch')) break;
      }
      assert.ok(!text.includes('Finch'), `no Finch left after filtering for gull: ${text}`);
      assert.ok(text.includes('White crowned Gull') && text.includes('Black crowned Gull'), `both gulls shown, their branches open: ${text}`);
      await page.screenshot({ path: path.join(shots, 'filter.png') });
      await runCommand(page, 'PSCL: Clear Taxonomy Filter');
      await treeRow(page, /^bird/).waitFor({ timeout: 10000 });
    });

    await check('the import wizard writes a new project file from a dataset folder', async () => {
      await runCommand(page, 'PSCL: New Project from Dataset...');
      await pick(page, 'cub');
      // code-server's folder picker is VS Code's simple file dialog: a quick input with a path.
      const input = page.locator('.quick-input-widget input');
      await page.locator('.quick-input-widget', { hasText: 'the dataset folder' }).waitFor({ timeout: 10000 });
      // The dialog fills in its start folder asynchronously: type only after it has.
      await page.waitForFunction((ws) => document.querySelector('.quick-input-widget input')?.value === ws + '/', server.workspace, { timeout: 10000 });
      await input.fill(path.join(server.workspace, 'CUB_tiny') + '/');
      await sleep(500);
      await page.locator('.quick-input-widget .monaco-button', { hasText: 'Use this dataset' }).first().click();
      await page.locator('.quick-input-widget', { hasText: 'project file' }).waitFor({ timeout: 10000 });
      assert.equal(await input.inputValue(), path.join(server.workspace, 'cub-tiny.pscl.json'));
      await page.keyboard.press('Enter');
      const created = path.join(server.workspace, 'cub-tiny.pscl.json');
      await waitFile(created, (t) => t.includes('"format": "cub"'), 'import wizard');
      await treeRow(page, /CUB_tiny|cub-tiny/).waitFor({ timeout: 15000 });
      await page.screenshot({ path: path.join(shots, 'imported.png') });
    });

    await check('a broken project file shows its error in Problems', async () => {
      // Written from outside VS Code: the file watcher must pick it up.
      writeFileSync(path.join(server.workspace, 'broken.pscl.json'), '{\n  "version": 1,\n  "name": "Broken"\n  "levels": []\n}\n');
      await treeRow(page, /Broken/).waitFor({ timeout: 15000 });
      await runCommand(page, 'View: Focus Problems', { prefix: true });
      const panel = page.locator('.markers-panel');
      await panel.waitFor({ timeout: 10000 });
      await page.waitForFunction(() => /broken\.pscl\.json/.test(document.querySelector('.markers-panel')?.textContent ?? ''), null, { timeout: 15000 });
      const text = await panel.innerText();
      assert.match(text, /syntax error: expected ','/, `Problems shows the syntax error: ${text}`);
      await page.screenshot({ path: path.join(shots, 'problems.png') });
    });
    if (wants('preview')) await previewChecks({ page, workspace: server.workspace, root, shots, check, runCommand, pick, log });
    if (wants('llm')) await llmChecks({ page, workspace: server.workspace, userData: server.userData, shots, check, runCommand, pick, log, treeRow, expand, treeText, waitFile, extensionLog: () => findExtensionLog(server.userData) });
    if (wants('quality')) await qualityChecks({ page, workspace: server.workspace, userData: server.userData, root, shots, check, runCommand, pick, log, waitFile });
    if (wants('runs')) await runsChecks({ page, workspace: server.workspace, root, shots, check, runCommand, pick, log });
    if (wants('dataset')) await datasetChecks({ page, workspace: server.workspace, root, shots, check, runCommand, pick, log });
  } finally {
    await server.stop();
  }
}

async function restrictedRun(browser, vsix) {
  const server = await startCodeServer({ vsix, sample: SAMPLE, trusted: false, log });
  // Sample the session's processes all along the run, not only at the end: a short-lived
  // process would slip past a single snapshot.
  const seen = new Map();
  let samples = 0;
  const sampler = setInterval(() => {
    samples++;
    for (const p of foreignExtensionHostChildren(sessionProcesses(server.pgid), codeServerDir).foreign) seen.set(p.pid, p);
  }, 100);
  try {
    const page = await openWorkbench(browser, server);
    await check('Restricted Mode: the tree shows the taxonomy', async () => {
      await page.getByText('Restricted Mode').first().waitFor({ timeout: 20000 });
      await openTaxonomy(page);
      await expand(page, /^bird/);
      await expand(page, /^Charadriiformes/);
      // Children render after the row says it is expanded: wait for one before reading the text.
      await treeRow(page, /^Laridae/).waitFor({ timeout: 15000 });
      const text = await treeText(page);
      for (const s of ['Tiny Birds', 'coarse', 'order', 'Charadriiformes', 'Laridae']) assert.ok(text.includes(s), `tree shows '${s}': ${text}`);
      await page.screenshot({ path: path.join(shots, 'restricted.png') });
    });
    await check('Restricted Mode: validation works (a broken file reaches Problems)', async () => {
      writeFileSync(path.join(server.workspace, 'broken.pscl.json'), '{ "version": 1, "name": "Broken", }');
      await runCommand(page, 'View: Focus Problems', { prefix: true });
      await page.waitForFunction(() => /broken\.pscl\.json/.test(document.querySelector('.markers-panel')?.textContent ?? ''), null, { timeout: 15000 });
    });
    await check('Restricted Mode: the extension runs no process', async () => {
      const processes = sessionProcesses(server.pgid);
      const { hosts, foreign } = foreignExtensionHostChildren(processes, codeServerDir);
      log(`${processes.length} processes in the code-server session:\n  ${processes.map((p) => `${p.pid}<${p.ppid} ${p.cmd.slice(0, 160)}`).join('\n  ')}`);
      assert.equal(hosts, 1, `one extension host in the session: ${JSON.stringify(processes, null, 1)}`);
      assert.deepEqual(foreign, [], 'no process below the extension host other than code-server\'s own');
      assert.deepEqual([...seen.values()], [], `none in any of the ${samples} samples taken during the run either`);
      log(`${samples} process samples during the Restricted Mode run: nothing foreign`);
      const logText = findExtensionLog(server.userData);
      assert.match(logText, /activated: 1 project file\(s\), workspace in Restricted Mode/, 'the extension did activate in Restricted Mode');
    });
  } finally {
    clearInterval(sampler);
    await server.stop();
  }
}

async function firstRun(browser, vsix) {
  // A fresh profile and an empty window, with walkthroughs allowed to open by themselves.
  const server = await startCodeServer({ vsix, trusted: true, log, settings: { 'workbench.welcomePage.walkthroughs.openOnInstall': true } });
  try {
    const page = await openWorkbench(browser, server);
    await walkthroughChecks({ page, server, shots, check, runCommand, log });
  } finally {
    await server.stop();
  }
}

function findExtensionLog(userData) {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSafe(dir)) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/PSCL\.log$/.test(e.name)) out.push(readFileSync(p, 'utf8'));
    }
  };
  walk(path.join(userData, 'logs'));
  return out.join('\n');
}

function readdirSafe(dir) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}

// ---------------------------------------------------------------------------------------------

let browser;
try {
  const t = Date.now();
  const { vsix, bytes, files, target } = buildVsix();
  log(`packaged ${path.relative(root, vsix)} (${target}: ${(bytes / 1048576).toFixed(2)} MiB, ${files} files) in ${Date.now() - t} ms`);
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const only = process.argv.slice(2);
  if (only.length === 0 || only.includes('trusted')) await trustedRun(browser, vsix);
  if (only.length === 0 || only.includes('restricted')) await restrictedRun(browser, vsix);
  if (only.length === 0 || only.includes('first-run')) await firstRun(browser, vsix);
} catch (err) {
  results.push({ name: 'setup', ok: false, error: String(err?.stack ?? err) });
  log(`ERROR ${err?.stack ?? err}`);
} finally {
  await browser?.close();
}
// PSCL_E2E_MEDIA=1: the README's screenshots (media/screenshots/) are refreshed from this run.
const README_SHOTS = ['taxonomy.png', 'parts.png', 'preview-photo.png', 'llm-review.png', 'runs-dashboard-finished.png', 'runs-eval-report.png', 'walkthrough.png', 'dataset.png', 'dataset-map.png', 'preview-demo-clip.png'];
if (process.env.PSCL_E2E_MEDIA) {
  const media = path.join(root, 'media', 'screenshots');
  mkdirSync(media, { recursive: true });
  for (const f of README_SHOTS) if (existsSync(path.join(shots, f))) copyFileSync(path.join(shots, f), path.join(media, f));
  log(`README screenshots copied to ${path.relative(root, media)}`);
}
const failed = results.filter((r) => !r.ok);
console.log(JSON.stringify({ suite: 'e2e', passed: results.length - failed.length, failed: failed.length, seconds: +((Date.now() - started) / 1000).toFixed(1), screenshots: path.relative(root, shots) }));
process.exit(failed.length === 0 && results.length > 0 ? 0 : 1);
