// run.lock: written by whoever starts the trainer (the launcher), removed when the trainer exits.
// It names the process group, so a window opened later can tell whether the run is still alive
// and stop it. A lock whose process is gone means the trainer (or its launcher) was killed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomicWrite';
import { pidAlive, processStartTicks } from '../util/processes';

export { pidAlive, processStartTicks };

export const LOCK_FILE = 'run.lock';

export interface RunLock {
  /** The trainer's pid; it leads its own process group (pgid = pid). */
  pid: number;
  pgid: number;
  host: string;
  /** Unix seconds. */
  startedAt: number;
  /** Process start time in clock ticks since boot (Linux /proc/<pid>/stat field 22): guards against pid reuse. */
  procStart?: number;
  command: string[];
}

export function lockPath(runDir: string): string {
  return path.join(runDir, LOCK_FILE);
}

/** A process as the system reports it: its group and command line (undefined when gone or unknown). */
function processInfo(pid: number): { pgid: number; argv: string[]; startTicks?: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (argv.at(-1) === '') argv.pop();
    return { pgid: Number(fields[2]), argv, startTicks: processStartTicks(pid) };
  } catch {
    if (process.platform === 'linux') return undefined;
  }
  // no /proc (macOS, BSD): ps gives the group and the command line (arguments joined by spaces)
  const r = spawnSync('ps', ['-o', 'pgid=', '-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  const m = /^\s*(\d+)\s+(.*)$/.exec(r.stdout ?? '');
  return m ? { pgid: Number(m[1]), argv: m[2].trim().split(/\s+/) } : undefined;
}

/** The module a trainer command line runs (`-m NAME`, through torchrun's own `-m` too). */
function trainerModule(argv: readonly string[]): string | undefined {
  let module: string | undefined;
  argv.forEach((a, i) => {
    if (a === '-m' && argv[i + 1]) module = argv[i + 1];
  });
  return module;
}

/**
 * Why the process a lock names is not verifiably this run's trainer (undefined when it is).
 * Stop signals a whole process group, so a crafted or stale lock must never pass: the pid leads
 * its own group (pgid = pid, never 1), it lives on this host, it started when the lock says, and
 * its command line is the one the launcher wrote, running the trainer module.
 */
export function trainerLockProblem(lock: RunLock): string | undefined {
  const { pid, pgid } = lock;
  if (!Number.isInteger(pid) || pid <= 1) return `its pid ${JSON.stringify(pid)} cannot be a trainer's`;
  if (pgid !== pid) return `it names process group ${JSON.stringify(pgid)}, but a trainer leads its own group (pgid = pid ${pid})`;
  if (lock.host !== os.hostname()) return `it was written on host ${JSON.stringify(lock.host)}, not on this one (${os.hostname()})`;
  if (!Array.isArray(lock.command) || !lock.command.every((a) => typeof a === 'string')) return 'it has no command line to compare';
  if (!/pscl_trainer$/.test(trainerModule(lock.command) ?? '')) return `its command line does not run the trainer (python -m pscl_trainer): ${lock.command.join(' ')}`;
  const info = processInfo(pid);
  if (!info) return `process ${pid} cannot be inspected`;
  if (info.pgid !== pid) return `process ${pid} is in process group ${info.pgid}, not its own: it is not the trainer that was started`;
  if (process.platform === 'linux' || lock.procStart !== undefined) {
    if (lock.procStart === undefined || info.startTicks !== lock.procStart) return `process ${pid} started at another time than the lock says: the pid now belongs to another process`;
  }
  const same = info.argv.length === lock.command.length && info.argv.every((a, i) => (i === 0 ? path.basename(a) === path.basename(lock.command[0]) : a === lock.command[i]));
  const loose = info.argv.join(' ').endsWith(lock.command.slice(1).join(' ')); // ps joins arguments with spaces
  if (!(same || (process.platform !== 'linux' && loose))) return `process ${pid} runs "${info.argv.join(' ').slice(0, 200)}", not the trainer the lock names`;
  return undefined;
}

/** Whether any process of the group is alive. */
export function groupAlive(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 0) return false;
  if (process.platform === 'win32') return pidAlive(pgid); // no process groups there
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function writeLock(runDir: string, lock: RunLock): Promise<void> {
  await writeFileAtomic(lockPath(runDir), `${JSON.stringify(lock, null, 2)}\n`);
}

export async function removeLock(runDir: string): Promise<void> {
  await rm(lockPath(runDir), { force: true });
}

export type LockState =
  | { state: 'none' }
  | { state: 'alive'; lock: RunLock }
  | { state: 'dead'; lock: RunLock }
  /** Held by another machine (shared folder): liveness unknown here. */
  | { state: 'foreign'; lock: RunLock }
  | { state: 'invalid'; reason: string };

export async function readLock(runDir: string): Promise<LockState> {
  let text: string;
  try {
    text = await readFile(lockPath(runDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { state: 'none' };
    throw err;
  }
  let lock: RunLock;
  try {
    lock = JSON.parse(text) as RunLock;
  } catch {
    return { state: 'invalid', reason: `${lockPath(runDir)} is not JSON` };
  }
  if (typeof lock !== 'object' || lock === null || !Number.isInteger(lock.pid) || lock.pid <= 0) {
    return { state: 'invalid', reason: `${lockPath(runDir)} has no valid "pid"` };
  }
  if (lock.host && lock.host !== os.hostname()) return { state: 'foreign', lock };
  if (!pidAlive(lock.pid)) return { state: 'dead', lock };
  if (lock.procStart !== undefined) {
    const now = processStartTicks(lock.pid);
    if (now !== undefined && now !== lock.procStart) return { state: 'dead', lock };
  }
  return { state: 'alive', lock };
}
