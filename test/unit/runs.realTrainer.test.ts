// The launcher and the run model against the real trainer (trainer/pscl_trainer) on a generated
// tiny cache, on CPU: stop (checkpoint, "stopped"), resume to the end, and eval.json read back
// with per-level accuracies recomputed here from the confusion matrix.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TrainerProcess, trainArgs } from '../../src/core/runs/launch';
import { readEvaluation, readRun } from '../../src/core/runs/folder';
import { levelAccuracies } from '../../src/core/runs/confusion';
import { groupAlive } from '../../src/core/runs/lock';
import type { RunEvent } from '../../src/core/runs/events';

const ROOT = path.resolve(__dirname, '../..');
const PYTHON = process.env.PSCL_PYTHON || '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision, numpy, PIL'], { stdio: 'ignore' }).status === 0;
const skip = hasTorch ? false : `${PYTHON} has no torch/torchvision`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pscl-real-trainer-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('real trainer: stop after the first epoch -> stopped with a checkpoint; resume -> finished; eval.json read back', { skip, timeout: 150_000 }, async () => {
  const cache = execFileSync(PYTHON, [path.join(ROOT, 'trainer/tests/fixtures.py'), tmp], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const runDir = path.join(tmp, 'runs', 'tiny');
  const base = { python: PYTHON, trainerPath: path.join(ROOT, 'trainer'), runDir, env: { OMP_NUM_THREADS: '1' } };
  const settings = { epochs: 3, log_every: 1 };
  const events: RunEvent[] = [];
  const t1 = await TrainerProcess.start({ ...base, args: trainArgs({ cache, runDir, config: 'tiny', device: 'cpu', set: settings }) }, { onEvent: (e) => events.push(e) });
  while (!events.some((e) => e.type === 'checkpoint')) {
    if (events.some((e) => e.type === 'end')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const first = await t1.stop(60_000);
  assert.equal(first.status, 'stopped', `stopped, not ${first.status}: ${first.reason}`);
  assert.equal(groupAlive(t1.pid), false);
  let run = await readRun(runDir);
  assert.equal(run.status.status, 'stopped');
  assert.equal(run.hasCheckpoint, true);
  const stoppedAt = run.progress.step!;
  assert.ok(stoppedAt >= 6 && stoppedAt < 18, `stopped mid-run at step ${stoppedAt}`);

  const t2 = await TrainerProcess.start({ ...base, args: trainArgs({ runDir, config: 'tiny', device: 'cpu', set: settings, resume: true }) });
  const second = await t2.exited;
  assert.equal(second.status, 'finished', second.reason);
  run = await readRun(runDir);
  assert.equal(run.status.status, 'finished');
  assert.equal(run.progress.starts, 2);
  assert.equal(run.progress.step, 18);
  assert.equal(run.corrupt.length, 0);
  assert.equal(typeof run.progress.bestTop1, 'number');

  const { report, taxonomy, taxonomySource } = await readEvaluation(runDir);
  assert.equal(taxonomySource, 'run-config');
  assert.deepEqual(taxonomy.levels, ['coarse', 'tone', 'fine']);
  assert.equal(report.numImages, 32);
  const mine = levelAccuracies(report.confusion, taxonomy);
  for (const level of taxonomy.levels) assert.ok(Math.abs(mine[level] - report.perLevel[level]) < 1e-9, `${level}: ${mine[level]} vs ${report.perLevel[level]}`);
  assert.ok(Math.abs(mine.fine - report.top1) < 1e-9);
  assert.ok(report.wrong.every((w, i) => i === 0 || report.wrong[i - 1].confidence >= w.confidence));
});
