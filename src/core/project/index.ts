// The project as the shells use it (docs/architecture.md): load for work (`loadProject`) and
// check for problems (`checkProject`, `checkProjectFile`). Parsing itself is src/core/taxonomy/project.ts.
export { blockingProblems, describeProblems, loadProject, ProjectLoadError, readProjectText, useProjectText, type LoadedProject, type LoadProjectOptions, type ProjectRequirement } from './load';
export { checkProject, checkProjectFile, decidedImageCounts, datasetProblem, declaresDataset, readDatasetInfo, type DatasetInfo, type DatasetResult } from './check';
