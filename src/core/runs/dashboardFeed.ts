// Host side of the dashboard: builds the snapshot a newly opened (or restored) panel needs and the
// messages for what was appended since. The extension calls poll() on a timer or file watch and
// posts what it returns; it knows nothing about the file formats.
import path from 'node:path';
import { DASHBOARD_LOG_LINES, type DashboardRun, type DashboardToWebview } from './dashboardProtocol';
import { EVENTS_FILE, LOG_FILE, readRun } from './folder';
import { EventTail, LineTail } from './tail';

export interface DashboardFeedOptions {
  /** Whether this host can stop the run (it holds the launcher or the lock is alive). */
  canStop?: (run: Awaited<ReturnType<typeof readRun>>) => boolean;
}

export class DashboardFeed {
  private events: EventTail;
  private log: LineTail;
  private lastRunKey = '';

  constructor(readonly runDir: string, private readonly options: DashboardFeedOptions = {}) {
    this.events = new EventTail(path.join(runDir, EVENTS_FILE));
    this.log = new LineTail(path.join(runDir, LOG_FILE));
  }

  async runInfo(): Promise<DashboardRun> {
    const run = await readRun(this.runDir);
    const running = run.status.status === 'running';
    return {
      name: run.name,
      dir: run.dir,
      status: run.status,
      canStop: this.options.canStop ? this.options.canStop(run) : running,
      canResume: !running && run.hasCheckpoint && run.status.status !== 'finished',
      hasEval: run.hasEval,
    };
  }

  /** Everything so far; resets the incremental readers. */
  async snapshot(): Promise<DashboardToWebview> {
    this.events = new EventTail(path.join(this.runDir, EVENTS_FILE));
    this.log = new LineTail(path.join(this.runDir, LOG_FILE));
    const { events, corrupt } = await this.events.readAll();
    await this.log.seekToTail(64 * 1024);
    const log = (await this.log.read()).lines.slice(-DASHBOARD_LOG_LINES);
    const run = await this.runInfo();
    this.lastRunKey = JSON.stringify({ ...run, status: { ...run.status, elapsedS: 0 } });
    return { type: 'snapshot', run, events, log, corruptLines: corrupt.length };
  }

  /** What changed since the last call; a replaced events file yields a fresh snapshot. */
  async poll(): Promise<DashboardToWebview[]> {
    const out: DashboardToWebview[] = [];
    const chunk = await this.events.read();
    if (chunk.truncated) return [await this.snapshot()];
    if (chunk.events.length > 0) out.push({ type: 'events', events: chunk.events });
    const log = await this.log.read();
    if (log.lines.length > 0) out.push({ type: 'log', lines: log.lines.slice(-DASHBOARD_LOG_LINES) });
    const run = await this.runInfo();
    const key = JSON.stringify({ ...run, status: { ...run.status, elapsedS: 0 } });
    if (key !== this.lastRunKey || run.status.status === 'running') {
      this.lastRunKey = key;
      out.push({ type: 'run', run });
    }
    return out;
  }
}
