// Defect 3: Stop trusted the pgid in run.lock. A crafted lock made Stop kill an unrelated process
// group, and `pgid: 1` would have become kill(-1). Now Stop signals only a group that is
// verifiably the trainer's (pgid = pid, same start time, same host, the trainer's command line)
// and refuses anything else with a message. The victims here are `sleep` processes of our own;
// pgid 1 is only ever given to the check itself, never to a function that could signal it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { stopRunFromLock } from '../../src/core/runs/launch';
import { pidAlive, processStartTicks, trainerLockProblem, type RunLock } from '../../src/core/runs/lock';
import { tempDir } from '../helpers/paths';

const tmp = tempDir('pscl-rel-lock-');
const victims: ChildProcess[] = [];
after(() => {
  for (const v of victims) if (v.exitCode === null && v.signalCode === null) v.kill('SIGKILL');
  tmp.cleanup();
});

/** A process leading its own group, like a trainer, but not one. */
function victim(): ChildProcess {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  victims.push(child);
  return child;
}

function runWithLock(name: string, lock: RunLock): string {
  const dir = path.join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'run.lock'), JSON.stringify(lock));
  return dir;
}

const TRAINER = ['/usr/bin/python3', '-u', '-m', 'pscl_trainer', 'train', '--run', '/tmp/x'];

function lockFor(pid: number, extra: Partial<RunLock> = {}): RunLock {
  return { pid, pgid: pid, host: os.hostname(), startedAt: Date.now() / 1000, procStart: processStartTicks(pid), command: TRAINER, ...extra };
}

describe('reliability: Stop and a crafted run.lock (defect 3)', () => {
  it('a lock naming another process group: refused with a message, nothing is signalled', async () => {
    const a = victim();
    const b = victim();
    const dir = runWithLock('other-group', lockFor(a.pid!, { pgid: b.pid! }));
    await assert.rejects(stopRunFromLock(dir, 2000), /not stopping anything: .*run\.lock does not name this run's trainer \(it names process group \d+, but a trainer leads its own group/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(pidAlive(a.pid!), true, 'the pid in the lock was not signalled');
    assert.equal(pidAlive(b.pid!), true, 'the group in the lock was not signalled');
  });

  it('a lock naming a live process that is not the trainer (its own group, the right start time): refused', async () => {
    const a = victim();
    const dir = runWithLock('not-trainer', lockFor(a.pid!));
    await assert.rejects(stopRunFromLock(dir, 2000), /process \d+ runs "sleep 300", not the trainer the lock names/);
    // even copying the victim's own command line into the lock does not make it a trainer
    const copied = runWithLock('copied-command', lockFor(a.pid!, { command: ['sleep', '300'] }));
    await assert.rejects(stopRunFromLock(copied, 2000), /does not run the trainer \(python -m pscl_trainer\)/);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(pidAlive(a.pid!), true);
  });

  it('every check on its own: pgid 1, another host, another start time, no command line', () => {
    const a = victim();
    const ok = lockFor(a.pid!);
    assert.match(trainerLockProblem({ ...ok, pgid: 1 }) ?? '', /names process group 1, but a trainer leads its own group/);
    assert.match(trainerLockProblem({ ...ok, pid: 1, pgid: 1 }) ?? '', /pid 1 cannot be a trainer's/);
    assert.match(trainerLockProblem({ ...ok, host: 'elsewhere' }) ?? '', /written on host "elsewhere"/);
    assert.match(trainerLockProblem({ ...ok, procStart: (ok.procStart ?? 0) + 1 }) ?? '', /started at another time than the lock says/);
    assert.match(trainerLockProblem({ ...ok, command: undefined as never }) ?? '', /no command line/);
    assert.match(trainerLockProblem(ok) ?? '', /runs "sleep 300"/, 'all else equal, the command line decides');
  });
});
