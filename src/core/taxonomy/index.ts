// The taxonomy core's public surface: import from here ('src/core/taxonomy').
export * from './model';
export * from './diagnostics';
export { parseProject, rangeOf, nodeAt, pathOf, serializeProject, levelToJson, classToJson, type ParsedProject, type JSONPath, type Node } from './project';
export { validateProject, parentLevelIndex, closest, type ValidateOptions } from './validate';
export * from './edits';
export { taxonomyTree, levelValues, imageCountsByClass, type TreeNode, type FacetGroup, type FacetGrouping, type TaxonomyTree } from './tree';
export { summarizeProject, formatSummary, type ProjectSummary, type LevelSummary } from './summary';
export * from './importers';
