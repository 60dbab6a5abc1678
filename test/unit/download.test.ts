import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { resolveModel, type DownloadProgress, type ResolveModelOptions } from '../../src/core/clip/download';
import { CLIP_MODEL_FILES, parseModelSpec, repoCacheDir } from '../../src/core/clip/hub';
import { PsclError } from '../../src/core/errors';
import { addRepo, clipRepoFiles, FakeHub, type FakeFile } from './fixtures/fake-hub';

const REPO = 'acme/tiny-clip';

describe('model download from a loopback Hub', { timeout: 30_000 }, () => {
  let hub: FakeHub;
  let cache: string;
  let files: Record<string, FakeFile>;

  before(async () => {
    hub = await new FakeHub({ gated: { 'acme/gated-clip': 'secret-token' } }).start();
  });
  after(() => hub.close());
  beforeEach(() => {
    cache = mkdtempSync(path.join(os.tmpdir(), 'pscl-dl-'));
    files = clipRepoFiles();
    hub.files.clear();
    hub.requests.length = 0;
    addRepo(hub, REPO, files);
  });

  const opts = (extra: Partial<ResolveModelOptions> = {}): ResolveModelOptions => ({
    cacheDir: cache,
    endpoint: hub.url,
    token: '',
    retryDelayMs: 1,
    idleTimeoutMs: 2000,
    ...extra,
  });
  const dirOf = (repo = REPO, rev = 'main') => repoCacheDir(cache, repo, rev);
  const assertIdentical = (dir: string) => {
    for (const f of CLIP_MODEL_FILES) assert.deepEqual(readFileSync(path.join(dir, f)), files[f].body, `${f} differs`);
  };

  test('downloads every file with progress, then a second resolve is a cache hit without a request', async () => {
    const events: DownloadProgress[] = [];
    const r = await resolveModel(REPO, opts({ onProgress: (p) => events.push(p) }));
    assert.equal(r.source, 'download');
    assert.equal(r.dir, dirOf());
    assertIdentical(r.dir);
    const total = Object.values(files).reduce((a, f) => a + f.body.length, 0);
    assert.equal(r.bytesDownloaded, total);
    assert.deepEqual(new Set(events.map((e) => e.phase)), new Set(['checking', 'downloading', 'verifying', 'done']));
    const last = events.at(-1)!;
    assert.equal(last.phase, 'done');
    assert.equal(last.done, total);
    assert.equal(last.total, total);
    const downloading = events.filter((e) => e.phase !== 'checking');
    for (let i = 1; i < downloading.length; i++) assert.ok(downloading[i].done >= downloading[i - 1].done, 'progress went backwards');
    assert.ok(downloading.every((e) => e.total === total));
    // LFS file: metadata from the redirect, the body from the CDN origin.
    assert.ok(hub.requests.some((q) => q.server === 'cdn' && q.method === 'GET' && q.path.endsWith('model.safetensors')));
    assert.ok(!existsSync(path.join(r.dir, 'model.safetensors.part')));
    assert.ok(!existsSync(path.join(r.dir, '.lock')));

    const seen = hub.requests.length;
    const again = await resolveModel(REPO, opts());
    assert.equal(again.source, 'cache');
    assert.equal(again.dir, r.dir);
    assert.equal(hub.requests.length, seen, 'a cache hit made a request');
  });

  test('two resolves of the same repo in one process download it once', async () => {
    files['model.safetensors'].throttle = { chunk: 16384, delayMs: 2 };
    const [a, b] = await Promise.all([resolveModel(REPO, opts()), resolveModel(REPO, opts())]);
    assert.deepEqual([a.source, b.source].sort(), ['cache', 'download']);
    assert.equal(a.dir, b.dir);
    assertIdentical(a.dir);
    assert.equal(hub.requests.filter((q) => q.server === 'cdn' && q.method === 'GET').length, 1);
  });

  test('a download locked by another live process is refused; a stale lock is taken over', async () => {
    mkdirSync(dirOf(), { recursive: true });
    writeFileSync(path.join(dirOf(), '.lock'), String(process.ppid));
    await assert.rejects(resolveModel(REPO, opts()), new RegExp(`already being downloaded into .* by process ${process.ppid}`));
    writeFileSync(path.join(dirOf(), '.lock'), '2147483646');
    assertIdentical((await resolveModel(REPO, opts())).dir);
  });

  test('a connection dropped midway is resumed with Range and the result is byte-identical', async () => {
    files['model.safetensors'].dropAfter = { bytes: 100_000, times: 1 };
    const r = await resolveModel(REPO, opts());
    assertIdentical(r.dir);
    const gets = hub.requests.filter((q) => q.server === 'cdn' && q.method === 'GET');
    assert.equal(gets.length, 2);
    assert.equal(gets[0].range, undefined);
    const from = Number(/^bytes=(\d+)-$/.exec(gets[1].range ?? '')?.[1]);
    assert.ok(from > 0 && from <= 100_000, `resumed from ${gets[1].range}`);
  });

  test('a failed run keeps the .part file and the next run resumes from it', async () => {
    files['model.safetensors'].dropAfter = { bytes: 120_000, times: 1 };
    await assert.rejects(resolveModel(REPO, opts({ retries: 0 })), (err: PsclError) => {
      assert.equal(err.kind, 'network');
      assert.match(err.message, /run again to resume/);
      return true;
    });
    const part = path.join(dirOf(), 'model.safetensors.part');
    const kept = statSync(part).size;
    assert.ok(kept > 0 && kept < files['model.safetensors'].body.length);
    assert.ok(!existsSync(path.join(dirOf(), 'model.safetensors')), 'a partial file got its final name');
    hub.requests.length = 0;
    const r = await resolveModel(REPO, opts({ retries: 0 }));
    assertIdentical(r.dir);
    const get = hub.requests.find((q) => q.server === 'cdn' && q.method === 'GET')!;
    assert.equal(get.range, `bytes=${kept}-`);
    // Small files finished in the first run are not fetched again.
    assert.ok(!hub.requests.some((q) => q.path.endsWith('/config.json')));
  });

  test('a stalled transfer times out and is resumed', async () => {
    files['model.safetensors'].stallAfter = { bytes: 50_000, times: 1 };
    const r = await resolveModel(REPO, opts({ idleTimeoutMs: 300 }));
    assertIdentical(r.dir);
    const gets = hub.requests.filter((q) => q.server === 'cdn' && q.method === 'GET');
    assert.equal(gets.length, 2);
    assert.match(gets[1].range ?? '', /^bytes=\d+-$/);
  });

  test('server errors are retried with backoff', async () => {
    files['config.json'].failWith = { status: 503, times: 2 };
    const r = await resolveModel(REPO, opts());
    assertIdentical(r.dir);
  });

  test('a size that differs from the announced one is an integrity error and leaves no file', async () => {
    files['model.safetensors'].linkedSize = files['model.safetensors'].body.length + 10;
    await assert.rejects(resolveModel(REPO, opts()), (err: PsclError) => {
      assert.equal(err.kind, 'integrity');
      assert.match(err.message, /size mismatch for acme\/tiny-clip\/model\.safetensors/);
      return true;
    });
    assert.ok(!existsSync(path.join(dirOf(), 'model.safetensors')));
    assert.ok(!existsSync(path.join(dirOf(), 'model.safetensors.part')));
  });

  test('a sha256 that differs from X-Linked-Etag is an integrity error', async () => {
    files['model.safetensors'].linkedSha256 = 'ab'.repeat(32);
    await assert.rejects(resolveModel(REPO, opts()), (err: PsclError) => {
      assert.equal(err.kind, 'integrity');
      assert.match(err.message, /checksum mismatch/);
      return true;
    });
    assert.ok(!existsSync(path.join(dirOf(), 'model.safetensors')));
  });

  test('an unknown repo says to check pscl.clip.model', async () => {
    await assert.rejects(resolveModel('acme/no-such-model', opts()), (err: PsclError) => {
      assert.equal(err.kind, 'input');
      assert.match(err.message, /repo or file not found: acme\/no-such-model@main\/config\.json/);
      assert.match(err.message, /pscl\.clip\.model/);
      return true;
    });
    assert.equal(hub.requests.length, 1, '404 is not retried');
  });

  test('a gated repo needs HF_TOKEN; the token goes to the Hub only, not to the CDN', async () => {
    addRepo(hub, 'acme/gated-clip', files);
    await assert.rejects(resolveModel('acme/gated-clip', opts()), (err: PsclError) => {
      assert.equal(err.kind, 'auth');
      assert.match(err.message, /access denied .*HTTP 401.*gated or private.*HF_TOKEN/);
      assert.doesNotMatch(err.message, /secret-token/);
      return true;
    });
    await assert.rejects(resolveModel('acme/gated-clip', opts({ token: 'wrong' })), /token in HF_TOKEN was refused/);
    hub.requests.length = 0;
    const r = await resolveModel('acme/gated-clip', opts({ token: 'secret-token' }));
    assertIdentical(r.dir);
    assert.ok(hub.requests.filter((q) => q.server === 'hub').every((q) => q.authorization === 'Bearer secret-token'));
    assert.ok(hub.requests.filter((q) => q.server === 'cdn').every((q) => q.authorization === undefined));
  });

  test('cancellation stops the transfer and leaves no final file', async () => {
    files['model.safetensors'].throttle = { chunk: 8192, delayMs: 5 };
    const ac = new AbortController();
    const onProgress = (p: DownloadProgress) => {
      if (p.file === 'model.safetensors' && p.phase === 'downloading' && p.fileDone > 0) ac.abort();
    };
    await assert.rejects(resolveModel(REPO, opts({ signal: ac.signal, onProgress })), (err: PsclError) => {
      assert.equal(err.kind, 'cancelled');
      assert.match(err.message, /cancelled/);
      return true;
    });
    assert.ok(!existsSync(path.join(dirOf(), 'model.safetensors')));
    assert.ok(!existsSync(path.join(dirOf(), '.lock')), 'the lock outlived the cancelled download');
  });

  test('an unreachable host names the host and suggests a local folder', async () => {
    const closed = new FakeHub();
    await closed.start();
    const endpoint = closed.url;
    await closed.close();
    await assert.rejects(resolveModel(REPO, opts({ endpoint, retries: 1 })), (err: PsclError) => {
      assert.equal(err.kind, 'network');
      assert.match(err.message, new RegExp(`cannot reach ${endpoint.replace('http://', '')} \\(ECONNREFUSED\\)`));
      assert.match(err.message, /local folder/);
      return true;
    });
  });

  test('offline mode uses the cache only', async () => {
    await assert.rejects(resolveModel(REPO, opts({ offline: true })), /not in the model cache/);
    assert.equal(hub.requests.length, 0);
  });

  test('a revision with a slash stays one cache folder', async () => {
    addRepo(hub, REPO, files, 'refs/pr/1');
    const r = await resolveModel(REPO, opts({ revision: 'refs/pr/1' }));
    assert.equal(path.dirname(r.dir), path.join(cache, 'acme--tiny-clip'));
    assertIdentical(r.dir);
  });

  test('a local folder is checked, naming the missing files', async () => {
    const dir = path.join(cache, 'local-model');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'config.json'), '{}');
    await assert.rejects(resolveModel(dir, opts()), /local-model is not a CLIP model folder: missing tokenizer_config\.json, tokenizer\.json, model\.safetensors/);
    for (const f of CLIP_MODEL_FILES) writeFileSync(path.join(dir, f), '{}');
    const r = await resolveModel(dir, opts());
    assert.deepEqual(r, { dir, source: 'local', bytesDownloaded: 0 });
    assert.equal(hub.requests.length, 0);
  });

  test('model specs: repo ids, paths and nonsense', () => {
    assert.deepEqual(parseModelSpec('openai/clip-vit-base-patch16', cache), { kind: 'repo', repo: 'openai/clip-vit-base-patch16' });
    assert.deepEqual(parseModelSpec('./m', '/x'), { kind: 'local', dir: path.resolve('/x/m') });
    assert.equal(parseModelSpec('~/models/clip').kind, 'local');
    assert.throws(() => parseModelSpec('not a repo'), /neither a Hub repo id/);
    assert.throws(() => parseModelSpec('  '), /model is empty/);
  });

  after(() => rmSync(cache, { recursive: true, force: true }));
});
