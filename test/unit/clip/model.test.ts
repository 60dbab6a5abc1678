import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ClipModel, type DenseMap } from '../../../src/core/clip/model';
import { makeTinyClip } from '../../../src/core/clip/tiny';
import { tempDir } from './helpers';

const root = tempDir();
const modelDir = path.join(root, 'tiny');
makeTinyClip(modelDir, { seed: 5 });
const cacheDir = path.join(root, 'cache');

function image(height: number, width: number, seed: number) {
  const data = new Float32Array(3 * height * width).map((_, i) => Math.sin(i * 0.7 + seed) * 1.3);
  return { data, height, width };
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

function assertUnitRows(m: DenseMap) {
  for (let i = 0; i < m.height * m.width; i++) {
    const row = m.data.subarray(i * m.dim, (i + 1) * m.dim);
    assert.ok(Math.abs(Math.hypot(...row) - 1) < 1e-5);
  }
}

test('text embeddings: unit rows, independent of batching', async () => {
  const model = await ClipModel.load(modelDir, { provider: 'cpu', cacheDir });
  assert.equal(model.provider.provider, 'cpu');
  const texts = ['a photo of a bird.', 'wing', 'a photo of a bird.'];
  const all = await model.embedTexts(texts);
  assert.equal(all.rows, 3);
  assert.equal(all.dim, 16);
  const small = await model.embedTexts(texts, { batchSize: 2 });
  assert.ok(maxDiff(all.data, small.data) < 1e-6);
  assert.ok(maxDiff(all.data.subarray(0, 16), all.data.subarray(32, 48)) === 0);
  assert.ok(maxDiff(all.data.subarray(0, 16), all.data.subarray(16, 32)) > 1e-2);
  for (let r = 0; r < 3; r++) assert.ok(Math.abs(Math.hypot(...all.data.subarray(r * 16, r * 16 + 16)) - 1) < 1e-5);
  await model.dispose();
});

test('text embeddings: each text run only up to its <|endoftext|> equals the padded 77-token result', async () => {
  const model = await ClipModel.load(modelDir, { provider: 'cpu', cacheDir });
  // lengths from 3 tokens to past the context (cut to 77), mixed in one batch and alone
  const texts = ['x', 'a photo of the beak of a bird.', 'wing', 'tail feathers of a small brown bird with a long tail', 'wing '.repeat(60), ''];
  const padded = await model.embedTexts(texts, { padToContext: true });
  const short = await model.embedTexts(texts);
  assert.ok(maxDiff(padded.data, short.data) < 1e-5, `max diff ${maxDiff(padded.data, short.data)}`);
  for (let i = 0; i < texts.length; i++) {
    const alone = await model.embedTexts([texts[i]!]);
    assert.ok(maxDiff(alone.data, padded.data.subarray(i * 16, (i + 1) * 16)) < 1e-5, `text ${i}`);
  }
  assert.equal((await model.embedTexts([])).rows, 0);
  await model.dispose();
});

test('dense features: shapes, unit patches, batches of mixed sizes equal one at a time', async () => {
  const model = await ClipModel.load(modelDir, { provider: 'cpu', cacheDir });
  const imgs = [image(32, 32, 1), image(40, 56, 2), image(32, 32, 3)];
  const batched = await model.denseFeatures(imgs, { variant: 'clearclip', batchSize: 4 });
  assert.deepEqual(batched.map((m) => [m.height, m.width, m.dim]), [[4, 4, 16], [5, 7, 16], [4, 4, 16]]);
  for (let i = 0; i < imgs.length; i++) {
    const [alone] = await model.denseFeatures([imgs[i]!], { variant: 'clearclip' });
    assert.ok(maxDiff(alone!.data, batched[i]!.data) < 1e-5);
    assertUnitRows(batched[i]!);
  }
  const [vanilla] = await model.denseFeatures([imgs[0]!], { variant: 'vanilla' });
  assert.ok(maxDiff(vanilla!.data, batched[0]!.data) > 1e-2, 'the variant must change the features');
  await assert.rejects(model.denseFeatures([image(30, 32, 0)]), /not a \[3,H,W\] array with H and W multiples of the patch size 8/);
  await assert.rejects(model.denseFeatures([imgs[0]!], { variant: 'bogus' }), /variant 'bogus'/);
  await model.dispose();
});

test('sliding windows cover large inputs; small inputs are unchanged by them', async () => {
  const model = await ClipModel.load(modelDir, { provider: 'cpu', cacheDir });
  const progress: number[] = [];
  const [slid] = await model.denseFeatures([image(64, 80, 4)], { slidingWindow: { window: 32, stride: 24 }, batchSize: 4, onProgress: (d) => progress.push(d) });
  assert.deepEqual([slid!.height, slid!.width], [8, 10]);
  assertUnitRows(slid!);
  assert.deepEqual(progress, [4, 8, 9]); // 3 x 3 windows in batches of 4
  const small = image(32, 32, 6);
  const [a] = await model.denseFeatures([small], { slidingWindow: true });
  const [b] = await model.denseFeatures([small]);
  assert.ok(maxDiff(a!.data, b!.data) === 0);
  await model.dispose();
});

test('a second start loads the cached graphs instead of building them', async () => {
  const fresh = path.join(root, 'cache2');
  const logs: string[] = [];
  for (let run = 0; run < 2; run++) {
    const model = await ClipModel.load(modelDir, { provider: 'cpu', cacheDir: fresh, log: (m) => logs.push(`${run}: ${m}`) });
    await model.embedTexts(['x']);
    await model.denseFeatures([image(32, 32, 0)], { variant: 'sclip' });
    await model.dispose();
  }
  assert.equal(logs.filter((l) => l.startsWith('0: building')).length, 3); // text, trunk, head
  assert.equal(logs.filter((l) => l.startsWith('1: building')).length, 0);
  assert.equal(logs.filter((l) => l.startsWith('1: using the cached')).length, 3);
});

test('cancellation stops between batches', async () => {
  const model = await ClipModel.load(modelDir, { provider: 'cpu', cacheDir });
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(model.embedTexts(['a'], { signal: ac.signal }), { name: 'AbortError' });
  await assert.rejects(model.denseFeatures([image(32, 32, 0)], { signal: ac.signal }), { name: 'AbortError' });
  await model.dispose();
});

test('a broken model folder is a rejected promise naming the problem, not a crash', async () => {
  const broken = path.join(root, 'broken');
  makeTinyClip(broken, { seed: 5 });
  writeFileSync(path.join(broken, 'model.safetensors'), 'not weights');
  await assert.rejects(ClipModel.load(broken, { provider: 'cpu', cacheDir }), /model\.safetensors: (truncated file|the header)/);
  // forcing CUDA either runs on CUDA or fails saying how to get it (here it is not installed)
  const cuda = await ClipModel.load(modelDir, { provider: 'cuda', cacheDir }).then(
    (m) => m.provider.provider,
    (e: Error) => e.message,
  );
  assert.ok(cuda === 'cuda' || /CUDA provider .*ONNXRUNTIME_NODE_INSTALL=cuda12/.test(cuda), cuda);
});

test('a tokenizer from another model is caught before the graph sees its ids', async () => {
  const mixed = path.join(root, 'mixed');
  makeTinyClip(mixed, { seed: 5 });
  const tok = JSON.parse(readFileSync(path.join(mixed, 'tokenizer.json'), 'utf8'));
  tok.model.vocab['a</w>'] = 9999; // an id past the 514-token vocabulary
  writeFileSync(path.join(mixed, 'tokenizer.json'), JSON.stringify(tok));
  const model = await ClipModel.load(mixed, { provider: 'cpu', cacheDir });
  await assert.rejects(model.embedTexts(['a']), /gives token id 9999, but config\.json has text_config\.vocab_size 514/);
  await model.dispose();
});

test('an unwritable cache folder costs speed, not function', async () => {
  const blocked = path.join(root, 'not-a-folder');
  writeFileSync(blocked, 'a file where the cache folder should be');
  const logs: string[] = [];
  // the weights hash index cannot be written either: load must still succeed
  const model = await ClipModel.load(modelDir, { provider: 'cpu', cacheDir: path.join(blocked, 'cache'), log: (m) => logs.push(m) }).catch((e: Error) => e);
  assert.ok(model instanceof ClipModel, String(model));
  const [m] = await model.denseFeatures([image(32, 32, 0)]);
  assert.equal(m!.dim, 16);
  assert.ok(logs.some((l) => /cannot cache the image-trunk graph/.test(l)), logs.join('\n'));
  await model.dispose();
});
