// Starts the Python trainer (`python -m pscl_trainer ...`, or through torch.distributed.run, i.e.
// torchrun, for several processes) in its own process group, streams its stdout events to
// callbacks and its stderr to train.log, and stops it: SIGTERM to the trainer (it checkpoints and
// writes an `end` event), SIGKILL to the whole group after a grace period. When it ends without
// an `end` event the launcher appends one (with an `error` saying why) so the folder tells the
// truth after a restart. run.lock names the process group while it lives.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { appendFile, mkdir } from 'node:fs/promises';
import { createWriteStream, type WriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEventLine, splitLines, type ErrorEvent, type RunEndStatus, type RunEvent } from './events';
import { EVENTS_FILE, LOG_FILE } from './folder';
import { EventTail } from './tail';
import { PsclError } from '../errors';
import { groupAlive, lockPath, pidAlive, processStartTicks, readLock, removeLock, trainerLockProblem, writeLock, type RunLock } from './lock';
import { spawnTrainer, TRAINER_MODULE } from './python';

export interface TrainerLaunchOptions {
  /** Python interpreter (pscl.python or the Python extension's choice). */
  python: string;
  /** Folder that holds the `pscl_trainer` package; prepended to PYTHONPATH. */
  trainerPath: string;
  runDir: string;
  /** Arguments after the module, e.g. trainArgs({...}). */
  args: string[];
  /**
   * More than 1: `python -m torch.distributed.run --standalone --nproc_per_node N -m <module>`.
   * torchrun may prefix or redirect worker output, so events are then followed in events.jsonl
   * instead of stdout (stdout goes to train.log).
   */
  nprocPerNode?: number;
  /**
   * Several machines (docs/cluster.md): this launcher is one node of a torchrun rendezvous; the
   * same command runs on every node. Node rank 0 alone writes run.lock (the run folder is shared).
   */
  rendezvous?: Rendezvous;
  /** Module to run; 'pscl_trainer' unless a test substitutes a fake. */
  module?: string;
  env?: Record<string, string>;
  /**
   * The least `stop()` waits after SIGTERM before SIGKILL (default 30 s: checkpoints take time).
   * It grows with the longest step measured so far, or the preflight's estimate before the first
   * (stopGraceFor), so a slow CPU step is not killed before its checkpoint.
   */
  stopGraceMs?: number;
}

export interface TrainerCallbacks {
  onEvent?(event: RunEvent): void;
  /** A stdout line that is not a valid event (printed by a library, or corrupt). */
  onOtherOutput?(line: string, reason: string): void;
  onStderr?(text: string): void;
}

export interface TrainerExit {
  status: RunEndStatus;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why it failed (from its last error event, else the exit and the stderr tail). */
  reason?: string;
  stderrTail: string[];
}

export interface TrainArgs {
  /** Training cache folder (docs/cache-format.md); on resume the trainer takes the run's own. */
  cache?: string;
  runDir: string;
  /** Config name (configs/<name>.json) or a JSON file. */
  config?: string;
  resume?: boolean;
  /** `--set key=value` overrides; values are JSON (strings are quoted for you). */
  set?: Record<string, unknown>;
  device?: 'auto' | 'cpu' | 'cuda';
  deterministic?: boolean;
}

/** The trainer's `train` command line (trainer/pscl_trainer/__main__.py). */
export function trainArgs(a: TrainArgs): string[] {
  const args = ['train', '--run', a.runDir];
  if (a.cache) args.push('--cache', a.cache);
  if (a.config) args.push('--config', a.config);
  if (a.resume) args.push('--resume');
  if (a.device) args.push('--device', a.device);
  if (a.deterministic) args.push('--deterministic');
  for (const [k, v] of Object.entries(a.set ?? {})) args.push('--set', `${k}=${JSON.stringify(v)}`);
  return args;
}

/** A multi-node torchrun rendezvous (c10d): every node gives the same endpoint, id and node count. */
export interface Rendezvous {
  /** Machines in the job (> 1). */
  nnodes: number;
  /** This machine's place, 0..nnodes-1 (torchrun's c10d backend assigns the global ranks itself). */
  nodeRank: number;
  /** host:port of the rendezvous store: the first node's address and a free port, e.g. node01:29500. */
  endpoint: string;
  /** The job's id, the same on every node (default 'pscl'). */
  id?: string;
}

/** What is wrong with a rendezvous (undefined when nothing), worded for the flags of `pscl train`. */
export function rendezvousProblem(r: Rendezvous): string | undefined {
  if (!Number.isInteger(r.nnodes) || r.nnodes < 2) return `--nnodes must be an integer of 2 or more for a multi-node run, got ${r.nnodes}`;
  if (!Number.isInteger(r.nodeRank) || r.nodeRank < 0 || r.nodeRank >= r.nnodes) return `--node-rank must be an integer from 0 to ${r.nnodes - 1}, got ${r.nodeRank}`;
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d+)$/.exec(r.endpoint);
  if (!m) return `--rdzv-endpoint must be HOST:PORT (the first node's address and a free port, e.g. node01:29500), got '${r.endpoint}'`;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return `--rdzv-endpoint port must be 1 to 65535, got ${port}`;
  if (r.id !== undefined && !/^[A-Za-z0-9_.-]+$/.test(r.id)) return `--rdzv-id may hold letters, digits, '.', '_' and '-' only, got '${r.id}'`;
  return undefined;
}

/**
 * torchrun's own flags (before `-m module`): standalone on one machine, a c10d rendezvous across
 * several. Underscore spellings: torch 1.13 knows only these, 2.x accepts both. Per-rank stdout to
 * files and teed (prefixed) to ours, with explicit values because Debian's torch 1.13 on Python
 * 3.11 cannot parse the default redirect setting "0".
 */
export function torchrunArgs(o: { nprocPerNode: number; logDir: string; rendezvous?: Rendezvous }): string[] {
  const r = o.rendezvous;
  const where = r
    ? [`--nnodes=${r.nnodes}`, `--node_rank=${r.nodeRank}`, `--nproc_per_node=${o.nprocPerNode}`, '--rdzv_backend=c10d', `--rdzv_endpoint=${r.endpoint}`, `--rdzv_id=${r.id ?? 'pscl'}`, '--max_restarts=0']
    : ['--standalone', `--nproc_per_node=${o.nprocPerNode}`];
  return [...where, '--redirects', '1', '--tee', '1', '--log_dir', o.logDir];
}

/** The interpreter's argv for these options (without the interpreter itself). */
export function trainerCommand(o: Pick<TrainerLaunchOptions, 'args' | 'nprocPerNode' | 'module' | 'runDir' | 'rendezvous'>): string[] {
  const mod = o.module ?? TRAINER_MODULE;
  const n = o.nprocPerNode ?? 1;
  if (n <= 1 && !o.rendezvous) return ['-u', '-m', mod, ...o.args];
  const logs = path.join(o.runDir, 'logs', 'torchrun');
  return ['-u', '-m', 'torch.distributed.run', ...torchrunArgs({ nprocPerNode: n, logDir: logs, rendezvous: o.rendezvous }), '-m', mod, ...o.args];
}

const TAIL_LINES = 40;
/** How long a launcher of a multi-node run waits for the end event after its own ranks exited cleanly. */
const MULTI_NODE_END_WAIT_MS = 30_000;
export const DEFAULT_STOP_GRACE_MS = 30_000;

/**
 * The grace period after SIGTERM: at least `leastMs` (the setting), and room for three of the
 * longest steps measured (the step in flight finishes, then the checkpoint is written), so a slow
 * CPU step is never killed before its checkpoint.
 */
export function stopGraceFor(leastMs: number, longestStepS: number): number {
  return Math.max(leastMs, Math.ceil(3 * longestStepS * 1000));
}
const live = new Set<TrainerProcess>();

export class TrainerProcess {
  readonly pid: number;
  /** Resolves once the trainer and its whole process group are gone and the folder is final. */
  readonly exited: Promise<TrainerExit>;
  private stopRequested = false;
  private killedAfterGrace = false;
  private sawEnd: RunEndStatus | undefined;
  private lastError: ErrorEvent | undefined;
  private readonly stderrTail: string[] = [];
  private killTimer: NodeJS.Timeout | undefined;
  private graceMs = 0;
  /** The last progress event (step, time) and the longest time per step seen between two. */
  private lastProgress: { step: number; time: number } | undefined;
  private longestStepS = 0;
  /** Resolved once run.lock is written: the exit cleanup must not remove it before. */
  private lockWritten!: () => void;
  private readonly lockReady = new Promise<void>((resolve) => (this.lockWritten = resolve));

  private constructor(
    private readonly child: ChildProcess,
    private readonly options: TrainerLaunchOptions,
    private readonly callbacks: TrainerCallbacks,
    private readonly log: WriteStream,
    /** Set when events are followed in events.jsonl rather than read from stdout. */
    private readonly eventFile?: EventTail,
  ) {
    this.pid = child.pid as number;
    this.exited = this.watch();
  }

  /** Starts the trainer; rejects with a clear message when the interpreter cannot be started. */
  static async start(options: TrainerLaunchOptions, callbacks: TrainerCallbacks = {}): Promise<TrainerProcess> {
    await mkdir(options.runDir, { recursive: true });
    const existing = await readLock(options.runDir);
    if (existing.state === 'alive' && (options.rendezvous?.nodeRank ?? 0) === 0) throw new Error(`${options.runDir}: a trainer (pid ${existing.lock.pid}) is already running for this run; stop it first`);
    const log = createWriteStream(path.join(options.runDir, LOG_FILE), { flags: 'a' });
    const argv = trainerCommand(options);
    let eventFile: EventTail | undefined;
    if ((options.nprocPerNode ?? 1) > 1 || options.rendezvous) {
      eventFile = new EventTail(path.join(options.runDir, EVENTS_FILE));
      await eventFile.skipExisting();
    }
    let child: ChildProcess;
    try {
      child = await spawnTrainer({ python: options.python, trainerPath: options.trainerPath, argv, cwd: options.runDir, env: options.env, detached: true });
    } catch (err) {
      log.end();
      throw err;
    }
    log.write(`[launcher ${new Date().toISOString()}] ${options.python} ${argv.join(' ')}\n`);
    const tp = new TrainerProcess(child, options, callbacks, log, eventFile);
    live.add(tp);
    const lock: RunLock = {
      pid: tp.pid,
      pgid: tp.pid,
      host: os.hostname(),
      startedAt: Date.now() / 1000,
      procStart: processStartTicks(tp.pid),
      command: [options.python, ...argv],
    };
    try {
      // on a cluster the run folder is shared: only the first node's launcher names its trainer there
      if ((options.rendezvous?.nodeRank ?? 0) === 0) await writeLock(options.runDir, lock);
    } finally {
      tp.lockWritten();
    }
    return tp;
  }

  /** Every trainer this process started that is still alive (for stopAll on shutdown). */
  static running(): TrainerProcess[] {
    return [...live];
  }

  /** Stops every trainer this process started and waits (SIGKILL after the grace period). */
  static async stopAll(graceMs?: number): Promise<void> {
    await Promise.all([...live].map((t) => t.stop(graceMs)));
  }

  /**
   * For a host that is shutting down and cannot wait (VS Code's deactivate): SIGTERM every trainer
   * and return. Each checkpoints, writes its `end: stopped` event and exits on its own; the lock
   * left behind names a dead pid and the end event says stopped.
   */
  static requestStopAll(): void {
    for (const t of live) t.requestStop();
  }

  /** SIGTERM without waiting or escalating. */
  requestStop(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.stopRequested = true;
      signal(this.pid, 'SIGTERM');
    }
  }

  get runDir(): string {
    return this.options.runDir;
  }

  /** The grace period stop() gives now: the configured least, longer when steps are slow. */
  get stopGraceMs(): number {
    return stopGraceFor(this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS, this.longestStepS);
  }

  /** Graceful stop: SIGTERM (the trainer checkpoints), SIGKILL to the group after the grace period. */
  stop(graceMs = this.stopGraceMs): Promise<TrainerExit> {
    if (this.killTimer === undefined && this.child.exitCode === null && this.child.signalCode === null) {
      if (!this.stopRequested) signal(this.pid, 'SIGTERM');
      this.stopRequested = true;
      this.graceMs = graceMs;
      this.killTimer = setTimeout(() => {
        this.killedAfterGrace = true;
        signal(-this.pid, 'SIGKILL');
      }, graceMs);
    }
    return this.exited;
  }

  /** Immediate SIGKILL of the whole group (no checkpoint). */
  kill(): Promise<TrainerExit> {
    signal(-this.pid, 'SIGKILL');
    return this.exited;
  }

  private async watch(): Promise<TrainerExit> {
    const { child, callbacks, log, eventFile } = this;
    let rest = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      if (eventFile) log.write(chunk);
      const { lines, rest: r } = splitLines(rest + chunk);
      rest = r;
      for (const line of lines) this.handleStdoutLine(line);
    });
    let polling = Promise.resolve();
    const poll = () => {
      polling = polling.then(async () => {
        for (const e of (await eventFile!.read()).events) this.handleEvent(e);
      });
      return polling;
    };
    const pollTimer = eventFile ? setInterval(() => void poll(), 250) : undefined;
    let errRest = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      log.write(chunk);
      callbacks.onStderr?.(chunk);
      const { lines, rest: r } = splitLines(errRest + chunk);
      errRest = r;
      this.stderrTail.push(...lines);
      if (this.stderrTail.length > TAIL_LINES) this.stderrTail.splice(0, this.stderrTail.length - TAIL_LINES);
    });

    const [code, sig] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
    // workers of a dead trainer (data loaders, torchrun ranks) must not outlive it
    await reapGroup(this.pid);
    await new Promise<void>((resolve) => {
      if (child.stdout!.readableEnded && child.stderr!.readableEnded) return resolve();
      child.once('close', () => resolve());
      setTimeout(resolve, 2000).unref();
    });
    if (rest.trim()) this.handleStdoutLine(rest);
    if (errRest) this.stderrTail.push(errRest);
    clearTimeout(this.killTimer);
    if (pollTimer) {
      clearInterval(pollTimer);
      await poll();
    }
    // several machines: global rank 0 (on any of them) writes the end event, maybe after our ranks left
    if (this.options.rendezvous && !this.sawEnd && code === 0) {
      for (let i = 0; i < MULTI_NODE_END_WAIT_MS / 250 && !this.sawEnd; i++) {
        await sleep(250);
        await poll();
      }
    }

    const firstNode = (this.options.rendezvous?.nodeRank ?? 0) === 0;
    const exit = this.conclude(code, sig);
    try {
      await this.lockReady;
      // the run folder is shared: the other nodes' launchers leave its events to the first node's
      if (!this.sawEnd && firstNode) await this.appendFinalEvents(exit);
      if (firstNode) await removeLock(this.options.runDir);
    } catch (err) {
      // the run folder was deleted or made read-only under us: the exit is still reported
      exit.reason = `${exit.reason ?? exit.status}; could not update ${this.options.runDir}: ${(err as Error).message}`;
    }
    log.write(`[launcher ${new Date().toISOString()}] exit code=${code} signal=${sig} -> ${exit.status}${exit.reason ? `: ${exit.reason}` : ''}\n`);
    await new Promise<void>((resolve) => log.end(resolve));
    live.delete(this);
    return exit;
  }

  private handleStdoutLine(line: string): void {
    if (!line.trim()) return;
    const parsed = parseEventLine(line);
    if (!parsed.ok || this.eventFile) {
      this.callbacks.onOtherOutput?.(line, parsed.ok ? 'torchrun output (events are read from events.jsonl)' : parsed.reason);
      return;
    }
    this.handleEvent(parsed.event);
  }

  private handleEvent(e: RunEvent): void {
    if (e.type === 'progress') this.measureStep(e as RunEvent & { step?: unknown; time?: unknown });
    if (e.type === 'error') this.lastError = e as ErrorEvent;
    if (e.type === 'end') this.sawEnd = (e as { status: RunEndStatus }).status;
    if (e.type === 'start') {
      this.sawEnd = undefined;
      this.lastError = undefined;
      this.lastProgress = undefined;
      // before any step is measured, the preflight's estimate (a first rn50 step on a CPU takes minutes)
      const estimated = (e as { preflight?: { time?: { step_s?: unknown } } }).preflight?.time?.step_s;
      if (typeof estimated === 'number' && Number.isFinite(estimated)) this.longestStepS = Math.max(this.longestStepS, estimated);
    }
    this.callbacks.onEvent?.(e);
  }

  private measureStep(e: { step?: unknown; time?: unknown }): void {
    if (typeof e.step !== 'number' || typeof e.time !== 'number') return;
    const last = this.lastProgress;
    if (last && e.step > last.step && e.time >= last.time) this.longestStepS = Math.max(this.longestStepS, (e.time - last.time) / (e.step - last.step));
    this.lastProgress = { step: e.step, time: e.time };
  }

  private conclude(code: number | null, sig: NodeJS.Signals | null): TrainerExit {
    const stderrTail = this.stderrTail.slice(-TAIL_LINES);
    const how = sig ? `was killed by ${sig}` : `exited with code ${code}`;
    if (this.sawEnd) {
      const exit: TrainerExit = { status: this.sawEnd, code, signal: sig, stderrTail };
      if (this.sawEnd === 'failed') exit.reason = this.lastError?.message ?? `the trainer reported failure and ${how}`;
      return exit;
    }
    if (this.killedAfterGrace) {
      const grace = this.graceMs / 1000;
      return { status: 'failed', code, signal: sig, stderrTail, reason: `the trainer did not stop within ${grace} s of SIGTERM and was killed; the last checkpoint is kept` };
    }
    // 130: the trainer's exit code after a checkpoint on SIGTERM
    if (this.stopRequested && (sig === 'SIGTERM' || code === 0 || code === 130)) return { status: 'stopped', code, signal: sig, stderrTail };
    if (this.lastError) return { status: 'failed', code, signal: sig, stderrTail, reason: this.lastError.message };
    const tail = stderrTail.filter((l) => l.trim()).slice(-5).join('\n');
    const what = code === 0 && !sig ? 'exited without reporting an end event' : how;
    return { status: 'failed', code, signal: sig, stderrTail, reason: `the trainer ${what}${tail ? `; its last output:\n${tail}` : ' (no output on stderr)'}` };
  }

  private async appendFinalEvents(exit: TrainerExit): Promise<void> {
    const time = Date.now() / 1000;
    const lines: object[] = [];
    if (exit.status === 'failed' && !this.lastError) {
      lines.push({ type: 'error', time, kind: 'internal', message: exit.reason, detail: exit.stderrTail.join('\n'), source: 'launcher' });
    } else if (exit.status === 'failed' && this.killedAfterGrace) {
      lines.push({ type: 'error', time, kind: 'interrupted', message: exit.reason, source: 'launcher' });
    }
    lines.push({ type: 'end', time, status: exit.status, source: 'launcher' });
    await appendFile(path.join(this.options.runDir, EVENTS_FILE), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
    for (const l of lines) this.callbacks.onEvent?.(l as RunEvent);
  }
}

/** Signals a pid, or a process group when negative. Windows has no groups or SIGTERM: the tree is ended by taskkill (untested here). */
function signal(pid: number, sig: NodeJS.Signals): void {
  if (process.platform === 'win32') {
    spawnSync('taskkill', ['/pid', String(Math.abs(pid)), '/T', ...(sig === 'SIGKILL' || pid < 0 ? ['/F'] : [])], { stdio: 'ignore' });
    return;
  }
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The longest time per step between two progress events of the last session (seconds). */
function longestStep(events: RunEvent[]): number {
  let longest = 0;
  let last: { step: number; time: number } | undefined;
  for (const e of events as Array<RunEvent & { step?: unknown; time?: unknown }>) {
    if (e.type === 'start') {
      last = undefined;
      const estimated = (e as { preflight?: { time?: { step_s?: unknown } } }).preflight?.time?.step_s;
      if (typeof estimated === 'number' && Number.isFinite(estimated)) longest = Math.max(longest, estimated);
    }
    if (e.type !== 'progress' || typeof e.step !== 'number' || typeof e.time !== 'number') continue;
    if (last && e.step > last.step && e.time >= last.time) longest = Math.max(longest, (e.time - last.time) / (e.step - last.step));
    last = { step: e.step, time: e.time };
  }
  return longest;
}

/** SIGTERM what is left of the group, SIGKILL after 1 s. */
async function reapGroup(pgid: number): Promise<void> {
  if (!groupAlive(pgid)) return;
  signal(-pgid, 'SIGTERM');
  for (let i = 0; i < 10 && groupAlive(pgid); i++) await sleep(100);
  if (groupAlive(pgid)) signal(-pgid, 'SIGKILL');
  for (let i = 0; i < 20 && groupAlive(pgid); i++) await sleep(100);
}

/**
 * Stops a run this process did not start (a window reopened while it trains): SIGTERM to the pid
 * in run.lock, SIGKILL to its group after the grace period. The trainer writes its own `end`
 * event; when it could not, one is appended here. Returns the final status. Refuses (PsclError)
 * to signal anything the lock names that is not verifiably this run's trainer.
 */
export async function stopRunFromLock(runDir: string, leastGraceMs = DEFAULT_STOP_GRACE_MS): Promise<RunEndStatus | 'not-running'> {
  const state = await readLock(runDir);
  if (state.state !== 'alive') return 'not-running';
  const problem = trainerLockProblem(state.lock);
  if (problem) {
    throw new PsclError(
      `not stopping anything: ${lockPath(runDir)} does not name this run's trainer (${problem}). ` +
        'If the run is not training, delete run.lock; if it is, stop its process yourself.',
    );
  }
  const { pid, pgid } = state.lock;
  const graceMs = stopGraceFor(leastGraceMs, longestStep((await new EventTail(path.join(runDir, EVENTS_FILE)).readAll()).events));
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pidAlive(pid) && Date.now() < deadline) await sleep(200);
  const killed = pidAlive(pid);
  if (killed) signal(-pgid, 'SIGKILL');
  await reapGroup(pgid);
  const { events } = await new EventTail(path.join(runDir, EVENTS_FILE)).readAll();
  const lastStart = events.map((e) => e.type).lastIndexOf('start');
  const end = events.slice(lastStart + 1).find((e) => e.type === 'end') as { status: RunEndStatus } | undefined;
  const status: RunEndStatus = end?.status ?? (killed ? 'failed' : 'stopped');
  if (!end) {
    const time = Date.now() / 1000;
    const lines: object[] = [];
    if (killed) lines.push({ type: 'error', time, kind: 'interrupted', message: `the trainer did not stop within ${graceMs / 1000} s of SIGTERM and was killed`, source: 'launcher' });
    lines.push({ type: 'end', time, status, source: 'launcher' });
    await appendFile(path.join(runDir, EVENTS_FILE), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }
  await removeLock(runDir);
  return status;
}
