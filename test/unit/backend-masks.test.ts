// masks/compute and masks/grid over JSON-RPC on the demo model: the label map is what MaskSession
// computes in-process, a prompt edit reuses the cached image features, unsaved project text
// wins over the file, a broken project is a clear error, and grid mode samples several classes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClipModel } from '../../src/core/clip';
import { demoModelDir } from '../../src/core/clip/demoModel';
import { DEFAULT_PREVIEW_SETTINGS } from '../../src/core/masks/settings';
import { decodeLabelMap } from '../../src/core/masks/wire';
import { MaskSession } from '../../src/core/masks/session';
import { BackendClient } from '../../src/core/rpc/client';
import { BackendError } from '../../src/core/rpc/errors';
import { MaskRequests } from '../../src/core/rpc/masks';
import { parseProject } from '../../src/core/taxonomy/project';
import { repoRoot, tempDir } from '../helpers/paths';
import { buildDist } from './fixtures/build-backend';

const tmp = tempDir('pscl-backend-masks-');
const projectFile = path.join(repoRoot, 'samples', 'tiny-birds', 'tiny-birds.pscl.json');
const image = path.join(repoRoot, 'samples', 'tiny-birds', 'CUB_tiny', 'images', '001.Red_crowned_Finch', 'Red_crowned_Finch_0001.jpg');
const settings = { ...DEFAULT_PREVIEW_SETTINGS, size: 224 };

describe('masks/* in the backend', { timeout: 120_000 }, () => {
  let client: BackendClient;
  const cacheDir = path.join(tmp.dir, 'cache');

  before(() => {
    client = new BackendClient({ backendPath: buildDist(), env: { ...process.env, PSCL_CACHE_DIR: cacheDir } });
  });
  after(async () => {
    await client.dispose();
    tmp.cleanup();
  });

  test('masks/compute equals MaskSession in-process; a prompt edit reuses the image features', async () => {
    const first = await client.request(MaskRequests.compute, { model: 'demo', projectFile, image, settings });
    assert.equal(first.coarse, 'bird');
    assert.deepEqual(first.parts.map((p) => p.name).slice(0, 3), ['back', 'beak', 'belly']);
    assert.match(first.image.dataUri, /^data:image\/jpeg;base64,/);
    assert.equal(first.timing.featuresCached, false);

    const model = await ClipModel.load(demoModelDir(repoRoot), { cacheDir: path.join(cacheDir, 'graphs') });
    try {
      const project = parseProject(readFileSync(projectFile, 'utf8')).project!;
      const want = await new MaskSession(model).compute(project, 'bird', image, { variant: 'clearclip', size: 224, kernel: 3, threshold: 0 });
      const got = decodeLabelMap(first.labelMap);
      assert.equal(got.width, want.labels.width);
      assert.deepEqual([...got.data], [...want.labels.data]);
    } finally {
      await model.dispose();
    }

    // Unsaved text: the beak's prompt changed. Same image features, new label map.
    const edited = readFileSync(projectFile, 'utf8').replace('"prompts": ["beak", "bill"]', '"prompts": ["orange beak of a finch"]');
    const second = await client.request(MaskRequests.compute, { model: 'demo', projectFile, projectText: edited, image, settings });
    assert.equal(second.timing.featuresCached, true);
    assert.deepEqual(second.parts[1].prompts, ['a photo of the orange beak of a finch of a bird.']);
    assert.notEqual(second.labelMap.data, first.labelMap.data);
  });

  test('a broken project is an input error naming the file and line', async () => {
    const broken = readFileSync(projectFile, 'utf8').replace('"parts": {', '"parts": {,');
    await assert.rejects(
      client.request(MaskRequests.compute, { model: 'demo', projectFile, projectText: broken, image, settings }),
      (err: BackendError) => err.kind === 'input' && /^tiny-birds\.pscl\.json:\d+:\d+: .+: fix the project file to update the preview$/.test(err.message),
    );
  });

  test('a cancelled request is reported as cancelled', async () => {
    const ac = new AbortController();
    const p = client.request(MaskRequests.compute, { model: 'demo', projectFile, image, settings: { ...settings, size: 448, variant: 'sclip' } }, { token: ac.signal });
    setTimeout(() => ac.abort(), 5);
    await assert.rejects(p, (err: BackendError) => err.kind === 'cancelled');
  });

  test('masks/grid: one image of each of several classes of the category', async () => {
    const r = await client.request(MaskRequests.grid, { model: 'demo', projectFile, settings, maxClasses: 3 });
    assert.equal(r.items.length, 3);
    assert.deepEqual(r.items.map((i) => i.className), ['Red crowned Finch', 'Blue crowned Finch', 'Yellow crowned Warbler']);
    for (const it of r.items) assert.equal(decodeLabelMap(it.labelMap).numParts, 12);
  });
});
