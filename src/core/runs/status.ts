// A run's status from its events and whether its trainer is alive (run.lock). Pure: the caller
// reads the lock; tests feed hand-made cases.
import type { LockState } from './lock';
import type { RunProgress } from './summary';

export type RunStatus = 'running' | 'finished' | 'failed' | 'stopped' | 'unknown';

export interface RunStatusInfo {
  status: RunStatus;
  /** Why, in words a user can act on (set for failed and unknown). */
  reason?: string;
  /** Seconds of training so far (includes the time since the last event while running). */
  elapsedS: number;
}

/**
 * Rules, in order:
 * - a live trainer (lock alive) is running, whatever the events say so far;
 * - an `end` event after the last `start` decides (finished / stopped / failed);
 * - a lock whose process is gone, without an end event: failed (killed), with the last error's
 *   message when there is one;
 * - no lock, no end: an error event makes it failed; otherwise unknown (started outside the
 *   launcher, or the folder was copied mid-run).
 */
export function deriveStatus(p: RunProgress, lock: LockState, nowS: number = Date.now() / 1000): RunStatusInfo {
  const lastTime = p.lastTime;
  const running = lock.state === 'alive';
  const elapsedS = p.activeS + (running && lastTime !== undefined && p.segmentStart !== undefined ? Math.max(0, nowS - lastTime) : 0);
  if (running) return { status: 'running', elapsedS };
  if (p.end) {
    const info: RunStatusInfo = { status: p.end.status, elapsedS };
    if (p.end.status === 'failed') info.reason = p.lastError?.message ?? 'the trainer reported failure without an error message';
    return info;
  }
  if (lock.state === 'foreign') {
    return { status: 'unknown', elapsedS, reason: `started on ${lock.lock.host}: its process cannot be checked from here` };
  }
  if (lock.state === 'dead') {
    const what = `the trainer (pid ${lock.lock.pid}) ended without reporting an end event`;
    return { status: 'failed', elapsedS, reason: p.lastError ? `${p.lastError.message} (${what})` : `${what}: it was killed or crashed; see train.log` };
  }
  if (p.lastError) return { status: 'failed', elapsedS, reason: p.lastError.message };
  if (lock.state === 'invalid') return { status: 'unknown', elapsedS, reason: lock.reason };
  if (p.starts === 0) return { status: 'unknown', elapsedS, reason: 'no start event in events.jsonl yet' };
  return { status: 'unknown', elapsedS, reason: 'no end event and no live trainer process (run.lock missing)' };
}
