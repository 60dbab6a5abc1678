// quality/score over JSON-RPC: no cache is a clear error unless the caller lets it build one;
// with 'auto' the cache is built (progress) and scored; an edited phrasing (unsaved text) scores
// again from the kept scorer without a build; cancelling rejects as cancelled.
import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTinyClip } from '../../src/core/clip';
import { BackendClient } from '../../src/core/rpc/client';
import type { ProgressParams } from '../../src/core/rpc/protocol';
import { QualityRequests } from '../../src/core/rpc/quality';
import { repoRoot, tempDir } from '../helpers/paths';
import { buildDist } from './fixtures/build-backend';
import { sampleFilesOnly } from '../helpers/cacheFixture';

const tmp = tempDir('pscl-backend-quality-');

describe('quality/score in the backend', { timeout: 180_000 }, () => {
  let client: BackendClient;
  const ws = path.join(tmp.dir, 'ws');
  const projectFile = path.join(ws, 'tiny-birds.pscl.json');
  const model = path.join(tmp.dir, 'tiny');

  before(() => {
    cpSync(path.join(repoRoot, 'samples', 'tiny-birds'), ws, { recursive: true, filter: sampleFilesOnly });
    makeTinyClip(model, { seed: 9 });
    client = new BackendClient({ backendPath: buildDist(), env: { ...process.env, PSCL_CACHE_DIR: path.join(tmp.dir, 'graphs') } });
  });
  after(async () => {
    await client.dispose();
    tmp.cleanup();
  });

  test('builds the cache only when allowed, scores it, and rescores an edited phrasing without a build', async () => {
    await assert.rejects(client.request(QualityRequests.score, { projectFile, model }), /manifest\.json is missing: build the cache first/);
    const progress: ProgressParams[] = [];
    const r = await client.request(QualityRequests.score, { projectFile, model, build: 'auto' }, { onProgress: (p) => progress.push(p) });
    assert.equal(r.cacheBuilt, true);
    assert.ok(progress.some((p) => /training cache: images 72\/72/.test(p.message ?? '')), 'cache progress');
    assert.ok(progress.some((p) => /prompt quality: zero-shot accuracy/.test(p.message ?? '')), 'score progress');
    assert.equal(r.scores.images, 72);
    assert.deepEqual(Object.keys(r.scores.levels), ['coarse', 'order', 'family', 'genus', 'species']);
    assert.equal(r.scores.parts['bird/beak'].keypoints, 72);
    assert.deepEqual(Object.keys(r.scores.parts['bird/beak'].phrasings), ['beak', 'bill']);
    // the confusion of each level: rows sum to the images of each class
    const c = r.confusion.species;
    assert.equal(c.names.length, 6);
    assert.equal(c.counts.reduce((s, v) => s + v, 0), 72);
    // an unsaved edit of a phrasing: scored from the kept scorer, nothing built
    const text = readFileSync(projectFile, 'utf8').replace('"prompts": ["beak", "bill"]', '"prompts": ["beak", "hooked bill"]');
    const edited = await client.request(QualityRequests.score, { projectFile, projectText: text, model, masks: false });
    assert.equal(edited.cacheBuilt, false);
    assert.deepEqual(Object.keys(edited.scores.parts['bird/beak'].phrasings), ['beak', 'hooked bill']);
    assert.equal(edited.scores.parts['bird/beak'].phrasings.beak, r.scores.parts['bird/beak'].phrasings.beak);
    assert.equal(edited.scores.masks, undefined);
    assert.deepEqual(edited.scores.levels, r.scores.levels, 'class prompts did not change');
  });

  test('a cancelled score is rejected as cancelled; bad params are clear errors', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(client.request(QualityRequests.score, { projectFile, model }, { token: ac.signal }), /cancel/i);
    await assert.rejects(client.request(QualityRequests.score, { projectFile: 'x.pscl.json', model }), /projectFile must be an absolute path/);
    await assert.rejects(client.request(QualityRequests.score, { projectFile, model, split: 'holdout' as never }), /split/);
  });
});
