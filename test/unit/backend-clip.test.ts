// The backend's clip/* methods on the real CLIP runtime: what comes over JSON-RPC is what
// ClipModel computes in-process, and a broken checkpoint is a user-facing error the backend survives.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import path from 'node:path';
import { rmSync, writeFileSync } from 'node:fs';
import { ClipModel, makeTinyClip } from '../../src/core/clip';
import { BackendClient } from '../../src/core/rpc/client';
import { BackendError, ErrorCodes } from '../../src/core/rpc/errors';
import { Requests } from '../../src/core/rpc/protocol';
import { decodeFloat32, encodeFloat32 } from '../../src/core/rpc/tensor';
import { tempDir } from '../helpers/paths';
import { buildDist } from './fixtures/build-backend';

const tmp = tempDir('pscl-backend-clip-');
const modelDir = path.join(tmp.dir, 'tiny');
const brokenDir = path.join(tmp.dir, 'broken');

describe('clip/* on the real CLIP runtime', { timeout: 60_000 }, () => {
  let client: BackendClient;
  let model: ClipModel;

  before(async () => {
    makeTinyClip(modelDir, { patch: 8, imageSize: 32, width: 32, embedDim: 16, seed: 3 });
    makeTinyClip(brokenDir, { patch: 8, imageSize: 32, width: 32, embedDim: 16, seed: 3 });
    writeFileSync(path.join(brokenDir, 'model.safetensors'), Buffer.alloc(100)); // truncated
    const env = { ...process.env, PSCL_CACHE_DIR: path.join(tmp.dir, 'cache') };
    client = new BackendClient({ backendPath: buildDist(), env });
    model = await ClipModel.load(modelDir, { cacheDir: path.join(tmp.dir, 'graphs') });
  });
  after(async () => {
    await client.dispose();
    await model.dispose();
    tmp.cleanup();
  });

  test('text embeddings match ClipModel in-process', async () => {
    const texts = ['a photo of a bird.', 'the wing of a bird.', 'tail'];
    const r = await client.request(Requests.textEmbeddings, { model: modelDir, texts });
    assert.deepEqual(r.embeddings.shape, [3, 16]);
    const got = decodeFloat32(r.embeddings);
    const want = await model.embedTexts(texts);
    for (let i = 0; i < want.data.length; i++) assert.ok(Math.abs(got[i] - want.data[i]) < 1e-6, `value ${i}`);
  });

  test('dense features of pixels match ClipModel for a preset and a custom variant', async () => {
    const pixels = new Float32Array(3 * 48 * 64).map((_, i) => Math.sin(i * 0.37));
    for (const [variant, switches, local] of [
      ['clearclip', undefined, 'clearclip'],
      ['custom', { residual: true, feedForward: false, attention: 'qq' as const }, 'attn=qq,residual=on,ffn=off'],
    ] as const) {
      const r = await client.request(Requests.denseFeatures, { model: modelDir, pixels: encodeFloat32(pixels, [3, 48, 64]), variant, switches });
      assert.deepEqual(r.features.shape, [6, 8, 16]);
      const got = decodeFloat32(r.features);
      const [want] = await model.denseFeatures([{ data: pixels, height: 48, width: 64 }], { variant: local });
      for (let i = 0; i < want.data.length; i++) assert.ok(Math.abs(got[i] - want.data[i]) < 1e-6, `${variant} value ${i}`);
    }
  });

  test('a truncated checkpoint is a bad-input error naming the file, and the backend lives on', async () => {
    const pid = client.pid;
    await assert.rejects(client.request(Requests.textEmbeddings, { model: brokenDir, texts: ['x'] }), (e: unknown) => {
      assert.ok(e instanceof BackendError);
      assert.equal(e.code, ErrorCodes.BadInput);
      assert.match(e.message, /model\.safetensors/);
      return true;
    });
    const info = await client.request(Requests.info, null);
    assert.equal(info.pid, pid);
  });
});
