// quality/score: a project's prompt quality on its training cache (docs/prompt-quality.md), for the
// Parts and Taxonomy views and the Prompt Report; with progress notifications and cancellation.
import { RequestType } from 'vscode-jsonrpc';
import type { PromptScores } from '../quality/score';
import type { ErrorData } from './errors';
import type { ExecutionDevice } from './protocol';

export interface QualityScoreParams {
  projectFile: string;
  /** The text to score instead of the saved file's. */
  projectText?: string;
  /** A local CLIP folder or Hub id already downloaded; '' or 'demo' is the embedded demo model. */
  model: string;
  device?: ExecutionDevice;
  /** Default: the project's default cache folder for the model. */
  cacheDir?: string;
  /** 'auto' builds the cache when it cannot serve the scores; 'never' fails instead (default 'never'). */
  build?: 'auto' | 'never';
  split?: 'all' | 'train' | 'test' | 'val';
  perClass?: number;
  topK?: number;
  /** Read the stored masks for their statistics (default true). */
  masks?: boolean;
  jobId?: string;
}

/** The confusion of the flat prompts at one level: row = truth, column = top-1 prediction. */
export interface LevelConfusion {
  names: string[];
  /** [names x names] row-major counts. */
  counts: number[];
}

export interface QualityScoreResult {
  scores: PromptScores;
  /** Per level with at most 400 classes. */
  confusion: Record<string, LevelConfusion>;
  /** The cache was (re)built for this request. */
  cacheBuilt: boolean;
  seconds: number;
}

export const QualityRequests = {
  score: new RequestType<QualityScoreParams, QualityScoreResult, ErrorData>('quality/score'),
};
