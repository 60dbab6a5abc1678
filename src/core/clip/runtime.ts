// ONNX Runtime sessions. The execution provider is CUDA when its provider library is installed and
// a session really starts on it, else CPU; the choice and the reason are reported. `provider: 'cuda'`
// forces CUDA (an error saying how to install it when it does not work), `'cpu'` forces CPU.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { InferenceSession as OrtSession } from 'onnxruntime-node';
import { GraphBuilder } from './graph/builder';
import { PsclError } from '../errors';

export type ProviderChoice = 'auto' | 'cpu' | 'cuda';
export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', 'cpu', 'cuda'];

export interface RuntimeOptions {
  provider?: ProviderChoice;
  /** Threads inside one operator (CPU); default: ONNX Runtime's (one per physical core). */
  threads?: number;
}

export interface ProviderReport {
  requested: ProviderChoice;
  provider: 'cpu' | 'cuda';
  /** Why CUDA was not used, when it was asked for or allowed. */
  reason?: string;
}

/** Bad input the user can fix (kind 'input' for the backend's error mapping). */
export class RuntimeError extends PsclError {
  override name = 'RuntimeError';
}

type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort> | undefined;
export function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node').then((m) => ((m as { default?: Ort }).default ?? m) as Ort);
  return ortModule;
}

const CUDA_HELP = 'install it with `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` (downloads from NuGet; needs CUDA 12 and cuDNN 9), or choose the CPU provider';

/**
 * Whether onnxruntime-node's CUDA provider library is installed next to its binding (the npm
 * package ships CPU only; its installer adds CUDA). Probing without it makes ORT print an error.
 */
function cudaLibraryInstalled(): boolean {
  let root: string;
  try {
    root = path.dirname(require.resolve('onnxruntime-node/package.json'));
  } catch {
    return false;
  }
  const bin = path.join(root, 'bin');
  const found = (dir: string): boolean =>
    existsSync(dir) &&
    readdirSync(dir, { withFileTypes: true }).some((e) => (e.isDirectory() ? found(path.join(dir, e.name)) : /onnxruntime_providers_cuda\.(so|dll)$/.test(e.name)));
  return found(bin);
}

/** A one-node graph: starting a session on it proves the provider loads. */
function probeGraph(): Uint8Array {
  const g = new GraphBuilder('probe');
  const x = g.input('x', 'float32', [1]);
  g.output(g.op('Relu', [x]), 'y', 'float32', [1]);
  return g.encode();
}

export class OrtRuntime {
  private constructor(
    private readonly ort: Ort,
    readonly report: ProviderReport,
    private readonly threads: number | undefined,
  ) {}

  static async create(options: RuntimeOptions = {}): Promise<OrtRuntime> {
    const ort = await loadOrt();
    const requested = options.provider ?? 'auto';
    if (!PROVIDER_CHOICES.includes(requested)) throw new RuntimeError(`unknown execution provider '${requested}' (auto, cpu or cuda)`);
    if (requested === 'cpu') return new OrtRuntime(ort, { requested, provider: 'cpu' }, options.threads);
    let reason: string;
    if (!cudaLibraryInstalled()) {
      reason = 'the CUDA provider of onnxruntime-node is not installed';
      if (requested === 'cuda') throw new RuntimeError(`${reason}; ${CUDA_HELP}`);
      return new OrtRuntime(ort, { requested, provider: 'cpu', reason }, options.threads);
    }
    try {
      const s = await ort.InferenceSession.create(probeGraph(), { executionProviders: ['cuda'], logSeverityLevel: 4 });
      await s.release();
      return new OrtRuntime(ort, { requested, provider: 'cuda' }, options.threads);
    } catch (err) {
      reason = `CUDA provider unavailable: ${(err as Error).message.split('\n')[0]}`;
    }
    if (requested === 'cuda') throw new RuntimeError(`${reason}; ${CUDA_HELP}`);
    return new OrtRuntime(ort, { requested, provider: 'cpu', reason }, options.threads);
  }

  get provider(): 'cpu' | 'cuda' {
    return this.report.provider;
  }

  describe(): string {
    return `execution provider: ${this.report.provider}${this.report.reason ? ` (${this.report.reason})` : ''}`;
  }

  async session(model: string | Uint8Array): Promise<OrtSession> {
    const opts: OrtSession.SessionOptions = {
      executionProviders: this.report.provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      graphOptimizationLevel: 'all',
      executionMode: 'sequential',
      logSeverityLevel: 3,
    };
    if (this.threads !== undefined) {
      opts.intraOpNumThreads = this.threads;
      opts.interOpNumThreads = 1;
    }
    try {
      return typeof model === 'string' ? await this.ort.InferenceSession.create(model, opts) : await this.ort.InferenceSession.create(model, opts);
    } catch (err) {
      throw new RuntimeError(`${typeof model === 'string' ? model : 'graph'}: ONNX Runtime cannot load it (${(err as Error).message})`);
    }
  }

  floatTensor(data: Float32Array, dims: number[]) {
    return new this.ort.Tensor('float32', data, dims);
  }

  int64Tensor(values: number[], dims: number[]) {
    return new this.ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
  }
}
