// E2E checks of the Dataset view (group `dataset`) in the trusted run: a duplicate planted in the
// workspace's copy of the sample; PSCL: Open Dataset View, filter to one genus and to
// duplicates, select the pair, compare, exclude one image (one WorkspaceEdit); `pscl info`
// counts one image fewer; one Ctrl+Z restores the project file byte for byte; the embedding
// map draws from the cache's image embeddings and a lasso filters the grid.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, readFileSync } from 'node:fs';
import path from 'node:path';

const ORIGINAL = 'images/001.Red_crowned_Finch/Red_crowned_Finch_0004.jpg';
const COPY = 'images/001.Red_crowned_Finch/Red_crowned_Finch_0004_copy.jpg';

/** The Dataset view's page among every webview open (dashboards and previews may be too). */
async function datasetFrame(page) {
  for (const end = Date.now() + 30000; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
    for (const f of page.frames()) {
      if (await f.$('body[data-view="dataset"] #grid .tile').catch(() => null)) return f;
    }
  }
  throw new Error('the Dataset view did not open (no webview page with its grid)');
}

async function waitFor(what, fn, timeout = 30000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await fn().catch((e) => e);
    if (last === true) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${timeout / 1000} s (last: ${last instanceof Error ? last.message : last})`);
}

export async function datasetChecks({ page, workspace, root, shots, check, runCommand, pick, log }) {
  const file = path.join(workspace, 'tiny-birds.pscl.json');
  const dataset = path.join(workspace, 'CUB_tiny');
  const pscl = (...args) => spawnSync(process.execPath, [path.join(root, 'bin', 'pscl.js'), ...args], { encoding: 'utf8', cwd: workspace });
  const imagesOf = () => JSON.parse(pscl('info', '--json', file).stdout).images.total;
  let view;
  let before;
  let original;

  await check('Dataset view: a planted duplicate pair in one genus, compared and one image excluded as one edit', async () => {
    // plant the duplicate (the dataset's own files; the project file is not touched)
    copyFileSync(path.join(dataset, ORIGINAL), path.join(dataset, COPY));
    appendFileSync(path.join(dataset, 'images.txt'), `73 ${COPY.slice('images/'.length)}\n`);
    appendFileSync(path.join(dataset, 'image_class_labels.txt'), '73 1\n');
    appendFileSync(path.join(dataset, 'train_test_split.txt'), '73 1\n');
    before = imagesOf();
    assert.equal(before, 73);
    original = readFileSync(file);

    // from the sample's row in the Taxonomy view (several project files are in the workspace)
    await page.locator('.pane-body').getByRole('treeitem', { name: /Tiny Birds/ }).first().click({ button: 'right' });
    const item = page.getByRole('menuitem', { name: 'Open Dataset View' });
    await item.hover();
    await item.click();
    view = await datasetFrame(page);
    await view.locator('#grid .tile').first().waitFor({ timeout: 30000 });
    await view.locator('#findings-status[data-state="done"]').waitFor({ timeout: 60000 });
    assert.match(await view.locator('#count').textContent(), /^73 of 73 images/);
    await view.locator('#level').selectOption('genus');
    await view.locator('#value').selectOption('Pictofringilla');
    assert.match(await view.locator('#count').textContent(), /^25 of 73 images/, 'the genus holds the two finches\' 24 images and the copy');
    await view.locator('#kind').selectOption('duplicate');
    assert.match(await view.locator('#count').textContent(), /^2 of 73 images/);
    const tiles = view.locator('#grid .tile:not([hidden])');
    await tiles.nth(0).click();
    await tiles.nth(1).click({ modifiers: ['Control'] });
    assert.equal(await view.locator('#selection').textContent(), '2 selected');
    await waitFor('thumbnails from the backend', async () => (await tiles.nth(1).locator('img').getAttribute('src'))?.includes('thumbnails') === true);
    await page.screenshot({ path: path.join(shots, 'dataset.png') });
    await view.locator('#compare').click();
    await view.locator('#compare-view .side img').nth(1).waitFor();
    assert.match(await view.locator('#compare-view').textContent(), /identical files/);
    await page.screenshot({ path: path.join(shots, 'dataset-compare.png') });
    // exclude the copy (the side whose caption names it)
    const side = view.locator('#compare-view .side', { hasText: '_copy.jpg' });
    await side.locator('.exclude-one').click();
    await view.locator('#compare-view .side', { hasText: 'excluded: duplicate of' }).waitFor({ timeout: 15000 });
    await view.locator('#compare-close').click();
  });

  await check('after the exclusion is saved, pscl info counts one image fewer; one Ctrl+Z restores the file byte for byte', async () => {
    // the edit showed the project file beside the grid: save it there
    const editor = page.locator('.editor-group-container .monaco-editor .view-lines').last();
    await editor.click();
    await runCommand(page, 'File: Save');
    await waitFor('the saved exclusion', async () => readFileSync(file, 'utf8').includes(`"path": "${COPY}"`));
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith(original.toString('utf8').replace(/\n}\n$/, '')), 'only the images section was added');
    assert.match(text, /"exclude": \[\n\s+\{ "path": "images\/001\.Red_crowned_Finch\/Red_crowned_Finch_0004_copy\.jpg", "reason": "duplicate of images\/001\.Red_crowned_Finch\/Red_crowned_Finch_0004\.jpg" \}/);
    assert.equal(imagesOf(), before - 1, 'pscl info counts one image fewer');
    await editor.click();
    await page.keyboard.press('Control+z');
    await runCommand(page, 'File: Save');
    await waitFor('the undo saved', async () => readFileSync(file).equals(original));
    assert.equal(imagesOf(), before);
  });

  await check('the embedding map draws from the cache and a lasso filters the grid', async () => {
    // the cache with image embeddings (the demo model; reused when the runs checks built it)
    const built = pscl('cache', 'build', '--project', file, '--input-size', '64');
    assert.equal(built.status, 0, built.stderr);
    await page.locator('.tabs-container .tab', { hasText: 'Dataset: ' }).first().click();
    view = await datasetFrame(page);
    await view.locator('#kind').selectOption('');
    await view.locator('#level').selectOption('');
    await view.locator('#tab-map').click();
    const message = view.locator('#map-message');
    await waitFor('the map is laid out', async () => !/computing|laying|neighbours/.test(await message.textContent()) && (await message.textContent()) !== '', 120000);
    const text = await message.textContent();
    assert.match(text, /images with embeddings/, 'the cache just built holds image embeddings');
    const ink = await view.locator('#map').evaluate((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const bg = [d[0], d[1], d[2]];
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - bg[0]) + Math.abs(d[i + 1] - bg[1]) + Math.abs(d[i + 2] - bg[2]) > 30) n++;
      return n;
    });
    assert.ok(ink > 100, `points are drawn (${ink} pixels)`);
    await page.screenshot({ path: path.join(shots, 'dataset-map.png') });
    const box = await view.locator('#map').boundingBox();
    const [x0, y0, x1, y1] = [box.x + 4, box.y + 4, box.x + box.width / 2, box.y + box.height - 4];
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (const [x, y] of [[x1, y0], [x1, y1], [x0, y1], [x0, y0 + 1]]) await page.mouse.move(x, y, { steps: 6 });
    await page.mouse.up();
    await view.locator('#lasso-chip:not([hidden])').waitFor();
    const count = Number(/^(\d+) of 73/.exec(await view.locator('#count').textContent())[1]);
    assert.ok(count > 0 && count < 73, `the lasso keeps part of the images in the grid (${count})`);
    await page.screenshot({ path: path.join(shots, 'dataset-lasso.png') });
  });
}
