import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RequestType } from 'vscode-jsonrpc';
import { CLIP_MODEL_FILES } from '../../src/core/clip/hub';
import { BackendClient } from '../../src/core/rpc/client';
import { BackendError, ErrorCodes } from '../../src/core/rpc/errors';
import { Requests, type JobFinishedParams, type ProgressParams } from '../../src/core/rpc/protocol';
import { decodeFloat32, encodeFloat32, rowsOf } from '../../src/core/rpc/tensor';
import { buildDist, buildFixtureBackend } from './fixtures/build-backend';
import { FAKE_DENSE_DIM, fakeDense, fakeTextEmbedding } from './fixtures/fake-engine';
import { addRepo, clipRepoFiles, FakeHub } from './fixtures/fake-hub';

const debug = {
  wait: new RequestType<{ steps: number; stepMs: number; jobId?: string }, { completed: number }, unknown>('debug/wait'),
  waitSteps: new RequestType<null, { steps: number }, unknown>('debug/waitSteps'),
  engineLoads: new RequestType<null, { loads: number }, unknown>('debug/engineLoads'),
  throw: new RequestType<{ mode: string }, { ok: boolean }, unknown>('debug/throw'),
  log: new RequestType<null, { ok: boolean }, unknown>('debug/log'),
  exit: new RequestType<{ code: number }, { ok: boolean }, unknown>('debug/exit'),
};

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pscl-backend-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** A folder that passes the model-folder check (the fake engine reads none of it). */
function fakeModelDir(): string {
  const dir = mkdtempSync(path.join(tmp, 'model-'));
  for (const f of CLIP_MODEL_FILES) writeFileSync(path.join(dir, f), '{}');
  return dir;
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function rejectsWith(p: Promise<unknown>, check: (e: BackendError) => void) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof BackendError, `not a BackendError: ${e}`);
    check(e);
    return true;
  });
}

describe('the built backend (dist/backend.js)', { timeout: 30_000 }, () => {
  let client: BackendClient;
  let hub: FakeHub;
  const logs: string[] = [];

  before(async () => {
    hub = await new FakeHub().start();
    client = new BackendClient({
      backendPath: buildDist(),
      env: { ...process.env, PSCL_HF_ENDPOINT: hub.url, PSCL_MODEL_CACHE: path.join(tmp, 'cache') },
      onLog: (l) => logs.push(l),
    });
  });
  after(async () => {
    await client.dispose();
    await hub.close();
  });

  test('backend/info reports the process, the methods and the ONNX Runtime probe', async () => {
    const info = await client.request(Requests.info, null);
    assert.equal(info.protocolVersion, 1);
    assert.equal(info.pid, client.pid);
    assert.equal(info.node, process.version);
    assert.equal(info.version, JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version);
    for (const m of ['backend/info', 'backend/shutdown', 'model/resolve', 'jobs/start', 'jobs/cancel', 'jobs/list', 'clip/textEmbeddings', 'clip/denseFeatures', 'cache/build']) {
      assert.ok(info.methods.includes(m), `missing ${m}`);
    }
    assert.deepEqual(info.jobKinds, ['cache/build', 'model/resolve']);
    assert.equal(typeof info.onnxruntime.available, 'boolean');
    if (info.onnxruntime.available) assert.ok(info.onnxruntime.executionProviders.some((e) => e.name === 'cpu'));
    else assert.match(info.onnxruntime.error ?? '', /onnxruntime-node/);
    assert.ok(logs.some((l) => l.includes('[pscl-backend] started')), 'the backend logs to stderr');
  });

  test('model/resolve downloads from the Hub with progress notifications', async () => {
    const files = clipRepoFiles(200_000, 3);
    addRepo(hub, 'acme/clip-a', files);
    const events: ProgressParams[] = [];
    const r = await client.request(Requests.modelResolve, { model: 'acme/clip-a' }, { onProgress: (p) => events.push(p) });
    assert.equal(r.source, 'download');
    assert.equal(r.dir, path.join(tmp, 'cache', 'acme--clip-a', 'main'));
    assert.deepEqual(readFileSync(path.join(r.dir, 'model.safetensors')), files['model.safetensors'].body);
    assert.ok(events.length > 0);
    assert.ok(events.every((e) => e.unit === 'bytes' && typeof e.message === 'string'));
    const last = events.at(-1)!;
    assert.equal(last.done, last.total);
    assert.match(last.message!, /downloaded/);
  });

  test('model/resolve as a background job ends with jobs/finished', async () => {
    addRepo(hub, 'acme/clip-b', clipRepoFiles(50_000, 4));
    const finished = new Promise<JobFinishedParams>((resolve) => {
      const sub = client.onJobFinished((p) => {
        sub.dispose();
        resolve(p);
      });
    });
    const { job } = await client.request(Requests.jobsStart, { kind: 'model/resolve', params: { model: 'acme/clip-b' } });
    assert.equal(job.state, 'running');
    const done = await finished;
    assert.equal(done.job.jobId, job.jobId);
    assert.equal(done.job.state, 'succeeded');
    assert.equal((done.result as { source: string }).source, 'download');
    const { jobs } = await client.request(Requests.jobsList, null);
    assert.equal(jobs.find((j) => j.jobId === job.jobId)?.state, 'succeeded');
  });

  test('cancelling model/resolve stops the download and leaves no final file', async () => {
    const files = clipRepoFiles(400_000, 6);
    files['model.safetensors'].throttle = { chunk: 8192, delayMs: 10 };
    addRepo(hub, 'acme/clip-slow', files);
    const ac = new AbortController();
    const p = client.request(Requests.modelResolve, { model: 'acme/clip-slow' }, {
      token: ac.signal,
      onProgress: (e) => {
        if (e.message?.startsWith('model.safetensors') && e.done > 0) ac.abort();
      },
    });
    await rejectsWith(p, (e) => {
      assert.equal(e.kind, 'cancelled');
      assert.match(e.message, /download of acme\/clip-slow\/model\.safetensors was cancelled/);
    });
    const dir = path.join(tmp, 'cache', 'acme--clip-slow', 'main');
    assert.ok(!existsSync(path.join(dir, 'model.safetensors')));
    assert.ok(!existsSync(path.join(dir, '.lock')));
  });

  test('errors carry a code and a user-actionable message', async () => {
    await rejectsWith(client.request(Requests.modelResolve, { model: 'acme/missing' }), (e) => {
      assert.equal(e.code, ErrorCodes.BadInput);
      assert.equal(e.kind, 'input');
      assert.match(e.message, /repo or file not found.*pscl\.clip\.model/);
    });
    await rejectsWith(client.request(Requests.modelResolve, {} as never), (e) => {
      assert.equal(e.kind, 'input');
      assert.match(e.message, /model\/resolve: 'model' must be a non-empty string/);
    });
    await rejectsWith(client.request(Requests.jobsStart, { kind: 'cache/nonsense' }), (e) => assert.match(e.message, /unknown job kind 'cache\/nonsense'; known kinds: cache\/build, model\/resolve/));
    await rejectsWith(client.request(new RequestType<null, null, unknown>('no/such'), null), (e) => assert.equal(e.code, ErrorCodes.MethodNotFound));
  });

  test('backend/info lists the clip/* methods of the bound CLIP runtime', async () => {
    const info = await client.request(Requests.info, null);
    assert.equal(info.clipEngine, true);
    assert.ok(info.methods.includes('clip/textEmbeddings') && info.methods.includes('clip/denseFeatures'));
  });
});

describe('the backend with a fake CLIP engine', { timeout: 30_000 }, () => {
  let client: BackendClient;
  let model: string;

  before(async () => {
    client = new BackendClient({ backendPath: await buildFixtureBackend() });
    model = fakeModelDir();
  });
  after(() => client.dispose());

  test('clip/textEmbeddings returns L2-normalised rows in order, batched', async () => {
    const texts = Array.from({ length: 70 }, (_, i) => `a photo of part ${i}`);
    const events: ProgressParams[] = [];
    const r = await client.request(Requests.textEmbeddings, { model, texts }, { onProgress: (p) => events.push(p) });
    assert.deepEqual(r.embeddings.shape, [70, 8]);
    assert.equal(r.device, 'cpu');
    const rows = rowsOf(decodeFloat32(r.embeddings), r.embeddings.shape);
    rows.forEach((row, i) => {
      const raw = fakeTextEmbedding(texts[i]);
      const norm = Math.hypot(...raw);
      row.forEach((v, j) => assert.ok(Math.abs(v - raw[j] / norm) < 1e-6, `row ${i} col ${j}`));
    });
    assert.deepEqual(events.map((e) => e.done), [64, 70]);
    const raw = await client.request(Requests.textEmbeddings, { model, texts: ['cat'], normalize: false });
    assert.deepEqual(decodeFloat32(raw.embeddings), fakeTextEmbedding('cat'));
    // One engine for the folder, loaded once.
    assert.equal((await client.request(debug.engineLoads, null)).loads, 1);
  });

  test('clip/denseFeatures takes pixels and returns [h, w, D]', async () => {
    const [H, W] = [8, 12];
    const pixels = Float32Array.from({ length: 3 * H * W }, (_, i) => Math.sin(i));
    const events: ProgressParams[] = [];
    const r = await client.request(Requests.denseFeatures, { model, pixels: encodeFloat32(pixels, [3, H, W]), variant: 'clearclip', normalize: false }, { onProgress: (p) => events.push(p) });
    assert.deepEqual(r.features.shape, [2, 3, FAKE_DENSE_DIM]);
    assert.deepEqual(events.map((e) => [e.done, e.total, e.unit]), [[1, 1, 'items']]);
    const expected = fakeDense(pixels, H, W).data;
    decodeFloat32(r.features).forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-6));
    const n = await client.request(Requests.denseFeatures, { model, pixels: encodeFloat32(pixels, [3, H, W]), variant: 'custom', switches: { residual: false, feedForward: true, attention: 'qq' } });
    const f = decodeFloat32(n.features);
    for (let p = 0; p < 6; p++) assert.ok(Math.abs(Math.hypot(...f.subarray(p * FAKE_DENSE_DIM, (p + 1) * FAKE_DENSE_DIM)) - 1) < 1e-5);
  });

  test('bad clip params are bad-input errors naming the field', async () => {
    const px = encodeFloat32(new Float32Array(3 * 4 * 4), [3, 4, 4]);
    const cases: Array<[object, RegExp]> = [
      [{ model, texts: [] }, /'texts' must be a non-empty array of strings/],
      [{ model: path.join(tmp, 'nowhere'), texts: ['a'] }, /model folder not found/],
      [{ model: 'acme/not-downloaded', texts: ['a'] }, /not in the model cache/],
    ];
    for (const [params, re] of cases) {
      await rejectsWith(client.request(Requests.textEmbeddings, params as never), (e) => {
        assert.equal(e.code, ErrorCodes.BadInput);
        assert.match(e.message, re);
      });
    }
    const dense: Array<[object, RegExp]> = [
      [{ model, variant: 'clearclip' }, /exactly one of 'image'/],
      [{ model, variant: 'clearclip', pixels: { ...px, shape: [3, 4, 5] } }, /needs 240 bytes, the data holds 192/],
      [{ model, variant: 'clearclip', pixels: encodeFloat32(new Float32Array(16), [1, 4, 4]) }, /shape \[3, H, W\]/],
      [{ model, variant: 'custom', pixels: px }, /needs 'switches'/],
      [{ model, variant: 'nonsense', pixels: px }, /unknown variant 'nonsense'/],
    ];
    for (const [params, re] of dense) {
      await rejectsWith(client.request(Requests.denseFeatures, params as never), (e) => {
        assert.equal(e.kind, 'input');
        assert.match(e.message, re);
      });
    }
  });

  test('a cancelled request stops promptly and reports cancelled', async () => {
    const ac = new AbortController();
    const events: ProgressParams[] = [];
    const p = client.request(debug.wait, { steps: 1000, stepMs: 10 }, {
      token: ac.signal,
      onProgress: (e) => {
        events.push(e);
        if (e.done === 3) ac.abort();
      },
    });
    await rejectsWith(p, (e) => {
      assert.equal(e.code, ErrorCodes.RequestCancelled);
      assert.equal(e.kind, 'cancelled');
      assert.match(e.message, /cancelled at step [345]/);
    });
    const a = (await client.request(debug.waitSteps, null)).steps;
    await new Promise((r) => setTimeout(r, 60));
    const b = (await client.request(debug.waitSteps, null)).steps;
    assert.equal(a, b, 'the handler kept running after cancellation');
    assert.ok(a < 10);
  });

  test('a background job reports progress and can be cancelled', async () => {
    const progress: ProgressParams[] = [];
    const sub = client.onJobProgress((p) => progress.push(p));
    const finished = new Promise<JobFinishedParams>((resolve) => {
      const s = client.onJobFinished((p) => (s.dispose(), resolve(p)));
    });
    const { job } = await client.request(Requests.jobsStart, { kind: 'debug/wait', params: { steps: 1000, stepMs: 10 } });
    while (!progress.some((p) => p.jobId === job.jobId && p.done >= 2)) await new Promise((r) => setTimeout(r, 5));
    const listed = (await client.request(Requests.jobsList, null)).jobs.find((j) => j.jobId === job.jobId)!;
    assert.equal(listed.state, 'running');
    assert.equal(listed.total, 1000);
    const c = await client.request(Requests.jobsCancel, { jobId: job.jobId });
    assert.equal(c.cancelled, true);
    const done = await finished;
    assert.equal(done.job.state, 'cancelled');
    assert.equal(done.job.error?.kind, 'cancelled');
    assert.ok(done.job.done < 1000);
    assert.equal((await client.request(Requests.jobsCancel, { jobId: job.jobId })).cancelled, false);
    sub.dispose();
  });

  test('a throwing handler gets an error response and the process survives', async () => {
    const pid = client.pid;
    await rejectsWith(client.request(debug.throw, { mode: 'error' }), (e) => {
      assert.equal(e.code, ErrorCodes.InternalError);
      assert.match(e.message, /debug\/throw failed: cannot read properties of undefined \(an internal error/);
      assert.match(e.detail ?? '', /TypeError/);
    });
    await rejectsWith(client.request(debug.throw, { mode: 'string' }), (e) => assert.match(e.message, /a bare string/));
    await rejectsWith(client.request(debug.throw, { mode: 'input' }), (e) => {
      assert.equal(e.code, ErrorCodes.BadInput);
      assert.equal(e.message, 'the input is wrong: fix it');
    });
    assert.deepEqual(await client.request(debug.throw, { mode: 'timer' }), { ok: true });
    assert.deepEqual(await client.request(debug.throw, { mode: 'rejection' }), { ok: true });
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(await client.request(debug.log, null), { ok: true }, 'console.log corrupted the protocol');
    assert.equal((await client.request(Requests.info, null)).pid, pid);
  });

  test('a backend killed mid-request fails the caller clearly and restarts on the next request', async () => {
    const pid = client.pid!;
    const pending = client.request(debug.wait, { steps: 1000, stepMs: 10 });
    await new Promise((r) => setTimeout(r, 50));
    process.kill(pid, 'SIGKILL');
    await rejectsWith(pending, (e) => {
      assert.equal(e.kind, 'stopped');
      assert.equal(e.message, 'the PSCL backend stopped (killed by SIGKILL); it will restart on the next request');
    });
    const info = await client.request(Requests.info, null);
    assert.notEqual(info.pid, pid);
    assert.equal(client.pid, info.pid);

    const pending2 = client.request(debug.wait, { steps: 1000, stepMs: 10 });
    await client.request(debug.exit, { code: 3 });
    await rejectsWith(pending2, (e) => assert.equal(e.message, 'the PSCL backend stopped (exit code 3); it will restart on the next request'));
    assert.equal((await client.request(Requests.textEmbeddings, { model, texts: ['x'] })).embeddings.shape[0], 1);
  });

  test('dispose stops the process and fails later requests', async () => {
    const other = new BackendClient({ backendPath: await buildFixtureBackend() });
    const { pid } = await other.start();
    const pending = other.request(debug.wait, { steps: 1000, stepMs: 10 });
    await other.dispose();
    assert.equal(isAlive(pid), false);
    await other.dispose(); // twice is harmless
    await rejectsWith(pending, (e) => assert.match(e.message, /shut down/));
    await rejectsWith(other.request(Requests.info, null), (e) => assert.match(e.message, /disposed/));
  });

  test('a backend whose parent is killed exits too (no orphans)', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'parent-of-backend.ts'), await buildFixtureBackend()], { stdio: ['ignore', 'pipe', 'inherit'] });
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (d) => resolve(Number(String(d).trim())));
      parent.once('exit', () => reject(new Error('the parent exited before starting the backend')));
    });
    assert.ok(isAlive(pid));
    parent.kill('SIGKILL');
    for (let i = 0; i < 100 && isAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(isAlive(pid), false, `backend ${pid} outlived its parent`);
  });

  test('a backend that cannot start says why', async () => {
    const bad = path.join(tmp, 'broken-backend.js');
    writeFileSync(bad, "process.stderr.write('Error: Cannot find module onnxruntime-node\\n'); process.exit(9);");
    const broken = new BackendClient({ backendPath: bad });
    await rejectsWith(broken.start(), (e) => {
      assert.equal(e.kind, 'stopped');
      assert.match(e.message, /failed to start \(exit code 9\):\nError: Cannot find module onnxruntime-node/);
    });
    await broken.dispose();
  });
});
