// The backend's JSON-RPC server: wires every area's requests and job kinds to a connection on
// stdin/stdout, turns cancellation tokens into AbortSignals, and maps whatever a handler throws
// to a JSON-RPC error so no handler can take the process down.
import type { Readable, Writable } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type CancellationToken, type MessageConnection } from 'vscode-jsonrpc/node';
import { defaultModelCacheDir } from '../core/clip/hub';
import { Notifications } from '../core/rpc/protocol';
import type { ClipEngineFactory } from './clipEngine';
import { LoadedModels } from './models';
import { JobManager } from './jobs';
import { log, redirectConsoleToStderr } from './log';
import { toResponseError, type BackendArea, type HandlerContext, type ProgressReport } from './registry';
import type { BackendServices } from './services';

export interface BackendOptions {
  areas: BackendArea[];
  clipEngineFactory?: ClipEngineFactory;
  input?: Readable;
  output?: Writable;
  /** Called instead of process.exit when the connection ends (tests run servers in-process). */
  exit?: (code: number) => void;
}

export function startBackend(options: BackendOptions): MessageConnection {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  if (output === process.stdout) redirectConsoleToStderr();

  const connection = createMessageConnection(new StreamMessageReader(input), new StreamMessageWriter(output));
  const sendProgress = (p: Parameters<typeof connection.sendNotification>[1]) => void connection.sendNotification(Notifications.progress, p).catch(() => undefined);
  let stopping = false;
  const models = new LoadedModels(options.clipEngineFactory);
  const methods: string[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const services: BackendServices = {
    jobs: undefined as unknown as JobManager, // set below: the manager needs the context, which holds the services
    models,
    modelCacheDir: defaultModelCacheDir(),
    methods,
    shutdown() {
      if (stopping) return;
      stopping = true;
      log('shutting down');
      services.jobs.cancelAll();
      // Let the answer to backend/shutdown reach the client first.
      setTimeout(() => void models.disposeAll().finally(() => exit(0)), 50);
    },
  };
  const context = (jobId: string | undefined, signal: AbortSignal, progress: HandlerContext['progress']): HandlerContext => ({ jobId, signal, progress, services });
  const jobs = new JobManager({
    sendProgress,
    sendFinished: (p) => void connection.sendNotification(Notifications.jobFinished, p).catch(() => undefined),
    context,
  });
  services.jobs = jobs;

  for (const area of options.areas) {
    for (const job of area.jobs ?? []) jobs.register(job);
    for (const def of area.requests ?? []) {
      if (methods.includes(def.method)) throw new Error(`method ${def.method} registered twice`);
      methods.push(def.method);
      // vscode-jsonrpc passes (token) without params, (params, token) with an object, and
      // (...items, token) for positional params (which parse() then rejects).
      connection.onRequest(def.method, async (...args: unknown[]) => {
        const token = args.pop() as CancellationToken;
        const raw = args.length === 1 ? args[0] : args.length === 0 ? undefined : args;
        const abort = new AbortController();
        const sub = token.onCancellationRequested(() => abort.abort());
        if (token.isCancellationRequested) abort.abort();
        const jobId = typeof (raw as { jobId?: unknown } | null)?.jobId === 'string' ? (raw as { jobId: string }).jobId : undefined;
        const progress = (report: ProgressReport) => {
          if (jobId && !abort.signal.aborted) sendProgress({ jobId, ...report });
        };
        const running = (async () => def.handle(def.parse(raw), context(jobId, abort.signal, progress)))();
        inFlight.add(running);
        try {
          return await running;
        } catch (err) {
          const e = toResponseError(err, def.method, abort.signal.aborted);
          if (e.data?.kind === 'internal') log(`${def.method} failed: ${e.data.detail ?? e.message}`);
          throw e;
        } finally {
          sub.dispose();
          inFlight.delete(running);
        }
      });
    }
  }
  methods.sort();

  connection.onClose(() => {
    // The client went away or closed our stdin: nothing new will come. Answers to requests
    // already read still go out (a script may pipe requests in and read answers), then exit.
    services.jobs.cancelAll();
    const settled = Promise.allSettled([...inFlight]);
    const deadline = new Promise((r) => setTimeout(r, 5000).unref());
    void Promise.race([settled, deadline])
      .then(() => new Promise((r) => setTimeout(r, 20)))
      .then(() => models.disposeAll())
      .finally(() => exit(0));
  });
  connection.listen();
  log(`started (pid ${process.pid}, node ${process.version})`);
  return connection;
}

/** A bug in a timer or a stray promise is logged, not fatal: the backend serves other requests. */
export function keepAliveOnStrayErrors(): void {
  process.on('uncaughtException', (err) => log(`uncaught exception (the backend keeps running): ${err.stack ?? err.message}`));
  process.on('unhandledRejection', (reason) => log(`unhandled rejection (the backend keeps running): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
}
