// The training cache honours the project's image decisions: excluded images are listed with
// status excluded (never computed, skipped by the trainer), relabelled ones carry the project's
// class; taking an image back in reuses the mask an earlier build made.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCache, clipEncoders, verifyCache, type CacheEncoders } from '../../../src/core/cache';
import { ClipModel } from '../../../src/core/clip/model';
import { excludeImages, includeImages, relabelImages } from '../../../src/core/curation/edits';
import { applyEdits } from '../../../src/core/taxonomy/edits';
import { copySample, tinyModel } from '../../helpers/cacheFixture';
import { tempDir } from '../../helpers/paths';

const tmp = tempDir('pscl-cache-decisions-');
after(tmp.cleanup);
let model: ClipModel;
let encoders: CacheEncoders;
before(async () => {
  model = await ClipModel.load(tinyModel(path.join(tmp.dir, 'tiny')), { provider: 'cpu', cacheDir: path.join(tmp.dir, 'graphs') });
  encoders = clipEncoders(model);
});
after(() => model?.dispose());

const A = 'images/001.Red_crowned_Finch/Red_crowned_Finch_0001.jpg';
const B = 'images/002.Blue_crowned_Finch/Blue_crowned_Finch_0003.jpg';
const edit = (file: string, f: (text: string) => ReturnType<typeof excludeImages>) => {
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, applyEdits(text, f(text)));
};

describe('cache build with image decisions', () => {
  it('excludes, relabels, records why, and reuses the mask when the image comes back', async () => {
    const project = copySample(path.join(tmp.dir, 's'), 24);
    const out = path.join(tmp.dir, 's', 'cache');
    const build = () => buildCache({ projectFile: project, outDir: out, encoders, batchSize: 4, settings: { inputSize: 32 } });
    const first = await build();
    assert.equal(first.images.computed, 24);
    const maskOfA = first.manifest.images.find((i) => i.path === A)!.mask;

    edit(project, (t) => excludeImages(t, [{ path: A, reason: 'duplicate of another image' }]));
    edit(project, (t) => relabelImages(t, [B], '1'));
    const r = await build();
    assert.equal(r.excluded, 1);
    assert.deepEqual(r.images, { total: 24, computed: 0, reused: 23, errors: 0 }, 'nothing recomputed: the relabel keeps the coarse category');
    const a = r.manifest.images.find((i) => i.path === A)!;
    assert.equal(a.status, 'excluded');
    assert.equal(a.reason, 'duplicate of another image');
    assert.equal(a.mask, maskOfA, 'the mask is kept for a later re-inclusion');
    const b = r.manifest.images.find((i) => i.path === B)!;
    assert.equal(b.status, 'ok');
    assert.equal(r.manifest.classes[b.label].id, '1', 'the relabel is the label the trainer reads');
    assert.equal(b.relabeledFrom, '2');
    assert.deepEqual(r.manifest.counts, { images: 24, ok: 23, error: 0, excluded: 1 });
    const v = await verifyCache(out);
    assert.deepEqual(v.problems, []);
    assert.deepEqual(v.notes, []);

    edit(project, (t) => includeImages(t, [A]));
    assert.match((await verifyCache(out)).notes.join('\n'), /image decisions .* changed since the build/);
    const back = await build();
    assert.equal(back.excluded, 0);
    // its mask is reused; its image embedding (not kept while it was excluded) takes one model pass
    assert.deepEqual(back.images, { total: 24, computed: 1, reused: 23, errors: 0 }, 'the excluded image comes back: only its embedding is computed');
    assert.deepEqual(back.embeddings, { computed: 1, reused: 23, missing: 0 });
    const aBack = back.manifest.images.find((i) => i.path === A)!;
    assert.equal(aBack.status, 'ok');
    assert.equal(aBack.mask, maskOfA, 'the excluded image comes back with its old mask');
    assert.equal(back.manifest.counts.excluded, undefined);
  });
});
