// Dense image features + prompt embeddings -> part label map, the one pipeline shared by the
// mask preview, `pscl masks` and the training cache (what the user sees is what is trained on).
import { labelsFromProbabilities, type LabelMap } from './labels';
import { closeLabelMap } from './morphology';
import { promptProbabilities, CLIP_LOGIT_SCALE, type DenseFeatures, type PromptEmbeddings } from './similarity';
import { partStatistics, type PartStats } from './stats';

export interface MaskSettings {
  /** Odd kernel size of the closing; 1 disables it. Default 3 (the paper's). */
  kernel?: number;
  /** Pixels whose best part probability is below this become background. Default 0 (off). */
  threshold?: number;
  logitScale?: number;
}

export const DEFAULT_MASK_SETTINGS: Required<MaskSettings> = { kernel: 3, threshold: 0, logitScale: CLIP_LOGIT_SCALE };

export interface PartMaskResult {
  labels: LabelMap;
  /** Patch-level probabilities [h, w, n] over every prompt (parts, then background prompts). */
  probabilities: Float32Array;
  gridHeight: number;
  gridWidth: number;
  stats: PartStats[];
}

/**
 * `prompts` holds the part embeddings first (`numParts` rows), then any background prompts.
 * The label map has the requested size.
 */
export function computePartMasks(
  features: DenseFeatures,
  prompts: PromptEmbeddings,
  numParts: number,
  size: { height: number; width: number },
  settings: MaskSettings = {},
): PartMaskResult {
  const s = { ...DEFAULT_MASK_SETTINGS, ...settings };
  const probabilities = promptProbabilities(features, prompts, s.logitScale);
  const raw = labelsFromProbabilities(probabilities, features.h, features.w, prompts.n, {
    height: size.height,
    width: size.width,
    numParts,
    threshold: s.threshold,
  });
  const labels = closeLabelMap(raw, s.kernel);
  return { labels, probabilities, gridHeight: features.h, gridWidth: features.w, stats: partStatistics(labels) };
}
