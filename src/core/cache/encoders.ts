// What the cache builder needs from a CLIP model: the mask steps of a MaskSession
// (src/core/masks/session.ts, the same steps the preview runs, here in batches) and the model's
// identity for the cache hashes. The backend and the CLI pass the ClipModel they already hold.
import path from 'node:path';
import type { ClipModel } from '../clip/model';
import { MaskSession } from '../masks/session';

export interface EncoderModel {
  /** Display name (the model folder's name). */
  id: string;
  /** 'sha256:...' of the weights and config: part of every cache hash. */
  hash: string;
  embedDim: number;
  imageSize: number;
  patchSize: number;
}

export interface CacheEncoders {
  model: EncoderModel;
  session: MaskSession;
  /** Images per model call (default: the whole batch the builder hands over). */
  batchSize?: number;
}

/** The encoders over a loaded ClipModel (owned by the caller: not disposed here). */
export function clipEncoders(model: ClipModel, options: { batchSize?: number; session?: MaskSession } = {}): CacheEncoders {
  return {
    model: {
      id: path.basename(path.resolve(model.dir)),
      hash: `sha256:${model.hash}`,
      embedDim: model.embedDim,
      imageSize: model.imageSize,
      patchSize: model.patchSize,
    },
    session: options.session ?? new MaskSession(model),
    batchSize: options.batchSize,
  };
}
