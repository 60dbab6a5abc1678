// Image embeddings in the training cache: the same values as the model's class-token path on the
// mask's input, their own staleness (model + input size, not the prompts), added to an older cache
// without recomputing its masks, resumed after a cancel, read back by readImageEmbeddings and
// checked by verify. (The parity of the class-token path with PyTorch: test/python.)
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readImageEmbeddings, verifyCache, type CacheManifest } from '../../../src/core/cache';
import { ImageFile } from '../../../src/core/clip/preprocess';
import { MaskSession } from '../../../src/core/masks/session';
import { maskSettings } from '../../../src/core/masks/settings';
import { cacheTestBed, editProject } from '../../helpers/cacheFixture';

const bed = cacheTestBed('pscl-cache-emb-');
const { sample, build } = bed;

const manifestOf = (out: string) => JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as CacheManifest;
const maskStamps = (out: string) => new Map(readdirSync(path.join(out, 'masks')).map((f) => [f, statSync(path.join(out, 'masks', f)).mtimeMs]));

describe('cache image embeddings', () => {
  it('holds the class-token embedding of the mask input for every image, read back in manifest order', async () => {
    const { project, out } = sample();
    const r = await build(project, out);
    assert.deepEqual(r.embeddings, { computed: 72, reused: 0, missing: 0 });
    const e = await readImageEmbeddings(out);
    assert.equal(e.rows, 72);
    assert.equal(e.dim, 16);
    assert.equal(e.missing, 0);
    assert.deepEqual(e.keys, r.manifest.images.map((i) => i.key));
    assert.deepEqual(e.paths, r.manifest.images.map((i) => i.path));
    assert.deepEqual([...e.label], r.manifest.images.map((i) => i.label));
    assert.deepEqual(new Set(e.split), new Set(['train', 'test']));
    // recomputed independently: the same decode and input size, the model's own class-token path
    const session = new MaskSession(bed.model());
    const settings = maskSettings({ size: 32 });
    for (const row of [0, 17, 71]) {
      const pixels = await session.inputPixels(new ImageFile(path.join(r.manifest.datasetRoot, e.paths[row])), settings);
      const want = (await bed.model().imageEmbeddings([pixels])).data;
      const got = e.data.subarray(row * 16, (row + 1) * 16);
      want.forEach((v, j) => assert.ok(Math.abs(v - got[j]) < 1e-5, `row ${row}[${j}]: ${got[j]} vs ${v}`));
      assert.ok(Math.abs(Math.hypot(...got) - 1) < 1e-5);
    }
    // distinct images, distinct embeddings (not one vector repeated)
    assert.notDeepEqual(e.data.subarray(0, 16), e.data.subarray(16, 32));
    const v = await verifyCache(out);
    assert.deepEqual(v.problems, []);
    assert.equal(v.checked.embeddings, 72);
  });

  it('the dense features and the embedding of one trunk pass equal those of separate passes', async () => {
    const { project } = sample();
    const root = path.join(path.dirname(project), 'CUB_tiny', 'images', '001.Red_crowned_Finch');
    const session = new MaskSession(bed.model());
    const settings = maskSettings({ size: 48 });
    const pixels = await Promise.all(readdirSync(root).slice(0, 3).map((f) => session.inputPixels(new ImageFile(path.join(root, f)), settings)));
    const both = await session.encodeImages(pixels, settings, { dense: true, global: true });
    const dense = await session.denseFeatures(pixels, settings);
    const global = await bed.model().imageEmbeddings(pixels);
    assert.deepEqual(both.dense!.map((d) => [...d.data]), dense.map((d) => [...d.data]));
    assert.deepEqual([...both.global!.data], [...global.data]);
    await assert.rejects(bed.model().encodeImages([pixels[0]], { global: true, slidingWindow: { window: 16 } }), /whole image: turn sliding windows off/);
  });

  it('a part prompt change reuses every embedding; an input size change recomputes them and not the hash of the masks alone', async () => {
    const { project, out } = sample();
    const first = await build(project, out);
    const before = await readImageEmbeddings(out);
    editProject(project, (p) => {
      p.parts.bird[1].prompts = ['hooked beak'];
    });
    const r = await build(project, out);
    assert.equal(r.images.computed, 72);
    assert.deepEqual(r.embeddings, { computed: 0, reused: 72, missing: 0 });
    assert.equal(r.manifest.hashes.embeddings, first.manifest.hashes.embeddings);
    assert.deepEqual((await readImageEmbeddings(out)).data, before.data);
    const resized = await build(project, out, { settings: { inputSize: 48 } });
    assert.deepEqual(resized.embeddings, { computed: 72, reused: 0, missing: 0 });
    assert.notEqual(resized.manifest.hashes.embeddings, first.manifest.hashes.embeddings);
    assert.notDeepEqual((await readImageEmbeddings(out)).data, before.data);
    // only the current embeddings file is left
    assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('embeddings-')), [resized.manifest.embeddings!.file]);
    assert.deepEqual((await verifyCache(out)).problems, []);
  });

  it('an older cache without embeddings gets them on the next build, its masks untouched', async () => {
    const { project, out } = sample();
    const first = await build(project, out);
    const want = await readImageEmbeddings(out);
    // the cache as a build before embeddings wrote it
    const m = manifestOf(out);
    rmSync(path.join(out, m.embeddings!.file));
    delete m.embeddings;
    delete (m.hashes as Partial<typeof m.hashes>).embeddings;
    for (const img of m.images) delete img.embedding;
    writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(m, null, 1));
    const old = await verifyCache(out);
    assert.deepEqual(old.problems, []);
    assert.match(old.notes.join('\n'), /no image embeddings .* adds them without recomputing the masks/);
    await assert.rejects(readImageEmbeddings(out), /has no image embeddings; run `pscl cache build` to add them/);
    const stamps = maskStamps(out);
    const r = await build(project, out);
    assert.deepEqual(r.images, { total: 72, computed: 0, reused: 72, errors: 0 });
    assert.deepEqual(r.embeddings, { computed: 72, reused: 0, missing: 0 });
    assert.deepEqual(maskStamps(out), stamps, 'no mask rewritten');
    assert.equal(r.manifest.hashes.masks, first.manifest.hashes.masks);
    const got = await readImageEmbeddings(out);
    got.data.forEach((v, i) => assert.ok(Math.abs(v - want.data[i]) < 1e-5));
    assert.deepEqual((await verifyCache(out)).problems, []);
  });

  it('resumes the embeddings of a cancelled build and recomputes only a changed image', async () => {
    const { project, out } = sample();
    const controller = new AbortController();
    await assert.rejects(
      build(project, out, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'masks' && (p.embeddings ?? 0) >= 8) controller.abort();
        },
      }),
      (err: Error) => err.name === 'AbortError',
    );
    const journaled = readFileSync(path.join(out, 'progress-embeddings.jsonl'), 'utf8').trim().split('\n').length;
    assert.ok(journaled >= 8 && journaled < 72, `${journaled} embeddings journaled`);
    const r = await build(project, out);
    assert.deepEqual(r.embeddings, { computed: 72 - journaled, reused: journaled, missing: 0 });
    assert.ok(!existsSync(path.join(out, 'progress-embeddings.jsonl')));
    const resumed = await readImageEmbeddings(out);
    // the same values as one uninterrupted build
    const fresh = sample();
    await build(fresh.project, fresh.out);
    const whole = await readImageEmbeddings(fresh.out);
    resumed.data.forEach((v, i) => assert.ok(Math.abs(v - whole.data[i]) < 1e-5));
    // a touched image file: its mask and its embedding, nothing else
    const file = path.join(r.manifest.datasetRoot, r.manifest.images[5].path);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const again = await build(project, out);
    assert.equal(again.images.computed, 1);
    assert.deepEqual(again.embeddings, { computed: 1, reused: 71, missing: 0 });
  });

  it('verify reports an embeddings file that was changed, a missing one and a bad row', async () => {
    const { project, out } = sample();
    const r = await build(project, out);
    const file = path.join(out, r.manifest.embeddings!.file);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] ^= 0x40; // the exponent of the last value
    writeFileSync(file, bytes);
    const changed = await verifyCache(out);
    assert.ok(changed.problems.some((p) => p.includes('does not match its hash in the manifest')), changed.problems.join('\n'));
    assert.ok(changed.problems.some((p) => /row 71 has norm/.test(p)), changed.problems.join('\n'));
    const m = manifestOf(out);
    m.images[3].embedding = m.images[4].embedding;
    writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(m));
    assert.ok((await verifyCache(out)).problems.some((p) => /embedding row \d+ is also image/.test(p)));
    rmSync(file);
    const missing = await verifyCache(out);
    assert.ok(missing.problems.some((p) => p.includes(`${file} is missing`)), missing.problems.join('\n'));
    // the next build replaces what it cannot trust
    const rebuilt = await build(project, out);
    assert.equal(rebuilt.embeddings.computed, 72);
    assert.deepEqual((await verifyCache(out)).problems, []);
  });
});
