// The run-folder model, the trainer launcher and the webview contracts (docs/runs.md).
export * from './events';
export * from './tail';
export * from './summary';
export * from './status';
export * from './lock';
export * from './folder';
export * from './evalReport';
export * from './confusion';
export * from './launch';
export * from './python';
export * from './pythonEnv';
export * from './dashboardProtocol';
export * from './evalProtocol';
export * from './dashboardFeed';
export * from './presentation';
export * from './classify';
export * from './gallery';
