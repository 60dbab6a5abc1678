// The cache builder on the sample dataset with the tiny CLIP: contents against the manifest,
// staleness (part prompt vs class name), corrupt images, cancellation and resume, verify.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { formatCacheProgress, verifyCache, type CacheProgress } from '../../../src/core/cache';
import { SafetensorsFile } from '../../../src/core/clip/safetensors';
import { readLabelMapPng } from '../../../src/core/masks/export';
import { MaskSession } from '../../../src/core/masks/session';
import { cacheTestBed, editProject } from '../../helpers/cacheFixture';

const bed = cacheTestBed('pscl-cache-');
const { sample, build } = bed;

function tensors(file: string): Map<string, { shape: number[]; data: Float32Array }> {
  const f = SafetensorsFile.open(file);
  try {
    return new Map([...f.tensors.values()].map((t) => [t.name, { shape: t.shape, data: f.readFloat32(t.name) }]));
  } finally {
    f.close();
  }
}

describe('cache build', () => {
  it('writes masks, prototypes and a manifest that agree, and verify passes', async () => {
    const { project, out } = sample();
    const r = await build(project, out);
    assert.deepEqual(r.images, { total: 72, computed: 72, reused: 0, errors: 0 });
    const m = r.manifest;
    assert.equal(m.levels.join(), 'coarse,order,family,genus,species');
    assert.deepEqual(m.levelValues.coarse, ['bird']);
    assert.equal(m.classes.length, 6);
    assert.equal(m.numPartSlots, 12);
    assert.equal(m.parts.bird[4], 'crown');
    assert.equal(m.images.length, 72);
    assert.deepEqual(new Set(m.images.map((i) => i.split)), new Set(['train', 'test']));
    const t = tensors(path.join(out, 'prototypes.safetensors'));
    assert.deepEqual(t.get('fine')!.shape, [6, 16]);
    assert.deepEqual(t.get('level.genus')!.shape, [m.levelValues.genus.length, 16]);
    assert.deepEqual(t.get('parts.bird')!.shape, [12, 16]);
    // fine[c] = norm(level.species[c] - level.coarse[0]), recomputed here
    const fine = t.get('fine')!.data;
    const species = t.get('level.species')!.data;
    const coarse = t.get('level.coarse')!.data;
    for (const c of m.classes) {
      const s = c.levelIndex[4];
      const diff = Array.from({ length: 16 }, (_, j) => species[s * 16 + j] - coarse[c.levelIndex[0] * 16 + j]);
      const norm = Math.hypot(...diff);
      diff.forEach((v, j) => assert.ok(Math.abs(v / norm - fine[c.index * 16 + j]) < 1e-5));
    }
    // every mask: the recorded size, long side maskSize, labels within the parts
    let labelled = 0;
    for (const img of m.images) {
      const lm = await readLabelMapPng(path.join(out, img.mask!), 12);
      assert.equal(Math.max(lm.width, lm.height), 224);
      assert.equal(lm.width, img.maskWidth);
      if (lm.data.some((v) => v > 0)) labelled++;
    }
    assert.ok(labelled > 0, 'masks hold part labels');
    const v = await verifyCache(out);
    assert.deepEqual(v.problems, []);
    assert.equal(v.checked.masks, 72);
    assert.deepEqual(readdirSync(out).sort(), [m.embeddings!.file, m.keypointFeatures!.file, 'manifest.json', 'masks', 'prototypes.safetensors']);
    assert.match(m.embeddings!.file, /^embeddings-[0-9a-f]{8}\.safetensors$/);
  });

  it('holds the masks the preview session computes for the same image and settings', async () => {
    const { project, out } = sample();
    const r = await build(project, out);
    const session = new MaskSession(bed.model());
    const parsed = JSON.parse(readFileSync(project, 'utf8'));
    for (const img of [r.manifest.images[0], r.manifest.images[40]]) {
      const cached = await readLabelMapPng(path.join(out, img.mask!), 12);
      const preview = await session.compute(parsed, 'bird', path.join(r.manifest.datasetRoot, img.path), {
        size: r.manifest.settings.inputSize,
        variant: 'clearclip',
        kernel: r.manifest.settings.kernel,
        threshold: r.manifest.settings.threshold,
        output: { height: cached.height, width: cached.width },
      });
      assert.deepEqual(preview.labels.data, cached.data, `image ${img.key}`);
    }
  });

  it('a second build recomputes nothing; --force recomputes everything', async () => {
    const { project, out } = sample();
    await build(project, out);
    const again = await build(project, out);
    assert.deepEqual(again.images, { total: 72, computed: 0, reused: 72, errors: 0 });
    assert.equal(again.prototypes, 'reused');
    const events: CacheProgress[] = [];
    const forced = await build(project, out, { force: true, onProgress: (p) => events.push(p) });
    assert.equal(forced.images.computed, 72);
    assert.equal(forced.prototypes, 'computed');
    // progress: every phase, counts that only grow, a rate and an ETA while masks are computed
    assert.deepEqual([...new Set(events.map((e) => e.phase))], ['prepare', 'prototypes', 'masks', 'finish']);
    const masks = events.filter((e) => e.phase === 'masks');
    assert.equal(masks.length, 72 / 4);
    masks.forEach((e, i) => i > 0 && assert.ok(e.done > masks[i - 1].done));
    assert.ok(masks.every((e) => e.imagesPerSecond > 0 && e.etaSeconds !== undefined && e.total === 72));
    assert.equal(masks.at(-1)!.etaSeconds, 0);
    assert.match(formatCacheProgress(masks[3]), /^images 16\/72  \(masks 16 computed, 0 reused, 0 errors\)  16 embeddings  [\d.]+ images\/s  ETA \d+s$/);
  });

  it('a part prompt change makes the masks stale and not the prototypes', async () => {
    const { project, out } = sample();
    const first = await build(project, out);
    const before = tensors(path.join(out, 'prototypes.safetensors'));
    editProject(project, (p) => {
      p.parts.bird[0].prompts = ['lower back'];
    });
    assert.match((await verifyCache(out)).notes.join('\n'), /part prompts .* changed since the build: the masks are stale/);
    const r = await build(project, out);
    assert.deepEqual(r.images, { total: 72, computed: 72, reused: 0, errors: 0 });
    assert.equal(r.prototypes, 'reused');
    assert.equal(r.partEmbeddings, 'computed');
    assert.notEqual(r.manifest.hashes.masks, first.manifest.hashes.masks);
    assert.equal(r.manifest.hashes.prototypes, first.manifest.hashes.prototypes);
    const after = tensors(path.join(out, 'prototypes.safetensors'));
    assert.deepEqual(after.get('fine')!.data, before.get('fine')!.data);
    assert.notDeepEqual(after.get('parts.bird')!.data, before.get('parts.bird')!.data);
    // the old masks are gone once the new manifest is written
    assert.equal(readdirSync(path.join(out, 'masks')).length, 72);
    assert.deepEqual((await verifyCache(out)).problems, []);
  });

  it('a class name change makes the prototypes stale and not the masks', async () => {
    const { project, out } = sample();
    const first = await build(project, out);
    editProject(project, (p) => {
      p.classes[0].name = 'Scarlet crowned Finch';
    });
    const r = await build(project, out);
    assert.deepEqual(r.images, { total: 72, computed: 0, reused: 72, errors: 0 });
    assert.equal(r.prototypes, 'computed');
    assert.equal(r.partEmbeddings, 'reused');
    assert.equal(r.manifest.hashes.masks, first.manifest.hashes.masks);
    assert.equal(r.manifest.classes[0].name, 'Scarlet crowned Finch');
    assert.deepEqual((await verifyCache(out)).problems, []);
  });

  it('reports a corrupt image in the manifest and skips it', async () => {
    const { project, out } = sample();
    const bad = path.join(path.dirname(project), 'CUB_tiny', 'images', '002.Blue_crowned_Finch', 'Blue_crowned_Finch_0003.jpg');
    writeFileSync(bad, Buffer.from('this is not a JPEG'));
    const r = await build(project, out);
    assert.deepEqual(r.images, { total: 72, computed: 71, reused: 0, errors: 1 });
    const e = r.manifest.images.find((i) => i.status === 'error')!;
    assert.equal(e.path, 'images/002.Blue_crowned_Finch/Blue_crowned_Finch_0003.jpg');
    assert.match(e.error!, /unreadable image: .*Blue_crowned_Finch_0003\.jpg/);
    assert.equal(e.mask, undefined);
    assert.deepEqual(r.manifest.counts, { images: 72, ok: 71, error: 1 });
    assert.deepEqual((await verifyCache(out)).problems, []);
    // not retried while the file is unchanged
    const again = await build(project, out);
    assert.deepEqual(again.images, { total: 72, computed: 0, reused: 71, errors: 1 });
  });

  it('cancels on the signal, keeps the finished masks and resumes from them', async () => {
    const { project, out } = sample();
    const controller = new AbortController();
    await assert.rejects(
      build(project, out, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'masks' && p.computed >= 8) controller.abort();
        },
      }),
      (err: Error) => err.name === 'AbortError',
    );
    assert.ok(!existsSync(path.join(out, 'manifest.json')), 'no manifest for an unfinished build');
    const journaled = readFileSync(path.join(out, 'progress.jsonl'), 'utf8').trim().split('\n').length;
    assert.ok(journaled >= 8 && journaled < 72, `${journaled} masks journaled`);
    const r = await build(project, out);
    assert.deepEqual(r.images, { total: 72, computed: 72 - journaled, reused: journaled, errors: 0 });
    assert.deepEqual((await verifyCache(out)).problems, []);
    assert.ok(!existsSync(path.join(out, 'progress.jsonl')));
  });

  it('recomputes only the mask of an image whose file changed', async () => {
    const { project, out } = sample();
    const first = await build(project, out);
    const img = first.manifest.images[10];
    const file = path.join(first.manifest.datasetRoot, img.path);
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const r = await build(project, out);
    assert.deepEqual(r.images, { total: 72, computed: 1, reused: 71, errors: 0 });
    assert.notDeepEqual(r.manifest.images[10].source, img.source);
  });

  it('a build killed after setting the old manifest aside reuses its masks', async () => {
    const { project, out } = sample();
    await build(project, out);
    // the state a kill leaves between setting the manifest aside and writing the new one
    renameSync(path.join(out, 'manifest.json'), path.join(out, '.manifest.previous.json'));
    const r = await build(project, out);
    assert.deepEqual(r.images, { total: 72, computed: 0, reused: 72, errors: 0 });
    assert.ok(!existsSync(path.join(out, '.manifest.previous.json')));
    assert.deepEqual((await verifyCache(out)).problems, []);
  });

  it('verify reports a missing mask, a changed mask and a wrong prototype file', async () => {
    const { project, out } = sample();
    const r = await build(project, out);
    // two images whose masks differ (with the tiny model some masks come out the same)
    const a = r.manifest.images[0];
    const b = r.manifest.images.find((i) => i.maskSha256 !== a.maskSha256)!;
    const ma = path.join(out, a.mask!);
    const mb = path.join(out, b.mask!);
    writeFileSync(ma, readFileSync(mb));
    const protos = path.join(out, 'prototypes.safetensors');
    const bytes = readFileSync(protos);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(protos, bytes);
    const before = await verifyCache(out);
    assert.ok(before.problems.some((p) => p.includes(`image ${a.key}`) && /does not match its hash/.test(p)), before.problems.join('\n'));
    assert.ok(before.problems.some((p) => /prototypes\.safetensors does not match its hash/.test(p)));
    rmSync(mb);
    assert.ok((await verifyCache(out)).problems.some((p) => p.includes(`mask ${b.mask} is missing`)));
  });
});
