export * from './similarity';
export * from './labels';
export * from './morphology';
export * from './stats';
export * from './pipeline';
export * from './palette';
export * from './settings';
export * from './wire';
// export.ts (PNG/JSON export, needs sharp) is imported on its own so this index stays usable in webviews.
