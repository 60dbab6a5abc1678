// Keypoint features in the training cache: the masks' dense features sampled at every visible
// keypoint of the dataset's part_locs.txt, stored with the part and the position, made in the same
// pass as the mask and reused with it; an older cache without them gets them on the next build.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { readManifest, verifyCache, type CacheManifest } from '../../../src/core/cache';
import { readKeypointFeatures, sampleKeypointFeatures } from '../../../src/core/cache/keypointFeatures';
import { MaskSession } from '../../../src/core/masks/session';
import { maskSettings } from '../../../src/core/masks/settings';
import { cacheTestBed, editProject } from '../../helpers/cacheFixture';

const bed = cacheTestBed('pscl-cache-kp-');
const { sample, build } = bed;

function partLocs(project: string): string[][] {
  return readFileSync(path.join(path.dirname(project), 'CUB_tiny', 'parts', 'part_locs.txt'), 'utf8').trim().split('\n').map((l) => l.split(' '));
}

describe('cache keypoint features', () => {
  it('samples the dense map bilinearly at a keypoint (hand-computed case) and normalises', () => {
    // a 2x2 grid, dim 2: patch (0,0) = [1,0], (0,1) = [0,1], (1,0) = [1,0], (1,1) = [0,1]
    const dense = { data: Float32Array.from([1, 0, 0, 1, 1, 0, 0, 1]), height: 2, width: 2, dim: 2 };
    const index = new Map([['beak', 0], ['eye', 1]]);
    // x at the centre of the image (fraction 0.5 -> grid 0.5): half of each column; y anywhere
    const mid = sampleKeypointFeatures(dense, [{ part: 'eye', x: 50, y: 10 }], 100, 100, index);
    assert.deepEqual(mid.parts, [1]);
    assert.deepEqual(mid.position, [0.5, 0.1]);
    assert.ok(Math.abs(mid.features[0] - Math.SQRT1_2) < 1e-6 && Math.abs(mid.features[1] - Math.SQRT1_2) < 1e-6);
    // fraction 0.375 -> grid 0.375 * 2 - 0.5 = 0.25: weights 0.75 (first column) and 0.25
    const q = sampleKeypointFeatures(dense, [{ part: 'beak', x: 37.5, y: 50 }, { part: 'tail', x: 1, y: 1 }], 100, 100, index);
    const n = Math.hypot(0.75, 0.25);
    assert.ok(Math.abs(q.features[0] - 0.75 / n) < 1e-6 && Math.abs(q.features[1] - 0.25 / n) < 1e-6);
    assert.equal(q.parts.length, 1, 'a keypoint of a part the index lacks is left out');
    // borders clamp: the first column only
    const edge = sampleKeypointFeatures(dense, [{ part: 'beak', x: 0, y: 0 }], 100, 100, index);
    assert.deepEqual(Array.from(edge.features), [1, 0]);
  });

  it('stores every visible keypoint of the sample with its part and position, sampled from the preview features', async () => {
    const { project, out } = sample();
    const r = await build(project, out);
    const m = r.manifest;
    const locs = partLocs(project);
    const visible = locs.filter((l) => l[4] === '1');
    assert.equal(m.keypointFeatures!.rows, visible.length);
    assert.equal(m.keypointFeatures!.parts.length, 15);
    const k = readKeypointFeatures(out, m);
    // the rows of image 1 (key '1') in part_locs order, at x / 160 (the sample's images are 160 px)
    const img = m.images.findIndex((i) => i.key === '1');
    const rows = [...k.image.keys()].filter((r) => k.image[r] === img);
    const want = visible.filter((l) => l[0] === '1');
    assert.equal(rows.length, want.length);
    rows.forEach((row, j) => {
      assert.equal(k.names[k.part[row]], readFileSync(path.join(path.dirname(project), 'CUB_tiny', 'parts', 'parts.txt'), 'utf8').trim().split('\n')[Number(want[j][1]) - 1].split(' ')[1]);
      assert.ok(Math.abs(k.position[2 * row] - Number(want[j][2]) / 160) < 1e-6);
      assert.ok(Math.abs(k.position[2 * row + 1] - Number(want[j][3]) / 160) < 1e-6);
    });
    // the features: the preview session's dense map of the same image, sampled at the keypoints
    const session = new MaskSession(bed.model());
    const feats = await session.imageFeatures(path.join(m.datasetRoot, m.images[img].path), maskSettings({ size: 32 }));
    const expect = sampleKeypointFeatures(feats.dense, want.map((l) => ({ part: k.names[Number(l[1]) - 1], x: Number(l[2]), y: Number(l[3]) })), 160, 160, new Map(k.names.map((n, i) => [n, i])));
    rows.forEach((row, j) => {
      for (let d = 0; d < k.dim; d++) assert.ok(Math.abs(k.features[row * k.dim + d] - expect.features[j * k.dim + d]) < 2e-3, `row ${row} dim ${d}`); // float16
    });
    const v = await verifyCache(out);
    assert.deepEqual(v.problems, []);
    assert.equal(v.checked.keypoints, visible.length);
  });

  it('a prompt edit keeps the keypoint hash; an older cache without them recomputes its masks for them', async () => {
    const { project, out } = sample();
    const first = await build(project, out);
    editProject(project, (p) => {
      p.parts.bird[0].prompts = ['lower back'];
    });
    const edited = await build(project, out);
    assert.equal(edited.manifest.hashes.keypoints, first.manifest.hashes.keypoints);
    const again = await build(project, out);
    assert.equal(again.images.computed, 0);
    // as a build before keypoint features wrote it
    const m = (await readManifest(out)) as CacheManifest;
    delete m.keypointFeatures;
    delete m.hashes.keypoints;
    for (const i of m.images) delete i.keypoints;
    writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(m));
    const upgraded = await build(project, out);
    assert.deepEqual(upgraded.images, { total: 72, computed: 72, reused: 0, errors: 0 });
    assert.deepEqual(upgraded.embeddings, { computed: 0, reused: 72, missing: 0 });
    assert.equal(upgraded.manifest.keypointFeatures!.rows, first.manifest.keypointFeatures!.rows);
    assert.deepEqual((await verifyCache(out)).problems, []);
  });

  it('a changed part_locs.txt makes the keypoint features stale; verify reports a damaged file', async () => {
    const { project, out } = sample();
    const first = await build(project, out);
    const file = path.join(path.dirname(project), 'CUB_tiny', 'parts', 'part_locs.txt');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/^1 2 29\.6 55\.0 1$/m, '1 2 31.0 55.0 1'));
    const r = await build(project, out);
    assert.notEqual(r.manifest.hashes.keypoints, first.manifest.hashes.keypoints);
    assert.equal(r.images.computed, 72);
    const kp = path.join(out, r.manifest.keypointFeatures!.file);
    const bytes = readFileSync(kp);
    bytes[bytes.length - 1] ^= 0x7f; // the last position's exponent
    writeFileSync(kp, bytes);
    const v = await verifyCache(out);
    assert.ok(v.problems.some((p) => p.includes('does not match its hash')), v.problems.join('\n'));
    assert.ok(v.problems.some((p) => /keypoint row \d+ has position/.test(p)), v.problems.join('\n'));
  });
});
