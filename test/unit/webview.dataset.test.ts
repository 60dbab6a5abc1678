// The Dataset view page in headless Chromium (webview/harness.ts): filters at any level, finding
// kinds, selection and the decision messages it sends, the comparison of a duplicate pair, the
// map with a lasso that filters the grid, and that the grid stays virtual on 48,562 images.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { SHOTS, canvasInk, openWebview, useBrowser } from './webview/harness';
import { clusteredXY, datasetSnapshot, duplicateFindings, svgThumb } from './webview/datasetFixture';

const { skip, browser: getBrowser } = useBrowser();

async function open(n: number, classes = 12, serveImages = false) {
  const snap = datasetSnapshot(n, { classes });
  // the comparison shows the images themselves (SVG stand-ins, served under the image root)
  const files: Record<string, [string, string]> = serveImages ? Object.fromEntries(snap.images.path.map((p, i) => [`/img/${p}`, ['image/svg+xml', Buffer.from(svgThumb(i).split(',')[1]!, 'base64').toString()]])) : {};
  const v = await openWebview(getBrowser(), 'dataset', { width: 1200, height: 900, files });
  await v.send(snap);
  await v.page.waitForSelector('#grid .tile');
  return { v, snap };
}

/** Answers the page's thumbnail requests with data URIs. */
async function serveThumbs(v: Awaited<ReturnType<typeof open>>['v']) {
  const asked = (await v.posted()).filter((m) => m.type === 'thumbs').flatMap((m) => m.indices as number[]);
  await v.send({ type: 'thumbs', uris: Object.fromEntries(asked.map((i) => [i, svgThumb(i)])) });
}

test('filters by a taxonomy value at any level, split and finding kind; selection sends decisions', { skip }, async () => {
  const { v, snap } = await open(240, 12, true);
  await serveThumbs(v);
  assert.match(await v.page.textContent('#count') ?? '', /^240 of 240 images/);
  await v.page.selectOption('#level', 'genus');
  const genus = snap.classes[0]!.values[3]!;
  await v.page.selectOption('#value', genus);
  const inGenus = snap.images.cls.filter((c) => snap.classes[c]!.values[3] === genus).length;
  assert.match(await v.page.textContent('#count') ?? '', new RegExp(`^${inGenus} of 240`));
  await v.page.selectOption('#split', 'test');
  const inGenusTest = snap.images.cls.filter((c, i) => snap.classes[c]!.values[3] === genus && snap.images.split[i] === 'test').length;
  assert.match(await v.page.textContent('#count') ?? '', new RegExp(`^${inGenusTest} of 240`));
  await v.page.selectOption('#split', '');
  // findings arrive: a duplicate pair in the genus
  const members = snap.images.cls.map((c, i) => [c, i] as const).filter(([c]) => snap.classes[c]!.values[3] === genus).map(([, i]) => i);
  await v.send({ type: 'findings', findings: duplicateFindings([[members[0]!, members[1]!]]), notes: [], running: false });
  await v.page.selectOption('#kind', 'duplicate');
  assert.match(await v.page.textContent('#count') ?? '', /^2 of 240/);
  const tiles = v.page.locator('#grid .tile:not([hidden])');
  await tiles.nth(0).click();
  await tiles.nth(1).click({ modifiers: ['Control'] });
  assert.equal(await v.page.textContent('#selection'), '2 selected');
  await v.page.click('#compare');
  await v.page.waitForSelector('#compare-view:not([hidden]) .side img');
  assert.equal(await v.page.locator('#compare-view .side').count(), 2);
  assert.match(await v.page.textContent('#compare-view') ?? '', /identical files/);
  await v.page.screenshot({ path: path.join(SHOTS, 'dataset-compare.png') });
  await v.page.locator('#compare-view .exclude-one').nth(1).click();
  const exclude = (await v.posted()).filter((m) => m.type === 'exclude').at(-1)!;
  assert.deepEqual(exclude.indices, [members[1]]);
  assert.match(String(exclude.reason), /^duplicate of images\//);
  await v.page.click('#compare-close');
  await v.page.click('#relabel');
  assert.deepEqual((await v.posted()).filter((m) => m.type === 'relabel').at(-1)!.indices, [members[0], members[1]].sort((a, b) => a - b));
  // the host records the exclusion: the grid marks it
  const excluded = snap.images.excluded.map((_, i) => (i === members[1] ? 'duplicate' : null));
  await v.send({ type: 'decisions', excluded, cls: snap.images.cls, relabeledFrom: snap.images.relabeledFrom });
  await v.page.selectOption('#kind', '');
  await v.page.selectOption('#decided', 'excluded');
  assert.match(await v.page.textContent('#count') ?? '', /^1 of 240/);
  assert.equal(await v.page.locator('#grid .tile.excluded:not([hidden])').count(), 1);
  assert.deepEqual(v.errors, []);
});

test('the map draws, hover shows a thumbnail, and a lasso filters the grid', { skip }, async () => {
  const { v, snap } = await open(3000, 40);
  await v.page.click('#tab-map');
  assert.ok((await v.posted()).some((m) => m.type === 'map'));
  await v.send({ type: 'map', xy: clusteredXY(snap) });
  assert.ok((await canvasInk(v.page, '#map')) > 2000, 'points are drawn');
  const box = (await v.page.locator('#map').boundingBox())!;
  // a lasso around the middle third of the map
  const [x0, y0, x1, y1] = [box.x + box.width * 0.3, box.y + box.height * 0.3, box.x + box.width * 0.7, box.y + box.height * 0.7];
  await v.page.mouse.move(x0, y0);
  await v.page.mouse.down();
  for (const [x, y] of [[x1, y0], [x1, y1], [x0, y1], [x0, y0 + 1]]) await v.page.mouse.move(x!, y!, { steps: 5 });
  await v.page.mouse.up();
  await v.page.waitForSelector('#grid:not([hidden])');
  const count = Number(/^([\d,]+) of/.exec((await v.page.textContent('#count')) ?? '')![1]!.replace(/,/g, ''));
  assert.ok(count > 0 && count < 3000, `the lasso keeps part of the images (${count})`);
  assert.match(await v.page.textContent('#lasso-chip') ?? '', new RegExp(`map selection: ${count}`));
  await v.page.click('#tab-map');
  await v.page.screenshot({ path: path.join(SHOTS, 'dataset-map.png') });
  // hover the centre of the map: a tooltip with the image's class
  await v.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let dx = 0; dx < 40 && (await v.page.locator('#map-tip').isHidden()); dx += 3) await v.page.mouse.move(box.x + box.width / 2 + dx, box.y + box.height / 2 + dx / 2);
  assert.match(await v.page.textContent('#map-tip') ?? '', /Species \d+/);
  await v.page.click('#lasso-chip');
  assert.match(await v.page.textContent('#count') ?? '', /^3,000 of 3,000/);
  assert.deepEqual(v.errors, []);
});

test('48,562 images: the grid keeps a few dozen tiles in the page while scrolling', { skip }, async () => {
  const { v } = await open(48562, 555);
  const grid = v.page.locator('#grid');
  await grid.evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
  await v.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const tiles = await v.page.locator('#grid .tile').count();
  assert.ok(tiles < 150, `${tiles} tile elements for 48,562 images`);
  const visible = await v.page.locator('#grid .tile:not([hidden])').first().getAttribute('data-index');
  assert.ok(Number(visible) > 1000, 'the tiles in view are from the middle of the list');
  await serveThumbs(v);
  await v.page.screenshot({ path: path.join(SHOTS, 'dataset-grid.png') });
});
