// The seam between the backend and the CLIP runtime (src/core/clip). The clip/* handlers speak
// only to this interface; the backend's entry point binds it to the real model, tests to a fake.
import type { ClipModel } from '../core/clip';
import type { ClipBlockSwitches, ExecutionDevice } from '../core/rpc/protocol';

export type DenseImageInput =
  /** An image file, resized (aspect kept) so its long side is `size`, rounded to the patch (undefined: the model's trained size). */
  | { kind: 'image'; path: string; size?: number }
  /** Normalised pixels, row-major [3, height, width]. */
  | { kind: 'pixels'; data: Float32Array; height: number; width: number };

export interface DenseFeaturesRequest {
  input: DenseImageInput;
  /** "vanilla" | "maskclip" | "sclip" | "clearclip" | "custom"; the engine rejects unknown names (a PsclError, kind 'input'). */
  variant: string;
  /** Set when variant is "custom". */
  switches?: ClipBlockSwitches;
}

export interface DenseFeatures {
  /** Row-major [height, width, dim]: one projected feature per patch (normalised or not, as for texts). */
  data: Float32Array;
  shape: [number, number, number];
}

/** Same shape as the CLIP runtime's RunControl: cancellation and batch-level progress. */
export interface EngineControl {
  signal: AbortSignal;
  /** Work done of total (e.g. sliding windows) after each batch. */
  onProgress?: (done: number, total: number) => void;
}

export interface ClipEngine {
  /** The execution provider in use, e.g. "cpu" or "cuda". */
  readonly device: string;
  /** The model itself, for the work that runs it directly (part masks, the training cache); a test engine has none. */
  readonly clipModel?: ClipModel;
  /** One projected text embedding per text (no templates). Normalised or not: the backend normalises when asked. */
  embedTexts(texts: string[], control: EngineControl): Promise<Float32Array[]>;
  denseFeatures(request: DenseFeaturesRequest, control: EngineControl): Promise<DenseFeatures>;
  /** Releases sessions; called when the engine is evicted or the backend stops. */
  dispose?(): Promise<void> | void;
}

/** Loads a model folder (already checked to hold the four CLIP files). */
export type ClipEngineFactory = (modelDir: string, options: { device: ExecutionDevice }) => Promise<ClipEngine>;
