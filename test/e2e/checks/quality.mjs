// E2E checks of prompt quality (issue 16) in the trusted run, on the sample workspace: the Prompt
// Report builds the training cache and shows zero-shot accuracy per level and the part hit rates;
// a phrasing edited in the Parts view and saved is scored again in the background: its badge in
// the Parts view and its row in the Prompt Report show the new phrasing's hit rate, which equals
// what `pscl prompts score` computes from the same cache (an independent process). Screenshots.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openProjectFile } from './preview.mjs';

const PROJECT = 'tiny-birds.pscl.json';

/** The page's frame inside the newest visible webview (two nested iframes). */
async function webviewFrame(page) {
  const outer = page.locator('iframe.webview.ready').last();
  await outer.waitFor({ timeout: 30000 });
  return (await outer.contentFrame()).frameLocator('iframe#active-frame');
}

/** The demo model the extension's backend generated (its global storage), for the CLI to use the same weights. */
function extensionDemoModel(userData) {
  const found = [];
  const walk = (dir, depth) => {
    if (depth > 6) return;
    let entries = [];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      if (/^pscl-tiny-clip-v\d+-/.test(e.name) && existsSync(path.join(p, 'model.safetensors'))) found.push(p);
      else walk(p, depth + 1);
    }
  };
  walk(path.join(userData, 'User', 'globalStorage'), 0);
  return found[0];
}

const pctText = (x) => `${(100 * x).toFixed(Math.abs(x) < 0.1 ? 1 : 0)}%`;

/**
 * @param {{ page: import('playwright-core').Page, workspace: string, userData: string, root: string, shots: string,
 *   check: Function, runCommand: Function, pick: Function, log: Function, waitFile: Function }} t
 */
export async function qualityChecks({ page, workspace, userData, root, shots, check, runCommand, pick, log, waitFile }) {
  const file = path.join(workspace, PROJECT);
  const original = readFileSync(file, 'utf8');
  const header = (name) => page.locator('.pane-header', { hasText: name }).first();
  const setOpen = async (name, open) => {
    if (((await header(name).getAttribute('aria-expanded')) === 'true') !== open) await header(name).click();
  };
  const partsPane = page.locator('.pane', { has: header(/^\s*Parts/i) }).first();
  const partRow = (name) => partsPane.getByRole('treeitem', { name }).first();
  const openReport = async () => {
    await openProjectFile(page, PROJECT); // the active editor's project: no project picker
    await runCommand(page, 'PSCL: Open Prompt Report');
    return webviewFrame(page);
  };

  await check('the Prompt Report builds the training cache and shows zero-shot accuracy per level and part hit rates', async () => {
    const view = await openReport();
    // the first scores build the cache (72 images with the demo model)
    await view.locator('#levels').waitFor({ timeout: 240000 });
    for (const level of ['coarse', 'order', 'family', 'genus', 'species']) {
      const cell = await view.locator(`#levels tr[data-level="${level}"] td[data-variant="flat"][data-k="top1"]`).textContent();
      assert.match(cell, /^\d+\.\d%$/, `${level}: ${cell}`);
    }
    assert.match(await view.locator('.part-row[data-part="bird/beak"]:not(.phrasing) [data-k="hitRate"]').textContent(), /^\d+\.\d%$/);
    assert.match(await view.locator('.part-row[data-part="bird/beak"][data-phrasing="bill"] [data-k="phrasing"]').textContent(), /^\d+\.\d%$/);
    assert.match(await view.locator('#status').textContent(), /Scored at/);
    await page.screenshot({ path: path.join(shots, 'prompt-report.png') });
  });

  await check('a phrasing edited in the Parts view: after the save its badge changes and the Prompt Report shows its new hit rate', async () => {
    // pscl prompts score on the extension's cache, with the demo model the extension generated
    const model = extensionDemoModel(userData);
    assert.ok(model, 'the demo model the extension generated is in its global storage');
    const candidate = path.join(workspace, '.candidate.json'); // not *.pscl.json: the views do not list it
    const cliScore = (projectFile) => {
      const r = spawnSync(process.execPath, [path.join(root, 'bin', 'pscl.js'), 'prompts', 'score', '--project', projectFile, '--model', model, '--build', 'never', '--no-masks', '--json'], {
        encoding: 'utf8',
        env: { ...process.env, PSCL_CACHE_DIR: path.join(workspace, '..', 'cli-graphs') },
      });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout).parts['bird/beak'].phrasings;
    };
    const old = cliScore(file).bill;
    // a new phrasing whose hit rate differs, whatever the model: "back" scores exactly 0 at the beak
    // keypoints (it is the back part's own prompt, and back wins ties); else another part's phrasing
    const project = JSON.parse(original);
    let edit;
    for (const text of ['back', ...project.parts.bird.slice(2).map((p) => p.prompts[0])]) {
      writeFileSync(candidate, original.replace('"prompts": ["beak", "bill"]', `"prompts": ["beak", ${JSON.stringify(text)}]`));
      const value = cliScore(candidate)[text];
      if (value !== old) {
        edit = { text, value };
        break;
      }
    }
    rmSync(candidate, { force: true });
    assert.ok(edit, `a phrasing whose hit rate differs from "bill" (${old})`);
    log(`phrasing 'bill' (hit ${old}) -> '${edit.text}' (hit ${edit.value}, by pscl prompts score)`);

    await setOpen(/^\s*Taxonomy/i, false);
    await setOpen(/^\s*Runs/i, false);
    await setOpen(/^\s*Parts/i, true);
    const projectRow = partRow(/^Tiny Birds/);
    await projectRow.waitFor({ timeout: 15000 });
    if ((await projectRow.getAttribute('aria-expanded')) === 'false') await projectRow.click();
    await partRow(/^beak/).waitFor({ timeout: 15000 });
    if ((await partRow(/^beak/).getAttribute('aria-expanded')) === 'false') await partRow(/^beak/).click();
    const rowText = async (row) => (await row.innerText().catch(() => '')).replace(/\s+/g, ' ').trim();
    // the badges of the first scores
    const billRow = partRow(/^bill/);
    await billRow.waitFor({ timeout: 15000 });
    // (the label and the description are separate elements: innerText may not space them)
    assert.equal((await rowText(billRow)).replace(/^bill ?/, ''), `hit ${pctText(old)}`);
    assert.match(await rowText(partRow(/^beak/)), /^beak ?hit \d+(\.\d)?% · "beak", "bill"$/);
    await page.screenshot({ path: path.join(shots, 'parts-badges-before.png') });
    // edit the phrasing: F2 on its row, then save the project file
    await openProjectFile(page, PROJECT);
    await billRow.click();
    await page.keyboard.press('F2');
    await page.locator('.quick-input-widget', { hasText: "Edit phrasing of 'beak'" }).waitFor();
    await page.locator('.quick-input-widget input').fill(edit.text);
    await page.keyboard.press('Enter');
    const phrasingRow = async () => {
      const rows = await partsPane.getByRole('treeitem').allInnerTexts();
      // the phrasing row (a part row has ' · ' and its phrasings after the badge)
      return rows.map((t) => t.replace(/\s+/g, ' ').trim()).find((t) => t.startsWith(edit.text) && !t.includes('·'));
    };
    for (const until = Date.now() + 10000; Date.now() < until && !(await phrasingRow()); ) await page.waitForTimeout(200);
    assert.ok(await phrasingRow(), `the edited phrasing '${edit.text}' is in the Parts view`);
    await openProjectFile(page, PROJECT);
    await runCommand(page, 'File: Save');
    await waitFile(file, (t) => t.includes(`"prompts": ["beak", ${JSON.stringify(edit.text)}]`), 'save after the phrasing edit');
    // scored again in the background: the edited row's badge shows the new phrasing's hit rate
    const want = `hit ${pctText(edit.value)}`;
    let after = '';
    for (const until = Date.now() + 60000; Date.now() < until; await page.waitForTimeout(300)) {
      after = (await phrasingRow()) ?? '';
      if (after.endsWith(want)) break;
    }
    assert.ok(after.endsWith(want), `the edited phrasing's badge shows ${want}: '${after}'`);
    assert.notEqual(pctText(edit.value), pctText(old), 'the badge changed');
    await page.screenshot({ path: path.join(shots, 'parts-badges.png') });
    // the Prompt Report followed the save
    const view = await openReport();
    const row = view.locator(`.part-row[data-part="bird/beak"][data-phrasing="${edit.text}"] [data-k="phrasing"]`);
    await row.waitFor({ timeout: 30000 });
    assert.equal(await row.textContent(), `${(100 * edit.value).toFixed(1)}%`);
    assert.equal(await view.locator('.part-row[data-phrasing="bill"]').count(), 0, 'the old phrasing is gone from the report');
    await page.screenshot({ path: path.join(shots, 'prompt-report-after-edit.png') });
    // back to the sample as it was, for the checks after these
    await openProjectFile(page, PROJECT);
    await page.locator('.editor-group-container .monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+z');
    await runCommand(page, 'File: Save');
    await waitFile(file, (t) => t === original, 'undo of the phrasing edit');
    await setOpen(/^\s*Parts/i, false);
    await setOpen(/^\s*Taxonomy/i, true);
    await setOpen(/^\s*Runs/i, true);
  });
}
