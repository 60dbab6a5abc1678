// Messages between the extension host and the Prompt Report webview (webview/promptReport). The
// host sends the latest scores of the project (and the state of a run in progress); the page
// draws the tables, the part bars and the confusion at the level it chooses.
import type { QualityScoreResult } from '../rpc/quality';

export type PromptReportToWebview =
  | { type: 'scores'; project: { name: string; file: string }; result: QualityScoreResult; at: string }
  /** A run in progress (after a save, or asked for); null when none. */
  | { type: 'running'; state: { message: string; fraction?: number } | null }
  | { type: 'error'; message: string };

export type PromptReportFromWebview = { type: 'ready' } | { type: 'rescore' } | { type: 'cancel' } | { type: 'revealPart'; coarse: string; part: string };

export interface PromptReportState {
  projectFile?: string;
  level?: string;
  normalize?: boolean;
}

export function isPromptReportMessage(m: unknown): m is PromptReportFromWebview {
  const t = (m as { type?: unknown } | null)?.type;
  if (t === 'ready' || t === 'rescore' || t === 'cancel') return true;
  const r = m as { coarse?: unknown; part?: unknown };
  return t === 'revealPart' && typeof r.coarse === 'string' && typeof r.part === 'string';
}
