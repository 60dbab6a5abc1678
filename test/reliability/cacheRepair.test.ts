// Defect 7: after a mask was corrupted or two masks were swapped, `cache verify` reported them but
// the next `cache build` said "up to date" and kept them. Now the build rechecks each mask's
// content hash against the manifest (masks are a few KB) and recomputes what does not match.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CacheManifest } from '../../src/core/cache';
import { copySample } from '../helpers/cacheFixture';
import { buildDist } from '../helpers/build';
import { tempDir } from '../helpers/paths';
import { pscl, STACK } from './helpers';

const tmp = tempDir('pscl-rel-repair-');
after(tmp.cleanup);
before(() => buildDist());

describe('reliability: cache build repairs what cache verify flags (defect 7)', () => {
  it('a corrupt mask and two swapped masks are recomputed by the next plain build; verify then passes', { timeout: 120_000 }, async () => {
    const project = copySample(path.join(tmp.dir, 's'), 6);
    const out = path.join(tmp.dir, 's', 'cache');
    const first = await pscl(['cache', 'build', '--project', project, '--out', out, '--json'], { limitMs: 60_000 });
    assert.equal(first.code, 0, first.err);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as CacheManifest;
    const masks = manifest.images.map((i) => path.join(out, i.mask!));
    const before = masks.map((m) => readFileSync(m));
    // corrupt one, swap two others
    writeFileSync(masks[0], Buffer.concat([before[0].subarray(0, 40), Buffer.from('not a png any more')]));
    writeFileSync(masks[1], before[2]);
    writeFileSync(masks[2], before[1]);
    const flagged = await pscl(['cache', 'verify', out]);
    assert.equal(flagged.code, 1);
    assert.equal((flagged.out.match(/does not match its hash in the manifest/g) ?? []).length, 3, flagged.out);

    const repair = await pscl(['cache', 'build', '--project', project, '--out', out, '--json'], { limitMs: 60_000 });
    assert.equal(repair.code, 0, repair.err);
    assert.doesNotMatch(repair.out + repair.err, STACK);
    const summary = JSON.parse(repair.out) as { images: { computed: number; reused: number } };
    assert.deepEqual([summary.images.computed, summary.images.reused], [3, 3], 'the 3 damaged masks are recomputed');
    assert.match(repair.err, /3 mask file\(s\) changed or corrupt since they were written .*: recomputing them/);
    const verified = await pscl(['cache', 'verify', out]);
    assert.equal(verified.code, 0, verified.out);
    masks.forEach((m, i) => assert.deepEqual(readFileSync(m), before[i], `${path.basename(m)} is the mask it was before`));
  });
});
