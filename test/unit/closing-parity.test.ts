// The trainer closes each part mask the way the preview does: the TypeScript closing and the
// PyTorch one (trainer/pscl_trainer/model/plm.py) agree on random masks of awkward sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { close } from '../../src/core/masks/morphology';
import { repoRoot } from '../helpers/paths';

const python = process.env.PSCL_PYTHON ?? '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;

test('part-mask closing matches the trainer', { skip: hasTorch ? false : `${python} has no torch (install python3-torch)` }, () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  const cases: { h: number; w: number; k: number; mask: number[] }[] = [];
  for (const [h, w] of [[7, 9], [16, 5], [23, 31]]) {
    for (const k of [1, 3, 5]) {
      const density = 0.3 + 0.4 * rand();
      cases.push({ h, w, k, mask: Array.from({ length: h * w }, () => (rand() < density ? 1 : 0)) });
    }
  }
  const script = `
import json, sys, torch
from pscl_trainer.model.plm import close_masks
out = []
for c in json.load(sys.stdin):
    m = torch.tensor(c["mask"], dtype=torch.float32).view(1, 1, c["h"], c["w"])
    out.append(close_masks(m, c["k"]).flatten().int().tolist())
print(json.dumps(out))
`;
  const r = spawnSync(python, ['-c', script], {
    input: JSON.stringify(cases),
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: path.join(repoRoot, 'trainer') },
  });
  assert.equal(r.status, 0, r.stderr);
  const torchResults: number[][] = JSON.parse(r.stdout);
  cases.forEach((c, i) => {
    const ours = Array.from(close(Uint8Array.from(c.mask), c.h, c.w, c.k));
    assert.deepEqual(ours, torchResults[i], `case ${i}: ${c.h}x${c.w} kernel ${c.k}`);
  });
});
