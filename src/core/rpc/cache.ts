// cache/build: builds or refreshes a project's training cache (docs/cache-format.md) in the
// backend, with progress notifications and cancellation; Start Training calls it before launching.
import { RequestType } from 'vscode-jsonrpc';
import type { ErrorData } from './errors';
import type { ExecutionDevice } from './protocol';

export interface CacheBuildParams {
  projectFile: string;
  /** A local CLIP folder or Hub id already downloaded; '' or 'demo' is the embedded demo model. */
  model: string;
  device?: ExecutionDevice;
  /** Default: <project dir>/.pscl-cache/<project name>-<model hash>, as `pscl cache build`. */
  outDir?: string;
  force?: boolean;
  /** Set by the client when it wants progress notifications. */
  jobId?: string;
}

export interface CacheBuildSummary {
  dir: string;
  images: { total: number; computed: number; reused: number; errors: number };
  /** Image embeddings computed and reused by this build. */
  embeddings: { computed: number; reused: number };
  seconds: number;
}

export const CacheRequests = {
  build: new RequestType<CacheBuildParams, CacheBuildSummary, ErrorData>('cache/build'),
};
