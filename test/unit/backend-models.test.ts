// backend/models.ts is the one owner of loaded CLIP models: clip/*, masks/* and cache/build lease
// them there, each (folder, device) is loaded once, an evicted model is disposed only when no
// request uses it, and shutdown disposes every one (the preview's own copy never was).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClipEngine } from '../../src/backend/clipEngine';
import { LoadedModels } from '../../src/backend/models';
import type { ClipModel } from '../../src/core/clip';
import { FakeClipEngine } from './fixtures/fake-engine';

class CountingEngine extends FakeClipEngine {
  disposed = 0;
  readonly clipModel = { embedDim: 8 } as unknown as ClipModel;
  constructor(readonly dir: string) {
    super();
  }
  dispose(): void {
    this.disposed++;
  }
}

function models(capacity = 2) {
  const loaded: CountingEngine[] = [];
  const m = new LoadedModels(async (dir) => {
    const e = new CountingEngine(dir);
    loaded.push(e);
    return e;
  }, capacity);
  return { m, loaded };
}

const dirOf = (e: ClipEngine) => (e as CountingEngine).dir;

describe('LoadedModels', () => {
  test('each (folder, device) loads once; its MaskSession is one per loaded model', async () => {
    const { m, loaded } = models();
    const first = await m.use('/a', 'cpu', async (x) => x.masks());
    const again = await m.use('/a', 'cpu', async (x) => x.masks());
    assert.equal(first, again);
    await m.use('/a', 'cuda', async () => undefined);
    assert.deepEqual(loaded.map((e) => e.dir), ['/a', '/a']);
    assert.equal(m.size, 2);
  });

  test('beyond the capacity the least recently used is disposed, but not while a request uses it', async () => {
    const { m, loaded } = models(1);
    let release!: () => void;
    const busy = m.use('/a', 'cpu', (x) => new Promise<string>((r) => (release = () => r(dirOf(x.engine)))));
    await new Promise((r) => setImmediate(r));
    await m.use('/b', 'cpu', async () => undefined);
    assert.equal(loaded[0].disposed, 0, 'in use: kept');
    assert.equal(loaded[1].disposed, 1, 'the unused newer one went instead (capacity 1, /a busy)');
    release();
    assert.equal(await busy, '/a');
    await m.use('/c', 'cpu', async () => undefined);
    assert.equal(loaded[0].disposed, 1, '/a disposed once free and least recently used');
    assert.equal(m.size, 1);
  });

  test('disposeAll disposes every loaded model; a failed load is retried next time', async () => {
    const { m, loaded } = models(4);
    await m.use('/a', 'cpu', async () => undefined);
    await m.use('/b', 'cpu', async () => undefined);
    await m.disposeAll();
    assert.deepEqual(loaded.map((e) => e.disposed), [1, 1]);
    assert.equal(m.size, 0);

    let fail = true;
    const flaky = new LoadedModels(async (dir) => {
      if (fail) throw new Error('no such model');
      return new CountingEngine(dir);
    });
    await assert.rejects(flaky.use('/x', 'cpu', async () => undefined), /no such model/);
    fail = false;
    assert.equal(await flaky.use('/x', 'cpu', async (x) => dirOf(x.engine)), '/x');
  });

  test('an engine without a ClipModel (a test engine) cannot serve masks, with a clear error', async () => {
    const m = new LoadedModels(async () => new FakeClipEngine());
    await assert.rejects(m.use('/a', 'cpu', async (x) => x.masks()), /has no ClipModel/);
  });
});
