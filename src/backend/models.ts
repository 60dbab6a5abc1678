// The CLIP models the backend has loaded, and the only place that holds them: one per (model
// folder, device), the most recently used kept (loading builds ONNX sessions, far too slow to
// repeat per request), each disposed when it is evicted and no request uses it any more, or
// when the backend stops. clip/* use a model's engine, masks/* its MaskSession (whose image
// features live as long as the model) and cache/build its ClipModel; all lease it through `use`.
import path from 'node:path';
import type { ClipModel } from '../core/clip';
import { describeDemoModel, resolveDemoModel } from '../core/clip/demoModel';
import { resolveModel } from '../core/clip/download';
import { PsclError } from '../core/errors';
import { MaskSession } from '../core/masks/session';
import { DEMO_MODEL_SPEC } from '../core/rpc/masks';
import type { ExecutionDevice } from '../core/rpc/protocol';
import { psclCacheRoot } from '../core/util/cacheDir';
import type { ClipEngine, ClipEngineFactory } from './clipEngine';
import { log } from './log';

/** dist/backend.js lives one folder below the package root (where the demo model is looked for). */
const PACKAGE_ROOT = path.resolve(__dirname, '..');

/** A model while a request uses it. */
export interface LoadedModel {
  engine: ClipEngine;
  /** The model's mask steps, with its feature and text caches (one per loaded model). */
  masks(): MaskSession;
  /** The ClipModel behind the engine (the cache builder runs it directly). */
  clip(): ClipModel;
  /** A value kept with the model (made on first use, dropped with the model): the prompt scorer's state. */
  keep<T>(key: string, create: () => T): T;
}

interface Entry {
  engine: Promise<ClipEngine>;
  session?: MaskSession;
  kept?: Map<string, unknown>;
  /** Requests using the model now: it is not disposed while any does. */
  users: number;
}

/** A model spec as requests give it: '' or 'demo' (the embedded demo model), a local folder, or a Hub repo already downloaded. */
export async function modelFolder(spec: string, cacheDir: string): Promise<{ dir: string; id: string }> {
  if (spec === '' || spec === DEMO_MODEL_SPEC) {
    const demo = await resolveDemoModel(psclCacheRoot(), PACKAGE_ROOT);
    if (!demo.trained) log(`demo model: ${describeDemoModel(demo)}`);
    return { dir: demo.dir, id: demo.id };
  }
  const r = await resolveModel(spec, { cacheDir, offline: true });
  return { dir: r.dir, id: r.repo ?? path.basename(r.dir) };
}

export class LoadedModels {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly factory: ClipEngineFactory | undefined,
    private readonly capacity = 2,
  ) {}

  get available(): boolean {
    return this.factory !== undefined;
  }

  /** How many models are loaded (or loading) now. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Runs `work` with the model of `modelDir` on `device`, loading it on first use (`onLoad` is
   * told, for a progress message). The least recently used model beyond the capacity is disposed
   * once no request uses it.
   */
  async use<T>(modelDir: string, device: ExecutionDevice, work: (model: LoadedModel) => Promise<T>, onLoad?: () => void): Promise<T> {
    const factory = this.factory;
    if (!factory) throw new PsclError('this PSCL backend was built without the CLIP runtime: rebuild the extension (npm run build)', 'internal');
    const key = `${device}\0${modelDir}`;
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key); // re-insert: most recently used last
    } else {
      onLoad?.();
      log(`loading CLIP model ${modelDir} (device ${device})`);
      const created: Entry = { engine: factory(modelDir, { device }), users: 0 };
      created.engine.catch(() => {
        if (this.entries.get(key) === created) this.entries.delete(key);
      });
      entry = created;
    }
    this.entries.set(key, entry);
    entry.users++;
    this.evict();
    const e = entry;
    try {
      const engine = await e.engine;
      const clip = (): ClipModel => {
        if (!engine.clipModel) throw new PsclError('this CLIP engine has no ClipModel (a test engine?): part masks and caches need the real runtime', 'internal');
        return engine.clipModel;
      };
      const keep = <T>(key: string, create: () => T): T => {
        e.kept ??= new Map();
        if (!e.kept.has(key)) e.kept.set(key, create());
        return e.kept.get(key) as T;
      };
      return await work({ engine, clip, masks: () => (e.session ??= new MaskSession(clip())), keep });
    } finally {
      e.users--;
      this.evict();
    }
  }

  /** Disposes the least recently used models beyond the capacity that no request uses. */
  private evict(): void {
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.capacity) break;
      if (e.users > 0) continue;
      this.entries.delete(key);
      void dispose(e);
    }
  }

  /** At shutdown: every model, in use or not (running work has been cancelled). */
  async disposeAll(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map(dispose));
  }
}

function dispose(e: Entry): Promise<void> {
  return e.engine.then(
    (engine) => engine.dispose?.(),
    () => undefined,
  );
}
