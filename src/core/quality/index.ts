// Prompt quality (docs/prompt-quality.md): zero-shot accuracy per taxonomy level, the part keypoint
// hit rate, mask statistics, and A/B of two prompt sets, measured on the training cache.
export { PromptScorer, type PromptScores, type ScoreDetail, type ScoreOptions, type SplitChoice, type Accuracy, type PartScore } from './score';
export { compareScores, type Comparison, type CompareOptions, type Delta } from './compare';
export { openPromptScorer, whyBuild, type BuildChoice, type OpenScorerOptions } from './open';
export { loadQualityData, type QualityData } from './data';
export { TextEmbeddings } from './texts';
export { KeypointScorer, type KeypointRows, type PartHits, type PartPrompts } from './hitRate';
export { maskStatistics, type MaskStatistics, type PartMaskStats } from './maskStats';
export { levelClasses, levelPrompts, randomDescriptors, VARIANTS, CONTROL_DEFAULTS, type Variant, type ControlOptions } from './prompts';
export { jsProduct, zeroShot, zeroShotFromScores, type ZeroShotResult } from './zeroShot';
export { ortMatrixProduct, type MatrixProduct } from '../clip/matmul';
export { fileAtRevision } from './revision';
