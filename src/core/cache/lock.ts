// The build lock of a cache folder (docs/cache-format.md, "Locking"): one writer at a time, and
// readers (the trainer, `cache verify`) that do not read a cache while it is being written.
//
// Protocol, the same in every process that honours it (this file; trainer/pscl_trainer/cachelock.py):
//   DIR/.build.lock   JSON { format: 'pscl-cache-lock', pid, host, startedAt, procStart?, command, token }
//   - Taken by writing a complete temp file and hard-linking it to .build.lock: link() fails when
//     the name exists, so exactly one writer wins and the file is never seen half written.
//   - Held while the holder lives: same host, pid alive, and (Linux) the same process start time.
//     A lock of another host (shared storage, several nodes) cannot be checked that way: its holder
//     touches the file every LOCK_HEARTBEAT_MS, and it is held while its mtime is younger than
//     OTHER_HOST_STALE_MS.
//     Otherwise it is stale (dead pid, pid reused, another host's without heartbeat, unreadable) and may be taken over:
//     the taker first links DIR/.build.lock.takeover (one taker at a time; one older than
//     TAKEOVER_STALE_MS is left over from a taker that died and is removed), checks that
//     .build.lock is still the stale one it judged (same token), removes it and links its own.
//   - Released by its holder only (same token), by removing .build.lock.
//   - Sharded builds (build.ts) hold DIR/.build.lock.shard-K-of-N each, so shards run side by side;
//     a whole build or a merge holds .build.lock and waits until no shard lock is held, a shard
//     waits while .build.lock is held (each takes its own lock first, then looks at the other's).
//   - Readers only look: while a live writer holds the lock they wait (or refuse); a stale lock
//     does not stop them, as nothing is being written.
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive, processStartTicks } from '../util/processes';
import { CacheError } from './manifest';

export const BUILD_LOCK_FILE = '.build.lock';
export const TAKEOVER_FILE = '.build.lock.takeover';
/** A takeover marker older than this belongs to a taker that died mid-takeover. */
export const TAKEOVER_STALE_MS = 10_000;
const POLL_MS = 250;
/** How often a holder refreshes its lock file's mtime (for processes on other hosts). */
export const LOCK_HEARTBEAT_MS = 30_000;
/**
 * A lock taken on another host is held while its mtime is younger than this: ten missed
 * heartbeats, room for clock skew between the hosts and the file server. A build killed on another
 * node so blocks the folder for at most this long.
 */
export const OTHER_HOST_STALE_MS = 5 * 60_000;
/** The lock file of shard K of N (1-based). */
export function shardLockFile(shard: number, of: number): string {
  return `${BUILD_LOCK_FILE}.shard-${shard}-of-${of}`;
}
const SHARD_LOCK_RE = /^\.build\.lock\.shard-\d+-of-\d+$/;

export interface CacheLockRecord {
  format: 'pscl-cache-lock';
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  startedAt: string;
  /** Linux: the process start time in clock ticks since boot (guards against pid reuse). */
  procStart?: number;
  /** What holds it, for the message (e.g. 'pscl cache build', 'backend cache/build'). */
  command: string;
  /** Unique per acquisition: only the holder removes it, only the judged lock is taken over. */
  token: string;
}

export type CacheLockState =
  | { state: 'none' }
  | { state: 'held'; lock: CacheLockRecord }
  | { state: 'stale'; lock?: CacheLockRecord; why: string };

/** Thrown when the cache is being built by another process and waiting was not asked for. */
export class CacheLockedError extends CacheError {
  constructor(
    readonly dir: string,
    readonly holder: CacheLockRecord,
  ) {
    super(`${describeHolder(dir, holder)}; wait for it to finish (or stop it), then build again`);
    this.name = 'CacheLockedError';
  }
}

/** "cache DIR is being built by pid N (started T)", the same words in every message. */
export function describeHolder(dir: string, lock: CacheLockRecord): string {
  const where = lock.host === os.hostname() ? '' : ` on ${lock.host}`;
  return `cache ${dir} is being built by pid ${lock.pid}${where} (started ${lock.startedAt}${lock.command ? `, ${lock.command}` : ''})`;
}

function parseLock(text: string): CacheLockRecord | undefined {
  try {
    const v = JSON.parse(text) as CacheLockRecord;
    if (v && v.format === 'pscl-cache-lock' && Number.isInteger(v.pid) && v.pid > 0 && typeof v.host === 'string' && typeof v.token === 'string') return v;
  } catch {
    /* unreadable: stale */
  }
  return undefined;
}

/** The state of DIR's build lock (or of another lock file in DIR, e.g. a shard's) as any process sees it. */
export async function readCacheLock(dir: string, file = BUILD_LOCK_FILE): Promise<CacheLockState> {
  let text: string;
  let mtimeMs: number;
  try {
    text = await fs.readFile(path.join(dir, file), 'utf8');
    mtimeMs = (await fs.stat(path.join(dir, file))).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' };
    throw new CacheError(`cannot read ${path.join(dir, file)}: ${(err as Error).message}`);
  }
  const lock = parseLock(text);
  if (!lock) return { state: 'stale', why: 'the lock file is unreadable' };
  return holderState(lock, mtimeMs);
}

/** The shard locks in DIR that live shard builds hold. */
export async function heldShardLocks(dir: string): Promise<{ file: string; lock: CacheLockRecord }[]> {
  const out: { file: string; lock: CacheLockRecord }[] = [];
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!SHARD_LOCK_RE.test(name)) continue;
    const state = await readCacheLock(dir, name);
    if (state.state === 'held') out.push({ file: name, lock: state.lock });
  }
  return out;
}

function holderState(lock: CacheLockRecord, mtimeMs: number): CacheLockState {
  if (lock.host !== os.hostname()) {
    const age = Date.now() - mtimeMs;
    if (age < OTHER_HOST_STALE_MS) return { state: 'held', lock };
    return { state: 'stale', lock, why: `it was taken on another host (${lock.host}) and has had no heartbeat for ${Math.round(age / 1000)} s (more than ${OTHER_HOST_STALE_MS / 1000} s)` };
  }
  if (!pidAlive(lock.pid)) return { state: 'stale', lock, why: `pid ${lock.pid} is no longer running` };
  if (lock.procStart !== undefined) {
    const now = processStartTicks(lock.pid);
    if (now !== undefined && now !== lock.procStart) return { state: 'stale', lock, why: `pid ${lock.pid} now belongs to another process` };
  }
  return { state: 'held', lock };
}

export interface AcquireOptions {
  /** The lock file in DIR (default .build.lock; shards use shardLockFile). */
  file?: string;
  /** Shown to whoever finds the lock held (default 'pscl'). */
  command?: string;
  /** Wait for a live holder (default) rather than refuse with CacheLockedError. */
  wait?: boolean;
  signal?: AbortSignal;
  /** Called once when the lock is found held and we wait, with the one-line reason. */
  onWait?: (message: string, holder: CacheLockRecord) => void;
  /** Called when a stale lock was taken over, with the one-line reason. */
  onTakeover?: (message: string) => void;
}

/** Names of the records that builds link into place as the lock (removed by their own builds only). */
export const LOCK_TEMP_PREFIX = '.build.lock.';

/** A held build lock; release it when the build ends, however it ends. */
export class CacheBuildLock {
  private released = false;
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(
    readonly dir: string,
    readonly record: CacheLockRecord,
    readonly file: string = BUILD_LOCK_FILE,
  ) {
    // the mtime says to other hosts that the holder lives (it cannot be checked from there)
    const lockFile = path.join(dir, file);
    this.heartbeat = setInterval(() => {
      const now = new Date();
      fs.utimes(lockFile, now, now).catch(() => {});
    }, LOCK_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Takes DIR's build lock (DIR must exist): waits for a live holder, takes over a stale one. */
  static async acquire(dir: string, options: AcquireOptions = {}): Promise<CacheBuildLock> {
    const record: CacheLockRecord = {
      format: 'pscl-cache-lock',
      pid: process.pid,
      host: os.hostname(),
      startedAt: new Date().toISOString(),
      procStart: processStartTicks(process.pid),
      command: options.command ?? 'pscl',
      token: randomBytes(8).toString('hex'),
    };
    const file = options.file ?? BUILD_LOCK_FILE;
    const lockFile = path.join(dir, file);
    const tmp = path.join(dir, `${LOCK_TEMP_PREFIX}${record.token}.tmp`);
    const writeTmp = () =>
      fs.writeFile(tmp, JSON.stringify(record) + '\n').catch((err: Error) => {
        throw new CacheError(`cannot write in the cache folder ${dir}: ${err.message}; choose another --out`);
      });
    await writeTmp();
    let waited = false;
    try {
      for (;;) {
        if (options.signal?.aborted) throw abortError();
        if (!existsSync(tmp)) await writeTmp(); // removed while we waited (an older build's clean-up)
        // the lock's mtime is its first heartbeat: now, not when this taker began to wait
        const now = new Date();
        await fs.utimes(tmp, now, now);
        if (await linkExclusive(tmp, lockFile)) return new CacheBuildLock(dir, record, file);
        const state = await readCacheLock(dir, file);
        if (state.state === 'held') {
          if (options.wait === false) throw new CacheLockedError(dir, state.lock);
          if (!waited) options.onWait?.(`${describeHolder(dir, state.lock)}; waiting for it to finish`, state.lock);
          waited = true;
          await sleep(POLL_MS, options.signal);
        } else if (state.state === 'stale') {
          if (await takeOver(dir, file, tmp, state)) {
            const who = state.lock ? `pid ${state.lock.pid} on ${state.lock.host} (started ${state.lock.startedAt})` : 'an unknown process';
            options.onTakeover?.(`took over the build lock${file === BUILD_LOCK_FILE ? '' : ` ${file}`} of ${dir} from ${who}: ${state.why}`);
            return new CacheBuildLock(dir, record, file);
          }
          await sleep(POLL_MS / 5, options.signal);
        }
        // 'none': removed between our link and our read; try again at once
      }
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  /** Removes the lock when it is still ours (a takeover by another process leaves theirs alone). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    clearInterval(this.heartbeat);
    const state = await readCacheLock(this.dir, this.file).catch(() => undefined);
    if (state && state.state !== 'none' && state.lock?.token === this.record.token) await fs.rm(path.join(this.dir, this.file), { force: true });
  }
}

/** Hard-links `from` to `to`; false when `to` exists. */
async function linkExclusive(from: string, to: string): Promise<boolean> {
  try {
    await fs.link(from, to);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new CacheError(`cannot take the build lock ${to}: ${(err as Error).message}`);
  }
}

/** One takeover of a stale lock; false when another process got there first (the caller looks again). */
async function takeOver(dir: string, file: string, tmp: string, judged: Extract<CacheLockState, { state: 'stale' }>): Promise<boolean> {
  const marker = path.join(dir, file === BUILD_LOCK_FILE ? TAKEOVER_FILE : `${file}.takeover`);
  const now = new Date();
  await fs.utimes(tmp, now, now); // the marker's age is the age of this takeover, not of our wait
  if (!(await linkExclusive(tmp, marker))) {
    const st = await fs.stat(marker).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > TAKEOVER_STALE_MS) await fs.rm(marker, { force: true });
    return false;
  }
  try {
    const lockFile = path.join(dir, file);
    const text = await fs.readFile(lockFile, 'utf8').catch(() => undefined);
    const stillJudged = text !== undefined && (judged.lock ? parseLock(text)?.token === judged.lock.token : parseLock(text) === undefined);
    if (!stillJudged) return false;
    await fs.rm(lockFile, { force: true });
    return await linkExclusive(tmp, lockFile);
  } finally {
    await fs.rm(marker, { force: true });
  }
}

function abortError(): Error {
  const err = new Error('cancelled while waiting for the cache build lock');
  err.name = 'AbortError';
  return err;
}

/** Waits `ms`; an abort rejects at once with an AbortError. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
