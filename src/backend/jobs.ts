// Background jobs: started by jobs/start, listed by jobs/list, cancelled by jobs/cancel; each
// reports `progress` notifications under its id and ends with one `jobs/finished`.
import { PsclError } from '../core/errors';
import type { ErrorData } from '../core/rpc/errors';
import type { JobFinishedParams, JobInfo, ProgressParams } from '../core/rpc/protocol';
import { log } from './log';
import { toResponseError, type HandlerContext, type JobDefinition } from './registry';
import type { Jobs } from './services';

interface RunningJob {
  info: JobInfo;
  abort: AbortController;
}

export interface JobHost {
  sendProgress(p: ProgressParams): void;
  sendFinished(p: JobFinishedParams): void;
  context(jobId: string, signal: AbortSignal, progress: HandlerContext['progress']): HandlerContext;
}

export class JobManager implements Jobs {
  private readonly kinds = new Map<string, JobDefinition>();
  private readonly jobs = new Map<string, RunningJob>();
  private nextId = 1;

  constructor(
    private readonly host: JobHost,
    private readonly keepFinished = 50,
  ) {}

  register(def: JobDefinition): void {
    if (this.kinds.has(def.kind)) throw new Error(`job kind ${def.kind} registered twice`);
    this.kinds.set(def.kind, def);
  }

  get kindNames(): string[] {
    return [...this.kinds.keys()].sort();
  }

  /** Checks the params now (bad input fails jobs/start itself), then runs in the background. */
  start(kind: string, rawParams: unknown): JobInfo {
    const def = this.kinds.get(kind);
    if (!def) throw new PsclError(`jobs/start: unknown job kind '${kind}'; known kinds: ${this.kindNames.join(', ') || 'none'}`);
    const params = def.parse(rawParams);
    const jobId = `job-${this.nextId++}`;
    const info: JobInfo = { jobId, kind, state: 'running', done: 0, total: null, startedAt: Date.now() };
    const abort = new AbortController();
    this.jobs.set(jobId, { info, abort });
    const progress: HandlerContext['progress'] = (report) => {
      if (info.state !== 'running') return;
      Object.assign(info, { done: report.done, total: report.total, message: report.message });
      this.host.sendProgress({ jobId, ...report });
    };
    const ctx = this.host.context(jobId, abort.signal, progress);
    void def.run(params, ctx).then(
      (result) => this.finish(info, abort.signal.aborted ? 'cancelled' : 'succeeded', result),
      (err: unknown) => {
        const e = toResponseError(err, `job ${kind}`, abort.signal.aborted);
        const data = e.data as ErrorData;
        if (data.kind === 'internal') log(`job ${jobId} (${kind}) failed: ${data.detail ?? e.message}`);
        info.error = { message: e.message, code: e.code, kind: data.kind };
        this.finish(info, data.kind === 'cancelled' ? 'cancelled' : 'failed');
      },
    );
    return { ...info };
  }

  cancel(jobId: string): JobInfo | undefined {
    const job = this.jobs.get(jobId);
    if (!job || job.info.state !== 'running') return undefined;
    job.abort.abort();
    return { ...job.info };
  }

  list(): JobInfo[] {
    return [...this.jobs.values()].map((j) => ({ ...j.info }));
  }

  cancelAll(): void {
    for (const job of this.jobs.values()) if (job.info.state === 'running') job.abort.abort();
  }

  private finish(info: JobInfo, state: JobInfo['state'], result?: unknown): void {
    info.state = state;
    info.finishedAt = Date.now();
    this.host.sendFinished({ job: { ...info }, ...(state === 'succeeded' ? { result } : {}) });
    const finished = [...this.jobs.values()].filter((j) => j.info.state !== 'running');
    for (const old of finished.slice(0, Math.max(0, finished.length - this.keepFinished))) this.jobs.delete(old.info.jobId);
  }
}
