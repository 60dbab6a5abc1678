// Browser tests of the Prompt Report webview in headless Chromium (see webview/harness.ts): the
// tables and the part bars show the scores they are sent, a new score replaces them (a phrasing's
// value after an edit), the confusion is drawn, and the buttons talk to the host.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import type { PromptScores } from '../../src/core/quality/score';
import type { QualityScoreResult } from '../../src/core/rpc/quality';
import { openWebview, SHOTS, useBrowser } from './webview/harness';

const { skip, browser: getBrowser } = useBrowser();

const acc = (top1: number, top5: number) => ({ top1, top5, images: 72 });

function result(beakBill: number): QualityScoreResult {
  const levels = { coarse: acc(1, 1), genus: acc(0.5, 1), species: acc(0.25, 0.9) };
  const scores: PromptScores = {
    project: 'Tiny Birds',
    cache: '/ws/.pscl-cache/tiny-birds-1234abcd',
    model: 'demo',
    split: 'all',
    images: 72,
    levels,
    classes: { 'Red crowned Finch': acc(0.1, 0.8), 'White crowned Gull': acc(0.6, 1) },
    variants: { flat: { levels }, hierarchical: { levels: { coarse: acc(1, 1), genus: acc(0.55, 1), species: acc(0.3, 0.9) } }, descriptions: null },
    control: { kind: 'waffle', descriptors: 8, seed: 0, phrases: ['abc def'], levels: { coarse: acc(1, 1), genus: acc(0.4, 1), species: acc(0.2, 0.85) } },
    parts: {
      'bird/beak': { hitRate: 0.625, topKRate: 0.9, keypoints: 72, phrasings: { beak: 0.5, bill: beakBill } },
      'bird/wing': { hitRate: 0.125, topKRate: 0.3, keypoints: 144, phrasings: { wing: 0.125 } },
      'bird/tail': { hitRate: null, topKRate: null, keypoints: 0, phrasings: { tail: null } },
    },
    topK: 3,
    masks: {
      stale: false,
      images: 72,
      background: 0.4,
      parts: { 'bird/beak': { images: 72, coverage: { mean: 0.05, p10: 0, p50: 0.04, p90: 0.1 }, emptyRate: 0.1, argmaxShare: 0.08, keypoints: 72, hitRate: 0.6 } },
    },
    notes: ['a note for the user'],
  };
  return { scores, confusion: { species: { names: ['A', 'B', 'C'], counts: [5, 1, 0, 0, 6, 0, 2, 0, 4] } }, cacheBuilt: false, seconds: 0.42 };
}

test('the Prompt Report shows the scores, follows a new score and draws the confusion', { skip }, async () => {
  const v = await openWebview(getBrowser(), 'promptReport', { height: 1400 });
  const { page } = v;
  await v.send({ type: 'running', state: { message: 'training cache: images 8/72', fraction: 0.1 } });
  assert.match(await page.textContent('#status') ?? '', /Scoring: training cache: images 8\/72/);
  assert.equal(await page.isVisible('#cancel'), true);
  await page.click('#cancel');
  await v.send({ type: 'scores', project: { name: 'Tiny Birds', file: '/ws/tiny-birds.pscl.json' }, result: result(0.25), at: new Date().toISOString() });
  await v.send({ type: 'running', state: null });
  // zero-shot per level and variant
  const cell = (level: string, variant: string, k: string) => page.textContent(`#levels tr[data-level="${level}"] td[data-variant="${variant}"][data-k="${k}"]`);
  assert.equal(await cell('species', 'flat', 'top1'), '25.0%');
  assert.equal(await cell('species', 'hierarchical', 'top1'), '30.0%');
  assert.equal(await cell('species', 'control', 'top5'), '85.0%');
  assert.equal(await cell('genus', 'descriptions', 'top1'), '–');
  // parts: hit rate per part and per phrasing
  const phrasing = (part: string, text: string) => page.textContent(`.part-row[data-part="${part}"][data-phrasing="${text}"] [data-k="phrasing"]`);
  assert.equal(await page.textContent('.part-row[data-part="bird/beak"]:not(.phrasing) [data-k="hitRate"]'), '62.5%');
  assert.equal(await phrasing('bird/beak', 'bill'), '25.0%');
  assert.equal(await page.textContent('.part-row[data-part="bird/tail"]:not(.phrasing) [data-k="hitRate"]'), 'no keypoints');
  assert.match(await page.textContent('#masks') ?? '', /bird\/beak\s*5\.0%/);
  assert.match(await page.textContent('#classes') ?? '', /Red crowned Finch\s*10\.0%/);
  assert.match(await page.textContent('body') ?? '', /a note for the user/);
  // the confusion: diagonal and an error drawn at the species level
  const inked = await page.$eval('#confusion', (c) => {
    const el = c as HTMLCanvasElement;
    const d = el.getContext('2d')!.getImageData(0, 0, el.width, el.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 2] > d[i] + 40 || d[i] > d[i + 2] + 30) n++;
    return n;
  });
  assert.ok(inked > 100, `coloured cells drawn: ${inked}`);
  assert.equal(await page.inputValue('#level'), 'species');
  await page.screenshot({ path: path.join(SHOTS, 'prompt-report.png'), fullPage: true });
  // a new score after an edit: the phrasing's value follows
  await v.send({ type: 'scores', project: { name: 'Tiny Birds', file: '/ws/tiny-birds.pscl.json' }, result: result(0.875), at: new Date().toISOString() });
  assert.equal(await phrasing('bird/beak', 'bill'), '87.5%');
  await page.click('#rescore');
  await page.click('.part-row[data-part="bird/wing"] button.link');
  const posted = await v.posted();
  assert.deepEqual(posted.filter((m) => m.type !== 'ready'), [{ type: 'cancel' }, { type: 'rescore' }, { type: 'revealPart', coarse: 'bird', part: 'wing' }]);
  assert.deepEqual(v.errors, []);
  await page.close();
});
