import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CLIP_MEAN, CLIP_STD, loadImagePixels, normalizeHwc } from '../../../src/core/clip/preprocess';
import { tempDir, testData } from './helpers';

const photo = path.join(testData, 'images', 'chelsea.png'); // 451 x 300

test('normalisation uses the CLIP mean and std, channels first', () => {
  const px = normalizeHwc(new Uint8Array([255, 0, 51, 0, 255, 102]), 1, 2, 3);
  assert.deepEqual([px.height, px.width], [1, 2]);
  const expect = [255, 0, 0, 255, 51, 102].map((v, i) => (v / 255 - CLIP_MEAN[Math.floor(i / 2)]!) / CLIP_STD[Math.floor(i / 2)]!);
  assert.ok(Array.from(px.data).every((v, i) => Math.abs(v - expect[i]!) < 1e-6));
  const grey = normalizeHwc(new Uint8Array([128]), 1, 1, 1);
  assert.ok(Math.abs(grey.data[2]! - (128 / 255 - CLIP_MEAN[2]) / CLIP_STD[2]) < 1e-6);
});

test('a real photo: crop, plain resize and long-side fit give the asked sizes', async () => {
  const crop = await loadImagePixels(photo, { mode: 'crop', size: 224 });
  assert.deepEqual([crop.height, crop.width, crop.data.length], [224, 224, 3 * 224 * 224]);
  const plain = await loadImagePixels(photo, { mode: 'resize', width: 64, height: 48 });
  assert.deepEqual([plain.height, plain.width], [48, 64]);
  const fit = await loadImagePixels(photo, { mode: 'fit', size: 448, multipleOf: 16 });
  assert.deepEqual([fit.height, fit.width], [304, 448]); // 300 * 448/451 = 298 -> 304
  const lo = crop.data.reduce((a, b) => Math.min(a, b));
  const hi = crop.data.reduce((a, b) => Math.max(a, b));
  assert.ok(lo >= -1.8 && hi <= 2.2 && hi - lo > 1, `range ${lo}..${hi}`);
});

test('missing and corrupt images are errors naming the file', async () => {
  await assert.rejects(loadImagePixels('/nonexistent/x.jpg', { mode: 'crop', size: 8 }), /\/nonexistent\/x\.jpg: image not found/);
  const junk = path.join(tempDir(), 'junk.jpg');
  writeFileSync(junk, 'not a jpeg');
  await assert.rejects(loadImagePixels(junk, { mode: 'crop', size: 8 }), (e: Error) => e.message.startsWith(`${junk}: cannot read the image`));
});
