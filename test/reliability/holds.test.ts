// Bad input that already held when the suite was written, kept here so it keeps holding: malformed
// JSON and wrong types in a project, truncated dataset lists, image bombs, a corrupt JPEG, a
// 0-byte file, GIF/WebP/TIFF images, a truncated events.jsonl and a model.onnx of random bytes.
// (The hostile LLM replies that held are in llm.test.ts.) Each gets a clear error naming the file,
// or is read correctly, and nothing is written.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { loadImagePixels } from '../../src/core/clip/preprocess';
import { decodeRgb, RunClassifier } from '../../src/core/runs/classify';
import { readRun } from '../../src/core/runs/folder';
import { importCub } from '../../src/core/taxonomy/importers';
import { writeCubFixture } from '../fixtures/datasets';
import { buildDist } from '../helpers/build';
import { tempDir } from '../helpers/paths';
import { pngFile, pscl, STACK } from './helpers';

const tmp = tempDir('pscl-rel-holds-');
after(tmp.cleanup);
before(() => buildDist());

/** A PNG claiming `w` x `h` pixels with almost no pixel data behind it. */
function pngHeader(w: number, h: number): Buffer {
  return pngFile({ width: w, height: h, depth: 8, colourType: 2 }, deflateSync(Buffer.alloc(64)));
}

const file = (name: string, bytes: Buffer | string) => {
  const p = path.join(tmp.dir, name);
  writeFileSync(p, bytes);
  return p;
};

describe('reliability: bad input that already held', () => {
  it('malformed JSON and wrong types: positioned errors from validate, no stack trace', async () => {
    const broken = file('broken.pscl.json', '{\n  "version": 1,\n  "name": "x"\n  "levels": ["coarse", "species"]\n}\n');
    const typed = file('typed.pscl.json', '{ "version": "1", "name": 3, "dataset": [], "levels": "coarse", "classes": {} }\n');
    const r = await pscl(['validate', '--no-dataset', broken, typed]);
    assert.equal(r.code, 1);
    assert.match(r.out, /broken\.pscl\.json:4:3: error: syntax error: expected ','/);
    assert.match(r.out, /typed\.pscl\.json:1:\d+: error: "levels" must be an array, not a string \[wrong-type\]/);
    assert.match(r.out, /typed\.pscl\.json:1:\d+: error: "classes" must be an array, not a object \[wrong-type\]/);
    assert.doesNotMatch(r.out + r.err, STACK);
  });

  it('truncated list files: a cut line is a FILE:LINE error, a short label list skips images with a warning', async () => {
    const root = path.join(tmp.dir, 'cub-truncated');
    writeCubFixture(root);
    const images = path.join(root, 'images.txt');
    writeFileSync(images, readFileSync(images, 'utf8') + '100');
    await assert.rejects(importCub(root), /images\.txt:8: expected '<id> <value>', got '100'/);
    writeCubFixture(root);
    const labels = path.join(root, 'image_class_labels.txt');
    writeFileSync(labels, readFileSync(labels, 'utf8').split('\r\n').slice(0, 3).join('\r\n'));
    const r = await importCub(root);
    assert.equal(r.images.length, 3);
    assert.ok(r.warnings.some((w) => /4 images in .*images\.txt have no known class/.test(w)), r.warnings.join('\n'));
  });

  it('image bombs (a header claiming 100000 x 100000 pixels) are refused unread, naming the file', async () => {
    const bomb = file('bomb.png', pngHeader(100_000, 100_000));
    await assert.rejects(loadImagePixels(bomb, { mode: 'crop', size: 32 }), /bomb\.png: cannot read the image \(.*pixel limit/);
    await assert.rejects(decodeRgb(bomb), /bomb\.png: cannot decode the image .*pixel limit/);
  });

  it('a corrupt JPEG and a 0-byte file give an error naming the file', async () => {
    const good = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg().toBuffer();
    const cut = file('cut.jpg', good.subarray(0, Math.floor(good.length / 2)));
    const empty = file('empty.jpg', Buffer.alloc(0));
    for (const f of [cut, empty]) {
      await assert.rejects(loadImagePixels(f, { mode: 'crop', size: 32 }), new RegExp(`${path.basename(f)}: cannot read the image`));
      await assert.rejects(decodeRgb(f), new RegExp(`${path.basename(f)}: cannot decode the image`));
    }
  });

  it('GIF, WebP and TIFF images decode like the PNG they were made from', async () => {
    const raw = Buffer.alloc(20 * 10 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 37) % 251;
    const base = sharp(raw, { raw: { width: 20, height: 10, channels: 3 } });
    const png = await decodeRgb(file('ref.png', await base.clone().png().toBuffer()));
    for (const [ext, bytes] of [
      ['webp', await base.clone().webp({ lossless: true }).toBuffer()],
      ['tiff', await base.clone().tiff({ compression: 'lzw' }).toBuffer()],
    ] as const) {
      const got = await decodeRgb(file(`img.${ext}`, bytes));
      assert.deepEqual([got.width, got.height], [20, 10], ext);
      assert.deepEqual(got.data, png.data, `${ext}: the same pixels`);
      const pixels = await loadImagePixels(path.join(tmp.dir, `img.${ext}`), { mode: 'crop', size: 16 });
      assert.equal(pixels.data.length, 3 * 16 * 16);
    }
    const gif = await decodeRgb(file('img.gif', await base.clone().gif().toBuffer()));
    assert.deepEqual([gif.width, gif.height], [20, 10], 'gif (palette: colours may be quantised)');
  });

  it('a truncated events.jsonl: the run is still read, the cut line reported', async () => {
    const run = path.join(tmp.dir, 'runs', 'cut');
    mkdirSync(run, { recursive: true });
    const lines = [
      { type: 'start', time: 1, run: 'cut', total_steps: 10, epochs: 1, steps_per_epoch: 10 },
      { type: 'progress', time: 2, epoch: 0, step: 4, total_steps: 10, loss: 1.5 },
    ].map((e) => JSON.stringify(e));
    writeFileSync(path.join(run, 'events.jsonl'), `${lines.join('\n')}\n{"type": "progress", "time": 3, "ep`);
    const summary = await readRun(run, 10);
    assert.equal(summary.progress.step, 4);
    assert.ok(['unknown', 'failed', 'stopped'].includes(summary.status.status), summary.status.status);
    assert.ok(summary.corrupt.length <= 1);
    const r = await pscl(['runs', path.dirname(run)]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /cut/);
    assert.doesNotMatch(r.out + r.err, STACK);
  });

  it('a model.onnx of random bytes: a clear error naming it, no crash', async () => {
    const run = path.join(tmp.dir, 'runs', 'random-onnx');
    mkdirSync(run, { recursive: true });
    const bytes = Buffer.alloc(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919 + 13) % 256;
    writeFileSync(path.join(run, 'model.onnx'), bytes);
    writeFileSync(path.join(run, 'preprocess.json'), JSON.stringify({ input_size: [64, 64], mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] }));
    writeFileSync(path.join(run, 'classes.json'), JSON.stringify({ levels: ['species'], classes: [{ index: 0, name: 'a' }] }));
    await assert.rejects(RunClassifier.load(run), /model\.onnx.*cannot be loaded by onnxruntime/);
    copyFileSync(path.join(tmp.dir, 'ref.png'), path.join(tmp.dir, 'classify-me.png'));
    const r = await pscl(['classify', '--run', run, '--image', path.join(tmp.dir, 'classify-me.png')]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /model\.onnx.*cannot be loaded by onnxruntime/);
    assert.doesNotMatch(r.err, STACK);
  });
});
