// Dense image features + prompt embeddings -> part label map, the one pipeline shared by the
// mask preview, `pscl masks` and the training cache (what the user sees is what is trained on).
import { labelsFromProbabilities, type LabelMap } from './labels';
import { closeLabelMap } from './morphology';
import { MASK_DEFAULTS, type MaskSettings } from './settings';
import { promptProbabilities, type DenseFeatures, type PromptEmbeddings } from './similarity';
import { partStatistics, type PartStats } from './stats';

/** What the step from features to labels uses of the mask settings (the defaults fill the rest). */
export type LabelSettings = Partial<Pick<MaskSettings, 'kernel' | 'threshold' | 'logitScale'>>;

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
  settings: LabelSettings = {},
): PartMaskResult {
  const s = { kernel: settings.kernel ?? MASK_DEFAULTS.kernel, threshold: settings.threshold ?? MASK_DEFAULTS.threshold, logitScale: settings.logitScale ?? MASK_DEFAULTS.logitScale };
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
