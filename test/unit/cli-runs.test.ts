// pscl train / runs / eval end to end on the real trainer with its generated tiny cache (CPU).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { galleryFiles, readEvaluation } from '../../src/core/runs';
import { sampleFilesOnly } from '../helpers/cacheFixture';

const ROOT = path.resolve(__dirname, '../..');
const PYTHON = process.env.PSCL_PYTHON || '/usr/bin/python3';
const skip = spawnSync(PYTHON, ['-c', 'import torch, torchvision, numpy, PIL'], { stdio: 'ignore' }).status === 0 ? false : `${PYTHON} has no torch`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'pscl-cli-runs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const pscl = (...args: string[]) =>
  spawnSync(process.execPath, ['--import', pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: tmp, encoding: 'utf8', env: { ...process.env, PSCL_PYTHON: PYTHON, OMP_NUM_THREADS: '1' } });

test('pscl train runs the trainer to the end; pscl runs lists it; pscl eval summarises eval.json', { skip, timeout: 120_000 }, () => {
  const cache = execFileSync(PYTHON, [path.join(ROOT, 'trainer/tests/fixtures.py'), tmp], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const train = pscl('train', '--cache', cache, '--run-dir', 'runs/tiny', '--config', 'tiny', '--set', 'epochs=1', '--device', 'cpu');
  assert.equal(train.status, 0, train.stderr);
  assert.match(train.stdout, /^tiny: finished, best top-1 \d+\.\d%\n$/);
  assert.match(train.stderr, /python 3\.\d+\.\d+, torch \d/);
  assert.match(train.stderr, /epoch 1 val: loss [\d.]+, top-1 [\d.]+%/);
  assert.match(train.stderr, /checkpoint: checkpoints\//);

  const runs = pscl('runs', '--json');
  assert.equal(runs.status, 0, runs.stderr);
  const row = JSON.parse(runs.stdout.trim());
  assert.equal(row.name, 'tiny');
  assert.equal(row.status, 'finished');
  assert.equal(row.step, row.totalSteps);
  assert.match(pscl('runs').stdout, /^tiny\s+finished · \d+s · best \d+\.\d%\n$/);

  const ev = pscl('eval', '--run', 'runs/tiny', '--level', 'tone', '--json');
  assert.equal(ev.status, 0, ev.stderr);
  const summary = JSON.parse(ev.stdout);
  assert.equal(summary.numImages, 32);
  assert.equal(summary.level, 'tone');
  assert.ok(summary.confusions.every((c: { true: string; predicted: string }) => ['warm', 'cool'].includes(c.true) && c.true !== c.predicted));
  const text = pscl('eval', '--run', 'runs/tiny');
  assert.match(text.stdout, /^tiny: test split, 32 images, epoch 1\ntop-1 [\d.]+%   top-5 [\d.]+%\nper level: coarse [\d.]+% · tone [\d.]+% · fine [\d.]+%\n/);
  assert.match(pscl('eval', '--run', 'runs/tiny', '--level', 'genus').stderr, /unknown level "genus"; levels: coarse, tone, fine/);
  assert.match(pscl('eval', '--run', 'runs/nope').stderr, /pscl: eval: /);
  assert.match(pscl('train', '--run-dir', 'x').stderr, /--cache DIR or --project FILE is required/);
});

test('pscl train --project builds the cache then trains; pscl classify exports model.onnx and prints the top classes', { skip, timeout: 180_000 }, async () => {
  const ws = path.join(tmp, 'tiny-birds');
  cpSync(path.join(ROOT, 'samples/tiny-birds'), ws, { recursive: true, filter: sampleFilesOnly });
  const inWs = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, path.join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ws, encoding: 'utf8', env: { ...process.env, PSCL_PYTHON: PYTHON, OMP_NUM_THREADS: '1' } });
  const train = inWs('train', '--project', 'tiny-birds.pscl.json', '--run-dir', 'runs/p', '--config', 'tiny', '--set', 'epochs=1', '--device', 'cpu');
  assert.equal(train.status, 0, train.stderr);
  assert.match(train.stderr, /cache .*\.pscl-cache.*: 72 image\(s\) computed, 0 reused/);
  assert.match(train.stdout, /^p: finished/);
  // a second run reuses the cache: nothing is recomputed
  const again = inWs('train', '--project', 'tiny-birds.pscl.json', '--run-dir', 'runs/q', '--config', 'tiny', '--set', 'epochs=1', '--device', 'cpu');
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /: 0 image\(s\) computed, 72 reused/);
  assert.match(inWs('train', '--project', 'x.pscl.json', '--cache', 'c', '--run-dir', 'r').stderr, /give --cache or --project, not both/);

  // the evaluation report's gallery: images and part masks resolved through the run's cache
  const evaluation = await readEvaluation(path.join(ws, 'runs/p'));
  const gallery = await galleryFiles(path.join(ws, 'runs/p'), evaluation.report);
  assert.ok(evaluation.report.wrong.length > 0);
  assert.equal(gallery.roots[0], path.join(ws, 'CUB_tiny'));
  for (const w of evaluation.report.wrong) {
    const f = gallery.files[w.key]!;
    assert.ok(existsSync(f.image!) && f.image!.startsWith(gallery.roots[0]!), `image of ${w.key}: ${f.image}`);
    assert.ok(existsSync(f.mask!) && f.mask!.startsWith(gallery.roots[1]!), `mask of ${w.key}: ${f.mask}`);
    assert.deepEqual(f.parts?.slice(0, 3), ['back', 'beak', 'belly']);
  }

  const image = 'CUB_tiny/images/001.Red_crowned_Finch/Red_crowned_Finch_0001.jpg';
  assert.ok(!existsSync(path.join(ws, 'runs/p/model.onnx')));
  const text = inWs('classify', '--run', 'runs/p', '--image', image, '--top', '3');
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stderr, /has no model\.onnx; exporting it with the trainer/);
  assert.ok(existsSync(path.join(ws, 'runs/p/model.onnx')));
  const lines = text.stdout.trim().split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[1]!, /^ 1\.\s+\d+\.\d%  bird › \w+iformes › \w+ › \w+ › [A-Z][a-z]+ crowned \w+$/);
  const json = JSON.parse(inWs('classify', '--run', 'runs/p', '--image', image, '--json').stdout);
  assert.equal(json.predictions.length, 5);
  assert.ok(json.predictions.every((p: { prob: number }, i: number, a: { prob: number }[]) => i === 0 || a[i - 1]!.prob >= p.prob));
  assert.match(inWs('classify', '--run', 'runs/p', '--image', 'nope.jpg').stderr, /nope\.jpg: image not found/);
  assert.match(inWs('classify', '--run', 'runs/p', '--image', image, '--top', '0').stderr, /--top must be a positive integer/);
});

test('pscl train without --config and without a GPU: the CPU preset instead of rn50, said with the estimate', { skip, timeout: 300_000 }, () => {
  const cache = execFileSync(PYTHON, [path.join(ROOT, 'trainer/tests/fixtures.py'), path.join(tmp, 'fb')], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const train = pscl('train', '--cache', cache, '--run-dir', 'runs/fallback', '--set', 'epochs=1', '--device', 'cpu');
  assert.equal(train.status, 0, train.stderr);
  assert.match(train.stderr, /preflight: no GPU: the default config \(resnet50 at 448 px\) is made for GPUs; on this CPU it would need about [\d.]+ [GM]B of RAM and take about [\w ]+\. Using the CPU preset 'tiny' instead/);
  assert.match(train.stderr, /preflight: tiny_rn at 64 px, batch 16 on CPU: peak \d+ MB of [\d.]+ GB free RAM, [\d.]+ s\/step, 6 steps, ETA /);
  assert.match(train.stderr, /warning: backbone_weights is "none": tiny_rn has no pretrained weights/);
  const config = JSON.parse(readFileSync(path.join(tmp, 'runs/fallback/config.json'), 'utf8')).config;
  assert.equal(config.backbone, 'tiny_rn');
  assert.equal(config.epochs, 1, 'the user --set still applies to the preset');
  assert.equal(config.num_workers, 0);
});

test('pscl train with backbone_weights clip:demo: the demo CLIP vision tower, its hash in the run', { skip, timeout: 300_000 }, () => {
  const cache = execFileSync(PYTHON, [path.join(ROOT, 'trainer/tests/fixtures.py'), path.join(tmp, 'cd')], { encoding: 'utf8' }).trim().split('\n').at(-1)!;
  const cacheDir = path.join(tmp, 'user-cache');
  const env = { PSCL_CACHE_DIR: cacheDir };
  const sets = ['backbone="clip_vit"', 'backbone_weights="clip:demo"', 'stages=[2,3,4]', 'vit_blocks=[1,1,2,3]', 'normalization="clip"', 'epochs=1'].flatMap((s) => ['--set', s]);
  const train = spawnSync(process.execPath, ['--import', pathToFileURL(path.join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, path.join(ROOT, 'src/cli/main.ts'), 'train', '--cache', cache, '--run-dir', 'runs/clipdemo', '--config', 'tiny', '--device', 'cpu', ...sets], {
    cwd: tmp, encoding: 'utf8', env: { ...process.env, ...env, PSCL_PYTHON: PYTHON, OMP_NUM_THREADS: '1' },
  });
  assert.equal(train.status, 0, train.stderr);
  const start = JSON.parse(readFileSync(path.join(tmp, 'runs/clipdemo/events.jsonl'), 'utf8').split('\n')[0]!);
  const demo = path.dirname(start.pretrained.path);
  // the trained demo CLIP of this checkout (models/demo-clip), not a random stand-in in the cache folder
  assert.equal(demo, path.join(ROOT, 'models', 'demo-clip'));
  assert.equal(start.pretrained.source, 'clip:demo');
  assert.equal(start.pretrained.sha256, createHash('sha256').update(readFileSync(path.join(demo, 'model.safetensors'))).digest('hex'));
  assert.equal(start.config.clip_vision.num_hidden_layers, 4);
});
