// MaskSession is the one way from an image to its masks: it decodes an image once per request
// (the preview's JPEG shares that decode), a cached image is not decoded again, and the cache's
// batched steps give the same labels as compute().
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ClipModel, makeTinyClip } from '../../src/core/clip';
import { decodeImage, ImageFile, type DecodedImage } from '../../src/core/clip/preprocess';
import { MaskSession } from '../../src/core/masks/session';
import { maskSettings } from '../../src/core/masks/settings';
import { parseProject } from '../../src/core/taxonomy/project';
import { repoRoot, tempDir } from '../helpers/paths';

const tmp = tempDir('pscl-session-');
const project = parseProject(readFileSync(path.join(repoRoot, 'samples', 'tiny-birds', 'tiny-birds.pscl.json'), 'utf8')).project!;
const images = path.join(repoRoot, 'samples', 'tiny-birds', 'CUB_tiny', 'images', '001.Red_crowned_Finch');
const image = path.join(images, 'Red_crowned_Finch_0001.jpg');

/** Counts the decodes it really does. */
class CountingImage extends ImageFile {
  decodes = 0;
  private once?: Promise<DecodedImage>;
  override decode(): Promise<DecodedImage> {
    if (!this.once) {
      this.decodes++;
      this.once = decodeImage(this.path);
    }
    return this.once;
  }
}

describe('MaskSession', () => {
  let model: ClipModel;
  before(async () => {
    const dir = path.join(tmp.dir, 'tiny');
    makeTinyClip(dir, { patch: 8, imageSize: 32, width: 32, embedDim: 16, seed: 3 });
    model = await ClipModel.load(dir, { cacheDir: path.join(tmp.dir, 'graphs') });
  });
  after(async () => {
    await model?.dispose();
    tmp.cleanup();
  });

  test('one decode per request; an image whose features are cached is not decoded again', async () => {
    const session = new MaskSession(model);
    const first = new CountingImage(image);
    const masks = await session.compute(project, 'bird', first, { size: 64 });
    assert.equal(first.decodes, 1, 'compute decodes through the request\'s ImageFile');
    assert.equal(masks.timing.featuresCached, false);
    await first.decode(); // what the backend's JPEG for the page does
    assert.equal(first.decodes, 1, 'and the JPEG shares that decode');
    const again = new CountingImage(image);
    const cached = await session.compute(project, 'bird', again, { size: 64, kernel: 1 });
    assert.equal(cached.timing.featuresCached, true);
    assert.equal(again.decodes, 0);
    assert.deepEqual(cached.settings, maskSettings({ size: 64, kernel: 1 }));
  });

  test('a phrasing edit encodes only the changed phrasing (through the templates), nothing else', async () => {
    const session = new MaskSession(model);
    const sent: string[][] = [];
    const embed = model.embedTexts.bind(model);
    const spy = Object.assign(Object.create(model), { embedTexts: (texts: string[], o?: object) => (sent.push(texts), embed(texts, o)) });
    const spied = new MaskSession(spy as ClipModel);
    await spied.compute(project, 'bird', image, { size: 64 });
    assert.equal(sent.length, 1);
    assert.equal(sent[0].length, 17, 'every phrasing of the 12 parts (17) through the one template, once');
    const edited = structuredClone(project);
    edited.parts.bird[1].prompts = ['beak', 'hooked bill'];
    const masks = await spied.compute(edited, 'bird', image, { size: 64 });
    assert.deepEqual(sent[1], ['a photo of the hooked bill of a bird.']);
    assert.equal(sent.length, 2);
    // and the labels are those of a fresh session (no stale text embedding kept)
    assert.deepEqual(Buffer.from(masks.labels.data), Buffer.from((await session.compute(edited, 'bird', image, { size: 64 })).labels.data));
  });

  test("the cache's batched steps give compute()'s labels", async () => {
    const session = new MaskSession(model);
    const settings = maskSettings({ size: 64 });
    const files = ['Red_crowned_Finch_0001.jpg', 'Red_crowned_Finch_0002.jpg', 'Red_crowned_Finch_0003.jpg'].map((f) => path.join(images, f));
    const pixels = await Promise.all(files.map((f) => session.inputPixels(new ImageFile(f), settings)));
    const dense = await session.denseFeatures(pixels, settings, { batchSize: 3 });
    const { prompts, parts } = await session.partEmbeddings(project, 'bird');
    for (const [i, f] of files.entries()) {
      const batched = session.labels(dense[i], prompts, parts.length, { height: pixels[i].height, width: pixels[i].width }, settings);
      const alone = await new MaskSession(model).compute(project, 'bird', f, settings);
      assert.deepEqual(Buffer.from(batched.labels.data), Buffer.from(alone.labels.data), f);
    }
  });
});
