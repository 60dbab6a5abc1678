// Image-level curation (docs/curation.md): findings over a project's images, the edits that
// record decisions about them, and what the Dataset view shows. Import from here.
export { curateProject, findingsJson, type CurateOptions, type CurationProgress, type CurationReport } from './curate';
export { FINDING_KINDS, agreement, sortFindings, type Finding, type FindingKind } from './findings';
export { CURATION_DEFAULTS, CURATION_LIMITS, curationSettings, curationSettingProblem, type CurationSettings } from './settings';
export { defaultScanFile, scanImages, type ImageScan } from './scan';
export { nearestNeighbours, knnBruteForce, knnOnnx, type Neighbours } from './knn';
export { excludeImages, includeImages, relabelImages, clearRelabels, removeDecision } from './edits';
export type { ImageEmbeddingTable, ClassPrototypeTable } from './embeddings';
