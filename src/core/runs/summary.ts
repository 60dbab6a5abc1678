// Folds a run's events into what the runs view and the dashboard show: progress, best accuracy,
// elapsed time, the last error and how the run ended. Pure: the dashboard webview uses it too.
import type { KnownEvent, RunEndStatus, RunEvent } from './events';

export interface RunProgress {
  /** Number of `start` events (a resumed run has more than one). */
  starts: number;
  firstTime?: number;
  lastTime?: number;
  device?: string;
  worldSize?: number;
  epochs?: number;
  stepsPerEpoch?: number;
  totalSteps?: number;
  epoch?: number;
  step?: number;
  loss?: number;
  lr?: number;
  imagesPerS?: number;
  etaS?: number;
  /** Best top-1 seen in val metrics, eval events or the end event. */
  bestTop1?: number;
  lastCheckpoint?: { epoch: number; step: number; path: string };
  lastEval?: { top1: number; top5?: number; perLevel?: Record<string, number>; path?: string };
  lastError?: { message: string; kind?: string; detail?: string; time: number; source?: string };
  end?: { status: RunEndStatus; time: number; source?: string };
  /** backbone_weights of the run: its source and whether the backbone started from pretrained weights. */
  weights?: { source: string; pretrained: boolean };
  /** The trainer's preflight line of the latest start (memory, s/step, ETA). */
  preflight?: string;
  /** Seconds spent running, summed over the segments between a start and the next start. */
  activeS: number;
  /** Time of the current segment's start event; undefined after an end event. */
  segmentStart?: number;
}

export function emptyProgress(): RunProgress {
  return { starts: 0, activeS: 0 };
}

const better = (a: number | undefined, b: number | null | undefined): number | undefined =>
  typeof b === 'number' && Number.isFinite(b) && (a === undefined || b > a) ? b : a;

/** Applies one event; mutates and returns `p` (the dashboard folds thousands of events). */
export function foldEvent(p: RunProgress, e: RunEvent): RunProgress {
  if (p.firstTime === undefined) p.firstTime = e.time;
  if (p.lastTime !== undefined && p.segmentStart !== undefined && e.type !== 'start') {
    p.activeS += Math.max(0, e.time - p.lastTime);
  }
  p.lastTime = e.time;
  const k = e as KnownEvent;
  switch (k.type) {
    case 'start':
      p.starts++;
      p.segmentStart = k.time;
      p.device = k.device ?? p.device;
      p.worldSize = k.world_size ?? p.worldSize;
      p.epochs = k.epochs ?? p.epochs;
      p.stepsPerEpoch = k.steps_per_epoch ?? p.stepsPerEpoch;
      p.totalSteps = k.total_steps ?? p.totalSteps;
      if (k.pretrained && typeof k.pretrained.source === 'string') p.weights = { source: k.pretrained.source, pretrained: k.pretrained.pretrained === true };
      else if (k.config && typeof k.config.backbone_weights === 'string') p.weights = { source: k.config.backbone_weights, pretrained: k.config.backbone_weights !== 'none' };
      if (typeof k.preflight?.summary === 'string') p.preflight = k.preflight.summary;
      // a resumed run starts again: the previous ending no longer describes it
      p.end = undefined;
      p.lastError = undefined;
      break;
    case 'progress':
      p.epoch = k.epoch;
      p.step = k.step;
      p.totalSteps = k.total_steps ?? p.totalSteps;
      p.loss = k.loss ?? p.loss;
      p.lr = k.lr ?? p.lr;
      p.imagesPerS = k.images_per_s ?? p.imagesPerS;
      p.etaS = k.eta_s ?? p.etaS;
      break;
    case 'metrics':
      if (k.split !== 'train') p.bestTop1 = better(p.bestTop1, k.acc?.top1);
      break;
    case 'checkpoint':
      p.lastCheckpoint = { epoch: k.epoch, step: k.step, path: k.path };
      break;
    case 'eval':
      p.lastEval = { top1: k.top1, top5: k.top5, perLevel: k.per_level, path: k.path };
      p.bestTop1 = better(p.bestTop1, k.top1);
      break;
    case 'error':
      p.lastError = { message: k.message, kind: k.kind, detail: k.detail, time: k.time, source: k.source };
      break;
    case 'end':
      p.end = { status: k.status, time: k.time, source: k.source };
      p.bestTop1 = better(p.bestTop1, k.best_top1);
      p.segmentStart = undefined;
      break;
  }
  return p;
}

export function foldEvents(events: readonly RunEvent[], p: RunProgress = emptyProgress()): RunProgress {
  for (const e of events) foldEvent(p, e);
  return p;
}

/** Fraction of the total steps done, 0..1, or undefined when the total is unknown. */
export function progressFraction(p: RunProgress): number | undefined {
  if (!p.totalSteps || p.step === undefined) return undefined;
  return Math.min(1, Math.max(0, p.step / p.totalSteps));
}

/** "1h 02m", "3m 05s", "12s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h > 0) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m ${String(sec).padStart(2, '0')}s`;
  return `${sec}s`;
}
