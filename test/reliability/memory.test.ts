// Defect 11: a 16000 x 16000 PNG of one colour (under a megabyte, under the pixel limit) took
// 1 GB in `pscl masks` (the overlay decoded it whole) and 877 MB in classify. Now the overlay is
// decoded at the size it is written (long side <= 2048) and classify reads large images in strips
// of rows with the same, bit-exact resampling. Each measurement runs in a child process of its
// own; the bound is on memory, not time (bench/image-memory.ts prints the before/after numbers).
// The masks and cache paths decode through ImageFile, whose working decode shrinks images larger
// than 4096 px while reading them; the consolidation once made it decode whole again (1 GB in
// `pscl masks`), so those two paths are measured here as well.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { preprocessImage } from '../../src/core/runs/classify';
import { makeLargePng, measureInChild } from '../helpers/imageMemory';
import { tempDir } from '../helpers/paths';

const tmp = tempDir('pscl-rel-mem-');
let large = '';
before(async () => {
  large = await makeLargePng(path.join(tmp.dir, 'large.png'));
});
after(tmp.cleanup);

/** Memory a step may add on top of the loaded process: a quarter of what decoding whole takes. */
const BOUND_MB = 400;

describe('reliability: memory per image (defect 11)', () => {
  it('classify of a 16000 x 16000 PNG stays within the bound', () => {
    const r = measureInChild('classify', large);
    assert.ok(r.maxRssMb - r.baseRssMb < BOUND_MB, `classify took ${r.maxRssMb - r.baseRssMb} MB over the ${r.baseRssMb} MB process (bound ${BOUND_MB} MB)`);
  });

  it('the overlay of a 16000 x 16000 PNG is decoded at its written size (<= 2048) and stays within the bound', () => {
    const r = measureInChild('overlay', large);
    assert.ok(Math.max(r.output.width, r.output.height) <= 2048, `overlay is ${r.output.width}x${r.output.height}`);
    assert.ok(r.maxRssMb - r.baseRssMb < BOUND_MB, `the overlay took ${r.maxRssMb - r.baseRssMb} MB (bound ${BOUND_MB} MB)`);
  });

  it('`pscl masks` (MaskSession through an ImageFile, then the overlay) of a 16000 x 16000 PNG stays within the bound', () => {
    const r = measureInChild('masks', large);
    assert.deepEqual(r.output, { width: 448, height: 448 }, 'the label map at the default input size');
    assert.ok(r.maxRssMb - r.baseRssMb < BOUND_MB, `masks took ${r.maxRssMb - r.baseRssMb} MB over the ${r.baseRssMb} MB process (bound ${BOUND_MB} MB)`);
  });

  it('a cache build whose image is a 16000 x 16000 PNG stays within the bound and keeps the full image\'s aspect', () => {
    const r = measureInChild('cache', large);
    assert.deepEqual(r.output, { width: 224, height: 224 }, 'the mask of a square image at the default mask size');
    assert.ok(r.maxRssMb - r.baseRssMb < BOUND_MB, `the cache build took ${r.maxRssMb - r.baseRssMb} MB over the ${r.baseRssMb} MB process (bound ${BOUND_MB} MB)`);
  });

  it('strips give the same tensor as decoding whole (bit-exact, any strip height)', async () => {
    const file = path.join(tmp.dir, 'noise.png');
    const w = 301;
    const h = 187;
    const px = Buffer.alloc(w * h * 3);
    let s = 12345;
    for (let i = 0; i < px.length; i++) px[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
    const model = { inputSize: [64, 48] as [number, number], mean: [0.48, 0.46, 0.41] as [number, number, number], std: [0.27, 0.26, 0.28] as [number, number, number] };
    const whole = await preprocessImage(file, model, { maxDecodeBytes: Infinity });
    for (const bytes of [w * 3, w * 3 * 7, w * 3 * 50]) {
      const strips = await preprocessImage(file, model, { maxDecodeBytes: bytes });
      assert.deepEqual(strips, whole, `strips of ${bytes / (w * 3)} rows`);
    }
  });
});
