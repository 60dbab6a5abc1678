// Loaded CLIP engines, one per (model folder, device), the most recently used kept: loading
// builds ONNX sessions, far too slow to repeat per request.
import { PsclError } from '../core/errors';
import type { ExecutionDevice } from '../core/rpc/protocol';
import type { ClipEngine, ClipEngineFactory } from './clipEngine';
import { log } from './log';

export class EngineCache {
  private readonly loaded = new Map<string, Promise<ClipEngine>>();

  constructor(
    private readonly factory: ClipEngineFactory | undefined,
    private readonly capacity = 2,
  ) {}

  get available(): boolean {
    return this.factory !== undefined;
  }

  async get(modelDir: string, device: ExecutionDevice): Promise<ClipEngine> {
    if (!this.factory) throw new PsclError('this PSCL backend was built without the CLIP runtime: rebuild the extension (npm run build)', 'internal');
    const key = `${device}\0${modelDir}`;
    let engine = this.loaded.get(key);
    if (engine) {
      this.loaded.delete(key); // re-insert: most recently used last
    } else {
      log(`loading CLIP model ${modelDir} (device ${device})`);
      engine = this.factory(modelDir, { device });
      engine.catch(() => this.loaded.delete(key));
    }
    this.loaded.set(key, engine);
    while (this.loaded.size > this.capacity) {
      const [oldKey, old] = this.loaded.entries().next().value!;
      this.loaded.delete(oldKey);
      old.then((e) => e.dispose?.(), () => undefined);
    }
    return engine;
  }

  async disposeAll(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.all(all.map((p) => p.then((e) => e.dispose?.(), () => undefined)));
  }
}
