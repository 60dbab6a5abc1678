// Defect 10: SIGTERM to `pscl train` (not Ctrl-C) killed node at once; the trainer was orphaned
// and died later on a broken pipe with no checkpoint, no `end` event and a stale run.lock. Now
// SIGTERM and SIGHUP stop like Ctrl-C (the trainer checkpoints and ends "stopped"), the trainer
// stops the same way on its own when its launcher dies (its stdout closes), and `pscl runs stop`
// stops a run from another terminal. Real trainer, tiny config, on CPU.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readRun } from '../../src/core/runs/folder';
import { groupAlive, processStartTicks, type RunLock } from '../../src/core/runs/lock';
import { buildDist } from '../helpers/build';
import { repoRoot, tempDir } from '../helpers/paths';
import { pscl } from './helpers';

const PYTHON = process.env.PSCL_PYTHON || '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, numpy, PIL'], { stdio: 'ignore' }).status === 0;
const skip = hasTorch ? false : `${PYTHON} has no torch`;
const tmp = tempDir('pscl-rel-signals-');
after(tmp.cleanup);
let cache = '';
before(() => {
  if (!hasTorch) return;
  buildDist();
  cache = execFileSync(PYTHON, [path.join(repoRoot, 'trainer/tests/fixtures.py'), path.join(tmp.dir, 'data')], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the run's trainer has written a progress event, and returns its run.lock. */
async function trainingLock(runDir: string, limitMs = 90_000): Promise<RunLock> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const events = path.join(runDir, 'events.jsonl');
    const lockFile = path.join(runDir, 'run.lock');
    if (existsSync(lockFile) && existsSync(events) && /"type":"progress"/.test(readFileSync(events, 'utf8'))) return JSON.parse(readFileSync(lockFile, 'utf8')) as RunLock;
    if (Date.now() > deadline) throw new Error(`no progress in ${runDir} within ${limitMs / 1000} s`);
    await sleep(100);
  }
}

/** Seconds until the trainer's whole process group is gone (Infinity after `limitS`). */
async function goneWithin(pgid: number, limitS: number): Promise<number> {
  const t0 = Date.now();
  while (groupAlive(pgid)) {
    if (Date.now() - t0 > limitS * 1000) return Infinity;
    await sleep(100);
  }
  return (Date.now() - t0) / 1000;
}

/** Pids of live processes whose command line names `text` (Linux /proc). */
function processesNaming(text: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text) && !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) out.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return out;
}

const trainArgs = (runDir: string) => ['train', '--cache', cache, '--run-dir', runDir, '--config', 'tiny', '--set', 'epochs=200', '--set', 'log_every=1', '--device', 'cpu', '--python', PYTHON];

describe('reliability: signals and orphans (defect 10)', { skip }, () => {
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) {
    it(`kill -${sig.slice(3)} of \`node bin/pscl.js train\`: no trainer process after 10 s, the run ends stopped with a checkpoint`, { timeout: 150_000 }, async () => {
      const runDir = path.join(tmp.dir, `runs-${sig}`);
      let pid = 0;
      const run = pscl(trainArgs(runDir), { limitMs: 120_000, onStart: (p) => (pid = p), env: { OMP_NUM_THREADS: '1' } });
      const lock = await trainingLock(runDir);
      process.kill(pid, sig);
      const gone = await goneWithin(lock.pgid, 10);
      const r = await run;
      assert.ok(gone <= 10, `the trainer (group ${lock.pgid}) still ran 10 s after ${sig} to pscl; pscl: ${r.code ?? r.signal} ${r.err.slice(-500)}`);
      assert.equal(r.code, 130, `pscl exits 130 (stopped): ${r.err.slice(-500)}`);
      assert.match(r.err, new RegExp(`${sig}: stopping; the trainer saves a checkpoint`));
      const folder = await readRun(runDir);
      assert.equal(folder.status.status, 'stopped', folder.status.reason);
      assert.equal(folder.hasCheckpoint, true, 'a checkpoint was written');
      assert.ok(!existsSync(path.join(runDir, 'run.lock')), 'run.lock is removed');
    });
  }

  it('SIGKILL of `node bin/pscl.js train`: the orphaned trainer sees its stdout close, checkpoints, ends stopped and removes run.lock', { timeout: 150_000 }, async () => {
    const runDir = path.join(tmp.dir, 'runs-SIGKILL');
    let pid = 0;
    const run = pscl(trainArgs(runDir), { limitMs: 120_000, onStart: (p) => (pid = p), env: { OMP_NUM_THREADS: '1' } });
    const lock = await trainingLock(runDir);
    process.kill(pid, 'SIGKILL');
    await run;
    const gone = await goneWithin(lock.pgid, 10);
    assert.ok(gone <= 10, `the orphaned trainer (group ${lock.pgid}) still ran 10 s after its launcher was killed`);
    const folder = await readRun(runDir);
    assert.equal(folder.status.status, 'stopped', folder.status.reason);
    assert.equal(folder.hasCheckpoint, true);
    assert.ok(!existsSync(path.join(runDir, 'run.lock')), 'the trainer removed the run.lock naming it');
    assert.match(readFileSync(path.join(runDir, 'train.log'), 'utf8'), /the launcher is gone/);
  });

  it('SIGTERM to `npx pscl train` leaves neither the node CLI nor the trainer running; the run ends stopped', { skip: process.platform !== 'linux' && 'reads /proc', timeout: 150_000 }, async () => {
    const runDir = path.join(tmp.dir, 'runs-npx');
    const npx = spawn('npx', ['--no-install', 'pscl', ...trainArgs(runDir)], { cwd: repoRoot, env: { ...process.env, OMP_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    npx.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    npx.stdout.resume();
    const lock = await trainingLock(runDir);
    npx.kill('SIGTERM');
    const t0 = Date.now();
    while (processesNaming(runDir).length > 0 && Date.now() - t0 < 10_000) await sleep(200);
    const left = processesNaming(runDir);
    for (const pid of left) process.kill(pid, 'SIGKILL');
    assert.deepEqual(left, [], `still running 10 s after SIGTERM to npx: ${left.map((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 120)).join('; ')}`);
    assert.equal(groupAlive(lock.pgid), false);
    const folder = await readRun(runDir);
    assert.equal(folder.status.status, 'stopped', `${folder.status.reason}\n${err.slice(-400)}`);
    assert.equal(folder.hasCheckpoint, true);
  });

  it('`pscl runs stop RUN` from another terminal: the trainer checkpoints and ends stopped; a crafted lock is refused', { timeout: 150_000 }, async () => {
    const runDir = path.join(tmp.dir, 'runs-stop');
    const training = pscl(trainArgs(runDir), { limitMs: 120_000, env: { OMP_NUM_THREADS: '1' } });
    const lock = await trainingLock(runDir);
    const stop = await pscl(['runs', 'stop', runDir], { limitMs: 60_000 });
    assert.equal(stop.code, 0, stop.err + stop.out);
    assert.match(stop.out, /runs-stop: stopped at step \d+, checkpoint kept/);
    const r = await training;
    assert.equal(r.code, 130, r.err.slice(-400));
    assert.equal(groupAlive(lock.pgid), false);
    assert.equal((await readRun(runDir)).status.status, 'stopped');
    const again = await pscl(['runs', 'stop', runDir]);
    assert.equal(again.code, 0);
    assert.match(again.out, /runs-stop: not running/);
    // a lock naming a live process that is not the trainer (this test) is refused, nothing signalled
    writeFileSync(path.join(runDir, 'run.lock'), JSON.stringify({ ...lock, pid: process.pid, pgid: process.pid, procStart: processStartTicks(process.pid) }));
    const refused = await pscl(['runs', 'stop', runDir]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /not stopping anything: .*run\.lock does not name this run's trainer/);
  });
});
