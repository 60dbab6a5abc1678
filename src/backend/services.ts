// What handlers share: the background jobs, the loaded CLIP models, defaults and the registry's
// own description (for backend/info).
import type { JobInfo } from '../core/rpc/protocol';
import type { LoadedModels } from './models';

/** The background jobs as handlers see them (JobManager in jobs.ts). */
export interface Jobs {
  start(kind: string, rawParams: unknown): JobInfo;
  cancel(jobId: string): JobInfo | undefined;
  list(): JobInfo[];
  readonly kindNames: string[];
  cancelAll(): void;
}

export interface BackendServices {
  jobs: Jobs;
  models: LoadedModels;
  /** Default model cache: PSCL_MODEL_CACHE, else ~/.cache/pscl-studio/models. */
  modelCacheDir: string;
  methods: string[];
  /** Answers, then stops the backend. */
  shutdown(): void;
}
