// The preflight's command line and how its verdict changes the run (applyPreflight); the real
// trainer's preflight on its generated tiny cache; the from-scratch flag folded from start events.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applyPreflight, emptyProgress, foldEvent, preflightArgs, runningEstimate, runPreflight, type PreflightEstimate, type RunEvent } from '../../src/core/runs';

const ROOT = path.resolve(__dirname, '../..');
const PYTHON = process.env.PSCL_PYTHON || '/usr/bin/python3';
const skip = spawnSync(PYTHON, ['-c', 'import torch, torchvision, numpy, PIL'], { stdio: 'ignore' }).status === 0 ? false : `${PYTHON} has no torch`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pscl-preflight-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function estimate(over: Partial<PreflightEstimate>): PreflightEstimate {
  return {
    verdict: 'ok', summary: 'resnet50 at 448 px, batch 16 on CPU: ...', device: 'cpu', backbone: 'resnet50', resolution: 448, batch_size: 16, grad_accum: 1, total_steps: 300,
    set: {}, messages: [], warnings: [], memory: { kind: 'RAM', peak_bytes: 1, free_bytes: 2, total_bytes: 3 }, time: { step_s: 1, eta_s: 300, probe: 'one step at batch 2, scaled' }, ...over,
  };
}

test('preflightArgs passes the run, cache, config, overrides and switches', () => {
  assert.deepEqual(preflightArgs({ runDir: '/r', cache: '/c', config: 'rn50', set: { epochs: 2, backbone_weights: 'none' }, device: 'cpu', nproc: 2, allowFallback: true, fetch: true }), [
    'preflight', '--run', '/r', '--cache', '/c', '--config', 'rn50', '--device', 'cpu', '--nproc', '2', '--allow-fallback', '--fetch', '--set', 'epochs=2', '--set', 'backbone_weights="none"',
  ]);
  assert.deepEqual(preflightArgs({ runDir: '/r', resume: true, force: true }), ['preflight', '--run', '/r', '--resume', '--force']);
});

test('applyPreflight: ok keeps the run, adjust lowers the batch, fallback switches to the CPU preset and keeps the user overrides', () => {
  assert.deepEqual(applyPreflight(estimate({ set: { num_workers: 0 }, messages: ['num_workers 4 -> 0'] }), 'rn50', { epochs: 3 }), { config: 'rn50', set: { epochs: 3, num_workers: 0 }, notes: ['num_workers 4 -> 0'] });
  const adjust = applyPreflight(estimate({ verdict: 'adjust', set: { batch_size: 6, grad_accum: 3 }, messages: ['batch 16 needs about 18.0 GB of RAM, 12.0 GB is free: batch_size 6 with grad_accum 3'] }), undefined, { epochs: 3 });
  assert.deepEqual(adjust.set, { epochs: 3, batch_size: 6, grad_accum: 3 });
  assert.equal(adjust.config, undefined);
  const fb = estimate({ verdict: 'fallback', config: 'tiny', set: { batch_size: 15, grad_accum: 2 }, messages: ['num_workers 4 -> 0', "no GPU: ... Using the CPU preset 'tiny' instead"], fallback: estimate({ backbone: 'tiny_rn', summary: 'tiny_rn at 32 px', set: { num_workers: 0 } }) });
  const applied = applyPreflight(fb, undefined, { epochs: 2 });
  assert.equal(applied.config, 'tiny');
  assert.deepEqual(applied.set, { epochs: 2, num_workers: 0 }, "rn50's batch adjustment does not leak into the preset");
  assert.deepEqual(applied.notes, ["no GPU: ... Using the CPU preset 'tiny' instead"]);
  assert.equal(runningEstimate(fb).summary, 'tiny_rn at 32 px');
});

test('a start event folds into the weights the run started from (the dashboard warns on none)', () => {
  const p = emptyProgress();
  foldEvent(p, { type: 'start', time: 1, config: { backbone_weights: 'none' }, pretrained: { source: 'none', pretrained: false }, preflight: { summary: 'tiny_rn at 32 px' } } as RunEvent);
  assert.deepEqual(p.weights, { source: 'none', pretrained: false });
  assert.equal(p.preflight, 'tiny_rn at 32 px');
  foldEvent(p, { type: 'start', time: 2, config: { backbone_weights: 'imagenet' } } as RunEvent);
  assert.deepEqual(p.weights, { source: 'imagenet', pretrained: true }, 'a run folder from before the field: read from the config');
});

test('runPreflight on the real trainer: the tiny preset fits, the probe is kept for train, errors carry the trainer message', { skip, timeout: 120_000 }, async () => {
  const cache = execFileSync(PYTHON, [path.join(ROOT, 'trainer/tests/fixtures.py'), tmp], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const runDir = path.join(tmp, 'runs', 'a');
  const e = await runPreflight({ python: PYTHON, trainerPath: path.join(ROOT, 'trainer'), runDir, cache, config: 'tiny', set: { epochs: 2 }, device: 'cpu' });
  assert.equal(e.verdict, 'ok');
  assert.equal(e.total_steps, 12);
  assert.match(e.summary, /^tiny_rn at 64 px, batch 16 on CPU: peak \d+ MB of [\d.]+ GB free RAM, [\d.]+ s\/step, 12 steps, ETA /);
  assert.ok(existsSync(path.join(runDir, 'preflight.json')));
  assert.ok(e.warnings.some((w) => /trains from scratch/.test(w)));
  await assert.rejects(runPreflight({ python: PYTHON, trainerPath: path.join(ROOT, 'trainer'), runDir, cache, config: 'tiny', set: { weight_decy: 1 } }), /preflight failed \(exit 2\): unknown config key 'weight_decy'/);
});
