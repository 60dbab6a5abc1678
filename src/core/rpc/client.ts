// The client side of the backend protocol: spawns `node dist/backend.js`, checks the protocol
// version, sends typed requests with cancellation and progress, restarts the backend on the
// next request after a crash, and stops it on dispose. No 'vscode' here: the extension host
// passes its CancellationToken (same shape), the CLI and tests an AbortSignal.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  CancellationTokenSource,
  createMessageConnection,
  ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
  type RequestType,
} from 'vscode-jsonrpc/node';
import { BackendError, ErrorCodes, kindForCode, type ErrorData } from './errors';
import { Notifications, PROTOCOL_VERSION, Requests, type BackendInfo, type JobFinishedParams, type ProgressParams } from './protocol';

/** A VS Code or vscode-jsonrpc CancellationToken. */
export interface CancellationTokenLike {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

export type Cancellation = AbortSignal | CancellationTokenLike;

export interface RequestOptions {
  token?: Cancellation;
  /** Progress of this request (sets params.jobId when the caller did not). */
  onProgress?: (p: ProgressParams) => void;
}

export interface BackendClientOptions {
  /** Path of dist/backend.js. */
  backendPath: string;
  /** Default process.execPath; in the extension host that is VS Code itself, run as node (ELECTRON_RUN_AS_NODE). */
  execPath?: string;
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each line the backend logs on stderr. */
  onLog?: (line: string) => void;
  /** How long the backend may take to answer its first backend/info (default 20 s). */
  startTimeoutMs?: number;
}

interface Disposable {
  dispose(): void;
}

interface Session {
  child: ChildProcess;
  connection: MessageConnection;
  info: BackendInfo;
  exited: Promise<void>;
}

/** Rejections pending on one process, so an exit can fail them with a clear message. */
type Reject = (err: BackendError) => void;

export class BackendClient {
  private session?: Session;
  private starting?: Promise<Session>;
  private disposed = false;
  private nextJob = 1;
  private readonly progressRoutes = new Map<string, (p: ProgressParams) => void>();
  private readonly progressListeners = new Set<(p: ProgressParams) => void>();
  private readonly finishedListeners = new Set<(p: JobFinishedParams) => void>();
  private readonly stderrTail: string[] = [];
  private readonly pending = new Map<Session, Set<Reject>>();
  private lastExit = '';

  constructor(private readonly options: BackendClientOptions) {}

  /** The running backend's pid, if one is running. */
  get pid(): number | undefined {
    return this.session?.child.pid;
  }

  get info(): BackendInfo | undefined {
    return this.session?.info;
  }

  /** Starts the backend if needed and returns its backend/info. */
  async start(): Promise<BackendInfo> {
    return (await this.ensureSession()).info;
  }

  async request<P, R>(type: RequestType<P, R, unknown>, params: P, options: RequestOptions = {}): Promise<R> {
    if (isCancelled(options.token)) throw cancelledError(type.method);
    const session = await this.ensureSession();
    if (isCancelled(options.token)) throw cancelledError(type.method);
    let jobId: string | undefined;
    if (options.onProgress && params && typeof params === 'object') {
      jobId = (params as { jobId?: string }).jobId ?? `request-${this.nextJob++}`;
      params = { ...params, jobId };
      this.progressRoutes.set(jobId, options.onProgress);
    }
    const source = new CancellationTokenSource();
    const sub = onCancel(options.token, () => source.cancel());
    try {
      return await this.send(session, type, params, source);
    } finally {
      sub?.dispose();
      source.dispose();
      if (jobId) this.progressRoutes.delete(jobId);
    }
  }

  /** Progress of background jobs (and of requests sent without onProgress but with a jobId). */
  onJobProgress(listener: (p: ProgressParams) => void): Disposable {
    this.progressListeners.add(listener);
    return { dispose: () => this.progressListeners.delete(listener) };
  }

  onJobFinished(listener: (p: JobFinishedParams) => void): Disposable {
    this.finishedListeners.add(listener);
    return { dispose: () => this.finishedListeners.delete(listener) };
  }

  /** Asks the backend to stop, kills it if it does not within `graceMs`; no request works afterwards. */
  async dispose(graceMs = 2000): Promise<void> {
    this.disposed = true;
    const session = this.session ?? (await this.starting?.catch(() => undefined));
    if (!session) return;
    const exited = session.exited;
    try {
      session.connection.sendRequest(Requests.shutdown.method, null).catch(() => undefined);
    } catch {
      // already closed: the exit is on its way
    }
    const timer = setTimeout(() => session.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private send<P, R>(session: Session, type: RequestType<P, R, unknown>, params: P, source: CancellationTokenSource): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const rejects = this.pending.get(session)!;
      const fail: Reject = (err) => {
        rejects.delete(fail);
        reject(err);
      };
      rejects.add(fail);
      let sent: Promise<unknown>;
      try {
        sent = session.connection.sendRequest(type.method, params, source.token);
      } catch {
        // The connection closed a moment ago; the exit handler has not run yet.
        return fail(new BackendError('the PSCL backend stopped; it will restart on the next request', ErrorCodes.BackendStopped, 'stopped'));
      }
      sent.then(
        (result) => {
          rejects.delete(fail);
          resolve(result as R);
        },
        (err: unknown) => {
          // After an exit the session's own rejection (with the exit code) has already run.
          if (!rejects.has(fail)) return;
          fail(toBackendError(err, type.method));
        },
      );
    });
  }

  private ensureSession(): Promise<Session> {
    if (this.disposed) return Promise.reject(new BackendError('the PSCL backend client was disposed', ErrorCodes.BackendStopped, 'stopped'));
    if (this.session) return Promise.resolve(this.session);
    this.starting ??= this.spawnSession().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async spawnSession(): Promise<Session> {
    const o = this.options;
    const child = spawn(o.execPath ?? process.execPath, [...(o.execArgv ?? []), o.backendPath], {
      cwd: o.cwd,
      env: { ...(o.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.stderrTail.length = 0;
    let buffered = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (buffered + chunk).split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        this.stderrTail.push(line);
        if (this.stderrTail.length > 20) this.stderrTail.shift();
        o.onLog?.(line);
      }
    });
    const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    connection.onNotification(Notifications.progress, (p) => {
      const route = this.progressRoutes.get(p.jobId);
      if (route) route(p);
      else for (const l of this.progressListeners) l(p);
    });
    connection.onNotification(Notifications.jobFinished, (p) => {
      for (const l of this.finishedListeners) l(p);
    });
    connection.onError(() => undefined); // stream errors surface through the exit below
    // A dead child's stdin errors with EPIPE; the exit handler reports it.
    child.stdin!.on('error', () => undefined);

    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    const exited = new Promise<void>((resolve) => {
      child.on('error', (err) => {
        exitInfo ??= { code: null, signal: null };
        this.stderrTail.push(`could not start ${o.execPath ?? process.execPath}: ${err.message}`);
        resolve();
      });
      child.on('close', (code, signal) => {
        exitInfo ??= { code, signal };
        resolve();
      });
    });
    const rejects = new Set<Reject>();
    const provisional: Session = { child, connection, info: undefined as unknown as BackendInfo, exited };
    this.pending.set(provisional, rejects);
    void exited.then(() =>
      // Let responses already read from the pipe settle before failing what is left.
      setImmediate(() => {
        const how = exitInfo?.signal ? `killed by ${exitInfo.signal}` : `exit code ${exitInfo?.code ?? 'unknown'}`;
        this.lastExit = how;
        const err = new BackendError(
          this.disposed ? `the PSCL backend was shut down (${how})` : `the PSCL backend stopped (${how}); it will restart on the next request`,
          ErrorCodes.BackendStopped,
          'stopped',
          this.stderrTail.join('\n'),
        );
        for (const fail of [...rejects]) fail(err);
        this.pending.delete(provisional);
        if (this.session === provisional) this.session = undefined;
        connection.dispose();
      }),
    );
    connection.listen();

    const timeoutMs = o.startTimeoutMs ?? 20_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const info = await Promise.race([
        this.send(provisional, Requests.info, null, new CancellationTokenSource()),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new BackendError(`the PSCL backend did not answer within ${timeoutMs / 1000} s of starting`, ErrorCodes.BackendStopped, 'stopped')), timeoutMs);
        }),
      ]);
      if (info.protocolVersion !== PROTOCOL_VERSION) {
        throw new BackendError(
          `${o.backendPath} speaks protocol ${info.protocolVersion}, this client ${PROTOCOL_VERSION}: rebuild (npm run build) so both come from the same version`,
          ErrorCodes.InternalError,
          'internal',
        );
      }
      provisional.info = info;
      this.session = provisional;
      return provisional;
    } catch (err) {
      child.kill('SIGKILL');
      await exited;
      const e = err instanceof BackendError ? err : toBackendError(err, Requests.info.method);
      if (e.kind === 'stopped' && !e.message.includes('did not answer')) {
        const tail = this.stderrTail.filter((l) => l.trim()).slice(-5).join('\n');
        throw new BackendError(`the PSCL backend failed to start (${this.lastExit})${tail ? `:\n${tail}` : ''}`, e.code, 'stopped', e.detail);
      }
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }
}

function isCancelled(token: Cancellation | undefined): boolean {
  if (!token) return false;
  return 'aborted' in token ? token.aborted : token.isCancellationRequested;
}

function onCancel(token: Cancellation | undefined, listener: () => void): Disposable | undefined {
  if (!token) return undefined;
  if ('aborted' in token) {
    token.addEventListener('abort', listener, { once: true });
    return { dispose: () => token.removeEventListener('abort', listener) };
  }
  return token.onCancellationRequested(listener);
}

function cancelledError(method: string): BackendError {
  return new BackendError(`${method} was cancelled`, ErrorCodes.RequestCancelled, 'cancelled');
}

function toBackendError(err: unknown, method: string): BackendError {
  if (err instanceof BackendError) return err;
  if (err instanceof ResponseError) {
    const data = err.data as Partial<ErrorData> | undefined;
    if (err.code === ErrorCodes.RequestCancelled) return new BackendError(err.message || `${method} was cancelled`, err.code, 'cancelled', data?.detail);
    if (err.code === -32099 || err.code === -32097 || err.code === -32096) {
      // vscode-jsonrpc's own: write failed / connection disposed / inactive: the process is gone.
      return new BackendError(`the PSCL backend stopped; it will restart on the next request (${err.message})`, ErrorCodes.BackendStopped, 'stopped');
    }
    return new BackendError(err.message, err.code, data?.kind ?? kindForCode(err.code), data?.detail);
  }
  return new BackendError(`${method}: ${err instanceof Error ? err.message : String(err)}`, ErrorCodes.InternalError, 'internal');
}
