// E2E checks of the mask preview (issue 5) in the trusted run: the preview on a photo (from
// the palette through the file dialog) and on a sample-dataset image (the class command), the
// legend lists the project's parts, a part toggle and the opacity slider change canvas pixels
// read back inside the webview, and typing a new part prompt re-renders the open preview.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The page's frame inside the newest visible webview (two nested iframes). */
async function previewFrame(page) {
  const outer = page.locator('iframe.webview.ready').last();
  await outer.waitFor({ timeout: 30000 });
  return (await outer.contentFrame()).frameLocator('iframe#active-frame');
}

async function waitRendered(view, timeout = 90000) {
  await view.locator('#legend li[data-label]').first().waitFor({ timeout });
  await view.locator('.stage[aria-busy="false"], .stage:not([aria-busy])').first().waitFor({ timeout });
}

/** A hash of the canvas pixels plus the pixel count that differs from `base` (when given). */
async function canvasPixels(view) {
  return view.locator('#view').evaluate((c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data));
}

function differing(a, b) {
  assert.equal(a.length, b.length, 'same canvas size');
  let n = 0;
  for (let i = 0; i < a.length; i += 4) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) n++;
  return n;
}

/** Opens a workspace file by name in the first editor group (quick open). */
export async function openProjectFile(page, name) {
  await page.keyboard.press('Control+1'); // the first editor group: the preview stays visible beside it
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor();
  await input.fill(name);
  // Quick open ranks fuzzy matches (cub-tiny.pscl.json too): click the row named exactly so.
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^\\s*${name.replace(/\./g, '\\.')}\\s*$`) }) }).first();
  await row.waitFor({ timeout: 10000 });
  await row.click();
  await page.locator('.monaco-editor .view-lines').first().waitFor();
}

/** The text of the rendered lines of the first editor (Monaco draws spaces as U+00A0). */
async function editorText(page) {
  return (await page.locator('.monaco-editor .view-lines').first().textContent() ?? '').replace(/\u00a0/g, ' ');
}

/**
 * Types `insert` into the open file at `offset` characters into the first occurrence of `needle`,
 * by Go to Line/Column (not Find, whose widget can swallow keys while it opens), and retries
 * until the editor shows the edit: under load a key can reach another part of the workbench.
 */
async function insertInEditor(page, runCommand, file, needle, offset, insert) {
  const text = readFileSync(file, 'utf8');
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} is in ${file}`);
  const before = text.slice(0, at + offset).split('\n');
  const line = before.length;
  const column = before[before.length - 1].length + 1;
  const expected = needle.slice(0, offset) + insert + needle.slice(offset);
  for (let attempt = 0; attempt < 3; attempt++) {
    await openProjectFile(page, path.basename(file));
    await page.locator('.monaco-editor .view-lines').first().click();
    await page.keyboard.press('Control+G');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10000 });
    await input.fill(`:${line}:${column}`);
    await page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: 10000 });
    await page.keyboard.type(insert);
    const seen = await page.waitForFunction(
      (want) => (document.querySelector('.monaco-editor .view-lines')?.textContent ?? '').replace(/\u00a0/g, ' ').includes(want),
      expected, { timeout: 5000 }).then(() => true, () => false);
    if (seen) return;
    await runCommand(page, 'File: Revert File').catch(() => {});
  }
  assert.fail(`the editor never showed ${expected}: ${(await editorText(page)).slice(0, 300)}`);
}

/** Each legend row's area in percent (a row's first figure; the second is its region count). */
async function legendAreas(view) {
  return view.locator('#legend li[data-label]').evaluateAll((rows) => rows.map((r) => Number(r.querySelector('.fig')?.textContent?.replace(/[^0-9.]/g, '') || 0)));
}

async function legendNames(view) {
  return (await view.locator('#legend li[data-label] .name').allTextContents()).map((s) => s.trim());
}

/** Legend, a part toggle and the opacity slider on the open preview; then a screenshot. */
async function exercise(page, view, shot, parts) {
  await waitRendered(view);
  assert.deepEqual(await legendNames(view), parts, 'the legend lists the project\'s parts in order');
  await view.locator('#opacity').fill('100');
  await view.locator('#opacity').dispatchEvent('input');
  await page.waitForTimeout(300);
  const full = await canvasPixels(view);
  // Hide the largest part: its pixels go back to the photo.
  const areas = await legendAreas(view);
  const biggest = areas.indexOf(Math.max(...areas)) + 1;
  await view.locator(`#part-${biggest}`).click();
  await page.waitForTimeout(300);
  const toggled = await canvasPixels(view);
  const byToggle = differing(full, toggled);
  assert.ok(byToggle > 0, `hiding part ${biggest} changes the canvas (${byToggle} pixels)`);
  await view.locator(`#part-${biggest}`).click();
  await view.locator('#opacity').fill('0');
  await view.locator('#opacity').dispatchEvent('input');
  await page.waitForTimeout(300);
  const clear = await canvasPixels(view);
  const byOpacity = differing(full, clear);
  assert.ok(byOpacity > full.length / 4 / 4, `opacity 0 changes much of the canvas (${byOpacity} of ${full.length / 4} pixels)`);
  await view.locator('#opacity').fill('55');
  await view.locator('#opacity').dispatchEvent('input');
  await page.waitForTimeout(300);
  await page.screenshot({ path: shot });
  return { byToggle, byOpacity };
}

/**
 * @param {{ page: import('playwright-core').Page, workspace: string, root: string, shots: string,
 *   check: (name: string, fn: () => Promise<void>) => Promise<void>, runCommand: Function, pick: Function, log: Function }} t
 */
export async function previewChecks({ page, workspace, root, shots, check, runCommand, pick, log }) {
  const project = JSON.parse(readFileSync(path.join(workspace, 'tiny-birds.pscl.json'), 'utf8'));
  const parts = project.parts.bird.map((p) => p.name);
  // A free-licence photo from the repository's test data (test/data/README.md).
  const photo = path.join(workspace, 'chelsea.png');
  copyFileSync(path.join(root, 'test', 'data', 'images', 'chelsea.png'), photo);
  // Workspace settings: the demo model, and no auto-save so the live-edit check sees unsaved text.
  mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
  writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'pscl.clip.model': 'demo', 'files.autoSave': 'off' }, null, 2));

  await runCommand(page, 'View: Hide Panel').catch(() => page.keyboard.press('Escape'));
  await check('mask preview on a photo (palette + file dialog): legend, toggle and opacity change the canvas', async () => {
    await openProjectFile(page, 'tiny-birds.pscl.json');
    await runCommand(page, 'PSCL: Open Mask Preview');
    await pick(page, 'Choose an image file');
    const input = page.locator('.quick-input-widget input');
    await page.waitForFunction(() => (document.querySelector('.quick-input-widget input')?.value ?? '').endsWith('/'), null, { timeout: 15000 });
    // The dialog may fill in its start folder again after the first wait: type until it sticks.
    for (let i = 0; i < 10 && (await input.inputValue()) !== photo; i++) {
      await input.fill(photo);
      await page.waitForTimeout(500);
    }
    assert.equal(await input.inputValue(), photo);
    await page.keyboard.press('Enter');
    const view = await previewFrame(page);
    const r = await exercise(page, view, path.join(shots, 'preview-photo.png'), parts);
    log(`chelsea.png: toggle changed ${r.byToggle} px, opacity ${r.byOpacity} px`);
    assert.match(await view.locator('#title').textContent(), /chelsea\.png/);
  });

  await check('typing a new part prompt (unsaved) re-renders the open preview', async () => {
    const view = await previewFrame(page);
    await waitRendered(view);
    const before = await view.locator('#legend li[data-label="2"]').getAttribute('title');
    assert.match(before, /beak/);
    await insertInEditor(page, runCommand, path.join(workspace, 'tiny-birds.pscl.json'), '"beak", "bill"', '"beak", "'.length, 'hooked ');
    await view.locator('#legend li[data-label="2"][title*="hooked bill"]').waitFor({ timeout: 60000 });
    assert.ok(!readFileSync(path.join(workspace, 'tiny-birds.pscl.json'), 'utf8').includes('hooked bill'), 'the edit is not saved: the preview used the editor text');
    await page.screenshot({ path: path.join(shots, 'preview-live-edit.png') });
    await runCommand(page, 'File: Revert File');
  });

  await check('mask preview on a sample-dataset image (class command): legend, toggle and opacity change the canvas', async () => {
    await openProjectFile(page, 'tiny-birds.pscl.json');
    await runCommand(page, 'PSCL: Preview Masks for this Class/Category');
    await pick(page, 'Blue crowned Finch');
    await page.locator('.tab', { hasText: 'Blue_crowned_Finch' }).first().waitFor({ timeout: 20000 });
    const view = await previewFrame(page);
    const r = await exercise(page, view, path.join(shots, 'preview-sample.png'), parts);
    log(`sample image: toggle changed ${r.byToggle} px, opacity ${r.byOpacity} px`);
    assert.match(await view.locator('#title').textContent(), /Blue_crowned_Finch/);
  });

  // The installed package's `demo` is a random stand-in (the trained weights are not in the VSIX);
  // the setting pointed at the checkout's models/demo-clip gives the trained one, as `npm run demo` does.
  await check('the trained demo CLIP (pscl.clip.model = models/demo-clip) puts the parts where the sample draws them', async () => {
    const settings = path.join(workspace, '.vscode', 'settings.json');
    const before = readFileSync(settings, 'utf8');
    writeFileSync(settings, JSON.stringify({ ...JSON.parse(before), 'pscl.clip.model': path.join(root, 'models', 'demo-clip') }, null, 2));
    try {
      await page.waitForTimeout(1000); // the configuration change reaches the extension host
      await openProjectFile(page, 'tiny-birds.pscl.json');
      await runCommand(page, 'PSCL: Preview Masks for this Class/Category');
      // not Red crowned Finch: the runs checks classify that image as the active editor
      await pick(page, 'Yellow crowned Warbler');
      await page.locator('.tab', { hasText: 'Yellow_crowned_Warbler' }).first().waitFor({ timeout: 20000 });
      const view = await previewFrame(page);
      await view.locator('#title', { hasText: 'Yellow_crowned_Warbler' }).waitFor({ timeout: 30000 });
      await waitRendered(view);
      const names = await legendNames(view);
      const areas = await legendAreas(view);
      const area = Object.fromEntries(names.map((n, i) => [n, areas[i]]));
      log(`trained demo CLIP on Yellow_crowned_Warbler: ${names.map((n) => `${n} ${area[n]}%`).join(', ')}`);
      // every bird of the sample is drawn with a back, wings, a tail and a crown, and the trained
      // model finds nearly every part (the random stand-in: 4 of 12, "breast 91%"); with no
      // threshold the background goes to some part too, so areas are not compared
      for (const part of ['back', 'wing', 'tail', 'crown']) assert.ok(area[part] > 0, `${part} has pixels: ${JSON.stringify(area)}`);
      assert.ok(Object.values(area).filter((a) => a > 0).length >= 10, `at least 10 of the 12 parts have pixels: ${JSON.stringify(area)}`);
      await page.screenshot({ path: path.join(shots, 'preview-demo-clip.png') });
    } finally {
      writeFileSync(settings, before);
      await page.waitForTimeout(1000);
    }
  });
}
