// The real ClipEngine: src/core/clip's ClipModel behind the backend's clip/* methods.
import { ClipModel, loadImagePixels, parseVariant, type LastBlockVariant } from '../core/clip';
import { PsclError } from '../core/errors';
import type { ClipBlockSwitches } from '../core/rpc/protocol';
import type { ClipEngine, ClipEngineFactory, DenseFeaturesRequest } from './clipEngine';

/** 'custom' + switches, or a name/spec the CLIP core knows. */
export function lastBlockVariant(variant: string, switches?: ClipBlockSwitches): LastBlockVariant {
  if (variant === 'custom') {
    if (!switches) throw new PsclError("variant 'custom' needs switches {residual, feedForward, attention}", 'input');
    return { attention: switches.attention, residual: switches.residual, ffn: switches.feedForward };
  }
  try {
    return parseVariant(variant);
  } catch (err) {
    throw new PsclError((err as Error).message, 'input');
  }
}

export class ClipModelEngine implements ClipEngine {
  constructor(readonly model: ClipModel) {}

  get clipModel(): ClipModel {
    return this.model;
  }

  get device(): string {
    return this.model.provider.provider;
  }

  async embedTexts(texts: string[], control: { signal: AbortSignal }): Promise<Float32Array[]> {
    const e = await this.model.embedTexts(texts, { signal: control.signal });
    return Array.from({ length: e.rows }, (_, i) => e.data.slice(i * e.dim, (i + 1) * e.dim));
  }

  async denseFeatures(req: DenseFeaturesRequest, control: { signal: AbortSignal; onProgress?: (done: number, total: number) => void }) {
    const variant = lastBlockVariant(req.variant, req.switches);
    const pixels =
      req.input.kind === 'image'
        ? await loadImagePixels(req.input.path, { mode: 'fit', size: req.input.size ?? this.model.imageSize, multipleOf: this.model.patchSize })
        : req.input;
    const [m] = await this.model.denseFeatures([pixels], { variant, signal: control.signal, onProgress: control.onProgress });
    return { data: m.data, shape: [m.height, m.width, m.dim] as [number, number, number] };
  }

  dispose(): Promise<void> {
    return this.model.dispose();
  }
}

export const clipModelEngineFactory: ClipEngineFactory = async (dir, { device }) =>
  new ClipModelEngine(await ClipModel.load(dir, { provider: device, log: (m) => process.stderr.write(`[clip] ${m}\n`) }));
