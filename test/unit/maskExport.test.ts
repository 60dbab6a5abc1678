import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { partStatistics, type LabelMap } from '../../src/core/masks';
import { defaultPartColour, parseHexColour, partColour, toHexColour } from '../../src/core/masks/palette';
import { decodeLabelMapPng, encodeLabelMapPng, exportPartMasks, readLabelMapPng } from '../../src/core/masks/export';

const tmp = (): string => mkdtempSync(path.join(tmpdir(), 'pscl-export-'));

function sampleLabels(): LabelMap {
  // 6x4: part 1 top-left block, part 2 a column on the right, part 3 one pixel
  const rows = ['110002', '110002', '000002', '030000'];
  return { data: Uint8Array.from(rows.join('').split('').map(Number)), width: 6, height: 4, numParts: 3 };
}

test('a label map survives a PNG round trip as an 8-bit grey image', async () => {
  const labels = sampleLabels();
  const png = await encodeLabelMapPng(labels);
  const meta = await sharp(png).metadata();
  assert.equal(meta.format, 'png');
  assert.equal(meta.channels, 1);
  assert.equal(meta.depth, 'uchar');
  const back = await decodeLabelMapPng(png, 'mem.png', 3);
  assert.deepEqual(Array.from(back.data), Array.from(labels.data));
  assert.equal(back.width, 6);
  assert.equal(back.height, 4);
  // numParts defaults to the largest value present
  assert.equal((await decodeLabelMapPng(png, 'mem.png')).numParts, 3);
});

test('a label map with more labels than parts, an RGB PNG and a missing file get clear errors', async () => {
  const dir = tmp();
  try {
    const png = await encodeLabelMapPng(sampleLabels());
    await assert.rejects(decodeLabelMapPng(png, 'stale.png', 2), /stale\.png: holds label 3 but only 2 parts/);
    const rgb = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer();
    await assert.rejects(decodeLabelMapPng(rgb, 'rgb.png'), /rgb\.png: a label map must be an 8-bit single-channel PNG, this one has 3 channel/);
    await assert.rejects(readLabelMapPng(path.join(dir, 'nope.png')), /cannot read label map .*nope\.png: ENOENT/);
    writeFileSync(path.join(dir, 'junk.png'), 'not a png');
    await assert.rejects(readLabelMapPng(path.join(dir, 'junk.png')), /junk\.png: not a readable PNG label map/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('export writes the label map, a legend with parts, stats, settings and model, and an overlay', async () => {
  const dir = tmp();
  try {
    const labels = sampleLabels();
    const stats = partStatistics(labels);
    // a 12x8 image (twice the label map), uniform grey 100
    const image = await sharp({ create: { width: 12, height: 8, channels: 3, background: { r: 100, g: 100, b: 100 } } }).png().toBuffer();
    const parts = [
      { label: 1, name: 'head', prompts: ['head', 'crown and face'] },
      { label: 2, name: 'wing', prompts: ['wing'], colour: '#0000ff' },
      { label: 3, name: 'tail', prompts: ['tail'] },
    ];
    const out = await exportPartMasks({
      dir: path.join(dir, 'sub'), base: 'img1', labels, parts, stats, image, imageName: 'images/img1.jpg', opacity: 0.5,
      settings: { variant: 'clearclip', kernel: 3 }, modelId: 'tiny-clip',
    });
    assert.deepEqual(readdirSync(path.join(dir, 'sub')).sort(), ['img1.labels.png', 'img1.legend.json', 'img1.overlay.png']);
    const round = await readLabelMapPng(out.labelMap, 3);
    assert.deepEqual(Array.from(round.data), Array.from(labels.data));

    const legend = JSON.parse(readFileSync(out.legend, 'utf8'));
    assert.equal(legend.format, 'pscl-part-masks');
    assert.equal(legend.image, 'images/img1.jpg');
    assert.deepEqual(legend.files, { labelMap: 'img1.labels.png', overlay: 'img1.overlay.png' });
    assert.deepEqual(legend.model, { id: 'tiny-clip' });
    assert.deepEqual(legend.settings, { variant: 'clearclip', kernel: 3 });
    assert.deepEqual(legend.background, { label: 0 });
    assert.deepEqual(legend.parts.map((p: { name: string }) => p.name), ['head', 'wing', 'tail']);
    assert.deepEqual(legend.parts[0].prompts, ['head', 'crown and face']);
    // stats from the label map itself: head 4 px (1 component), wing 3 px, tail 1 px of 24
    assert.deepEqual(legend.parts.map((p: { pixels: number }) => p.pixels), [4, 3, 1]);
    assert.equal(legend.parts[0].areaFraction, 4 / 24);
    assert.deepEqual(legend.parts.map((p: { components: number }) => p.components), [1, 1, 1]);
    assert.equal(legend.parts[1].colour, '#0000ff');
    assert.equal(legend.parts[0].colour, toHexColour(defaultPartColour(1)));

    // overlay: image size, part pixels blended 50/50 with their colour, background untouched
    const ov = await sharp(out.overlay!).raw().toBuffer({ resolveWithObject: true });
    assert.equal(ov.info.width, 12);
    assert.equal(ov.info.height, 8);
    const at = (x: number, y: number): number[] => Array.from(ov.data.subarray((y * 12 + x) * ov.info.channels, (y * 12 + x) * ov.info.channels + 3));
    const head = defaultPartColour(1);
    assert.deepEqual(at(1, 1), head.map((c) => Math.round(100 * 0.5 + c * 0.5)));
    assert.deepEqual(at(11, 0), [50, 50, Math.round(100 * 0.5 + 255 * 0.5)]);
    assert.deepEqual(at(6, 2), [100, 100, 100]);
    // no temporary files left behind
    assert.ok(!readdirSync(path.join(dir, 'sub')).some((f) => f.endsWith('.tmp')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the palette is deterministic, distinct over the first parts and honours valid overrides', () => {
  assert.deepEqual(defaultPartColour(1), defaultPartColour(1));
  const first = Array.from({ length: 40 }, (_, i) => toHexColour(defaultPartColour(i + 1)));
  assert.equal(new Set(first).size, 40);
  for (const c of first) assert.match(c, /^#[0-9a-f]{6}$/);
  assert.deepEqual(parseHexColour('#f00'), [255, 0, 0]);
  assert.deepEqual(parseHexColour('#12AB34'), [0x12, 0xab, 0x34]);
  assert.equal(parseHexColour('red'), undefined);
  assert.deepEqual(partColour({ label: 2, colour: '#010203' }), [1, 2, 3]);
  assert.deepEqual(partColour({ label: 2, colour: 'not a colour' }), defaultPartColour(2));
  assert.throws(() => defaultPartColour(0), /start at 1/);
});
