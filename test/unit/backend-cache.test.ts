// cache/build over JSON-RPC on the demo model: builds the sample's training cache with progress,
// a second call reuses every image, a cancelled call stops, and a broken project is a clear error.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { verifyCache } from '../../src/core/cache';
import { CacheRequests } from '../../src/core/rpc/cache';
import { BackendClient } from '../../src/core/rpc/client';
import type { ProgressParams } from '../../src/core/rpc/protocol';
import { repoRoot, tempDir } from '../helpers/paths';
import { buildDist } from './fixtures/build-backend';
import { sampleFilesOnly } from '../helpers/cacheFixture';

const tmp = tempDir('pscl-backend-cache-');

describe('cache/build in the backend', { timeout: 180_000 }, () => {
  let client: BackendClient;
  const ws = path.join(tmp.dir, 'ws');
  const projectFile = path.join(ws, 'tiny-birds.pscl.json');

  before(() => {
    cpSync(path.join(repoRoot, 'samples', 'tiny-birds'), ws, { recursive: true, filter: sampleFilesOnly });
    client = new BackendClient({ backendPath: buildDist(), env: { ...process.env, PSCL_CACHE_DIR: path.join(tmp.dir, 'cache') } });
  });
  after(async () => {
    await client.dispose();
    tmp.cleanup();
  });

  test('builds the cache with progress; a second build reuses every image', async () => {
    const progress: ProgressParams[] = [];
    const r = await client.request(CacheRequests.build, { projectFile, model: 'demo' }, { onProgress: (p) => progress.push(p) });
    assert.equal(r.images.total, 72);
    assert.equal(r.images.computed, 72);
    assert.match(r.dir, /\.pscl-cache[\\/]tiny-birds-/);
    assert.ok(progress.some((p) => p.total === 72 && p.done === 72 && /images 72\/72/.test(p.message ?? '')), `progress reached 72/72: ${JSON.stringify(progress.at(-1))}`);
    assert.deepEqual((await verifyCache(r.dir)).problems, []);
    const again = await client.request(CacheRequests.build, { projectFile, model: 'demo' });
    assert.equal(again.dir, r.dir);
    assert.equal(again.images.reused, 72);
    assert.equal(again.images.computed, 0);
  });

  test('a cancelled build is rejected as cancelled; a relative or broken project file is a clear error', async () => {
    const ac = new AbortController();
    const p = client.request(CacheRequests.build, { projectFile, model: 'demo', force: true, outDir: path.join(tmp.dir, 'other') }, { token: ac.signal, onProgress: (x) => x.done > 0 && ac.abort() });
    await assert.rejects(p, /cancel/i);
    await assert.rejects(client.request(CacheRequests.build, { projectFile: 'rel.pscl.json', model: 'demo' }), /projectFile must be an absolute path/);
    const broken = path.join(ws, 'broken.pscl.json');
    writeFileSync(broken, '{ "version": 1,');
    await assert.rejects(client.request(CacheRequests.build, { projectFile: broken, model: 'demo' }), /broken\.pscl\.json:1:\d+: .+; fix it before building the cache/);
    assert.ok(!existsSync(path.join(ws, '.pscl-cache', 'broken')));
  });

  test('a project with a validation error builds no cache, as `pscl cache build` refuses it', async () => {
    // the backend used to check only that the file parses; the cache is what the trainer learns from
    const dup = path.join(ws, 'dup.pscl.json');
    writeFileSync(dup, readFileSync(projectFile, 'utf8').replace('"id": "2"', '"id": "1"'));
    await assert.rejects(client.request(CacheRequests.build, { projectFile: dup, model: 'demo' }), / dup\.pscl\.json:\d+:\d+: duplicate class id '1'.*; fix it before building the cache/);
    const cli = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'pscl.js'), 'cache', 'build', '--project', dup], { encoding: 'utf8' });
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, new RegExp(`cache build: ${dup.replace(/[.\\/]/g, '\\$&')}:\\d+:\\d+: duplicate class id '1'`));
  });
});
