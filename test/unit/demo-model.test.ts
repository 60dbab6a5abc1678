// The demo CLIP committed in models/demo-clip/: intact (its SHA256SUMS), loadable by the core with
// the sample's native input size, the default of the CLI, a clear error when a file is missing, and
// the random stand-in where it is not installed (the VSIX has no room for it).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ClipModel } from '../../src/core/clip';
import { DEMO_MODEL_ID, DEMO_MODEL_PATH, demoModelDir, describeDemoModel, findDemoModel, RANDOM_DEMO_MODEL_ID, resolveDemoModel } from '../../src/core/clip/demoModel';
import { resolveModel } from '../../src/cli/model';
import { repoRoot, tempDir } from '../helpers/paths';

const tmp = tempDir();
after(tmp.cleanup);

describe('demo CLIP model', () => {
  it('is the committed folder, and its files match SHA256SUMS', () => {
    const dir = demoModelDir(repoRoot);
    assert.equal(dir, path.join(repoRoot, DEMO_MODEL_PATH));
    const sums = readFileSync(path.join(dir, 'SHA256SUMS'), 'utf8').trim().split('\n');
    assert.deepEqual(sums.map((l) => l.split('  ')[1]).sort(), ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    for (const line of sums) {
      const [hash, file] = line.split('  ');
      assert.equal(createHash('sha256').update(readFileSync(path.join(dir, file))).digest('hex'), hash, `${file} does not match SHA256SUMS`);
    }
  });

  it('loads in the core: 448-pixel input, 14 x 14 patches, 64-dimensional embeddings', async () => {
    const model = await ClipModel.load(demoModelDir(repoRoot), { provider: 'cpu', cacheDir: path.join(tmp.dir, 'graphs') });
    try {
      assert.equal(model.imageSize, 448);
      assert.equal(model.patchSize, 32);
      assert.equal(model.embedDim, 64);
      const t = await model.embedTexts(['a photo of the crown of a bird.', 'a photo of the beak of a bird.']);
      const cos = [...t.data.subarray(0, 64)].reduce((s, v, i) => s + v * t.data[64 + i], 0);
      assert.ok(cos < 0.9, `crown and beak prompts are near-identical (cos ${cos})`);
    } finally {
      await model.dispose();
    }
  });

  it('is what the CLI uses when no model is given', async () => {
    const saved = process.env.PSCL_CLIP_MODEL;
    delete process.env.PSCL_CLIP_MODEL;
    try {
      const r = await resolveModel('masks');
      assert.equal(r.demo, true);
      assert.equal(r.demoModel?.trained, true);
      assert.equal(path.resolve(r.dir), path.resolve(repoRoot, DEMO_MODEL_PATH));
    } finally {
      if (saved !== undefined) process.env.PSCL_CLIP_MODEL = saved;
    }
  });

  it('`--model demo` (and $PSCL_CLIP_MODEL=demo) is the demo model, as `demo` is in pscl.clip.model', async () => {
    const saved = process.env.PSCL_CLIP_MODEL;
    process.env.PSCL_CLIP_MODEL = 'demo';
    try {
      for (const r of [await resolveModel('lint', 'demo'), await resolveModel('lint')]) {
        assert.equal(r.demoModel?.trained, true);
        assert.equal(path.resolve(r.dir), path.resolve(repoRoot, DEMO_MODEL_PATH));
      }
    } finally {
      if (saved === undefined) delete process.env.PSCL_CLIP_MODEL;
      else process.env.PSCL_CLIP_MODEL = saved;
    }
  });

  it('names the missing file when the install lacks one', () => {
    const root = path.join(tmp.dir, 'install');
    cpSync(path.join(repoRoot, DEMO_MODEL_PATH), path.join(root, DEMO_MODEL_PATH), { recursive: true });
    rmSync(path.join(root, DEMO_MODEL_PATH, 'tokenizer.json'));
    assert.throws(() => demoModelDir(root), /demo CLIP model is incomplete: .*tokenizer\.json missing; in a checkout run `npm run demo-clip`/);
    // an incomplete folder is an error, not a reason to fall back to the random stand-in
    return assert.rejects(resolveDemoModel(path.join(tmp.dir, 'cache'), root), /incomplete/);
  });

  it('falls back to the random stand-in where the package has no models/demo-clip (the VSIX), and says so', async () => {
    const root = path.join(tmp.dir, 'extension', 'pscl-studio');
    mkdirSync(path.join(root, 'dist'), { recursive: true });
    assert.equal(findDemoModel(path.join(root, 'dist')), undefined);
    const m = await resolveDemoModel(path.join(tmp.dir, 'cache'), path.join(root, 'dist'));
    assert.equal(m.trained, false);
    assert.equal(m.id, RANDOM_DEMO_MODEL_ID);
    assert.ok(m.dir.startsWith(path.join(tmp.dir, 'cache', 'models')), m.dir);
    assert.match(describeDemoModel(m), /random stand-in .*not installed here/);
    const trained = await resolveDemoModel(path.join(tmp.dir, 'cache'), path.join(repoRoot, 'dist'));
    assert.deepEqual(trained, { dir: path.join(repoRoot, DEMO_MODEL_PATH), id: DEMO_MODEL_ID, trained: true });
  });
});
