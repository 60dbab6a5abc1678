// Trainer events (docs/run-events.md): types and a tolerant line parser. Pure (no node:fs): the
// webviews import it too.

export type RunEndStatus = 'finished' | 'stopped' | 'failed';
export type ErrorKind = 'config' | 'data' | 'oom' | 'cuda' | 'interrupted' | 'internal';

interface EventBase {
  time: number;
}

export interface StartEvent extends EventBase {
  type: 'start';
  run?: string;
  config?: Record<string, unknown>;
  device?: string;
  world_size?: number;
  epochs?: number;
  steps_per_epoch?: number;
  total_steps?: number;
  resumed_from?: number | null;
  /** What backbone_weights loaded (recorded at the run's first start); `pretrained: false` = from scratch. */
  pretrained?: { source: string; pretrained: boolean; sha256?: string; path?: string } | null;
  /** The preflight estimate the trainer checked before building the model. */
  preflight?: { summary?: string } | null;
}

export interface ProgressEvent extends EventBase {
  type: 'progress';
  epoch: number;
  step: number;
  total_steps?: number;
  loss?: number;
  lr?: number;
  images_per_s?: number;
  eta_s?: number;
  /** Optional resource use, shown when present (not in the contract's required fields). */
  gpu_util?: number;
  gpu_mem_mb?: number;
  cpu_util?: number;
}

export interface MetricsEvent extends EventBase {
  type: 'metrics';
  epoch: number;
  step: number;
  split: string;
  loss?: number;
  stage_loss?: Record<string, number>;
  acc?: Record<string, number>;
  stage_acc?: Record<string, number>;
}

export interface CheckpointEvent extends EventBase {
  type: 'checkpoint';
  epoch: number;
  step: number;
  path: string;
}

export interface EvalEvent extends EventBase {
  type: 'eval';
  epoch?: number;
  top1: number;
  top5?: number;
  per_level?: Record<string, number>;
  path?: string;
}

export interface ErrorEvent extends EventBase {
  type: 'error';
  message: string;
  kind?: ErrorKind | string;
  detail?: string;
  /** Set to 'launcher' when the launcher, not the trainer, wrote the event. */
  source?: string;
}

export interface EndEvent extends EventBase {
  type: 'end';
  status: RunEndStatus;
  best_top1?: number | null;
  source?: string;
}

/** An event of a type this version does not know: kept, ignored by the folds. */
export interface OtherEvent extends EventBase {
  type: string;
  [key: string]: unknown;
}

export type KnownEvent = StartEvent | ProgressEvent | MetricsEvent | CheckpointEvent | EvalEvent | ErrorEvent | EndEvent;
export type RunEvent = KnownEvent | OtherEvent;

export interface CorruptLine {
  /** 1-based line number in events.jsonl (counted from the reader's first offset). */
  line: number;
  text: string;
  reason: string;
}

export type ParsedLine = { ok: true; event: RunEvent } | { ok: false; reason: string };

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const END_STATUSES: readonly string[] = ['finished', 'stopped', 'failed'];

/** Checks the fields the folds rely on; unknown types and extra fields pass through. */
export function parseEventLine(text: string): ParsedLine {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `not JSON (${(err as Error).message})` };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'not a JSON object' };
  const o = v as Record<string, unknown>;
  if (typeof o.type !== 'string') return { ok: false, reason: 'no "type" field' };
  if (!isNum(o.time)) return { ok: false, reason: `"${o.type}" event without a numeric "time"` };
  const need = (...fields: string[]): string | undefined => fields.find((f) => !isNum(o[f]));
  let missing: string | undefined;
  switch (o.type) {
    case 'progress':
    case 'metrics':
    case 'checkpoint':
      missing = need('epoch', 'step');
      break;
    case 'eval':
      missing = need('top1');
      break;
    case 'error':
      if (typeof o.message !== 'string') missing = 'message';
      break;
    case 'end':
      if (typeof o.status !== 'string' || !END_STATUSES.includes(o.status)) missing = 'status';
      break;
  }
  if (missing) return { ok: false, reason: `"${o.type}" event without a valid "${missing}"` };
  return { ok: true, event: o as RunEvent };
}

/** Splits complete lines off a text chunk; returns the unterminated rest. */
export function splitLines(text: string): { lines: string[]; rest: string } {
  const parts = text.split('\n');
  const rest = parts.pop() ?? '';
  return { lines: parts.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l)), rest };
}

