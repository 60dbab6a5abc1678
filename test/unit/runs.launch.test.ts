import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stopGraceFor, TrainerProcess, stopRunFromLock, type TrainerLaunchOptions } from '../../src/core/runs/launch';
import { readRun } from '../../src/core/runs/folder';
import { groupAlive, pidAlive, readLock } from '../../src/core/runs/lock';
import { checkPythonEnvironment } from '../../src/core/runs/pythonEnv';
import type { RunEvent } from '../../src/core/runs/events';
import { FAKE_MODULE, writeFakeTrainer } from './fixtures/fakeTrainer';

const PYTHON = process.env.PSCL_PYTHON || '/usr/bin/python3';
const trainerPath = writeFakeTrainer();
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pscl-runs-'));
after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(trainerPath, { recursive: true, force: true });
});

let n = 0;
function options(args: string[], extra: Partial<TrainerLaunchOptions> = {}): TrainerLaunchOptions {
  const runDir = path.join(tmp, `run${++n}`);
  return { python: PYTHON, trainerPath, runDir, module: FAKE_MODULE, args: ['train', '--run-dir', runDir, ...args], ...extra };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(20);
  }
}
const workerPid = (runDir: string): number => Number(/worker pid (\d+)/.exec(readFileSync(path.join(runDir, 'train.log'), 'utf8'))?.[1]);

test('a run to the end: events streamed, log written, lock gone, status finished', async () => {
  const o = options(['--steps', '10', '--sleep', '0.01']);
  const events: RunEvent[] = [];
  const other: string[] = [];
  const t = await TrainerProcess.start(o, { onEvent: (e) => events.push(e), onOtherOutput: (l) => other.push(l) });
  assert.equal((await readLock(o.runDir)).state, 'alive');
  const exit = await t.exited;
  assert.equal(exit.status, 'finished');
  assert.equal(events[0].type, 'start');
  assert.equal(events.filter((e) => e.type === 'progress').length, 10);
  assert.equal(events.at(-1)?.type, 'end');
  assert.deepEqual(other, ['a library line that is not JSON']);
  assert.match(readFileSync(path.join(o.runDir, 'train.log'), 'utf8'), /\[fake\] starting/);
  assert.equal(existsSync(path.join(o.runDir, 'run.lock')), false);
  const run = await readRun(o.runDir);
  assert.equal(run.status.status, 'finished');
  assert.equal(run.progress.bestTop1, 0.6);
  assert.equal(run.progress.step, 10);
});

test('stop: SIGTERM -> the trainer checkpoints and ends stopped; no process of its group survives', async () => {
  const o = options(['--steps', '10000', '--sleep', '0.02', '--worker']);
  const events: RunEvent[] = [];
  const t = await TrainerProcess.start(o, { onEvent: (e) => events.push(e) });
  await until(() => events.some((e) => e.type === 'progress'));
  await until(() => existsSync(path.join(o.runDir, 'train.log')) && workerPid(o.runDir) > 0);
  const worker = workerPid(o.runDir);
  assert.ok(pidAlive(worker));
  const exit = await t.stop(5000);
  assert.equal(exit.status, 'stopped');
  assert.ok(events.some((e) => e.type === 'checkpoint'));
  assert.equal(groupAlive(t.pid), false, 'the process group is gone');
  assert.equal(pidAlive(worker), false, 'the worker child (ignores SIGTERM) was killed too');
  const run = await readRun(o.runDir);
  assert.equal(run.status.status, 'stopped');
  assert.equal(run.lock.state, 'none');
});

test('a trainer that ignores SIGTERM is killed after the grace period and the run is failed with that reason', async () => {
  const o = options(['--steps', '10000', '--sleep', '0.02', '--ignore-term'], { stopGraceMs: 300 });
  const events: RunEvent[] = [];
  const t = await TrainerProcess.start(o, { onEvent: (e) => events.push(e) });
  await until(() => events.some((e) => e.type === 'progress'));
  const exit = await t.stop();
  assert.equal(exit.status, 'failed');
  assert.equal(exit.signal, 'SIGKILL');
  assert.match(exit.reason ?? '', /did not stop within 0.3 s/);
  assert.equal(groupAlive(t.pid), false);
  const run = await readRun(o.runDir);
  assert.equal(run.status.status, 'failed');
  assert.match(run.status.reason ?? '', /did not stop within/);
});

test('killed from outside with SIGKILL: failed, reason names the signal and the stderr tail; the worker is reaped', async () => {
  const o = options(['--steps', '10000', '--sleep', '0.02', '--worker']);
  const events: RunEvent[] = [];
  const t = await TrainerProcess.start(o, { onEvent: (e) => events.push(e) });
  await until(() => events.some((e) => e.type === 'progress') && workerPid(o.runDir) > 0);
  const worker = workerPid(o.runDir);
  process.kill(t.pid, 'SIGKILL');
  const exit = await t.exited;
  assert.equal(exit.status, 'failed');
  assert.match(exit.reason ?? '', /killed by SIGKILL/);
  assert.match(exit.reason ?? '', /\[fake\] starting/);
  assert.equal(pidAlive(worker), false, 'no orphan worker');
  const run = await readRun(o.runDir);
  assert.equal(run.status.status, 'failed');
  assert.match(run.status.reason ?? '', /killed by SIGKILL/);
});

test('an error event then a kill: failed with the error event\'s message', async () => {
  const o = options(['--steps', '100', '--sleep', '0.01', '--error-then-hang', '3']);
  const events: RunEvent[] = [];
  const t = await TrainerProcess.start(o, { onEvent: (e) => events.push(e) });
  await until(() => events.some((e) => e.type === 'error'));
  process.kill(t.pid, 'SIGKILL');
  const exit = await t.exited;
  assert.equal(exit.status, 'failed');
  assert.equal(exit.reason, 'CUDA out of memory at batch 16: lower batch_size');
  assert.equal((await readRun(o.runDir)).status.reason, 'CUDA out of memory at batch 16: lower batch_size');
});

test('a trainer that reports failure itself: its error message is the reason', async () => {
  const o = options(['--steps', '100', '--sleep', '0.01', '--fail-at', '2']);
  const exit = await (await TrainerProcess.start(o)).exited;
  assert.equal(exit.status, 'failed');
  assert.match(exit.reason ?? '', /cannot decode images\/bad.jpg/);
  // the trainer wrote its own end event: the launcher adds none
  const lines = readFileSync(path.join(o.runDir, 'events.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.filter((l) => l.includes('"end"')).length, 1);
});

test('a run stopped from its lock by another process (window reopened): stopped, group gone', async () => {
  const o = options(['--steps', '10000', '--sleep', '0.02', '--worker']);
  const events: RunEvent[] = [];
  const t = await TrainerProcess.start(o, { onEvent: (e) => events.push(e) });
  await until(() => events.some((e) => e.type === 'progress') && workerPid(o.runDir) > 0);
  assert.equal((await readRun(o.runDir)).status.status, 'running');
  const status = await stopRunFromLock(o.runDir, 5000);
  assert.equal(status, 'stopped');
  await t.exited;
  assert.equal(groupAlive(t.pid), false);
  assert.equal((await readRun(o.runDir)).status.status, 'stopped');
});

test('a missing interpreter gives an error naming it and the setting', async () => {
  const o = options([], { python: path.join(tmp, 'no-such-python') });
  await assert.rejects(TrainerProcess.start(o), /not found\. Set "pscl\.python"/);
});

test('checkPythonEnvironment reports versions and CUDA, and what to install when torch is missing', async () => {
  const env = await checkPythonEnvironment(PYTHON, { trainerPath, trainerModule: FAKE_MODULE });
  assert.match(env.pythonVersion ?? '', /^3\.\d+/);
  assert.match(env.torchVersion ?? '', /^\d+\.\d+/);
  assert.equal(env.trainerImports, true);
  assert.match(env.numpyVersion ?? '', /^\d+\./);
  assert.match(env.pillowVersion ?? '', /^\d+\./);
  assert.equal(env.deviceCount, env.deviceNames.length);
  if (!env.cudaAvailable) assert.ok(env.problems.some((p) => p.severity === 'warning' && /CPU/.test(p.message)));
  assert.equal(env.ok, true, JSON.stringify(env.problems));

  // the same interpreter without site-packages has no torch
  const bare = path.join(tmp, 'bare-python');
  writeFileSync(bare, `#!/bin/sh\nexec ${PYTHON} -S "$@"\n`, { mode: 0o755 });
  const noTorch = await checkPythonEnvironment(bare, { trainerPath: path.join(tmp, 'empty'), trainerModule: 'pscl_trainer' });
  assert.equal(noTorch.ok, false);
  assert.equal(noTorch.torchVersion, undefined);
  const torchProblem = noTorch.problems.find((p) => /PyTorch is not importable/.test(p.message));
  assert.match(torchProblem?.fix ?? '', /pip install torch torchvision/);
  assert.equal(noTorch.problems.find((p) => /numpy and pillow/.test(p.message))?.fix, 'python -m pip install numpy pillow');

  const missing = await checkPythonEnvironment(path.join(tmp, 'nope'));
  assert.equal(missing.ok, false);
  assert.match(missing.problems[0].message, /was not found/);
});

test('requestStopAll (deactivate): SIGTERM without waiting; the trainer checkpoints and ends stopped', async () => {
  const o = options(['--steps', '10000', '--sleep', '0.02']);
  const events: RunEvent[] = [];
  const t = await TrainerProcess.start(o, { onEvent: (e) => events.push(e) });
  await until(() => events.some((e) => e.type === 'progress'));
  assert.ok(TrainerProcess.running().includes(t));
  TrainerProcess.requestStopAll();
  const exit = await t.exited;
  assert.equal(exit.status, 'stopped');
  assert.equal(TrainerProcess.running().includes(t), false);
  assert.ok(events.some((e) => e.type === 'checkpoint'));
});

test('checkPythonEnvironment judges what the interpreter reports: GPU count, old Python or torch, a GPU build without a driver', async () => {
  const fake = (name: string, probe: object) => {
    const file = path.join(tmp, name);
    writeFileSync(file, `#!/bin/sh\necho '${JSON.stringify(probe)}'\n`, { mode: 0o755 });
    return file;
  };
  const gpu = { python: '3.11.4', torch: '2.3.1', cuda: true, cuda_version: '12.1', devices: ['NVIDIA A100-SXM4-80GB'], torchvision: '0.18.1', numpy: '1.26.4', pillow: '10.3.0' };
  const one = await checkPythonEnvironment(fake('gpu-python', gpu), { gpus: 2 });
  assert.equal(one.deviceCount, 1);
  assert.equal(one.cudaAvailable, true);
  assert.equal(one.ok, false);
  assert.match(one.problems[0].message, /2 GPUs were asked for but PyTorch sees 1 \(NVIDIA A100-SXM4-80GB\)/);
  assert.equal((await checkPythonEnvironment(fake('gpu-python', gpu), { gpus: 1, requireCuda: true })).ok, true);

  const old = await checkPythonEnvironment(fake('old-python', { ...gpu, python: '3.8.10', torch: '1.12.1' }));
  assert.deepEqual(old.problems.map((p) => p.message.split(':')[0]), ['Python 3.8.10 is too old', 'PyTorch 1.12.1 is too old']);

  const noDriver = await checkPythonEnvironment(fake('nodriver-python', { ...gpu, cuda: false, devices: [] }), { requireCuda: true });
  assert.equal(noDriver.ok, false);
  assert.match(noDriver.problems[0].message, /built with CUDA 12\.1 but sees no GPU/);
  assert.match(noDriver.problems[0].fix ?? '', /nvidia-smi/);

  const garbage = await checkPythonEnvironment(fake('noisy-python', { nothing: true }));
  assert.equal(garbage.torchVersion, undefined);
  assert.ok(garbage.problems.some((p) => /PyTorch is not importable/.test(p.message)));
});

test('two processes through torchrun: events followed in events.jsonl, stop reaches the ranks, group gone', { timeout: 60_000 }, async () => {
  const o = options(['--steps', '10000', '--sleep', '0.05'], { nprocPerNode: 2, env: { OMP_NUM_THREADS: '1' } });
  mkdirSync(o.runDir, { recursive: true });
  // an earlier session's events are not replayed to the callbacks
  writeFileSync(path.join(o.runDir, 'events.jsonl'), '{"type":"start","time":1,"run":"old"}\n{"type":"end","time":2,"status":"stopped"}\n');
  const events: RunEvent[] = [];
  const t = await TrainerProcess.start(o, { onEvent: (e) => events.push(e) });
  await until(() => events.filter((e) => e.type === 'progress').length >= 3, 40_000);
  assert.equal(events[0].type, 'start');
  assert.notEqual((events[0] as { run?: string }).run, 'old');
  assert.equal(events.filter((e) => e.type === 'start').length, 1, 'rank 1 writes no events');
  const exit = await t.stop(20_000);
  assert.equal(exit.status, 'stopped', exit.reason);
  assert.equal(groupAlive(t.pid), false);
  assert.equal((await readRun(o.runDir)).status.status, 'stopped');
});

test('a trainer that exits at once (bad arguments): failed with its stderr, lock removed, not left in the live list', async () => {
  const o = options(['--no-such-flag']);
  const t = await TrainerProcess.start(o);
  const exit = await t.exited;
  assert.equal(exit.status, 'failed');
  assert.equal(exit.code, 2);
  assert.match(exit.reason ?? '', /exited with code 2; its last output:\n[\s\S]*unrecognized arguments: --no-such-flag/);
  assert.equal(existsSync(path.join(o.runDir, 'run.lock')), false);
  assert.equal(TrainerProcess.running().includes(t), false);
  assert.equal((await readRun(o.runDir)).status.status, 'failed');
});

test('stop after requestStop still escalates to SIGKILL when the trainer ignores SIGTERM', async () => {
  const o = options(['--steps', '10000', '--sleep', '0.02', '--ignore-term']);
  const events: RunEvent[] = [];
  const t = await TrainerProcess.start(o, { onEvent: (e) => events.push(e) });
  await until(() => events.some((e) => e.type === 'progress'));
  t.requestStop();
  const exit = await t.stop(200);
  assert.equal(exit.status, 'failed');
  assert.match(exit.reason ?? '', /did not stop within 0.2 s/);
});

test('the stop grace period grows with the longest step measured, never below the setting', async () => {
  assert.equal(stopGraceFor(30_000, 0), 30_000);
  assert.equal(stopGraceFor(30_000, 25), 75_000, 'a 25 s CPU step gets three steps');
  const o = options(['--steps', '10000', '--sleep', '0.3'], { stopGraceMs: 200 });
  const t = await TrainerProcess.start(o);
  await until(() => t.stopGraceMs >= 900);
  assert.ok(t.stopGraceMs < 3000, `about three 0.3 s steps: ${t.stopGraceMs} ms`);
  const exit = await t.stop();
  assert.equal(exit.status, 'stopped', exit.reason);
});

test('before a step is measured the grace period follows the preflight estimate (a first rn50 step on a CPU is not killed at 30 s)', async () => {
  const o = options(['--steps', '10000', '--sleep', '0.05', '--estimated-step-s', '40'], { stopGraceMs: 200 });
  const events: RunEvent[] = [];
  const t = await TrainerProcess.start(o, { onEvent: (e) => events.push(e) });
  await until(() => events.some((e) => e.type === 'start'));
  assert.equal(t.stopGraceMs, 120_000, 'three estimated 40 s steps');
  const exit = await t.stop();
  assert.equal(exit.status, 'stopped', exit.reason);
});
