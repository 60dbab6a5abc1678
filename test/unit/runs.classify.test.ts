// Classify Image against the trainer itself: trainer/tests/classify_reference.py trains a tiny
// model, exports it and runs the trainer's eval preprocessing (CacheDataset, train=False) and the
// PyTorch global branch on images of several sizes and modes; the TypeScript preprocessing must
// give the same tensor (within 1e-6) and the ONNX model the same top-5.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { decodeRgb, preprocessImage, predictionPath, probabilities, readExportedModel, resizeBilinearLikePil, RunClassifier, topK } from '../../src/core/runs/classify';

const root = path.resolve(__dirname, '..', '..');
const python = process.env.PSCL_PYTHON || '/usr/bin/python3';
const sampleImages = path.join(root, 'samples', 'tiny-birds', 'CUB_tiny', 'images');

interface RefItem { image: string; input: string; shape: number[]; logits: number[]; top5: number[] }
let dir = '';
let ref: { run: string; items: RefItem[] } | undefined;
let skip = '';

before(() => {
  const probe = spawnSync(python, ['-c', 'import torch, PIL'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    skip = `${python} cannot import torch and PIL: ${probe.stderr?.trim()}`;
    return;
  }
  dir = mkdtempSync(path.join(os.tmpdir(), 'pscl-classify-'));
  const jpegs = readdirSync(sampleImages).slice(0, 3).map((d) => path.join(sampleImages, d, readdirSync(path.join(sampleImages, d))[0]!));
  const r = spawnSync(python, [path.join(root, 'trainer', 'tests', 'classify_reference.py'), dir, ...jpegs], {
    cwd: root,
    encoding: 'utf8',
    timeout: 240_000,
    env: { ...process.env, PSCL_TRAINER_THREADS: '1', OPENBLAS_NUM_THREADS: '1' },
  });
  assert.equal(r.status, 0, `classify_reference.py failed:\n${r.stderr}`);
  ref = JSON.parse(readFileSync(path.join(dir, 'reference.json'), 'utf8'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function readFloats(file: string): Float32Array {
  const bytes = new Uint8Array(readFileSync(file));
  return new Float32Array(bytes.buffer, 0, bytes.byteLength / 4);
}

test('preprocessing equals the trainer eval tensor (PIL bilinear, float32 normalisation)', { timeout: 300_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const model = await readExportedModel(ref!.run);
  assert.deepEqual(model.inputSize, [64, 64]);
  for (const item of ref!.items) {
    const expected = readFloats(item.input);
    const got = await preprocessImage(item.image, model);
    assert.equal(got.length, expected.length, item.image);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
    t.diagnostic(`${path.basename(item.image)}: largest |ts - torch| ${worst}`);
    // the JPEGs too: sharp's mozjpeg and PIL's libjpeg-turbo decode them identically here
    assert.ok(worst <= 1e-6, `${item.image}: largest difference ${worst}`);
  }
});

test('ONNX top-5 equals PyTorch top-5, logits within 1e-4', { timeout: 300_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const clf = await RunClassifier.load(ref!.run);
  assert.equal(clf.model.probability, 'softmax', 'the tiny preset trains with the softmax loss; preprocess.json says so');
  try {
    for (const item of ref!.items) {
      const preds = await clf.classify(item.image, 5);
      const max = Math.max(...item.logits);
      const sum = item.logits.reduce((a, z) => a + Math.exp(z - max), 0);
      assert.deepEqual(preds.map((p) => p.index), item.top5, item.image);
      for (const p of preds) {
        assert.ok(Math.abs(p.logit - item.logits[p.index]!) < 1e-4, `${item.image}: logit ${p.logit} vs ${item.logits[p.index]}`);
        assert.ok(Math.abs(p.prob - Math.exp(item.logits[p.index]! - max) / sum) < 1e-5, `${item.image}: softmax probability of ${p.index}`);
      }
      assert.equal(preds[0]!.path.fine, preds[0]!.name);
      assert.match(predictionPath(preds[0]!, clf.model.levels), / › /);
    }
  } finally {
    await clf.dispose();
  }
});

test('probabilities: softmax over the classes (by hand), or a sigmoid per class for runs trained with the sigmoid loss', () => {
  const p = probabilities([0, Math.log(2), Math.log(5)], 'softmax');
  [1 / 8, 2 / 8, 5 / 8].forEach((v, i) => assert.ok(Math.abs(p[i]! - v) < 1e-12));
  assert.deepEqual(probabilities([1000, 1000], 'softmax'), [0.5, 0.5], 'no overflow');
  const s = probabilities([0, Math.log(3)], 'sigmoid');
  assert.ok(Math.abs(s[0]! - 0.5) < 1e-12 && Math.abs(s[1]! - 0.75) < 1e-12);
});

test('resize is the identity at the same size and keeps a constant image constant', () => {
  const img = { data: new Uint8Array(5 * 7 * 3).fill(77), width: 5, height: 7 };
  assert.deepEqual(resizeBilinearLikePil(img, 5, 7).data, img.data);
  const up = resizeBilinearLikePil(img, 13, 3);
  assert.equal(up.data.length, 13 * 3 * 3);
  assert.ok(up.data.every((v) => v === 77));
});

test('topK orders by value, ties by index', () => {
  assert.deepEqual(topK([0.1, 0.9, 0.5, 0.9], 3), [1, 3, 2]);
  assert.deepEqual(topK([1, 2], 5), [1, 0]);
});

test('a run without an export, or with a broken preprocess.json, says what to do', async () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'pscl-classify-bad-'));
  try {
    await assert.rejects(readExportedModel(d), /model\.onnx: missing: .*export/);
    writeFileSync(path.join(d, 'model.onnx'), 'x');
    await assert.rejects(readExportedModel(d), /preprocess\.json: missing/);
    writeFileSync(path.join(d, 'preprocess.json'), '{"input_size": [64], "mean": [0,0,0], "std": [1,1,1]}');
    await assert.rejects(readExportedModel(d), /preprocess\.json: "input_size" must be \[height, width\]/);
    await assert.rejects(decodeRgb(path.join(d, 'nope.png')), /nope\.png: image not found/);
    writeFileSync(path.join(d, 'bad.png'), 'not a png');
    await assert.rejects(decodeRgb(path.join(d, 'bad.png')), /bad\.png: cannot decode the image/);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
