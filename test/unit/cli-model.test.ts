import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildDist, repoRoot } from './fixtures/build-backend';
import { addRepo, clipRepoFiles, FakeHub } from './fixtures/fake-hub';

function pscl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(repoRoot, 'dist', 'cli.js'), ...args], { env: { ...process.env, HF_TOKEN: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('pscl model fetch', { timeout: 30_000 }, () => {
  let hub: FakeHub;
  const cache = mkdtempSync(path.join(os.tmpdir(), 'pscl-cli-model-'));
  const files = clipRepoFiles(80_000, 5);

  before(async () => {
    buildDist();
    hub = await new FakeHub().start();
    addRepo(hub, 'acme/clip-cli', files);
  });
  after(async () => {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  });

  test('downloads into --cache, prints the folder, then hits the cache', async () => {
    const r = await pscl(['model', 'fetch', 'acme/clip-cli', '--cache', cache], { PSCL_HF_ENDPOINT: hub.url });
    assert.equal(r.code, 0, r.stderr);
    const dir = r.stdout.trim();
    assert.equal(dir, path.join(cache, 'acme--clip-cli', 'main'));
    assert.deepEqual(readFileSync(path.join(dir, 'model.safetensors')), files['model.safetensors'].body);
    assert.match(r.stderr, /checking config\.json \(1\/4\)/);
    assert.match(r.stderr, /downloaded 0\.08 of 0\.08 MB/);
    const seen = hub.requests.length;
    const again = await pscl(['model', 'fetch', 'acme/clip-cli', '--cache', cache, '--endpoint', hub.url]);
    assert.equal(again.code, 0);
    assert.equal(again.stdout.trim(), dir);
    assert.match(again.stderr, /already in the cache/);
    assert.equal(hub.requests.length, seen);
  });

  test('an unknown repo exits 2 with the reason', async () => {
    const r = await pscl(['model', 'fetch', 'acme/none', '--cache', cache, '--endpoint', hub.url]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /pscl: repo or file not found: acme\/none@main\/config\.json/);
    assert.equal(r.stdout, '');
  });
});
