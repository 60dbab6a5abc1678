export * from './similarity';
export * from './labels';
export * from './morphology';
export * from './stats';
export * from './pipeline';
