// What handlers share: the job manager, the loaded CLIP engines, defaults and the registry's
// own description (for backend/info).
import type { EngineCache } from './models';
import type { JobManager } from './jobs';

export interface BackendServices {
  jobs: JobManager;
  engines: EngineCache;
  /** Default model cache: PSCL_MODEL_CACHE, else ~/.cache/pscl-studio/models. */
  modelCacheDir: string;
  methods: string[];
  /** Answers, then stops the backend. */
  shutdown(): void;
}
