// Messages between the extension host and the dashboard webview. The host sends a snapshot (every
// event so far, read from events.jsonl, and the log tail) when the panel opens or is restored,
// then appended events and log lines. The page keeps only UI choices in its webview state.
import type { RunEvent } from './events';
import type { RunStatusInfo } from './status';

export interface DashboardRun {
  name: string;
  /** Absolute run folder: the panel serializer reopens the run from it. */
  dir: string;
  status: RunStatusInfo;
  /** Whether Stop / Resume apply now (the host decides: a run it can signal, a checkpoint to resume). */
  canStop: boolean;
  canResume: boolean;
  hasEval: boolean;
}

export type DashboardToWebview =
  | { type: 'snapshot'; run: DashboardRun; events: RunEvent[]; log: string[]; corruptLines: number }
  | { type: 'events'; events: RunEvent[] }
  | { type: 'log'; lines: string[] }
  | { type: 'run'; run: DashboardRun };

export type DashboardFromWebview =
  | { type: 'ready' }
  | { type: 'stop' }
  | { type: 'resume' }
  | { type: 'openEvaluation' }
  | { type: 'openLog' };

/** What the page stores with setState (and the serializer gets back). */
export interface DashboardState {
  runDir?: string;
  runName?: string;
  /** Series hidden by the user, as "<chart>:<series label>". */
  hidden?: string[];
}

/** Keep at most this many log lines in the page. */
export const DASHBOARD_LOG_LINES = 400;
