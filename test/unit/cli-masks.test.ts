// `pscl masks` end to end: the written label map is the shared pipeline's result on the model's
// own dense features and prompt embeddings, and bad input fails with a message naming it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ClipModel, loadImagePixels, makeTinyClip } from '../../src/core/clip';
import { readLabelMapPng } from '../../src/core/masks/export';
import { computePartMasks } from '../../src/core/masks/pipeline';
import { expandPartPrompts } from '../../src/core/parts/prompts';
import { parseProject } from '../../src/core/taxonomy/project';
import { readNpy } from '../../src/core/util/npy';
import { buildDist } from '../helpers/build';
import { repoRoot, tempDir } from '../helpers/paths';

const tmp = tempDir('pscl-masks-');
const modelDir = path.join(tmp.dir, 'tiny');
const projectFile = path.join(repoRoot, 'samples', 'tiny-birds', 'tiny-birds.pscl.json');
const image = path.join(repoRoot, 'samples', 'tiny-birds', 'CUB_tiny', 'images', '001.Red_crowned_Finch', 'Red_crowned_Finch_0001.jpg');

function pscl(...args: string[]) {
  return spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'pscl.js'), ...args], {
    cwd: tmp.dir,
    encoding: 'utf8',
    env: { ...process.env, PSCL_CACHE_DIR: path.join(tmp.dir, 'cache') },
  });
}

before(() => {
  buildDist();
  makeTinyClip(modelDir, { patch: 8, imageSize: 32, width: 32, embedDim: 16, seed: 7 });
});
after(() => tmp.cleanup());

test('pscl masks writes the label map the shared pipeline computes from the model', async () => {
  const out = path.join(tmp.dir, 'out');
  const r = pscl('masks', '--project', projectFile, '--image', image, '--model', modelDir, '--size', '64', '--kernel', '3', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /12 parts of 'bird'/);
  const labels = await readLabelMapPng(path.join(out, 'Red_crowned_Finch_0001.labels.png'));
  const legend = JSON.parse(readFileSync(path.join(out, 'Red_crowned_Finch_0001.legend.json'), 'utf8'));
  const probs = readNpy(path.join(out, 'Red_crowned_Finch_0001.probabilities.npy'));

  // the reference: the same model's features and prompt embeddings through computePartMasks
  const project = parseProject(readFileSync(projectFile, 'utf8')).project!;
  const model = await ClipModel.load(modelDir, { cacheDir: path.join(tmp.dir, 'graphs') });
  try {
    const pixels = await loadImagePixels(image, { mode: 'fit', size: 64, multipleOf: 8 });
    const [dense] = await model.denseFeatures([pixels], { variant: 'clearclip' });
    const parts = expandPartPrompts(project, 'bird');
    const dim = model.embedDim;
    const prompts = new Float32Array(parts.length * dim);
    for (const [i, p] of parts.entries()) {
      const e = await model.embedTexts(p.texts);
      for (let d = 0; d < dim; d++) {
        let s = 0;
        for (let t = 0; t < e.rows; t++) s += e.data[t * dim + d];
        prompts[i * dim + d] = s;
      }
      const row = prompts.subarray(i * dim, (i + 1) * dim);
      const n = Math.hypot(...row);
      for (let d = 0; d < dim; d++) row[d] /= n;
    }
    const ref = computePartMasks({ data: dense.data, h: dense.height, w: dense.width, dim }, { data: prompts, n: parts.length, dim }, parts.length, { height: pixels.height, width: pixels.width }, { kernel: 3 });
    assert.equal(labels.width, pixels.width);
    assert.equal(labels.height, pixels.height);
    assert.deepEqual(Buffer.from(labels.data), Buffer.from(ref.labels.data));
    assert.deepEqual(probs.shape, [dense.height, dense.width, parts.length]);
    for (let i = 0; i < ref.probabilities.length; i++) assert.ok(Math.abs(probs.data[i] - ref.probabilities[i]) < 1e-5);
    assert.deepEqual(legend.parts.map((p: { name: string }) => p.name), parts.map((p) => p.part));
  } finally {
    await model.dispose();
  }
});

test('pscl masks names the missing image, the unknown coarse category and a bad kernel', () => {
  const missing = pscl('masks', '--project', projectFile, '--image', 'nope.jpg', '--model', modelDir);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /image nope\.jpg not found/);
  const coarse = pscl('masks', '--project', projectFile, '--image', image, '--model', modelDir, '--coarse', 'car');
  assert.equal(coarse.status, 2);
  assert.match(coarse.stderr, /no parts for coarse category 'car' \(parts exist for: bird\)/);
  const kernel = pscl('masks', '--project', projectFile, '--image', image, '--model', modelDir, '--kernel', '4');
  assert.equal(kernel.status, 2);
  assert.match(kernel.stderr, /--kernel 4: must be an odd integer from 1 to 255/);
  const model = pscl('masks', '--project', projectFile, '--image', image, '--model', path.join(tmp.dir, 'no-model'));
  assert.equal(model.status, 2);
  assert.match(model.stderr, /model folder not found: .*no-model/);
});

test('without --coarse, pscl masks uses the first category with parts and says which others there are', () => {
  // the CLI used to refuse (the preview took the first): both now take the first and the CLI says so
  const file = path.join(tmp.dir, 'two.pscl.json');
  const text = readFileSync(projectFile, 'utf8').replace('"parts": {', '"parts": {\n    "empty": [],');
  const withCar = text.replace(/("parts": \{[\s\S]*?\n  \})/, (m) => m.replace(/\n  \}$/, ',\n    "car": [{ "name": "wheel", "prompts": ["wheel"] }]\n  }'));
  writeFileSync(file, withCar.replace('"root": "CUB_tiny"', `"root": ${JSON.stringify(path.join(repoRoot, 'samples', 'tiny-birds', 'CUB_tiny'))}`));
  const r = pscl('masks', '--project', file, '--image', image, '--model', modelDir, '--size', '32', '--out', path.join(tmp.dir, 'two'));
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /parts of 'bird'/);
  assert.match(r.stderr, /masks: using the parts of 'bird' \(parts exist for car too\); pass --coarse to choose/);
});
